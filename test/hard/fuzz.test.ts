// Fuzzed traffic (test/support/fuzz.ts: random, mutated, truncated, oversized,
// lying length fields, stacked VLAN tags) through every shipped NF, offline,
// and through a long chain of them on the data plane: no trap, no verdict or
// length the host must refuse, every frame seen, and no read past a packet's
// end (an NF's output is the same whatever bytes follow its packets). On the
// data plane: in = out + counted drops exactly, the same bytes out as offline,
// and the pool full again. 10^5 frames in CI, 10^6 with --long.
import t from 'tap';
import { join } from 'node:path';
import { runOffline, type OfflineResult } from '../../host/chain/offline.js';
import { loadNfModule } from '../../host/nf/module.js';
import { writePcap } from '../../host/pcap/index.js';
import { REPO_ROOT } from '../support/fixtures.js';
import { fuzzFrames } from '../support/fuzz.js';
import { LONG, reportClass, type ClassTally } from '../support/hard.js';
import { runNetvm, tempDir, totals } from '../support/netvm.js';
import { outputFrames } from '../support/pcap-ports.js';

const FRAMES = LONG ? 1_000_000 : 100_000;
/** Offline runs take the frames in chunks: each chunk is a fresh chain (its state starts empty). */
const CHUNK = 25_000;

const ROUTER = {
  next_hops: [{ port: 1, mac: '02:00:00:00:00:01' }, { port: 1, mac: '02:00:00:00:00:02', src_mac: '02:00:00:00:00:03' }],
  routes: [{ prefix: '0.0.0.0/0', via: 0 }, { prefix: '198.51.100.0/24', via: 1 }, { prefix: '2001:db8::/32', via: 1 }],
};
const FIREWALL = { default: 'deny', stateful: true, rules: [{ action: 'allow', proto: 'tcp', dport: '1-1024' }, { action: 'allow', src: '2001:db8::/32' }, { action: 'allow', proto: 'udp' }] };
const CONFIGS: Record<string, unknown> = {
  forward: undefined,
  ttl: undefined,
  'ttl-c': undefined, // ttl in C (nf-modules/sdk-c)
  'ttl-rs': undefined, // ttl in Rust (nf-modules/sdk-rust)
  firewall: FIREWALL,
  'firewall-c': FIREWALL, // the firewall in C (nf-modules/firewall-c)
  dpi: { patterns: [{ text: 'GET', action: 'count' }, { hex: '0000', action: 'drop' }] },
  router: ROUTER,
  ratelimit: { rate: 1000, burst: 10, per: 'source', prefix_v4: 16 },
  lb: { table_size: 251, vips: [{ vip: '198.51.100.1', port: 80, proto: 'tcp', backends: [{ name: 'a', mac: '02:00:00:00:00:0a', port: 1 }] }] },
  nat: { inside: '10.0.0.0/8', public_ip: '203.0.113.1', ports: '2000-2999' },
  monitor: {},
};
/** Its decisions depend on the clock as well as the packets: not compared between two runs. */
const CLOCKED = new Set(['ratelimit']);

const { frames, kinds } = fuzzFrames(FRAMES, 0x5eed);
const tally: ClassTally = { tried: 0, contained: 0, lost: 0 };

function nfOf(name: string): { name: string; module: ReturnType<typeof loadNfModule>; config?: string } {
  const config = CONFIGS[name];
  return { name, module: loadNfModule(join(REPO_ROOT, `nf-modules/build/${name}.wasm`)), ...(config !== undefined && { config: JSON.stringify(config) }) };
}

/** What an offline run gave, in a form two runs can be compared by: its counts, not the time they took. */
function outcome(r: OfflineResult): string {
  const out = r.out.map((p) => `${p.port}:${Buffer.from(p.data).toString('hex')}`).join(',');
  const { host_ns: _chainTime, ...chain } = r.chain;
  const nfs = r.nfs.map(({ busy_ns: _nfTime, ...counts }) => counts);
  return JSON.stringify({ chain, nfs, multiseg: r.multiseg }) + out;
}

t.comment(`${FRAMES} frames: ${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}`);

t.test('every shipped NF, offline: no trap, nothing refused, every frame seen, no read past a packet', async (t) => {
  for (const name of Object.keys(CONFIGS)) {
    const nf = nfOf(name);
    let trapped = 0;
    let refused = 0;
    let seen = 0;
    let multiseg = 0;
    let differs = 0;
    for (let start = 0; start < frames.length; start += CHUNK) {
      const chunk = frames.slice(start, start + CHUNK);
      const a = runOffline(chunk, [nf], { log: () => {}, fill: 0x00 });
      const counts = a.nfs[0]!;
      trapped += counts.trapped;
      refused += counts.bad_verdict + counts.bad_length;
      seen += counts.in;
      multiseg += a.multiseg;
      if (!CLOCKED.has(name) && outcome(runOffline(chunk, [nf], { log: () => {}, fill: 0xff })) !== outcome(a)) differs++;
    }
    t.equal(trapped, 0, `${name}: no trap`);
    t.equal(refused, 0, `${name}: no verdict or length refused`);
    t.equal(seen + multiseg, frames.length, `${name}: every frame seen (${multiseg} too large for a buffer, dropped on arrival)`);
    t.equal(differs, 0, `${name}: ${CLOCKED.has(name) ? 'clocked: not compared' : 'the same output whatever follows its packets'}`);
    tally.tried += frames.length;
    if (trapped + refused + differs === 0 && seen + multiseg === frames.length) tally.contained += frames.length;
  }
});

function compareWithOffline(t: Tap.Test, out: Uint8Array[], offline: OfflineResult): void {
  t.equal(out.length, offline.out.length, `as many out as offline (${out.length})`);
  // Packets that leave by a port verdict (lb, router) overtake the rest of their burst, and
  // bursts differ offline: the same packets, compared as a sorted list.
  const sorted = (list: Uint8Array[]): string[] => list.map((f) => Buffer.from(f).toString('hex')).sort();
  t.same(sorted(out), sorted(offline.out.map((p) => p.data)), 'the same packets as offline, byte for byte');
}

t.test('a long chain of every shipped NF on the data plane: exact accounting, the offline bytes', async (t) => {
  const dir = tempDir();
  const input = join(dir, 'fuzz.pcap');
  writePcap(input, frames.map((data) => ({ data })));
  // Every NF but the clocked one: its drops would depend on the pace of the run.
  const names = Object.keys(CONFIGS).filter((n) => !CLOCKED.has(n));
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${input}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: Object.fromEntries(names.map((n) => [n, { module: join(REPO_ROOT, `nf-modules/build/${n}.wasm`), ...(CONFIGS[n] !== undefined && { config: CONFIGS[n] }) }])),
    chains: [{ from: 'in', through: names, to: 'out' }],
  };
  // The poll loop reads the file no faster than the chain takes it (backpressure): nothing is
  // dropped at the ring, so the stateful NFs decide as they do offline, on the same frames.
  const r = await runNetvm(config, ['--until-idle', '1000', '--control', 'off'], dir);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  t.equal(rx, frames.length, 'every frame came in');
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.unaccounted, 0);
  t.same(s.traps, [], 'no trap');
  for (const nf of s.chains[0]!.nfs) t.equal(nf.bad_verdict + nf.bad_length + nf.trapped + nf.hung, 0, `${nf.name}: nothing refused, trapped or hung`);
  t.equal(s.pool.available, s.pool.mbufs, 'the mbuf pool is full again');
  t.equal(s.ports[0]!.rx_ring_full, 0, 'no frame dropped at a full ring');
  compareWithOffline(t, outputFrames(dir), runOffline(frames, names.map(nfOf), { log: () => {} }));
  tally.tried += rx;
  tally.contained += tx + drops;
  tally.lost += Math.abs(s.unaccounted);
});

t.teardown(() => reportClass(t, 'fuzzed traffic', tally));
