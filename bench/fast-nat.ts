// nat's logic in TypeScript written for speed, the baseline of "Wasm vs TS"
// (nf-modules/nat does the same): NAPT for IPv4 TCP, UDP and ICMP echo, its
// mappings in an open-addressing table of typed arrays (linear probing,
// deletion by backward shift), a public port's mapping found by an array per
// public address and protocol, ports handed out next-fit from a cursor on the
// inside host's paired address, checksums updated (RFC 1624), a mapping ended
// by RST or after timeout_s idle (a TCP one that saw FIN both ways sooner).
// Nothing is allocated per packet. A JavaScript NF is called per packet, not
// per burst: the clock is read, and a few slots swept for expiry, every
// SWEEP_EVERY packets.
import type { NatConfig } from '../test/support/nat-reference.js';
import { ipv4Addr } from '../test/support/packets.js';
import type { Baseline } from './baselines.js';
import { FastParse, checksumUpdate16, checksumUpdate32 } from './fast-parse.js';

const TCP = 6, UDP = 17, ICMP = 1;
const RST = 0x04, FIN = 0x01;
const SWEEP_EVERY = 32;
const SWEEP_SLOTS = 64;
const CLOSING_S = 10;
const PASS = 0, TRANSLATE = 1, UNTRANSLATABLE = 2;
/** A protocol's index in the port maps. */
const protoIndex = (proto: number): number => (proto === TCP ? 0 : proto === UDP ? 1 : 2);

/** An IPv4 address as a number (host order). */
const addr4 = (text: string): number => new DataView(ipv4Addr(text).buffer).getUint32(0);

/** The flow key's hash (murmur3's finalizer over the key's words mixed). */
function hash(src: number, dst: number, ports: number, proto: number): number {
  let h = Math.imul(src, 0xcc9e2d51) ^ Math.imul(dst ^ proto, 0x1b873593) ^ Math.imul(ports, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function natBaseline(cfg: NatConfig): Baseline {
  const [inside, insideLen] = cfg.inside.split('/');
  const len = insideLen === undefined ? 32 : Number(insideLen);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const net = addr4(inside!);
  const [pubText, pubLen] = cfg.public_ip.split('/');
  const pub = addr4(pubText!);
  const pubCount = 2 ** (32 - Number(pubLen ?? 32));
  const [lo, hi] = (cfg.ports ?? '1024-65535').split('-').map(Number) as [number, number?];
  const portHi = hi ?? lo;
  const ports = portHi - lo + 1;
  const timeoutMs = (cfg.timeout_s ?? 120) * 1000;
  const closingMs = Math.min(cfg.timeout_s ?? 120, CLOSING_S) * 1000;
  const capacity = 2 ** Math.ceil(Math.log2(Math.max(cfg.flows ?? 65536, 1)));

  // The table: twice the capacity, so that it is at most half full.
  const slots = capacity * 2;
  const slotMask = slots - 1;
  const kSrc = new Uint32Array(slots);
  const kDst = new Uint32Array(slots);
  const kPorts = new Uint32Array(slots); // local port | remote port << 16
  const kProto = new Uint8Array(slots); // 0: an empty slot
  const pubIdx = new Uint16Array(slots);
  const pubPort = new Uint16Array(slots);
  const fin = new Uint8Array(slots);
  const seenMs = new Float64Array(slots);
  // Per public address and protocol: each port's slot + 1 (0: free), and where the next search starts.
  const slotOfPort = new Uint32Array(pubCount * 3 * ports);
  const cursor = new Uint32Array(pubCount * 3);
  let size = 0;
  let nowMs = performance.now();
  let calls = 0;
  let sweepAt = 0;
  const p = new FastParse();

  const portMap = (idx: number, proto: number): number => (idx * 3 + protoIndex(proto)) * ports;

  /** Empties slot s: its port is free again, and the entries after it in its run move up (backward shift). */
  const remove = (s: number): void => {
    slotOfPort[portMap(pubIdx[s]!, kProto[s]!) + pubPort[s]! - lo] = 0;
    size--;
    let hole = s;
    for (let j = (s + 1) & slotMask; kProto[j] !== 0; j = (j + 1) & slotMask) {
      const home = hash(kSrc[j]!, kDst[j]!, kPorts[j]!, kProto[j]!) & slotMask;
      // j stays when its home lies cyclically in (hole, j].
      if (hole <= j ? hole < home && home <= j : hole < home || home <= j) continue;
      kSrc[hole] = kSrc[j]!;
      kDst[hole] = kDst[j]!;
      kPorts[hole] = kPorts[j]!;
      kProto[hole] = kProto[j]!;
      pubIdx[hole] = pubIdx[j]!;
      pubPort[hole] = pubPort[j]!;
      fin[hole] = fin[j]!;
      seenMs[hole] = seenMs[j]!;
      slotOfPort[portMap(pubIdx[hole]!, kProto[hole]!) + pubPort[hole]! - lo] = hole + 1;
      hole = j;
    }
    kProto[hole] = 0;
  };

  /** A free port on the inside host's paired address, or the next address with one: its map offset + port, or -1. */
  const allocate = (proto: number, src: number): number => {
    for (let k = 0; k < pubCount; k++) {
      const idx = ((src % pubCount) + k) % pubCount;
      const map = portMap(idx, proto);
      const c = idx * 3 + protoIndex(proto);
      const start = cursor[c]!;
      for (let i = 0; i < ports; i++) {
        let at = start + i;
        if (at >= ports) at -= ports;
        if (slotOfPort[map + at] === 0) {
          cursor[c] = at + 1 === ports ? 0 : at + 1;
          return idx * 65536 + lo + at;
        }
      }
    }
    return -1;
  };

  /** Writes the address at l3 + addrAt and the port at l4 + portAt, updating the checksums. */
  const rewrite = (v: DataView, l3: number, l4: number, proto: number, addrAt: number, addr: number, portAt: number, port: number): void => {
    const oldAddr = v.getUint32(l3 + addrAt);
    const oldPort = v.getUint16(l4 + portAt);
    v.setUint32(l3 + addrAt, addr);
    v.setUint16(l3 + 10, checksumUpdate32(v.getUint16(l3 + 10), oldAddr, addr));
    v.setUint16(l4 + portAt, port);
    const field = l4 + (proto === TCP ? 16 : proto === UDP ? 6 : 2);
    let c = v.getUint16(field);
    if (proto === UDP && c === 0) return; // no checksum: stays none
    if (proto !== ICMP) c = checksumUpdate32(c, oldAddr, addr); // the pseudo-header's address
    c = checksumUpdate16(c, oldPort, port);
    v.setUint16(field, proto === UDP && c === 0 ? 0xffff : c);
  };

  /** RST ends the mapping; FIN both ways leaves it closingMs to live. */
  const tcpState = (pool: Uint8Array, l4: number, s: number, dirBit: number): void => {
    const flags = pool[l4 + 13]!;
    if (flags & RST) {
      remove(s);
      return;
    }
    if (flags & FIN) fin[s]! |= dirBit;
    if (fin[s] === 3) seenMs[s] = nowMs - (timeoutMs - closingMs);
  };

  const sweep = (): void => {
    for (let i = 0; i < SWEEP_SLOTS; i++) {
      const s = sweepAt;
      if (kProto[s] !== 0 && nowMs - seenMs[s]! >= timeoutMs) {
        remove(s); // an entry may have moved into s: look at it again
        continue;
      }
      sweepAt = (s + 1) & slotMask;
    }
  };

  /** What NAT does with the parsed packet going out (echoType 8, a request) or in (0, a reply):
   *  TCP and UDP need their whole header (else dropped, untranslatable); ICMP is translated when
   *  it is an echo of echoType, else passed. */
  const classify = (pool: Uint8Array, l4: number, echoType: number): number => {
    const proto = p.l4Proto;
    if (proto === TCP || proto === UDP) return p.l4 === 0 ? UNTRANSLATABLE : TRANSLATE;
    return proto === ICMP && p.l4 !== 0 && p.l4Len >= 8 && pool[l4] === echoType ? TRANSLATE : PASS;
  };

  const outbound = (pool: Uint8Array, v: DataView, off: number, src: number, dst: number): boolean => {
    const proto = p.l4Proto;
    const ported = proto === TCP || proto === UDP;
    const l4 = off + p.l4;
    const local = ported ? v.getUint16(l4) : v.getUint16(l4 + 4);
    const remote = ported ? v.getUint16(l4 + 2) : 0;
    const keyPorts = (local | (remote << 16)) >>> 0;
    let s = hash(src, dst, keyPorts, proto) & slotMask;
    while (kProto[s] !== 0 && !(kSrc[s] === src && kDst[s] === dst && kPorts[s] === keyPorts && kProto[s] === proto)) s = (s + 1) & slotMask;
    if (kProto[s] === 0) {
      if (size >= capacity) return false; // table full
      const got = allocate(proto, src);
      if (got < 0) return false; // ports exhausted
      kSrc[s] = src;
      kDst[s] = dst;
      kPorts[s] = keyPorts;
      kProto[s] = proto;
      pubIdx[s] = got >>> 16;
      pubPort[s] = got & 0xffff;
      fin[s] = 0;
      slotOfPort[portMap(got >>> 16, proto) + (got & 0xffff) - lo] = s + 1;
      size++;
    }
    seenMs[s] = nowMs;
    rewrite(v, off + p.l3, l4, proto, 12, pub + pubIdx[s]!, ported ? 0 : 4, pubPort[s]!);
    if (proto === TCP) tcpState(pool, l4, s, 1);
    return true;
  };

  const inbound = (pool: Uint8Array, v: DataView, off: number, idx: number, src: number): boolean => {
    const proto = p.l4Proto;
    const ported = proto === TCP || proto === UDP;
    const l4 = off + p.l4;
    const port = ported ? v.getUint16(l4 + 2) : v.getUint16(l4 + 4);
    const remote = ported ? v.getUint16(l4) : 0;
    if (port < lo || port > portHi) return false; // no mapping
    const held = slotOfPort[portMap(idx, proto) + port - lo]!;
    if (held === 0) return false;
    const s = held - 1;
    if (kDst[s] !== src || kPorts[s]! >>> 16 !== remote) return false;
    seenMs[s] = nowMs;
    rewrite(v, off + p.l3, l4, proto, 16, kSrc[s]!, ported ? 2 : 4, kPorts[s]! & 0xffff);
    if (proto === TCP) tcpState(pool, l4, s, 2);
    return true;
  };

  return (pool, v, off, len) => {
    if (++calls === SWEEP_EVERY) {
      calls = 0;
      nowMs = performance.now();
      sweep();
    }
    p.parse(pool, v, off, len);
    if (p.ipVersion !== 4) return true;
    const l3 = off + p.l3;
    const src = v.getUint32(l3 + 12);
    const dst = v.getUint32(l3 + 16);
    const out = ((src & mask) >>> 0) === net;
    const idx = dst - pub;
    if (out ? ((dst & mask) >>> 0) === net : idx < 0 || idx >= pubCount) return true;
    const found = classify(pool, off + p.l4, out ? 8 : 0);
    if (found !== TRANSLATE) return found === PASS;
    return out ? outbound(pool, v, off, src, dst) : inbound(pool, v, off, idx, src);
  };
}
