// Address and prefix parsing against Node's own parsers (net.isIP, and a
// reference expansion of IPv6 text).
import t from 'tap';
import { isIPv4, isIPv6 } from 'node:net';
import { harness, type Harness } from './support/harness.js';

function call(h: Harness, name: string, s: string): number {
  const bytes = Buffer.from(s, 'utf8');
  return (h.exports[name] as (p: number, l: number) => number)(h.put(bytes, 1 << 20), bytes.length);
}

/** Expands IPv6 text to 16 bytes (reference). */
function v6Bytes(s: string): Buffer {
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

t.test('IPv4 and IPv6 addresses and prefixes', async (t) => {
  const h = await harness('addr');
  const out = (): Buffer => Buffer.from(new Uint8Array(h.memory.buffer, (h.exports['outAddr'] as () => number)(), 16));
  const v4 = ['0.0.0.0', '10.1.2.3', '255.255.255.255', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '', 'a.b.c.d', '1.2.3.4 '];
  for (const s of v4) t.equal(call(h, 'ipv4', s) >= 0, isIPv4(s) && !/(^|\.)0\d/.test(s), `ipv4 '${s}'`);
  t.equal(call(h, 'ipv4', '10.1.2.3'), 0x0a010203);

  const v6 = ['::', '::1', '2001:db8::', '2001:db8::1', 'fe80::1:2:3:4', '1:2:3:4:5:6:7:8', '::ffff:10.0.0.1', '1:2:3:4:5:6:7::',
    '1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7', '::1:', '2001:db8::/32x'];
  for (const s of v6) {
    const r = call(h, 'prefix', s);
    t.equal(r >= 0, isIPv6(s), `ipv6 '${s}'`);
    if (r >= 0) {
      t.equal(r, (6 << 8) | 128);
      t.same(out(), v6Bytes(s), `bytes of '${s}'`);
    }
  }
  t.equal(call(h, 'prefix', '10.0.0.0/8'), (4 << 8) | 8);
  t.same(out().subarray(0, 4), Buffer.from([10, 0, 0, 0]));
  t.equal(call(h, 'prefix', '2001:db8::/32'), (6 << 8) | 32);
  t.equal(call(h, 'prefix', '0.0.0.0/0'), 4 << 8);
  t.equal(call(h, 'prefix', '10.0.0.1/8'), -1, 'host bits set');
  t.equal(call(h, 'prefix', '10.0.0.0/33'), -1);
  t.equal(call(h, 'prefix', '10.0.0.0/'), -1);
  t.equal(call(h, 'prefix', '::/129'), -1);
  t.equal(call(h, 'mac', '02:00:00:00:00:0a'), 1);
  t.same(out().subarray(0, 6), Buffer.from([2, 0, 0, 0, 0, 10]));
  t.equal(call(h, 'mac', '02:00:00:00:00'), 0);
  t.equal(call(h, 'mac', '02-00-00-00-00-0a'), 0);
});
