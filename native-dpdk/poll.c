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

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include "internal.h"

#define BURST 32u

enum { POLL_IDLE, POLL_RUN, POLL_DRAIN, POLL_STOP };

/* Each side keeps its last reading of the other side's index and reads the
 * shared one again only when that reading says the ring is full (or empty):
 * an index read is a cache line owned by the other core. */
struct lane {
	struct nv_ring *rx;  /* poll lcore -> worker */
	struct nv_ring *ret; /* worker -> poll lcore */
	uint32_t mask;
	uint32_t rx_tail_seen;
	uint32_t ret_head_seen;
	struct nv_lane_stats stats;
};

struct tx_buffer {
	uint16_t n;
	uint64_t bytes;
	struct rte_mbuf *m[BURST];
};

static struct lane lanes[NV_MAX_LANES];
static uint16_t n_lanes;
static int16_t lane_of_port[RTE_MAX_ETHPORTS]; /* -1: not an input port */
static int lane_of_port_ready;
static int poll_state = POLL_IDLE;
static unsigned int poll_lcore;
static struct tx_buffer tx_buffers[RTE_MAX_ETHPORTS];

static void init_routes(void)
{
	if (lane_of_port_ready)
		return;
	for (unsigned int i = 0; i < RTE_MAX_ETHPORTS; i++)
		lane_of_port[i] = -1;
	lane_of_port_ready = 1;
}

int nv_lane_add(void *rx_ring, void *ret_ring, uint32_t size)
{
	if (poll_state != POLL_IDLE)
		return nv_fail(EBUSY, "lanes are added before the poll loop starts");
	if (n_lanes == NV_MAX_LANES)
		return nv_fail(ENOSPC, "at most %d lanes", NV_MAX_LANES);
	if (size == 0 || (size & (size - 1)) != 0)
		return nv_fail(EINVAL, "ring size %u is not a power of two", size);
	lanes[n_lanes] = (struct lane){ .rx = rx_ring, .ret = ret_ring, .mask = size - 1 };
	return n_lanes++;
}

int nv_route_port(uint16_t port, uint16_t lane)
{
	init_routes();
	if (port >= RTE_MAX_ETHPORTS || lane >= n_lanes)
		return nv_fail(EINVAL, "route: no port %u or no lane %u", port, lane);
	lane_of_port[port] = (int16_t)lane;
	return 0;
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

static void rx_port(uint16_t port, struct lane *l)
{
	struct rte_mbuf *m[BURST];
	struct nv_port_stats *s = &nv_port_counters[port];
	uint16_t want = BURST;

	if (nv_pace.per_cycle > 0) {
		uint64_t now = rte_rdtsc();
		nv_pace.tokens += (double)(now - nv_pace.last) * nv_pace.per_cycle;
		nv_pace.last = now;
		if (nv_pace.tokens > BURST) /* no bursts above one RX burst after a pause */
			nv_pace.tokens = BURST;
		if (nv_pace.tokens < 1)
			return;
		want = (uint16_t)nv_pace.tokens;
	}
	uint16_t n = rte_eth_rx_burst(port, 0, m, want);

	if (n == 0)
		return;
	if (nv_pace.per_cycle > 0)
		nv_pace.tokens -= n;
	uint64_t tsc = nv_lat_rx_tsc != NULL ? rte_rdtsc() : 0;

	struct nv_ring *r = l->rx;
	uint32_t head = r->head;
	uint32_t room = l->mask + 1 - (head - l->rx_tail_seen);
	if (room < n) {
		l->rx_tail_seen = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		room = l->mask + 1 - (head - l->rx_tail_seen);
	}
	uint32_t pushed = 0, multiseg = 0, full = 0;
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++) {
		bytes += m[i]->pkt_len;
		if (m[i]->nb_segs > 1) {
			rte_pktmbuf_free(m[i]);
			multiseg++;
			continue;
		}
		if (pushed == room) {
			rte_pktmbuf_free(m[i]);
			full++;
			continue;
		}
		struct nv_desc *d = &r->d[(head + pushed) & l->mask];
		d->pool_off = (uint32_t)(rte_pktmbuf_mtod(m[i], uint8_t *) - nv_pool.base);
		d->len = m[i]->data_len;
		d->port = port;
		d->room = (uint16_t)(m[i]->buf_len - m[i]->data_off);
		d->verdict = 0;
		if (nv_lat_rx_tsc != NULL)
			nv_lat_rx_tsc[d->pool_off / NV_POOL_ELT_SIZE] = tsc;
		pushed++;
	}
	/* Publish the descriptors before the index that makes them visible. */
	__atomic_store_n(&r->head, head + pushed, __ATOMIC_RELEASE);
	nv_count(&s->rx, n);
	nv_count(&s->rx_bytes, bytes);
	nv_count(&l->stats.in, pushed);
	if (multiseg)
		nv_count(&s->rx_multiseg, multiseg);
	if (full)
		nv_count(&s->rx_ring_full, full);
}

static void tx_flush(uint16_t port)
{
	struct tx_buffer *b = &tx_buffers[port];
	uint16_t sent;

	if (b->n == 0)
		return;
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
	if (nv_lat_rx_tsc != NULL)
		tsc = rte_rdtsc();
	/* Find every mbuf of the burst and start fetching its header before
	 * touching any of them. The buffer size is a constant, so the division
	 * is a multiply. */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = r->d[(tail + i) & l->mask].pool_off / NV_POOL_ELT_SIZE;
		mbufs[i] = slot < nv_pool.n_slots ? nv_pool.slots[slot] : NULL;
		rte_prefetch0(mbufs[i]);
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
	for (;;) {
		int state = __atomic_load_n(&poll_state, __ATOMIC_ACQUIRE);
		if (state == POLL_STOP)
			break;
		if (state == POLL_RUN)
			for (uint16_t i = 0; i < nv_n_ports; i++) {
				uint16_t port = nv_port_ids[i];
				if (lane_of_port[port] >= 0)
					rx_port(port, &lanes[lane_of_port[port]]);
			}
		for (uint16_t i = 0; i < n_lanes; i++)
			take_returns(&lanes[i]);
		for (uint16_t i = 0; i < nv_n_ports; i++)
			tx_flush(nv_port_ids[i]);
	}
	return 0;
}

int nv_poll_start(unsigned int lcore)
{
	int ret;

	init_routes();
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

int nv_poll_drain(void)
{
	int expected = POLL_RUN;
	__atomic_compare_exchange_n(&poll_state, &expected, POLL_DRAIN, 0, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	return 0;
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
