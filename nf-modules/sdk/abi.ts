// The NetVM host ABI, version 2, as the NF sees it. Mirrored on the host side
// in host/nf/abi.ts; docs/abi.md is the reference for both.
//
// The host calls netvm_process(n) once per burst. Before the call it fills
// n records of the batch area; after it, it reads back each record's length
// and verdict, and nothing else. A record is 32 little-endian bytes:
//   +0  u32 pool_off  where the packet's first byte is, from the pool window's start
//   +4  u32 len       packet length in bytes; the NF may change it, up to room
//   +8  u16 in_port   index of the port the packet arrived on (order of `ports` in the config)
//   +10 u16 room      bytes from the packet's first byte to the end of its buffer
//   +12 u32 verdict   NEXT when the host calls; the NF writes its decision
//   +16 16 bytes      the packet's headers as the chain parsed them, once for the
//                     whole chain (the meta: see packet.ts; Parsed.at reads it)
// Version 1 had the first 16 bytes only, and every NF parsed for itself.
// The pool window's address in this module's memory is the imported global
// env.netvm_window_base.

export const ABI_VERSION: i32 = 2;
export const MAX_BURST: i32 = 256;
export const RECORD_BYTES: i32 = 32;
/** Where a record's meta starts. */
export const META_OFFSET: i32 = 16;

// Verdicts: NEXT hands the packet to the next NF (after the last one, to the
// chain's output port); DROP frees it; OUT_PORT | p sends it out of port p at
// once; TO_NF | k hands it to the NF at chain position k, skipping those
// between (k must come after this NF: see nfIndex()).
export const NEXT: u32 = 0;
export const DROP: u32 = 1;
export const OUT_PORT: u32 = 0x10000;
export const TO_NF: u32 = 0x20000;
/** Or'ed into a verdict: the NF changed the packet's header layout (an ethertype, a
 *  VLAN tag, an IHL...) without changing its length, and the chain must parse it again
 *  for the next NF (a change of length is seen by the host). See headersChanged(). */
export const REPARSE: u32 = 0x80000000;

@external("env", "netvm_window_base")
declare const WINDOW_BASE: usize;

const batch: usize = memory.data(MAX_BURST * RECORD_BYTES, 64);

export function netvm_abi_version(): i32 {
  return ABI_VERSION;
}

export function netvm_batch(): usize {
  return batch;
}

export function netvm_max_burst(): i32 {
  return MAX_BURST;
}

/** Address of packet i of the current burst in this module's memory. */
@inline export function packetAddr(i: i32): usize {
  return WINDOW_BASE + <usize>load<u32>(batch + <usize>(i * RECORD_BYTES));
}

/** Length of packet i of the current burst. */
@inline export function packetLen(i: i32): u32 {
  return load<u32>(batch + <usize>(i * RECORD_BYTES), 4);
}

/** Port index packet i arrived on. */
@inline export function packetInPort(i: i32): u32 {
  return <u32>load<u16>(batch + <usize>(i * RECORD_BYTES), 8);
}

/** The most packet i may grow to (setPacketLen beyond it drops the packet). */
@inline export function packetRoom(i: i32): u32 {
  return <u32>load<u16>(batch + <usize>(i * RECORD_BYTES), 10);
}

@inline export function setPacketLen(i: i32, len: u32): void {
  store<u32>(batch + <usize>(i * RECORD_BYTES), len, 4);
}

@inline export function setVerdict(i: i32, verdict: u32): void {
  store<u32>(batch + <usize>(i * RECORD_BYTES), verdict, 12);
}

/** Where packet i's meta (the chain's parse of it) is. */
@inline export function packetMeta(i: i32): usize {
  return batch + <usize>(i * RECORD_BYTES + META_OFFSET);
}

/** Says that packet i's header layout changed while its length did not (after setVerdict). */
@inline export function headersChanged(i: i32): void {
  const at = batch + <usize>(i * RECORD_BYTES);
  store<u32>(at, load<u32>(at, 12) | REPARSE, 12);
}

/** The verdict that sends a packet out of port index p. */
@inline export function outPort(p: u32): u32 {
  return OUT_PORT | p;
}

/** The verdict that hands a packet to the NF at chain position k (from nfIndex). */
@inline export function toNf(k: u32): u32 {
  return TO_NF | k;
}
