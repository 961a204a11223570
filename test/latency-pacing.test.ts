// netvm run --rx-pps paces the input, --latency measures every sent packet's
// time from its arrival to hand-back, and --warmup adds a window of the run after the
// warm-up, with each thread's share of a core. On net_null traffic through
// [forward]: the exact counts still hold, the rate stays at or below the pace,
// the histogram counts exactly the packets sent, and the worker's turns are
// timed (the gaps between them, and how often its thread was preempted).
import t from 'tap';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';
import { runNetvm, totals } from './support/netvm.js';

const FORWARD = join(REPO_ROOT, 'nf-modules/build/forward.wasm');
const config = {
  cores: { poll: 1, workers: [0] },
  ports: { src: 'net_null0,size=60,copy=1', sink: 'net_null1,size=60' },
  nfs: { fwd: { module: FORWARD } },
  chains: [{ from: 'src', through: ['fwd'], to: 'sink' }],
};
const PPS = 50_000;

t.test('a paced run with latency and a window', async (t) => {
  const run = await runNetvm(config, ['--duration', '2', '--warmup', '1', '--rx-pps', String(PPS), '--latency']);
  t.equal(run.code, 0, run.stderr);
  const s = run.summary!;
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(drops, 0, 'nothing dropped at this rate');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  t.ok(rx <= PPS * s.seconds + 64, `no more than the pace let in (${rx} in ${s.seconds.toFixed(2)} s)`);
  t.equal(s.latency!.count, tx, 'every packet sent was timed');
  t.ok(s.latency!.p50Ns > 0 && s.latency!.p50Ns <= s.latency!.p99Ns && s.latency!.p99Ns <= s.latency!.p999Ns && s.latency!.p999Ns <= s.latency!.maxNs, 'ordered percentiles');
  t.match(run.stdout, /latency \(arrival to hand-back, \d+ packets\): p50 [\d.]+ us, p99 [\d.]+ us, p99\.9 [\d.]+ us, max [\d.]+ us/);
  // The worker's turns, timed: at 50,000 packets a second most of them find nothing.
  const [gaps] = s.workerGaps!;
  t.equal(gaps!.cpu, 0);
  t.ok(gaps!.gaps.count > rx / 256, `its turns were timed (${gaps!.gaps.count})`);
  t.ok(gaps!.gaps.p50Ns <= gaps!.gaps.p99Ns && gaps!.gaps.p99Ns <= gaps!.gaps.maxNs && gaps!.long.count >= 0 && gaps!.preempted >= 0, 'ordered, and counted');
  t.match(run.stdout, /worker on CPU 0: its turns began p50 [\d.]+ us apart, p99 [\d.]+ us, p99\.9 [\d.]+ us, max [\d.]+ us; \d+ gaps of 100 us or more \([\d.]+ ms together\); taken off its CPU \d+ times/);

  const w = s.window!;
  // The window runs from the warm-up's end to the stop: the run less its warm-up, less the drain.
  t.ok(w.seconds <= s.seconds - 1 && w.seconds > 0.8 * (s.seconds - 1), `the window is the run after the warm-up (${w.seconds.toFixed(2)} of ${s.seconds.toFixed(2)} s)`);
  const wTx = w.ports.reduce((n, p) => n + p.tx, 0);
  const paced = w.ports.reduce((n, p) => n + p.rx, 0) / w.seconds / PPS;
  t.ok(paced > 0.5 && paced <= 1.02, `in the window, the pace came in (${(paced * 100).toFixed(0)}% of it)`);
  t.ok(wTx > 0 && wTx < tx, 'the window counts part of the run');
  // The window's counters and histogram are read a moment apart while packets flow (the whole
  // run's, read after the stop, match exactly above): they agree within a fraction.
  t.ok(Math.abs(w.latency!.count - wTx) <= wTx * 0.02, `the window's latency counts the window's packets (${w.latency!.count} vs ${wTx})`);
  t.ok(w.threads.some((th) => th.name === 'netvm-worker0'), 'the worker\'s CPU share is there');
  t.ok(w.workerGaps![0]!.gaps.count > 0 && w.workerGaps![0]!.gaps.count < gaps!.gaps.count, 'and its turns in the window');
});

t.test('bad pacing and warm-up options are refused', async (t) => {
  const pace = await runNetvm(config, ['--duration', '1', '--rx-pps', '0']);
  t.equal(pace.code, 2);
  t.match(pace.stderr, /--rx-pps: '0' is not a positive number/);
  const warm = await runNetvm(config, ['--duration', '1', '--warmup', '2']);
  t.equal(warm.code, 2);
  t.match(warm.stderr, /--warmup 2 must be shorter than --duration 1/);
});
