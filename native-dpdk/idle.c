/* Adaptive polling: what the data plane does when no packet comes.
 *
 * The poll lcore naps between turns once nothing has come in or back, and
 * nothing is out with a worker, for IDLE_AFTER_US: NAP_MIN_NS at first,
 * doubling up to the configured longest; a packet ends it. Most virtual
 * devices raise no RX interrupt, so a nap's length is what the first packet
 * after a quiet spell may wait, and each wake-up costs the core a little: the
 * longest nap trades one for the other. When every input port has RX
 * interrupts (net_tap: port.c), the poll lcore sleeps on them instead (as
 * DPDK's l3fwd-power does), woken by the first packet.
 *
 * A worker sleeps on its doorbell (a futex in a SharedArrayBuffer) once its
 * rings have been empty for a while; the poll lcore rings it when it hands one
 * of the worker's lanes packets, the main thread when it sends a command or
 * stops the run. The worker stores `sleeping` then looks at its rings (with a
 * full fence between); the poll lcore publishes a ring's head then loads
 * `sleeping`, without a fence on that path (a fence per burst cost [forward] 8%:
 * it waits for the burst's descriptor stores). So a worker going to sleep just
 * as a burst is handed over can miss it; the poll loop's sweep (with a fence)
 * finds such a worker within SWEEP_TURNS turns, or at once when a turn finds no
 * work. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "internal.h"

#define IDLE_AFTER_US 1000u
#define NAP_MIN_NS 10000u
#define SWEEP_TURNS 64u
/* Sleeping on RX interrupts: woken by a packet, and at least this often (to
 * follow a steering change, a drain or a stop the main thread waits for). */
#define INTR_WAIT_MS 10

/* The poll lcore's, read or written every turn: a line of its own (the
 * neighbouring .bss is the workers' chains). */
static struct {
	uint32_t nap_max_ns; /* 0: busy polling, never a nap */
	uint32_t nap_ns;
	uint32_t turns;
	uint64_t idle_since; /* TSC of the first idle turn of a quiet spell, 0 when busy */
} __rte_cache_aligned idle = { .nap_ns = NAP_MIN_NS };

int nv_poll_idle(uint32_t max_nap_us)
{
	if (max_nap_us > 1000000u)
		return nv_fail(EINVAL, "a poll nap of %u us is over a second", max_nap_us);
	idle.nap_max_ns = max_nap_us * 1000u;
	return 0;
}

void nv_idle_start(void)
{
	/* Naps as long as asked: not the default 50 us of timer slack on top. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	idle.idle_since = 0;
	idle.nap_ns = NAP_MIN_NS;
}

void nv_idle_turn(uint32_t work)
{
	if (idle.nap_max_ns == 0)
		return;
	if (work == 0 || ++idle.turns % SWEEP_TURNS == 0)
		nv_wake_missed();
	if (work != 0 || nv_poll_in_flight() != 0) {
		if (idle.idle_since != 0) { /* written only when it changes: the line stays shared-clean */
			idle.idle_since = 0;
			idle.nap_ns = NAP_MIN_NS;
		}
		return;
	}
	uint64_t now = rte_get_tsc_cycles();
	if (idle.idle_since == 0) {
		idle.idle_since = now;
		return;
	}
	if (now - idle.idle_since < IDLE_AFTER_US * (rte_get_tsc_hz() / 1000000u))
		return;
	int woken = nv_rx_intr_wait(INTR_WAIT_MS);
	if (woken > 0) {
		/* Polled for a while before the next sleep: a device may raise the
		 * interrupt before its RX burst sees the packet (net_tap's burst
		 * waits for the SIGIO the same packet sends), and the interrupt is
		 * an edge that will not come again for it. */
		idle.idle_since = now;
		return;
	}
	if (woken == 0)
		return;
	struct timespec nap = { 0, (long)RTE_MIN(idle.nap_ns, idle.nap_max_ns) };
	nanosleep(&nap, NULL);
	if (idle.nap_ns < idle.nap_max_ns)
		idle.nap_ns *= 2;
}

int nv_doorbell_ring(struct nv_doorbell *bell)
{
	__atomic_add_fetch(&bell->seq, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &bell->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	return 0;
}

void nv_doorbell_wake(struct nv_doorbell *bell)
{
	if (__atomic_load_n(&bell->sleeping, __ATOMIC_RELAXED) && __atomic_exchange_n(&bell->sleeping, 0, __ATOMIC_SEQ_CST))
		nv_doorbell_ring(bell);
}

int nv_worker_sleep(struct nv_doorbell *bell, uint32_t seen, uint32_t timeout_us)
{
	struct timespec t = { timeout_us / 1000000u, (long)(timeout_us % 1000000u) * 1000 };
	if (syscall(SYS_futex, &bell->seq, FUTEX_WAIT_PRIVATE, seen, &t, NULL, 0) < 0 && errno != EAGAIN &&
	    errno != ETIMEDOUT && errno != EINTR)
		return nv_fail(errno, "futex wait: %s", strerror(errno));
	return 0;
}
