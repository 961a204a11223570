// Parsing a packet's headers, bounds-checked, into a reusable Parsed record:
// one per NF, filled per packet, no allocation. Every offset it gives lies
// inside the packet, and every header it reports is whole: an NF that reads
// only what parse() reported never reads past the packet's length.
//
//   const p = new Parsed();                    // once, at start-up
//   for (let i = 0; i < n; i++) {
//     parse(packetAddr(i), packetLen(i), p);
//     if (p.ipVersion == 4 && p.l4Proto == IPPROTO_TCP && p.l4 != 0) { ... p.dstPort ... }
//   }
import { loadBe16 } from './bytes';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN } from './ether';

export const ETHERTYPE_ARP: u32 = 0x0806;
export const IPPROTO_ICMP: u8 = 1;
export const IPPROTO_TCP: u8 = 6;
export const IPPROTO_UDP: u8 = 17;
export const IPPROTO_ICMPV6: u8 = 58;

// IPv6 extension headers walked over (RFC 8200 4.1); ESP (50) ends the walk.
const EXT_HOP_BY_HOP: u8 = 0;
const EXT_ROUTING: u8 = 43;
const EXT_FRAGMENT: u8 = 44;
const EXT_AH: u8 = 51;
const EXT_DEST_OPTS: u8 = 60;
const MAX_EXT_HEADERS = 8;

export const TCP_FIN: u8 = 0x01;
export const TCP_SYN: u8 = 0x02;
export const TCP_RST: u8 = 0x04;
export const TCP_ACK: u8 = 0x10;

@final export class Parsed {
  /** The packet: address in this module's memory, and length. */
  addr: usize = 0;
  len: u32 = 0;
  /** 802.1Q tags before the L3 header (0, 1 or 2), and their VLAN ids. */
  vlans: u8 = 0;
  outerVlan: u16 = 0;
  innerVlan: u16 = 0;
  /** Ethertype after the tags; 0 when the frame is too short for one. */
  etherType: u32 = 0;
  /** Offset of the L3 header (also for ARP and unknown ethertypes). */
  l3: u32 = 0;
  /** 4 or 6 when the IP header is whole and sane (version, IHL, lengths), else 0. */
  ipVersion: u8 = 0;
  /** IPv4 header length, or IPv6 fixed header plus extension headers. */
  ipHeaderLen: u32 = 0;
  /** Bytes of the IP packet that are in the frame (total length, capped by the frame). */
  ipLen: u32 = 0;
  /** The frame holds fewer bytes than the IP header says. */
  ipTruncated: bool = false;
  /** A fragment (IPv4 MF/offset, or an IPv6 fragment header); firstFragment if offset 0. */
  fragment: bool = false;
  firstFragment: bool = false;
  /** Upper-layer protocol (after IPv6 extension headers); 0 when not IP. */
  l4Proto: u8 = 0;
  /** Offset of the L4 header when it is whole (TCP with its options, UDP, ICMP's first 4 bytes); else 0. */
  l4: u32 = 0;
  /** Bytes from l4 to the end of the IP packet. */
  l4Len: u32 = 0;
  srcPort: u16 = 0;
  dstPort: u16 = 0;
  tcpFlags: u8 = 0;
  icmpType: u8 = 0;
  icmpCode: u8 = 0;

  /** Address of the source / destination IP address (4 or 16 bytes); 0 when not IP. */
  @inline srcAddr(): usize {
    return this.ipVersion == 4 ? this.addr + this.l3 + 12 : this.ipVersion == 6 ? this.addr + this.l3 + 8 : 0;
  }
  @inline dstAddr(): usize {
    return this.ipVersion == 4 ? this.addr + this.l3 + 16 : this.ipVersion == 6 ? this.addr + this.l3 + 24 : 0;
  }
  /** IPv4 addresses as numbers (host order); 0 when not IPv4. */
  @inline src4(): u32 {
    return this.ipVersion == 4 ? bswap<u32>(load<u32>(this.addr + this.l3, 12)) : 0;
  }
  @inline dst4(): u32 {
    return this.ipVersion == 4 ? bswap<u32>(load<u32>(this.addr + this.l3, 16)) : 0;
  }

  @inline reset(addr: usize, len: u32): void {
    this.addr = addr;
    this.len = len;
    this.vlans = 0;
    this.outerVlan = 0;
    this.innerVlan = 0;
    this.etherType = 0;
    this.l3 = 0;
    this.ipVersion = 0;
    this.ipHeaderLen = 0;
    this.ipLen = 0;
    this.ipTruncated = false;
    this.fragment = false;
    this.firstFragment = false;
    this.l4Proto = 0;
    this.l4 = 0;
    this.l4Len = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
  }
}

function parseL2(p: Parsed): void {
  const len = p.len;
  if (len < 14) return;
  let off: u32 = 12;
  let type = loadBe16(p.addr + off);
  while ((type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) && p.vlans < 2) {
    if (len < off + 6) return;
    const vid = <u16>(loadBe16(p.addr + off + 2) & 0xfff);
    if (p.vlans == 0) p.outerVlan = vid;
    else p.innerVlan = vid;
    p.vlans++;
    off += 4;
    type = loadBe16(p.addr + off);
  }
  p.etherType = type;
  p.l3 = off + 2;
}

function parseIpv4(p: Parsed): void {
  const ip = p.addr + p.l3;
  const avail = p.len - p.l3;
  if (avail < 20) return;
  const vihl = load<u8>(ip);
  const hlen = <u32>(vihl & 15) << 2;
  const total = loadBe16(ip + 2);
  if (vihl >> 4 != 4 || hlen < 20 || hlen > avail || total < hlen) return;
  p.ipVersion = 4;
  p.ipHeaderLen = hlen;
  p.ipTruncated = total > avail;
  p.ipLen = min(total, avail);
  const frag = loadBe16(ip + 6);
  p.fragment = (frag & 0x3fff) != 0;
  p.firstFragment = (frag & 0x1fff) == 0;
  p.l4Proto = load<u8>(ip, 9);
  if (p.firstFragment) parseL4(p, p.l3 + hlen);
}

function parseIpv6(p: Parsed): void {
  const ip = p.addr + p.l3;
  const avail = p.len - p.l3;
  if (avail < 40 || load<u8>(ip) >> 4 != 6) return;
  p.ipVersion = 6;
  const total: u32 = 40 + loadBe16(ip + 4);
  p.ipTruncated = total > avail;
  p.ipLen = min(total, avail);
  p.firstFragment = true;
  let next = load<u8>(ip, 6);
  let off: u32 = 40;
  for (let i = 0; i < MAX_EXT_HEADERS; i++) {
    let extLen: u32 = 0;
    if (next == EXT_HOP_BY_HOP || next == EXT_ROUTING || next == EXT_DEST_OPTS) {
      if (off + 8 > p.ipLen) break;
      extLen = (<u32>load<u8>(ip + off, 1) + 1) << 3;
    } else if (next == EXT_FRAGMENT) {
      if (off + 8 > p.ipLen) break;
      extLen = 8;
      p.fragment = true;
      p.firstFragment = (loadBe16(ip + off + 2) & 0xfff8) == 0;
    } else if (next == EXT_AH) {
      if (off + 8 > p.ipLen) break;
      extLen = (<u32>load<u8>(ip + off, 1) + 2) << 2;
    } else {
      break;
    }
    if (off + extLen > p.ipLen) break;
    next = load<u8>(ip + off);
    off += extLen;
  }
  p.ipHeaderLen = off;
  p.l4Proto = next;
  if (p.firstFragment && off <= p.ipLen) parseL4(p, p.l3 + off);
}

/** The common case in one pass, with each field written once: an untagged
 *  IPv4 packet without options, not a fragment, carrying TCP or UDP whose
 *  header is whole. Gives exactly what the general path gives for it; false
 *  (nothing written) for any other packet. */
@inline function parseCommon(addr: usize, len: u32, p: Parsed): bool {
  if (len < 42 || load<u16>(addr, 12) != 0x0008 || load<u8>(addr, 14) != 0x45) return false;
  const total = loadBe16(addr + 16);
  const proto = load<u8>(addr, 23);
  // Flags and offset (network order in a little-endian load): MF or any offset is a fragment.
  if (total < 28 || (load<u16>(addr, 20) & 0xff3f) != 0 || (proto != IPPROTO_TCP && proto != IPPROTO_UDP)) return false;
  const ipLen = min(total, len - 14);
  const l4Len = ipLen - 20;
  let flags: u8 = 0;
  if (proto == IPPROTO_TCP) {
    if (l4Len < 20) return false;
    const doff = <u32>(load<u8>(addr, 46) >> 4) << 2;
    if (doff < 20 || doff > l4Len) return false;
    flags = load<u8>(addr, 47);
  }
  p.addr = addr;
  p.len = len;
  p.vlans = 0;
  p.outerVlan = 0;
  p.innerVlan = 0;
  p.etherType = ETHERTYPE_IPV4;
  p.l3 = 14;
  p.ipVersion = 4;
  p.ipHeaderLen = 20;
  p.ipLen = ipLen;
  p.ipTruncated = total > len - 14;
  p.fragment = false;
  p.firstFragment = true;
  p.l4Proto = proto;
  p.l4 = 34;
  p.l4Len = l4Len;
  p.srcPort = <u16>loadBe16(addr + 34);
  p.dstPort = <u16>loadBe16(addr + 36);
  p.tcpFlags = flags;
  p.icmpType = 0;
  p.icmpCode = 0;
  return true;
}

function parseL4(p: Parsed, l4: u32): void {
  const end = p.l3 + p.ipLen;
  if (l4 > end) return;
  const avail = end - l4;
  const h = p.addr + l4;
  const proto = p.l4Proto;
  if (proto == IPPROTO_TCP) {
    if (avail < 20) return;
    const doff = <u32>(load<u8>(h, 12) >> 4) << 2;
    if (doff < 20 || doff > avail) return;
    p.srcPort = <u16>loadBe16(h);
    p.dstPort = <u16>loadBe16(h + 2);
    p.tcpFlags = load<u8>(h, 13);
  } else if (proto == IPPROTO_UDP) {
    if (avail < 8) return;
    p.srcPort = <u16>loadBe16(h);
    p.dstPort = <u16>loadBe16(h + 2);
  } else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
    if (avail < 4) return;
    p.icmpType = load<u8>(h);
    p.icmpCode = load<u8>(h, 1);
  } else {
    return;
  }
  p.l4 = l4;
  p.l4Len = avail;
}

/** Parses the packet at addr (len bytes) into p; returns p.ipVersion != 0. */
export function parse(addr: usize, len: u32, p: Parsed): bool {
  if (parseCommon(addr, len, p)) return true;
  p.reset(addr, len);
  parseL2(p);
  if (p.etherType == ETHERTYPE_IPV4) parseIpv4(p);
  else if (p.etherType == ETHERTYPE_IPV6) parseIpv6(p);
  return p.ipVersion != 0;
}

/** Reads a byte of the packet, or -1 past its end. */
@inline export function byteAt(p: Parsed, off: u32): i32 {
  return off < p.len ? <i32>load<u8>(p.addr + off) : -1;
}

/** Reads a big-endian u16 of the packet, or -1 past its end. */
@inline export function be16At(p: Parsed, off: u32): i32 {
  return off + 2 <= p.len ? <i32>loadBe16(p.addr + off) : -1;
}
