// The TO_NF verdict: an NF sends packets ahead to an NF it names, skipping
// those between; a jump backwards or past the chain is refused and counted.
import t from 'tap';
import { runOffline } from '../host/chain/offline.js';
import { loadNfModule } from '../host/nf/module.js';
import { fixtureNf } from './support/fixtures.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

t.test('packets sent ahead skip the NFs between, the rest go through all', async (t) => {
  const steer = loadNfModule(await fixtureNf('steer'));
  const first = loadNfModule(await fixtureNf('stamp-first'));   // byte 14 + 1
  const second = loadNfModule(await fixtureNf('stamp-second')); // byte 15 = byte 14, byte 14 ^ 0x80
  const frames = inputFrames().filter((f) => f.length <= DATA_ROOM && f.length >= 16);
  const result = runOffline(frames, [
    { name: 'steer', module: steer, config: JSON.stringify({ to: 'last' }) },
    { name: 'middle', module: first },
    { name: 'last', module: second },
  ], { log: () => {} });
  const expected = frames.map((f) => {
    const out = Uint8Array.from(f);
    if ((f[14]! & 1) !== 0) out[14] = (out[14]! + 1) & 0xff; // not sent ahead: through 'middle'
    out[15] = out[14]!;
    out[14] = out[14]! ^ 0x80;
    return out;
  });
  // Order: the NFs run by chain position, so within a burst the skipped-ahead
  // packets reach 'last' before those that went through 'middle'.
  t.same(result.out.map((p) => hex(p.data)).sort(), expected.map(hex).sort(), 'every packet out, with the right NFs applied');
  const [s, m, l] = result.nfs;
  t.equal(s!.next, frames.length, 'steer passed everything on');
  t.equal(m!.in, frames.filter((f) => (f[14]! & 1) !== 0).length, 'middle saw only the odd ones');
  t.equal(l!.in, frames.length, 'last saw all of them');
});

t.test('a name that does not follow is refused at configure; bad positions are bad verdicts', async (t) => {
  const steer = loadNfModule(await fixtureNf('steer'));
  const first = loadNfModule(await fixtureNf('stamp-first'));
  const frames = inputFrames().filter((f) => f.length <= DATA_ROOM && f.length >= 16);
  t.throws(() => runOffline(frames, [{ name: 'a', module: first }, { name: 'steer', module: steer, config: JSON.stringify({ to: 'a' }) }], { log: () => {} }),
    /refused its config \(status 1\): to: no NF named 'a' after this one/);
  for (const raw of [0, 5]) {
    const result = runOffline(frames, [
      { name: 'steer', module: steer, config: JSON.stringify({ to: 'x', raw }) },
      { name: 'b', module: first },
    ], { log: () => {} });
    const even = frames.filter((f) => (f[14]! & 1) === 0).length;
    t.equal(result.nfs[0]!.bad_verdict, even, `position ${raw}: every jump refused and counted`);
    t.equal(result.out.length, frames.length - even);
  }
});
