// nat, offline, checked packet by packet against the independent reference in
// test/support/nat-reference.ts (checksums from scratch), and every
// translated packet's checksums verified on their own.
// Expiry by time runs on the offline runner's clock (timesNs): a mapping
// expires and its port serves another flow.
// Every check runs for the Wasm NF (nf-modules/build/nat.wasm) and for its C
// version (nf-modules/build/native/nat.so, the bench's anchor) on the same
// traffic, against the same reference. Nothing here is skipped for the C one:
// what it lacks, state handover (hot-swap: native NFs have none), is not
// tested in this file, and neither is the data plane (both run offline).
// Expiry, which the reference cannot tell, is checked by running the two
// side by side with a clock of the test's making (the last test).
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance, metricValues, type NfInstance } from '../host/nf/instance.js';
import { RECORD_BYTES_V1 } from '../host/nf/abi.js';
import { addressOf, native } from '../host/dataplane/native.js';
import { NfModuleError, loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { NatReference, type NatConfig } from './support/nat-reference.js';
import { ETHERTYPE, arpPacket, checksum, ethernetFrame, ipv6Packet, padFrame, udpDatagram } from './support/packets.js';
import { parseRef } from './support/parse-reference.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';
import { ACK, CHURN_CONFIG, DNS, FIN, PSH, RST, SYN, WEB, churnFrames, ping, random, tcp, udp, udpNoSum } from './support/nat-traffic.js';

const MODULES = [
  { kind: 'wasm', path: join(REPO_ROOT, 'nf-modules/build/nat.wasm') },
  { kind: 'C', path: join(REPO_ROOT, 'nf-modules/build/native/nat.so') },
].map(({ kind, path }) => ({ kind, path, module: loadNfModule(path) }));
type Module = (typeof MODULES)[number]['module'];
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

/** Checksums of a frame verified from scratch: IPv4 header, and L4 over its pseudo-header. */
function checksumsOk(f: Uint8Array): boolean {
  const r = parseRef(f);
  if (r.ipVersion !== 4) return true;
  return checksum(f.subarray(r.l3, r.l3 + r.ipHeaderLen)) === 0 && r.l4ChecksumOk !== 0;
}

interface Checked { out: Uint8Array[]; metrics: Record<string, number>; ref: NatReference }

/** Runs the NF and the reference over the frames; checks every packet out. */
function check(t: Tap.Test, module: Module, cfg: NatConfig, frames: Uint8Array[], what: string): Checked {
  const fitting = frames.filter((f) => f.length <= DATA_ROOM);
  const ref = new NatReference(cfg);
  const expected = fitting.map((f) => ({ f, e: ref.process(f) })).filter((x) => x.e !== undefined);
  const result = runOffline(fitting, [{ name: 'nat', module, config: JSON.stringify(cfg) }], { log: () => {} });
  const out = result.out.map((p) => p.data);
  t.equal(out.length, expected.length, `${what}: as many packets out as the reference lets through`);
  t.ok(result.out.every((p) => p.port === 1), `${what}: all by NEXT (port 1)`);
  let same = 0, sumsOk = 0, looseKept = 0;
  const translated = expected.filter((x) => x.e!.translated).length;
  expected.forEach(({ f, e }, k) => {
    const got = out[k];
    if (got === undefined) return;
    const want = Uint8Array.from(e!.data);
    for (const at of e!.loose) want[at] = got[at]!;
    if (hex(got) === hex(want)) same++;
    else t.equal(hex(got), hex(want), `${what}: packet ${k} (in: ${hex(f.subarray(0, 64))}...)`);
    if (e!.translated) {
      // Loose checksums: wrong before, still wrong after (never "fixed").
      const before = parseRef(f), after = parseRef(got);
      if (e!.loose.length === 0) sumsOk += checksumsOk(got) ? 1 : 0;
      else if ((before.ipv4ChecksumOk === 0) === (after.ipv4ChecksumOk === 0) && (before.l4ChecksumOk === 0) === (after.l4ChecksumOk === 0)) looseKept++;
      else t.fail(`${what}: packet ${k}: a wrong checksum changed state`);
    }
  });
  t.equal(same, expected.length, `${what}: every packet byte-exact`);
  t.equal(sumsOk + looseKept, translated, `${what}: the ${translated} translated packets' checksums verify (or stay wrong)`);
  const m = result.nfs[0]!.metrics;
  for (const [name, value] of Object.entries(ref.metrics)) t.equal(m[name], value, `${what}: metric ${name}`);
  t.equal(m['mappings'], ref.mappings, `${what}: mappings gauge`);
  t.equal(result.nfs[0]!.dropped, fitting.length - expected.length, `${what}: every other packet dropped by verdict`);
  return { out, metrics: m, ref };
}

const CFG: NatConfig = { inside: '10.0.0.0/8', public_ip: '203.0.113.1' };

/** A test of each module (Wasm, then C) on the same traffic. */
function each(name: string, body: (t: Tap.Test, m: (typeof MODULES)[number]) => Promise<void>): void {
  for (const m of MODULES) t.test(`${name} (${m.kind})`, (t) => body(t, m));
}

t.test('the C version defines the Wasm NF\'s metrics, in the same order', async (t) => {
  const names = MODULES.map(({ module }) => createNfInstance(module, 'nat', { config: JSON.stringify(CFG), log: () => {} }).host.metrics);
  t.same(names[1], names[0]);
});

each('outbound connections get distinct ports; replies come back; strangers are dropped', async (t, { module }) => {
  const frames = [
    tcp('10.0.0.5', 40000, WEB, 80, SYN),                          // TCP 1024
    tcp('10.0.0.6', 40000, WEB, 80, SYN),                          // TCP 1025: same port, another host
    tcp('10.0.0.5', 40001, WEB, 80, SYN),                          // TCP 1026
    udp('10.0.0.5', 5353, DNS, 53, Uint8Array.from([1, 2, 3, 4, 5])), // UDP 1024 (odd length)
    udp('10.1.2.3', 5353, DNS, 53, undefined, true),               // UDP 1025, VLAN-tagged
    udpNoSum('10.0.0.7', 1000, DNS, 2000),                         // UDP 1026, checksum 0 stays 0
    ping('10.0.0.5', WEB, 77),                                     // ICMP id 1024
    ping('10.0.0.6', WEB, 77),                                     // ICMP id 1025
    tcp(WEB, 80, '203.0.113.1', 1024, SYN | ACK),                  // -> 10.0.0.5:40000
    tcp(WEB, 80, '203.0.113.1', 1025, SYN | ACK),                  // -> 10.0.0.6:40000
    tcp('10.0.0.5', 40000, WEB, 80, ACK | PSH, Uint8Array.from([0x47, 0x45, 0x54])), // same flow: 1024
    udp(DNS, 53, '203.0.113.1', 1024, Uint8Array.from([7])),       // -> 10.0.0.5:5353
    udp(DNS, 53, '203.0.113.1', 1025),                             // -> 10.1.2.3:5353
    udpNoSum(DNS, 2000, '203.0.113.1', 1026),                      // -> 10.0.0.7:1000, no checksum
    ping(WEB, '203.0.113.1', 1025, true),                          // -> 10.0.0.6 id 77
    tcp(WEB, 80, '203.0.113.1', 2000, ACK),                        // no mapping: dropped
    tcp('192.0.2.81', 80, '203.0.113.1', 1024, ACK),               // wrong remote address: dropped
    tcp(WEB, 81, '203.0.113.1', 1024, ACK),                        // wrong remote port: dropped
    udp(DNS, 53, '203.0.113.1', 1024 + 9),                         // no mapping: dropped
    ping('192.0.2.99', '203.0.113.1', 1024, true),                 // echo reply from elsewhere: dropped
    tcp('10.0.0.5', 40000, WEB, 80, RST | ACK),                    // RST: translated, mapping ends
    tcp(WEB, 80, '203.0.113.1', 1024, ACK),                        // after the RST: dropped
    tcp('10.0.0.5', 1, '10.9.9.9', 2, SYN),                        // inside to inside: unchanged
    udp('192.0.2.1', 1, '198.51.100.1', 2),                        // outside to outside: unchanged
    ping(WEB, '203.0.113.1', 5),                                   // echo request to public_ip: unchanged
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ src: '2001:db8::5', dst: '2001:db8:1::1', hopLimit: 64, nextHeader: 17, payload: udpDatagram({ srcPort: 1, dstPort: 2 }) }) })),
    padFrame(ethernetFrame({ etherType: ETHERTYPE.ARP, payload: arpPacket({ op: 'request', senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.2' }) })),
  ];
  const { out, metrics, ref } = check(t, module, CFG, frames, 'story');
  // The story as the reference tells it (so the reference is checked too).
  t.equal(metrics['new_mappings'], 8);
  t.equal(metrics['translated_out'], 10);
  t.equal(metrics['translated_in'], 6);
  t.equal(metrics['no_mapping'], 6);
  t.equal(metrics['closed_mappings'], 1);
  t.equal(metrics['mappings'], 7);
  t.equal(ref.publicPort(6, '10.0.0.6', 40000, WEB, 80), 1025);
  t.equal(ref.publicPort(17, '10.0.0.7', 1000, DNS, 2000), 1026);
  // Spot checks on the bytes, by hand.
  const first = parseRef(out[0]!);
  t.equal(hex(out[0]!.subarray(first.l3 + 12, first.l3 + 16)), 'cb007101', 'source rewritten to 203.0.113.1');
  t.equal((out[0]![first.l4]! << 8) | out[0]![first.l4 + 1]!, 1024, 'source port 1024');
  const back = parseRef(out[8]!);
  t.equal(hex(out[8]!.subarray(back.l3 + 16, back.l3 + 20)), '0a000005', 'reply to 10.0.0.5');
  t.equal((out[8]![back.l4 + 2]! << 8) | out[8]![back.l4 + 3]!, 40000, 'reply to port 40000');
  const noSum = parseRef(out[5]!);
  t.equal((out[5]![noSum.l4 + 6]! << 8) | out[5]![noSum.l4 + 7]!, 0, 'a UDP checksum of 0 stays 0');
});

each('a small range exhausts; an RST frees its port for the next flow', async (t, { module }) => {
  const cfg: NatConfig = { ...CFG, ports: '40000-40003' };
  const frames = [
    ...[1, 2, 3, 4, 5].map((k) => udp('10.0.0.1', 1000 + k, DNS, 53)),   // 4 ports, the 5th exhausted
    ...[1, 2, 3, 4, 5].map((k) => tcp('10.0.0.1', 2000 + k, WEB, 80, SYN)), // TCP has its own 4
    tcp(WEB, 80, '203.0.113.1', 40001, RST),                             // reset from outside: 40001 freed
    tcp('10.0.0.2', 3000, WEB, 80, SYN),                                 // gets 40001
    tcp('10.0.0.2', 3001, WEB, 80, SYN),                                 // exhausted again
    udp('10.0.0.1', 1001, DNS, 53),                                      // an existing flow still passes
    tcp(WEB, 80, '203.0.113.1', 40001, ACK),                             // to the new flow of 40001
  ];
  const { out, metrics, ref } = check(t, module, cfg, frames, 'exhaustion');
  t.equal(metrics['port_exhausted'], 3, 'the 5th UDP, the 5th TCP, and one after the reuse');
  t.equal(metrics['closed_mappings'], 1);
  t.equal(ref.publicPort(6, '10.0.0.2', 3000, WEB, 80), 40001, 'the reset port reused');
  const last = parseRef(out.at(-1)!);
  t.equal(hex(out.at(-1)!.subarray(last.l3 + 16, last.l3 + 20)), '0a000002', 'the reused port leads to the new flow');
  t.equal(metrics['mappings'], 8);
});

each('a pool of public addresses: each inside host keeps its address; a full one spills to the next', async (t, { module }) => {
  const cfg: NatConfig = { inside: '10.0.0.0/8', public_ip: '203.0.113.4/30', ports: '5000-5001' };
  const frames = [
    udp('10.0.0.1', 1000, DNS, 53), // 10.0.0.1 mod 4 = 1: 203.0.113.5
    udp('10.0.0.2', 1000, DNS, 53), // 203.0.113.6
    udp('10.0.0.4', 1000, DNS, 53), // 203.0.113.4
    udp('10.0.0.1', 1001, DNS, 53), // .5 again: its second port
    udp('10.0.0.1', 1002, DNS, 53), // .5 is full: .6, its second port
    udp('10.0.0.1', 1003, DNS, 53), // .6 full too: .7
    udp(DNS, 53, '203.0.113.5', 5001), // the reply of 10.0.0.1:1001
    udp(DNS, 53, '203.0.113.6', 5001), // of 10.0.0.1:1002
    udp(DNS, 53, '203.0.113.7', 5000), // of 10.0.0.1:1003
    udp(DNS, 53, '203.0.113.8', 5000), // outside the pool: passed unchanged
    udp(DNS, 53, '203.0.113.4', 5001), // no mapping
    tcp('10.0.0.1', 2000, WEB, 80, SYN), // TCP has ports of its own: .5
  ];
  const { metrics, ref } = check(t, module, cfg, frames, 'pool');
  const at = (sport: number): string => ref.publicAddr(17, '10.0.0.1', sport, DNS, 53)!.toString(16);
  t.same([1000, 1001, 1002, 1003].map(at), ['cb007105', 'cb007105', 'cb007106', 'cb007107'], 'paired, then spilled over');
  t.equal(ref.publicAddr(6, '10.0.0.1', 2000, WEB, 80)!.toString(16), 'cb007105');
  t.equal(metrics['translated_in'], 3);
  t.equal(metrics['no_mapping'], 1);
  t.equal(metrics['new_mappings'], 7);
});

each('a full flow table drops new flows', async (t, { module }) => {
  const frames = [
    udp('10.0.0.1', 1, DNS, 53),
    udp('10.0.0.1', 2, DNS, 53),
    udp('10.0.0.1', 3, DNS, 53),             // the table holds 2: dropped
    tcp('10.0.0.1', 4, WEB, 80, SYN),        // and so is this
    udp(DNS, 53, '203.0.113.1', 1025),       // the second flow's reply
    tcp('10.0.0.1', 4, WEB, 80, RST),        // still no room
  ];
  const { metrics } = check(t, module, { ...CFG, flows: 2 }, frames, 'full table');
  t.equal(metrics['table_full'], 3);
  t.equal(metrics['port_exhausted'], 0);
  t.equal(metrics['mappings'], 2);
});

each('FIN both ways keeps the mapping (until its shorter timeout)', async (t, { module }) => {
  const frames = [
    tcp('10.0.0.5', 40000, WEB, 80, SYN),
    tcp('10.0.0.5', 40000, WEB, 80, FIN | ACK),
    tcp(WEB, 80, '203.0.113.1', 1024, FIN | ACK),
    tcp('10.0.0.5', 40000, WEB, 80, ACK),
  ];
  const { metrics } = check(t, module, CFG, frames, 'FIN');
  t.equal(metrics['mappings'], 1);
  t.equal(metrics['translated_out'], 3);
});

each('the bundled traffic', async (t, { module }) => {
  // Its IPv4 goes from 192.0.2.x: outbound with this config (with malformed,
  // truncated, fragmented and optioned packets among it).
  check(t, module, { inside: '192.0.2.0/24', public_ip: '203.0.113.1' }, inputFrames(), 'bundled, outbound');
  // To 198.51.100.1 = public_ip: inbound, no mapping.
  check(t, module, { inside: '10.0.0.0/8', public_ip: '198.51.100.1' }, inputFrames(), 'bundled, inbound');
});

each('churn: a small table and pool, many flows, RSTs and replies, in random order', async (t, { module }) => {
  const { metrics } = check(t, module, CHURN_CONFIG, churnFrames(0x6e6174), 'churn');
  // The traffic does what it is for (the counts are the reference's, checked above).
  t.ok(metrics['table_full']! > 0 && metrics['closed_mappings']! > 30 && metrics['translated_in']! > 500, 'full table, resets, replies');
  t.ok(metrics['port_exhausted']! > 0 && metrics['no_mapping']! > 0, 'exhausted ports, strangers');
});

each('bad configs are refused with the field named', async (t, { module, kind, path }) => {
  const refused = (config: unknown): string => {
    try {
      createNfInstance(module, 'nat', { config: JSON.stringify(config), log: () => {} });
      return 'accepted';
    } catch (err) {
      if (!(err instanceof NfModuleError)) return String(err);
      // The C version's refusal is "<path>: nat: <field>: <reason>", in the Wasm NF's words.
      return kind === 'wasm' ? err.message.replace(/^.*refused its config \(status 1\): /, '') : err.message.replace(`${path}: nat: `, 'config: ');
    }
  };
  t.equal(refused({}), 'config: inside: required');
  t.equal(refused({ inside: '10.0.0.0/8' }), 'config: public_ip: required');
  t.equal(refused({ inside: '10.0.0.1/8', public_ip: '203.0.113.1' }), "config: inside: '10.0.0.1/8' is not an IPv4 prefix (like 10.0.0.0/8)");
  t.equal(refused({ inside: '2001:db8::/32', public_ip: '203.0.113.1' }), "config: inside: '2001:db8::/32' is not an IPv4 prefix (like 10.0.0.0/8)");
  for (const pub of ['203.0.113', '203.0.113.1/28', '203.0.112.0/23', '2001:db8::/120']) {
    t.equal(refused({ inside: '10.0.0.0/8', public_ip: pub }), `config: public_ip: '${pub}' is not an IPv4 address or a prefix of /24 to /32 (like 203.0.113.1 or 203.0.113.0/28)`);
  }
  t.equal(refused({ inside: '10.0.0.0/8', public_ip: '10.1.1.1' }), 'config: public_ip: 10.1.1.1 overlaps 10.0.0.0/8');
  t.equal(refused({ inside: '10.0.0.0/30', public_ip: '10.0.0.0/24' }), 'config: public_ip: 10.0.0.0/24 overlaps 10.0.0.0/30');
  t.equal(refused({ ...CFG, public_ip: '203.0.113.0/24' }), 'accepted');
  for (const ports of ['0-10', '5-4', 'a-b', '70000', '1024-', '-1', '1-65536']) {
    t.equal(refused({ ...CFG, ports }), `config: ports: '${ports}' is not a port range "lo-hi" within 1-65535`);
  }
  t.equal(refused({ ...CFG, ports: 1024 }), 'config: ports: must be a string');
  t.equal(refused({ ...CFG, flows: 0 }), 'config: flows: must be an integer from 1 to 8388608');
  t.equal(refused({ ...CFG, flows: 1.5 }), 'config: flows: must be an integer from 1 to 8388608');
  t.equal(refused({ ...CFG, timeout_s: 0 }), 'config: timeout_s: must be a number from 0.001 to 604800');
  t.equal(refused({ ...CFG, timeout: 5 }), 'config: timeout: unknown key (allowed: inside, public_ip, ports, flows, timeout_s)');
  t.equal(refused([]), 'config: (root): must be an object');
  t.equal(refused({ ...CFG, ports: '80', flows: 16, timeout_s: 0.5 }), 'accepted');
  t.equal(refused(CFG), 'accepted');
});

// Bursts by hand: the frames in the instance's window, its records (for ABI
// v2 with the chain's parse of each packet, by the chain's own parser), and
// the clock word written as the chain writes it; what comes back: each packet
// (undefined when dropped) and the metrics after the burst.
function burster(module: Module, cfg: NatConfig): (frames: Uint8Array[], nowNs: bigint) => { out: (string | undefined)[]; metrics: Record<string, number> } {
  const nf: NfInstance = createNfInstance(module, 'nat', { config: JSON.stringify(cfg), log: () => {} });
  const SLOT = 2048, FIRST = 65536;
  return (frames, nowNs) => {
    const bytes = new Uint8Array(nf.memory.buffer);
    const base = addressOf(nf.memory.buffer);
    const W = nf.recordBytes / 4;
    const records = new Uint32Array(nf.memory.buffer, nf.batchAddr, nf.maxBurst * W);
    frames.forEach((f, i) => {
      const at = nf.windowOffset + FIRST + i * SLOT;
      bytes.set(f, at);
      records.set([FIRST + i * SLOT, f.length, SLOT << 16, 0], i * W);
      if (nf.recordBytes !== RECORD_BYTES_V1) native().parse(base + BigInt(at), f.length, base + BigInt(nf.batchAddr + i * nf.recordBytes + 16));
    });
    if (nf.clockAddr !== 0) new BigUint64Array(nf.memory.buffer, nf.clockAddr, 1)[0] = nowNs;
    nf.exports.netvm_process(frames.length);
    const out = frames.map((_, i) => {
      const at = nf.windowOffset + FIRST + i * SLOT;
      return records[i * W + 3] === 0 ? hex(new Uint8Array(nf.memory.buffer, at, records[i * W + 1]!)) : undefined;
    });
    const values = metricValues(nf);
    return { out, metrics: Object.fromEntries(nf.host.metrics.map((m, i) => [m.name, values[i]!])) };
  };
}

t.test('with time passing, the C version expires mappings as the Wasm NF does', async (t) => {
  // The two side by side, burst by burst, on the same clock: the same packets
  // out, byte for byte, and the same metrics. Their hash seeds differ (each
  // reads the clock at configure), which only a full table with expired flows
  // on the new key's probe path could show: the big table never fills, and a
  // table of one flow frees its one expired flow whatever the probe path.
  const rand = random(0x65787069);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (const flows of [600, 1]) {
    // 600 flows: a table of 1024 slots, swept 256 a burst (4 bursts a pass).
    const cfg: NatConfig = { inside: '10.0.0.0/8', public_ip: '203.0.113.4/31', ports: '3000-3003', flows, timeout_s: 20 };
    const [wasm, c] = MODULES.map(({ module }) => burster(module, cfg));
    const universe = Array.from({ length: 40 }, (_, k) => ({
      proto: pick([6, 6, 17, 1]), src: `10.0.0.${1 + (k % 5)}`, sport: 1000 + k, dst: pick([WEB, DNS]), dport: pick([53, 80]),
    }));
    let now = 10n ** 12n;
    let same = 0, bursts = 0;
    let last: Record<string, number> = {};
    const seen = new Map<typeof universe[number], { to: string; port: number }>();
    for (let b = 0; b < 200; b++) {
      now += BigInt(Math.floor(rand() * (flows === 1 ? 30 : 6) * 1e9));
      // Outbound from the flows; inbound mostly to the public address and port a
      // flow last left from (learnt from the packets out), else anywhere.
      const sent: (typeof universe[number] | undefined)[] = [];
      const frames = Array.from({ length: Math.floor(rand() * 12) }, () => {
        const f = pick(universe);
        const r = rand();
        const flags = r < 0.03 ? RST : r < 0.3 ? FIN | ACK : ACK;
        const out = rand() < 0.5;
        sent.push(out ? f : undefined);
        if (out) return f.proto === 6 ? tcp(f.src, f.sport, f.dst, f.dport, flags) : f.proto === 17 ? udp(f.src, f.sport, f.dst, f.dport) : ping(f.src, f.dst, f.sport);
        const known = seen.get(f);
        const to = known !== undefined && rand() < 0.8 ? known.to : pick(['203.0.113.4', '203.0.113.5']);
        const port = known !== undefined && rand() < 0.8 ? known.port : 3000 + Math.floor(rand() * 4);
        return f.proto === 6 ? tcp(f.dst, f.dport, to, port, flags) : f.proto === 17 ? udp(f.dst, f.dport, to, port) : ping(f.dst, to, port, true);
      });
      const w = wasm!(frames, now), n = c!(frames, now);
      bursts++;
      if (JSON.stringify(w) === JSON.stringify(n)) same++;
      else t.same(n, w, `flows ${flows}: burst ${b} (at ${now} ns)`);
      w.out.forEach((got, i) => {
        const f = sent[i];
        if (f === undefined || got === undefined) return;
        const bytes = Buffer.from(got, 'hex'), r = parseRef(bytes);
        seen.set(f, { to: [...bytes.subarray(r.l3 + 12, r.l3 + 16)].join('.'), port: bytes.readUInt16BE(r.l4 + (f.proto === 1 ? 4 : 0)) });
      });
      last = w.metrics;
    }
    t.equal(same, bursts, `flows ${flows}: every burst the same`);
    const expired = last['expired_mappings']!, made = last['new_mappings']!;
    t.ok(expired > 10 && made > expired, `flows ${flows}: mappings expired (${expired} of ${made}) and made again`);
    t.ok(last['translated_in']! > 10, `flows ${flows}: replies translated (${last['translated_in']})`);
  }
});

t.test('on the offline runner\'s clock: an idle mapping expires and its port serves another flow', async (t) => {
  // One public port. 10.0.0.1 takes it at 0 s; 10.0.0.2 finds none at 5 s; a reply at 10 s still
  // reaches 10.0.0.1; at 35 s (idle 25 s, timeout 20 s) a burst's sweep frees the mapping (a
  // table of 16 flows: one burst sweeps it whole); at 36 s 10.0.0.2 gets the port, and a reply
  // to it reaches 10.0.0.2.
  const cfg: NatConfig = { inside: '10.0.0.0/8', public_ip: '203.0.113.1', ports: '3000-3000', timeout_s: 20, flows: 16 };
  const arp = padFrame(ethernetFrame({ etherType: ETHERTYPE.ARP, payload: arpPacket({ op: 'request', senderMac: '02:00:00:00:00:01', senderIp: '192.0.2.9', targetMac: '00:00:00:00:00:00', targetIp: '192.0.2.10' }) }));
  const steps: [number, Uint8Array][] = [
    [0, udp('10.0.0.1', 1111, DNS, 53)],
    [5, udp('10.0.0.2', 2222, DNS, 53)],
    [10, udp(DNS, 53, '203.0.113.1', 3000)],
    [35, arp],
    [36, udp('10.0.0.2', 2222, DNS, 53)],
    [36, udp(DNS, 53, '203.0.113.1', 3000)],
  ];
  const addrs = (f: Uint8Array): string => {
    const r = parseRef(f);
    const b = Buffer.from(f);
    return `${[...f.subarray(r.l3 + 12, r.l3 + 16)].join('.')}:${b.readUInt16BE(r.l4)} > ${[...f.subarray(r.l3 + 16, r.l3 + 20)].join('.')}:${b.readUInt16BE(r.l4 + 2)}`;
  };
  for (const { kind, module } of MODULES) {
    const result = runOffline(steps.map(([, f]) => f), [{ name: 'nat', module, config: JSON.stringify(cfg) }], {
      log: () => {}, timesNs: steps.map(([s]) => 10n ** 12n + BigInt(s) * 10n ** 9n),
    });
    t.same(result.out.map((p) => (p.data[12] === 0x08 && p.data[13] === 0x06 ? 'arp' : addrs(p.data))), [
      '203.0.113.1:3000 > 198.51.100.53:53',
      '198.51.100.53:53 > 10.0.0.1:1111',
      'arp',
      '203.0.113.1:3000 > 198.51.100.53:53',
      '198.51.100.53:53 > 10.0.0.2:2222',
    ], `${kind}: the packets out, the second flow's only after the first one's mapping expired`);
    t.ok(result.out.every((p) => checksumsOk(p.data)), `${kind}: their checksums verify`);
    const m = result.nfs[0]!.metrics;
    t.same([m['new_mappings'], m['expired_mappings'], m['port_exhausted'], m['mappings']], [2, 1, 1, 1], `${kind}: 2 mappings made, 1 expired, 1 refused for want of a port, 1 left`);
  }
});
