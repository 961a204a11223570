/* The NetVM host ABI, version 2 (docs/abi.md), as C: the batch record, the
 * chain's parse (meta), the verdicts, and (netvm_bytes.h) the byte-order and
 * checksum helpers an NF needs. Freestanding (no libc), so that it serves both
 * the C SDK for WebAssembly NFs (netvm.h) and the native C NFs the bench
 * measures against (nf-modules/native). */
#ifndef NETVM_ABI_H
#define NETVM_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netvm_bytes.h"

#define NETVM_ABI_VERSION 2
#define NETVM_MAX_BURST 256u
#define NETVM_MAX_METRICS 64u

/* Verdicts: NEXT to the next NF (after the last, to the chain's output port),
 * DROP, OUT_PORT | p out of port p at once, TO_NF | k on to the NF at chain
 * position k (after this one). */
#define NETVM_NEXT 0u
#define NETVM_DROP 1u
#define NETVM_OUT_PORT 0x10000u
#define NETVM_TO_NF 0x20000u
#define NETVM_REPARSE 0x80000000u /* or'ed in: the headers' layout changed at the same length */

/* What the chain's parse found in a packet, once for the whole chain
 * (struct nv_meta of native-dpdk/netvm_dp.h; offsets from the packet's first byte). */
struct netvm_meta {
	uint16_t l3, l4, ether_type;
	uint8_t ip_version, l4_proto;
	uint16_t ip_len, ip_header_len;
	uint8_t vlans, flags;
	uint16_t reserved;
};

/* A batch record: 32 little-endian bytes. */
struct netvm_record {
	uint32_t pool_off; /* the packet's first byte, from the window's start */
	uint32_t len;      /* its length; the NF may change it, up to room */
	uint16_t in_port;
	uint16_t room;
	uint32_t verdict; /* NETVM_NEXT when called; the NF writes its decision */
	struct netvm_meta meta;
};

_Static_assert(sizeof(struct netvm_meta) == 16, "the meta is 16 bytes");
_Static_assert(sizeof(struct netvm_record) == 32, "a record is 32 bytes");

#endif
