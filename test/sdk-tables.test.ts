// The SDK's tables (nf-modules/sdk/flow-table.ts, lpm4.ts, lpm6.ts) against
// references written here: a Map and a slot model for the flow table, a
// linear longest-prefix scan for LPM. Random operations are compared step by
// step; the timings at the end are reported, not asserted.
import t from 'tap';
import { harness, type Harness } from './support/harness.js';

type Fn = (...args: never[]) => unknown;
/** What the helpers below use of a tap test. */
interface T {
  fail(message: string): boolean;
  equal(found: unknown, wanted: unknown, message: string): boolean;
}
type Fns = Record<string, (...args: any[]) => number>;

async function load(): Promise<{ h: Harness; f: Fns }> {
  const h = await harness('tables');
  return { h, f: h.exports as Record<string, Fn> as unknown as Fns };
}

/** mulberry32: a seeded PRNG, so a failure can be replayed. */
function rng(seed: number): { next: () => number; int: (n: number) => number; u32: () => number } {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), u32: () => Math.floor(next() * 4294967296) >>> 0 };
}

const pow2AtLeast = (x: number): number => {
  let p = 1;
  while (p < x) p *= 2;
  return p;
};

const NO_ROUTE = 0xffff;
// Scratch areas below the module's data (asc --memoryBase is 256 MiB).
const MiB = 1 << 20;

// ---------------------------------------------------------------- flow table

interface FlowCase {
  name: string;
  capacity: number;
  timeout: number;
  ring: number;
  keys: number;
  steps: number;
  seed: number;
  hash: 'table' | 'same-home' | 'few';
  /** Keys of 16 bytes and a zero tail, looked up as words (find16, findOrInsert16) half the time. */
  short?: boolean;
  /** Most the clock advances a step (the timeout / 8 by default). */
  tick?: number;
}

function flowModel(t: T, f: Fns, h: Harness, c: FlowCase): void {
  const r = rng(c.seed);
  f.ftCreate(c.capacity, c.timeout, c.ring);
  const cap = f.ftCapacity();
  t.equal(cap, pow2AtLeast(c.capacity), 'capacity rounded up to a power of two');
  const R = c.ring === 0 ? 0 : pow2AtLeast(Math.min(c.ring, cap));
  const bytes = new Uint8Array(c.keys * 40);
  for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
  for (let k = 0; k < c.keys; k++) {
    if (c.short) bytes.fill(0, k * 40 + 16, k * 40 + 40);
    new DataView(bytes.buffer).setUint32(k * 40 + (c.short ? 12 : 36), k); // distinct
  }
  const keys = h.put(bytes, 4 * MiB);
  const keyAddr = (k: number): number => keys + k * 40;
  const hashes = new Uint32Array(c.keys);
  for (let k = 0; k < c.keys; k++) {
    hashes[k] = c.hash === 'table' ? f.ftHash(keyAddr(k)) >>> 0 : c.hash === 'few' ? k % 5 : ((k << 16) | 3) >>> 0;
  }

  const slotOf = new Map<number, number>();
  const keyAt = new Int32Array(cap).fill(-1);
  const last = new Float64Array(cap);
  // What the test last stored in each slot's 4 bytes of the caller's (userOf): kept until stored again.
  const userAt = new Uint32Array(cap);
  const find = (k: number): number => (c.short && r.next() < 0.5 ? f.ftFind16 : f.ftFind)(keyAddr(k), hashes[k]);
  const queue: number[] = [];
  let cursor = 0;
  let now = 1_000_000;
  let failures = 0;
  const seen = { inserted: 0, reclaimed: 0, refused: 0, expired: 0 };
  const expired = (s: number): boolean => now > last[s]! && now - last[s]! > c.timeout;
  const freeModel = (s: number): void => {
    slotOf.delete(keyAt[s]!);
    keyAt[s] = -1;
  };
  const check = (ok: boolean, what: string, step: number): void => {
    if (!ok && failures++ < 10) t.fail(`${c.name} step ${step}: ${what}`);
  };
  const consistent = (step: number): void => {
    check(f.ftSize() === slotOf.size, `size ${f.ftSize()} != ${slotOf.size}`, step);
    for (const [k, s] of slotOf) {
      check(find(k) === s, `find(${k}) != ${s}`, step);
      check(f.ftLastSeen(s) === last[s], `lastSeen(${s})`, step);
    }
    for (let s = 0; s < cap; s++) check(f.ftUser(s) >>> 0 === userAt[s], `userOf(${s}) kept ${userAt[s]}`, step);
    for (let s = 0; s < cap; s++) check(!!f.ftInUse(s) === keyAt[s]! >= 0, `inUse(${s})`, step);
    check(f.ftCursor() === cursor, 'sweep cursor', step);
  };

  for (let step = 0; step < c.steps; step++) {
    now += r.next() < 0.02 ? r.int(c.timeout * 3) : r.int(c.tick ?? Math.ceil(c.timeout / 8));
    const op = r.next();
    // Hot keys half of the time, so some flows stay alive.
    const k = r.next() < 0.5 ? r.int(Math.min(c.keys, Math.max(4, cap >> 2))) : r.int(c.keys);
    if (op < 0.35) {
      const pendingBefore = queue.length;
      const full = slotOf.size === cap;
      const allExpired = full && [...slotOf.values()].every(expired);
      const s = (c.short && r.next() < 0.5 ? f.ftFindOrInsert16 : f.ftFindOrInsert)(keyAddr(k), hashes[k], now);
      const inserted = !!f.ftInserted();
      if (inserted) {
        userAt[s] = r.u32();
        f.ftSetUser(s, userAt[s]);
      }
      if (slotOf.has(k)) {
        check(s === slotOf.get(k) && !inserted, `findOrInsert(${k}) hit ${s}`, step);
        last[s] = now;
      } else if (!full) {
        check(s >= 0 && s < cap && keyAt[s] === -1 && inserted, `findOrInsert(${k}) new ${s}`, step);
        if (s >= 0 && s < cap) {
          seen.inserted++;
          slotOf.set(k, s);
          keyAt[s] = k;
          last[s] = now;
        }
      } else {
        // Full: the table may have reclaimed expired flows, reported on the ring.
        if (R > 0) {
          const popped: number[] = [];
          for (let x = f.ftPopFreed(); x >= 0; x = f.ftPopFreed()) popped.push(x);
          check(popped.slice(0, pendingBefore).join() === queue.join(), 'the ring kept its records', step);
          const fresh = popped.slice(pendingBefore);
          queue.length = 0;
          if (pendingBefore === R) check(fresh.length === 0 && s === -1, 'no reclaim while the ring is full', step);
          for (const x of fresh) check(keyAt[x]! >= 0 && expired(x), `reclaimed ${x} was expired`, step);
        }
        for (let x = 0; x < cap; x++) {
          if (keyAt[x]! >= 0 && (!f.ftInUse(x) || x === s)) {
            check(expired(x), `reclaimed slot ${x} was expired`, step);
            freeModel(x);
          }
        }
        if (s >= 0) {
          seen.reclaimed++;
          check(inserted && keyAt[s] === -1, `findOrInsert(${k}) reclaimed ${s}`, step);
          slotOf.set(k, s);
          keyAt[s] = k;
          last[s] = now;
        } else {
          seen.refused++;
          check(!inserted, 'no insert on -1', step);
          check(!(allExpired && (R === 0 || pendingBefore < R)), '-1 although every flow was expired', step);
        }
        cursor = f.ftCursor();
      }
    } else if (op < 0.5) {
      check(find(k) === (slotOf.get(k) ?? -1), `find(${k})`, step);
    } else if (op < 0.6) {
      const present = slotOf.has(k);
      check(!!f.ftRemove(keyAddr(k), hashes[k]) === present, `remove(${k})`, step);
      if (present) freeModel(slotOf.get(k)!);
    } else if (op < 0.65) {
      const s = r.int(cap + 4);
      const used = s < cap && keyAt[s]! >= 0;
      check(!!f.ftRemoveSlot(s) === used, `removeSlot(${s})`, step);
      if (used) freeModel(s);
    } else if (op < 0.75) {
      const s = r.next() < 0.8 && slotOf.has(k) ? slotOf.get(k)! : r.int(cap + 4);
      f.ftTouch(s, now);
      if (s < cap) last[s] = now;
    } else if (op < 0.87) {
      const budget = r.next() < 0.05 ? 0xffffffff : r.int(Math.max(2, cap >> 1));
      const freed: number[] = [];
      let n = Math.min(budget, cap);
      while (n > 0) {
        const s = cursor;
        if (keyAt[s]! >= 0 && expired(s)) {
          if (R > 0 && queue.length === R) break;
          freeModel(s);
          freed.push(s);
          if (R > 0) queue.push(s);
        }
        cursor = (cursor + 1) % cap;
        n--;
      }
      check(f.ftExpire(now, budget >>> 0 | 0) === freed.length, `expire(budget ${budget}) freed ${freed.length}`, step);
      for (const s of freed) check(!f.ftInUse(s), `expired slot ${s} freed`, step);
      seen.expired += freed.length;
    } else if (op < 0.93) {
      for (let n = r.int(6); n > 0; n--) {
        const want = queue.length > 0 ? queue.shift()! : -1;
        check(f.ftPopFreed() === want, `popFreed() == ${want}`, step);
      }
      check(f.ftFreedPending() === queue.length, 'freedPending', step);
    } else if (keyAt[k % cap]! >= 0) {
      // The stored key reads back.
      const s = k % cap;
      const at = f.ftKeyOf(s);
      const stored = h.bytes().slice(at, at + 40);
      check(Buffer.compare(stored, bytes.subarray(keyAt[s]! * 40, keyAt[s]! * 40 + 40)) === 0, `keyOf(${s})`, step);
    }
    if (step % Math.max(100, c.steps >> 6) === 0) consistent(step);
  }
  consistent(c.steps);
  // Absent keys are absent.
  for (let k = 0; k < c.keys; k++) if (!slotOf.has(k)) check(find(k) === -1, `find(${k}) absent`, -1);
  t.equal(failures, 0, `${c.name}: ${c.steps} random operations agree with the model ` +
    `(${seen.inserted} inserts, ${seen.expired} expired, ${seen.reclaimed} reclaimed when full, ${seen.refused} refused)`);
}

t.test('flow table: random operations against a model', async (t) => {
  const { h, f } = await load();
  const cases: FlowCase[] = [
    { name: 'small, ring 8', capacity: 64, timeout: 1000, ring: 8, keys: 100, steps: 30000, seed: 1, hash: 'table' },
    { name: 'no ring, 5 hashes', capacity: 64, timeout: 1000, ring: 0, keys: 100, steps: 30000, seed: 2, hash: 'few' },
    { name: 'one home bucket, capacity 50', capacity: 50, timeout: 500, ring: 1024, keys: 90, steps: 20000, seed: 3, hash: 'same-home' },
    { name: 'tiny', capacity: 1, timeout: 100, ring: 1, keys: 4, steps: 5000, seed: 4, hash: 'table' },
    { name: 'often full, ring 4', capacity: 32, timeout: 10000, ring: 4, keys: 200, steps: 30000, seed: 6, hash: 'table', tick: 60 },
    { name: 'often full, no ring', capacity: 32, timeout: 10000, ring: 0, keys: 200, steps: 30000, seed: 7, hash: 'few', tick: 60 },
    { name: 'often full, one home', capacity: 16, timeout: 10000, ring: 64, keys: 100, steps: 30000, seed: 8, hash: 'same-home', tick: 100 },
    { name: 'capacity 4096', capacity: 4096, timeout: 20000, ring: 256, keys: 6000, steps: 150000, seed: 5, hash: 'table' },
    { name: '16-byte keys, ring 8', capacity: 64, timeout: 1000, ring: 8, keys: 100, steps: 30000, seed: 9, hash: 'table', short: true },
    { name: '16-byte keys, often full', capacity: 32, timeout: 10000, ring: 4, keys: 200, steps: 30000, seed: 10, hash: 'few', tick: 60, short: true },
  ];
  for (const c of cases) flowModel(t, f, h, c);
});

t.test('flow table: full, and odd inputs', async (t) => {
  const { h, f } = await load();
  f.ftCreate(16, 1000, 64);
  const keys = new Uint8Array(40 * 40);
  for (let i = 0; i < keys.length; i++) keys[i] = (i * 131 + (i >> 3)) & 0xff;
  for (let k = 0; k < 40; k++) keys[k * 40] = k;
  const base = h.put(keys, 4 * MiB);
  const key = (k: number): number => base + k * 40;
  for (let k = 0; k < 16; k++) t.ok(f.ftFindOrInsert(key(k), f.ftHash(key(k)), 100 + k) >= 0, `flow ${k} in`);
  t.equal(f.ftSize(), 16);
  let refused = 0;
  for (let k = 16; k < 40; k++) if (f.ftFindOrInsert(key(k), f.ftHash(key(k)), 500) === -1 && !f.ftInserted()) refused++;
  t.equal(refused, 24, 'full and nothing expired: -1 every time');
  for (let k = 0; k < 16; k++) t.ok(f.ftFind(key(k), f.ftHash(key(k))) >= 0, `flow ${k} still found`);
  // Nothing traps on odd slots, budgets, hashes or times.
  f.ftTouch(0xffffffff | 0, 1);
  f.ftTouch(16, 1);
  t.notOk(f.ftRemoveSlot(16), 'removeSlot out of range');
  t.notOk(f.ftRemoveSlot(-1), 'removeSlot(0xffffffff)');
  t.equal(f.ftLastSeen(1 << 30), 0);
  t.equal(f.ftKeyOf(99), 0);
  t.equal(f.ftFind(key(20), 0xffffffff | 0), -1);
  t.equal(f.ftExpire(0, 0xffffffff | 0), 0, 'time before every last-seen: nothing expires');
  // Once flows are idle past the timeout, a new flow reclaims one.
  const s = f.ftFindOrInsert(key(30), f.ftHash(key(30)), 100 + 15 + 1001);
  t.ok(s >= 0 && f.ftInserted(), 'full table reclaims an expired flow for a new one');
  const freed: number[] = [];
  for (let x = f.ftPopFreed(); x >= 0; x = f.ftPopFreed()) freed.push(x);
  t.ok(freed.includes(s), 'the reused slot was reported freed first');
  t.equal(f.ftSize(), 16 - freed.length + 1);
  t.equal(f.ftExpire(1e12, 0xffffffff | 0), 16 - freed.length + 1, 'a whole sweep frees the rest');
  t.equal(f.ftSize(), 0);
  // Times are u64: huge times work.
  t.ok(f.ftFindOrInsert(key(1), 7, 2 ** 62) >= 0);
  t.equal(f.ftLastSeen(f.ftFind(key(1), 7)), 2 ** 62);
});

// hashKey16 as the SDK documents it (and nat.c writes it), in BigInt.
const M64 = (1n << 64n) - 1n;
function hashKey16Ref(k0: bigint, k1: bigint, seed: bigint): number {
  const a = ((k0 ^ seed) * 0x9e3779b97f4a7c15n) & M64;
  const b = ((k1 ^ seed ^ 0x27d4eb2f165667c5n) * 0xc2b2ae3d27d4eb4fn) & M64;
  let h = a ^ (((b << 32n) | (b >> 32n)) & M64);
  h ^= h >> 29n;
  h = (h * 0xff51afd7ed558ccdn) & M64;
  return Number((h ^ (h >> 32n)) & 0xffffffffn);
}

t.test('flow table: hashKey16 is its documented formula', async (t) => {
  const { h, f } = await load();
  const r = rng(16);
  const keys = new Uint8Array(40 * 1000);
  for (let k = 0; k < 1000; k++) for (let b = 0; b < 16; b++) keys[k * 40 + b] = r.int(256);
  const base = h.put(keys, 4 * MiB);
  const view = new DataView(keys.buffer);
  let differ = 0;
  for (let k = 0; k < 1000; k++) {
    const seed = (BigInt(r.u32()) << 32n) | BigInt(r.u32());
    const want = hashKey16Ref(view.getBigUint64(k * 40, true), view.getBigUint64(k * 40 + 8, true), seed);
    if (f.ftHash16(base + k * 40, seed) >>> 0 !== want) differ++;
  }
  t.equal(differ, 0, '1000 random keys and seeds');
});

t.test('flow table: hashKey16 spreads keys that differ in one field', async (t) => {
  const { h, f } = await load();
  // 5-tuple keys as nat builds them (k0 = inside | far address << 32, k1 = ports | protocol << 32,
  // in network order): 2^16 flows that differ only in the inside address, then only in the inside port.
  const n = 1 << 16;
  const bswap = (x: number): number => ((x & 0xff) << 24 | (x & 0xff00) << 8 | (x >>> 8) & 0xff00 | x >>> 24) >>> 0;
  const fields: [string, (i: number) => [number, number, number]][] = [
    ['inside address', (i) => [bswap(0x0a000000 + i), bswap(0xc0a80001), 0x5000_0004]],
    ['inside port', (i) => [bswap(0x0a000001), bswap(0xc0a80001), 0x5000_0000 | ((i & 0xff) << 8) | (i >>> 8)]],
  ];
  for (const [what, key] of fields) {
    const keys = new Uint8Array(40 * n);
    const view = new DataView(keys.buffer);
    for (let i = 0; i < n; i++) {
      const [inside, far, ports] = key(i);
      view.setUint32(i * 40, inside, true);
      view.setUint32(i * 40 + 4, far, true);
      view.setUint32(i * 40 + 8, ports, true);
      view.setUint32(i * 40 + 12, 17, true);
    }
    const base = h.put(keys, 4 * MiB);
    // Linear probing into 2 * n buckets, as the table does: the mean probe length of random
    // hashes at load 0.5 is 1.5.
    const buckets = 2 * n;
    const used = new Uint8Array(buckets);
    let probes = 0;
    for (let i = 0; i < n; i++) {
      let b = f.ftHash16(base + i * 40, 0n) & (buckets - 1);
      probes++;
      while (used[b]) {
        b = (b + 1) & (buckets - 1);
        probes++;
      }
      used[b] = 1;
    }
    t.ok(probes / n < 1.6, `${what}: ${(probes / n).toFixed(3)} probes a key`);
  }
});

// ---------------------------------------------------------------- IPv4 LPM

interface Route4 { prefix: number; len: number; hop: number }
const mask4 = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
const key4 = (p: number, len: number): string => `${p}/${len}`;

function ref4(routes: Map<string, Route4>, addr: number): number {
  let best = -1;
  let hop = NO_ROUTE;
  for (const r of routes.values()) {
    if (r.len > best && ((addr & mask4(r.len)) >>> 0) === r.prefix) {
      best = r.len;
      hop = r.hop;
    }
  }
  return hop;
}

function check4(t: T, h: Harness, f: Fns, routes: Map<string, Route4>, r: ReturnType<typeof rng>, bases: number[], what: string): void {
  const addrs: number[] = [];
  for (const x of routes.values()) {
    const lastAddr = (x.prefix | ~mask4(x.len)) >>> 0;
    addrs.push(x.prefix, lastAddr, (x.prefix - 1) >>> 0, (lastAddr + 1) >>> 0);
  }
  for (let i = 0; i < 2000; i++) addrs.push(r.u32());
  for (let i = 0; i < 2000; i++) addrs.push((bases[r.int(bases.length)]! ^ (r.u32() >>> r.int(33))) >>> 0);
  const a = new Uint32Array(addrs);
  const at = h.put(new Uint8Array(a.buffer), 8 * MiB);
  const hopsAt = 16 * MiB;
  f.l4LookupBatch(at, hopsAt, a.length);
  const batch = new Uint16Array(h.memory.buffer, hopsAt, a.length);
  let bad = 0;
  for (let i = 0; i < a.length; i++) {
    const want = ref4(routes, a[i]!);
    const got = f.l4Lookup(a[i]!);
    if ((got !== want || batch[i] !== want) && bad++ < 5) {
      t.fail(`${what}: lookup(${a[i]!.toString(16)}) = ${got} (batch ${batch[i]}), want ${want}`);
    }
  }
  t.equal(bad, 0, `${what}: ${a.length} lookups (single and batch) agree with the linear scan`);
  t.equal(f.l4Routes(), routes.size, `${what}: route count`);
}

t.test('IPv4 LPM: random overlapping prefixes of every length, adds and removes', async (t) => {
  const { h, f } = await load();
  const r = rng(44);
  const groups = 2048;
  f.l4Create(groups, 4096);
  const bases = [r.u32(), r.u32(), r.u32(), 0x0a000000, 0xffffffff, 0];
  const routes = new Map<string, Route4>();
  const randomRoute = (): Route4 => {
    const len = r.int(33);
    let p = bases[r.int(bases.length)]!;
    if (r.next() < 0.5 && len > 0) p ^= 1 << (32 - 1 - r.int(len)); // a sibling of a base's prefix
    return { prefix: (p & mask4(len)) >>> 0, len, hop: r.int(0xffff) };
  };
  const addSome = (n: number): number => {
    let failed = 0;
    for (let i = 0; i < n; i++) {
      const x = randomRoute();
      const garbage = x.len === 32 ? 0 : r.u32() & ~mask4(x.len); // bits past len are ignored
      if (f.l4Add((x.prefix | garbage) >>> 0, x.len, x.hop) !== 1) failed++;
      routes.set(key4(x.prefix, x.len), x);
    }
    return failed;
  };
  const removeSome = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const all = [...routes.values()];
      if (r.next() < 0.2 || all.length === 0) {
        const x = randomRoute();
        t.equal(f.l4Remove(x.prefix, x.len), routes.has(key4(x.prefix, x.len)) ? 1 : 0, 'remove of a random prefix');
        routes.delete(key4(x.prefix, x.len));
      } else {
        const x = all[r.int(all.length)]!;
        t.equal(f.l4Remove(x.prefix, x.len), 1);
        routes.delete(key4(x.prefix, x.len));
      }
    }
  };
  t.equal(f.l4Lookup(0x01020304), NO_ROUTE, 'empty table: no route');
  t.notOk(f.l4Add(0, 33, 1), 'len 33 refused');
  t.notOk(f.l4Add(0, 8, NO_ROUTE), 'hop 0xFFFF refused');
  t.notOk(f.l4Remove(0, 8), 'remove of an absent route');
  t.notOk(f.l4Remove(0, 40), 'remove with len > 32');
  for (let round = 0; round < 3; round++) {
    t.equal(addSome(300), 0, `round ${round}: adds accepted`);
    check4(t, h, f, routes, r, bases, `round ${round}, after adds`);
    removeSome(150);
    check4(t, h, f, routes, r, bases, `round ${round}, after removes`);
  }
  for (const x of routes.values()) t.equal(f.l4Remove(x.prefix, x.len), 1);
  routes.clear();
  check4(t, h, f, routes, r, bases, 'all removed');
  t.equal(f.l4FreeGroups(), groups, 'every tbl8 group given back');
});

t.test('IPv4 LPM: tbl8 groups and rules run out', async (t) => {
  const { f } = await load();
  f.l4Create(2, 5);
  t.ok(f.l4Add(0x0a000000, 8, 1));
  t.ok(f.l4Add(0x0a000100, 25, 2), 'first group');
  t.ok(f.l4Add(0x0a000200, 32, 3), 'second group');
  t.equal(f.l4FreeGroups(), 0);
  t.notOk(f.l4Add(0x0a000300, 26, 4), 'no group left: add returns false');
  t.equal(f.l4Lookup(0x0a000301), 1, 'and changes nothing');
  t.equal(f.l4Routes(), 3);
  t.ok(f.l4Add(0x0a000180, 25, 5), 'a route in an existing group needs none');
  t.ok(f.l4Add(0x0a000180, 25, 6), 'replacing a hop needs nothing');
  t.equal(f.l4Lookup(0x0a0001ff), 6);
  t.ok(f.l4Remove(0x0a000200, 32));
  t.equal(f.l4FreeGroups(), 1, 'the group of the removed /32 came back');
  t.equal(f.l4Lookup(0x0a000200), 1, 'its address falls back to the /8');
  t.ok(f.l4Add(0x0a000300, 26, 4), 'now the /26 fits');
  t.equal(f.l4Lookup(0x0a000301), 4);
  t.ok(f.l4Add(0x0b000000, 8, 7), 'fifth rule');
  t.notOk(f.l4Add(0x0c000000, 8, 8), 'sixth rule: no room');
  t.ok(f.l4Add(0x0b000000, 8, 9), 'updating a rule needs no room');
  t.equal(f.l4Lookup(0x0b00ffff), 9);
  // Overlapping removes restore the covering route.
  t.ok(f.l4Remove(0x0a000100, 25));
  t.ok(f.l4Remove(0x0a000180, 25));
  t.equal(f.l4Lookup(0x0a000181), 1);
  t.ok(f.l4Remove(0x0a000000, 8));
  t.equal(f.l4Lookup(0x0a000181), NO_ROUTE);
  t.equal(f.l4Lookup(0x0a000301), 4, 'the /26 outlives its /8');
});

// ---------------------------------------------------------------- IPv6 LPM

interface Route6 { prefix: bigint; len: number; hop: number }
const M128 = (1n << 128n) - 1n;
const mask6 = (len: number): bigint => (len === 0 ? 0n : (M128 << BigInt(128 - len)) & M128);
const bytes6 = (x: bigint): Uint8Array => {
  const b = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return b;
};
const rand128 = (r: ReturnType<typeof rng>): bigint =>
  (BigInt(r.u32()) << 96n) | (BigInt(r.u32()) << 64n) | (BigInt(r.u32()) << 32n) | BigInt(r.u32());

function ref6(routes: Map<string, Route6>, addr: bigint): number {
  let best = -1;
  let hop = NO_ROUTE;
  for (const r of routes.values()) {
    if (r.len > best && (addr & mask6(r.len)) === r.prefix) {
      best = r.len;
      hop = r.hop;
    }
  }
  return hop;
}

const P6 = 8 * MiB; // where a prefix or address is written
const lookup6 = (h: Harness, f: Fns, a: bigint): number => f.l6Lookup(h.put(bytes6(a), P6));

function check6(t: T, h: Harness, f: Fns, routes: Map<string, Route6>, r: ReturnType<typeof rng>, bases: bigint[], what: string): void {
  const addrs: bigint[] = [];
  for (const x of routes.values()) {
    const lastAddr = x.prefix | (~mask6(x.len) & M128);
    addrs.push(x.prefix, lastAddr, (x.prefix - 1n) & M128, (lastAddr + 1n) & M128);
  }
  for (let i = 0; i < 500; i++) addrs.push(rand128(r));
  for (let i = 0; i < 1500; i++) addrs.push(bases[r.int(bases.length)]! ^ (rand128(r) >> BigInt(r.int(129))));
  const all = new Uint8Array(addrs.length * 16);
  addrs.forEach((a, i) => all.set(bytes6(a), i * 16));
  const hopsAt = 24 * MiB;
  f.l6LookupBatch(h.put(all, 16 * MiB), hopsAt, addrs.length);
  const batch = new Uint16Array(h.memory.buffer, hopsAt, addrs.length);
  let bad = 0;
  addrs.forEach((a, i) => {
    const want = ref6(routes, a);
    const got = lookup6(h, f, a);
    if ((got !== want || batch[i] !== want) && bad++ < 5) t.fail(`${what}: lookup(${a.toString(16)}) = ${got} (batch ${batch[i]}), want ${want}`);
  });
  t.equal(bad, 0, `${what}: ${addrs.length} lookups (single and batch) agree with the linear scan`);
  t.equal(f.l6Routes(), routes.size, `${what}: route count`);
}

t.test('IPv6 LPM: random overlapping prefixes of every length, adds and removes', async (t) => {
  const { h, f } = await load();
  const r = rng(66);
  const groups = 16384;
  f.l6Create(groups, 4096);
  const bases = [rand128(r), rand128(r), 0x20010db8n << 96n, M128, 0n];
  const routes = new Map<string, Route6>();
  const randomRoute = (): Route6 => {
    const len = r.int(129);
    let p = bases[r.int(bases.length)]!;
    if (r.next() < 0.5 && len > 0) p ^= 1n << BigInt(127 - r.int(len));
    return { prefix: p & mask6(len), len, hop: r.int(0xffff) };
  };
  const add = (x: Route6): number => f.l6Add(h.put(bytes6(x.prefix | (rand128(r) & ~mask6(x.len) & M128)), P6), x.len, x.hop);
  const remove = (x: Route6): number => f.l6Remove(h.put(bytes6(x.prefix), P6), x.len);
  const k6 = (x: Route6): string => `${x.prefix}/${x.len}`;
  t.equal(lookup6(h, f, 1n), NO_ROUTE, 'empty table: no route');
  t.notOk(f.l6Add(h.put(bytes6(0n), P6), 129, 1), 'len 129 refused');
  t.notOk(f.l6Add(h.put(bytes6(0n), P6), 0, NO_ROUTE), 'hop 0xFFFF refused');
  for (let round = 0; round < 3; round++) {
    let failed = 0;
    for (let i = 0; i < 250; i++) {
      const x = randomRoute();
      if (!add(x)) failed++;
      routes.set(k6(x), x);
    }
    t.equal(failed, 0, `round ${round}: adds accepted`);
    check6(t, h, f, routes, r, bases, `round ${round}, after adds`);
    for (let i = 0; i < 125; i++) {
      const all = [...routes.values()];
      const x = r.next() < 0.2 ? randomRoute() : all[r.int(all.length)]!;
      t.equal(remove(x), routes.has(k6(x)) ? 1 : 0, `remove ${k6(x)}`);
      routes.delete(k6(x));
    }
    check6(t, h, f, routes, r, bases, `round ${round}, after removes`);
  }
  for (const x of [...routes.values()]) t.equal(remove(x), 1);
  routes.clear();
  check6(t, h, f, routes, r, bases, 'all removed');
  t.equal(f.l6FreeGroups(), groups, 'every group given back');
});

t.test('IPv6 LPM: groups and rules run out', async (t) => {
  const { h, f } = await load();
  f.l6Create(3, 3);
  const add = (p: bigint, len: number, hop: number): number => f.l6Add(h.put(bytes6(p), P6), len, hop);
  const remove = (p: bigint, len: number): number => f.l6Remove(h.put(bytes6(p), P6), len);
  const net = 0x20010db8_00010000n << 80n; // 2001:db8:1::/48
  t.ok(add(net, 40, 1), 'a /40 takes three groups');
  t.equal(f.l6FreeGroups(), 0);
  t.notOk(add(0x2a00n << 112n, 40, 2), 'another /40 elsewhere: no group left');
  t.equal(lookup6(h, f, 0x2a00n << 112n), NO_ROUTE, 'and nothing changed');
  t.ok(add(net, 24, 3), 'a /24 on the same path needs none');
  t.notOk(add(net, 48, 4), 'a /48 needs a fourth');
  t.ok(add(net, 16, 5), 'a /16 lives in the first level');
  t.equal(lookup6(h, f, net | 1n), 1);
  t.equal(lookup6(h, f, net | (1n << 100n)), 3, 'outside the /40, inside the /24');
  t.notOk(add(0n, 0, 6), 'fourth rule: no room');
  t.ok(remove(net, 40));
  t.equal(f.l6FreeGroups(), 2, 'the /40 gave back the groups below the /24');
  t.equal(lookup6(h, f, net | 1n), 3);
  t.ok(remove(net, 24));
  t.equal(f.l6FreeGroups(), 3);
  t.equal(lookup6(h, f, net | 1n), 5);
  t.ok(add(0n, 0, 6), 'default route');
  t.ok(remove(net, 16));
  t.equal(lookup6(h, f, net | 1n), 6);
});

// ---------------------------------------------------------------- sizes and timings

const ns = (start: bigint): number => Number(process.hrtime.bigint() - start);

t.test('flow table: 1M flows (timings reported, not asserted)', async (t) => {
  const { h, f } = await load();
  const KEYS = 32 * MiB; // 40 MiB of keys
  const HASHES = 80 * MiB;
  const ORDER = 88 * MiB;
  const M = 1 << 20;
  f.benchKeys(KEYS, HASHES, M);
  const r = rng(9);
  for (const n of [1024, M]) {
    const bytes = f.ftCreate(n, 1e9, 0);
    // Insert in a random order, so slots are not in key order.
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    h.put(new Uint8Array(order.buffer), ORDER);
    let start = process.hrtime.bigint();
    const ok = f.ftBenchInsert(KEYS, HASHES, ORDER, n, 1);
    const insert = ns(start);
    t.equal(ok, n, `${n} flows inserted`);
    t.equal(f.ftSize(), n);
    t.equal(f.ftFindOrInsert(KEYS + n * 40, f.ftHash(KEYS + n * 40), 1), -1, 'one more: full');
    // Lookups of all M keys (key i of the n in the table: i mod n), in bursts of 32.
    const lookups = (prefetch: boolean, hash: boolean): number => {
      const t0 = process.hrtime.bigint();
      let found = 0;
      for (let done = 0; done < M; done += n) found += f.ftBenchLookup(KEYS, HASHES, n, 32, 2, hash ? 1 : 0, prefetch ? 1 : 0);
      t.equal(found, Math.max(M, n), `every lookup found its flow (prefetch ${prefetch}, hashKey ${hash})`);
      return ns(t0) / Math.max(M, n);
    };
    const plain = lookups(false, false);
    const hashed = lookups(false, true);
    const prefetched = lookups(true, false);
    const both = lookups(true, true);
    t.comment(`flow table, ${n} flows (${(bytes / MiB).toFixed(1)} MiB): insert ${(insert / n).toFixed(1)} ns/flow ` +
      `(${(insert / 1e6).toFixed(1)} ms); findOrInsert hit ${plain.toFixed(1)} ns, with hashKey ${hashed.toFixed(1)} ns, ` +
      `bursts of 32 after prefetch() ${prefetched.toFixed(1)} ns, with hashKey ${both.toFixed(1)} ns`);
  }
});

t.test('IPv4 LPM: 1M routes (timings reported, not asserted)', async (t) => {
  const { h, f } = await load();
  const r = rng(7);
  // A BGP-like mix of lengths (per mille).
  const mix: [number, number][] = [[24, 560], [23, 100], [22, 110], [21, 50], [20, 50], [19, 35], [18, 20], [17, 15],
    [16, 25], [15, 5], [14, 5], [13, 4], [12, 3], [11, 2], [10, 1], [8, 1], [25, 4], [26, 4], [27, 3], [28, 3], [29, 2],
    [30, 2], [32, 6]];
  const pick = (): number => {
    let x = r.int(1000);
    for (const [len, w] of mix) if ((x -= w) < 0) return len;
    return 24;
  };
  const N = 1_000_000;
  const byLen = new Map<number, Map<number, number>>();
  const prefixes = new Uint32Array(N);
  const lens = new Uint8Array(N);
  const hops = new Uint16Array(N);
  for (let i = 0; i < N;) {
    const len = pick();
    const p = (r.u32() & mask4(len)) >>> 0;
    let m = byLen.get(len);
    if (!m) byLen.set(len, (m = new Map()));
    if (m.has(p)) continue;
    const hop = r.int(0xffff);
    m.set(p, hop);
    prefixes[i] = p;
    lens[i] = len;
    hops[i++] = hop;
  }
  const ref = (addr: number): number => {
    for (let len = 32; len >= 0; len--) {
      const hop = byLen.get(len)?.get((addr & mask4(len)) >>> 0);
      if (hop !== undefined) return hop;
    }
    return NO_ROUTE;
  };
  const bytes = f.l4Create(65536, N);
  const P = h.put(new Uint8Array(prefixes.buffer), 100 * MiB);
  const L = h.put(lens, 108 * MiB);
  const H = h.put(new Uint8Array(hops.buffer), 112 * MiB);
  let start = process.hrtime.bigint();
  const added = f.l4AddMany(P, L, H, N);
  const loadNs = ns(start);
  t.equal(added, N, '1M routes added');
  t.comment(`IPv4 LPM: 1M routes loaded in ${(loadNs / 1e6).toFixed(0)} ms (${(loadNs / N).toFixed(0)} ns/route), ` +
    `${(bytes / MiB).toFixed(1)} MiB, ${65536 - f.l4FreeGroups()} tbl8 groups in use`);
  // Lookups: uniform random addresses, and addresses inside the routes.
  const B = 1 << 20;
  const addrs = new Uint32Array(B);
  for (let i = 0; i < B; i++) addrs[i] = i & 1 ? r.u32() : (prefixes[r.int(N)]! | (r.u32() & ~mask4(lens[r.int(N)]!))) >>> 0;
  const A = h.put(new Uint8Array(addrs.buffer), 120 * MiB);
  const HOPS = 128 * MiB;
  let bad = 0;
  for (let i = 0; i < 20000; i++) if (f.l4Lookup(addrs[i]!) !== ref(addrs[i]!)) bad++;
  t.equal(bad, 0, '20000 lookups agree with a per-length reference');
  start = process.hrtime.bigint();
  const s1 = f.l4BenchLookup(A, B) >>> 0;
  const single = ns(start);
  start = process.hrtime.bigint();
  const s2 = f.l4BenchBatch(A, HOPS, B, 32) >>> 0;
  const batch = ns(start);
  t.equal(s1, s2, 'batch lookups equal single ones');
  t.comment(`IPv4 LPM, 1M routes: lookup ${(single / B).toFixed(1)} ns, lookupBatch (32) ${(batch / B).toFixed(1)} ns ` +
    `(${B} random addresses, each its own cache miss)`);
  // 1K routes: the same code, on a table that mostly stays in cache.
  f.l4Create(1024, 1024);
  const small = 1000;
  f.l4AddMany(P, L, H, small);
  for (let i = 0; i < B; i++) addrs[i] = (prefixes[r.int(small)]! | (r.u32() & ~mask4(lens[r.int(small)]!))) >>> 0;
  h.put(new Uint8Array(addrs.buffer), 120 * MiB);
  start = process.hrtime.bigint();
  f.l4BenchLookup(A, B);
  const single1k = ns(start);
  start = process.hrtime.bigint();
  f.l4BenchBatch(A, HOPS, B, 32);
  const batch1k = ns(start);
  t.comment(`IPv4 LPM, 1K routes: lookup ${(single1k / B).toFixed(1)} ns, lookupBatch (32) ${(batch1k / B).toFixed(1)} ns ` +
    `(addresses inside the routes; module memory now ${(h.memory.buffer.byteLength / MiB).toFixed(0)} MiB)`);
});

t.test('IPv6 LPM: 100K routes in 4096 /32s (timings reported, not asserted)', async (t) => {
  const { h, f } = await load();
  const r = rng(8);
  const N = 100_000;
  const GROUPS = 1 << 18;
  const bytes = f.l6Create(GROUPS, N);
  // Routes of 4096 providers' /32s (in 2000::/4): the /32s, and /36../64s inside them.
  const isps = Array.from({ length: 4096 }, () => ((0x2000n << 112n) | (rand128(r) >> 4n)) & mask6(32));
  const mix = [36, 40, 44, 48, 48, 48, 48, 48, 56, 64];
  const prefixes: bigint[] = [];
  const lens: number[] = [];
  const keys = new Set<string>();
  for (let i = 0; prefixes.length < N; i++) {
    const len = i < isps.length ? 32 : mix[r.int(mix.length)]!;
    const p = (isps[i % isps.length]! | (rand128(r) & ~mask6(32) & M128)) & mask6(len);
    if (keys.has(`${p}/${len}`)) continue;
    keys.add(`${p}/${len}`);
    prefixes.push(p);
    lens.push(len);
  }
  const PREF = 8 * MiB;
  let failed = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) if (!f.l6Add(h.put(bytes6(prefixes[i]!), PREF), lens[i]!, i & 0x7fff)) failed++;
  const loadNs = ns(start);
  t.equal(failed, 0, 'routes added');
  const used = GROUPS - f.l6FreeGroups();
  t.comment(`IPv6 LPM: ${N} routes loaded in ${(loadNs / 1e6).toFixed(0)} ms (including a JS call and a 16-byte copy each), ` +
    `${(bytes / MiB).toFixed(1)} MiB allocated, ${used} groups in use (${(used / 1024).toFixed(0)} MiB)`);
  const B = 1 << 18;
  const A = 16 * MiB;
  const HOPS = 24 * MiB;
  const buf = new Uint8Array(B * 16);
  for (let i = 0; i < B; i++) {
    const k = r.int(N);
    buf.set(bytes6(prefixes[k]! | (rand128(r) & ~mask6(lens[k]!) & M128)), i * 16);
  }
  h.put(buf, A);
  let t0 = process.hrtime.bigint();
  const s1 = f.l6BenchLookup(A, B) >>> 0;
  const single = ns(t0);
  t0 = process.hrtime.bigint();
  const s2 = f.l6BenchBatch(A, HOPS, B, 32) >>> 0;
  const batch = ns(t0);
  t.equal(s1, s2, 'batch lookups equal single ones');
  t.comment(`IPv6 LPM: lookup ${(single / B).toFixed(1)} ns, lookupBatch (32) ${(batch / B).toFixed(1)} ns ` +
    `(${B} addresses inside random routes)`);
});
