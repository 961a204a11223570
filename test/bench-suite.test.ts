// The benchmark suite on a tiny matrix: it runs the raw-DPDK and handoff baselines, a
// data-plane chain (in Wasm, in C and as JavaScript NFs) and an NF-path point, and writes valid JSON, a report and
// charts; targets it could not measure say so. No speed is asserted.
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { netvm } from './support/cli.js';
import { tempDir } from './support/netvm.js';

// Exactly one skeleton, four data planes and the NF path: about half a minute.
interface Results {
  machine: { cpu: string; dpdk: string; node: string; v8: string; kernel: string; hugepages: string };
  options: { repeats: number };
  results: { id: string; kind: string; samples: { pps: number; clean?: boolean; threads?: { name: string }[]; lineRttNs?: number }[]; error?: string; figures: { mpps: number; wasmVsTs?: number; wasmVsC?: number } | null }[];
  targets: { what: string; status: string; detail: string }[];
}

t.test('a tiny matrix: baselines, a chain and the NF path, into JSON, Markdown and SVG', async (t) => {
  const out = join(tempDir(), 'bench');
  const run = await netvm(['bench', '--quick', '--only', 'skeleton-64B', '--only', 'skeleton-extbuf', '--only', 'handoff', '--only', 'chain1-', '--only', 'nf-firewall-1K', '--only', 'latency3-50', '--only', 'single-router', '--only', 'peer-',
    '--repeats', '1', '--warmup', '0.5', '--seconds', '0.5', '--out', out]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /point\s+Mpps \[min-max\]\s+Gbps wire/);
  t.match(run.stdout, /target n\/a {4}zero-copy 3-chain >= 2\.5x the isolated-copy 3-chain at 1518 B: needs chain3-1518B-1K and chain3-1518B-1K-iso in the run/);
  t.match(run.stdout, /^Wasm\/C speed \(1 = as fast as the same logic in C\): chain1-64B-1K [\d.]+x, nf-firewall-1K [\d.]+x$/m);

  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  // latency3-50pct's floor takes chain3-64B-1K's CPU time a packet: that point comes along.
  t.same(json.results.map((r) => r.id), ['skeleton-64B', 'skeleton-extbuf-64B', 'handoff', 'chain1-64B-1K', 'chain1-64B-1K-c', 'chain1-64B-1K-js', 'chain3-64B-1K', 'latency3-50pct', 'single-router-64B-1K', 'single-router-64B-1K-c', 'peer-l3fwd-64B-1K', 'peer-ovs-forward-64B-1K', 'peer-ovs-chain3-64B-1K', 'nf-firewall-1K']);
  for (const r of json.results) {
    t.equal(r.error, undefined, `${r.id} ran`);
    t.equal(r.samples.length, 1, `${r.id}: one sample`);
    t.ok(r.samples[0]!.pps > 0, `${r.id}: packets went through`);
    t.ok(r.figures !== null && r.figures.mpps > 0, `${r.id}: figures`);
  }
  const result = (id: string): Results['results'][number] => json.results.find((r) => r.id === id)!;
  const chain = result('chain1-64B-1K').samples[0]!;
  t.equal(chain.clean, true, 'the chain run accounted for every packet and gave the pool back');
  t.ok(chain.threads!.some((th) => th.name === 'netvm-worker0'), 'the worker thread is named and measured');
  t.ok(chain.lineRttNs! > 0, "a cache line's round trip between the two CPUs was taken before the chain's sample");
  t.equal(result('skeleton-64B').samples[0]!.lineRttNs, undefined, "and not before the skeleton's, which runs on one CPU");
  t.ok(json.machine.dpdk && json.machine.node && json.machine.v8 && json.machine.kernel, 'the machine is recorded');
  t.equal(json.targets.length, 18);
  t.ok(json.targets.some((x) => x.what.startsWith('an idle data plane') && x.status === 'not measured' && x.detail.includes('idle-adaptive')), 'the idle target says which point it needs');
  t.ok(json.targets.filter((x) => x.what.includes('guest')).every((x) => x.status === 'not measured' && x.detail.includes('-vm-')), 'the guest targets say which points they need');
  t.ok(json.targets.every((x) => ['met', 'missed', 'not measured'].includes(x.status)));
  t.not(json.targets.find((x) => x.what.includes('50% load'))!.status, 'not measured', 'the latency target is judged');
  t.ok(json.targets.some((x) => x.what.includes('80% load') && x.status === 'not measured' && x.detail.includes('latency3-80pct')), 'the ring target says which point it needs');
  t.equal(result('chain1-64B-1K-c').samples[0]!.clean, true, 'the chain of C NFs ran on the worker, every packet accounted for');
  t.ok(result('chain1-64B-1K').figures!.wasmVsC! > 0, 'the Wasm chain is compared with it');
  t.ok(result('nf-firewall-1K').figures!.wasmVsC! > 0, 'and the Wasm NF path with the C one');
  t.not(json.targets.find((x) => x.what.startsWith('firewall in Wasm'))!.status, 'not measured', "the firewall's Wasm/C target is judged");
  t.equal(result('chain1-64B-1K-js').samples[0]!.clean, true, 'the chain of JavaScript NFs ran on the worker, every packet accounted for');
  t.ok(result('chain1-64B-1K').figures!.wasmVsTs! > 0, 'the Wasm chain is compared with it');
  // The peers (DPDK's l3fwd, OVS-DPDK) started, forwarded, and left nothing behind.
  t.match(run.stdout, /^- peer-ovs-chain3-64B-1K \(.*\): [\d.]+ Mpps on 1 core \(CPU 1\); NetVM on the same traffic and ports: chain3-64B-1K [\d.]+ Mpps on 2 cores/m, 'the peers beside NetVM\'s chains');
  t.match(run.stdout, /^- peer-l3fwd-64B-1K \(.*\): [\d.]+ Mpps on 1 core \(CPU 1\); NetVM on the same traffic and ports: single-router-64B-1K [\d.]+ Mpps on 2 cores, CPUs 1 and 0 \([\d.]+ a core\), single-router-64B-1K-c /m,
    'l3fwd beside the router alone, in Wasm and in C');
  t.equal(result('single-router-64B-1K').samples[0]!.clean, true, 'the router alone ran, every packet accounted for');
  t.ok(result('peer-l3fwd-64B-1K').samples[0]!.pps > 1e6, 'l3fwd routed the traffic into net_null');
  t.ok(result('peer-ovs-forward-64B-1K').samples[0]!.pps > 1e6, 'OVS forwarded it');
  t.ok(result('peer-ovs-chain3-64B-1K').samples[0]!.pps > 1e5, 'and ran it through the chain as OpenFlow, its NAT by conntrack');
  t.same((existsSync('/var/run/dpdk') ? readdirSync('/var/run/dpdk') : []).filter((d) => d.startsWith('netvm-bench-')), [], 'no runtime folder left by a baseline or peer');
  const running = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  });
  t.same(running.filter((cmd) => /ovs-vswitchd|ovsdb-server|l3fwd/.test(cmd)), [], 'no OVS daemon or l3fwd left running');
  const paced = result('latency3-50pct').samples[0]! as {
    capacityPps?: number; pacedPps?: number; latency?: { count: number; p99Ns: number }; floor?: { p99Ns: number }; workFloor?: { p99Ns: number; workNs: number }; workerGaps?: unknown[];
  };
  t.ok(paced.pacedPps! > 0 && paced.latency!.count > 0 && paced.latency!.p99Ns > 0, 'the paced point has latency percentiles');
  t.ok(Math.abs(paced.pacedPps! - paced.capacityPps! / 2) <= 1, 'paced at half the rate its chain reached unpaced right before');
  t.ok(paced.floor!.p99Ns > 0 && paced.workerGaps!.length === 1, 'beside the rings alone at the same pace, and the worker\'s turn gaps');
  t.ok(paced.workFloor!.p99Ns > 0 && paced.workFloor!.workNs > 0, 'and beside the rings with the chain\'s CPU time a packet on the worker side');

  const report = readFileSync(join(out, 'report.md'), 'utf8');
  t.match(report, /^# NetVM benchmark, /);
  t.match(report, /\| chain1-64B-1K \| [\d.]+ \|/);
  t.match(report, /\| chain1-64B-1K \|.*worker ns a packet \(Wasm\/C\): chain's own [\d.]+\/[\d.]+, firewall [\d.]+\/[\d.]+/, "the worker's time a packet on the chain and its NF, beside C's");
  t.match(report, /raw DPDK \(the skeleton example, from dpdk-doc\): measured/);
  t.match(report, /the rings alone \(handoff, bench\/handoff\.c\): .*; measured/);
  t.match(report, /\| handoff \| [\d.]+ \|/);
  t.match(report, /a cache line's round trip between them \(bench\/crosscore\.c\): \d+-\d+ ns in this run/, 'the report says where the host put the two vCPUs');
  t.match(readFileSync(join(out, 'peers.svg'), 'utf8'), /l3fwd.*ovs-forward.*ovs-chain3/s, 'the peers\' chart has them: ovs-forward beside nothing in this run is drawn alone');
  for (const svg of ['chain-length.svg', 'nf-path.svg', 'peers.svg']) {
    const text = readFileSync(join(out, svg), 'utf8');
    t.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/, `${svg} is an SVG document`);
    t.match(text, /<\/svg>\n$/);
    t.match(report, `![${svg}](${svg})`);
  }
  t.notOk(existsSync(join(out, 'scratch')), 'scratch files removed');
});

t.test('a peer whose package is missing is reported as such, not skipped', async (t) => {
  const out = join(tempDir(), 'bench');
  // OVS's binaries hidden for this command alone: a private mount namespace with an empty folder on top.
  const hidden = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /usr/lib/openvswitch-switch-dpdk && exec "$@"', 'sh'];
  const run = await netvm(['bench', '--quick', '--only', 'peer-ovs-forward', '--repeats', '1', '--warmup', '0.5', '--seconds', '0.5', '--out', out], hidden);
  t.equal(run.code, 1, 'the bench fails');
  t.match(run.stdout, /^- peer-ovs-forward-64B-1K \(.*\): not measured: Open vSwitch with DPDK is missing: apt-get install openvswitch-switch-dpdk$/m);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  t.match(json.results[0]!.error, /Open vSwitch with DPDK is missing/);
});

t.test('--workers: each chain on several workers, flows steered among them', async (t) => {
  const out = join(tempDir(), 'bench');
  const run = await netvm(['bench', '--quick', '--only', 'chain1-', '--workers', '2', '--repeats', '1', '--warmup', '0.5', '--seconds', '0.5', '--out', out]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /each chain on 2 workers/);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results & { options: { workers: number } };
  t.equal(json.options.workers, 2);
  const sample = json.results[0]!.samples[0]!;
  t.ok(sample.pps > 0 && sample.clean === true, 'packets went through, every one accounted for');
  t.match(readFileSync(join(out, 'report.md'), 'utf8'), /each chain on 2 workers \(flows steered by a symmetric hash\)/);
});

t.test('bad options are refused before anything runs', async (t) => {
  const none = await netvm(['bench', '--only', 'nosuch']);
  t.equal(none.code, 2);
  t.match(none.stderr, /--only nosuch: no such point in the full matrix \(handoff, skeleton-64B, skeleton-extbuf-64B, forward-64B, /);
  const repeats = await netvm(['bench', '--repeats', '1.5']);
  t.equal(repeats.code, 2);
  t.match(repeats.stderr, /--repeats: '1.5' is not a whole number/);
  const workers = await netvm(['bench', '--workers', '17']);
  t.equal(workers.code, 2);
  t.match(workers.stderr, /--workers: '17' is not a whole number from 1 to 16/);
  const help = await netvm(['bench', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: netvm bench \[--quick\]/);
});
