// Latency percentiles from the poll lcore's histogram (native-dpdk/latency.c):
// bucket counts over TSC cycles, log-linear (16 buckets per power of two, so
// a value is known to about 6%). A percentile is reported as the middle of
// the bucket it falls in, in ns.
import { native } from './native.js';

export interface LatencySummary {
  /** Packets measured. */
  count: number;
  p50Ns: number;
  p99Ns: number;
  p999Ns: number;
  maxNs: number;
}

let bounds: { low: number[]; nsPerCycle: number } | undefined;

function bucketBounds(n: number): { low: number[]; nsPerCycle: number } {
  if (bounds === undefined || bounds.low.length !== n + 1) {
    const lib = native();
    bounds = { low: Array.from({ length: n + 1 }, (_, i) => Number(lib.latencyBucketLow(i))), nsPerCycle: 1e9 / Number(lib.tscHz()) };
  }
  return bounds;
}

/** The lower bound of each bucket of n, and of the one past the last, in ns. */
export function latencyBucketsNs(n: number): number[] {
  const { low, nsPerCycle } = bucketBounds(n);
  return low.map((cycles) => cycles * nsPerCycle);
}

/** Percentiles of the counts after minus those before (a window of a run). */
export function latencySummary(after: BigUint64Array, before?: BigUint64Array): LatencySummary {
  const counts = Array.from(after, (c, i) => Number(c - (before?.[i] ?? 0n)));
  const { low, nsPerCycle } = bucketBounds(counts.length);
  const count = counts.reduce((a, b) => a + b, 0);
  const middle = (i: number): number => ((low[i]! + low[i + 1]!) / 2) * nsPerCycle;
  const at = (q: number): number => {
    if (count === 0) return 0;
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) return middle(i);
    }
    return middle(counts.length - 1);
  };
  let top = counts.length - 1;
  while (top > 0 && counts[top] === 0) top--;
  return { count, p50Ns: at(0.5), p99Ns: at(0.99), p999Ns: at(0.999), maxNs: count === 0 ? 0 : low[top + 1]! * nsPerCycle };
}

/** Of the counts after minus those before: how many fell in buckets at or over ns, and the time
 *  they stand for (each taken at its bucket's middle), in ns. */
export function countsOver(ns: number, after: BigUint64Array, before?: BigUint64Array): { count: number; totalNs: number } {
  const { low, nsPerCycle } = bucketBounds(after.length);
  let count = 0;
  let totalNs = 0;
  for (let i = 0; i < after.length; i++) {
    if (low[i]! * nsPerCycle < ns) continue;
    const n = Number(after[i]! - (before?.[i] ?? 0n));
    count += n;
    totalNs += n * ((low[i]! + low[i + 1]!) / 2) * nsPerCycle;
  }
  return { count, totalNs };
}
