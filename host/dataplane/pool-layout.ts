// A packet buffer of the pool (native-dpdk/internal.h: RTE_PKTMBUF_HEADROOM, NV_POOL_DATA_ROOM).

/** Bytes of packet data a buffer holds: a frame longer than this needs several buffers. */
export const POOL_DATA_ROOM = 2048;
/** Bytes per packet buffer: DPDK's 128 B headroom, then the data room. */
export const POOL_ELT_BYTES = 128 + POOL_DATA_ROOM;
/** Pool slots beyond the mbufs that hold NF messages (NV_MESSAGE_SLOTS in netvm_dp.h; host/chain/mailroom.ts). */
export const POOL_MESSAGE_SLOTS = 256;
