// Native NFs: an NF's logic in C, built as a shared object (nf-modules/native,
// netvm_native.h) and called by the worker through koffi, once per burst, over
// the same batch records and pool window as a Wasm NF. They exist so that the
// bench measures every Wasm NF against the same logic in C in the same run
// (the `-c` points, "Wasm vs C"); like JavaScript NFs they are trusted host
// code, not a trust level, and a run loads them at its start only.
//
// Memory of a native NF: the pool at its window (as for any NF), and above
// NF_MEMORY_BASE the host's page: the batch records, then the metric slots,
// then the clock word the chain writes before every burst.
import koffi from 'koffi';
import { MAX_METRICS, NF_MEMORY_BASE, recordBytes } from './abi.js';
import type { Metric } from './host-imports.js';

export const NATIVE_NF_PAGES = NF_MEMORY_BASE / 65536 + 1;
/** The records of nf-modules/native/netvm_native.h's struct netvm_record. */
export const NATIVE_ABI_VERSION = 2;
export const NATIVE_NF_MAX_BURST = 256;
export const NATIVE_RECORDS = NF_MEMORY_BASE;
export const NATIVE_METRICS = NATIVE_RECORDS + NATIVE_NF_MAX_BURST * recordBytes(NATIVE_ABI_VERSION);
export const NATIVE_CLOCK = NATIVE_METRICS + MAX_METRICS * 8;

export const isNativeNfPath = (path: string): boolean => /\.so$/.test(path);

const ERROR_BYTES = 512;

/** One shared object's entry points, loaded once per thread. */
export interface NativeNfLibrary {
  metrics: Metric[];
  /** Whether it reads the chain's parse in its records (NF_READS_META). */
  readsMeta: boolean;
  create(config: string, window: bigint, records: bigint, metrics: bigint, clock: bigint, error: Buffer, errorLen: number): number;
  process(handle: number, n: number): void;
  destroy(handle: number): void;
}

const libraries = new Map<string, NativeNfLibrary>();

/** The shared object at path (loaded on first use in this thread); throws why it is not a native NF. */
export function nativeNfLibrary(path: string): NativeNfLibrary {
  const known = libraries.get(path);
  if (known !== undefined) return known;
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(path);
  } catch (err) {
    throw new Error(`cannot load the native NF: ${(err as Error).message}`);
  }
  let names: string;
  let library: NativeNfLibrary;
  try {
    names = (lib.func('const char *netvm_native_metric_names(void)') as () => string)();
    library = {
      metrics: [],
      readsMeta: (lib.func('int netvm_native_reads_meta(void)') as () => number)() !== 0,
      create: lib.func('int netvm_native_create(const char *config, uintptr_t window, uintptr_t records, uintptr_t metrics, uintptr_t clock, _Out_ uint8_t *error, size_t error_len)'),
      process: lib.func('void netvm_native_process(int handle, uint32_t n)'),
      destroy: lib.func('void netvm_native_destroy(int handle)'),
    };
  } catch (err) {
    throw new Error(`not a native NF (built with nf-modules/native/netvm_native.c): ${(err as Error).message}`);
  }
  // "name" is a counter, "name:gauge" a gauge.
  for (const entry of names.split(',').filter((e) => e.length > 0)) {
    const [name, kind] = entry.split(':');
    library.metrics.push({ name: name!, kind: kind === 'gauge' ? 'gauge' : 'counter' });
  }
  if (library.metrics.length > MAX_METRICS) throw new Error(`defines ${library.metrics.length} metrics; at most ${MAX_METRICS}`);
  libraries.set(path, library);
  return library;
}

// A native instance's C side lives as long as the instance's exports: freed when those are collected.
const instances = new FinalizationRegistry<{ library: NativeNfLibrary; handle: number }>(({ library, handle }) => library.destroy(handle));

/** A C instance for config over memory (the layout above); its netvm_process. */
export function createNativeNf(library: NativeNfLibrary, config: string, memory: { buffer: ArrayBuffer }, windowOffset: number, owner: object): (n: number) => void {
  const error = Buffer.alloc(ERROR_BYTES);
  const base = koffi.address(new Uint8Array(memory.buffer, 0, 1)) as bigint;
  const at = (offset: number): bigint => base + BigInt(offset);
  const handle = library.create(config, at(windowOffset), at(NATIVE_RECORDS), at(NATIVE_METRICS), at(NATIVE_CLOCK), error, ERROR_BYTES);
  if (handle < 0) throw new Error(error.subarray(0, Math.max(0, error.indexOf(0))).toString('utf8') || 'refused its config');
  instances.register(owner, { library, handle });
  const process = library.process;
  return (n: number): void => process(handle, n);
}
