// What crosses between the main thread and a data-plane worker: the task that
// starts a worker, and the events it reports back on its MessagePort.
import type { MessagePort } from 'node:worker_threads';
import type { NfModule } from '../nf/module.js';

export interface LaneTask {
  /** Index of this lane in the data plane (also the C lane id). */
  lane: number;
  rx: SharedArrayBuffer;
  ret: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  nfs: { name: string; module: NfModule }[];
  /** Port index the chain ends at. */
  toPort: number;
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
  /** DPDK port id of each port index (config order). */
  portIds: number[];
  lanes: LaneTask[];
  events: MessagePort;
}

export const CONTROL_STOP = 0;
export const CONTROL_WORDS = 1;

export type WorkerEvent =
  | { type: 'ready'; cpu: number }
  | { type: 'trap'; lane: number; nf: string; message: string };
