#!/usr/bin/env node
// netvm: the command line. Exit codes: 0 done, 1 failed (the data plane, an
// NF test that did not match), 2 bad usage, config or module (nothing started).
// Each command's module is loaded when it is called: a control call such as
// `netvm status` must not pay for the AssemblyScript compiler or the config schema.
import { UsageError } from './usage.js';
import { configureLog } from './log.js';

const BENCH_USAGE_LINE = 'usage: netvm bench [--quick] [--only <point>]... [--out <dir>] (netvm bench --help for more)';

const CONTROL_COMMANDS = ['status', 'stats', 'swap', 'send', 'apply', 'scale', 'stop', 'capture'];

async function usage(): Promise<string> {
  const [{ RUN_USAGE }, { CONTROL_USAGE }, { NF_USAGE }] = await Promise.all([
    import('./run/run-command.js'), import('./api/control-commands.js'), import('./nf/nf-command.js'),
  ]);
  return `${RUN_USAGE}\n\n${CONTROL_USAGE}\n\n${NF_USAGE}\n\n${BENCH_USAGE_LINE}`;
}

/** The usage of one command; undefined for a command there is not. */
async function usageOf(command: string): Promise<string | undefined> {
  if (command === 'run') return (await import('./run/run-command.js')).RUN_USAGE;
  if (command === 'nf') return (await import('./nf/nf-command.js')).NF_USAGE;
  if (CONTROL_COMMANDS.includes(command)) return (await import('./api/control-commands.js')).CONTROL_USAGE;
  if (command === 'bench') return (await import('../bench/suite.js')).BENCH_USAGE;
  return undefined;
}

/** `--help` or `-h` among a command's arguments (before a `--`, after which arguments are not options). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Errors of what the user gave (a config, a module): exit status 2. */
async function isInputError(err: unknown): Promise<boolean> {
  const [{ ConfigError }, { NfModuleError }] = await Promise.all([import('./config/config.js'), import('./nf/module.js')]);
  return err instanceof ConfigError || err instanceof NfModuleError;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  configureLog('info', process.stderr.isTTY === true); // netvm run may set another level
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      console.log(await usage());
      return command === undefined ? 2 : 0;
    }
    const help = asksForHelp(rest) ? await usageOf(command) : undefined;
    if (help !== undefined) {
      console.log(help);
      return 0;
    }
    if (command === 'run') return await (await import('./run/run-command.js')).runCommand(rest);
    if (command === 'nf') return await (await import('./nf/nf-command.js')).nfCommand(rest);
    if (CONTROL_COMMANDS.includes(command)) {
      return await (await import('./api/control-commands.js')).controlCommand(command, rest);
    }
    if (command === 'bench') {
      // The suite lives in bench/ (dist/bench once built), loaded only when asked for.
      return await (await import('../bench/suite.js')).benchCommand(rest);
    }
    throw new UsageError(`unknown command '${command}'`, await usage());
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`netvm: ${err.message}\n\n${err.usage}`);
      return 2;
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`netvm: ${(err as Error).message}\n\n${await usage()}`);
      return 2;
    }
    console.error(`netvm: ${(err as Error).message}`);
    return (await isInputError(err)) ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
