// Aho-Corasick against a naive search; Bloom filter and count-min sketch
// against exact sets and counts (their error bounds, not exact answers).
import t from 'tap';
import { harness } from './support/harness.js';

// mulberry32: well-mixed bits (the structures under test expect hashes).
let seed = 99;
function rand(n: number): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) % n;
}
const bytes = (n: number, alphabet: number): Uint8Array => Uint8Array.from({ length: n }, () => 97 + rand(alphabet));

/** Naive: the first end position with a match; there, the longest pattern; among equal ones, the first added. */
function naive(patterns: Uint8Array[], text: Uint8Array): number {
  for (let end = 1; end <= text.length; end++) {
    let best = -1;
    patterns.forEach((p, id) => {
      if (p.length > end) return;
      for (let i = 0; i < p.length; i++) if (text[end - p.length + i] !== p[i]) return;
      if (best < 0 || p.length > patterns[best]!.length) best = id;
    });
    if (best >= 0) return best;
  }
  return -1;
}

t.test('Aho-Corasick finds what a naive search finds', async (t) => {
  const h = await harness('match');
  const fn = <T extends unknown[]>(name: string) => h.exports[name] as (...args: T) => number;
  for (let round = 0; round < 20; round++) {
    const patterns = Array.from({ length: 1 + rand(30) }, () => bytes(1 + rand(6), 3 + (round % 4)));
    fn<[number]>('acNew')(1 + patterns.reduce((n, p) => n + p.length, 0));
    // Duplicates are likely here: both sides keep a pattern's first id.
    patterns.forEach((p, id) => t.ok(fn<[number, number, number]>('acAdd')(h.put(p), p.length, id), 'added'));
    fn<[]>('acBuild')();
    let wrong = 0;
    for (let k = 0; k < 50; k++) {
      const text = bytes(rand(64), 3 + (round % 4));
      const want = naive(patterns, text);
      const got = fn<[number, number]>('acScan')(h.put(text, 1 << 20), text.length);
      if (got !== want) wrong++;
    }
    t.equal(wrong, 0, `round ${round}: ${patterns.length} patterns, 50 texts`);
  }
  fn<[number]>('acNew')(3);
  const abc = Uint8Array.from([97, 98, 99]);
  t.notOk(fn<[number, number, number]>('acAdd')(h.put(abc), 3, 0), 'out of states: refused, not a trap');
});

t.test('the Bloom filter has no false negatives and few false positives', async (t) => {
  const h = await harness('match');
  (h.exports['bloomNew'] as (b: number, k: number) => void)(16, 4);
  const add = h.exports['bloomAdd'] as (lo: number, hi: number) => void;
  const has = h.exports['bloomHas'] as (lo: number, hi: number) => number;
  const items = Array.from({ length: 4000 }, () => [rand(2 ** 31), rand(2 ** 31)] as const);
  items.forEach(([lo, hi]) => add(lo, hi));
  t.equal(items.filter(([lo, hi]) => !has(lo, hi)).length, 0, 'every added item is reported');
  const fp = Array.from({ length: 10000 }, () => has(rand(2 ** 31) | 1, rand(2 ** 31))).filter(Boolean).length;
  t.ok(fp < 60, `${fp} false positives in 10000 (theory: (1 - e^(-kn/m))^k = 0.22% at 4000 items, 64 Ki bits, k=4)`);
});

t.test('the count-min sketch never under-counts and stays within its bound', async (t) => {
  const h = await harness('match');
  (h.exports['cmsNew'] as (w: number, d: number) => void)(12, 4);
  const add = h.exports['cmsAdd'] as (lo: number, hi: number, n: number) => number;
  const est = h.exports['cmsEstimate'] as (lo: number, hi: number) => number;
  const keys = Array.from({ length: 2000 }, () => [rand(2 ** 31), rand(2 ** 31)] as const);
  const exact = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < 50000; i++) {
    const k = rand(10) === 0 ? rand(5) : rand(keys.length); // a few heavy hitters
    const n = 1 + rand(3);
    add(keys[k]![0], keys[k]![1], n);
    exact.set(k, (exact.get(k) ?? 0) + n);
    total += n;
  }
  let under = 0;
  let over = 0;
  for (const [k, n] of exact) {
    const e = est(keys[k]![0], keys[k]![1]);
    if (e < n) under++;
    if (e - n > (Math.E / 4096) * total) over++;
  }
  t.equal(under, 0, 'never under');
  t.ok(over <= exact.size * 0.05, `${over} of ${exact.size} beyond e/width of the total`);
});
