// Counters that a worker writes and the main thread reads, in a Float64Array
// over a SharedArrayBuffer per lane (one writer each; doubles are exact to 2^53
// and an aligned 8-byte store is not torn on the platforms we run on).
// Layout: the chain's counters, then each NF's, in chain order. An NF's `bytes`
// are those of the packets it passed on (next or out), as it left them.

export const CHAIN_COUNTERS = ['in', 'out', 'dropped'] as const;
export const NF_COUNTERS = ['in', 'bytes', 'next', 'out', 'dropped', 'bad_verdict', 'bad_length', 'trapped', 'trap_batches'] as const;

export type ChainCounterName = (typeof CHAIN_COUNTERS)[number];
export type NfCounterName = (typeof NF_COUNTERS)[number];

export const C_IN = 0;
export const C_OUT = 1;
export const C_DROPPED = 2;

export const N_IN = 0;
export const N_BYTES = 1;
export const N_NEXT = 2;
export const N_OUT = 3;
export const N_DROPPED = 4;
export const N_BAD_VERDICT = 5;
export const N_BAD_LENGTH = 6;
export const N_TRAPPED = 7;
export const N_TRAP_BATCHES = 8;

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
