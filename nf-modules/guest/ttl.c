/* ttl as a vm NF, byte for byte the Wasm ttl (nf-modules/ttl/index.ts): a
 * router's TTL step. L3 is found after the Ethernet header, one 802.1Q tag, or
 * a QinQ pair (0x88a8 then 0x8100). Valid IPv4 (IHL >= 5, total length within
 * the frame, header checksum correct): TTL <= 1 is dropped, else TTL - 1 with
 * the checksum updated incrementally (RFC 1624). IPv6: hop limit <= 1 is
 * dropped, else - 1. Anything else passes unchanged. It takes no config
 * (the host sends "null" for none). */
#include <stdio.h>
#include <string.h>

#include "netvm_guest.h"

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define ETHERTYPE_VLAN 0x8100u
#define ETHERTYPE_QINQ 0x88a8u

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static void store_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t fold16(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

/* The IP header's offset, and its ethertype in *type (0 if the frame is too short to say). */
static uint32_t l3_of(const uint8_t *p, uint32_t len, uint32_t *type)
{
	uint32_t off = 12;
	*type = 0;
	if (len < 14)
		return 0;
	uint32_t t = be16(p + off);
	if (t == ETHERTYPE_QINQ) {
		if (len < off + 8)
			return 0;
		off += 4;
		t = be16(p + off);
		if (t != ETHERTYPE_VLAN)
			return 0;
	}
	if (t == ETHERTYPE_VLAN) {
		if (len < off + 6)
			return 0;
		off += 4;
		t = be16(p + off);
	}
	*type = t;
	return off + 2;
}

static uint32_t ipv4_step(uint8_t *ip, uint32_t avail)
{
	if (avail < 20)
		return NETVM_NEXT;
	uint32_t hlen = (uint32_t)(ip[0] & 15) << 2;
	if (ip[0] >> 4 != 4 || hlen < 20)
		return NETVM_NEXT;
	uint32_t total = be16(ip + 2);
	if (total < hlen || total > avail)
		return NETVM_NEXT;
	uint32_t sum = 0;
	for (uint32_t i = 0; i < hlen; i += 2)
		sum += be16(ip + i);
	if (fold16(sum) != 0xffff)
		return NETVM_NEXT;
	if (ip[8] <= 1)
		return NETVM_DROP;
	uint32_t old_word = be16(ip + 8), new_word = old_word - 0x100;
	store_be16(ip + 8, new_word);
	/* RFC 1624 eqn. 3, as the Wasm NF does it (the same bytes). */
	store_be16(ip + 10, ~fold16((~be16(ip + 10) & 0xffff) + (~old_word & 0xffff) + new_word) & 0xffff);
	return NETVM_NEXT;
}

static uint32_t ipv6_step(uint8_t *ip, uint32_t avail)
{
	if (avail < 40 || ip[0] >> 4 != 6)
		return NETVM_NEXT;
	if (ip[7] <= 1)
		return NETVM_DROP;
	ip[7]--;
	return NETVM_NEXT;
}

int nf_configure(const char *config, uint32_t len, char *error, uint32_t error_max)
{
	if (len == 0 || strcmp(config, "null") == 0)
		return 0;
	snprintf(error, error_max, "ttl takes no config");
	return 1;
}

uint32_t nf_process(uint8_t *packet, uint32_t *len, uint32_t room, uint16_t port)
{
	(void)room;
	(void)port;
	uint32_t type, off = l3_of(packet, *len, &type);
	if (type == ETHERTYPE_IPV4)
		return ipv4_step(packet + off, *len - off);
	if (type == ETHERTYPE_IPV6)
		return ipv6_step(packet + off, *len - off);
	return NETVM_NEXT;
}
