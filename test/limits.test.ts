// Per-NF limits from the config: a heap limit (the NF's memory cannot grow
// past it: a growth beyond traps, and the trap is contained like any other)
// and a batch time budget for the watchdog.
import t from 'tap';
import { join } from 'node:path';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { runNetvm, totals } from './support/netvm.js';

const config = async (limits?: object) => ({
  cores: { poll: 1, workers: [0] },
  ports: { src: 'net_null0,size=60,copy=1', sink: 'net_null1,size=60' },
  nfs: { hungry: { module: await fixtureNf('alloc-16-bursts'), ...(limits && { limits }) } },
  chains: [{ from: 'src', through: ['hungry'], to: 'sink' }],
});

t.test('an NF that grows past its heap limit traps, contained and counted', async (t) => {
  const free = await runNetvm(await config(), ['--duration', '1', '--control', 'off']);
  t.equal(free.code, 0, free.stderr);
  t.equal(free.summary!.chains[0]!.nfs[0]!.trap_batches, 0, 'without a limit, 16 MiB is fine');

  const limited = await runNetvm(await config({ heap_mb: 8 }), ['--duration', '1', '--control', 'off']);
  t.equal(limited.code, 0, limited.stderr);
  t.match(limited.stderr, /nf hungry trapped: RuntimeError/);
  const s = limited.summary!;
  const nf = s.chains[0]!.nfs[0]!;
  t.ok(nf.trap_batches >= 1, `it trapped when its heap would pass 8 MiB (${nf.trap_batches} times)`);
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs);
});

t.test('a config that needs more heap than the limit is refused before anything starts', async (t) => {
  const run = await runNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { src: 'net_null0,size=60', sink: 'net_null1,size=60' },
    nfs: { nat: { module: join(REPO_ROOT, 'nf-modules/build/nat.wasm'), config: { inside: '10.0.0.0/8', public_ip: '203.0.113.1' }, limits: { heap_mb: 1 } } },
    chains: [{ from: 'src', through: ['nat'], to: 'sink' }],
  }, ['--duration', '1', '--control', 'off']);
  t.equal(run.code, 2);
  t.match(run.stderr, /nfs\.nat\.config: .*nat: trapped in netvm_configure/);
});

t.test('batch_ms: the watchdog gives that NF its own budget', async (t) => {
  const slow = await fixtureNf('slow-first-burst');
  const cfg = (limits?: object) => ({
    cores: { poll: 1, workers: [0] },
    watchdog_ms: 50,
    ports: { src: 'net_null0,size=60,copy=1', sink: 'net_null1,size=60' },
    nfs: { slow: { module: slow, ...(limits && { limits }) } },
    chains: [{ from: 'src', through: ['slow'], to: 'sink' }],
  });
  const strict = await runNetvm(cfg(), ['--duration', '1', '--control', 'off']);
  t.equal(strict.code, 0, strict.stderr);
  t.match(strict.stderr, /worker on CPU 0: no progress for 50 ms \(in nf slow\): restarting it/, 'a 150 ms burst is a hang under the run\'s 50 ms');
  const patient = await runNetvm(cfg({ batch_ms: 1000 }), ['--duration', '1', '--control', 'off']);
  t.equal(patient.code, 0, patient.stderr);
  t.notMatch(patient.stderr, /no progress/, 'with batch_ms 1000 it is not');
  t.equal(patient.summary!.hangs.length, 0);
  const busyMs = patient.summary!.chains[0]!.nfs[0]!.busy_ns / 1e6;
  t.ok(busyMs >= 150, `the worker's time on the NF holds its 150 ms burst (${busyMs.toFixed(1)} ms)`);
  for (const r of [strict, patient]) {
    const { rx, tx, drops } = totals(r.summary!);
    t.equal(rx, tx + drops, 'in = out + counted drops');
  }
});
