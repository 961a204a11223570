// What the suite makes of its samples: per point the median and spread, the
// derived figures (Gbps, ns per packet per core, ratios to the baselines), the
// targets met or missed (with the bottleneck of a miss), and the terminal
// table, Markdown report and charts that show them.
import type { Machine } from './machine.js';
import { CHAIN_NFS, POLL_CPU, SIZES, latencyBase, workerCpus, type Point } from './matrix.js';
import { QUIET_MS } from './idle.js';
import type { Sample } from './measure.js';
import { barChartSvg, type Bar } from './svg.js';
import { WIRE_OVERHEAD_BYTES } from './traffic.js';

/** Repeats that disagree by more than this (max - min over median) make a point noisy. */
export const NOISY_SPREAD = 0.1;
const LINE_RATE_10G_64B_MPPS = 14.88;

export interface PointResult {
  point: Point;
  samples: Sample[];
  /** Why the point could not be measured. */
  error?: string;
}

export interface Figures {
  /** Packets per second: median, and the spread of the repeats. */
  pps: number;
  min: number;
  max: number;
  noisy: boolean;
  mpps: number;
  gbpsL2?: number;
  gbpsWire?: number;
  /** ns of each thread's core per packet (data-plane points), or of the NF path. */
  workerNs?: number;
  pollNs?: number;
  tsNs?: number;
  cNs?: number;
  /** Ratio of pps to the skeleton's at the same size, and of ns to the TS baseline's. */
  vsSkeleton?: number;
  wasmVsTs?: number;
  /** Wasm's speed as a share of C's: C's ns over Wasm's (NF path), or Wasm's pps over its -c point's (1 = as fast as C). */
  wasmVsC?: number;
  /** Latency points: percentiles (median over the repeats; max: the largest seen), in us. */
  latencyUs?: { p50: number; p99: number; p999: number; max: number };
  /** kernel-af_xdp: its rate over net_af_packet's on the same link, same run. */
  vsAfPacket?: number;
  /** Swap points: swaps done and refused, their pauses, and the packets dropped meanwhile (all repeats). */
  swap?: {
    swaps: number; refused: number; drops: number;
    /** Over the swaps after each run's first. */
    medianPauseUs: number; p99PauseUs: number; maxPauseUs: number; medianBuildUs: number; maxBuildUs: number;
    /** Each run's first swap (cold code), the largest. */
    firstPauseUs: number; firstBuildUs: number;
  };
  /** Idle points: each thread's share of a core (the most over the repeats), and the probes' round trips (all repeats). */
  idle?: { pollShare: number; workerShare: number; wakeP50Us: number; wakeMaxUs: number; probes: number; lost: number; ownP50Us?: number; ownMaxUs?: number };
}

export interface Target {
  what: string;
  status: 'met' | 'missed' | 'not measured';
  detail: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The value at quantile q of xs by nearest rank (with fewer than 100 values, p99 is the largest). */
const nearestRank = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.ceil(q * xs.length) - 1]!;

/** The sample closest to the median (its threads and drops stand for the point). */
export function typicalSample(r: PointResult): Sample | undefined {
  if (r.samples.length === 0) return undefined;
  const m = median(r.samples.map((s) => s.pps));
  return r.samples.reduce((best, s) => (Math.abs(s.pps - m) < Math.abs(best.pps - m) ? s : best));
}

/** The share of a core the threads of that name used, together (several workers: their sum). */
const shareOf = (s: Sample | undefined, name: RegExp): number | undefined => {
  const threads = s?.threads?.filter((t) => name.test(t.name)) ?? [];
  return threads.length === 0 ? undefined : threads.reduce((n, t) => n + t.share, 0);
};
const WORKER = /^netvm-worker/;
const POLL = /^rte-worker|^lcore-worker/;

export function figures(r: PointResult, all: PointResult[]): Figures | undefined {
  if (r.samples.length === 0) return undefined;
  const ppss = r.samples.map((s) => s.pps);
  const pps = median(ppss);
  const min = Math.min(...ppss), max = Math.max(...ppss);
  const f: Figures = { pps, min, max, noisy: r.samples.length > 1 && (max - min) / pps > NOISY_SPREAD, mpps: pps / 1e6 };
  const p = r.point;
  if (p.kind === 'nf-path') {
    f.workerNs = median(r.samples.map((s) => s.nsPerPacket!));
    const ts = r.samples.flatMap((s) => (s.tsNsPerPacket === undefined ? [] : [s.tsNsPerPacket]));
    if (ts.length > 0) {
      f.tsNs = median(ts);
      f.wasmVsTs = f.workerNs / f.tsNs;
    }
    const c = r.samples.flatMap((s) => (s.cNsPerPacket === undefined ? [] : [s.cNsPerPacket]));
    if (c.length > 0) {
      f.cNs = median(c);
      f.wasmVsC = f.cNs / f.workerNs;
    }
    return f;
  }
  if (p.kind === 'handoff') {
    f.pollNs = 1e9 / pps; // its poll side, spinning
    return f;
  }
  if (p.kind === 'kernel') {
    const afPacket = p.pmd === 'af_packet' ? undefined : byId(all, 'kernel-af_packet-64B');
    if (afPacket !== undefined && afPacket.samples.length > 0) f.vsAfPacket = pps / median(afPacket.samples.map((s) => s.pps));
    return f;
  }
  if (p.kind === 'idle') {
    const wakes = r.samples.flatMap((s) => s.wakeUs ?? []);
    const lost = r.samples.reduce((n, s) => n + (s.lostProbes ?? 0), 0);
    const own = r.samples.flatMap((s) => (s.latency === undefined || s.latency.count === 0 ? [] : [s.latency]));
    f.idle = {
      ...(own.length > 0 && { ownP50Us: median(own.map((l) => l.p50Ns)) / 1000, ownMaxUs: Math.max(...own.map((l) => l.maxNs)) / 1000 }),
      pollShare: Math.max(...r.samples.map((s) => shareOf(s, POLL) ?? 0)), workerShare: Math.max(...r.samples.map((s) => shareOf(s, WORKER) ?? 0)),
      wakeP50Us: wakes.length ? median(wakes) : NaN, wakeMaxUs: wakes.length ? Math.max(...wakes) : NaN, probes: wakes.length + lost, lost,
    };
    return f;
  }
  const size = p.kind === 'latency' || p.kind === 'swap' ? latencyBase(p).size : p.size;
  f.gbpsL2 = (pps * size * 8) / 1e9;
  f.gbpsWire = (pps * (size + WIRE_OVERHEAD_BYTES) * 8) / 1e9;
  if (p.kind === 'latency') {
    const lat = r.samples.flatMap((s) => (s.latency === undefined ? [] : [s.latency]));
    if (lat.length > 0) {
      f.latencyUs = {
        p50: median(lat.map((l) => l.p50Ns)) / 1000, p99: median(lat.map((l) => l.p99Ns)) / 1000,
        p999: median(lat.map((l) => l.p999Ns)) / 1000, max: Math.max(...lat.map((l) => l.maxNs)) / 1000,
      };
    }
    return f;
  }
  if (p.kind === 'swap') {
    const pauses = r.samples.flatMap((s) => s.swaps?.pausesUs ?? []);
    const builds = r.samples.flatMap((s) => s.swaps?.buildsUs ?? []);
    const firsts = r.samples.flatMap((s) => (s.swaps?.first === undefined ? [] : [s.swaps.first]));
    const drops = r.samples.reduce((n, s) => n + Object.values(s.drops ?? {}).reduce((a, b) => a + b, 0), 0);
    const of = (xs: number[], what: (xs: number[]) => number): number => (xs.length ? what(xs) : 0);
    const max = (xs: number[]): number => Math.max(...xs);
    f.swap = {
      swaps: r.samples.reduce((n, s) => n + (s.swaps?.swaps ?? 0), 0), refused: r.samples.reduce((n, s) => n + (s.swaps?.refused ?? 0), 0),
      firstPauseUs: of(firsts.map((x) => x.pauseUs), max), firstBuildUs: of(firsts.map((x) => x.buildUs), max),
      medianPauseUs: of(pauses, median), p99PauseUs: of(pauses, (xs) => nearestRank(xs, 0.99)), maxPauseUs: of(pauses, max),
      medianBuildUs: of(builds, median), maxBuildUs: of(builds, max), drops,
    };
    return f;
  }
  const typical = typicalSample(r);
  const worker = shareOf(typical, WORKER);
  const poll = shareOf(typical, POLL);
  // Nothing came out (every packet dropped, the notes say where): no cost per packet to speak of.
  if (worker !== undefined && pps > 0) f.workerNs = (worker * 1e9) / pps;
  if (poll !== undefined && pps > 0) f.pollNs = (poll * 1e9) / pps;
  if (p.kind === 'skeleton') f.pollNs = 1e9 / pps; // one core, spinning
  const skeleton = all.find((x) => x.point.kind === 'skeleton' && x.point.size === p.size && x.point.mbufs === 'direct');
  if (p.kind !== 'skeleton' && skeleton && skeleton.samples.length > 0) f.vsSkeleton = pps / median(skeleton.samples.map((s) => s.pps));
  const plain = p.kind === 'chain' && !p.js && !p.c && !p.isolated && p.vm === undefined;
  const js = plain ? all.find((x) => x.point.id === `${p.id}-js`) : undefined;
  if (js !== undefined && js.samples.length > 0 && pps > 0) f.wasmVsTs = median(js.samples.map((s) => s.pps)) / pps;
  const c = plain ? all.find((x) => x.point.id === `${p.id}-c`) : undefined;
  if (c !== undefined && c.samples.length > 0 && pps > 0) f.wasmVsC = pps / median(c.samples.map((s) => s.pps));
  return f;
}

/** Which part of the system held a data-plane point back. */
export function bottleneck(r: PointResult): string {
  const s = typicalSample(r);
  const worker = shareOf(s, WORKER) ?? 0;
  if ((s?.heldBack ?? 0) > 0.1 && worker >= 0.9) return 'the worker core: its ring stays full and the poll lcore holds the source back (the NFs\' work, in Wasm, and the chain\'s per-packet staging)';
  // Both threads spin whether or not they have work: a worker whose ring is seldom full keeps up
  // (its share counts its empty polls), so the poll lcore is what sets the pace.
  return 'the poll lcore (RX from the source, the descriptor rings to and from the worker, TX), or the traffic source itself: the worker keeps up (its ring is seldom full)';
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined ? '-' : v.toFixed(digits));

const byId = (all: PointResult[], id: string): PointResult | undefined => all.find((r) => r.point.id === id);

/** What the design allows forward here: the poll lcore does the skeleton's RX and TX and its
 *  side of the rings to the worker, one after the other (the two baselines' ns added up). */
function forwardCeiling(all: PointResult[]): string | undefined {
  const rate = (id: string): number | undefined => {
    const r = byId(all, id);
    return r && r.samples.length > 0 ? median(r.samples.map((s) => s.pps)) : undefined;
  };
  const skeleton = rate('skeleton-64B');
  const handoff = rate('handoff');
  if (skeleton === undefined || handoff === undefined) return undefined;
  const ceiling = 1 / (1 / skeleton + 1 / handoff);
  const extbuf = rate('skeleton-extbuf-64B');
  const forward = rate('forward-64B');
  const onExtbuf = extbuf === undefined ? '' : (() => {
    const extCeiling = 1 / (1 / extbuf + 1 / handoff);
    return `. On pinned external-buffer mbufs, the kind NetVM's pool holds so that a sandbox sees packet bytes only, the skeleton ` +
      `itself forwards ${(extbuf / 1e6).toFixed(1)} Mpps (skeleton-extbuf-64B, ${(extbuf / skeleton).toFixed(2)}x its own): ` +
      `with the rings, about ${(extCeiling / 1e6).toFixed(1)} Mpps, ${(extCeiling / skeleton).toFixed(2)}x the skeleton` +
      (forward === undefined ? '' : `, of which forward reaches ${(forward / extCeiling).toFixed(2)}`);
  })();
  return `The rings alone (handoff) pass ${(handoff / 1e6).toFixed(1)} Mpps: with the skeleton's work on the same core, ` +
    `forward can reach about ${(ceiling / 1e6).toFixed(1)} Mpps here, ${(ceiling / skeleton).toFixed(2)}x the skeleton${onExtbuf}`;
}

/** How far the baselines' own repeats spread in the run: the machine's steadiness, one core
 *  (skeleton) and two (handoff), with no NetVM code running. */
function baselineSpread(all: PointResult[]): string {
  const repeated = ['skeleton-64B', 'handoff'].flatMap((id) => {
    const r = byId(all, id);
    return r && r.samples.length >= 2 ? [{ id, f: figures(r, all)! }] : [];
  });
  if (repeated.length === 0) return '';
  const spreads = repeated.map(({ id, f }) => `${id} ${(f.min / 1e6).toFixed(1)}-${(f.max / 1e6).toFixed(1)} Mpps (${(100 * (f.max - f.min) / f.min).toFixed(0)}%)`);
  return `. The baselines' own repeats in this run: ${spreads.join(', ')}` +
    (repeated.some(({ f }) => f.noisy) ? ': the machine itself was not quiet (a baseline of its own spread over 10%), and the target asks for a quiet one' : '');
}

export function targets(all: PointResult[]): Target[] {
  const out: Target[] = [];
  const ratioTarget = (what: string, id: string, atLeast: number, extra?: (f: Figures) => string | undefined): void => {
    const r = byId(all, id);
    const f = r && figures(r, all);
    if (!r || !f || f.vsSkeleton === undefined) {
      out.push({ what, status: 'not measured', detail: `needs ${id} and its skeleton baseline in the run` });
      return;
    }
    const extraMiss = extra?.(f);
    const ok = f.vsSkeleton >= atLeast && extraMiss === undefined;
    const detail = `${f.mpps.toFixed(2)} Mpps, ${f.vsSkeleton.toFixed(2)}x the skeleton${extraMiss ? `; ${extraMiss}` : ''}`;
    out.push({ what, status: ok ? 'met' : 'missed', detail: ok ? detail : `${detail}. Bottleneck: ${bottleneck(r)}${inC(id)}` });
  };
  // What the same chain gives with each NF in C, on the same worker and chain code: whether the
  // platform could meet a missed target with faster NFs.
  const inC = (id: string): string => {
    const c = byId(all, `${id}-c`);
    const f = c && figures(c, all);
    return f === undefined ? '' : `. The same chain with each NF in C (${id}-c): ${f.mpps.toFixed(2)} Mpps` +
      (f.vsSkeleton === undefined ? '' : `, ${f.vsSkeleton.toFixed(2)}x the skeleton`);
  };
  for (const nf of ['firewall', 'router', 'nat', 'ttl']) {
    const id = `nf-${nf}-1K`;
    const r = byId(all, id);
    const f = r && figures(r, all);
    const what = `${nf} in Wasm >= 0.5x its C version on the NF path (aim 0.8x; C's ns over Wasm's, 1K flows)`;
    if (!f || f.wasmVsC === undefined) {
      out.push({ what, status: 'not measured', detail: `needs ${id} with its C version (nf-modules/build/native/${nf}.so)` });
      continue;
    }
    const ok = f.wasmVsC >= 0.5;
    out.push({
      what, status: ok ? 'met' : 'missed',
      detail: `${f.wasmVsC.toFixed(2)}x: Wasm ${fmt(f.workerNs, 1)} ns, C ${fmt(f.cNs, 1)} ns a packet` +
        (ok ? '' : '. Bottleneck: the NF\'s own Wasm code (docs/performance.md, "Wasm against C")'),
    });
  }
  ratioTarget('forward >= 0.6x raw DPDK skeleton (net_null copy=1, 64 B)', 'forward-64B', 0.6);
  const ceiling = forwardCeiling(all);
  if (ceiling !== undefined) out[out.length - 1]!.detail += `. ${ceiling}`;
  ratioTarget('firewall -> router -> nat, 64 B, 1K flows: >= 0.25x skeleton and > 14.88 Mpps on one worker core', 'chain3-64B-1K', 0.25,
    (f) => (f.mpps > LINE_RATE_10G_64B_MPPS ? undefined : `below ${LINE_RATE_10G_64B_MPPS} Mpps`));
  ratioTarget('firewall -> router -> nat, 64 B, 1M flows: >= 0.15x skeleton on one worker core', 'chain3-64B-1M', 0.15);
  const five = byId(all, 'chain5-64B-1K');
  const fivef = five && figures(five, all);
  if (!five || !fivef) {
    out.push({ what: 'five NFs at 64 B > 10 Mpps', status: 'not measured', detail: 'needs chain5-64B-1K in the run' });
  } else {
    const ok = fivef.mpps > 10;
    out.push({ what: 'five NFs at 64 B > 10 Mpps', status: ok ? 'met' : 'missed', detail: `${fivef.mpps.toFixed(2)} Mpps${ok ? '' : `. Bottleneck: ${bottleneck(five)}${inC('chain5-64B-1K')}`}` });
  }
  for (const [size, atLeast] of [[1518, 2.5], [64, 1.5]] as const) {
    const what = `zero-copy 3-chain >= ${atLeast}x the isolated-copy 3-chain at ${size} B`;
    const zc = byId(all, `chain3-${size}B-1K`);
    const iso = byId(all, `chain3-${size}B-1K-iso`);
    const zcf = zc && figures(zc, all);
    const isof = iso && figures(iso, all);
    if (!zcf || !isof) {
      out.push({ what, status: 'not measured', detail: `needs chain3-${size}B-1K and chain3-${size}B-1K-iso in the run` });
      continue;
    }
    const ratio = zcf.pps / isof.pps;
    out.push({
      what, status: ratio >= atLeast ? 'met' : 'missed',
      detail: `${zcf.mpps.toFixed(2)} vs ${isof.mpps.toFixed(2)} Mpps: ${ratio.toFixed(2)}x` + (ratio >= atLeast ? '' :
        `. Bottleneck: the NFs' own work, not the copies${copiesAtCSpeed(zcf, isof, byId(all, `chain3-${size}B-1K-c`), atLeast, all)}`),
    });
  }
  // NetVM's chains (its Wasm NFs, zero-copy or isolated) are held to it; the bench-only C and
  // TypeScript versions of the same chains are baselines, their spread said beside.
  const repeated = all.filter((r) => r.point.kind === 'chain' && r.samples.length > 1 && r.point.vm === undefined);
  const isBaseline = (r: PointResult): boolean => r.point.kind === 'chain' && (r.point.c || r.point.js);
  const chains = repeated.filter((r) => !isBaseline(r));
  const spreadOf = (rs: PointResult[]): string => rs.map((r) => {
    const f = figures(r, all)!;
    return `${r.point.id} ${(f.min / 1e6).toFixed(2)}-${(f.max / 1e6).toFixed(2)} Mpps`;
  }).join(', ');
  const noisy = chains.filter((r) => figures(r, all)!.noisy);
  const noisyBaselines = repeated.filter((r) => isBaseline(r) && figures(r, all)!.noisy);
  out.push(chains.length === 0
    ? { what: 'repeats of every chain point agree within 10%', status: 'not measured', detail: 'needs chain points repeated (--repeats 2 or more)' }
    : {
      what: 'repeats of every chain point agree within 10%', status: noisy.length === 0 ? 'met' : 'missed',
      detail: (noisy.length === 0 ? `${chains.length} chain points` : `${noisy.length} of ${chains.length} disagree: ${spreadOf(noisy)}`) +
        (noisyBaselines.length === 0 ? '' : `. Of their C and TypeScript baselines, ${noisyBaselines.length} disagree: ${spreadOf(noisyBaselines)}`) + baselineSpread(all),
    });
  const zcf = (() => {
    const zc = byId(all, 'chain3-64B-1K');
    return zc && figures(zc, all);
  })();
  for (const [id, via] of [['chain3-64B-1K-vm-vhost', 'vhost-user'], ['chain3-64B-1K-vm-ivshmem', 'ivshmem']] as const) {
    const what = `zero-copy 3-chain >= 2.5x the 3-chain with its middle NF in ${via === 'ivshmem' ? 'an' : 'a'} ${via} guest`;
    const vm = byId(all, id);
    const vmf = vm && figures(vm, all);
    if (!zcf || !vmf) {
      out.push({ what, status: 'not measured', detail: `needs chain3-64B-1K and ${id} in the run` });
      continue;
    }
    const ratio = zcf.pps / vmf.pps;
    const accel = vm!.samples.find((s) => s.accel !== undefined)?.accel?.toUpperCase() ?? '?';
    out.push({
      what, status: ratio >= 2.5 ? 'met' : 'missed',
      detail: `${zcf.mpps.toFixed(2)} vs ${vmf.mpps.toFixed(3)} Mpps: ${ratio.toFixed(1)}x, the guest under ${accel}` +
        (accel === 'TCG' ? ' (software emulation: the guest\'s speed says nothing of KVM\'s)' : ''),
    });
  }
  const big = byId(all, 'chain5-1518B-1K');
  const bf = big && figures(big, all);
  if (!big || !bf) {
    out.push({ what: '1518 B through 5 NFs >= 10 Gbps on the wire', status: 'not measured', detail: 'needs chain5-1518B-1K in the run' });
  } else {
    const ok = bf.gbpsWire! >= 10;
    out.push({ what: '1518 B through 5 NFs >= 10 Gbps on the wire', status: ok ? 'met' : 'missed', detail: `${bf.gbpsWire!.toFixed(2)} Gbps${ok ? '' : `. Bottleneck: ${bottleneck(big)}`}` });
  }
  const sw = byId(all, 'swap1-100ms');
  const swf = sw && figures(sw, all);
  if (!sw || !swf?.swap || swf.swap.swaps === 0) {
    out.push({ what: 'hot-swap: pause p99 < 100 us and no loss, swapping every 100 ms at half load', status: 'not measured', detail: 'needs swap1-100ms (and chain1-64B-1K) in the run' });
  } else {
    const s = swf.swap;
    const ok = s.p99PauseUs < 100 && s.drops === 0 && s.refused === 0;
    out.push({
      what: 'hot-swap: pause p99 < 100 us and no loss, swapping every 100 ms at half load', status: ok ? 'met' : 'missed',
      detail: `${s.swaps} swaps (${s.refused} refused): pause median ${s.medianPauseUs.toFixed(0)} us, p99 ${s.p99PauseUs.toFixed(0)} us, max ${s.maxPauseUs.toFixed(0)} us, ` +
        `the first of a run ${s.firstPauseUs.toFixed(0)} us (its code cold); the build a turn before each, median ${s.medianBuildUs.toFixed(0)} us, max ${s.maxBuildUs.toFixed(0)} us ` +
        `(the first ${s.firstBuildUs.toFixed(0)} us); ${s.drops} packets dropped` +
        (ok ? '' : '. Bottleneck: the handover itself takes 15-40 us (the state\'s move and a pointer switch, the new instance built a turn before); a longer pause is one in which the worker\'s thread lost its CPU (on 2 CPUs the main thread, which EAL pins to a worker\'s CPU, handles the swap there) or ran code V8 had not compiled yet'),
    });
  }
  out.push(latencyTarget(all), ringTarget(all));
  out.push(idleTarget(all));
  return out;
}

/** What zero-copy could buy over the isolated copies with NFs as fast as C, from the same run:
 *  the copies' cost is the isolated chain's worker time a packet less the zero-copy chain's. */
function copiesAtCSpeed(zc: Figures, iso: Figures, c: PointResult | undefined, atLeast: number, all: PointResult[]): string {
  const cf = c && figures(c, all);
  if (zc.workerNs === undefined || iso.workerNs === undefined) return '';
  const copies = iso.workerNs - zc.workerNs;
  const text = `: the copies cost the worker ${copies.toFixed(0)} ns a packet (${iso.workerNs.toFixed(0)} against ${zc.workerNs.toFixed(0)})`;
  if (cf?.workerNs === undefined || copies <= 0) return text;
  return `${text}; with the NFs at C's speed (${c!.point.id}, ${cf.workerNs.toFixed(0)} ns a packet) the same copies would give ` +
    `${((cf.workerNs + copies) / cf.workerNs).toFixed(2)}x: ${atLeast}x needs the NFs under ${(copies / (atLeast - 1)).toFixed(0)} ns a packet`;
}

/** Issue 17's latency target, each repeat held to it, beside the floor the same run measured:
 *  the rings alone, in C, at the same pace on the same CPUs. */
function latencyTarget(all: PointResult[]): Target {
  const what = 'firewall -> router -> nat at 50% load: p99 < 20 us and p99.9 < 100 us in every repeat';
  const runs = byId(all, 'latency3-50pct')?.samples.filter((s) => s.latency !== undefined) ?? [];
  if (runs.length === 0) return { what, status: 'not measured', detail: 'needs latency3-50pct (and chain3-64B-1K) in the run' };
  const us = (ns: number): string => (ns / 1000).toFixed(1);
  const worst = (pick: (s: Sample) => number | undefined): number => Math.max(...runs.map((s) => pick(s) ?? 0));
  const [p99, p999] = [worst((s) => s.latency!.p99Ns), worst((s) => s.latency!.p999Ns)];
  const [floor99, floor999] = [worst((s) => s.floor?.p99Ns), worst((s) => s.floor?.p999Ns)];
  const worked = runs.filter((s) => s.workFloor !== undefined);
  const [work99, work999] = [worst((s) => s.workFloor?.p99Ns), worst((s) => s.workFloor?.p999Ns)];
  const gaps = runs.flatMap((s) => s.workerGaps ?? []);
  const seconds = runs.reduce((n, s) => n + (s.windowS ?? 0), 0);
  const perSecond = (n: number): string => (n / seconds).toFixed(0);
  const ok = p99 < 20_000 && p999 < 100_000;
  const detail = `the worst of ${runs.length} repeats: p99 ${us(p99)} us, p99.9 ${us(p999)} us (p50 ${us(worst((s) => s.latency!.p50Ns))} us); ` +
    `the rings alone in C at the same pace, each packet timed from its arrival (bench/handoff.c, right after): p99 ${us(floor99)} us, p99.9 ${us(floor999)} us; ` +
    (worked.length === 0 ? '' : `the same with the chain's CPU time a packet (${worked[0]!.workFloor!.workNs.toFixed(0)} ns) spent by the C worker: ` +
      `p99 ${us(work99)} us, p99.9 ${us(work999)} us; `) +
    `the worker: ${perSecond(gaps.reduce((n, g) => n + g.long.count, 0))} turn gaps of 100 us or more a second (${perSecond(gaps.reduce((n, g) => n + g.long.ms, 0))} ms), ` +
    `taken off its CPU ${perSecond(gaps.reduce((n, g) => n + g.preempted, 0))} times a second`;
  if (ok) return { what, status: 'met', detail };
  const machine = floor99 >= 20_000 || floor999 >= 100_000
    ? 'this machine: two C threads passing the same rings at the same pace, with no NetVM code, miss it too (its vCPUs are taken away, by kernel threads and the hypervisor, for hundreds of us at a time); beyond that floor, '
    : worked.length > 0 && (work99 >= 20_000 || work999 >= 100_000)
      ? 'this machine, for a worker that costs what the chain costs: two C threads passing the same rings at the same pace miss it too once the C worker spends the chain\'s CPU time on each packet (a stall of the worker\'s CPU leaves a backlog that a worker at half load takes as long again to work off, so stalls reach more packets); beyond that floor, '
      : '';
  return {
    what, status: 'missed',
    detail: `${detail}. Bottleneck: ${machine}the worker's turn gaps: most are time its vCPU did not run at all (the hypervisor's, and more often for a thread that touches a real NF's memory than for the floor's two rings), ` +
      'the rest the run\'s main thread (on 2 CPUs it shares the worker\'s) and the kernel\'s threads; a machine whose vCPUs are not taken away, with a core of its own for the worker (isolcpus, docs/deploy.md), is the remedy (docs/performance.md, "Latency")',
  };
}

/** No ring-full drops at 80% of the chain's rate (the source is held back instead). */
function ringTarget(all: PointResult[]): Target {
  const what = 'firewall -> router -> nat at 80% load: no packet dropped at a full ring';
  const runs = byId(all, 'latency3-80pct')?.samples ?? [];
  if (runs.length === 0) return { what, status: 'not measured', detail: 'needs latency3-80pct (and chain3-64B-1K) in the run' };
  const ringFull = runs.reduce((n, s) => n + Object.entries(s.drops ?? {}).reduce((m, [where, k]) => m + (where.endsWith('worker ring full') ? k : 0), 0), 0);
  const held = Math.max(...runs.map((s) => s.heldBack ?? 0));
  return { what, status: ringFull === 0 ? 'met' : 'missed', detail: `${ringFull} packets dropped at a full ring over ${runs.length} repeats; the source held back up to ${(held * 100).toFixed(0)}% of the time` };
}

function idleTarget(all: PointResult[]): Target {
  const what = 'an idle data plane: <= 5% of a core for each thread; the first packet after a quiet spell out within 100 us';
  const of = (id: string): Figures['idle'] => {
    const r = byId(all, id);
    return r && figures(r, all)?.idle;
  };
  const [adaptive, busy, tap] = [of('idle-adaptive'), of('idle-busy'), of('idle-tap')];
  if (adaptive === undefined) return { what, status: 'not measured', detail: 'needs idle-adaptive in the run' };
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const text = (i: NonNullable<Figures['idle']>): string =>
    `poll lcore ${pct(i.pollShare)}, worker ${pct(i.workerShare)} of a core; first frame back in p50 ${i.wakeP50Us.toFixed(0)} us, max ${i.wakeMaxUs.toFixed(0)} us` +
    (i.ownP50Us === undefined ? '' : ` (netvm's part, RX to hand-back: p50 ${i.ownP50Us.toFixed(0)} us, max ${i.ownMaxUs!.toFixed(0)} us)`) +
    (i.lost ? `, ${i.lost} of ${i.probes} lost` : '');
  const ok = adaptive.pollShare <= 0.05 && adaptive.workerShare <= 0.05 && adaptive.wakeMaxUs <= 100 && adaptive.lost === 0;
  return {
    what, status: ok ? 'met' : 'missed',
    detail: `${text(adaptive)}${busy ? ` (busy polling, the same path: ${text(busy)})` : ''}` +
      (tap ? `; on net_tap ports, sleeping on RX interrupts: ${text(tap)}` : '') + (ok ? '' :
      '. Bottleneck: virtual devices raise no RX interrupt, so the poll lcore can only nap, and each wake-up costs its core: cores.nap_us trades the first packet\'s wait for idle CPU (docs/performance.md, "Idle")'),
  };
}

/** One row per point: the terminal's table and the report's. */
function rows(all: PointResult[]): string[][] {
  return all.map((r) => {
    const f = figures(r, all);
    if (!f) return [r.point.id, r.error ? 'failed' : 'not run', '', '', '', '', '', '', r.error?.split('\n')[0]?.slice(0, 120) ?? ''];
    const spread = r.samples.length > 1 ? ` [${(f.min / 1e6).toFixed(2)}-${(f.max / 1e6).toFixed(2)}]` : '';
    const s = typicalSample(r);
    const us = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${v.toFixed(1)} us`);
    // A noisy point's repeats, each with where the host had put the two vCPUs (the line's round trip).
    const byRepeat = f.noisy && r.samples.every((x) => x.lineRttNs !== undefined)
      ? `repeats (Mpps @ cross-core line round trip): ${r.samples.map((x) => `${(x.pps / 1e6).toFixed(2)} @ ${x.lineRttNs!.toFixed(0)} ns`).join(', ')}` : '';
    const notes = [f.noisy ? 'NOISY' : '', byRepeat, s?.clean === false ? 'ACCOUNTING FAILED' : '', workerTimeNote(r, all),
      f.vsAfPacket !== undefined ? `${f.vsAfPacket.toFixed(2)}x net_af_packet on the same veth pair` : '',
      f.swap ? `${f.swap.swaps} swaps, pause median ${f.swap.medianPauseUs.toFixed(0)} us, max ${f.swap.maxPauseUs.toFixed(0)} us; build median ${f.swap.medianBuildUs.toFixed(0)} us` : '',
      f.latencyUs ? `latency p50 ${us(f.latencyUs.p50)}, p99 ${us(f.latencyUs.p99)}, p99.9 ${us(f.latencyUs.p999)}, max ${us(f.latencyUs.max)}` : '',
      f.idle ? `idle: poll lcore ${(f.idle.pollShare * 100).toFixed(1)}% of a core, worker ${(f.idle.workerShare * 100).toFixed(1)}%; ` +
        `a frame after ${QUIET_MS} ms quiet back in p50 ${us(f.idle.wakeP50Us)}, max ${us(f.idle.wakeMaxUs)} (${f.idle.probes} probes${f.idle.lost ? `, ${f.idle.lost} LOST` : ''})` +
        (f.idle.ownP50Us === undefined ? '' : `, of which netvm from RX to hand-back p50 ${us(f.idle.ownP50Us)}, max ${us(f.idle.ownMaxUs!)}`) : '',
      ...Object.entries(s?.drops ?? {}).map(([k, v]) => `${k} ${v}`),
      s?.heldBack ? `source held back ${(s.heldBack * 100).toFixed(0)}% of the time` : '',
      s?.capacityPps !== undefined && s.pacedPps !== undefined
        ? `paced at ${(s.pacedPps / 1e6).toFixed(2)} Mpps, of ${(s.capacityPps / 1e6).toFixed(2)} unpaced right before` : '',
      s?.pacedPps !== undefined && s.offeredPps !== undefined && s.offeredPps < 0.99 * s.pacedPps
        ? `offered ${(s.offeredPps / 1e6).toFixed(2)} of the ${(s.pacedPps / 1e6).toFixed(2)} Mpps paced` : ''].filter(Boolean).join('; ');
    return [r.point.id, `${f.mpps.toFixed(2)}${spread}`, fmt(f.gbpsWire), fmt(f.workerNs, 1), fmt(f.pollNs, 1),
      f.vsSkeleton === undefined ? '-' : `${f.vsSkeleton.toFixed(2)}x`,
      f.wasmVsC === undefined ? '-' : `${f.wasmVsC.toFixed(2)}x${f.cNs === undefined ? '' : ` (C ${fmt(f.cNs, 1)} ns)`}`,
      f.wasmVsTs === undefined ? '-' : `${f.wasmVsTs.toFixed(2)}x${f.tsNs === undefined ? '' : ` (TS ${fmt(f.tsNs, 1)} ns)`}`, notes];
  });
}

/** The worker's ns a packet on the chain's own work and on each NF, beside the same chain in C
 *  (its -c point) where the run has it. */
function workerTimeNote(r: PointResult, all: PointResult[]): string {
  const t = typicalSample(r)?.workerTime;
  if (t === undefined) return '';
  const p = r.point;
  const plain = p.kind === 'chain' && !p.js && !p.c && !p.isolated && p.vm === undefined;
  const cPoint = plain ? byId(all, `${p.id}-c`) : undefined;
  const c = cPoint === undefined ? undefined : typicalSample(cPoint)?.workerTime;
  const pair = (wasm: number, native: number | undefined): string => (native === undefined ? wasm.toFixed(1) : `${wasm.toFixed(1)}/${native.toFixed(1)}`);
  const parts = [`chain's own ${pair(t.chainNs, c?.chainNs)}`, ...t.nfs.map((nf, k) => `${nf.name} ${pair(nf.ns, c?.nfs[k]?.ns)}`)];
  return `worker ns a packet${c === undefined ? '' : ' (Wasm/C)'}: ${parts.join(', ')}`;
}

const HEAD = ['point', 'Mpps [min-max]', 'Gbps wire', 'ns/pkt worker', 'ns/pkt poll', 'vs skeleton', 'Wasm/C speed', 'Wasm vs TS', 'notes'];

/** The report's headline: the Wasm NFs' speed as a share of the same logic in C, this run. */
export function headline(all: PointResult[]): string {
  const parts: string[] = [];
  for (const id of ['chain3-64B-1K', 'chain3-64B-1M', 'chain1-64B-1K']) {
    const r = byId(all, id);
    const f = r && figures(r, all);
    if (f?.wasmVsC !== undefined) parts.push(`${id} ${f.wasmVsC.toFixed(2)}x`);
  }
  const nfs = all.filter((r) => r.point.kind === 'nf-path' && r.point.flows === 1000).map((r) => ({ r, f: figures(r, all) }));
  for (const { r, f } of nfs) if (f?.wasmVsC !== undefined) parts.push(`${r.point.id} ${f.wasmVsC.toFixed(2)}x`);
  return parts.length === 0 ? 'Wasm/C speed: no point with a C version in this run' : `Wasm/C speed (1 = as fast as the same logic in C): ${parts.join(', ')}`;
}

/** What each peer does, and the NetVM points beside it on the same traffic (issue 23), by the
 *  suffix of the peer's id (`<size>B-<flows>`). */
const PEERS: Record<string, { what: string; beside: (at: string) => string[] }> = {
  l3fwd: {
    what: "DPDK's l3fwd (dpdk-doc), LPM: a route lookup, the TTL and checksum stepped, the MACs rewritten",
    beside: (at) => [`single-router-${at}`, `single-router-${at}-c`],
  },
  'ovs-forward': { what: 'OVS-DPDK 3.1, one OpenFlow rule: in_port=in, actions=output:out', beside: (at) => [`single-forward-${at}`] },
  'ovs-chain3': {
    what: 'OVS-DPDK 3.1, the chain as OpenFlow: the firewall\'s rules, the routes as dec_ttl and MAC rewrites, NAT by conntrack (which tracks each flow, where NetVM\'s stateless firewall does not)',
    beside: (at) => [`chain3-${at}`, `chain3-${at}-c`],
  },
};

/** A peer and the NetVM points beside it, each in packets a second (undefined: not measured). */
interface PeerRow { id: string; peer: string; pps?: number; error?: string; netvm: { id: string; pps: number }[] }

function peerRows(all: PointResult[]): PeerRow[] {
  const rate = (r: PointResult | undefined): number | undefined => (r && r.samples.length > 0 ? figures(r, all)?.pps : undefined);
  return all.flatMap((r) => {
    if (r.point.kind !== 'peer') return [];
    const at = r.point.id.slice(`peer-${r.point.peer}-`.length);
    const netvm = PEERS[r.point.peer]!.beside(at).map((id) => ({ id, pps: rate(byId(all, id)) }))
      .filter((x): x is { id: string; pps: number } => x.pps !== undefined);
    return [{ id: r.point.id, peer: r.point.peer, pps: rate(r), ...(r.error !== undefined && { error: r.error }), netvm }];
  });
}

/** The CPUs a NetVM point of a run on `workers` workers uses: the poll lcore's and its workers'. */
const netvmCpus = (workers: number): number[] => [POLL_CPU, ...workerCpus(workers)];

/** Each peer beside NetVM's points on the same traffic and ports, in Mpps and in Mpps per core
 *  used; empty when no peer ran. A peer runs on one core (CPU POLL_CPU); a NetVM point on the
 *  poll lcore's and its workers' (`workers`, the run's --workers). */
export function peerLines(all: PointResult[], workers: number): string[] {
  const cpus = netvmCpus(workers);
  const cpuList = `${cpus.slice(0, -1).join(', ')} and ${cpus[cpus.length - 1]}`;
  return peerRows(all).map((row) => {
    const what = PEERS[row.peer]!.what;
    if (row.pps === undefined) return `- ${row.id} (${what}): not measured${row.error !== undefined ? `: ${row.error}` : ''}`;
    const netvm = row.netvm.map((x) => `${x.id} ${(x.pps / 1e6).toFixed(2)} Mpps on ${cpus.length} cores, CPUs ${cpuList} (${(x.pps / 1e6 / cpus.length).toFixed(2)} a core)`);
    return `- ${row.id} (${what}): ${(row.pps / 1e6).toFixed(2)} Mpps on 1 core (CPU ${POLL_CPU})` +
      (netvm.length > 0 ? `; NetVM on the same traffic and ports: ${netvm.join(', ')}` : '');
  });
}

export function terminalTable(all: PointResult[]): string {
  const table = [HEAD, ...rows(all)];
  const widths = HEAD.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export interface SuiteRun {
  started: string;
  machine: Machine;
  options: { quick: boolean; only: string[]; repeats: number; warmupS: number; seconds: number; workers: number };
  results: PointResult[];
}

function workersText(n: number): string {
  const cpus = workerCpus(n);
  const each = n === 1 ? 'one worker' : `each chain on ${n} workers (flows steered by a symmetric hash)`;
  return `${each} on CPU${cpus.length > 1 ? 's' : ''} ${cpus.join(', ')}${n > cpus.length ? ' (fewer CPUs than workers: replicas share them)' : ''}; "ns/pkt worker" is the workers' CPU time together`;
}

/** The range of the cross-core line round trips taken before the run's samples (bench/crosscore.c). */
function lineRttText(all: PointResult[]): string {
  const rtts = all.flatMap((r) => r.samples.flatMap((s) => (s.lineRttNs === undefined ? [] : [s.lineRttNs])));
  if (rtts.length === 0) return '';
  return ` Before each sample that uses both CPUs, a cache line's round trip between them (bench/crosscore.c): ` +
    `${Math.min(...rtts).toFixed(0)}-${Math.max(...rtts).toFixed(0)} ns in this run (where the host put the two vCPUs; ` +
    'it changes from minute to minute, and the points whose packets cross between them run slower when it is long).';
}

export function markdownReport(run: SuiteRun, charts: string[]): string {
  const m = run.machine;
  const all = run.results;
  const md: string[] = [
    `# NetVM benchmark, ${run.started}`,
    '',
    `Machine: ${m.cpu}, ${m.cpus} CPUs; kernel ${m.kernel}; DPDK ${m.dpdk}; Node ${m.node}; V8 ${m.v8}; hugepages ${m.hugepages}.`,
    '',
    `Run: ${run.options.quick ? 'quick matrix' : 'full matrix'}${run.options.only.length ? ` (only ${run.options.only.join(', ')})` : ''}; ` +
      `each point ${run.options.repeats} time(s), ${run.options.warmupS} s warm-up then ${run.options.seconds} s measured; ` +
      `poll lcore on CPU ${POLL_CPU}, ${workersText(run.options.workers)}, all pinned; the skeleton on CPU ${POLL_CPU}. ` +
      `A point is NOISY when its repeats disagree by more than ${NOISY_SPREAD * 100}% of their median.` + lineRttText(all),
    '',
    headline(all),
    '',
    '## Targets',
    '',
    '| target | status | measured |',
    '|---|---|---|',
    ...targets(all).map((t) => `| ${t.what} | ${t.status === 'met' ? 'met' : t.status === 'missed' ? '**missed**' : 'not measured'} | ${t.detail} |`),
    '',
    '## Results',
    '',
    'Packet sizes are Ethernet frames with their FCS (64..1518 B); wire Gbps adds the 20 B of preamble and gap. ' +
      '"ns/pkt" is the share of a core the thread used, per packet. The skeleton and forward points run both directions ' +
      'between two net_null ports (copy=1); chain points replay the bench traffic (one packet per flow, UDP from ' +
      `10.0.0.0/8 to 192.168.0.1:80) from net_pcap into a net_null sink through the first L of ${CHAIN_NFS.join(', ')}. ` +
      'nf-* points are the NF path alone (the C chain and the Wasm call, no DPDK), against the same logic in C and in plain TypeScript. ' +
      '"Wasm/C speed" is C\'s time per packet over Wasm\'s (nf-*), or a chain point\'s rate over its -c point\'s: 1 is as fast as C. ' +
      '"Wasm vs TS" is Wasm\'s time over TypeScript\'s. ' +
      'When the chain is slower than its source, the poll lcore reads the source for no more than the chain\'s ring has room for ' +
      '(backpressure): the notes say for what share of the time the source was held back, and drops there are the device\'s own (none for net_pcap and net_null, ' +
      'which wait), never the ring\'s; a paced point whose chain holds the source back is offered less than its pace.',
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rows(all).map((row) => `| ${row.join(' | ')} |`),
    '',
    ...(peerLines(all, run.options.workers).length > 0 ? [
      '## Peers',
      '',
      'What operators run today, on the chain points\' traffic and ports (a replayed pcap into net_null), started and stopped by the bench. ' +
        'Each is set beside the NetVM points that do the same work: l3fwd beside the router alone (single-router, in Wasm and in C), ' +
        'OVS\'s one rule beside [forward] alone (single-forward), OVS\'s chain beside chain3 (firewall, router, nat; in Wasm and in C) ' +
        '(docs/performance.md, "Peers").',
      '',
      ...peerLines(all, run.options.workers),
      '',
    ] : []),
    '## Baselines',
    '',
    `- raw DPDK (the skeleton example, from dpdk-doc): ${all.some((r) => r.point.kind === 'skeleton' && r.samples.length > 0) ? 'measured' : 'not in this run'}; ` +
      'skeleton-extbuf is the same example built with its mbuf pool made one of pinned external buffers, NetVM\'s kind (bench/skeleton-extbuf.h, ' +
      'forced into the build, the source untouched).',
    `- the rings alone (handoff, bench/handoff.c): descriptors passed from the poll lcore's CPU to a worker's and back through NetVM's two rings, ` +
      `with no port, packet or NF: what every packet that goes to a worker pays on top of RX and TX; ${all.some((r) => r.point.kind === 'handoff' && r.samples.length > 0) ? 'measured' : 'not in this run'}.`,
    '- C: the same logic as forward, ttl, firewall, router, nat, lb and monitor written in C (nf-modules/native, checked against the same references as ' +
      'the Wasm NFs), built with gcc -O2 and called once per burst through koffi by the same C chain: on the NF path (nf-*), and on the ' +
      'data plane, chain points marked -c (the same worker, the same chain code, each NF in C).',
    '- plain TypeScript: on the NF path: forward, ttl, the stateless firewall, router and nat written for speed (nothing allocated per packet; ' +
      'router and nat checked against the same references as the Wasm NFs); the stateful firewall, lb, dpi, ratelimit and monitor ' +
      'are the NF tests\' own references (ratelimit\'s and monitor\'s: their buckets and per-flow totals), written to be clear ' +
      '(they allocate per packet: expect them far slower). On the data plane: chain points marked -js run the same chain with each NF ' +
      'as a JavaScript NF (bench/js-nfs: the same baselines) in the same worker, without Wasm; "Wasm vs TS" of a chain point is ' +
      'its time per packet over its -js point\'s.',
    `- idle: idle-adaptive is [forward] between two veth links (net_af_packet) carrying only a probe frame after every ${QUIET_MS} ms of quiet ` +
      '(bench/wake.c, from a network namespace): each thread\'s share of a core while idle, and each probe\'s round trip; idle-busy is the same ' +
      'with busy polling (`--busy-poll`), the path\'s latency without naps or sleeps; idle-tap is idle-adaptive on two net_tap ports, whose RX ' +
      'interrupts the poll lcore sleeps on instead of napping.',
    '- isolated-copy mode: chain points marked -iso (each NF gets copies of its packets, not the pool).',
    '- QEMU guests: chain3 points marked -vm-ivshmem (firewall -> the ttl guest NF over ivshmem -> nat) and -vm-vhost (firewall -> a ' +
      'Linux bridge guest on two vhost-user ports -> nat): the guest stands in for router. The target row says which accelerator ran it ' +
      '(KVM, or TCG where KVM cannot run a guest).',
    '- flows: up to 32Ki flows the data plane replays one packet per flow from the pool; 1M-flow points replay 32Ki packets ' +
      'whose IPv4 sources the poll lcore rewrites on arrival to cycle through 1M flows (`--rx-flows`); nat gets a pool of ' +
      '32 public addresses there (one holds 64512 flows a protocol).',
    '',
    ...(charts.length > 0 ? ['## Charts', '', ...charts.map((c) => `![${c}](${c})`), ''] : []),
  ];
  return md.join('\n');
}

/** The charts of whatever the run measured: file name and SVG text. */
export function charts(all: PointResult[], workers: number): { file: string; svg: string }[] {
  const out: { file: string; svg: string }[] = [];
  const bar = (id: string, value: (f: Figures) => number | undefined, spread?: (f: Figures) => [number, number]): Bar | undefined => {
    const r = byId(all, id);
    const f = r && figures(r, all);
    const v = f && value(f);
    if (f === undefined || v === undefined) return undefined;
    return spread ? { value: v, min: spread(f)[0], max: spread(f)[1] } : { value: v };
  };
  const mppsSpread = (f: Figures): [number, number] => [f.min / 1e6, f.max / 1e6];
  const chainIds = ['skeleton-64B', 'forward-64B', ...CHAIN_NFS.map((_, i) => `chain${i + 1}-64B-1K`)];
  if (chainIds.some((id) => bar(id, (f) => f.mpps))) {
    out.push({
      file: 'chain-length.svg',
      svg: barChartSvg({
        title: 'Throughput by chain length (64 B, 1K flows)', unit: 'Mpps',
        groups: ['skeleton', 'forward', ...CHAIN_NFS.map((_, i) => `${i + 1} NF${i ? 's' : ''}`)],
        series: [{ name: 'Mpps', values: chainIds.map((id) => bar(id, (f) => f.mpps, mppsSpread)) }],
        reference: { label: '10 GbE line rate at 64 B (14.88 Mpps)', value: LINE_RATE_10G_64B_MPPS },
      }),
    });
  }
  const sizeSeries = [
    { name: 'raw DPDK skeleton', id: (s: number) => `skeleton-${s}B` },
    { name: 'netvm [forward]', id: (s: number) => `forward-${s}B` },
    { name: 'netvm, 5 NFs (1K flows)', id: (s: number) => `chain5-${s}B-1K` },
  ];
  if (SIZES.some((s) => sizeSeries.some((x) => bar(x.id(s), (f) => f.gbpsWire)))) {
    out.push({
      file: 'packet-size.svg',
      svg: barChartSvg({
        title: 'Throughput by packet size (on the wire)', unit: 'Gbps', groups: SIZES.map((s) => `${s} B`),
        series: sizeSeries.map((x) => ({ name: x.name, values: SIZES.map((s) => bar(x.id(s), (f) => f.gbpsWire)) })),
        reference: { label: '10 GbE', value: 10 },
      }),
    });
  }
  const peers = peerRows(all).filter((row) => row.id.endsWith('-64B-1K') && row.pps !== undefined);
  if (peers.length > 0) {
    // Per core: a peer's rate over its one core, NetVM's (the first point beside it, its Wasm NFs)
    // over the poll lcore's and its workers'; a peer with no NetVM point in the run is drawn alone.
    const cores = netvmCpus(workers).length;
    const mpps = (pps: number | undefined): Bar | undefined => (pps === undefined ? undefined : { value: pps / 1e6 });
    out.push({
      file: 'peers.svg',
      svg: barChartSvg({
        title: 'NetVM beside its peers (64 B, 1K flows): Mpps in all and a core', unit: 'Mpps',
        groups: peers.map((row) => row.id.replace(/^peer-|-\d+B-.*$/g, '')),
        series: [
          { name: 'peer (1 core)', values: peers.map((row) => mpps(row.pps)) },
          { name: `NetVM (${cores} cores)`, values: peers.map((row) => mpps(row.netvm[0]?.pps)) },
          { name: 'NetVM, a core', values: peers.map((row) => mpps(row.netvm[0] && row.netvm[0].pps / cores)) },
        ],
      }),
    });
  }
  const nfIds = all.filter((r) => r.point.kind === 'nf-path' && r.point.flows === 1000).map((r) => r.point.id);
  if (nfIds.length > 0) {
    out.push({
      file: 'nf-path.svg',
      svg: barChartSvg({
        title: 'NF path, ns per packet (64 B, 1K flows)', unit: 'ns/packet', groups: nfIds.map((id) => id.replace(/^nf-|-1K$/g, '')),
        series: [
          { name: 'Wasm (C chain + NF)', values: nfIds.map((id) => bar(id, (f) => f.workerNs)) },
          { name: 'C (C chain + NF)', values: nfIds.map((id) => bar(id, (f) => f.cNs)) },
          { name: 'plain TypeScript', values: nfIds.map((id) => bar(id, (f) => f.tsNs)) },
        ],
        reference: { label: 'target: 20 ns', value: 20 },
      }),
    });
  }
  return out;
}
