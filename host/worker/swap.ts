// A hot-swap on the worker: between two bursts, the NF at one chain position
// is replaced by a new instance of a (possibly) new module. The new instance
// gets its pool window and its config; if the old one exports state and the
// new one imports it, the state moves across; then the C chain points at the
// new instance's batch records. Building the new instance and handing over to
// it are turns of their own, with bursts between them: the chains stand still
// for each, and both are measured.
import { nfLink, type Chain, type NfLink } from '../chain/chain.js';
import { createNfInstance, exportState, importState, stateHandover, type NfInstance, type PoolWindow } from '../nf/instance.js';
import type { NfSpec, SwapOutcome, SwapRequest } from './messages.js';
import type { SpareMemories } from './spares.js';

/** Turns a swap's build waits for one in which the chains found no packet (at full load there is none). */
const SWAP_WAIT_TURNS = 64;

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

/** A swap in two turns of the worker's own, between bursts. The first builds the successor
 *  (in a ready memory, instantiated and configured), in a turn in which the worker's chains found
 *  nothing to do if one comes within SWAP_WAIT_TURNS; the next, after the chains have run again,
 *  moves the state and points the chain at the successor: that is the pause. The old instance's
 *  memory is scrubbed for the next swap in later turns (host/worker/spares.ts). Any failure
 *  leaves the old instance in place. */
export class SwapInTurns {
  private fresh: { nf: NfInstance; link: NfLink } | undefined;
  private buildUs = 0;
  private waited = 0;

  constructor(readonly req: SwapRequest, private readonly target: SwapTarget, private readonly pool: PoolWindow, private readonly spares: SpareMemories) {}

  /** Whether to take the next step in a turn whose chains ran `work` packets. */
  due(work: number): boolean {
    return this.fresh !== undefined || work === 0 || ++this.waited >= SWAP_WAIT_TURNS;
  }

  /** Takes the next step; returns the outcome once there is one. */
  step(): SwapOutcome | undefined {
    return this.fresh === undefined ? this.build() : this.handOver(this.fresh.nf, this.fresh.link);
  }

  private build(): SwapOutcome | undefined {
    const { req, target } = this;
    const t0 = performance.now();
    const old = target.instances[req.position];
    if (old === undefined || old.name !== req.nf) return { ok: false, reason: `no NF ${req.nf} at position ${req.position} of lane ${req.lane}` };
    try {
      const nf = instanceOf(req.spec, req.nf, this.pool, { names: target.names, position: req.position }, this.spares);
      this.fresh = { nf, link: nfLink(nf) };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    this.buildUs = (performance.now() - t0) * 1000;
    return undefined;
  }

  private handOver(fresh: NfInstance, link: NfLink): SwapOutcome {
    const { req, target } = this;
    const t0 = performance.now();
    const old = target.instances[req.position]!; // the same NF, or a fresh instance of it after a trap
    let state: Uint8Array | undefined;
    let why: string | undefined;
    try {
      const can = { old: stateHandover(old), fresh: stateHandover(fresh) };
      if (!can.old.exports) why = `${old.path} does not export its state`;
      else if (!can.fresh.imports) why = `${req.spec.module.path} does not import state`;
      else {
        state = exportState(old);
        if (state === undefined) why = 'the old instance had no state to give';
        else importState(fresh, state);
      }
    } catch (err) {
      this.spares.reuse(fresh, req.spec);
      return { ok: false, reason: (err as Error).message };
    }
    target.chain.replace(req.position, fresh, link);
    target.instances[req.position] = fresh;
    this.spares.reuse(old, target.specs[req.position]!);
    target.specs[req.position] = req.spec;
    const pauseUs = (performance.now() - t0) * 1000;
    return {
      ok: true, state: state !== undefined ? 'handed-over' : 'empty', stateBytes: state?.length ?? 0,
      ...(why !== undefined && { why }), metrics: fresh.host.metrics, pauseUs, buildUs: this.buildUs,
    };
  }
}
