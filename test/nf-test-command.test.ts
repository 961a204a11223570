// netvm nf test runs NFs over a pcap without DPDK and gives what `netvm run`
// gives for the same input: the same packets out, in the same order, and the
// same verdict counts.
import t from 'tap';
import { join } from 'node:path';
import { readPcap } from '../host/pcap/index.js';
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
