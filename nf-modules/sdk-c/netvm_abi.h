/* The NetVM host ABI, version 2 (docs/abi.md), as C: the batch record, the
 * chain's parse (meta), the verdicts, and the byte-order and checksum helpers
 * an NF needs. Freestanding (no libc), so that it serves both the C SDK for
 * WebAssembly NFs (netvm.h) and the native C NFs the bench measures against
 * (nf-modules/native). */
#ifndef NETVM_ABI_H
#define NETVM_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

static inline uint16_t netvm_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void netvm_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t netvm_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void netvm_put_be32(uint8_t *p, uint32_t v)
{
	netvm_put_be16(p, (uint16_t)(v >> 16));
	netvm_put_be16(p + 2, (uint16_t)v);
}

static inline uint32_t netvm_fold16(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

/* RFC 1624 eqn. 3: the checksum after one 16-bit word changes from old to new. */
static inline uint16_t netvm_checksum_update16(uint16_t checksum, uint16_t old_word, uint16_t new_word)
{
	return (uint16_t)~netvm_fold16((uint32_t)(uint16_t)~checksum + (uint16_t)~old_word + new_word);
}

/* The ones'-complement sum of len bytes (even) as network-order words,
 * folded, not inverted. The sum does not depend on byte order (RFC 1071
 * 2.B): it adds 32 bits at a time in the machine's order and swaps once. */
static inline uint32_t netvm_sum16(const uint8_t *p, uint32_t len)
{
	uint64_t sum = 0;
	uint32_t i = 0;
	for (; i + 4 <= len; i += 4) {
		uint32_t w;
		__builtin_memcpy(&w, p + i, 4);
		sum += w;
	}
	for (; i + 2 <= len; i += 2) {
		uint16_t w;
		__builtin_memcpy(&w, p + i, 2);
		sum += w;
	}
	sum = (sum & 0xffffffff) + (sum >> 32);
	uint32_t s = netvm_fold16((uint32_t)sum + (uint32_t)(sum >> 32));
	return (uint16_t)(s << 8 | s >> 8);
}

#endif
