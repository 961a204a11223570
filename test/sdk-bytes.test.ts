// The SDK's checksum helpers against the reference in test/support/packets.ts.
import t from 'tap';
import { checksum } from './support/packets.js';
import { harness } from './support/harness.js';

t.test('full and incremental checksums agree with the reference', async (t) => {
  const h = await harness('bytes');
  const sum = h.exports['checksum'] as (addr: number, len: number) => number;
  const update = h.exports['update'] as (c: number, o: number, n: number) => number;
  const header = Uint8Array.from([0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 0x40, 0x01, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  const c = checksum(header);
  t.equal(sum(h.put(header), 20), c, 'full checksum');
  header[10] = c >> 8;
  header[11] = c & 0xff;
  const decremented = Uint8Array.from(header);
  decremented[8] = 0x3f;
  decremented[10] = 0;
  decremented[11] = 0;
  t.equal(update(c, 0x4001, 0x3f01), checksum(decremented), 'RFC 1624 update equals recomputing');
});
