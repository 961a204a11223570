// The handoff baseline (bench/handoff.c): two threads passing descriptors
// through NetVM's RX and return rings and nothing else, on the poll lcore's
// CPU and a worker's; flat out (a rate), or paced (a latency). Built here with
// the system's C compiler.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LatencySummary } from '../host/dataplane/latency.js';
import { PROJECT_ROOT } from '../host/paths.js';

const HANDOFF_SRC = join(PROJECT_ROOT, 'bench/handoff.c');
const RING_HEADER = join(PROJECT_ROOT, 'native-dpdk/netvm_dp.h');
const PIN_HEADER = join(PROJECT_ROOT, 'bench/pin.h');
const HANDOFF = join(PROJECT_ROOT, 'bench/build/handoff');

/** Builds the handoff program when missing or older than its source or the headers it includes. */
export function buildHandoff(): void {
  const newest = Math.max(...[HANDOFF_SRC, RING_HEADER, PIN_HEADER].map((f) => statSync(f).mtimeMs));
  if (existsSync(HANDOFF) && statSync(HANDOFF).mtimeMs >= newest) return;
  mkdirSync(join(PROJECT_ROOT, 'bench/build'), { recursive: true });
  execFileSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-I', join(PROJECT_ROOT, 'native-dpdk'), HANDOFF_SRC, '-o', HANDOFF],
    { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Descriptors per second that make the round trip, the two sides pinned to pollCpu and workerCpu. */
export function handoffPps(pollCpu: number, workerCpu: number, warmupS: number, seconds: number): number {
  buildHandoff();
  const out = execFileSync(HANDOFF, [String(pollCpu), String(workerCpu), String(warmupS), String(seconds)], { encoding: 'utf8' });
  const pps = Number(out.trim());
  if (!(pps > 0)) throw new Error(`the handoff program printed '${out.trim()}', not a rate`);
  return pps;
}

/** The rings alone paced at pps, each descriptor timed from its arrival to its return (as a packet
 *  from arrival to hand-back): the latency of the two cores and the rings on this machine, in ns. With
 *  workNs, the worker side spends that much CPU time on each descriptor, as a chain does on a packet. */
export function handoffLatency(pollCpu: number, workerCpu: number, warmupS: number, seconds: number, pps: number, workNs?: number): Omit<LatencySummary, 'count'> {
  buildHandoff();
  const args = [pollCpu, workerCpu, warmupS, seconds, pps, ...(workNs === undefined ? [] : [workNs])].map(String);
  const out = execFileSync(HANDOFF, args, { encoding: 'utf8' });
  const [, p50Ns, p99Ns, p999Ns, maxNs] = out.trim().split(' ').map(Number);
  if (!(p50Ns! > 0)) throw new Error(`the handoff program printed '${out.trim()}', not a rate and percentiles`);
  return { p50Ns: p50Ns!, p99Ns: p99Ns!, p999Ns: p999Ns!, maxNs: maxNs! };
}
