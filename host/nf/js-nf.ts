// JavaScript NFs: an NF's logic as a plain JavaScript module, run by the
// worker in its own isolate without a WebAssembly sandbox. They exist to
// measure Wasm against the same logic in TypeScript on the live data plane
// (the bench's `-js` points); they are trusted host code, not a trust level.
//
// A JS NF module exports createNf(config) and returns a function called once
// per packet: (bytes, view, offset, length) => keep, where bytes and view
// cover the instance's memory (the pool mapped at its window, as for a Wasm
// NF) and false drops the packet. It may change the packet's bytes in place.
// Modules are imported when a run or a worker starts (import() is async, an
// instance is built synchronously); one cannot be swapped in later.
import { pathToFileURL } from 'node:url';
import { NF_MEMORY_BASE } from './abi.js';
import { NfModuleError } from './module-types.js';

export type JsPacketFn = (bytes: Uint8Array, view: DataView, offset: number, length: number) => boolean;
type JsNfFactory = (config: unknown) => JsPacketFn;

/** A JS NF's memory: the pool's region, then one page for its batch records. */
export const JS_NF_PAGES = NF_MEMORY_BASE / 65536 + 1;
export const JS_NF_MAX_BURST = 256;

const factories = new Map<string, JsNfFactory>();

export const isJsNfPath = (path: string): boolean => /\.m?js$/.test(path);

/** Imports a JS NF module (once per thread) and checks that it exports createNf. */
export async function preloadJsNf(path: string): Promise<void> {
  if (factories.has(path)) return;
  let exports: { createNf?: unknown };
  try {
    exports = (await import(pathToFileURL(path).href)) as { createNf?: unknown };
  } catch (err) {
    throw new NfModuleError(path, `cannot import the JavaScript NF: ${(err as Error).message}`);
  }
  if (typeof exports.createNf !== 'function') throw new NfModuleError(path, 'a JavaScript NF exports createNf(config)');
  factories.set(path, exports.createNf as JsNfFactory);
}

export function jsNfFactory(path: string): JsNfFactory {
  const factory = factories.get(path);
  if (factory === undefined) throw new NfModuleError(path, 'a JavaScript NF runs from the start of a run or a worker: it cannot be loaded into one that runs');
  return factory;
}
