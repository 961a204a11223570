// A hot-swap on the worker: between two bursts, the NF at one chain position
// is replaced by a new instance of a (possibly) new module. The new instance
// gets its pool window and its config; if the old one exports state and the
// new one imports it, the state moves across; then the C chain points at the
// new instance's batch records. Any failure leaves the old instance in place.
// The chains of this worker stand still meanwhile: the pause is measured.
import type { Chain } from '../chain/chain.js';
import { createNfInstance, exportState, importState, stateHandover, type NfInstance, type PoolWindow } from '../nf/instance.js';
import type { NfSpec, SwapOutcome, SwapRequest } from './messages.js';
import type { SpareMemories } from './spares.js';

export interface SwapTarget {
  chain: Chain;
  instances: NfInstance[];
  names: string[];
  /** What each position runs (a re-created instance gets the same). */
  specs: NfSpec[];
}

/** A new instance of a spec at a chain position, the pool in its memory (or copies of its
 *  packets); in a spare memory when one is ready. */
export function instanceOf(spec: NfSpec, name: string, pool: PoolWindow, place: { names: string[]; position: number }, spares: SpareMemories): NfInstance {
  if (spec.vm !== undefined) return createNfInstance(spec.module, name, { vm: spec.vm });
  const memory = spares.take(spec);
  return createNfInstance(spec.module, name, { pool, place, config: spec.config, heapMb: spec.heapMb, isolated: spec.isolated, ...(memory && { memory }) });
}

/** The pause reported covers building the new instance and the state's move; the old
 *  instance's memory is scrubbed for the next swap in a later turn (host/worker/spares.ts). */
export function swapNf(target: SwapTarget, req: SwapRequest, pool: PoolWindow, spares: SpareMemories): SwapOutcome {
  const t0 = performance.now();
  const old = target.instances[req.position];
  if (old === undefined || old.name !== req.nf) return { ok: false, reason: `no NF ${req.nf} at position ${req.position} of lane ${req.lane}` };
  let fresh: NfInstance | undefined;
  let state: Uint8Array | undefined;
  let why: string | undefined;
  try {
    fresh = instanceOf(req.spec, req.nf, pool, { names: target.names, position: req.position }, spares);
    const can = { old: stateHandover(old), fresh: stateHandover(fresh) };
    if (!can.old.exports) why = `${old.path} does not export its state`;
    else if (!can.fresh.imports) why = `${req.spec.module.path} does not import state`;
    else {
      state = exportState(old);
      if (state === undefined) why = 'the old instance had no state to give';
      else importState(fresh, state);
    }
  } catch (err) {
    if (fresh !== undefined) spares.reuse(fresh, req.spec);
    return { ok: false, reason: (err as Error).message };
  }
  target.chain.replace(req.position, fresh);
  target.instances[req.position] = fresh;
  spares.reuse(old, target.specs[req.position]!);
  target.specs[req.position] = req.spec;
  const pauseUs = (performance.now() - t0) * 1000;
  return {
    ok: true, state: state !== undefined ? 'handed-over' : 'empty', stateBytes: state?.length ?? 0,
    ...(why !== undefined && { why }), metrics: fresh.host.metrics, pauseUs,
  };
}
