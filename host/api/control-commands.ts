// The CLI's side of the control API: netvm status | stats [--watch] | swap |
// send | apply | scale | stop | capture, talking to a running `netvm run`.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL, parseControlAddress, type ControlAddress } from './api.js';
import { controlCall, type Answer } from './client.js';
import { UsageError, positiveNumber } from '../usage.js';
import { nsAPacket } from '../observe/stats.js';

export const CONTROL_USAGE = `usage: netvm status [--control <addr>]
       netvm stats [--watch [<s>]] [--control <addr>]
       netvm swap <nf> <module.wasm> [--config <file>] [--control <addr>]
       netvm send <nf> <json | file.json> [--control <addr>]
       netvm apply <config.yaml> [--control <addr>]
       netvm scale <chain> <workers> [--control <addr>]
       netvm stop [--control <addr>]
       netvm capture <hop> -w <file.pcap> [-c <count>] [--snaplen <n>] [--filter <expr>] [--control <addr>]

  Talk to a running netvm run through its control API (default ${DEFAULT_CONTROL}; the token is
  read from where that run wrote it). swap replaces an NF's module on the live data plane between
  two bursts, handing its state over when both modules can; --config gives the new instance its
  config (YAML or JSON; without it, the config the NF runs with, if the new module takes a
  config). send gives each instance of an NF a message (JSON, on the line or in a file) between
  two bursts, and prints each one's answer (firewall: '{"block": "198.51.100.0/24", "seconds":
  60}'). apply compares a config with the running one and swaps the NFs whose module, config or
  limits changed, scales the chains whose workers changed, stops chains that are gone or whose
  path changed and starts new ones (fresh NF instances), and nothing else; a config that is
  invalid, or changes what needs a restart (ports, cores, the pool, EAL), is refused as a whole.
  scale runs a chain on that many workers, its flows steered among them by a symmetric hash
  (docs/control-api.md says what happens to flows that move). capture writes the packets at a hop
  (rx:<port>, tx:<port>, or <nf>-><next nf>) to a pcap file until <count> or Ctrl-C; --filter
  takes tcpdump's expressions; a packet that finds the capture's ring full is missed (counted),
  never held.`;

function fail(a: Answer): never {
  throw new Error(String(a.body['error'] ?? a.body['reason'] ?? `status ${a.status}`));
}

interface Counters {
  uptimeS: number;
  ports: { name: string; rx: number; tx: number; rx_ring_full: number; tx_full: number; rx_held_us: number }[];
  chains: { name: string; in: number; out: number; dropped: number; host_ns: number; nfs: { name: string; in: number; busy_ns: number }[] }[];
}

function statsLines(now: Counters, before?: Counters): string[] {
  const dt = before ? now.uptimeS - before.uptimeS : 0;
  const rate = (a: number, b: number | undefined): string => (before && dt > 0 ? ` (${((a - b!) / dt / 1e6).toFixed(3)} Mpps)` : '');
  // The worker's ns a packet: over the interval when watching, else since the start.
  const cost = (ns: number, packets: number, was?: { ns: number; packets: number }): string => {
    const [dNs, dPackets] = was === undefined ? [ns, packets] : [ns - was.ns, packets - was.packets];
    return dPackets > 0 ? nsAPacket(dNs, dPackets) : 'no packets';
  };
  return [
    `up ${now.uptimeS.toFixed(1)} s`,
    ...now.ports.map((p, i) => `  port ${p.name}: rx ${p.rx}${rate(p.rx, before?.ports[i]?.rx)}, tx ${p.tx}${rate(p.tx, before?.ports[i]?.tx)}, ring full ${p.rx_ring_full}, tx full ${p.tx_full}, held back ${(p.rx_held_us / 1e6).toFixed(3)} s`),
    ...now.chains.flatMap((c) => {
      const b = before?.chains.find((x) => x.name === c.name);
      return [
        `  chain ${c.name}: in ${c.in}, out ${c.out}, dropped ${c.dropped}; its own work ${cost(c.host_ns, c.in, b && { ns: b.host_ns, packets: b.in })}`,
        ...c.nfs.map((nf, k) => {
          const was = b?.nfs[k];
          return `    nf ${nf.name}: in ${nf.in}, ${cost(nf.busy_ns, nf.in, was && { ns: was.busy_ns, packets: was.in })}`;
        }),
      ];
    }),
  ];
}

/** A control command's call: where the run is, and what the command line gave. */
interface Call {
  address: ControlAddress;
  positionals: string[];
  values: { config?: string; watch?: boolean; write?: string; count?: string; snaplen?: string; filter?: string };
  /** Refuses a call with other than n positional arguments. */
  expectArgs(n: number): void;
}

export async function controlCommand(command: string, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      control: { type: 'string' }, config: { type: 'string' }, watch: { type: 'boolean' },
      write: { type: 'string', short: 'w' }, count: { type: 'string', short: 'c' }, snaplen: { type: 'string' }, filter: { type: 'string' },
    },
  });
  let address: ControlAddress | undefined;
  try {
    address = parseControlAddress(values.control ?? DEFAULT_CONTROL);
  } catch (err) {
    throw new UsageError(`--control: ${(err as Error).message}`, CONTROL_USAGE);
  }
  if (address === undefined) throw new UsageError('--control off: there is nothing to talk to', CONTROL_USAGE);
  const run = COMMANDS.get(command);
  if (run === undefined) throw new UsageError(`unknown command '${command}'`, CONTROL_USAGE);
  return run({
    address, positionals, values,
    expectArgs: (n) => {
      if (positionals.length !== n) throw new UsageError(`${command} takes ${n === 0 ? 'no arguments' : `${n} arguments`}`, CONTROL_USAGE);
    },
  });
}

const COMMANDS = new Map<string, (call: Call) => Promise<number>>(Object.entries({ status, stats, capture, swap, send, apply, scale, stop }));

/** The chains and NFs of the run. */
async function status(call: Call): Promise<number> {
  call.expectArgs(0);
  const a = await controlCall(call.address, 'GET', '/v1/status');
  if (a.status !== 200) fail(a);
  const nfs = a.body['nfs'] as { name: string; module: string; chain: string; position: number }[];
  console.log(`running for ${(a.body['uptimeS'] as number).toFixed(1)} s`);
  for (const c of a.body['chains'] as { name: string; nfs: string[]; workers: number }[]) {
    console.log(`  chain ${c.name}: ${c.nfs.join(' -> ') || '(no NFs)'} on ${c.workers} worker(s)`);
  }
  for (const nf of nfs) console.log(`  nf ${nf.name}: ${nf.module} (chain ${nf.chain}, position ${nf.position})`);
  return 0;
}

/** The counters, once or every <s> seconds. */
async function stats(call: Call): Promise<number> {
  const interval = positiveNumber(call.positionals[0], 'stats --watch', CONTROL_USAGE);
  if (call.positionals.length > (call.values.watch ? 1 : 0)) throw new UsageError('stats takes no arguments but --watch [<s>]', CONTROL_USAGE);
  let before: Counters | undefined;
  for (;;) {
    const a = await controlCall(call.address, 'GET', '/v1/stats');
    if (a.status !== 200) fail(a);
    const now = a.body as unknown as Counters;
    console.log(statsLines(now, before).join('\n'));
    if (!call.values.watch) return 0;
    before = now;
    await new Promise((r) => setTimeout(r, (interval ?? 1) * 1000));
  }
}

/** The packets at a hop into a pcap file, until the count or Ctrl-C. */
async function capture(call: Call): Promise<number> {
  call.expectArgs(1);
  if (call.values.write === undefined) throw new UsageError('capture: -w <file.pcap> is required', CONTROL_USAGE);
  const count = positiveNumber(call.values.count, 'capture -c', CONTROL_USAGE);
  const snaplen = positiveNumber(call.values.snaplen, 'capture --snaplen', CONTROL_USAGE);
  const file = resolve(call.values.write);
  const a = await controlCall(call.address, 'POST', '/v1/captures', {
    hop: call.positionals[0], file, ...(count !== undefined && { count }), ...(snaplen !== undefined && { snaplen }), ...(call.values.filter !== undefined && { filter: call.values.filter }),
  });
  if (a.status !== 200) fail(a);
  const id = a.body['id'] as number;
  console.error(`capturing at ${call.positionals[0]} to ${file}${count !== undefined ? `, ${count} packets` : ''} (Ctrl-C to stop)`);
  let interrupted = false;
  const onInt = (): void => void (interrupted = true);
  process.once('SIGINT', onInt);
  let status: Record<string, unknown>;
  for (;;) {
    const s = await controlCall(call.address, interrupted ? 'DELETE' : 'GET', `/v1/captures/${id}`);
    if (s.status !== 200) fail(s);
    status = s.body;
    if (status['done'] === true) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.off('SIGINT', onInt);
  const missed = status['missed'] as number;
  console.log(`${status['written'] as number} packets captured to ${file}${missed > 0 ? `; ${missed} missed (the capture's ring was full: the writer fell behind)` : ''}`);
  return 0;
}

/** An NF's new module on the live data plane. */
async function swap(call: Call): Promise<number> {
  call.expectArgs(2);
  const [nf, module] = call.positionals as [string, string];
  let config: unknown;
  if (call.values.config !== undefined) {
    try {
      config = (await import('../config/config.js')).loadNfConfigFile(call.values.config);
    } catch (err) {
      throw new UsageError(`--config: ${(err as Error).message}`, CONTROL_USAGE);
    }
  }
  const a = await controlCall(call.address, 'POST', `/v1/nfs/${encodeURIComponent(nf)}/swap`, { module, ...(config !== undefined && { config }) });
  if (a.status === 200) {
    const b = a.body;
    const state = b['state'] === 'handed-over' ? `its state handed over (${b['stateBytes']} bytes)` : `started empty: ${b['why']}`;
    const on = (b['instances'] as number) > 1 ? ` on ${b['instances']} instances` : '';
    const [pause, build] = [b['pauseUs'] as number, b['buildUs'] as number].map((us) => us.toFixed(0));
    console.log(`swapped nf ${nf} to ${module}${on}: ${state}; the data path paused ${pause} us for the handover, and ${build} us a turn before to build the new instance`);
    return 0;
  }
  console.error(`netvm: swap refused, nf ${nf} keeps running its old module: ${String(a.body['reason'] ?? a.body['error'])}`);
  return 1;
}

/** A message to every instance of an NF, and their answers. */
async function send(call: Call): Promise<number> {
  call.expectArgs(2);
  const [nf, text] = call.positionals as [string, string];
  let message: unknown;
  try {
    message = JSON.parse(existsSync(text) ? readFileSync(text, 'utf8') : text) as unknown;
  } catch (err) {
    throw new UsageError(`send: the message must be JSON, or a file that holds JSON: ${(err as Error).message}`, CONTROL_USAGE);
  }
  const a = await controlCall(call.address, 'POST', `/v1/nfs/${encodeURIComponent(nf)}/message`, { message });
  if (a.status !== 200 && a.status !== 422) fail(a);
  const replicas = a.body['replicas'] as { lane: number; answer?: unknown; error?: string }[];
  for (const r of replicas) {
    const who = replicas.length > 1 ? `nf ${nf} (lane ${r.lane})` : `nf ${nf}`;
    if (r.error !== undefined) console.error(`netvm: ${who} did not take the message: ${r.error}`);
    else console.log(r.answer === undefined ? `${who}: taken, no answer` : `${who}: ${typeof r.answer === 'string' ? r.answer : JSON.stringify(r.answer)}`);
  }
  return a.status === 200 ? 0 : 1;
}

/** A new config, as the difference from the running one. */
async function apply(call: Call): Promise<number> {
  call.expectArgs(1);
  const next = (await import('../config/config.js')).loadConfig(call.positionals[0]!);
  const a = await controlCall(call.address, 'POST', '/v1/apply', { config: next });
  const swapped = (a.body['swapped'] ?? []) as { nf: string; swapped: boolean; state?: string; why?: string; reason?: string; pauseUs?: number; buildUs?: number }[];
  for (const s of swapped) {
    console.log(s.swapped
      ? `  nf ${s.nf}: swapped (${s.state === 'handed-over' ? 'state handed over' : `started empty: ${s.why}`}; paused ${s.pauseUs!.toFixed(0)} us, after ${s.buildUs!.toFixed(0)} us to build)`
      : `  nf ${s.nf}: REFUSED, keeps running its old module: ${s.reason}`);
  }
  for (const c of (a.body['removedChains'] ?? []) as string[]) console.log(`  chain ${c}: stopped`);
  for (const c of (a.body['addedChains'] ?? []) as string[]) console.log(`  chain ${c}: started`);
  for (const c of (a.body['scaled'] ?? []) as { chain: string; workers?: number; error?: string }[]) {
    console.log(c.error === undefined ? `  chain ${c.chain}: now on ${c.workers} worker(s)` : `  chain ${c.chain}: scaling REFUSED: ${c.error}`);
  }
  const unchanged = (a.body['unchanged'] ?? []) as string[];
  if (unchanged.length > 0) console.log(`  unchanged: ${unchanged.join(', ')}`);
  if (a.status === 200) {
    const count = (key: string): number => ((a.body[key] ?? []) as unknown[]).length;
    console.log(`applied: ${swapped.length} NF(s) swapped, ${count('removedChains')} chain(s) stopped, ${count('addedChains')} started, ${count('scaled')} scaled`);
    return 0;
  }
  const reasons = (a.body['reasons'] ?? []) as string[];
  const began = 'removedChains' in a.body; // it got past the checks: some of it may be applied
  console.error(`netvm: apply refused${began ? ' in part (what is listed above went through)' : ', nothing changed'}:${reasons.map((r) => `\n  ${r}`).join('')}${a.body['error'] ? ` ${String(a.body['error'])}` : ''}`);
  return 1;
}

/** A chain on n workers. */
async function scale(call: Call): Promise<number> {
  call.expectArgs(2);
  const [chain, n] = call.positionals as [string, string];
  const workers = Number(n);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`scale: workers must be a positive integer, not '${n}'`, CONTROL_USAGE);
  const a = await controlCall(call.address, 'POST', `/v1/chains/${encodeURIComponent(chain)}/scale`, { workers });
  if (a.status === 200) {
    console.log(`chain ${chain} runs on ${a.body['workers']} worker(s) (was ${a.body['before']}; ${a.body['movedBuckets']} of 256 flow buckets moved)`);
    return 0;
  }
  console.error(`netvm: scale refused: ${String(a.body['error'])}`);
  return 1;
}

/** Stops the run. */
async function stop(call: Call): Promise<number> {
  call.expectArgs(0);
  const a = await controlCall(call.address, 'POST', '/v1/stop');
  if (a.status !== 200) fail(a);
  console.log('stopping');
  return 0;
}
