// Builds the test-only NF modules of test/fixtures/nfs/ (once; rebuilt when
// the source is newer) and returns their paths.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { newest } from '../../host/nf/build.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'test/fixtures/build');

export async function fixtureNf(name: string): Promise<string> {
  const source = join(ROOT, 'test/fixtures/nfs', `${name}.ts`);
  const wasm = join(OUT, `${name}.wasm`);
  const sources = Math.max(statSync(source).mtimeMs, newest(join(ROOT, 'nf-modules/sdk')));
  if (existsSync(wasm) && statSync(wasm).mtimeMs >= sources) return wasm;
  mkdirSync(OUT, { recursive: true });
  const { error, stderr } = await asc.main([source, '--config', join(ROOT, 'asconfig.json'), '--target', 'release', '--outFile', wasm]);
  if (error) throw new Error(`${source}: ${stderr.toString()}`);
  return wasm;
}

export const REPO_ROOT = ROOT;
