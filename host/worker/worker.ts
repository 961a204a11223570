// A data-plane worker: one long-lived piscina task per data core. It pins
// itself, builds an NF instance per chain member with the pool mapped into its
// memory, reports ready, and runs its chains until told to stop.
import { Chain } from '../chain/chain.js';
import { poolWindow } from '../dataplane/pool-window.js';
import { MAX_METRICS, TICK_MS } from '../nf/abi.js';
import { receiveMessageOnPort, threadId } from 'node:worker_threads';
import { metricValues, type PoolWindow } from '../nf/instance.js';
import { nameThisThread, pinThisThread } from './affinity.js';
import { CONTROL_STOP, HEARTBEAT_BEATS, HEARTBEAT_BUSY, type NfSpec, type SwapOutcome, type SwapRequest, type WorkerEvent, type WorkerTask } from './messages.js';
import { instanceOf, swapNf } from './swap.js';
import { NfFaults, type FaultLane } from './faults.js';

/** A worker naps between polls only once no packet has come for about
 * IDLE_AFTER_MS (a quiet data plane, not the gap between two bursts: a nap
 * costs the packets that arrive during it up to a timer slack of latency).
 * Empty polls are counted, and the clock read every IDLE_CHECK_POLLS of them. */
const IDLE_AFTER_MS = 10;
const IDLE_CHECK_POLLS = 1024;
const IDLE_NAP_MS = 0.05;
/** NF metrics are copied out this often; the clock is read every 1024 iterations
 * (ticks and metrics are per interval, never per burst). */
const METRICS_SYNC_MS = 100;
const CLOCK_CHECK_MASK = 1023;

interface BuiltLane extends FaultLane {
  metrics: Float64Array;
}

function buildLanes(task: WorkerTask, pool: PoolWindow, onTrapAt: (laneIndex: number, k: number) => void): BuiltLane[] {
  return task.lanes.map((lane, laneIndex) => {
    const names = lane.nfs.map((nf) => nf.name);
    const instances = lane.nfs.map((nf, position) => instanceOf(nf, nf.name, pool, { names, position }));

    // Every trap is counted; only the first of each NF is reported, so that an
    // NF that traps on every burst cannot flood the main thread.
    const reported = new Set<string>();
    const onTrap = (nf: { name: string }, err: unknown, k: number): void => {
      onTrapAt(laneIndex, k);
      if (reported.has(nf.name)) return;
      reported.add(nf.name);
      const event: WorkerEvent = { type: 'trap', lane: lane.lane, nf: nf.name, message: String(err) };
      task.events.postMessage(event);
    };
    const { lane: id, rx, ret, counters } = lane;
    const toPortId = task.portIds[lane.toPort]!;
    const chain = new Chain({ id, rx, ret, counters, nfs: instances, toPortId, portIds: task.portIds }, onTrap);
    const specs = lane.nfs.map(({ name: _, ...spec }): NfSpec => spec);
    return { lane: lane.lane, failOpen: lane.failOpen, chain, instances, names, specs, metrics: new Float64Array(lane.metrics) };
  });
}

/** Copies each NF's metric slots (in its own memory) to where the main thread reads them. */
function syncMetrics(lanes: BuiltLane[]): void {
  for (const lane of lanes) {
    lane.instances.forEach((nf, k) => lane.metrics.set(metricValues(nf), k * MAX_METRICS));
  }
}

export default function runWorker(task: WorkerTask): void {
  pinThisThread(task.cpu);
  nameThisThread(`netvm-worker${task.cpu}`);
  const pool = poolWindow(task.pool.len, task.pool.pageSize);
  // The chains report traps to the fault handler, which needs the chains: built first, bound after.
  let faults: NfFaults | undefined;
  const lanes = buildLanes(task, pool, (laneIndex, k) => faults?.onTrap(laneIndex, k, performance.now()));
  faults = new NfFaults(lanes, pool, (e) => task.events.postMessage(e));
  const chains = lanes.map((l) => l.chain);
  const control = new Int32Array(task.control);
  const metrics = task.lanes.map((lane, i) => ({ lane: lane.lane, nfs: lanes[i]!.instances.map((nf) => nf.host.metrics) }));
  const ready: WorkerEvent = { type: 'ready', cpu: task.cpu, threadId, metrics };
  task.events.postMessage(ready);

  let idle = 0;
  let quietSince = 0;
  let iterations = 0;
  let lastSync = performance.now();
  let lastTick = lastSync;
  const heartbeat = new Int32Array(task.heartbeat);
  while (Atomics.load(control, CONTROL_STOP) === 0) {
    heartbeat[HEARTBEAT_BEATS] = (heartbeat[HEARTBEAT_BEATS]! + 1) | 0;
    let work = 0;
    for (let i = 0; i < chains.length; i++) work += chains[i]!.poll();
    if (faults.pending !== 0) faults.recreateDue(performance.now());
    // Reading a clock allocates (a heap number): it is read once per IDLE_CHECK_POLLS empty polls, not per gap.
    if (work !== 0) [idle, quietSince] = [0, 0];
    else if (++idle >= IDLE_CHECK_POLLS) {
      const now = performance.now();
      if (quietSince === 0) [quietSince, idle] = [now, 0];
      else if (now - quietSince >= IDLE_AFTER_MS) Atomics.wait(control, CONTROL_STOP, 0, IDLE_NAP_MS);
      else idle = 0;
    }
    if ((++iterations & CLOCK_CHECK_MASK) === 0) {
      const now = performance.now();
      if (now - lastTick >= TICK_MS) {
        const ns = process.hrtime.bigint();
        for (let i = 0; i < chains.length; i++) chains[i]!.tick(ns);
        lastTick = now;
      }
      if (now - lastSync >= METRICS_SYNC_MS) {
        syncMetrics(lanes);
        lastSync = now;
      }
      // Commands from the main thread wait here, between bursts.
      const command = receiveMessageOnPort(task.events)?.message as SwapRequest | undefined;
      if (command !== undefined) {
        const laneIndex = task.lanes.findIndex((l) => l.lane === command.lane);
        Atomics.store(heartbeat, HEARTBEAT_BUSY, 1);
        const outcome: SwapOutcome = laneIndex < 0
          ? { ok: false, reason: `lane ${command.lane} is not on this worker` }
          : swapNf(lanes[laneIndex]!, command, pool);
        if (outcome.ok) faults.reset(laneIndex, command.position);
        Atomics.store(heartbeat, HEARTBEAT_BUSY, 0);
        const event: WorkerEvent = { type: 'swapped', id: command.id, outcome };
        task.events.postMessage(event);
      }
    }
  }
  syncMetrics(lanes);
  task.events.close();
}
