// A reference of nf-modules/lb's choice of backend: the canonical flow key of
// nf-modules/sdk/flow.ts, its hash (64-bit arithmetic in BigInt), and a
// Maglev table filled as the paper describes.
import { parseRef } from './parse-reference.js';

const M64 = (1n << 64n) - 1n;

/** The 40-byte canonical flow key of an IP frame (see nf-modules/sdk/flow.ts). */
export function flowKeyBytes(f: Uint8Array): Uint8Array {
  const r = parseRef(f);
  const n = r.ipVersion === 4 ? 4 : 16;
  const at = r.l3 + (r.ipVersion === 4 ? 12 : 8);
  const src = f.subarray(at, at + n);
  const dst = f.subarray(at + n, at + 2 * n);
  const ported = r.l4 !== 0 && (r.l4Proto === 6 || r.l4Proto === 17);
  const sp = ported ? r.srcPort : 0;
  const dp = ported ? r.dstPort : 0;
  const order = Buffer.compare(src, dst) || sp - dp;
  const [lo, hi, lp, hp] = order > 0 ? [dst, src, dp, sp] : [src, dst, sp, dp];
  const key = new Uint8Array(40);
  const v = new DataView(key.buffer);
  key.set(lo, 0);
  key.set(hi, 16);
  v.setUint16(32, lp, true); // the NF stores ports as numbers, in memory order
  v.setUint16(34, hp, true);
  key[36] = r.l4Proto;
  key[37] = r.ipVersion;
  return key;
}

export function flowHash(key: Uint8Array): number {
  const v = new DataView(key.buffer, key.byteOffset, 40);
  let h = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 40; i += 8) {
    h ^= v.getBigUint64(i, true);
    h = (h * 0xbf58476d1ce4e5b9n) & M64;
    h ^= h >> 31n;
  }
  h = (h * 0x94d049bb133111ebn) & M64;
  return Number((h ^ (h >> 32n)) & 0xffffffffn);
}

function fnv(s: string, seed: number): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/** Maglev's lookup table: entry -> index in names. */
export function maglevTable(names: string[], m: number): number[] {
  const table = new Array<number>(m).fill(-1);
  const offset = names.map((n) => fnv(n, 0x5bd1e995) % m);
  const skip = names.map((n) => (fnv(n, 0x1b873593) % (m - 1)) + 1);
  const next = names.map(() => 0);
  let filled = 0;
  while (filled < m) {
    for (let i = 0; i < names.length && filled < m; i++) {
      let c = (offset[i]! + next[i]! * skip[i]!) % m;
      while (table[c] !== -1) c = (offset[i]! + ++next[i]! * skip[i]!) % m;
      table[c] = i;
      next[i]!++;
      filled++;
    }
  }
  return table;
}
