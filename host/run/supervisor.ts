// What goes wrong in a run's NFs, and what is done about it: traps and
// failures the workers report are logged and counted; a worker that makes no
// progress within its budget is restarted with fresh instances, and an NF that
// hangs TRAP_LIMIT times in TRAP_WINDOW_MS is marked failed, as one that traps
// is: the restarted worker does not call it, so it cannot stall its worker's
// other lanes again.
import { native } from '../dataplane/native.js';
import { TRAP_LIMIT, TRAP_WINDOW_MS } from '../worker/faults.js';
import type { WorkerEvent } from '../worker/messages.js';
import type { EventCounts } from '../observe/metrics.js';
import type { ChainSet } from '../runtime/chain-set.js';
import type { NfPlace } from '../runtime/nf-swap.js';
import type { WorkerSet } from '../runtime/workers.js';
import { log as logger } from '../log.js';

export class Supervisor {
  readonly traps: { nf: string; message: string }[] = [];
  /** NFs marked failed (their chains pass or drop their packets). */
  readonly failed: string[] = [];
  /** Each worker restart: the NFs it was in, and the packets of its burst that were dropped. */
  readonly hangs: { nf: string; lost: number }[] = [];
  private readonly hangTimes = new Map<string, number[]>();

  constructor(
    private readonly events: EventCounts,
    private readonly chainSet: ChainSet,
    private readonly places: Map<string, NfPlace>,
    private readonly watchdogMs: number,
  ) {}

  /** A worker's report of a trap, a restarted instance or a failed NF. */
  note(e: WorkerEvent): void {
    if (e.type === 'trap') {
      this.events.count('nf-trap', 'contained', `nf ${e.nf} trapped: ${e.message}`);
      this.traps.push({ nf: e.nf, message: e.message });
      logger().error({ nf: e.nf, lane: e.lane, trap: e.message }, `nf ${e.nf} trapped: ${e.message} (its burst was dropped and counted; a fresh instance takes over)`);
    } else if (e.type === 'nf-restarted') {
      this.events.count('nf-restart', 'done', `nf ${e.nf}: a fresh instance runs`);
      logger().warn({ nf: e.nf, traps: e.traps, afterMs: e.afterMs }, `nf ${e.nf}: a fresh instance runs (trap ${e.traps} in ${TRAP_WINDOW_MS / 1000} s, ${e.afterMs} ms after it)`);
    } else if (e.type === 'nf-failed') {
      this.markFailed(e.nf, e.failOpen, e.reason ?? `${e.traps} traps in ${TRAP_WINDOW_MS / 1000} s`, { traps: e.traps });
    }
  }

  /** Restarts every worker that made no progress within its budget. */
  async restartHung(workers: WorkerSet): Promise<void> {
    for (const cpu of workers.hung((c) => this.budgetOf(c))) {
      const held = this.heldBy(cpu);
      const inNfs = held.length ? ` in nf ${held.join(', ')}` : '';
      logger().error({ cpu, nfs: held }, `worker on CPU ${cpu}: no progress for ${this.budgetOf(cpu)} ms${held.length ? ` (${inNfs.trim()})` : ''}: restarting it`);
      this.events.count('worker-restart', 'done', `worker on CPU ${cpu} restarted (no progress${inNfs})`);
      for (const nf of held) this.countHang(workers, cpu, nf, Date.now());
      const lost = await workers.replace(cpu);
      const dropped = lost.reduce((n, [, d]) => n + d, 0);
      this.hangs.push({ nf: held.join(', ') || '?', lost: dropped });
      logger().warn({ cpu, dropped }, `worker on CPU ${cpu} restarted with fresh NF instances; ${dropped} packets of the burst it held were dropped and counted`);
    }
  }

  /** The NFs holding a burst on a worker (the C chain knows each lane's position under way). */
  private heldBy(cpu: number): string[] {
    return this.chainSet.running().flatMap(({ index, config }) => this.chainSet.replicas(index).filter((r) => r.cpu === cpu).flatMap((r) => {
      const k = native().chainRunning(r.lane);
      return k < 0 ? [] : [config.through[k]!];
    }));
  }

  /** A worker's budget: the largest of its holding NFs' batch limits, at least the run's watchdog. */
  private budgetOf(cpu: number): number {
    return Math.max(this.watchdogMs, ...this.heldBy(cpu).map((nf) => this.places.get(nf)!.limits.batchMs ?? this.watchdogMs));
  }

  private countHang(workers: WorkerSet, cpu: number, nf: string, now: number): void {
    const times = (this.hangTimes.get(nf) ?? []).filter((at) => now - at < TRAP_WINDOW_MS);
    times.push(now);
    this.hangTimes.set(nf, times);
    if (times.length < TRAP_LIMIT || this.failed.includes(nf)) return;
    this.markFailed(nf, workers.failNf(cpu, nf), `${times.length} hangs in ${TRAP_WINDOW_MS / 1000} s`, { hangs: times.length });
  }

  private markFailed(nf: string, failOpen: boolean, reason: string, detail: Record<string, number>): void {
    this.failed.push(nf);
    this.events.count('nf-failure', failOpen ? 'fail-open' : 'fail-closed', `nf ${nf} failed: its chain ${failOpen ? 'passes' : 'drops'} its packets`);
    logger().error(
      { nf, ...detail, failOpen },
      `nf ${nf} FAILED: ${reason}; its chain now ${failOpen ? 'passes its packets on unchanged (fail open)' : 'drops its packets (fail closed)'}, counted`,
    );
  }
}
