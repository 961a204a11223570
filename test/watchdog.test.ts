// An NF that never returns: the watchdog notices the worker's heartbeat stand
// still, terminates the worker, drops and counts the burst it held, starts a
// fresh worker for its lanes, and the data plane goes on forwarding; at the
// end every packet is accounted for and the pool is full again. A worker that
// only did not get its CPU is not stuck.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFlowsPcap } from '../bench/traffic.js';
import { writePcap } from '../host/pcap/index.js';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { runNetvm, startNetvm, tempDir, totals } from './support/netvm.js';

/** The kernel id of a process's thread of this name. */
function threadId(pid: number, name: string): number {
  const tid = readdirSync(`/proc/${pid}/task`).find((id) => readFileSync(`/proc/${pid}/task/${id}/comm`, 'utf8').trim() === name);
  if (tid === undefined) throw new Error(`no thread ${name} in process ${pid}`);
  return Number(tid);
}

/** Nanoseconds a thread waited for a CPU it did not get (schedstat's second field). */
const waitedNs = (pid: number, tid: number): number => Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);

const run = (cmd: string, ...args: string[]): void => {
  const r = spawnSync(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`);
};

t.test('a worker stuck in an endless loop is restarted; nothing is lost uncounted', async (t) => {
  const dir = tempDir();
  const frame = (last: number): Uint8Array => {
    const f = new Uint8Array(64);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5]); // local experimental ethertype
    f[63] = last;
    return f;
  };
  // 3000 packets, one of them the poison (in the middle).
  const frames = Array.from({ length: 3000 }, (_, i) => frame(i === 1500 ? 0xee : 0x11));
  writePcap(join(dir, 'in.pcap'), frames.map((data) => ({ data })));
  const config = {
    cores: { poll: 1, workers: [0] },
    watchdog_ms: 100,
    ports: { src: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, sink: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { spin: { module: await fixtureNf('hang-on-mark') } },
    chains: [{ from: 'src', through: ['spin'], to: 'sink' }],
  };
  const r = await runNetvm(config, ['--until-idle', '1500', '--control', 'off'], dir);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /worker on CPU 0: no progress for 100 ms \(in nf spin\): restarting it/);
  t.match(r.stderr, /worker on CPU 0 restarted with fresh NF instances; \d+ packets of the burst it held were dropped and counted/);
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  t.equal(rx, 3000, 'every packet came in');
  t.equal(rx, tx + drops, 'in = out + counted drops');
  const spin = s.chains[0]!.nfs[0]!;
  t.ok(spin.hung >= 1 && spin.hung <= 256, `the held burst was dropped as hung (${spin.hung})`);
  t.equal(s.hangs.length, 1);
  t.equal(s.hangs[0]!.lost, spin.hung);
  t.ok(tx >= 3000 - 256, 'the rest went through, before and after the restart');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  t.notOk(r.leftRuntimeDir);
});

t.test('a worker stuck when the run stops is terminated: the run ends, its burst counted as hung, what waited for it dropped', async (t) => {
  const dir = tempDir();
  const frame = (last: number): Uint8Array => {
    const f = new Uint8Array(64);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5]);
    f[63] = last;
    return f;
  };
  // The poison first: the worker is stuck in it, the rest of the file waits in its ring (and in
  // the file: the ring holds 4096), and the watchdog is far off.
  const frames = Array.from({ length: 6000 }, (_, i) => frame(i === 0 ? 0xee : 0x11));
  writePcap(join(dir, 'in.pcap'), frames.map((data) => ({ data })));
  const r = await runNetvm({
    cores: { poll: 1, workers: [0] },
    watchdog_ms: 60000,
    ports: { src: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, sink: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { spin: { module: await fixtureNf('hang-on-mark') } },
    chains: [{ from: 'src', through: ['spin'], to: 'sink' }],
  }, ['--until-idle', '300', '--control', 'off'], dir);
  t.match(r.stderr, /worker on CPU 0 did not stop within 2000 ms: terminated; the burst it held and the packets waiting for it dropped and counted/);
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  const chain = s.chains[0]!;
  const hung = chain.nfs[0]!.hung;
  t.ok(hung >= 1, `the held burst counted as hung (${hung})`);
  t.ok(rx >= 4096 && rx < frames.length, `the ring filled, and the rest stayed in the file (${rx} received)`);
  t.same([tx, chain.in, chain.dropped], [0, rx, rx], 'nothing came out: every packet received was dropped');
  t.ok(chain.dropped - hung > 0, `what waited in the ring was dropped (${chain.dropped - hung})`);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  t.equal(r.code, 0, r.stderr);
});

t.test('a worker the machine does not run for a while is not hung: its NF keeps its state', async (t) => {
  const dir = tempDir();
  const pcap = join(dir, 'flows.pcap');
  writeFlowsPcap(pcap, 64, 50);
  const netvm = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { src: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, sink: 'net_null0,size=60' },
    nfs: { nat: { module: join(REPO_ROOT, 'nf-modules/build/nat.wasm'), config: { inside: '10.0.0.0/8', public_ip: '203.0.113.1' } } },
    chains: [{ from: 'src', through: ['nat'], to: 'sink' }],
  }, ['--duration', '3', '--control', 'off'], dir);
  await netvm.waitFor(/\[\s*1s\]/);
  // Another thread takes the worker's CPU for 300 ms, six times the watchdog's 50 ms: the worker
  // is made SCHED_IDLE meanwhile, so that it gets nothing while the run's main thread (on the same
  // CPU, the watchdog's) still gets its turns.
  const worker = threadId(netvm.pid, 'netvm-worker0');
  const before = waitedNs(netvm.pid, worker);
  run('chrt', '--idle', '-p', '0', String(worker));
  run('taskset', '-c', '0', process.execPath, '-e', 'const end = Date.now() + 300; while (Date.now() < end);');
  run('chrt', '--other', '-p', '0', String(worker));
  // schedstat adds a wait when the thread next gets its CPU: let it have it before reading.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const waited = (waitedNs(netvm.pid, worker) - before) / 1e6;
  t.ok(waited >= 250, `the worker waited ${waited.toFixed(0)} ms for its CPU`);
  const r = await netvm.done;
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /no progress/, 'the watchdog left it alone');
  const s = r.summary!;
  t.equal(s.hangs.length, 0);
  t.equal(s.chains[0]!.nfs[0]!.metrics['new_mappings'], 50, 'the first instance ran all along');
  const { rx, tx, drops } = totals(s);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
});
