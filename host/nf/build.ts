// Building NF modules into nf-modules/build/<name>.wasm and <name>.debug.wasm:
//  - AssemblyScript, nf-modules/<name>/index.ts: asc, with the release and
//    debug targets of asconfig.json;
//  - C, nf-modules/<name>/nf.c with the C SDK (nf-modules/sdk-c): clang for
//    wasm32, -O2 and -O0 -g, linked by wasm-ld as the ABI wants (the memory
//    imported, the NF's data from 256 MiB up).
// The compilers' own diagnostics, which point at the source line, become the
// error. A module is rebuilt only when a source of its own or of its SDK is newer.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import asc from 'assemblyscript/asc';
import { PROJECT_ROOT } from '../paths.js';
import { NF_MEMORY_BASE } from './abi.js';

export const NF_ROOT = join(PROJECT_ROOT, 'nf-modules');
const BUILD_DIR = join(NF_ROOT, 'build');
const CONFIG = join(NF_ROOT, '..', 'asconfig.json');
/** A module's source, by language (what makes a folder of nf-modules/ an NF), and its SDK's folder. */
export const NF_SOURCES = { as: 'index.ts', c: 'nf.c' } as const;
export type NfLang = keyof typeof NF_SOURCES;
const SDKS = { as: 'sdk', c: 'sdk-c' } as const;
const SHARED: string[] = Object.values(SDKS);

/** The newest modification time of any file below dir. */
export function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/** The language of the NF in nf-modules/<name>, if it is one. */
function langOf(name: string): NfLang | undefined {
  if (SHARED.includes(name)) return undefined;
  return (Object.keys(NF_SOURCES) as NfLang[]).find((lang) => existsSync(join(NF_ROOT, name, NF_SOURCES[lang])));
}

/** The NFs in nf-modules/: every folder with an index.ts or an nf.c, except the SDKs. */
export function listNfs(): string[] {
  return readdirSync(NF_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && langOf(e.name) !== undefined)
    .map((e) => e.name)
    .sort();
}

const CLANG_FLAGS = {
  release: ['-O2'],
  debug: ['-O0', '-g'],
};

async function compileC(name: string, target: 'release' | 'debug', outFile: string): Promise<void> {
  const args = [
    '--target=wasm32', '-std=c11', '-Wall', '-Wextra', '-Werror', '-nostdlib', ...CLANG_FLAGS[target],
    '-I', join(NF_ROOT, 'sdk-c'),
    '-Wl,--no-entry', '-Wl,--import-memory', `-Wl,--global-base=${NF_MEMORY_BASE}`,
    ...(process.stderr.isTTY ? ['-fcolor-diagnostics'] : []),
    '-o', outFile, join(NF_ROOT, name, NF_SOURCES.c),
  ];
  try {
    await promisify(execFile)('clang', args);
  } catch (err) {
    const { stderr, code } = err as { stderr?: string; code?: unknown };
    const why = code === 'ENOENT' ? 'clang is not installed (scripts/setup installs clang and lld)' : (stderr ?? String(err));
    throw new Error(`nf-modules/${name}: ${target} build failed:\n${why}`);
  }
}

async function compileAs(name: string, target: 'release' | 'debug', outFile: string): Promise<void> {
  const { error, stderr } = await asc.main([
    join(NF_ROOT, name, 'index.ts'), '--config', CONFIG, '--target', target, '--outFile', outFile,
    // The diagnostics end up inside our error message: colours only for a terminal.
    ...(process.stderr.isTTY ? [] : ['--noColors']),
  ]);
  if (error) throw new Error(`nf-modules/${name}: ${target} build failed:\n${stderr.toString()}`);
}

/** Builds the named NFs (all by default); returns the names it rebuilt. */
export async function buildNfs(names: string[] = listNfs(), force = false): Promise<string[]> {
  const shared = { as: Math.max(newest(join(NF_ROOT, SDKS.as)), statSync(CONFIG).mtimeMs), c: newest(join(NF_ROOT, SDKS.c)) };
  const built: string[] = [];
  for (const name of names) {
    const lang = langOf(name);
    if (lang === undefined) throw new Error(`nf-modules/${name}: no such NF (neither index.ts nor nf.c)`);
    const release = join(BUILD_DIR, `${name}.wasm`);
    const debug = join(BUILD_DIR, `${name}.debug.wasm`);
    const sources = Math.max(shared[lang], newest(join(NF_ROOT, name)));
    const fresh = (f: string): boolean => existsSync(f) && statSync(f).mtimeMs >= sources;
    if (!force && fresh(release) && fresh(debug)) continue;
    const build = lang === 'c' ? compileC : compileAs;
    await build(name, 'release', release);
    await build(name, 'debug', debug);
    built.push(name);
  }
  return built;
}
