// A worker's doorbell (struct nv_doorbell in native-dpdk/netvm_dp.h; the protocol
// in native-dpdk/idle.c): a worker whose rings have been empty for a while
// sleeps on it, and the poll lcore rings it when it hands one of the worker's
// lanes packets, the main thread when it sends the worker a command or stops.
import { addressOf, native } from './native.js';

/** Int32 words: the ring count the worker sleeps on, and whether it sleeps. */
export const DOORBELL_SEQ = 0;
export const DOORBELL_SLEEPING = 1;

const LINE = 64;

/** A buffer with room for a doorbell on a cache line of its own: small SharedArrayBuffers are
 *  not line-aligned, and one that shared its line with a word a worker writes every turn (its
 *  heartbeat) would cost the poll lcore a miss at every burst it hands over. */
export function allocDoorbell(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * LINE);
}

/** The doorbell in its buffer: at the first line boundary (the same in every thread: one backing store). */
export function doorbellAt(bell: SharedArrayBuffer): { address: bigint; words: Int32Array } {
  const base = addressOf(bell);
  const offset = Number((BigInt(LINE) - (base % BigInt(LINE))) % BigInt(LINE));
  return { address: base + BigInt(offset), words: new Int32Array(bell, offset, 2) };
}

/** Rings a doorbell: its worker, asleep or about to be, wakes. */
export function ringDoorbell(bell: SharedArrayBuffer): void {
  native().doorbellRing(doorbellAt(bell).address);
}

/** A worker's side: sleeps until the bell rings or timeoutUs, unless `pending()` (its rings,
 *  looked at after it says it sleeps) finds packets waiting. */
export class DoorbellSleep {
  private readonly words: Int32Array;
  private readonly address: bigint;

  constructor(bell: SharedArrayBuffer) {
    ({ address: this.address, words: this.words } = doorbellAt(bell));
  }

  sleep(pending: () => boolean, timeoutUs: number): void {
    const seen = Atomics.load(this.words, DOORBELL_SEQ);
    // Said before the rings are looked at: the poll lcore publishes then looks (idle.c).
    Atomics.store(this.words, DOORBELL_SLEEPING, 1);
    if (!pending()) native().workerSleep(this.address, seen, timeoutUs);
    Atomics.store(this.words, DOORBELL_SLEEPING, 0);
  }
}
