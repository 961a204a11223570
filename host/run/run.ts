// One run of a data plane, from a checked config to the final summary, in
// phases that read in order: open (the API's address, EAL, the pool, the
// ports), place the NFs, start their guests, start the workers, serve (the
// poll loop starts; the API answers), watch until asked to stop, stop,
// summarize; close undoes whatever was done, from any phase. Modules are
// loaded and checked before EAL starts; workers are ready before the poll loop
// starts; on the way down RX stops first, workers hand back every packet, then
// they stop, then ports close and the pool must be full again.
import { rmSync } from 'node:fs';
import { Piscina } from 'piscina';
import { messageSlotsOf } from '../chain/mailroom.js';
import { DataPlane } from '../dataplane/driver.js';
import { POOL_ELT_BYTES, POOL_MESSAGE_SLOTS } from '../dataplane/pool-layout.js';
import { countsOver, latencySummary } from '../dataplane/latency.js';
import { POOL_IOVA_NAMES } from '../dataplane/native.js';
import type { NfModule } from '../nf/module.js';
import { Guest, type GuestOptions } from '../vm/guest.js';
import { splitAtVhostGuests, type VhostGuestPlan } from '../vm/vhost-split.js';
import { CONTROL_STOP, CONTROL_WORDS, type WorkerEvent } from '../worker/messages.js';
import { nfConfigText, type ChainConfig, type DataPlaneConfig, type NfConfig } from '../config/config.js';
import { buildEalArgs } from '../config/eal-args.js';
import { WorkerSet, type TurnGapCounts } from '../runtime/workers.js';
import { decideHugepages, poolShortfall } from '../runtime/hugepages.js';
import { pciPortNumaWarning, pciPortProblem } from '../runtime/pci-ports.js';
import { RunRecordFile, sweepDeadRuns } from '../runtime/leftovers.js';
import { NfSwapper, type NfPlace } from '../runtime/nf-swap.js';
import { ChainSet } from '../runtime/chain-set.js';
import { serializer } from '../runtime/serializer.js';
import { formatSummary, rateLine, summarizeChains, unaccounted, windowCounters, type PortSummary, type RunSummary, type ChainSummary, type WorkerGaps, LONG_GAP_NS } from '../observe/stats.js';
import { RateHistory } from '../observe/history.js';
import { cpuShares, threadCpu, type ThreadCpu } from '../observe/threads.js';
import { EventCounts } from '../observe/metrics.js';
import { Captures } from '../observe/capture.js';
import { describeAddress, startControlServer, tokenPath, type ControlAddress, type ControlServer } from '../api/api.js';
import { route } from '../api/api-routes.js';
import { loadModules } from './load-modules.js';
import { LiveRun } from './live-run.js';
import { Supervisor } from './supervisor.js';
import { log as logger } from '../log.js';

export interface RunOptions {
  /** Stop after this many seconds. */
  duration?: number;
  /** Seconds from the start after which the summary's window begins. */
  warmup?: number;
  /** Measure each sent packet's latency (arrival to hand-back) into the summary. */
  latency?: boolean;
  /** Packets arrive at the input ports at this rate (a paced source: DataPlane.paceRx). */
  rxPps?: number;
  /** Rewrite received IPv4 sources to 10.0.0.0 + i, i cycling through this many flows (a generated source). */
  rxFlows?: number;
  /** Stop once no packet has arrived for this many milliseconds. */
  untilIdle?: number;
  /** Where to serve the control API (none: no API). */
  control?: ControlAddress;
  filePrefix: string;
  /** Where progress lines go (stdout by default). */
  log?: (line: string) => void;
  /** Resolves when the run should stop (Ctrl-C). */
  stopSignal?: Promise<void>;
}

const WORKER_FILE = new URL('../worker/worker.js', import.meta.url).href;
const DRAIN_TIMEOUT_MS = 5000;
/** How long workers have to end once told to stop (one in an endless NF call never does). */
const STOP_GRACE_MS = 2000;
/** How often the run looks at whether traffic moves (NetVM's own counters, read in C), and for
 *  hung workers: every half of the watchdog's budget, between these; the devices' stats and the
 *  rate line once a second. Each wake-up of the main thread takes a worker's CPU on a machine
 *  with no CPU to spare for it (at 20 ms, 50 times a second, that was most of the worker's
 *  preemptions; reading every port's device stats each 100 ms cost the worker 0.2-0.4 ms each
 *  time); a stop or a failure ends the wait at once. */
const COUNTERS_MS = 100;
const MIN_LOOK_MS = 20;
const lookInterval = (watchdogMs: number): number => Math.min(COUNTERS_MS, Math.max(MIN_LOOK_MS, watchdogMs / 2));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runDataPlane(given: DataPlaneConfig, opts: RunOptions): Promise<RunSummary> {
  const modules = await loadModules(given);
  for (const line of sweepDeadRuns(opts.filePrefix)) logger().warn(line);
  const record = new RunRecordFile(opts.filePrefix);
  const run = new Run(given, opts, modules);
  try {
    await run.open(record);
    run.place();
    await run.startGuests();
    await run.startWorkers();
    run.serve();
    await run.watch();
    return await run.stop();
  } finally {
    await run.close();
    record.forget();
  }
}

/** Counters and thread CPU at the start of the summary's window (after the warm-up). */
interface WindowStart { at: number; ports: PortSummary[]; chains: ChainSummary[]; threads: ThreadCpu[]; latency?: BigUint64Array; gaps?: TurnGapCounts[] }

/** Each worker CPU's turn gaps, after minus before (a window of a run). */
function workerGaps(after: TurnGapCounts[], before?: TurnGapCounts[]): WorkerGaps[] {
  return after.map(({ cpu, counts, preempted }) => {
    const start = before?.find((b) => b.cpu === cpu);
    const long = countsOver(LONG_GAP_NS, counts, start?.counts);
    return { cpu, gaps: latencySummary(counts, start?.counts), long: { count: long.count, ms: long.totalNs / 1e6 }, preempted: preempted - (start?.preempted ?? 0) };
  });
}

class Run {
  private readonly log: (line: string) => void;
  /** The config with its chains split at their vhost-user NFs: what runs is ports and chains. */
  private readonly cfg: DataPlaneConfig;
  private readonly vhostGuests: VhostGuestPlan[];
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly places = new Map<string, NfPlace>();
  private readonly guests: Guest[] = [];
  private readonly events = new EventCounts();
  private readonly history = new RateHistory();
  private readonly serially = serializer();
  private api: ControlServer | undefined;
  /** What the API answers from; undefined until the run serves and after it stops. */
  private live: LiveRun | undefined;
  private hugepages = false;
  private dp: DataPlane | undefined;
  private pool: Piscina | undefined;
  private chainSet: ChainSet | undefined;
  private workers: WorkerSet | undefined;
  private supervisor: Supervisor | undefined;
  private swapper: NfSwapper | undefined;
  private captures: Captures | undefined;
  private started = 0;
  private stopRequested = false;
  /** Ends the watch loop's wait early (a stop, a failure). */
  private wakeWatch = (): void => undefined;
  private failure: unknown;
  private windowStart: WindowStart | undefined;

  constructor(given: DataPlaneConfig, private readonly opts: RunOptions, private readonly modules: Map<string, NfModule>) {
    this.log = opts.log ?? ((line: string) => console.log(line));
    ({ cfg: this.cfg, guests: this.vhostGuests } = splitAtVhostGuests(given, opts.filePrefix));
  }

  /** The API's address first (a busy one costs nothing yet), then EAL, the pool and the ports. */
  async open(record: RunRecordFile): Promise<void> {
    const { cfg, opts } = this;
    if (opts.control !== undefined) {
      this.api = await startControlServer(opts.control, {
        route: (method, path, body) => (this.live ? route(this.live, method, path, body) : Promise.resolve({ status: 503, body: { error: 'starting' } })),
      });
      const where = describeAddress(this.api.address), token = tokenPath(this.api.address);
      record.setToken(token);
      logger().info({ address: where, token }, `control API on ${where} (token in ${token})`);
    }
    const { hugepages, warning } = decideHugepages(cfg.pool.hugepages, (cfg.pool.mbufs + POOL_MESSAGE_SLOTS) * POOL_ELT_BYTES);
    if (warning) logger().warn(warning);
    for (const port of cfg.ports) {
      const problem = pciPortProblem(port.devargs, hugepages);
      if (problem !== undefined) throw new Error(`ports.${port.name}: ${problem}`);
      const far = pciPortNumaWarning(port, [cfg.cores.poll, ...cfg.cores.workers]);
      if (far) logger().warn(far);
    }
    const shortfall = poolShortfall(cfg.pool.mbufs, cfg.chains.reduce((n, c) => n + c.workers, 0), cfg.ports.length);
    if (shortfall) logger().warn(shortfall);
    this.hugepages = hugepages;
    this.dp = DataPlane.open({ ealArgs: buildEalArgs(cfg, opts.filePrefix, hugepages), mbufs: cfg.pool.mbufs, hugepages, ports: cfg.ports, maxNapUs: cfg.cores.napUs });
  }

  /** Where each NF runs: its chain, its position, its module, config and limits. */
  place(): void {
    this.cfg.chains.forEach((chain, i) => this.placeChain(chain, i, this.nfsOf(chain)));
  }

  private placeChain(chain: ChainConfig, index: number, nfs: { nf: NfConfig; module: NfModule }[]): void {
    nfs.forEach(({ nf, module }, position) => {
      const config = nfConfigText(nf);
      this.places.set(nf.name, {
        name: nf.name, chain: index, chainName: chain.name, position, names: chain.through, module: nf.module, loaded: module,
        ...(config !== undefined && { config }), limits: nf.limits, isolated: nf.trust === 'isolated',
      });
    });
  }

  private nfsOf(chain: ChainConfig): { nf: NfConfig; module: NfModule }[] {
    return chain.through.map((name) => {
      const nf = this.cfg.nfs.find((n) => n.name === name)!;
      return { nf, module: this.modules.get(nf.module)! };
    });
  }

  /** vm NFs' guests, up (ivshmem ones with their configs taken) before any packet comes. */
  async startGuests(): Promise<void> {
    const { cfg, opts } = this;
    const start = async (options: GuestOptions): Promise<Guest> => {
      const guest = await Guest.start(options);
      this.guests.push(guest);
      return guest;
    };
    await Promise.all([
      ...cfg.nfs.filter((nf) => nf.trust === 'vm' && this.places.has(nf.name)).map(async (nf) => {
        const guest = await start({ nf: nf.name, filePrefix: opts.filePrefix, image: nf.module, link: { via: 'ivshmem', config: nfConfigText(nf) ?? 'null' } });
        this.places.get(nf.name)!.vm = { region: guest.region, timeoutNs: (cfg.watchdogMs / 2) * 1e6 };
      }),
      ...this.vhostGuests.map((g) => start({ nf: g.nf, filePrefix: opts.filePrefix, image: g.image, link: { via: 'vhost-user', sockets: g.sockets } })),
    ]);
  }

  /** Each chain's replicas (one lane each), grouped into one task per worker CPU; the ports steered to them. */
  async startWorkers(): Promise<void> {
    const { cfg, places } = this;
    const dp = this.dp!;
    const chainSet = this.chainSet = new ChainSet(cfg.cores.workers, dp, places, cfg.chains);
    this.supervisor = new Supervisor(this.events, chainSet, places, cfg.watchdogMs);
    const cpus = cfg.cores.workers.length;
    this.pool = new Piscina({ filename: WORKER_FILE, minThreads: cpus, maxThreads: cpus, idleTimeout: 1000 });
    const workers = this.workers = new WorkerSet(this.pool, {
      control: this.control.buffer as SharedArrayBuffer,
      doorbell: (cpu) => dp.doorbell(cpu),
      pool: { len: dp.pool.len, pageSize: dp.pool.page_size },
      messageSlots: (cpu) => messageSlotsOf(dp.messageSlots, cfg.cores.workers.indexOf(cpu), cfg.cores.workers.length),
      portIds: dp.portIds,
      onEvent: (_cpu, e) => this.onWorkerEvent(e),
      ...(this.opts.latency && { turnGapBuckets: dp.latencyCounts().length }), lookMs: lookInterval(this.cfg.watchdogMs),
    });
    workers.failed.catch((err: unknown) => {
      this.failure = err;
      this.wakeWatch();
    });
    this.swapper = new NfSwapper(places, {
      replicas: (chain) => chainSet.replicas(chain),
      swap: async (replica, place, spec) => {
        const a = await workers.ask(replica.cpu, { type: 'swap', lane: replica.lane, position: place.position, nf: place.name, spec });
        if (a.type !== 'swapped') return { ok: false, reason: 'the worker answered something else' };
        if (a.outcome.ok) workers.setNf(replica.cpu, replica.lane, place.position, spec);
        return a.outcome;
      },
    }, this.serially, (place, metrics) => {
      for (const { lane } of chainSet.replicas(place.chain)) chainSet.replicaView(lane)!.metricNames[place.position] = metrics;
      logger().info({ nf: place.name, module: place.module }, `nf ${place.name} now runs ${place.module}`);
    });
    await Promise.all([...chainSet.initialTasks()].map(([cpu, lanes]) => workers.start(cpu, lanes)));
    chainSet.steerAll();
  }

  private onWorkerEvent(e: WorkerEvent): void {
    if (e.type === 'ready' || e.type === 'lane-added') {
      // Each NF's metric names, as its instance declared them.
      for (const { lane, nfs } of e.type === 'ready' ? e.metrics : [{ lane: e.lane, nfs: e.metrics }]) {
        const view = this.chainSet!.replicaView(lane);
        if (view !== undefined) view.metricNames = nfs;
      }
    }
    this.supervisor!.note(e);
  }

  /** The poll loop starts, and the API answers from the running data plane. */
  serve(): void {
    const { cfg, opts, places } = this;
    const dp = this.dp!, chainSet = this.chainSet!;
    this.captures = new Captures({
      ports: cfg.ports.map((p, i) => ({ name: p.name, id: dp.portIds[i]! })),
      link: (from, to) => {
        const place = places.get(from);
        if (place === undefined) return `no NF named '${from}' (running: ${[...places.keys()].join(', ')})`;
        const next = chainSet.configOf(place.chain).through[place.position + 1];
        if (next !== to) return `'${to}' does not follow '${from}' in chain ${place.chainName}${next === undefined ? ` ('${from}' is its last NF: capture at tx:<port>)` : ` (next: '${next}')`}`;
        return { lanes: chainSet.replicas(place.chain).map((r) => r.lane), position: place.position };
      },
    });
    if (opts.latency) dp.enableLatency();
    if (opts.rxPps !== undefined) dp.paceRx(opts.rxPps);
    if (opts.rxFlows !== undefined) dp.rxFlows(opts.rxFlows);
    dp.start();
    this.started = Date.now();
    void opts.stopSignal?.then(() => this.requestStop());
    this.history.sample(this.started, summarizeChains(chainSet.views));
    this.live = new LiveRun(this.started, {
      cfg, dp, places, chainSet, workers: this.workers!, swapper: this.swapper!, serially: this.serially, events: this.events,
      history: this.history, captures: this.captures, guests: this.guests, latency: opts.latency === true,
      ports: () => this.portsNow(),
      placeChain: (chain, index, nfs) => this.placeChain(chain, index, nfs),
      stop: () => this.requestStop(),
    });
  }

  private requestStop(): void {
    this.stopRequested = true;
    this.wakeWatch();
  }

  /** Waits ms, or less if woken. */
  private nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeWatch = (): void => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private portsNow(): PortSummary[] {
    return this.cfg.ports.map((p, i) => ({ name: p.name, ...this.dp!.portCounters(i) }));
  }

  /** Until asked to stop, the duration is over or the traffic has been idle long enough: opens the
   *  summary's window after the warm-up, restarts hung workers, prints a rate line a second. */
  async watch(): Promise<void> {
    const { opts, started } = this;
    const dp = this.dp!, chainSet = this.chainSet!;
    let lastPorts = this.portsNow(), lastChains = summarizeChains(chainSet.views), lastLine = started;
    let lastRx = 0, lastInFlight = 0, lastRxChange = started, lastCounters = started;
    const lookMs = lookInterval(this.cfg.watchdogMs);
    while (!this.stopRequested && this.failure === undefined) {
      await this.nap(lookMs);
      const now = Date.now();
      if (opts.duration !== undefined && now - started >= opts.duration * 1000) break;
      await this.supervisor!.restartHung(this.workers!);
      if (now - lastCounters < COUNTERS_MS) continue;
      lastCounters = now;
      // Idle: nothing arrived and nothing came back from the chains. A chain working through a
      // full ring holds its input back (backpressure): its port's rx stands still meanwhile.
      // Two calls that read NetVM's own counters, no device's, and make no objects.
      const rx = dp.rxTotal();
      const inFlight = dp.inFlight();
      if (rx !== lastRx || inFlight !== lastInFlight) [lastRx, lastInFlight, lastRxChange] = [rx, inFlight, now];
      if (opts.warmup !== undefined && this.windowStart === undefined && now - started >= opts.warmup * 1000) {
        this.windowStart = {
          at: now, ports: this.portsNow(), chains: summarizeChains(chainSet.views), threads: threadCpu(),
          ...(opts.latency && { latency: dp.latencyCounts(), gaps: this.workers!.turnGaps() }),
        };
      }
      if (opts.untilIdle !== undefined && now - lastRxChange >= opts.untilIdle) break;
      if (now - lastLine >= 1000) {
        const ports = this.portsNow();
        const chains = summarizeChains(chainSet.views);
        this.log(rateLine((now - started) / 1000, (now - lastLine) / 1000, ports, lastPorts, chains, lastChains));
        this.history.sample(now, chains);
        [lastPorts, lastChains, lastLine] = [ports, chains, now];
      }
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** RX stops, workers hand back every packet and stop, ports close; the summary says what came of it. */
  async stop(): Promise<RunSummary> {
    const dp = this.dp!;
    const window = this.closeWindow();
    // Read while the workers' threads are there to say how often they were preempted.
    const gaps = this.opts.latency ? workerGaps(this.workers!.turnGaps()) : undefined;
    dp.drain();
    const drainStart = Date.now();
    while (dp.inFlight() > 0 && Date.now() - drainStart < DRAIN_TIMEOUT_MS) await sleep(1);
    if (dp.inFlight() > 0) logger().error({ held: dp.inFlight() }, `${dp.inFlight()} packets still held by workers after ${DRAIN_TIMEOUT_MS} ms`);
    this.signalStop();
    const stuck = await this.workers!.stopped(STOP_GRACE_MS);
    for (const cpu of stuck) logger().error({ cpu }, `worker on CPU ${cpu} did not stop within ${STOP_GRACE_MS} ms: terminated; the burst it held and the packets waiting for it dropped and counted`);
    const seconds = (Date.now() - this.started) / 1000;
    await this.captures!.stopAll();
    const available = dp.stop();
    const summary = this.summarize(seconds, available, window, gaps);
    this.log(formatSummary(summary));
    return summary;
  }

  /** The counters over the window after the warm-up, with each thread's share of a core. */
  private closeWindow(): RunSummary['window'] {
    const start = this.windowStart;
    if (start === undefined) return undefined;
    const dp = this.dp!;
    const seconds = (Date.now() - start.at) / 1000;
    const threads = cpuShares(start.threads, threadCpu(), seconds);
    return {
      seconds, ...windowCounters(this.portsNow(), start.ports, summarizeChains(this.chainSet!.views), start.chains), threads,
      ...(start.latency && { latency: latencySummary(dp.latencyCounts(), start.latency), workerGaps: workerGaps(this.workers!.turnGaps(), start.gaps) }),
    };
  }

  private summarize(seconds: number, available: number, window: RunSummary['window'], gaps: WorkerGaps[] | undefined): RunSummary {
    const { cfg, opts, guests } = this;
    const dp = this.dp!, chainSet = this.chainSet!, { hangs, failed, traps } = this.supervisor!;
    const ports = this.portsNow();
    const chains = summarizeChains(chainSet.views);
    // A lane id scaled away and reused later has one set of counts.
    const lanes = new Set(chainSet.views.flatMap((v) => v.replicas.map((r) => r.lane)));
    const badDescriptors = [...lanes].reduce((n, lane) => n + dp.laneCounters(lane).bad_desc, 0);
    return {
      hangs, failed, seconds, ...(guests.length > 0 && { guests: guests.map((g) => g.describe()) }), ...(window !== undefined && { window }),
      ...(opts.latency && { latency: latencySummary(dp.latencyCounts()) }), ...(gaps && { workerGaps: gaps }), hugepages: this.hugepages, ports, chains, traps, badDescriptors,
      pool: { mbufs: cfg.pool.mbufs, available, iova: POOL_IOVA_NAMES[dp.pool.iova]! },
      unaccounted: unaccounted(ports, chains),
    };
  }

  private signalStop(): void {
    Atomics.store(this.control, CONTROL_STOP, 1);
    this.dp?.ringDoorbells();
  }

  /** Undoes whatever the phases did, from any of them: nothing of the run stays behind. */
  async close(): Promise<void> {
    this.signalStop();
    this.live = undefined;
    await this.captures?.stopAll();
    await this.api?.close();
    await this.pool?.destroy();
    await Promise.all(this.guests.map((g) => g.stop()));
    this.dp?.close();
    for (const g of this.vhostGuests) for (const socket of g.sockets) rmSync(socket, { force: true });
  }
}
