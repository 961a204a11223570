// NFs that export netvm_tick get it about every 10 ms on the data plane, with
// or without traffic, on a clock that goes forward. Checked against the NF's
// own clock, not the test's: a tick count for the time its clock covered.
import t from 'tap';
import { join } from 'node:path';
import { writePcap } from '../host/pcap/index.js';
import { TICK_MS } from '../host/nf/abi.js';
import { fixtureNf } from './support/fixtures.js';
import { runNetvm, tempDir } from './support/netvm.js';

const dir = tempDir();
writePcap(join(dir, 'empty.pcap'), []);

// The C and Rust ones (ticker-c.c, ticker-rs.rs: their SDKs' tick) under traffic only: the same export.
for (const [what, src, ticker] of [
  ['under traffic', 'net_null0,size=64,copy=0', 'ticker'],
  ['idle (a source with no packets)', `net_pcap0,rx_pcap=${join(dir, 'empty.pcap')}`, 'ticker'],
  ['in C, under traffic', 'net_null0,size=64,copy=0', 'ticker-c'],
  ['in Rust, under traffic', 'net_null0,size=64,copy=0', 'ticker-rs'],
] as const) {
  t.test(`${what}: a ticking NF is ticked about every ${TICK_MS} ms of its clock, which goes forward`, async (t) => {
    const run = await runNetvm({
      cores: { poll: 1, workers: [0] },
      ports: { src, sink: 'net_null1,copy=0' },
      nfs: { ticker: { module: await fixtureNf(ticker) } },
      chains: [{ from: 'src', through: ['ticker'], to: 'sink' }],
    }, ['--duration', '1', '--control', 'off']);
    t.equal(run.code, 0, run.stderr);
    const m = run.summary!.chains[0]!.nfs[0]!.metrics;
    const ticks = m['ticks']!, spanMs = m['clock_span_ms']!;
    t.ok(spanMs >= 10 * TICK_MS, `the clock went forward over the ticks (${spanMs} ms)`);
    t.equal(m['clock_backwards'], 0, 'and never back');
    const perInterval = (ticks - 1) / (spanMs / TICK_MS);
    t.ok(perInterval > 0.5 && perInterval <= 1.05, `${ticks} ticks over ${spanMs} ms of it: ${perInterval.toFixed(2)} a ${TICK_MS} ms interval`);
  });
}
