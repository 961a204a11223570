// The bench's fast TypeScript router and nat (bench/fast-router.ts, bench/fast-nat.ts: the
// "Wasm vs TS" baselines), run as JavaScript NFs (bench/js-nfs) by the offline chain, checked
// against the same independent references as the Wasm NFs on the same traffic: the bundled
// traffic, the bench's flows, and random traffic.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { preloadJsNf } from '../host/nf/js-nf.js';
import { loadNfModule, type NfModule } from '../host/nf/module.js';
import { nfConfig } from '../bench/matrix.js';
import { flowFrame } from '../bench/traffic.js';
import { REPO_ROOT } from './support/fixtures.js';
import { NatReference, type NatConfig } from './support/nat-reference.js';
import { CHURN_CONFIG, churnFrames, random } from './support/nat-traffic.js';
import { ETHERTYPE, arpPacket, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, udpDatagram } from './support/packets.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';
import { route, type RouterConfig } from './support/router-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const jsNf = async (name: string): Promise<NfModule> => {
  const path = join(REPO_ROOT, 'dist/bench/js-nfs', `${name}.js`);
  await preloadJsNf(path);
  return loadNfModule(path);
};
const dotted = (a: number): string => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');

t.test('router in TypeScript: every packet as the reference routes it', async (t) => {
  const module = await jsNf('router');
  const check = (cfg: RouterConfig, frames: Uint8Array[], what: string): void => {
    const input = frames.filter((f) => f.length <= DATA_ROOM);
    const expected = input.map((f) => route(cfg, f)).filter((r) => r !== undefined).map((r) => r.data);
    const result = runOffline(input, [{ name: 'router', module, config: JSON.stringify(cfg) }], { log: () => {} });
    t.same(result.out.map((p) => hex(p.data)), expected, `${what}: the packets out, rewritten`);
    t.equal(result.nfs[0]!.dropped, input.length - expected.length, `${what}: the others dropped`);
  };
  const rand = random(0x726f7574);
  // Routes of every length, the longer ones inside the shorter, some listed twice (the last wins).
  const routes: RouterConfig['routes'] = [{ prefix: '0.0.0.0/0', via: 0 }];
  const v4: number[] = [];
  for (let k = 0; k < 200; k++) {
    const len = 1 + Math.floor(rand() * 32);
    const base = k % 3 === 0 || v4.length === 0 ? Math.floor(rand() * 2 ** 32) : v4[Math.floor(rand() * v4.length)]! + Math.floor(rand() * 2 ** 10);
    const addr = len === 32 ? base >>> 0 : (base & (0xffffffff << (32 - len))) >>> 0;
    v4.push(addr);
    routes.push({ prefix: `${dotted(addr)}/${len}`, via: k % 3 });
  }
  routes.push({ ...routes[7]!, via: 2 }, { prefix: '2001:db8::/32', via: 1 }, { prefix: '2001:db8:1::/48', via: 2 }, { prefix: '2001:db8:1::1/128', via: 0 });
  const cfg: RouterConfig = {
    next_hops: [{ port: 1, mac: '02:00:00:00:01:01', src_mac: '02:00:00:00:00:fe' }, { port: 0, mac: '02:00:00:00:02:02' }, { port: 1, mac: '02:00:00:00:03:03' }],
    routes,
  };
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 3000; k++) {
    const dst = dotted((v4[k % v4.length]! + Math.floor(rand() * 2 ** (k % 12))) >>> 0);
    const ttl = [64, 2, 1, 0][k % 7] ?? 64;
    const f = padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ dst, ttl, protocol: 17, payload: udpDatagram({ srcPort: 1, dstPort: 2 }) }) }));
    if (k % 50 === 0) f[24] ^= 0x5a; // the header checksum broken
    frames.push(f);
  }
  for (const dst of ['2001:db8::5', '2001:db8:1::2', '2001:db8:1::1', '2001:db9::1', 'fe80::1']) {
    for (const hopLimit of [64, 1]) {
      frames.push(padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ dst, hopLimit, nextHeader: 17, payload: udpDatagram({ srcPort: 1, dstPort: 2 }) }) })));
    }
  }
  frames.push(padFrame(ethernetFrame({ etherType: ETHERTYPE.ARP, payload: arpPacket({ op: 1, senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.2' }) })));
  check(cfg, frames, 'random routes and traffic');
  check({ ...cfg, non_ip: 'pass' }, frames, 'non_ip: pass');
  check(cfg, inputFrames(), 'bundled');
  check({ ...cfg, routes: routes.slice(1) }, inputFrames(), 'bundled, no default route');
  check(nfConfig('router', 1000) as RouterConfig, Array.from({ length: 2000 }, (_, f) => flowFrame(f, 64)), 'the bench\'s flows');
});

t.test('nat in TypeScript: every packet as the reference translates it', async (t) => {
  const module = await jsNf('nat');
  const check = (cfg: NatConfig, frames: Uint8Array[], what: string): void => {
    const input = frames.filter((f) => f.length <= DATA_ROOM);
    const ref = new NatReference(cfg);
    const expected = input.map((f) => ref.process(f)).filter((e) => e !== undefined);
    const result = runOffline(input, [{ name: 'nat', module, config: JSON.stringify(cfg) }], { log: () => {} });
    t.equal(result.out.length, expected.length, `${what}: as many packets out as the reference lets through`);
    const differ = expected.filter((e, k) => {
      const got = result.out[k]?.data;
      if (got === undefined) return true;
      const want = Uint8Array.from(e.data);
      for (const at of e.loose) want[at] = got[at]!; // a checksum the reference cannot predict
      return hex(got) !== hex(want);
    }).length;
    t.equal(differ, 0, `${what}: every packet byte-exact`);
    t.equal(result.nfs[0]!.dropped, input.length - expected.length, `${what}: the others dropped`);
  };
  check(CHURN_CONFIG, churnFrames(0x74736e61), 'churn');
  check({ inside: '192.0.2.0/24', public_ip: '203.0.113.1' }, inputFrames(), 'bundled, outbound');
  check({ inside: '10.0.0.0/8', public_ip: '198.51.100.1' }, inputFrames(), 'bundled, inbound');
  // The bench's flows out, then a reply to each of their public ports (UDP, no checksum).
  for (const flows of [1000, 100_000]) {
    const cfg = nfConfig('nat', flows) as NatConfig;
    const ref = new NatReference(cfg);
    const out = Array.from({ length: flows }, (_, f) => flowFrame(f, 64));
    const replies = out.map((f) => {
      const e = ref.process(f)!;
      const r = Uint8Array.from(e.data);
      r.set(e.data.subarray(30, 34), 26); // from the far end
      r.set(e.data.subarray(26, 30), 30); // to the public address
      r.set(e.data.subarray(36, 38), 34);
      r.set(e.data.subarray(34, 36), 36);
      return r;
    });
    check(cfg, [...out, ...replies], `the bench's ${flows} flows and their replies`);
  }
});
