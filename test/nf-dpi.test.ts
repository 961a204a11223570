// dpi, offline: payloads with and without signatures, checked against a
// naive search over the payload as test/support/parse-reference.ts finds it.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance } from '../host/nf/instance.js';
import { NfModuleError, loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { ETHERTYPE, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, tcpSegment, udpDatagram } from './support/packets.js';
import { firstMatch, payload, type Pattern } from './support/dpi-reference.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';

const module = loadNfModule(join(REPO_ROOT, 'nf-modules/build/dpi.wasm'));
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const frames = (): Uint8Array[] => {
  const texts = ['GET /index.html HTTP/1.1', 'GET /etc/passwd HTTP/1.1', 'hello evil world', 'nothing here', 'xxevilxx',
    'cmd.exe /c dir', 'CMD.EXE', '\u00ff\u00fe binary', 'a'.repeat(1400) + 'evil', 'ev', 'il'];
  const out: Uint8Array[] = [];
  texts.forEach((text, i) => {
    const data = enc(text);
    out.push(padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ ttl: 64, protocol: 6, payload: tcpSegment({ srcPort: 1000 + i, dstPort: 80, flags: 0x18, payload: data }) }) })));
    out.push(padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ ttl: 64, protocol: 17, payload: udpDatagram({ srcPort: 2000 + i, dstPort: 53, payload: data }) }) })));
    out.push(padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ hopLimit: 64, nextHeader: 17, payload: udpDatagram({ srcPort: 3000 + i, dstPort: 53, payload: data }) }) })));
  });
  // A signature in the TCP header, not the payload: not a match.
  const hdr = tcpSegment({ srcPort: 0x6576, dstPort: 0x696c, flags: 0x18, payload: enc('clean') });
  out.push(padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ ttl: 64, protocol: 6, payload: hdr }) })));
  return out;
};

function check(t: Tap.Test, config: { patterns: { text?: string; hex?: string; action: string }[]; protocols?: string[] }, input: Uint8Array[], what: string): void {
  const patterns: Pattern[] = config.patterns.map((p) => ({ bytes: p.text !== undefined ? enc(p.text) : Buffer.from(p.hex!, 'hex'), drop: p.action === 'drop' }));
  const tcp = config.protocols === undefined || config.protocols.includes('tcp');
  const udp = config.protocols === undefined || config.protocols.includes('udp');
  const fitting = input.filter((f) => f.length <= DATA_ROOM);
  let matches = 0;
  const expected = fitting.filter((f) => {
    const p = payload(f, tcp, udp);
    const id = p === undefined ? -1 : firstMatch(patterns, p);
    if (id >= 0) matches++;
    return id < 0 || !patterns[id]!.drop;
  }).map(hex);
  const result = runOffline(fitting, [{ name: 'dpi', module, config: JSON.stringify(config) }], { log: () => {} });
  t.same(result.out.map((p) => hex(p.data)), expected, `${what}: the packets the reference lets through, in order`);
  t.equal(result.nfs[0]!.metrics['matched'], matches, `${what}: matches counted`);
}

t.test('signatures in payloads decide, as a naive search says', async (t) => {
  const cfg = {
    patterns: [
      { text: 'evil', action: 'drop' },
      { text: '/etc/passwd', action: 'drop' },
      { text: 'cmd.exe', action: 'count' },
      { text: 'ev', action: 'count' },
      { hex: 'fffe', action: 'drop' },
      { text: 'il', action: 'drop' },
    ],
  };
  check(t, cfg, frames(), 'mixed');
  check(t, { ...cfg, protocols: ['udp'] }, frames(), 'udp only');
  check(t, { patterns: [{ hex: '0000', action: 'drop' }, { text: 'E', action: 'count' }] }, inputFrames(), 'bundled traffic');
});

t.test('bad configs are refused with the field named', async (t) => {
  const refused = (config: unknown): string => {
    try {
      createNfInstance(module, 'dpi', { config: JSON.stringify(config), log: () => {} });
      return 'accepted';
    } catch (err) {
      return err instanceof NfModuleError ? err.message.replace(/^.*refused its config \(status 1\): /, '') : String(err);
    }
  };
  t.equal(refused({}), 'config: patterns: required');
  t.equal(refused({ patterns: [] }), 'config: patterns: must hold 1 to 4096 patterns');
  t.equal(refused({ patterns: [{ text: 'a', hex: '61', action: 'drop' }] }), 'config: patterns[0]: needs one of text or hex');
  t.equal(refused({ patterns: [{ hex: '6', action: 'drop' }] }), 'config: patterns[0].hex: must be an even number of hex digits');
  t.equal(refused({ patterns: [{ text: 'a', action: 'block' }] }), 'config: patterns[0].action: must be one of: count, drop');
  t.equal(refused({ patterns: [{ text: 'a', action: 'drop' }], protocols: ['sctp'] }), 'config: protocols[0]: must be tcp or udp');
});
