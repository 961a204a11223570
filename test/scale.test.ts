// A chain on several workers: flows are steered by a symmetric hash, so a
// stateful firewall's replicas each see both directions of their flows (the
// output is exactly the reference's, each flow in order); scaling up and
// down under load, and by apply, loses nothing and leaves the pool full.
// (This machine has one worker CPU: the replicas share it, one thread with
// several lanes; the steering, the replicas' own state and the accounting are
// what is tested, not speed.)
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writePcap } from '../host/pcap/index.js';
import { writeFlowsPcap } from '../bench/traffic.js';
import { netvm } from './support/cli.js';
import { REPO_ROOT } from './support/fixtures.js';
import { byFlow, statefulConversations } from './support/conversations.js';
import { runNetvm, startNetvm, tempDir, totals } from './support/netvm.js';
import { outputFrames } from './support/pcap-ports.js';

const wasm = (name: string): string => join(REPO_ROOT, `nf-modules/build/${name}.wasm`);
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const CONTROL = '127.0.0.1:7173';
const ctl = ['--control', CONTROL];

t.test('two workers: both directions of every flow meet the same firewall instance', async (t) => {
  const { fw, frames, flowOf, expected } = statefulConversations();
  t.ok(expected.length > frames.length / 2 && expected.length < frames.length, `the reference lets ${expected.length} of ${frames.length} through`);
  const dir = tempDir();
  writePcap(join(dir, 'in.pcap'), frames.map((data) => ({ data })));
  const r = await runNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { fw: { module: wasm('firewall'), config: fw } },
    chains: [{ from: 'in', through: ['fw'], to: 'out', workers: 2 }],
  }, ['--until-idle', '300', '--control', 'off'], dir);
  t.equal(r.code, 0, r.stderr);
  const out = outputFrames(dir).map(hex);
  t.same([...out].sort(), [...expected].sort(), 'exactly the packets the reference lets through');
  t.same(byFlow(out, flowOf), byFlow(expected, flowOf), 'each flow\'s packets in their order');
  const chain = r.summary!.chains[0]!;
  t.equal(chain.workers, 2);
  t.equal(chain.replicas.length, 2);
  for (const rep of chain.replicas) t.ok(rep.in > frames.length / 5, `replica on lane ${rep.lane} took a share (${rep.in})`);
  t.equal(chain.replicas[0]!.in + chain.replicas[1]!.in, frames.length, 'the replicas\' counts add up to the chain\'s');
  t.equal(chain.in, frames.length);
  t.equal(chain.nfs[0]!.dropped, frames.length - expected.length, 'every other packet dropped by verdict, counted');
  t.equal(r.summary!.unaccounted, 0);
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs, 'the pool is full again');
});

t.test('scale up and down under load, by hand and by apply: nothing lost', async (t) => {
  const dir = tempDir();
  const pcap = join(dir, 'flows.pcap');
  writeFlowsPcap(pcap, 64, 4096);
  const config = (workers: number): object => ({
    cores: { poll: 1, workers: [0] },
    ports: { src: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, sink: 'net_null0,size=60' },
    nfs: { fw: { module: wasm('firewall'), config: { default: 'allow', stateful: true } }, step: { module: wasm('ttl') } },
    chains: [{ name: 'main', from: 'src', through: ['fw', 'step'], to: 'sink', workers }],
  });
  const run = startNetvm(config(1), ['--duration', '120', ...ctl], dir);
  await run.waitFor(/\[\s*1s\]/); // the first rates: the control API is up before them
  const scale = async (n: string, code = 0): Promise<string> => {
    const s = await netvm(['scale', 'main', n, ...ctl]);
    t.equal(s.code, code, `scale main ${n}: ${s.stdout}${s.stderr}`);
    return s.stdout + s.stderr;
  };
  t.match(await scale('2'), /chain main runs on 2 worker\(s\) \(was 1; 128 of 256 flow buckets moved\)/);
  t.match(await scale('3'), /chain main runs on 3 worker\(s\) \(was 2; 85 of 256 flow buckets moved\)/);
  const status = await netvm(['status', ...ctl]);
  t.match(status.stdout, 'chain main: fw -> step on 3 worker(s)');
  const swap = await netvm(['swap', 'step', wasm('forward'), ...ctl]);
  t.equal(swap.code, 0, swap.stderr);
  t.match(swap.stdout, /swapped nf step to .*forward\.wasm on 3 instances/);
  t.match(await scale('1'), /chain main runs on 1 worker\(s\) \(was 3; \d+ of 256 flow buckets moved\)/);
  t.match(await scale('17', 1), /scale refused: workers: must be an integer from 1 to 16, not 17/);
  t.match(await scale('0', 2), /workers must be a positive integer/);
  const unknown = await netvm(['scale', 'nosuch', '2', ...ctl]);
  t.match(unknown.stderr, /no chain named 'nosuch' \(chains: main\)/);
  writeFileSync(join(dir, 'two.yaml'), stringify(config(2)));
  const applied = await netvm(['apply', join(dir, 'two.yaml'), ...ctl]);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, 'chain main: now on 2 worker(s)');
  t.match(applied.stdout, 'unchanged: fw');
  t.match(applied.stdout, 'step: swapped', 'step goes back to ttl, as the file says');
  await new Promise((r) => setTimeout(r, 500));
  t.equal((await netvm(['stop', ...ctl])).code, 0);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops, across every scaling');
  t.equal(s.unaccounted, 0);
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  const chain = s.chains[0]!;
  t.equal(chain.workers, 2);
  t.equal(chain.replicas.filter((r) => r.live).length, 2);
  t.ok(chain.replicas.length >= 4, `every replica's counts kept (${chain.replicas.length} in all)`);
  t.ok(chain.replicas.every((rep) => rep.in > 0), `under load throughout: every replica took packets (${chain.replicas.map((rep) => rep.in).join(', ')})`);
  t.equal(chain.replicas.reduce((n, r) => n + r.in, 0), chain.in, 'the replicas add up to the chain');
  t.equal(chain.nfs[0]!.dropped + chain.nfs[1]!.dropped, 0, 'no verdict drops: flows that moved are new flows to an allowing firewall');
  t.equal(chain.nfs[1]!.in, chain.nfs[0]!.next, 'counts go on across replicas and swaps');
  t.equal(s.badDescriptors, 0);
});
