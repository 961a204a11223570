// The chains of a running data plane, each on one or more workers. A chain
// on N workers has N replicas: a lane each (a pair of rings, a C chain, its
// own counters) with its own NF instances, on the worker of CPU
// cores.workers[(chain index + replica) % workers]. Its input port's packets
// are steered by a symmetric hash of their flow into NV_STEER_BUCKETS
// buckets, each bucket to one replica, so both directions of a flow meet the
// same instances (and their state). A port whose device hashes flows over
// several RX queues (RSS) is steered by queue instead: each queue is a bucket.
//
// Scaling moves as few buckets as it can: a new replica takes buckets from the
// busiest ones, a leaving one's buckets are shared among those that stay. A
// flow whose bucket moves meets instances that have not seen it (its state,
// e.g. a firewall's connection entry, stays behind). A leaving replica is
// steered away from first, then drained (every packet it holds goes out or is
// counted), then taken off its worker and out of the poll loop.
import { allocCounters } from '../chain/counters.js';
import { STEER_BUCKETS, type DataPlane } from '../dataplane/driver.js';
import { MAX_METRICS } from '../nf/abi.js';
import type { LaneTask } from '../worker/messages.js';
import type { ChainConfig } from '../config/config.js';
import { specOf, type NfPlace, type Replica } from './nf-swap.js';
import type { ChainView, ReplicaView } from '../observe/stats.js';
import type { WorkerSet } from './workers.js';

/** Replicas a chain may have (each a lane; the C library has 64 in all). */
export const MAX_CHAIN_WORKERS = 16;
const DRAIN_TIMEOUT_MS = 5000;

interface RunningChain {
  config: ChainConfig;
  view: ChainView;
  /** Its live replicas, in replica order (none once removed). */
  live: (Replica & { view: ReplicaView })[];
  /** Lane of each steering bucket (of each RX queue, on a port with several). */
  table: Uint16Array;
  /** Taken away by an apply: its counts stay in the summary. */
  removed: boolean;
}

export type ScaleResult = { chain: string; workers: number; before: number; movedBuckets: number } | { chain: string; error: string };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Buckets for each of n replicas: as even as buckets / n allows. */
function quotas(n: number, buckets: number): number[] {
  return Array.from({ length: n }, (_, r) => Math.floor(buckets / n) + (r < buckets % n ? 1 : 0));
}

/** The table for a new set of lanes, moving as few buckets as it can; returns how many moved. */
export function rebalance(table: Uint16Array, lanes: number[]): number {
  const shares = quotas(lanes.length, table.length);
  const quota = new Map(lanes.map((lane, r) => [lane, shares[r]!]));
  const held = new Map(lanes.map((lane) => [lane, 0]));
  const free: number[] = [];
  for (let b = 0; b < table.length; b++) {
    const lane = table[b]!;
    const n = held.get(lane);
    if (n === undefined || n >= quota.get(lane)!) free.push(b);
    else held.set(lane, n + 1);
  }
  let moved = 0;
  for (const lane of lanes) {
    while (held.get(lane)! < quota.get(lane)!) {
      const b = free.shift()!;
      if (table[b] !== lane) moved++;
      table[b] = lane;
      held.set(lane, held.get(lane)! + 1);
    }
  }
  return moved;
}

/** Chains are numbered in the order they came (the config's, then each apply's additions);
 *  a removed chain keeps its number. */
export class ChainSet {
  private readonly chains: RunningChain[] = [];

  constructor(
    private readonly cpus: number[],
    private readonly dp: DataPlane,
    private readonly places: Map<string, NfPlace>,
    configs: ChainConfig[],
  ) {
    for (const config of configs) this.append(config);
  }

  private append(config: ChainConfig): number {
    this.chains.push({
      config, view: { name: config.name, nfNames: config.through, replicas: [] }, live: [], removed: false,
      table: new Uint16Array(this.dp.rxQueues(config.from) > 1 ? this.dp.rxQueues(config.from) : STEER_BUCKETS),
    });
    return this.chains.length - 1;
  }

  /** Every chain's counts, removed ones too (their packets are in the ports' counts). */
  get views(): ChainView[] {
    return this.chains.map((c) => c.view);
  }

  /** The chains that run, as configs (workers: as many as they run on now), with their numbers. */
  running(): { index: number; config: ChainConfig }[] {
    return this.chains.flatMap((c, index) => (c.removed ? [] : [{ index, config: { ...c.config, workers: c.live.length } }]));
  }

  configOf(chain: number): ChainConfig {
    return this.chains[chain]!.config;
  }

  replicas(chain: number): Replica[] {
    return this.chains[chain]!.live.map(({ lane, cpu }) => ({ lane, cpu }));
  }

  /** The running chain of that name, or -1. */
  indexOf(name: string): number {
    return this.chains.findIndex((c) => !c.removed && c.config.name === name);
  }

  /** The live replica that runs a lane. */
  replicaView(lane: number): ReplicaView | undefined {
    for (const c of this.chains) for (const r of c.live) if (r.lane === lane) return r.view;
    return undefined;
  }

  /** Why a chain cannot run on n workers, when its port steers by RX queue and has fewer. */
  private beyondQueues(c: RunningChain, n: number): string | undefined {
    const queues = c.table.length;
    return queues < STEER_BUCKETS && n > queues ? `its input port spreads flows over ${queues} RX queues (RSS): at most ${queues} workers` : undefined;
  }

  /** Every chain's first replicas, as lane tasks per worker CPU (before the workers start). */
  initialTasks(): Map<number, LaneTask[]> {
    const tasks = new Map<number, LaneTask[]>();
    this.chains.forEach((c, i) => {
      const tooMany = this.beyondQueues(c, c.config.workers);
      if (tooMany !== undefined) throw new Error(`chains: ${c.config.name}: workers ${c.config.workers}: ${tooMany}`);
      for (let r = 0; r < c.config.workers; r++) {
        const { cpu, task } = this.newReplica(i, r);
        tasks.set(cpu, [...(tasks.get(cpu) ?? []), task]);
      }
    });
    return tasks;
  }

  /** Steers every chain's input port over its replicas (once their workers run). */
  steerAll(): void {
    for (const c of this.chains) if (!c.removed) this.steer(c);
  }

  private steer(c: RunningChain): number {
    const moved = rebalance(c.table, c.live.map((r) => r.lane));
    // By queue, the buckets past the port's queues are never looked at: they repeat the table.
    this.dp.steer(c.config.from, Uint16Array.from({ length: STEER_BUCKETS }, (_, b) => c.table[b % c.table.length]!));
    return moved;
  }

  /** A lane and its counters for replica r of chain i (not steered to yet), and the task that runs it. */
  private newReplica(i: number, r: number): { cpu: number; task: LaneTask } {
    const c = this.chains[i]!;
    const cpu = this.cpus[(i + r) % this.cpus.length]!;
    const lane = this.dp.addLane(cpu);
    const n = c.config.through.length;
    const counters = allocCounters(n);
    const metrics = new SharedArrayBuffer(Math.max(1, n) * MAX_METRICS * 8);
    const view: ReplicaView = {
      lane: lane.id, live: true, counters: new Float64Array(counters), metrics: new Float64Array(metrics), metricNames: c.config.through.map(() => []),
    };
    c.view.replicas.push(view);
    c.live.push({ lane: lane.id, cpu, view });
    const nfs = c.config.through.map((name) => ({ name, ...specOf(this.places.get(name)!) }));
    return { cpu, task: { lane: lane.id, rx: lane.rx, ret: lane.ret, counters, metrics, nfs, toPort: c.config.to, failOpen: c.config.failOpen } };
  }

  /** Adds replicas up to n, each running before any is steered to; on a failure the ones added go. */
  private async grow(i: number, n: number, workers: WorkerSet): Promise<string | undefined> {
    const c = this.chains[i]!;
    const before = c.live.length;
    const tooMany = this.beyondQueues(c, n);
    if (tooMany !== undefined) return tooMany;
    for (let r = before; r < n; r++) {
      const { cpu, task } = this.newReplica(i, r);
      try {
        await workers.addLane(cpu, task);
      } catch (err) {
        c.live.pop();
        c.view.replicas.pop();
        this.dp.retireLane(task.lane);
        await this.drop(c.live.splice(before), workers);
        return `replica ${r} on CPU ${cpu}: ${(err as Error).message}`;
      }
    }
    return undefined;
  }

  /** Takes replicas no longer steered to off their workers and out of the poll loop, once they hold no packet. */
  private async drop(leaving: RunningChain['live'], workers: WorkerSet): Promise<string | undefined> {
    for (const r of leaving) {
      const started = Date.now();
      const held = (): number => {
        const s = this.dp.laneCounters(r.lane);
        return s.in - s.returned;
      };
      while (held() > 0 && Date.now() - started < DRAIN_TIMEOUT_MS) await sleep(1);
      if (held() > 0) return `replica on lane ${r.lane} still holds ${held()} packets after ${DRAIN_TIMEOUT_MS} ms`;
      await workers.removeLane(r.cpu, r.lane);
      this.dp.retireLane(r.lane);
      r.view.live = false;
    }
    return undefined;
  }

  /** Runs chain i on n workers: replicas added or removed, buckets moved. Call serially. */
  async scale(i: number, n: number, workers: WorkerSet): Promise<ScaleResult> {
    const c = this.chains[i]!;
    const name = c.config.name;
    const before = c.live.length;
    if (!Number.isInteger(n) || n < 1 || n > MAX_CHAIN_WORKERS) return { chain: name, error: `workers: must be an integer from 1 to ${MAX_CHAIN_WORKERS}, not ${n}` };
    if (n > 1 && c.config.through.some((nf) => this.places.get(nf)?.vm !== undefined)) return { chain: name, error: 'it has a vm NF, whose one guest serves one worker' };
    if (n > before) {
      const error = await this.grow(i, n, workers);
      if (error !== undefined) return { chain: name, error };
    }
    const leaving = c.live.splice(n);
    const moved = this.steer(c);
    const error = await this.drop(leaving, workers);
    return error === undefined ? { chain: name, workers: n, before, movedBuckets: moved } : { chain: name, error };
  }

  /** Starts a chain (its NFs' places set already) on its workers, then reads its input port. */
  async add(config: ChainConfig, workers: WorkerSet): Promise<string | undefined> {
    const i = this.append(config);
    const error = await this.grow(i, config.workers, workers);
    if (error !== undefined) {
      this.chains[i]!.removed = true;
      return error;
    }
    this.steer(this.chains[i]!);
    return undefined;
  }

  /** Stops reading the chain's input port, lets its replicas hand back what they hold, and ends them. */
  async remove(i: number, workers: WorkerSet): Promise<string | undefined> {
    const c = this.chains[i]!;
    this.dp.unroute(c.config.from);
    c.removed = true;
    return this.drop(c.live.splice(0), workers);
  }
}
