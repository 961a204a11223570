// Runs AssemblyScript code that is not an NF (SDK pieces under test): compiles
// a module with the project's asc options and instantiates it with the
// imports an NF gets, on a memory of its own. Test modules live in
// test/fixtures/sdk/<name>.ts and export whatever functions the test calls.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import asc from 'assemblyscript/asc';
import { newest } from '../../host/nf/build.js';
import { REPO_ROOT } from './fixtures.js';

const OUT = join(REPO_ROOT, 'test/fixtures/build/sdk');
const WASM_PAGE = 65536;
/** Pages below the module's data (asc --memoryBase) plus room for its heap. */
const MEMORY_PAGES = 256 * 16 + 1024;

export interface Harness {
  exports: Record<string, (...args: never[]) => unknown>;
  memory: WebAssembly.Memory;
  /** Bytes of the memory (renew after the module grows its memory). */
  bytes(): Uint8Array;
  /** Writes bytes at a free address below the module's data; returns the address. */
  put(data: Uint8Array, at?: number): number;
  logs: string[];
}

export async function harness(name: string): Promise<Harness> {
  const source = join(REPO_ROOT, 'test/fixtures/sdk', `${name}.ts`);
  const wasm = join(OUT, `${name}.wasm`);
  const sources = Math.max(statSync(source).mtimeMs, newest(join(REPO_ROOT, 'nf-modules/sdk')));
  if (!existsSync(wasm) || statSync(wasm).mtimeMs < sources) {
    mkdirSync(OUT, { recursive: true });
    const { error, stderr } = await asc.main([source, '--config', join(REPO_ROOT, 'asconfig.json'), '--target', 'release', '--outFile', wasm]);
    if (error) throw new Error(`${source}: ${stderr.toString()}`);
  }
  const memory = new WebAssembly.Memory({ initial: MEMORY_PAGES });
  const logs: string[] = [];
  const text = (ptr: number, len: number): string => Buffer.from(new Uint8Array(memory.buffer, ptr >>> 0, len)).toString('utf8');
  const env = {
    memory,
    netvm_window_base: new WebAssembly.Global({ value: 'i32', mutable: false }, 0),
    abort: (msg: number, file: number, line: number, col: number) => {
      throw new Error(`abort at ${line}:${col} (${msg}, ${file})`);
    },
    netvm_log: (level: number, ptr: number, len: number) => logs.push(`${level} ${text(ptr, len)}`),
    netvm_metric_define: () => 0,
    netvm_now_ns: () => process.hrtime.bigint(),
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasm)), { env });
  let next = WASM_PAGE;
  return {
    exports: instance.exports as Harness['exports'],
    memory,
    bytes: () => new Uint8Array(memory.buffer),
    put(data, at = next) {
      new Uint8Array(memory.buffer).set(data, at);
      next = Math.max(next, at + data.length + 64) & ~63;
      return at;
    },
    logs,
  };
}
