#!/usr/bin/env node
// netvm: the command line. Exit codes: 0 done, 1 failed (the data plane, an
// NF test that did not match), 2 bad usage, config or module (nothing started).
// Each command's module is loaded when it is called: a control call such as
// `netvm status` must not pay for the AssemblyScript compiler or the config schema.
import { UsageError } from './control/usage.js';
import { configureLog } from './log.js';

const BENCH_USAGE_LINE = 'usage: netvm bench [--quick] [--only <point>]... [--out <dir>] (netvm bench --help for more)';

async function usage(): Promise<string> {
  const [{ RUN_USAGE }, { CONTROL_USAGE }, { NF_USAGE }] = await Promise.all([
    import('./control/run-command.js'), import('./control/client.js'), import('./nf/nf-command.js'),
  ]);
  return `${RUN_USAGE}\n\n${CONTROL_USAGE}\n\n${NF_USAGE}\n\n${BENCH_USAGE_LINE}`;
}

/** Errors of what the user gave (a config, a module): exit status 2. */
async function isInputError(err: unknown): Promise<boolean> {
  const [{ ConfigError }, { NfModuleError }] = await Promise.all([import('./control/config.js'), import('./nf/module.js')]);
  return err instanceof ConfigError || err instanceof NfModuleError;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  configureLog('info', process.stderr.isTTY === true); // netvm run may set another level
  try {
    if (command === 'run') return await (await import('./control/run-command.js')).runCommand(rest);
    if (command === 'nf') return await (await import('./nf/nf-command.js')).nfCommand(rest);
    if (command === 'status' || command === 'stats' || command === 'swap' || command === 'apply' || command === 'scale' || command === 'stop' || command === 'capture') {
      return await (await import('./control/client.js')).controlCommand(command, rest);
    }
    if (command === 'bench') {
      // The suite lives in bench/ (dist/bench once built), loaded only when asked for.
      const { BENCH_USAGE, benchCommand } = await import('../bench/suite.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(BENCH_USAGE);
        return 0;
      }
      return await benchCommand(rest);
    }
    if (command === undefined || command === '-h' || command === '--help') {
      console.log(await usage());
      return command === undefined ? 2 : 0;
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
