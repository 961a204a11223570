// nat as a JavaScript NF: the fast TypeScript baseline.
import type { JsPacketFn } from '../../host/nf/js-nf.js';
import type { NatConfig } from '../../test/support/nat-reference.js';
import { natBaseline } from '../fast-nat.js';

export function createNf(config: unknown): JsPacketFn {
  return natBaseline(config as NatConfig);
}
