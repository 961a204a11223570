// lb as a JavaScript NF: the tests' reference, for the first VIP of the config.
import type { JsPacketFn } from '../../host/nf/js-nf.js';
import { lbReferenceBaseline } from '../baselines.js';

interface LbConfig {
  vips: { vip: string; port: number; proto: 'tcp' | 'udp'; backends: { mac: string }[] }[];
}

const LB_TABLE = 65537; // the Maglev table size of nf-modules/lb

export function createNf(config: unknown): JsPacketFn {
  const v = (config as LbConfig).vips[0]!;
  const vip = v.vip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const macs = v.backends.map((b) => Uint8Array.from(b.mac.split(':').map((x) => parseInt(x, 16))));
  return lbReferenceBaseline(vip, v.port, v.proto === 'tcp' ? 6 : 17, macs, LB_TABLE);
}
