/* The handoff baseline: what it costs two cores to pass descriptors to each
 * other and back through NetVM's rings (struct nv_ring, 16-byte nv_desc) and
 * nothing else: no port, no packet bytes, no NF. One thread, on the poll
 * lcore's CPU, writes bursts of 32 descriptors into an RX ring and takes
 * back what comes out of the return ring, as the poll loop does; the other,
 * on the worker's CPU, moves up to 256 at a time from one to the other, as a
 * chain without NFs does. Every packet of the data plane crosses these two
 * rings, so their rate bounds any point whose packets go to a worker.
 *
 * usage: handoff <poll cpu> <worker cpu> <warmup s> <seconds>
 * prints the descriptors per second that came back, measured after warmup. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "netvm_dp.h"

#define RING_SIZE 4096u
#define MASK (RING_SIZE - 1)
#define POLL_BURST 32u
#define WORKER_BURST 256u

static struct nv_ring *rx, *ret;
static int stop;
static volatile uint64_t sink; /* what the poll side read back, so that its loads stay */

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

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err != 0) {
		fprintf(stderr, "handoff: cannot pin to CPU %d\n", cpu);
		exit(1);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The worker's side: RX ring to return ring, as many as wait (up to a burst) and fit. */
static void *worker(void *arg)
{
	pin(*(int *)arg);
	uint32_t rx_tail = 0, ret_head = 0;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		uint32_t n = __atomic_load_n(&rx->head, __ATOMIC_ACQUIRE) - rx_tail;
		uint32_t room = RING_SIZE - (ret_head - __atomic_load_n(&ret->tail, __ATOMIC_ACQUIRE));
		n = n < room ? n : room;
		n = n < WORKER_BURST ? n : WORKER_BURST;
		for (uint32_t i = 0; i < n; i++)
			ret->d[(ret_head + i) & MASK] = rx->d[(rx_tail + i) & MASK];
		ret_head += n;
		rx_tail += n;
		__atomic_store_n(&ret->head, ret_head, __ATOMIC_RELEASE);
		__atomic_store_n(&rx->tail, rx_tail, __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: handoff <poll cpu> <worker cpu> <warmup s> <seconds>\n");
		return 2;
	}
	int poll_cpu = atoi(argv[1]), worker_cpu = atoi(argv[2]);
	double warmup = atof(argv[3]), seconds = atof(argv[4]);
	rx = ring();
	ret = ring();
	pthread_t thread;
	if (pthread_create(&thread, NULL, worker, &worker_cpu) != 0) {
		perror("handoff: pthread_create");
		return 1;
	}
	pin(poll_cpu);
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
