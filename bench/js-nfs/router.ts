// router as a JavaScript NF: the fast TypeScript baseline (egress: next only).
import type { JsPacketFn } from '../../host/nf/js-nf.js';
import type { RouterConfig } from '../../test/support/router-reference.js';
import { routerBaseline } from '../fast-router.js';

export function createNf(config: unknown): JsPacketFn {
  return routerBaseline(config as RouterConfig);
}
