// NF messages (docs/abi.md, "Messages"): an NF sends bytes to another NF of
// its chain by name; the receiver gets them through its netvm_message export
// before its next burst, in the order sent. A message lives in one of the
// pool's message slots (NV_MESSAGE_SLOTS, beyond the mbufs). Within a trust
// boundary (shared NFs: one worker, the pool mapped into every memory) the
// sender writes it in its window, the receiver reads those very bytes in its
// own, and the host moves only the slot's offset. An isolated NF has no pool:
// it writes its message in its private area and the host copies it into the
// slot, and a message to it is copied into its private area. Everything is
// bounded: a worker's slots, MAILBOX_ROOM messages waiting per NF, HELD_MAX
// buffers an NF holds unsent. A full mailbox drops the message and counts it
// on both sides; nothing blocks and nothing grows. A vm NF's guest takes
// messages (a copy, as an isolated NF's, in its region) but sends none yet.
import { NF_COUNTERS, nfCounterBase } from './counters.js';
import { POOL_ELT_BYTES } from '../dataplane/pool-layout.js';
import { isTrap } from '../nf/engine.js';
import {
  MESSAGE_MAILBOX_FULL as MAILBOX_FULL, MESSAGE_MAX, MESSAGE_NOT_A_BUFFER as NOT_A_BUFFER, MESSAGE_NO_RECEIVER as NO_RECEIVER, MESSAGE_SENT as SENT,
} from '../nf/abi.js';
import type { NfInstance } from '../nf/instance-types.js';
import type { MessageSender } from '../nf/host-imports.js';

/** Messages that may wait for one NF. */
export const MAILBOX_ROOM = 16;
/** Buffers an NF may hold (allocated, not sent yet). */
export const HELD_MAX = 16;

/** Where an isolated NF's messages are in its private area, after its burst's packet slots
 *  (native-dpdk/chain.c: slot j at j * POOL_ELT_BYTES + 128, j < 256): the message it is given,
 *  then one slot per buffer it may hold. */
const PRIVATE_INBOX = 256 * POOL_ELT_BYTES;
const privateOutbox = (i: number): number => (257 + i) * POOL_ELT_BYTES;

const SENT_AT = NF_COUNTERS.indexOf('messages_sent');
const RECEIVED_AT = NF_COUNTERS.indexOf('messages_received');
const DROPPED_AT = NF_COUNTERS.indexOf('messages_dropped');
const FULL_AT = NF_COUNTERS.indexOf('mailbox_full');

/** Worker i's share of n of the pool's message slots: each worker has its own. */
export function messageSlotsOf(slots: Int32Array, i: number, n: number): Int32Array {
  return slots.slice(Math.floor((i * slots.length) / n), Math.floor(((i + 1) * slots.length) / n));
}

/** A worker's message slots (offsets from the pool's start), free or taken, and its own view of
 *  the pool (made when an isolated NF first needs a copy). */
export class Mailroom {
  private readonly free: Int32Array;
  private n: number;
  private pool?: Uint8Array;

  constructor(slots: Int32Array, private readonly makeView: () => Uint8Array) {
    this.free = Int32Array.from(slots);
    this.n = slots.length;
  }

  /** A free slot's offset, or -1 when none is. */
  take(): number {
    return this.n === 0 ? -1 : this.free[--this.n]!;
  }

  give(slot: number): void {
    this.free[this.n++] = slot;
  }

  /** len bytes of a slot, as the host sees the pool. */
  slot(offset: number, len: number): Uint8Array {
    this.pool ??= this.makeView();
    return this.pool.subarray(offset, offset + len);
  }
}

/** Whether an instance can take messages: one that exports netvm_message (a vm NF whose guest's NF defines nf_message). */
const takesMessages = (nf: NfInstance): boolean => nf.exports.netvm_message !== undefined;

/** The messages of one lane (a chain's instances on one worker): a mailbox and the held
 *  buffers per chain position. Positions, not instances, own them: a swapped-in instance
 *  gets the messages waiting for its NF, and none of the buffers its predecessor held. */
export class LaneMail implements MessageSender {
  /** Messages waiting per position: the one load a burst costs when there are none. */
  readonly waiting: Int32Array;
  /** Per position, MAILBOX_ROOM entries of [slot, length, sender's position]. */
  private readonly box: Int32Array;
  private readonly head: Int32Array;
  /** Per position, HELD_MAX entries: the slot of each buffer it holds, or -1. */
  private readonly held: Int32Array;

  constructor(
    private readonly room: Mailroom,
    private readonly nfs: readonly NfInstance[],
    private readonly counters: Float64Array,
  ) {
    const n = nfs.length;
    this.waiting = new Int32Array(n);
    this.box = new Int32Array(n * MAILBOX_ROOM * 3);
    this.head = new Int32Array(n);
    this.held = new Int32Array(n * HELD_MAX).fill(-1);
  }

  /** A buffer for a message of len bytes: its address in the sender's memory (in its window; an
   *  isolated NF's, in its private area), or 0 (too long, the sender holds HELD_MAX already, or
   *  none is free: a message dropped, and counted). */
  alloc(from: number, len: number): number {
    const nf = this.nfs[from]!;
    const base = from * HELD_MAX;
    let i = 0;
    while (i < HELD_MAX && this.held[base + i] !== -1) i++;
    const slot = len < 1 || len > MESSAGE_MAX || i === HELD_MAX ? -1 : this.room.take();
    if (slot < 0) return this.count(from, DROPPED_AT, 0);
    this.held[base + i] = slot;
    return nf.windowOffset + (nf.isolated ? privateOutbox(i) : slot);
  }

  /** Sends the buffer at addr (from alloc, len bytes) to the NF at position to. */
  send(from: number, to: number, addr: number, len: number): number {
    const sender = this.nfs[from]!;
    const i = this.heldAt(from, addr - sender.windowOffset);
    if (i < 0 || len < 1 || len > MESSAGE_MAX) return this.count(from, DROPPED_AT, NOT_A_BUFFER);
    const slot = this.held[from * HELD_MAX + i]!;
    this.held[from * HELD_MAX + i] = -1; // the buffer is no longer the sender's
    const receiver = to >= 0 && to < this.nfs.length && to !== from ? this.nfs[to] : undefined;
    if (receiver === undefined || !takesMessages(receiver)) {
      this.room.give(slot);
      return this.count(from, DROPPED_AT, NO_RECEIVER);
    }
    if (this.waiting[to] === MAILBOX_ROOM) {
      this.room.give(slot);
      this.count(to, FULL_AT, 0);
      return this.count(from, DROPPED_AT, MAILBOX_FULL);
    }
    if (sender.isolated) this.room.slot(slot, len).set(new Uint8Array(sender.memory.buffer, addr, len));
    const e = (to * MAILBOX_ROOM + ((this.head[to]! + this.waiting[to]!) % MAILBOX_ROOM)) * 3;
    this.box[e] = slot;
    this.box[e + 1] = len;
    this.box[e + 2] = from;
    this.waiting[to]!++;
    return this.count(from, SENT_AT, SENT);
  }

  /** Which of its held buffers the sender's offset (from its window) is, or -1. */
  private heldAt(from: number, offset: number): number {
    const base = from * HELD_MAX;
    if (this.nfs[from]!.isolated) {
      const i = offset / POOL_ELT_BYTES - 257;
      return Number.isInteger(i) && i >= 0 && i < HELD_MAX && this.held[base + i] !== -1 ? i : -1;
    }
    for (let i = 0; i < HELD_MAX; i++) if (this.held[base + i] === offset) return i;
    return -1;
  }

  /** Gives the NF at position k every message waiting for it, in order (between bursts). A trap
   *  in netvm_message is reported as a trap in a burst is; the message is gone either way. */
  deliver(k: number, onTrap: (nf: NfInstance, err: unknown, k: number) => void): void {
    const nf = this.nfs[k]!;
    while (this.waiting[k]! > 0) {
      const e = (k * MAILBOX_ROOM + this.head[k]!) * 3;
      this.head[k] = (this.head[k]! + 1) % MAILBOX_ROOM;
      this.waiting[k]!--;
      const slot = this.box[e]!;
      try {
        if (takesMessages(nf)) {
          nf.exports.netvm_message!(this.place(nf, slot, this.box[e + 1]!), this.box[e + 1]!, this.box[e + 2]!);
          this.counters[nfCounterBase(k) + RECEIVED_AT]!++;
        }
      } catch (err) {
        if (!isTrap(err)) throw err;
        onTrap(nf, err, k);
      } finally {
        this.room.give(slot);
      }
    }
  }

  /** Where the receiver reads a message in its memory: the slot itself in its window, or a
   *  copy in an isolated NF's private area. */
  private place(nf: NfInstance, slot: number, len: number): number {
    if (!nf.isolated) return nf.windowOffset + slot;
    new Uint8Array(nf.memory.buffer, nf.windowOffset + PRIVATE_INBOX, len).set(this.room.slot(slot, len));
    return nf.windowOffset + PRIVATE_INBOX;
  }

  /** A message from the operator, to the NF at position k now (between bursts): its answer
   *  (netvm_message_answer), or an error saying why it was not taken. */
  deliverNow(k: number, bytes: Uint8Array): { answer?: string; error?: string } {
    const nf = this.nfs[k]!;
    if (!takesMessages(nf)) return { error: nf.vm !== undefined ? 'its guest\'s NF takes no messages (no nf_message)' : 'it takes no messages (no netvm_message export)' };
    if (bytes.length < 1 || bytes.length > MESSAGE_MAX) return { error: `a message is 1 to ${MESSAGE_MAX} bytes, not ${bytes.length}` };
    // Written where the NF reads it: a slot in its window, or an isolated NF's private area (no slot).
    const slot = nf.isolated ? -1 : this.room.take();
    if (!nf.isolated && slot < 0) return { error: 'no message buffer is free on its worker' };
    try {
      const addr = nf.windowOffset + (nf.isolated ? PRIVATE_INBOX : slot);
      new Uint8Array(nf.memory.buffer, addr, bytes.length).set(bytes);
      nf.host.answer = undefined;
      nf.exports.netvm_message!(addr, bytes.length, -1);
      this.counters[nfCounterBase(k) + RECEIVED_AT]!++;
      return nf.host.answer === undefined ? {} : { answer: nf.host.answer };
    } catch (err) {
      if (!isTrap(err)) throw err;
      return { error: `trapped in netvm_message: ${(err as Error).message}` };
    } finally {
      if (slot >= 0) this.room.give(slot);
    }
  }

  /** Gives back the buffers position k holds (its instance is gone); with waiting, its
   *  undelivered messages too (its lane is gone). */
  release(k: number, waiting: boolean): void {
    for (let i = k * HELD_MAX; i < (k + 1) * HELD_MAX; i++) {
      if (this.held[i] !== -1) this.room.give(this.held[i]!);
      this.held[i] = -1;
    }
    if (!waiting) return;
    while (this.waiting[k]! > 0) {
      this.room.give(this.box[(k * MAILBOX_ROOM + this.head[k]!) * 3]!);
      this.head[k] = (this.head[k]! + 1) % MAILBOX_ROOM;
      this.waiting[k]!--;
    }
  }

  private count(k: number, at: number, code: number): number {
    this.counters[nfCounterBase(k) + at]!++;
    return code;
  }
}
