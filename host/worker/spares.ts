// The NF memories a worker keeps ready for its next swaps. Making a memory
// (hundreds of MiB reserved, the pool mapped into it) on the data path costs
// milliseconds, most of it a full collection that V8 starts for the new
// memory's size: a worker makes one spare per kind of memory when it starts
// (off the data path), and the memory of an instance that a swap or a
// re-creation replaced is scrubbed and kept for the next. A swap then takes a
// memory that is ready and only instantiates. The scrub zeroes the pages the
// gone instance wrote and leaves them in place (native-dpdk/nf_memory.c), so
// that the next instance takes no page faults there; it goes in steps of
// SCRUB_STEP_BYTES, one per turn in which the worker's chains found nothing to do.
import {
  fitMemory, memoryKey, memoryToScrub, prepareMemory, type NfInstance, type PoolWindow, type PreparedMemory,
} from '../nf/instance.js';
import type { NfSpec } from './messages.js';

/** Spares kept per kind of memory: more would only hold address space. */
const MAX_PER_KEY = 2;
/** Zeroed per step: about 15 us of the worker's time. */
const SCRUB_STEP_BYTES = 256 * 1024;

/** A gone instance's memory on its way to being a spare: what is left to scrub, first range first. */
interface Scrub {
  memory: PreparedMemory;
  left: [bigint, bigint][];
}

export class SpareMemories {
  private readonly byKey = new Map<string, PreparedMemory[]>();
  private readonly scrubs: Scrub[] = [];
  /** Instances gone, their memories not looked at yet (a swap's pause only notes them). */
  private readonly retired: { nf: NfInstance; spec: NfSpec }[] = [];

  constructor(private readonly pool: PoolWindow) {}

  private keyOf(spec: NfSpec): string {
    return memoryKey(spec.module, spec.heapMb, spec.isolated);
  }

  /** A ready memory for an instance of spec, if one is kept. One still being scrubbed is
   *  finished at once, its pages left given back instead of zeroed. */
  take(spec: NfSpec): PreparedMemory | undefined {
    this.admitRetired();
    const key = this.keyOf(spec);
    if ((this.byKey.get(key)?.length ?? 0) === 0) {
      const at = this.scrubs.findIndex((s) => s.memory.key === key);
      if (at >= 0) this.finish(at);
    }
    const spare = this.byKey.get(key)?.pop();
    return spare === undefined ? undefined : fitMemory(spec.module, spare);
  }

  /** Makes one spare for spec's instances if none is kept, scrubbed or not (not on the data path: it allocates). */
  stock(spec: NfSpec): void {
    if (spec.vm !== undefined) return; // its memory is its guest's region
    this.admitRetired();
    const key = this.keyOf(spec);
    if (this.kept(key) === 0) this.keep(prepareMemory(spec.module, this.pool, spec.heapMb, spec.isolated));
  }

  /** Keeps the memory of an instance of spec that is gone for good for the next instance, once scrubbed. */
  reuse(nf: NfInstance, spec: NfSpec): void {
    if (nf.vm === undefined) this.retired.push({ nf, spec });
  }

  /** Whether a gone instance's memory waits for scrubStep(). */
  scrubbing(): boolean {
    return this.scrubs.length > 0 || this.retired.length > 0;
  }

  /** One step of the oldest scrub (between bursts, in a turn with nothing else to do). */
  scrubStep(): void {
    if (this.retired.length > 0) {
      this.admitRetired();
      return;
    }
    const s = this.scrubs[0];
    if (s === undefined) return;
    const [address, len] = s.left[0]!;
    const done = this.pool.scrub(address, len, SCRUB_STEP_BYTES);
    if (done < len) s.left[0] = [address + done, len - done];
    else s.left.shift();
    if (s.left.length === 0) this.keep(this.scrubs.shift()!.memory);
  }

  /** Makes the memories of retired instances scrubs, as many as are worth keeping. */
  private admitRetired(): void {
    for (const { nf, spec } of this.retired.splice(0)) {
      const key = this.keyOf(spec);
      if (this.kept(key) >= MAX_PER_KEY) continue; // the garbage collector frees it
      const memory = { memory: nf.memory as PreparedMemory['memory'], windowOffset: nf.windowOffset, key };
      this.scrubs.push({ memory, left: memoryToScrub(nf, this.pool) });
    }
  }

  /** Memories of this key, ready or being scrubbed. */
  private kept(key: string): number {
    return (this.byKey.get(key)?.length ?? 0) + this.scrubs.filter((s) => s.memory.key === key).length;
  }

  private finish(at: number): void {
    const [s] = this.scrubs.splice(at, 1);
    for (const [address, len] of s!.left) this.pool.discard(address, len);
    this.keep(s!.memory);
  }

  private keep(m: PreparedMemory): void {
    const kept = this.byKey.get(m.key);
    if (kept === undefined) this.byKey.set(m.key, [m]);
    else kept.push(m);
  }
}
