// IPv6 longest-prefix match: a multibit trie with a 16-bit first stride (a
// 65536-entry table indexed by the address's first two bytes) and 8-bit
// strides below it (256-entry groups, one level per further byte, 14 levels
// for bits 16..127). A lookup is one load per level down to the level of the
// deepest group on the address's path: 3 loads for a /32, 5 for a /48, each
// a cache miss in a big table. lookupBatch() walks 64 addresses a level at a
// time so that their misses overlap (about 4x fewer ns per lookup than one by
// one at 100K routes).
// All memory is allocated by the constructor (configure time); lookups
// allocate nothing and never trap; add/remove allocate nothing either.
//
// Addresses and prefixes are 16 bytes at an address, in network order (as in
// the packet). Next hops are u16; NO_ROUTE (0xFFFF, from './lpm4') is what a
// lookup returns without a matching route, and is not a valid next hop.
//
// Entries (u32) are as in lpm4: EXT | group index, or (len + 1) << 16 | hop.
// A route of length len lives at the level whose stride holds its last bit
// and covers 2^(end of that stride - len) entries there (controlled prefix
// expansion), each written only over entries of routes no longer than len;
// an entry that points at a group has the route written into the whole group
// under it, recursively, with the same rule.
//
// Groups: a route of length len needs a group at each level above its own
// (ceil((len - 16) / 8) groups for len > 16), shared with the routes on the
// same path; add() returns false (changing nothing) when the groups it needs
// are not free. remove() gives back the groups no longer needed by a longer
// route. Rules: every route is also kept in a hash table (24 bytes a bucket,
// load factor <= 0.5) of at most maxRules routes, which remove() uses to find
// the route that covers a removed prefix (the longest shorter one: up to 128
// hash probes) and restore its hop over the removed range.
//
// Costs of add and remove: the entries of the route's range at its level
// (2^(16 - len) for len <= 16, at most 128 below) plus every entry of the
// groups under them (256 each). Short routes over a full table cost the most:
// a /0 walks the 65536 first-level entries and every group.
//
// Memory: 256 KiB (first level) + 1 KiB + 4 bytes per group of maxGroups
// + 24 bytes per bucket of 2 * maxRules rounded up to a power of two
// (at least 48 bytes per rule). E.g. maxGroups 65536 and maxRules 65536:
// 256 KiB + 64.25 MiB + 3 MiB.
import { allocLines, pow2AtLeast } from './alloc';
import { NO_ROUTE } from './lpm4';

/** Most groups (512 MiB of them). */
export const LPM6_MAX_GROUPS: u32 = 1 << 19;
/** Most rules. */
export const LPM6_MAX_RULES: u32 = 1 << 22;

const EXT: u32 = 0x80000000;
const GROUP_MASK: u32 = 0x00ffffff;
const EMPTY: u32 = 0x0000ffff;
const RULE_BYTES: usize = 24; // hi u64, lo u64, meta u64
const RULE_USED: u64 = 0x8000000000000000;
const BATCH: i32 = 64;

@inline function maskHi(len: u32): u64 {
  return len >= 64 ? <u64>-1 : len == 0 ? 0 : <u64>-1 << (64 - len);
}

@inline function maskLo(len: u32): u64 {
  return len <= 64 ? 0 : len >= 128 ? <u64>-1 : <u64>-1 << (128 - len);
}

// Byte k (0..15) of the address whose big-endian halves are hi and lo.
@inline function byteAt(hi: u64, lo: u64, k: u32): u32 {
  return k < 8 ? <u32>(hi >> ((7 - k) << 3)) & 0xff : <u32>(lo >> ((15 - k) << 3)) & 0xff;
}

// The trie level a route of length len lives at: 0 (bits 0..15), or t >= 1 (bits 8t+8 .. 8t+15).
@inline function levelOf(len: u32): u32 {
  return len <= 16 ? 0 : (len - 9) >> 3;
}

function ruleHash(hi: u64, lo: u64, len: u32): u32 {
  let h = (hi * 0x9e3779b97f4a7c15) ^ rotl<u64>(lo * 0xc2b2ae3d27d4eb4f, 31) ^ (<u64>len * 0x165667b19e3779f9);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  return <u32>h;
}

@final export class Lpm6 {
  readonly maxGroups: u32;
  readonly maxRules: u32;
  /** Bytes the table allocated. */
  readonly memoryBytes: usize;
  /** Routes in the table. */
  routes: u32 = 0;

  private l0: usize;
  private tbl8: usize;
  private freeGroups: usize;
  private freeTop: u32;
  private rules: usize;
  private ruleMask: u32;
  private path: usize; // path[t]: address of the level-t entry pointing at level t + 1
  private scratch: usize;

  constructor(maxGroups: u32, maxRules: u32 = 65536) {
    const groups = min(maxGroups, LPM6_MAX_GROUPS);
    this.maxGroups = groups;
    this.maxRules = min(max(maxRules, 1), LPM6_MAX_RULES);
    const l0 = allocLines(<usize>4 << 16);
    for (let j: usize = 0; j < 65536; j++) store<u32>(l0 + (j << 2), EMPTY);
    this.l0 = l0;
    this.tbl8 = allocLines(<usize>max(groups, 1) << 10);
    const free = allocLines(<usize>max(groups, 1) << 2);
    for (let i: u32 = 0; i < groups; i++) store<u32>(free + (<usize>i << 2), groups - 1 - i);
    this.freeGroups = free;
    this.freeTop = groups;
    const nRules = pow2AtLeast(this.maxRules << 1);
    this.ruleMask = nRules - 1;
    this.rules = allocLines(<usize>nRules * RULE_BYTES);
    this.path = allocLines(16 * sizeof<usize>());
    this.scratch = allocLines(<usize>BATCH << 2);
    this.memoryBytes = (<usize>4 << 16) + (<usize>groups << 10) + (<usize>groups << 2) + <usize>nRules * RULE_BYTES;
  }

  /** Free groups. */
  get freeGroupCount(): u32 {
    return this.freeTop;
  }

  /** The next hop of the longest prefix matching the 16-byte address at addr, NO_ROUTE when none. */
  lookup(addr: usize): u16 {
    let e = load<u32>(this.l0 + (<usize>bswap<u16>(load<u16>(addr)) << 2));
    const tbl8 = this.tbl8;
    let k: usize = 2;
    while ((e & EXT) && k < 16) {
      e = load<u32>(tbl8 + ((<usize>(e & GROUP_MASK) << 10) | (<usize>load<u8>(addr + k) << 2)));
      k++;
    }
    return e & EXT ? NO_ROUTE : <u16>e;
  }

  /** hops[i] (u16) = lookup(addrs + 16 * i) for i < n (the addresses one
   *  after the other), a level at a time for 64 addresses, so the cache
   *  misses of different addresses overlap instead of queueing. */
  lookupBatch(addrs: usize, hops: usize, n: i32): void {
    const l0 = this.l0;
    const tbl8 = this.tbl8;
    const scratch = this.scratch;
    for (let base = 0; base < n; base += BATCH) {
      const m = min(n - base, BATCH);
      const a = addrs + (<usize>base << 4);
      let deeper: u32 = 0;
      for (let j = 0; j < m; j++) {
        const e = load<u32>(l0 + (<usize>bswap<u16>(load<u16>(a + (<usize>j << 4))) << 2));
        store<u32>(scratch + (<usize>j << 2), e);
        deeper |= e;
      }
      for (let k: usize = 2; k < 16 && (deeper & EXT); k++) {
        deeper = 0;
        for (let j = 0; j < m; j++) {
          let e = load<u32>(scratch + (<usize>j << 2));
          if (e & EXT) {
            e = load<u32>(tbl8 + ((<usize>(e & GROUP_MASK) << 10) | (<usize>load<u8>(a + (<usize>j << 4) + k) << 2)));
            store<u32>(scratch + (<usize>j << 2), e);
            deeper |= e;
          }
        }
      }
      const h = hops + (<usize>base << 1);
      for (let j = 0; j < m; j++) {
        const e = load<u32>(scratch + (<usize>j << 2));
        store<u16>(h + (<usize>j << 1), e & EXT ? NO_ROUTE : <u16>e);
      }
    }
  }

  /** Adds prefix/len -> nextHop (prefix: 16 bytes; bits past len are
   *  ignored), or replaces the hop of that route. False (and nothing changed)
   *  when len > 128, nextHop is NO_ROUTE, maxRules routes are in, or the
   *  groups the route needs are not free. */
  add(prefix: usize, len: u8, nextHop: u16): bool {
    const l = <u32>len;
    if (l > 128 || nextHop == NO_ROUTE) return false;
    const hi = bswap<u64>(load<u64>(prefix)) & maskHi(l);
    const lo = bswap<u64>(load<u64>(prefix, 8)) & maskLo(l);
    let r = this.ruleFind(hi, lo, l);
    if (r < 0 && this.routes >= this.maxRules) return false;
    const target = levelOf(l);
    if (this.groupsNeeded(hi, lo, target) > this.freeTop) return false;
    const base = this.descend(hi, lo, target, true);
    if (r < 0) {
      r = this.ruleSlot(hi, lo, l);
      this.routes++;
    }
    const b = this.rules + <usize>r * RULE_BYTES;
    store<u64>(b, hi);
    store<u64>(b, lo, 8);
    store<u64>(b, RULE_USED | (<u64>l << 16) | nextHop, 16);
    this.paintRoute(base, hi, lo, l, ((l + 1) << 16) | nextHop);
    return true;
  }

  /** Removes the route prefix/len; the addresses it covered go back to the
   *  longest shorter route that covers them (or to no route). False when
   *  there is no such route. */
  remove(prefix: usize, len: u8): bool {
    const l = <u32>len;
    if (l > 128) return false;
    const hi = bswap<u64>(load<u64>(prefix)) & maskHi(l);
    const lo = bswap<u64>(load<u64>(prefix, 8)) & maskLo(l);
    const r = this.ruleFind(hi, lo, l);
    if (r < 0) return false;
    this.ruleDelete(<u32>r);
    this.routes--;
    let entry = EMPTY;
    for (let p = <i32>l - 1; p >= 0; p--) {
      const q = this.ruleFind(hi & maskHi(<u32>p), lo & maskLo(<u32>p), <u32>p);
      if (q >= 0) {
        const hop = <u32>load<u64>(this.rules + <usize>q * RULE_BYTES, 16) & 0xffff;
        entry = (<u32>(p + 1) << 16) | hop;
        break;
      }
    }
    const target = levelOf(l);
    const base = this.descend(hi, lo, target, false);
    if (base == 0) return true; // cannot happen: a route's groups stay while it is in
    this.paintRoute(base, hi, lo, l, entry);
    // Give back the groups of the path, deepest first, that no longer hold an
    // entry of a route longer than the level above them reaches.
    for (let t = <i32>target; t >= 1; t--) {
      const a = load<usize>(this.path + <usize>(t - 1) * sizeof<usize>());
      const g = load<u32>(a) & GROUP_MASK;
      const group = this.tbl8 + (<usize>g << 10);
      const limit = <u32>(8 * t + 9); // code of a route of length <= 8t + 8, the level's first bit
      for (let j: usize = 0; j < 256; j++) {
        const e = load<u32>(group + (j << 2));
        if ((e & EXT) || ((e >> 16) & 0xff) > limit) return true;
      }
      store<u32>(a, load<u32>(group));
      store<u32>(this.freeGroups + (<usize>this.freeTop << 2), g);
      this.freeTop++;
    }
    return true;
  }

  // Groups add() must create for a route at level target.
  private groupsNeeded(hi: u64, lo: u64, target: u32): u32 {
    let e = load<u32>(this.l0 + (<usize>(<u32>(hi >> 48)) << 2));
    for (let t: u32 = 1; t <= target; t++) {
      if (!(e & EXT)) return target - t + 1;
      e = load<u32>(this.tbl8 + ((<usize>(e & GROUP_MASK) << 10) | (<usize>byteAt(hi, lo, t + 1) << 2)));
    }
    return 0;
  }

  // The table (first level or group) of level target on the path of hi:lo,
  // recording the entries leading to it in path; with create, makes the
  // missing groups (each a copy of the entry it replaces), else returns 0
  // when one is missing.
  private descend(hi: u64, lo: u64, target: u32, create: bool): usize {
    let base = this.l0;
    let a = base + (<usize>(<u32>(hi >> 48)) << 2);
    for (let t: u32 = 1; t <= target; t++) {
      store<usize>(this.path + <usize>(t - 1) * sizeof<usize>(), a);
      let e = load<u32>(a);
      if (!(e & EXT)) {
        if (!create || this.freeTop == 0) return 0;
        this.freeTop--;
        const g = load<u32>(this.freeGroups + (<usize>this.freeTop << 2));
        const group = this.tbl8 + (<usize>g << 10);
        for (let j: usize = 0; j < 256; j++) store<u32>(group + (j << 2), e);
        e = EXT | g;
        store<u32>(a, e);
      }
      base = this.tbl8 + (<usize>(e & GROUP_MASK) << 10);
      a = base + (<usize>byteAt(hi, lo, t + 1) << 2);
    }
    return base;
  }

  // Writes entry over the range of route hi:lo/len in its level's table base.
  private paintRoute(base: usize, hi: u64, lo: u64, len: u32, entry: u32): void {
    const t = levelOf(len);
    const start = t == 0 ? <u32>(hi >> 48) : byteAt(hi, lo, t + 1);
    const end = t == 0 ? 16 : 8 * t + 16; // the level's last bit + 1
    this.paint(base, start, start + (<u32>1 << (end - len)), len + 1, entry);
  }

  // Writes entry over the entries [start, end) of table base set by routes of
  // length code - 1 or shorter, and likewise over every group under them.
  private paint(base: usize, start: u32, end: u32, code: u32, entry: u32): void {
    for (let j = start; j < end; j++) {
      const a = base + (<usize>j << 2);
      const e = load<u32>(a);
      if (e & EXT) this.paint(this.tbl8 + (<usize>(e & GROUP_MASK) << 10), 0, 256, code, entry);
      else if (((e >> 16) & 0xff) <= code) store<u32>(a, entry);
    }
  }

  private ruleFind(hi: u64, lo: u64, len: u32): i32 {
    const rules = this.rules;
    const mask = this.ruleMask;
    const meta = RULE_USED | (<u64>len << 16);
    let i = ruleHash(hi, lo, len) & mask;
    while (true) {
      const b = rules + <usize>i * RULE_BYTES;
      const m = load<u64>(b, 16);
      if (m == 0) return -1;
      if ((m & ~<u64>0xffff) == meta && load<u64>(b) == hi && load<u64>(b, 8) == lo) return <i32>i;
      i = (i + 1) & mask;
    }
  }

  private ruleSlot(hi: u64, lo: u64, len: u32): u32 {
    const rules = this.rules;
    const mask = this.ruleMask;
    let i = ruleHash(hi, lo, len) & mask;
    while (load<u64>(rules + <usize>i * RULE_BYTES, 16) != 0) i = (i + 1) & mask;
    return i;
  }

  private ruleDelete(i: u32): void {
    const rules = this.rules;
    const mask = this.ruleMask;
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      const b = rules + <usize>j * RULE_BYTES;
      const m = load<u64>(b, 16);
      if (m == 0) break;
      const home = ruleHash(load<u64>(b), load<u64>(b, 8), <u32>(m >> 16) & 0xff) & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        memory.copy(rules + <usize>i * RULE_BYTES, b, RULE_BYTES);
        i = j;
      }
    }
    store<u64>(rules + <usize>i * RULE_BYTES, 0, 16);
  }
}
