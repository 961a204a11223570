// NFs that export netvm_tick get it about every 10 ms on the data plane, with
// or without traffic.
import t from 'tap';
import { fixtureNf } from './support/fixtures.js';
import { runNetvm } from './support/netvm.js';

t.test('a ticking NF is ticked about every 10 ms, its clock going forward', async (t) => {
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: 'net_null0,size=64,copy=0', sink: 'net_null1,copy=0' },
    nfs: { ticker: { module: await fixtureNf('ticker') } },
    chains: [{ from: 'src', through: ['ticker'], to: 'sink' }],
  };
  const run = await runNetvm(config, ['--duration', '1.5']);
  t.equal(run.code, 0, run.stderr);
  const m = run.summary!.chains[0]!.nfs[0]!.metrics;
  t.ok(m['ticks']! >= 50 && m['ticks']! <= 200, `${m['ticks']} ticks in about 1.5 s`);
  t.equal(m['clock_backwards'], 0);
});
