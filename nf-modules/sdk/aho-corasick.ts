// Multi-pattern matching over payloads (Aho-Corasick, compiled to a dense DFA:
// one table load per byte scanned, no branches on pattern structure).
// Build at configure time: add() every pattern, then build(); scan() on the
// per-packet path allocates nothing. Memory: 1 KiB per DFA state (256 u32
// transitions); the number of states is at most the patterns' total length + 1.
//
//   const ac = new AhoCorasick(4096);
//   ac.add(changetype<usize>(bytes), bytes.byteLength, 7);   // pattern id 7
//   ac.build();
//   const id = ac.scan(payload, payloadLen);                 // -1: no pattern
export class AhoCorasick {
  private readonly next: usize;   // u32[maxStates * 256]: trie edges, then the DFA
  private readonly fail: usize;   // u32[maxStates]
  private readonly match: usize;  // i32[maxStates]: a pattern ending here (or via fail links), else -1
  private readonly depth: usize;  // u32[maxStates]: length of the state's string
  private states: u32 = 1;
  private built: bool = false;

  constructor(readonly maxStates: u32) {
    this.next = heap.alloc(<usize>maxStates * 256 * 4);
    this.fail = heap.alloc(<usize>maxStates * 4);
    this.match = heap.alloc(<usize>maxStates * 4);
    this.depth = heap.alloc(<usize>maxStates * 4);
    memory.fill(this.next, 0, <usize>maxStates * 256 * 4);
    memory.fill(this.match, 0xff, <usize>maxStates * 4);
    store<u32>(this.depth, 0);
  }

  /** Adds a pattern of len >= 1 bytes; false when out of states or after build().
   *  A pattern added twice keeps the id it was first added with. */
  add(pattern: usize, len: u32, id: i32): bool {
    if (this.built || len == 0 || id < 0) return false;
    let s: u32 = 0;
    for (let i: u32 = 0; i < len; i++) {
      const edge = this.next + ((<usize>s << 8) + load<u8>(pattern + i)) * 4;
      let t = load<u32>(edge);
      if (t == 0) {
        if (this.states == this.maxStates) return false;
        t = this.states++;
        store<u32>(edge, t);
        store<u32>(this.depth + <usize>t * 4, i + 1);
      }
      s = t;
    }
    const m = this.match + <usize>s * 4;
    if (load<i32>(m) < 0) store<i32>(m, id);
    return true;
  }

  /** Turns the trie into a DFA (breadth-first, fail links folded into the edges). */
  build(): void {
    if (this.built) return;
    this.built = true;
    // States in breadth-first order: a state's fail state is always done before it.
    const queue = heap.alloc(<usize>this.states * 4);
    let head: u32 = 0;
    let tail: u32 = 0;
    for (let c = 0; c < 256; c++) {
      const t = load<u32>(this.next + <usize>c * 4);
      if (t != 0) {
        store<u32>(this.fail + <usize>t * 4, 0);
        store<u32>(queue + <usize>(tail++) * 4, t);
      }
    }
    while (head < tail) {
      const s = load<u32>(queue + <usize>(head++) * 4);
      const f = load<u32>(this.fail + <usize>s * 4);
      // A pattern that ends at the fail state ends here too; this state's own
      // pattern, if any, is longer and wins.
      const m = this.match + <usize>s * 4;
      const inherited = load<i32>(this.match + <usize>f * 4);
      if (load<i32>(m) < 0) store<i32>(m, inherited);
      for (let c = 0; c < 256; c++) {
        const edge = this.next + ((<usize>s << 8) + <usize>c) * 4;
        const t = load<u32>(edge);
        const viaFail = load<u32>(this.next + ((<usize>f << 8) + <usize>c) * 4);
        if (t != 0) {
          store<u32>(this.fail + <usize>t * 4, viaFail);
          store<u32>(queue + <usize>(tail++) * 4, t);
        } else {
          store<u32>(edge, viaFail);
        }
      }
    }
  }

  /** The id of the pattern whose occurrence ends first in the len bytes at
   *  addr (of those ending at the same byte, the longest), or -1. Call build() first. */
  scan(addr: usize, len: u32): i32 {
    let s: u32 = 0;
    const next = this.next;
    const match = this.match;
    for (let i: u32 = 0; i < len; i++) {
      s = load<u32>(next + ((<usize>s << 8) + load<u8>(addr + i)) * 4);
      const m = load<i32>(match + <usize>s * 4);
      if (m >= 0) return m;
    }
    return -1;
  }
}
