// Fault containment on the worker, for NFs that trap (in a burst or a tick):
// the trapped instance is replaced by a fresh one of the same module and
// config (its state is lost: it may be inconsistent after a trap), at once
// the first time and after a doubling back-off the next times; meanwhile its
// chain applies its fail policy to its packets. TRAP_LIMIT traps within
// TRAP_WINDOW_MS mark the NF failed: no more re-creation, the fail policy for
// good (until a swap puts another instance in). Fail closed drops the NF's
// packets; fail open passes them on unchanged. All of it is counted by the C
// chain (trapped, fail_dropped, fail_passed) and reported to the main thread.
import { NF_FAILED_CLOSED, NF_FAILED_OPEN, NF_RAN } from '../chain/chain.js';
import type { PoolWindow } from '../nf/instance.js';
import type { WorkerEvent } from './messages.js';
import { instanceOf, type SwapTarget } from './swap.js';
import type { SpareMemories } from './spares.js';

export const TRAP_LIMIT = 5;
export const TRAP_WINDOW_MS = 10_000;
const BACKOFF_MS = 10;

interface Health {
  traps: number[];
  failed: boolean;
  recreateAt: number | undefined;
}

export interface FaultLane extends SwapTarget {
  lane: number;
  failOpen: boolean;
}

export class NfFaults {
  private readonly health = new Map<string, Health>();
  /** Re-creations waiting for their back-off: checked between bursts while not 0. */
  pending = 0;

  /** lanes: the worker's lanes as they are now (it adds and removes some). */
  constructor(
    private readonly lanes: FaultLane[],
    private readonly pool: PoolWindow,
    private readonly spares: SpareMemories,
    private readonly report: (e: WorkerEvent) => void,
  ) {}

  private record(lane: number, k: number): Health {
    const key = `${lane}:${k}`;
    let h = this.health.get(key);
    if (h === undefined) {
      h = { traps: [], failed: false, recreateAt: undefined };
      this.health.set(key, h);
    }
    return h;
  }

  private laneOf(id: number): FaultLane | undefined {
    return this.lanes.find((l) => l.lane === id);
  }

  onTrap(id: number, k: number, now: number): void {
    const lane = this.laneOf(id)!;
    const h = this.record(id, k);
    if (h.failed) return;
    h.traps = h.traps.filter((at) => now - at < TRAP_WINDOW_MS);
    h.traps.push(now);
    lane.chain.setMode(k, lane.failOpen ? NF_FAILED_OPEN : NF_FAILED_CLOSED);
    if (h.recreateAt !== undefined) this.pending--;
    if (h.traps.length >= TRAP_LIMIT) {
      h.failed = true;
      h.recreateAt = undefined;
      this.report({ type: 'nf-failed', lane: lane.lane, nf: lane.names[k]!, traps: h.traps.length, failOpen: lane.failOpen });
      return;
    }
    h.recreateAt = now + (h.traps.length === 1 ? 0 : BACKOFF_MS * 2 ** (h.traps.length - 2));
    this.pending++;
  }

  /** Between bursts: puts fresh instances in for the NFs whose back-off is over. */
  recreateDue(now: number): void {
    for (const [key, h] of this.health) {
      if (h.recreateAt === undefined || h.recreateAt > now) continue;
      h.recreateAt = undefined;
      this.pending--;
      const [id, k] = key.split(':').map(Number) as [number, number];
      const lane = this.laneOf(id);
      if (lane === undefined) continue; // removed meanwhile (a scale-down)
      const spec = lane.specs[k]!;
      try {
        const fresh = instanceOf(spec, lane.names[k]!, this.pool, { names: lane.names, position: k }, this.spares);
        const trapped = lane.instances[k]!;
        lane.chain.replace(k, fresh);
        lane.instances[k] = fresh;
        this.spares.reuse(trapped, spec);
        lane.chain.setMode(k, NF_RAN);
        this.report({ type: 'nf-restarted', lane: lane.lane, nf: lane.names[k]!, traps: h.traps.length, afterMs: Math.round(now - h.traps.at(-1)!) });
      } catch (err) {
        h.failed = true;
        this.report({ type: 'nf-failed', lane: lane.lane, nf: lane.names[k]!, traps: h.traps.length, failOpen: lane.failOpen, reason: (err as Error).message });
      }
    }
  }

  /** The NF at position k failed before this worker started (it hung too often: the main thread's watchdog): not called again. */
  markFailed(id: number, k: number): void {
    const lane = this.laneOf(id)!;
    this.record(id, k).failed = true;
    lane.chain.setMode(k, lane.failOpen ? NF_FAILED_OPEN : NF_FAILED_CLOSED);
  }

  /** A swap put a new instance at position k: its record starts clean and it runs. */
  reset(id: number, k: number): void {
    this.forget(id, k);
    this.laneOf(id)!.chain.setMode(k, NF_RAN);
  }

  /** The lane leaves this worker: its records go. */
  removeLane(id: number, nfs: number): void {
    for (let k = 0; k < nfs; k++) this.forget(id, k);
  }

  private forget(id: number, k: number): void {
    const h = this.health.get(`${id}:${k}`);
    if (h?.recreateAt !== undefined) this.pending--;
    this.health.delete(`${id}:${k}`);
  }
}
