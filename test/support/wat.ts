// Hand-written WebAssembly text (test/hard/hostile/*.wat) to binary, with
// binaryen (assemblyscript's own dependency): built once, rebuilt when the
// text is newer.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';

const OUT = join(REPO_ROOT, 'test/fixtures/build');

export async function watModule(source: string): Promise<string> {
  const wasm = join(OUT, `${basename(source, '.wat')}.wasm`);
  if (existsSync(wasm) && statSync(wasm).mtimeMs >= statSync(source).mtimeMs) return wasm;
  const { default: binaryen } = await import('binaryen');
  const module = binaryen.parseText(readFileSync(source, 'utf8'));
  try {
    // Hostile on purpose: built as written, not validated or optimized.
    mkdirSync(OUT, { recursive: true });
    writeFileSync(wasm, module.emitBinary());
  } finally {
    module.dispose();
  }
  return wasm;
}
