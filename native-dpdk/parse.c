/* Parsing a packet's headers once per chain (ABI v2): the chain parses every
 * packet of a burst before its first NF and hands each v2 NF the result with
 * the packet's record, as VPP's input node sets a buffer's l3/l4 offsets for
 * every later node; no NF re-parses. The rules are the SDK's parse()
 * (nf-modules/sdk/packet.ts), check for check: every offset given lies inside
 * the packet and every header reported is whole. The SDK writes the same
 * meta when it parses bytes itself, and a test compares the two. */
#include <string.h>

#include "internal.h"

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define ETHERTYPE_VLAN 0x8100u
#define ETHERTYPE_QINQ 0x88a8u
#define IPPROTO_ICMP_ 1u
#define IPPROTO_TCP_ 6u
#define IPPROTO_UDP_ 17u
#define IPPROTO_ICMPV6_ 58u

/* IPv6 extension headers walked over (RFC 8200 4.1); ESP (50) ends the walk. */
#define EXT_HOP_BY_HOP 0u
#define EXT_ROUTING 43u
#define EXT_FRAGMENT 44u
#define EXT_AH 51u
#define EXT_DEST_OPTS 60u
#define MAX_EXT_HEADERS 8

static inline uint32_t be16(const uint8_t *b)
{
	return (uint32_t)b[0] << 8 | b[1];
}

/* The L4 header at l4 when it is whole: TCP with its options, UDP, ICMP's first 4 bytes. */
static void parse_l4(const uint8_t *pkt, struct nv_meta *m, uint32_t l4)
{
	uint32_t end = m->l3 + m->ip_len;
	if (l4 > end)
		return;
	uint32_t avail = end - l4;
	switch (m->l4_proto) {
	case IPPROTO_TCP_: {
		if (avail < 20)
			return;
		uint32_t doff = (uint32_t)(pkt[l4 + 12] >> 4) << 2;
		if (doff < 20 || doff > avail)
			return;
		break;
	}
	case IPPROTO_UDP_:
		if (avail < 8)
			return;
		break;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		if (avail < 4)
			return;
		break;
	default:
		return;
	}
	m->l4 = (uint16_t)l4;
}

static void parse_ipv4(const uint8_t *pkt, uint32_t len, struct nv_meta *m)
{
	const uint8_t *ip = pkt + m->l3;
	uint32_t avail = len - m->l3;
	if (avail < 20)
		return;
	uint32_t hlen = (uint32_t)(ip[0] & 15) << 2;
	uint32_t total = be16(ip + 2);
	if (ip[0] >> 4 != 4 || hlen < 20 || hlen > avail || total < hlen)
		return;
	m->ip_version = 4;
	m->ip_header_len = (uint16_t)hlen;
	m->ip_len = (uint16_t)RTE_MIN(total, avail);
	uint32_t frag = be16(ip + 6);
	m->flags = (uint8_t)((total > avail ? NV_META_TRUNCATED : 0) | ((frag & 0x3fff) != 0 ? NV_META_FRAGMENT : 0) |
			     ((frag & 0x1fff) == 0 ? NV_META_FIRST_FRAGMENT : 0));
	m->l4_proto = ip[9];
	if (m->flags & NV_META_FIRST_FRAGMENT)
		parse_l4(pkt, m, m->l3 + hlen);
}

static void parse_ipv6(const uint8_t *pkt, uint32_t len, struct nv_meta *m)
{
	const uint8_t *ip = pkt + m->l3;
	uint32_t avail = len - m->l3;
	if (avail < 40 || ip[0] >> 4 != 6)
		return;
	m->ip_version = 6;
	uint32_t total = 40u + be16(ip + 4);
	uint32_t ip_len = RTE_MIN(total, avail);
	m->ip_len = (uint16_t)ip_len;
	uint8_t flags = (uint8_t)((total > avail ? NV_META_TRUNCATED : 0) | NV_META_FIRST_FRAGMENT);
	uint8_t next = ip[6];
	uint32_t off = 40;
	for (int i = 0; i < MAX_EXT_HEADERS; i++) {
		uint32_t ext_len;
		if (next == EXT_HOP_BY_HOP || next == EXT_ROUTING || next == EXT_DEST_OPTS) {
			if (off + 8 > ip_len)
				break;
			ext_len = ((uint32_t)ip[off + 1] + 1) << 3;
		} else if (next == EXT_FRAGMENT) {
			if (off + 8 > ip_len)
				break;
			ext_len = 8;
			flags |= NV_META_FRAGMENT;
			if ((be16(ip + off + 2) & 0xfff8) != 0)
				flags &= (uint8_t)~NV_META_FIRST_FRAGMENT;
			else
				flags |= NV_META_FIRST_FRAGMENT;
		} else if (next == EXT_AH) {
			if (off + 8 > ip_len)
				break;
			ext_len = ((uint32_t)ip[off + 1] + 2) << 2;
		} else {
			break;
		}
		if (off + ext_len > ip_len)
			break;
		next = ip[off];
		off += ext_len;
	}
	m->ip_header_len = (uint16_t)off;
	m->l4_proto = next;
	m->flags = flags;
	if ((flags & NV_META_FIRST_FRAGMENT) && off <= ip_len)
		parse_l4(pkt, m, m->l3 + off);
}

void nv_parse(const uint8_t *pkt, uint32_t len, struct nv_meta *m)
{
	if (!nv_parse_common(pkt, len, m))
		nv_parse_general(pkt, len, m);
}

void nv_parse_general(const uint8_t *pkt, uint32_t len, struct nv_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (len < 14)
		return;
	uint32_t off = 12;
	uint32_t type = be16(pkt + off);
	while ((type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) && m->vlans < 2) {
		if (len < off + 6)
			return;
		m->vlans++;
		off += 4;
		type = be16(pkt + off);
	}
	m->ether_type = (uint16_t)type;
	m->l3 = (uint16_t)(off + 2);
	if (type == ETHERTYPE_IPV4)
		parse_ipv4(pkt, len, m);
	else if (type == ETHERTYPE_IPV6)
		parse_ipv6(pkt, len, m);
}
