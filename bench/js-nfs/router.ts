// router as a JavaScript NF: the tests' reference (egress: next only).
import type { JsPacketFn } from '../../host/nf/js-nf.js';
import type { RouterConfig } from '../../test/support/router-reference.js';
import { routerReferenceBaseline } from '../baselines.js';

export function createNf(config: unknown): JsPacketFn {
  return routerReferenceBaseline(config as RouterConfig);
}
