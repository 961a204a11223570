// Runs bursts through a chain of NF instances, run to completion, from a
// lane's RX ring to its return ring. The per-packet work (staging each NF's
// batch records, checking every length and verdict an NF wrote back, writing
// return descriptors, counting drops by reason) is done in C by
// native-dpdk/chain.c; this side makes one call into C and one into the NF per
// NF per burst, and turns a trap into a counted drop of the NF's burst.
import { addressOf, check, native } from '../dataplane/native.js';
import { RING_HEAD, RING_TAIL, ringSize } from '../dataplane/ring.js';
import { isTrap } from '../nf/engine.js';
import type { NfInstance } from '../nf/instance.js';
import { VM_DOWN } from '../vm/vm-nf.js';
import { LaneMail, type Mailroom } from './mailroom.js';

/** The most packets the C chain hands an NF in one burst (MAX_BURST in native-dpdk/chain.c). */
export const CHAIN_MAX_BURST = 256;

/** Called on a trap (with the NF's chain position), outside the per-packet path; the chain goes on. */
export type TrapListener = (nf: NfInstance, err: unknown, position: number) => void;

/** What nv_chain_after is told of an NF's batch (enum nv_nf_status in netvm_dp.h). */
export const NF_RAN = 0;
const NF_TRAPPED = 1;
export const NF_FAILED_CLOSED = 2;
export const NF_FAILED_OPEN = 3;

export interface ChainSpec {
  /** Lane id: also the C chain's id. */
  id: number;
  rx: SharedArrayBuffer;
  ret: SharedArrayBuffer;
  /** Float64Array layout of host/chain/counters.ts. */
  counters: SharedArrayBuffer;
  nfs: NfInstance[];
  /** DPDK port id where packets leave after the last NF. */
  toPortId: number;
  /** DPDK port id of each port index, for OUT_PORT verdicts. */
  portIds: number[];
  /** The chain's fail policy, for the bursts a vm NF's guest could not take. */
  failOpen: boolean;
  /** The worker's message slots: its NFs' messages go through them (host/chain/mailroom.ts). */
  mailroom: Mailroom;
}

/** Where the C chain reaches an NF's instance, as addresses: its batch records, its private
 *  packet area (isolated; 0: it shares the pool), the clock word it reads (0: it has none).
 *  The memory's base never moves (V8 reserves its whole range), so the addresses hold even
 *  after the NF grows its memory. */
export interface NfLink {
  records: bigint;
  privateArea: bigint;
  clock: bigint;
}

export function nfLink(nf: NfInstance): NfLink {
  const base = addressOf(nf.memory.buffer);
  return {
    records: base + BigInt(nf.batchAddr),
    privateArea: nf.isolated ? base + BigInt(nf.windowOffset) : 0n,
    clock: nf.clockAddr === 0 ? 0n : base + BigInt(nf.clockAddr),
  };
}

export class Chain {
  private readonly id: number;
  private readonly process: ((n: number) => void | number)[];
  readonly nfs: NfInstance[];
  /** Per position: NF_RAN (call the NF), or the failure status its bursts get instead. */
  private readonly mode: Uint8Array;
  private readonly rx: Int32Array;
  /** What a burst gets when a vm NF's guest could not take it. */
  private readonly guestDown: number;
  /** C writes into these through raw pointers: the chain keeps them alive,
   * or the GC could free their memory (malloc'd) under C's feet. */
  readonly keepAlive: readonly SharedArrayBuffer[];
  readonly mail: LaneMail;

  constructor(spec: ChainSpec, private readonly onTrap: TrapListener) {
    const lib = native();
    this.id = spec.id;
    this.nfs = spec.nfs;
    this.rx = new Int32Array(spec.rx);
    this.keepAlive = [spec.rx, spec.ret, spec.counters];
    this.process = spec.nfs.map((nf) => nf.exports.netvm_process);
    this.mode = new Uint8Array(spec.nfs.length);
    this.guestDown = spec.failOpen ? NF_FAILED_OPEN : NF_FAILED_CLOSED;
    this.mail = new LaneMail(spec.mailroom, spec.nfs, new Float64Array(spec.counters));
    for (const nf of spec.nfs) nf.host.mail = this.mail;
    check(
      lib.chainInit(spec.id, addressOf(spec.rx), addressOf(spec.ret), ringSize(spec.rx), addressOf(spec.counters),
        spec.toPortId, Uint16Array.from(spec.portIds), spec.portIds.length),
    );
    for (const nf of spec.nfs) {
      const link = nfLink(nf);
      check(lib.chainAddNf(spec.id, link.records, nf.recordBytes, nf.readsMeta ? 1 : 0, nf.maxBurst, link.privateArea, link.clock));
    }
  }

  /** Puts another instance at chain position k (a hot-swap); only between bursts. A swap
   *  works out the link in a turn before, so that its pause does not. */
  replace(k: number, nf: NfInstance, link = nfLink(nf)): void {
    check(native().chainSetNf(this.id, k, link.records, nf.recordBytes, nf.readsMeta ? 1 : 0, nf.maxBurst, link.privateArea, link.clock));
    this.mail.release(k, false); // what the old instance held; the messages waiting are the new one's
    this.nfs[k] = nf;
    this.process[k] = nf.exports.netvm_process;
    nf.host.mail = this.mail;
  }

  /** Gives back every message buffer (the lane is gone). */
  close(): void {
    for (let k = 0; k < this.nfs.length; k++) this.mail.release(k, true);
  }

  /** Delivers the operator's message to the NF at position k now (between bursts); the
   *  C chain is told, so that the watchdog knows whose budget it is. */
  message(k: number, bytes: Uint8Array): { answer?: string; error?: string } {
    if (this.mode[k] !== NF_RAN) return { error: 'it has failed (its chain\'s fail policy applies to its packets)' };
    native().chainTicking(this.id, k);
    try {
      return this.mail.deliverNow(k, bytes);
    } finally {
      native().chainTicking(this.id, -1);
    }
  }

  /** Stops calling the NF at position k: its bursts get NF_FAILED_CLOSED or
   *  NF_FAILED_OPEN instead; NF_RAN calls it again. */
  setMode(k: number, mode: number): void {
    this.mode[k] = mode;
  }

  /** The time its NFs read at the start of each later burst, instead of the host's clock (offline runs). */
  setClock(nowNs: bigint): void {
    check(native().chainSetClock(this.id, nowNs));
  }

  /** Calls netvm_tick of the NFs that have it; a trap there is reported like one in a burst.
   *  The C chain is told which NF ticks, so that the watchdog knows whose budget it is. */
  tick(nowNs: bigint): void {
    for (let k = 0; k < this.nfs.length; k++) {
      const nf = this.nfs[k]!;
      const tick = nf.exports.netvm_tick;
      if (tick === undefined || this.mode[k] !== NF_RAN) continue;
      if (nf.clockAddr !== 0) new BigUint64Array(nf.memory.buffer, nf.clockAddr, 1)[0] = nowNs;
      native().chainTicking(this.id, k);
      try {
        tick(nowNs);
      } catch (err) {
        if (!isTrap(err)) throw err;
        this.onTrap(nf, err, k);
      } finally {
        native().chainTicking(this.id, -1);
      }
    }
  }

  /** The messages waiting for the NF at position k, before its burst; the C chain is told
   *  (as for a tick), so that the watchdog knows whose budget it is. */
  private deliver(k: number): void {
    native().chainTicking(this.id, k);
    try {
      this.mail.deliver(k, this.onTrap);
    } finally {
      native().chainTicking(this.id, -1);
    }
  }

  /** Whether packets wait in its RX ring. */
  waiting(): boolean {
    return Atomics.load(this.rx, RING_HEAD) !== this.rx[RING_TAIL];
  }

  /** Runs one burst; returns its size (0 when nothing was waiting). */
  poll(): number {
    // An empty ring costs one load here instead of a call into C (~20 ns).
    if (Atomics.load(this.rx, RING_HEAD) === this.rx[RING_TAIL]) return 0;
    const lib = native();
    const size = lib.chainBegin(this.id);
    if (this.process.length === 0) return size; // sent on by C already
    // C says which NF runs next, and with how many packets: (position << 16) | count.
    let k = 0;
    let n = size;
    while (n > 0) {
      let status = this.mode[k]!;
      if (status === NF_RAN) {
        if (this.mail.waiting[k] !== 0) this.deliver(k);
        try {
          // Wasm NFs return undefined; a vm NF says whether its guest took the burst.
          if (this.process[k]!(n) === VM_DOWN) status = this.guestDown;
        } catch (err) {
          if (!isTrap(err)) throw err;
          status = NF_TRAPPED;
          this.onTrap(this.nfs[k]!, err, k);
        }
      }
      const next = lib.chainAfter(this.id, k, status);
      k = next >>> 16;
      n = next & 0xffff;
    }
    return size;
  }
}
