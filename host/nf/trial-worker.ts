// The trial thread (host/nf/trial.ts): one trial instance per job, its outcome
// written to the job's shared reply.
import { parentPort } from 'node:worker_threads';
import { createNfInstance } from './instance.js';
import { PASSED, REFUSED, REPLY_BYTES, RUNNING, type TrialJob } from './trial.js';

parentPort!.on('message', (job: TrialJob) => {
  const state = new Int32Array(job.reply, 0, 2);
  Atomics.store(state, 0, RUNNING);
  Atomics.notify(state, 0);
  let outcome = PASSED;
  try {
    createNfInstance(job.nf, job.name, { config: job.config, place: job.place, heapMb: job.heapMb, log: () => {} });
  } catch (err) {
    const reason = new TextEncoder().encode((err as Error).message).subarray(0, REPLY_BYTES);
    new Uint8Array(job.reply, 8, reason.length).set(reason);
    state[1] = reason.length;
    outcome = REFUSED;
  }
  Atomics.store(state, 0, outcome);
  Atomics.notify(state, 0);
});
