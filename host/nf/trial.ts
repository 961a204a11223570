// A module's code runs for the first time in a trial instance: its start
// function, the ABI calls and netvm_configure. The trial runs on a thread of its
// own under a time limit, so that a module that never returns is refused with
// the reason instead of hanging the run (or the control API, on a swap). The
// caller waits synchronously: loading and checking a module stays one call.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from '../paths.js';
import type { ChainPlace } from './host-imports.js';
import { createNfInstance } from './instance.js';
import { NfModuleError, type NfModule } from './module-types.js';

/** How long a trial instance may take to be instantiated, checked and configured. */
export const TRIAL_MS = 2000;
/** How long the trial thread may take to start and take the job (a busy machine). */
const PICKUP_MS = 10_000;

// The shared reply: [state, reason's byte length], then the reason (UTF-8).
export const IDLE = 0;
export const RUNNING = 1;
export const PASSED = 2;
export const REFUSED = 3;
export const REPLY_BYTES = 8192;

export interface TrialJob {
  nf: NfModule;
  name: string;
  config?: string;
  place?: ChainPlace;
  heapMb?: number;
  reply: SharedArrayBuffer;
}

// Compiled even when the caller runs from source (tests): a worker loads plain JavaScript.
const TRIAL_WORKER = join(PROJECT_ROOT, 'dist/host/nf/trial-worker.js');

let worker: Worker | undefined;

/** Instantiates, checks and (given a config) configures a trial instance of nf; throws
 *  an NfModuleError saying why it cannot run. */
export function runTrial(nf: NfModule, name: string, opts: Omit<TrialJob, 'nf' | 'name' | 'reply'> = {}): void {
  if (nf.js || nf.native) {
    // The operator's own JavaScript (imported by this thread: preloadJsNf) or C: checked here.
    createNfInstance(nf, name, { ...opts, log: () => {} });
    return;
  }
  if (worker === undefined) {
    worker = new Worker(TRIAL_WORKER);
    worker.unref();
  }
  const reply = new SharedArrayBuffer(8 + REPLY_BYTES);
  const state = new Int32Array(reply, 0, 2);
  worker.postMessage({ nf, name, ...opts, reply } satisfies TrialJob);
  Atomics.wait(state, 0, IDLE, PICKUP_MS);
  if (Atomics.wait(state, 0, RUNNING, TRIAL_MS) === 'timed-out') {
    void worker.terminate();
    worker = undefined;
    throw new NfModuleError(nf.path, `${name}: did not return from its start, ABI and configure calls within ${TRIAL_MS} ms`);
  }
  const outcome = Atomics.load(state, 0);
  if (outcome === PASSED) return;
  if (outcome !== REFUSED) throw new Error(`the trial thread did not take ${nf.path} in ${PICKUP_MS} ms`);
  const reason = Buffer.from(reply, 8, state[1]).toString('utf8');
  const prefix = `${nf.path}: `;
  throw new NfModuleError(nf.path, reason.startsWith(prefix) ? reason.slice(prefix.length) : reason);
}
