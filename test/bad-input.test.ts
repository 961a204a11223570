// Bad config, devargs, EAL arguments and modules: a clear error naming the
// problem, a non-zero exit, and nothing left behind (no DPDK runtime folder,
// no hugepage files).
import t from 'tap';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { runNetvm, tempDir, type RunResult } from './support/netvm.js';
import { TRAFFIC } from './support/pcap-ports.js';
import { writePcap } from '../host/pcap/index.js';

const FORWARD = join(REPO_ROOT, 'nf-modules/build/forward.wasm');

function config(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${TRAFFIC}`, out: 'net_null0' },
    nfs: { fwd: { module: FORWARD } },
    chains: [{ from: 'in', through: ['fwd'], to: 'out' }],
    ...patch,
  };
}

function leftNothing(t: Tap.Test, run: RunResult): void {
  t.notOk(run.leftRuntimeDir, 'no DPDK runtime folder left behind');
  const huge = existsSync('/dev/hugepages') ? readdirSync('/dev/hugepages').filter((f) => f.includes(run.filePrefix)) : [];
  t.same(huge, [], 'no hugepage files left behind');
  t.equal(run.summary, undefined, 'no stats: nothing ran');
}

t.test('a config with unknown keys and wrong types is refused, every problem named by its field', async (t) => {
  const run = await runNetvm(config({ cores: { poll: 'one', workers: [0], spare: 2 }, colour: 'blue' }));
  t.equal(run.code, 2);
  t.match(run.stderr, /cores\.spare: unknown key/);
  t.match(run.stderr, /colour: unknown key/);
  t.match(run.stderr, /cores\.poll: must be integer/);
  leftNothing(t, run);
});

t.test('a PCI port with no device behind it is refused before EAL starts, with the reason', async (t) => {
  const run = await runNetvm(config({ ports: { in: 'ffff:ff:1f.7', out: 'net_null0' } }));
  t.equal(run.code, 1);
  t.match(run.stderr, /ports\.in: no PCI device at ffff:ff:1f\.7/);
  leftNothing(t, run);
});

t.test('references between sections are checked', async (t) => {
  const run = await runNetvm(config({ chains: [{ from: 'inn', through: ['fwd', 'nat'], to: 'out' }] }));
  t.equal(run.code, 2);
  t.match(run.stderr, "chains[0].from: no port named 'inn' (ports: in, out)");
  t.match(run.stderr, "chains[0].through[1]: no NF named 'nat' (nfs: fwd)");
  leftNothing(t, run);
});

t.test('a CPU that does not exist is refused', async (t) => {
  const run = await runNetvm(config({ cores: { poll: 1, workers: [64] } }));
  t.equal(run.code, 2);
  t.match(run.stderr, /cores\.workers\[0\]: CPU 64 does not exist/);
  leftNothing(t, run);
});

t.test('bad EAL arguments are refused before EAL sees them', async (t) => {
  const run = await runNetvm(config({ eal: ['--help', '--frobnicate', '--log-level=shouty', '--lcores=0'] }));
  t.equal(run.code, 2);
  t.match(run.stderr, "eal[0]: '--help' is set by netvm from nothing: it exits the process");
  t.match(run.stderr, "eal[1]: unknown or unsupported EAL option '--frobnicate'");
  t.match(run.stderr, "eal[2]: 'shouty' is not a valid value for --log-level");
  t.match(run.stderr, "eal[3]: '--lcores' is set by netvm from cores");
  leftNothing(t, run);
});

t.test('EAL failing to start is an error, not an exit', async (t) => {
  const run = await runNetvm(config({ eal: ['-d', '/nonexistent/librte_nothing.so'] }));
  t.equal(run.code, 1);
  t.match(run.stderr, /netvm: EAL init failed: .*nonexistent/);
  leftNothing(t, run);
});

t.test('devargs that no driver accepts name the port and the reason', async (t) => {
  const missing = await runNetvm(config({ ports: { in: 'net_pcap0,rx_pcap=/nonexistent/in.pcap', out: 'net_null0' } }));
  t.equal(missing.code, 1);
  t.match(missing.stderr, /ports\.in \(net_pcap0,rx_pcap=\/nonexistent\/in\.pcap\): probe failed: .*Couldn't open \/nonexistent\/in\.pcap/);
  t.equal(missing.stderr.split('net_pcap0,rx_pcap').length, 2, 'the devargs said once');
  leftNothing(t, missing);

  const bogus = await runNetvm(config({ ports: { in: 'net_bogus0', out: 'net_null0' } }));
  t.equal(bogus.code, 1);
  t.match(bogus.stderr, /ports\.in \(net_bogus0\): probe failed/);
  leftNothing(t, bogus);

  const malformed = await runNetvm(config({ ports: { in: 'net pcap0', out: 'net_null0' } }));
  t.equal(malformed.code, 2);
  t.match(malformed.stderr, "ports.in: 'net pcap0' is not a DPDK devargs string");
});

t.test('a pcap whose frames do not fit one buffer, under infinite_rx: refused before anything starts, with the frame', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'big.pcap');
  const small = new Uint8Array(64);
  const big = new Uint8Array(4000);
  for (const f of [small, big]) f.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 0]);
  writePcap(file, [{ data: small }, { data: big }]);
  const run = await runNetvm(config({ ports: { in: `net_pcap0,rx_pcap=${file},infinite_rx=1`, out: 'net_null0' } }));
  t.equal(run.code, 2);
  t.match(run.stderr, `ports.in: infinite_rx keeps each frame of ${file} in one pool buffer of 2048 bytes, but frame 2 has 4000: remove infinite_rx=1`);
  t.notMatch(run.stderr, /Multiseg|eth_rx_queue_setup/, 'not DPDK\'s words');
  leftNothing(t, run);
});

t.test('missing, invalid and foreign modules are refused with their path and the reason', async (t) => {
  const dir = tempDir();
  const garbage = join(dir, 'garbage.wasm');
  writeFileSync(garbage, 'not wasm at all');
  const run = await runNetvm(config({
    nfs: { a: { module: join(dir, 'missing.wasm') }, b: { module: garbage }, c: { module: await fixtureNf('abi-v99') } },
    chains: [{ from: 'in', through: ['a', 'b', 'c'], to: 'out' }],
  }));
  t.equal(run.code, 2);
  t.match(run.stderr, `nfs.a.module: no such file: ${join(dir, 'missing.wasm')}`);
  leftNothing(t, run);

  const invalid = await runNetvm(config({
    nfs: { b: { module: garbage }, c: { module: await fixtureNf('abi-v99') } },
    chains: [{ from: 'in', through: ['b', 'c'], to: 'out' }],
  }));
  t.equal(invalid.code, 2);
  t.match(invalid.stderr, `nfs.b.module: ${garbage}: not a valid WebAssembly module`);
  t.match(invalid.stderr, /nfs\.c\.module: .*abi-v99\.wasm: check: speaks NetVM ABI version 99; this host speaks versions 1 and 2/);
  leftNothing(t, invalid);
});
