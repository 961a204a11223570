// The calls of the control API (version 1), over what a running data plane
// exposes to them. docs/control-api.md is their reference.
import type { Reply } from './api.js';
import type { NfSwapper, SwapResult } from '../runtime/nf-swap.js';
import { nfConfigText, type ChainConfig, type DataPlaneConfig, type NfConfig } from '../config/config.js';
import type { NfModule } from '../nf/module.js';
import { trialInstance } from '../runtime/nf-swap.js';
import { planApply } from '../config/config-diff.js';
import type { ChainSummary, PortSummary } from '../observe/stats.js';
import type { ScaleResult } from '../runtime/chain-set.js';
import type { Serially } from '../runtime/serializer.js';
import type { DataPlaneMetrics, EventCounts } from '../observe/metrics.js';
import type { RateHistory } from '../observe/history.js';
import { MAX_SNAPLEN, type Captures } from '../observe/capture.js';
import { DASHBOARD_FILES, dashboardFile } from './dashboard.js';

export interface RunningDataPlane {
  startedAt: number;
  /** The config as it runs now: the one it started with, its NFs and chains as swaps, applies and scaling left them. */
  current(): DataPlaneConfig;
  swapper: NfSwapper;
  /** Runs a change after those under way (swaps, applies, scaling never overlap). */
  serially: Serially;
  /** These run serially: */
  scale(chain: string, n: number): Promise<ScaleResult>;
  /** Starts a chain with fresh instances of its NFs (modules loaded already); an error says why not. */
  addChain(chain: ChainConfig, nfs: { nf: NfConfig; module: NfModule }[]): Promise<string | undefined>;
  /** Delivers the operator's message to every replica of an NF (a known one), between two bursts. */
  message(nf: string, bytes: Uint8Array): Promise<MessageReplies>;
  /** Stops a chain: its port is not read, its replicas hand back every packet and end. */
  removeChain(name: string): Promise<string | undefined>;
  counters(): { ports: PortSummary[]; chains: ChainSummary[]; pool: { mbufs: number; available: number } };
  /** Prometheus text of the counters, and the events counted so far. */
  metrics: DataPlaneMetrics;
  captures: Captures;
  /** CPU seconds of the data plane's threads so far (the workers, the poll lcore). */
  threads(): { name: string; seconds: number }[];
  events: EventCounts;
  /** The chains' and NFs' rates, a sample a second, over the last minutes. */
  history: RateHistory;
  stop(): void;
}

/** Per replica of an NF (its lane), the NF's answer to a message, or why it did not take it. */
export type MessageReplies = { lane: number; answer?: string; error?: string }[];

const notFound = (what: string): Reply => ({ status: 404, body: { error: what } });

const reasonOf = (body: unknown): string => {
  const b = body as { reason?: unknown; error?: unknown; reasons?: unknown };
  return String(b.reason ?? b.error ?? (Array.isArray(b.reasons) ? b.reasons.join('; ') : 'no reason'));
};

/** The calls that change the data plane, counted by outcome (netvm_events_total). */
const CHANGES: [RegExp, string][] = [[/^\/v1\/nfs\/[^/]+\/swap$/, 'swap'], [/^\/v1\/chains\/[^/]+\/scale$/, 'scale'], [/^\/v1\/apply$/, 'apply']];

export async function route(dp: RunningDataPlane, method: string, path: string, body: unknown): Promise<Reply> {
  const reply = await answer(dp, method, path, body);
  const change = method === 'POST' ? CHANGES.find(([re]) => re.test(path)) : undefined;
  if (change !== undefined && reply.status !== 404) {
    const outcome = reply.status === 200 ? 'done' : 'refused';
    const what = decodeURIComponent(path.split('/')[3] ?? '');
    dp.events.count(change[1], outcome, `${change[1]}${change[1] === 'apply' ? '' : ` ${what}`}: ${outcome}${outcome === 'refused' ? ` (${reasonOf(reply.body)})` : ''}`);
  }
  return reply;
}

async function answer(dp: RunningDataPlane, method: string, path: string, body: unknown): Promise<Reply> {
  if (method === 'GET' && path === '/metrics') return { status: 200, body: await dp.metrics.text(), contentType: dp.metrics.contentType };
  if (method === 'GET' && path === '/v1/status') {
    const now = dp.current();
    return {
      status: 200,
      body: {
        state: 'running',
        uptimeS: (Date.now() - dp.startedAt) / 1000,
        chains: now.chains.map((c) => ({ name: c.name, from: now.ports[c.from]?.name, to: now.ports[c.to]?.name, nfs: c.through, workers: c.workers })),
        nfs: [...dp.swapper.places.values()].map((p) => ({ name: p.name, module: p.module, chain: p.chainName, position: p.position })),
      },
    };
  }
  if (method === 'GET' && path === '/v1/stats') {
    return { status: 200, body: { uptimeS: (Date.now() - dp.startedAt) / 1000, ...dp.counters(), threads: dp.threads() } };
  }
  if (method === 'GET' && path === '/v1/events') return { status: 200, body: { events: dp.events.recent } };
  if (method === 'GET' && path === '/v1/history') return { status: 200, body: { intervalS: 1, samples: dp.history.recent() } };
  const page = DASHBOARD_FILES[path];
  if (method === 'GET' && page !== undefined) return { status: 200, body: dashboardFile(page.file), contentType: page.type };
  if (method === 'POST' && path === '/v1/stop') {
    dp.stop();
    return { status: 200, body: { stopping: true } };
  }
  if (method === 'POST' && path === '/v1/apply') return apply(dp, (body as { config?: DataPlaneConfig } | undefined)?.config);
  if (method === 'POST' && path === '/v1/captures') return startCapture(dp, (body ?? {}) as Record<string, unknown>);
  const capture = /^\/v1\/captures\/(\d+)$/.exec(path);
  if (capture && (method === 'GET' || method === 'DELETE')) {
    const c = dp.captures.get(Number(capture[1]));
    if (c === undefined) return notFound(`no capture ${capture[1]}`);
    if (method === 'DELETE') await c.stop();
    return { status: 200, body: c.status() };
  }
  const scale = /^\/v1\/chains\/([^/]+)\/scale$/.exec(path);
  if (scale && method === 'POST') {
    const name = decodeURIComponent(scale[1]!);
    const chains = dp.current().chains.map((c) => c.name);
    if (!chains.includes(name)) return notFound(`no chain named '${name}' (chains: ${chains.join(', ')})`);
    const workers = (body as { workers?: unknown } | undefined)?.workers;
    if (typeof workers !== 'number') return { status: 400, body: { error: 'workers: required, the number of workers the chain is to run on' } };
    const result = await dp.serially(() => dp.scale(name, workers));
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
  const message = /^\/v1\/nfs\/([^/]+)\/message$/.exec(path);
  if (message && method === 'POST') return sendMessage(dp, decodeURIComponent(message[1]!), body);
  return notFound(`no call ${method} ${path}: see docs/control-api.md`);
}

/** The operator's message to an NF: {"message": <JSON>} goes as its JSON text, {"text": "..."} as
 *  that text. Each replica's answer is given as JSON when it is JSON, else as text. */
async function sendMessage(dp: RunningDataPlane, name: string, body: unknown): Promise<Reply> {
  if (!dp.swapper.places.has(name)) return notFound(`no NF named '${name}' (running: ${[...dp.swapper.places.keys()].join(', ')})`);
  const b = (body ?? {}) as { message?: unknown; text?: unknown };
  if ((b.message === undefined) === (b.text === undefined) || (b.text !== undefined && typeof b.text !== 'string')) {
    return { status: 400, body: { error: 'needs one of message (any JSON value, sent as its JSON text) or text (a string, sent as it is)' } };
  }
  const bytes = Buffer.from(b.text !== undefined ? (b.text as string) : JSON.stringify(b.message), 'utf8');
  const replicas = (await dp.message(name, bytes)).map(({ lane, answer, error }) => ({ lane, ...(answer !== undefined && { answer: jsonOrText(answer) }), ...(error !== undefined && { error }) }));
  const refused = replicas.filter((r) => r.error !== undefined).length;
  return { status: refused === 0 ? 200 : 422, body: { nf: name, delivered: replicas.length - refused, replicas } };
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function startCapture(dp: RunningDataPlane, b: Record<string, unknown>): Reply {
  const bad = (error: string): Reply => ({ status: 400, body: { error } });
  const { hop, file, count, snaplen = MAX_SNAPLEN, filter = '' } = b;
  if (typeof hop !== 'string') return bad('hop: required: rx:<port>, tx:<port>, or <nf>-><next nf>');
  if (typeof file !== 'string' || !file.startsWith('/')) return bad('file: required, an absolute path for the pcap file');
  if (count !== undefined && (!Number.isInteger(count) || (count as number) < 1)) return bad('count: a whole number of packets, at least 1');
  if (!Number.isInteger(snaplen) || (snaplen as number) < 1 || (snaplen as number) > MAX_SNAPLEN) return bad(`snaplen: from 1 to ${MAX_SNAPLEN} bytes`);
  if (typeof filter !== 'string') return bad('filter: a pcap filter expression (tcpdump\'s syntax)');
  const started = dp.captures.start(hop, { file, snaplen: snaplen as number, filter, ...(count !== undefined && { count: count as number }) });
  return typeof started === 'string' ? { status: 422, body: { error: started } } : { status: 200, body: started };
}

/** A new config (resolved and checked by the client): what changed is applied, or nothing is. */
async function apply(dp: RunningDataPlane, next: DataPlaneConfig | undefined): Promise<Reply> {
  if (typeof next !== 'object' || next === null || !Array.isArray(next.nfs) || !Array.isArray(next.chains)) {
    return { status: 400, body: { error: 'config: required, a resolved data-plane config (netvm apply sends one)' } };
  }
  return dp.serially(async () => {
    const plan = planApply(dp.current(), next);
    if (plan.needRestart.length > 0) return { status: 422, body: { applied: false, reasons: plan.needRestart } };
    // Every new or changed NF's module and config are checked before anything changes: all or nothing.
    const reasons: string[] = [];
    const trial = (nf: NfConfig, names: string[]): NfModule | undefined => {
      try {
        return trialInstance(nf.module, nf.name, { names, position: names.indexOf(nf.name) }, nfConfigText(nf), nf.limits);
      } catch (err) {
        reasons.push(`nfs.${nf.name}: ${(err as Error).message}`);
        return undefined;
      }
    };
    const chainOf = (nf: string): string[] => next.chains.find((c) => c.through.includes(nf))!.through;
    for (const nf of plan.swaps) trial(nf, chainOf(nf.name));
    const added = plan.addChains.map(({ chain, nfs }) => ({ chain, nfs: nfs.map((nf) => ({ nf, module: trial(nf, chain.through)! })) }));
    if (reasons.length > 0) return { status: 422, body: { applied: false, reasons } };

    const problems: string[] = [];
    for (const name of plan.removeChains) {
      const error = await dp.removeChain(name);
      if (error !== undefined) problems.push(`chains.${name}: ${error}`);
    }
    const swapped: SwapResult[] = [];
    for (const nf of plan.swaps) swapped.push(await dp.swapper.swapNow(nf.name, nf.module, nfConfigText(nf), nf.limits));
    for (const { chain, nfs } of added) {
      const error = await dp.addChain(chain, nfs);
      if (error !== undefined) problems.push(`chains.${chain.name}: ${error}`);
    }
    const scaled: ScaleResult[] = [];
    for (const { chain, workers } of plan.scales) scaled.push(await dp.scale(chain, workers));
    for (const r of scaled) if ('error' in r) problems.push(`chains.${r.chain}: ${r.error}`);
    const ok = problems.length === 0 && swapped.every((r) => r.swapped);
    return {
      status: ok ? 200 : 422,
      body: {
        applied: ok, ...(problems.length > 0 && { reasons: problems }), swapped, scaled, unchanged: plan.unchanged,
        removedChains: plan.removeChains, addedChains: plan.addChains.map((a) => a.chain.name),
      },
    };
  });
}
