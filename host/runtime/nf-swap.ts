// Hot-swap, the main thread's half: the new module is loaded, checked and
// configured on a trial instance here, off the data path; only a module that
// passed goes to the workers that run the NF (one instance per worker its
// chain runs on), each of which swaps it in between two bursts
// (host/worker/swap.ts) and answers how it went. If one of them refuses, those
// already swapped are swapped back: the NF runs one module everywhere.
import { NfModuleError, loadNfModule, takesConfig, type NfModule } from '../nf/module.js';
import { isJsNfPath } from '../nf/js-nf.js';
import { isNativeNfPath } from '../nf/native-nf.js';
import { runTrial } from '../nf/trial.js';
import type { Metric } from '../nf/host-imports.js';
import type { NfSpec, SwapOutcome } from '../worker/messages.js';
import type { Serially } from './serializer.js';
import type { VmLink } from '../nf/instance-types.js';

/** Loads a module that may be swapped in (a Wasm NF's); throws why not. */
function loadSwappable(modulePath: string): NfModule {
  if (isJsNfPath(modulePath)) throw new NfModuleError(modulePath, 'a JavaScript NF runs from the start of a run: it cannot be swapped or applied in');
  if (isNativeNfPath(modulePath)) throw new NfModuleError(modulePath, 'a native NF runs from the start of a run: it cannot be swapped or applied in');
  return loadNfModule(modulePath);
}

/** Loads a module and configures a trial instance of it as the NF would run it at a chain
 *  position; throws why not. */
export function trialInstance(
  modulePath: string, name: string, place: { names: string[]; position: number }, config: string | undefined, limits: { heapMb?: number },
): NfModule {
  const module = loadSwappable(modulePath);
  runTrial(module, name, { place, config, heapMb: limits.heapMb });
  return module;
}

/** A swap's config: the one the NF runs with, if the new module takes a config (none otherwise). */
export const RUNNING_CONFIG = Symbol('the running config');

/** An NF and what it runs now. */
export interface NfPlace {
  name: string;
  /** Number of its chain (host/runtime/chain-set.ts), and its name. */
  chain: number;
  chainName: string;
  position: number;
  /** Names of its chain, in order (for netvm_nf_index). */
  names: string[];
  /** Path of the module it runs, and that module compiled. */
  module: string;
  loaded: NfModule;
  config?: string;
  /** Its limits (from the config): a new module runs under the same unless a swap gives others. */
  limits: { heapMb?: number; batchMs?: number };
  /** Its trust level: a new module runs at the same. */
  isolated: boolean;
  /** A vm NF: its guest's region (host/vm/guest.ts). */
  vm?: VmLink;
}

/** What a place's instances are built from. */
export function specOf(place: NfPlace): NfSpec {
  return { module: place.loaded, config: place.config, heapMb: place.limits.heapMb, isolated: place.isolated, ...(place.vm && { vm: place.vm }) };
}

/** The instances of an NF: one per lane its chain runs on, with its worker's CPU. */
export interface Replica {
  lane: number;
  cpu: number;
}

/** How the swapper reaches the workers: the replicas of a chain, and a swap asked of one worker. */
export interface SwapWorkers {
  replicas(chain: number): Replica[];
  swap(replica: Replica, place: NfPlace, spec: NfSpec): Promise<SwapOutcome>;
}

export type SwapResult =
  | { nf: string; module: string; swapped: true; state: 'handed-over' | 'empty'; stateBytes: number; why?: string; pauseUs: number; buildUs: number; instances: number }
  | { nf: string; module: string; swapped: false; reason: string };

export class NfSwapper {
  constructor(
    readonly places: Map<string, NfPlace>,
    private readonly workers: SwapWorkers,
    /** Runs changes to the data plane one at a time (swaps, applies, scaling). */
    private readonly serially: Serially,
    private readonly onSwapped: (place: NfPlace, metrics: Metric[]) => void,
  ) {}

  /** Swaps the NF to a module and config (without one, the config it runs with), under new
   *  limits if given (its own otherwise). */
  swap(name: string, modulePath: string, config: string | undefined, limits?: NfPlace['limits']): Promise<SwapResult> {
    return this.serially(() => this.swapNow(name, modulePath, config ?? RUNNING_CONFIG, limits ?? this.places.get(name)!.limits));
  }

  /** Swaps the NF on every replica of its chain, or (one refusing) on none. Call serially. */
  async swapNow(name: string, modulePath: string, given: string | undefined | typeof RUNNING_CONFIG, limits: NfPlace['limits']): Promise<SwapResult> {
    const place = this.places.get(name)!;
    const refused = (reason: string): SwapResult => ({ nf: name, module: modulePath, swapped: false, reason });
    if (place.vm !== undefined) return refused(`nf ${name} runs in a guest: a new guest image takes a restart of the run`);
    let module: NfModule;
    let config: string | undefined;
    try {
      module = loadSwappable(modulePath);
      config = given !== RUNNING_CONFIG ? given : takesConfig(module) ? place.config : undefined;
      runTrial(module, name, { place: { names: place.names, position: place.position }, config, heapMb: limits.heapMb });
    } catch (err) {
      return refused((err as Error).message);
    }
    const spec: NfSpec = { module, config, heapMb: limits.heapMb, isolated: place.isolated };
    const replicas = this.workers.replicas(place.chain);
    const done: { replica: Replica; outcome: Extract<SwapOutcome, { ok: true }> }[] = [];
    for (const replica of replicas) {
      const outcome = await this.workers.swap(replica, place, spec).catch((err: unknown): SwapOutcome => ({ ok: false, reason: (err as Error).message }));
      if (outcome.ok) {
        done.push({ replica, outcome });
        continue;
      }
      // Back to the old module where it went in already (its state handed back).
      for (const d of done) await this.workers.swap(d.replica, place, specOf(place)).catch(() => undefined);
      const where = replicas.length > 1 ? ` (on the instance of lane ${replica.lane}; ${done.length} already swapped went back)` : '';
      return refused(`${outcome.reason}${where}`);
    }
    place.module = modulePath;
    place.loaded = module;
    place.limits = limits;
    if (config !== undefined) place.config = config;
    else delete place.config;
    const outcomes = done.map((d) => d.outcome);
    if (outcomes.length > 0) this.onSwapped(place, outcomes[0]!.metrics);
    const empty = outcomes.find((o) => o.state === 'empty');
    return {
      nf: name, module: modulePath, swapped: true, state: empty === undefined ? 'handed-over' : 'empty',
      stateBytes: outcomes.reduce((n, o) => n + o.stateBytes, 0), ...(empty?.why !== undefined && { why: empty.why }),
      pauseUs: Math.max(0, ...outcomes.map((o) => o.pauseUs)), buildUs: Math.max(0, ...outcomes.map((o) => o.buildUs)), instances: outcomes.length,
    };
  }
}
