// Measuring one sample of a point: the skeleton over telemetry, netvm over its
// run summary's window, the NF path in this process.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunWindow, WorkerGaps } from '../host/observe/stats.js';
import type { LatencySummary } from '../host/dataplane/latency.js';
import { PROJECT_ROOT } from '../host/paths.js';
import { runNetvm } from './dataplane.js';
import { POLL_CPU, REPLAYED_FLOWS, dataPlaneConfig, idleConfig, kernelPortConfig, latencyBase, nfConfig, nullVdevs, workerCpus, type Point } from './matrix.js';
import { addKernelLink, removeKernelLink } from './kernel-link.js';
import { ProbeLinks, QUIET_MS } from './idle.js';
import { swapEvery, type SwapRound } from './swap.js';
import { NF_PATH_CASES, measureNfPath } from './nf-path.js';
import { skeletonPps } from './skeleton.js';
import { l3fwdPps } from './l3fwd.js';
import { ovsPps } from './ovs.js';
import { handoffLatency, handoffPps } from './handoff.js';
import { writeFlowsPcap } from './traffic.js';

export interface Sample {
  /** Packets per second out of the system under test (every egress port). */
  pps: number;
  /** Packets per second that arrived (data-plane points). */
  offeredPps?: number;
  /** Each busy thread's share of a core (data-plane points). */
  threads?: { name: string; share: number }[];
  /** Packets dropped in the window, by where (the device's own drops, before RX, too). */
  drops?: Record<string, number>;
  /** The share of the window the source was held back because the chain's ring was full (backpressure: not drops). */
  heldBack?: number;
  /** The whole run accounted for every packet and gave the pool back full. */
  clean?: boolean;
  /** NF path: ns per packet in Wasm, and in the C and TypeScript baselines where there are. */
  nsPerPacket?: number;
  cNsPerPacket?: number;
  tsNsPerPacket?: number;
  /** Latency and swap points: the chain's rate unpaced, measured right before (what the pace is a percentage of). */
  capacityPps?: number;
  /** Latency and swap points: the rate the source was paced to; latency percentiles. */
  pacedPps?: number;
  latency?: LatencySummary;
  /** Latency points: the rings alone at the same pace, in C on the same two CPUs (bench/handoff.c), right after. */
  floor?: Omit<LatencySummary, 'count'>;
  /** Latency points: the same with the chain's CPU time a packet (its point's, this run) spent on the worker side. */
  workFloor?: Omit<LatencySummary, 'count'> & { workNs: number };
  /** Data-plane points: the measured window's length, in s. */
  windowS?: number;
  /** Data-plane points of one chain: the worker's ns a packet on the chain's own work and on each NF (host_ns, busy_ns). */
  workerTime?: WorkerTime;
  /** Latency points: the worker's turn gaps in the window. */
  workerGaps?: WorkerGaps[];
  /** Swap points: how many swaps were done and refused, and each one's pause. */
  swaps?: SwapRound;
  /** vm points: the accelerator that ran the guest (kvm or tcg). */
  accel?: string;
  /** Points that use both CPUs: a cache line's round trip between them right before the sample
   *  (bench/crosscore.c), in ns: where the host has put the two vCPUs. */
  lineRttNs?: number;
  /** Idle points: each probe's round trip after a quiet spell, in us, and the probes that did not come back. */
  wakeUs?: number[];
  lostProbes?: number;
}

export interface WorkerTime {
  chainNs: number;
  nfs: { name: string; ns: number }[];
}

/** Where a one-chain window's worker time went, a packet; undefined without packets. */
function workerTimeOf(w: RunWindow): WorkerTime | undefined {
  const c = w.chains.length === 1 ? w.chains[0]! : undefined;
  if (c === undefined || c.in === 0) return undefined;
  return { chainNs: c.host_ns / c.in, nfs: c.nfs.map((nf) => ({ name: nf.name, ns: nf.in === 0 ? 0 : nf.busy_ns / nf.in })) };
}

export interface Timing {
  warmupS: number;
  seconds: number;
  /** Workers each chain runs on. */
  workers: number;
}

const MODULES = join(PROJECT_ROOT, 'nf-modules/build');
/** The swap point's control API: a port of its own, so that no other netvm run is in the way. */
const SWAP_CONTROL = '127.0.0.1:7079';

/** Drops of a window, by where they happened (zero counts left out). */
function dropsOf(w: RunWindow): Record<string, number> {
  const d: Record<string, number> = {};
  const add = (where: string, n: number): void => {
    if (n > 0) d[where] = (d[where] ?? 0) + n;
  };
  for (const p of w.ports) {
    add(`${p.name}: worker ring full`, p.rx_ring_full);
    add(`${p.name}: TX full`, p.tx_full);
    add(`${p.name}: multi-segment`, p.rx_multiseg);
    add(`${p.name}: missed by the device`, p.rx_missed);
    add(`${p.name}: no buffer in the device`, p.rx_nombuf);
  }
  for (const c of w.chains) {
    for (const nf of c.nfs) {
      add(`${nf.name}: verdict drop`, nf.dropped);
      add(`${nf.name}: bad verdict or length`, nf.bad_verdict + nf.bad_length);
      add(`${nf.name}: trapped`, nf.trapped);
    }
  }
  return d;
}

/** What a point may need from a point measured before it: its median rate, and its worker's ns a packet. */
export type BaseOf = (point: Point) => { pps: number; workerNs?: number } | undefined;

/** The config's own ports: a vhost-user guest's ports (their names hold a '.', as router.into) are inside the system under test. */
const ownPorts = (w: RunWindow): RunWindow['ports'] => w.ports.filter((p) => !p.name.includes('.'));

/** Packets a second out of the config's own ports. */
const sentPps = (w: RunWindow): number => ownPorts(w).reduce((n, p) => n + p.tx, 0) / w.seconds;

/** Seconds of the unpaced run that sets a latency or swap point's pace. */
const CAPACITY_S = 2;

/** A latency point's floors, right after it: the rings alone at its pace, and with its chain's
 *  CPU time a packet on the worker side. */
function floors(pps: number, workerNs: number | undefined, timing: Timing): Pick<Sample, 'floor' | 'workFloor'> {
  const run = (workNs?: number): Omit<LatencySummary, 'count'> => handoffLatency(POLL_CPU, workerCpus(1)[0]!, timing.warmupS, timing.seconds, pps, workNs);
  return { floor: run(), ...(workerNs !== undefined && { workFloor: { ...run(workerNs), workNs: workerNs } }) };
}

export async function measure(point: Point, timing: Timing, scratch: string, baseOf: BaseOf): Promise<Sample> {
  switch (point.kind) {
    case 'skeleton':
      return { pps: await skeletonPps(nullVdevs(point.size), POLL_CPU, timing.warmupS, timing.seconds, point.mbufs) };
    case 'handoff':
      return { pps: handoffPps(POLL_CPU, workerCpus(1)[0]!, timing.warmupS, timing.seconds) };
    case 'peer': {
      mkdirSync(scratch, { recursive: true });
      const pcap = join(scratch, `traffic-${point.size}-${point.flows}.pcap`);
      writeFlowsPcap(pcap, point.size, point.flows);
      const pps = point.peer === 'l3fwd'
        ? await l3fwdPps(pcap, scratch, POLL_CPU, timing.warmupS, timing.seconds)
        : await ovsPps(point.peer === 'ovs-forward' ? 'forward' : 'chain3', pcap, scratch, POLL_CPU, timing.warmupS, timing.seconds);
      return { pps };
    }
    case 'forward':
    case 'chain':
    case 'latency':
    case 'swap': {
      let pcap = '';
      const extra: string[] = [];
      let pacedPps: number | undefined;
      mkdirSync(scratch, { recursive: true });
      const chain = point.kind === 'latency' || point.kind === 'swap' ? latencyBase(point) : point;
      if (chain.kind === 'chain') {
        const replayed = Math.min(chain.flows, REPLAYED_FLOWS);
        pcap = join(scratch, `traffic-${chain.size}-${replayed}.pcap`);
        writeFlowsPcap(pcap, chain.size, replayed);
        if (chain.flows > REPLAYED_FLOWS) extra.push('--rx-flows', String(chain.flows));
      }
      let capacityPps: number | undefined;
      if (point.kind === 'latency' || point.kind === 'swap') {
        // Paced from the chain's rate a moment before, not from its point's median minutes
        // earlier: this machine's slow spells last minutes, and 80% of a faster minute's rate
        // can be all the worker has in a slower one. With the latency stamps too, which the
        // worker pays for.
        if (point.kind === 'latency') extra.push('--latency');
        const unpaced = await runNetvm(dataPlaneConfig(chain, MODULES, pcap, timing.workers), scratch, `${point.id}-capacity`, timing.warmupS, CAPACITY_S, extra);
        capacityPps = sentPps(unpaced.window);
        if (!(capacityPps > 0)) throw new Error(`${chain.id}, unpaced to set the pace, sent nothing`);
        pacedPps = Math.round((capacityPps * point.percent) / 100);
        extra.push('--rx-pps', String(pacedPps));
      }
      let swaps: SwapRound | undefined;
      const during = point.kind !== 'swap' ? undefined : {
        control: SWAP_CONTROL,
        run: async () => {
          const until = Date.now() + timing.seconds * 1000 - 500;
          swaps = await swapEvery(SWAP_CONTROL, 'firewall', join(MODULES, 'firewall.wasm'), nfConfig('firewall', latencyBase(point).flows), until);
        },
      };
      const summary = await runNetvm(dataPlaneConfig(point, MODULES, pcap, timing.workers), scratch, point.id, timing.warmupS, timing.seconds, extra, during);
      const w = summary.window;
      const clean = summary.unaccounted === 0 && summary.badDescriptors === 0 && summary.pool.available === summary.pool.mbufs;
      const own = ownPorts(w);
      const accel = summary.guests?.[0]?.accel;
      const workerTime = workerTimeOf(w);
      return {
        pps: sentPps(w),
        windowS: w.seconds,
        ...(workerTime !== undefined && { workerTime }),
        offeredPps: own.reduce((n, p) => n + p.rx, 0) / w.seconds,
        ...(accel !== undefined && { accel }),
        threads: w.threads.map(({ name, share }) => ({ name, share })),
        drops: dropsOf(w),
        heldBack: Math.max(0, ...own.map((p) => p.rx_held_us / 1e6 / w.seconds)),
        clean,
        ...(capacityPps !== undefined && { capacityPps }),
        ...(pacedPps !== undefined && { pacedPps }),
        ...(w.latency !== undefined && { latency: w.latency }),
        ...(w.workerGaps !== undefined && { workerGaps: w.workerGaps }),
        ...(point.kind === 'latency' && floors(pacedPps!, baseOf(chain)?.workerNs, timing)),
        ...(swaps !== undefined && { swaps }),
      };
    }
    case 'idle': {
      mkdirSync(scratch, { recursive: true });
      const links = new ProbeLinks(point.link);
      try {
        // As many probes as fit in the window after runNetvm's 0.5 s start (and a margin at its end).
        const probes = Math.max(1, Math.floor((timing.seconds * 1000 - 700) / (QUIET_MS + 50)));
        let rtts: (number | undefined)[] = [];
        const summary = await runNetvm(idleConfig(MODULES, links.ports()), scratch, point.id, timing.warmupS, timing.seconds,
          ['--latency', ...(point.busy ? ['--busy-poll'] : [])], { control: 'off', run: async () => void (rtts = await links.probe(probes)) });
        const w = summary.window;
        const wakeUs = rtts.filter((x): x is number => x !== undefined);
        return {
          pps: w.ports.reduce((n, p) => n + p.tx, 0) / w.seconds, threads: w.threads.map(({ name, share }) => ({ name, share })),
          clean: summary.unaccounted === 0 && summary.pool.available === summary.pool.mbufs, wakeUs, lostProbes: rtts.length - wakeUs.length,
          ...(w.latency !== undefined && { latency: w.latency }),
        };
      } finally {
        links.remove();
      }
    }
    case 'kernel': {
      mkdirSync(scratch, { recursive: true });
      const pcap = join(scratch, 'traffic-64-1000.pcap');
      writeFlowsPcap(pcap, 64, 1000);
      const ends = addKernelLink();
      try {
        const summary = await runNetvm(kernelPortConfig(point.pmd, MODULES, pcap, ends), scratch, point.id, timing.warmupS, timing.seconds);
        const w = summary.window;
        const sink = w.ports.find((p) => p.name === 'sink')!;
        return {
          pps: sink.tx / w.seconds, windowS: w.seconds, threads: w.threads.map(({ name, share }) => ({ name, share })), drops: dropsOf(w),
          clean: summary.unaccounted === 0 && summary.pool.available === summary.pool.mbufs,
        };
      } finally {
        removeKernelLink(ends);
      }
    }
    case 'nf-path': {
      const c = NF_PATH_CASES.find((x) => x.name === point.nfCase)!;
      const { wasm, c: native, ts } = measureNfPath(c, point.flows);
      return { pps: 1e9 / wasm, nsPerPacket: wasm, ...(native !== undefined && { cNsPerPacket: native }), ...(ts !== undefined && { tsNsPerPacket: ts }) };
    }
  }
}
