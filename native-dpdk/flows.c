/* A load generator's knob on the input (nv_rx_flows): received IPv4 packets
 * get the source address 10.0.0.0 + i and (TCP, UDP) the source port
 * 1024 + i mod 64512, i cycling through n, with the IPv4 and TCP/UDP
 * checksums updated (RFC 1624): n sources, so n flows per destination the
 * trace holds. It lets a replayed trace
 * that holds a few packets stand for millions of flows; the poll lcore has
 * just copied each packet (net_pcap's infinite_rx does), so the rewrite
 * costs it a few ns a packet. Benchmarks only: a real port's traffic is
 * never rewritten unless asked. */
#include <errno.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include "internal.h"

uint32_t nv_flows_n;
static uint32_t next_flow;

int nv_rx_flows(uint32_t n)
{
	if (n == 0 || n > (1u << 24))
		return nv_fail(EINVAL, "rx flows: %u is not from 1 to 2^24", n);
	nv_flows_n = n;
	return 0;
}

/* A checksum after one 16-bit word went from old to new (RFC 1624, eqn. 3). */
static uint16_t csum_update(uint16_t csum, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~csum + (uint32_t)(uint16_t)~old + new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void nv_rewrite_flows(struct rte_mbuf **m, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *p = rte_pktmbuf_mtod(m[i], uint8_t *);
		uint32_t len = m[i]->data_len;
		if (len < 34 || p[12] != 0x08 || p[13] != 0x00 || (p[14] >> 4) != 4)
			continue;
		uint8_t *ip = p + 14;
		uint32_t hlen = (ip[0] & 15u) * 4;
		uint16_t old_hi = (uint16_t)(ip[12] << 8 | ip[13]), old_lo = (uint16_t)(ip[14] << 8 | ip[15]);
		uint32_t src = 0x0a000000u + next_flow;
		uint16_t new_hi = (uint16_t)(src >> 16), new_lo = (uint16_t)src;
		if (++next_flow == nv_flows_n)
			next_flow = 0;
		ip[12] = (uint8_t)(new_hi >> 8);
		ip[13] = (uint8_t)new_hi;
		ip[14] = (uint8_t)(new_lo >> 8);
		ip[15] = (uint8_t)new_lo;
		uint16_t c = (uint16_t)(ip[10] << 8 | ip[11]);
		c = csum_update(csum_update(c, old_hi, new_hi), old_lo, new_lo);
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
		/* The source port, and the TCP or UDP checksum over it and the
		 * pseudo-header's source address; not in fragments. */
		int fragment = (ip[6] & 0x3f) != 0 || ip[7] != 0;
		uint32_t at = ip[9] == IPPROTO_TCP ? 16 : ip[9] == IPPROTO_UDP ? 6 : 0;
		if (fragment || at == 0 || len < 14 + hlen + at + 2)
			continue;
		uint8_t *l4 = ip + hlen;
		uint16_t old_port = (uint16_t)(l4[0] << 8 | l4[1]);
		uint16_t new_port = (uint16_t)(1024 + (src - 0x0a000000u) % 64512);
		l4[0] = (uint8_t)(new_port >> 8);
		l4[1] = (uint8_t)new_port;
		uint8_t *l4c = l4 + at;
		c = (uint16_t)(l4c[0] << 8 | l4c[1]);
		if (ip[9] == IPPROTO_UDP && c == 0)
			continue; /* UDP without a checksum */
		c = csum_update(csum_update(csum_update(c, old_hi, new_hi), old_lo, new_lo), old_port, new_port);
		if (ip[9] == IPPROTO_UDP && c == 0)
			c = 0xffff;
		l4c[0] = (uint8_t)(c >> 8);
		l4c[1] = (uint8_t)c;
	}
}
