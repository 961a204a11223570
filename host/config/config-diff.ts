// netvm apply, the plan: what differs between the running config and a new
// one, as Snabb's engine.configure sees it. Chains are matched by name: a
// chain whose path (ports, NFs, fail policy) changed is removed and started
// anew, as are chains only one side has; a chain whose number of workers
// changed is scaled; NFs of the chains that stay whose module, config or
// limits changed are swapped live (each one only). Everything else must be as
// it is, or the new config is refused as a whole with the reasons. (Ports,
// cores, the pool, EAL and watchdog_ms need a restart.)
import { isDeepStrictEqual } from 'node:util';
import type { ChainConfig, DataPlaneConfig, NfConfig } from './config.js';

export interface ApplyPlan {
  /** Running chains to stop, by name (removed, or about to start anew with another path). */
  removeChains: string[];
  /** Chains to start, with the NFs they run (fresh instances). */
  addChains: { chain: ChainConfig; nfs: NfConfig[] }[];
  /** NFs to swap, with what they become. */
  swaps: NfConfig[];
  /** Chains to scale, by name. */
  scales: { chain: string; workers: number }[];
  /** NFs of chains that stay, left as they are. */
  unchanged: string[];
  /** Changes that a live apply cannot make: each a field and what changed. */
  needRestart: string[];
}

const path = (c: ChainConfig): unknown => ({ from: c.from, to: c.to, through: c.through, failOpen: c.failOpen });

export function planApply(running: DataPlaneConfig, next: DataPlaneConfig): ApplyPlan {
  const needRestart: string[] = [];
  const same = (field: string, a: unknown, b: unknown): void => {
    if (!isDeepStrictEqual(a, b)) needRestart.push(`${field}: changed (a restart applies it)`);
  };
  same('cores', running.cores, next.cores);
  same('ports', running.ports, next.ports);
  same('pool', running.pool, next.pool);
  same('eal', running.eal, next.eal);
  same('watchdog_ms', running.watchdogMs, next.watchdogMs);
  const nfOf = (c: DataPlaneConfig, name: string): NfConfig => c.nfs.find((n) => n.name === name)!;

  const plan: ApplyPlan = { removeChains: [], addChains: [], swaps: [], scales: [], unchanged: [], needRestart };
  for (const now of running.chains) {
    const then = next.chains.find((c) => c.name === now.name);
    if (then === undefined || !isDeepStrictEqual(path(now), path(then))) plan.removeChains.push(now.name);
  }
  for (const chain of next.chains) {
    const now = running.chains.find((c) => c.name === chain.name);
    if (now === undefined || plan.removeChains.includes(now.name)) {
      plan.addChains.push({ chain, nfs: chain.through.map((name) => nfOf(next, name)) });
      continue;
    }
    if (now.workers !== chain.workers) plan.scales.push({ chain: chain.name, workers: chain.workers });
    for (const name of chain.through) {
      const [old, nf] = [nfOf(running, name), nfOf(next, name)];
      if (old.trust !== nf.trust) needRestart.push(`nfs.${name}.trust: changed (a restart of its chain applies it: rename the chain)`);
      else if (isDeepStrictEqual(old, nf)) plan.unchanged.push(name);
      else plan.swaps.push(nf);
    }
  }
  return plan;
}
