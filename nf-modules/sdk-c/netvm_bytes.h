/* Byte order and Internet checksums for packet code in C: freestanding, and
 * apart from the ABI's definitions (netvm_abi.h includes it) so that C that
 * runs outside a Wasm sandbox (the vm guests' NFs, nf-modules/guest) can
 * share packet logic with the SDK's NFs. */
#ifndef NETVM_BYTES_H
#define NETVM_BYTES_H

#include <stdint.h>

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
	if (len == 20) {
		/* An IPv4 header without options, the common case: five loads, no loop. */
		uint32_t w[5];
		__builtin_memcpy(w, p, 20);
		sum = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
		i = 20;
	}
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
