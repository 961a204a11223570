// netvm apply on a live data plane: only the NFs whose config changed are
// swapped; a config that is invalid, that an NF refuses, or that changes what
// needs a restart is refused as a whole and nothing changes.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
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
  await run.waitFor(/control API on .*\n[\s\S]*\[\s*1s\]/);
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
  t.match(same.stdout, /unchanged: fw, step\napplied: 0 NF\(s\) swapped/);

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
