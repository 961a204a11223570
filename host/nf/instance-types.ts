// What an NF instance is to the host, apart from host/nf/instance.ts (which
// makes them) so that every kind of instance, the vm NF's too, can name these
// without importing the module that makes the others.
import type { NfExports } from './abi.js';
import type { LinearMemory } from './engine.js';
import type { ChainPlace, HostImports } from './host-imports.js';

/** A vm NF's link to its guest: the region they share, and how long a burst may take there. */
export interface VmLink {
  region: bigint;
  timeoutNs: number;
}

/** The pool as a worker sees it: its size and how to map it at an address. */
export interface PoolWindow {
  len: number;
  pageSize: number;
  map(address: bigint): void;
  addressOf(memory: LinearMemory): bigint;
  /** Asks for transparent hugepages over len bytes at address (the NF's heap). */
  adviseHugepages(address: bigint, len: bigint): void;
  /** Gives back the private pages of len bytes at address: they read as zeros again. */
  discard(address: bigint, len: bigint): void;
  /** Makes len bytes at address read as zeros again from their start, the resident pages
   *  zeroed in place, until maxZero bytes are zeroed: returns how many bytes are done. */
  scrub(address: bigint, len: bigint, maxZero: number): bigint;
}

/** An NF memory ready for an instance: the pool mapped at its window (or, isolated, a
 *  private packet area there), its heap advised onto hugepages. Made ahead of a swap,
 *  or left by an instance that is gone, it spares the swap an allocation (and V8 the
 *  full collection a new memory of this size sets off). */
export interface PreparedMemory {
  memory: LinearMemory;
  windowOffset: number;
  /** What instances it fits (memoryKey). */
  key: string;
}

/** What the host reads of an instance's memory: a Wasm memory, or a vm NF's region. */
export interface InstanceMemory {
  readonly buffer: ArrayBuffer;
}

export interface NfInstance {
  name: string;
  path: string;
  memory: InstanceMemory;
  exports: NfExports;
  /** Where the pool's first byte is in this instance's memory (0 without a pool). */
  windowOffset: number;
  batchAddr: number;
  /** Bytes of each of its records: its ABI version's (RECORD_BYTES_V1 or _V2). */
  recordBytes: number;
  /** A v2 NF reads the chain's parse in its records (false: v1, or it said it reads none). */
  readsMeta: boolean;
  maxBurst: number;
  /** The host's side of its imports: the metrics it defined, among others. */
  host: HostImports;
  /** Where its metric slots are (0 when it defined none). */
  metricsAddr: number;
  /** Where the host writes the clock before each burst and tick (0: it reads none). */
  clockAddr: number;
  /** Isolated: the pool is not in its memory; its burst is copied to windowOffset and back. */
  isolated: boolean;
  /** A vm NF: its memory is the region its guest shares (host/vm/vm-nf.ts). */
  vm?: VmLink;
}

export interface InstanceOptions {
  /** The pool to map into the instance; none for a trial instance. */
  pool?: PoolWindow;
  /** The NF's config, as JSON text, handed to netvm_configure. */
  config?: string;
  /** Where its log lines go (stderr by default). */
  log?: (line: string) => void;
  /** Its chain and position in it, for netvm_nf_index (alone in a chain by default). */
  place?: ChainPlace;
  /** The most its heap may grow to, in MiB above NF_MEMORY_BASE (the module's own maximum otherwise). */
  heapMb?: number;
  /** With a pool: instead of mapping it, give the NF a private packet area (trust level isolated). */
  isolated?: boolean;
  /** A memory prepared for it (same memoryKey), instead of a new one. */
  memory?: PreparedMemory;
  /** A vm NF: the region its guest shares with the host. */
  vm?: VmLink;
}
