// Counters that a worker writes and the main thread reads, in a Float64Array
// over a SharedArrayBuffer per lane (one writer each; doubles are exact to 2^53
// and an aligned 8-byte store is not torn on the platforms we run on).
// Layout: the chain's counters, then each NF's, in chain order; the worker's
// side of it is written by native-dpdk/chain.c, which must list the same names. An NF's `bytes`
// are those of the packets it passed on (next or out), as it left them. Time, in ns of
// the worker's: a chain's host_ns is its own work in C (staging, the parse, checking
// what each NF wrote), an NF's busy_ns the time from the hand-over of a burst to the
// NF until the chain checks it (the call into the NF, the messages delivered before).

export const CHAIN_COUNTERS = ['in', 'out', 'dropped', 'host_ns'] as const;
// The last four, an NF's messages (host/chain/mailroom.ts), are written by the worker's JavaScript.
export const NF_COUNTERS = [
  'in', 'bytes', 'next', 'out', 'dropped', 'bad_verdict', 'bad_length', 'trapped', 'trap_batches', 'hung', 'fail_dropped', 'fail_passed',
  'busy_ns', 'messages_sent', 'messages_received', 'messages_dropped', 'mailbox_full',
] as const;

export type ChainCounterName = (typeof CHAIN_COUNTERS)[number];
export type NfCounterName = (typeof NF_COUNTERS)[number];


export function nfCounterBase(nf: number): number {
  return CHAIN_COUNTERS.length + nf * NF_COUNTERS.length;
}

export function allocCounters(nNfs: number): SharedArrayBuffer {
  return new SharedArrayBuffer(nfCounterBase(nNfs) * 8);
}

export function readChainCounters(c: Float64Array): Record<ChainCounterName, number> {
  return Object.fromEntries(CHAIN_COUNTERS.map((name, i) => [name, c[i]!])) as Record<ChainCounterName, number>;
}

export function readNfCounters(c: Float64Array, nf: number): Record<NfCounterName, number> {
  const base = nfCounterBase(nf);
  return Object.fromEntries(NF_COUNTERS.map((name, i) => [name, c[base + i]!])) as Record<NfCounterName, number>;
}
