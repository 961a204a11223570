// What a run reports: a line of rates per second while it runs, and a summary
// of every counter at the end, with the accounting check
//   received = sent + dropped (each drop with its reason) + still held.
import { CHAIN_COUNTERS, NF_COUNTERS, readChainCounters, readNfCounters, type ChainCounterName, type NfCounterName } from '../chain/counters.js';
import type { PortCounters, POOL_IOVA_NAMES } from '../dataplane/native.js';
import { MAX_METRICS } from '../nf/abi.js';
import type { Metric } from '../nf/host-imports.js';
import type { LatencySummary } from '../dataplane/latency.js';

export interface PortSummary extends PortCounters {
  name: string;
}

export interface ChainSummary extends Record<ChainCounterName, number> {
  name: string;
  /** Workers (replicas) it runs on now. */
  workers: number;
  /** Each replica's own counts, those scaled away included (live: false). */
  replicas: ({ lane: number; live: boolean } & Record<ChainCounterName, number>)[];
  /** Counts over every replica; an NF's gauges over live ones only. */
  nfs: ({ name: string; metrics: Record<string, number> } & Record<NfCounterName, number>)[];
}

/** A worker CPU's loop, with latency measured: the gaps between the starts of its turns (a
 *  burst's work, an NF's tick, and any time its thread was not run), and how often the kernel
 *  took its thread off its CPU for another. */
export interface WorkerGaps {
  cpu: number;
  gaps: LatencySummary;
  /** Gaps of LONG_GAP_NS or more: how many, and their time together. */
  long: { count: number; ms: number };
  preempted: number;
}

/** A gap between two turns of a worker this long is a stall: the latency target's p99.9. */
export const LONG_GAP_NS = 100_000;

/** Counters over the part of a run after its warm-up (all counts are differences). */
export interface RunWindow {
  seconds: number;
  ports: PortSummary[];
  chains: ChainSummary[];
  /** The share of a core each busy thread of the process used, busiest first. */
  threads: { tid: number; name: string; share: number }[];
  latency?: LatencySummary;
  workerGaps?: WorkerGaps[];
}

export interface RunSummary {
  seconds: number;
  /** With latency measured: arrival to hand-back of every packet sent. */
  latency?: LatencySummary;
  workerGaps?: WorkerGaps[];
  /** With a warm-up: the counters from its end to the stop. */
  window?: RunWindow;
  hugepages: boolean;
  ports: PortSummary[];
  chains: ChainSummary[];
  /** iova: how a PCI NIC's DMA reaches the pool's buffers (none: it cannot; pa: physical addresses; va: virtual, mapped by the IOMMU). */
  pool: { mbufs: number; available: number; iova: (typeof POOL_IOVA_NAMES)[number] };
  traps: { nf: string; message: string }[];
  /** Workers the watchdog restarted: the NF that held the burst, and the packets dropped with it. */
  hangs: { nf: string; lost: number }[];
  /** NFs marked failed (too many traps): their chains apply their fail policy. */
  failed: string[];
  /** vm NFs' guests: the accelerator that ran them, and how often one was restarted. */
  guests?: { nf: string; via: 'ivshmem' | 'vhost-user'; accel: 'kvm' | 'tcg' | undefined; restarts: number; ready: boolean }[];
  /** Packets received less packets sent and counted drops: 0 when nothing was lost. */
  unaccounted: number;
  /** Return descriptors the poll loop refused (a host bug if ever not 0). */
  badDescriptors: number;
}

/** One replica of a chain: a lane, its counters and its NFs' metrics. */
export interface ReplicaView {
  lane: number;
  /** False once scaled away: its counts stay in the chain's. */
  live: boolean;
  counters: Float64Array;
  /** The NFs' own metrics: MAX_METRICS slots per NF, named by metricNames. */
  metrics: Float64Array;
  metricNames: Metric[][];
}

export interface ChainView {
  name: string;
  nfNames: string[];
  replicas: ReplicaView[];
}

function sumOf<K extends string>(records: Record<K, number>[], names: readonly K[]): Record<K, number> {
  return Object.fromEntries(names.map((n) => [n, records.reduce((sum, r) => sum + r[n], 0)])) as Record<K, number>;
}

/** An NF's metrics over the replicas: the names the live ones define; counters summed over all, gauges over live ones. */
function nfMetrics(replicas: ReplicaView[], k: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replicas) if (r.live) for (const m of r.metricNames[k] ?? []) out[m.name] = 0;
  for (const r of replicas) {
    (r.metricNames[k] ?? []).forEach((m, i) => {
      if (m.name in out && (r.live || m.kind === 'counter')) out[m.name]! += r.metrics[k * MAX_METRICS + i]!;
    });
  }
  return out;
}

export function summarizeChains(chains: ChainView[]): ChainSummary[] {
  return chains.map((c) => ({
    name: c.name,
    ...sumOf(c.replicas.map((r) => readChainCounters(r.counters)), CHAIN_COUNTERS),
    workers: c.replicas.filter((r) => r.live).length,
    replicas: c.replicas.map((r) => ({ lane: r.lane, live: r.live, ...readChainCounters(r.counters) })),
    nfs: c.nfNames.map((name, k) => ({
      name,
      ...sumOf(c.replicas.map((r) => readNfCounters(r.counters, k)), NF_COUNTERS),
      metrics: nfMetrics(c.replicas, k),
    })),
  }));
}

/** netvm run's exit status for a run that ended: 0 when every packet was accounted for, no
 *  descriptor was refused and the pool is full again; 1 when a packet or an mbuf was lost. */
export function runExitStatus(s: Pick<RunSummary, 'unaccounted' | 'badDescriptors' | 'pool'>): 0 | 1 {
  return s.unaccounted === 0 && s.badDescriptors === 0 && s.pool.available === s.pool.mbufs ? 0 : 1;
}

export function unaccounted(ports: PortCounters[], chains: ChainSummary[]): number {
  let n = 0;
  for (const p of ports) n += p.rx - p.tx - p.tx_full - p.rx_multiseg - p.rx_ring_full;
  for (const c of chains) n -= c.dropped;
  return n;
}

function rate(count: number, bytes: number, seconds: number): string {
  const mpps = count / seconds / 1e6;
  const gbps = (bytes * 8) / seconds / 1e9;
  return `${mpps.toFixed(3)} Mpps ${gbps.toFixed(2)} Gbps`;
}

/** One line of rates over the last interval, from two snapshots. */
export function rateLine(
  t: number,
  seconds: number,
  ports: PortSummary[],
  before: PortSummary[],
  chains: ChainSummary[],
  chainsBefore: ChainSummary[],
): string {
  const parts = [`[${t.toFixed(0).padStart(3)}s]`];
  ports.forEach((p, i) => {
    const q = before[i]!;
    if (p.rx > 0) parts.push(`${p.name} rx ${rate(p.rx - q.rx, p.rx_bytes - q.rx_bytes, seconds)}`);
    if (p.tx > 0) parts.push(`${p.name} tx ${rate(p.tx - q.tx, p.tx_bytes - q.tx_bytes, seconds)}`);
  });
  chains.forEach((c, i) => {
    c.nfs.forEach((nf, k) => {
      const q = chainsBefore[i]?.nfs[k] ?? { in: 0, bytes: 0 }; // a chain added since
      parts.push(`${nf.name} ${rate(nf.in - q.in, nf.bytes - q.bytes, seconds)}`);
    });
  });
  return parts.join(' | ');
}

/** A worker's time on packets (host_ns, busy_ns), per packet, as VPP's show runtime gives it: `X ns a packet`. */
export function nsAPacket(ns: number, packets: number): string {
  return `${(ns / packets).toFixed(1)} ns a packet`;
}

export function formatSummary(s: RunSummary): string {
  const lines = [`summary: ${s.seconds.toFixed(2)} s on ${s.hugepages ? '2 MiB hugepages' : '4 KiB pages'}`];
  for (const p of s.ports) {
    lines.push(
      `  port ${p.name}: rx ${p.rx} (${p.rx_bytes} B), tx ${p.tx} (${p.tx_bytes} B), dropped: tx full ${p.tx_full}, multi-segment ${p.rx_multiseg}, ring full ${p.rx_ring_full}${p.rx_nombuf + p.rx_missed > 0 ? `; before rx, by the device: no buffer ${p.rx_nombuf}, missed ${p.rx_missed}` : ''}` +
        (p.rx_held_us > 0 ? `; held back ${(p.rx_held_us / 1e6).toFixed(3)} s (its chain was full; the device kept the rest)` : ''),
    );
  }
  for (const c of s.chains) {
    lines.push(`  chain ${c.name}${c.workers === 0 ? ' (removed)' : ''}: in ${c.in}, out ${c.out}, dropped ${c.dropped}${c.in > 0 ? `, its own work ${nsAPacket(c.host_ns, c.in)}` : ''}` +
      (c.replicas.length > 1 ? ` (on ${c.workers} worker(s); by replica: ${c.replicas.map((r) => `lane ${r.lane}${r.live ? '' : ' (gone)'} in ${r.in}`).join(', ')})` : ''));
    for (const nf of c.nfs) {
      lines.push(
        `    nf ${nf.name}: in ${nf.in}, next ${nf.next}, out ${nf.out}, dropped ${nf.dropped}, bad verdict ${nf.bad_verdict}, bad length ${nf.bad_length}, trapped ${nf.trapped} (in ${nf.trap_batches} bursts), hung ${nf.hung}` +
          (nf.fail_dropped + nf.fail_passed > 0 ? `, failed: dropped ${nf.fail_dropped}, passed ${nf.fail_passed}` : '') + (nf.in > 0 ? `, ${nsAPacket(nf.busy_ns, nf.in)}` : ''),
      );
      const metrics = Object.entries(nf.metrics);
      if (metrics.length > 0) lines.push(`      metrics: ${metrics.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
  }
  for (const g of s.guests ?? []) {
    lines.push(`  vm nf ${g.nf} (${g.via}): guest under ${g.accel?.toUpperCase() ?? '?'}, restarted ${g.restarts} time(s)${g.ready ? '' : ', not ready at the end'}`);
  }
  if (s.latency) {
    const us = (ns: number): string => (ns / 1000).toFixed(1);
    lines.push(`  latency (arrival to hand-back, ${s.latency.count} packets): p50 ${us(s.latency.p50Ns)} us, p99 ${us(s.latency.p99Ns)} us, p99.9 ${us(s.latency.p999Ns)} us, max ${us(s.latency.maxNs)} us`);
    for (const { cpu, gaps: g, long, preempted } of s.workerGaps ?? []) {
      lines.push(
        `  worker on CPU ${cpu}: its turns began p50 ${us(g.p50Ns)} us apart, p99 ${us(g.p99Ns)} us, p99.9 ${us(g.p999Ns)} us, max ${us(g.maxNs)} us; ` +
          `${long.count} gaps of ${LONG_GAP_NS / 1000} us or more (${long.ms.toFixed(1)} ms together); taken off its CPU ${preempted} times`,
      );
    }
  }
  const leaked = s.pool.mbufs - s.pool.available;
  lines.push(`  pool: ${s.pool.available}/${s.pool.mbufs} mbufs free${leaked === 0 ? '' : ` (${leaked} NOT RETURNED)`}`);
  if (s.badDescriptors > 0) lines.push(`  HOST BUG: ${s.badDescriptors} return descriptors refused by the poll loop`);
  lines.push(`  accounting: ${s.unaccounted === 0 ? 'every packet sent or counted as dropped' : `${s.unaccounted} packets unaccounted for`}`);
  return lines.join('\n');
}

/** after - before, for every counter of ports and chains (metrics too). */
export function windowCounters(
  ports: PortSummary[], portsBefore: PortSummary[], chains: ChainSummary[], chainsBefore: ChainSummary[],
): { ports: PortSummary[]; chains: ChainSummary[] } {
  const minus = <T extends object>(a: T, b: T): T =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'number' ? v - ((b as Record<string, number>)[k] ?? 0) : v])) as T;
  return {
    ports: ports.map((p, i) => minus(p, portsBefore[i]!)),
    // A chain added after the window began counts whole.
    chains: chains.map((c, i) => chainsBefore[i] === undefined ? c : ({
      ...minus(c, chainsBefore[i]!),
      workers: c.workers,
      replicas: c.replicas.map((r, j) => {
        const b = chainsBefore[i]!.replicas[j];
        return b === undefined ? r : { ...minus(r, b), lane: r.lane };
      }),
      nfs: c.nfs.map((nf, k) => ({ ...minus(nf, chainsBefore[i]!.nfs[k]!), metrics: minus(nf.metrics, chainsBefore[i]!.nfs[k]!.metrics) })),
    })),
  };
}
