// The CLI's side of the control API: netvm status | stats [--watch] | swap | stop,
// talking to a running `netvm run` with the token it wrote.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL, describeAddress, parseControlAddress, tokenPath, type ControlAddress } from './api.js';
import { UsageError, positiveNumber } from './usage.js';

export const CONTROL_USAGE = `usage: netvm status [--control <addr>]
       netvm stats [--watch [<s>]] [--control <addr>]
       netvm swap <nf> <module.wasm> [--config <file>] [--control <addr>]
       netvm apply <config.yaml> [--control <addr>]
       netvm scale <chain> <workers> [--control <addr>]
       netvm stop [--control <addr>]
       netvm capture <hop> -w <file.pcap> [-c <count>] [--snaplen <n>] [--filter <expr>] [--control <addr>]

  Talk to a running netvm run through its control API (default ${DEFAULT_CONTROL}; the token is read
  from where that run wrote it). swap replaces an NF's module on the live data plane between two
  bursts, handing its state over when both modules can; --config gives the new instance its config
  (YAML or JSON; without it, none). apply compares a config with the running one and swaps the NFs
  whose module, config or limits changed, scales the chains whose workers changed, stops chains
  that are gone or whose path changed and starts new ones (fresh NF instances), and nothing else;
  a config that is invalid, or changes what needs a restart (ports, cores, the pool, EAL), is
  refused as a whole. scale runs a chain on that many workers, its flows
  steered among them by a symmetric hash (docs/control-api.md says what happens to flows that move).
  capture writes the packets at a hop (rx:<port>, tx:<port>, or <nf>-><next nf>) to a pcap file
  until <count> or Ctrl-C; --filter takes tcpdump's expressions; a packet that finds the capture's
  ring full is missed (counted), never held.`;

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One call of the control API of the run at `address`, with the token that run wrote. */
export async function controlCall(address: ControlAddress, method: string, path: string, body?: unknown): Promise<Answer> {
  let token: string;
  try {
    token = readFileSync(tokenPath(address), 'utf8').trim();
  } catch {
    throw new Error(`no netvm run serves ${describeAddress(address)} (no token at ${tokenPath(address)})`);
  }
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method, path,
        ...(address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port }),
        headers: { authorization: `Bearer ${token}`, ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
          } catch {
            reject(new Error(`${describeAddress(address)} answered ${res.statusCode} with something that is not JSON`));
          }
        });
      },
    );
    req.on('error', (err) => reject(new Error(`cannot reach ${describeAddress(address)}: ${err.message}`)));
    req.end(payload);
  });
}

function fail(a: Answer): never {
  throw new Error(String(a.body['error'] ?? a.body['reason'] ?? `status ${a.status}`));
}

interface Counters {
  uptimeS: number;
  ports: { name: string; rx: number; tx: number; rx_ring_full: number; tx_full: number; rx_held_us: number }[];
  chains: { name: string; in: number; out: number; dropped: number }[];
}

function statsLines(now: Counters, before?: Counters): string[] {
  const dt = before ? now.uptimeS - before.uptimeS : 0;
  const rate = (a: number, b: number | undefined): string => (before && dt > 0 ? ` (${((a - b!) / dt / 1e6).toFixed(3)} Mpps)` : '');
  return [
    `up ${now.uptimeS.toFixed(1)} s`,
    ...now.ports.map((p, i) => `  port ${p.name}: rx ${p.rx}${rate(p.rx, before?.ports[i]?.rx)}, tx ${p.tx}${rate(p.tx, before?.ports[i]?.tx)}, ring full ${p.rx_ring_full}, tx full ${p.tx_full}, held back ${(p.rx_held_us / 1e6).toFixed(3)} s`),
    ...now.chains.map((c) => `  chain ${c.name}: in ${c.in}, out ${c.out}, dropped ${c.dropped}`),
  ];
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
  const expectArgs = (n: number): void => {
    if (positionals.length !== n) throw new UsageError(`${command} takes ${n === 0 ? 'no arguments' : `${n} arguments`}`, CONTROL_USAGE);
  };
  if (command === 'status') {
    expectArgs(0);
    const a = await controlCall(address, 'GET', '/v1/status');
    if (a.status !== 200) fail(a);
    const nfs = a.body['nfs'] as { name: string; module: string; chain: string; position: number }[];
    console.log(`running for ${(a.body['uptimeS'] as number).toFixed(1)} s`);
    for (const c of a.body['chains'] as { name: string; nfs: string[]; workers: number }[]) {
      console.log(`  chain ${c.name}: ${c.nfs.join(' -> ') || '(no NFs)'} on ${c.workers} worker(s)`);
    }
    for (const nf of nfs) console.log(`  nf ${nf.name}: ${nf.module} (chain ${nf.chain}, position ${nf.position})`);
    return 0;
  }
  if (command === 'stats') {
    const interval = positiveNumber(positionals[0], 'stats --watch', CONTROL_USAGE);
    if (positionals.length > (values.watch ? 1 : 0)) throw new UsageError('stats takes no arguments but --watch [<s>]', CONTROL_USAGE);
    let before: Counters | undefined;
    for (;;) {
      const a = await controlCall(address, 'GET', '/v1/stats');
      if (a.status !== 200) fail(a);
      const now = a.body as unknown as Counters;
      console.log(statsLines(now, before).join('\n'));
      if (!values.watch) return 0;
      before = now;
      await new Promise((r) => setTimeout(r, (interval ?? 1) * 1000));
    }
  }
  if (command === 'capture') {
    expectArgs(1);
    if (values.write === undefined) throw new UsageError('capture: -w <file.pcap> is required', CONTROL_USAGE);
    const count = positiveNumber(values.count, 'capture -c', CONTROL_USAGE);
    const snaplen = positiveNumber(values.snaplen, 'capture --snaplen', CONTROL_USAGE);
    const file = resolve(values.write);
    const a = await controlCall(address, 'POST', '/v1/captures', {
      hop: positionals[0], file, ...(count !== undefined && { count }), ...(snaplen !== undefined && { snaplen }), ...(values.filter !== undefined && { filter: values.filter }),
    });
    if (a.status !== 200) fail(a);
    const id = a.body['id'] as number;
    console.error(`capturing at ${positionals[0]} to ${file}${count !== undefined ? `, ${count} packets` : ''} (Ctrl-C to stop)`);
    let interrupted = false;
    const onInt = (): void => void (interrupted = true);
    process.once('SIGINT', onInt);
    let status: Record<string, unknown>;
    for (;;) {
      const s = await controlCall(address, interrupted ? 'DELETE' : 'GET', `/v1/captures/${id}`);
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
  if (command === 'swap') {
    expectArgs(2);
    const [nf, module] = positionals as [string, string];
    let config: unknown;
    if (values.config !== undefined) {
      try {
        config = (await import('./config.js')).loadNfConfigFile(values.config);
      } catch (err) {
        throw new UsageError(`--config: ${(err as Error).message}`, CONTROL_USAGE);
      }
    }
    const a = await controlCall(address, 'POST', `/v1/nfs/${encodeURIComponent(nf)}/swap`, { module, ...(config !== undefined && { config }) });
    if (a.status === 200) {
      const b = a.body;
      const state = b['state'] === 'handed-over' ? `its state handed over (${b['stateBytes']} bytes)` : `started empty: ${b['why']}`;
      const on = (b['instances'] as number) > 1 ? ` on ${b['instances']} instances` : '';
      console.log(`swapped nf ${nf} to ${module}${on}: ${state}; the data path paused ${(b['pauseUs'] as number).toFixed(0)} us`);
      return 0;
    }
    console.error(`netvm: swap refused, nf ${nf} keeps running its old module: ${String(a.body['reason'] ?? a.body['error'])}`);
    return 1;
  }
  if (command === 'apply') {
    expectArgs(1);
    const next = (await import('./config.js')).loadConfig(positionals[0]!);
    const a = await controlCall(address, 'POST', '/v1/apply', { config: next });
    const swapped = (a.body['swapped'] ?? []) as { nf: string; swapped: boolean; state?: string; why?: string; reason?: string; pauseUs?: number }[];
    for (const s of swapped) {
      console.log(s.swapped
        ? `  nf ${s.nf}: swapped (${s.state === 'handed-over' ? 'state handed over' : `started empty: ${s.why}`}; paused ${s.pauseUs!.toFixed(0)} us)`
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
  if (command === 'scale') {
    expectArgs(2);
    const [chain, n] = positionals as [string, string];
    const workers = Number(n);
    if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`scale: workers must be a positive integer, not '${n}'`, CONTROL_USAGE);
    const a = await controlCall(address, 'POST', `/v1/chains/${encodeURIComponent(chain)}/scale`, { workers });
    if (a.status === 200) {
      console.log(`chain ${chain} runs on ${a.body['workers']} worker(s) (was ${a.body['before']}; ${a.body['movedBuckets']} of 256 flow buckets moved)`);
      return 0;
    }
    console.error(`netvm: scale refused: ${String(a.body['error'])}`);
    return 1;
  }
  if (command === 'stop') {
    expectArgs(0);
    const a = await controlCall(address, 'POST', '/v1/stop');
    if (a.status !== 200) fail(a);
    console.log('stopping');
    return 0;
  }
  throw new UsageError(`unknown command '${command}'`, CONTROL_USAGE);
}
