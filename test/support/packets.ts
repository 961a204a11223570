// Builders for Ethernet, ARP, IPv4, IPv6, TCP, UDP and ICMP bytes, shared by
// tests and scripts/gen-traffic.ts. Every builder returns fresh bytes with
// correct checksums; corrupting a frame on purpose is the caller's job.

export const ETHERTYPE = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, QINQ: 0x88a8, IPV6: 0x86dd } as const;
export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;
/** Shortest Ethernet frame on the wire, without the FCS. */
export const MIN_FRAME_LEN = 60;

export const ETHERNET_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
export const IPV4_HEADER_LEN = 20;
export const IPV6_HEADER_LEN = 40;
export const TCP_HEADER_LEN = 20;
export const UDP_HEADER_LEN = 8;
export const ICMP_ECHO_HEADER_LEN = 8;

// Locally administered MACs and documentation-range addresses (RFC 5737, RFC 3849).
const DEFAULT_MAC = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const DEFAULT_IPV4 = { src: '192.0.2.1', dst: '198.51.100.1' };
const DEFAULT_IPV6 = { src: '2001:db8::1', dst: '2001:db8::2' };

/**
 * RFC 1071 Internet checksum of `bytes`, an odd last byte padded with zero.
 * Over a header that carries a correct checksum it returns 0.
 */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function macAddr(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{2}$/i.test(p))) throw new Error(`bad MAC address '${text}'`);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

export function ipv4Addr(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new Error(`bad IPv4 address '${text}'`);
  }
  return Uint8Array.from(parts, Number);
}

export function ipv6Addr(text: string): Uint8Array {
  const halves = text.split('::');
  const groupsOf = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  const zeroGroups = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<string>(Math.max(zeroGroups, 0)).fill('0'), ...tail];
  const valid =
    halves.length <= 2 &&
    (halves.length === 1 || zeroGroups >= 1) &&
    groups.length === 8 &&
    groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g));
  if (!valid) throw new Error(`bad IPv6 address '${text}'`);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => put16(bytes, 2 * i, parseInt(g, 16)));
  return bytes;
}

export interface VlanTag {
  /** ETHERTYPE.VLAN (802.1Q) or ETHERTYPE.QINQ (802.1ad service tag). */
  tpid: number;
  /** 12-bit VLAN id; priority and DEI bits are left 0. */
  vid: number;
}

export interface EthernetInit {
  dst?: string;
  src?: string;
  /** Tags in wire order, outermost first. */
  vlans?: VlanTag[];
  etherType: number;
  payload: Uint8Array;
}

/** An Ethernet frame without FCS, exactly as long as its headers and payload (see padFrame). */
export function ethernetFrame(init: EthernetInit): Uint8Array {
  const { dst = DEFAULT_MAC.dst, src = DEFAULT_MAC.src, vlans = [], etherType, payload } = init;
  const header = new Uint8Array(ETHERNET_HEADER_LEN + VLAN_TAG_LEN * vlans.length);
  header.set(macAddr(dst), 0);
  header.set(macAddr(src), 6);
  let offset = 12;
  for (const tag of vlans) {
    put16(header, offset, tag.tpid);
    put16(header, offset + 2, tag.vid);
    offset += VLAN_TAG_LEN;
  }
  put16(header, offset, etherType);
  return concat(header, payload);
}

/** Zero-pads a frame to the 60-byte Ethernet minimum, as a NIC does on transmit. */
export function padFrame(frame: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.max(frame.length, MIN_FRAME_LEN));
  padded.set(frame);
  return padded;
}

export interface ArpInit {
  op: 'request' | 'reply';
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** An ARP packet for IPv4 over Ethernet (28 bytes). */
export function arpPacket(init: ArpInit): Uint8Array {
  const arp = new Uint8Array(28);
  put16(arp, 0, 1); // hardware type: Ethernet
  put16(arp, 2, ETHERTYPE.IPV4);
  arp[4] = 6;
  arp[5] = 4;
  put16(arp, 6, init.op === 'request' ? 1 : 2);
  arp.set(macAddr(init.senderMac), 8);
  arp.set(ipv4Addr(init.senderIp), 14);
  arp.set(macAddr(init.targetMac), 18);
  arp.set(ipv4Addr(init.targetIp), 24);
  return arp;
}

// The L4 builders leave the checksum field 0: ipv4Packet and ipv6Packet fill it
// in, because TCP, UDP and ICMPv6 checksums cover the IP pseudo-header.

export interface TcpInit {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** TCP flag bits; PSH|ACK (0x18) by default. */
  flags?: number;
  payload?: Uint8Array;
}

export function tcpSegment(init: TcpInit): Uint8Array {
  const { srcPort, dstPort, seq = 1, ack = 1, flags = 0x18, payload = new Uint8Array(0) } = init;
  const header = new Uint8Array(TCP_HEADER_LEN);
  const view = new DataView(header.buffer);
  view.setUint16(0, srcPort);
  view.setUint16(2, dstPort);
  view.setUint32(4, seq);
  view.setUint32(8, ack);
  header[12] = (TCP_HEADER_LEN / 4) << 4;
  header[13] = flags;
  view.setUint16(14, 65535); // window
  return concat(header, payload);
}

export interface UdpInit {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
}

export function udpDatagram(init: UdpInit): Uint8Array {
  const { srcPort, dstPort, payload = new Uint8Array(0) } = init;
  const header = new Uint8Array(UDP_HEADER_LEN);
  put16(header, 0, srcPort);
  put16(header, 2, dstPort);
  put16(header, 4, UDP_HEADER_LEN + payload.length);
  return concat(header, payload);
}

export interface IcmpEchoInit {
  /** 4 for an ICMP echo request (type 8), 6 for an ICMPv6 one (type 128). */
  family: 4 | 6;
  id: number;
  seq: number;
  payload?: Uint8Array;
}

export function icmpEcho(init: IcmpEchoInit): Uint8Array {
  const { family, id, seq, payload = new Uint8Array(0) } = init;
  const header = new Uint8Array(ICMP_ECHO_HEADER_LEN);
  header[0] = family === 4 ? 8 : 128;
  put16(header, 4, id);
  put16(header, 6, seq);
  return concat(header, payload);
}

export interface Ipv4Init {
  src?: string;
  dst?: string;
  ttl: number;
  protocol: number;
  payload: Uint8Array;
  /** Option bytes, a multiple of 4 and at most 40; they raise the IHL above 5. */
  options?: Uint8Array;
}

/** An IPv4 packet with its header checksum and, for TCP, UDP and ICMP, its L4 checksum filled in. */
export function ipv4Packet(init: Ipv4Init): Uint8Array {
  const { src = DEFAULT_IPV4.src, dst = DEFAULT_IPV4.dst, ttl, protocol, payload } = init;
  const options = init.options ?? new Uint8Array(0);
  if (options.length % 4 !== 0 || options.length > 40) {
    throw new Error(`IPv4 options must be a multiple of 4 bytes and at most 40, got ${options.length}`);
  }
  const header = new Uint8Array(IPV4_HEADER_LEN + options.length);
  header[0] = 0x40 | (header.length / 4);
  put16(header, 2, header.length + payload.length);
  header[8] = ttl;
  header[9] = protocol;
  header.set(ipv4Addr(src), 12);
  header.set(ipv4Addr(dst), 16);
  header.set(options, IPV4_HEADER_LEN);
  put16(header, 10, checksum(header));

  const l4 = new Uint8Array(payload);
  if (protocol === IPPROTO.ICMP) fillL4Checksum(l4, protocol, new Uint8Array(0));
  else if (protocol === IPPROTO.TCP || protocol === IPPROTO.UDP) {
    const pseudo = new Uint8Array(12);
    pseudo.set(header.subarray(12, 20), 0);
    pseudo[9] = protocol;
    put16(pseudo, 10, l4.length);
    fillL4Checksum(l4, protocol, pseudo);
  }
  return concat(header, l4);
}

export interface Ipv6Init {
  src?: string;
  dst?: string;
  hopLimit: number;
  nextHeader: number;
  payload: Uint8Array;
}

/** An IPv6 packet with, for TCP, UDP and ICMPv6, its L4 checksum filled in. */
export function ipv6Packet(init: Ipv6Init): Uint8Array {
  const { src = DEFAULT_IPV6.src, dst = DEFAULT_IPV6.dst, hopLimit, nextHeader, payload } = init;
  const header = new Uint8Array(IPV6_HEADER_LEN);
  header[0] = 0x60;
  put16(header, 4, payload.length);
  header[6] = nextHeader;
  header[7] = hopLimit;
  header.set(ipv6Addr(src), 8);
  header.set(ipv6Addr(dst), 24);

  const l4 = new Uint8Array(payload);
  if (nextHeader === IPPROTO.TCP || nextHeader === IPPROTO.UDP || nextHeader === IPPROTO.ICMPV6) {
    const pseudo = new Uint8Array(40);
    pseudo.set(header.subarray(8, 40), 0);
    new DataView(pseudo.buffer).setUint32(32, l4.length);
    pseudo[39] = nextHeader;
    fillL4Checksum(l4, nextHeader, pseudo);
  }
  return concat(header, l4);
}

const L4_CHECKSUM_OFFSET: Record<number, number> = {
  [IPPROTO.ICMP]: 2,
  [IPPROTO.TCP]: 16,
  [IPPROTO.UDP]: 6,
  [IPPROTO.ICMPV6]: 2,
};

function fillL4Checksum(l4: Uint8Array, protocol: number, pseudoHeader: Uint8Array): void {
  const offset = L4_CHECKSUM_OFFSET[protocol];
  if (l4.length < offset + 2) return;
  put16(l4, offset, 0);
  const sum = checksum(concat(pseudoHeader, l4));
  // UDP sends a computed 0 as 0xffff: 0 on the wire means "no checksum".
  put16(l4, offset, protocol === IPPROTO.UDP && sum === 0 ? 0xffff : sum);
}

export function put16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 8;
  bytes[offset + 1] = value & 0xff;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
