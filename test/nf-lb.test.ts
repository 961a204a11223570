// lb, offline: every packet to a VIP leaves by the backend a reference Maglev
// table picks for its flow (MAC rewritten, IP untouched), flows keep their
// backend, load spreads evenly, and a changed pool moves few flows.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance } from '../host/nf/instance.js';
import { NfModuleError, loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { flowHash, flowKeyBytes, maglevTable } from './support/lb-reference.js';
import { ETHERTYPE, ethernetFrame, ipv4Packet, padFrame, tcpSegment, udpDatagram } from './support/packets.js';

const module = loadNfModule(join(REPO_ROOT, 'nf-modules/build/lb.wasm'));
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const M = 251;

const backends = (names: string[]) => names.map((name, i) => ({ name, mac: `02:00:00:00:00:${(i + 16).toString(16)}`, port: i % 2 }));
const config = (names: string[]) => ({ table_size: M, vips: [{ vip: '192.0.2.10', port: 80, proto: 'tcp', backends: backends(names) }] });

const tcp = (client: number, port: number, dst = '192.0.2.10', dport = 80): Uint8Array =>
  padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src: `10.${(client >> 16) & 255}.${(client >> 8) & 255}.${client & 255}`, dst, ttl: 64, protocol: 6, payload: tcpSegment({ srcPort: port, dstPort: dport, flags: 0x18 }) }) }));

/** The backend index each frame goes to, by the reference. */
function expectedBackend(names: string[], f: Uint8Array): number {
  return maglevTable(names, M)[flowHash(flowKeyBytes(f)) % M]!;
}

/** The backend index each packet went to (by its destination MAC). */
function backendsOut(names: string[], frames: Uint8Array[]): number[] {
  const result = runOffline(frames, [{ name: 'lb', module, config: JSON.stringify(config(names)) }], { log: () => {} });
  const macs = backends(names).map((b) => b.mac.replace(/:/g, ''));
  return result.out.map((p) => macs.indexOf(hex(p.data.subarray(0, 6))));
}

t.test('each packet goes to its flow\'s Maglev backend, rewritten and nothing else', async (t) => {
  const names = ['web1', 'web2', 'web3'];
  const frames = Array.from({ length: 600 }, (_, i) => tcp(i % 200, 1000 + (i % 200)));
  const result = runOffline(frames, [{ name: 'lb', module, config: JSON.stringify(config(names)) }], { log: () => {} });
  const bs = backends(names);
  const expected = frames.map((f) => {
    const b = bs[expectedBackend(names, f)]!;
    const out = Uint8Array.from(f);
    out.set(Buffer.from(b.mac.replace(/:/g, ''), 'hex'), 0);
    return { port: b.port, data: hex(out) };
  });
  t.same(result.out.map((p) => ({ port: p.port, data: hex(p.data) })), expected, 'backend MAC, backend port, the rest of the packet unchanged');
  t.equal(result.nfs[0]!.metrics['new_flows'], 200, 'one new flow per client');
  t.equal(result.nfs[0]!.metrics['balanced'], 600);
});

t.test('load spreads evenly, and a changed pool moves few flows', async (t) => {
  const flows = Array.from({ length: 6000 }, (_, i) => tcp(i, 2000 + (i % 50000)));
  const four = ['a', 'b', 'c', 'd'];
  const got4 = backendsOut(four, flows);
  t.equal(got4.length, flows.length, 'every packet came out');
  const share = four.map((_, i) => got4.filter((b) => b === i).length / flows.length);
  t.ok(share.every((s) => Math.abs(s - 0.25) < 0.03), `shares ${share.map((s) => s.toFixed(3)).join(' ')} within 0.03 of 1/4`);
  const got3 = backendsOut(['a', 'b', 'c'], flows);
  const kept = got4.filter((b, i) => b !== 3 && got3[i] === b).length / got4.filter((b) => b !== 3).length;
  t.ok(kept > 0.9, `without d, ${(kept * 100).toFixed(1)}% of the other flows keep their backend`);
  const got5 = backendsOut([...four, 'e'], flows);
  const moved = got4.filter((b, i) => got5[i] !== b);
  const toE = got5.filter((b, i) => got4[i] !== b && b === 4).length;
  t.ok(toE / moved.length > 0.8, `with e added, ${moved.length} flows move, ${toE} of them to e`);
  t.same(got4, flows.map((f) => expectedBackend(four, f)), 'every flow where the reference puts it');
});

t.test('packets to no VIP go on unchanged', async (t) => {
  const others = [tcp(1, 5, '192.0.2.11'), tcp(1, 5, '192.0.2.10', 81), padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ dst: '192.0.2.10', ttl: 64, protocol: 17, payload: udpDatagram({ srcPort: 5, dstPort: 80 }) }) }))];
  const result = runOffline(others, [{ name: 'lb', module, config: JSON.stringify(config(['a'])) }], { log: () => {} });
  t.same(result.out.map((p) => ({ port: p.port, data: hex(p.data) })), others.map((f) => ({ port: 1, data: hex(f) })));
  t.equal(result.nfs[0]!.metrics['not_vip'], 3);
});

t.test('a burst mixing VIP and other packets, the flow table full: each in its place, counted', async (t) => {
  const names = ['web1', 'web2'];
  // 4 flow slots for 12 clients: 8 of them untracked, balanced by Maglev all the same.
  const vip = Array.from({ length: 48 }, (_, i) => tcp(i % 12, 2000 + (i % 12)));
  const frames = vip.flatMap((f, i) => (i % 3 === 0 ? [f, tcp(i, 7, '192.0.2.99')] : [f]));
  const result = runOffline(frames, [{ name: 'lb', module, config: JSON.stringify({ ...config(names), flows: 4 }) }], { log: () => {} });
  const bs = backends(names);
  t.same(result.out.map((p) => ({ port: p.port, data: hex(p.data) })), frames.map((f) => {
    if (f[33] === 99) return { port: 1, data: hex(f) };
    const b = bs[expectedBackend(names, f)]!;
    const out = Uint8Array.from(f);
    out.set(Buffer.from(b.mac.replace(/:/g, ''), 'hex'), 0);
    return { port: b.port, data: hex(out) };
  }), 'in order: the others unchanged, each VIP packet to its backend');
  const m = result.nfs[0]!.metrics;
  t.same([m['balanced'], m['not_vip'], m['new_flows'], m['untracked']], [48, 16, 4, 32], 'balanced, not_vip, new_flows, untracked');
});

t.test('egress next: balanced packets go on along the chain, rewritten the same', async (t) => {
  const names = ['web1', 'web2'];
  const frames = Array.from({ length: 50 }, (_, i) => tcp(i, 2000 + i));
  const byPort = runOffline(frames, [{ name: 'lb', module, config: JSON.stringify(config(names)) }], { log: () => {} });
  const onward = runOffline(frames, [{ name: 'lb', module, config: JSON.stringify({ ...config(names), egress: 'next' }) }], { log: () => {} });
  t.same([byPort.out.length, onward.out.length], [frames.length, frames.length], 'every packet came out, both ways');
  t.same(onward.out.map((p) => hex(p.data)), byPort.out.map((p) => hex(p.data)), 'the same backends, the same bytes');
  t.ok(onward.out.every((p) => p.port === 1), "all by the chain's exit");
  t.equal(onward.nfs[0]!.out, 0);
});

t.test('bad configs are refused with the field named', async (t) => {
  const refused = (cfg: unknown): string => {
    try {
      createNfInstance(module, 'lb', { config: JSON.stringify(cfg), log: () => {} });
      return 'accepted';
    } catch (err) {
      return err instanceof NfModuleError ? err.message.replace(/^.*refused its config \(status 1\): /, '') : String(err);
    }
  };
  t.equal(refused({}), 'config: vips: required');
  t.match(refused({ ...config(['a']), egress: 'up' }), /^config: egress: /);
  t.equal(refused({ ...config(['a']), table_size: 100 }), 'config: table_size: must be a prime (like 65537)');
  t.equal(refused({ vips: [{ vip: '10.0.0.0/8', port: 80, proto: 'tcp', backends: backends(['a']) }] }), "config: vips[0].vip: '10.0.0.0/8' is not an IPv4 or IPv6 address");
  t.equal(refused({ vips: [{ vip: '10.0.0.1', port: 80, proto: 'tcp', backends: [] }] }), 'config: vips[0].backends: needs at least one backend');
  t.equal(refused({ vips: [{ vip: '10.0.0.1', port: 80, proto: 'tcp', backends: backends(['a', 'a']) }] }), "config: vips[0].backends[1].name: 'a' is used twice");
});
