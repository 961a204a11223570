/* How long a cache line takes to go from one CPU to another and back: the
 * cost every packet that goes to a worker pays (its descriptors and headers
 * are written on the poll lcore's CPU and read on the worker's, and back).
 * On a virtual machine it is where the host put the two vCPUs, which it may
 * change from one minute to the next: on this project's machine kind it has
 * been seen at 100-190 ns in some minutes and 430-520 ns in others. The bench
 * takes it before each sample of a point that uses both CPUs.
 *
 * usage: crosscore <cpu a> <cpu b>
 * prints the round trip in ns: the median of CHUNKS chunks of ROUND_TRIPS. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pin.h"

#define CHUNKS 5
#define ROUND_TRIPS 10000

/* Odd: cpu a has written and waits; even: cpu b has answered. */
static _Alignas(64) volatile uint64_t line;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Cpu b's side: answers each odd value with the next even one. */
static void *answer(void *arg)
{
	pin("crosscore", *(int *)arg);
	for (uint64_t i = 1; i <= (uint64_t)CHUNKS * ROUND_TRIPS; i++) {
		while (line != 2 * i - 1)
			;
		line = 2 * i;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: crosscore <cpu a> <cpu b>\n");
		return 2;
	}
	int a = atoi(argv[1]), b = atoi(argv[2]);
	pthread_t t;
	if (pthread_create(&t, NULL, answer, &b) != 0) {
		perror("crosscore: pthread_create");
		return 1;
	}
	pin("crosscore", a);
	double chunk[CHUNKS];
	uint64_t i = 1;
	for (int c = 0; c < CHUNKS; c++) {
		double t0 = now_ns();
		for (int r = 0; r < ROUND_TRIPS; r++, i++) {
			line = 2 * i - 1;
			while (line != 2 * i)
				;
		}
		chunk[c] = (now_ns() - t0) / ROUND_TRIPS;
	}
	pthread_join(t, NULL);
	qsort(chunk, CHUNKS, sizeof(*chunk), by_value);
	printf("%.1f\n", chunk[CHUNKS / 2]);
	return 0;
}
