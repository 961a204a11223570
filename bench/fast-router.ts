// router's logic in TypeScript written for speed, the baseline of "Wasm vs TS"
// (nf-modules/router does the same): IPv4 longest prefix by a DIR-24-8 table
// built once from the config (a 2^24-entry first level, 256-entry groups for
// the /24s that hold longer routes), IPv6 by a scan of its routes longest
// first; TTL or hop limit one less, the IPv4 checksum updated (RFC 1624), the
// next hop's MACs written. Nothing is allocated per packet. A JavaScript NF
// has no output port to choose: the packet goes on, as with `egress: next`.
import { ipv4Addr, ipv6Addr, macAddr } from '../test/support/packets.js';
import type { RouterConfig } from '../test/support/router-reference.js';
import type { Baseline } from './baselines.js';
import { FastParse, checksumUpdate16, ipv4ChecksumOk } from './fast-parse.js';

/** A first-level entry that points at a group: the flag, and the group's index below it. */
const GROUP = 0x80000000;

/** A prefix's address as 32-bit words, most significant first (IPv4: one, IPv6: four). */
const words = (bytes: Uint8Array): Uint32Array => {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => v.getUint32(i * 4));
};

/** The first-level table and its groups, from the IPv4 routes. Entries: hop + 1 (0: none), or GROUP | group. */
function dir24(routes: { addr: number; len: number; hop: number }[]): { tbl24: Uint32Array; groups: Uint32Array } {
  // Shortest first, so that a longer route overwrites what a shorter one wrote (the last of equal ones wins).
  const sorted = [...routes].sort((a, b) => a.len - b.len);
  const tbl24 = new Uint32Array(1 << 24);
  const long = new Set(sorted.filter((r) => r.len > 24).map((r) => r.addr >>> 8));
  const groups = new Uint32Array(long.size * 256);
  let used = 0;
  for (const { addr, len, hop } of sorted) {
    if (len <= 24) {
      const start = addr >>> 8;
      tbl24.fill(hop + 1, start, start + 2 ** (24 - len));
      continue;
    }
    const at = addr >>> 8;
    if ((tbl24[at]! & GROUP) === 0) {
      groups.fill(tbl24[at]!, used * 256, used * 256 + 256);
      tbl24[at] = GROUP | used++;
    }
    const base = (tbl24[at]! & ~GROUP) * 256 + (addr & 0xff);
    groups.fill(hop + 1, base, base + 2 ** (32 - len));
  }
  return { tbl24, groups };
}

export function routerBaseline(cfg: RouterConfig): Baseline {
  const v4: { addr: number; len: number; hop: number }[] = [];
  const v6: { w: Uint32Array; mask: Uint32Array; len: number; hop: number }[] = [];
  for (const r of cfg.routes) {
    const [a, l] = r.prefix.split('/');
    const len = Number(l);
    if (a!.includes(':')) {
      const mask = new Uint32Array(4).map((_, i) => (len >= 32 * (i + 1) ? 0xffffffff : len <= 32 * i ? 0 : (0xffffffff << (32 * (i + 1) - len)) >>> 0));
      const w = words(ipv6Addr(a!)).map((x, i) => x & mask[i]!);
      v6.push({ w, mask, len, hop: r.via });
    } else {
      const addr = words(ipv4Addr(a!))[0]!;
      v4.push({ addr: len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0, len, hop: r.via });
    }
  }
  // Longest first; of equal ones the last listed, as in the IPv4 table.
  v6.reverse().sort((a, b) => b.len - a.len);
  const { tbl24, groups } = dir24(v4);
  // Each next hop's destination MAC, then its source MAC (when hasSrc), 12 bytes a hop.
  const macs = new Uint8Array(cfg.next_hops.length * 12);
  const hasSrc = cfg.next_hops.map((h) => h.src_mac !== undefined);
  cfg.next_hops.forEach((h, i) => {
    macs.set(macAddr(h.mac), i * 12);
    if (h.src_mac !== undefined) macs.set(macAddr(h.src_mac), i * 12 + 6);
  });
  const passNonIp = cfg.non_ip === 'pass';
  const p = new FastParse();

  const lookup6 = (v: DataView, at: number): number => {
    const a0 = v.getUint32(at), a1 = v.getUint32(at + 4), a2 = v.getUint32(at + 8), a3 = v.getUint32(at + 12);
    for (let i = 0; i < v6.length; i++) {
      const { w, mask } = v6[i]!;
      if (((a0 & mask[0]!) >>> 0) === w[0] && ((a1 & mask[1]!) >>> 0) === w[1] && ((a2 & mask[2]!) >>> 0) === w[2] && ((a3 & mask[3]!) >>> 0) === w[3]) return v6[i]!.hop;
    }
    return -1;
  };

  return (pool, v, off, len) => {
    p.parse(pool, v, off, len);
    if (p.ipVersion === 0) return passNonIp && p.etherType !== 0x0800 && p.etherType !== 0x86dd;
    if (p.ipTruncated) return false;
    const l3 = off + p.l3;
    let hop: number;
    if (p.ipVersion === 4) {
      if (!ipv4ChecksumOk(v, l3, p.ipHeaderLen) || pool[l3 + 8]! <= 1) return false;
      const dst = v.getUint32(l3 + 16);
      let e = tbl24[dst >>> 8]!;
      if (e & GROUP) e = groups[(e & ~GROUP) * 256 + (dst & 0xff)]!;
      if (e === 0) return false;
      hop = e - 1;
      // TTL is the high byte of the header's fifth word.
      const word = v.getUint16(l3 + 8);
      v.setUint16(l3 + 8, word - 0x100);
      v.setUint16(l3 + 10, checksumUpdate16(v.getUint16(l3 + 10), word, word - 0x100));
    } else {
      if (pool[l3 + 7]! <= 1) return false;
      hop = lookup6(v, l3 + 24);
      if (hop < 0) return false;
      pool[l3 + 7]!--;
    }
    // Byte by byte: TypedArray.prototype.set is a call that costs more than six stores.
    const n = hasSrc[hop] ? 12 : 6;
    for (let i = 0, m = hop * 12; i < n; i++) pool[off + i] = macs[m + i]!;
    return true;
  };
}
