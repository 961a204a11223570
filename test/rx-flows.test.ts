// netvm run --rx-flows: a generated source. Received IPv4 packets leave with
// their source rewritten to 10.0.0.0 + i (TCP, UDP: port 1024 + i), i cycling
// through n, and every checksum as if built that way; other packets pass
// untouched.
import t from 'tap';
import { join } from 'node:path';
import { writePcap } from '../host/pcap/index.js';
import { flowFrame } from '../bench/traffic.js';
import { ETHERTYPE, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, tcpSegment, udpDatagram } from './support/packets.js';
import { runNetvm, tempDir } from './support/netvm.js';
import { outputFrames } from './support/pcap-ports.js';
import { REPO_ROOT } from './support/fixtures.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const udp4 = (src: string, srcPort = 4000, vlan = false): Uint8Array => padFrame(ethernetFrame({
  etherType: ETHERTYPE.IPV4, ...(vlan && { vlans: [{ tpid: ETHERTYPE.VLAN, vid: 5 }] }),
  payload: ipv4Packet({ src, dst: '192.0.2.9', ttl: 64, protocol: 17, payload: udpDatagram({ srcPort, dstPort: 53, payload: Uint8Array.of(1, 2, 3) }) }),
}));
const tcp4 = (src: string, srcPort = 5000): Uint8Array => padFrame(ethernetFrame({
  etherType: ETHERTYPE.IPV4,
  payload: ipv4Packet({ src, dst: '192.0.2.9', ttl: 64, protocol: 6, payload: tcpSegment({ srcPort, dstPort: 80, flags: 0x18, payload: Uint8Array.of(9, 9) }) }),
}));
const udp6 = padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ src: '2001:db8::1', dst: '2001:db8::2', hopLimit: 9, nextHeader: 17, payload: udpDatagram({ srcPort: 1, dstPort: 2 }) }) }));

t.test('sources cycle through n flows with every checksum right; the rest untouched', async (t) => {
  const dir = tempDir();
  const input = [udp4('172.16.5.5'), tcp4('172.16.5.6'), udp6, flowFrame(77, 64), udp4('172.16.5.7', 4000, true), udp4('198.51.100.1'), tcp4('198.51.100.2')];
  // Source i for each untagged IPv4 packet in turn (3 of them): 0, 1, -, 2, -, 0, 1. The bench's
  // frame (UDP without a checksum) is exactly the bench's flow 2.
  const expected = [udp4('10.0.0.0', 1024), tcp4('10.0.0.1', 1025), udp6, flowFrame(2, 64), input[4]!, udp4('10.0.0.0', 1024), tcp4('10.0.0.1', 1025)];
  writePcap(join(dir, 'in.pcap'), input.map((data) => ({ data })));
  const r = await runNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { fwd: { module: join(REPO_ROOT, 'nf-modules/build/forward.wasm') } },
    chains: [{ from: 'in', through: ['fwd'], to: 'out' }],
  }, ['--until-idle', '300', '--control', 'off', '--rx-flows', '3'], dir);
  t.equal(r.code, 0, r.stderr);
  t.same(outputFrames(dir).map(hex), expected.map(hex), 'each frame as built with its new source');
});

t.test('--rx-flows out of range is refused before anything starts', async (t) => {
  const r = await runNetvm({
    cores: { poll: 1, workers: [0] }, ports: { a: 'net_null0' }, nfs: {}, chains: [{ from: 'a', through: [], to: 'a' }],
  }, ['--duration', '1', '--rx-flows', '16777217']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--rx-flows: '16777217' is not a whole number from 1 to 16777216/);
});
