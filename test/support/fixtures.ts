// Builds the test-only NF modules of test/fixtures/nfs/ (<name>.ts with the
// AssemblyScript SDK, <name>.c with the C SDK, <name>.rs with the Rust SDK;
// once, rebuilt when the source or its SDK is newer) and returns their paths.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { compileCSource, compileRustSource, newest } from '../../host/nf/build.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'test/fixtures/build');

export async function fixtureNf(name: string): Promise<string> {
  const lang = (['c', 'rs'] as const).find((ext) => existsSync(join(ROOT, 'test/fixtures/nfs', `${name}.${ext}`))) ?? 'ts';
  const source = join(ROOT, 'test/fixtures/nfs', `${name}.${lang}`);
  const wasm = join(OUT, `${name}.wasm`);
  const sdk = { ts: 'nf-modules/sdk', c: 'nf-modules/sdk-c', rs: 'nf-modules/sdk-rust' }[lang];
  if (existsSync(wasm) && statSync(wasm).mtimeMs >= Math.max(statSync(source).mtimeMs, newest(join(ROOT, sdk)))) return wasm;
  mkdirSync(OUT, { recursive: true });
  if (lang !== 'ts') {
    await (lang === 'c' ? compileCSource : compileRustSource)(source, 'release', wasm);
    return wasm;
  }
  const { error, stderr } = await asc.main([source, '--config', join(ROOT, 'asconfig.json'), '--target', 'release', '--outFile', wasm]);
  if (error) throw new Error(`${source}: ${stderr.toString()}`);
  return wasm;
}

export const REPO_ROOT = ROOT;
