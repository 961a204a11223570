// What the suite measures: its points, and the config each data-plane point
// runs. A point's id names it (`--only` picks by id prefix):
//   skeleton-<size>B             raw DPDK: the skeleton example, 2x net_null copy=1, one core
//   skeleton-extbuf-<size>B      the same on pinned external-buffer mbufs (NetVM's kind)
//   handoff                      the RX and return rings alone between the poll lcore's CPU and a
//                                worker's (bench/handoff.c): the ceiling of every worker's traffic
//   forward-<size>B              netvm, [forward] both ways on the same vdevs (poll + one worker)
//   chain<L>-<size>B-<flows>     netvm, the first L of CHAIN_NFS, one way: bench traffic
//                                replayed by net_pcap (infinite_rx) into a net_null sink;
//                                1M flows: sources rewritten as they arrive (--rx-flows), and
//                                nat given a pool of 32 public addresses
//   single-<nf>-<size>B-<flows>  netvm, one NF (forward or router) on the chain points' traffic:
//                                what a peer doing the same work is set beside (-c: in C)
//   chain<L>-<size>B-<flows>-iso the same with every NF isolated (copies, not the pool)
//   chain<L>-<size>B-<flows>-js  the same with every NF in plain TypeScript (bench/js-nfs), run
//                                by the same worker without Wasm
//   chain<L>-<size>B-<flows>-c   the same with every NF in C (nf-modules/native: the anchor), run
//                                by the same worker through the same C chain
//   chain3-64B-1K-vm-ivshmem     firewall -> a QEMU guest -> nat: the guest's ttl over ivshmem
//   chain3-64B-1K-vm-vhost       the same with a Linux bridge guest on two vhost-user ports
//   latency<L>-<pct>pct          chain<L>-64B-1K paced at pct% of the rate it reached unpaced
//                                right before (2 s): arrival-to-hand-back latency percentiles
//   swap1-100ms                  chain1-64B-1K paced at half its rate (measured the same way), its
//                                firewall swapped for a fresh instance every 100 ms: the pauses and the drops
//   nf-<case>-<flows>            the NF path alone (bench/nf-path.ts): ns/packet, C and TS baselines
//   kernel-<pmd>-64B             a kernel interface's driver (net_af_xdp, net_af_packet) both ways
//                                through a veth pair: bench traffic out of one end by [forward],
//                                in at the other and on to net_null by [forward]
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../host/paths.js';
import { FIREWALL_RULES } from './baselines.js';
import { NF_PATH_CASES } from './nf-path.js';
import type { SkeletonMbufs } from './skeleton.js';
import { FCS_BYTES, SERVICE_IP, SERVICE_PORT } from './traffic.js';

export const SIZES = [64, 128, 256, 512, 1024, 1518];
export const CHAIN_NFS = ['firewall', 'router', 'nat', 'lb', 'monitor'] as const;
/** An NF a data-plane point can run: one of the chain's, or forward (no config). */
export type PointNf = (typeof CHAIN_NFS)[number] | 'forward';
/** The poll lcore's CPU; workers take the others (on a 2-core machine, CPU 0). */
export const POLL_CPU = 1;
/** Flows of the data-plane points. Up to REPLAYED_FLOWS the trace holds one packet per flow
 *  (net_pcap keeps each in the pool); beyond, a trace of REPLAYED_FLOWS packets is replayed with
 *  its sources rewritten to cycle through the flows (`netvm run --rx-flows`). */
export const DATAPLANE_FLOWS = [1000, 32768, 1_000_000];
export const REPLAYED_FLOWS = 32768;
const POOL_MBUFS = 65535;

export type Point =
  | { kind: 'skeleton'; id: string; size: number; mbufs: SkeletonMbufs }
  | { kind: 'handoff'; id: string }
  | { kind: 'forward'; id: string; size: number }
  | { kind: 'chain'; id: string; nfs: readonly PointNf[]; size: number; flows: number; isolated: boolean; js: boolean; c: boolean; vm?: 'ivshmem' | 'vhost-user' }
  | { kind: 'latency'; id: string; length: number; percent: number }
  | { kind: 'swap'; id: string; length: number; percent: number }
  | { kind: 'nf-path'; id: string; nfCase: string; flows: number }
  | { kind: 'idle'; id: string; busy: boolean; link: 'veth' | 'tap' }
  | { kind: 'kernel'; id: string; pmd: KernelPmd }
  | { kind: 'peer'; id: string; peer: Peer; size: number; flows: number };

/** What operators run today (issue 23): DPDK's l3fwd (LPM, one core); OVS-DPDK forwarding, and
 *  firewall -> router -> nat as OpenFlow (one PMD core). */
export type Peer = 'l3fwd' | 'ovs-forward' | 'ovs-chain3';

/** Drivers that reach a kernel interface: a NIC through its kernel driver. */
export type KernelPmd = 'af_xdp' | 'af_packet';

const flowsText = (flows: number): string => (flows >= 1_000_000 ? `${flows / 1_000_000}M` : flows % 1024 === 0 ? `${flows / 1024}Ki` : `${flows / 1000}K`);

export const skeletonPoint = (size: number, mbufs: SkeletonMbufs = 'direct'): Point =>
  ({ kind: 'skeleton', id: `skeleton-${mbufs === 'extbuf' ? 'extbuf-' : ''}${size}B`, size, mbufs });
export const handoffPoint = (): Point => ({ kind: 'handoff', id: 'handoff' });
/** A peer on the chain points' traffic. */
export const peerPoint = (peer: Peer, size: number, flows: number): Point => ({ kind: 'peer', id: `peer-${peer}-${size}B-${flowsText(flows)}`, peer, size, flows });
export const forwardPoint = (size: number): Point => ({ kind: 'forward', id: `forward-${size}B`, size });
export type ChainPoint = Extract<Point, { kind: 'chain' }>;
export const chainPoint = (length: number, size: number, flows: number, variant?: 'iso' | 'js' | 'c' | 'vm-ivshmem' | 'vm-vhost'): ChainPoint => ({
  kind: 'chain', id: `chain${length}-${size}B-${flowsText(flows)}${variant ? `-${variant}` : ''}`, nfs: CHAIN_NFS.slice(0, length), size, flows,
  isolated: variant === 'iso', js: variant === 'js', c: variant === 'c',
  ...(variant === 'vm-ivshmem' && { vm: 'ivshmem' as const }), ...(variant === 'vm-vhost' && { vm: 'vhost-user' as const }),
});
/** One NF alone on the chain points' traffic, beside a peer that does the same work (in C: `c`). */
export const singlePoint = (nf: 'forward' | 'router', size: number, flows: number, c = false): ChainPoint => ({
  ...chainPoint(1, size, flows, c ? 'c' : undefined), id: `single-${nf}-${size}B-${flowsText(flows)}${c ? '-c' : ''}`, nfs: [nf],
});
/** The guest standing in for a vm point's middle NF. */
const VM_GUEST = { ivshmem: 'ttl.initrd', 'vhost-user': 'bridge.initrd' } as const;
export const latencyPoint = (length: number, percent: number): Point => ({ kind: 'latency', id: `latency${length}-${percent}pct`, length, percent });
/** The point whose measured rate a latency point is paced against. */
export const latencyBase = (p: { length: number }): ChainPoint => chainPoint(p.length, 64, 1000);
export const LOAD_PERCENTS = [10, 50, 80];
export const swapPoint = (): Point => ({ kind: 'swap', id: 'swap1-100ms', length: 1, percent: 50 });
export const nfPathPoint = (nfCase: string, flows: number): Point => ({ kind: 'nf-path', id: `nf-${nfCase}-${flowsText(flows)}`, nfCase, flows });
/** An idle data plane (bench/idle.ts): adaptive polling on veth links (naps) or net_tap ports
 *  (RX interrupts), or busy polling on veth links (the baseline). */
export const idlePoint = (busy: boolean, link: 'veth' | 'tap' = 'veth'): Point =>
  ({ kind: 'idle', id: busy ? 'idle-busy' : link === 'tap' ? 'idle-tap' : 'idle-adaptive', busy, link });

export const kernelPoint = (pmd: KernelPmd): Point => ({ kind: 'kernel', id: `kernel-${pmd}-64B`, pmd });

/** The full matrix, or the quick one (the README's: the points of the targets). */
export function matrix(quick: boolean): Point[] {
  if (quick) {
    return [
      skeletonPoint(64), skeletonPoint(64, 'extbuf'), handoffPoint(), forwardPoint(64), skeletonPoint(1518),
      chainPoint(1, 64, 1000), chainPoint(1, 64, 1000, 'c'), chainPoint(1, 64, 1000, 'js'),
      chainPoint(3, 64, 1000), chainPoint(3, 64, 1000, 'c'), chainPoint(3, 64, 1000, 'iso'), chainPoint(3, 64, 1000, 'js'),
      chainPoint(3, 64, 1_000_000), chainPoint(3, 64, 1_000_000, 'c'), chainPoint(3, 1518, 1000), chainPoint(3, 1518, 1000, 'iso'),
      chainPoint(3, 64, 1000, 'vm-ivshmem'), chainPoint(3, 64, 1000, 'vm-vhost'), chainPoint(5, 64, 1000), chainPoint(5, 64, 1000, 'c'), chainPoint(5, 1518, 1000),
      ...LOAD_PERCENTS.map((pct) => latencyPoint(3, pct)),
      swapPoint(), idlePoint(false), idlePoint(false, 'tap'), idlePoint(true), kernelPoint('af_xdp'), kernelPoint('af_packet'),
      singlePoint('forward', 64, 1000), singlePoint('router', 64, 1000), singlePoint('router', 64, 1000, true),
      peerPoint('l3fwd', 64, 1000), peerPoint('ovs-forward', 64, 1000), peerPoint('ovs-chain3', 64, 1000),
      ...['forward', 'ttl', 'ttl-c', 'ttl-rs', 'firewall', 'firewall-c', 'router', 'nat', 'lb', 'monitor', 'fw+rt+nat', 'fw+rt+nat+lb+mon', 'dpi+fw', 'dpi+fw-notify'].map((c) => nfPathPoint(c, 1000)),
    ];
  }
  const points: Point[] = [];
  points.push(handoffPoint());
  for (const size of SIZES) points.push(skeletonPoint(size), skeletonPoint(size, 'extbuf'), forwardPoint(size));
  for (const flows of DATAPLANE_FLOWS) {
    for (let length = 1; length <= CHAIN_NFS.length; length++) for (const size of SIZES) points.push(chainPoint(length, size, flows));
  }
  for (let length = 1; length <= CHAIN_NFS.length; length++) {
    for (const size of SIZES) points.push(chainPoint(length, size, 1000, 'iso'));
    points.push(chainPoint(length, 64, 1000, 'js'));
    for (const flows of DATAPLANE_FLOWS) points.push(chainPoint(length, 64, flows, 'c'));
  }
  points.push(chainPoint(3, 64, 1000, 'vm-ivshmem'), chainPoint(3, 64, 1000, 'vm-vhost'));
  for (const pct of LOAD_PERCENTS) points.push(latencyPoint(3, pct));
  points.push(swapPoint(), idlePoint(false), idlePoint(false, 'tap'), idlePoint(true), kernelPoint('af_xdp'), kernelPoint('af_packet'));
  for (const size of SIZES) points.push(singlePoint('forward', size, 1000), singlePoint('router', size, 1000));
  points.push(singlePoint('router', 64, 1000, true));
  for (const size of SIZES) points.push(peerPoint('l3fwd', size, 1000), peerPoint('ovs-forward', size, 1000), peerPoint('ovs-chain3', size, 1000));
  for (const c of NF_PATH_CASES) for (const flows of [1000, 1_000_000]) points.push(nfPathPoint(c.name, flows));
  return points;
}

/** The net_null vdevs of the skeleton and forward points. */
export const nullVdevs = (size: number): string[] => [0, 1].map((i) => `net_null${i},size=${size - FCS_BYTES},copy=1`);

export function nfConfig(nf: PointNf, flows: number): unknown {
  const tableFlows = Math.max(1024, flows * 2);
  const ip = (a: number): string => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
  switch (nf) {
    case 'firewall':
      return {
        default: 'deny',
        rules: FIREWALL_RULES.map((r) => ({
          action: r.allow ? 'allow' : 'deny', proto: r.proto === 6 ? 'tcp' : 'udp',
          ...(r.srcLen && { src: `${ip(r.src)}/${r.srcLen}` }), ...(r.dstLen && { dst: `${ip(r.dst)}/${r.dstLen}` }),
          dport: `${r.dportLo}-${r.dportHi}`,
        })),
      };
    case 'router':
      return {
        next_hops: [{ port: 1, mac: '02:00:00:00:00:01' }, { port: 0, mac: '02:00:00:00:00:02' }],
        routes: [{ prefix: '0.0.0.0/0', via: 1 }, { prefix: '192.168.0.0/16', via: 0 }, { prefix: '172.16.0.0/12', via: 1 }],
        egress: 'next',
      };
    case 'nat':
      // One public address holds 64512 flows a protocol; more flows take a pool (32 addresses).
      return { inside: '10.0.0.0/8', public_ip: flows > 60000 ? '203.0.113.0/27' : '203.0.113.1', flows: tableFlows };
    case 'lb':
      return {
        flows: tableFlows,
        egress: 'next',
        vips: [{ vip: SERVICE_IP, port: SERVICE_PORT, proto: 'udp', backends: ['a', 'b', 'c', 'd'].map((name, i) => ({ name, mac: `02:00:00:00:01:0${i}`, port: 1 })) }],
      };
    case 'monitor':
      return { flows: tableFlows };
    case 'forward':
      return undefined;
  }
}

/** The worker CPUs of a run on n workers: every CPU but the poll lcore's, up to n (on a
 *  machine with fewer, the chains' replicas share them). */
export function workerCpus(n: number): number[] {
  const cpus = Array.from({ length: availableParallelism() }, (_, i) => i).filter((c) => c !== POLL_CPU);
  return cpus.slice(0, Math.max(1, Math.min(n, cpus.length)));
}

/** The netvm config of an idle point: [forward] from one port to the other. */
export function idleConfig(modules: string, ports: { in: string; out: string }): object {
  return {
    cores: { poll: POLL_CPU, workers: workerCpus(1) }, ports,
    nfs: { fwd: { module: `${modules}/forward.wasm` } },
    chains: [{ from: 'in', through: ['fwd'], to: 'out' }],
  };
}

/** The netvm config of a forward or chain point, each chain on `workers` workers (flows
 *  steered by a symmetric hash). Port index 1 is where packets leave. */
/** kernel-<pmd>: bench traffic out of one end of a veth pair and in at the other, through the driver. */
export function kernelPortConfig(pmd: KernelPmd, modules: string, pcap: string, ends: [string, string]): object {
  return {
    cores: { poll: POLL_CPU, workers: workerCpus(1) },
    pool: { mbufs: POOL_MBUFS },
    ports: { src: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, a: `net_${pmd}0,iface=${ends[0]}`, b: `net_${pmd}1,iface=${ends[1]}`, sink: 'net_null0' },
    nfs: { out: { module: `${modules}/forward.wasm` }, in: { module: `${modules}/forward.wasm` } },
    chains: [{ from: 'src', through: ['out'], to: 'a' }, { from: 'b', through: ['in'], to: 'sink' }],
  };
}

export function dataPlaneConfig(point: Point, modules: string, pcap: string, workers = 1): object {
  const cores = { poll: POLL_CPU, workers: workerCpus(workers) };
  if (point.kind === 'forward') {
    const [a, b] = nullVdevs(point.size);
    return {
      cores, ports: { a, b },
      nfs: { ab: { module: `${modules}/forward.wasm` }, ba: { module: `${modules}/forward.wasm` } },
      chains: [{ from: 'a', through: ['ab'], to: 'b', workers }, { from: 'b', through: ['ba'], to: 'a', workers }],
    };
  }
  if (point.kind !== 'chain' && point.kind !== 'latency' && point.kind !== 'swap') throw new Error(`${point.id} does not run on netvm`);
  const chain = point.kind === 'chain' ? point : latencyBase(point);
  const names = chain.nfs;
  const config = (nf: PointNf): object => {
    const c = nfConfig(nf, chain.flows);
    return c === undefined ? {} : { config: c };
  };
  return {
    cores,
    pool: { mbufs: POOL_MBUFS },
    ports: { src: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, sink: `net_null0,size=${chain.size - FCS_BYTES}` },
    nfs: Object.fromEntries(names.map((nf, k) => [nf, chain.vm !== undefined && k === 1 ? {
      module: join(PROJECT_ROOT, 'nf-modules/build/guest', VM_GUEST[chain.vm]), trust: 'vm', via: chain.vm,
    } : {
      module: chain.js ? join(PROJECT_ROOT, `dist/bench/js-nfs/${nf}.js`) : chain.c ? `${modules}/native/${nf}.so` : `${modules}/${nf}.wasm`,
      ...config(nf), ...(chain.isolated && { trust: 'isolated' }),
    }])),
    chains: [{ from: 'src', through: names, to: 'sink', workers }],
  };
}
