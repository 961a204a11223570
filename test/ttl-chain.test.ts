// pcap in → [ttl, ttl] → pcap out, checked packet by packet against the
// independent reference of test/support/ttl-reference.ts.
import t from 'tap';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { DATA_ROOM, inputFrames, outputFrames, pcapChainConfig } from './support/pcap-ports.js';
import { ttlStep } from './support/ttl-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

t.test('two TTL steps: drops exactly where TTL <= 2, TTL - 2 with valid checksums elsewhere', async (t) => {
  const dir = tempDir();
  const ttl = join(REPO_ROOT, 'nf-modules/build/ttl.wasm');
  const run = await runNetvm(pcapChainConfig(dir, { ttl1: ttl, ttl2: ttl }), undefined, dir);
  t.equal(run.code, 0, run.stderr);
  const s = run.summary!;

  const fitting = inputFrames().filter((f) => f.length <= DATA_ROOM);
  const expected = fitting.map((f) => ttlStep(f, 2)).filter((r) => r.verdict === 'pass').map((r) => hex(r.out));
  const out = outputFrames(dir).map(hex);
  t.equal(out.length, expected.length, 'as many packets out as the reference passes');
  let mismatches = 0;
  out.forEach((f, i) => {
    if (f !== expected[i]) mismatches++;
  });
  t.equal(mismatches, 0, 'every packet out equals the reference, in order');

  const chain = s.chains[0]!;
  const [nf1, nf2] = chain.nfs;
  const oneStepDrops = fitting.filter((f) => ttlStep(f, 1).verdict === 'drop').length;
  t.equal(nf1!.dropped, oneStepDrops, 'the first router drops exactly the TTL <= 1 packets');
  t.equal(nf1!.dropped + nf2!.dropped, fitting.length - expected.length, 'the two routers drop exactly the TTL <= 2 packets');
  t.equal(chain.in, chain.out + chain.dropped, 'chain: in = out + dropped');
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the mbuf pool is full again');
});
