// A reused NF memory (host/worker/spares.ts) is as good as a new one: every
// byte but the pool's window reads zero again, the window still shows the
// pool, and a new instance runs in it; spares are kept per kind of memory
// (maximum size and trust).
import t from 'tap';
import { join } from 'node:path';
import { native, poolCreatePlain } from '../host/dataplane/native.js';
import { poolWindow } from '../host/dataplane/pool-window.js';
import { ABI_VERSION, NF_MEMORY_BASE } from '../host/nf/abi.js';
import { createNfInstance, type PoolWindow } from '../host/nf/instance.js';
import { loadNfModule } from '../host/nf/module.js';
import { SpareMemories } from '../host/worker/spares.js';
import { REPO_ROOT } from './support/fixtures.js';

const nat = loadNfModule(join(REPO_ROOT, 'nf-modules/build/nat.wasm'));
const NAT_CONFIG = JSON.stringify({ inside: '10.0.0.0/8', public_ip: '203.0.113.1' });
const spec = { module: nat, config: NAT_CONFIG };

/** A pool without DPDK, its window as a worker sees it, and a worker's spares over it. */
function plainPool(t: Tap.Test): { info: ReturnType<typeof poolCreatePlain>; pool: PoolWindow; spares: SpareMemories } {
  const info = poolCreatePlain(64);
  t.teardown(() => native().poolDestroy());
  const pool = poolWindow(info.len, info.page_size);
  return { info, pool, spares: new SpareMemories(pool) };
}

/** What a scrubbed memory holds: zeros everywhere but the pool's window, which shows its 0x5a "packets". */
function checkScrubbed(t: Tap.Test, memory: { buffer: ArrayBuffer }, windowOffset: number): void {
  const after = new Uint8Array(memory.buffer);
  t.ok(after.subarray(0, windowOffset).every((b) => b === 0), 'below the window: zeros');
  t.ok(after.subarray(NF_MEMORY_BASE).every((b) => b === 0), 'the heap: zeros');
  t.ok(after.subarray(windowOffset, windowOffset + 4096).every((b) => b === 0x5a), 'the pool: as it was');
}

t.test('a memory is scrubbed for the next instance, its pool window kept', async (t) => {
  const { info, pool, spares } = plainPool(t);
  t.equal(spares.take(spec), undefined, 'none kept at first');
  spares.stock(spec);
  const spare = spares.take(spec)!;
  t.ok(spare, 'stock makes one');
  t.equal(spares.take(spec), undefined, 'and it was the only one');

  const first = createNfInstance(nat, 'nat', { pool, config: NAT_CONFIG, memory: spare });
  t.equal(first.memory, spare.memory, 'the instance runs in the spare');
  const bytes = new Uint8Array(first.memory.buffer);
  const window = bytes.subarray(first.windowOffset, first.windowOffset + info.len);
  window.fill(0x5a, 0, 4096); // "packets" in the pool
  bytes.fill(0xee, 0, first.windowOffset); // below the window
  bytes.fill(0xee, NF_MEMORY_BASE); // the whole heap, as a careless NF might leave it
  spares.reuse(first, spec);

  const again = spares.take(spec)!;
  t.equal(again.memory, first.memory, 'the same memory comes back');
  checkScrubbed(t, again.memory, first.windowOffset);
  const second = createNfInstance(nat, 'nat', { pool, config: NAT_CONFIG, memory: again });
  t.equal(second.exports.netvm_abi_version(), ABI_VERSION, 'a new instance runs in it');

  spares.reuse(second, spec);
  t.equal(spares.take({ module: nat, config: NAT_CONFIG, heapMb: 64 }), undefined, 'an instance under another heap limit takes none of these');
  t.equal(spares.take({ module: nat, config: NAT_CONFIG, isolated: true }), undefined, 'nor an isolated one');
  spares.stock(spec);
  t.ok(spares.take(spec) && spares.take(spec) === undefined, 'stock adds none while one is kept');
});

t.test('a scrub in steps (between bursts) zeroes what the instance wrote and keeps the pool', async (t) => {
  const { info, pool, spares } = plainPool(t);
  spares.stock(spec);
  const first = createNfInstance(nat, 'nat', { pool, config: NAT_CONFIG, memory: spares.take(spec)! });
  const bytes = new Uint8Array(first.memory.buffer);
  bytes.subarray(first.windowOffset, first.windowOffset + info.len).fill(0x5a, 0, 4096);
  bytes.fill(0xee, 0, first.windowOffset);
  // Written here and there over 8 MiB of heap, as tables are: the pages between stay untouched.
  for (let at = NF_MEMORY_BASE; at < NF_MEMORY_BASE + 8 * 1024 * 1024; at += 12289) bytes[at] = 0xee;
  spares.reuse(first, spec);
  let steps = 0;
  while (spares.scrubbing()) {
    spares.scrubStep();
    steps++;
  }
  t.ok(steps > 2, `it took ${steps} steps`);
  const again = spares.take(spec)!;
  t.equal(again.memory, first.memory, 'the scrubbed memory is the spare');
  checkScrubbed(t, again.memory, first.windowOffset);
  t.equal(createNfInstance(nat, 'nat', { pool, config: NAT_CONFIG, memory: again }).exports.netvm_abi_version(), ABI_VERSION, 'a new instance runs in it');
});
