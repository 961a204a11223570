// The WebAssembly engine, behind one small surface so that another engine can
// be put here. Today: V8's, through the WebAssembly JS API.
import { setFlagsFromString } from 'node:v8';

// V8 compiles a module's functions lazily, each on its first call, on the
// thread that calls it: a worker would compile an NF's rarely called
// functions (its state export on a swap, say) between two bursts, 100 us and
// more. Compiled whole up front, on the thread that loads the module (twice
// the compile time, off the data path), they are ready when first called.
// The flag is read when a module is compiled, and every module is compiled here.
setFlagsFromString('--no-wasm-lazy-compilation');

export type CompiledModule = WebAssembly.Module;
export type ModuleInstance = WebAssembly.Instance;
export type LinearMemory = WebAssembly.Memory;
export type Imports = WebAssembly.Imports;

export function compile(bytes: Uint8Array): CompiledModule {
  // Node hands out Buffers typed over ArrayBufferLike; the bytes are copied by V8.
  return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
}

export function instantiate(module: CompiledModule, imports: Imports): ModuleInstance {
  return new WebAssembly.Instance(module, imports);
}

export function createMemory(initialPages: number, maximumPages: number | undefined): LinearMemory {
  return new WebAssembly.Memory(
    maximumPages === undefined ? { initial: initialPages } : { initial: initialPages, maximum: maximumPages },
  );
}

export function createConstant(value: number): WebAssembly.Global {
  return new WebAssembly.Global({ value: 'i32', mutable: false }, value);
}

export function moduleImports(module: CompiledModule): { module: string; name: string; kind: string }[] {
  return WebAssembly.Module.imports(module);
}

export function moduleExports(module: CompiledModule): { name: string; kind: string }[] {
  return WebAssembly.Module.exports(module);
}

/** True for errors the module itself raised while running: a trap, or (V8 throws a
 *  RangeError for it, not a RuntimeError) running out of stack in endless recursion. */
export function isTrap(err: unknown): boolean {
  return err instanceof WebAssembly.RuntimeError || err instanceof RangeError;
}
