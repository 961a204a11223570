// The isolated trust level: the NF's memory does not hold the pool; the chain
// copies its burst into a private area and what it passes on back out. It
// must give exactly the packets and counts the shared (zero-copy) level gives,
// and see nothing of the pool but its own packets.
import t from 'tap';
import { join } from 'node:path';
import { poolCreatePlain, native } from '../host/dataplane/native.js';
import { poolWindow } from '../host/dataplane/pool-window.js';
import { createNfInstance } from '../host/nf/instance.js';
import { loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { TRAFFIC, outputFrames } from './support/pcap-ports.js';

const TTL = join(REPO_ROOT, 'nf-modules/build/ttl.wasm');
const FIREWALL = join(REPO_ROOT, 'nf-modules/build/firewall.wasm');
const hex = (frames: Uint8Array[]): string[] => frames.map((f) => Buffer.from(f).toString('hex'));

function config(dir: string, trust: 'shared' | 'isolated'): object {
  return {
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${TRAFFIC}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: {
      a: { module: TTL, trust },
      fw: { module: FIREWALL, trust, config: { default: 'allow', rules: [{ action: 'deny', proto: 'udp', dport: 53 }] } },
      b: { module: TTL },
    },
    chains: [{ from: 'in', through: ['a', 'fw', 'b'], to: 'out' }],
  };
}

t.test('isolated NFs give the shared ones\' packets and counts, byte for byte', async (t) => {
  const sharedDir = tempDir();
  const shared = await runNetvm(config(sharedDir, 'shared'), ['--until-idle', '300', '--control', 'off'], sharedDir);
  t.equal(shared.code, 0, shared.stderr);
  const isoDir = tempDir();
  const isolated = await runNetvm(config(isoDir, 'isolated'), ['--until-idle', '300', '--control', 'off'], isoDir);
  t.equal(isolated.code, 0, isolated.stderr);
  t.same(hex(outputFrames(isoDir)), hex(outputFrames(sharedDir)), 'the same packets, rewritten the same, in the same order');
  const counts = (r: typeof shared) => r.summary!.chains[0]!.nfs.map(({ in: i, next, dropped, bad_length, bad_verdict }) => ({ i, next, dropped, bad_length, bad_verdict }));
  t.same(counts(isolated), counts(shared), 'the same verdict counts, NF by NF');
  t.ok(counts(shared)[1]!.dropped > 0, 'the firewall did drop (DNS)');
  const { rx, tx, drops } = totals(isolated.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(isolated.summary!.pool.available, isolated.summary!.pool.mbufs, 'the pool is full again');
});

t.test('an isolated instance\'s memory does not hold the pool', async (t) => {
  const pool = poolCreatePlain(64);
  try {
    const window = poolWindow(pool.len, pool.page_size);
    const module = loadNfModule(TTL);
    const sharedNf = createNfInstance(module, 'seer', { pool: window });
    const isolatedNf = createNfInstance(module, 'blind', { pool: window, isolated: true });
    t.equal(isolatedNf.isolated, true);
    const at = 10 * pool.elt_size + pool.headroom;
    new Uint8Array(sharedNf.memory.buffer, sharedNf.windowOffset + at, 4).set([0xde, 0xad, 0xbe, 0xef]);
    t.same([...new Uint8Array(sharedNf.memory.buffer, sharedNf.windowOffset + at, 4)], [0xde, 0xad, 0xbe, 0xef], 'a shared instance sees the pool');
    t.same([...new Uint8Array(isolatedNf.memory.buffer, isolatedNf.windowOffset + at, 4)], [0, 0, 0, 0], 'an isolated one sees its own zeroed area');
  } finally {
    native().poolDestroy();
  }
});
