// netvm nf test runs NFs over a pcap without DPDK and gives what `netvm run`
// gives for the same input: the same packets out, in the same order, and the
// same verdict counts.
import t from 'tap';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { readPcap, writePcap } from '../host/pcap/index.js';
import { ETHERTYPE, ethernetFrame, ipv4Packet, padFrame, udpDatagram } from './support/packets.js';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { netvm } from './support/cli.js';
import { runNetvm, tempDir } from './support/netvm.js';
import { TRAFFIC, outputFrames, pcapChainConfig } from './support/pcap-ports.js';

const TTL = join(REPO_ROOT, 'nf-modules/build/ttl.wasm');
const hex = (frames: Uint8Array[]): string[] => frames.map((f) => Buffer.from(f).toString('hex'));

t.test('offline and on DPDK, [ttl, ttl] gives the same packets and counts', async (t) => {
  const dir = tempDir();
  const dpdk = await runNetvm(pcapChainConfig(dir, { ttl1: TTL, ttl2: TTL }), undefined, dir);
  t.equal(dpdk.code, 0, dpdk.stderr);
  const offlineOut = join(dir, 'offline.pcap');
  const offline = await netvm(['nf', 'test', TTL, TTL, '--pcap', TRAFFIC, '--out', offlineOut]);
  t.equal(offline.code, 0, offline.stderr);

  t.same(hex(readPcap(offlineOut).packets.map((p) => p.data)), hex(outputFrames(dir)), 'same packets, same order');
  const [nf1, nf2] = dpdk.summary!.chains[0]!.nfs;
  t.match(offline.stdout, `in 412, out ${dpdk.summary!.chains[0]!.out}, dropped ${412 - dpdk.summary!.chains[0]!.out} (multi-segment 6)`);
  t.match(offline.stdout, `nf ttl1: in ${nf1!.in}, next ${nf1!.next}, out 0, dropped ${nf1!.dropped},`);
  t.match(offline.stdout, `nf ttl2: in ${nf2!.in}, next ${nf2!.next}, out 0, dropped ${nf2!.dropped},`);
  t.match(offline.stdout, `metrics: ttl_expired ${nf1!.metrics['ttl_expired']}, ttl_stepped ${nf1!.metrics['ttl_stepped']}`);

  const same = await netvm(['nf', 'test', TTL, TTL, '--pcap', TRAFFIC, '--expect', offlineOut]);
  t.equal(same.code, 0);
  t.match(same.stdout, `expect: all ${readPcap(offlineOut).packets.length} packets as expected`);
  const differs = await netvm(['nf', 'test', TTL, '--pcap', TRAFFIC, '--expect', offlineOut]);
  t.equal(differs.code, 1, 'one router is not two');
  t.match(differs.stdout, /expect: packet \d+ differs at byte \d+/);
});

t.test('hostile modules are contained offline too', async (t) => {
  const trap = await netvm(['nf', 'test', await fixtureNf('trap-first-burst'), '--pcap', TRAFFIC]);
  t.equal(trap.code, 0);
  t.match(trap.stdout, /next 150, .*trapped 256/, 'the first burst (256, the most an NF takes) trapped, the rest passed');
  const liar = await netvm(['nf', 'test', await fixtureNf('bad-verdicts'), '--pcap', TRAFFIC]);
  t.match(liar.stdout, /in 412, out 0, dropped 412/);
});

t.test('usage errors name what is missing', async (t) => {
  const noPcap = await netvm(['nf', 'test', TTL]);
  t.equal(noPcap.code, 2);
  t.match(noPcap.stderr, 'netvm: nf test needs --pcap <in.pcap>');
  const missing = await netvm(['nf', 'test', '/nonexistent/x.wasm', '--pcap', TRAFFIC]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, 'netvm: /nonexistent/x.wasm: cannot read the module');
});

t.test('--pcap-time: the NFs\' clock is the capture\'s, so flows expire over its span', async (t) => {
  const dir = tempDir();
  // Ten UDP flows at 1 s, ten others at 5 s of the capture: with a 2 s timeout, the first ten
  // are gone by the second burst on the capture's clock, and none on the host's.
  const flow = (i: number): Uint8Array => padFrame(ethernetFrame({
    etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src: `10.0.0.${i + 1}`, dst: '192.0.2.1', ttl: 64, protocol: 17, payload: udpDatagram({ srcPort: 1000 + i, dstPort: 53 }) }),
  }));
  const packets = Array.from({ length: 20 }, (_, i) => ({ data: flow(i), tsNs: BigInt(i < 10 ? 1 : 5) * 10n ** 9n }));
  writePcap(join(dir, 'timed.pcap'), packets);
  writeFileSync(join(dir, 'mon.json'), JSON.stringify({ flows: 64, timeout_s: 2, seed: 1 }));
  const args = ['nf', 'test', join(REPO_ROOT, 'nf-modules/build/monitor.wasm'), '--pcap', join(dir, 'timed.pcap'), '--config', join(dir, 'mon.json')];
  const capture = await netvm([...args, '--pcap-time']);
  t.equal(capture.code, 0, capture.stderr);
  t.match(capture.stdout, /new_flows 20, expired_flows 10/, 'on the capture\'s clock: the first ten expired');
  const host = await netvm(args);
  t.match(host.stdout, /new_flows 20, expired_flows 0/, 'on the host\'s: none did');
  writePcap(join(dir, 'untimed.pcap'), packets.map(({ data }) => ({ data })));
  const untimed = await netvm(['nf', 'test', join(REPO_ROOT, 'nf-modules/build/monitor.wasm'), '--pcap', join(dir, 'untimed.pcap'), '--pcap-time']);
  t.equal(untimed.code, 2, 'a capture without times is refused');
  t.match(untimed.stderr, /--pcap-time: in .*untimed\.pcap, packet 0 has no time \(0\)/);
});
