// Runs `netvm run` as its own process (EAL can start once per process) on a
// config written to a temporary folder, and collects what a user would see:
// exit code, output, the --stats-json summary, and what was left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RunSummary } from '../../host/observe/stats.js';
import { REPO_ROOT } from './fixtures.js';

export const CLI = join(REPO_ROOT, 'dist/host/cli.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: RunSummary | undefined;
  dir: string;
  filePrefix: string;
  /** EAL's runtime folder of this run, if it was left behind. */
  leftRuntimeDir: boolean;
}

let runs = 0;

/** A fresh temporary folder for one test's files. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'netvm-test-'));
  tempDirs.push(dir);
  return dir;
}

// Each test file runs in a process of its own: its folders go when it ends, and so does any
// netvm run it left running (a test that timed out): killed, its EAL folder removed.
const tempDirs: string[] = [];
const running = new Map<ChildProcess, string>();
process.on('exit', () => {
  for (const [child, filePrefix] of running) {
    child.kill('SIGKILL');
    rmSync(join('/var/run/dpdk', filePrefix), { recursive: true, force: true });
    try {
      rmdirSync('/var/run/dpdk');
    } catch {
      // Other runs' folders are still there.
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** The environment of a netvm process: as a user runs it, without the
 * TypeScript loader that tap puts into NODE_OPTIONS for the tests themselves. */
export function cliEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _, ...env } = process.env;
  return env;
}

/** A `netvm run` under way: what it printed so far, and its end. */
export interface RunningNetvm {
  stdout(): string;
  stderr(): string;
  /** Resolves once its output (stdout, or its log on stderr) matches (rejects after timeoutMs). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends it a signal (SIGTERM, or SIGKILL for a run that dies without cleaning up). */
  kill(signal: NodeJS.Signals): void;
  filePrefix: string;
  pid: number;
  done: Promise<RunResult>;
}

/** Starts `netvm run` on a config (an object, written as YAML, or YAML text);
 * sends it `interrupts` SIGINTs (Ctrl-C) once it has printed its first rates. */
export function startNetvm(config: object | string, args: string[], dir = tempDir(), interrupts = 0): RunningNetvm {
  const cfgPath = join(dir, 'config.yaml');
  writeFileSync(cfgPath, typeof config === 'string' ? config : stringify(config));
  const statsPath = join(dir, 'stats.json');
  const filePrefix = `netvm-test-${process.pid}-${++runs}`;
  const child = spawn(process.execPath, [CLI, 'run', cfgPath, '--stats-json', statsPath, '--file-prefix', filePrefix, ...args], {
    cwd: REPO_ROOT,
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.set(child, filePrefix);
  child.on('exit', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  const watchers: (() => void)[] = [];
  // The first Ctrl-C once it prints rates; another once it says it is stopping
  // (signals sent together arrive as one).
  let sent = 0;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (sent === 0 && interrupts > 0 && /(^|\n)\[/.test(stdout)) sent += child.kill('SIGINT') ? 1 : 0;
    watchers.forEach((w) => w());
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    watchers.forEach((w) => w());
    if (sent === 1 && interrupts > 1 && stderr.includes('stopping')) sent += child.kill('SIGINT') ? 1 : 0;
  });
  const done = new Promise<number | null>((resolve) => child.on('close', resolve)).then((code) => {
    const summary = existsSync(statsPath) ? (JSON.parse(readFileSync(statsPath, 'utf8')) as RunSummary) : undefined;
    return { code, stdout, stderr, summary, dir, filePrefix, leftRuntimeDir: existsSync(join('/var/run/dpdk', filePrefix)) };
  });
  const waitFor = (pattern: RegExp, timeoutMs = 20000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`netvm run did not print ${pattern} in ${timeoutMs} ms:\n${stdout}\n${stderr}`)), timeoutMs);
      const check = (): void => {
        if (!pattern.test(stdout) && !pattern.test(stderr)) return;
        clearTimeout(timer);
        resolve();
      };
      watchers.push(check);
      check();
      void done.then(() => {
        if (!pattern.test(stdout) && !pattern.test(stderr)) {
          clearTimeout(timer);
          reject(new Error(`netvm run ended without printing ${pattern}:\n${stdout}\n${stderr}`));
        }
      });
    });
  return { stdout: () => stdout, stderr: () => stderr, waitFor, kill: (signal) => child.kill(signal), filePrefix, pid: child.pid!, done };
}

/** Runs `netvm run` to its end (see startNetvm). */
export function runNetvm(
  config: object | string,
  args: string[] = ['--until-idle', '300'],
  dir = tempDir(),
  interrupts = 0,
): Promise<RunResult> {
  return startNetvm(config, args, dir, interrupts).done;
}

/** Packets received less packets sent and counted drops, from the ports' and chains' counters. */
export function totals(s: RunSummary): { rx: number; tx: number; drops: number } {
  const rx = s.ports.reduce((n, p) => n + p.rx, 0);
  const tx = s.ports.reduce((n, p) => n + p.tx, 0);
  const portDrops = s.ports.reduce((n, p) => n + p.tx_full + p.rx_multiseg + p.rx_ring_full, 0);
  return { rx, tx, drops: portDrops + s.chains.reduce((n, c) => n + c.dropped, 0) };
}

/** The messages of a run's log (pino's JSON records on stderr; other lines skipped). */
export function logMessages(stderr: string): string[] {
  return stderr.split('\n').flatMap((line) => {
    try {
      const record = JSON.parse(line) as { msg?: unknown };
      return typeof record.msg === 'string' ? [record.msg] : [];
    } catch {
      return [];
    }
  });
}
