// NFs that misbehave cost only their own packets: a trap drops the burst it
// happened in (counted, reported once) and a fresh instance takes over; one
// that keeps trapping is marked failed and its chain's fail policy applies;
// verdicts and lengths that make no sense drop their packet and are counted.
import t from 'tap';
import { join } from 'node:path';
import { readPcap, writePcap } from '../host/pcap/index.js';
import { fixtureNf } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { DATA_ROOM, inputFrames, outputFrames, pcapChainConfig } from './support/pcap-ports.js';

const fitting = inputFrames().filter((f) => f.length <= DATA_ROOM).length;

/** 3000 packets of a local ethertype, the one at `poison` ending in 0xEE. */
function markedPcap(dir: string, poison: number): string {
  const frames = Array.from({ length: 3000 }, (_, i) => {
    const f = new Uint8Array(64);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5]);
    f[63] = i === poison ? 0xee : 0x11;
    return { data: f };
  });
  writePcap(join(dir, 'marked.pcap'), frames);
  return join(dir, 'marked.pcap');
}

t.test('a trap drops its burst, is counted and reported, and a fresh instance takes over', async (t) => {
  const dir = tempDir();
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: `net_pcap0,rx_pcap=${markedPcap(dir, 1500)}`, sink: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { trappy: { module: await fixtureNf('trap-on-mark') } },
    chains: [{ from: 'src', through: ['trappy'], to: 'sink' }],
  };
  const run = await runNetvm(config, ['--until-idle', '500', '--control', 'off'], dir);
  t.equal(run.code, 0, 'the run ends normally');
  t.match(run.stderr, /nf trappy trapped: RuntimeError: unreachable/);
  t.match(run.stderr, /nf trappy: a fresh instance runs \(trap 1 in 10 s, \d+ ms after it\)/);
  const nf = run.summary!.chains[0]!.nfs[0]!;
  t.equal(nf.trap_batches, 1, 'one burst trapped');
  t.ok(nf.trapped > 0 && nf.trapped <= 256, 'the trapped burst was dropped, later bursts were not');
  t.equal(nf.trapped + nf.next, 3000, 'every packet trapped or passed');
  t.equal(nf.fail_dropped + nf.fail_passed, 0, 'not failed: re-created at once');
  t.equal(readPcap(join(dir, 'out.pcap')).packets.length, nf.next, 'what passed came out');
  const { rx, tx, drops } = totals(run.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(run.summary!.pool.available, run.summary!.pool.mbufs, 'the mbuf pool is full again');
});

for (const fail of ['closed', 'open'] as const) {
  t.test(`an NF that keeps trapping is marked failed; fail ${fail} ${fail === 'closed' ? 'drops' : 'passes on'} its packets, counted`, async (t) => {
    const config = {
      cores: { poll: 1, workers: [0] },
      ports: { src: 'net_null0,size=60,copy=1', sink: 'net_null1,size=60' },
      nfs: { trappy: { module: await fixtureNf('trap-first-burst') } },
      chains: [{ from: 'src', through: ['trappy'], to: 'sink', fail }],
    };
    const run = await runNetvm(config, ['--duration', '2', '--control', 'off']);
    t.equal(run.code, 0, run.stderr);
    t.match(run.stderr, new RegExp(`nf trappy FAILED: 5 traps in 10 s; its chain now ${fail === 'closed' ? 'drops its packets \\(fail closed\\)' : 'passes its packets on unchanged \\(fail open\\)'}`));
    const s = run.summary!;
    const nf = s.chains[0]!.nfs[0]!;
    t.equal(nf.trap_batches, 5, 'each fresh instance trapped on its first burst, up to the limit');
    // Re-created at once after the first trap, then after 10, 20 and 40 ms (by the worker's clock).
    const after = [...run.stderr.matchAll(/nf trappy: a fresh instance runs \(trap (\d) in 10 s, (\d+) ms after it\)/g)].map((m) => Number(m[2]));
    t.equal(after.length, 4, `four fresh instances before the fifth trap (after ${after.join(', ')} ms)`);
    t.ok(after[0]! < 10, 'the first at once');
    t.ok(after.slice(1).every((ms, i) => ms >= 10 * 2 ** i && ms < 10 * 2 ** i + 1000), 'then after a back-off that doubles: 10, 20, 40 ms');
    t.same(s.failed, ['trappy']);
    if (fail === 'closed') {
      t.ok(nf.fail_dropped > 0 && nf.fail_passed === 0, `dropped while failed (${nf.fail_dropped})`);
      t.equal(s.ports[1]!.tx, 0, 'nothing came out');
    } else {
      t.ok(nf.fail_passed > 0 && nf.fail_dropped === 0, `passed on while failed (${nf.fail_passed})`);
      t.equal(s.ports[1]!.tx, nf.fail_passed, 'what was passed on came out');
    }
    const { rx, tx, drops } = totals(s);
    t.equal(rx, tx + drops, 'in = out + counted drops');
    t.equal(s.pool.available, s.pool.mbufs, 'the mbuf pool is full again');
  });
}

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
