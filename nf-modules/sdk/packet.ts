// A packet's parsed headers: an offset for each layer and what it holds,
// bounds-checked. Every offset Parsed gives lies inside the packet, and every
// header it reports is whole: an NF that reads only what it reported never
// reads past the packet's length.
//
// In netvm_process, the chain has parsed each packet already, once for the
// whole chain (ABI v2): Parsed.at(i) points at that result, which costs a few
// stores. parse() parses any bytes itself (an inner packet, a test), with the
// same rules and the same result; native-dpdk/parse.c is the chain's parser.
//
//   const p = new Parsed();                    // once, at start-up
//   for (let i = 0; i < n; i++) {
//     p.at(i);
//     if (p.ipVersion == 4 && p.l4Proto == IPPROTO_TCP && p.l4 != 0) { ... p.dstPort ... }
//   }
import { loadBe16 } from './bytes';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN } from './ether';
import { packetAddr, packetLen, packetMeta } from './abi';
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

// The meta: 16 bytes, the layout of struct nv_meta (native-dpdk/netvm_dp.h),
// exported for an NF that reads several fields of one packet in a hot loop
// (V8 reloads a Parsed getter's object field on every use; p.meta read once
// into a local, and these offsets, load each field once).
export const META_L3 = 0;          // u16 the L3 header (also ARP, unknown ethertypes); 0: no ethertype
export const META_L4 = 2;          // u16 the whole L4 header; 0: none
export const META_ETHER_TYPE = 4;  // u16 after up to two VLAN tags
export const META_IP_VERSION = 6;  // u8 4 or 6 when the IP header is whole and sane
export const META_L4_PROTO = 7;    // u8 after IPv6 extension headers
export const META_IP_LEN = 8;      // u16 bytes of the IP packet in the frame
export const META_IP_HLEN = 10;    // u16 IPv4 header, or IPv6 fixed plus extension headers
export const META_VLANS = 12;      // u8 tags before the L3 header
export const META_FLAGS = 13;      // u8 META_F_*
export const META_BYTES: usize = 16;
export const META_F_TRUNCATED: u8 = 1;
export const META_F_FRAGMENT: u8 = 2;
export const META_F_FIRST_FRAGMENT: u8 = 4;

/** Bytes of the L4 header and payload in the frame, from the parse at meta; 0 without a whole L4 header. */
@inline export function l4LenOf(meta: usize): u32 {
  const l4 = <u32>load<u16>(meta, META_L4);
  return l4 != 0 ? <u32>load<u16>(meta, META_L3) + <u32>load<u16>(meta, META_IP_LEN) - l4 : 0;
}

@final export class Parsed {
  /** The packet: address in this module's memory, and length. */
  addr: usize = 0;
  len: u32 = 0;
  /** The meta describing it: a record's (at), or this object's own (parse). */
  meta: usize = 0;
  private readonly own: usize = heap.alloc(META_BYTES);

  /** Packet i of the current burst, as the chain parsed it; returns ipVersion != 0. */
  @inline at(i: i32): bool {
    this.addr = packetAddr(i);
    this.len = packetLen(i);
    this.meta = packetMeta(i);
    return load<u8>(this.meta, META_IP_VERSION) != 0;
  }

  /** 802.1Q tags before the L3 header (0, 1 or 2), and their VLAN ids. */
  @inline get vlans(): u8 { return load<u8>(this.meta, META_VLANS); }
  @inline get outerVlan(): u16 { return this.vlans >= 1 ? <u16>(loadBe16(this.addr + 14) & 0xfff) : 0; }
  @inline get innerVlan(): u16 { return this.vlans == 2 ? <u16>(loadBe16(this.addr + 18) & 0xfff) : 0; }
  /** Ethertype after the tags; 0 when the frame is too short for one. */
  @inline get etherType(): u32 { return load<u16>(this.meta, META_ETHER_TYPE); }
  /** Offset of the L3 header (also for ARP and unknown ethertypes). */
  @inline get l3(): u32 { return load<u16>(this.meta, META_L3); }
  /** 4 or 6 when the IP header is whole and sane (version, IHL, lengths), else 0. */
  @inline get ipVersion(): u8 { return load<u8>(this.meta, META_IP_VERSION); }
  /** IPv4 header length, or IPv6 fixed header plus extension headers. */
  @inline get ipHeaderLen(): u32 { return load<u16>(this.meta, META_IP_HLEN); }
  /** Bytes of the IP packet that are in the frame (total length, capped by the frame). */
  @inline get ipLen(): u32 { return load<u16>(this.meta, META_IP_LEN); }
  /** The frame holds fewer bytes than the IP header says. */
  @inline get ipTruncated(): bool { return (load<u8>(this.meta, META_FLAGS) & META_F_TRUNCATED) != 0; }
  /** A fragment (IPv4 MF/offset, or an IPv6 fragment header); firstFragment if offset 0. */
  @inline get fragment(): bool { return (load<u8>(this.meta, META_FLAGS) & META_F_FRAGMENT) != 0; }
  @inline get firstFragment(): bool { return (load<u8>(this.meta, META_FLAGS) & META_F_FIRST_FRAGMENT) != 0; }
  /** Upper-layer protocol (after IPv6 extension headers); 0 when not IP. */
  @inline get l4Proto(): u8 { return load<u8>(this.meta, META_L4_PROTO); }
  /** Offset of the L4 header when it is whole (TCP with its options, UDP, ICMP's first 4 bytes); else 0. */
  @inline get l4(): u32 { return load<u16>(this.meta, META_L4); }
  /** Bytes from l4 to the end of the IP packet (0 without a whole L4 header). */
  @inline get l4Len(): u32 { return l4LenOf(this.meta); }
  /** TCP/UDP ports (0 otherwise), TCP flags, ICMP type and code, from the whole L4 header. */
  @inline get srcPort(): u16 { return this.hasPorts() ? <u16>loadBe16(this.addr + this.l4) : 0; }
  @inline get dstPort(): u16 { return this.hasPorts() ? <u16>loadBe16(this.addr + this.l4 + 2) : 0; }
  @inline get tcpFlags(): u8 { return this.l4 != 0 && this.l4Proto == IPPROTO_TCP ? load<u8>(this.addr + this.l4, 13) : 0; }
  @inline get icmpType(): u8 { return this.isIcmp() ? load<u8>(this.addr + this.l4) : 0; }
  @inline get icmpCode(): u8 { return this.isIcmp() ? load<u8>(this.addr + this.l4, 1) : 0; }

  @inline private hasPorts(): bool {
    const proto = this.l4Proto;
    return this.l4 != 0 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP);
  }
  @inline private isIcmp(): bool {
    const proto = this.l4Proto;
    return this.l4 != 0 && (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6);
  }

  /** Address of the source / destination IP address (4 or 16 bytes); 0 when not IP. */
  @inline srcAddr(): usize {
    const v = this.ipVersion;
    return v == 4 ? this.addr + this.l3 + 12 : v == 6 ? this.addr + this.l3 + 8 : 0;
  }
  @inline dstAddr(): usize {
    const v = this.ipVersion;
    return v == 4 ? this.addr + this.l3 + 16 : v == 6 ? this.addr + this.l3 + 24 : 0;
  }
  /** IPv4 addresses as numbers (host order); 0 when not IPv4. */
  @inline src4(): u32 {
    return this.ipVersion == 4 ? bswap<u32>(load<u32>(this.addr + this.l3, 12)) : 0;
  }
  @inline dst4(): u32 {
    return this.ipVersion == 4 ? bswap<u32>(load<u32>(this.addr + this.l3, 16)) : 0;
  }

  /** Starts a parse of the bytes at addr into this object's own meta. */
  @inline reset(addr: usize, len: u32): usize {
    this.addr = addr;
    this.len = len;
    const m = this.own;
    this.meta = m;
    store<u64>(m, 0);
    store<u64>(m, 0, 8);
    return m;
  }
}

/** The L2 header and up to two VLAN tags: the ethertype and the L3 offset. */
function parseL2(addr: usize, len: u32, m: usize): void {
  if (len < 14) return;
  let off: u32 = 12;
  let type = loadBe16(addr + off);
  let vlans: u8 = 0;
  while ((type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) && vlans < 2) {
    if (len < off + 6) {
      store<u8>(m, vlans, META_VLANS);
      return;
    }
    vlans++;
    off += 4;
    type = loadBe16(addr + off);
  }
  store<u8>(m, vlans, META_VLANS);
  store<u16>(m, <u16>type, META_ETHER_TYPE);
  store<u16>(m, <u16>(off + 2), META_L3);
}

function parseIpv4(addr: usize, len: u32, m: usize): void {
  const l3 = <u32>load<u16>(m, META_L3);
  const ip = addr + l3;
  const avail = len - l3;
  if (avail < 20) return;
  const vihl = load<u8>(ip);
  const hlen = <u32>(vihl & 15) << 2;
  const total = loadBe16(ip + 2);
  if (vihl >> 4 != 4 || hlen < 20 || hlen > avail || total < hlen) return;
  const frag = loadBe16(ip + 6);
  const flags = (total > avail ? META_F_TRUNCATED : 0) | ((frag & 0x3fff) != 0 ? META_F_FRAGMENT : 0) | ((frag & 0x1fff) == 0 ? META_F_FIRST_FRAGMENT : 0);
  const proto = load<u8>(ip, 9);
  store<u8>(m, 4, META_IP_VERSION);
  store<u16>(m, <u16>hlen, META_IP_HLEN);
  store<u16>(m, <u16>min(total, avail), META_IP_LEN);
  store<u8>(m, flags, META_FLAGS);
  store<u8>(m, proto, META_L4_PROTO);
  if (flags & META_F_FIRST_FRAGMENT) parseL4(addr, m, l3 + hlen, proto);
}

function parseIpv6(addr: usize, len: u32, m: usize): void {
  const l3 = <u32>load<u16>(m, META_L3);
  const ip = addr + l3;
  const avail = len - l3;
  if (avail < 40 || load<u8>(ip) >> 4 != 6) return;
  const total: u32 = 40 + loadBe16(ip + 4);
  const ipLen = min(total, avail);
  let flags: u8 = (total > avail ? META_F_TRUNCATED : 0) | META_F_FIRST_FRAGMENT;
  let next = load<u8>(ip, 6);
  let off: u32 = 40;
  for (let i = 0; i < MAX_EXT_HEADERS; i++) {
    let extLen: u32 = 0;
    if (next == EXT_HOP_BY_HOP || next == EXT_ROUTING || next == EXT_DEST_OPTS) {
      if (off + 8 > ipLen) break;
      extLen = (<u32>load<u8>(ip + off, 1) + 1) << 3;
    } else if (next == EXT_FRAGMENT) {
      if (off + 8 > ipLen) break;
      extLen = 8;
      flags |= META_F_FRAGMENT;
      flags = (loadBe16(ip + off + 2) & 0xfff8) == 0 ? flags | META_F_FIRST_FRAGMENT : flags & ~META_F_FIRST_FRAGMENT;
    } else if (next == EXT_AH) {
      if (off + 8 > ipLen) break;
      extLen = (<u32>load<u8>(ip + off, 1) + 2) << 2;
    } else {
      break;
    }
    if (off + extLen > ipLen) break;
    next = load<u8>(ip + off);
    off += extLen;
  }
  store<u8>(m, 6, META_IP_VERSION);
  store<u16>(m, <u16>off, META_IP_HLEN);
  store<u16>(m, <u16>ipLen, META_IP_LEN);
  store<u8>(m, flags, META_FLAGS);
  store<u8>(m, next, META_L4_PROTO);
  if ((flags & META_F_FIRST_FRAGMENT) && off <= ipLen) parseL4(addr, m, l3 + off, next);
}

/** Sets the L4 offset when the header at l4 is whole: TCP with its options, UDP, ICMP's first 4 bytes. */
function parseL4(addr: usize, m: usize, l4: u32, proto: u8): void {
  const end = <u32>load<u16>(m, META_L3) + <u32>load<u16>(m, META_IP_LEN);
  if (l4 > end) return;
  const avail = end - l4;
  if (proto == IPPROTO_TCP) {
    if (avail < 20) return;
    const doff = <u32>(load<u8>(addr + l4, 12) >> 4) << 2;
    if (doff < 20 || doff > avail) return;
  } else if (proto == IPPROTO_UDP) {
    if (avail < 8) return;
  } else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
    if (avail < 4) return;
  } else {
    return;
  }
  store<u16>(m, <u16>l4, META_L4);
}

/** The common case in one pass: an untagged IPv4 packet without options, not
 *  a fragment, carrying TCP or UDP whose header is whole. Gives exactly what
 *  the general path gives for it; false (nothing written) for any other packet. */
@inline function parseCommon(addr: usize, len: u32, m: usize): bool {
  if (len < 42 || load<u16>(addr, 12) != 0x0008 || load<u8>(addr, 14) != 0x45) return false;
  const total = loadBe16(addr + 16);
  const proto = load<u8>(addr, 23);
  // Flags and offset (network order in a little-endian load): MF or any offset is a fragment.
  if (total < 28 || (load<u16>(addr, 20) & 0xff3f) != 0 || (proto != IPPROTO_TCP && proto != IPPROTO_UDP)) return false;
  const ipLen = min(total, len - 14);
  if (proto == IPPROTO_TCP) {
    const doff = <u32>(load<u8>(addr, 46) >> 4) << 2;
    if (ipLen < 40 || doff < 20 || doff > ipLen - 20) return false;
  }
  // The meta in two stores: l3 14, l4 34, IPv4, proto; ipLen, header 20, no tags, flags.
  const flags: u64 = META_F_FIRST_FRAGMENT | (total > len - 14 ? META_F_TRUNCATED : 0);
  store<u64>(m, 14 | (34 << 16) | (<u64>ETHERTYPE_IPV4 << 32) | (<u64>4 << 48) | (<u64>proto << 56));
  store<u64>(m, <u64>ipLen | (20 << 16) | (flags << 40), 8);
  return true;
}

/** Parses the packet at addr (len bytes) into p; returns p.ipVersion != 0. */
export function parse(addr: usize, len: u32, p: Parsed): bool {
  const m = p.reset(addr, len);
  if (parseCommon(addr, len, m)) return true;
  parseL2(addr, len, m);
  const type = <u32>load<u16>(m, META_ETHER_TYPE);
  if (type == ETHERTYPE_IPV4) parseIpv4(addr, len, m);
  else if (type == ETHERTYPE_IPV6) parseIpv6(addr, len, m);
  return load<u8>(m, META_IP_VERSION) != 0;
}

/** Reads a byte of the packet, or -1 past its end. */
@inline export function byteAt(p: Parsed, off: u32): i32 {
  return off < p.len ? <i32>load<u8>(p.addr + off) : -1;
}

/** Reads a big-endian u16 of the packet, or -1 past its end. */
@inline export function be16At(p: Parsed, off: u32): i32 {
  return off + 2 <= p.len ? <i32>loadBe16(p.addr + off) : -1;
}
