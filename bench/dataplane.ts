// One point of the data-plane matrix: `netvm run` on a config for
// warm-up + measured seconds, in its own process (EAL starts once per
// process) with its own --file-prefix; the figures come from the summary's
// window (the counters and thread CPU after the warm-up).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary, RunWindow } from '../host/observe/stats.js';
import { PROJECT_ROOT } from '../host/paths.js';

const CLI = join(PROJECT_ROOT, 'dist/host/cli.js');

/** Runs a point; with `during`, the run serves its control API on `control`
 *  and `during` runs alongside once the warm-up is over. */
export async function runNetvm(
  config: object, dir: string, name: string, warmupS: number, seconds: number, extra: string[] = [],
  during?: { control: string; run: () => Promise<void> },
): Promise<RunSummary & { window: RunWindow }> {
  const configFile = join(dir, `${name}.json.yaml`);
  const statsFile = join(dir, `${name}.stats.json`);
  writeFileSync(configFile, JSON.stringify(config, null, 1)); // JSON is YAML
  const args = [CLI, 'run', configFile, '--duration', String(warmupS + seconds), '--warmup', String(warmupS),
    '--stats-json', statsFile, '--file-prefix', `netvm-bench-${process.pid}-${name}`, '--control', during?.control ?? 'off', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  if (during !== undefined) {
    await new Promise((r) => setTimeout(r, warmupS * 1000 + 500)); // EAL and workers start within the warm-up
    await during.run();
  }
  const code = await closed;
  let summary: RunSummary;
  try {
    summary = JSON.parse(readFileSync(statsFile, 'utf8')) as RunSummary;
  } catch {
    throw new Error(`netvm run for ${name} failed (exit ${code}): ${stderr.trim() || 'no summary written'}`);
  }
  if (summary.window === undefined) throw new Error(`netvm run for ${name} wrote no window`);
  return summary as RunSummary & { window: RunWindow };
}
