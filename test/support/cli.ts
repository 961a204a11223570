// Runs a netvm command that needs no data plane, and collects its output.
import { spawn } from 'node:child_process';
import { CLI, cliEnv } from './netvm.js';
import { REPO_ROOT } from './fixtures.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `under`: a command (and its arguments) that runs the netvm command as its last arguments. */
export async function netvm(args: string[], under: string[] = []): Promise<CliResult> {
  const [command, ...rest] = [...under, process.execPath, CLI, ...args];
  const child = spawn(command!, rest, { cwd: REPO_ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}
