// An NF may set a packet's length from 1 up to its room (docs/abi.md), and
// the next NF and the wire see exactly that; 0 or past the room drops the
// packet, counted as bad length. On the data plane, in shared and isolated mode.
import t from 'tap';
import { join } from 'node:path';
import { writePcap } from '../host/pcap/index.js';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { outputFrames } from './support/pcap-ports.js';

const ROOM = 2048; // a pool buffer's data room: a received packet's room
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

/** A frame of `len` bytes (ethertype 0x88b5) asking the resize NF for length `ask`. */
function frame(len: number, ask: number, seed: number): Uint8Array {
  const f = Uint8Array.from({ length: len }, (_, k) => (k * 7 + seed) & 0xff);
  f.set([0x88, 0xb5, ask >> 8, ask & 0xff], 12);
  return f;
}

// Shrink to 1 byte and to a few; keep; grow by one, to a full frame, to the room; past the room; to 0.
const cases: { len: number; ask: number; to: number | 'bad' }[] = [
  { len: 60, ask: 1, to: 1 }, { len: 1514, ask: 1, to: 1 }, { len: 100, ask: 15, to: 15 }, { len: 100, ask: 100, to: 100 },
  { len: 60, ask: 61, to: 61 }, { len: 60, ask: 1514, to: 1514 }, { len: 64, ask: 0xffff, to: ROOM }, { len: 1514, ask: 0xffff, to: ROOM },
  { len: 64, ask: 0xfffe, to: 'bad' }, { len: 64, ask: 0, to: 'bad' },
];
const frames = cases.map((c, i) => frame(c.len, c.ask, i));
const expected = cases.flatMap((c, i) => {
  if (c.to === 'bad') return [];
  const f = frames[i]!;
  return [hex(Uint8Array.from({ length: c.to }, (_, k) => (k < f.length ? f[k]! : k & 0xff)))];
});

for (const trust of ['shared', 'isolated'] as const) {
  t.test(`${trust}: packets come out at the length the NF set, with its bytes`, async (t) => {
    const dir = tempDir();
    writePcap(join(dir, 'in.pcap'), frames.map((data) => ({ data })));
    const r = await runNetvm({
      cores: { poll: 1, workers: [0] },
      ports: { in: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
      // A second NF after it: it must see the new lengths too (forward passes what it is given).
      nfs: { resize: { module: await fixtureNf('resize'), trust }, fwd: { module: join(REPO_ROOT, 'nf-modules/build/forward.wasm'), trust } },
      chains: [{ from: 'in', through: ['resize', 'fwd'], to: 'out' }],
    }, ['--until-idle', '300', '--control', 'off'], dir);
    t.equal(r.code, 0, r.stderr);
    const out = outputFrames(dir).map(hex);
    t.same(out.map((f) => f.length / 2), expected.map((f) => f.length / 2), 'the lengths out');
    t.same(out, expected, 'the bytes out: kept up to the old length, the NF\'s after it');
    const nf = r.summary!.chains[0]!.nfs[0]!;
    t.same([nf.bad_length, nf.dropped], [2, 0], 'past the room and 0: dropped as bad length');
    t.equal(r.summary!.chains[0]!.nfs[1]!.bytes, expected.reduce((n, f) => n + f.length / 2, 0), 'the next NF saw the new lengths');
    const { rx, tx, drops } = totals(r.summary!);
    t.equal(rx, tx + drops, 'in = out + counted drops');
    t.equal(r.summary!.pool.available, r.summary!.pool.mbufs, 'the mbuf pool is full again');
  });
}
