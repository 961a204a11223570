// IPv4 longest-prefix match, DIR-24-8: a lookup is one load from a 2^24-entry
// first-level table indexed by the address's top 24 bits, plus, for /24s that
// hold routes longer than /24, one load from a 256-entry second-level group.
// All memory is allocated by the constructor (configure time); lookups
// allocate nothing and never trap; add/remove allocate nothing either.
//
// Next hops are u16; NO_ROUTE (0xFFFF) is what a lookup returns without a
// matching route, and is not a valid next hop for add(). Addresses and
// prefixes are u32 in host order (10.0.0.0 is 0x0a000000).
//
// Entries (u32, both levels): EXT | group index in tbl24 for a /24 that has a
// group; else (len + 1) << 16 | hop, the length of the route that set it
// (0 and hop 0xFFFF: no route). Keeping the length lets add() and remove()
// overwrite exactly the entries of shorter (resp. of the same) routes.
//
// Rules: every route is also kept in a hash table (8 bytes a bucket, load
// factor <= 0.5) of at most maxRules routes, which remove() uses to find the
// route that covers a removed prefix (the longest shorter one, up to 32 hash
// probes) and to restore that route's hop over the removed range. A group is
// given back when its last route longer than /24 goes.
//
// Costs of add and remove: a prefix of length len <= 24 writes 2^(24 - len)
// first-level entries and rewrites the groups under them (256 entries each);
// longer prefixes write 2^(32 - len) entries of one group. A /0 walks the whole
// 16M-entry table (some tens of ms); the /24s and longer of a real table cost
// a few entries each.
//
// Memory: 64 MiB (tbl24) + 1 KiB per tbl8 group + 16 bytes per rule of
// maxRules (rounded up to a power of two) + 4 bytes per group (free list).

import { allocLines, pow2AtLeast } from './alloc';
export const NO_ROUTE: u16 = 0xffff;
/** Most tbl8 groups (512 MiB of them). */
export const LPM4_MAX_GROUPS: u32 = 1 << 19;
/** Most rules. */
export const LPM4_MAX_RULES: u32 = 1 << 24;

const EXT: u32 = 0x80000000;
const GROUP_MASK: u32 = 0x00ffffff;
const EMPTY: u32 = 0x0000ffff;
const BATCH: i32 = 64;
const RULE_USED: u64 = 0x8000000000000000;
const RULE_KEY: u64 = 0x3fffffffff; // prefix | len << 32

@inline function maskOf(len: u32): u32 {
  return len == 0 ? 0 : <u32>0xffffffff << (32 - len);
}

@inline function ruleHash(key: u64): u32 {
  let h = key * 0x9e3779b97f4a7c15;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9;
  return <u32>(h >> 32);
}

@final export class Lpm4 {
  readonly maxGroups: u32;
  readonly maxRules: u32;
  /** Bytes the table allocated. */
  readonly memoryBytes: usize;
  /** Routes in the table. */
  routes: u32 = 0;

  private tbl24: usize;
  private tbl8: usize;
  private freeGroups: usize; // stack of free group indexes
  private freeTop: u32;
  private rules: usize;
  private ruleMask: u32;
  private scratch: usize;

  constructor(maxTbl8Groups: u32, maxRules: u32 = 65536) {
    const groups = min(maxTbl8Groups, LPM4_MAX_GROUPS);
    this.maxGroups = groups;
    this.maxRules = min(max(maxRules, 1), LPM4_MAX_RULES);
    const tbl24 = allocLines(<usize>4 << 24);
    const fill: u64 = (<u64>EMPTY << 32) | EMPTY;
    for (let a = tbl24, end = tbl24 + (<usize>4 << 24); a < end; a += 8) store<u64>(a, fill);
    this.tbl24 = tbl24;
    this.tbl8 = allocLines(<usize>max(groups, 1) << 10);
    const free = allocLines(<usize>max(groups, 1) << 2);
    for (let i: u32 = 0; i < groups; i++) store<u32>(free + (<usize>i << 2), groups - 1 - i);
    this.freeGroups = free;
    this.freeTop = groups;
    const nRules = pow2AtLeast(this.maxRules << 1);
    this.ruleMask = nRules - 1;
    this.rules = allocLines(<usize>nRules << 3);
    this.scratch = allocLines(<usize>BATCH << 2);
    this.memoryBytes = (<usize>4 << 24) + (<usize>groups << 10) + (<usize>groups << 2) + (<usize>nRules << 3);
  }

  /** Free tbl8 groups. */
  get freeGroupCount(): u32 {
    return this.freeTop;
  }

  /** The next hop of the longest prefix matching addr (host order), NO_ROUTE when none. */
  @inline lookup(addr: u32): u16 {
    let e = load<u32>(this.tbl24 + (<usize>(addr >>> 8) << 2));
    if (e & EXT) e = load<u32>(this.tbl8 + ((<usize>(e & GROUP_MASK) << 10) | (<usize>(addr & 0xff) << 2)));
    return <u16>e;
  }

  /** hops[i] (u16) = lookup(addrs[i]) (u32, host order) for i < n, in two
   *  stages per 64 addresses (first-level loads of all, then the second-level
   *  ones) so the cache misses of a batch overlap. */
  lookupBatch(addrs: usize, hops: usize, n: i32): void {
    const tbl24 = this.tbl24;
    const tbl8 = this.tbl8;
    const scratch = this.scratch;
    for (let base = 0; base < n; base += BATCH) {
      const m = min(n - base, BATCH);
      const a = addrs + (<usize>base << 2);
      const h = hops + (<usize>base << 1);
      for (let j = 0; j < m; j++) {
        store<u32>(scratch + (<usize>j << 2), load<u32>(tbl24 + (<usize>(load<u32>(a + (<usize>j << 2)) >>> 8) << 2)));
      }
      for (let j = 0; j < m; j++) {
        let e = load<u32>(scratch + (<usize>j << 2));
        if (e & EXT) {
          const addr = load<u32>(a + (<usize>j << 2));
          e = load<u32>(tbl8 + ((<usize>(e & GROUP_MASK) << 10) | (<usize>(addr & 0xff) << 2)));
        }
        store<u16>(h + (<usize>j << 1), <u16>e);
      }
    }
  }

  /** Adds prefix/len -> nextHop (bits of prefix past len are ignored), or
   *  replaces the hop of that route. False (and nothing changed) when len > 32,
   *  nextHop is NO_ROUTE, maxRules routes are in, or a new tbl8 group is needed
   *  and none is free. */
  add(prefix: u32, len: u8, nextHop: u16): bool {
    const l = <u32>len;
    if (l > 32 || nextHop == NO_ROUTE) return false;
    prefix &= maskOf(l);
    const key = (<u64>l << 32) | prefix;
    let r = this.ruleFind(key);
    if (r < 0 && this.routes >= this.maxRules) return false;
    if (l > 24) {
      const a = this.tbl24 + (<usize>(prefix >>> 8) << 2);
      const e = load<u32>(a);
      if (!(e & EXT)) {
        if (this.freeTop == 0) return false;
        this.freeTop--;
        const g = load<u32>(this.freeGroups + (<usize>this.freeTop << 2));
        const group = this.tbl8 + (<usize>g << 10);
        for (let j: usize = 0; j < 256; j++) store<u32>(group + (j << 2), e);
        store<u32>(a, EXT | g);
      }
    }
    if (r < 0) {
      r = this.ruleSlot(key);
      this.routes++;
    }
    store<u64>(this.rules + (<usize>r << 3), RULE_USED | (<u64>nextHop << 40) | key);
    this.paint(prefix, l, ((l + 1) << 16) | nextHop);
    return true;
  }

  /** Removes the route prefix/len; the addresses it covered go back to the
   *  longest shorter route that covers them (or to no route). False when
   *  there is no such route. */
  remove(prefix: u32, len: u8): bool {
    const l = <u32>len;
    if (l > 32) return false;
    prefix &= maskOf(l);
    const r = this.ruleFind((<u64>l << 32) | prefix);
    if (r < 0) return false;
    this.ruleDelete(<u32>r);
    this.routes--;
    let entry = EMPTY;
    for (let p = <i32>l - 1; p >= 0; p--) {
      const q = this.ruleFind((<u64>p << 32) | (prefix & maskOf(<u32>p)));
      if (q >= 0) {
        const hop = <u32>(load<u64>(this.rules + (<usize>q << 3)) >> 40) & 0xffff;
        entry = (<u32>(p + 1) << 16) | hop;
        break;
      }
    }
    this.paint(prefix, l, entry);
    if (l > 24) {
      // Give the group back once no entry of it comes from a route longer than /24.
      const a = this.tbl24 + (<usize>(prefix >>> 8) << 2);
      const e = load<u32>(a);
      if (!(e & EXT)) return true;
      const g = e & GROUP_MASK;
      const group = this.tbl8 + (<usize>g << 10);
      for (let j: usize = 0; j < 256; j++) {
        if (((load<u32>(group + (j << 2)) >> 16) & 0xff) > 25) return true;
      }
      store<u32>(a, load<u32>(group));
      store<u32>(this.freeGroups + (<usize>this.freeTop << 2), g);
      this.freeTop++;
    }
    return true;
  }

  // Writes entry over the entries of prefix/len set by routes of length <= len.
  private paint(prefix: u32, len: u32, entry: u32): void {
    const cond = len + 1;
    if (len <= 24) {
      const tbl24 = this.tbl24;
      const start = prefix >>> 8;
      const end = start + (<u32>1 << (24 - len));
      for (let i = start; i < end; i++) {
        const a = tbl24 + (<usize>i << 2);
        const e = load<u32>(a);
        if (e & EXT) this.paintGroup(e & GROUP_MASK, 0, 256, cond, entry);
        else if (((e >> 16) & 0xff) <= cond) store<u32>(a, entry);
      }
    } else {
      const e = load<u32>(this.tbl24 + (<usize>(prefix >>> 8) << 2));
      if (!(e & EXT)) return; // cannot happen: a route longer than /24 has its group
      const start = prefix & 0xff;
      this.paintGroup(e & GROUP_MASK, start, start + (<u32>1 << (32 - len)), cond, entry);
    }
  }

  private paintGroup(g: u32, start: u32, end: u32, cond: u32, entry: u32): void {
    const group = this.tbl8 + (<usize>g << 10);
    for (let j = start; j < end; j++) {
      const a = group + (<usize>j << 2);
      if (((load<u32>(a) >> 16) & 0xff) <= cond) store<u32>(a, entry);
    }
  }

  // The rule bucket holding key, or -1.
  private ruleFind(key: u64): i32 {
    const rules = this.rules;
    const mask = this.ruleMask;
    let i = ruleHash(key) & mask;
    while (true) {
      const b = load<u64>(rules + (<usize>i << 3));
      if (b == 0) return -1;
      if ((b & RULE_KEY) == key) return <i32>i;
      i = (i + 1) & mask;
    }
  }

  // The first empty bucket of key's probe path.
  private ruleSlot(key: u64): u32 {
    const rules = this.rules;
    const mask = this.ruleMask;
    let i = ruleHash(key) & mask;
    while (load<u64>(rules + (<usize>i << 3)) != 0) i = (i + 1) & mask;
    return i;
  }

  // Backward-shift deletion of rule bucket i.
  private ruleDelete(i: u32): void {
    const rules = this.rules;
    const mask = this.ruleMask;
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      const b = load<u64>(rules + (<usize>j << 3));
      if (b == 0) break;
      const home = ruleHash(b & RULE_KEY) & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        store<u64>(rules + (<usize>i << 3), b);
        i = j;
      }
    }
    store<u64>(rules + (<usize>i << 3), 0);
  }
}
