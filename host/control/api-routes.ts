// The calls of the control API (version 1), over what a running data plane
// exposes to them. docs/control-api.md is their reference.
import type { Reply } from './api.js';
import type { NfSwapper, SwapResult } from './nf-swap.js';
import { nfConfigText, type DataPlaneConfig } from './config.js';
import { planApply } from './config-diff.js';
import type { ChainSummary, PortSummary } from './stats.js';

export interface RunningDataPlane {
  startedAt: number;
  /** The config it started with (its NFs' current modules and configs are the swapper's). */
  config: DataPlaneConfig;
  chains: { name: string; nfs: string[] }[];
  swapper: NfSwapper;
  counters(): { ports: PortSummary[]; chains: ChainSummary[]; pool: { mbufs: number; available: number } };
  stop(): void;
}

const notFound = (what: string): Reply => ({ status: 404, body: { error: what } });

export async function route(dp: RunningDataPlane, method: string, path: string, body: unknown): Promise<Reply> {
  if (method === 'GET' && path === '/v1/status') {
    return {
      status: 200,
      body: {
        state: 'running',
        uptimeS: (Date.now() - dp.startedAt) / 1000,
        chains: dp.chains,
        nfs: [...dp.swapper.places.values()].map((p) => ({ name: p.name, module: p.module, chain: dp.chains[p.lane]!.name, position: p.position })),
      },
    };
  }
  if (method === 'GET' && path === '/v1/stats') return { status: 200, body: { uptimeS: (Date.now() - dp.startedAt) / 1000, ...dp.counters() } };
  if (method === 'POST' && path === '/v1/stop') {
    dp.stop();
    return { status: 200, body: { stopping: true } };
  }
  if (method === 'POST' && path === '/v1/apply') return apply(dp, (body as { config?: DataPlaneConfig } | undefined)?.config);
  const swap = /^\/v1\/nfs\/([^/]+)\/swap$/.exec(path);
  if (swap && method === 'POST') {
    const name = decodeURIComponent(swap[1]!);
    if (!dp.swapper.places.has(name)) return notFound(`no NF named '${name}' (running: ${[...dp.swapper.places.keys()].join(', ')})`);
    const { module, config } = (body ?? {}) as { module?: unknown; config?: unknown };
    if (typeof module !== 'string' || module.length === 0) return { status: 400, body: { error: 'module: required, the path of a .wasm file' } };
    if (config !== undefined && (typeof config !== 'object' || config === null)) {
      return { status: 400, body: { error: 'config: must be an object (the NF\'s config), if given' } };
    }
    const result = await dp.swapper.swap(name, module, config === undefined ? undefined : JSON.stringify(config));
    return { status: result.swapped ? 200 : 422, body: result };
  }
  return notFound(`no call ${method} ${path}: see docs/control-api.md`);
}

/** A new config (resolved and checked by the client): what changed is applied, or nothing is. */
async function apply(dp: RunningDataPlane, next: DataPlaneConfig | undefined): Promise<Reply> {
  if (typeof next !== 'object' || next === null || !Array.isArray(next.nfs) || !Array.isArray(next.chains)) {
    return { status: 400, body: { error: 'config: required, a resolved data-plane config (netvm apply sends one)' } };
  }
  // What runs now: the config it started with, its NFs as swaps and applies have left them.
  const nfs = [...dp.swapper.places.values()].map((p) => ({
    name: p.name, module: p.module, config: p.config === undefined ? null : JSON.parse(p.config) as unknown, limits: p.limits,
    trust: p.isolated ? 'isolated' as const : 'shared' as const,
  }));
  const plan = planApply({ ...dp.config, nfs }, next);
  if (plan.needRestart.length > 0) return { status: 422, body: { applied: false, reasons: plan.needRestart } };
  // Every changed NF's module and config are checked before any is swapped: all or nothing.
  const reasons: string[] = [];
  for (const nf of plan.swaps) {
    try {
      dp.swapper.trial(nf.name, nf.module, nfConfigText(nf), nf.limits);
    } catch (err) {
      reasons.push(`nfs.${nf.name}: ${(err as Error).message}`);
    }
  }
  if (reasons.length > 0) return { status: 422, body: { applied: false, reasons } };
  const swapped: SwapResult[] = [];
  for (const nf of plan.swaps) {
    swapped.push(await dp.swapper.swap(nf.name, nf.module, nfConfigText(nf), nf.limits));
  }
  const ok = swapped.every((r) => r.swapped);
  return { status: ok ? 200 : 422, body: { applied: ok, swapped, unchanged: plan.unchanged } };
}
