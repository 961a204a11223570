// An independent reference of nf-modules/dpi: the payload as
// parse-reference finds it, and a naive search for the signatures.
import { parseRef } from './parse-reference.js';

export interface Pattern { bytes: Uint8Array; drop: boolean }

/** The payload of a frame (TCP after its options, UDP after its header), or undefined. */
export function payload(f: Uint8Array, tcp = true, udp = true): Uint8Array | undefined {
  const r = parseRef(f);
  if (r.l4 === 0) return undefined;
  const start = r.l4Proto === 6 && tcp ? r.l4 + (f[r.l4 + 12]! >> 4) * 4 : r.l4Proto === 17 && udp ? r.l4 + 8 : -1;
  const end = r.l3 + r.ipLen;
  return start < 0 || start >= end ? undefined : f.subarray(start, end);
}

/** Naive: at the first end position with a match, the longest pattern (first added among equal). */
export function firstMatch(patterns: Pattern[], text: Uint8Array): number {
  for (let end = 1; end <= text.length; end++) {
    let best = -1;
    patterns.forEach((p, id) => {
      if (p.bytes.length > end || (best >= 0 && p.bytes.length <= patterns[best]!.bytes.length)) return;
      if (Buffer.compare(text.subarray(end - p.bytes.length, end), p.bytes) === 0) best = id;
    });
    if (best >= 0) return best;
  }
  return -1;
}

