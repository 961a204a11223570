// Whether a run gets 2 MiB hugepages, decided before EAL starts: with too few
// free, 'auto' falls back to 4 KiB pages (and says so loudly), 'on' refuses.
import { readFileSync } from 'node:fs';
import type { HugepageMode } from './config.js';

const HUGEPAGE = 2 * 1024 * 1024;
const FREE_PAGES = '/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages';
/** EAL's own memory (mbuf headers, descriptor rings, drivers), in 2 MiB pages. */
const EAL_PAGES = 24;

export interface HugepageDecision {
  hugepages: boolean;
  warning?: string;
}

export function freeHugepages(): number {
  try {
    return Number(readFileSync(FREE_PAGES, 'utf8').trim());
  } catch {
    return 0;
  }
}

export function pagesNeeded(poolBytes: number): number {
  return Math.ceil(poolBytes / HUGEPAGE) + EAL_PAGES;
}

export function decideHugepages(mode: HugepageMode, poolBytes: number): HugepageDecision {
  if (mode === 'off') return { hugepages: false };
  const free = freeHugepages();
  const need = pagesNeeded(poolBytes);
  if (free >= need) return { hugepages: true };
  const shortage = `${free} free 2 MiB hugepages, ${need} needed`;
  if (mode === 'on') throw new Error(`pool.hugepages: 'on', but there are ${shortage} (scripts/setup reserves them)`);
  return {
    hugepages: false,
    warning: `WARNING: ${shortage}: running on 4 KiB pages, expect 2.5-3x lower throughput (scripts/setup reserves hugepages)`,
  };
}
