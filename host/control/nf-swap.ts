// Hot-swap, the main thread's half: the new module is loaded, checked and
// configured on a trial instance here, off the data path; only a module that
// passed goes to the worker that runs the NF, which swaps it in between two
// bursts (host/worker/swap.ts) and answers how it went.
import type { MessagePort } from 'node:worker_threads';
import { createNfInstance } from '../nf/instance.js';
import { loadNfModule, type NfModule } from '../nf/module.js';
import type { Metric } from '../nf/host-imports.js';
import type { SwapOutcome, SwapRequest, WorkerEvent } from '../worker/messages.js';

/** Where an NF runs, and what it runs now. */
export interface NfPlace {
  name: string;
  lane: number;
  position: number;
  /** Names of its chain, in order (for netvm_nf_index). */
  chain: string[];
  /** The port of the worker that runs it (set once the worker starts, changed when it is replaced). */
  port?: MessagePort;
  module: string;
  config?: string;
  /** Its limits (from the config): a new module runs under the same. */
  limits: { heapMb?: number; batchMs?: number };
  /** Its trust level: a new module runs at the same. */
  isolated: boolean;
}

export type SwapResult =
  | { nf: string; module: string; swapped: true; state: 'handed-over' | 'empty'; stateBytes: number; why?: string; pauseUs: number }
  | { nf: string; module: string; swapped: false; reason: string };

const SWAP_TIMEOUT_MS = 30_000;

export class NfSwapper {
  private nextId = 1;
  private readonly pending = new Map<number, (o: SwapOutcome) => void>();
  /** One swap at a time: the next waits for the last. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly places: Map<string, NfPlace>,
    private readonly onSwapped: (place: NfPlace, metrics: Metric[]) => void,
  ) {}

  /** Feed every worker event here: it settles the swap it answers. */
  handle(e: WorkerEvent): void {
    if (e.type !== 'swapped') return;
    this.pending.get(e.id)?.(e.outcome);
    this.pending.delete(e.id);
  }

  /** Swaps the NF to a module and config, under new limits if given (its own otherwise). */
  swap(name: string, modulePath: string, config: string | undefined, limits?: NfPlace['limits']): Promise<SwapResult> {
    const run = this.queue.then(() => this.swapNow(name, modulePath, config, limits ?? this.places.get(name)!.limits));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Loads a module and configures a trial instance of it as the NF would run it; throws why not. */
  trial(name: string, modulePath: string, config: string | undefined, limits = this.places.get(name)!.limits): NfModule {
    const place = this.places.get(name)!;
    const module = loadNfModule(modulePath);
    createNfInstance(module, name, {
      log: () => {}, place: { names: place.chain, position: place.position }, config, heapMb: limits.heapMb,
    });
    return module;
  }

  private async swapNow(name: string, modulePath: string, config: string | undefined, limits: NfPlace['limits']): Promise<SwapResult> {
    const place = this.places.get(name)!;
    const refused = (reason: string): SwapResult => ({ nf: name, module: modulePath, swapped: false, reason });
    let module: NfModule;
    try {
      module = this.trial(name, modulePath, config, limits);
    } catch (err) {
      return refused((err as Error).message);
    }
    if (place.port === undefined) return refused('its worker is not running');
    const port = place.port;
    const id = this.nextId++;
    const outcome = await new Promise<SwapOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, reason: `the worker did not answer within ${SWAP_TIMEOUT_MS / 1000} s` });
      }, SWAP_TIMEOUT_MS);
      this.pending.set(id, (o) => {
        clearTimeout(timer);
        resolve(o);
      });
      const request: SwapRequest = {
        type: 'swap', id, lane: place.lane, position: place.position, nf: name, spec: { module, config, heapMb: limits.heapMb, isolated: place.isolated },
      };
      port.postMessage(request);
    });
    if (!outcome.ok) return refused(outcome.reason);
    place.module = modulePath;
    place.limits = limits;
    if (config !== undefined) place.config = config;
    else delete place.config;
    this.onSwapped(place, outcome.metrics);
    return {
      nf: name, module: modulePath, swapped: true, state: outcome.state, stateBytes: outcome.stateBytes,
      ...(outcome.why !== undefined && { why: outcome.why }), pauseUs: outcome.pauseUs,
    };
  }
}
