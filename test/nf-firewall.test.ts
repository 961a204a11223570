// firewall, offline over pcaps, checked packet by packet against the
// independent reference in test/support/firewall-reference.ts.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance } from '../host/nf/instance.js';
import { loadNfModule } from '../host/nf/module.js';
import { NfModuleError } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { FirewallReference, type FwConfig } from './support/firewall-reference.js';
import { ETHERTYPE, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, tcpSegment, udpDatagram } from './support/packets.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';

const module = loadNfModule(join(REPO_ROOT, 'nf-modules/build/firewall.wasm'));
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

function check(t: Tap.Test, cfg: FwConfig, frames: Uint8Array[], what: string): void {
  const fitting = frames.filter((f) => f.length <= DATA_ROOM);
  const ref = new FirewallReference(cfg);
  const expected = fitting.filter((f) => ref.decide(f)).map(hex);
  const result = runOffline(fitting, [{ name: 'fw', module, config: JSON.stringify(cfg) }], () => {});
  const out = result.out.map((p) => hex(p.data));
  t.equal(out.length, expected.length, `${what}: as many packets pass as the reference lets through`);
  t.same(out, expected, `${what}: the same packets, in order`);
  t.equal(result.nfs[0]!.dropped, fitting.length - expected.length, `${what}: every other packet dropped by verdict`);
}

t.test('stateless rule sets over the bundled traffic', async (t) => {
  const traffic = inputFrames();
  check(t, { default: 'allow' }, traffic, 'allow all');
  check(t, { default: 'deny' }, traffic, 'deny all');
  check(t, { default: 'deny', non_ip: 'deny' }, traffic, 'deny all, non-IP too');
  check(t, {
    default: 'deny',
    rules: [
      { action: 'deny', proto: 'tcp', dport: '0-1023' },
      { action: 'allow', proto: 'tcp', src: '192.0.2.0/24' },
      { action: 'allow', proto: 'udp', sport: '1024-40000', dport: '2000-65535' },
      { action: 'allow', proto: 'icmp' },
      { action: 'allow', src: '2001:db8::/32', dst: '2001:db8::2/128' },
    ],
  }, traffic, 'mixed rules');
  check(t, {
    default: 'allow',
    rules: [
      { action: 'deny', dst: '198.51.100.0/25' },
      { action: 'deny', proto: 58 },
      { action: 'deny', proto: 'udp', dport: 53 },
    ],
  }, traffic, 'deny rules');
});

const conversation = (): Uint8Array[] => {
  const tcp = (src: string, dst: string, sport: number, dport: number, flags: number): Uint8Array =>
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 6, payload: tcpSegment({ srcPort: sport, dstPort: dport, flags }) }) }));
  const udp = (src: string, dst: string, sport: number, dport: number): Uint8Array =>
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 17, payload: udpDatagram({ srcPort: sport, dstPort: dport }) }) }));
  const SYN = 0x02, ACK = 0x10, SYNACK = 0x12, RST = 0x04, FIN = 0x01;
  const c = '10.0.0.5', s = '192.0.2.80';
  return [
    tcp(s, c, 80, 40000, SYN),            // unsolicited from outside: denied
    tcp(c, s, 40000, 80, SYN),            // opens a flow
    tcp(s, c, 80, 40000, ACK),            // not a SYN+ACK yet: invalid
    tcp(s, c, 80, 40000, SYNACK),         // return traffic: allowed by state
    tcp(c, s, 40000, 80, ACK),
    tcp(s, c, 80, 40000, ACK | 0x08),     // data back
    tcp(c, s, 40000, 80, FIN | ACK),
    tcp(s, c, 80, 40000, RST),            // ends the flow
    tcp(s, c, 80, 40000, ACK),            // after RST: no flow, the rules deny it
    tcp(c, s, 40001, 80, ACK),            // mid-stream from inside: allowed by the rule, not tracked
    tcp(s, c, 80, 40001, ACK),            // its "return": no flow, denied
    udp(c, '198.51.100.53', 5353, 53),    // UDP out: flow
    udp('198.51.100.53', c, 53, 5353),    // UDP back: allowed by state
    udp('198.51.100.53', c, 53, 5354),    // another port: denied
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ src: '2001:db8::5', dst: '2001:db8:1::1', hopLimit: 64, nextHeader: 17, payload: udpDatagram({ srcPort: 1000, dstPort: 2000 }) }) })),
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ src: '2001:db8:1::1', dst: '2001:db8::5', hopLimit: 64, nextHeader: 17, payload: udpDatagram({ srcPort: 2000, dstPort: 1000 }) }) })),
  ];
};

t.test('stateful: return traffic of allowed flows, TCP handshake and reset tracked', async (t) => {
  const cfg: FwConfig = {
    default: 'deny',
    stateful: true,
    rules: [
      { action: 'allow', proto: 'tcp', src: '10.0.0.0/8', dport: 80 },
      { action: 'allow', proto: 'udp', src: '10.0.0.0/8' },
      { action: 'allow', src: '2001:db8::/48' },
    ],
  };
  const frames = conversation();
  const ref = new FirewallReference(cfg);
  const verdicts = frames.map((f) => ref.decide(f));
  t.same(verdicts, [false, true, false, true, true, true, true, true, false, true, false, true, true, false, true, true], 'the reference agrees with the story');
  check(t, cfg, frames, 'conversation');
  const result = runOffline(frames, [{ name: 'fw', module, config: JSON.stringify(cfg) }], () => {});
  t.equal(result.nfs[0]!.metrics['invalid_tcp'], 1);
  t.equal(result.nfs[0]!.metrics['allowed_by_state'], 7);
  check(t, cfg, inputFrames(), 'stateful over the bundled traffic');
});

t.test('bad configs are refused with the field named', async (t) => {
  const refused = (config: unknown): string => {
    try {
      createNfInstance(module, 'fw', { config: JSON.stringify(config), log: () => {} });
      return 'accepted';
    } catch (err) {
      return err instanceof NfModuleError ? err.message.replace(/^.*refused its config \(status 1\): /, '') : String(err);
    }
  };
  t.equal(refused({ rules: [] }), 'config: default: required');
  t.equal(refused({ default: 'maybe' }), 'config: default: must be one of: deny, allow');
  t.match(refused({ default: 'deny', rules: [{ action: 'allow', dport: 80 }] }), 'config: rules[0]: sport and dport need proto tcp or udp');
  t.match(refused({ default: 'deny', rules: [{ action: 'allow', proto: 'tcp', dport: '90-80' }] }), 'config: rules[0].dport: must be a port (0-65535) or a range "lo-hi"');
  t.match(refused({ default: 'deny', rules: [{ action: 'allow', src: '10.0.0.1/8' }] }), "config: rules[0].src: '10.0.0.1/8' is not an IPv4 or IPv6 prefix");
  t.match(refused({ default: 'deny', rules: [{ action: 'allow', src: '10.0.0.0/8', dst: '2001:db8::/32' }] }), 'config: rules[0]: src and dst are of different IP versions');
  t.match(refused({ default: 'deny', rulez: [] }), 'config: rulez: unknown key');
  t.equal(refused({ default: 'deny', stateful: true, flows: 1000, rules: [{ action: 'allow', proto: 'icmp' }] }), 'accepted');
});
