// Approximate set membership and counting in fixed memory, for monitors and
// rate limiters: a Bloom filter and a count-min sketch. Both take a 64-bit
// hash of the item (flowHash of a flow key, or any other) and derive their k
// or depth indexes from it by double hashing; nothing allocates after
// construction.

@inline function index(h1: u32, h2: u32, i: u32, mask: u32): u32 {
  return (h1 + i * (h2 | 1)) & mask;
}

/** A Bloom filter of 2^bits bits with k probes: no false negatives. */
export class BloomFilter {
  private readonly words: usize;
  private readonly mask: u32;

  constructor(bits: u32, readonly k: u32) {
    this.mask = (<u32>1 << bits) - 1;
    this.words = heap.alloc(<usize>(1 << bits) >> 3);
    memory.fill(this.words, 0, <usize>(1 << bits) >> 3);
  }

  add(hash: u64): void {
    const h1 = <u32>hash;
    const h2 = <u32>(hash >> 32);
    for (let i: u32 = 0; i < this.k; i++) {
      const bit = index(h1, h2, i, this.mask);
      const w = this.words + <usize>(bit >> 6) * 8;
      store<u64>(w, load<u64>(w) | (<u64>1 << (bit & 63)));
    }
  }

  mayContain(hash: u64): bool {
    const h1 = <u32>hash;
    const h2 = <u32>(hash >> 32);
    for (let i: u32 = 0; i < this.k; i++) {
      const bit = index(h1, h2, i, this.mask);
      if ((load<u64>(this.words + <usize>(bit >> 6) * 8) & (<u64>1 << (bit & 63))) == 0) return false;
    }
    return true;
  }

  clear(): void {
    memory.fill(this.words, 0, (<usize>this.mask + 1) >> 3);
  }
}

/** A count-min sketch: depth rows of 2^widthBits u32 counters. estimate()
 *  never under-counts; it over-counts by at most e/width of the total with
 *  probability 1 - e^-depth. Counters saturate at 2^32 - 1. */
export class CountMinSketch {
  private readonly counters: usize;
  private readonly mask: u32;
  private readonly width: u32;

  constructor(widthBits: u32, readonly depth: u32) {
    this.width = <u32>1 << widthBits;
    this.mask = this.width - 1;
    const bytes = <usize>this.width * depth * 4;
    this.counters = heap.alloc(bytes);
    memory.fill(this.counters, 0, bytes);
  }

  /** Adds n to the item's count; returns the item's new estimate. */
  add(hash: u64, n: u32): u32 {
    const h1 = <u32>hash;
    const h2 = <u32>(hash >> 32);
    // The fields in locals: each counter's store might alias them (they are in the same
    // memory), so V8 reloaded all four after every row.
    const counters = this.counters;
    const width = this.width;
    const mask = this.mask;
    const depth = this.depth;
    let estimate: u32 = 0xffffffff;
    for (let i: u32 = 0; i < depth; i++) {
      const c = counters + (<usize>i * width + index(h1, h2, i, mask)) * 4;
      const old = load<u32>(c);
      const v = old + n < old ? 0xffffffff : old + n;
      store<u32>(c, v);
      if (v < estimate) estimate = v;
    }
    return estimate;
  }

  estimate(hash: u64): u32 {
    const h1 = <u32>hash;
    const h2 = <u32>(hash >> 32);
    let estimate: u32 = 0xffffffff;
    for (let i: u32 = 0; i < this.depth; i++) {
      const v = load<u32>(this.counters + (<usize>i * this.width + index(h1, h2, i, this.mask)) * 4);
      if (v < estimate) estimate = v;
    }
    return estimate;
  }

  clear(): void {
    memory.fill(this.counters, 0, <usize>this.width * this.depth * 4);
  }
}
