// netvm apply on a live data plane: only the NFs whose config changed are
// swapped, chains come and go; a config that is invalid, that an NF refuses,
// or that changes what needs a restart is refused as a whole and nothing
// changes.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFlowsPcap } from '../bench/traffic.js';
import { netvm } from './support/cli.js';
import { REPO_ROOT } from './support/fixtures.js';
import { startNetvm, tempDir, totals } from './support/netvm.js';

const wasm = (name: string): string => join(REPO_ROOT, `nf-modules/build/${name}.wasm`);
const ctl = ['--control', '127.0.0.1:7172'];

t.test('apply swaps what changed, refuses what it cannot do, and the run goes on', async (t) => {
  const dir = tempDir();
  const config = (fw: object, sink = 'net_null1,size=60') => ({
    cores: { poll: 1, workers: [0] },
    ports: { src: 'net_null0,size=60,copy=1', sink },
    nfs: { fw: { module: wasm('firewall'), config: fw }, step: { module: wasm('ttl') } },
    chains: [{ from: 'src', through: ['fw', 'step'], to: 'sink' }],
  });
  const run = startNetvm(config({ default: 'allow' }), ['--duration', '120', ...ctl], dir);
  await run.waitFor(/\[\s*1s\]/); // the first rates: the control API is up before them
  const file = (name: string, cfg: object): string => {
    writeFileSync(join(dir, name), stringify(cfg));
    return join(dir, name);
  };

  const restart = await netvm(['apply', file('ports.yaml', config({ default: 'allow' }, 'net_null2,size=60')), ...ctl]);
  t.equal(restart.code, 1);
  t.match(restart.stderr, /apply refused, nothing changed:\n {2}ports: changed \(a restart applies it\)/);

  const invalid = await netvm(['apply', file('invalid.yaml', { ...config({ default: 'allow' }), pool: { mbufs: 3 } }), ...ctl]);
  t.equal(invalid.code, 2);
  t.match(invalid.stderr, /pool\.mbufs/);

  const refusedByNf = await netvm(['apply', file('refused.yaml', config({ default: 'maybe' })), ...ctl]);
  t.equal(refusedByNf.code, 1);
  t.match(refusedByNf.stderr, /apply refused, nothing changed:\n {2}nfs\.fw: .*refused its config/);

  const same = await netvm(['apply', file('same.yaml', config({ default: 'allow' })), ...ctl]);
  t.equal(same.code, 0, same.stderr);
  t.match(same.stdout, /unchanged: fw, step\napplied: 0 NF\(s\) swapped, 0 chain\(s\) stopped, 0 started, 0 scaled/);

  const changed = await netvm(['apply', file('deny.yaml', config({ default: 'allow', non_ip: 'deny' })), ...ctl]);
  t.equal(changed.code, 0, changed.stderr);
  t.match(changed.stdout, /nf fw: swapped \(started empty: .*\)/);
  t.match(changed.stdout, /unchanged: step\napplied: 1 NF\(s\) swapped/);
  // A swap by hand is part of what runs: applying the same file again puts the firewall back.
  const byHand = await netvm(['swap', 'fw', wasm('forward'), ...ctl]);
  t.equal(byHand.code, 0, byHand.stderr);
  const back = await netvm(['apply', join(dir, 'deny.yaml'), ...ctl]);
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, /nf fw: swapped/, 'the running module is compared, not the one the run started with');
  await new Promise((r) => setTimeout(r, 300));

  const stop = await netvm(['stop', ...ctl]);
  t.equal(stop.code, 0);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const s = r.summary!;
  const fw = s.chains[0]!.nfs[0]!;
  t.ok(fw.dropped > 0, `the new config took effect: net_null's frames are not IP, and are now denied (${fw.dropped})`);
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops, across the applies');
  t.equal(s.pool.available, s.pool.mbufs);
});

t.test('apply starts, stops and re-chains chains under load; the others run on', async (t) => {
  const dir = tempDir();
  const pcap = join(dir, 'flows.pcap');
  writeFlowsPcap(pcap, 64, 256);
  const base = {
    cores: { poll: 1, workers: [0] },
    ports: { a: 'net_null0,size=60,copy=1', b: 'net_null1,size=60', c: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, d: 'net_null2,size=60' },
    nfs: { fw: { module: wasm('firewall'), config: { default: 'allow' } }, step: { module: wasm('ttl') }, mon: { module: wasm('monitor') } },
    // CLI processes start while both CPUs are under load: a burst preempted for tens of ms is not a hang here.
    watchdog_ms: 250,
  };
  const one = { name: 'one', from: 'a', through: ['fw', 'step'], to: 'b' };
  const run = startNetvm({ ...base, chains: [one] }, ['--duration', '120', ...ctl], dir);
  await run.waitFor(/\[\s*1s\]/); // the first rates: the control API is up before them
  const apply = async (name: string, chains: object[]): Promise<string> => {
    writeFileSync(join(dir, name), stringify({ ...base, chains }));
    const s = await netvm(['apply', join(dir, name), ...ctl]);
    t.equal(s.code, 0, `${name}: ${s.stderr}`);
    await new Promise((r) => setTimeout(r, 300));
    return s.stdout;
  };
  const two = { name: 'two', from: 'c', through: ['mon'], to: 'd', workers: 2 };
  const added = await apply('add.yaml', [one, two]);
  t.match(added, 'chain two: started');
  t.match(added, 'unchanged: fw, step');
  t.match((await netvm(['status', ...ctl])).stdout, 'chain two: mon on 2 worker(s)');
  const rechained = await apply('rechain.yaml', [{ ...one, through: ['fw'] }, two]);
  t.match(rechained, /chain one: stopped\n {2}chain one: started/);
  t.match(rechained, 'unchanged: mon');
  const status = await netvm(['status', ...ctl]);
  t.match(status.stdout, 'chain one: fw on 1 worker(s)');
  t.notMatch(status.stdout, 'nf step', 'step runs nowhere now');
  const removed = await apply('remove.yaml', [{ ...one, through: ['fw'] }]);
  t.match(removed, 'chain two: stopped');
  t.match(removed, /applied: 0 NF\(s\) swapped, 1 chain\(s\) stopped, 0 started, 0 scaled/);
  // The worker's only chain goes: the worker ends, and a fresh one starts for the new path.
  const alone = await apply('alone.yaml', [{ ...one, through: ['step', 'fw'] }]);
  t.match(alone, /chain one: stopped\n {2}chain one: started/);
  t.match((await netvm(['status', ...ctl])).stdout, 'chain one: step -> fw on 1 worker(s)');

  t.equal((await netvm(['stop', ...ctl])).code, 0);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const s = r.summary!;
  t.same(s.chains.map((c) => [c.name, c.workers]), [['one', 0], ['two', 0], ['one', 0], ['one', 1]], 'every chain that ran is in the summary');
  t.ok(s.chains.every((c) => c.in > 0), 'and each carried traffic');
  t.same(s.chains[0]!.nfs.map((nf) => nf.name), ['fw', 'step']);
  t.ok(s.ports[2]!.rx > 0 && s.ports[3]!.tx > 0, 'the pcap chain ran while it existed');
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops, across starts and stops');
  t.equal(s.unaccounted, 0);
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
});
