// ABI v2: the chain parses each packet once, and every v2 NF finds the result
// with its records. Checked against the SDK's own parse of the same bytes, on
// fuzzed frames, after NFs that reshape packets (by length, or saying so), and
// across an ABI v1 NF in the middle of the chain.
import t from 'tap';
import { join } from 'node:path';
import { runOffline, type OfflineNf } from '../host/chain/offline.js';
import { loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { fuzzFrames } from './support/fuzz.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';
import { watModule } from './support/wat.js';

const check = loadNfModule(await fixtureNf('meta-check'));
const reshape = loadNfModule(await fixtureNf('reshape'));
const v1 = loadNfModule(await watModule(join(REPO_ROOT, 'test/fixtures/nfs/v1-drop-short.wat')));
const unread = loadNfModule(await fixtureNf('meta-unread'));
const frames = [...inputFrames(), ...fuzzFrames(20000, 0x9a75e).frames].filter((f) => f.length <= DATA_ROOM);

function metricsOf(nfs: OfflineNf[], name = 'check'): Record<string, number> {
  const result = runOffline(frames, nfs, { log: () => {} });
  return result.nfs.find((nf) => nf.name === name)!.metrics;
}

t.test("every packet: the chain's parse is the SDK's parse", async (t) => {
  const m = metricsOf([{ name: 'check', module: check }]);
  t.equal(m['checked'], frames.length, 'every packet checked');
  t.equal(m['mismatched'], 0, 'no field differs');
});

t.test('a packet an NF reshapes is parsed again for the next NF', async (t) => {
  const tagged = frames.filter((f) => f.length >= 18 && f[12] === 0x81 && f[13] === 0x00).length;
  t.ok(tagged > 100, `${tagged} tagged frames lose their tag (their length changes)`);
  const m = metricsOf([{ name: 'reshape', module: reshape }, { name: 'check', module: check }]);
  t.equal(m['checked'], frames.length);
  t.equal(m['mismatched'], 0, 'after a changed length and after headersChanged, the next NF sees the new headers');
});

t.test('across an ABI v1 NF: v1 records for it, the parse kept for the v2 NFs after it', async (t) => {
  const m = metricsOf([{ name: 'reshape', module: reshape }, { name: 'v1', module: v1 }, { name: 'check', module: check }]);
  const tagged = (f: Uint8Array): boolean => f.length >= 18 && ((f[12] === 0x81 && f[13] === 0x00) || (f[12] === 0x88 && f[13] === 0xa8));
  const short = frames.filter((f) => f.length - (tagged(f) ? 4 : 0) < 60).length;
  t.equal(m['checked'], frames.length - short, 'the v1 NF dropped the short frames, by their records');
  t.equal(m['mismatched'], 0);
});

t.test('an NF that reads no meta (netvm_reads_meta 0) is staged none; the NFs around it are', async (t) => {
  for (const [chain, what] of [[['unread'], 'alone'], [['check', 'unread'], 'after an NF that reads it']] as const) {
    const nfs = chain.map((name) => ({ name, module: name === 'check' ? check : unread }));
    const m = metricsOf(nfs, 'unread');
    t.same({ seen: m['seen'], staged: m['staged'] }, { seen: frames.length, staged: 0 }, `${what}: its records' meta stays as its memory held it`);
  }
  const m = metricsOf([{ name: 'reshape', module: reshape }, { name: 'unread', module: unread }, { name: 'check', module: check }]);
  t.same({ checked: m['checked'], mismatched: m['mismatched'] }, { checked: frames.length, mismatched: 0 }, 'an NF that reads it, after one that does not, sees the parse');
});
