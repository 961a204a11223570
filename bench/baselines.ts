// The NFs' logic in plain TypeScript over pool bytes: the baselines of
// bench/nf-path.ts. Each takes the packet at off (len bytes) and returns
// false to drop it; it may change the packet as its NF does. ttl's and the
// stateless firewall's are written for speed (router's and nat's too, in
// fast-router.ts and fast-nat.ts); the others are the independent references
// of the NF tests (test/support), as they are.
import { FirewallReference, type FwConfig } from '../test/support/firewall-reference.js';
import { flowHash, flowKeyBytes, maglevTable } from '../test/support/lb-reference.js';
import { firstMatch, payload, type Pattern } from '../test/support/dpi-reference.js';
import { flowKeyRef } from '../test/support/monitor-reference.js';
import { bucketOf, type Cfg as RatelimitConfig } from '../test/support/ratelimit-reference.js';

export type Baseline = (pool: Uint8Array, view: DataView, off: number, len: number) => boolean;

/** ttl's step (nf-modules/ttl): IPv4 checked and TTL - 1 with an incremental checksum; IPv6 hop limit. */
export function ttlBaseline(pool: Uint8Array, v: DataView, off: number, len: number): boolean {
  if (len < 14) return true;
  let l3 = off + 14;
  let type = v.getUint16(off + 12);
  if (type === 0x88a8 && len >= 22 && v.getUint16(off + 16) === 0x8100) {
    type = v.getUint16(off + 20);
    l3 = off + 22;
  } else if (type === 0x8100 && len >= 18) {
    type = v.getUint16(off + 16);
    l3 = off + 18;
  }
  const avail = off + len - l3;
  if (type === 0x0800) {
    if (avail < 20) return true;
    const vihl = pool[l3]!;
    const hlen = (vihl & 15) << 2;
    if (vihl >> 4 !== 4 || hlen < 20) return true;
    const total = v.getUint16(l3 + 2);
    if (total < hlen || total > avail) return true;
    let sum = 0;
    for (let i = 0; i < hlen; i += 2) sum += v.getUint16(l3 + i);
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    if (sum !== 0xffff) return true;
    const ttl = pool[l3 + 8]!;
    if (ttl <= 1) return false;
    pool[l3 + 8] = ttl - 1;
    let c = v.getUint16(l3 + 10) + 0x100;
    c = (c & 0xffff) + (c >>> 16);
    v.setUint16(l3 + 10, c);
    return true;
  }
  if (type === 0x86dd && avail >= 40 && pool[l3]! >> 4 === 6) {
    const hops = pool[l3 + 7]!;
    if (hops <= 1) return false;
    pool[l3 + 7] = hops - 1;
  }
  return true;
}

/** The rules of bench/nf-speed.ts's firewall case, as the TypeScript baseline matches them. */
interface Rule4 {
  allow: boolean;
  proto: number;
  src: number;
  srcLen: number;
  dst: number;
  dstLen: number;
  dportLo: number;
  dportHi: number;
}

export const FIREWALL_RULES: Rule4[] = [
  { allow: false, proto: 6, src: 0, srcLen: 0, dst: 0, dstLen: 0, dportLo: 0, dportHi: 79 },
  { allow: true, proto: 17, src: 0x0a000000, srcLen: 8, dst: 0, dstLen: 0, dportLo: 53, dportHi: 53 },
  { allow: true, proto: 6, src: 0x0a000000, srcLen: 8, dst: 0xc0a80000, dstLen: 16, dportLo: 80, dportHi: 443 },
  { allow: true, proto: 17, src: 0x0a000000, srcLen: 8, dst: 0xc0a80000, dstLen: 16, dportLo: 0, dportHi: 65535 },
];

/** firewall (nf-modules/firewall), stateless, IPv4 rules, over an untagged frame. */
export function firewallBaseline(pool: Uint8Array, v: DataView, off: number, len: number): boolean {
  if (len < 34 || v.getUint16(off + 12) !== 0x0800) return true;
  const l3 = off + 14;
  const hlen = (pool[l3]! & 15) << 2;
  const proto = pool[l3 + 9]!;
  const src = v.getUint32(l3 + 12);
  const dst = v.getUint32(l3 + 16);
  const hasPorts = (proto === 6 || proto === 17) && len >= 14 + hlen + 4;
  const dport = hasPorts ? v.getUint16(l3 + hlen + 2) : -1;
  for (const r of FIREWALL_RULES) {
    if (r.proto !== proto) continue;
    if (r.srcLen && (src ^ r.src) >>> (32 - r.srcLen) !== 0) continue;
    if (r.dstLen && (dst ^ r.dst) >>> (32 - r.dstLen) !== 0) continue;
    if (dport < r.dportLo || dport > r.dportHi) continue;
    return r.allow;
  }
  return false;
}

/** The firewall tests' reference, deciding each packet (stateful when the config says so). */
export function firewallReferenceBaseline(cfg: FwConfig): Baseline {
  const ref = new FirewallReference(cfg);
  return (pool, _v, off, len) => ref.decide(pool.subarray(off, off + len));
}

/** The lb tests' reference Maglev table and flow hash, with flows pinned to their first backend. */
export function lbReferenceBaseline(vip: number, port: number, proto: number, backendMacs: Uint8Array[], tableSize: number): Baseline {
  const table = maglevTable(backendMacs.map((_, i) => 'abcdefghij'[i]!), tableSize);
  const pinned = new Map<string, number>();
  return (pool, v, off, len) => {
    if (len < 38 || v.getUint16(off + 12) !== 0x0800 || pool[off + 23] !== proto) return true;
    const l4 = off + 14 + ((pool[off + 14]! & 15) << 2);
    if (v.getUint32(off + 30) !== vip || v.getUint16(l4 + 2) !== port) return true;
    const key = flowKeyBytes(pool.subarray(off, off + len));
    const id = Buffer.from(key).toString('latin1');
    let b = pinned.get(id);
    if (b === undefined) {
      b = table[flowHash(key) % tableSize]!;
      pinned.set(id, b);
    }
    pool.set(backendMacs[b]!, off);
    return true;
  };
}

/** The dpi tests' reference: a naive search of the payload for every signature. */
export function dpiReferenceBaseline(patterns: { text?: string; hex?: string; action: string }[]): Baseline {
  const ps: Pattern[] = patterns.map((p) => ({ bytes: p.text !== undefined ? new TextEncoder().encode(p.text) : Buffer.from(p.hex!, 'hex'), drop: p.action === 'drop' }));
  return (pool, _v, off, len) => {
    const text = payload(pool.subarray(off, off + len));
    const id = text === undefined ? -1 : firstMatch(ps, text);
    return id < 0 || !ps[id]!.drop;
  };
}

/** The ratelimit tests' buckets, with tokens refilled from the clock at the configured rate. */
export function ratelimitReferenceBaseline(cfg: RatelimitConfig): Baseline {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (pool, _v, off, len) => {
    const key = bucketOf(cfg, pool.subarray(off, off + len));
    if (key === undefined) return true;
    const now = performance.now() / 1000;
    const b = buckets.get(key) ?? { tokens: cfg.burst, at: now };
    b.tokens = Math.min(cfg.burst, b.tokens + (now - b.at) * cfg.rate);
    b.at = now;
    buckets.set(key, b);
    const cost = cfg.unit === 'bytes' ? len : 1;
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  };
}

/** The monitor tests' per-flow totals (packets and bytes by canonical flow key). */
export function monitorReferenceBaseline(): Baseline {
  const flows = new Map<string, { packets: number; bytes: number }>();
  return (pool, _v, off, len) => {
    const k = flowKeyRef(pool.subarray(off, off + len));
    if (k === null) return true;
    const f = flows.get(k.key) ?? { packets: 0, bytes: 0 };
    f.packets++;
    f.bytes += len;
    flows.set(k.key, f);
    return true;
  };
}
