// Ctrl-C stops a run the way --duration does: RX stops, workers hand back
// every packet, ports close, the summary is written, nothing is left behind.
import t from 'tap';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';
import { runNetvm, totals } from './support/netvm.js';

const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: 'net_null0,size=64,copy=0', sink: 'net_null1,copy=0' },
    nfs: { fwd: { module: join(REPO_ROOT, 'nf-modules/build/forward.wasm') } },
    chains: [{ from: 'src', through: ['fwd'], to: 'sink' }],
};

t.test('SIGINT ends a run cleanly, every packet accounted for', async (t) => {
  const run = await runNetvm(config, [], undefined, 1);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stderr, /stopping/);
  const s = run.summary!;
  const { rx, tx, drops } = totals(s);
  t.ok(tx > 0, 'packets flowed');
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the mbuf pool is full again');
  t.notOk(run.leftRuntimeDir, 'no DPDK runtime folder left behind');
});

t.test('a second SIGINT forces the exit, and still leaves no runtime folder', async (t) => {
  const run = await runNetvm(config, [], undefined, 2);
  t.equal(run.code, 130);
  t.notOk(run.leftRuntimeDir, 'no DPDK runtime folder left behind');
});
