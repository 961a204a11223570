// Every NF of the library over hostile traffic: the bundled frames, every
// truncation of each, and random corruptions of their first bytes (lying
// length fields, IHL < 5, bad versions, cut options). No NF may trap, and
// none may hand back a verdict or a length the host has to refuse.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { DATA_ROOM, inputFrames } from './support/pcap-ports.js';

const CONFIGS: Record<string, unknown> = {
  forward: undefined,
  ttl: undefined,
  firewall: { default: 'deny', stateful: true, rules: [{ action: 'allow', proto: 'tcp', dport: '1-1024' }, { action: 'allow', src: '2001:db8::/32' }] },
  dpi: { patterns: [{ text: 'GET', action: 'count' }, { hex: '0000', action: 'drop' }] },
  router: {
    next_hops: [{ port: 1, mac: '02:00:00:00:00:01' }, { port: 0, mac: '02:00:00:00:00:02', src_mac: '02:00:00:00:00:03' }],
    routes: [{ prefix: '0.0.0.0/0', via: 0 }, { prefix: '198.51.100.0/24', via: 1 }, { prefix: '2001:db8::/32', via: 1 }],
  },
  ratelimit: { rate: 1000, burst: 10, per: 'source', prefix_v4: 16 },
  lb: { table_size: 251, vips: [{ vip: '198.51.100.1', port: 80, proto: 'tcp', backends: [{ name: 'a', mac: '02:00:00:00:00:0a', port: 1 }] }] },
};

function hostile(): Uint8Array[] {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const out: Uint8Array[] = [];
  for (const f of inputFrames().filter((f) => f.length <= DATA_ROOM)) {
    out.push(f);
    // From 1 byte: no port delivers an empty frame (and the host refuses a length of 0).
    for (let len = 1; len < Math.min(f.length, 80); len += 3) out.push(f.slice(0, len));
    for (let k = 0; k < 8; k++) {
      const g = Uint8Array.from(f);
      for (let flips = 1 + rand(4); flips > 0; flips--) g[rand(Math.min(g.length, 64))] = rand(256);
      out.push(g);
    }
  }
  return out;
}

t.test('no NF traps or lies on hostile traffic', async (t) => {
  const frames = hostile();
  for (const [name, config] of Object.entries(CONFIGS)) {
    const module = loadNfModule(join(REPO_ROOT, `nf-modules/build/${name}.wasm`));
    const result = runOffline(frames, [{ name, module, ...(config !== undefined && { config: JSON.stringify(config) }) }], () => {});
    const nf = result.nfs[0]!;
    t.equal(nf.trapped, 0, `${name}: no trap in ${frames.length} frames`);
    t.equal(nf.bad_verdict + nf.bad_length, 0, `${name}: no verdict or length refused`);
    t.equal(nf.in, frames.length - result.multiseg, `${name}: every frame seen`);
  }
});
