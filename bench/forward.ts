// The forward benchmark: 64-byte packets between two net_null ports, both
// directions, on the same vdevs and cores, for
//   - DPDK's skeleton example (Debian's dpdk-doc), the raw-DPDK baseline, on the poll CPU;
//   - NetVM with empty chains (the platform's own cost) and with [forward] chains,
//     poll lcore on the same CPU and one worker on the other.
// Each runs RUN_SECONDS after WARMUP_SECONDS; rates are packets sent per second.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { RunSummary } from '../host/control/stats.js';
import { describeMachine } from './machine.js';
import { Telemetry } from './telemetry.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKELETON_SRC = '/usr/share/dpdk/examples/skeleton/basicfwd.c';
const SKELETON = join(ROOT, 'bench/build/skeleton');
const CLI = join(ROOT, 'dist/host/cli.js');
const POLL_CPU = 1;
const WORKER_CPU = 0;
const WARMUP_SECONDS = 2;
const RUN_SECONDS = 10;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const vdevs = (copy: number): string[] => [0, 1].map((i) => `net_null${i},size=64,copy=${copy}`);

function buildSkeleton(): void {
  if (existsSync(SKELETON) && statSync(SKELETON).mtimeMs >= statSync(SKELETON_SRC).mtimeMs) return;
  mkdirSync(join(ROOT, 'bench/build'), { recursive: true });
  const flags = (what: string): string[] => execFileSync('pkg-config', [what, 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
  execFileSync('cc', ['-O3', ...flags('--cflags'), SKELETON_SRC, '-o', SKELETON, ...flags('--libs')], { stdio: 'inherit' });
}

/** Runs the skeleton and reads its port counters over DPDK telemetry. */
async function skeletonMpps(copy: number): Promise<number> {
  const prefix = `netvm-bench-skeleton-${process.pid}`;
  const args = ['-l', String(POLL_CPU), '--in-memory', '--no-pci', `--file-prefix=${prefix}`, '--log-level=lib.eal:error'];
  for (const vdev of vdevs(copy)) args.push('--vdev', vdev);
  const child = spawn(SKELETON, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const runtimeDir = `/var/run/dpdk/${prefix}`;
  try {
    const socket = join(runtimeDir, 'dpdk_telemetry.v2');
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);
    await sleep(WARMUP_SECONDS * 1000);
    const telemetry = Telemetry.connect(socket);
    const sent = (): number => telemetry.opackets(0) + telemetry.opackets(1);
    const before = sent();
    const t0 = performance.now();
    await sleep(RUN_SECONDS * 1000);
    const mpps = (sent() - before) / ((performance.now() - t0) * 1000);
    telemetry.close();
    return mpps;
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    rmSync(runtimeDir, { recursive: true, force: true });
  }
}

/** Runs netvm with one chain per direction through the given module. */
function netvmMpps(copy: number, module: string | undefined): number {
  const dir = mkdtempSync(join(tmpdir(), 'netvm-bench-'));
  try {
    const [a, b] = vdevs(copy);
    const nfs: Record<string, { module: string }> = module ? { ab: { module }, ba: { module } } : {};
    const config = {
      cores: { poll: POLL_CPU, workers: [WORKER_CPU] },
      ports: { a, b },
      nfs,
      chains: [
        { from: 'a', through: module ? ['ab'] : [], to: 'b' },
        { from: 'b', through: module ? ['ba'] : [], to: 'a' },
      ],
    };
    writeFileSync(join(dir, 'bench.yaml'), stringify(config));
    execFileSync(process.execPath, [CLI, 'run', join(dir, 'bench.yaml'), '--duration', String(WARMUP_SECONDS + RUN_SECONDS),
      '--stats-json', join(dir, 'stats.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const s = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8')) as RunSummary;
    return s.ports.reduce((n, p) => n + p.tx, 0) / s.seconds / 1e6;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const machine = describeMachine();
console.log('forward benchmark: 64 B, 2x net_null, both directions');
console.log(`machine: ${machine.cpu}, ${machine.cpus} CPUs, kernel ${machine.kernel}, DPDK ${machine.dpdk}, Node ${machine.node}, V8 ${machine.v8}`);
console.log(`hugepages: ${machine.hugepages}; poll CPU ${POLL_CPU}, worker CPU ${WORKER_CPU}; ${WARMUP_SECONDS} s warm-up (skeleton), ${RUN_SECONDS} s measured\n`);
buildSkeleton();
const FORWARD = join(ROOT, 'nf-modules/build/forward.wasm');
for (const copy of [0, 1]) {
  const skeleton = await skeletonMpps(copy);
  const empty = netvmMpps(copy, undefined);
  const forward = netvmMpps(copy, FORWARD);
  const row = (name: string, mpps: number): string =>
    `  ${name.padEnd(36)} ${mpps.toFixed(2).padStart(7)} Mpps  ${(mpps / skeleton).toFixed(3)}x skeleton`;
  console.log(`net_null copy=${copy}:`);
  console.log(row('DPDK skeleton (1 core)', skeleton));
  console.log(row('netvm, empty chains (2 cores)', empty));
  console.log(row('netvm, [forward] chains (2 cores)', forward));
}
