// The raw-DPDK baseline: Debian's dpdk-doc `skeleton` example (basicfwd.c),
// built here from the packaged source, forwarding between two net_null ports
// on one core; its port counters are read over DPDK telemetry.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../host/paths.js';
import { Telemetry } from './telemetry.js';
import { removeRuntimeDir } from '../host/dataplane/driver.js';

const SKELETON_SRC = '/usr/share/dpdk/examples/skeleton/basicfwd.c';
const EXTBUF_HEADER = join(PROJECT_ROOT, 'bench/skeleton-extbuf.h');
/** The skeleton's mbufs: its own pool (direct mbufs), or pinned external buffers (NetVM's kind). */
export type SkeletonMbufs = 'direct' | 'extbuf';
const skeletonBinary = (mbufs: SkeletonMbufs): string => join(PROJECT_ROOT, mbufs === 'direct' ? 'bench/build/skeleton' : 'bench/build/skeleton-extbuf');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Builds the skeleton when missing or older than its source; false when dpdk-doc is not installed.
 *  With extbuf mbufs, bench/skeleton-extbuf.h is forced into the build (the source untouched). */
export function buildSkeleton(mbufs: SkeletonMbufs): boolean {
  if (!existsSync(SKELETON_SRC)) return false;
  const binary = skeletonBinary(mbufs);
  const sources = mbufs === 'direct' ? [SKELETON_SRC] : [SKELETON_SRC, EXTBUF_HEADER];
  if (existsSync(binary) && sources.every((f) => statSync(binary).mtimeMs >= statSync(f).mtimeMs)) return true;
  mkdirSync(join(PROJECT_ROOT, 'bench/build'), { recursive: true });
  const flags = (what: string): string[] => execFileSync('pkg-config', [what, 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
  const extbuf = mbufs === 'direct' ? [] : ['-DALLOW_EXPERIMENTAL_API', '-include', EXTBUF_HEADER];
  execFileSync('cc', ['-O3', ...extbuf, ...flags('--cflags'), SKELETON_SRC, '-o', binary, ...flags('--libs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return true;
}

/** Packets per second the skeleton forwards (both ports' TX) on `cpu` between the vdevs. */
export function skeletonPps(vdevs: string[], cpu: number, warmupS: number, seconds: number, mbufs: SkeletonMbufs = 'direct'): Promise<number> {
  const args = ['-l', String(cpu), '--in-memory', '--no-pci', '--log-level=lib.eal:error', ...vdevs.flatMap((v) => ['--vdev', v])];
  return dpdkAppPps(skeletonBinary(mbufs), mbufs === 'direct' ? 'skeleton' : 'skeleton-extbuf', args, vdevs.map((_, port) => port), warmupS, seconds);
}

/** Packets per second a DPDK application sends out of `ports` (their TX over telemetry), after
 *  warmupS, over `seconds`; it is started with its EAL (and own) arguments and a file prefix
 *  of its own, killed at the end, and its runtime folder removed. */
export async function dpdkAppPps(app: string, name: string, args: string[], ports: number[], warmupS: number, seconds: number): Promise<number> {
  const prefix = `netvm-bench-${name}-${process.pid}`;
  const child = spawn(app, [`--file-prefix=${prefix}`, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Listened for at once: an app that fails to start (no hugepages, say) has closed before the end.
  const closed = new Promise((r) => child.on('close', r));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const runtimeDir = `/var/run/dpdk/${prefix}`;
  try {
    const socket = join(runtimeDir, 'dpdk_telemetry.v2');
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);
    if (!existsSync(socket)) throw new Error(`${name} did not start (no ${socket}): ${stderr.trim()}`);
    await sleep(warmupS * 1000);
    const telemetry = Telemetry.connect(socket);
    try {
      const sent = (): number => ports.reduce((n, port) => n + telemetry.opackets(port), 0);
      const before = sent();
      const t0 = performance.now();
      await sleep(seconds * 1000);
      return (sent() - before) / ((performance.now() - t0) / 1000);
    } finally {
      telemetry.close();
    }
  } finally {
    child.kill('SIGKILL');
    await closed;
    removeRuntimeDir(runtimeDir);
  }
}
