import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePcap, readPcap, serializePcap, writePcap } from '../host/pcap/index.js';
import { ETHERTYPE, IPPROTO, checksum, ethernetFrame, ipv4Packet, ipv6Packet, udpDatagram } from './support/packets.js';
import { generateTraffic } from './support/traffic.js';
import { ttlStep } from './support/ttl-reference.js';

const bytesOf = (length: number, seed = 0) => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '(no error)';
}

/** Rewrites a little-endian pcap file as the same file in big-endian byte order. */
function toBigEndian(le: Uint8Array): Uint8Array {
  const be = new Uint8Array(le);
  const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const dst = new DataView(be.buffer);
  dst.setUint32(0, src.getUint32(0, true));
  for (const at of [4, 6]) dst.setUint16(at, src.getUint16(at, true));
  for (const at of [8, 12, 16, 20]) dst.setUint32(at, src.getUint32(at, true));
  for (let offset = 24; offset < le.length; offset += 16 + src.getUint32(offset + 8, true)) {
    for (let field = 0; field < 16; field += 4) dst.setUint32(offset + field, src.getUint32(offset + field, true));
  }
  return be;
}

t.test('pcap round trip: little-endian, microseconds by default', async (t) => {
  const packets = [
    { data: bytesOf(60), tsNs: 1_700_000_000_123_456_789n },
    { data: bytesOf(0) },
    { data: bytesOf(1514, 3), tsNs: 999n, origLen: 4000 },
  ];
  const bytes = serializePcap(packets);
  t.same([...bytes.subarray(0, 4)], [0xd4, 0xc3, 0xb2, 0xa1], 'magic 0xa1b2c3d4, little-endian');
  const file = parsePcap(bytes, 'mem');
  t.same({ linkType: file.linkType, snapLen: file.snapLen, nanosecond: file.nanosecond }, { linkType: 1, snapLen: 65535, nanosecond: false });
  t.same(file.packets.map((p) => p.data), packets.map((p) => p.data));
  t.same(file.packets.map((p) => p.origLen), [60, 0, 4000]);
  t.same(file.packets.map((p) => p.tsNs), [1_700_000_000_123_456_000n, 0n, 0n], 'timestamps rounded down to µs');
});

t.test('pcap round trip: nanoseconds, other snaplen and linktype', async (t) => {
  const packets = [
    { data: bytesOf(9000), tsNs: 1_700_000_000_123_456_789n },
    { data: bytesOf(1), tsNs: 1_700_000_001_000_000_001n },
  ];
  const bytes = serializePcap(packets, { nanosecond: true, snapLen: 9000, linkType: 101 });
  t.same([...bytes.subarray(0, 4)], [0x4d, 0x3c, 0xb2, 0xa1], 'magic 0xa1b23c4d');
  const file = parsePcap(bytes, 'mem');
  t.same({ linkType: file.linkType, snapLen: file.snapLen, nanosecond: file.nanosecond }, { linkType: 101, snapLen: 9000, nanosecond: true });
  t.same(file.packets.map((p) => p.tsNs), [1_700_000_000_123_456_789n, 1_700_000_001_000_000_001n]);
  t.same(file.packets.map((p) => p.data), packets.map((p) => p.data));
});

t.test('big-endian files read the same as little-endian ones', async (t) => {
  for (const nanosecond of [false, true]) {
    const le = serializePcap([{ data: bytesOf(70), tsNs: 1_234_567_891_000n, origLen: 90 }, { data: bytesOf(61, 1) }], { nanosecond });
    const be = toBigEndian(le);
    t.same([...be.subarray(0, 4)], nanosecond ? [0xa1, 0xb2, 0x3c, 0x4d] : [0xa1, 0xb2, 0xc3, 0xd4]);
    t.same(parsePcap(be, 'be'), parsePcap(le, 'le'), nanosecond ? 'nanosecond' : 'microsecond');
  }
});

t.test('writePcap and readPcap through a file', async (t) => {
  const path = join(t.testdir(), 'x.pcap');
  const packets = [{ data: bytesOf(128), tsNs: 5_000n }, { data: bytesOf(64, 9), tsNs: 6_000n }];
  writePcap(path, packets);
  const file = readPcap(path);
  t.same(file.packets, packets.map((p) => ({ ...p, origLen: p.data.length })));
  t.equal(Object.getPrototypeOf(file.packets[0].data), Uint8Array.prototype, 'plain Uint8Array, not Buffer');
});

t.test('pcap errors name the file and the byte offset', async (t) => {
  const three = serializePcap([0, 1, 2].map((i) => ({ data: bytesOf(32, i) }))); // records at 24, 72, 120
  t.equal(
    errorOf(() => parsePcap(three.subarray(0, three.length - 10), 'traffic/x.pcap')),
    'traffic/x.pcap: record 3 at byte 120: truncated packet data (22 of 32 bytes)',
  );
  t.equal(
    errorOf(() => parsePcap(three.subarray(0, 82), 'traffic/x.pcap')),
    'traffic/x.pcap: record 2 at byte 72: truncated record header (10 of 16 bytes)',
  );
  const oversized = new Uint8Array(three);
  new DataView(oversized.buffer).setUint32(120 + 8, 70000, true);
  t.equal(
    errorOf(() => parsePcap(oversized, 'traffic/x.pcap')),
    'traffic/x.pcap: record 3 at byte 120: caplen 70000 exceeds snaplen 65535',
  );
  t.equal(
    errorOf(() => parsePcap(three.subarray(0, 10), 'x.pcap')),
    'x.pcap: file header at byte 0: truncated (10 of 24 bytes)',
  );
  t.equal(errorOf(() => parsePcap(new TextEncoder().encode('GIF89a, not a capture'), 'x.pcap')), 'x.pcap: not a pcap file (magic 0x47494638)');
  t.equal(errorOf(() => parsePcap(new Uint8Array(2), 'x.pcap')), 'x.pcap: not a pcap file (only 2 bytes)');

  const pcapng = join(t.testdir(), 'capture.pcapng');
  writeFileSync(pcapng, Uint8Array.from([0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a]));
  t.equal(
    errorOf(() => readPcap(pcapng)),
    `${pcapng}: pcapng is not supported, only classic pcap (magic 0x0a0d0d0a); convert it with: tcpdump -r in.pcapng -w out.pcap`,
  );

  t.equal(errorOf(() => serializePcap([{ data: bytesOf(10) }, { data: bytesOf(100) }], { snapLen: 64 })), 'packets[1]: 100 bytes exceeds snaplen 64');
  t.equal(errorOf(() => serializePcap([{ data: bytesOf(10), origLen: 9 }])), 'packets[0]: origLen 9 is less than its 10 bytes');
});

t.test('checksum matches known values', async (t) => {
  t.equal(checksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d, 'RFC 1071 example');
  const header = Uint8Array.from([0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7]);
  t.equal(checksum(header), 0xb861, 'IPv4 header 192.168.0.1 > 192.168.0.199');
  header[10] = 0xb8;
  header[11] = 0x61;
  t.equal(checksum(header), 0, 'a header with a correct checksum sums to 0');
});

interface Layers {
  tags: number[];
  etherType: number;
  l3: Uint8Array;
}

/** Splits a frame into its VLAN TPIDs, ethertype and L3 bytes (undefined for frames shorter than L2). */
function layers(frame: Uint8Array): Layers | undefined {
  const tags: number[] = [];
  let at = 12;
  while (frame.length >= at + 2) {
    const type = (frame[at] << 8) | frame[at + 1];
    if (type !== ETHERTYPE.VLAN && type !== ETHERTYPE.QINQ) return { tags, etherType: type, l3: frame.subarray(at + 2) };
    tags.push(type);
    at += 4;
  }
  return undefined;
}

/** Why a frame with the IPv4 ethertype is not valid IPv4, or undefined if it is. */
function ipv4Defect(ip: Uint8Array): string | undefined {
  const headerLen = (ip[0] & 0x0f) * 4;
  const totalLen = (ip[2] << 8) | ip[3];
  if (ip.length < 20) return 'truncated header';
  if (ip[0] >> 4 !== 4) return 'version';
  if (headerLen < 20) return 'IHL < 5';
  if (ip.length < headerLen) return 'truncated header';
  if (totalLen < headerLen) return 'total length < header';
  if (totalLen > ip.length) return 'total length > frame';
  if (checksum(ip.subarray(0, headerLen)) !== 0) return 'bad checksum';
  return undefined;
}

function ipv6Defect(ip: Uint8Array): string | undefined {
  if (ip.length < 40) return 'truncated header';
  return ip[0] >> 4 === 6 ? undefined : 'version';
}

t.test('generated traffic', async (t) => {
  const frames = generateTraffic();
  t.same(generateTraffic(), frames, 'deterministic');
  t.ok(frames.length >= 300 && frames.length <= 600, `${frames.length} frames`);

  const counts = new Map<string, number>();
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const frame of frames) {
    const l = layers(frame);
    const vlan = l?.tags.length === 2 ? 'qinq ' : l?.tags.length === 1 ? 'dot1q ' : '';
    if (l?.etherType === ETHERTYPE.IPV4) {
      const defect = ipv4Defect(l.l3);
      if (defect) count(`ipv4 malformed: ${defect}`);
      else {
        count(`${vlan}ipv4 ttl=${l.l3[8]} proto=${l.l3[9]}`);
        count(`${vlan}ipv4 ttl=${l.l3[8]}`);
        if ((l.l3[0] & 0x0f) > 5) count(`ipv4 ihl=${l.l3[0] & 0x0f}`);
        if (frame.length > 1514) count(`jumbo ${frame.length} proto=${l.l3[9]}`);
      }
    } else if (l?.etherType === ETHERTYPE.IPV6) {
      const defect = ipv6Defect(l.l3);
      if (defect) count(`ipv6 malformed: ${defect}`);
      else {
        count(`${vlan}ipv6 hop=${l.l3[7]} next=${l.l3[6]}`);
        count(`${vlan}ipv6 hop=${l.l3[7]}`);
      }
    } else if (l?.etherType === ETHERTYPE.ARP) count(`arp op=${l.l3[7]}`);
    else count(`ethertype 0x${l?.etherType.toString(16)}`);
    if (frame.length < 60) count(`short ${frame.length}`);
  }
  const at = (key: string) => counts.get(key) ?? 0;

  for (const ttl of [0, 1, 2, 3, 64, 255]) {
    for (const proto of [IPPROTO.TCP, IPPROTO.UDP, IPPROTO.ICMP]) t.ok(at(`ipv4 ttl=${ttl} proto=${proto}`) >= 6, `IPv4 TTL ${ttl} proto ${proto}`);
    for (const next of [IPPROTO.TCP, IPPROTO.UDP, IPPROTO.ICMPV6]) t.ok(at(`ipv6 hop=${ttl} next=${next}`) >= 4, `IPv6 hop ${ttl} next ${next}`);
  }
  for (let ihl = 6; ihl <= 15; ihl++) t.equal(at(`ipv4 ihl=${ihl}`), 3, `IPv4 IHL ${ihl}`);
  t.same([at('arp op=1'), at('arp op=2')], [1, 1], 'ARP request and reply');
  t.same([at('dot1q ipv4 ttl=1'), at('dot1q ipv4 ttl=64'), at('dot1q ipv6 hop=1'), at('dot1q ipv6 hop=64')], [1, 1, 1, 1]);
  t.same([at('qinq ipv4 ttl=1'), at('qinq ipv4 ttl=2'), at('qinq ipv4 ttl=64'), at('qinq ipv6 hop=64')], [1, 1, 1, 1]);
  t.same([at('jumbo 3000 proto=17'), at('jumbo 9000 proto=17')], [3, 3], 'valid IPv4 UDP jumbo frames');
  t.same(
    Object.fromEntries([...counts].filter(([key]) => /malformed|ethertype|short/.test(key)).sort()),
    {
      'ethertype 0x88b5': 2,
      'ipv4 malformed: IHL < 5': 3,
      'ipv4 malformed: bad checksum': 3,
      'ipv4 malformed: total length < header': 3,
      'ipv4 malformed: total length > frame': 3,
      'ipv4 malformed: truncated header': 7,
      'ipv4 malformed: version': 2,
      'ipv6 malformed: truncated header': 3,
      'ipv6 malformed: version': 2,
      'short 14': 2,
      'short 20': 1,
      'short 30': 2,
      'short 33': 2,
      'short 36': 1,
      'short 53': 2,
    },
    'malformed and short frames',
  );
  const sizes = frames.map((f) => f.length).filter((n) => n >= 60);
  t.same([Math.min(...sizes), Math.max(...sizes.filter((n) => n <= 1514))], [60, 1514], 'sizes span 60..1514');
});

t.test('examples/traffic.pcap is the current generator output', async (t) => {
  const file = readPcap(fileURLToPath(new URL('../examples/traffic.pcap', import.meta.url)));
  t.same(file.packets.map((p) => p.data), generateTraffic(), 'run scripts/gen-traffic to refresh it');
  t.ok(file.packets.every((p, i) => p.tsNs === 1_700_000_000_000_000_000n + BigInt(i) * 1000n), 'timestamps step 1 µs from 1700000000 s');
});

t.test('ttlStep reference', async (t) => {
  const udp4 = (ttl: number, vlans = [] as { tpid: number; vid: number }[]) =>
    ethernetFrame({ vlans, etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ ttl, protocol: IPPROTO.UDP, payload: udpDatagram({ srcPort: 1, dstPort: 2, payload: bytesOf(30) }) }) });
  const udp6 = (hopLimit: number) =>
    ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ hopLimit, nextHeader: IPPROTO.UDP, payload: udpDatagram({ srcPort: 1, dstPort: 2, payload: bytesOf(30) }) }) });

  const frame = udp4(64);
  const copy = new Uint8Array(frame);
  const one = ttlStep(frame, 1);
  t.equal(one.verdict, 'pass');
  t.equal(one.out[14 + 8], 63, 'TTL 64 -> 63');
  t.equal(checksum(one.out.subarray(14, 34)), 0, 'the new header checksum verifies');
  const changed = [...one.out.keys()].filter((i) => one.out[i] !== frame[i]);
  t.ok(changed.every((i) => [22, 24, 25].includes(i)), 'only the TTL and checksum bytes change');
  t.same(frame, copy, 'input not mutated');
  t.equal(ttlStep(frame, 3).out[14 + 8], 61, 'three steps');
  t.same(ttlStep(frame, 0), { verdict: 'pass', out: frame }, 'zero steps');

  t.equal(ttlStep(udp4(1), 1).verdict, 'drop', 'TTL 1 -> drop');
  t.equal(ttlStep(udp4(0), 1).verdict, 'drop', 'TTL 0 -> drop');
  t.same([ttlStep(udp4(2), 1).verdict, ttlStep(udp4(2), 2).verdict], ['pass', 'drop'], 'TTL 2');

  const badChecksum = udp4(1);
  badChecksum[14 + 10] ^= 0xff;
  t.same(ttlStep(badChecksum, 1), { verdict: 'pass', out: badChecksum }, 'bad checksum -> unchanged pass');

  const hop2 = udp6(2);
  t.equal(ttlStep(hop2, 1).out[14 + 7], 1, 'IPv6 hop limit 2 -> 1');
  t.equal(ttlStep(hop2, 2).verdict, 'drop', 'IPv6 hop limit 2, two steps -> drop');

  const qinq = udp4(64, [{ tpid: ETHERTYPE.QINQ, vid: 2 }, { tpid: ETHERTYPE.VLAN, vid: 3 }]);
  const stepped = ttlStep(qinq, 1).out;
  t.equal(stepped[22 + 8], 63, 'QinQ IPv4 TTL decremented');
  t.equal(checksum(stepped.subarray(22, 42)), 0, 'QinQ IPv4 checksum verifies');
  t.same(ttlStep(frame.subarray(0, 33), 5), { verdict: 'pass', out: frame.subarray(0, 33) }, 'truncated header -> unchanged pass');
  t.throws(() => ttlStep(frame, -1), RangeError);
});
