// A data-plane worker: one long-lived piscina task per data core. It pins
// itself, builds an NF instance per chain member with the pool mapped into its
// memory, reports ready, and runs its chains until told to stop.
import { Chain } from '../chain/chain.js';
import { addressOf, native } from '../dataplane/native.js';
import { poolView, poolWindow } from '../dataplane/pool-window.js';
import { MAX_METRICS, TICK_MS } from '../nf/abi.js';
import { receiveMessageOnPort, threadId } from 'node:worker_threads';
import { metricValues, type PoolWindow } from '../nf/instance.js';
import { kernelThreadId, nameThisThread, pinThisThread } from './affinity.js';
import {
  CONTROL_STOP, HEARTBEAT_BEATS, HEARTBEAT_BUSY, LOOP_TURNS, LOOP_WORK_TURNS, type LaneTask, type NfSpec, type WorkerCommand, type WorkerEvent, type WorkerTask,
} from './messages.js';
import { SwapInTurns, instanceOf } from './swap.js';
import { DoorbellSleep } from '../dataplane/doorbell.js';
import { SpareMemories } from './spares.js';
import { preloadJsNf } from '../nf/js-nf.js';
import { NfFaults, type FaultLane } from './faults.js';
import { Mailroom } from '../chain/mailroom.js';

/** A worker sleeps on its doorbell only once no packet has come for about
 * IDLE_AFTER_MS (a quiet data plane, not the gap between two bursts), until
 * its NFs' next tick is due: the poll lcore wakes it when packets come, the
 * main thread when it sends a command. (The watchdog counts a worker's CPU
 * time, which a sleep does not use.) Each wake-up costs a sleeping thread's
 * CPU tens of us on a VM, so it wakes no more often than the ticks need.
 * Empty polls are counted, and the clock read every IDLE_CHECK_POLLS of them. */
const IDLE_AFTER_MS = 10;
const IDLE_CHECK_POLLS = 1024;
/** NF metrics are copied out this often; the clock is read every 1024 iterations
 * (ticks and metrics are per interval, never per burst). */
const METRICS_SYNC_MS = 100;
const CLOCK_CHECK_MASK = 1023;

interface BuiltLane extends FaultLane {
  metrics: Float64Array;
}

/** What building a lane needs from the worker around it. */
interface LaneContext {
  task: WorkerTask;
  pool: PoolWindow;
  mailroom: Mailroom;
  spares: SpareMemories;
  onTrapAt: (lane: number, k: number) => void;
}

function buildLane(ctx: LaneContext, lane: LaneTask): BuiltLane {
  const names = lane.nfs.map((nf) => nf.name);
  const instances = lane.nfs.map((nf, position) => instanceOf(nf, nf.name, ctx.pool, { names, position }, ctx.spares));

  // Every trap is counted; only the first of each NF is reported, so that an
  // NF that traps on every burst cannot flood the main thread.
  const reported = new Set<string>();
  const onTrap = (nf: { name: string }, err: unknown, k: number): void => {
    ctx.onTrapAt(lane.lane, k);
    if (reported.has(nf.name)) return;
    reported.add(nf.name);
    const event: WorkerEvent = { type: 'trap', lane: lane.lane, nf: nf.name, message: String(err) };
    ctx.task.events.postMessage(event);
  };
  const { lane: id, rx, ret, counters } = lane;
  const { portIds } = ctx.task;
  const chain = new Chain(
    { id, rx, ret, counters, nfs: instances, toPortId: portIds[lane.toPort]!, portIds, failOpen: lane.failOpen, mailroom: ctx.mailroom }, onTrap,
  );
  const specs = lane.nfs.map(({ name: _, ...spec }): NfSpec => spec);
  return { lane: lane.lane, failOpen: lane.failOpen, chain, instances, names, specs, metrics: new Float64Array(lane.metrics) };
}

/** Copies each NF's metric slots (in its own memory) to where the main thread reads them. */
function syncMetrics(lanes: BuiltLane[]): void {
  for (const lane of lanes) {
    lane.instances.forEach((nf, k) => lane.metrics.set(metricValues(nf), k * MAX_METRICS));
  }
}

/** A command from the main thread, carried out between bursts (the worker ends once it has no lane
 *  left); a swap is only begun: it goes on in later turns. */
function obey(command: WorkerCommand, ctx: LaneContext, lanes: BuiltLane[], faults: NfFaults): SwapInTurns | undefined {
  const reply = (e: WorkerEvent): void => ctx.task.events.postMessage(e);
  if (command.type === 'add-lane') {
    try {
      const lane = buildLane(ctx, command.lane);
      lanes.push(lane);
      for (const spec of lane.specs) ctx.spares.stock(spec);
      reply({ type: 'lane-added', id: command.id, lane: lane.lane, metrics: lane.instances.map((nf) => nf.host.metrics) });
    } catch (err) {
      reply({ type: 'lane-added', id: command.id, lane: command.lane.lane, error: (err as Error).message, metrics: [] });
    }
    return undefined;
  }
  const at = lanes.findIndex((l) => l.lane === command.lane);
  if (command.type === 'message') {
    reply({ type: 'messaged', id: command.id, ...(at >= 0 ? lanes[at]!.chain.message(command.position, command.bytes) : { error: `lane ${command.lane} is not on this worker` }) });
    return undefined;
  }
  if (command.type === 'remove-lane') {
    if (at >= 0) {
      syncMetrics([lanes[at]!]); // its last metrics stay readable on the main thread
      faults.removeLane(command.lane, lanes[at]!.instances.length);
      lanes[at]!.chain.close();
      lanes.splice(at, 1);
    }
    reply({ type: 'lane-removed', id: command.id, lane: command.lane });
    return undefined;
  }
  if (at >= 0) return new SwapInTurns(command, lanes[at]!, ctx.pool, ctx.spares);
  reply({ type: 'swapped', id: command.id, outcome: { ok: false, reason: `lane ${command.lane} is not on this worker` } });
  return undefined;
}

/** Takes a swap's next step (the watchdog spares the turn); true once it has ended and been answered. */
function stepSwap(swap: SwapInTurns, heartbeat: Int32Array, faults: NfFaults, events: WorkerTask['events']): boolean {
  Atomics.store(heartbeat, HEARTBEAT_BUSY, 1);
  const outcome = swap.step();
  Atomics.store(heartbeat, HEARTBEAT_BUSY, 0);
  if (outcome === undefined) return false;
  if (outcome.ok) faults.reset(swap.req.lane, swap.req.position);
  const event: WorkerEvent = { type: 'swapped', id: swap.req.id, outcome };
  events.postMessage(event);
  return true;
}

export default async function runWorker(task: WorkerTask): Promise<void> {
  // JavaScript NFs are imported now (asynchronously), before the loop, which never yields.
  for (const lane of task.lanes) for (const nf of lane.nfs) if (nf.module.js) await preloadJsNf(nf.module.path);
  pinThisThread(task.cpu);
  nameThisThread(`netvm-worker${task.cpu}`);
  const pool = poolWindow(task.pool.len, task.pool.pageSize);
  // The chains report traps to the fault handler, which needs the lanes: built first, bound after.
  let faults: NfFaults | undefined;
  const spares = new SpareMemories(pool);
  const ctx: LaneContext = { task, pool, mailroom: new Mailroom(task.messageSlots, () => poolView(pool)), spares, onTrapAt: (lane, k) => faults?.onTrap(lane, k, performance.now()) };
  const lanes = task.lanes.map((lane) => buildLane(ctx, lane));
  // One spare memory per kind the NFs use, made now, before packets flow: swaps take it.
  for (const lane of lanes) for (const spec of lane.specs) spares.stock(spec);
  faults = new NfFaults(lanes, pool, spares, (e) => task.events.postMessage(e));
  for (const lane of lanes) {
    lane.specs.forEach((spec, k) => {
      if (spec.failed) faults!.markFailed(lane.lane, k);
    });
  }
  let chains = lanes.map((l) => l.chain);
  const control = new Int32Array(task.control);
  const doorbell = task.doorbell === undefined ? undefined : new DoorbellSleep(task.doorbell);
  const pending = (): boolean => Atomics.load(control, CONTROL_STOP) !== 0 || chains.some((c) => c.waiting());
  const metrics = lanes.map((lane) => ({ lane: lane.lane, nfs: lane.instances.map((nf) => nf.host.metrics) }));
  const ready: WorkerEvent = { type: 'ready', cpu: task.cpu, threadId, tid: kernelThreadId(), metrics };
  task.events.postMessage(ready);

  let swap: SwapInTurns | undefined;
  let idle = 0;
  let quietSince = 0;
  let iterations = 0;
  let lastSync = performance.now();
  let lastTick = lastSync;
  const heartbeat = new Int32Array(task.heartbeat);
  const loop = new Float64Array(task.loop);
  const turnMark = native().turnMark;
  const gaps = task.turnGaps === undefined ? 0 : Number(addressOf(task.turnGaps));
  const lastTurn = task.turnGaps === undefined ? undefined : new BigUint64Array(task.turnGaps, task.turnGaps.byteLength - 8, 1);
  while (Atomics.load(control, CONTROL_STOP) === 0 && lanes.length > 0) {
    heartbeat[HEARTBEAT_BEATS] = (heartbeat[HEARTBEAT_BEATS]! + 1) | 0;
    if (gaps !== 0) turnMark(gaps);
    let work = 0;
    for (let i = 0; i < chains.length; i++) work += chains[i]!.poll();
    if (faults.pending !== 0) faults.recreateDue(performance.now());
    if (swap !== undefined && swap.due(work)) {
      if (stepSwap(swap, heartbeat, faults, task.events)) swap = undefined;
      [idle, quietSince] = [0, 0]; // a swap under way keeps the worker awake
    }
    loop[LOOP_TURNS]!++;
    // Reading a clock allocates (a heap number): it is read once per IDLE_CHECK_POLLS empty polls, not per gap.
    if (work !== 0) {
      [idle, quietSince] = [0, 0];
      loop[LOOP_WORK_TURNS]!++;
    } else if (spares.scrubbing()) {
      spares.scrubStep(); // a turn with nothing else to do
    } else if (++idle >= IDLE_CHECK_POLLS) {
      const now = performance.now();
      if (quietSince === 0) [quietSince, idle] = [now, 0];
      else if (now - quietSince >= IDLE_AFTER_MS && doorbell !== undefined) {
        doorbell.sleep(pending, Math.max(1, Math.ceil((lastTick + TICK_MS - now) * 1000)));
        // Asleep, a loop turn takes a sleep's time: ticks and commands are looked at every turn.
        iterations = CLOCK_CHECK_MASK;
        if (lastTurn !== undefined) lastTurn[0] = 0n; // a sleep is no stall
      } else idle = 0;
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
      // Commands from the main thread wait here, between bursts, one at a time; the watchdog spares a slow one.
      const command = swap === undefined ? (receiveMessageOnPort(task.events)?.message as WorkerCommand | undefined) : undefined;
      if (command !== undefined) {
        Atomics.store(heartbeat, HEARTBEAT_BUSY, 1);
        swap = obey(command, ctx, lanes, faults);
        chains = lanes.map((l) => l.chain);
        Atomics.store(heartbeat, HEARTBEAT_BUSY, 0);
      }
    }
  }
  syncMetrics(lanes);
  task.events.close();
}
