// An independent reference of nf-modules/router, over parse-reference's view
// of a frame: longest prefix by linear scan over the routes, TTL/hop limit
// step with the IPv4 header checksum recomputed from scratch, MAC rewrite,
// and the output port.
import { checksum } from './packets.js';
import { parseRef } from './parse-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

export interface Hop { port: number; mac: string; src_mac?: string }
export interface Route { prefix: string; via: number }
export interface RouterConfig { next_hops: Hop[]; routes: Route[]; non_ip?: 'drop' | 'pass' }

function bits(addr: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(addr).toString('hex'));
}

function prefixOf(text: string): { v6: boolean; value: bigint; len: number } {
  const [a, l] = text.split('/');
  const v6 = a!.includes(':');
  let value: bigint;
  if (v6) {
    const [head, tail] = a!.split('::');
    const h = head ? head.split(':') : [];
    const tl = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
    value = groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n);
  } else {
    value = a!.split('.').reduce((v, o) => (v << 8n) | BigInt(Number(o)), 0n);
  }
  return { v6, value, len: Number(l) };
}

const macBytes = (m: string): Buffer => Buffer.from(m.replace(/:/g, ''), 'hex');

/** What the router does with a frame: undefined = dropped, else its port and bytes out (hex). */
export function route(cfg: RouterConfig, f: Uint8Array): { port: number; data: string } | undefined {
  const r = parseRef(f);
  if (r.ipVersion === 0) {
    const ip = r.etherType === 0x0800 || r.etherType === 0x86dd;
    return !ip && cfg.non_ip === 'pass' ? { port: 1, data: hex(f) } : undefined; // NEXT: the chain's output, port 1
  }
  if (r.ipTruncated) return undefined;
  const v6 = r.ipVersion === 6;
  if (!v6 && r.ipv4ChecksumOk !== 1) return undefined;
  const ttlAt = r.l3 + (v6 ? 7 : 8);
  if (f[ttlAt]! <= 1) return undefined;
  const width = v6 ? 128 : 32;
  const dst = bits(f.subarray(r.l3 + (v6 ? 24 : 16), r.l3 + (v6 ? 40 : 20)));
  let best: Route | undefined;
  let bestLen = -1;
  for (const rt of cfg.routes) {
    const p = prefixOf(rt.prefix);
    if (p.v6 !== v6) continue;
    const shift = BigInt(width - p.len);
    if (dst >> shift === p.value >> shift && p.len >= bestLen) [best, bestLen] = [rt, p.len];
  }
  if (best === undefined) return undefined;
  const out = Uint8Array.from(f);
  out[ttlAt] = f[ttlAt]! - 1;
  if (!v6) {
    out[r.l3 + 10] = 0;
    out[r.l3 + 11] = 0;
    const c = checksum(out.subarray(r.l3, r.l3 + r.ipHeaderLen));
    out[r.l3 + 10] = c >> 8;
    out[r.l3 + 11] = c & 0xff;
  }
  const hop = cfg.next_hops[best.via]!;
  out.set(macBytes(hop.mac), 0);
  if (hop.src_mac) out.set(macBytes(hop.src_mac), 6);
  return { port: hop.port, data: hex(out) };
}

