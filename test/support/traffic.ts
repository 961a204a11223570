// The demo traffic of examples/traffic.pcap (written by scripts/gen-traffic.ts):
// a fixed, deterministic mix aimed at a TTL-decrementing router NF. Frames come
// in this order (index 0-based, as in the pcap):
//
//   index    count  section
//     0-107   108   IPv4 valid: TTL {0,1,2,3,64,255} x {TCP,UDP,ICMP} x size {60,64,128,512,1024,1514}
//   108-137    30   IPv4 valid with options: IHL 6..15 x TTL {1,2,64}, UDP (router alert + NOPs)
//   138-140     3   IPv4 valid, padded to 60 bytes (total length < frame): TCP, UDP, ICMP, TTL 64
//   141-212    72   IPv6 valid: hop limit {0,1,2,3,64,255} x {TCP,UDP,ICMPv6} x size {90,256,1024,1514}
//   213-214     2   ARP request, ARP reply
//   215-227    13   VLAN, UDP, 128 bytes: 802.1Q IPv4 TTL {1,2,64,255}, 802.1Q IPv6 hop {1,2,64,255},
//                   QinQ (0x88a8 + 0x8100) IPv4 TTL {1,2,64}, QinQ IPv6 hop {1,64}
//   228-233     6   jumbo IPv4 UDP, valid: size {3000,9000} x TTL {1,2,64}
//   234-261    28   malformed, one defect each (see malformed())
//   262-411   150   size sweep: valid IPv4 (~2/3) or IPv6, random L4, TTL 0..255, size 60..1514
//
// Valid means a router must act on it: TTL/hop limit <= 1 -> drop, else decrement.
// Every malformed frame must pass through unchanged.
import {
  ETHERNET_HEADER_LEN,
  ETHERTYPE,
  ICMP_ECHO_HEADER_LEN,
  IPPROTO,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  MIN_FRAME_LEN,
  TCP_HEADER_LEN,
  UDP_HEADER_LEN,
  VLAN_TAG_LEN,
  arpPacket,
  checksum,
  ethernetFrame,
  icmpEcho,
  ipv4Packet,
  ipv6Packet,
  padFrame,
  put16,
  tcpSegment,
  udpDatagram,
  type VlanTag,
} from './packets.js';

type L4 = 'tcp' | 'udp' | 'icmp';

interface IpFrameSpec {
  family: 4 | 6;
  l4: L4;
  /** TTL for IPv4, hop limit for IPv6. */
  ttl: number;
  /** Whole frame length; the L4 payload fills whatever the headers leave. */
  size: number;
  vlans?: VlanTag[];
  options?: Uint8Array;
  /** TCP/UDP source port (40000 unless given). */
  srcPort?: number;
  /** Written big-endian over the payload's first 4 bytes (a frame's number), when the payload has room. */
  tag?: number;
}

const TTLS = [0, 1, 2, 3, 64, 255];
const L4S: L4[] = ['tcp', 'udp', 'icmp'];
const MAX_FRAME_LEN = 1514;
const DOT1Q: VlanTag[] = [{ tpid: ETHERTYPE.VLAN, vid: 100 }];
const QINQ: VlanTag[] = [
  { tpid: ETHERTYPE.QINQ, vid: 200 },
  { tpid: ETHERTYPE.VLAN, vid: 100 },
];
const EXPERIMENTAL_ETHERTYPE = 0x88b5; // IEEE 802 local experimental

export function generateTraffic(): Uint8Array[] {
  return [
    ...TTLS.flatMap((ttl) =>
      L4S.flatMap((l4) => [60, 64, 128, 512, 1024, 1514].map((size) => ipFrame({ family: 4, l4, ttl, size }))),
    ),
    ...[6, 7, 8, 9, 10, 11, 12, 13, 14, 15].flatMap((ihl) =>
      [1, 2, 64].map((ttl) => ipFrame({ family: 4, l4: 'udp', ttl, size: 14 + ihl * 4 + 40, options: routerAlert(ihl) })),
    ),
    ...L4S.map((l4) => padFrame(ipFrame({ family: 4, l4, ttl: 64, size: headersLen({ family: 4, l4 }) }))),
    ...TTLS.flatMap((ttl) =>
      L4S.flatMap((l4) => [90, 256, 1024, 1514].map((size) => ipFrame({ family: 6, l4, ttl, size }))),
    ),
    ...arpExchange(),
    ...[1, 2, 64, 255].map((ttl) => ipFrame({ family: 4, l4: 'udp', ttl, size: 128, vlans: DOT1Q })),
    ...[1, 2, 64, 255].map((ttl) => ipFrame({ family: 6, l4: 'udp', ttl, size: 128, vlans: DOT1Q })),
    ...[1, 2, 64].map((ttl) => ipFrame({ family: 4, l4: 'udp', ttl, size: 128, vlans: QINQ })),
    ...[1, 64].map((ttl) => ipFrame({ family: 6, l4: 'udp', ttl, size: 128, vlans: QINQ })),
    ...[3000, 9000].flatMap((size) => [1, 2, 64].map((ttl) => ipFrame({ family: 4, l4: 'udp', ttl, size }))),
    ...malformed(),
    ...sizeSweep(150),
  ];
}

/** A frame of numberedTraffic, and the flow a symmetric flow hash puts it in:
 * frames of one flow go to the same worker and must come out in their order. */
export interface NumberedFrame {
  frame: Uint8Array;
  flow: string;
}

/**
 * `count` frames for long runs: mostly valid IP frames (IPv4 and IPv6; TCP,
 * UDP and ICMP; untagged, 802.1Q and QinQ; IPv4 with options) of 60 to 1514
 * bytes plus tags (most under 200: a file read faster than a chain runs), over 64 TCP/UDP flows, each numbered in its payload so
 * that every one is unique; every 25th is one of the demo's ARP and
 * malformed frames in turn. TTLs cycle through 0..255: an NF chain drops
 * some everywhere in the file.
 */
export function numberedTraffic(count: number): NumberedFrame[] {
  const random = mulberry32(0x35303030);
  const odd = [...arpExchange(), ...malformed()];
  const kinds: Pick<IpFrameSpec, 'family' | 'l4' | 'vlans' | 'options'>[] = [
    ...[4, 6].flatMap((family) => L4S.map((l4) => ({ family: family as 4 | 6, l4 }))),
    { family: 4, l4: 'udp', vlans: DOT1Q },
    { family: 6, l4: 'tcp', vlans: QINQ },
    { family: 4, l4: 'tcp', options: routerAlert(8) },
  ];
  return Array.from({ length: count }, (_, i) => {
    if (i % 25 === 24) {
      const k = (i / 25 | 0) % odd.length;
      return { frame: odd[k]!, flow: `odd ${k}` };
    }
    const kind = kinds[i % kinds.length]!;
    const min = Math.max(MIN_FRAME_LEN, headersLen(kind) + 4);
    const max = MAX_FRAME_LEN + VLAN_TAG_LEN * (kind.vlans?.length ?? 0);
    const size = min + Math.floor(random() ** 8 * (max - min + 1)); // most small, some up to the largest
    const port = 1024 + (i % 64);
    const frame = ipFrame({ ...kind, ttl: (i * 7) & 0xff, size, srcPort: port, tag: i });
    // ICMP has no ports: one flow per family.
    return { frame, flow: `${kind.family} ${kind.l4} ${kind.l4 === 'icmp' ? '' : port}` };
  });
}

/**
 * Malformed frames, most at TTL 64 and at TTL 1 so that an NF which checks the
 * TTL before validating is caught too. Edited headers get their checksum
 * resealed, so the edit is the only reason to leave the frame alone.
 */
function malformed(): Uint8Array[] {
  const udp4 = (ttl: number) => ipFrame({ family: 4, l4: 'udp', ttl, size: 128 });
  const udp6 = (ttl: number) => ipFrame({ family: 6, l4: 'udp', ttl, size: 128 });
  const ihl6 = () => ipFrame({ family: 4, l4: 'udp', ttl: 64, size: 128, options: routerAlert(6) });
  const empty = new Uint8Array(0);
  return [
    // 3: wrong IPv4 header checksum (one 802.1Q-tagged)
    breakChecksum(udp4(64)),
    breakChecksum(udp4(1)),
    breakChecksum(ipFrame({ family: 4, l4: 'udp', ttl: 64, size: 128, vlans: DOT1Q }), VLAN_TAG_LEN),
    // 3: IHL < 5
    editIpv4(udp4(64), (ip) => (ip[0] = 0x44)),
    editIpv4(udp4(1), (ip) => (ip[0] = 0x44)),
    editIpv4(udp4(64), (ip) => (ip[0] = 0x40)),
    // 2: version 6 under the IPv4 ethertype
    editIpv4(udp4(64), (ip) => (ip[0] = 0x65)),
    editIpv4(udp4(1), (ip) => (ip[0] = 0x65)),
    // 3: total length larger than the frame (by 1, and by far)
    editIpv4(udp4(64), (ip) => put16(ip, 2, ip.length + 1)),
    editIpv4(udp4(1), (ip) => put16(ip, 2, ip.length + 1)),
    editIpv4(udp4(64), (ip) => put16(ip, 2, 1500)),
    // 3: total length smaller than the header (IHL 5 with 19; IHL 6 with 20)
    editIpv4(udp4(64), (ip) => put16(ip, 2, 19)),
    editIpv4(udp4(1), (ip) => put16(ip, 2, 19)),
    editIpv4(ihl6(), (ip) => put16(ip, 2, 20)),
    // 3: frame ends inside the IPv4 header (1 byte short of 20; inside the options)
    udp4(64).slice(0, ETHERNET_HEADER_LEN + 19),
    udp4(1).slice(0, ETHERNET_HEADER_LEN + 19),
    ihl6().slice(0, ETHERNET_HEADER_LEN + 22),
    // 2: frame ends inside the IPv6 header (1 byte short of 40)
    udp6(64).slice(0, ETHERNET_HEADER_LEN + 39),
    udp6(1).slice(0, ETHERNET_HEADER_LEN + 39),
    // 2: version 4 under the IPv6 ethertype
    editByte(udp6(64), ETHERNET_HEADER_LEN, 0x40),
    editByte(udp6(1), ETHERNET_HEADER_LEN, 0x40),
    // 5: runts: Ethernet header only (IPv4, IPv6 ethertype), 20 bytes, 30 bytes (TTL 64, TTL 1)
    ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: empty }),
    ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: empty }),
    udp4(64).slice(0, 20),
    udp4(64).slice(0, 30),
    udp4(1).slice(0, 30),
    // 2: non-IP ethertype, one carrying what would be a TTL-1 IPv4 packet
    padFrame(ethernetFrame({ etherType: EXPERIMENTAL_ETHERTYPE, payload: new TextEncoder().encode('NetVM') })),
    ethernetFrame({ etherType: EXPERIMENTAL_ETHERTYPE, payload: udp4(1).subarray(ETHERNET_HEADER_LEN) }),
  ];
}

function sizeSweep(count: number): Uint8Array[] {
  const random = mulberry32(0x4e657456);
  return Array.from({ length: count }, () => {
    const family = random() < 2 / 3 ? 4 : 6;
    const l4 = L4S[Math.floor(random() * L4S.length)];
    const ttl = Math.floor(random() * 256);
    const min = Math.max(MIN_FRAME_LEN, headersLen({ family, l4 }));
    const size = min + Math.floor(random() * (MAX_FRAME_LEN - min + 1));
    return ipFrame({ family, l4, ttl, size });
  });
}

function arpExchange(): Uint8Array[] {
  const a = { mac: '02:00:00:00:00:01', ip: '192.0.2.1' };
  const b = { mac: '02:00:00:00:00:02', ip: '192.0.2.2' };
  const request = arpPacket({ op: 'request', senderMac: a.mac, senderIp: a.ip, targetMac: '00:00:00:00:00:00', targetIp: b.ip });
  const reply = arpPacket({ op: 'reply', senderMac: b.mac, senderIp: b.ip, targetMac: a.mac, targetIp: a.ip });
  return [
    padFrame(ethernetFrame({ src: a.mac, dst: 'ff:ff:ff:ff:ff:ff', etherType: ETHERTYPE.ARP, payload: request })),
    padFrame(ethernetFrame({ src: b.mac, dst: a.mac, etherType: ETHERTYPE.ARP, payload: reply })),
  ];
}

/** A valid IP frame of exactly spec.size bytes. */
function ipFrame(spec: IpFrameSpec): Uint8Array {
  const payloadLen = spec.size - headersLen(spec);
  if (payloadLen < 0) throw new Error(`frame size ${spec.size} is below its ${headersLen(spec)} bytes of headers`);
  const payload = Uint8Array.from({ length: payloadLen }, (_, i) => i & 0xff);
  if (spec.tag !== undefined && payloadLen >= 4) new DataView(payload.buffer).setUint32(0, spec.tag);
  const ip =
    spec.family === 4
      ? ipv4Packet({ ttl: spec.ttl, protocol: l4Protocol(spec), payload: l4Segment(spec, payload), options: spec.options })
      : ipv6Packet({ hopLimit: spec.ttl, nextHeader: l4Protocol(spec), payload: l4Segment(spec, payload) });
  return ethernetFrame({ vlans: spec.vlans, etherType: spec.family === 4 ? ETHERTYPE.IPV4 : ETHERTYPE.IPV6, payload: ip });
}

function l4Segment(spec: IpFrameSpec, payload: Uint8Array): Uint8Array {
  const srcPort = spec.srcPort ?? 40000;
  if (spec.l4 === 'tcp') return tcpSegment({ srcPort, dstPort: 12345, payload });
  if (spec.l4 === 'udp') return udpDatagram({ srcPort, dstPort: 12345, payload });
  return icmpEcho({ family: spec.family, id: 0x4e56, seq: spec.ttl, payload });
}

function l4Protocol(spec: Pick<IpFrameSpec, 'family' | 'l4'>): number {
  if (spec.l4 === 'tcp') return IPPROTO.TCP;
  if (spec.l4 === 'udp') return IPPROTO.UDP;
  return spec.family === 4 ? IPPROTO.ICMP : IPPROTO.ICMPV6;
}

function headersLen(spec: Pick<IpFrameSpec, 'family' | 'l4' | 'vlans' | 'options'>): number {
  const l2 = ETHERNET_HEADER_LEN + VLAN_TAG_LEN * (spec.vlans?.length ?? 0);
  const l3 = spec.family === 4 ? IPV4_HEADER_LEN + (spec.options?.length ?? 0) : IPV6_HEADER_LEN;
  const l4 = spec.l4 === 'tcp' ? TCP_HEADER_LEN : spec.l4 === 'udp' ? UDP_HEADER_LEN : ICMP_ECHO_HEADER_LEN;
  return l2 + l3 + l4;
}

/** IPv4 options for the given IHL (6..15): a router alert (RFC 2113), then NOPs. */
function routerAlert(ihl: number): Uint8Array {
  const options = new Uint8Array((ihl - 5) * 4).fill(1);
  options.set([0x94, 0x04, 0x00, 0x00]);
  return options;
}

/** Edits the IPv4 header of an untagged frame, then reseals the checksum over its first 20 bytes. */
function editIpv4(frame: Uint8Array, edit: (ip: Uint8Array) => void): Uint8Array {
  const out = new Uint8Array(frame);
  const ip = out.subarray(ETHERNET_HEADER_LEN);
  edit(ip);
  put16(ip, 10, 0);
  put16(ip, 10, checksum(ip.subarray(0, IPV4_HEADER_LEN)));
  return out;
}

function breakChecksum(frame: Uint8Array, tagsLen = 0): Uint8Array {
  const out = new Uint8Array(frame);
  out[ETHERNET_HEADER_LEN + tagsLen + 11] ^= 0x5a;
  return out;
}

function editByte(frame: Uint8Array, offset: number, value: number): Uint8Array {
  const out = new Uint8Array(frame);
  out[offset] = value;
  return out;
}

/** Tiny seeded PRNG (mulberry32) so the sweep is varied yet identical on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
