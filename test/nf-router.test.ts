// router, offline, checked packet by packet against an independent reference:
// longest prefix by linear scan, TTL/hop limit step with the IPv4 checksum
// recomputed from scratch, MAC rewrite, output port. Then a table of 1M
// IPv4 routes loaded from a file. The Wasm NF and its C version
// (nf-modules/native/router.c, the bench's anchor) on the same traffic
// against the same reference; nothing of it is skipped for the C version.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance } from '../host/nf/instance.js';
import { NfModuleError, loadNfModule, type NfModule } from '../host/nf/module.js';
import { readPcap, writePcap } from '../host/pcap/index.js';
import { netvm } from './support/cli.js';
import { mangledFrames, refusal, sameRefusals } from './support/native-configs.js';
import { REPO_ROOT } from './support/fixtures.js';
import { tempDir } from './support/netvm.js';
import { ETHERTYPE, arpPacket, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, udpDatagram } from './support/packets.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';
import { route, type Route, type RouterConfig } from './support/router-reference.js';

const MODULE = join(REPO_ROOT, 'nf-modules/build/router.wasm');
const module = loadNfModule(MODULE);
const NATIVE = join(REPO_ROOT, 'nf-modules/build/native/router.so');
const native = loadNfModule(NATIVE);
/** Each module with the prefix of its subtests' names (none for the Wasm NF's, as before). */
const MODULES: [string, NfModule][] = [['', module], ['C: ', native]];
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

const udp4 = (dst: string, ttl = 64): Uint8Array =>
  padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ dst, ttl, protocol: 17, payload: udpDatagram({ srcPort: 1, dstPort: 2 }) }) }));
const udp6 = (dst: string, hopLimit = 64): Uint8Array =>
  padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ dst, hopLimit, nextHeader: 17, payload: udpDatagram({ srcPort: 1, dstPort: 2 }) }) }));

const CFG: RouterConfig = {
  next_hops: [
    { port: 1, mac: '02:00:00:00:01:01', src_mac: '02:00:00:00:00:fe' },
    { port: 0, mac: '02:00:00:00:02:02' },
    { port: 1, mac: '02:00:00:00:03:03' },
  ],
  routes: [
    { prefix: '0.0.0.0/0', via: 1 },
    { prefix: '10.0.0.0/8', via: 0 },
    { prefix: '10.1.0.0/16', via: 2 },
    { prefix: '10.1.2.128/25', via: 1 },
    { prefix: '10.1.2.129/32', via: 0 },
    { prefix: '192.0.2.0/24', via: 2 },
    { prefix: '2001:db8::/32', via: 0 },
    { prefix: '2001:db8:1::/48', via: 2 },
    { prefix: '2001:db8:1::1/128', via: 1 },
  ],
};

function frames(): Uint8Array[] {
  const v4 = ['10.9.9.9', '10.1.9.9', '10.1.2.1', '10.1.2.130', '10.1.2.129', '192.0.2.77', '198.51.100.1', '11.0.0.1'];
  const v6 = ['2001:db8::5', '2001:db8:1::2', '2001:db8:1::1', '2001:db9::1', 'fe80::1'];
  const out: Uint8Array[] = [];
  for (const d of v4) out.push(udp4(d), udp4(d, 1), udp4(d, 2));
  for (const d of v6) out.push(udp6(d), udp6(d, 1));
  const bad = udp4('10.1.2.3');
  bad[24] ^= 0xff; // header checksum broken
  out.push(bad, padFrame(ethernetFrame({ etherType: ETHERTYPE.ARP, payload: arpPacket({ op: 1, senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.2' }) })));
  return out;
}

function check(t: Tap.Test, cfg: RouterConfig, input: Uint8Array[], what: string, nf: NfModule = module): void {
  const expected = input.map((f) => route(cfg, f)).filter((r) => r !== undefined);
  const result = runOffline(input, [{ name: 'router', module: nf, config: JSON.stringify(cfg) }], { log: () => {} });
  t.same(result.out.map((p) => ({ port: p.port, data: hex(p.data) })), expected, `${what}: the packets out, rewritten, by the right port`);
}

for (const [prefix, nf] of MODULES) {
  t.test(`${prefix}longest prefix, TTL step, MAC rewrite, port`, async (t) => {
    check(t, CFG, frames(), 'crafted', nf);
    check(t, { ...CFG, non_ip: 'pass' }, frames(), 'non-IP passed on', nf);
    const result = runOffline(frames(), [{ name: 'router', module: nf, config: JSON.stringify(CFG) }], { log: () => {} });
    const m = result.nfs[0]!.metrics;
    t.equal(m['ttl_expired'], 13, 'TTL/hop limit 1, every destination');
    t.equal(m['malformed'], 1);
    t.equal(m['non_ip'], 1);
    t.equal(m['no_route'], 2, 'the two IPv6 destinations no route covers');
  });

  t.test(`${prefix}egress next: routed packets go on along the chain, rewritten the same`, async (t) => {
    const expected = frames().map((f) => route(CFG, f)).filter((r) => r !== undefined).map((r) => r!.data);
    const result = runOffline(frames(), [{ name: 'router', module: nf, config: JSON.stringify({ ...CFG, egress: 'next' }) }], { log: () => {} });
    t.same(result.out.map((p) => hex(p.data)), expected, 'the same packets, the same bytes, in order');
    t.ok(result.out.every((p) => p.port === 1), "all by the chain's exit");
    t.equal(result.nfs[0]!.out, 0, 'none sent out by the router itself');
  });
}

// The bundled traffic (tags, IPv6, bad headers), every truncation of its
// frames (up to 120 bytes) and random corruptions of their headers: parse's
// bounds checks, the checksum check and truncated IP headers decide here.
const mangled = (): Uint8Array[] => mangledFrames(99);

// Random routes of every length, IPv4 and IPv6 (some duplicates: the last
// wins), and destinations near them (random bits of a route's prefix flipped).
function randomTable(): { cfg: RouterConfig; input: Uint8Array[] } {
  let seed = 31337;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const bases4 = [[10, 1, 2, 3], [10, 200, 7, 1], [172, 16, 5, 9]];
  const bases6 = [[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22], [0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]];
  const flip = (b: Uint8Array, n: number): void => {
    for (let k = rand(3); k >= 0; k--) { const bit = rand(n); b[bit >> 3]! ^= 0x80 >> (bit & 7); }
  };
  const masked = (b: Uint8Array, len: number): Uint8Array => b.map((x, i) => (len >= 8 * (i + 1) ? x : len <= 8 * i ? 0 : x & (0xff00 >> (len - 8 * i))));
  const text4 = (b: Uint8Array): string => Array.from(b).join('.');
  const text6 = (b: Uint8Array): string => Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
  const routes: Route[] = [];
  for (let i = 0; i < 300; i++) {
    const six = rand(2) === 0;
    const b = Uint8Array.from(six ? bases6[rand(2)]! : bases4[rand(3)]!);
    flip(b, six ? 128 : 32);
    const len = six ? (rand(2) ? rand(129) : 16 + rand(60)) : (rand(2) ? rand(33) : 20 + rand(13));
    routes.push({ prefix: `${six ? text6(masked(b, len)) : text4(masked(b, len))}/${len}`, via: rand(4) });
  }
  for (let i = 0; i < 20; i++) routes.push({ ...routes[rand(routes.length)]!, via: rand(4) });
  const input: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    const six = rand(2) === 0;
    const b = Uint8Array.from(six ? bases6[rand(2)]! : bases4[rand(3)]!);
    flip(b, six ? 128 : 32);
    input.push(six ? udp6(text6(b), 1 + rand(3)) : udp4(text4(b), 1 + rand(3)));
  }
  const next_hops = [0, 1, 2, 3].map((k) => ({ port: k % 2, mac: `02:00:00:00:00:0${k}`, ...(k === 2 && { src_mac: '02:00:00:00:00:ee' }) }));
  return { cfg: { next_hops, routes }, input };
}

for (const [prefix, nf] of MODULES) {
  t.test(`${prefix}the bundled traffic, truncated and corrupted frames, random tables`, async (t) => {
    const bundled = inputFrames().filter((f) => f.length <= DATA_ROOM);
    check(t, CFG, bundled, 'bundled traffic', nf);
    check(t, { ...CFG, non_ip: 'pass' }, bundled, 'bundled traffic, non-IP passed on', nf);
    const bad = mangled();
    check(t, CFG, bad, 'truncated and corrupted', nf);
    check(t, { ...CFG, non_ip: 'pass' }, bad, 'truncated and corrupted, non-IP passed on', nf);
    const { cfg, input } = randomTable();
    const routed = input.map((f) => route(cfg, f)).filter((r) => r !== undefined).length;
    t.ok(routed > 300 && routed < input.length - 300, `the reference routes ${routed} of ${input.length}`);
    check(t, cfg, input, 'random table', nf);
    const twice = { ...CFG, routes: [...CFG.routes, { prefix: '10.1.0.0/16', via: 0 }, { prefix: '10.1.2.129/32', via: 2 }, { prefix: '2001:db8:1::/48', via: 1 }] };
    check(t, twice, frames(), 'routes given twice: the last one wins', nf);
  });
}

t.test('bad configs are refused with the field named', async (t) => {
  const refused = (config: unknown): string => {
    try {
      createNfInstance(module, 'router', { config: JSON.stringify(config), log: () => {} });
      return 'accepted';
    } catch (err) {
      return err instanceof NfModuleError ? err.message.replace(/^.*refused its config \(status 1\): /, '') : String(err);
    }
  };
  t.equal(refused({ routes: [] }), 'config: next_hops: required');
  t.match(refused({ ...CFG, egress: 'sideways' }), /^config: egress: /);
  t.equal(refused({ next_hops: [{ port: 1, mac: '02:00:00:00:00:01' }], routes: [{ prefix: '10.0.0.0/8', via: 3 }] }),
    'config: routes[0].via: must be an integer from 0 to 0');
  t.equal(refused({ next_hops: [{ port: 1, mac: '02:00' }], routes: [] }), 'config: next_hops[0].mac: must be a MAC address like 02:00:00:00:00:01');
  t.equal(refused({ next_hops: [{ port: 1, mac: '02:00:00:00:00:01' }], routes: [{ prefix: '10.0.0.1/8', via: 0 }] }),
    "config: routes[0].prefix: '10.0.0.1/8' is not an IPv4 or IPv6 prefix (like 10.0.0.0/8)");
});

// What the Wasm NF refuses (the field it names) or accepts, the C one too.
const HOP = { port: 1, mac: '02:00:00:00:00:01' };
const CONFIGS: [unknown, string | undefined][] = [
  [{ routes: [] }, 'next_hops'],
  [{ ...CFG, egress: 'sideways' }, 'egress'],
  [{ ...CFG, non_ip: 'allow' }, 'non_ip'],
  [{ ...CFG, egress: 'next', non_ip: 'pass' }, undefined],
  [{ ...CFG, egress: null, non_ip: null }, undefined],
  [{ ...CFG, routing: [] }, 'routing'],
  [{ next_hops: [HOP], routes: [{ prefix: '10.0.0.0/8', via: 3 }] }, 'routes[0].via'],
  [{ next_hops: [HOP], routes: [{ prefix: '10.0.0.0/8', via: -1 }] }, 'routes[0].via'],
  [{ next_hops: [HOP], routes: [{ prefix: '10.0.0.0/8', via: 0.5 }] }, 'routes[0].via'],
  [{ next_hops: [HOP], routes: [{ prefix: '10.0.0.0/8' }] }, 'routes[0].via'],
  [{ next_hops: [HOP], routes: [{ via: 0 }] }, 'routes[0].prefix'],
  [{ next_hops: [HOP], routes: [{ prefix: 10, via: 0 }] }, 'routes[0].prefix'],
  [{ next_hops: [HOP], routes: [{ prefix: '10.0.0.1/8', via: 0 }] }, 'routes[0].prefix'],
  [{ next_hops: [HOP], routes: [{ prefix: '2001:db8::1/32', via: 0 }] }, 'routes[0].prefix'],
  [{ next_hops: [HOP], routes: [{ prefix: '10.0.0.0/ 8', via: 0 }] }, 'routes[0].prefix'],
  [{ next_hops: [HOP], routes: [{ prefix: '10.0.0.0/8', via: 0, metric: 1 }] }, 'routes[0].metric'],
  [{ next_hops: [HOP], routes: [null] }, 'routes[0]'],
  [{ next_hops: [HOP], routes: ['10.0.0.0/8'] }, 'routes[0]'],
  [{ next_hops: [HOP], routes: [{ prefix: '10.0.0.0/8', via: 0 }, { prefix: '10.0.0.0/8', via: 0 }, { prefix: '::/0', via: 0 }] }, undefined],
  [{ next_hops: [HOP] }, 'routes'],
  [{ next_hops: [HOP], routes: {} }, 'routes'],
  [{ next_hops: [HOP], routes: null }, 'routes'],
  [{ next_hops: [], routes: [] }, 'next_hops'],
  [{ next_hops: {}, routes: [] }, 'next_hops'],
  [{ next_hops: null, routes: [] }, 'next_hops'],
  [{ next_hops: [null], routes: [] }, 'next_hops[0]'],
  [{ next_hops: [{ mac: '02:00:00:00:00:01' }], routes: [] }, 'next_hops[0].port'],
  [{ next_hops: [{ port: 65536, mac: '02:00:00:00:00:01' }], routes: [] }, 'next_hops[0].port'],
  [{ next_hops: [{ port: 65535, mac: '02:00:00:00:00:01' }], routes: [] }, undefined],
  [{ next_hops: [{ port: 1 }], routes: [] }, 'next_hops[0].mac'],
  [{ next_hops: [{ port: 1, mac: '02:00' }], routes: [] }, 'next_hops[0].mac'],
  [{ next_hops: [{ port: 1, mac: '2:0:0:0:0:1' }], routes: [] }, 'next_hops[0].mac'],
  [{ next_hops: [{ port: 1, mac: '02-00-00-00-00-01' }], routes: [] }, 'next_hops[0].mac'],
  [{ next_hops: [{ port: 1, mac: '02:00:00:00:00:0g' }], routes: [] }, 'next_hops[0].mac'],
  [{ next_hops: [{ port: 1, mac: '02:00:00:00:00:01 ' }], routes: [] }, 'next_hops[0].mac'],
  [{ next_hops: [{ port: 1, mac: '0A:bC:00:00:00:01', src_mac: '' }], routes: [] }, undefined],
  [{ next_hops: [{ port: 1, mac: '02:00:00:00:00:01', src_mac: 'x' }], routes: [] }, 'next_hops[0].src_mac'],
  [{ next_hops: [{ port: 1, mac: '02:00:00:00:00:01', dst_mac: 'x' }], routes: [] }, 'next_hops[0].dst_mac'],
];

t.test('C: bad configs are refused with the field named, as the Wasm NF refuses them', async (t) => {
  sameRefusals(t, 'router', module, native, CONFIGS);
  t.match(refusal(native, 'router', undefined), `${NATIVE}: router: `, 'no config');
});

t.test('a table of 1M IPv4 routes from a file', async (t) => {
  const dir = tempDir();
  const routes: Route[] = [];
  for (let i = 0; i < 1 << 20; i++) routes.push({ prefix: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`, via: i & 1 });
  routes.push({ prefix: '26.0.0.0/8', via: 1 });
  const cfg: RouterConfig = { next_hops: [{ port: 1, mac: '02:00:00:00:00:0a' }, { port: 0, mac: '02:00:00:00:00:0b' }], routes };
  writeFileSync(join(dir, 'routes.json'), JSON.stringify(cfg));
  const input = ['10.0.0.9', '10.0.1.9', '25.255.255.1', '26.1.2.3', '27.0.0.1'].map((d) => udp4(d));
  writePcap(join(dir, 'in.pcap'), input.map((data) => ({ data })));
  const expected = input.map((f) => route({ ...cfg, routes: [...routes.slice(0, 2), routes[(15 << 16) | (255 << 8) | 255]!, routes.at(-1)!] }, f))
    .filter((r) => r !== undefined);
  // The bytes say the next hop (each has its own MAC); --expect also counts those sent back out of the input port (0).
  writePcap(join(dir, 'expected.pcap'), expected.map((r) => ({ data: Buffer.from(r.data, 'hex') })));
  const backOut = expected.filter((r) => r.port === 0).length;
  t.ok(backOut > 0 && backOut < expected.length, `the expected packets leave by both ports (${backOut} of ${expected.length} by port 0)`);
  for (const path of [MODULE, NATIVE]) {
    const started = Date.now();
    const run = await netvm(['nf', 'test', path, '--pcap', join(dir, 'in.pcap'), '--config', join(dir, 'routes.json'), '--out', join(dir, 'out.pcap'), '--expect', join(dir, 'expected.pcap')]);
    const what = path === NATIVE ? 'router.so' : 'router.wasm';
    t.comment(`1M routes: netvm nf test ${what} took ${Date.now() - started} ms`);
    t.equal(run.code, 0, run.stdout + run.stderr);
    t.match(run.stdout, `in 5, out ${expected.length}, dropped ${5 - expected.length}`);
    t.match(run.stdout, 'no_route 1');
    t.match(run.stdout, `expect: all ${expected.length} packets as expected (${backOut} sent out of the input port)`, `${what}: the packets out and their ports as the reference says`);
    t.same(readPcap(join(dir, 'out.pcap')).packets.map((p) => hex(p.data)), expected.map((r) => r.data), `${what}: the output file holds them`);
  }
});
