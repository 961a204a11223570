// An NF that never returns: the watchdog notices the worker's heartbeat stand
// still, terminates the worker, drops and counts the burst it held, starts a
// fresh worker for its lanes, and the data plane goes on forwarding; at the
// end every packet is accounted for and the pool is full again.
import t from 'tap';
import { join } from 'node:path';
import { writePcap } from '../host/pcap/index.js';
import { fixtureNf } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';

t.test('a worker stuck in an endless loop is restarted; nothing is lost uncounted', async (t) => {
  const dir = tempDir();
  const frame = (last: number): Uint8Array => {
    const f = new Uint8Array(64);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5]); // local experimental ethertype
    f[63] = last;
    return f;
  };
  // 3000 packets, one of them the poison (in the middle).
  const frames = Array.from({ length: 3000 }, (_, i) => frame(i === 1500 ? 0xee : 0x11));
  writePcap(join(dir, 'in.pcap'), frames.map((data) => ({ data })));
  const config = {
    cores: { poll: 1, workers: [0] },
    watchdog_ms: 100,
    ports: { src: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, sink: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { spin: { module: await fixtureNf('hang-on-mark') } },
    chains: [{ from: 'src', through: ['spin'], to: 'sink' }],
  };
  const r = await runNetvm(config, ['--until-idle', '1500', '--control', 'off'], dir);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /worker on CPU 0: no progress for 100 ms \(in nf spin\): restarting it/);
  t.match(r.stderr, /worker on CPU 0 restarted with fresh NF instances; \d+ packets of the burst it held were dropped and counted/);
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  t.equal(rx, 3000, 'every packet came in');
  t.equal(rx, tx + drops, 'in = out + counted drops');
  const spin = s.chains[0]!.nfs[0]!;
  t.ok(spin.hung >= 1 && spin.hung <= 256, `the held burst was dropped as hung (${spin.hung})`);
  t.equal(s.hangs.length, 1);
  t.equal(s.hangs[0]!.lost, spin.hung);
  t.ok(tx >= 3000 - 256, 'the rest went through, before and after the restart');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  t.notOk(r.leftRuntimeDir);
});

t.test('a worker stuck when the run stops is terminated: the run ends, its burst counted as hung, what waited for it dropped', async (t) => {
  const dir = tempDir();
  const frame = (last: number): Uint8Array => {
    const f = new Uint8Array(64);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5]);
    f[63] = last;
    return f;
  };
  // The poison first: the worker is stuck in it, the rest of the file waits in its ring (and in
  // the file: the ring holds 4096), and the watchdog is far off.
  const frames = Array.from({ length: 6000 }, (_, i) => frame(i === 0 ? 0xee : 0x11));
  writePcap(join(dir, 'in.pcap'), frames.map((data) => ({ data })));
  const r = await runNetvm({
    cores: { poll: 1, workers: [0] },
    watchdog_ms: 60000,
    ports: { src: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, sink: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { spin: { module: await fixtureNf('hang-on-mark') } },
    chains: [{ from: 'src', through: ['spin'], to: 'sink' }],
  }, ['--until-idle', '300', '--control', 'off'], dir);
  t.match(r.stderr, /worker on CPU 0 did not stop within 2000 ms: terminated; the burst it held and the packets waiting for it dropped and counted/);
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  const chain = s.chains[0]!;
  const hung = chain.nfs[0]!.hung;
  t.ok(hung >= 1, `the held burst counted as hung (${hung})`);
  t.ok(rx >= 4096 && rx < frames.length, `the ring filled, and the rest stayed in the file (${rx} received)`);
  t.same([tx, chain.in, chain.dropped], [0, rx, rx], 'nothing came out: every packet received was dropped');
  t.ok(chain.dropped - hung > 0, `what waited in the ring was dropped (${chain.dropped - hung})`);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  t.equal(r.code, 0, r.stderr);
});
