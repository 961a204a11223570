// The run's log: what a data plane says about itself (the control API's
// address, guests, swaps, scaling, traps, restarts, warnings, and what NFs log
// through the SDK), as pino records on stderr, one JSON object a line; or, when
// stderr is a terminal, as readable lines. `netvm run --log-level` sets the
// least level shown. The rates and the summary are the run's output, on
// stdout, not log records. Worker threads log the same way: the level and the
// form reach them in the environment.
import { destination, pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_VAR = 'NETVM_LOG_LEVEL';
const HUMAN_VAR = 'NETVM_LOG_HUMAN';

let logger: Logger | undefined;

/** Sets this process's log level and form (workers started after it inherit them). */
export function configureLog(level: LogLevel, human: boolean): void {
  process.env[LEVEL_VAR] = level;
  process.env[HUMAN_VAR] = human ? '1' : '0';
  logger = undefined;
}

export function log(): Logger {
  if (logger !== undefined) return logger;
  const level = process.env[LEVEL_VAR] ?? 'info';
  // Synchronous writes: a record is out before the next line of the run (no logging thread).
  logger = process.env[HUMAN_VAR] === '1'
    ? pino({ level, base: undefined }, pretty({ sync: true, destination: 2, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }))
    : pino({ level }, destination({ dest: 2, sync: true }));
  return logger;
}
