#!/usr/bin/env node
// netvm: the command line. Exit codes: 0 done, 1 the data plane failed,
// 2 bad usage, config or module (nothing was started).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './control/config.js';
import { runDataPlane } from './control/run.js';
import { NfModuleError } from './nf/module.js';

const USAGE = `usage: netvm run <config.yaml> [options]

Runs a data plane described by a YAML file until Ctrl-C, --duration or --until-idle.

options:
  --duration <s>        stop after this many seconds
  --until-idle <ms>     stop once no packet has arrived for this long (how a pcap run ends)
  --stats-json <file>   write the final counters as JSON
  --file-prefix <name>  DPDK --file-prefix of this run (default: netvm-<pid>)
  -h, --help            show this help`;

class UsageError extends Error {}

function positiveNumber(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option}: '${value}' is not a positive number`);
  return n;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      'until-idle': { type: 'string' },
      'stats-json': { type: 'string' },
      'file-prefix': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('run takes exactly one config file');
  const filePrefix = values['file-prefix'] ?? `netvm-${process.pid}`;
  if (!/^[\w.-]+$/.test(filePrefix)) throw new UsageError(`--file-prefix: '${filePrefix}' may hold only letters, digits, '_', '.' and '-'`);
  const duration = positiveNumber(values.duration, '--duration');
  const untilIdle = positiveNumber(values['until-idle'], '--until-idle');
  const cfg = loadConfig(positionals[0]!);

  const stopSignal = new Promise<void>((resolve) => {
    const stop = (): void => {
      console.error('stopping (again to force)');
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const summary = await runDataPlane(cfg, {
    filePrefix, stopSignal,
    ...(duration !== undefined && { duration }),
    ...(untilIdle !== undefined && { untilIdle }),
  });
  if (values['stats-json'] !== undefined) writeFileSync(values['stats-json'], JSON.stringify(summary, null, 2) + '\n');
  const clean = summary.unaccounted === 0 && summary.badDescriptors === 0 && summary.pool.available === summary.pool.mbufs;
  return clean ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'run') return await run(rest);
    if (command === undefined || command === '-h' || command === '--help') {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command '${command}'`);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`netvm: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof NfModuleError) {
      console.error(`netvm: ${err.message}`);
      return 2;
    }
    console.error(`netvm: ${(err as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
