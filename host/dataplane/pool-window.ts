// The pool as an NF instance sees it: mapped through the C library at a
// window inside the instance's memory (host/nf/instance.ts picks where).
import type { PoolWindow } from '../nf/instance.js';
import { createMemory } from '../nf/engine.js';
import { addressOf, check, native } from './native.js';

export function poolWindow(len: number, pageSize: number): PoolWindow {
  return {
    len,
    pageSize,
    map: (address) => void check(native().poolMap(address)),
    addressOf: (memory) => addressOf(memory.buffer),
    // Not having them is no error: the heap stays on 4 KiB pages.
    adviseHugepages: (address, len) => void native().adviseHugepages(address, len),
    discard: (address, len) => void check(native().discard(address, len)),
    scrub: (address, len, maxZero) => BigInt(check(Number(native().scrub(address, len, maxZero)))),
  };
}

/** The pool in a memory of the host's own: where a worker copies messages to and from
 *  isolated NFs (host/chain/mailroom.ts), which do not have it. */
export function poolView(pool: PoolWindow): Uint8Array {
  const pages = Math.ceil((pool.len + pool.pageSize) / 65536);
  const memory = createMemory(pages, pages);
  const base = pool.addressOf(memory);
  const page = BigInt(pool.pageSize);
  const offset = Number((page - (base % page)) % page);
  pool.map(base + BigInt(offset));
  return new Uint8Array(memory.buffer, offset, pool.len);
}
