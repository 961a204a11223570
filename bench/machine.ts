// What a benchmark ran on, printed with its figures.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

export interface Machine {
  cpu: string;
  cpus: number;
  kernel: string;
  dpdk: string;
  node: string;
  v8: string;
  hugepages: string;
}

export function describeMachine(): Machine {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const huge = (key: string): string => /(\d+)/.exec(meminfo.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? '?';
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    kernel: release(),
    dpdk: execFileSync('pkg-config', ['--modversion', 'libdpdk'], { encoding: 'utf8' }).trim(),
    node: process.version,
    v8: process.versions.v8,
    hugepages: `${huge('HugePages_Free')} free of ${huge('HugePages_Total')} (${huge('Hugepagesize')} kB)`,
  };
}
