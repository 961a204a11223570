/* ttl-c: nf-modules/ttl in C, built with the C SDK (nf-modules/sdk-c): a
 * router's TTL step. Valid IPv4 (IHL >= 5, total length within the frame,
 * header checksum correct): TTL <= 1 is dropped, else TTL - 1 with the
 * checksum updated incrementally (RFC 1624). IPv6: hop limit <= 1 is dropped,
 * else - 1. Anything else passes unchanged. It walks the Ethernet header
 * itself, as ttl does, and reads no meta. */
#define NETVM_READS_NO_META
#include "netvm.h"

enum step { UNTOUCHED, EXPIRED, STEPPED };

static uint32_t expired, stepped;

void nf_init(void)
{
	expired = netvm_counter("ttl_expired");
	stepped = netvm_counter("ttl_stepped");
}

static enum step ipv4_step(uint8_t *ip, uint32_t avail)
{
	if (avail < 20)
		return UNTOUCHED;
	uint32_t hlen = (uint32_t)(ip[0] & 15) << 2;
	if (ip[0] >> 4 != 4 || hlen < 20)
		return UNTOUCHED;
	uint32_t total = netvm_be16(ip + 2);
	if (total < hlen || total > avail || netvm_sum16(ip, hlen) != 0xffff)
		return UNTOUCHED;
	if (ip[8] <= 1)
		return EXPIRED;
	uint16_t old_word = netvm_be16(ip + 8);
	uint16_t new_word = (uint16_t)(old_word - 0x100);
	netvm_put_be16(ip + 8, new_word);
	netvm_put_be16(ip + 10, netvm_checksum_update16(netvm_be16(ip + 10), old_word, new_word));
	return STEPPED;
}

static enum step ipv6_step(uint8_t *ip, uint32_t avail)
{
	if (avail < 40 || ip[0] >> 4 != 6)
		return UNTOUCHED;
	if (ip[7] <= 1)
		return EXPIRED;
	ip[7]--;
	return STEPPED;
}

/* The L3 header's offset and ethertype after an 802.1Q tag, or an 802.1ad
 * tag and an 802.1Q tag (as the SDK's l3Of); type 0 when there is none. */
static uint32_t l3_of(const uint8_t *p, uint32_t len, uint16_t *type)
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

void nf_process(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = netvm_packet(i);
		uint32_t len = netvm_packet_len(i);
		uint16_t type;
		uint32_t off = l3_of(p, len, &type);
		enum step result = UNTOUCHED;
		if (type == 0x0800)
			result = ipv4_step(p + off, len - off);
		else if (type == 0x86dd)
			result = ipv6_step(p + off, len - off);
		if (result == EXPIRED) {
			netvm_set_verdict(i, NETVM_DROP);
			netvm_count(expired, 1);
		} else if (result == STEPPED) {
			netvm_count(stepped, 1);
		}
	}
}
