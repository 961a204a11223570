// What loading an NF module gives, and the error that refuses one: apart from
// host/nf/module.ts, so that the modules the loader uses (trial, instance,
// js-nf) can name them without importing the loader.
import type { CompiledModule } from './engine.js';
import type { MemoryLimits } from './wasm-binary.js';

export class NfModuleError extends Error {
  constructor(readonly path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'NfModuleError';
  }
}

/** A compiled module that speaks this host's ABI, a JavaScript NF (host/nf/js-nf.ts), a
 *  native NF (host/nf/native-nf.ts), or a guest's initramfs for a vm NF (host/vm/).
 *  Cloneable to worker threads. */
export type NfModule = WasmNfModule | JsNfModule | NativeNfModule | VmNfModule;

export interface WasmNfModule {
  path: string;
  js?: false;
  native?: false;
  vm?: false;
  module: CompiledModule;
  memory: MemoryLimits;
}

export interface JsNfModule {
  path: string;
  js: true;
  native?: false;
  vm?: false;
  memory: MemoryLimits;
}

export interface NativeNfModule {
  path: string;
  js?: false;
  native: true;
  vm?: false;
  memory: MemoryLimits;
}

/** A vm NF's guest program: an initramfs whose /nf is built with nf-modules/guest (scripts/build-guest). */
export interface VmNfModule {
  path: string;
  js?: false;
  native?: false;
  vm: true;
  memory: MemoryLimits;
}
