// router, offline, checked packet by packet against an independent reference:
// longest prefix by linear scan, TTL/hop limit step with the IPv4 checksum
// recomputed from scratch, MAC rewrite, output port. Then a table of 1M
// IPv4 routes loaded from a file.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance } from '../host/nf/instance.js';
import { NfModuleError, loadNfModule } from '../host/nf/module.js';
import { writePcap } from '../host/pcap/index.js';
import { netvm } from './support/cli.js';
import { REPO_ROOT } from './support/fixtures.js';
import { tempDir } from './support/netvm.js';
import { ETHERTYPE, arpPacket, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, udpDatagram } from './support/packets.js';
import { route, type RouterConfig } from './support/router-reference.js';

const MODULE = join(REPO_ROOT, 'nf-modules/build/router.wasm');
const module = loadNfModule(MODULE);
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

function check(t: Tap.Test, cfg: RouterConfig, input: Uint8Array[], what: string): void {
  const expected = input.map((f) => route(cfg, f)).filter((r) => r !== undefined);
  const result = runOffline(input, [{ name: 'router', module, config: JSON.stringify(cfg) }], () => {});
  t.same(result.out.map((p) => ({ port: p.port, data: hex(p.data) })), expected, `${what}: the packets out, rewritten, by the right port`);
}

t.test('longest prefix, TTL step, MAC rewrite, port', async (t) => {
  check(t, CFG, frames(), 'crafted');
  check(t, { ...CFG, non_ip: 'pass' }, frames(), 'non-IP passed on');
  const result = runOffline(frames(), [{ name: 'router', module, config: JSON.stringify(CFG) }], () => {});
  const m = result.nfs[0]!.metrics;
  t.equal(m['ttl_expired'], 13, 'TTL/hop limit 1, every destination');
  t.equal(m['malformed'], 1);
  t.equal(m['non_ip'], 1);
  t.equal(m['no_route'], 2, 'the two IPv6 destinations no route covers');
});

t.test('egress next: routed packets go on along the chain, rewritten the same', async (t) => {
  const expected = frames().map((f) => route(CFG, f)).filter((r) => r !== undefined).map((r) => r!.data);
  const result = runOffline(frames(), [{ name: 'router', module, config: JSON.stringify({ ...CFG, egress: 'next' }) }], () => {});
  t.same(result.out.map((p) => hex(p.data)), expected, 'the same packets, the same bytes, in order');
  t.ok(result.out.every((p) => p.port === 1), "all by the chain's exit");
  t.equal(result.nfs[0]!.out, 0, 'none sent out by the router itself');
});

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
  const started = Date.now();
  const run = await netvm(['nf', 'test', MODULE, '--pcap', join(dir, 'in.pcap'), '--config', join(dir, 'routes.json'), '--out', join(dir, 'out.pcap')]);
  t.comment(`1M routes: netvm nf test took ${Date.now() - started} ms`);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, `in 5, out ${expected.length}, dropped ${5 - expected.length}`);
  t.match(run.stdout, 'no_route 1');
});
