/* Shared between the library's own files; not part of the koffi surface. */
#ifndef NETVM_INTERNAL_H
#define NETVM_INTERNAL_H

#include <stdbool.h>
#include <string.h>

#include <rte_mbuf.h>

#include "netvm_dp.h"

int nv_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nv_log_capture_begin(void);
const char *nv_log_capture_end(void);

/* Bytes per packet buffer: headroom + data room. */
#define NV_POOL_DATA_ROOM 2048u
#define NV_POOL_ELT_SIZE (RTE_PKTMBUF_HEADROOM + NV_POOL_DATA_ROOM)

/* The pool, created once per process (EAL is one-shot too). */
struct nv_pool {
	int fd;
	uint8_t *base;
	struct nv_pool_info info;
	struct rte_mempool *mp;
	struct rte_mbuf **slots; /* slot index -> its mbuf */
	uint32_t n_slots;
};
extern struct nv_pool nv_pool;

/* Ports added so far, in the order of their DPDK port ids, and each one's RX queues. */
extern uint16_t nv_port_ids[NV_MAX_PORTS];
extern uint16_t nv_n_ports;
extern uint16_t nv_port_rxq[RTE_MAX_ETHPORTS];
/* port.c: a port's own RX mempool, when its device cannot receive into the pool (NULL: the pool). */
extern struct rte_mempool *nv_port_staging[RTE_MAX_ETHPORTS];
/* poll.c: frames such a port received that found no pool mbuf to be copied into. */
extern uint64_t nv_port_unstaged_nobuf[RTE_MAX_ETHPORTS];
/* port.c: how an idle poll lcore sleeps on a port's RX queue interrupts (poll.c). */
enum nv_rx_intr {
	NV_RX_INTR_NONE,    /* it has none: the poll lcore naps */
	NV_RX_INTR_LEVEL,   /* net_tap: the queue's fd, readable while a packet waits */
	NV_RX_INTR_EVENTFD, /* a PCI NIC under vfio: an eventfd per queue (MSI-X), armed before the
			     * sleep (rte_eth_dev_rx_intr_enable) and read after a wake */
};
extern uint8_t nv_port_rx_intr[RTE_MAX_ETHPORTS]; /* enum nv_rx_intr */
extern struct nv_port_stats nv_port_counters[RTE_MAX_ETHPORTS];
extern uint64_t nv_port_held_cycles[RTE_MAX_ETHPORTS]; /* poll.c: TSC cycles each port was held back */

void nv_ports_close(void);
void nv_pool_free(void);

/* Latency (latency.c): a TSC per pool slot, stamped at RX, and the histogram
 * of RX-to-hand-back times; NULL when not enabled. */
extern uint64_t *nv_lat_rx_tsc;

/* Called on the poll lcore's hot path: direct calls, not through the PLT. */
#define NV_HIDDEN __attribute__((visibility("hidden")))

/* The poll loop's idle policy (idle.c): at its start, after each turn with the
 * packets it received and took back; and waking a lane's sleeping worker. */
NV_HIDDEN void nv_idle_start(void);
NV_HIDDEN void nv_idle_turn(uint32_t work);
NV_HIDDEN void nv_doorbell_wake(struct nv_doorbell *bell);
NV_HIDDEN void nv_wake_missed(void); /* poll.c: rings each sleeping worker that has packets waiting */
/* poll.c: sleeps until an input port's RX interrupt (returns 1) or timeout_ms (0);
 * -1 (at once) when some input port has none. */
NV_HIDDEN int nv_rx_intr_wait(int timeout_ms);
extern uint64_t nv_lat_hist[NV_LAT_BUCKETS];

static inline uint32_t nv_lat_bucket(uint64_t cycles)
{
	if (cycles < NV_LAT_SUB)
		return (uint32_t)cycles;
	uint32_t e = 63 - (uint32_t)__builtin_clzll(cycles); /* >= NV_LAT_SUB_BITS */
	uint32_t i = (e - NV_LAT_SUB_BITS + 1) * NV_LAT_SUB + (uint32_t)((cycles >> (e - NV_LAT_SUB_BITS)) & (NV_LAT_SUB - 1));
	return i < NV_LAT_BUCKETS ? i : NV_LAT_BUCKETS - 1;
}

/* A paced RX (latency.c), off while cycles_per_pkt is 0. Packets arrive on a
 * clock, one every cycles_per_pkt, whether the poll lcore is there or not:
 * those it has not taken yet wait, as in a NIC's RX ring, up to backlog of
 * them (the ring overflows beyond), and each is stamped with its arrival. */
struct nv_pace {
	double cycles_per_pkt;
	double due; /* TSC at which the next packet arrives; 0 until the first read */
	uint32_t backlog;
};
extern struct nv_pace nv_pace;

/* Flows of a generated input (flows.c): off while nv_flows_n is 0. */
extern uint32_t nv_flows_n;
void nv_rewrite_flows(struct rte_mbuf **m, uint16_t n);

/* Capture points (capture.c), NULL where nothing is captured. */
#define NV_MAX_CHAIN_NFS 16
struct nv_capture_point;
extern struct nv_capture_point *nv_capture_rx[RTE_MAX_ETHPORTS];
extern struct nv_capture_point *nv_capture_tx[RTE_MAX_ETHPORTS];
extern struct nv_capture_point *nv_capture_link[NV_MAX_LANES][NV_MAX_CHAIN_NFS];
void nv_capture_burst(struct nv_capture_point *p, const uint8_t *const *data, const uint32_t *len, uint32_t n);
void nv_capture_mbufs(struct nv_capture_point *p, struct rte_mbuf *const *m, uint32_t n);

/* The common case of the chain's parse (parse.c), inline in the chain's
 * loop: an untagged IPv4 packet without options, not a fragment, carrying
 * TCP or UDP whose header is whole (the SDK's parseCommon). Writes the meta
 * nv_parse would write and returns true; false (nothing written) for any
 * other packet. */
static inline bool nv_parse_common(const uint8_t *pkt, uint32_t len, struct nv_meta *m)
{
	uint64_t w;
	if (len < 42)
		return false;
	memcpy(&w, pkt + 12, 8); /* ethertype, version/IHL, TOS, total length, id */
	uint32_t proto = pkt[23];
	uint32_t total = (uint32_t)(w >> 32 & 0xff) << 8 | (uint32_t)(w >> 40 & 0xff);
	uint32_t frag = (uint32_t)pkt[20] << 8 | pkt[21];
	if ((w & 0xffffff) != 0x450008 || total < 28 || (frag & 0x3fff) != 0)
		return false;
	uint32_t ip_len = RTE_MIN(total, len - 14);
	if (proto == 6) {
		uint32_t doff = (uint32_t)(pkt[46] >> 4) << 2;
		if (ip_len < 40 || doff < 20 || doff > ip_len - 20)
			return false;
	} else if (proto != 17) {
		return false;
	}
	/* l3 14, l4 34, IPv4 (0x0800), version 4, proto | ip_len, header 20, no tags, flags. */
	uint64_t flags = 4u /* NV_META_FIRST_FRAGMENT */ | (total > len - 14 ? 1u /* NV_META_TRUNCATED */ : 0u);
	uint64_t lo = 14u | 34u << 16 | (uint64_t)0x0800 << 32 | (uint64_t)4 << 48 | (uint64_t)proto << 56;
	uint64_t hi = ip_len | 20u << 16 | flags << 40;
	memcpy(m, &lo, 8);
	memcpy((uint8_t *)m + 8, &hi, 8);
	return true;
}

/* Any other packet: the SDK's general path (parse.c). nv_parse is the two together. */
void nv_parse_general(const uint8_t *pkt, uint32_t len, struct nv_meta *m);

/* Stats are written by the poll lcore and read by the main thread. */
static inline void nv_count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

#endif
