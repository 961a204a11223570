// A data-plane worker: one long-lived piscina task per data core. It pins
// itself, builds an NF instance per chain member with the pool mapped into its
// memory, reports ready, and runs its chains until told to stop.
import { Chain } from '../chain/chain.js';
import { addressOf, check, native } from '../dataplane/native.js';
import { createNfInstance, type PoolWindow } from '../nf/instance.js';
import { pinThisThread } from './affinity.js';
import { CONTROL_STOP, type WorkerEvent, type WorkerTask } from './messages.js';

/** Empty polls in a row before the worker starts to nap between polls. */
const IDLE_POLLS = 4096;
const IDLE_NAP_MS = 0.05;

function buildChains(task: WorkerTask): Chain[] {
  const pool: PoolWindow = {
    len: task.pool.len,
    pageSize: task.pool.pageSize,
    map: (address) => void check(native().poolMap(address)),
    addressOf: (memory) => addressOf(memory.buffer),
  };
  return task.lanes.map((lane) => {
    const instances = lane.nfs.map((nf) => createNfInstance(nf.module, nf.name, pool));
    // Every trap is counted; only the first of each NF is reported, so that an
    // NF that traps on every burst cannot flood the main thread.
    const reported = new Set<string>();
    const onTrap = (nf: { name: string }, err: unknown): void => {
      if (reported.has(nf.name)) return;
      reported.add(nf.name);
      const event: WorkerEvent = { type: 'trap', lane: lane.lane, nf: nf.name, message: String(err) };
      task.events.postMessage(event);
    };
    const { lane: id, rx, ret, counters } = lane;
    const toPortId = task.portIds[lane.toPort]!;
    return new Chain({ id, rx, ret, counters, nfs: instances, toPortId, portIds: task.portIds }, onTrap);
  });
}

export default function runWorker(task: WorkerTask): void {
  pinThisThread(task.cpu);
  const chains = buildChains(task);
  const control = new Int32Array(task.control);
  const ready: WorkerEvent = { type: 'ready', cpu: task.cpu };
  task.events.postMessage(ready);

  let idle = 0;
  while (Atomics.load(control, CONTROL_STOP) === 0) {
    let work = 0;
    for (let i = 0; i < chains.length; i++) work += chains[i]!.poll();
    if (work !== 0) idle = 0;
    else if (++idle > IDLE_POLLS) Atomics.wait(control, CONTROL_STOP, 0, IDLE_NAP_MS);
  }
  task.events.close();
}
