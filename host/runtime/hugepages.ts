// Whether a run gets 2 MiB hugepages, decided before EAL starts: with too few
// free, 'auto' falls back to 4 KiB pages (and says so loudly), 'on' refuses.
import { readFileSync } from 'node:fs';
import { PORT_DESCRIPTORS } from '../dataplane/driver.js';
import { RING_SIZE } from '../dataplane/ring.js';
import type { HugepageMode } from '../config/config.js';

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

/** A warning when the pool cannot hold every chain's rings full and a RX ring of each port
 *  (a NIC keeps one filled): chains held back (backpressure) could then run it dry, and a port
 *  would drop frames for want of a buffer; undefined when it can. */
export function poolShortfall(mbufs: number, lanes: number, ports: number): string | undefined {
  const held = lanes * RING_SIZE + ports * PORT_DESCRIPTORS;
  if (mbufs >= held) return undefined;
  return `WARNING: pool.mbufs ${mbufs} is less than ${lanes} full ring(s) of ${RING_SIZE} and ${ports} port RX ring(s) of ${PORT_DESCRIPTORS} hold (${held}): ` +
    'chains that fall behind could run the pool dry, and their ports then drop frames for want of a buffer (counted; a pcap file loses them). Give pool.mbufs at least that';
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
