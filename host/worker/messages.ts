// What crosses between the main thread and a data-plane worker: the task that
// starts a worker, and the events it reports back on its MessagePort.
import type { MessagePort } from 'node:worker_threads';
import type { Metric } from '../nf/host-imports.js';
import type { NfModule } from '../nf/module.js';

export interface LaneTask {
  /** Index of this lane in the data plane (also the C lane id). */
  lane: number;
  rx: SharedArrayBuffer;
  ret: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** MAX_METRICS doubles per NF: the NFs' own metrics, copied in by the worker. */
  metrics: SharedArrayBuffer;
  /** config: the NF's config as JSON text, if it has one. */
  nfs: { name: string; module: NfModule; config?: string }[];
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
  | { type: 'ready'; cpu: number; metrics: { lane: number; nfs: Metric[][] }[] }
  | { type: 'trap'; lane: number; nf: string; message: string };
