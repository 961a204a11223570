// An NF instance: its own linear memory, the packet pool mapped zero-copy over a
// window in that memory, and a view of its batch records.
//
// Memory layout of an instance (addresses inside its linear memory):
//   [0, windowOffset)                       unused (catches small null offsets)
//   [windowOffset, windowOffset + poolLen)  the pool, shared with DPDK and every NF
//   [NF_MEMORY_BASE, ...)                   the module's data, batch area and heap
// windowOffset is the first address >= 64 KiB that is aligned to the pool's
// page size in the process's address space; V8 only aligns memories to 64 KiB,
// so it differs between instances.
import { ABI_VERSIONS, MAX_METRICS, MAX_STATE_BYTES, NF_MEMORY_BASE, RECORD_BYTES_V1, recordBytes, type NfExports } from './abi.js';
import { createConstant, createMemory, instantiate, type LinearMemory } from './engine.js';
import { HostImports } from './host-imports.js';
import { NfModuleError, type JsNfModule, type NativeNfModule, type NfModule } from './module-types.js';
import { JS_NF_MAX_BURST, jsNfFactory, type JsPacketFn } from './js-nf.js';
import { NATIVE_ABI_VERSION, NATIVE_CLOCK, NATIVE_METRICS, NATIVE_NF_MAX_BURST, NATIVE_RECORDS, createNativeNf, nativeNfLibrary } from './native-nf.js';
import { vmInstance } from '../vm/vm-nf.js';
import type { InstanceMemory, InstanceOptions, NfInstance, PoolWindow, PreparedMemory } from './instance-types.js';
export type { InstanceMemory, InstanceOptions, NfInstance, PoolWindow, PreparedMemory, VmLink } from './instance-types.js';

const WASM_PAGE = 65536;

/** The most a wasm32 memory can address: the heap's advice covers up to here. */
const WASM32_BYTES = 4n * 1024n * 1024n * 1024n;

function inside(memory: InstanceMemory, addr: number, bytes: number): boolean {
  return addr >= NF_MEMORY_BASE && addr + bytes <= memory.buffer.byteLength;
}

function configure(exports: NfExports, memory: LinearMemory, host: HostImports, config: string, fail: (r: string) => never): void {
  if (exports.netvm_configure === undefined || exports.netvm_config_buffer === undefined) {
    fail('has a config but does not export netvm_configure and netvm_config_buffer');
  }
  const bytes = Buffer.from(config, 'utf8');
  const ptr = exports.netvm_config_buffer!(bytes.length) >>> 0;
  if (!inside(memory, ptr, bytes.length)) fail(`netvm_config_buffer(${bytes.length}) returned ${ptr}, outside its own memory`);
  new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
  const status = exports.netvm_configure!(ptr, bytes.length);
  if (status !== 0) fail(`refused its config (status ${status})${host.lastError ? `: ${host.lastError}` : ''}`);
}

function readAsString(memory: LinearMemory, ptr: number): string {
  const bytes = new Uint8Array(memory.buffer);
  if (ptr < 4 || ptr > bytes.length) return '?';
  const len = new DataView(memory.buffer).getUint32(ptr - 4, true);
  if (len > 4096 || ptr + len > bytes.length) return '?';
  return Buffer.from(bytes.subarray(ptr, ptr + len)).toString('utf16le');
}

function windowOffsetFor(base: bigint, pageSize: number): number {
  const page = BigInt(pageSize);
  const first = base + BigInt(WASM_PAGE);
  return Number((first + page - 1n) / page * page - base);
}

/** The memory limits an instance of nf gets, under a heap limit; throws why not. */
function memoryPages(nf: NfModule, heapMb: number | undefined, fail: (r: string) => never): { min: number; max: number | undefined } {
  let max = nf.memory.maxPages;
  if (heapMb !== undefined) {
    const limit = (NF_MEMORY_BASE + heapMb * 1024 * 1024) / WASM_PAGE;
    if (limit < nf.memory.minPages) {
      fail(`needs ${((nf.memory.minPages * WASM_PAGE - NF_MEMORY_BASE) / 1048576).toFixed(1)} MiB of heap to start; its limit is ${heapMb} MiB`);
    }
    max = Math.min(max ?? limit, limit);
  }
  return { min: nf.memory.minPages, max };
}

/** Which prepared memories an instance of nf can take: those of the same maximum and
 *  trust (one smaller than its minimum grows to it: see fitMemory). */
export function memoryKey(nf: NfModule, heapMb: number | undefined, isolated: boolean | undefined): string {
  const { max } = memoryPages(nf, heapMb, (r) => {
    throw new NfModuleError(nf.path, r);
  });
  return keyOf(max, isolated);
}

const keyOf = (maxPages: number | undefined, isolated: boolean | undefined): string => `${maxPages ?? '-'}:${isolated === true ? 'isolated' : 'shared'}`;

/** Grows a prepared memory (of nf's key) to nf's minimum, if it is smaller. */
export function fitMemory(nf: NfModule, prepared: PreparedMemory): PreparedMemory {
  const pages = prepared.memory.buffer.byteLength / WASM_PAGE;
  if (pages < nf.memory.minPages) prepared.memory.grow(nf.memory.minPages - pages);
  return prepared;
}

/** A new memory for an instance of nf, with the pool in it (or a private packet area). */
export function prepareMemory(nf: NfModule, pool: PoolWindow, heapMb?: number, isolated?: boolean): PreparedMemory {
  return prepare(nf, pool, heapMb, isolated, (reason) => {
    throw new NfModuleError(nf.path, reason);
  });
}

function prepare(nf: NfModule, pool: PoolWindow, heapMb: number | undefined, isolated: boolean | undefined, fail: (r: string) => never): PreparedMemory {
  const { min, max } = memoryPages(nf, heapMb, fail);
  const memory = createMemory(min, max);
  const base = pool.addressOf(memory);
  let windowOffset: number;
  if (isolated) {
    // A private area where the chain copies the NF's burst: the pool is not mapped.
    windowOffset = WASM_PAGE;
  } else {
    windowOffset = windowOffsetFor(base, pool.pageSize);
    if (windowOffset + pool.len > NF_MEMORY_BASE) {
      fail(`the pool (${pool.len} bytes) does not fit below the NF memory base (${NF_MEMORY_BASE})`);
    }
    pool.map(base + BigInt(windowOffset));
  }
  pool.adviseHugepages(base + BigInt(NF_MEMORY_BASE), WASM32_BYTES - BigInt(NF_MEMORY_BASE));
  return { memory, windowOffset, key: keyOf(max, isolated) };
}

/** The parts of a gone instance's memory that must read as zero again before another
 *  instance takes it: every byte but the pool's window, as [address, length] ranges. */
export function memoryToScrub(nf: NfInstance, pool: PoolWindow): [bigint, bigint][] {
  const base = pool.addressOf(nf.memory as LinearMemory);
  const end = BigInt(nf.memory.buffer.byteLength);
  if (nf.isolated) return [[base, end]];
  const windowEnd = BigInt(nf.windowOffset + pool.len);
  return [[base, BigInt(nf.windowOffset)], [base + windowEnd, end - windowEnd]];
}

export function createNfInstance(nf: NfModule, name: string, opts: InstanceOptions = {}): NfInstance {
  const { pool, config } = opts;
  const fail = (reason: string): never => {
    throw new NfModuleError(nf.path, `${name}: ${reason}`);
  };
  if (nf.vm) return opts.vm !== undefined ? vmInstance(nf, name, opts.vm) : fail('a vm NF runs in its guest: it has no instance here');
  // The window needs NF_MEMORY_BASE bytes below the module's data; the module
  // asked for at least that much (checked when it was loaded).
  let memory: LinearMemory;
  let windowOffset = 0;
  if (opts.memory !== undefined) {
    ({ memory, windowOffset } = opts.memory);
  } else if (pool !== undefined) {
    ({ memory, windowOffset } = prepare(nf, pool, opts.heapMb, opts.isolated, fail));
  } else {
    const { min, max } = memoryPages(nf, opts.heapMb, fail);
    memory = createMemory(min, max);
  }
  if (nf.js) return jsInstance(nf, name, opts, memory, windowOffset);
  if (nf.native) return nativeInstance(nf, name, opts, memory, windowOffset);
  const abort = (msg: number, file: number, line: number, col: number): never => {
    throw new WebAssembly.RuntimeError(
      `abort: ${readAsString(memory, msg)} at ${readAsString(memory, file)}:${line}:${col}`,
    );
  };
  const host = new HostImports(name, opts.log, opts.place);
  host.bind(memory);
  let exports: NfExports;
  try {
    const netvm_window_base = createConstant(windowOffset);
    const env = { memory, netvm_window_base, abort, ...host.functions() };
    exports = instantiate(nf.module, { env }).exports as unknown as NfExports;
  } catch (err) {
    return fail(`instantiation failed: ${(err as Error).message}`);
  }
  if (exports.netvm_window !== undefined) {
    const slot = exports.netvm_window() >>> 0;
    if (slot % 4 !== 0 || !inside(memory, slot, 4)) fail(`netvm_window() returned ${slot}, not a 4-byte aligned word in its own memory`);
    new DataView(memory.buffer).setUint32(slot, windowOffset, true);
  }
  const version = exports.netvm_abi_version();
  if (!ABI_VERSIONS.includes(version)) fail(`speaks NetVM ABI version ${version}; this host speaks versions ${ABI_VERSIONS.join(' and ')}`);
  const maxBurst = exports.netvm_max_burst();
  const batchAddr = exports.netvm_batch() >>> 0;
  const record = recordBytes(version);
  if (!(maxBurst >= 1)) fail(`netvm_max_burst() returned ${maxBurst}; it must be at least 1`);
  if (batchAddr % 4 !== 0 || !inside(memory, batchAddr, maxBurst * record)) {
    fail(`netvm_batch() returned ${batchAddr}, which is not a 4-byte aligned area of ${maxBurst} records of ${record} bytes in its own memory`);
  }
  try {
    if (config !== undefined) configure(exports, memory, host, config, fail);
  } catch (err) {
    if (err instanceof NfModuleError) throw err;
    fail(`trapped in netvm_configure: ${(err as Error).message}`);
  }
  // Metrics may be defined at start-up or in configure: both are done now.
  let metricsAddr = 0;
  if (host.metrics.length > 0) {
    metricsAddr = (exports.netvm_metrics?.() ?? 0) >>> 0;
    if (metricsAddr % 8 !== 0 || !inside(memory, metricsAddr, MAX_METRICS * 8)) {
      fail(`defines metrics but netvm_metrics() does not give an 8-byte aligned area of ${MAX_METRICS} slots`);
    }
  }
  const clockAddr = (exports.netvm_clock?.() ?? 0) >>> 0;
  if (clockAddr !== 0 && (clockAddr % 8 !== 0 || !inside(memory, clockAddr, 8))) {
    fail(`netvm_clock() returned ${clockAddr}, not an 8-byte aligned word in its own memory`);
  }
  let readsMeta = version === 2;
  try {
    if (readsMeta && exports.netvm_reads_meta !== undefined) readsMeta = exports.netvm_reads_meta() !== 0;
  } catch (err) {
    fail(`trapped in netvm_reads_meta: ${(err as Error).message}`);
  }
  return {
    name, path: nf.path, memory, exports, windowOffset, batchAddr, recordBytes: record, readsMeta, maxBurst, host, metricsAddr, clockAddr,
    isolated: pool !== undefined && opts.isolated === true,
  };
}

/** A JavaScript NF's instance (host/nf/js-nf.ts): its packet function over the memory, called
 *  per record by a netvm_process of the host's making; records at NF_MEMORY_BASE. */
function jsInstance(nf: JsNfModule, name: string, opts: InstanceOptions, memory: LinearMemory, windowOffset: number): NfInstance {
  let packet: JsPacketFn;
  try {
    packet = jsNfFactory(nf.path)(opts.config === undefined ? null : JSON.parse(opts.config));
  } catch (err) {
    throw new NfModuleError(nf.path, `${name}: ${(err as Error).message}`);
  }
  const bytes = new Uint8Array(memory.buffer);
  const view = new DataView(memory.buffer);
  const records = new Uint32Array(memory.buffer, NF_MEMORY_BASE, JS_NF_MAX_BURST * (RECORD_BYTES_V1 / 4));
  const exports: NfExports = {
    netvm_abi_version: () => 1,
    netvm_batch: () => NF_MEMORY_BASE,
    netvm_max_burst: () => JS_NF_MAX_BURST,
    netvm_process: (n: number): void => {
      for (let i = 0, r = 0; i < n; i++, r += RECORD_BYTES_V1 / 4) {
        records[r + 3] = packet(bytes, view, windowOffset + records[r]!, records[r + 1]!) ? 0 : 1; // NEXT : DROP
      }
    },
  };
  return {
    name, path: nf.path, memory, exports, windowOffset, batchAddr: NF_MEMORY_BASE, recordBytes: RECORD_BYTES_V1, readsMeta: false, maxBurst: JS_NF_MAX_BURST,
    host: new HostImports(name, opts.log, opts.place), metricsAddr: 0, clockAddr: 0, isolated: opts.pool !== undefined && opts.isolated === true,
  };
}

/** A native NF's instance (host/nf/native-nf.ts): its C side over the memory, called once
 *  per burst; records, metric slots and the clock word at NF_MEMORY_BASE. */
function nativeInstance(nf: NativeNfModule, name: string, opts: InstanceOptions, memory: LinearMemory, windowOffset: number): NfInstance {
  const library = nativeNfLibrary(nf.path);
  const exports: NfExports = {
    netvm_abi_version: () => NATIVE_ABI_VERSION,
    netvm_batch: () => NATIVE_RECORDS,
    netvm_max_burst: () => NATIVE_NF_MAX_BURST,
    netvm_process: () => {},
  };
  try {
    exports.netvm_process = createNativeNf(library, opts.config ?? '', memory, windowOffset, exports);
  } catch (err) {
    throw new NfModuleError(nf.path, `${name}: ${(err as Error).message}`);
  }
  const host = new HostImports(name, opts.log, opts.place);
  host.metrics.push(...library.metrics);
  return {
    name, path: nf.path, memory, exports, windowOffset, batchAddr: NATIVE_RECORDS, recordBytes: recordBytes(NATIVE_ABI_VERSION),
    readsMeta: library.readsMeta, maxBurst: NATIVE_NF_MAX_BURST,
    host, metricsAddr: NATIVE_METRICS, clockAddr: NATIVE_CLOCK, isolated: opts.pool !== undefined && opts.isolated === true,
  };
}

/** The current values of the metrics an instance defined, in definition order. */
export function metricValues(nf: NfInstance): number[] {
  const n = nf.host.metrics.length;
  if (n === 0) return [];
  return Array.from(new BigInt64Array(nf.memory.buffer, nf.metricsAddr, n), Number);
}

/** Whether an instance can give its state, and whether it can take state. */
export function stateHandover(nf: NfInstance): { exports: boolean; imports: boolean } {
  const e = nf.exports;
  return { exports: e.netvm_state_export !== undefined, imports: e.netvm_state_import !== undefined && e.netvm_state_buffer !== undefined };
}

/** A copy of the state an instance gives (netvm_state_export), or undefined
 *  when it has none to give. Call between bursts. */
export function exportState(nf: NfInstance): Uint8Array | undefined {
  const fail = (reason: string): never => {
    throw new NfModuleError(nf.path, `${nf.name}: ${reason}`);
  };
  if (nf.exports.netvm_state_export === undefined) return undefined;
  let addr: number;
  try {
    addr = nf.exports.netvm_state_export() >>> 0;
  } catch (err) {
    return fail(`trapped in netvm_state_export: ${(err as Error).message}`);
  }
  if (addr === 0) return undefined;
  const memory = nf.memory.buffer;
  if (addr % 4 !== 0 || !inside(nf.memory, addr, 4)) fail(`netvm_state_export() returned ${addr}, not a 4-byte aligned address in its own memory`);
  const len = new DataView(memory).getUint32(addr, true);
  if (len > MAX_STATE_BYTES || !inside(nf.memory, addr + 4, len)) {
    fail(`netvm_state_export() gave ${len} bytes at ${addr + 4}, beyond its own memory or the ${MAX_STATE_BYTES}-byte limit`);
  }
  return new Uint8Array(memory, addr + 4, len).slice();
}

/** Hands state (from another instance's exportState) to an instance: throws
 *  an NfModuleError when it cannot take state, refuses it, or traps. */
export function importState(nf: NfInstance, state: Uint8Array): void {
  const fail = (reason: string): never => {
    throw new NfModuleError(nf.path, `${nf.name}: ${reason}`);
  };
  const e = nf.exports;
  if (e.netvm_state_import === undefined || e.netvm_state_buffer === undefined) {
    fail('does not export netvm_state_import and netvm_state_buffer: it cannot take state');
  }
  nf.host.lastError = '';
  try {
    const ptr = e.netvm_state_buffer!(state.length) >>> 0;
    if (!inside(nf.memory, ptr, state.length)) fail(`netvm_state_buffer(${state.length}) returned ${ptr}, outside its own memory`);
    new Uint8Array(nf.memory.buffer, ptr, state.length).set(state);
    const status = e.netvm_state_import!(ptr, state.length);
    if (status !== 0) fail(`refused the state (status ${status})${nf.host.lastError ? `: ${nf.host.lastError}` : ''}`);
  } catch (err) {
    if (err instanceof NfModuleError) throw err;
    fail(`trapped in netvm_state_import: ${(err as Error).message}`);
  }
}
