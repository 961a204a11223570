/* The poll loop: on its own lcore, receive bursts from every input port and
 * hand them to the lane (worker ring) that runs the port's chain; take back
 * what workers return and send it, or free it. Every mbuf ends somewhere:
 * sent, or freed and counted (multi-segment, ring full, drop verdict, TX full).
 *
 * Stopping is in two steps so that nothing in flight is lost: drain stops RX
 * and keeps taking returns until every lane has given back all it was handed;
 * stop then ends the loop. */
#include <errno.h>
#include <string.h>

#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_jhash.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include "internal.h"

#define BURST 32u

enum { POLL_IDLE, POLL_RUN, POLL_DRAIN, POLL_STOP };

/* Each side keeps its last reading of the other side's index and reads the
 * shared one again only when that reading says the ring is full (or empty):
 * an index read is a cache line owned by the other core.
 * Lanes can be added while the poll loop runs (a chain scaled up) and retired
 * once drained (scaled down); a retired lane's slot is reused by the next add. */
struct lane {
	struct nv_ring *rx;  /* poll lcore -> worker */
	struct nv_ring *ret; /* worker -> poll lcore */
	uint32_t mask;
	uint32_t rx_tail_seen;
	uint32_t ret_head_seen;
	uint32_t live;       /* 0: retired, the poll loop does not touch its rings */
	struct nv_doorbell *bell; /* its worker's, rung when it is handed packets; NULL: it never sleeps */
	struct nv_lane_stats stats;
};

/* Which lane each packet of an input port goes to: one lane, or (a chain on
 * several workers) the lane of its bucket, from a symmetric hash of its flow,
 * so that both directions of a flow meet the same NF instances. On a port
 * with several RX queues the device has hashed already: bucket q is queue q.
 * Entries are rewritten one at a time while the loop runs: a flow moves when
 * its bucket does. */
struct steer {
	uint32_t input;  /* 1: an input port */
	uint32_t spread; /* 0: every bucket holds lane[0]; no hash needed */
	uint64_t lanes;  /* bit i: some bucket may hold lane i (the port reads no more than the fullest one takes) */
	uint16_t lane[NV_STEER_BUCKETS];
};
_Static_assert(NV_MAX_LANES <= 64, "a steer's set of lanes is one 64-bit word");

struct tx_buffer {
	uint16_t n;
	uint64_t bytes;
	struct rte_mbuf *m[BURST];
};

static struct lane lanes[NV_MAX_LANES];
static uint16_t n_lanes;
static struct steer steers[RTE_MAX_ETHPORTS];
static int poll_state = POLL_IDLE;
static unsigned int poll_lcore;
static uint64_t poll_turns; /* turns of the poll loop, for nv_poll_sync */
static uint32_t turn_work;  /* packets received and taken back in this turn (for the idle policy) */
static struct tx_buffer tx_buffers[RTE_MAX_ETHPORTS];

/* The lane's slot is published last: the poll loop reads n_lanes and live
 * with acquire, so it never sees a lane whose rings are not set. */
int nv_lane_add(void *rx_ring, void *ret_ring, uint32_t size, struct nv_doorbell *bell)
{
	if (size == 0 || (size & (size - 1)) != 0)
		return nv_fail(EINVAL, "ring size %u is not a power of two", size);
	uint16_t id = 0;
	while (id < n_lanes && lanes[id].live)
		id++;
	if (id == NV_MAX_LANES)
		return nv_fail(ENOSPC, "at most %d lanes", NV_MAX_LANES);
	struct nv_lane_stats kept = lanes[id].stats; /* a reused slot's counts go on */
	lanes[id] = (struct lane){ .rx = rx_ring, .ret = ret_ring, .mask = size - 1, .bell = bell, .stats = kept };
	__atomic_store_n(&lanes[id].live, 1, __ATOMIC_RELEASE);
	if (id == n_lanes)
		__atomic_store_n(&n_lanes, id + 1, __ATOMIC_RELEASE);
	return id;
}

static int lane_is_live(uint16_t lane)
{
	return lane < n_lanes && lanes[lane].live;
}

int nv_route_port(uint16_t port, uint16_t lane)
{
	uint16_t table[NV_STEER_BUCKETS];
	for (unsigned int i = 0; i < NV_STEER_BUCKETS; i++)
		table[i] = lane;
	return nv_steer_port(port, table);
}

/* Entries first, then the flag that says whether to hash: either order of
 * the two is consistent for the poll loop, since every entry is a live lane.
 * The set of lanes is widened to the old and new ones before the entries
 * change and narrowed after, so that the room the loop checks covers every
 * lane a bucket can hold meanwhile. */
int nv_steer_port(uint16_t port, const uint16_t *table)
{
	if (port >= RTE_MAX_ETHPORTS)
		return nv_fail(EINVAL, "steer: no port %u", port);
	uint32_t spread = 0;
	uint64_t used = 0;
	for (unsigned int i = 0; i < NV_STEER_BUCKETS; i++) {
		if (!lane_is_live(table[i]))
			return nv_fail(EINVAL, "steer: bucket %u names lane %u, which is not live", i, table[i]);
		spread |= table[i] != table[0];
		used |= UINT64_C(1) << table[i];
	}
	struct steer *s = &steers[port];
	uint64_t before = s->input ? s->lanes : 0;
	__atomic_store_n(&s->lanes, before | used, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < NV_STEER_BUCKETS; i++)
		__atomic_store_n(&s->lane[i], table[i], __ATOMIC_RELAXED);
	__atomic_store_n(&s->spread, spread, __ATOMIC_RELEASE);
	__atomic_store_n(&s->input, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->lanes, used, __ATOMIC_RELEASE);
	return 0;
}

/* The port is not read any more (its chain was removed); what it holds stays in its RX queue. */
int nv_unroute_port(uint16_t port)
{
	if (port >= RTE_MAX_ETHPORTS)
		return nv_fail(EINVAL, "unroute: no port %u", port);
	__atomic_store_n(&steers[port].input, 0, __ATOMIC_RELEASE);
	return nv_poll_sync();
}

/* Waits until the poll loop has begun two turns after the call: any burst it
 * was steering with an older table is then handed over. */
int nv_poll_sync(void)
{
	int state = __atomic_load_n(&poll_state, __ATOMIC_ACQUIRE);
	if (state == POLL_IDLE || state == POLL_STOP)
		return 0;
	uint64_t start = __atomic_load_n(&poll_turns, __ATOMIC_ACQUIRE);
	uint64_t deadline = rte_get_tsc_cycles() + rte_get_tsc_hz();
	while (__atomic_load_n(&poll_turns, __ATOMIC_ACQUIRE) < start + 2) {
		if (rte_get_tsc_cycles() > deadline)
			return nv_fail(ETIMEDOUT, "the poll loop did not turn within 1 s");
		sched_yield();
	}
	return 0;
}

/* A drained lane (every descriptor handed to its worker came back) that no
 * port steers to any more leaves the loop; its slot can be reused. */
int nv_lane_retire(uint16_t lane)
{
	if (!lane_is_live(lane))
		return nv_fail(EINVAL, "no live lane %u", lane);
	for (unsigned int p = 0; p < RTE_MAX_ETHPORTS; p++) {
		if (!steers[p].input)
			continue;
		for (unsigned int i = 0; i < NV_STEER_BUCKETS; i++)
			if (steers[p].lane[i] == lane)
				return nv_fail(EBUSY, "lane %u: port %u still steers to it", lane, p);
	}
	struct nv_lane_stats s;
	nv_lane_stats(lane, &s);
	if (s.in != s.returned)
		return nv_fail(EBUSY, "lane %u: %lu packets not handed back yet", lane, (unsigned long)(s.in - s.returned));
	__atomic_store_n(&lanes[lane].live, 0, __ATOMIC_RELEASE);
	return nv_poll_sync(); /* the loop is out of the lane's rings after this */
}

/* A symmetric hash of a packet's flow: addresses (and TCP/UDP/SCTP ports,
 * except in fragments) put in a fixed order, so that both directions of a
 * flow get the same bucket. Non-IP and truncated packets go to bucket 0. */
static uint32_t flow_bucket(const uint8_t *p, uint32_t len)
{
	uint32_t off = 12;
	uint16_t type;
	if (len < 14)
		return 0;
	type = (uint16_t)(p[12] << 8 | p[13]);
	for (int tags = 0; tags < 2 && (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ); tags++) {
		off += 4;
		if (len < off + 2)
			return 0;
		type = (uint16_t)(p[off] << 8 | p[off + 1]);
	}
	off += 2;
	uint32_t a[4] = { 0 }, b[4] = { 0 }, words, l4 = 0, proto;
	if (type == RTE_ETHER_TYPE_IPV4) {
		if (len < off + 20)
			return 0;
		const uint8_t *ip = p + off;
		memcpy(a, ip + 12, 4);
		memcpy(b, ip + 16, 4);
		words = 1;
		proto = ip[9];
		int fragment = (ip[6] & 0x3f) != 0 || ip[7] != 0; /* MF or an offset */
		l4 = fragment ? 0 : off + (ip[0] & 15u) * 4;
	} else if (type == RTE_ETHER_TYPE_IPV6) {
		if (len < off + 40)
			return 0;
		const uint8_t *ip = p + off;
		memcpy(a, ip + 8, 16);
		memcpy(b, ip + 24, 16);
		words = 4;
		proto = ip[6]; /* ports only when no extension header comes first */
		l4 = off + 40;
	} else {
		return 0;
	}
	uint32_t sp = 0, dp = 0;
	if (l4 != 0 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) && len >= l4 + 4) {
		sp = (uint32_t)(p[l4] << 8 | p[l4 + 1]);
		dp = (uint32_t)(p[l4 + 2] << 8 | p[l4 + 3]);
	}
	/* The direction with the smaller (address, port) first. */
	int swap = memcmp(a, b, words * 4);
	if (swap > 0 || (swap == 0 && sp > dp)) {
		uint32_t t[4];
		memcpy(t, a, sizeof(t));
		memcpy(a, b, sizeof(t));
		memcpy(b, t, sizeof(t));
		uint32_t tp = sp;
		sp = dp;
		dp = tp;
	}
	uint32_t h = rte_jhash_3words(sp << 16 | dp, proto, 0, 0);
	h = rte_jhash_32b(a, words, h);
	h = rte_jhash_32b(b, words, h);
	return h & (NV_STEER_BUCKETS - 1);
}

int nv_lane_stats(uint16_t lane, struct nv_lane_stats *out)
{
	if (lane >= n_lanes)
		return nv_fail(EINVAL, "no lane %u", lane);
	out->in = __atomic_load_n(&lanes[lane].stats.in, __ATOMIC_RELAXED);
	out->returned = __atomic_load_n(&lanes[lane].stats.returned, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&lanes[lane].stats.dropped, __ATOMIC_RELAXED);
	out->bad_desc = __atomic_load_n(&lanes[lane].stats.bad_desc, __ATOMIC_RELAXED);
	return 0;
}

/* Free descriptors in a lane's RX ring, at least `want` if there are: the
 * worker's index is read again only when the last reading shows fewer. */
static uint32_t lane_room(struct lane *l, uint32_t want)
{
	struct nv_ring *r = l->rx;
	uint32_t room = l->mask + 1 - (r->head - l->rx_tail_seen);
	if (room < want) {
		l->rx_tail_seen = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		room = l->mask + 1 - (r->head - l->rx_tail_seen);
	}
	return room;
}

/* Hands n single-segment mbufs to a lane's worker, in order; frees those
 * its ring has no room for and returns how many that was. The port was read
 * for no more than the room there was, so only a steering table changed
 * under way can leave one without. */
static uint32_t push(struct lane *l, struct rte_mbuf **m, uint32_t n, uint16_t port)
{
	struct nv_ring *r = l->rx;
	uint32_t head = r->head;
	uint32_t room = lane_room(l, n);
	uint32_t pushed = n < room ? n : room;

	for (uint32_t i = 0; i < pushed; i++) {
		struct nv_desc *d = &r->d[(head + i) & l->mask];
		d->pool_off = (uint32_t)(rte_pktmbuf_mtod(m[i], uint8_t *) - nv_pool.base);
		d->len = m[i]->data_len;
		d->port = port;
		d->room = (uint16_t)(m[i]->buf_len - m[i]->data_off);
		d->verdict = 0;
	}
	/* Publish the descriptors before the index that makes them visible. */
	__atomic_store_n(&r->head, head + pushed, __ATOMIC_RELEASE);
	if (l->bell != NULL && pushed != 0 && __atomic_load_n(&l->bell->sleeping, __ATOMIC_RELAXED))
		nv_doorbell_wake(l->bell);
	nv_count(&l->stats.in, pushed);
	if (pushed < n)
		rte_pktmbuf_free_bulk(&m[pushed], n - pushed);
	return n - pushed;
}

/* A chain on several replicas: each packet to the lane of its flow's bucket,
 * each lane's packets in their order of arrival. */
static uint32_t push_spread(struct steer *st, struct rte_mbuf **m, uint32_t n, uint16_t port)
{
	uint16_t lane_of[BURST];
	struct rte_mbuf *group[BURST];
	uint32_t full = 0;

	for (uint32_t i = 0; i < n; i++)
		lane_of[i] = __atomic_load_n(&st->lane[flow_bucket(rte_pktmbuf_mtod(m[i], const uint8_t *), m[i]->data_len)],
					     __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < n; i++) {
		if (m[i] == NULL)
			continue;
		uint16_t lane = lane_of[i];
		uint32_t k = 0;
		for (uint32_t j = i; j < n; j++) {
			if (m[j] != NULL && lane_of[j] == lane) {
				group[k++] = m[j];
				m[j] = NULL;
			}
		}
		full += push(&lanes[lane], group, k, port);
	}
	return full;
}

/* Puts back in the frame a VLAN tag that the device took out (the kernel does,
 * under net_af_packet, whose own re-insertion cannot work on the pool's
 * external buffers): NFs see frames as they were on the wire. */
static void put_vlan_back(struct rte_mbuf *m)
{
	if (m->data_off < sizeof(struct rte_vlan_hdr) || m->data_len < 2 * RTE_ETHER_ADDR_LEN)
		return;
	uint8_t *from = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *p = from - sizeof(struct rte_vlan_hdr);
	memmove(p, from, 2 * RTE_ETHER_ADDR_LEN);
	p[12] = RTE_ETHER_TYPE_VLAN >> 8;
	p[13] = RTE_ETHER_TYPE_VLAN & 0xff;
	p[14] = (uint8_t)(m->vlan_tci >> 8);
	p[15] = (uint8_t)m->vlan_tci;
	m->data_off -= sizeof(struct rte_vlan_hdr);
	m->data_len += sizeof(struct rte_vlan_hdr);
	m->pkt_len += sizeof(struct rte_vlan_hdr);
	m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
}

/* How many packets the port's queue may be read for: what the lane it feeds
 * has room for, or (a port spread over several lanes) the fullest of them. */
static uint32_t steer_room(struct steer *st, uint16_t q, int spread)
{
	if (!spread)
		return lane_room(&lanes[__atomic_load_n(&st->lane[q], __ATOMIC_RELAXED)], BURST);
	uint32_t room = BURST;
	for (uint64_t set = __atomic_load_n(&st->lanes, __ATOMIC_ACQUIRE); set != 0; set &= set - 1)
		room = RTE_MIN(room, lane_room(&lanes[__builtin_ctzll(set)], BURST));
	return room;
}

uint64_t nv_port_unstaged_nobuf[RTE_MAX_ETHPORTS];

/* Frames a port received into its own staging mempool (port.c), copied into
 * the pool's mbufs in place of theirs. A burst that finds no pool mbufs is
 * dropped and counted as a device's want of buffers is (before RX: rx_nombuf);
 * a frame longer than a pool buffer is dropped and counted as a jumbo frame
 * of the pool is (received, multi-segment: *too_long). Returns how many are
 * left in m. */
static uint16_t unstage(struct rte_mbuf **m, uint16_t n, uint16_t port, uint32_t *too_long)
{
	struct rte_mbuf *staged[BURST];
	uint16_t kept = 0;

	if (n == 0)
		return 0;
	memcpy(staged, m, n * sizeof(*m));
	if (rte_pktmbuf_alloc_bulk(nv_pool.mp, m, n) != 0) {
		rte_pktmbuf_free_bulk(staged, n);
		nv_count(&nv_port_unstaged_nobuf[port], n);
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *from = staged[i];
		if (unlikely(from->nb_segs > 1 || from->data_len > nv_pool.info.data_room)) {
			rte_pktmbuf_free(m[i]);
			(*too_long)++;
			continue;
		}
		struct rte_mbuf *to = m[i];
		rte_memcpy(rte_pktmbuf_mtod(to, void *), rte_pktmbuf_mtod(from, void *), from->data_len);
		to->data_len = from->data_len;
		to->pkt_len = from->pkt_len;
		to->port = from->port;
		to->ol_flags = from->ol_flags & (RTE_MBUF_F_RX_RSS_HASH | RTE_MBUF_F_RX_VLAN_STRIPPED | RTE_MBUF_F_RX_VLAN);
		to->hash.rss = from->hash.rss;
		to->vlan_tci = from->vlan_tci;
		m[kept++] = to;
	}
	rte_pktmbuf_free_bulk(staged, n);
	return kept;
}

/* Gives each packet's buffer slot its arrival TSC, for the latency: one every
 * cycles_per_pkt from the first's when paced (first: 0 when not), else now. */
static void stamp_arrivals(struct rte_mbuf **m, uint32_t n, double first)
{
	double at = first > 0 ? first : (double)rte_rdtsc();
	double step = first > 0 ? nv_pace.cycles_per_pkt : 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = (uint32_t)((rte_pktmbuf_mtod(m[i], uint8_t *) - nv_pool.base) / NV_POOL_ELT_SIZE);
		nv_lat_rx_tsc[slot] = (uint64_t)(at + i * step);
	}
}

/* The first data lines of the next n mbufs this lcore allocates from the
 * pool (the top of its mempool cache, which hands them out last in, first
 * out), fetched for writing before the device's RX writes them: a buffer
 * freed after TX a moment ago still has the line in the worker's core, where
 * the NFs last read or wrote it, and the device would wait for each in turn. */
static void prefetch_next_buffers(uint32_t n)
{
	struct rte_mempool_cache *cache = rte_mempool_default_cache(nv_pool.mp, rte_lcore_id());
	if (cache == NULL)
		return;
	for (uint32_t i = 0; i < RTE_MIN(n, cache->len); i++) {
		const struct rte_mbuf *m = cache->objs[cache->len - 1 - i];
		__builtin_prefetch((const uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM, 1, 3);
	}
}

/* Reads one RX queue of a port; returns whether its chain had room for less than a burst. */
static bool rx_queue(uint16_t port, uint16_t q, struct steer *st)
{
	struct rte_mbuf *m[BURST];
	struct nv_port_stats *s = &nv_port_counters[port];
	int spread = nv_port_rxq[port] == 1 && __atomic_load_n(&st->spread, __ATOMIC_ACQUIRE);
	/* Backpressure: what the chain cannot take yet stays in the device (a
	 * NIC's RX ring, which counts what overflows it; a file, which waits). */
	uint32_t room = steer_room(st, q, spread);
	uint16_t want = (uint16_t)RTE_MIN(room, BURST);
	bool held = want < BURST;

	if (want == 0)
		return held;
	double arrival = 0; /* the first packet's, when paced */
	if (nv_pace.cycles_per_pkt > 0) {
		double now = (double)rte_rdtsc();
		if (nv_pace.due == 0) /* the clock starts with the first read of an input */
			nv_pace.due = now;
		double late = now - nv_pace.due;
		if (late < 0)
			return held;
		double arrived = late / nv_pace.cycles_per_pkt + 1;
		if (arrived > nv_pace.backlog) { /* the ring overflowed: the oldest are gone */
			nv_pace.due += (arrived - nv_pace.backlog) * nv_pace.cycles_per_pkt;
			arrived = nv_pace.backlog;
		}
		want = (uint16_t)RTE_MIN(want, arrived);
		arrival = nv_pace.due;
	}
	if (nv_port_staging[port] == NULL)
		prefetch_next_buffers(want);
	uint16_t n = rte_eth_rx_burst(port, q, m, want);

	uint32_t too_long = 0;
	if (unlikely(nv_port_staging[port] != NULL))
		n = unstage(m, n, port, &too_long);
	if (n + too_long == 0)
		return held;
	turn_work += n;
	if (nv_pace.cycles_per_pkt > 0)
		nv_pace.due += n * nv_pace.cycles_per_pkt;
	if (nv_flows_n != 0)
		nv_rewrite_flows(m, n);
	uint32_t kept = 0, multiseg = too_long, full;
	uint64_t bytes = 0;

	/* Jumbo frames (several mbufs) are dropped here; the rest close up. */
	for (uint16_t i = 0; i < n; i++) {
		if (unlikely(m[i]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED))
			put_vlan_back(m[i]);
		bytes += m[i]->pkt_len;
		if (m[i]->nb_segs > 1) {
			rte_pktmbuf_free(m[i]);
			multiseg++;
			continue;
		}
		m[kept++] = m[i];
	}
	struct nv_capture_point *cap = __atomic_load_n(&nv_capture_rx[port], __ATOMIC_ACQUIRE);
	if (unlikely(cap != NULL))
		nv_capture_mbufs(cap, m, kept);
	if (nv_lat_rx_tsc != NULL)
		stamp_arrivals(m, kept, arrival);
	if (spread)
		full = push_spread(st, m, kept, port);
	else
		full = push(&lanes[__atomic_load_n(&st->lane[q], __ATOMIC_RELAXED)], m, kept, port);
	nv_count(&s->rx, n + too_long);
	nv_count(&s->rx_bytes, bytes);
	if (multiseg)
		nv_count(&s->rx_multiseg, multiseg);
	if (full)
		nv_count(&s->rx_ring_full, full);
	return held;
}

/* How long each input port was held back: while its chain has no room for a
 * whole burst, the TSC is read each turn and the cycles since the last held
 * turn are added up. held_since is the last held turn's TSC, 0 when not held. */
uint64_t nv_port_held_cycles[RTE_MAX_ETHPORTS];
static uint64_t held_since[RTE_MAX_ETHPORTS];

static void rx_port(uint16_t port, struct steer *st)
{
	bool held = false;
	for (uint16_t q = 0; q < nv_port_rxq[port]; q++)
		held |= rx_queue(port, q, st);
	if (held || held_since[port] != 0) {
		uint64_t now = rte_rdtsc();
		if (held_since[port] != 0)
			nv_count(&nv_port_held_cycles[port], now - held_since[port]);
		held_since[port] = held ? now : 0;
	}
}

static void tx_flush(uint16_t port)
{
	struct tx_buffer *b = &tx_buffers[port];
	uint16_t sent;

	if (b->n == 0)
		return;
	struct nv_capture_point *cap = __atomic_load_n(&nv_capture_tx[port], __ATOMIC_ACQUIRE);
	if (unlikely(cap != NULL))
		nv_capture_mbufs(cap, b->m, b->n); /* what is handed to the device, before it may free it */
	sent = rte_eth_tx_burst(port, 0, b->m, b->n);
	/* Unsent ones are still ours to read; sent ones may be freed already. */
	uint64_t bytes = b->bytes;
	for (uint16_t i = sent; i < b->n; i++)
		bytes -= b->m[i]->pkt_len;
	nv_count(&nv_port_counters[port].tx, sent);
	nv_count(&nv_port_counters[port].tx_bytes, bytes);
	b->bytes = 0;
	if (sent < b->n) {
		rte_pktmbuf_free_bulk(&b->m[sent], b->n - sent);
		nv_count(&nv_port_counters[port].tx_full, b->n - sent);
	}
	b->n = 0;
}

/* Takes back up to one burst from a lane; returns how many. */
static uint32_t take_returns(struct lane *l)
{
	struct nv_ring *r = l->ret;
	uint32_t tail = r->tail;
	uint32_t n = l->ret_head_seen - tail;
	struct rte_mbuf *mbufs[BURST];
	uint32_t dropped = 0;
	uint64_t tsc = 0;

	if (n == 0) {
		l->ret_head_seen = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		n = l->ret_head_seen - tail;
		if (n == 0)
			return 0;
	}
	if (n > BURST)
		n = BURST;
	turn_work += n;
	if (nv_lat_rx_tsc != NULL)
		tsc = rte_rdtsc();
	/* Find every mbuf of the burst and start fetching its header, and its
	 * packet's first line (the worker's core has it: the NFs read and wrote
	 * it there; the device's TX reads it), before touching any of them. The
	 * buffer size is a constant, so the division is a multiply. */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t pool_off = r->d[(tail + i) & l->mask].pool_off;
		uint32_t slot = pool_off / NV_POOL_ELT_SIZE;
		mbufs[i] = slot < nv_pool.n_slots ? nv_pool.slots[slot] : NULL;
		rte_prefetch0(mbufs[i]);
		rte_prefetch0(nv_pool.base + pool_off);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct nv_desc *d = &r->d[(tail + i) & l->mask];
		struct rte_mbuf *m = mbufs[i];
		/* Bytes from the packet's first byte to its buffer's end. */
		uint32_t room = (d->pool_off / NV_POOL_ELT_SIZE + 1) * NV_POOL_ELT_SIZE - d->pool_off;

		/* Workers are host code and check what NFs return; this only keeps a
		 * host bug from becoming a wild pointer. */
		if (unlikely(m == NULL || d->len == 0 || d->len > room ||
			     (d->port != NV_PORT_DROP && d->port >= RTE_MAX_ETHPORTS))) {
			nv_count(&l->stats.bad_desc, 1);
			if (m != NULL)
				rte_pktmbuf_free(m);
			continue;
		}
		if (d->port == NV_PORT_DROP) {
			rte_pktmbuf_free(m);
			dropped++;
			continue;
		}
		if (nv_lat_rx_tsc != NULL) {
			uint64_t *b = &nv_lat_hist[nv_lat_bucket(tsc - nv_lat_rx_tsc[d->pool_off / NV_POOL_ELT_SIZE])];
			nv_count(b, 1);
		}
		m->data_len = (uint16_t)d->len;
		m->pkt_len = d->len;
		struct tx_buffer *b = &tx_buffers[d->port];
		b->m[b->n++] = m;
		b->bytes += d->len;
		if (b->n == BURST)
			tx_flush(d->port);
	}
	__atomic_store_n(&r->tail, tail + n, __ATOMIC_RELEASE);
	nv_count(&l->stats.returned, n);
	if (dropped)
		nv_count(&l->stats.dropped, dropped);
	return n;
}

static int poll_main(void *arg)
{
	(void)arg;
	nv_idle_start();
	for (;;) {
		int state = __atomic_load_n(&poll_state, __ATOMIC_ACQUIRE);
		turn_work = 0;
		if (state == POLL_RUN)
			for (uint16_t i = 0; i < nv_n_ports; i++) {
				uint16_t port = nv_port_ids[i];
				if (__atomic_load_n(&steers[port].input, __ATOMIC_ACQUIRE))
					rx_port(port, &steers[port]);
				else
					held_since[port] = 0;
			}
		uint16_t nl = __atomic_load_n(&n_lanes, __ATOMIC_ACQUIRE);
		for (uint16_t i = 0; i < nl; i++)
			if (__atomic_load_n(&lanes[i].live, __ATOMIC_ACQUIRE))
				take_returns(&lanes[i]);
		for (uint16_t i = 0; i < nv_n_ports; i++)
			tx_flush(nv_port_ids[i]);
		__atomic_store_n(&poll_turns, poll_turns + 1, __ATOMIC_RELEASE);
		/* Stopping ends after one more pass over the return rings: what was handed
		 * back just before the stop (a hung burst the main thread aborted) is sent
		 * or freed, and the pool is full again. */
		if (state == POLL_STOP)
			break;
		nv_idle_turn(turn_work);
	}
	return 0;
}

int nv_poll_start(unsigned int lcore)
{
	int ret;

	if (poll_state != POLL_IDLE)
		return nv_fail(EBUSY, "the poll loop runs already");
	/* Descriptor slots must index the slot table; check once here, not per packet. */
	if (nv_pool.mp == NULL)
		return nv_fail(ENOENT, "create the pool before starting the poll loop");
	poll_state = POLL_RUN;
	poll_lcore = lcore;
	ret = rte_eal_remote_launch(poll_main, NULL, lcore);
	if (ret < 0) {
		poll_state = POLL_IDLE;
		return nv_fail(ret, "cannot launch the poll loop on lcore %u: %s", lcore, strerror(-ret));
	}
	return 0;
}

/* Returns once the loop reads no port any more: a burst it was receiving when
 * called is in its lane's ring (counted in flight) by then. */
int nv_poll_drain(void)
{
	int expected = POLL_RUN;
	__atomic_compare_exchange_n(&poll_state, &expected, POLL_DRAIN, 0, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	return nv_poll_sync();
}

/* A worker that went to sleep just as its lane was handed packets (idle.c):
 * the heads stored before are visible to it after the fence. */
void nv_wake_missed(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (uint16_t i = 0; i < n_lanes; i++) {
		struct lane *l = &lanes[i];
		if (l->live && l->bell != NULL && __atomic_load_n(&l->bell->sleeping, __ATOMIC_RELAXED) &&
		    l->rx->head != __atomic_load_n(&l->rx->tail, __ATOMIC_RELAXED))
			nv_doorbell_wake(l->bell);
	}
}

/* Sleeping on input ports' RX interrupts (idle.c): each queue's interrupt
 * file descriptor, polled level-triggered (a packet queued before the sleep
 * wakes it at once, where DPDK's edge-triggered epoll would miss it). A PCI
 * NIC's queue is armed first and disarmed after, and its eventfd read when it
 * woke the sleep (it stays readable until read). A packet that came between
 * the last empty RX burst and the arming raises nothing: the sleep's timeout
 * bounds its wait. Returns whether a queue woke it; -1 when some input port
 * has no interrupts. */
int nv_rx_intr_wait(int timeout_ms)
{
	struct pollfd fds[NV_MAX_PORTS * NV_MAX_RX_QUEUES];
	uint16_t fd_port[NV_MAX_PORTS * NV_MAX_RX_QUEUES], fd_queue[NV_MAX_PORTS * NV_MAX_RX_QUEUES];
	nfds_t n = 0;
	for (uint16_t i = 0; i < nv_n_ports; i++) {
		uint16_t port = nv_port_ids[i];
		if (!__atomic_load_n(&steers[port].input, __ATOMIC_ACQUIRE))
			continue;
		if (nv_port_rx_intr[port] == NV_RX_INTR_NONE)
			return -1;
		for (uint16_t q = 0; q < nv_port_rxq[port]; q++) {
			int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port, q);
			if (fd < 0)
				return -1;
			fd_port[n] = port;
			fd_queue[n] = q;
			fds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
	}
	if (n == 0)
		return -1;
	for (nfds_t k = 0; k < n; k++)
		if (nv_port_rx_intr[fd_port[k]] == NV_RX_INTR_EVENTFD)
			rte_eth_dev_rx_intr_enable(fd_port[k], fd_queue[k]);
	int ready = poll(fds, n, timeout_ms);
	for (nfds_t k = 0; k < n; k++) {
		uint16_t port = fd_port[k];
		if (nv_port_rx_intr[port] == NV_RX_INTR_EVENTFD)
			rte_eth_dev_rx_intr_disable(port, fd_queue[k]);
		if (ready <= 0 || !(fds[k].revents & POLLIN))
			continue;
		__atomic_fetch_add(&nv_port_counters[port].rx_intr_wakes, 1, __ATOMIC_RELAXED);
		if (nv_port_rx_intr[port] == NV_RX_INTR_EVENTFD) {
			uint64_t count;
			ssize_t got = read(fds[k].fd, &count, sizeof(count)); /* clears it (non-blocking) */
			(void)got;
		}
	}
	return ready > 0;
}

/* Descriptors handed to workers and not yet given back, over all lanes. */
uint64_t nv_poll_in_flight(void)
{
	uint64_t n = 0;
	for (uint16_t i = 0; i < n_lanes; i++)
		n += __atomic_load_n(&lanes[i].stats.in, __ATOMIC_RELAXED) -
		     __atomic_load_n(&lanes[i].stats.returned, __ATOMIC_RELAXED);
	return n;
}

int nv_poll_stop(void)
{
	int state = __atomic_load_n(&poll_state, __ATOMIC_ACQUIRE);
	if (state == POLL_IDLE || state == POLL_STOP)
		return 0;
	__atomic_store_n(&poll_state, POLL_STOP, __ATOMIC_RELEASE);
	rte_eal_wait_lcore(poll_lcore);
	return 0;
}

/* Ends the poll loop and closes the ports: every mbuf is back in the pool after. */
int nv_stop(void)
{
	nv_poll_stop();
	nv_ports_close();
	return 0;
}

/* Everything else, in order: pool, EAL. Safe to call at any stage. */
int nv_shutdown(void)
{
	nv_stop();
	nv_pool_free();
	return nv_eal_cleanup();
}
