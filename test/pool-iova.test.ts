// The pool's I/O addresses (issue 18): what a PCI NIC's DMA would use. In
// IOVA-as-PA mode each buffer's address is its physical address, checked byte
// by byte against the kernel's page table (/proc/self/pagemap, as root), and
// no buffer crosses a 2 MiB page (two pages need not be next to each other in
// physical memory); in IOVA-as-VA mode it is its virtual address. Each mode
// runs EAL in a process of its own (test/support/pool-iova-probe.mjs).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';

const PROBE = join(REPO_ROOT, 'test/support/pool-iova-probe.mjs');
const MBUFS = 8191;

interface Probe { iova: number; hugepages: number; mbufs: number; wrong: number; crossing: number; slots: number; available: number }

function probe(mode: 'pa' | 'va', huge: boolean): Probe & { prefix: string } {
  const prefix = `netvm-test-iova-${process.pid}-${mode}-${huge ? 'huge' : '4k'}`;
  const out = execFileSync(process.execPath, [PROBE, mode, prefix, String(MBUFS), huge ? '1' : '0'], { encoding: 'utf8' });
  return { ...(JSON.parse(out) as Probe), prefix };
}

t.test('IOVA-as-PA on 2 MiB pages: every buffer at its physical address, none across a page', async (t) => {
  const p = probe('pa', true);
  if (p.hugepages === 0) return t.skip('no free 2 MiB hugepages: the pool ran on 4 KiB pages');
  t.equal(p.iova, 1, 'the pool says PA');
  t.equal(p.mbufs, MBUFS, 'every mbuf has a buffer');
  t.ok(p.slots > MBUFS, `the slots that would cross a page hold none (${p.slots - MBUFS} of ${p.slots} spare)`);
  t.equal(p.wrong, 0, 'each buffer\'s first and last byte are where the kernel puts them');
  t.equal(p.crossing, 0);
  t.equal(p.available, MBUFS, 'the pool is full');
  t.notOk(existsSync(join('/var/run/dpdk', p.prefix)), 'no runtime folder left');
});

t.test('IOVA-as-VA: every buffer at its virtual address', async (t) => {
  for (const huge of [true, false]) {
    const p = probe('va', huge);
    t.equal(p.iova, 2, `the pool says VA (${p.hugepages ? '2 MiB' : '4 KiB'} pages)`);
    t.equal(p.mbufs, MBUFS);
    t.equal(p.wrong, 0, 'each buffer\'s I/O address is its address');
    t.notOk(existsSync(join('/var/run/dpdk', p.prefix)), 'no runtime folder left');
  }
});
