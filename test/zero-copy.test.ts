// Two NFs in one chain change the same packet in place: the second sees the
// first one's write and the output carries both, with no copy between them.
import t from 'tap';
import { fixtureNf } from './support/fixtures.js';
import { runNetvm, tempDir } from './support/netvm.js';
import { DATA_ROOM, inputFrames, outputFrames, pcapChainConfig } from './support/pcap-ports.js';

t.test('two sandboxes modify the same packet in the shared pool', async (t) => {
  const dir = tempDir();
  const cfg = pcapChainConfig(dir, { first: await fixtureNf('stamp-first'), second: await fixtureNf('stamp-second') });
  const run = await runNetvm(cfg, undefined, dir);
  t.equal(run.code, 0, run.stderr);

  const expected = inputFrames()
    .filter((f) => f.length <= DATA_ROOM)
    .map((f) => {
      const out = Uint8Array.from(f);
      if (out.length >= 16) {
        const seen = (f[14]! + 1) & 0xff; // what the first NF left
        out[15] = seen;
        out[14] = seen ^ 0x80;
      }
      return Buffer.from(out).toString('hex');
    });
  const out = outputFrames(dir).map((f) => Buffer.from(f).toString('hex'));
  t.equal(out.length, expected.length);
  t.same(out, expected, 'each packet carries both NFs\' writes, the second made after seeing the first');
  t.equal(run.summary!.pool.available, run.summary!.pool.mbufs, 'the mbuf pool is full again');
});
