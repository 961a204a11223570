// The data plane's workers, one per worker CPU, each a long-lived piscina
// task, and the watchdog over them. A worker counts a heartbeat every turn of
// its loop; one whose heartbeat stands still longer than the budget (an NF
// that never returns from a burst or a tick) is terminated, the burst it held
// is dropped and counted (native-dpdk/chain.c: nv_chain_abort), and a fresh
// worker takes over its lanes with fresh NF instances. The other workers keep
// forwarding meanwhile. The budget is the worker's own CPU time, read from
// /proc when its heartbeat stands still: a worker the machine did not run (its
// CPU taken by another thread, or the VM's vCPU held by the host) is not stuck,
// and neither is one that the watchdog's own thread came too late to watch.
// Commands (a swap, a lane added or removed) go to a
// worker with ask() and are answered between two of its bursts.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { native } from '../dataplane/native.js';
import { ringDoorbell } from '../dataplane/doorbell.js';
import { threadPreemptions, threadRunNs } from '../observe/threads.js';
import {
  HEARTBEAT_BEATS, HEARTBEAT_BUSY, HEARTBEAT_WORDS, LOOP_TURNS, LOOP_WORDS, LOOP_WORK_TURNS, type LaneTask, type NfSpec, type PoolLayout, type WorkerCommand, type WorkerEvent, type WorkerTask,
} from '../worker/messages.js';

/** A command without its id (ask() numbers it), and the event that answers it. */
type Command = WorkerCommand extends infer C ? (C extends WorkerCommand ? Omit<C, 'id'> : never) : never;
type Answer = Extract<WorkerEvent, { type: 'swapped' | 'lane-added' | 'lane-removed' | 'messaged' }>;

const ASK_TIMEOUT_MS = 30_000;
/** How long a stopped run waits for the poll loop to take back what a stuck worker's rings held. */
const DISCARD_MS = 2000;

interface Entry {
  cpu: number;
  lanes: LaneTask[];
  port: MessagePort;
  heartbeat: Int32Array;
  threadId: number;
  /** Its kernel thread id, whose CPU time the watchdog reads. */
  tid: number;
  task: Promise<unknown>;
  /** Set while the watchdog replaces this worker: its task's end is expected. */
  replacing: boolean;
  lastBeat: number;
  /** The worker's CPU time (ns) when the watchdog first found its heartbeat still; -1 while it beats. */
  stillSinceNs: number;
  /** Commands sent and not answered yet, by id. */
  asked: Map<number, (a: Answer | Error) => void>;
}

export interface WorkerSetOptions {
  control: SharedArrayBuffer;
  /** The doorbell a CPU's worker sleeps on when idle (undefined: busy polling, it never sleeps). */
  doorbell: (cpu: number) => SharedArrayBuffer | undefined;
  pool: PoolLayout;
  /** The pool's message slots a CPU's worker has (its own share). */
  messageSlots: (cpu: number) => Int32Array;
  portIds: number[];
  /** Every event of every worker, with the CPU it runs on. */
  onEvent: (cpu: number, e: WorkerEvent) => void;
  /** With latency measured: the buckets of a histogram of the gaps between a worker's turns. */
  turnGapBuckets?: number;
  /** How often the run looks for hung workers (hung()). A look more than twice this after the
   *  one before (the looking thread was not run) cannot tell whether the workers ran meanwhile. */
  lookMs: number;
}

/** A worker CPU's turn gaps so far: the histogram's counts, and how often its thread was taken off its CPU. */
export interface TurnGapCounts {
  cpu: number;
  counts: BigUint64Array;
  preempted: number;
}

export class WorkerSet {
  private readonly entries = new Map<number, Entry>();
  /** Each CPU's loop counts, kept when its worker ends (a chain scaled away from it, say). */
  private readonly loops = new Map<number, Float64Array>();
  /** Each CPU's turn gaps (with latency measured), kept when its worker ends, like its loop counts. */
  private readonly gaps = new Map<number, BigUint64Array>();
  private failure: ((err: unknown) => void) | undefined;
  private nextId = 1;
  /** When hung() last looked. */
  private lastLookAt = Date.now();
  /** Rejects when a worker's task fails other than by the watchdog's hand. */
  readonly failed = new Promise<never>((_, reject) => (this.failure = reject));

  constructor(private readonly piscina: Piscina, private readonly opts: WorkerSetOptions) {
    this.failed.catch(() => undefined); // observed by whoever races it
  }

  /** Each worker CPU's loop so far: its turns, and those that found packets to run. */
  loopCounts(): { cpu: number; turns: number; workTurns: number }[] {
    return [...this.loops].map(([cpu, l]) => ({ cpu, turns: l[LOOP_TURNS]!, workTurns: l[LOOP_WORK_TURNS]! }));
  }

  /** Each worker CPU's turn gaps so far (with latency measured). Preemptions are those of the
   *  CPU's current thread (a restarted worker's count starts again). */
  turnGaps(): TurnGapCounts[] {
    return [...this.gaps].map(([cpu, g]) => {
      const tid = this.entries.get(cpu)?.tid ?? -1;
      return { cpu, counts: g.slice(0, g.length - 1), preempted: (tid < 0 ? undefined : threadPreemptions(tid)) ?? 0 };
    });
  }

  /** Starts a worker for these lanes on this CPU; resolves once it is ready. */
  start(cpu: number, lanes: LaneTask[]): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    const heartbeat = new Int32Array(new SharedArrayBuffer(HEARTBEAT_WORDS * 4));
    const loop = this.loops.get(cpu) ?? new Float64Array(new SharedArrayBuffer(LOOP_WORDS * 8));
    this.loops.set(cpu, loop);
    const buckets = this.opts.turnGapBuckets;
    const gaps = buckets === undefined ? undefined : this.gaps.get(cpu) ?? new BigUint64Array(new SharedArrayBuffer((buckets + 1) * 8));
    if (gaps !== undefined) this.gaps.set(cpu, gaps);
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const entry: Entry = {
      cpu, lanes: [...lanes], port: port1, heartbeat, threadId: -1, tid: -1, task: Promise.resolve(), replacing: false, lastBeat: 0, stillSinceNs: -1, asked: new Map(),
    };
    port1.on('message', (e: WorkerEvent) => {
      if (e.type === 'ready') {
        entry.threadId = e.threadId;
        entry.tid = e.tid;
        ready();
      }
      if (e.type === 'swapped' || e.type === 'lane-added' || e.type === 'lane-removed' || e.type === 'messaged') {
        entry.asked.get(e.id)?.(e);
        entry.asked.delete(e.id);
      }
      this.opts.onEvent(cpu, e);
    });
    // A worker ends when stopped, replaced, or left without lanes: what it was asked goes unanswered.
    const ended = (): void => {
      port1.close();
      for (const answer of entry.asked.values()) answer(new Error(`the worker on CPU ${cpu} ended before answering`));
      entry.asked.clear();
      if (this.entries.get(cpu) === entry) this.entries.delete(cpu);
    };
    const task: WorkerTask = {
      cpu, control: this.opts.control, lanes, events: port2, portIds: this.opts.portIds, pool: this.opts.pool, messageSlots: this.opts.messageSlots(cpu),
      heartbeat: heartbeat.buffer as SharedArrayBuffer,
      loop: loop.buffer as SharedArrayBuffer, doorbell: this.opts.doorbell(cpu), ...(gaps && { turnGaps: gaps.buffer as SharedArrayBuffer }),
    };
    entry.task = this.piscina.run(task, { transferList: [port2] }).then(ended, (err: unknown) => {
      ended();
      if (!entry.replacing) this.failure?.(err);
    });
    this.entries.set(cpu, entry);
    // A worker that fails to start never says ready: its failure ends the wait.
    return Promise.race([isReady, this.failed]);
  }

  /** Sends a command to the worker on this CPU; resolves with its answer, given between two bursts. */
  ask(cpu: number, command: Command): Promise<Answer> {
    const e = this.entries.get(cpu);
    if (e === undefined) return Promise.reject(new Error(`no worker runs on CPU ${cpu}`));
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        e.asked.delete(id);
        reject(new Error(`the worker on CPU ${cpu} did not answer within ${ASK_TIMEOUT_MS / 1000} s`));
      }, ASK_TIMEOUT_MS);
      e.asked.set(id, (a) => {
        clearTimeout(timer);
        if (a instanceof Error) reject(a);
        else resolve(a);
      });
      e.port.postMessage({ ...command, id } as WorkerCommand);
      const bell = this.opts.doorbell(cpu);
      if (bell !== undefined) ringDoorbell(bell); // a sleeping worker reads it now, not at its next wake-up
    });
  }

  /** Runs one more lane on the worker of this CPU (starting one if there is none); resolves when it runs. */
  async addLane(cpu: number, lane: LaneTask): Promise<void> {
    const e = this.entries.get(cpu);
    if (e === undefined) return this.start(cpu, [lane]);
    const a = await this.ask(cpu, { type: 'add-lane', lane });
    if (a.type === 'lane-added' && a.error !== undefined) throw new Error(a.error);
    e.lanes.push(lane);
  }

  /** Takes a drained lane off its worker; a worker left without lanes ends. */
  async removeLane(cpu: number, lane: number): Promise<void> {
    const e = this.entries.get(cpu)!;
    e.lanes = e.lanes.filter((l) => l.lane !== lane);
    const answered = this.ask(cpu, { type: 'remove-lane', lane });
    if (e.lanes.length > 0) {
      await answered;
      return;
    }
    // Its last lane: the worker answers and ends, and its end may be seen before its answer.
    await Promise.all([answered.catch(() => undefined), e.task]);
  }

  /** What the NF at a position of a lane runs now (after a swap): a restarted worker builds it so. */
  setNf(cpu: number, lane: number, position: number, spec: NfSpec): void {
    const task = this.entries.get(cpu)?.lanes.find((l) => l.lane === lane);
    if (task !== undefined) task.nfs[position] = { ...spec, name: task.nfs[position]!.name };
  }

  /** Marks an NF failed on a worker's lanes (before it is restarted): its fresh instance is not
   *  called, its chain's fail policy applies. Returns whether its chain fails open. */
  failNf(cpu: number, nf: string): boolean {
    let failOpen = false;
    for (const task of this.entries.get(cpu)?.lanes ?? []) {
      const k = task.nfs.findIndex((spec) => spec.name === nf);
      if (k < 0) continue;
      task.nfs[k] = { ...task.nfs[k]!, failed: true };
      failOpen = task.failOpen;
    }
    return failOpen;
  }

  /** CPUs whose worker ran for its budget without progress (not counting swaps, which are slow on purpose). */
  hung(budgetMs: (cpu: number) => number): number[] {
    const now = Date.now();
    const late = now - this.lastLookAt > 2 * this.opts.lookMs;
    this.lastLookAt = now;
    const out: number[] = [];
    for (const e of this.entries.values()) {
      if (e.threadId < 0 || e.replacing) continue;
      const beat = Atomics.load(e.heartbeat, HEARTBEAT_BEATS);
      if (late || beat !== e.lastBeat || Atomics.load(e.heartbeat, HEARTBEAT_BUSY) !== 0) {
        e.lastBeat = beat;
        e.stillSinceNs = -1;
        continue;
      }
      const ran = threadRunNs(e.tid);
      if (ran === undefined) continue; // its thread has ended: its task's end follows
      if (e.stillSinceNs < 0) e.stillSinceNs = ran;
      else if (ran - e.stillSinceNs > budgetMs(e.cpu) * 1e6) out.push(e.cpu);
    }
    return out;
  }

  /** Terminates a hung worker, drops the bursts it held, and starts a fresh one for its lanes.
   *  Returns what each of its lanes lost: [lane, packets dropped]. */
  async replace(cpu: number): Promise<[number, number][]> {
    const e = this.entries.get(cpu)!;
    const lost = await this.terminate(e);
    await this.start(cpu, e.lanes);
    return lost;
  }

  /** Ends a worker's thread and drops the bursts its lanes held: [lane, packets dropped]. */
  private async terminate(e: Entry): Promise<[number, number][]> {
    e.replacing = true;
    await this.piscina.threads.find((w) => w.threadId === e.threadId)?.terminate();
    await e.task;
    // The worker's thread is gone: nobody else touches its chains now.
    return e.lanes.map((lane): [number, number] => [lane.lane, native().chainAbort(lane.lane)]);
  }

  /** Resolves when every worker's task has ended (after CONTROL_STOP). A worker that has not
   *  within graceMs (in an NF call that never returns) is terminated: the bursts it held are
   *  dropped and counted (hung), and so is what waited in its rings (its chains' dropped);
   *  resolves with the CPUs of those. */
  async stopped(graceMs: number): Promise<number[]> {
    const entries = [...this.entries.values()];
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([Promise.all(entries.map((e) => e.task)), late]);
    clearTimeout(timer);
    const stuck = [...this.entries.values()];
    for (const e of stuck) {
      await this.terminate(e);
      // No worker takes what waits in its lanes' rings any more: dropped and counted, a return
      // ring's worth at a time, until the poll loop (draining) has taken every one back.
      for (const { lane } of e.lanes) {
        const deadline = Date.now() + DISCARD_MS;
        while (native().chainDiscard(lane) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      }
    }
    return stuck.map((e) => e.cpu);
  }
}
