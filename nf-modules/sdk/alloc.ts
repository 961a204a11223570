// Allocation helpers for tables sized at configure time.

/** The smallest power of two >= x (1 for 0). */
export function pow2AtLeast(x: u32): u32 {
  return x <= 1 ? 1 : <u32>1 << (32 - clz<u32>(x - 1));
}

/** bytes of zeroed memory starting on a 64-byte cache line. */
export function allocLines(bytes: usize): usize {
  const p = (heap.alloc(bytes + 64) + 63) & ~<usize>63;
  memory.fill(p, 0, bytes);
  return p;
}
