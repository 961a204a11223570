#!/usr/bin/env node
// netvm: the command line. Exit codes: 0 done, 1 failed (the data plane, an
// NF test that did not match), 2 bad usage, config or module (nothing started).
import { ConfigError } from './control/config.js';
import { RUN_USAGE, runCommand } from './control/run-command.js';
import { UsageError } from './control/usage.js';
import { NF_USAGE, nfCommand } from './nf/nf-command.js';
import { NfModuleError } from './nf/module.js';

const BENCH_USAGE_LINE = 'usage: netvm bench [--quick] [--only <point>]... [--out <dir>] (netvm bench --help for more)';
const USAGE = `${RUN_USAGE}\n\n${NF_USAGE}\n\n${BENCH_USAGE_LINE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'run') return await runCommand(rest);
    if (command === 'nf') return await nfCommand(rest);
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
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command '${command}'`, USAGE);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`netvm: ${err.message}\n\n${err.usage}`);
      return 2;
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`netvm: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`netvm: ${(err as Error).message}`);
    return err instanceof ConfigError || err instanceof NfModuleError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
