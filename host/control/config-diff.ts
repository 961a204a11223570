// netvm apply, the plan: what differs between the running config and a new
// one, as Snabb's engine.configure sees it: NFs whose module, config or
// limits changed are swapped live (each one only), chains whose number of
// workers changed are scaled; everything else must be as it is, or the new
// config is refused as a whole with the reasons. (Ports, cores, the pool,
// EAL, the chains' paths and the set of NFs need a restart today.)
import { isDeepStrictEqual } from 'node:util';
import type { DataPlaneConfig, NfConfig } from './config.js';

export interface ApplyPlan {
  /** NFs to swap, with what they become. */
  swaps: NfConfig[];
  /** Chains to scale: index and workers. */
  scales: { chain: number; workers: number }[];
  unchanged: string[];
  /** Changes that a live apply cannot make: each a field and what changed. */
  needRestart: string[];
}

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
  const scales: ApplyPlan['scales'] = [];
  next.chains.forEach((chain, i) => {
    const now = running.chains[i];
    same(`chains[${i}]`, now && { ...now, workers: chain.workers }, chain);
    if (now !== undefined && now.workers !== chain.workers) scales.push({ chain: i, workers: chain.workers });
  });
  if (running.chains.length > next.chains.length) needRestart.push(`chains: ${running.chains.length - next.chains.length} removed (a restart applies it)`);
  const names = (c: DataPlaneConfig): string[] => c.nfs.map((n) => n.name).sort();
  for (const name of names(next)) if (!names(running).includes(name)) needRestart.push(`nfs.${name}: added (a restart applies it)`);
  for (const name of names(running)) if (!names(next).includes(name)) needRestart.push(`nfs.${name}: removed (a restart applies it)`);
  const swaps: NfConfig[] = [];
  const unchanged: string[] = [];
  for (const nf of next.nfs) {
    const old = running.nfs.find((n) => n.name === nf.name);
    if (old === undefined) continue;
    if (old.trust !== nf.trust) needRestart.push(`nfs.${nf.name}.trust: changed (a restart applies it)`);
    else if (isDeepStrictEqual(old, nf)) unchanged.push(nf.name);
    else swaps.push(nf);
  }
  return { swaps, scales, unchanged, needRestart };
}
