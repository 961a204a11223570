// Running a chain over packets without DPDK (netvm nf test): the same module
// loader, instances, pool mapping and C chain as the data plane, with a plain
// memfd pool instead of DPDK's. Packets are laid out as DPDK lays out what it
// receives (one buffer each, after the headroom); those larger than a buffer's
// data room are dropped as DPDK's path drops them (multi-segment). So the
// packets out, their order and the verdict counts are those of `netvm run`.
import { DESC0, DESC_WORDS, RING_HEAD, RING_SIZE, RING_TAIL, allocRing } from '../dataplane/ring.js';
import { native, poolCreatePlain, poolMessageSlots } from '../dataplane/native.js';
import { Mailroom } from './mailroom.js';
import { poolView, poolWindow } from '../dataplane/pool-window.js';
import { createNfInstance, exportState, importState, metricValues } from '../nf/instance.js';
import type { NfModule } from '../nf/module.js';
import { CHAIN_MAX_BURST, Chain } from './chain.js';
import { allocCounters, readChainCounters, readNfCounters } from './counters.js';
import type { ChainCounterName, NfCounterName } from './counters.js';

/** Port indexes of an offline run: packets come in on IN and leave the chain by OUT. */
export const IN = 0;
export const OUT = 1;
const PORT_DROP = 0xffff;
const OFFLINE_CHAIN = 0;

export interface OfflineNf {
  name: string;
  module: NfModule;
  config?: string;
  /** State to hand the NF after its configure (another run's exported state). */
  state?: Uint8Array;
  /** Export the NF's state at the end of the run (into the result). */
  exportState?: boolean;
}

export interface OfflineResult {
  /** Packets that left, in the order they left, with the port index they left by. */
  out: { data: Uint8Array; port: number }[];
  /** Packets dropped on arrival because they do not fit one buffer. */
  multiseg: number;
  chain: Record<ChainCounterName, number>;
  /** Per NF; state is what it exported at the end when asked (undefined: it gave none). */
  nfs: ({ name: string; metrics: Record<string, number>; state?: Uint8Array } & Record<NfCounterName, number>)[];
}

export interface OfflineOptions {
  /** Where the NFs' log lines go (default: the host's log). */
  log?: (line: string) => void;
  /** A byte written over each packet's whole buffer before the packet goes in. An NF
   *  whose output changes with it reads bytes past its packets' ends. */
  fill?: number;
  /** Each frame's arrival time, in ns (not decreasing; say a pcap's timestamps): the
   *  packets then go in bursts of those with the same time (up to a burst's worth), and
   *  the NFs' clock reads that time, so that what expires by time does so as in a run
   *  that long. Without it, the NFs read the host's clock. */
  timesNs?: readonly bigint[];
}

/** What makes arrival times unusable as a clock (undefined: nothing): a time of 0 (the chain's
 *  "no clock of its own"), or one before the time ahead of it. */
export function clockProblem(timesNs: readonly bigint[]): string | undefined {
  const at = timesNs.findIndex((ns, i) => ns <= 0n || (i > 0 && ns < timesNs[i - 1]!));
  if (at < 0) return undefined;
  return `packet ${at} ${timesNs[at]! <= 0n ? 'has no time (0)' : 'comes before the one ahead of it'}`;
}

export function runOffline(frames: Uint8Array[], nfs: OfflineNf[], opts: OfflineOptions = {}): OfflineResult {
  const { log, fill, timesNs } = opts;
  if (nfs.length === 0) throw new Error('an offline run needs at least one NF');
  if (timesNs !== undefined) {
    if (timesNs.length !== frames.length) throw new Error(`timesNs: ${timesNs.length} times for ${frames.length} frames`);
    const problem = clockProblem(timesNs);
    if (problem !== undefined) throw new Error(`timesNs: ${problem}`);
  }
  const pool = poolCreatePlain(RING_SIZE);
  try {
    const window = poolWindow(pool.len, pool.page_size);
    const names = nfs.map((nf) => nf.name);
    const instances = nfs.map((nf, position) =>
      createNfInstance(nf.module, nf.name, {
        pool: window, place: { names, position }, ...(nf.config !== undefined && { config: nf.config }), ...(log !== undefined && { log }),
      }),
    );
    nfs.forEach((nf, k) => {
      if (nf.state !== undefined) importState(instances[k]!, nf.state);
    });
    // The host's own view of the pool: a memory with the pool mapped in, like an NF's.
    const view = instances[0]!;
    const bytes = (): Uint8Array => new Uint8Array(view.memory.buffer, view.windowOffset, pool.len);

    const rx = allocRing();
    const ret = allocRing();
    const counters = allocCounters(nfs.length);
    const chain = new Chain(
      { id: OFFLINE_CHAIN, rx, ret, counters, nfs: instances, toPortId: OUT, portIds: [IN, OUT], failOpen: false, mailroom: new Mailroom(poolMessageSlots(), () => poolView(window)) },
      (nf, err) => log?.(`nf ${nf.name} trapped: ${String(err)}`),
    );
    const rxw = new Int32Array(rx);
    const retw = new Int32Array(ret);
    const result: OfflineResult = { out: [], multiseg: 0, chain: readChainCounters(new Float64Array(counters)), nfs: [] };

    // A chunk of up to RING_SIZE packets at a time (one per buffer slot), or on a clock of
    // the caller's, a burst of packets of one time.
    const burst = Math.min(CHAIN_MAX_BURST, ...instances.map((nf) => nf.maxBurst));
    for (let start = 0, end = 0; start < frames.length; start = end) {
      if (timesNs === undefined) {
        end = Math.min(frames.length, start + RING_SIZE);
      } else {
        for (end = start + 1; end < frames.length && end - start < burst && timesNs[end] === timesNs[start]; end++);
        chain.setClock(timesNs[start]!);
      }
      const chunk = frames.slice(start, end);
      let head = rxw[RING_HEAD]!;
      chunk.forEach((frame, slot) => {
        if (frame.length > pool.data_room) {
          result.multiseg++;
          return;
        }
        const poolOff = slot * pool.elt_size + pool.headroom;
        if (fill !== undefined) bytes().fill(fill, poolOff, slot * pool.elt_size + pool.elt_size);
        bytes().set(frame, poolOff);
        const d = DESC0 + (head & (RING_SIZE - 1)) * DESC_WORDS;
        rxw[d] = poolOff;
        rxw[d + 1] = frame.length;
        rxw[d + 2] = IN | ((pool.elt_size - pool.headroom) << 16);
        rxw[d + 3] = 0;
        head = (head + 1) | 0;
      });
      Atomics.store(rxw, RING_HEAD, head);
      while (chain.poll() > 0) {
        for (let tail = retw[RING_TAIL]!; tail !== retw[RING_HEAD]; tail = (tail + 1) | 0) {
          const e = DESC0 + (tail & (RING_SIZE - 1)) * DESC_WORDS;
          const port = retw[e + 2]! & 0xffff;
          if (port !== PORT_DROP) result.out.push({ data: bytes().slice(retw[e]!, retw[e]! + retw[e + 1]!), port });
          retw[RING_TAIL] = (tail + 1) | 0;
        }
      }
    }
    const c = new Float64Array(counters);
    result.chain = readChainCounters(c);
    result.nfs = instances.map((nf, k) => {
      const values = metricValues(nf);
      const metrics = Object.fromEntries(nf.host.metrics.map((m, i) => [m.name, values[i]!]));
      const state = nfs[k]!.exportState ? exportState(nf) : undefined;
      return { name: nf.name, ...readNfCounters(c, k), metrics, ...(state !== undefined && { state }) };
    });
    return result;
  } finally {
    native().poolDestroy();
  }
}
