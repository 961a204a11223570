/* A packet's headers as the chain parsed them (ABI v2: the meta of its
 * record, native-dpdk/parse.c, the SDK's parse() rules), as a struct
 * netvm_parsed: the fields of the SDK's Parsed. Every offset it gives lies
 * inside the packet and every header it reports is whole, so an NF that
 * reads only what it reported never reads past the packet's length.
 * Freestanding: for NFs built to Wasm with the C SDK (netvm.h: pass
 * netvm_window_pointer() as window) and for the native NFs alike.
 *
 *   struct netvm_parsed p;
 *   if (netvm_parsed_at(&records[i], window, &p) && p.l4_proto == NETVM_IPPROTO_TCP && p.l4 != 0) { ... p.dst_port ... }
 */
#ifndef NETVM_PARSE_H
#define NETVM_PARSE_H

#include "netvm_abi.h"
#include "netvm_bytes.h"

#define NETVM_ETHERTYPE_IPV4 0x0800u
#define NETVM_ETHERTYPE_ARP 0x0806u
#define NETVM_ETHERTYPE_VLAN 0x8100u
#define NETVM_ETHERTYPE_QINQ 0x88a8u
#define NETVM_ETHERTYPE_IPV6 0x86ddu

#define NETVM_IPPROTO_ICMP 1u
#define NETVM_IPPROTO_TCP 6u
#define NETVM_IPPROTO_UDP 17u
#define NETVM_IPPROTO_ICMPV6 58u

#define NETVM_TCP_FIN 0x01u
#define NETVM_TCP_SYN 0x02u
#define NETVM_TCP_RST 0x04u
#define NETVM_TCP_ACK 0x10u

struct netvm_parsed {
	uint8_t *pkt;  /* the packet */
	uint32_t len;  /* its length */
	uint32_t l3;   /* offset of the L3 header (also for ARP and unknown ethertypes) */
	uint16_t ether_type; /* after the tags; 0 when the frame is too short for one */
	uint8_t vlans; /* 802.1Q/802.1ad tags before the L3 header: 0, 1 or 2 */
	uint8_t ip_version; /* 4 or 6 when the IP header is whole and sane, else 0 */
	uint16_t outer_vlan, inner_vlan;
	uint32_t ip_header_len; /* IPv4 header length, or IPv6 fixed header plus extension headers */
	uint32_t ip_len;        /* bytes of the IP packet in the frame (total length capped by the frame) */
	bool ip_truncated;      /* the frame holds fewer bytes than the IP header says */
	bool fragment;          /* IPv4 MF/offset, or an IPv6 fragment header */
	bool first_fragment;    /* ... with offset 0 (true for non-fragments) */
	uint8_t l4_proto;       /* after IPv6 extension headers; 0 when not IP */
	uint32_t l4;            /* offset of the L4 header when it is whole, else 0 */
	uint32_t l4_len;        /* bytes from l4 to the end of the IP packet */
	uint16_t src_port, dst_port;
	uint8_t tcp_flags, icmp_type, icmp_code;
};

#define NETVM_META_TRUNCATED 1u
#define NETVM_META_FRAGMENT 2u
#define NETVM_META_FIRST_FRAGMENT 4u

static inline uint16_t netvm_parse_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* The packet of record r, whose pool window is at window, as the chain parsed it;
 * returns p->ip_version != 0. */
static inline bool netvm_parsed_at(const struct netvm_record *r, uint8_t *window, struct netvm_parsed *p)
{
	const struct netvm_meta m = r->meta;
	uint8_t *pkt = window + r->pool_off;
	*p = (struct netvm_parsed){
		.pkt = pkt,
		.len = r->len,
		.l3 = m.l3,
		.ether_type = m.ether_type,
		.vlans = m.vlans,
		.ip_version = m.ip_version,
		.ip_header_len = m.ip_header_len,
		.ip_len = m.ip_len,
		.ip_truncated = (m.flags & NETVM_META_TRUNCATED) != 0,
		.fragment = (m.flags & NETVM_META_FRAGMENT) != 0,
		.first_fragment = (m.flags & NETVM_META_FIRST_FRAGMENT) != 0,
		.l4_proto = m.l4_proto,
		.l4 = m.l4,
	};
	if (m.vlans >= 1)
		p->outer_vlan = netvm_parse_be16(pkt + 14) & 0xfff;
	if (m.vlans == 2)
		p->inner_vlan = netvm_parse_be16(pkt + 18) & 0xfff;
	if (m.l4 != 0) {
		const uint8_t *h = pkt + m.l4;
		p->l4_len = (uint32_t)m.l3 + m.ip_len - m.l4;
		if (m.l4_proto == NETVM_IPPROTO_TCP || m.l4_proto == NETVM_IPPROTO_UDP) {
			p->src_port = netvm_parse_be16(h);
			p->dst_port = netvm_parse_be16(h + 2);
			if (m.l4_proto == NETVM_IPPROTO_TCP)
				p->tcp_flags = h[13];
		} else {
			p->icmp_type = h[0];
			p->icmp_code = h[1];
		}
	}
	return m.ip_version != 0;
}

/* The source / destination address (4 or 16 bytes, network order); NULL when not IP. */
static inline const uint8_t *netvm_src_addr(const struct netvm_parsed *p)
{
	return p->ip_version == 4 ? p->pkt + p->l3 + 12 : p->ip_version == 6 ? p->pkt + p->l3 + 8 : NULL;
}

static inline const uint8_t *netvm_dst_addr(const struct netvm_parsed *p)
{
	return p->ip_version == 4 ? p->pkt + p->l3 + 16 : p->ip_version == 6 ? p->pkt + p->l3 + 24 : NULL;
}

/* True when the IPv4 header's checksum is right (p->ip_version == 4): the SDK's ipv4ChecksumOk. */
static inline bool netvm_ipv4_checksum_ok(const struct netvm_parsed *p)
{
	return netvm_sum16(p->pkt + p->l3, p->ip_header_len) == 0xffff;
}

#endif
