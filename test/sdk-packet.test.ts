// The SDK's parse(), checksum checks and flow keys against the reference in
// test/support/parse-reference.ts, on the bundled traffic, every truncation
// of it, and random corruptions: the same fields, and never a trap.
import t from 'tap';
import { readPcap } from '../host/pcap/index.js';
import { harness, type Harness } from './support/harness.js';
import { FIELDS, parseRef } from './support/parse-reference.js';
import { TRAFFIC } from './support/pcap-ports.js';

const frames = readPcap(TRAFFIC).packets.map((p) => p.data);
const BUF = 1 << 20;

function parseSdk(h: Harness, frame: Uint8Array): Record<string, number> {
  const addr = h.put(frame, BUF);
  const out = (h.exports['parsePacket'] as (a: number, l: number) => number)(addr, frame.length);
  const words = new Int32Array(h.memory.buffer, out, FIELDS.length);
  return Object.fromEntries(FIELDS.map((f, i) => [f, words[i]!]));
}

function check(t: Tap.Test, h: Harness, frame: Uint8Array, what: string): boolean {
  const got = parseSdk(h, frame);
  const want = parseRef(frame) as unknown as Record<string, number>;
  const bad = FIELDS.filter((f) => got[f] !== want[f]);
  if (bad.length === 0) return true;
  t.fail(`${what}: ${bad.map((f) => `${f} ${got[f]} != ${want[f]}`).join(', ')}`);
  return false;
}

t.test('every frame of the bundled traffic parses as the reference says', async (t) => {
  const h = await harness('packet');
  let ok = 0;
  frames.forEach((f, i) => ok += check(t, h, f, `frame ${i}`) ? 1 : 0);
  t.equal(ok, frames.length);
  const ipv4 = frames.filter((f) => parseRef(f).ipVersion === 4).length;
  t.ok(ipv4 > 100, `${ipv4} IPv4 frames among them`);
});

t.test('every truncation of every frame, and random corruptions, parse as the reference says', async (t) => {
  const h = await harness('packet');
  let mismatches = 0;
  let seed = 12345;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (const [i, f] of frames.entries()) {
    if (f.length > 2048) continue;
    for (let len = 0; len <= Math.min(f.length, 120); len++) if (!check(t, h, f.subarray(0, len), `frame ${i}[0..${len})`)) mismatches++;
    for (let k = 0; k < 20; k++) {
      const g = Uint8Array.from(f);
      for (let flips = rand(4) + 1; flips > 0; flips--) g[rand(Math.min(g.length, 80))] = rand(256);
      if (!check(t, h, g, `frame ${i} corrupted`)) mismatches++;
    }
    if (mismatches > 10) break;
  }
  t.equal(mismatches, 0);
});

t.test('flow keys are the same both ways, and tell the direction', async (t) => {
  const h = await harness('packet');
  const flowOf = h.exports['flowOf'] as (a: number, l: number) => number;
  let checked = 0;
  for (const f of frames) {
    const r = parseRef(f);
    if (r.ipVersion === 0 || r.l4 === 0 || (r.l4Proto !== 6 && r.l4Proto !== 17)) continue;
    // The reverse packet: addresses and ports swapped.
    const g = Uint8Array.from(f);
    const n = r.ipVersion === 4 ? 4 : 16;
    const src = r.l3 + (r.ipVersion === 4 ? 12 : 8);
    g.set(f.subarray(src + n, src + 2 * n), src);
    g.set(f.subarray(src, src + n), src + n);
    g.set(f.subarray(r.l4 + 2, r.l4 + 4), r.l4);
    g.set(f.subarray(r.l4, r.l4 + 2), r.l4 + 2);
    const a = flowOf(h.put(f, BUF), f.length);
    const b = flowOf(h.put(g, BUF), g.length);
    const same = Buffer.compare(f.subarray(src, src + n), f.subarray(src + n, src + 2 * n)) === 0 && r.srcPort === r.dstPort;
    t.equal(a % 2 ** 32, b % 2 ** 32, 'same hash both ways');
    if (!same) t.not(a >= 2 ** 32, b >= 2 ** 32, 'opposite directions');
    checked++;
  }
  t.ok(checked > 100, `${checked} TCP/UDP frames checked`);
});
