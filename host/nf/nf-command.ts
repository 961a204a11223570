// netvm nf: the NF author's commands: test a module over a pcap, build, scaffold.
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { OUT, clockProblem, runOffline, type OfflineNf, type OfflineResult } from '../chain/offline.js';
import { loadNfConfigFile } from '../config/config.js';
import { UsageError } from '../usage.js';
import { readPcap, writePcap } from '../pcap/index.js';
import { NF_SOURCES, buildNfs, type NfLang } from './build.js';
import { loadNfModule } from './module.js';
import { scaffoldNf } from './scaffold.js';
import { readStateFile, writeStateFile } from './state-file.js';

export const NF_USAGE = `usage: netvm nf test <module.wasm>... --pcap <in.pcap> [--config <file>]... [--out <out.pcap>] [--expect <pcap>]
                   [--state-in <file>] [--state-out <file>] [--pcap-time]
       netvm nf build [<name>...] [--force]
       netvm nf new <name> [--lang as|c|rust]

  test   runs one NF, or a chain of them in the order given, over a pcap without DPDK or
         hugepages (the data plane's loader, ABI and chain), and prints the verdict counts.
         --config: the NF's config (YAML or JSON), once per module in module order;
         --out: write what came out; --expect: compare what came out with a pcap (exit 1 if not equal);
         --state-out: save the NFs' state at the end (those that export it); --state-in: hand
         each NF the state saved under its name before the first packet (as a hot-swap does);
         --pcap-time: the NFs' clock reads each packet's capture time, not the host's, so that
         what expires by time expires as it would over the capture's span
  build  compiles nf-modules/<name>/index.ts (AssemblyScript, asc), nf.c (C, clang) or nf.rs (Rust,
         rustc), all NFs by default, into nf-modules/build/
  new    scaffolds nf-modules/<name>/ and test/nf-<name>.test.ts, which build and pass at once;
         --lang: AssemblyScript (as, the default), C (c: nf.c, with nf-modules/sdk-c) or Rust
         (rust: nf.rs, with nf-modules/sdk-rust)`;

function readConfig(path: string): string {
  try {
    return JSON.stringify(loadNfConfigFile(path));
  } catch (err) {
    throw new UsageError(`--config: ${(err as Error).message}`, NF_USAGE);
  }
}

function report(result: OfflineResult): string {
  const c = result.chain;
  const lines = [`in ${c.in + result.multiseg}, out ${c.out}, dropped ${c.dropped + result.multiseg} (multi-segment ${result.multiseg})`];
  for (const nf of result.nfs) {
    lines.push(
      `  nf ${nf.name}: in ${nf.in}, next ${nf.next}, out ${nf.out}, dropped ${nf.dropped}, bad verdict ${nf.bad_verdict}, bad length ${nf.bad_length}, trapped ${nf.trapped}`,
    );
    const metrics = Object.entries(nf.metrics);
    if (metrics.length > 0) lines.push(`    metrics: ${metrics.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  return lines.join('\n');
}

/** The first difference between what came out and what was expected, or undefined. */
function difference(out: Uint8Array[], expected: Uint8Array[]): string | undefined {
  for (let i = 0; i < Math.max(out.length, expected.length); i++) {
    const a = out[i];
    const b = expected[i];
    if (a === undefined) return `packet ${i} expected, but only ${out.length} came out`;
    if (b === undefined) return `packet ${i} came out, but only ${expected.length} were expected`;
    if (Buffer.compare(a, b) !== 0) {
      let at = 0;
      while (at < Math.min(a.length, b.length) && a[at] === b[at]) at++;
      return `packet ${i} differs at byte ${at} (length ${a.length}, expected ${b.length})`;
    }
  }
  return undefined;
}

/** Gives each NF the state saved under its name; a name the chain lacks is an error. */
function handStates(nfs: OfflineNf[], path: string): void {
  let states: Map<string, Uint8Array>;
  try {
    states = readStateFile(path);
  } catch (err) {
    throw new UsageError(`--state-in: ${(err as Error).message}`, NF_USAGE);
  }
  for (const [name, state] of states) {
    const nf = nfs.find((n) => n.name === name);
    if (nf === undefined) throw new UsageError(`--state-in: ${path} holds state for '${name}', which is not in the chain (${nfs.map((n) => n.name).join(', ')})`, NF_USAGE);
    nf.state = state;
  }
}

function testCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      pcap: { type: 'string' },
      config: { type: 'string', multiple: true },
      out: { type: 'string' },
      expect: { type: 'string' },
      'state-in': { type: 'string' },
      'state-out': { type: 'string' },
      'pcap-time': { type: 'boolean' },
    },
  });
  if (positionals.length === 0) throw new UsageError('nf test needs at least one module', NF_USAGE);
  if (values.pcap === undefined) throw new UsageError('nf test needs --pcap <in.pcap>', NF_USAGE);
  const configs = values.config ?? [];
  if (configs.length > positionals.length) {
    throw new UsageError(`${configs.length} --config for ${positionals.length} module(s): give at most one per module`, NF_USAGE);
  }
  const nfs: OfflineNf[] = positionals.map((path, i) => {
    const config = configs[i] === undefined ? undefined : readConfig(configs[i]!);
    return { name: `${basename(path, '.wasm')}${positionals.length > 1 ? i + 1 : ''}`, module: loadNfModule(path), ...(config !== undefined && { config }) };
  });
  if (values['state-in'] !== undefined) handStates(nfs, values['state-in']);
  if (values['state-out'] !== undefined) for (const nf of nfs) nf.exportState = true;
  const packets = readPcap(values.pcap).packets;
  const frames = packets.map((p) => p.data);
  const timesNs = values['pcap-time'] ? packets.map((p) => p.tsNs) : undefined;
  const problem = timesNs && clockProblem(timesNs);
  if (problem !== undefined) throw new UsageError(`--pcap-time: in ${values.pcap}, ${problem}`, NF_USAGE);
  const result = runOffline(frames, nfs, timesNs !== undefined ? { timesNs } : {});
  console.log(report(result));
  if (values['state-out'] !== undefined) {
    const states = new Map(result.nfs.flatMap((nf) => (nf.state === undefined ? [] : [[nf.name, nf.state] as const])));
    writeStateFile(values['state-out'], states);
    console.log(`state: saved ${states.size > 0 ? [...states].map(([name, s]) => `${name} (${s.length} bytes)`).join(', ') : 'nothing (no NF exports state)'}`);
  }
  const out = result.out.map((p) => p.data);
  if (values.out !== undefined) writePcap(values.out, out.map((data) => ({ data })));
  if (values.expect === undefined) return 0;
  const diff = difference(out, readPcap(values.expect).packets.map((p) => p.data));
  const elsewhere = result.out.filter((p) => p.port !== OUT).length;
  if (diff === undefined) {
    console.log(`expect: all ${out.length} packets as expected${elsewhere ? ` (${elsewhere} sent out of the input port)` : ''}`);
    return 0;
  }
  console.log(`expect: ${diff}`);
  return 1;
}

async function buildCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { force: { type: 'boolean' } } });
  const built = await buildNfs(positionals.length > 0 ? positionals : undefined, values.force ?? false);
  console.log(built.length > 0 ? `built: ${built.join(', ')}` : 'all NF modules are up to date');
  return 0;
}

export async function nfCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'test') return testCommand(rest);
  if (sub === 'build') return buildCommand(rest);
  if (sub === 'new') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { lang: { type: 'string', default: 'as' } } });
    if (positionals.length !== 1) throw new UsageError('nf new takes one name', NF_USAGE);
    const lang = values.lang!;
    if (!Object.hasOwn(NF_SOURCES, lang)) throw new UsageError(`--lang: '${lang}' is not one of ${Object.keys(NF_SOURCES).join(', ')}`, NF_USAGE);
    for (const file of scaffoldNf(positionals[0]!, lang as NfLang)) console.log(`created ${file}`);
    return 0;
  }
  throw new UsageError(sub === undefined ? 'nf needs a command' : `unknown nf command '${sub}'`, NF_USAGE);
}
