// The NF memories a worker keeps ready for its next swaps. Making a memory
// (hundreds of MiB reserved, the pool mapped into it) on the data path costs
// milliseconds, most of it a full collection that V8 starts for the new
// memory's size: a worker makes one spare per kind of memory when it starts
// (off the data path), and the memory of an instance that a swap or a
// re-creation replaced is scrubbed and kept for the next. A swap then takes a
// memory that is ready and only instantiates.
import {
  fitMemory, memoryKey, prepareMemory, reuseMemory, type NfInstance, type PoolWindow, type PreparedMemory,
} from '../nf/instance.js';
import type { NfSpec } from './messages.js';

/** Spares kept per kind of memory: more would only hold address space. */
const MAX_PER_KEY = 2;

export class SpareMemories {
  private readonly byKey = new Map<string, PreparedMemory[]>();

  constructor(private readonly pool: PoolWindow) {}

  private keyOf(spec: NfSpec): string {
    return memoryKey(spec.module, spec.heapMb, spec.isolated);
  }

  /** A ready memory for an instance of spec, if one is kept. */
  take(spec: NfSpec): PreparedMemory | undefined {
    const spare = this.byKey.get(this.keyOf(spec))?.pop();
    return spare === undefined ? undefined : fitMemory(spec.module, spare);
  }

  /** Makes one spare for spec's instances if none is kept (not on the data path: it allocates). */
  stock(spec: NfSpec): void {
    if (spec.vm !== undefined) return; // its memory is its guest's region
    const key = this.keyOf(spec);
    if ((this.byKey.get(key)?.length ?? 0) === 0) this.keep(prepareMemory(spec.module, this.pool, spec.heapMb, spec.isolated));
  }

  /** The memory of an instance of spec that is gone for good, scrubbed, for the next instance. */
  reuse(nf: NfInstance, spec: NfSpec): void {
    if (nf.vm !== undefined) return;
    const key = this.keyOf(spec);
    if ((this.byKey.get(key)?.length ?? 0) < MAX_PER_KEY) this.keep(reuseMemory(nf, this.pool, key));
  }

  private keep(m: PreparedMemory): void {
    const kept = this.byKey.get(m.key);
    if (kept === undefined) this.byKey.set(m.key, [m]);
    else kept.push(m);
  }
}
