// forward as a JavaScript NF: every packet on.
import type { JsPacketFn } from '../../host/nf/js-nf.js';

export function createNf(): JsPacketFn {
  return () => true;
}
