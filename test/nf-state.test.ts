// State handover (the hot-swap's half that lives in the NFs), offline: an
// instance's exported state, imported by a fresh instance, carries on what the
// first one started: NAT translates the replies of mappings it did not make,
// the firewall lets the return traffic of flows it did not see open through,
// lb keeps flows on their backends even across a changed pool. Bad state is
// refused with the reason, and `nf test --state-out/--state-in` saves and
// hands it over from the command line.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOffline, type OfflineNf } from '../host/chain/offline.js';
import { createNfInstance, exportState, importState } from '../host/nf/instance.js';
import { NfModuleError, loadNfModule } from '../host/nf/module.js';
import { writePcap } from '../host/pcap/index.js';
import { netvm } from './support/cli.js';
import { REPO_ROOT } from './support/fixtures.js';
import { NatReference } from './support/nat-reference.js';
import { tempDir } from './support/netvm.js';
import { ETHERTYPE, ethernetFrame, icmpEcho, ipv4Packet, padFrame, tcpSegment, udpDatagram } from './support/packets.js';

const wasm = (name: string): string => join(REPO_ROOT, `nf-modules/build/${name}.wasm`);
const NAT = loadNfModule(wasm('nat'));
const FIREWALL = loadNfModule(wasm('firewall'));
const FIREWALL_C = loadNfModule(wasm('firewall-c')); // the firewall in C, with the C SDK's state
const LB = loadNfModule(wasm('lb'));
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const SYN = 0x02, ACK = 0x10;

const tcp = (src: string, sport: number, dst: string, dport: number, flags = ACK): Uint8Array =>
  padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 6, payload: tcpSegment({ srcPort: sport, dstPort: dport, flags }) }) }));
const udp = (src: string, sport: number, dst: string, dport: number): Uint8Array =>
  padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 17, payload: udpDatagram({ srcPort: sport, dstPort: dport, payload: Uint8Array.from([7, 7]) }) }) }));
const ping = (src: string, dst: string, id: number, reply = false): Uint8Array => {
  const msg = icmpEcho({ family: 4, id, seq: 1, payload: Uint8Array.from([1, 2, 3]) });
  if (reply) msg[0] = 0;
  return padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 1, payload: msg }) }));
};

const NAT_CFG = { inside: '10.0.0.0/8', public_ip: '203.0.113.1', ports: '2000-2999' };
const PUBLIC = NAT_CFG.public_ip;

/** Outbound flows, and the replies to each (to the public port the reference gave it). */
function natTraffic(ref: NatReference): { outbound: Uint8Array[]; replies: Uint8Array[] } {
  const outbound: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) outbound.push(tcp(`10.0.${i >> 4}.${i & 15}`, 40000 + i, '198.51.100.7', 443, SYN));
  for (let i = 0; i < 20; i++) outbound.push(udp(`10.1.0.${i}`, 5000 + i, '198.51.100.8', 53));
  for (let i = 0; i < 5; i++) outbound.push(ping(`10.2.0.${i}`, '198.51.100.9', 100 + i));
  const replies = outbound.map((f) => {
    const out = ref.process(f)!.data;
    const sport = (out[34]! << 8) | out[35]!;
    if (out[23] === 1) return ping('198.51.100.9', PUBLIC, (out[38]! << 8) | out[39]!, true);
    const dport = (out[36]! << 8) | out[37]!;
    return out[23] === 6 ? tcp('198.51.100.7', dport, PUBLIC, sport, SYN | ACK) : udp('198.51.100.8', dport, PUBLIC, sport);
  });
  return { outbound, replies };
}

const nat = (extra: Partial<OfflineNf> = {}, cfg: object = NAT_CFG): OfflineNf[] => [{ name: 'nat', module: NAT, config: JSON.stringify(cfg), ...extra }];

t.test('nat: the mappings move, and the replies are translated by the new instance', async (t) => {
  const ref = new NatReference(NAT_CFG);
  const { outbound, replies } = natTraffic(ref);
  const first = runOffline(outbound, nat({ exportState: true }), { log: () => {} });
  t.equal(first.nfs[0]!.metrics['new_mappings'], 65);
  const state = first.nfs[0]!.state!;
  t.ok(state.length > 65 * 28, `state exported (${state.length} bytes)`);

  // New flows after the handover, too: their ports must not collide with the imported ones.
  const later = [...replies, tcp('10.9.0.1', 1234, '198.51.100.7', 443, SYN), udp('10.9.0.2', 999, '198.51.100.8', 53)];
  const expected = later.map((f) => ref.process(f)!.data);
  const second = runOffline(later, nat({ state }), { log: () => {} });
  t.same(second.out.map((p) => hex(p.data)), expected.map(hex), 'every reply translated back to its inside host and port, new flows on fresh ports');
  const m = second.nfs[0]!.metrics;
  t.equal(m['imported_mappings'], 65);
  t.equal(m['import_skipped'], 0);
  t.equal(m['translated_in'], 65);
  t.equal(m['new_mappings'], 2);
  t.equal(m['mappings'], 67);

  const cold = runOffline(replies, nat(), { log: () => {} });
  t.equal(cold.out.length, 0, 'without the state every reply is dropped');
  t.equal(cold.nfs[0]!.metrics['no_mapping'], 65);
});

t.test('nat: mappings the new config cannot hold are left behind, counted', async (t) => {
  const ref = new NatReference(NAT_CFG);
  const { outbound } = natTraffic(ref);
  const state = runOffline(outbound, nat({ exportState: true }), { log: () => {} }).nfs[0]!.state!;
  // Ports 2000-2009 only: the first ten TCP mappings (2000-2009) stay.
  const narrow = runOffline([], nat({ state }, { ...NAT_CFG, ports: '2000-2009' }), { log: () => {} });
  t.equal(narrow.nfs[0]!.metrics['imported_mappings'], 10 + 10 + 5, 'per protocol, the ports in range');
  t.equal(narrow.nfs[0]!.metrics['import_skipped'], 40);
  const moved = runOffline([], nat({ state }, { ...NAT_CFG, inside: '10.0.0.0/16' }), { log: () => {} });
  t.equal(moved.nfs[0]!.metrics['imported_mappings'], 40, 'only the inside hosts still inside');
});

t.test('nat: with a pool of public addresses, mappings keep their address; those outside a new pool stay behind', async (t) => {
  const pooled = { ...NAT_CFG, public_ip: '203.0.113.0/30' };
  const outbound = Array.from({ length: 8 }, (_, i) => udp(`10.0.0.${i}`, 7000, '198.51.100.8', 53));
  const ref = new NatReference(pooled);
  const outs = outbound.map((f) => ref.process(f)!.data);
  const replies = outs.map((o) => udp('198.51.100.8', 53, [...o.subarray(26, 30)].join('.'), (o[34]! << 8) | o[35]!));
  const state = runOffline(outbound, nat({ exportState: true }, pooled), { log: () => {} }).nfs[0]!.state!;
  const same = runOffline(replies, nat({ state }, pooled), { log: () => {} });
  t.equal(same.out.length, 8, 'every reply, to each of the four addresses, translated back');
  t.same(same.out.map((p) => [...p.data.subarray(30, 34)].join('.')), outbound.map((_, i) => `10.0.0.${i}`));
  const half = runOffline([], nat({ state }, { ...NAT_CFG, public_ip: '203.0.113.0/31' }), { log: () => {} });
  t.equal(half.nfs[0]!.metrics['imported_mappings'], 4, 'the mappings on .0 and .1');
  t.equal(half.nfs[0]!.metrics['import_skipped'], 4);
});

const FIREWALLS = [['AssemblyScript', FIREWALL], ['C', FIREWALL_C]] as const;
for (const [fromLang, from] of FIREWALLS) for (const [toLang, to] of FIREWALLS) {
  t.test(`firewall (${fromLang} to ${toLang}): the new instance lets the return traffic of flows it did not see open through`, async (t) => {
    const cfg = { default: 'deny', stateful: true, rules: [{ action: 'allow', src: '10.0.0.0/8' }] };
    const opens = Array.from({ length: 30 }, (_, i) => tcp(`10.0.0.${i}`, 30000 + i, '198.51.100.1', 80, SYN));
    const answers = Array.from({ length: 30 }, (_, i) => tcp('198.51.100.1', 80, `10.0.0.${i}`, 30000 + i, SYN | ACK));
    const fw = (module: typeof from, extra: Partial<OfflineNf>, c: object = cfg): OfflineNf[] => [{ name: 'fw', module, config: JSON.stringify(c), ...extra }];
    const state = runOffline(opens, fw(from, { exportState: true }), { log: () => {} }).nfs[0]!.state!;
    const warm = runOffline(answers, fw(to, { state }), { log: () => {} });
    t.equal(warm.out.length, 30, 'every SYN+ACK passes');
    t.equal(warm.nfs[0]!.metrics['imported_flows'], 30);
    t.equal(warm.nfs[0]!.metrics['allowed_by_state'], 30);
    const cold = runOffline(answers, fw(to, {}), { log: () => {} });
    t.equal(cold.out.length, 0, 'without the state every SYN+ACK is denied');
    const stateless = runOffline(answers, fw(to, { state }, { default: 'deny', rules: [] }), { log: () => {} });
    t.equal(stateless.out.length, 0, 'a stateless firewall takes the state and keeps none of it');
  });
}

t.test('firewall: the C and AssemblyScript NFs export the same bytes for the same flows', async (t) => {
  const cfg = JSON.stringify({ default: 'allow', stateful: true, flows: 64 });
  const frames = Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? udp(`10.4.0.${i}`, 7000 + i, '198.51.100.3', 53) : tcp(`10.4.1.${i}`, 9000 + i, '198.51.100.4', 443, SYN)));
  // Each 50-byte flow record (after the 18-byte header and the count) but its last-seen time, the run's clock.
  const exported = (module: typeof FIREWALL): Uint8Array => {
    const state = Uint8Array.from(runOffline(frames, [{ name: 'fw', module, config: cfg, exportState: true }], { log: () => {} }).nfs[0]!.state!);
    for (let at = 22 + 40; at < state.length; at += 50) state.fill(0, at, at + 8);
    return state;
  };
  const as = exported(FIREWALL);
  t.equal(as.length, 22 + 64 * 50 + 8, '64 flows exported, and no blocks (two counts of 0)');
  t.same(hex(exported(FIREWALL_C)), hex(as), 'byte for byte, in the same order');
});

t.test('lb: flows stay on their backends across a swap, even when the pool changes', async (t) => {
  const backends = (names: string[]) => names.map((name, i) => ({ name, mac: `02:00:00:00:01:${(i + 16).toString(16)}`, port: 0 }));
  const macOf = (name: string, names: string[]): string => backends(names).find((b) => b.name === name)!.mac.replace(/:/g, '');
  const cfg = (names: string[]) => ({ table_size: 251, vips: [{ vip: '192.0.2.10', port: 80, proto: 'tcp', backends: backends(names) }] });
  const frames = Array.from({ length: 300 }, (_, i) => tcp(`10.3.${i >> 8}.${i & 255}`, 20000 + i, '192.0.2.10', 80));
  const before = ['a', 'b', 'c'], after = ['b', 'c', 'd'];
  const lb = (names: string[], extra: Partial<OfflineNf>): OfflineNf[] => [{ name: 'lb', module: LB, config: JSON.stringify(cfg(names)), ...extra }];
  const first = runOffline(frames, lb(before, { exportState: true }), { log: () => {} });
  const chosen = first.out.map((p) => before.find((n) => macOf(n, before) === hex(p.data.subarray(0, 6)))!);
  const second = runOffline(frames, lb(after, { state: first.nfs[0]!.state! }), { log: () => {} });
  const kept = chosen.map((name, i) => (name === 'a' ? true : hex(second.out[i]!.data.subarray(0, 6)) === macOf(name, after)));
  t.ok(kept.every(Boolean), 'every flow whose backend is still there is still on it');
  const onA = chosen.filter((n) => n === 'a').length;
  t.ok(onA > 0, `some flows (${onA}) were on the removed backend`);
  t.equal(second.nfs[0]!.metrics['imported_flows'], 300 - onA);
  t.equal(second.nfs[0]!.metrics['import_skipped'], onA);
  t.equal(second.nfs[0]!.metrics['new_flows'], onA, 'the flows of the removed backend are balanced afresh');
});

t.test('state that is not the module\'s own is refused, with the reason', async (t) => {
  const natState = runOffline(natTraffic(new NatReference(NAT_CFG)).outbound, nat({ exportState: true }), { log: () => {} }).nfs[0]!.state!;
  const fw = createNfInstance(FIREWALL, 'fw', { config: JSON.stringify({ default: 'allow', stateful: true }), log: () => {} });
  t.throws(() => importState(fw, natState), new NfModuleError(wasm('firewall'), "fw: refused the state (status 1): state of a 'nat' NF, not 'firewall'"));
  const n = createNfInstance(NAT, 'nat', { config: JSON.stringify(NAT_CFG), log: () => {} });
  t.throws(() => importState(n, natState.subarray(0, natState.length - 5)), { message: /refused the state \(status 1\): state of 65 mappings should be 1820 bytes, not 1815/ });
  t.throws(() => importState(n, Uint8Array.from([1, 2, 3])), { message: /refused the state \(status 1\): not NetVM NF state \(bad magic\)/ });
  const bumped = Uint8Array.from(natState);
  bumped[4 + 2 + 3] = 9; // the format version's low byte
  t.throws(() => importState(n, bumped), { message: /'nat' state format 9; this module reads format 2/ });
  const forward = createNfInstance(loadNfModule(wasm('forward')), 'fwd');
  t.throws(() => importState(forward, natState), { message: /fwd: does not export netvm_state_import and netvm_state_buffer: it cannot take state/ });
  t.equal(exportState(forward), undefined, 'a module without state export gives none');
  t.equal(exportState(createNfInstance(FIREWALL, 'fw2', { config: JSON.stringify({ default: 'allow' }) })), undefined, 'a stateless firewall gives none');
  // The C SDK's reader refuses with the same reasons.
  const fwC = createNfInstance(FIREWALL_C, 'fw', { config: JSON.stringify({ default: 'allow', stateful: true }), log: () => {} });
  t.throws(() => importState(fwC, natState), new NfModuleError(wasm('firewall-c'), "fw: refused the state (status 1): state of a 'nat' NF, not 'firewall'"));
  t.throws(() => importState(fwC, Uint8Array.from([1, 2, 3])), { message: /refused the state \(status 1\): not NetVM NF state \(bad magic\)/ });
  const fwState = runOffline([tcp('10.0.0.1', 1000, '198.51.100.1', 80, SYN)], [{ name: 'fw', module: FIREWALL, config: JSON.stringify({ default: 'allow', stateful: true }), exportState: true }], { log: () => {} }).nfs[0]!.state!;
  for (const fw of [fwC, createNfInstance(FIREWALL, 'fw', { config: JSON.stringify({ default: 'allow', stateful: true }), log: () => {} })]) {
    t.throws(() => importState(fw, fwState.subarray(0, 22 + 49)), { message: /refused the state \(status 1\): state of 1 flows should be 50 bytes, not 49/ });
    const newer = Uint8Array.from(fwState);
    newer[4 + 2 + 8] = 3; // the format version's low byte
    t.throws(() => importState(fw, newer), { message: /'firewall' state format 3; this module reads formats 1 to 2/ });
  }
  t.equal(exportState(createNfInstance(FIREWALL_C, 'fw2', { config: JSON.stringify({ default: 'allow' }) })), undefined, 'a stateless firewall in C gives none');
});

t.test('nf test --state-out / --state-in hand the state over from the command line', async (t) => {
  const dir = tempDir();
  const ref = new NatReference(NAT_CFG);
  const { outbound, replies } = natTraffic(ref);
  writePcap(join(dir, 'out.pcap'), outbound.map((data) => ({ data })));
  writePcap(join(dir, 'in.pcap'), replies.map((data) => ({ data })));
  writeFileSync(join(dir, 'nat.json'), JSON.stringify(NAT_CFG));
  const saved = await netvm(['nf', 'test', wasm('nat'), '--pcap', join(dir, 'out.pcap'), '--config', join(dir, 'nat.json'), '--state-out', join(dir, 'state.json')]);
  t.equal(saved.code, 0, saved.stderr);
  t.match(saved.stdout, /state: saved nat \(\d+ bytes\)/);
  const handed = await netvm(['nf', 'test', wasm('nat'), '--pcap', join(dir, 'in.pcap'), '--config', join(dir, 'nat.json'), '--state-in', join(dir, 'state.json')]);
  t.equal(handed.code, 0, handed.stderr);
  t.match(handed.stdout, 'in 65, out 65, dropped 0');
  t.match(handed.stdout, /translated_in 65,.*imported_mappings 65/);
  const wrongName = await netvm(['nf', 'test', wasm('nat'), wasm('nat'), '--pcap', join(dir, 'in.pcap'), '--state-in', join(dir, 'state.json')]);
  t.equal(wrongName.code, 2);
  t.match(wrongName.stderr, /--state-in: .*state\.json holds state for 'nat', which is not in the chain \(nat1, nat2\)/);
  writeFileSync(join(dir, 'bad.json'), '{"format":"other"}');
  const bad = await netvm(['nf', 'test', wasm('nat'), '--pcap', join(dir, 'in.pcap'), '--state-in', join(dir, 'bad.json')]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--state-in: .*bad\.json: format is "other", not "netvm-state\/1"/);
});
