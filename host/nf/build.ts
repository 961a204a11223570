// Building NF modules: nf-modules/<name>/index.ts → nf-modules/build/<name>.wasm
// (release target of asconfig.json) and <name>.debug.wasm (debug target), with
// asc's own diagnostics, which point at the AssemblyScript source line. A
// module is rebuilt only when a source of its own or of the SDK is newer.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import asc from 'assemblyscript/asc';
import { PROJECT_ROOT } from '../paths.js';

export const NF_ROOT = join(PROJECT_ROOT, 'nf-modules');
const BUILD_DIR = join(NF_ROOT, 'build');
const CONFIG = join(NF_ROOT, '..', 'asconfig.json');
const SHARED = ['sdk'];

/** The newest modification time of any file below dir. */
export function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/** The NFs in nf-modules/: every folder with an index.ts, except the SDK. */
export function listNfs(): string[] {
  return readdirSync(NF_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !SHARED.includes(e.name) && existsSync(join(NF_ROOT, e.name, 'index.ts')))
    .map((e) => e.name)
    .sort();
}

async function compile(name: string, target: 'release' | 'debug', outFile: string): Promise<void> {
  const { error, stderr } = await asc.main([
    join(NF_ROOT, name, 'index.ts'), '--config', CONFIG, '--target', target, '--outFile', outFile,
    // The diagnostics end up inside our error message: colours only for a terminal.
    ...(process.stderr.isTTY ? [] : ['--noColors']),
  ]);
  if (error) throw new Error(`nf-modules/${name}: ${target} build failed:\n${stderr.toString()}`);
}

/** Builds the named NFs (all by default); returns the names it rebuilt. */
export async function buildNfs(names: string[] = listNfs(), force = false): Promise<string[]> {
  const shared = Math.max(...SHARED.map((dir) => newest(join(NF_ROOT, dir))), statSync(CONFIG).mtimeMs);
  const built: string[] = [];
  for (const name of names) {
    if (!existsSync(join(NF_ROOT, name, 'index.ts'))) throw new Error(`nf-modules/${name}/index.ts: no such NF`);
    const release = join(BUILD_DIR, `${name}.wasm`);
    const debug = join(BUILD_DIR, `${name}.debug.wasm`);
    const sources = Math.max(shared, newest(join(NF_ROOT, name)));
    const fresh = (f: string): boolean => existsSync(f) && statSync(f).mtimeMs >= sources;
    if (!force && fresh(release) && fresh(debug)) continue;
    await compile(name, 'release', release);
    await compile(name, 'debug', debug);
    built.push(name);
  }
  return built;
}
