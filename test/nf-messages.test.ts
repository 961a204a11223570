// Messages between NFs (issue 20), offline: dpi tells the firewall of a
// matching flow and the firewall drops the rest of it, both ways, while other
// flows pass; a hostile sender that sends without end is bounded, counted on
// both sides, and the chain forwards every packet all the same.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { loadNfModule } from '../host/nf/module.js';
import { MAILBOX_ROOM } from '../host/chain/mailroom.js';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { ETHERTYPE, ethernetFrame, ipv4Packet, padFrame, tcpSegment } from './support/packets.js';

const built = (name: string) => loadNfModule(join(REPO_ROOT, 'nf-modules/build', `${name}.wasm`));
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

const tcp = (src: string, sport: number, dst: string, dport: number, text = ''): Uint8Array =>
  padFrame(ethernetFrame({
    etherType: ETHERTYPE.IPV4,
    payload: ipv4Packet({ src, dst, ttl: 64, protocol: 6, payload: tcpSegment({ srcPort: sport, dstPort: dport, flags: 0x18, payload: Buffer.from(text) }) }),
  }));

t.test('dpi -> firewall: after a match, the firewall drops the rest of that flow, both ways; other flows pass', async (t) => {
  // Three flows, interleaved; flow A carries the signature in its 5th packet.
  const frames: Uint8Array[] = [];
  const isA: boolean[] = [];
  for (let i = 0; i < 12; i++) {
    const a = i === 4 ? 'GET /attack HTTP/1.1' : 'hello';
    frames.push(i % 2 === 0 ? tcp('10.0.0.1', 40000, '198.51.100.1', 80, a) : tcp('198.51.100.1', 80, '10.0.0.1', 40000, 'reply'));
    isA.push(true);
    frames.push(tcp('10.0.0.2', 40001, '198.51.100.1', 80, 'hello'), tcp('10.0.0.1', 40002, '198.51.100.1', 80, 'hello'));
    isA.push(false, false);
  }
  const hit = frames.findIndex((f) => Buffer.from(f).includes('attack'));
  // One packet a burst (a clock tick each): a message reaches the firewall before its next burst.
  const timesNs = frames.map((_, i) => BigInt(1e9 + i * 1000));
  const result = runOffline(frames, [
    { name: 'dpi', module: built('dpi'), config: JSON.stringify({ patterns: [{ text: 'attack', action: 'count' }], notify: 'fw', block_s: 60 }) },
    { name: 'fw', module: built('firewall'), config: JSON.stringify({ default: 'allow' }) },
  ], { timesNs, log: () => {} });
  const expected = frames.filter((_, i) => !(isA[i] && i >= hit)).map(hex);
  t.same(result.out.map((p) => hex(p.data)), expected, 'every packet of flow A from the match on is dropped, both ways; the rest pass, in order');
  const [dpi, fw] = result.nfs;
  t.equal(dpi!.metrics['notified'], 1, 'dpi sent one flow message');
  t.equal(dpi!.messages_sent, 1);
  t.equal(fw!.messages_received, 1, 'the firewall took it');
  t.equal(fw!.metrics['denied_by_block'], frames.length - expected.length, 'and counted each packet it dropped for it');
  t.equal(result.chain.in, result.chain.out + result.chain.dropped, 'in = out + counted drops');
  t.equal(result.chain.dropped, frames.length - expected.length);
});

t.test('dpi refuses a notify target that is not in its chain', async (t) => {
  t.throws(() => runOffline([], [{ name: 'dpi', module: built('dpi'), config: JSON.stringify({ patterns: [{ text: 'x', action: 'count' }], notify: 'fw' }) }], { log: () => {} }),
    { message: /config: notify: no other NF 'fw' in this chain/ });
});

t.test('a sender that sends without end is bounded and counted, and the chain forwards every packet', async (t) => {
  const frames = Array.from({ length: 3000 }, (_, i) => tcp(`10.1.${i >> 8}.${i & 255}`, 1000 + (i % 5000), '198.51.100.9', 443, 'x'));
  const result = runOffline(frames, [
    { name: 'flood', module: loadNfModule(await fixtureNf('flood')) },
    { name: 'sink', module: loadNfModule(await fixtureNf('sink')) },
  ], { log: () => {} });
  t.equal(result.out.length, frames.length, 'every packet forwarded');
  const [flood, sink] = result.nfs;
  const tried = flood!.messages_sent + flood!.messages_dropped;
  t.ok(flood!.messages_sent > 0 && flood!.messages_dropped > 0, `sent ${flood!.messages_sent}, dropped ${flood!.messages_dropped}`);
  t.equal(sink!.messages_received, flood!.messages_sent, 'every message sent was delivered');
  t.equal(sink!.metrics['messages'], flood!.messages_sent, 'and read by the receiver');
  t.equal(sink!.metrics['message_bytes'], 16 * flood!.messages_sent);
  t.equal(sink!.metrics['zero_messages'], 0, 'each one the bytes its sender wrote');
  t.ok(sink!.mailbox_full > 0, `its mailbox was full ${sink!.mailbox_full} times (room ${MAILBOX_ROOM})`);
  t.ok(tried >= 2 * frames.length, `${tried} messages tried for ${frames.length} packets (and the held ones refused)`);
});
