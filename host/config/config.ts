// Loading a data-plane config: YAML → schema check → references between
// sections → a resolved DataPlaneConfig. Every error starts with the path of
// the field it is about; all errors of a file are reported together.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_MBUFS, DEFAULT_NAP_US, DEFAULT_WATCHDOG_MS, configSchema } from './config-schema.js';
import { checkExtraEalArgs } from './eal-args.js';
import { POOL_DATA_ROOM } from '../dataplane/pool-layout.js';
import { readPcap } from '../pcap/index.js';

import type { DataPlaneConfig, HugepageMode } from './config-types.js';
export type { ChainConfig, DataPlaneConfig, HugepageMode, NfConfig, PortConfig } from './config-types.js';

/** An NF's config as the text its netvm_configure gets, if it has one. */
export function nfConfigText(nf: { config: unknown }): string | undefined {
  return nf.config === null ? undefined : JSON.stringify(nf.config);
}

export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: invalid config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

interface RawConfig {
  cores: { poll: number; workers: number[]; nap_us?: number };
  ports: Record<string, string>;
  nfs: Record<string, { module: string; config?: unknown; config_file?: string; limits?: { heap_mb?: number; batch_ms?: number }; trust?: 'shared' | 'isolated' | 'vm'; via?: 'ivshmem' | 'vhost-user' }>;
  chains: { name?: string; from: string; through: string[]; to: string; fail?: 'closed' | 'open'; workers?: number }[];
  pool?: { mbufs?: number; hugepages?: HugepageMode };
  eal?: string[];
  watchdog_ms?: number;
}

const validate = new Ajv({ allErrors: true, strict: true, verbose: true }).compile<RawConfig>(configSchema);

function fieldPath(instancePath: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.reduce((path, p) => (/^\d+$/.test(p) ? `${path}[${p}]` : path ? `${path}.${p}` : p), '') || '(top level)';
}

function schemaProblem(e: ErrorObject): string {
  const at = fieldPath(e.instancePath);
  const join = (key: string): string => (at === '(top level)' ? key : `${at}.${key}`);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${join(String(e.params.additionalProperty))}: unknown key`;
    case 'required':
      return `${join(String(e.params.missingProperty))}: is required`;
    case 'pattern':
      return `${at}: '${String(e.data)}' is not a DPDK devargs string (driver[,key=value...])`;
    default:
      return `${at}: ${e.message ?? 'is invalid'}`;
  }
}

function checkCores(raw: RawConfig, problems: string[]): void {
  const nCpus = availableParallelism();
  const cpuCheck = (path: string, cpu: number): void => {
    if (cpu >= nCpus) problems.push(`${path}: CPU ${cpu} does not exist (this machine has CPUs 0-${nCpus - 1})`);
  };
  cpuCheck('cores.poll', raw.cores.poll);
  raw.cores.workers.forEach((cpu, i) => {
    cpuCheck(`cores.workers[${i}]`, cpu);
    if (cpu === raw.cores.poll) problems.push(`cores.workers[${i}]: CPU ${cpu} is the poll core; a worker needs a CPU of its own`);
    if (raw.cores.workers.indexOf(cpu) !== i) problems.push(`cores.workers[${i}]: CPU ${cpu} is listed twice`);
  });
}

function checkChains(raw: RawConfig, portNames: string[], problems: string[]): void {
  const nfUser = new Map<string, string>();
  const portUser = new Map<string, string>();
  const portList = portNames.join(', ');
  const nfList = Object.keys(raw.nfs).join(', ') || 'none';
  const chainNames = new Map<string, string>();
  raw.chains.forEach((chain, i) => {
    const at = `chains[${i}]`;
    const name = chain.name ?? `${chain.from}->${chain.to}`;
    const named = chainNames.get(name);
    if (named !== undefined) problems.push(`${at}.name: '${name}' is the name of ${named} too; chains need names of their own`);
    chainNames.set(name, at);
    for (const end of ['from', 'to'] as const) {
      if (!portNames.includes(chain[end])) problems.push(`${at}.${end}: no port named '${chain[end]}' (ports: ${portList})`);
    }
    const reader = portUser.get(chain.from);
    if (reader !== undefined) problems.push(`${at}.from: port '${chain.from}' is already read by ${reader}`);
    portUser.set(chain.from, at);
    chain.through.forEach((nf, j) => {
      if (!(nf in raw.nfs)) {
        problems.push(`${at}.through[${j}]: no NF named '${nf}' (nfs: ${nfList})`);
        return;
      }
      const user = nfUser.get(nf);
      if (user !== undefined) {
        problems.push(`${at}.through[${j}]: NF '${nf}' is already used at ${user}; an NF entry is one instance, declare another`);
      }
      nfUser.set(nf, `${at}.through[${j}]`);
    });
  });
}

/** An NF's config from a file: JSON (.json, parsed fast, for big tables) or
 * YAML; throws an Error that says which file and what is wrong with it. */
export function loadNfConfigFile(path: string): unknown {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

function readConfigFile(field: string, path: string, problems: string[]): unknown {
  try {
    return loadNfConfigFile(path);
  } catch (err) {
    problems.push(`${field}: ${(err as Error).message}`);
    return null;
  }
}

/** Checks a parsed config; `source` names it in errors. */
export function resolveConfig(data: unknown, source: string): DataPlaneConfig {
  if (!validate(data)) throw new ConfigError(source, (validate.errors ?? []).map(schemaProblem));
  const raw = data;
  const problems: string[] = [];
  const portNames = Object.keys(raw.ports);
  checkCores(raw, problems);
  checkChains(raw, portNames, problems);
  const nfs = Object.entries(raw.nfs).map(([name, nf]) => {
    const module = resolve(nf.module);
    if (!existsSync(module)) problems.push(`nfs.${name}.module: no such file: ${module}`);
    let config: unknown = nf.config ?? null;
    if (nf.config_file !== undefined) {
      if (nf.config !== undefined) problems.push(`nfs.${name}: give config or config_file, not both`);
      else config = readConfigFile(`nfs.${name}.config_file`, nf.config_file, problems);
    }
    const limits = {
      ...(nf.limits?.heap_mb !== undefined && { heapMb: nf.limits.heap_mb }),
      ...(nf.limits?.batch_ms !== undefined && { batchMs: nf.limits.batch_ms }),
    };
    if (nf.trust === 'vm' && limits.heapMb !== undefined) problems.push(`nfs.${name}.limits.heap_mb: a vm NF's memory is its guest's`);
    if (nf.via !== undefined && nf.trust !== 'vm') problems.push(`nfs.${name}.via: only a vm NF (trust: vm) is reached over ${nf.via}`);
    if (nf.via === 'vhost-user' && nf.config !== undefined) problems.push(`nfs.${name}.config: a vhost-user guest is configured in its image, not by the host`);
    return { name, module, config, limits, trust: nf.trust ?? 'shared', ...(nf.trust === 'vm' && { via: nf.via ?? 'ivshmem' }) };
  });
  for (const [i, chain] of raw.chains.entries()) {
    const vms = chain.through.filter((n) => raw.nfs[n]?.trust === 'vm');
    if (vms.length > 0 && (chain.workers ?? 1) > 1) problems.push(`chains[${i}].workers: its vm NF (${vms.join(', ')}) has one guest: run the chain on 1 worker`);
  }
  for (const name of portNames) {
    const problem = infiniteRxProblem(raw.ports[name]!);
    if (problem !== undefined) problems.push(`ports.${name}: ${problem}`);
  }
  for (const [i, problem] of checkExtraEalArgs(raw.eal ?? [])) problems.push(`eal[${i}]: ${problem}`);
  if (problems.length > 0) throw new ConfigError(source, problems);

  return {
    cores: { poll: raw.cores.poll, workers: raw.cores.workers, napUs: raw.cores.nap_us ?? DEFAULT_NAP_US },
    ports: portNames.map((name) => ({ name, devargs: raw.ports[name]! })),
    nfs,
    chains: raw.chains.map((chain) => ({
      name: chain.name ?? `${chain.from}->${chain.to}`,
      from: portNames.indexOf(chain.from),
      to: portNames.indexOf(chain.to),
      through: chain.through,
      workers: chain.workers ?? 1,
      failOpen: chain.fail === 'open',
    })),
    pool: { mbufs: raw.pool?.mbufs ?? DEFAULT_MBUFS, hugepages: raw.pool?.hugepages ?? 'auto' },
    eal: raw.eal ?? [],
    watchdogMs: raw.watchdog_ms ?? DEFAULT_WATCHDOG_MS,
  };
}

/** net_pcap with infinite_rx keeps each frame of its file in one pool buffer, and DPDK refuses
 *  the port if a frame does not fit: said here, with the frame, before anything starts. A file
 *  net_pcap cannot read is left for its own error. */
function infiniteRxProblem(devargs: string): string | undefined {
  const [driver, ...args] = devargs.split(',');
  const arg = (key: string): string | undefined => args.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1);
  if (!driver!.startsWith('net_pcap') || arg('infinite_rx') !== '1') return undefined;
  const file = arg('rx_pcap');
  if (file === undefined || !existsSync(file)) return undefined;
  let packets;
  try {
    packets = readPcap(file).packets;
  } catch {
    return undefined;
  }
  const at = packets.findIndex((p) => p.data.length > POOL_DATA_ROOM);
  if (at < 0) return undefined;
  return `infinite_rx keeps each frame of ${file} in one pool buffer of ${POOL_DATA_ROOM} bytes, but frame ${at + 1} has ` +
    `${packets[at]!.data.length}: remove infinite_rx=1 to read the file once (a frame over one buffer then arrives in several ` +
    'and is dropped, counted as multi-segment), or replay a capture whose frames fit';
}

export function loadConfig(path: string): DataPlaneConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return resolveConfig(data, path);
}
