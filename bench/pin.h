/* Pins the calling thread to one CPU, or exits saying which program could not:
 * for the bench's small C programs (handoff.c, crosscore.c), each built alone. */
#ifndef BENCH_PIN_H
#define BENCH_PIN_H

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static void pin(const char *program, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err != 0) {
		fprintf(stderr, "%s: cannot pin to CPU %d (error %d)\n", program, cpu, err);
		exit(1);
	}
}

#endif
