// What crosses between the main thread and a data-plane worker: the task that
// starts a worker, and the events it reports back on its MessagePort.
import type { MessagePort } from 'node:worker_threads';
import type { Metric } from '../nf/host-imports.js';
import type { NfModule } from '../nf/module.js';
import type { VmLink } from '../nf/instance-types.js';

/** What an NF instance is built from on a worker: its module, its config as
 * JSON text (if it has one), its heap limit and its trust level. */
export interface NfSpec {
  module: NfModule;
  config?: string;
  heapMb?: number;
  isolated?: boolean;
  /** A vm NF: its guest's region (its module is the guest's image). */
  vm?: VmLink;
  /** Marked failed by the main thread (it hung too often): a restarted worker does not call it. */
  failed?: boolean;
}

export interface LaneTask {
  /** Index of this lane in the data plane (also the C lane id). */
  lane: number;
  rx: SharedArrayBuffer;
  ret: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** MAX_METRICS doubles per NF: the NFs' own metrics, copied in by the worker. */
  metrics: SharedArrayBuffer;
  nfs: (NfSpec & { name: string })[];
  /** Port index the chain ends at. */
  toPort: number;
  /** The chain's fail policy for an NF that keeps trapping: pass its packets on (open) or drop them (closed). */
  failOpen: boolean;
}

export interface PoolLayout {
  len: number;
  pageSize: number;
}

export interface WorkerTask {
  cpu: number;
  /** Int32Array words: see CONTROL_* below. */
  control: SharedArrayBuffer;
  pool: PoolLayout;
  /** Offsets (from the pool's start) of the message slots this worker has (host/chain/mailroom.ts). */
  messageSlots: Int32Array;
  /** DPDK port id of each port index (config order). */
  portIds: number[];
  lanes: LaneTask[];
  events: MessagePort;
  /** Int32Array words: see HEARTBEAT_* below. */
  heartbeat: SharedArrayBuffer;
  /** Float64Array words: see LOOP_* below (kept per CPU across restarts: counters go on). */
  loop: SharedArrayBuffer;
  /** Its doorbell (host/dataplane/doorbell.ts): it sleeps there when idle; undefined: it never sleeps. */
  doorbell?: SharedArrayBuffer;
  /** With latency measured: where it counts the gaps between its turns (native-dpdk/latency.c:
   *  nv_turn_mark; the latency's buckets, then the last turn's TSC). Kept per CPU across restarts. */
  turnGaps?: SharedArrayBuffer;
}

/** The worker's loop, counted for metrics: its turns, and those that found packets. */
export const LOOP_TURNS = 0;
export const LOOP_WORK_TURNS = 1;
export const LOOP_WORDS = 2;

export const CONTROL_STOP = 0;
export const CONTROL_WORDS = 1;

/** The worker's heartbeat: a count of its loop's turns, and a flag it sets
 * while it does something slow on purpose (a swap), which the watchdog spares. */
export const HEARTBEAT_BEATS = 0;
export const HEARTBEAT_BUSY = 1;
export const HEARTBEAT_WORDS = 2;

/** What the main thread asks of a running worker, on the same port. */
export type WorkerCommand = SwapRequest | AddLaneRequest | RemoveLaneRequest | MessageRequest;

/** The operator's message to the NF at a position of a lane, delivered between two bursts. */
export interface MessageRequest {
  type: 'message';
  id: number;
  lane: number;
  position: number;
  bytes: Uint8Array;
}

/** Run another lane (a chain scaled up onto this worker). */
export interface AddLaneRequest {
  type: 'add-lane';
  id: number;
  lane: LaneTask;
}

/** Stop running a lane that has handed every packet back (a chain scaled down).
 *  A worker left with no lane ends. */
export interface RemoveLaneRequest {
  type: 'remove-lane';
  id: number;
  lane: number;
}

export interface SwapRequest {
  type: 'swap';
  id: number;
  lane: number;
  /** Chain position of the NF in its lane. */
  position: number;
  nf: string;
  spec: NfSpec;
}

/** How a swap ended on a worker. */
export type SwapOutcome =
  | {
      ok: true;
      /** 'handed-over': the old instance's state went to the new one; 'empty': it starts empty (why says why). */
      state: 'handed-over' | 'empty';
      stateBytes: number;
      why?: string;
      /** The new instance's metrics, in slot order. */
      metrics: Metric[];
      /** How long the worker's chains stood still for the handover (the state's move). */
      pauseUs: number;
      /** How long they stood still, in a turn before, while the new instance was built. */
      buildUs: number;
    }
  | { ok: false; reason: string };

export type WorkerEvent =
  | { type: 'ready'; cpu: number; threadId: number; /** its kernel id */ tid: number; metrics: { lane: number; nfs: Metric[][] }[] }
  | { type: 'trap'; lane: number; nf: string; message: string }
  | { type: 'swapped'; id: number; outcome: SwapOutcome }
  | { type: 'lane-added'; id: number; lane: number; error?: string; metrics: Metric[][] }
  | { type: 'lane-removed'; id: number; lane: number }
  /** How the operator's message went: the NF's answer (if it gave one), or why it was not taken. */
  | { type: 'messaged'; id: number; answer?: string; error?: string }
  /** afterMs: from the trap to the fresh instance, by the worker's clock (the back-off, and the bursts until it was due). */
  | { type: 'nf-restarted'; lane: number; nf: string; traps: number; afterMs: number }
  | { type: 'nf-failed'; lane: number; nf: string; traps: number; failOpen: boolean; reason?: string };
