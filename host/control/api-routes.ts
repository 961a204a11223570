// The calls of the control API (version 1), over what a running data plane
// exposes to them. docs/control-api.md is their reference.
import type { Reply } from './api.js';
import type { NfSwapper, SwapResult } from './nf-swap.js';
import { nfConfigText, type DataPlaneConfig } from './config.js';
import { planApply } from './config-diff.js';
import type { ChainSummary, PortSummary } from './stats.js';
import type { ScaleResult } from './chain-set.js';
import type { Serially } from './serializer.js';

export interface RunningDataPlane {
  startedAt: number;
  /** The config it started with (its NFs' current modules and configs are the swapper's, its chains' workers the chains'). */
  config: DataPlaneConfig;
  chains: { name: string; nfs: string[]; workers(): number }[];
  swapper: NfSwapper;
  /** Runs a change after those under way (swaps, applies, scaling never overlap). */
  serially: Serially;
  /** Runs chain i on n workers (call serially). */
  scale(chain: number, n: number): Promise<ScaleResult>;
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
        chains: dp.chains.map((c) => ({ name: c.name, nfs: c.nfs, workers: c.workers() })),
        nfs: [...dp.swapper.places.values()].map((p) => ({ name: p.name, module: p.module, chain: dp.chains[p.chain]!.name, position: p.position })),
      },
    };
  }
  if (method === 'GET' && path === '/v1/stats') return { status: 200, body: { uptimeS: (Date.now() - dp.startedAt) / 1000, ...dp.counters() } };
  if (method === 'POST' && path === '/v1/stop') {
    dp.stop();
    return { status: 200, body: { stopping: true } };
  }
  if (method === 'POST' && path === '/v1/apply') return apply(dp, (body as { config?: DataPlaneConfig } | undefined)?.config);
  const scale = /^\/v1\/chains\/([^/]+)\/scale$/.exec(path);
  if (scale && method === 'POST') {
    const name = decodeURIComponent(scale[1]!);
    const i = dp.chains.findIndex((c) => c.name === name);
    if (i < 0) return notFound(`no chain named '${name}' (chains: ${dp.chains.map((c) => c.name).join(', ')})`);
    const workers = (body as { workers?: unknown } | undefined)?.workers;
    if (typeof workers !== 'number') return { status: 400, body: { error: 'workers: required, the number of workers the chain is to run on' } };
    const result = await dp.serially(() => dp.scale(i, workers));
    return { status: 'error' in result ? 422 : 200, body: result };
  }
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
  // What runs now: the config it started with, its NFs and chains as swaps, applies and scaling have left them.
  const nfs = [...dp.swapper.places.values()].map((p) => ({
    name: p.name, module: p.module, config: p.config === undefined ? null : JSON.parse(p.config) as unknown, limits: p.limits,
    trust: p.isolated ? 'isolated' as const : 'shared' as const,
  }));
  const chains = dp.config.chains.map((c, i) => ({ ...c, workers: dp.chains[i]!.workers() }));
  const plan = planApply({ ...dp.config, nfs, chains }, next);
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
  return dp.serially(async () => {
    const swapped: SwapResult[] = [];
    for (const nf of plan.swaps) swapped.push(await dp.swapper.swapNow(nf.name, nf.module, nfConfigText(nf), nf.limits));
    const scaled: ScaleResult[] = [];
    if (swapped.every((r) => r.swapped)) for (const { chain, workers } of plan.scales) scaled.push(await dp.scale(chain, workers));
    const ok = swapped.every((r) => r.swapped) && scaled.every((r) => !('error' in r));
    return { status: ok ? 200 : 422, body: { applied: ok, swapped, scaled, unchanged: plan.unchanged } };
  });
}
