// NFs that misbehave cost only their own packets: a trap drops the burst it
// happened in (counted, reported once) and the run goes on; verdicts and
// lengths that make no sense drop their packet and are counted.
import t from 'tap';
import { fixtureNf } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { DATA_ROOM, inputFrames, outputFrames, pcapChainConfig } from './support/pcap-ports.js';

const fitting = inputFrames().filter((f) => f.length <= DATA_ROOM).length;

t.test('a trap drops its burst, is counted and reported, and the run goes on', async (t) => {
  const dir = tempDir();
  const run = await runNetvm(pcapChainConfig(dir, { trappy: await fixtureNf('trap-first-burst') }), undefined, dir);
  t.equal(run.code, 0, 'the run ends normally');
  t.match(run.stderr, /nf trappy trapped: RuntimeError: unreachable/);
  const nf = run.summary!.chains[0]!.nfs[0]!;
  t.equal(nf.trap_batches, 1, 'one burst trapped');
  t.ok(nf.trapped > 0 && nf.trapped < fitting, 'the trapped burst was dropped, later bursts were not');
  t.equal(nf.trapped + nf.next, fitting, 'every packet trapped or passed');
  t.equal(outputFrames(dir).length, nf.next, 'what passed came out');
  const { rx, tx, drops } = totals(run.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(run.summary!.pool.available, run.summary!.pool.mbufs, 'the mbuf pool is full again');
});

t.test('bad verdicts and bad lengths drop their packets and are counted', async (t) => {
  const dir = tempDir();
  const run = await runNetvm(pcapChainConfig(dir, { liar: await fixtureNf('bad-verdicts') }), undefined, dir);
  t.equal(run.code, 0, run.stderr);
  const nf = run.summary!.chains[0]!.nfs[0]!;
  t.equal(nf.in, fitting);
  t.ok(nf.bad_verdict > 0 && nf.bad_length > 0, 'both kinds seen');
  t.equal(nf.bad_verdict + nf.bad_length, fitting, 'every packet rejected and counted');
  t.equal(outputFrames(dir).length, 0, 'nothing came out');
  t.equal(run.summary!.pool.available, run.summary!.pool.mbufs, 'the mbuf pool is full again');
});
