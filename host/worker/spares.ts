// The NF memories a worker keeps ready for its next swaps. Making a memory
// (hundreds of MiB reserved, the pool mapped into it) on the data path costs
// milliseconds, most of it a full collection that V8 starts for the new
// memory's size: a worker makes one spare per kind of memory when it starts
// (off the data path), and the memory of an instance that a swap or a
// re-creation replaced is scrubbed and kept for the next. A swap then takes a
// memory that is ready and only instantiates. The scrub (a madvise over the
// memory, 50-150 us) is left for the worker's next turn without a command, so
// that it is a pause of its own and not part of the swap's.
import {
  fitMemory, memoryKey, prepareMemory, reuseMemory, type NfInstance, type PoolWindow, type PreparedMemory,
} from '../nf/instance.js';
import type { NfSpec } from './messages.js';

/** Spares kept per kind of memory: more would only hold address space. */
const MAX_PER_KEY = 2;

export class SpareMemories {
  private readonly byKey = new Map<string, PreparedMemory[]>();
  /** Memories of instances that are gone, not scrubbed yet. */
  private readonly unscrubbed: { nf: NfInstance; key: string }[] = [];

  constructor(private readonly pool: PoolWindow) {}

  private keyOf(spec: NfSpec): string {
    return memoryKey(spec.module, spec.heapMb, spec.isolated);
  }

  /** A ready memory for an instance of spec, if one is kept. */
  take(spec: NfSpec): PreparedMemory | undefined {
    const key = this.keyOf(spec);
    if ((this.byKey.get(key)?.length ?? 0) === 0) this.scrub((u) => u.key === key);
    const spare = this.byKey.get(key)?.pop();
    return spare === undefined ? undefined : fitMemory(spec.module, spare);
  }

  /** Makes one spare for spec's instances if none is kept, scrubbed or not (not on the data path: it allocates). */
  stock(spec: NfSpec): void {
    if (spec.vm !== undefined) return; // its memory is its guest's region
    const key = this.keyOf(spec);
    const kept = (this.byKey.get(key)?.length ?? 0) + this.unscrubbed.filter((u) => u.key === key).length;
    if (kept === 0) this.keep(prepareMemory(spec.module, this.pool, spec.heapMb, spec.isolated));
  }

  /** Keeps the memory of an instance of spec that is gone for good for the next instance, once scrubbed. */
  reuse(nf: NfInstance, spec: NfSpec): void {
    if (nf.vm !== undefined) return;
    this.unscrubbed.push({ nf, key: this.keyOf(spec) });
  }

  /** Scrubs the memories left by instances that are gone (between bursts, in a turn of its own). */
  scrubPending(): void {
    if (this.unscrubbed.length > 0) this.scrub(() => true);
  }

  private scrub(which: (u: { key: string }) => boolean): void {
    for (let i = this.unscrubbed.length - 1; i >= 0; i--) {
      const u = this.unscrubbed[i]!;
      if (!which(u)) continue;
      this.unscrubbed.splice(i, 1);
      if ((this.byKey.get(u.key)?.length ?? 0) < MAX_PER_KEY) this.keep(reuseMemory(u.nf, this.pool, u.key));
    }
  }

  private keep(m: PreparedMemory): void {
    const kept = this.byKey.get(m.key);
    if (kept === undefined) this.byKey.set(m.key, [m]);
    else kept.push(m);
  }
}
