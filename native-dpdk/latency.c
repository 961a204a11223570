/* Latency through the data plane and a paced input, for measuring a chain
 * below its maximum rate. Both are off unless asked for before the poll loop
 * starts; both cost the poll lcore a little per burst, never a call per
 * packet across a boundary.
 *
 * Latency: at RX every packet's buffer slot gets its arrival TSC (a paced
 * input's clock says when it arrived, so that a packet the poll lcore was
 * late for counts its wait, as in a NIC's RX ring; otherwise the RX burst's
 * TSC); when a worker hands the packet back to be sent, the poll lcore adds
 * (now - that) to a histogram. So it measures arrival to hand-back (the
 * whole chain and both rings), not the TX queue. Histogram: log-linear over TSC cycles,
 * NV_LAT_SUB buckets per power of two (about 6% wide), read by the host,
 * which turns cycles into ns with nv_tsc_hz(). */
#include <errno.h>
#include <stdlib.h>

#include <rte_cycles.h>

#include "internal.h"

uint64_t *nv_lat_rx_tsc;
uint64_t nv_lat_hist[NV_LAT_BUCKETS];

struct nv_pace nv_pace;

int nv_latency_enable(void)
{
	if (nv_pool.mp == NULL)
		return nv_fail(ENOENT, "latency: create the pool first");
	if (nv_lat_rx_tsc == NULL) {
		nv_lat_rx_tsc = calloc(nv_pool.n_slots, sizeof(*nv_lat_rx_tsc));
		if (nv_lat_rx_tsc == NULL)
			return nv_fail(ENOMEM, "latency: no memory for %u timestamps", nv_pool.n_slots);
	}
	return 0;
}

uint32_t nv_latency_histogram(uint64_t *out, uint32_t n)
{
	if (n > NV_LAT_BUCKETS)
		n = NV_LAT_BUCKETS;
	for (uint32_t i = 0; i < n; i++)
		out[i] = __atomic_load_n(&nv_lat_hist[i], __ATOMIC_RELAXED);
	return NV_LAT_BUCKETS;
}

/* The lowest value (cycles) that falls in bucket i. */
uint64_t nv_latency_bucket_low(uint32_t i)
{
	if (i < NV_LAT_SUB)
		return i;
	uint32_t e = i / NV_LAT_SUB + NV_LAT_SUB_BITS - 1;
	return ((uint64_t)NV_LAT_SUB | (i % NV_LAT_SUB)) << (e - NV_LAT_SUB_BITS);
}

/* A worker's turn begins, while latency is measured: the gap since the last
 * turn began goes into the histogram at gaps[0..NV_LAT_BUCKETS), over the
 * latency's buckets; gaps[NV_LAT_BUCKETS] keeps that turn's TSC (0: none, as
 * after a sleep, whose gap is no stall). The worker's own thread writes it;
 * the host reads it with plain loads (a count may be one behind). */
void nv_turn_mark(uint64_t *gaps)
{
	uint64_t now = rte_rdtsc();
	uint64_t last = gaps[NV_LAT_BUCKETS];
	if (last != 0)
		gaps[nv_lat_bucket(now - last)]++;
	gaps[NV_LAT_BUCKETS] = now;
}

uint64_t nv_tsc_hz(void)
{
	return rte_get_tsc_hz();
}

int nv_pace_rx(double pps, uint32_t backlog)
{
	if (!(pps > 0))
		return nv_fail(EINVAL, "pace: %g packets per second", pps);
	if (backlog == 0)
		return nv_fail(EINVAL, "pace: a backlog of 0 packets");
	nv_pace.cycles_per_pkt = (double)rte_get_tsc_hz() / pps;
	nv_pace.due = 0; /* set by the poll lcore's first read of an input */
	nv_pace.backlog = backlog;
	return 0;
}
