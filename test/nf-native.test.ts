// The native NFs (nf-modules/native: the bench's C anchor) checked against the
// same independent references as the Wasm NFs, on the same traffic, offline;
// and a native NF on the data plane next to a Wasm one.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { NfModuleError, loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { DATA_ROOM, inputFrames, outputFrames, pcapChainConfig } from './support/pcap-ports.js';
import { ttlStep } from './support/ttl-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const nativeNf = (name: string): string => join(REPO_ROOT, 'nf-modules/build/native', `${name}.so`);

t.test('ttl in C: every packet of the bundled traffic as the reference steps it', async (t) => {
  const frames = inputFrames().filter((f) => f.length <= DATA_ROOM);
  const module = loadNfModule(nativeNf('ttl'));
  const result = runOffline(frames, [{ name: 'ttl', module }]);
  const expected = frames.map((f) => ttlStep(f, 1));
  t.same(result.out.map((p) => hex(p.data)), expected.filter((r) => r.verdict === 'pass').map((r) => hex(r.out)), 'the packets out, stepped');
  const drops = expected.filter((r) => r.verdict === 'drop').length;
  t.equal(result.nfs[0]!.dropped, drops, 'dropped exactly the TTL <= 1 packets');
  t.equal(result.nfs[0]!.metrics['ttl_expired'], drops, 'and counted them');
});

t.test('a native NF refuses a config it does not take, naming the key', async (t) => {
  const module = loadNfModule(nativeNf('ttl'));
  t.throws(() => runOffline([], [{ name: 'ttl', module, config: '{"x":1}' }]), new NfModuleError(nativeNf('ttl'), 'ttl: x: unknown key'));
  t.throws(() => loadNfModule(join(REPO_ROOT, 'native-dpdk/build/libnetvm_dp.so')), /not a native NF/);
});

t.test('on the data plane: pcap in -> [ttl in C, ttl in Wasm] -> pcap out', async (t) => {
  const dir = tempDir();
  const run = await runNetvm(pcapChainConfig(dir, { c: nativeNf('ttl'), wasm: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') }), undefined, dir);
  t.equal(run.code, 0, run.stderr);
  const fitting = inputFrames().filter((f) => f.length <= DATA_ROOM);
  const expected = fitting.map((f) => ttlStep(f, 2)).filter((r) => r.verdict === 'pass').map((r) => hex(r.out));
  t.same(outputFrames(dir).map(hex), expected, 'every packet out equals the reference, in order');
  const { rx, tx, drops } = totals(run.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(run.summary!.pool.available, run.summary!.pool.mbufs, 'the mbuf pool is full again');
});
