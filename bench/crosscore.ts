// The cross-core cache line round trip (bench/crosscore.c) between the poll
// lcore's CPU and a worker's, taken before each sample that uses both: where
// a virtual machine's host put the two vCPUs, which it changes from minute to
// minute.
import { execFileSync } from 'node:child_process';
import { cProgram } from './c-program.js';

/** ns for a cache line to go from cpuA to cpuB and back. */
export function lineRoundTripNs(cpuA: number, cpuB: number): number {
  const out = execFileSync(cProgram('crosscore', ['bench/pin.h'], ['-pthread']), [String(cpuA), String(cpuB)], { encoding: 'utf8' });
  const ns = Number(out.trim());
  if (!(ns > 0)) throw new Error(`the crosscore program printed '${out.trim()}', not a time`);
  return ns;
}
