// The NF path: ns/packet of each NF on the worker's path (the C chain around
// the NF's Wasm call), offline, without DPDK: a burst of 64-byte packets is
// laid out in a pool, the chain runs over it, repeatedly. Each NF is compared with the
// same logic in C (nf-modules/native, through the same C chain) and in plain
// TypeScript over the same bytes (the baselines), run in the same process on the same core. Packets are restored before each pass,
// outside the timed part, so that NFs that change them see the same input.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Chain } from '../host/chain/chain.js';
import { allocCounters } from '../host/chain/counters.js';
import { native, poolCreatePlain, poolMessageSlots } from '../host/dataplane/native.js';
import { Mailroom } from '../host/chain/mailroom.js';
import { poolView, poolWindow } from '../host/dataplane/pool-window.js';
import { DESC0, DESC_WORDS, RING_HEAD, RING_TAIL, allocRing } from '../host/dataplane/ring.js';
import { createNfInstance, type NfInstance } from '../host/nf/instance.js';
import { loadNfModule } from '../host/nf/module.js';
import { PROJECT_ROOT } from '../host/paths.js';
import type { FwConfig } from '../test/support/firewall-reference.js';
import type { NatConfig } from '../test/support/nat-reference.js';
import type { RouterConfig } from '../test/support/router-reference.js';
import {
  FIREWALL_RULES, dpiReferenceBaseline, firewallBaseline, firewallReferenceBaseline, lbReferenceBaseline, monitorReferenceBaseline,
  ratelimitReferenceBaseline, ttlBaseline, type Baseline,
} from './baselines.js';
import { natBaseline } from './fast-nat.js';
import { routerBaseline } from './fast-router.js';

const BURST = 256;
const PASSES = 4000;
/** Untimed first: V8 tiers the Wasm up, the tables warm. Then as many again as it takes
 *  to send every flow once: the data plane's points run for seconds, so their NFs' tables
 *  hold every flow, and the NF path times lookups as they do, not a first cycle of inserts. */
const WARMUP_PASSES = 200;
const BLOCK_PASSES = 500;
const REFERENCE_PASSES = 200;
const FRAME = 64;

/** Writes the 64-byte IPv4 UDP frame of flow f (addresses and ports vary
 *  with f) at off: in place, allocating nothing, so that restoring a burst
 *  leaves no garbage behind for the timed part to pay for. */
function writeFrame(bytes: Uint8Array, v: DataView, off: number, f: number): void {
  bytes.fill(0, off, off + FRAME);
  v.setUint16(off + 12, 0x0800);
  v.setUint8(off + 14, 0x45);
  v.setUint16(off + 16, FRAME - 14);
  v.setUint8(off + 22, 64); // TTL
  v.setUint8(off + 23, 17);
  v.setUint32(off + 26, 0x0a000000 + (f & 0xffff));
  v.setUint32(off + 30, 0xc0a80000 + (f >>> 16));
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += v.getUint16(off + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(off + 24, ~sum & 0xffff);
  v.setUint16(off + 34, 1024 + (f % 50000));
  v.setUint16(off + 36, 80);
  v.setUint16(off + 38, FRAME - 34);
}

export interface NfPathCase {
  name: string;
  /** One NF, or a chain of them in order; native: its C anchor's name when not the module's;
   *  config: the NF's, or its config for a number of flows. */
  nfs: { module: string; config?: unknown | ((flows: number) => unknown); native?: string }[];
  /** Makes the same logic in TypeScript for a number of flows (fresh state each time it is made). */
  baseline?: (flows: number) => Baseline;
  /** Fewer passes for a slow baseline (the tests' references are written to be clear, not fast). */
  baselinePasses?: number;
}

/** Flow-table room for a number of flows, as the data plane's points give their NFs
 *  (bench/matrix.ts, nfConfig): at 1K flows the tables fit in the cache there, and so here. */
const tableFlows = (flows: number): number => Math.max(1024, flows * 2);

/** FIREWALL_RULES as the NF's config; stateful adds flow tracking (the baseline has none). */
function firewallConfig(stateful: boolean): (flows: number) => unknown {
  const ip = (a: number): string => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
  const rules = FIREWALL_RULES.map((r) => ({
    action: r.allow ? 'allow' : 'deny',
    proto: r.proto === 6 ? 'tcp' : 'udp',
    ...(r.srcLen && { src: `${ip(r.src)}/${r.srcLen}` }),
    ...(r.dstLen && { dst: `${ip(r.dst)}/${r.dstLen}` }),
    dport: `${r.dportLo}-${r.dportHi}`,
  }));
  return (flows) => ({ default: 'deny', stateful, flows: tableFlows(flows), rules });
}

const ROUTER: RouterConfig & { egress: string } = {
  next_hops: [{ port: 1, mac: '02:00:00:00:00:01' }, { port: 0, mac: '02:00:00:00:00:02' }],
  routes: [{ prefix: '0.0.0.0/0', via: 1 }, { prefix: '192.168.0.0/16', via: 0 }, { prefix: '192.168.1.0/24', via: 1 }],
  // On to the next NF (nat, in the chain case) rather than out at once.
  egress: 'next',
};
// 32 public addresses: room for 1M flows (one address holds 64512 a protocol).
const NAT = (flows: number): NatConfig => ({ inside: '10.0.0.0/8', public_ip: '203.0.113.0/27', flows: tableFlows(flows) });
// The bench's flows go to 192.168.0.0 (below 64K flows) on UDP port 80.
const RATELIMIT = { rate: 1e12, burst: 1e6 };
const DPI_PATTERNS = [{ text: 'attack', action: 'drop' }, { hex: 'deadbeef', action: 'count' }];
const LB_MACS = ['a', 'b', 'c', 'd'].map((_, i) => Uint8Array.from([2, 0, 0, 0, 1, i]));
const LB_VIPS = [{ vip: '192.168.0.0', port: 80, proto: 'udp', backends: ['a', 'b', 'c', 'd'].map((name, i) => ({ name, mac: `02:00:00:00:01:0${i}`, port: 1 })) }];
const LB = (egress: 'port' | 'next') => (flows: number): unknown => ({ flows: tableFlows(flows), egress, vips: LB_VIPS });
const MONITOR = (flows: number): unknown => ({ flows: tableFlows(flows) });

export const NF_PATH_CASES: NfPathCase[] = [
  { name: 'forward', nfs: [{ module: 'forward' }], baseline: () => () => true },
  { name: 'ttl', nfs: [{ module: 'ttl' }], baseline: () => ttlBaseline },
  // ttl written in C and in Rust, built to Wasm with their SDKs (nf-modules/ttl-c, ttl-rs), against the same native C.
  { name: 'ttl-c', nfs: [{ module: 'ttl-c', native: 'ttl' }], baseline: () => ttlBaseline },
  { name: 'ttl-rs', nfs: [{ module: 'ttl-rs', native: 'ttl' }], baseline: () => ttlBaseline },
  { name: 'firewall', nfs: [{ module: 'firewall', config: firewallConfig(false) }], baseline: () => firewallBaseline },
  // The firewall in C built to Wasm with the C SDK: the same source as the native C it is measured against.
  { name: 'firewall-c', nfs: [{ module: 'firewall-c', native: 'firewall', config: firewallConfig(false) }], baseline: () => firewallBaseline },
  {
    name: 'firewall+st', nfs: [{ module: 'firewall', config: firewallConfig(true) }],
    baseline: (flows) => firewallReferenceBaseline(firewallConfig(true)(flows) as FwConfig), baselinePasses: REFERENCE_PASSES,
  },
  { name: 'router', nfs: [{ module: 'router', config: ROUTER }], baseline: () => routerBaseline(ROUTER) },
  { name: 'nat', nfs: [{ module: 'nat', config: NAT }], baseline: (flows) => natBaseline(NAT(flows)) },
  {
    name: 'lb', nfs: [{ module: 'lb', config: LB('port') }],
    baseline: () => lbReferenceBaseline(0xc0a80000, 80, 17, LB_MACS, 65537), baselinePasses: REFERENCE_PASSES,
  },
  {
    name: 'dpi', nfs: [{ module: 'dpi', config: { patterns: DPI_PATTERNS } }],
    baseline: () => dpiReferenceBaseline(DPI_PATTERNS), baselinePasses: REFERENCE_PASSES,
  },
  {
    name: 'ratelimit', nfs: [{ module: 'ratelimit', config: { ...RATELIMIT, buckets: 1 << 21 } }],
    baseline: () => ratelimitReferenceBaseline(RATELIMIT), baselinePasses: REFERENCE_PASSES,
  },
  { name: 'monitor', nfs: [{ module: 'monitor', config: MONITOR }], baseline: () => monitorReferenceBaseline(), baselinePasses: REFERENCE_PASSES },
  // Messages set up but none sent (the bench traffic matches no pattern): what the mailboxes cost
  // a chain when nothing is pending, against the same chain whose dpi tells no one.
  { name: 'dpi+fw', nfs: [{ module: 'dpi', config: { patterns: DPI_PATTERNS } }, { module: 'firewall', config: { default: 'allow' } }] },
  { name: 'dpi+fw-notify', nfs: [{ module: 'dpi', config: { patterns: DPI_PATTERNS, notify: 'firewall1' } }, { module: 'firewall', config: { default: 'allow' } }] },
  {
    name: 'fw+rt+nat',
    nfs: [{ module: 'forward' }, { module: 'firewall', config: firewallConfig(false) }, { module: 'router', config: ROUTER }, { module: 'nat', config: NAT }],
  },
  // The five NFs of the data plane's chain5 points: where the five-NF target's gap to C lies,
  // without the rings.
  {
    name: 'fw+rt+nat+lb+mon',
    nfs: [
      { module: 'forward' }, { module: 'firewall', config: firewallConfig(false) }, { module: 'router', config: ROUTER }, { module: 'nat', config: NAT },
      { module: 'lb', config: LB('next') }, { module: 'monitor', config: MONITOR },
    ],
  },
];

/** The module of an NF in Wasm (the shipped one) or in C (nf-modules/native: the anchor). */
const modulePath = (nf: string, kind: 'wasm' | 'c'): string =>
  join(PROJECT_ROOT, kind === 'wasm' ? `nf-modules/build/${nf}.wasm` : `nf-modules/build/native/${nf}.so`);

/** Whether every NF of a case has a C version. */
export const hasC = (c: NfPathCase): boolean => c.nfs.every((nf) => existsSync(modulePath(nf.native ?? nf.module, 'c')));

/** ns per packet of a case at a number of flows: in Wasm, in C (where every NF of it has a
 *  C version: the same C chain calls those through koffi) and in its TypeScript baseline (where
 *  it has one). */
export function measureNfPath(c: NfPathCase, flows: number): { wasm: number; c?: number; ts?: number } {
  if (!existsSync(modulePath(c.nfs[0]!.module, 'wasm'))) throw new Error(`nf-modules/build/${c.nfs[0]!.module}.wasm is not built (npm run build)`);
  // On 2 MiB pages, as the data plane's pool (npm run bench reserves them): with 4 KiB pages a
  // burst's packets span a TLB miss every other packet, which the data plane does not pay.
  const pool = poolCreatePlain(BURST, true);
  try {
    const window = poolWindow(pool.len, pool.page_size);
    const mailroom = new Mailroom(poolMessageSlots(), () => poolView(window));
    const names = c.nfs.map((nf, i) => `${nf.module}${i}`);
    const instances = (kind: 'wasm' | 'c'): NfInstance[] => c.nfs.map((nf, position) =>
      createNfInstance(loadNfModule(modulePath(kind === 'c' ? nf.native ?? nf.module : nf.module, kind)), names[position]!, {
        pool: window, place: { names, position },
        ...(nf.config !== undefined && { config: JSON.stringify(typeof nf.config === 'function' ? nf.config(flows) : nf.config) }),
      }),
    );
    const wasmNfs = instances('wasm');
    // The host's view of the pool: through the first instance's memory, where the pool is mapped.
    const first = wasmNfs[0]!;
    const bytes = new Uint8Array(first.memory.buffer, first.windowOffset, pool.len);
    const view = new DataView(first.memory.buffer, first.windowOffset, pool.len);
    const offs = Array.from({ length: BURST }, (_, i) => i * pool.elt_size + pool.headroom);
    const restore = (pass: number): void => {
      for (let i = 0; i < BURST; i++) writeFrame(bytes, view, offs[i]!, ((pass * BURST + i) * 2654435761) % flows);
    };
    const perPacket = (ms: number, passes: number): number => (ms * 1e6) / (passes * BURST);
    // Wasm and C in turns, a block of passes each: a slow spell of this (shared, virtual) machine
    // falls on both, and the ratio holds where the absolute figures drift.
    const room = pool.elt_size - pool.headroom;
    const timers = [chainTimer(0, wasmNfs, restore, offs, room, mailroom), ...(hasC(c) ? [chainTimer(1, instances('c'), restore, offs, room, mailroom)] : [])];
    const warmup = WARMUP_PASSES + Math.ceil(flows / BURST);
    for (const run of timers) run(warmup);
    const ms = timers.map(() => 0);
    for (let done = 0; done < PASSES; done += BLOCK_PASSES) timers.forEach((run, k) => (ms[k]! += run(BLOCK_PASSES)));
    const result = { wasm: perPacket(ms[0]!, PASSES), ...(ms.length > 1 && { c: perPacket(ms[1]!, PASSES) }) };
    // The baseline after, not interleaved: a slow reference must not evict the NF's tables.
    const baseline = c.baseline?.(flows);
    if (baseline === undefined) return result;
    const passes = c.baselinePasses ?? PASSES;
    let tsMs = 0;
    let kept = 0;
    for (let pass = 0; pass < warmup; pass++) {
      restore(pass);
      for (let i = 0; i < BURST; i++) if (baseline(bytes, view, offs[i]!, FRAME)) kept++;
    }
    for (let pass = warmup; pass < warmup + passes; pass++) {
      restore(pass);
      const t1 = performance.now();
      for (let i = 0; i < BURST; i++) if (baseline(bytes, view, offs[i]!, FRAME)) kept++;
      tsMs += performance.now() - t1;
    }
    if (kept < 0) throw new Error('unreachable');
    return { ...result, ts: perPacket(tsMs, passes) };
  } finally {
    native().poolDestroy();
  }
}

/** A chain (lane id) over nfs, fed a restored burst again and again: a function that runs it
 *  for a number of passes and returns the milliseconds its polls took. Its passes go on from
 *  where the last call left them (the same flows in the same order for every chain). */
function chainTimer(
  id: number, nfs: NfInstance[], restore: (pass: number) => void, offs: number[], room: number, mailroom: Mailroom,
): (passes: number) => number {
  const rx = allocRing();
  const ret = allocRing();
  const chain = new Chain({
    id, rx, ret, counters: allocCounters(nfs.length), nfs, toPortId: 1, portIds: [0, 1], failOpen: false, mailroom,
  }, () => {});
  const rxw = new Int32Array(rx);
  const retw = new Int32Array(ret);
  let pass = 0;
  return (passes) => {
    let ms = 0;
    for (const end = pass + passes; pass < end; pass++) {
      restore(pass);
      const head = rxw[RING_HEAD]!;
      for (let i = 0; i < BURST; i++) {
        const d = DESC0 + ((head + i) & 4095) * DESC_WORDS;
        rxw[d] = offs[i]!;
        rxw[d + 1] = FRAME;
        rxw[d + 2] = room << 16;
        rxw[d + 3] = 0;
      }
      Atomics.store(rxw, RING_HEAD, (head + BURST) | 0);
      const t0 = performance.now();
      chain.poll();
      ms += performance.now() - t0;
      retw[RING_TAIL] = retw[RING_HEAD]!;
    }
    return ms;
  };
}
