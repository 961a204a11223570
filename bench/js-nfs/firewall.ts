// firewall as a JavaScript NF: the bench's stateless rules with the fast baseline; any
// other config with the tests' reference.
import { isDeepStrictEqual } from 'node:util';
import type { JsPacketFn } from '../../host/nf/js-nf.js';
import type { FwConfig } from '../../test/support/firewall-reference.js';
import { firewallBaseline, firewallReferenceBaseline } from '../baselines.js';
import { nfConfig } from '../matrix.js';

export function createNf(config: unknown): JsPacketFn {
  return isDeepStrictEqual(config, nfConfig('firewall', 0)) ? firewallBaseline : firewallReferenceBaseline(config as FwConfig);
}
