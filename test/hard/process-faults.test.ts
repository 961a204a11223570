// Bad days for the process around the data plane: SIGTERM mid-traffic (drains,
// pool full, clean exit); kill -9 mid-traffic, then a fresh start that finds
// and removes what the dead run left; an output port's link going down and up
// under load (counted drops, then forwarding again); the pool running dry
// (counted by the device, then forwarding again); no free hugepages (the
// 4 KiB-page fallback, announced).
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseControlAddress, tokenPath } from '../../host/api/api.js';
import { freeHugepages } from '../../host/runtime/hugepages.js';
import type { PortSummary } from '../../host/observe/stats.js';
import { apiGet } from '../support/api.js';
import { REPO_ROOT, fixtureNf } from '../support/fixtures.js';
import { readPcap, writePcap } from '../../host/pcap/index.js';
import { reportClass, talliedTest, type ClassTally } from '../support/hard.js';
import { logMessages, runNetvm, startNetvm, tempDir, totals, type RunResult } from '../support/netvm.js';

const FORWARD = join(REPO_ROOT, 'nf-modules/build/forward.wasm');
const PORT = 7391;
const CONTROL = `127.0.0.1:${PORT}`;
const tally: ClassTally = { tried: 0, contained: 0, lost: 0 };

function config(sink = 'net_null1'): object {
  return {
    cores: { poll: 1, workers: [0] },
    ports: { src: 'net_null0,size=64,copy=1', sink },
    nfs: { fwd: { module: FORWARD } },
    chains: [{ from: 'src', through: ['fwd'], to: 'sink' }],
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What every fault must leave: exact accounting, a full pool, no runtime folder. */
function cleanEnd(t: Tap.Test, r: RunResult): void {
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  t.ok(tx > 0, 'packets flowed');
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.unaccounted, 0);
  t.equal(s.pool.available, s.pool.mbufs, 'the mbuf pool is full again');
  t.notOk(r.leftRuntimeDir, 'no DPDK runtime folder left behind');
  t.notOk(existsSync(`/run/netvm/runs/${r.filePrefix}.json`), 'no run record left behind');
  tally.lost += Math.abs(s.unaccounted);
}

talliedTest(t, tally, 'SIGTERM mid-traffic drains, and the run ends cleanly', async (t) => {
  const run = startNetvm(config(), ['--control', 'off']);
  await run.waitFor(/\[\s+1s\]/);
  run.kill('SIGTERM');
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  t.ok(logMessages(r.stderr).includes('stopping (again to force)'), 'it says it stops');
  cleanEnd(t, r);
});

talliedTest(t, tally, 'kill -9 mid-traffic, then a fresh start removes what the dead run left', async (t) => {
  const dead = startNetvm(config(), ['--control', CONTROL]);
  await dead.waitFor(/\[\s+1s\]/);
  // What a vm NF would have made (its region, a vhost-user socket): named after the run.
  const region = `/dev/shm/netvm-${dead.filePrefix}-vm-x`;
  const socket = join(tmpdir(), `netvm-${dead.filePrefix}-x-0.sock`);
  writeFileSync(region, '');
  writeFileSync(socket, '');
  dead.kill('SIGKILL');
  const gone = await dead.done;
  t.equal(gone.code, null, 'killed');
  const token = tokenPath(parseControlAddress(CONTROL));
  const left = [`/var/run/dpdk/${dead.filePrefix}`, `/run/netvm/runs/${dead.filePrefix}.json`, token, region, socket];
  t.same(left.filter((f) => !existsSync(f)), [], 'the killed run left its runtime folder, record, token and files');

  const fresh = startNetvm(config(), ['--control', CONTROL]);
  await fresh.waitFor(/\[\s+1s\]/);
  t.ok(logMessages(fresh.stderr()).some((m) => m.startsWith(`run ${dead.filePrefix} (pid `) && m.includes('is gone: removed')), 'the fresh run says what it removed');
  t.same(left.filter((f) => f !== token && existsSync(f)), [], 'the dead run\'s leftovers are gone');
  fresh.kill('SIGTERM');
  const r = await fresh.done;
  t.equal(r.code, 0, r.stderr);
  cleanEnd(t, r);
  t.notOk(existsSync(token), 'the fresh run\'s token went with it');
});

talliedTest(t, tally, 'an output port whose link goes down and up under load: counted drops, then forwarding again', async (t) => {
  const iface = `nvtap${process.pid % 10000}`;
  const run = startNetvm(config(`net_tap0,iface=${iface}`), ['--control', CONTROL]);
  await run.waitFor(/\[\s+1s\]/);
  const sink = async (): Promise<PortSummary> => (await apiGet<{ ports: PortSummary[] }>(PORT, '/v1/stats')).ports[1]!;
  const up1 = await sink();
  execFileSync('ip', ['link', 'set', iface, 'down']);
  // Packets already in the kernel's queue still go: down once the count stands still.
  let down0 = await sink();
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const now = await sink();
    if (now.tx === down0.tx) break;
    down0 = now;
  }
  await sleep(1000);
  const down1 = await sink();
  execFileSync('ip', ['link', 'set', iface, 'up']);
  await sleep(1000);
  const up2 = await sink();
  run.kill('SIGTERM');
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  t.ok(up1.tx > 0, `forwarding before (${up1.tx})`);
  t.ok(down1.tx_full - down0.tx_full > 0, `while down, the port refused packets, counted as TX full (${down1.tx_full - down0.tx_full})`);
  const sentDown = down1.tx - down0.tx;
  const sentUp = up2.tx - down1.tx;
  t.ok(sentUp > 10 * sentDown, `forwarding again once up (${sentUp} in 1 s, ${sentDown} while down)`);
  cleanEnd(t, r);
});

talliedTest(t, tally, 'the pool runs dry while an NF stalls: the device counts what it could not take, then forwarding recovers', async (t) => {
  const dir = tempDir();
  // 30,000 frames, each carrying its index, for a chain next to one whose NF stalls
  // 150 ms on its first burst and meanwhile holds every buffer of a small pool.
  const frames = Array.from({ length: 30_000 }, (_, i) => {
    const f = new Uint8Array(64);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5]);
    new DataView(f.buffer).setUint32(60, i);
    return { data: f };
  });
  writePcap(join(dir, 'in.pcap'), frames);
  const r = await runNetvm({
    cores: { poll: 1, workers: [0] },
    ports: {
      src: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, sink: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}`,
      gen: 'net_null0,size=64,copy=1', drain: 'net_null1',
    },
    nfs: { fwd: { module: FORWARD }, slow: { module: await fixtureNf('slow-first-burst'), limits: { batch_ms: 1000 } } },
    chains: [{ name: 'files', from: 'src', through: ['fwd'], to: 'sink' }, { name: 'stalls', from: 'gen', through: ['slow'], to: 'drain' }],
    // Fewer buffers than a chain's ring holds: the stalled chain takes them all.
    pool: { mbufs: 1023 },
  }, ['--duration', '2', '--control', 'off'], dir);
  t.equal(r.code, 0, r.stderr);
  const [src, , , drain] = r.summary!.ports;
  t.ok(src!.rx_nombuf > 0, `the file's device had no buffer for ${src!.rx_nombuf} frames while the stalled chain held them all`);
  t.equal(src!.rx + src!.rx_nombuf, frames.length, 'every frame of the file received, or counted by its device');
  const out = readPcap(join(dir, 'out.pcap')).packets.map((p) => new DataView(p.data.buffer, p.data.byteOffset).getUint32(60));
  t.equal(out.length, src!.rx, 'every frame received came out');
  t.ok(out.every((v, i) => i === 0 || v > out[i - 1]!), 'in order');
  t.ok(drain!.tx > 100 * 1023, `forwarding recovered after the stall (${drain!.tx} sent)`);
  cleanEnd(t, r);
});

talliedTest(t, tally, 'no free hugepages: pool.hugepages on refuses; auto falls back to 4 KiB pages, and says so', async (t) => {
  // A process that holds every free 2 MiB page until it is killed.
  const pages = freeHugepages();
  const holder = spawn('python3', ['-c', `
import mmap, sys, time
m = mmap.mmap(-1, ${pages} * 2097152, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)
for i in range(0, len(m), 2097152): m[i] = 1
print('held', flush=True)
time.sleep(600)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise((resolve) => holder.stdout.once('data', resolve));
  t.equal(freeHugepages(), 0, `all ${pages} free hugepages held`);
  const on = await runNetvm({ ...config(), pool: { hugepages: 'on' } }, ['--duration', '1', '--control', 'off']);
  t.not(on.code, 0, 'with pool.hugepages: on, the run is refused');
  t.match(on.stderr, /pool\.hugepages: 'on', but there are/, 'saying why');
  t.notOk(on.leftRuntimeDir, 'and leaves nothing behind');
  const r = await runNetvm(config(), ['--duration', '1', '--control', 'off']);
  holder.kill('SIGKILL');
  t.equal(r.code, 0, r.stderr);
  t.ok(logMessages(r.stderr).some((m) => /^WARNING: 0 free 2 MiB hugepages, \d+ needed: running on 4 KiB pages/.test(m)), 'the fallback is announced');
  t.equal(r.summary!.hugepages, false, 'the summary says 4 KiB pages');
  cleanEnd(t, r);
});

t.teardown(() => reportClass(t, 'process faults', tally));
