// An independent reference of nf-modules/ratelimit's buckets: the bucket a
// frame falls in, keyed as the config says (per flow, both directions
// together, or per source prefix), over parse-reference's view of it.
import { parseRef } from './parse-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

export interface Cfg { per?: 'flow' | 'source'; prefix_v4?: number; prefix_v6?: number; unit?: 'packets' | 'bytes'; rate: number; burst: number }

/** The bucket a frame falls in, as the config defines buckets; undefined: not IP. */
export function bucketOf(cfg: Cfg, f: Uint8Array): string | undefined {
  const r = parseRef(f);
  if (r.ipVersion === 0) return undefined;
  const n = r.ipVersion === 4 ? 4 : 16;
  const at = r.l3 + (r.ipVersion === 4 ? 12 : 8);
  const src = BigInt('0x' + hex(f.subarray(at, at + n)));
  if (cfg.per === 'source') {
    const width = BigInt(n * 8);
    const bits = BigInt(r.ipVersion === 4 ? cfg.prefix_v4 ?? 32 : cfg.prefix_v6 ?? 64);
    return `${r.ipVersion}/${(src >> (width - bits)).toString(16)}`;
  }
  const dst = BigInt('0x' + hex(f.subarray(at + n, at + 2 * n)));
  const ends = [`${src}:${r.srcPort}`, `${dst}:${r.dstPort}`].sort();
  return `${r.ipVersion}/${r.l4Proto}/${ends.join('-')}`;
}

