/* The TTL step of one frame, in freestanding C: what ttl-c (nf.c, built to
 * Wasm with the C SDK) and the bench's native C ttl (nf-modules/native/ttl.c,
 * built by gcc) both run, so that the two differ only in how they are built.
 * The same logic as nf-modules/ttl: valid IPv4 (IHL >= 5, total length within
 * the frame, header checksum correct): TTL <= 1 expires, else TTL - 1 with
 * the checksum updated incrementally (RFC 1624). IPv6: hop limit <= 1
 * expires, else - 1. Anything else is left untouched. It walks the Ethernet
 * header itself and reads no meta. */
#ifndef TTL_STEP_H
#define TTL_STEP_H

#include "../sdk-c/netvm_bytes.h"

enum ttl_step { TTL_UNTOUCHED, TTL_EXPIRED, TTL_STEPPED };

static inline enum ttl_step ttl_ipv4_step(uint8_t *ip, uint32_t avail)
{
	if (avail < 20)
		return TTL_UNTOUCHED;
	uint32_t hlen = (uint32_t)(ip[0] & 15) << 2;
	if (ip[0] >> 4 != 4 || hlen < 20)
		return TTL_UNTOUCHED;
	uint32_t total = netvm_be16(ip + 2);
	if (total < hlen || total > avail || netvm_sum16(ip, hlen) != 0xffff)
		return TTL_UNTOUCHED;
	if (ip[8] <= 1)
		return TTL_EXPIRED;
	uint16_t old_word = netvm_be16(ip + 8);
	uint16_t new_word = (uint16_t)(old_word - 0x100);
	netvm_put_be16(ip + 8, new_word);
	netvm_put_be16(ip + 10, netvm_checksum_update16(netvm_be16(ip + 10), old_word, new_word));
	return TTL_STEPPED;
}

static inline enum ttl_step ttl_ipv6_step(uint8_t *ip, uint32_t avail)
{
	if (avail < 40 || ip[0] >> 4 != 6)
		return TTL_UNTOUCHED;
	if (ip[7] <= 1)
		return TTL_EXPIRED;
	ip[7]--;
	return TTL_STEPPED;
}

/* The L3 header's offset and ethertype after an 802.1Q tag, or an 802.1ad
 * tag and an 802.1Q tag (as the SDK's l3Of); type 0 when there is none. */
static inline uint32_t ttl_l3_of(const uint8_t *p, uint32_t len, uint16_t *type)
{
	*type = 0;
	if (len < 14)
		return 0;
	uint32_t off = 12;
	uint16_t t = netvm_be16(p + off);
	if (t == 0x88a8) {
		if (len < off + 8)
			return 0;
		off += 4;
		t = netvm_be16(p + off);
		if (t != 0x8100)
			return 0;
	}
	if (t == 0x8100) {
		if (len < off + 6)
			return 0;
		off += 4;
		t = netvm_be16(p + off);
	}
	*type = t;
	return off + 2;
}

/* The step of the frame p of len bytes (changed in place when it steps). */
static inline enum ttl_step ttl_step(uint8_t *p, uint32_t len)
{
	uint16_t type;
	uint32_t off = ttl_l3_of(p, len, &type);
	if (type == 0x0800)
		return ttl_ipv4_step(p + off, len - off);
	if (type == 0x86dd)
		return ttl_ipv6_step(p + off, len - off);
	return TTL_UNTOUCHED;
}

#endif
