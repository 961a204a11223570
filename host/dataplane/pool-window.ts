// The pool as an NF instance sees it: mapped through the C library at a
// window inside the instance's memory (host/nf/instance.ts picks where).
import type { PoolWindow } from '../nf/instance.js';
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
