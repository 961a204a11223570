// The bench's small C programs (bench/<name>.c: handoff, crosscore, wake), each
// one file built alone with the system's C compiler into bench/build.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../host/paths.js';

const NATIVE_DIR = join(PROJECT_ROOT, 'native-dpdk');

/** The path of bench/build/<name>, built from bench/<name>.c when missing or older than it or
 *  the headers it includes (paths from the project's root), with native-dpdk/ on the include
 *  path (for the rings' layout, netvm_dp.h). */
export function cProgram(name: string, headers: string[] = [], flags: string[] = []): string {
  const src = join(PROJECT_ROOT, `bench/${name}.c`);
  const binary = join(PROJECT_ROOT, `bench/build/${name}`);
  const inputs = [src, ...headers.map((h) => join(PROJECT_ROOT, h))];
  const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
  if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
  mkdirSync(join(PROJECT_ROOT, 'bench/build'), { recursive: true });
  execFileSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', ...flags, '-I', NATIVE_DIR, src, '-o', binary],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  return binary;
}
