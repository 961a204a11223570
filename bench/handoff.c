/* The handoff baseline: what it costs two cores to pass descriptors to each
 * other and back through NetVM's rings (struct nv_ring, 16-byte nv_desc) and
 * nothing else: no port, no packet bytes, no NF. One thread, on the poll
 * lcore's CPU, writes bursts of 32 descriptors into an RX ring and takes
 * back what comes out of the return ring, as the poll loop does; the other,
 * on the worker's CPU, moves up to 256 at a time from one to the other, as a
 * chain without NFs does. Every packet of the data plane crosses these two
 * rings, so their rate bounds any point whose packets go to a worker.
 *
 * usage: handoff <poll cpu> <worker cpu> <warmup s> <seconds> [<pps>]
 * prints the descriptors per second that came back, measured after warmup.
 * With a rate, descriptors arrive on a clock at that rate, as netvm run
 * --rx-pps paces a port: those the poll side is late for wait, up to BACKLOG
 * (the ports' RX ring; older ones are lost beyond), and each is timed from its
 * arrival to its return, as netvm run --latency times a packet: it prints the
 * rate, then p50, p99, p99.9 and the largest, in ns.
 * That is the latency of the two cores and the rings alone, on this machine:
 * a floor for the data plane's. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "netvm_dp.h"
#include "pin.h"

#define RING_SIZE 4096u
#define MASK (RING_SIZE - 1)
#define POLL_BURST 32u
#define WORKER_BURST 256u
#define BACKLOG 1024u /* host/dataplane/driver.ts PORT_DESCRIPTORS */
/* The latency histogram: 10 ns buckets up to 10 ms (the last holds anything longer). */
#define LAT_BUCKET_NS 10u
#define LAT_BUCKETS 1000000u

static struct nv_ring *rx, *ret;
static int stop;
/* Spins of work() a descriptor costs the worker side (0: none); calibrated from ns by main. */
static uint64_t work_spins;
static volatile uint64_t sink; /* what the poll side read back, so that its loads stay */
static volatile uint64_t worker_sink; /* what the worker side computed, the same */

static struct nv_ring *ring(void)
{
	struct nv_ring *r = aligned_alloc(64, NV_RING_HDR + RING_SIZE * sizeof(struct nv_desc));
	if (r == NULL) {
		perror("handoff: aligned_alloc");
		exit(1);
	}
	r->head = r->tail = 0;
	return r;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The value (ns, a bucket's middle) at quantile q of the histogram's n counts. */
static double quantile(const uint64_t *hist, uint64_t n, double q)
{
	uint64_t rank = (uint64_t)(q * (double)n + 0.999999), seen = 0;
	for (uint32_t i = 0; i < LAT_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= rank && seen > 0)
			return ((double)i + 0.5) * LAT_BUCKET_NS;
	}
	return 0;
}

/* The paced run: the poll side writes the descriptors that have arrived, stamping
 * each one's arrival by its ring position, and histograms the returns. */
static void paced(double pps, double warmup, double seconds)
{
	uint64_t *hist = calloc(LAT_BUCKETS, sizeof(*hist));
	uint64_t *stamp = calloc(RING_SIZE, sizeof(*stamp));
	if (hist == NULL || stamp == NULL) {
		perror("handoff: calloc");
		exit(1);
	}
	uint32_t rx_head = 0, ret_tail = 0;
	uint64_t back = 0, back_at_start = 0, timed = 0, start = now_ns();
	uint64_t measured_from = start + (uint64_t)(warmup * 1e9), end = measured_from + (uint64_t)(seconds * 1e9);
	double due = (double)start, ns_per_pkt = 1e9 / pps; /* the next descriptor's arrival */
	int measuring = 0;
	for (uint64_t t = start; t < end; t = now_ns()) {
		double arrived = t >= due ? ((double)t - due) / ns_per_pkt + 1 : 0;
		if (arrived > BACKLOG) {
			due += (arrived - BACKLOG) * ns_per_pkt;
			arrived = BACKLOG;
		}
		uint32_t room = RING_SIZE - (rx_head - __atomic_load_n(&rx->tail, __ATOMIC_ACQUIRE));
		uint32_t n = room < POLL_BURST ? room : POLL_BURST;
		n = n < (uint32_t)arrived ? n : (uint32_t)arrived;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t at = (rx_head + i) & MASK;
			stamp[at] = (uint64_t)(due + i * ns_per_pkt);
			rx->d[at] = (struct nv_desc){ .pool_off = at, .len = 64, .port = 0, .room = 2048, .verdict = 0 };
		}
		due += n * ns_per_pkt;
		rx_head += n;
		__atomic_store_n(&rx->head, rx_head, __ATOMIC_RELEASE);
		uint32_t m = __atomic_load_n(&ret->head, __ATOMIC_ACQUIRE) - ret_tail;
		m = m < POLL_BURST ? m : POLL_BURST;
		if (!measuring && t >= measured_from) {
			measuring = 1;
			back_at_start = back;
			measured_from = t;
		}
		for (uint32_t i = 0; i < m; i++) {
			uint64_t ns = t - stamp[ret->d[(ret_tail + i) & MASK].pool_off];
			if (measuring) {
				hist[ns / LAT_BUCKET_NS < LAT_BUCKETS ? ns / LAT_BUCKET_NS : LAT_BUCKETS - 1]++;
				timed++;
			}
		}
		ret_tail += m;
		__atomic_store_n(&ret->tail, ret_tail, __ATOMIC_RELEASE);
		back += m;
	}
	uint32_t top = LAT_BUCKETS - 1;
	while (top > 0 && hist[top] == 0)
		top--;
	printf("%.0f %.0f %.0f %.0f %.0f\n", (double)(back - back_at_start) / ((double)(end - measured_from) / 1e9),
	       quantile(hist, timed, 0.5), quantile(hist, timed, 0.99), quantile(hist, timed, 0.999), ((double)top + 1) * LAT_BUCKET_NS);
}

/* n spins of a dependent multiply chain: CPU time, which a preemption delays as it
 * delays an NF's work (a clock read would count the time the thread was off its CPU). */
static uint64_t work(uint64_t n, uint64_t x)
{
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005u + 1442695040888963407u;
	return x;
}

/* Spins a nanosecond of work takes on this CPU: the fastest of a few timed runs. */
static double spins_per_ns(void)
{
	double best = 0;
	for (int round = 0; round < 5; round++) {
		uint64_t t0 = now_ns();
		sink = work(10000000u, t0);
		double rate = 1e7 / (double)(now_ns() - t0);
		best = rate > best ? rate : best;
	}
	return best;
}

/* The worker's side: RX ring to return ring, as many as wait (up to a burst) and fit,
 * spending work_spins on each. */
static void *worker(void *arg)
{
	pin("handoff", *(int *)arg);
	uint32_t rx_tail = 0, ret_head = 0;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		uint32_t n = __atomic_load_n(&rx->head, __ATOMIC_ACQUIRE) - rx_tail;
		uint32_t room = RING_SIZE - (ret_head - __atomic_load_n(&ret->tail, __ATOMIC_ACQUIRE));
		n = n < room ? n : room;
		n = n < WORKER_BURST ? n : WORKER_BURST;
		uint64_t x = n;
		for (uint32_t i = 0; i < n; i++) {
			x = work(work_spins, x);
			ret->d[(ret_head + i) & MASK] = rx->d[(rx_tail + i) & MASK];
		}
		worker_sink = x;
		ret_head += n;
		rx_tail += n;
		__atomic_store_n(&ret->head, ret_head, __ATOMIC_RELEASE);
		__atomic_store_n(&rx->tail, rx_tail, __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 7) {
		fprintf(stderr, "usage: handoff <poll cpu> <worker cpu> <warmup s> <seconds> [<pps> [<work ns>]]\n");
		return 2;
	}
	int poll_cpu = atoi(argv[1]), worker_cpu = atoi(argv[2]);
	double warmup = atof(argv[3]), seconds = atof(argv[4]);
	if (argc == 7) {
		pin("handoff", worker_cpu);
		work_spins = (uint64_t)(atof(argv[6]) * spins_per_ns() + 0.5);
	}
	rx = ring();
	ret = ring();
	pthread_t thread;
	if (pthread_create(&thread, NULL, worker, &worker_cpu) != 0) {
		perror("handoff: pthread_create");
		return 1;
	}
	pin("handoff", poll_cpu);
	if (argc >= 6) {
		paced(atof(argv[5]), warmup, seconds);
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
		pthread_join(thread, NULL);
		return 0;
	}
	uint32_t rx_head = 0, ret_tail = 0;
	uint64_t back = 0, back_at_start = 0, turns = 0;
	double start = now_s(), measured_from = start + warmup, end = measured_from + seconds, t = start;
	int measuring = 0;
	uint64_t read_back = 0;
	while (t < end) {
		uint32_t room = RING_SIZE - (rx_head - __atomic_load_n(&rx->tail, __ATOMIC_ACQUIRE));
		uint32_t n = room < POLL_BURST ? room : POLL_BURST;
		for (uint32_t i = 0; i < n; i++) {
			struct nv_desc *d = &rx->d[(rx_head + i) & MASK];
			*d = (struct nv_desc){ .pool_off = (rx_head + i) * 2176u, .len = 64, .port = 0, .room = 2048, .verdict = 0 };
		}
		rx_head += n;
		__atomic_store_n(&rx->head, rx_head, __ATOMIC_RELEASE);
		uint32_t m = __atomic_load_n(&ret->head, __ATOMIC_ACQUIRE) - ret_tail;
		m = m < POLL_BURST ? m : POLL_BURST;
		for (uint32_t i = 0; i < m; i++)
			read_back += ret->d[(ret_tail + i) & MASK].pool_off; /* as the poll loop reads it */
		ret_tail += m;
		__atomic_store_n(&ret->tail, ret_tail, __ATOMIC_RELEASE);
		back += m;
		if ((++turns & 1023) == 0) {
			t = now_s();
			if (!measuring && t >= measured_from) {
				measuring = 1;
				back_at_start = back;
				measured_from = t;
			}
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	sink = read_back;
	printf("%.0f\n", (double)(back - back_at_start) / (t - measured_from));
	return 0;
}
