// firewall, offline over pcaps, checked packet by packet against the
// independent reference in test/support/firewall-reference.ts; the
// AssemblyScript NF and its C version (nf-modules/firewall-c/firewall.h) in
// both its builds, to Wasm (firewall-c, with the C SDK) and native (the bench's
// anchor), on the same traffic against the same reference. State handover is
// test/nf-state.test.ts's (a native NF exports and imports no state).
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance } from '../host/nf/instance.js';
import { loadNfModule, type NfModule } from '../host/nf/module.js';
import { NfModuleError } from '../host/nf/module.js';
import { mangledFrames, refusal, sameRefusals } from './support/native-configs.js';
import { REPO_ROOT } from './support/fixtures.js';
import { FirewallReference, type FwConfig } from './support/firewall-reference.js';
import { ETHERTYPE, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, tcpSegment, udpDatagram } from './support/packets.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';

const module = loadNfModule(join(REPO_ROOT, 'nf-modules/build/firewall.wasm'));
const NATIVE = join(REPO_ROOT, 'nf-modules/build/native/firewall.so');
const native = loadNfModule(NATIVE);
const firewallC = loadNfModule(join(REPO_ROOT, 'nf-modules/build/firewall-c.wasm'));
/** The C builds, each beside the AssemblyScript NF. */
const C_BUILDS: [string, NfModule][] = [['C', native], ['C as Wasm', firewallC]];
/** Each module with the prefix of its subtests' names (none for the AssemblyScript NF's, as before). */
const MODULES: [string, NfModule][] = [['', module], ...C_BUILDS.map(([what, nf]): [string, NfModule] => [`${what}: `, nf])];
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

function check(t: Tap.Test, cfg: FwConfig, frames: Uint8Array[], what: string, nf: NfModule = module): void {
  const fitting = frames.filter((f) => f.length <= DATA_ROOM);
  const ref = new FirewallReference(cfg);
  const expected = fitting.filter((f) => ref.decide(f)).map(hex);
  const result = runOffline(fitting, [{ name: 'fw', module: nf, config: JSON.stringify(cfg) }], { log: () => {} });
  const out = result.out.map((p) => hex(p.data));
  t.equal(out.length, expected.length, `${what}: as many packets pass as the reference lets through`);
  t.same(out, expected, `${what}: the same packets, in order`);
  t.equal(result.nfs[0]!.dropped, fitting.length - expected.length, `${what}: every other packet dropped by verdict`);
}

const MIXED: FwConfig = {
  default: 'deny',
  rules: [
    { action: 'deny', proto: 'tcp', dport: '0-1023' },
    { action: 'allow', proto: 'tcp', src: '192.0.2.0/24' },
    { action: 'allow', proto: 'udp', sport: '1024-40000', dport: '2000-65535' },
    { action: 'allow', proto: 'icmp' },
    { action: 'allow', src: '2001:db8::/32', dst: '2001:db8::2/128' },
  ],
};

for (const [prefix, nf] of MODULES) {
  t.test(`${prefix}stateless rule sets over the bundled traffic`, async (t) => {
    const traffic = inputFrames();
    check(t, { default: 'allow' }, traffic, 'allow all', nf);
    check(t, { default: 'deny' }, traffic, 'deny all', nf);
    check(t, { default: 'deny', non_ip: 'deny' }, traffic, 'deny all, non-IP too', nf);
    check(t, MIXED, traffic, 'mixed rules', nf);
    check(t, {
      default: 'allow',
      rules: [
        { action: 'deny', dst: '198.51.100.0/25' },
        { action: 'deny', proto: 58 },
        { action: 'deny', proto: 'udp', dport: 53 },
      ],
    }, traffic, 'deny rules', nf);
  });
}

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

const STATEFUL: FwConfig = {
  default: 'deny',
  stateful: true,
  rules: [
    { action: 'allow', proto: 'tcp', src: '10.0.0.0/8', dport: 80 },
    { action: 'allow', proto: 'udp', src: '10.0.0.0/8' },
    { action: 'allow', src: '2001:db8::/48' },
  ],
};

for (const [prefix, nf] of MODULES) {
  t.test(`${prefix}stateful: return traffic of allowed flows, TCP handshake and reset tracked`, async (t) => {
    const cfg = STATEFUL;
    const frames = conversation();
    const ref = new FirewallReference(cfg);
    const verdicts = frames.map((f) => ref.decide(f));
    t.same(verdicts, [false, true, false, true, true, true, true, true, false, true, false, true, true, false, true, true], 'the reference agrees with the story');
    check(t, cfg, frames, 'conversation', nf);
    const result = runOffline(frames, [{ name: 'fw', module: nf, config: JSON.stringify(cfg) }], { log: () => {} });
    t.equal(result.nfs[0]!.metrics['invalid_tcp'], 1);
    t.equal(result.nfs[0]!.metrics['allowed_by_state'], 7);
    check(t, cfg, inputFrames(), 'stateful over the bundled traffic', nf);
  });
}

// Every truncation of the bundled frames (up to 120 bytes) and random
// corruptions of their headers: parse's bounds checks (short frames, tags,
// IP headers that lie about their length, L4 headers cut off) decide here.
const mangled = (): Uint8Array[] => mangledFrames(4242);

for (const [prefix, nf] of MODULES) {
  t.test(`${prefix}truncated and corrupted frames, stateless and stateful`, async (t) => {
    const frames = mangled();
    check(t, MIXED, frames, 'mixed rules', nf);
    check(t, { default: 'allow', non_ip: 'deny', rules: [{ action: 'deny', proto: 'udp', sport: 53 }, { action: 'deny', src: '10.0.0.0/8' }] }, frames, 'deny rules', nf);
    check(t, STATEFUL, frames, 'stateful', nf);
  });
}

// Addresses spread around the rules' prefixes (random bits flipped in a few
// bases), IPv4 and IPv6, TCP, UDP and ICMP: prefixes of many lengths decide.
function varied(): Uint8Array[] {
  let seed = 777;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const v4 = (base: number[]): string => {
    const b = Uint8Array.from(base);
    for (let k = rand(3); k >= 0; k--) { const bit = rand(32); b[bit >> 3]! ^= 0x80 >> (bit & 7); }
    return Array.from(b).join('.');
  };
  const v6 = (base: number[]): string => {
    const b = Uint8Array.from(base);
    for (let k = rand(3); k >= 0; k--) { const bit = rand(128); b[bit >> 3]! ^= 0x80 >> (bit & 7); }
    return Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
  };
  const B4 = [[10, 1, 2, 200], [10, 1, 0, 7], [11, 0, 0, 1], [192, 0, 2, 1]];
  const B6 = [[0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, 0, 0x12, 0x80, 0, 0, 0, 0, 0, 0, 1], [0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]];
  const out: Uint8Array[] = [];
  for (let i = 0; i < 600; i++) {
    const six = rand(3) === 0;
    const src = six ? v6(B6[rand(2)]!) : v4(B4[rand(4)]!);
    const dst = six ? v6(B6[rand(2)]!) : v4(B4[rand(4)]!);
    const proto = [6, 17, six ? 58 : 1][rand(3)]!;
    const sp = rand(3) === 0 ? 53 : rand(65536), dp = rand(2) === 0 ? 80 + rand(3) : rand(65536);
    const payload = proto === 6 ? tcpSegment({ srcPort: sp, dstPort: dp, flags: [0x02, 0x10, 0x12, 0x04][rand(4)] }) : proto === 17 ? udpDatagram({ srcPort: sp, dstPort: dp }) : new Uint8Array(8);
    out.push(padFrame(ethernetFrame(six
      ? { etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ src, dst, hopLimit: 64, nextHeader: proto, payload }) }
      : { etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: proto, payload }) })));
  }
  return out;
}

const PREFIXES: FwConfig = {
  default: 'deny',
  rules: [
    { action: 'deny', proto: 'udp', src: '10.1.2.128/25' },
    { action: 'allow', dst: '10.1.0.0/16', dport: '80-81', proto: 'tcp' },
    { action: 'allow', src: '10.0.0.0/7', dst: '192.0.2.1/32' },
    { action: 'deny', src: '0.0.0.0/0', dst: '11.0.0.0/9' },
    { action: 'allow', src: '2001:db8:abcd:12::/64', proto: 'udp' },
    { action: 'deny', dst: '2001:db8:abcd:12:8000::/65' },
    { action: 'allow', src: '2001:db8::/31', dst: '2001:db8:abcd:12:8000::/97' },
    { action: 'allow', dst: '2001:db9::2/127' },
    { action: 'deny', src: '::/0', proto: 'icmpv6' },
    { action: 'allow', proto: 'tcp', sport: 53 },
    { action: 'allow', src: '2001:db8:abcd:12:8000::1/128' },
  ],
};

for (const [prefix, nf] of MODULES) {
  t.test(`${prefix}prefixes of many lengths, stateless and stateful`, async (t) => {
    const frames = varied();
    const ref = new FirewallReference(PREFIXES);
    const passing = frames.filter((f) => ref.decide(f)).length;
    t.ok(passing > 50 && passing < frames.length - 50, `the reference lets ${passing} of ${frames.length} through`);
    check(t, PREFIXES, frames, 'prefixes', nf);
    check(t, { ...PREFIXES, default: 'allow' }, frames, 'prefixes, default allow', nf);
    check(t, { ...PREFIXES, stateful: true }, frames, 'prefixes, stateful', nf);
  });
}

t.test('C and Wasm: the same packets out for port ranges as I32.parseInt reads them', async (t) => {
  const cfg = {
    default: 'deny',
    rules: [
      { action: 'allow', proto: 'udp', sport: ' +50-0x40' },
      { action: 'allow', proto: 'tcp', dport: 'abc-80' },
      { action: 'allow', proto: 'udp', dport: '10000x-0o177777 ' },
    ],
  };
  for (const frames of [varied(), inputFrames()]) {
    const run = (nf: NfModule): string[] => runOffline(frames, [{ name: 'fw', module: nf, config: JSON.stringify(cfg) }], { log: () => {} }).out.map((p) => hex(p.data));
    const wasm = run(module);
    t.ok(wasm.length > 0 && wasm.length < frames.length, `some pass (${wasm.length} of ${frames.length})`);
    for (const [what, nf] of C_BUILDS) t.same(run(nf), wasm, `${what}: the same packets`);
  }
});

t.test('C and Wasm: a key given twice, the last value wins', async (t) => {
  const config = '{"default":"deny","rules":[{"action":"deny","action":"allow","proto":"udp"}],"default":"allow","non_ip":"deny"}';
  const frames = inputFrames().filter((f) => f.length <= DATA_ROOM);
  const run = (nf: NfModule): string[] => runOffline(frames, [{ name: 'fw', module: nf, config }], { log: () => {} }).out.map((p) => hex(p.data));
  const expected = frames.filter((f) => new FirewallReference({ default: 'allow', non_ip: 'deny', rules: [{ action: 'allow', proto: 'udp' }] }).decide(f)).map(hex);
  t.same(run(module), expected, 'Wasm');
  for (const [what, nf] of C_BUILDS) t.same(run(nf), expected, what);
});

t.test('C and Wasm: the same metrics, also with a full flow table', async (t) => {
  // A table of 8 flows, 40 flows offered (the rest untracked) and returned;
  // then RSTs free slots that later flows take (the free list's order).
  const udp = (src: string, dst: string, sport: number, dport: number): Uint8Array =>
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 17, payload: udpDatagram({ srcPort: sport, dstPort: dport }) }) }));
  const tcp = (src: string, dst: string, sport: number, dport: number, flags: number): Uint8Array =>
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 6, payload: tcpSegment({ srcPort: sport, dstPort: dport, flags }) }) }));
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) frames.push(udp(`10.0.${i}.1`, '192.0.2.9', 1000 + i, 53));
  for (let i = 0; i < 40; i++) frames.push(udp('192.0.2.9', `10.0.${i}.1`, 53, 1000 + i));
  frames.push(tcp('10.9.9.9', '192.0.2.80', 5000, 80, 0x02), tcp('192.0.2.80', '10.9.9.9', 80, 5000, 0x04));
  for (let i = 40; i < 44; i++) frames.push(udp(`10.0.${i}.1`, '192.0.2.9', 1000 + i, 53), udp('192.0.2.9', `10.0.${i}.1`, 53, 1000 + i));
  const cfgs: unknown[] = [
    { default: 'deny', stateful: true, flows: 8, rules: [{ action: 'allow', src: '10.0.0.0/8' }] },
    { default: 'deny', stateful: true, flows: 5, timeout_s: 3600, rules: [{ action: 'allow', proto: 'tcp', src: '10.0.0.0/8' }, { action: 'allow', proto: 17, sport: '1000-1019' }] },
  ];
  for (const cfg of cfgs) {
    for (const batch of [frames, [...frames, ...inputFrames()]]) {
      const run = (nf: NfModule): { out: string[]; metrics: Record<string, number> } => {
        const r = runOffline(batch, [{ name: 'fw', module: nf, config: JSON.stringify(cfg) }], { log: () => {} });
        return { out: r.out.map((p) => hex(p.data)), metrics: r.nfs[0]!.metrics };
      };
      const wasm = run(module);
      for (const [what, nf] of C_BUILDS) {
        const c = run(nf);
        t.same(c.out, wasm.out, `${what}: the same packets out`);
        t.same(c.metrics, wasm.metrics, `${what}: the same metrics, flows included`);
      }
    }
  }
  const m = runOffline(frames, [{ name: 'fw', module: native, config: JSON.stringify(cfgs[0]) }], { log: () => {} }).nfs[0]!.metrics;
  t.ok(m['untracked']! > 0 && m['flows'] === 8, `a full table: ${m['untracked']} untracked, ${m['flows']} flows`);
});

for (const [prefix, nf] of [['', module], ['C as Wasm: ', firewallC]] as const) t.test(`${prefix}bad configs are refused with the field named`, async (t) => {
  const refused = (config: unknown): string => {
    try {
      createNfInstance(nf, 'fw', { config: JSON.stringify(config), log: () => {} });
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

// What the Wasm NF refuses (the field it names) or accepts, the C one too.
const CONFIGS: [unknown, string | undefined][] = [
  [{ rules: [] }, 'default'],
  [{ default: 'maybe' }, 'default'],
  [{ default: 5 }, 'default'],
  [{ default: 'deny', rules: [{ action: 'allow', dport: 80 }] }, 'rules[0]'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'tcp', dport: '90-80' }] }, 'rules[0].dport'],
  [{ default: 'deny', rules: [{ action: 'allow', src: '10.0.0.1/8' }] }, 'rules[0].src'],
  [{ default: 'deny', rules: [{ action: 'allow', src: '10.0.0.0/8', dst: '2001:db8::/32' }] }, 'rules[0]'],
  [{ default: 'deny', rulez: [] }, 'rulez'],
  [{ default: 'deny', stateful: true, flows: 1000, rules: [{ action: 'allow', proto: 'icmp' }] }, undefined],
  [{ default: 'deny', non_ip: 'drop' }, 'non_ip'],
  [{ default: 'deny', stateful: 1 }, 'stateful'],
  [{ default: 'deny', flows: 0 }, 'flows'],
  [{ default: 'deny', flows: 8388609 }, 'flows'],
  [{ default: 'deny', flows: 2.5 }, 'flows'],
  [{ default: 'deny', flows: 8388608, stateful: false }, undefined],
  [{ default: 'deny', timeout_s: 0 }, 'timeout_s'],
  [{ default: 'deny', timeout_s: 604801 }, 'timeout_s'],
  [{ default: 'deny', timeout_s: 0.5 }, undefined],
  [{ default: 'deny', rules: {} }, 'rules'],
  [{ default: 'deny', rules: null, non_ip: null, stateful: null, flows: null, timeout_s: null }, undefined],
  [{ default: null }, 'default'],
  [{ default: 'deny', rules: [null] }, 'rules[0]'],
  [{ default: 'deny', rules: [5] }, 'rules[0]'],
  [{ default: 'deny', rules: [{}] }, 'rules[0].action'],
  [{ default: 'deny', rules: [{ action: 'allow', port: 80 }] }, 'rules[0].port'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'sctp' }] }, 'rules[0].proto'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 256 }] }, 'rules[0].proto'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 6.5 }] }, 'rules[0].proto'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: null }] }, 'rules[0].proto'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'any', src: null, dst: '' }] }, undefined],
  [{ default: 'deny', rules: [{ action: 'allow', src: 5 }] }, 'rules[0].src'],
  [{ default: 'deny', rules: [{ action: 'allow', src: '10.0.0.0/33' }] }, 'rules[0].src'],
  [{ default: 'deny', rules: [{ action: 'allow', src: '10.0.0.0/+8' }] }, 'rules[0].src'],
  [{ default: 'deny', rules: [{ action: 'allow', src: '10.0.0.0/0008' }] }, 'rules[0].src'],
  [{ default: 'deny', rules: [{ action: 'allow', src: '010.0.0.0/8' }] }, 'rules[0].src'],
  [{ default: 'deny', rules: [{ action: 'allow', dst: '2001:db8::1/64' }] }, 'rules[0].dst'],
  [{ default: 'deny', rules: [{ action: 'allow', dst: '::ffff:10.0.0.0/104' }] }, undefined],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: 65536 }] }, 'rules[0].sport'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: -1 }] }, 'rules[0].sport'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: null }] }, 'rules[0].sport'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: '80' }] }, 'rules[0].sport'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: '1-2-3' }] }, 'rules[0].sport'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: '-80' }] }, 'rules[0].sport'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: '80-' }] }, 'rules[0].sport'],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: '0-65536' }] }, 'rules[0].sport'],
  // I32.parseInt's reading of the two ends: accepted by the Wasm NF, so by the C one.
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: ' +80-0x100' }] }, undefined],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: 'abc-80' }] }, undefined],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', sport: '80x-90 ' }] }, undefined],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'udp', dport: 80.0 }] }, undefined],
  [{ default: 'deny', rules: [{ action: 'allow', proto: 'tcp', dport: 80.5 }] }, 'rules[0].dport'],
];

t.test('C: bad configs are refused with the field named, as the Wasm NF refuses them', async (t) => {
  sameRefusals(t, 'fw', module, native, CONFIGS);
  t.equal(refusal(native, 'fw', undefined), `${NATIVE}: fw: a config is required (default is)`, 'no config');
});

t.test('C as Wasm: every config refused with the very message of the AssemblyScript NF', async (t) => {
  const reason = (nf: NfModule, config: unknown): string => refusal(nf, 'fw', config).replace(`${nf.path}: `, '');
  for (const [config] of CONFIGS) t.equal(reason(firewallC, config), reason(module, config), JSON.stringify(config));
  t.equal(refusal(firewallC, 'fw', undefined), 'accepted', 'no config: accepted (it then denies all, as the AssemblyScript NF does)');
  for (const text of ['{"default":"deny",}', '{"default":"deny"', '[1,]', '{"default":"deny"} x', '{"default":"\\q"}', '{"default":01}', `${'['.repeat(70)}${']'.repeat(70)}`]) {
    let why = '';
    try {
      createNfInstance(firewallC, 'fw', { config: text, log: () => {} });
    } catch (err) {
      why = (err as Error).message;
    }
    t.match(why, /refused its config \(status 1\): config: invalid JSON at \d+: /, `not JSON, refused: ${text.slice(0, 24)}`);
  }
});
