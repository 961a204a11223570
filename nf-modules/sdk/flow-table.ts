// A hash table of flows with idle expiry, for the per-packet path: all memory
// is allocated by the constructor (call it at configure time); find, insert,
// touch, remove and expire allocate nothing, never trap on a table input
// (any hash, slot, time or budget), and do no work proportional to the size
// of the table (expire examines at most its budget of slots).
//
// Keys are FLOW_KEY_BYTES (40) bytes at an address the caller gives, with a
// 32-bit hash of them the caller computes (its own, e.g. a symmetric 5-tuple
// hash, or hashKey below). The table maps a key to a slot: a u32 index in
// [0, capacity) the caller uses to index its own per-flow arrays. Each slot
// also has a last-seen time (ns) the table keeps, and 4 bytes of the caller's
// in its record (userOf). A key of 16 bytes and a zero tail (an IPv4 5-tuple,
// hashed with hashKey16) can be passed as two u64 words: find16, findOrInsert16.
//
// Layout: open addressing with linear probing and backward-shift deletion (no
// tombstones), 2 * capacity buckets (load factor <= 0.5) of 8 bytes each
// (hash << 32 | slot + 1; 0 is an empty bucket), so a probe reads 8 buckets
// per cache line and compares a key only when the full 32-bit hash matches.
// The keys live in a slot array of 64-byte records (one cache line: key,
// last-seen, hash, free-list link, the caller's 4 bytes). A hit costs about two cache misses: its
// bucket, then its record. Which slots hold a flow is a dense bitmap beside
// them (a bit a slot), so that the expiry sweep reads 8 bytes for 64 slots
// and touches only the records of flows: a sweep over the records themselves
// streamed a cache line per slot examined through the whole table.
// Memory: 8 * 2 * capacity + 64 * capacity + capacity / 8, about 80 bytes per
// flow of capacity (capacity rounded up to a power of two): 80 MiB for 1M
// (2^20) flows.
//
// New flows: findOrInsert sets `inserted` to true when it created the slot it
// returns (false when the key was there, or on -1).
//
// Expiry is lazy: a flow idle longer than timeoutNs is freed when expire()'s
// sweep reaches its slot (or when findOrInsert needs room, below). expire(now,
// budget) examines at most `budget` slots, in slot order, from where the last
// sweep stopped, so a whole pass takes capacity / budget calls and a flow
// lives between timeout and timeout + one pass. A flow is expired when
// now > lastSeen and now - lastSeen > timeoutNs. find() ignores time; an idle
// flow that findOrInsert meets before the sweep does is refreshed, not new.
//
// Freed slots: with freedRing > 0, every slot the table frees on its own (by
// expire, or reclaimed by findOrInsert when full) is pushed on a ring of
// `freedRing` entries (rounded up to a power of two, at most capacity); drain
// it with popFreed() (-1 when empty), e.g. to release a NAT port held by the
// flow. The table never loses a record: while the ring is full, expire frees
// nothing and findOrInsert does not reclaim, so a caller that asks for a ring
// must drain it (once per burst, after expire). With freedRing 0 (the
// default) nothing is recorded. remove()/removeSlot() do not push (the
// caller knows what it removed: call find() first for the slot). A slot
// findOrInsert returns as new may be one it has just freed (its ring record
// is then pending): drain the ring before initializing a new slot's state.
//
// Bursts: with a table bigger than the cache, a lookup waits on two cache
// misses in a row. prefetch(hashes, n) before the burst's findOrInsert calls
// issues the misses of the whole burst together (2-3x fewer ns per lookup at
// 1M flows).
//
// Full table: when no slot is free, findOrInsert frees the first expired flow
// on the new key's probe path, else runs expire(now, RECLAIM_SWEEP); it
// returns -1 when that frees nothing.
//
// Key addresses are the caller's: a key must be 40 readable bytes. The hash
// is not keyed: when flows come from untrusted senders, prefer a hash with a
// secret seed (hashKey(key, seed)) so nobody can aim at one probe chain.

import { allocLines, pow2AtLeast } from './alloc';
import { FLOW_KEY_BYTES } from './flow';
export { FLOW_KEY_BYTES };
/** Largest capacity (flows): 2^23, 640 MiB of table. */
export const FLOW_TABLE_MAX_CAPACITY: u32 = 1 << 23;
/** Slots findOrInsert's sweep examines when the table is full. */
export const RECLAIM_SWEEP: u32 = 16;

const SLOT_SHIFT: usize = 6; // 64-byte records
const R_LAST: usize = 40; // u64 last seen, ns
const R_HASH: usize = 48; // u32 the key's hash
const R_NEXT: usize = 56; // u32 next free slot + 1 (0: end of the free list)
const R_USER: usize = 60; // u32 the caller's (userOf)
const TAG_MASK: u64 = 0xffffffff00000000;

const K1: u64 = 0x9e3779b97f4a7c15;
const K2: u64 = 0xc2b2ae3d27d4eb4f;

@inline function mix(h: u64, w: u64): u64 {
  return rotl<u64>(h ^ (w * K1), 29) * K2;
}

/** murmur3's 64-bit finalizer, to 32 bits. */
@inline function finish(h: u64): u32 {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return <u32>h;
}

/** A 32-bit hash of the 40-byte key at `key`: a multiply-rotate round per u64
 *  word, then murmur3's 64-bit finalizer. `seed` makes it unguessable. */
export function hashKey(key: usize, seed: u64 = 0): u32 {
  let h: u64 = seed ^ 0x27d4eb2f165667c5;
  h = mix(h, load<u64>(key));
  h = mix(h, load<u64>(key, 8));
  h = mix(h, load<u64>(key, 16));
  h = mix(h, load<u64>(key, 24));
  h = mix(h, load<u64>(key, 32));
  return finish(h);
}

/** A 32-bit hash of a key whose first 16 bytes are the words k0, k1 and whose
 *  other 24 are zero (a 5-tuple key), from registers: not hashKey's value, so
 *  a table's keys are all hashed with one or all with the other. Three
 *  multiplies where hashKey takes twelve (a NAT hashes every packet): each word
 *  multiplied, the two folded, then one xorshift-multiply round, whose high
 *  half folded into the low reaches every bucket bit. `seed` makes it unguessable. */
export function hashKey16(k0: u64, k1: u64, seed: u64 = 0): u32 {
  const a = (k0 ^ seed) * K1;
  const b = (k1 ^ seed ^ 0x27d4eb2f165667c5) * K2;
  let h = a ^ rotl<u64>(b, 32);
  h ^= h >> 29;
  h *= 0xff51afd7ed558ccd;
  return <u32>(h ^ (h >> 32));
}

/** `bytes` of zeroed memory aligned to a cache line, never freed. */
@final export class FlowTable {
  /** Slots (flows the table can hold): the constructor's capacity rounded up to a power of two. */
  readonly capacity: u32;
  readonly timeoutNs: u64;
  /** Bytes the table allocated. */
  readonly memoryBytes: usize;
  /** Flows in the table. */
  size: u32 = 0;
  /** Whether the last findOrInsert created the slot it returned. */
  inserted: bool = false;

  private buckets: usize;
  private bucketMask: u32;
  private slots: usize;
  private used: usize; // bit s of u64 word s >> 6: slot s holds a flow
  private freeHead: u32 = 1; // slot + 1; 0 when no slot is free
  private cursor: u32 = 0; // next slot the sweep examines
  private ring: usize;
  private ringMask: u32;
  private ringSize: u32; // 0: no ring
  private ringHead: u32 = 0; // pops
  private ringTail: u32 = 0; // pushes
  private sink: u64 = 0; // what prefetch loaded, so its loads stay

  constructor(capacity: u32, timeoutNs: u64, freedRing: u32 = 0) {
    const cap = pow2AtLeast(min(max(capacity, 1), FLOW_TABLE_MAX_CAPACITY));
    this.capacity = cap;
    this.timeoutNs = timeoutNs;
    const nBuckets = cap << 1;
    this.bucketMask = nBuckets - 1;
    this.buckets = allocLines(<usize>nBuckets << 3);
    const slots = allocLines(<usize>cap << SLOT_SHIFT);
    this.slots = slots;
    for (let s: u32 = 0; s < cap; s++) {
      store<u32>(slots + (<usize>s << SLOT_SHIFT), s + 1 < cap ? s + 2 : 0, R_NEXT);
    }
    this.used = allocLines(<usize>max(cap >> 3, 8));
    const ringSize = freedRing == 0 ? 0 : pow2AtLeast(min(freedRing, cap));
    this.ringSize = ringSize;
    this.ringMask = ringSize - 1;
    this.ring = allocLines(<usize>max(ringSize, 1) << 2);
    this.memoryBytes = (<usize>nBuckets << 3) + (<usize>cap << SLOT_SHIFT) + <usize>max(cap >> 3, 8) +
      (<usize>ringSize << 2);
  }

  /** The slot holding the key, or -1. Does not touch the flow. */
  find(key: usize, hash: u32): i32 {
    return this.slotOf(load<u64>(key), load<u64>(key, 8), load<u64>(key, 16), load<u64>(key, 24), load<u64>(key, 32), hash);
  }

  /** find() of a key whose first 16 bytes are the words k0, k1 and whose other
   *  24 are zero (hashKey16's keys), from registers. */
  find16(k0: u64, k1: u64, hash: u32): i32 {
    return this.slotOf(k0, k1, 0, 0, 0, hash);
  }

  /** The key's slot, its last-seen time set to nowNs; a new slot (`inserted`
   *  true) when the key was absent; -1 when no slot is free even after
   *  reclaiming expired flows (see the file's head). */
  findOrInsert(key: usize, hash: u32, nowNs: u64): i32 {
    return this.findOrInsertWords(load<u64>(key), load<u64>(key, 8), load<u64>(key, 16), load<u64>(key, 24), load<u64>(key, 32), hash, nowNs);
  }

  /** findOrInsert() of a key whose first 16 bytes are the words k0, k1 and
   *  whose other 24 are zero (hashKey16's keys), from registers. */
  findOrInsert16(k0: u64, k1: u64, hash: u32, nowNs: u64): i32 {
    return this.findOrInsertWords(k0, k1, 0, 0, 0, hash, nowNs);
  }

  // findOrInsert of the key k0..k4 (its five u64 words).
  @inline private findOrInsertWords(k0: u64, k1: u64, k2: u64, k3: u64, k4: u64, hash: u32, nowNs: u64): i32 {
    this.inserted = false;
    const buckets = this.buckets;
    const slots = this.slots;
    const mask = this.bucketMask;
    const tag = <u64>hash << 32;
    let i = this.probe(k0, k1, k2, k3, k4, hash);
    const b = load<u64>(buckets + (<usize>i << 3));
    if (b != 0) {
      store<u64>(slots + (<usize>(<u32>b - 1) << SLOT_SHIFT), nowNs, R_LAST);
      return <i32>(<u32>b - 1);
    }
    if (this.freeHead == 0) {
      if (!this.reclaim(hash, i, nowNs)) return -1;
      // Deletions shift buckets back: find the first empty bucket again.
      i = hash & mask;
      while (load<u64>(buckets + (<usize>i << 3)) != 0) i = (i + 1) & mask;
    }
    const s = this.freeHead - 1;
    const r = slots + (<usize>s << SLOT_SHIFT);
    this.freeHead = load<u32>(r, R_NEXT);
    store<u64>(r, k0);
    store<u64>(r, k1, 8);
    store<u64>(r, k2, 16);
    store<u64>(r, k3, 24);
    store<u64>(r, k4, 32);
    store<u64>(r, nowNs, R_LAST);
    store<u32>(r, hash, R_HASH);
    this.setUsed(s, true);
    store<u64>(buckets + (<usize>i << 3), tag | <u64>(s + 1));
    this.size++;
    this.inserted = true;
    return <i32>s;
  }

  /** Warms the cache for the lookups of a burst: loads the home bucket of
   *  each of the n hashes (u32) at `hashes`, then the record of the flow
   *  there when its hash matches. The loads of different flows overlap (the
   *  CPU runs independent misses in parallel), so the findOrInsert calls that
   *  follow mostly hit the cache. Changes nothing; any hash is fine. */
  prefetch(hashes: usize, n: i32): void {
    const buckets = this.buckets;
    const slots = this.slots;
    const mask = this.bucketMask;
    let sink: u64 = 0;
    for (let i = 0; i < n; i++) {
      sink ^= load<u64>(buckets + (<usize>(load<u32>(hashes + (<usize>i << 2)) & mask) << 3));
    }
    for (let i = 0; i < n; i++) {
      const h = load<u32>(hashes + (<usize>i << 2));
      const b = load<u64>(buckets + (<usize>(h & mask) << 3));
      if (b != 0 && <u32>(b >> 32) == h) sink ^= load<u64>(slots + (<usize>(<u32>b - 1) << SLOT_SHIFT), R_LAST);
    }
    this.sink = sink;
  }

  /** Sets a slot's last-seen time (no-op for a slot out of range). */
  @inline touch(slot: u32, nowNs: u64): void {
    if (slot < this.capacity) store<u64>(this.slots + (<usize>slot << SLOT_SHIFT), nowNs, R_LAST);
  }

  /** A slot's last-seen time (0 out of range). */
  lastSeen(slot: u32): u64 {
    return slot < this.capacity ? load<u64>(this.slots + (<usize>slot << SLOT_SHIFT), R_LAST) : 0;
  }

  /** Whether a slot holds a flow. */
  inUse(slot: u32): bool {
    return slot < this.capacity && (this.usedWord(slot) >> <u64>(slot & 63) & 1) != 0;
  }

  /** Address of the key a slot holds (40 bytes; read only), 0 out of range. */
  keyOf(slot: u32): usize {
    return slot < this.capacity ? this.slots + (<usize>slot << SLOT_SHIFT) : 0;
  }

  /** Address of 4 bytes of a slot's record that are the caller's: per-flow
   *  fields in the cache line its lookup has just read. The table never writes
   *  them: they keep what the caller stored there until it stores again, also
   *  while the slot is free (a slot the table freed still holds its flow's, for
   *  whoever drains the freed ring). 0 out of range. */
  userOf(slot: u32): usize {
    return slot < this.capacity ? this.slots + (<usize>slot << SLOT_SHIFT) + R_USER : 0;
  }

  /** The first slot at or after `from` that holds a flow, or -1: walks the
   *  flows (for a state export), not for the per-packet path. */
  nextInUse(from: u32): i32 {
    for (let s = from; s < this.capacity; s = (s | 63) + 1) {
      const bits = this.usedWord(s) >> <u64>(s & 63);
      if (bits != 0) return <i32>(s + <u32>ctz<u64>(bits));
    }
    return -1;
  }

  /** Removes the key; false when absent. Not reported on the freed ring. */
  remove(key: usize, hash: u32): bool {
    const i = this.bucketOf(load<u64>(key), load<u64>(key, 8), load<u64>(key, 16), load<u64>(key, 24), load<u64>(key, 32), hash);
    if (i < 0) return false;
    const s = <u32>load<u64>(this.buckets + (<usize>i << 3)) - 1;
    this.deleteBucket(<u32>i);
    this.freeSlot(s);
    return true;
  }

  /** Removes the flow in a slot; false when the slot holds none. Not reported on the freed ring. */
  removeSlot(slot: u32): bool {
    if (!this.inUse(slot)) return false;
    this.deleteBucket(this.bucketOfSlot(slot));
    this.freeSlot(slot);
    return true;
  }

  /** The incremental sweep: examines at most `budget` slots from where the
   *  last one stopped, frees the flows idle longer than the timeout (pushing
   *  their slots on the freed ring) and returns how many it freed. Stops early
   *  when the ring is full. */
  expire(nowNs: u64, budget: u32): u32 {
    const slots = this.slots;
    const cap = this.capacity;
    const timeout = this.timeoutNs;
    let cursor = this.cursor;
    let n = min(budget, cap);
    let freed: u32 = 0;
    // A bitmap word at a time (to the word's end, the budget's or the
    // table's), visiting its slots in use in slot order.
    while (n != 0) {
      const span = min(min(64 - (cursor & 63), n), cap - cursor);
      let bits = this.usedWord(cursor) >> <u64>(cursor & 63);
      if (span < 64) bits &= (<u64>1 << <u64>span) - 1;
      while (bits != 0) {
        const s = cursor + <u32>ctz<u64>(bits);
        bits &= bits - 1;
        const seen = load<u64>(slots + (<usize>s << SLOT_SHIFT), R_LAST);
        if (nowNs > seen && nowNs - seen > timeout) {
          if (this.ringSize != 0 && this.ringTail - this.ringHead == this.ringSize) {
            this.cursor = s; // examined again by the next sweep
            return freed;
          }
          this.deleteBucket(this.bucketOfSlot(s));
          this.freeSlot(s);
          this.pushFreed(s);
          freed++;
        }
      }
      cursor = (cursor + span) & (cap - 1);
      n -= span;
    }
    this.cursor = cursor;
    return freed;
  }

  /** The next slot freed by the table (expiry or reclaim), -1 when none is pending. */
  popFreed(): i32 {
    if (this.ringHead == this.ringTail) return -1;
    const s = load<u32>(this.ring + (<usize>(this.ringHead & this.ringMask) << 2));
    this.ringHead++;
    return <i32>s;
  }

  /** Freed slots waiting in the ring. */
  get freedPending(): u32 {
    return this.ringTail - this.ringHead;
  }

  /** Where the sweep goes on (the next slot expire examines). */
  get sweepCursor(): u32 {
    return this.cursor;
  }

  // The slot holding the key k0..k4 (its five u64 words), or -1.
  @inline private slotOf(k0: u64, k1: u64, k2: u64, k3: u64, k4: u64, hash: u32): i32 {
    return <i32>(<u32>load<u64>(this.buckets + (<usize>this.probe(k0, k1, k2, k3, k4, hash) << 3))) - 1;
  }

  // The bucket holding the key k0..k4, or -1.
  @inline private bucketOf(k0: u64, k1: u64, k2: u64, k3: u64, k4: u64, hash: u32): i32 {
    const i = this.probe(k0, k1, k2, k3, k4, hash);
    return load<u64>(this.buckets + (<usize>i << 3)) == 0 ? -1 : <i32>i;
  }

  // The bucket of the key k0..k4 on its probe path: the one holding it, or the
  // empty bucket that ends the path.
  @inline private probe(k0: u64, k1: u64, k2: u64, k3: u64, k4: u64, hash: u32): u32 {
    const buckets = this.buckets;
    const slots = this.slots;
    const mask = this.bucketMask;
    const tag = <u64>hash << 32;
    let i = hash & mask;
    while (true) {
      const b = load<u64>(buckets + (<usize>i << 3));
      if (b == 0) return i;
      if ((b & TAG_MASK) == tag) {
        const r = slots + (<usize>(<u32>b - 1) << SLOT_SHIFT);
        if (((load<u64>(r) ^ k0) | (load<u64>(r, 8) ^ k1) | (load<u64>(r, 16) ^ k2) |
             (load<u64>(r, 24) ^ k3) | (load<u64>(r, 32) ^ k4)) == 0) return i;
      }
      i = (i + 1) & mask;
    }
  }

  // The bucket pointing at a slot in use (on its key's probe path).
  private bucketOfSlot(slot: u32): u32 {
    const buckets = this.buckets;
    const mask = this.bucketMask;
    const want = <u64>(slot + 1);
    let i = load<u32>(this.slots + (<usize>slot << SLOT_SHIFT), R_HASH) & mask;
    while ((load<u64>(buckets + (<usize>i << 3)) & 0xffffffff) != want) i = (i + 1) & mask;
    return i;
  }

  // Backward-shift deletion: empties bucket i, moving back the entries after
  // it that may sit there (those whose home is not in (i, j]).
  private deleteBucket(i: u32): void {
    const buckets = this.buckets;
    const mask = this.bucketMask;
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      const b = load<u64>(buckets + (<usize>j << 3));
      if (b == 0) break;
      const home = <u32>(b >> 32) & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        store<u64>(buckets + (<usize>i << 3), b);
        i = j;
      }
    }
    store<u64>(buckets + (<usize>i << 3), 0);
  }

  @inline private usedWord(slot: u32): u64 {
    return load<u64>(this.used + (<usize>(slot >> 6) << 3));
  }

  @inline private setUsed(slot: u32, on: bool): void {
    const at = this.used + (<usize>(slot >> 6) << 3);
    const bit = <u64>1 << <u64>(slot & 63);
    store<u64>(at, on ? load<u64>(at) | bit : load<u64>(at) & ~bit);
  }

  private freeSlot(s: u32): void {
    const r = this.slots + (<usize>s << SLOT_SHIFT);
    this.setUsed(s, false);
    store<u32>(r, this.freeHead, R_NEXT);
    this.freeHead = s + 1;
    this.size--;
  }

  private pushFreed(s: u32): void {
    if (this.ringSize == 0) return;
    store<u32>(this.ring + (<usize>(this.ringTail & this.ringMask) << 2), s);
    this.ringTail++;
  }

  // No slot is free: frees the first expired flow on the probe path
  // [home, end) of a new key, else sweeps RECLAIM_SWEEP slots. Whether a slot
  // is free now.
  private reclaim(hash: u32, end: u32, nowNs: u64): bool {
    if (this.ringSize != 0 && this.ringTail - this.ringHead == this.ringSize) return false;
    const buckets = this.buckets;
    const slots = this.slots;
    const mask = this.bucketMask;
    const timeout = this.timeoutNs;
    for (let i = hash & mask; i != end; i = (i + 1) & mask) {
      const s = <u32>load<u64>(buckets + (<usize>i << 3)) - 1;
      const seen = load<u64>(slots + (<usize>s << SLOT_SHIFT), R_LAST);
      if (nowNs > seen && nowNs - seen > timeout) {
        this.deleteBucket(i);
        this.freeSlot(s);
        this.pushFreed(s);
        return true;
      }
    }
    this.expire(nowNs, RECLAIM_SWEEP);
    return this.freeHead != 0;
  }
}
