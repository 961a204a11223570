// SPSC descriptor rings in SharedArrayBuffers, laid out as struct nv_ring in
// native-dpdk/netvm_dp.h: head (producer index) at byte 0, tail (consumer index)
// at byte 64, each on its own cache line; descriptors of 16 bytes from byte 128.
// Indices run freely over u32 and wrap; a ring's size is a power of two.
// Descriptor words: 0 pool offset, 1 len, 2 port | room << 16, 3 verdict; on
// the RX ring this is exactly an NF batch record (host/nf/abi.ts).

export const RING_SIZE = 4096;
/** Int32 word indexes of the producer and consumer indices. */
export const RING_HEAD = 0;
export const RING_TAIL = 16;
export const DESC0 = 32;
export const DESC_WORDS = 4;

export function allocRing(size = RING_SIZE): SharedArrayBuffer {
  return new SharedArrayBuffer(DESC0 * 4 + size * DESC_WORDS * 4);
}

export function ringSize(ring: SharedArrayBuffer): number {
  return (ring.byteLength / 4 - DESC0) / DESC_WORDS;
}
