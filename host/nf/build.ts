// Building NF modules into nf-modules/build/<name>.wasm and <name>.debug.wasm:
//  - AssemblyScript, nf-modules/<name>/index.ts: asc, with the release and
//    debug targets of asconfig.json;
//  - C, nf-modules/<name>/nf.c with the C SDK (nf-modules/sdk-c): clang for
//    wasm32, -O2 and -O0 -g, linked by wasm-ld as the ABI wants (the memory
//    imported, the NF's data from 256 MiB up);
//  - Rust, nf-modules/<name>/nf.rs with the Rust SDK (nf-modules/sdk-rust, the
//    crate netvm): Debian's rustc (/usr/bin/rustc: a rustup toolchain earlier
//    on PATH may lack the wasm32 target) builds the SDK and the NF into a static
//    library, and wasm-ld links it: rustc's own link for wasm32 puts the stack
//    first, below 256 MiB, where the pool's window goes.
// The compilers' own diagnostics, which point at the source line, become the
// error. A module is rebuilt only when a source of its own or of its SDK is newer.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import asc from 'assemblyscript/asc';
import { PROJECT_ROOT } from '../paths.js';
import { NF_MEMORY_BASE, OPTIONAL_EXPORTS, REQUIRED_EXPORTS } from './abi.js';

export const NF_ROOT = join(PROJECT_ROOT, 'nf-modules');
const BUILD_DIR = join(NF_ROOT, 'build');
const CONFIG = join(NF_ROOT, '..', 'asconfig.json');
/** A module's source, by language (what makes a folder of nf-modules/ an NF), and its SDK's folder. */
export const NF_SOURCES = { as: 'index.ts', c: 'nf.c', rust: 'nf.rs' } as const;
export type NfLang = keyof typeof NF_SOURCES;
const SDKS = { as: 'sdk', c: 'sdk-c', rust: 'sdk-rust' } as const;
const RUSTC = '/usr/bin/rustc';
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

/** The NFs in nf-modules/: every folder with a source of one of NF_SOURCES, except the SDKs. */
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
const RUSTC_FLAGS = {
  release: ['-C', 'opt-level=3'],
  debug: ['-C', 'opt-level=0', '-g'],
};
/** What wasm-ld leaves in a module, by target (the name section only in debug). */
const WASM_LD_FLAGS = {
  release: ['--strip-all'],
  debug: [],
};

/** Runs a compiler; its diagnostics (on stderr) become the build's error, under what it built (where). */
async function run(where: string, target: string, tool: string, args: string[], install: string): Promise<void> {
  try {
    await promisify(execFile)(tool, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const { stderr, code } = err as { stderr?: string; code?: unknown };
    const why = code === 'ENOENT' ? `${tool} is not installed (${install})` : (stderr ?? String(err));
    throw new Error(`${where}: ${target} build failed:\n${why}`);
  }
}

async function compileRust(name: string, target: 'release' | 'debug', outFile: string): Promise<void> {
  await compileRustSource(join(NF_ROOT, name, NF_SOURCES.rust), target, outFile, `nf-modules/${name}`);
}

/** Builds one Rust source with the Rust SDK (also the tests' Rust fixtures); errors name where. */
export async function compileRustSource(source: string, target: 'release' | 'debug', outFile: string, where = source): Promise<void> {
  const install = 'scripts/setup installs rustc and libstd-rust-dev-wasm32';
  const tmp = mkdtempSync(join(tmpdir(), 'netvm-rust-'));
  try {
    const common = ['--edition', '2021', '--target', 'wasm32-unknown-unknown', '-C', 'panic=abort', ...RUSTC_FLAGS[target],
      ...(process.stderr.isTTY ? ['--color', 'always'] : [])];
    const sdk = join(tmp, 'libnetvm.rlib');
    await run(where, target, RUSTC, [...common, '--crate-type', 'rlib', '--crate-name', 'netvm', '-o', sdk, join(NF_ROOT, SDKS.rust, 'lib.rs')], install);
    const lib = join(tmp, 'libnf.a');
    await run(where, target, RUSTC, [...common, '--crate-type', 'staticlib', '--crate-name', 'nf', '--extern', `netvm=${sdk}`, '-o', lib,
      source], install);
    const exports = Object.keys({ ...REQUIRED_EXPORTS, ...OPTIONAL_EXPORTS }).map((e) => `--export-if-defined=${e}`);
    await run(where, target, 'wasm-ld', ['--no-entry', '--import-memory', `--global-base=${NF_MEMORY_BASE}`, '-z', 'stack-size=65536',
      '--gc-sections', ...WASM_LD_FLAGS[target], ...exports, '-o', outFile, lib], 'scripts/setup installs lld');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function compileC(name: string, target: 'release' | 'debug', outFile: string): Promise<void> {
  await compileCSource(join(NF_ROOT, name, NF_SOURCES.c), target, outFile, `nf-modules/${name}`);
}

/** Builds one C source with the C SDK (also the tests' C fixtures); errors name where. */
export async function compileCSource(source: string, target: 'release' | 'debug', outFile: string, where = source): Promise<void> {
  const args = [
    '--target=wasm32', '-mbulk-memory', '-std=c11', '-Wall', '-Wextra', '-Werror', '-nostdlib', ...CLANG_FLAGS[target],
    '-I', join(NF_ROOT, SDKS.c),
    '-Wl,--no-entry', '-Wl,--import-memory', `-Wl,--global-base=${NF_MEMORY_BASE}`,
    ...(process.stderr.isTTY ? ['-fcolor-diagnostics'] : []),
    '-o', outFile, source,
  ];
  await run(where, target, 'clang', args, 'scripts/setup installs clang and lld');
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
  const shared = {
    as: Math.max(newest(join(NF_ROOT, SDKS.as)), statSync(CONFIG).mtimeMs), c: newest(join(NF_ROOT, SDKS.c)), rust: newest(join(NF_ROOT, SDKS.rust)),
  };
  const built: string[] = [];
  for (const name of names) {
    const lang = langOf(name);
    if (lang === undefined) throw new Error(`nf-modules/${name}: no such NF (no ${Object.values(NF_SOURCES).join(', ')})`);
    const release = join(BUILD_DIR, `${name}.wasm`);
    const debug = join(BUILD_DIR, `${name}.debug.wasm`);
    const sources = Math.max(shared[lang], newest(join(NF_ROOT, name)));
    const fresh = (f: string): boolean => existsSync(f) && statSync(f).mtimeMs >= sources;
    if (!force && fresh(release) && fresh(debug)) continue;
    const build = { as: compileAs, c: compileC, rust: compileRust }[lang];
    await build(name, 'release', release);
    await build(name, 'debug', debug);
    built.push(name);
  }
  return built;
}
