// Builds the test-only NF modules of test/fixtures/nfs/ (<name>.ts with the
// AssemblyScript SDK, <name>.c with the C SDK; once, rebuilt when the source or
// its SDK is newer) and returns their paths.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { compileCSource, newest } from '../../host/nf/build.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'test/fixtures/build');

export async function fixtureNf(name: string): Promise<string> {
  const inC = existsSync(join(ROOT, 'test/fixtures/nfs', `${name}.c`));
  const source = join(ROOT, 'test/fixtures/nfs', `${name}.${inC ? 'c' : 'ts'}`);
  const wasm = join(OUT, `${name}.wasm`);
  const sources = Math.max(statSync(source).mtimeMs, newest(join(ROOT, inC ? 'nf-modules/sdk-c' : 'nf-modules/sdk')));
  if (existsSync(wasm) && statSync(wasm).mtimeMs >= sources) return wasm;
  mkdirSync(OUT, { recursive: true });
  if (inC) {
    await compileCSource(source, 'release', wasm);
    return wasm;
  }
  const { error, stderr } = await asc.main([source, '--config', join(ROOT, 'asconfig.json'), '--target', 'release', '--outFile', wasm]);
  if (error) throw new Error(`${source}: ${stderr.toString()}`);
  return wasm;
}

export const REPO_ROOT = ROOT;
