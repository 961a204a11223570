// monitor as a JavaScript NF: the tests' reference (per-flow totals).
import type { JsPacketFn } from '../../host/nf/js-nf.js';
import { monitorReferenceBaseline } from '../baselines.js';

export function createNf(): JsPacketFn {
  return monitorReferenceBaseline();
}
