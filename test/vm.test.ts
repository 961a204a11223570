// vm NFs: an NF in a QEMU guest (under TCG here: nothing asserts its speed),
// reached over an ivshmem region that holds copies of its packets only. A
// chain with one gives the all-shared chain's packets byte for byte; a guest
// killed mid-traffic costs only the bursts its chain's fail policy drops, is
// booted again, and nothing is left behind.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';
import { runNetvm, startNetvm, tempDir, totals } from './support/netvm.js';
import { TRAFFIC, inputFrames, outputFrames } from './support/pcap-ports.js';
import { generateTraffic } from './support/traffic.js';
import { writePcap } from '../host/pcap/index.js';
import { sweepDeadRuns } from '../host/runtime/leftovers.js';
import { netvm } from './support/cli.js';
import { fixtureNf } from './support/fixtures.js';

const TTL = join(REPO_ROOT, 'nf-modules/build/ttl.wasm');
const FIREWALL = join(REPO_ROOT, 'nf-modules/build/firewall.wasm');
const GUEST_TTL = join(REPO_ROOT, 'nf-modules/build/guest/ttl.initrd');
const GUEST_BRIDGE = join(REPO_ROOT, 'nf-modules/build/guest/bridge.initrd');
const hex = (frames: Uint8Array[]): string[] => frames.map((f) => Buffer.from(f).toString('hex'));
const FW_CONFIG = { default: 'allow', rules: [{ action: 'deny', proto: 'udp', dport: 53 }] };

/** QEMU processes and region files of this test process's runs. */
const mine = `netvm-netvm-test-${process.pid}-`;
const leftQemu = (): string => {
  try {
    return execFileSync('pgrep', ['-af', `${mine}.*-vm-`], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
};
const leftRegions = (): string[] => ['/dev/hugepages', '/dev/shm'].flatMap((d) => (existsSync(d) ? readdirSync(d) : []).filter((f) => f.startsWith(mine)));

function chain(dir: string, midTrust: 'shared' | 'vm'): object {
  return {
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${TRAFFIC}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: {
      fw: { module: FIREWALL, config: FW_CONFIG },
      mid: midTrust === 'vm' ? { module: GUEST_TTL, trust: 'vm' } : { module: TTL },
      b: { module: TTL },
    },
    chains: [{ from: 'in', through: ['fw', 'mid', 'b'], to: 'out' }],
    watchdog_ms: 200,
  };
}

t.test('port -> shared -> vm (ivshmem) -> shared -> port gives the all-shared chain\'s packets', async (t) => {
  const sharedDir = tempDir();
  const shared = await runNetvm(chain(sharedDir, 'shared'), ['--until-idle', '300', '--control', 'off'], sharedDir);
  t.equal(shared.code, 0, shared.stderr);
  const vmDir = tempDir();
  const vm = await runNetvm(chain(vmDir, 'vm'), ['--until-idle', '1000', '--control', 'off'], vmDir);
  t.equal(vm.code, 0, vm.stderr);
  t.match(vm.stderr, /vm nf mid: guest ready under (KVM|TCG)/, 'it says which accelerator ran the guest');
  t.same(hex(outputFrames(vmDir)), hex(outputFrames(sharedDir)), 'the same packets, rewritten the same, in the same order');
  const counts = (r: typeof shared) => r.summary!.chains[0]!.nfs.map(({ in: i, next, dropped, bad_length, bad_verdict }) => ({ i, next, dropped, bad_length, bad_verdict }));
  t.same(counts(vm), counts(shared), 'the same verdict counts, NF by NF');
  t.ok(counts(vm)[1]!.i > 0 && counts(vm)[1]!.dropped > 0, 'the guest saw packets and dropped some (TTL expiring)');
  const { rx, tx, drops } = totals(vm.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(vm.summary!.pool.available, vm.summary!.pool.mbufs, 'the pool is full again');
  t.equal(vm.summary!.guests?.[0]?.restarts, 0);
  t.equal(leftQemu(), '', 'no QEMU left running');
  t.same(leftRegions(), [], 'no region file left');
});

t.test('a guest refusing its config stops the run before traffic, naming the field', async (t) => {
  const dir = tempDir();
  const cfg = chain(dir, 'vm') as { nfs: Record<string, object> };
  cfg.nfs['mid'] = { module: GUEST_TTL, trust: 'vm', config: { no_such_key: 1 } };
  const r = await runNetvm(cfg, ['--until-idle', '300', '--control', 'off'], dir);
  t.not(r.code, 0);
  t.match(r.stderr, /nfs\.mid\.config: the guest refused it: \S+/);
  t.equal(leftQemu(), '', 'no QEMU left running');
  t.same(leftRegions(), [], 'no region file left');
});

t.test('a guest killed mid-traffic: fail policy, counted, restarted, nothing lost or left', async (t) => {
  const dir = tempDir();
  const cfg = {
    ...chain(dir, 'vm'), ports: { in: 'net_null0,size=60,copy=1', out: 'net_null1' },
    chains: [{ from: 'in', through: ['fw', 'mid', 'b'], to: 'out', fail: 'closed' }],
  };
  const run = startNetvm(cfg, ['--rx-pps', '20000', '--duration', '60', '--control', 'off'], dir);
  await run.waitFor(/guest ready under/, 100_000);
  await new Promise((r) => setTimeout(r, 1000));
  // What the guest's QEMU has mapped of the host's shared memory: its own region, nothing of the pool.
  const qemuPid = execFileSync('pgrep', ['-f', `^qemu-system.*${mine}.*-vm-mid`], { encoding: 'utf8' }).trim();
  const shared = readFileSync(`/proc/${qemuPid}/maps`, 'utf8').split('\n')
    .filter((l) => / \/dev\/(hugepages|shm)\/| \/memfd:|rtemap|netvm/.test(l)).map((l) => l.split(/\s+/).slice(5).join(' '));
  t.ok(shared.length > 0 && shared.every((f) => /^\/dev\/(hugepages|shm)\/netvm-netvm-test-\d+-\d+-vm-mid( \(deleted\))?$/.test(f)), `the guest maps its region and nothing else of the host's: ${[...new Set(shared)].join(', ')}`);
  execFileSync('pkill', ['-KILL', '-f', `${mine}.*-vm-mid`]);
  // Back once the new guest has booted; then a second of traffic through it, and the run is stopped.
  await run.waitFor(/guest ready under[\s\S]*guest ended[\s\S]*guest ready under/, 100_000);
  await new Promise((r) => setTimeout(r, 1000));
  execFileSync('pkill', ['-INT', '-f', `${join(dir, 'config.yaml')}`]);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const s = r.summary!;
  const mid = s.chains[0]!.nfs[1]!;
  t.ok(mid.fail_dropped > 0, `the bursts the guest could not take were dropped and counted (${mid.fail_dropped})`);
  t.equal(mid.fail_passed, 0, 'fail closed passes nothing');
  t.ok(mid.next > 0, 'packets went through the guest');
  t.equal(s.guests?.[0]?.restarts, 1, 'restarted once');
  t.equal(s.guests?.[0]?.ready, true, 'ready at the end');
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  t.equal(leftQemu(), '', 'no QEMU left running');
  t.same(leftRegions(), [], 'no region file left');
});

t.test('a guest that returns bad records (lengths, verdicts, offsets) costs only those packets, counted', async (t) => {
  const dir = tempDir();
  const r = await runNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${TRAFFIC}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { liar: { module: join(REPO_ROOT, 'test/fixtures/build/guest/liar.initrd'), trust: 'vm' } },
    chains: [{ from: 'in', through: ['liar'], to: 'out' }],
  }, ['--until-idle', '1000', '--control', 'off'], dir);
  t.equal(r.code, 0, r.stderr);
  const nf = r.summary!.chains[0]!.nfs[0]!;
  t.ok(nf.bad_length > 0 && nf.bad_verdict > 0, `lengths of 0 and past the room refused (${nf.bad_length}), unknown verdicts refused (${nf.bad_verdict})`);
  t.equal(nf.next + nf.bad_length + nf.bad_verdict, nf.in, 'every other packet passed on');
  t.same([nf.trapped, nf.fail_dropped + nf.fail_passed], [0, 0], 'nothing trapped or failed');
  // The liar passes packets unchanged: what came out is the input less the refused, in order,
  // byte for byte (an offset it wrote is never followed).
  const input = hex(inputFrames().filter((f) => f.length <= 2048));
  const out = hex(outputFrames(dir));
  let at = 0;
  const inOrder = out.every((f) => {
    while (at < input.length && input[at] !== f) at++;
    return at++ < input.length;
  });
  t.ok(out.length === nf.next && inOrder, `the ${out.length} packets out are input frames, unchanged, in order`);
  const { rx, tx, drops } = totals(r.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs, 'the pool is full again');
  t.equal(leftQemu(), '', 'no QEMU left running');
});

t.test('messages to a vm NF: copied into its region from an NF of its chain and from the operator, who gets its answer', async (t) => {
  const dir = tempDir();
  const ctl = ['--control', '127.0.0.1:7175'];
  const run = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${TRAFFIC}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    // flood sends two messages per packet to 'sink' (and holds buffers it never sends).
    nfs: { flood: { module: await fixtureNf('flood') }, sink: { module: join(REPO_ROOT, 'test/fixtures/build/guest/mailbox.initrd'), trust: 'vm' } },
    chains: [{ from: 'in', through: ['flood', 'sink'], to: 'out' }],
  }, ['--duration', '120', ...ctl], dir);
  await run.waitFor(/\[\s*1s\]/, 60000);
  const said = await netvm(['send', 'sink', '{"hello": "guest"}', ...ctl]);
  t.equal(said.code, 0, said.stderr);
  const answer = JSON.parse(said.stdout.replace(/^nf sink: /, '')) as { messages: number; bytes: number; said: unknown };
  t.same(answer.said, { hello: 'guest' }, 'the guest got the operator\'s message and answered');
  t.equal((await netvm(['stop', ...ctl])).code, 0);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const [flood, sink] = r.summary!.chains[0]!.nfs;
  t.ok(flood!.messages_sent > 0, `flood sent ${flood!.messages_sent}`);
  t.equal(answer.messages, flood!.messages_sent, 'the guest took every message flood sent, before the operator\'s');
  t.equal(answer.bytes, 16 * flood!.messages_sent);
  t.equal(sink!.messages_received, flood!.messages_sent + 1, 'received: those, and the operator\'s');
  const { rx, tx, drops } = totals(r.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs, 'the pool is full again');
  t.equal(leftQemu(), '', 'no QEMU left running');
});

t.test('a run killed outright (SIGKILL) leaves no guest running', async (t) => {
  const dir = tempDir();
  const run = startNetvm(chain(dir, 'vm'), ['--duration', '60', '--control', 'off'], dir);
  await run.waitFor(/guest ready under/, 100_000);
  t.not(leftQemu(), '', 'its guest runs');
  run.kill('SIGKILL');
  t.equal((await run.done).code, null, 'killed');
  // QEMU gets SIGKILL when its parent dies (setpriv --pdeathsig): a moment for the kernel.
  for (let i = 0; i < 50 && leftQemu() !== ''; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(leftQemu(), '', 'no QEMU left running');
  // What else it left (its region, EAL's folder) is the next run's to sweep; sweep it here.
  sweepDeadRuns(`netvm-test-sweep-${process.pid}`);
  t.same(leftRegions(), [], 'swept: no region file left');
});

t.test('port -> shared -> vm (vhost-user, a Linux bridge) -> shared -> port: the packets of the chain without it', async (t) => {
  // Frames a Linux guest forwards as they are: Ethernet-sized (its MTU is 1500).
  const input = join(tempDir(), 'in.pcap');
  writePcap(input, generateTraffic().filter((f) => f.length >= 60 && f.length <= 1514).map((data) => ({ data })));
  const config = (dir: string, through: string[]): object => ({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${input}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { fw: { module: FIREWALL, config: FW_CONFIG }, mid: { module: GUEST_BRIDGE, trust: 'vm', via: 'vhost-user' }, b: { module: TTL } },
    chains: [{ name: 'c', from: 'in', through, to: 'out' }],
  });
  const plainDir = tempDir();
  const plain = await runNetvm(config(plainDir, ['fw', 'b']), ['--until-idle', '300', '--control', 'off'], plainDir);
  t.equal(plain.code, 0, plain.stderr);
  const vmDir = tempDir();
  // Paced far below what the guest forwards even under TCG (tens of kpps): its RX ring holds 256 frames.
  const vm = await runNetvm(config(vmDir, ['fw', 'mid', 'b']), ['--until-idle', '1500', '--rx-pps', '2000', '--control', 'off'], vmDir);
  t.equal(vm.code, 0, vm.stderr);
  t.match(vm.stderr, /vm nf mid: guest ready under (KVM|TCG)/);
  const s = vm.summary!;
  t.same(s.chains.map((c) => c.name), ['c', 'c/mid'], 'the chain is split at the guest');
  t.same(s.ports.map((p) => p.name), ['in', 'out', 'mid.into', 'mid.out'], 'a vhost-user port each way');
  const into = s.ports.find((p) => p.name === 'mid.into')!;
  const back = s.ports.find((p) => p.name === 'mid.out')!;
  t.ok(into.tx > 0, `frames went into the guest (${into.tx})`);
  t.equal(back.rx, into.tx, 'every frame came back out of it, and nothing else');
  // A Linux guest may reorder packets of different flows (GRO holds TCP segments a moment): compared as sets.
  t.same(hex(outputFrames(vmDir)).sort(), hex(outputFrames(plainDir)).sort(), 'the same packets, byte for byte, as the chain without the guest');
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops, at every port');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  t.equal(leftQemu(), '', 'no QEMU left running');
});
