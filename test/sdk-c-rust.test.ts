// The C and Rust SDKs' config readers and state blobs against the
// AssemblyScript SDK's: one schema read by each (test/fixtures/nfs/readers.ts,
// readers-c.c, readers-rs.rs). Every config gets the same answer from the
// three, word for word when refused, the same values when taken; text that is
// not JSON the same reason at the same offset; and each one's state is taken
// by the others, byte for byte the same.
import t from 'tap';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance, exportState, importState } from '../host/nf/instance.js';
import { loadNfModule, type NfModule } from '../host/nf/module.js';
import { fixtureNf } from './support/fixtures.js';

const READERS: [string, NfModule][] = [
  ['AssemblyScript', loadNfModule(await fixtureNf('readers'))],
  ['C', loadNfModule(await fixtureNf('readers-c'))],
  ['Rust', loadNfModule(await fixtureNf('readers-rs'))],
];

/** The NF's metrics once configured with text, or its refusal (without the module's path). */
function answer(nf: NfModule, text: string): Record<string, number> | string {
  try {
    return runOffline([], [{ name: 'r', module: nf, config: text }], { log: () => {} }).nfs[0]!.metrics;
  } catch (err) {
    return (err as Error).message.replace(`${nf.path}: `, '');
  }
}

const CONFIGS: unknown[] = [
  { name: 'a' },
  { name: 'één', count: 1000, ratio: 0.5, on: true, mode: 'fast', items: [{ x: 0 }, { x: 9, tag: 'nine' }, { x: 3, tag: '\u00e9\u{1f600}' }] },
  { name: 'b', count: 7.0, ratio: 1.999, items: [] },
  { name: 'c', ratio: 1.25e0, count: 1e2, mode: null, on: null, items: null },
  { name: 'x', name2: 1 },
  {},
  { name: 5 },
  { name: null },
  { name: 'a', count: 0 },
  { name: 'a', count: 1001 },
  { name: 'a', count: 2.5 },
  { name: 'a', count: '5' },
  { name: 'a', ratio: 0.4999 },
  { name: 'a', ratio: 2.0001 },
  { name: 'a', on: 1 },
  { name: 'a', mode: 'slow' },
  { name: 'a', mode: 1 },
  { name: 'a', items: {} },
  { name: 'a', items: [{ x: 1 }, null] },
  { name: 'a', items: [{ x: 1 }, 4] },
  { name: 'a', items: [{ x: 1 }, {}] },
  { name: 'a', items: [{ x: 10 }] },
  { name: 'a', items: [{ x: 1, y: 2 }] },
  { name: 'a', items: [{ x: 1, tag: false }] },
  { count: 5000, ratio: 9 },
  [],
  'text',
  null,
];

t.test('the same answer to every config from the three SDKs', async (t) => {
  for (const config of CONFIGS) {
    const text = JSON.stringify(config);
    const [as, ...others] = READERS.map(([, nf]) => answer(nf, text));
    for (const [i, got] of others.entries()) t.same(got, as, `${READERS[i + 1]![0]}: ${text} -> ${JSON.stringify(as)}`);
  }
  t.match(answer(READERS[1]![1], JSON.stringify({ name: 'a', items: [{ x: 1 }, { x: 12 }] })), /config: items\[1\]\.x: must be an integer from 0 to 9$/, 'a refusal names the field');
  t.same((answer(READERS[2]![1], '{"name":"q\\u00e9\\ud83d\\ude00","mode":"fa\\u0073t"}') as Record<string, number>)['name_bytes'], 7, 'escapes decoded to UTF-8');
});

t.test('the same reason, at the same offset, for text that is not JSON', async (t) => {
  const texts = [
    '', ' ', '{', '{"name":"a",}', '{"name" "a"}', '{"name":"a"', '{"name":"a"} x', '[1,]', '[1 2]', '{"name":01}', '{"name":-}', '{"name":1.}',
    '{"name":1e}', '{"name":"\\q"}', '{"name":"\\u12"}', '{"name":"\\u12G4"}', '{"name":"a\tb"}', '{"name":tru}', '{"name":nul}', '{name:1}',
    '{"name":"a",,}', '@', '{"name":"\\', `${'['.repeat(65)}${']'.repeat(65)}`, `{"name":"a","items":${'['.repeat(63)}${']'.repeat(63)}}`,
    '{"name":"a","name":5}', '{"name":5,"name":"a"}',
  ];
  for (const text of texts) {
    const [as, ...others] = READERS.map(([, nf]) => answer(nf, text));
    for (const [i, got] of others.entries()) t.same(got, as, `${READERS[i + 1]![0]}: ${JSON.stringify(text.slice(0, 40))} -> ${JSON.stringify(as)}`);
  }
});

t.test('state: each SDK takes the state of the others, and writes the same bytes', async (t) => {
  const config = JSON.stringify({ name: 's', items: [{ x: 4 }, { x: 9 }, { x: 0 }, { x: 7 }] });
  const exported = READERS.map(([, nf]) => exportState(createNfInstance(nf, 'r', { config, log: () => {} }))!);
  for (const [i, state] of exported.entries()) t.same(Buffer.from(state).toString('hex'), Buffer.from(exported[0]!).toString('hex'), `${READERS[i]![0]}: the same bytes`);
  for (const [from, state] of exported.entries()) {
    for (const [lang, nf] of READERS) {
      const m = runOffline([], [{ name: 'r', module: nf, config, state }], { log: () => {} }).nfs[0]!.metrics;
      t.same([m['imported'], m['imported_sum']], [4, 20], `${READERS[from]![0]} -> ${lang}`);
    }
  }
  for (const [lang, nf] of READERS) {
    const instance = createNfInstance(nf, 'r', { config, log: () => {} });
    t.throws(() => importState(instance, exported[0]!.subarray(0, exported[0]!.length - 2)), { message: /refused the state \(status 1\): state of 4 items should be 16 bytes, not 14$/ }, `${lang}: cut short`);
    const other = Uint8Array.from(exported[0]!);
    other[6] = 0x52; // 'R'eaders: another kind
    t.throws(() => importState(instance, other), { message: /refused the state \(status 1\): state of a 'Readers' NF, not 'readers'$/ }, `${lang}: another kind`);
    const newer = Uint8Array.from(exported[0]!);
    newer[6 + 7] = 2;
    t.throws(() => importState(instance, newer), { message: /'readers' state format 2; this module reads format 1$/ }, `${lang}: another format`);
    t.throws(() => importState(instance, Uint8Array.from([0, 1])), { message: /not NetVM NF state \(bad magic\)$/ }, `${lang}: not state`);
  }
});
