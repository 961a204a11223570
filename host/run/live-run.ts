// A running data plane as the control API sees it (host/api/api-routes.ts):
// its config as it runs now, its counters and metrics, and the changes an
// operator may make (swap, scale, add or remove a chain, stop).
import type { MessageReplies, RunningDataPlane } from '../api/api-routes.js';
import type { ChainConfig, DataPlaneConfig, NfConfig } from '../config/config.js';
import type { DataPlane } from '../dataplane/driver.js';
import { latencyBucketsNs } from '../dataplane/latency.js';
import type { NfModule } from '../nf/module.js';
import type { Captures } from '../observe/capture.js';
import type { RateHistory } from '../observe/history.js';
import { DATA_PLANE_THREAD, DataPlaneMetrics, type EventCounts } from '../observe/metrics.js';
import { summarizeChains, type ChainSummary, type PortSummary } from '../observe/stats.js';
import { threadCpu } from '../observe/threads.js';
import type { ChainSet, ScaleResult } from '../runtime/chain-set.js';
import type { NfPlace, NfSwapper } from '../runtime/nf-swap.js';
import type { Serially } from '../runtime/serializer.js';
import type { WorkerSet } from '../runtime/workers.js';
import type { Guest } from '../vm/guest.js';
import { log as logger } from '../log.js';

/** What of a run its live view reads and changes. */
export interface LiveParts {
  cfg: DataPlaneConfig;
  dp: DataPlane;
  places: Map<string, NfPlace>;
  chainSet: ChainSet;
  workers: WorkerSet;
  swapper: NfSwapper;
  serially: Serially;
  events: EventCounts;
  history: RateHistory;
  captures: Captures;
  guests: Guest[];
  /** Whether the run measures latency (its histogram is then in the metrics). */
  latency: boolean;
  /** Every port's counters now, by name. */
  ports(): PortSummary[];
  /** Places a chain's NFs, as the run placed its first chains. */
  placeChain(chain: ChainConfig, index: number, nfs: { nf: NfConfig; module: NfModule }[]): void;
  stop(): void;
}

export class LiveRun implements RunningDataPlane {
  readonly swapper: NfSwapper;
  readonly serially: Serially;
  readonly events: EventCounts;
  readonly history: RateHistory;
  readonly captures: Captures;
  readonly metrics: DataPlaneMetrics;

  constructor(readonly startedAt: number, private readonly run: LiveParts) {
    ({ swapper: this.swapper, serially: this.serially, events: this.events, history: this.history, captures: this.captures } = run);
    this.metrics = this.newMetrics();
  }

  current(): DataPlaneConfig {
    const { cfg, chainSet, places } = this.run;
    return {
      ...cfg,
      chains: chainSet.running().map((c) => c.config),
      nfs: [...places.values()].map((p) => ({
        name: p.name, module: p.module, config: p.config === undefined ? null : JSON.parse(p.config) as unknown, limits: p.limits,
        trust: p.vm !== undefined ? 'vm' as const : p.isolated ? 'isolated' as const : 'shared' as const,
      })),
    };
  }

  async scale(name: string, n: number): Promise<ScaleResult> {
    const { chainSet, workers } = this.run;
    const result = await chainSet.scale(chainSet.indexOf(name), n, workers);
    if ('error' in result) logger().warn({ chain: result.chain }, `chain ${result.chain}: scaling refused: ${result.error}`);
    else logger().info({ chain: result.chain, workers: result.workers, before: result.before, movedBuckets: result.movedBuckets }, `chain ${result.chain} runs on ${result.workers} worker(s) (was ${result.before}; ${result.movedBuckets} of 256 flow buckets moved)`);
    return result;
  }

  async message(name: string, bytes: Uint8Array): Promise<MessageReplies> {
    const { chainSet, workers, places } = this.run;
    const place = places.get(name)!;
    const replicas: MessageReplies = [];
    for (const { cpu, lane } of chainSet.replicas(place.chain)) {
      try {
        const a = await workers.ask(cpu, { type: 'message', lane, position: place.position, bytes });
        replicas.push(a.type === 'messaged' ? { lane, answer: a.answer, error: a.error } : { lane, error: 'the worker answered something else' });
      } catch (err) {
        replicas.push({ lane, error: (err as Error).message });
      }
    }
    return replicas;
  }

  async addChain(chain: ChainConfig, nfs: { nf: NfConfig; module: NfModule }[]): Promise<string | undefined> {
    const { chainSet, workers, places } = this.run;
    if (nfs.some(({ nf }) => nf.trust === 'vm')) return `its vm NF's guest starts with the run: restart it with this chain in its config`;
    this.run.placeChain(chain, chainSet.views.length, nfs);
    const error = await chainSet.add(chain, workers);
    if (error !== undefined) for (const name of chain.through) places.delete(name);
    if (error === undefined) logger().info({ chain: chain.name }, `chain ${chain.name} started: ${chain.through.join(' -> ')} on ${chain.workers} worker(s)`);
    else logger().warn({ chain: chain.name }, `chain ${chain.name} could not start: ${error}`);
    return error;
  }

  async removeChain(name: string): Promise<string | undefined> {
    const { chainSet, workers, places } = this.run;
    const i = chainSet.indexOf(name);
    const nfs = chainSet.configOf(i).through;
    const error = await chainSet.remove(i, workers);
    for (const nf of nfs) places.delete(nf);
    logger().info({ chain: name }, `chain ${name} stopped${error === undefined ? '' : `: ${error}`}`);
    return error;
  }

  counters(): { ports: PortSummary[]; chains: ChainSummary[]; pool: { mbufs: number; available: number } } {
    const { cfg, dp, chainSet } = this.run;
    return { ports: this.run.ports(), chains: summarizeChains(chainSet.views), pool: { mbufs: cfg.pool.mbufs, available: dp.poolAvailable() } };
  }

  threads(): { name: string; seconds: number }[] {
    return threadCpu().filter((th) => DATA_PLANE_THREAD.test(th.name)).map(({ name, seconds }) => ({ name, seconds }));
  }

  stop(): void {
    this.run.stop();
  }

  private newMetrics(): DataPlaneMetrics {
    const { dp, chainSet, workers, guests, events } = this.run;
    return new DataPlaneMetrics({
      counters: () => this.counters(),
      events,
      guests: () => guests.map((g) => g.describe()),
      workerLoops: () => workers.loopCounts(),
      lanes: () => chainSet.running().flatMap(({ index, config }) => chainSet.replicas(index).map(({ lane }) => {
        const s = dp.laneCounters(lane);
        return { chain: config.name, lane, inFlight: s.in - s.returned };
      })),
      threads: threadCpu,
      latency: () => {
        if (!this.run.latency) return undefined;
        const counts = dp.latencyCounts();
        return { counts, lowNs: latencyBucketsNs(counts.length) };
      },
    });
  }
}
