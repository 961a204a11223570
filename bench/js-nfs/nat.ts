// nat as a JavaScript NF: the tests' reference.
import type { JsPacketFn } from '../../host/nf/js-nf.js';
import type { NatConfig } from '../../test/support/nat-reference.js';
import { natReferenceBaseline } from '../baselines.js';

export function createNf(config: unknown): JsPacketFn {
  return natReferenceBaseline(config as NatConfig);
}
