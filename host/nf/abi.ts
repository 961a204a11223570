// The host ABI, version 1, as the host sees it. Mirrored for NF authors in
// nf-modules/sdk/abi.ts; docs/abi.md is the reference for both.

export const ABI_VERSION = 1;

/** A batch record: u32 pool_off, u32 len, u16 in_port | u16 room << 16, u32
 * verdict, little-endian. The same layout as an RX ring descriptor
 * (native-dpdk/netvm_dp.h), so that the first NF's records are one copy. */
export const RECORD_BYTES = 16;
export const RECORD_WORDS = RECORD_BYTES / 4;
export const REC_POOL_OFF = 0;
export const REC_LEN = 1;
export const REC_PORT_ROOM = 2;
export const REC_VERDICT = 3;

export const VERDICT_NEXT = 0;
export const VERDICT_DROP = 1;
/** OUT_PORT | p: out of port index p. */
export const VERDICT_OUT_PORT = 0x10000;

/** Everything below this address of an NF's memory is the host's: the pool
 * window goes there. The module's data and heap start here (asc --memoryBase). */
export const NF_MEMORY_BASE = 256 * 1024 * 1024;

/** Exports every module must have, with their Wasm kinds. */
export const REQUIRED_EXPORTS: Readonly<Record<string, 'function'>> = {
  netvm_abi_version: 'function',
  netvm_batch: 'function',
  netvm_max_burst: 'function',
  netvm_process: 'function',
};

/** What the host grants a module to import. */
export const GRANTED_IMPORTS = ['env.memory', 'env.netvm_window_base', 'env.abort'] as const;

/** The exports the host calls, once the module is instantiated and checked. */
export interface NfExports {
  netvm_abi_version(): number;
  netvm_batch(): number;
  netvm_max_burst(): number;
  netvm_process(n: number): void;
}
