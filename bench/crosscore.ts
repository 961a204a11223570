// The cross-core cache line round trip (bench/crosscore.c) between the poll
// lcore's CPU and a worker's, taken before each sample that uses both: where
// a virtual machine's host put the two vCPUs, which it changes from minute to
// minute. Built here with the system's C compiler.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../host/paths.js';

const CROSSCORE_SRC = join(PROJECT_ROOT, 'bench/crosscore.c');
const PIN_HEADER = join(PROJECT_ROOT, 'bench/pin.h');
const CROSSCORE = join(PROJECT_ROOT, 'bench/build/crosscore');

/** Builds the program when missing or older than its source or the header it includes. */
function buildCrosscore(): void {
  const newest = Math.max(statSync(CROSSCORE_SRC).mtimeMs, statSync(PIN_HEADER).mtimeMs);
  if (existsSync(CROSSCORE) && statSync(CROSSCORE).mtimeMs >= newest) return;
  mkdirSync(join(PROJECT_ROOT, 'bench/build'), { recursive: true });
  execFileSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-pthread', CROSSCORE_SRC, '-o', CROSSCORE],
    { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** ns for a cache line to go from cpuA to cpuB and back. */
export function lineRoundTripNs(cpuA: number, cpuB: number): number {
  buildCrosscore();
  const out = execFileSync(CROSSCORE, [String(cpuA), String(cpuB)], { encoding: 'utf8' });
  const ns = Number(out.trim());
  if (!(ns > 0)) throw new Error(`the crosscore program printed '${out.trim()}', not a time`);
  return ns;
}
