// The native NFs (nf-modules/native: the bench's C anchor) checked against the
// same independent references as the Wasm NFs, on the same traffic, offline;
// and a native NF on the data plane next to a Wasm one.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance } from '../host/nf/instance.js';
import { NfModuleError, loadNfModule, type NfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { DATA_ROOM, inputFrames, outputFrames, pcapChainConfig } from './support/pcap-ports.js';
import { flowHash, flowKeyBytes, maglevTable } from './support/lb-reference.js';
import { ETHERTYPE, IPPROTO, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, tcpSegment, udpDatagram } from './support/packets.js';
import { ttlStep } from './support/ttl-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const nativeNf = (name: string): string => join(REPO_ROOT, 'nf-modules/build/native', `${name}.so`);

/** Why an NF named name refuses a config, in the words of its own reader (a Wasm NF's message
 *  and a native one's say where it comes from differently); 'accepted' when it does not. */
function refusal(module: NfModule, name: string, cfg: unknown): string {
  try {
    createNfInstance(module, name, { config: JSON.stringify(cfg), log: () => {} });
    return 'accepted';
  } catch (err) {
    return (err as Error).message.replace(/^.*refused its config \(status 1\): config: /, '').replace(new RegExp(`^.*${name}: `), '');
  }
}

t.test('ttl in C: every packet of the bundled traffic as the reference steps it', async (t) => {
  const frames = inputFrames().filter((f) => f.length <= DATA_ROOM);
  const module = loadNfModule(nativeNf('ttl'));
  const result = runOffline(frames, [{ name: 'ttl', module }]);
  const expected = frames.map((f) => ttlStep(f, 1));
  t.same(result.out.map((p) => hex(p.data)), expected.filter((r) => r.verdict === 'pass').map((r) => hex(r.out)), 'the packets out, stepped');
  const drops = expected.filter((r) => r.verdict === 'drop').length;
  t.equal(result.nfs[0]!.dropped, drops, 'dropped exactly the TTL <= 1 packets');
  t.equal(result.nfs[0]!.metrics['ttl_expired'], drops, 'and counted them');
});

t.test('a native NF refuses a config it does not take, naming the key', async (t) => {
  const module = loadNfModule(nativeNf('ttl'));
  t.throws(() => runOffline([], [{ name: 'ttl', module, config: '{"x":1}' }]), new NfModuleError(nativeNf('ttl'), 'ttl: x: unknown key'));
  t.throws(() => loadNfModule(join(REPO_ROOT, 'native-dpdk/build/libnetvm_dp.so')), /not a native NF/);
});

t.test('on the data plane: pcap in -> [ttl in C, ttl in Wasm] -> pcap out', async (t) => {
  const dir = tempDir();
  const run = await runNetvm(pcapChainConfig(dir, { c: nativeNf('ttl'), wasm: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') }), undefined, dir);
  t.equal(run.code, 0, run.stderr);
  const fitting = inputFrames().filter((f) => f.length <= DATA_ROOM);
  const expected = fitting.map((f) => ttlStep(f, 2)).filter((r) => r.verdict === 'pass').map((r) => hex(r.out));
  t.same(outputFrames(dir).map(hex), expected, 'every packet out equals the reference, in order');
  const { rx, tx, drops } = totals(run.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(run.summary!.pool.available, run.summary!.pool.mbufs, 'the mbuf pool is full again');
});

t.test('lb in C: every packet where the Wasm lb sends it, through expiry and a full table; the same counts and refusals', async (t) => {
  const wasm = loadNfModule(join(REPO_ROOT, 'nf-modules/build/lb.wasm'));
  const c = loadNfModule(nativeNf('lb'));
  const backends = (names: string[], port: number) => names.map((name, i) => ({ name, mac: `02:00:00:00:01:${(i + 16).toString(16)}`, port }));
  const config = {
    table_size: 251, flows: 8, timeout_s: 1,
    vips: [
      { vip: '192.0.2.10', port: 80, proto: 'tcp', backends: backends(['web1', 'web2', 'web3'], 0) },
      { vip: '2001:db8::10', port: 53, proto: 'udp', backends: backends(['dns1', 'dns2'], 1) },
    ],
  };
  const v4 = (client: number, dport = 80): Uint8Array => padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({
    src: `10.0.${client >> 8}.${client & 255}`, dst: '192.0.2.10', ttl: 64, protocol: IPPROTO.TCP, payload: tcpSegment({ srcPort: 1000 + client, dstPort: dport, flags: 0x18 }),
  }) }));
  const v6 = (client: number): Uint8Array => padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({
    src: `2001:db8::1:${client.toString(16)}`, dst: '2001:db8::10', hopLimit: 64, nextHeader: IPPROTO.UDP, payload: udpDatagram({ srcPort: 5000 + client, dstPort: 53 }),
  }) }));
  // 12 IPv4 and 6 IPv6 clients for 8 flow slots, other traffic between, and a pause of 2 s
  // (past timeout_s) half way: flows are untracked, expire and are reclaimed.
  const frames = [...inputFrames().filter((f) => f.length <= DATA_ROOM).slice(0, 200)];
  for (let i = 0; i < 120; i++) frames.push(i % 5 === 4 ? v6(i % 6) : i % 7 === 6 ? v4(i, 81) : v4(i % 12));
  const timesNs = frames.map((_, i) => BigInt(1e9) + BigInt(i) * 1000n + (i >= 260 ? 2_000_000_000n : 0n));
  const run = (module: NfModule) => runOffline(frames, [{ name: 'lb', module, config: JSON.stringify(config) }], { log: () => {}, timesNs });
  const [a, b] = [run(wasm), run(c)];
  t.same(b.out.map((p) => ({ port: p.port, data: hex(p.data) })), a.out.map((p) => ({ port: p.port, data: hex(p.data) })), 'the same packets, backends and ports');
  const v4Out = b.out.filter((p) => p.data[12] === 0x08 && p.data[30] === 192 && p.data[33] === 10 && (p.data[36]! << 8 | p.data[37]!) === 80);
  const names = config.vips[0]!.backends.map((x) => x.name);
  t.same(v4Out.map((p) => hex(p.data.subarray(0, 6))), v4Out.map((p) => {
    const f = frames.find((x) => hex(x.subarray(6)) === hex(p.data.subarray(6)))!;
    return config.vips[0]!.backends[maglevTable(names, 251)[flowHash(flowKeyBytes(f)) % 251]!]!.mac.replace(/:/g, '');
  }), 'each IPv4 VIP packet to its Maglev backend by the reference');
  const counts = (r: typeof a) => Object.fromEntries(['balanced', 'new_flows', 'not_vip', 'untracked', 'flows'].map((k) => [k, r.nfs[0]!.metrics[k]]));
  t.same(counts(b), counts(a), 'the same counts');
  t.ok(counts(b)['untracked']! > 0 && counts(b)['new_flows']! > 8, `flows went untracked and were reclaimed (${JSON.stringify(counts(b))})`);

  const bad = [
    {}, { ...config, egress: 'up' }, { ...config, table_size: 100 }, { ...config, table_size: 2 }, { ...config, flows: 0 }, { ...config, timeout_s: '1' },
    { ...config, x: 1 }, { vips: [] }, { vips: [{ vip: '10.0.0.0/8', port: 80, proto: 'tcp', backends: backends(['a'], 0) }] },
    { vips: [{ vip: '10.0.0.1', port: 80, proto: 'sctp', backends: backends(['a'], 0) }] },
    { vips: [{ vip: '10.0.0.1', port: 80, proto: 'tcp', backends: [] }] },
    { vips: [{ vip: '10.0.0.1', port: 80, proto: 'tcp', backends: backends(['a', 'a'], 0) }] },
    { vips: [{ vip: '10.0.0.1', port: 80, proto: 'tcp', backends: [{ name: 'a', mac: '02:00', port: 0 }] }] },
    { vips: [{ vip: '10.0.0.1', port: 80, proto: 'tcp', backends: [{ name: 'a', mac: '02:00:00:00:00:01', port: 70000 }] }] },
    { vips: [{ vip: '10.0.0.1', port: 80, proto: 'tcp', backends: [{ name: 'a', mac: '02:00:00:00:00:01' }] }] },
    { vips: [{ vip: '10.0.0.1', port: 80, proto: 'tcp', backends: backends(['a'], 0), up: 1 }] },
  ];
  t.same(bad.map((cfg) => refusal(c, 'lb', cfg)), bad.map((cfg) => refusal(wasm, 'lb', cfg)), 'each bad config refused with the Wasm lb\'s words');
});

t.test('monitor in C: the Wasm monitor\'s counts, flows and heavy hitters, through expiry and a full table; the same refusals', async (t) => {
  const wasm = loadNfModule(join(REPO_ROOT, 'nf-modules/build/monitor.wasm'));
  const c = loadNfModule(nativeNf('monitor'));
  const udp = (client: number, size: number): Uint8Array => padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({
    src: `10.1.${client >> 8}.${client & 255}`, dst: '192.0.2.20', ttl: 64, protocol: IPPROTO.UDP, payload: udpDatagram({ srcPort: 4000 + client, dstPort: 9, payload: new Uint8Array(size) }),
  }) }));
  // The bundled traffic, then 40 clients of uneven sizes for 16 flow slots, with a pause past
  // timeout_s half way: flows are untracked, expire, are reclaimed, and heavy hitters change.
  const frames = inputFrames().filter((f) => f.length <= DATA_ROOM).slice(0, 300);
  for (let i = 0; i < 600; i++) frames.push(udp((i * 7) % 40, ((i * 7) % 40) * 20 + (i % 3)));
  const timesNs = frames.map((_, i) => BigInt(1e9) + BigInt(i) * 1000n + (i >= 600 ? 3_000_000_000n : 0n));
  for (const config of [{ flows: 16, timeout_s: 2, seed: 7 }, { flows: 16, timeout_s: 2, seed: 7, top_k: 12, sketch_width_bits: 6, sketch_depth: 2 }]) {
    const run = (module: NfModule) => runOffline(frames, [{ name: 'monitor', module, config: JSON.stringify(config) }], { log: () => {}, timesNs });
    const [a, b] = [run(wasm), run(c)];
    t.same(b.out.map((p) => hex(p.data)), frames.map(hex), 'every packet passed unchanged');
    const names = ['packets', 'bytes', 'ip_packets', 'non_ip', 'flows', 'new_flows', 'expired_flows', 'untracked',
      ...Array.from({ length: config.top_k ?? 10 }, (_, i) => [`top_${i}_bytes`, `top_${i}_proto`]).flat()];
    const metrics = (r: typeof a) => Object.fromEntries(names.map((k) => [k, r.nfs[0]!.metrics[k]]));
    t.same(metrics(b), metrics(a), `the same metrics (${JSON.stringify(config)})`);
    t.ok(metrics(b)['expired_flows']! > 0 && metrics(b)['untracked']! > 0 && metrics(b)['top_0_bytes']! > 0, 'flows expired, some went untracked, heavy hitters are there');
  }
  const bad = [[], { flows: 0 }, { timeout_s: 0 }, { top_k: 29 }, { sketch_width_bits: 3 }, { sketch_depth: 9 }, { seed: -1 }, { seed: 1.5 }, { x: 1 }, { flows: '1' }];
  t.same(bad.map((cfg) => refusal(c, 'monitor', cfg)), bad.map((cfg) => refusal(wasm, 'monitor', cfg)), 'each bad config refused with the Wasm monitor\'s words');
});
