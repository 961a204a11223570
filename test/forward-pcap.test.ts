// pcap in → [forward] → pcap out: the same packets, bytes and order; the only
// ones missing are the jumbo frames, counted as multi-segment drops.
import t from 'tap';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { DATA_ROOM, inputFrames, outputFrames, pcapChainConfig } from './support/pcap-ports.js';

t.test('forward keeps every packet, byte for byte, in order', async (t) => {
  const dir = tempDir();
  const run = await runNetvm(pcapChainConfig(dir, { fwd: join(REPO_ROOT, 'nf-modules/build/forward.wasm') }), undefined, dir);
  t.equal(run.code, 0, run.stderr);
  const s = run.summary!;
  const input = inputFrames();
  const fitting = input.filter((f) => f.length <= DATA_ROOM);
  const out = outputFrames(dir);

  t.equal(out.length, fitting.length, 'every frame that fits an mbuf came out');
  t.same(out.map((f) => Buffer.from(f).toString('hex')), fitting.map((f) => Buffer.from(f).toString('hex')), 'same bytes, same order');
  t.equal(s.ports[0]!.rx, input.length, 'every frame was received');
  t.equal(s.ports[0]!.rx_multiseg, input.length - fitting.length, 'jumbo frames counted as multi-segment drops');
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.unaccounted, 0);
  t.equal(s.pool.available, s.pool.mbufs, 'the mbuf pool is full again');
  t.notOk(run.leftRuntimeDir, 'no DPDK runtime folder left behind');
});
