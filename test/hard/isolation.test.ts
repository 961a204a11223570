// The isolated trust level: the NF's memory does not hold the pool; the chain
// copies its burst into a private area and what it passes on back out. It
// must give exactly the packets and counts the shared (zero-copy) level gives,
// and see nothing of the pool but its own packets. A shared NF that reads its
// whole window finds packet bytes and nothing else: no mbuf headers, no host
// pointers. (A vm NF's guest maps only its own region: test/vm.test.ts.)
import t from 'tap';
import { join } from 'node:path';
import { poolCreatePlain, native } from '../../host/dataplane/native.js';
import { poolWindow } from '../../host/dataplane/pool-window.js';
import { createNfInstance } from '../../host/nf/instance.js';
import { loadNfModule } from '../../host/nf/module.js';
import { REPO_ROOT, fixtureNf } from '../support/fixtures.js';
import { writePcap } from '../../host/pcap/index.js';
import { runNetvm, tempDir, totals } from '../support/netvm.js';
import { TRAFFIC, outputFrames } from '../support/pcap-ports.js';
import { reportClass, talliedTest, type ClassTally } from '../support/hard.js';

const TTL = join(REPO_ROOT, 'nf-modules/build/ttl.wasm');
const FIREWALL = join(REPO_ROOT, 'nf-modules/build/firewall.wasm');
const tally: ClassTally = { tried: 0, contained: 0, lost: 0 };
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

talliedTest(t, tally, 'isolated NFs give the shared ones\' packets and counts, byte for byte', async (t) => {
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

talliedTest(t, tally, 'an isolated instance\'s memory does not hold the pool', async (t) => {
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

/** 300 frames of a local ethertype, each holding `mark` (8 bytes, little-endian) at offsets 16 and 24. */
function markedPcap(path: string, mark: bigint): string {
  const frames = Array.from({ length: 300 }, () => {
    const f = new Uint8Array(128);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5]);
    const view = new DataView(f.buffer);
    view.setBigUint64(16, mark, true);
    view.setBigUint64(24, mark, true);
    return { data: f };
  });
  writePcap(path, frames);
  return path;
}

talliedTest(t, tally, 'an isolated NF that scans its whole window finds its own packets, and no other chain\'s', async (t) => {
  const scanner = await fixtureNf('scan-window');
  const dir = tempDir();
  const others = markedPcap(join(dir, 'others.pcap'), 0x0123456789abcdefn);
  const mine = markedPcap(join(dir, 'mine.pcap'), 0xfedcba9876543210n);
  const run = async (trust: 'shared' | 'isolated') => {
    const r = await runNetvm({
      cores: { poll: 1, workers: [0] },
      ports: { a: `net_pcap0,rx_pcap=${others}`, sinkA: 'net_null0', b: `net_pcap1,rx_pcap=${mine}`, sinkB: 'net_null1' },
      nfs: { fwd: { module: TTL }, scan: { module: scanner, trust, limits: { batch_ms: 2000 } } },
      chains: [{ from: 'a', through: ['fwd'], to: 'sinkA' }, { from: 'b', through: ['scan'], to: 'sinkB' }],
      pool: { mbufs: 4095 },
    }, ['--until-idle', '600', '--control', 'off'], tempDir());
    t.equal(r.code, 0, r.stderr);
    t.equal(r.summary!.chains[1]!.nfs[0]!.in, 300, `${trust}: the scanner had its 300 packets`);
    return r.summary!.chains[1]!.nfs[0]!.metrics;
  };
  const shared = await run('shared');
  t.ok(shared['others_seen']! > 0, `shared: it reads the other chain's packets in the pool (${shared['others_seen']} marks)`);
  const isolated = await run('isolated');
  t.ok(isolated['mine_seen']! > 0, `isolated: it reads its own packets (${isolated['mine_seen']} marks)`);
  t.equal(isolated['others_seen'], 0, 'isolated: nothing of the other chain\'s packets');
});

talliedTest(t, tally, 'a shared NF that reads its whole window finds packet bytes only: no mbuf headers, no host pointers', async (t) => {
  const scanner = await fixtureNf('scan-nonzero');
  const run = async (port: string, args: string[]) => {
    const r = await runNetvm({
      cores: { poll: 1, workers: [0] },
      ports: { src: port, sink: 'net_null1' },
      nfs: { scan: { module: scanner } },
      chains: [{ from: 'src', through: ['scan'], to: 'sink' }],
      pool: { mbufs: 4095 },
      // Its scan (in a tick, of 256 MiB) takes longer than a burst may.
      watchdog_ms: 2000,
    }, [...args, '--control', 'off']);
    t.equal(r.code, 0, r.stderr);
    const m = r.summary!.chains[0]!.nfs[0]!.metrics;
    t.ok(m['scans']! >= 1, `it scanned the window after ${r.summary!.chains[0]!.nfs[0]!.in} packets had used every buffer`);
    tally.lost += Math.abs(r.summary!.unaccounted);
    return m;
  };
  // Packets of zeros: whatever is not zero in the window is not a packet's.
  const zeros = await run('net_null0,size=64,copy=1', ['--duration', '3']);
  t.equal(zeros['nonzero_words'], 0, `all zero (the first non-zero word would be at ${zeros['first_nonzero_offset']}: 0x${BigInt.asUintN(64, BigInt(zeros['first_nonzero_value']!)).toString(16)})`);
  // The check itself: packets that are not zero are seen.
  const marked = join(tempDir(), 'a5.pcap');
  writePcap(marked, Array.from({ length: 30_000 }, () => ({ data: new Uint8Array(64).fill(0xa5) })));
  const traffic = await run(`net_pcap0,rx_pcap=${marked}`, ['--rx-pps', '50000', '--until-idle', '1000']);
  t.ok(traffic['nonzero_words']! > 0, `with real packets, their bytes are found (${traffic['nonzero_words']} words)`);
});

t.teardown(() => reportClass(t, 'isolation', tally));
