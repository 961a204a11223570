// netvm run: a data plane from a config file, until Ctrl-C, --duration or --until-idle.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { runDataPlane, type RunOptions } from './run.js';
import { runExitStatus } from '../observe/stats.js';
import { DEFAULT_CONTROL, parseControlAddress, type ControlAddress } from '../api/api.js';
import { UsageError, positiveNumber } from '../usage.js';
import { LOG_LEVELS, configureLog, log, type LogLevel } from '../log.js';

export const RUN_USAGE = `usage: netvm run <config.yaml> [options]

Runs a data plane described by a YAML file until Ctrl-C, --duration or --until-idle.

options:
  --duration <s>        stop after this many seconds
  --warmup <s>          with --stats-json: also count from this many seconds in to the stop
                        (the summary's window, with each thread's share of a core)
  --latency             measure every sent packet's latency (arrival to hand-back) into the summary
  --rx-pps <n>          packets arrive at the input ports at n a second (a paced source); those
                        the poll lcore is late for wait, as in an RX ring, and their latency counts
  --rx-flows <n>        rewrite each received IPv4 packet's source to 10.0.0.0 + i (TCP, UDP:
                        port 1024 + i mod 64512), i cycling through n (1 to 2^24): n flows per
                        destination of the input (a generated source, for benchmarks)
  --until-idle <ms>     stop once no packet has arrived or come back from a chain for this long
                        (how a pcap run ends)
  --stats-json <file>   write the final counters as JSON
  --control <addr>      where to serve the control API: host:port on loopback, unix:<path>
                        or off (default ${DEFAULT_CONTROL}; docs/control-api.md)
  --busy-poll           poll without pause even when idle, for the lowest latency (as cores.nap_us: 0;
                        by default the poll lcore naps and workers sleep once no packet comes)
  --file-prefix <name>  DPDK --file-prefix of this run (default: netvm-<pid>)
  --log-level <level>   the least level of the run's log (stderr; JSON lines, or readable lines on
                        a terminal): trace, debug, info (default), warn, error, fatal, silent`;

const RUN_OPTIONS = {
  duration: { type: 'string' },
  'until-idle': { type: 'string' },
  warmup: { type: 'string' },
  latency: { type: 'boolean' },
  'rx-pps': { type: 'string' },
  'rx-flows': { type: 'string' },
  'stats-json': { type: 'string' },
  'file-prefix': { type: 'string' },
  control: { type: 'string' },
  'log-level': { type: 'string' },
  'busy-poll': { type: 'boolean' },
} as const;
type RunValues = ReturnType<typeof parseArgs<{ options: typeof RUN_OPTIONS }>>['values'];

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: RUN_OPTIONS });
  const level = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level: '${level}' is not one of ${LOG_LEVELS.join(', ')}`, RUN_USAGE);
  configureLog(level as LogLevel, process.stderr.isTTY === true);
  if (positionals.length !== 1) throw new UsageError('run takes exactly one config file', RUN_USAGE);
  const options = runOptions(values);
  const cfg = loadConfig(positionals[0]!);
  if (values['busy-poll']) cfg.cores.napUs = 0;
  const summary = await runDataPlane(cfg, { ...options, stopSignal: interrupted() });
  if (values['stats-json'] !== undefined) writeFileSync(values['stats-json'], JSON.stringify(summary, null, 2) + '\n');
  return runExitStatus(summary);
}

/** The run's options from the command line, each checked. */
function runOptions(values: RunValues): RunOptions {
  const filePrefix = values['file-prefix'] ?? `netvm-${process.pid}`;
  if (!/^[\w.-]+$/.test(filePrefix)) {
    throw new UsageError(`--file-prefix: '${filePrefix}' may hold only letters, digits, '_', '.' and '-'`, RUN_USAGE);
  }
  const duration = positiveNumber(values.duration, '--duration', RUN_USAGE);
  const untilIdle = positiveNumber(values['until-idle'], '--until-idle', RUN_USAGE);
  const warmup = positiveNumber(values.warmup, '--warmup', RUN_USAGE);
  const rxPps = positiveNumber(values['rx-pps'], '--rx-pps', RUN_USAGE);
  const rxFlows = positiveNumber(values['rx-flows'], '--rx-flows', RUN_USAGE);
  if (rxFlows !== undefined && (!Number.isInteger(rxFlows) || rxFlows > 2 ** 24)) {
    throw new UsageError(`--rx-flows: '${values['rx-flows']}' is not a whole number from 1 to 16777216`, RUN_USAGE);
  }
  if (warmup !== undefined && duration !== undefined && warmup >= duration) {
    throw new UsageError(`--warmup ${warmup} must be shorter than --duration ${duration}`, RUN_USAGE);
  }
  let control: ControlAddress | undefined;
  try {
    control = parseControlAddress(values.control ?? DEFAULT_CONTROL);
  } catch (err) {
    throw new UsageError(`--control: ${(err as Error).message}`, RUN_USAGE);
  }
  return {
    filePrefix, ...(control !== undefined && { control }),
    ...(duration !== undefined && { duration }),
    ...(untilIdle !== undefined && { untilIdle }),
    ...(warmup !== undefined && { warmup }),
    ...(values.latency && { latency: true }),
    ...(rxPps !== undefined && { rxPps }),
    ...(rxFlows !== undefined && { rxFlows }),
  };
}

/** Resolves at the first Ctrl-C or SIGTERM; a second Ctrl-C ends the process at once. */
function interrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      log().warn('stopping (again to force)');
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
