// Run by test/pool-iova.test.ts in a process of its own (EAL starts once per
// process): starts EAL in the IOVA mode asked for, makes the data plane's pool,
// and checks every buffer's I/O address against what the kernel says, on its
// own: the physical address of each of the buffer's bytes from
// /proc/self/pagemap (PA), or its virtual address (VA). Prints a JSON line
// (iova: 0 none, 1 PA, 2 VA, as struct nv_pool_info says).
// usage: node pool-iova-probe.mjs pa|va <file prefix> <mbufs> <huge: 0|1>
import { openSync, readSync } from 'node:fs';
import { removeRuntimeDir } from '../../dist/host/dataplane/driver.js';
import { POOL_IOVA_PA, POOL_IOVA_VA, native } from '../../dist/host/dataplane/native.js';

const [mode, prefix, mbufs, huge] = process.argv.slice(2);
const lib = native();
const args = ['netvm-probe', '--lcores=0@0', `--file-prefix=${prefix}`, '--no-pci', '--log-level=lib.eal:error', `--iova-mode=${mode}`,
  ...(huge === '1' ? ['--in-memory'] : ['--no-huge', '--no-shconf'])];
if (lib.ealInit(args.length, args) < 0) throw new Error(lib.lastError());
const runtimeDir = lib.ealRuntimeDir();
process.once('exit', () => removeRuntimeDir(runtimeDir));
const info = {};
if (lib.poolCreate(Number(mbufs), Number(huge), info) < 0) throw new Error(lib.lastError());

const pagemap = openSync('/proc/self/pagemap', 'r');
const entry = Buffer.alloc(8);
/** The physical address of a virtual one, from the kernel's page table (root only). */
function physical(addr) {
  readSync(pagemap, entry, 0, 8, Number(addr / 4096n) * 8);
  const e = entry.readBigUInt64LE();
  if ((e >> 63n) === 0n) return undefined; // not present
  return (e & ((1n << 55n) - 1n)) * 4096n + (addr % 4096n);
}

const out = { iova: info.iova, hugepages: info.hugepages, mbufs: 0, wrong: 0, crossing: 0, slots: Math.floor(Number(info.len) / info.elt_size) };
for (let slot = 0; slot < out.slots; slot++) {
  const a = [null], i = [null];
  if (lib.poolSlotIo(slot, a, i) < 0) continue;
  out.mbufs++;
  const [addr, iova] = [BigInt(a[0]), BigInt(i[0])];
  const last = addr + BigInt(info.elt_size) - 1n;
  if (info.iova === POOL_IOVA_VA) {
    if (iova !== addr) out.wrong++;
  } else if (info.iova === POOL_IOVA_PA) {
    // The device's view of the buffer's first and last byte is the kernel's.
    if (physical(addr) !== iova || physical(last) !== iova + BigInt(info.elt_size) - 1n) out.wrong++;
    if (addr / 2097152n !== last / 2097152n) out.crossing++;
  }
}
out.available = lib.poolAvailable();
lib.poolDestroy();
lib.shutdown();
console.log(JSON.stringify(out));
