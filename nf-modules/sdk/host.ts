// Host capabilities an NF may use (imports of ABI v1), and the SDK's side of
// metrics. None of them is meant for the per-packet path but the metrics: a
// metric lives in this module's memory and the host reads it from there, so
// updating one is a plain store.

@external("env", "netvm_log")
declare function host_log(level: i32, ptr: usize, len: i32): void;

@external("env", "netvm_metric_define")
declare function host_metric_define(kind: i32, ptr: usize, len: i32): i32;

@external("env", "netvm_now_ns")
declare function host_now_ns(): i64;

@external("env", "netvm_nf_index")
declare function host_nf_index(ptr: usize, len: i32): i32;

export enum LogLevel { DEBUG = 0, INFO = 1, WARN = 2, ERROR = 3 }

const LOG_BUFFER_BYTES: i32 = 512;
const logBuffer: usize = memory.data(LOG_BUFFER_BYTES);

/** Logs a message through the host (rate-limited there). Building the message
 *  string allocates, and the stub runtime never frees: keep logging for
 *  configuration and rare events. */
export function log(level: LogLevel, message: string): void {
  // Encode into a static buffer: at most LOG_BUFFER_BYTES / 3 characters.
  const chars = min(message.length, LOG_BUFFER_BYTES / 3);
  const written = String.UTF8.encodeUnsafe(changetype<usize>(message), chars, logBuffer);
  host_log(<i32>level, logBuffer, <i32>written);
}

/** The chain position of the NF of that name (its entry's name in the
 *  config) if it comes after this one in this NF's chain, else -1. Ask at
 *  configure time; use the position with toNf(). */
export function nfIndex(name: string): i32 {
  const bytes = String.UTF8.encode(name);
  return host_nf_index(changetype<usize>(bytes), bytes.byteLength);
}

// The host writes its clock here before every burst and tick (netvm_clock):
// reading the time in netvm_process is a load. Before the first burst (in
// configure, say) it is 0, and the host is asked.
const clockWord: usize = memory.data(8, 8);

export function netvm_clock(): usize {
  return clockWord;
}

/** The host's monotonic clock read now: a call out of Wasm (the host makes a BigInt of it), for
 *  configure, ticks and rare events; in netvm_process, nowNs() is the burst's start, for a load. */
export function hostNowNs(): i64 {
  return host_now_ns();
}

/** Nanoseconds from the host's monotonic clock (as of the burst's start, in netvm_process). */
export function nowNs(): i64 {
  const now = load<i64>(clockWord);
  return now != 0 ? now : host_now_ns();
}

export const MAX_METRICS: i32 = 64;
const METRIC_COUNTER: i32 = 0;
const METRIC_GAUGE: i32 = 1;
const metricArea: usize = memory.data(MAX_METRICS * 8, 8);

function define(kind: i32, name: string): usize {
  const bytes = String.UTF8.encode(name);
  const index = host_metric_define(kind, changetype<usize>(bytes), bytes.byteLength);
  if (index < 0 || index >= MAX_METRICS) unreachable();
  return metricArea + <usize>(index * 8);
}

/** A count that only grows; the host shows it with the NF's counters. */
@final export class Counter {
  constructor(private readonly slot: usize) {}
  @inline add(n: u64 = 1): void {
    store<u64>(this.slot, load<u64>(this.slot) + n);
  }
}

/** A value that goes up and down. */
@final export class Gauge {
  constructor(private readonly slot: usize) {}
  @inline set(value: i64): void {
    store<i64>(this.slot, value);
  }
}

/** Defines a counter; call at start-up or in configure, never per packet. */
export function counter(name: string): Counter {
  return new Counter(define(METRIC_COUNTER, name));
}

export function gauge(name: string): Gauge {
  return new Gauge(define(METRIC_GAUGE, name));
}

export function netvm_metrics(): usize {
  return metricArea;
}

/** Where the host writes the config bytes before calling netvm_configure. */
export function netvm_config_buffer(len: i32): usize {
  return heap.alloc(<usize>max(len, 1));
}

/** The config the host handed to netvm_configure, as text (JSON). */
export function configText(ptr: usize, len: i32): string {
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}
