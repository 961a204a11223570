// One run of a data plane, from a checked config to the final summary:
// modules are loaded and checked before EAL starts; workers are ready before
// the poll loop starts; on the way down RX stops first, workers hand back every
// packet, then they stop, then ports close and the pool must be full again.
import { rmSync } from 'node:fs';
import { Piscina } from 'piscina';
import { DataPlane } from '../dataplane/driver.js';
import { POOL_ELT_BYTES } from '../dataplane/pool-layout.js';
import { runTrial } from '../nf/trial.js';
import { loadNfModule, loadVmNfModule, type NfModule } from '../nf/module.js';
import { Guest, type GuestOptions } from '../vm/guest.js';
import { splitAtVhostGuests } from '../vm/vhost-split.js';
import { guestPrerequisites } from '../vm/qemu.js';
import { isJsNfPath, preloadJsNf } from '../nf/js-nf.js';
import { CONTROL_STOP, CONTROL_WORDS } from '../worker/messages.js';
import { native } from '../dataplane/native.js';
import { WorkerSet } from './workers.js';
import { TRAP_LIMIT, TRAP_WINDOW_MS } from '../worker/faults.js';
import { ConfigError, nfConfigText, type ChainConfig, type DataPlaneConfig, type NfConfig } from './config.js';
import { buildEalArgs } from './eal-args.js';
import { decideHugepages, poolShortfall } from './hugepages.js';
import { formatSummary, rateLine, summarizeChains, unaccounted, windowCounters, type PortSummary, type RunSummary, type ChainSummary } from './stats.js';
import { RateHistory } from './history.js';
import { cpuShares, threadCpu, type ThreadCpu } from './threads.js';
import { describeAddress, startControlServer, tokenPath, type ControlAddress } from './api.js';
import { RunRecordFile, sweepDeadRuns } from './leftovers.js';
import { route, type RunningDataPlane } from './api-routes.js';
import { NfSwapper, type NfPlace } from './nf-swap.js';
import { ChainSet } from './chain-set.js';
import { serializer } from './serializer.js';
import { latencyBucketsNs, latencySummary } from '../dataplane/latency.js';
import { DATA_PLANE_THREAD, DataPlaneMetrics, EventCounts } from './metrics.js';
import { Captures } from './capture.js';
import { log as logger } from '../log.js';

export interface RunOptions {
  /** Stop after this many seconds. */
  duration?: number;
  /** Seconds from the start after which the summary's window begins. */
  warmup?: number;
  /** Measure each sent packet's latency (RX to hand-back) into the summary. */
  latency?: boolean;
  /** Take at most this many packets per second from the input ports (a paced source). */
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


/** Loads every module once and checks each NF's config on a trial instance. */
async function loadModules(cfg: DataPlaneConfig): Promise<Map<string, NfModule>> {
  const byPath = new Map<string, NfModule>();
  const problems: string[] = [];
  const loadOrReport = (nf: NfConfig, load: () => NfModule): boolean => {
    try {
      if (!byPath.has(nf.module)) byPath.set(nf.module, load());
      return true;
    } catch (err) {
      problems.push(`nfs.${nf.name}.module: ${(err as Error).message}`);
      return false;
    }
  };
  const guestsMissing = cfg.nfs.some((nf) => nf.trust === 'vm') ? guestPrerequisites() : undefined;
  for (const nf of cfg.nfs) {
    if (nf.trust === 'vm') {
      // Its config is checked by its guest, which refuses it when it boots.
      if (guestsMissing !== undefined) problems.push(`nfs.${nf.name}.trust: vm, but ${guestsMissing}`);
      else loadOrReport(nf, () => loadVmNfModule(nf.module));
      continue;
    }
    try {
      if (isJsNfPath(nf.module)) await preloadJsNf(nf.module);
    } catch (err) {
      problems.push(`nfs.${nf.name}.module: ${(err as Error).message}`);
      continue;
    }
    if (!loadOrReport(nf, () => loadNfModule(nf.module))) continue;
    const config = nfConfigText(nf);
    // The chain it stands in, so that netvm_nf_index answers as it will on the data plane.
    const chain = cfg.chains.find((c) => c.through.includes(nf.name));
    const place = chain ? { names: chain.through, position: chain.through.indexOf(nf.name) } : undefined;
    try {
      runTrial(byPath.get(nf.module)!, nf.name, { config, place, heapMb: nf.limits.heapMb });
    } catch (err) {
      problems.push(`nfs.${nf.name}.${config === undefined ? 'module' : 'config'}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError('modules', problems);
  return byPath;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runDataPlane(given: DataPlaneConfig, opts: RunOptions): Promise<RunSummary> {
  const modules = await loadModules(given);
  for (const line of sweepDeadRuns(opts.filePrefix)) logger().warn(line);
  const record = new RunRecordFile(opts.filePrefix);
  try {
    return await runRecorded(given, opts, modules, record);
  } finally {
    record.forget();
  }
}

async function runRecorded(given: DataPlaneConfig, opts: RunOptions, modules: Map<string, NfModule>, record: RunRecordFile): Promise<RunSummary> {
  const log = opts.log ?? ((line: string) => console.log(line));
  // Chains split at their vhost-user NFs: what runs from here on is ports and chains.
  const { cfg, guests: vhostGuests } = splitAtVhostGuests(given, opts.filePrefix);
  // The API's address is taken before EAL starts, so that a busy one costs nothing.
  let running: RunningDataPlane | undefined;
  const api = opts.control === undefined ? undefined : await startControlServer(opts.control, {
    route: (method, path, body) => (running ? route(running, method, path, body) : Promise.resolve({ status: 503, body: { error: 'starting' } })),
  });
  if (api !== undefined) {
    record.setToken(tokenPath(api.address));
    logger().info({ address: describeAddress(api.address), token: tokenPath(api.address) }, `control API on ${describeAddress(api.address)} (token in ${tokenPath(api.address)})`);
  }
  const { hugepages, warning } = decideHugepages(cfg.pool.hugepages, cfg.pool.mbufs * POOL_ELT_BYTES);
  if (warning) logger().warn(warning);
  const shortfall = poolShortfall(cfg.pool.mbufs, cfg.chains.reduce((n, c) => n + c.workers, 0), cfg.ports.length);
  if (shortfall) logger().warn(shortfall);

  let dp: DataPlane;
  try {
    dp = DataPlane.open({
    ealArgs: buildEalArgs(cfg, opts.filePrefix, hugepages),
    mbufs: cfg.pool.mbufs,
    hugepages,
    ports: cfg.ports,
    });
  } catch (err) {
    await api?.close();
    throw err;
  }
  let pool: Piscina | undefined;
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  const guests: Guest[] = [];
  let captures: Captures | undefined;
  try {
    const places = new Map<string, NfPlace>();
    const placeNfs = (chain: ChainConfig, index: number, nfs: { nf: NfConfig; module: NfModule }[]): void => {
      nfs.forEach(({ nf, module }, position) => {
        const config = nfConfigText(nf);
        places.set(nf.name, {
          name: nf.name, chain: index, chainName: chain.name, position, names: chain.through, module: nf.module, loaded: module,
          ...(config !== undefined && { config }), limits: nf.limits, isolated: nf.trust === 'isolated',
        });
      });
    };
    // vm NFs: their guests are up (ivshmem ones with their configs taken) before any packet comes.
    const startGuests = async (nfs: { nf: NfConfig }[]): Promise<void> => {
      const start = async (options: GuestOptions): Promise<Guest> => {
        const guest = await Guest.start(options);
        guests.push(guest);
        return guest;
      };
      await Promise.all([
        ...nfs.filter(({ nf }) => nf.trust === 'vm').map(async ({ nf }) => {
          const guest = await start({ nf: nf.name, filePrefix: opts.filePrefix, image: nf.module, link: { via: 'ivshmem', config: nfConfigText(nf) ?? 'null' } });
          places.get(nf.name)!.vm = { region: guest.region, timeoutNs: (cfg.watchdogMs / 2) * 1e6 };
        }),
        ...vhostGuests.map((g) => start({ nf: g.nf, filePrefix: opts.filePrefix, image: g.image, link: { via: 'vhost-user', sockets: g.sockets } })),
      ]);
    };
    const nfsOf = (chain: ChainConfig): { nf: NfConfig; module: NfModule }[] => chain.through.map((name) => {
      const nf = cfg.nfs.find((n) => n.name === name)!;
      return { nf, module: modules.get(nf.module)! };
    });
    cfg.chains.forEach((chain, i) => placeNfs(chain, i, nfsOf(chain)));
    await startGuests(cfg.chains.flatMap(nfsOf));
    // Each chain's replicas (one lane each), grouped into one task per worker CPU.
    const chainSet = new ChainSet(cfg.cores.workers, dp, places, cfg.chains);
    const tasks = chainSet.initialTasks();
    const serially = serializer();

    const traps: { nf: string; message: string }[] = [];
    const failed: string[] = [];
    const events = new EventCounts();
    pool = new Piscina({ filename: WORKER_FILE, minThreads: cfg.cores.workers.length, maxThreads: cfg.cores.workers.length, idleTimeout: 1000 });
    const workers = new WorkerSet(pool, {
      control: control.buffer as SharedArrayBuffer,
      pool: { len: dp.pool.len, pageSize: dp.pool.page_size },
      portIds: dp.portIds,
      onEvent: (_cpu, e) => {
        if (e.type === 'ready' || e.type === 'lane-added') {
          for (const { lane, nfs } of e.type === 'ready' ? e.metrics : [{ lane: e.lane, nfs: e.metrics }]) {
            const view = chainSet.replicaView(lane);
            if (view !== undefined) view.metricNames = nfs;
          }
        }
        if (e.type === 'trap') events.count('nf-trap', 'contained', `nf ${e.nf} trapped: ${e.message}`);
        if (e.type === 'nf-restarted') events.count('nf-restart', 'done', `nf ${e.nf}: a fresh instance runs`);
        if (e.type === 'nf-failed') events.count('nf-failure', e.failOpen ? 'fail-open' : 'fail-closed', `nf ${e.nf} failed: its chain ${e.failOpen ? 'passes' : 'drops'} its packets`);
        if (e.type === 'trap') {
          traps.push({ nf: e.nf, message: e.message });
          logger().error({ nf: e.nf, lane: e.lane, trap: e.message }, `nf ${e.nf} trapped: ${e.message} (its burst was dropped and counted; a fresh instance takes over)`);
        }
        if (e.type === 'nf-restarted') logger().warn({ nf: e.nf, traps: e.traps, afterMs: e.afterMs }, `nf ${e.nf}: a fresh instance runs (trap ${e.traps} in ${TRAP_WINDOW_MS / 1000} s, ${e.afterMs} ms after it)`);
        if (e.type === 'nf-failed') {
          failed.push(e.nf);
          logger().error(
            { nf: e.nf, traps: e.traps, failOpen: e.failOpen },
            `nf ${e.nf} FAILED: ${e.reason ?? `${e.traps} traps in ${TRAP_WINDOW_MS / 1000} s`}; its chain now ${e.failOpen ? 'passes its packets on unchanged (fail open)' : 'drops its packets (fail closed)'}, counted`,
          );
        }
      },
    });
    const swapper = new NfSwapper(places, {
      replicas: (chain) => chainSet.replicas(chain),
      swap: async (replica, place, spec) => {
        const a = await workers.ask(replica.cpu, { type: 'swap', lane: replica.lane, position: place.position, nf: place.name, spec });
        if (a.type !== 'swapped') return { ok: false, reason: 'the worker answered something else' };
        if (a.outcome.ok) workers.setNf(replica.cpu, replica.lane, place.position, spec);
        return a.outcome;
      },
    }, serially, (place, metrics) => {
      for (const { lane } of chainSet.replicas(place.chain)) chainSet.replicaView(lane)!.metricNames[place.position] = metrics;
      logger().info({ nf: place.name, module: place.module }, `nf ${place.name} now runs ${place.module}`);
    });
    await Promise.all([...tasks].map(([cpu, lanes]) => workers.start(cpu, lanes)));
    chainSet.steerAll();

    captures = new Captures({
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
    const started = Date.now();
    const portsNow = () => cfg.ports.map((p, i) => ({ name: p.name, ...dp.portCounters(i) }));
    let lastPorts = portsNow();
    let lastChains = summarizeChains(chainSet.views);
    let lastLine = started;
    let lastRx = 0;
    let lastInFlight = 0;
    let lastRxChange = started;
    let stopRequested = false;
    void opts.stopSignal?.then(() => (stopRequested = true));
    const history = new RateHistory();
    history.sample(started, lastChains);
    running = {
      startedAt: started,
      current: () => ({
        ...cfg,
        chains: chainSet.running().map((c) => c.config),
        nfs: [...places.values()].map((p) => ({
          name: p.name, module: p.module, config: p.config === undefined ? null : JSON.parse(p.config) as unknown, limits: p.limits,
          trust: p.vm !== undefined ? 'vm' as const : p.isolated ? 'isolated' as const : 'shared' as const,
        })),
      }),
      swapper,
      serially,
      scale: async (name, n) => {
        const result = await chainSet.scale(chainSet.indexOf(name), n, workers);
        if ('error' in result) logger().warn({ chain: result.chain }, `chain ${result.chain}: scaling refused: ${result.error}`);
        else logger().info({ chain: result.chain, workers: result.workers, before: result.before, movedBuckets: result.movedBuckets }, `chain ${result.chain} runs on ${result.workers} worker(s) (was ${result.before}; ${result.movedBuckets} of 256 flow buckets moved)`);
        return result;
      },
      addChain: async (chain, nfs) => {
        if (nfs.some(({ nf }) => nf.trust === 'vm')) return `its vm NF's guest starts with the run: restart it with this chain in its config`;
        placeNfs(chain, chainSet.views.length, nfs);
        const error = await chainSet.add(chain, workers);
        if (error !== undefined) for (const name of chain.through) places.delete(name);
        if (error === undefined) logger().info({ chain: chain.name }, `chain ${chain.name} started: ${chain.through.join(' -> ')} on ${chain.workers} worker(s)`);
        else logger().warn({ chain: chain.name }, `chain ${chain.name} could not start: ${error}`);
        return error;
      },
      removeChain: async (name) => {
        const i = chainSet.indexOf(name);
        const nfs = chainSet.configOf(i).through;
        const error = await chainSet.remove(i, workers);
        for (const nf of nfs) places.delete(nf);
        logger().info({ chain: name }, `chain ${name} stopped${error === undefined ? '' : `: ${error}`}`);
        return error;
      },
      counters: () => ({ ports: portsNow(), chains: summarizeChains(chainSet.views), pool: { mbufs: cfg.pool.mbufs, available: dp.poolAvailable() } }),
      events,
      history,
      captures,
      threads: () => threadCpu().filter((th) => DATA_PLANE_THREAD.test(th.name)).map(({ name, seconds }) => ({ name, seconds })),
      metrics: new DataPlaneMetrics({
        counters: () => running!.counters(),
        events,
        guests: () => guests.map((g) => g.describe()),
        workerLoops: () => workers.loopCounts(),
        lanes: () => chainSet.running().flatMap(({ index, config }) => chainSet.replicas(index).map(({ lane }) => {
          const s = dp.laneCounters(lane);
          return { chain: config.name, lane, inFlight: s.in - s.returned };
        })),
        threads: threadCpu,
        latency: () => {
          if (!opts.latency) return undefined;
          const counts = dp.latencyCounts();
          return { counts, lowNs: latencyBucketsNs(counts.length) };
        },
      }),
      stop: () => (stopRequested = true),
    };
    let failure: unknown;
    workers.failed.catch((err: unknown) => (failure = err));
    const hangs: { nf: string; lost: number }[] = [];
    // The window after the warm-up: counters and thread CPU at its start.
    let windowStart: { at: number; ports: PortSummary[]; chains: ChainSummary[]; threads: ThreadCpu[]; latency?: BigUint64Array } | undefined;
    const warmupMs = opts.warmup === undefined ? undefined : opts.warmup * 1000;

    // The NFs holding a burst on a worker (the C chain knows each lane's position
    // under way), and so the worker's budget: the largest of theirs, at least the run's.
    const heldBy = (cpu: number): string[] => chainSet.running().flatMap(({ index, config }) => chainSet.replicas(index).filter((r) => r.cpu === cpu).flatMap((r) => {
      const k = native().chainRunning(r.lane);
      return k < 0 ? [] : [config.through[k]!];
    }));
    const budgetOf = (cpu: number): number =>
      Math.max(cfg.watchdogMs, ...heldBy(cpu).map((nf) => places.get(nf)!.limits.batchMs ?? cfg.watchdogMs));

    // An NF that hangs TRAP_LIMIT times in TRAP_WINDOW_MS is marked failed, as one that traps is:
    // the restarted worker does not call it, so it cannot stall its worker's other lanes again.
    const hangTimes = new Map<string, number[]>();
    const countHang = (cpu: number, nf: string, now: number): void => {
      const times = (hangTimes.get(nf) ?? []).filter((at) => now - at < TRAP_WINDOW_MS);
      times.push(now);
      hangTimes.set(nf, times);
      if (times.length < TRAP_LIMIT || failed.includes(nf)) return;
      const failOpen = workers.failNf(cpu, nf);
      failed.push(nf);
      events.count('nf-failure', failOpen ? 'fail-open' : 'fail-closed', `nf ${nf} failed: its chain ${failOpen ? 'passes' : 'drops'} its packets`);
      logger().error(
        { nf, hangs: times.length, failOpen },
        `nf ${nf} FAILED: ${times.length} hangs in ${TRAP_WINDOW_MS / 1000} s; its chain now ${failOpen ? 'passes its packets on unchanged (fail open)' : 'drops its packets (fail closed)'}, counted`,
      );
    };

    const restartHung = async (): Promise<void> => {
      for (const cpu of workers.hung(budgetOf)) {
        const held = heldBy(cpu);
        logger().error({ cpu, nfs: held }, `worker on CPU ${cpu}: no progress for ${budgetOf(cpu)} ms${held.length ? ` (in nf ${held.join(', ')})` : ''}: restarting it`);
        events.count('worker-restart', 'done', `worker on CPU ${cpu} restarted (no progress${held.length ? ` in nf ${held.join(', ')}` : ''})`);
        for (const nf of held) countHang(cpu, nf, Date.now());
        const lost = await workers.replace(cpu);
        const dropped = lost.reduce((n, [, d]) => n + d, 0);
        hangs.push({ nf: held.join(', ') || '?', lost: dropped });
        logger().warn({ cpu, dropped }, `worker on CPU ${cpu} restarted with fresh NF instances; ${dropped} packets of the burst it held were dropped and counted`);
      }
    };

    while (!stopRequested && failure === undefined) {
      await sleep(20);
      const now = Date.now();
      const ports = portsNow();
      const rx = ports.reduce((n, p) => n + p.rx, 0);
      // Idle: nothing arrived and nothing came back from the chains. A chain working through a
      // full ring holds its input back (backpressure): its port's rx stands still meanwhile.
      const inFlight = dp.inFlight();
      if (rx !== lastRx || inFlight !== lastInFlight) [lastRx, lastInFlight, lastRxChange] = [rx, inFlight, now];
      if (warmupMs !== undefined && windowStart === undefined && now - started >= warmupMs) {
        windowStart = { at: now, ports, chains: summarizeChains(chainSet.views), threads: threadCpu(), ...(opts.latency && { latency: dp.latencyCounts() }) };
      }
      if (opts.duration !== undefined && now - started >= opts.duration * 1000) break;
      if (opts.untilIdle !== undefined && now - lastRxChange >= opts.untilIdle) break;
      await restartHung();
      if (now - lastLine >= 1000) {
        const chains = summarizeChains(chainSet.views);
        log(rateLine((now - started) / 1000, (now - lastLine) / 1000, ports, lastPorts, chains, lastChains));
        history.sample(now, chains);
        [lastPorts, lastChains, lastLine] = [ports, chains, now];
      }
    }
    if (failure !== undefined) throw failure;
    let window: RunSummary['window'];
    if (windowStart !== undefined) {
      const seconds = (Date.now() - windowStart.at) / 1000;
      const threads = cpuShares(windowStart.threads, threadCpu(), seconds);
      window = {
        seconds, ...windowCounters(portsNow(), windowStart.ports, summarizeChains(chainSet.views), windowStart.chains), threads,
        ...(windowStart.latency && { latency: latencySummary(dp.latencyCounts(), windowStart.latency) }),
      };
    }

    dp.drain();
    const drainStart = Date.now();
    while (dp.inFlight() > 0 && Date.now() - drainStart < DRAIN_TIMEOUT_MS) await sleep(1);
    if (dp.inFlight() > 0) logger().error({ held: dp.inFlight() }, `${dp.inFlight()} packets still held by workers after ${DRAIN_TIMEOUT_MS} ms`);
    Atomics.store(control, CONTROL_STOP, 1);
    Atomics.notify(control, CONTROL_STOP);
    const stuck = await workers.stopped(STOP_GRACE_MS);
    for (const cpu of stuck) logger().error({ cpu }, `worker on CPU ${cpu} did not stop within ${STOP_GRACE_MS} ms: terminated; the burst it held and the packets waiting for it dropped and counted`);
    const seconds = (Date.now() - started) / 1000;
    await captures.stopAll();

    const available = dp.stop();
    const ports = portsNow();
    const chains = summarizeChains(chainSet.views);
    // A lane id scaled away and reused later has one set of counts.
    const lanes = new Set(chainSet.views.flatMap((v) => v.replicas.map((r) => r.lane)));
    const badDescriptors = [...lanes].reduce((n, lane) => n + dp.laneCounters(lane).bad_desc, 0);
    const summary: RunSummary = {
      hangs, failed, seconds, ...(guests.length > 0 && { guests: guests.map((g) => g.describe()) }), ...(window !== undefined && { window }), ...(opts.latency && { latency: latencySummary(dp.latencyCounts()) }), hugepages, ports, chains, traps, badDescriptors,
      pool: { mbufs: cfg.pool.mbufs, available },
      unaccounted: unaccounted(ports, chains),
    };
    log(formatSummary(summary));
    return summary;
  } finally {
    Atomics.store(control, CONTROL_STOP, 1);
    Atomics.notify(control, CONTROL_STOP);
    running = undefined;
    await captures?.stopAll();
    await api?.close();
    await pool?.destroy();
    await Promise.all(guests.map((g) => g.stop()));
    dp.close();
    for (const g of vhostGuests) for (const socket of g.sockets) rmSync(socket, { force: true });
  }
}
