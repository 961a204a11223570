// The host ABI, versions 1 and 2: what the host checks when it loads a module.
// The per-packet half (records, verdicts, the chain's parse) is
// native-dpdk/chain.c's; the NF side is nf-modules/sdk/abi.ts; docs/abi.md is
// the reference for all three.

/** The version the SDK builds; a module of any of ABI_VERSIONS loads. */
export const ABI_VERSION = 2;
export const ABI_VERSIONS: readonly number[] = [1, 2];

/** Bytes of a batch record, by ABI version. Its layout (pool offset, length, port and
 * room, verdict; in v2 then the chain's parse of the packet) and the verdicts are read
 * and checked by native-dpdk/chain.c. */
export const RECORD_BYTES_V1 = 16;
export const RECORD_BYTES_V2 = 32;
export const recordBytes = (version: number): number => (version === 1 ? RECORD_BYTES_V1 : RECORD_BYTES_V2);

/** Everything below this address of an NF's memory is the host's: the pool
 * window goes there. The module's data and heap start here (asc --memoryBase). */
export const NF_MEMORY_BASE = 256 * 1024 * 1024;

/** Exports every module must have, with their types. */
export const REQUIRED_EXPORTS: Readonly<Record<string, string>> = {
  netvm_abi_version: '() -> (i32)',
  netvm_batch: '() -> (i32)',
  netvm_max_burst: '() -> (i32)',
  netvm_process: '(i32) -> ()',
};

/** Exports the host calls when a module has them, with their types. */
export const OPTIONAL_EXPORTS: Readonly<Record<string, string>> = {
  netvm_metrics: '() -> (i32)',
  netvm_config_buffer: '(i32) -> (i32)',
  netvm_configure: '(i32, i32) -> (i32)',
  netvm_state_export: '() -> (i32)',
  netvm_state_buffer: '(i32) -> (i32)',
  netvm_state_import: '(i32, i32) -> (i32)',
  netvm_clock: '() -> (i32)',
  netvm_tick: '(i64) -> ()',
  netvm_reads_meta: '() -> (i32)',
  netvm_window: '() -> (i32)',
  netvm_message: '(i32, i32, i32) -> ()',
};

/** What the host grants a module to import: its memory, the window's base (an immutable
 *  i32 global), and functions of these types. */
export const GRANTED_IMPORTS: Readonly<Record<string, string>> = {
  'env.memory': 'memory',
  'env.netvm_window_base': 'global',
  'env.abort': '(i32, i32, i32, i32) -> ()',
  'env.netvm_log': '(i32, i32, i32) -> ()',
  'env.netvm_metric_define': '(i32, i32, i32) -> (i32)',
  'env.netvm_now_ns': '() -> (i64)',
  'env.netvm_nf_index': '(i32, i32) -> (i32)',
  'env.netvm_message_target': '(i32, i32) -> (i32)',
  'env.netvm_message_alloc': '(i32) -> (i32)',
  'env.netvm_message_send': '(i32, i32, i32) -> (i32)',
  'env.netvm_message_answer': '(i32, i32) -> ()',
};

/** Messages (docs/abi.md, "Messages"): the most bytes of one, and what netvm_message_send answers. */
export const MESSAGE_MAX = 2048;
export const MESSAGE_SENT = 0;
export const MESSAGE_MAILBOX_FULL = 1;
export const MESSAGE_NO_RECEIVER = 2;
export const MESSAGE_NOT_A_BUFFER = 3;

/** The most bytes a module file may have (the shipped NFs have tens of KiB). */
export const MAX_MODULE_BYTES = 16 * 1024 * 1024;

/** Metrics an NF may define; their values are u64/i64 slots at netvm_metrics(). */
export const MAX_METRICS = 64;
export const METRIC_KINDS = ['counter', 'gauge'] as const;

/** The exports the host calls, once the module is instantiated and checked. */
export interface NfExports {
  netvm_abi_version(): number;
  netvm_batch(): number;
  netvm_max_burst(): number;
  /** Wasm NFs return nothing; a vm NF answers 0, or VM_DOWN when its guest did not take the burst (host/vm/vm-nf.ts). */
  netvm_process(n: number): void | number;
  /** Optional: where the metric slots are (needed once a metric is defined). */
  netvm_metrics?(): number;
  /** Optional pair: a buffer for the config bytes, and taking the config (0 = accepted). */
  netvm_config_buffer?(len: number): number;
  netvm_configure?(ptr: number, len: number): number;
  /** Optional: the address of the NF's state, [u32 length][bytes] (0: none to give). */
  netvm_state_export?(): number;
  /** Optional pair: a buffer for state bytes, and taking them (0 = accepted). */
  netvm_state_buffer?(len: number): number;
  netvm_state_import?(ptr: number, len: number): number;
  /** Optional: a message to the NF (bytes at ptr in its memory; from: the sender's chain
   *  position, or -1 for the operator), between bursts (host/chain/mailroom.ts). */
  netvm_message?(ptr: number, len: number, from: number): void;
  /** Optional: where the host writes the pool window's base (u32) before any other call, for a
   *  module that cannot import the netvm_window_base global (C and Rust). */
  netvm_window?(): number;
  /** Optional: where the host writes its clock (ns, u64) before every burst and tick. */
  netvm_clock?(): number;
  /** Optional: called every TICK_MS between bursts, with the host's clock (ns). */
  netvm_tick?(nowNs: bigint): void;
  /** Optional, v2: 0 when the NF reads no meta in its records (the chain then need not parse for it). */
  netvm_reads_meta?(): number;
}

/** The most state bytes an NF may hand over. */
export const MAX_STATE_BYTES = 1024 * 1024 * 1024;

/** How often NFs that export netvm_tick get it. */
export const TICK_MS = 10;
