/* The per-packet half of running a chain, for the worker threads: staging NF
 * batch records, checking what each NF wrote back, and writing return
 * descriptors. The worker calls in once per burst per NF (koffi), around its
 * call into the NF (WebAssembly); nothing here is per packet across a
 * boundary. Each chain is used by one worker thread only.
 *
 * NF memory is untrusted: from an NF's records only len and verdict are read,
 * and both are checked. What identifies a packet (pool offset, room) is read
 * from the RX ring, whose slots the chain holds until the burst is done. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_prefetch.h>

#include "internal.h"

#define MAX_BURST 256u
/* Packets whose headers the chain's parse asks for ahead of its own: the
 * headers come from the poll lcore's core, and at 32 ahead the parse still
 * waited for them (12 cycles a packet on the data plane against 6 with the
 * headers here; 9.5 at 64). */
#define PREFETCH_AHEAD 64u

/* Verdicts of ABI v1 and v2 (host/nf/abi.ts, nf-modules/sdk/abi.ts). */
#define VERDICT_NEXT 0u
#define VERDICT_DROP 1u
#define VERDICT_OUT_PORT_TAG 1u /* verdict >> 16 */
#define VERDICT_TO_NF_TAG 2u    /* verdict >> 16: on to the NF at a later chain position */
#define VERDICT_REPARSE 0x80000000u /* v2: the NF changed the headers' layout; parse the packet again */

/* Record sizes: v1 is the descriptor alone; v2 adds the chain's parse (struct nv_meta). */
#define RECORD_V1 16u
#define RECORD_V2 32u

/* Counter layout, in doubles (host/chain/counters.ts). C_HOST_NS: the worker's
 * time in the chain's own work here; N_BUSY_NS: its time on an NF's bursts,
 * from the hand-over to nv_chain_after (the call into the NF, and the messages
 * delivered to it before). */
enum { C_IN, C_OUT, C_DROPPED, C_HOST_NS, C_WORDS };
/* The four N_MSG_* words are written by the worker's JavaScript (host/chain/mailroom.ts). */
enum { N_IN, N_BYTES, N_NEXT, N_OUT, N_DROPPED, N_BAD_VERDICT, N_BAD_LENGTH, N_TRAPPED, N_TRAP_BATCHES, N_HUNG,
       N_FAIL_DROPPED, N_FAIL_PASSED, N_BUSY_NS, N_MSG_SENT, N_MSG_RECEIVED, N_MSG_DROPPED, N_MAILBOX_FULL, N_WORDS };
#define C_COUNTERS_NF(k) (C_WORDS + (k) * N_WORDS)

struct chain {
	struct nv_ring *rx, *ret;
	uint32_t mask;
	uint16_t n_nfs, n_ports;
	uint16_t to_port; /* DPDK port id after the last NF */
	uint16_t port_ids[NV_MAX_PORTS];
	uint8_t *records[NV_MAX_CHAIN_NFS];
	uint32_t record_bytes[NV_MAX_CHAIN_NFS]; /* RECORD_V1 or RECORD_V2 */
	/* A v2 NF that reads the meta in its records; one that says it reads none
	 * (forward, say) gets its records' meta bytes as its memory holds them. */
	bool reads_meta[NV_MAX_CHAIN_NFS];
	bool parse; /* an NF of the chain reads meta: packets are parsed once, at the burst's start */
	/* An isolated NF's private packet area (NULL: it shares the pool): its
	 * burst is copied in, slot j at j * NV_POOL_ELT_SIZE + headroom, as in the
	 * pool, and what it passes on is copied back out. */
	uint8_t *private_area[NV_MAX_CHAIN_NFS];
	uint32_t nf_max_burst[NV_MAX_CHAIN_NFS];
	/* Where each NF reads the clock (netvm_clock, NULL: it has none): the
	 * monotonic ns are written there at the start of every burst, so that
	 * reading the time costs an NF a load, not a call out to JS (whose i64
	 * result would be a BigInt allocated per call). */
	uint64_t *clock[NV_MAX_CHAIN_NFS];
	uint64_t fixed_now; /* the clock of an offline run (nv_chain_set_clock); 0: the host's */
	uint32_t max_burst; /* the least of nf_max_burst and MAX_BURST */
	double *counters;
	uint32_t ret_tail_seen; /* the poll lcore's return tail, as last read */
	/* The burst under way: for each chain position, the burst positions of
	 * the packets waiting for that NF (passed on by NEXT, or sent ahead by a
	 * TO_NF verdict), and whether they are the whole burst in its order. */
	uint32_t first, n, ret_first, emitted;
	uint64_t handed; /* the TSC when the chain last handed the burst to an NF */
	uint16_t running; /* the chain position whose NF has the burst now */
	int ticking;      /* the chain position whose netvm_tick runs now, or -1 */
	uint16_t n_waiting[NV_MAX_CHAIN_NFS];
	bool whole[NV_MAX_CHAIN_NFS];
	uint16_t waiting[NV_MAX_CHAIN_NFS][MAX_BURST];
	/* Each packet as the next NF is to be given it: its RX descriptor with the
	 * length the last NF left it and verdict NEXT, then its parse as the last NF
	 * left it (c->parse), which is the record of a shared v2 NF. A whole burst
	 * is staged for a shared NF that reads the meta in one copy. */
	struct staged {
		struct nv_desc d;
		struct nv_meta m;
	} staged[MAX_BURST];
} __rte_cache_aligned; /* each worker writes its own chains only: none shares a line with another, nor with the poll lcore's state */

static struct chain chains[NV_MAX_LANES];

/* ns a TSC cycle: EAL's measure of the TSC, or without EAL (offline runs, the
 * bench's NF path) one taken here against the monotonic clock over 2 ms. Once
 * a process, by whichever worker first makes a chain. */
static double ns_per_cycle;
static pthread_once_t tsc_measured = PTHREAD_ONCE_INIT;

static uint64_t monotonic_ns(void);

static void measure_tsc(void)
{
	uint64_t hz = rte_get_tsc_hz();
	if (hz != 0) {
		ns_per_cycle = 1e9 / (double)hz;
		return;
	}
	uint64_t ns0 = monotonic_ns(), tsc0 = rte_rdtsc(), ns;
	while ((ns = monotonic_ns()) - ns0 < 2000000)
		;
	ns_per_cycle = (double)(ns - ns0) / (double)(rte_rdtsc() - tsc0);
}

int nv_chain_init(uint16_t id, void *rx_ring, void *ret_ring, uint32_t ring_size, void *counters,
		  uint16_t to_port, const uint16_t *port_ids, uint16_t n_ports)
{
	if (id >= NV_MAX_LANES || n_ports > NV_MAX_PORTS || (ring_size & (ring_size - 1)) != 0)
		return nv_fail(EINVAL, "chain %u: bad arguments", id);
	struct chain *c = &chains[id];
	memset(c, 0, sizeof(*c));
	pthread_once(&tsc_measured, measure_tsc);
	c->rx = rx_ring;
	c->ret = ret_ring;
	c->mask = ring_size - 1;
	c->counters = counters;
	c->to_port = to_port;
	c->n_ports = n_ports;
	memcpy(c->port_ids, port_ids, n_ports * sizeof(*port_ids));
	c->max_burst = MAX_BURST;
	c->ticking = -1;
	return 0;
}

int nv_chain_set_clock(uint16_t id, uint64_t now_ns)
{
	if (id >= NV_MAX_LANES)
		return nv_fail(EINVAL, "chain %u: bad arguments", id);
	chains[id].fixed_now = now_ns;
	return 0;
}

static void update_nfs(struct chain *c)
{
	c->max_burst = MAX_BURST;
	c->parse = false;
	for (uint16_t k = 0; k < c->n_nfs; k++) {
		if (c->nf_max_burst[k] < c->max_burst)
			c->max_burst = c->nf_max_burst[k];
		c->parse |= c->reads_meta[k];
	}
}

static int set_nf(struct chain *c, uint16_t k, void *records, uint32_t record_bytes, int reads_meta,
		  uint32_t max_burst, void *private_area, void *clock)
{
	if (record_bytes != RECORD_V1 && record_bytes != RECORD_V2)
		return nv_fail(EINVAL, "chain: records of %u bytes (ABI v1: %u, v2: %u)", record_bytes, RECORD_V1, RECORD_V2);
	c->records[k] = records;
	c->record_bytes[k] = record_bytes;
	c->reads_meta[k] = record_bytes == RECORD_V2 && reads_meta;
	c->private_area[k] = private_area;
	c->clock[k] = clock;
	c->nf_max_burst[k] = max_burst;
	return 0;
}

/* Bytes of an isolated NF's private area: a burst's worth of pool-sized slots. */
uint32_t nv_private_area_bytes(void)
{
	return MAX_BURST * NV_POOL_ELT_SIZE;
}

/* records: the NF's batch area, as an address in this process, of records of
 * record_bytes (its ABI's); reads_meta: a v2 NF reads the meta (0: it said it
 * reads none, and is not staged any); private_area: nv_private_area_bytes() of its
 * memory for an isolated NF, NULL for a shared one. */
int nv_chain_add_nf(uint16_t id, void *records, uint32_t record_bytes, int reads_meta, uint32_t max_burst,
		    void *private_area, void *clock)
{
	struct chain *c = &chains[id];
	if (id >= NV_MAX_LANES || c->n_nfs == NV_MAX_CHAIN_NFS)
		return nv_fail(EINVAL, "chain %u: at most %d NFs", id, NV_MAX_CHAIN_NFS);
	int ret = set_nf(c, c->n_nfs, records, record_bytes, reads_meta, max_burst, private_area, clock);
	if (ret < 0)
		return ret;
	c->n_nfs++;
	update_nfs(c);
	return c->n_nfs;
}

/* Puts another instance at position k (a hot-swap): between bursts only. */
int nv_chain_set_nf(uint16_t id, uint16_t k, void *records, uint32_t record_bytes, int reads_meta,
		    uint32_t max_burst, void *private_area, void *clock)
{
	if (id >= NV_MAX_LANES || k >= chains[id].n_nfs)
		return nv_fail(EINVAL, "chain %u: no NF at position %u", id, k);
	struct chain *c = &chains[id];
	if (c->n != 0)
		return nv_fail(EBUSY, "chain %u: a burst is under way", id);
	int ret = set_nf(c, k, records, record_bytes, reads_meta, max_burst, private_area, clock);
	update_nfs(c);
	return ret;
}

static inline struct nv_desc *rx_desc(const struct chain *c, uint32_t i)
{
	return &c->rx->d[(c->first + i) & c->mask];
}

static inline void emit_at(struct chain *c, uint32_t pool_off, uint32_t len, uint16_t port)
{
	struct nv_desc *e = &c->ret->d[(c->ret_first + c->emitted++) & c->mask];
	e->pool_off = pool_off;
	e->len = len;
	e->port = port;
}

/* Hands packet i of the burst under way (staged by nv_chain_begin) back to the poll lcore. */
static inline void emit(struct chain *c, uint32_t i, uint32_t len, uint16_t port)
{
	emit_at(c, c->staged[i].d.pool_off, len, port);
}

/* Ends the burst: return descriptors published, RX slots released. */
static void finish(struct chain *c)
{
	__atomic_store_n(&c->ret->head, c->ret_first + c->emitted, __ATOMIC_RELEASE);
	__atomic_store_n(&c->rx->tail, c->first + c->n, __ATOMIC_RELEASE);
	c->n = 0;
}

static void stage(struct chain *c, uint16_t k);

/* The clock of the host's netvm_now_ns. */
static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Opens a burst of the packets waiting in the RX ring: at most `most`, and no
 * more than the return ring has room for. Returns its size (0: none). */
static uint32_t take(struct chain *c, uint32_t most)
{
	uint32_t first = c->rx->tail;
	uint32_t n = __atomic_load_n(&c->rx->head, __ATOMIC_ACQUIRE) - first;
	uint32_t ret_first = c->ret->head;
	uint32_t room = c->mask + 1 - (ret_first - c->ret_tail_seen);

	if (n > room) {
		/* Read the poll lcore's index only when the last reading is not enough. */
		c->ret_tail_seen = __atomic_load_n(&c->ret->tail, __ATOMIC_ACQUIRE);
		room = c->mask + 1 - (ret_first - c->ret_tail_seen);
	}
	n = RTE_MIN(n, RTE_MIN(room, most));
	if (n == 0)
		return 0;
	c->first = first;
	c->n = n;
	c->ret_first = ret_first;
	c->emitted = 0;
	c->counters[C_IN] += n;
	return n;
}

/* The chain's own work from the TSC since to now, when it hands the burst on. */
static inline void host_time(struct chain *c, uint64_t since)
{
	c->handed = rte_rdtsc();
	c->counters[C_HOST_NS] += (double)(c->handed - since) * ns_per_cycle;
}

static uint32_t begin_burst(struct chain *c, uint32_t n);

/* Takes a burst and stages it for the first NF. Returns the burst's size
 * (0: nothing waiting), which is how many packets the first NF is to be called
 * with; a chain without NFs sends them on at once. */
uint32_t nv_chain_begin(uint16_t id)
{
	struct chain *c = &chains[id];
	uint32_t n = take(c, c->max_burst);
	if (n == 0)
		return 0;
	uint64_t t0 = rte_rdtsc();
	n = begin_burst(c, n);
	host_time(c, t0);
	return n;
}

/* The n packets just taken: sent on (no NFs), or parsed and staged for the first NF. */
static uint32_t begin_burst(struct chain *c, uint32_t n)
{
	if (c->n_nfs == 0) {
		for (uint32_t i = 0; i < n; i++)
			emit_at(c, rx_desc(c, i)->pool_off, rx_desc(c, i)->len, c->to_port);
		c->counters[C_OUT] += n;
		finish(c);
		return n;
	}
	/* The clock is read once a burst, and only if an NF reads it. */
	uint64_t now = 0;
	for (uint16_t k = 0; k < c->n_nfs; k++) {
		if (c->clock[k] == NULL)
			continue;
		if (now == 0)
			now = c->fixed_now != 0 ? c->fixed_now : monotonic_ns();
		*c->clock[k] = now;
	}
	memset(c->n_waiting, 0, sizeof(c->n_waiting));
	memset(c->whole, 0, sizeof(c->whole));
	/* The descriptors' lines, written by the poll lcore, all asked for before the first is read. */
	for (uint32_t i = 0; i < n; i += RTE_CACHE_LINE_SIZE / sizeof(struct nv_desc))
		rte_prefetch0(rx_desc(c, i));
	for (uint32_t i = 0; i < n; i++) {
		c->waiting[0][i] = (uint16_t)i;
		c->staged[i].d = *rx_desc(c, i);
		c->staged[i].d.verdict = VERDICT_NEXT;
	}
	c->n_waiting[0] = (uint16_t)n;
	c->whole[0] = true;
	c->running = 0;
	/* Parsed once here for every v2 NF of the chain: this also brings the
	 * headers into the cache for the first NF. */
	if (c->parse) {
		/* The headers were written on the poll lcore's core: fetch them some packets
		 * ahead, and for writing, so that the first NF to write them (router, nat) does
		 * not wait for the poll lcore's copy to be invalidated as well (rte_prefetch0_write,
		 * which DPDK still marks experimental). */
		for (uint32_t i = 0; i < RTE_MIN(n, PREFETCH_AHEAD); i++)
			__builtin_prefetch(nv_pool.base + c->staged[i].d.pool_off, 1, 3);
		for (uint32_t i = 0; i < n; i++) {
			const struct nv_desc *d = &c->staged[i].d;
			const uint8_t *pkt = nv_pool.base + d->pool_off;
			if (i + PREFETCH_AHEAD < n)
				__builtin_prefetch(nv_pool.base + c->staged[i + PREFETCH_AHEAD].d.pool_off, 1, 3);
			if (!nv_parse_common(pkt, d->len, &c->staged[i].m))
				nv_parse_general(pkt, d->len, &c->staged[i].m);
		}
	}
	if (c->private_area[0] != NULL || c->record_bytes[0] == RECORD_V2) {
		stage(c, 0);
		return n;
	}
	/* RX descriptors have the v1 record layout: one or two copies. */
	uint32_t start = c->first & c->mask;
	uint32_t head = RTE_MIN(n, c->mask + 1 - start);
	memcpy(c->records[0], &c->rx->d[start], head * sizeof(struct nv_desc));
	memcpy(c->records[0] + head * sizeof(struct nv_desc), &c->rx->d[0], (n - head) * sizeof(struct nv_desc));
	c->counters[C_COUNTERS_NF(0) + N_IN] += n;
	return n;
}

/* Where slot j of an isolated NF's private area starts (a packet's first byte). */
#define PRIVATE_SLOT_OFF(j) ((uint32_t)(j) * NV_POOL_ELT_SIZE + RTE_PKTMBUF_HEADROOM)

/* Stages the packets waiting for the NF at position k into its records; an
 * isolated NF gets copies in its private area instead of the pool's offsets. */
static void stage(struct chain *c, uint16_t k)
{
	uint8_t *records = c->records[k];
	uint32_t stride = c->record_bytes[k];
	bool meta = c->reads_meta[k];
	uint8_t *private_area = c->private_area[k];
	c->counters[C_COUNTERS_NF(k) + N_IN] += c->n_waiting[k];
	/* The return ring's lines that the burst's descriptors go to were last read
	 * by the poll lcore: fetched for writing while the last NF runs, they are
	 * here when nv_chain_after writes them. (Fetched at the burst's start,
	 * they went back to the poll lcore before they were written.) */
	if (k + 1 == c->n_nfs)
		for (uint32_t i = 0; i < c->n; i += RTE_CACHE_LINE_SIZE / sizeof(struct nv_desc))
			__builtin_prefetch(&c->ret->d[(c->ret_first + i) & c->mask], 1, 3);
	if (private_area == NULL && meta && c->whole[k]) {
		memcpy(records, c->staged, c->n * sizeof(struct staged));
		return;
	}
	for (uint32_t j = 0; j < c->n_waiting[k]; j++) {
		const struct staged *s = &c->staged[c->waiting[k][j]];
		struct nv_desc *rec = (struct nv_desc *)(records + j * stride);
		*rec = s->d;
		if (private_area != NULL) {
			rec->pool_off = PRIVATE_SLOT_OFF(j);
			rec->room = (uint16_t)RTE_MIN(s->d.room, NV_POOL_DATA_ROOM);
			memcpy(private_area + PRIVATE_SLOT_OFF(j), nv_pool.base + s->d.pool_off, s->d.len);
		}
		if (meta)
			memcpy(rec + 1, &s->m, sizeof(struct nv_meta));
	}
}

/* An isolated NF passed packet i (its record j) on: its bytes go back to the pool. */
static inline void copy_out(const struct chain *c, uint16_t k, uint32_t j, const struct nv_desc *d, uint32_t len)
{
	if (c->private_area[k] != NULL)
		memcpy(nv_pool.base + d->pool_off, c->private_area[k] + PRIVATE_SLOT_OFF(j), len);
}

/* After NF k: the next position with packets waiting, staged, as
 * (position << 16) | count; 0 when the burst is done. */
static uint32_t next_nf(struct chain *c, uint16_t k)
{
	for (uint16_t t = k + 1; t < c->n_nfs; t++) {
		if (c->n_waiting[t] == 0)
			continue;
		stage(c, t);
		c->running = t;
		return ((uint32_t)t << 16) | c->n_waiting[t];
	}
	finish(c);
	return 0;
}

static inline void wait_for(struct chain *c, uint16_t t, uint16_t i, uint32_t len)
{
	c->staged[i].d.len = len;
	c->waiting[t][c->n_waiting[t]++] = i;
	c->whole[t] = false;
}

/* How many of an NF's n records, from the first, pass their packet on (NEXT)
 * at the length it was given (not 0), adding those lengths to *bytes. In
 * locals, apart from the chain: its fields would be reloaded after every store
 * that might alias them. */
static inline uint32_t passed_unchanged(const uint8_t *records, uint32_t stride, const uint16_t *waiting,
					const struct staged *staged, uint32_t n, uint64_t *bytes)
{
	uint64_t sum = 0;
	uint32_t j = 0;
	for (; j < n; j++, records += stride) {
		const struct nv_desc *rec = (const struct nv_desc *)records;
		uint32_t len = staged[waiting[j]].d.len;
		if (rec->verdict != VERDICT_NEXT || rec->len != len || len == 0)
			break;
		sum += len;
	}
	*bytes += sum;
	return j;
}

/* Emits the n packets at waiting to port at the lengths they were staged with. */
static void emit_staged(struct chain *c, const uint16_t *waiting, uint32_t n, uint16_t port)
{
	struct nv_desc *ret = c->ret->d;
	uint32_t at = c->ret_first + c->emitted, mask = c->mask;
	const struct staged *staged = c->staged;
	for (uint32_t j = 0; j < n; j++) {
		const struct nv_desc *d = &staged[waiting[j]].d;
		struct nv_desc *e = &ret[(at + j) & mask];
		e->pool_off = d->pool_off;
		e->len = d->len;
		e->port = port;
	}
	c->emitted += n;
}

/* Captures the packets that joined position t's waiting list from `from` on (the link into t). */
static void capture_passed(struct chain *c, struct nv_capture_point *cap, uint16_t t, uint16_t from)
{
	const uint8_t *data[MAX_BURST];
	uint32_t len[MAX_BURST];
	uint32_t n = 0;
	for (uint16_t j = from; j < c->n_waiting[t]; j++) {
		uint16_t i = c->waiting[t][j];
		data[n] = nv_pool.base + c->staged[i].d.pool_off;
		len[n++] = c->staged[i].d.len;
	}
	nv_capture_burst(cap, data, len, n);
}

static uint32_t check_nf(struct chain *c, uint16_t id, uint16_t k, int status);

/* After NF k ran (or trapped, or was not called: see enum nv_nf_status),
 * checks its records, emits what left the chain, and queues the rest for
 * later NFs. Returns which NF runs next and with how many packets, as
 * (position << 16) | count; 0 ends the burst. */
uint32_t nv_chain_after(uint16_t id, uint16_t k, int status)
{
	struct chain *c = &chains[id];
	uint64_t t0 = rte_rdtsc();
	c->counters[C_COUNTERS_NF(k) + N_BUSY_NS] += (double)(t0 - c->handed) * ns_per_cycle;
	uint32_t next = check_nf(c, id, k, status);
	host_time(c, t0);
	return next;
}

/* nv_chain_after's work, untimed. */
static uint32_t check_nf(struct chain *c, uint16_t id, uint16_t k, int status)
{
	double *nc = &c->counters[C_COUNTERS_NF(k)];
	const uint8_t *records = c->records[k];
	uint32_t stride = c->record_bytes[k];
	const uint16_t *waiting = c->waiting[k];
	uint32_t n = c->n_waiting[k];
	int last = k + 1 == c->n_nfs;
	/* An isolated NF's slots hold a data room at most, whatever the mbuf has. */
	uint32_t room_cap = c->private_area[k] != NULL ? NV_POOL_DATA_ROOM : UINT32_MAX;
	uint32_t kept = 0, out = 0, dropped = 0, bad_length = 0, bad_verdict = 0;
	uint64_t bytes = 0;
	/* What this NF passes to the next joins the next one's waiting list from here. */
	uint16_t passed_from = last ? 0 : c->n_waiting[k + 1];

	if (status == NV_NF_TRAPPED || status == NV_NF_FAILED_CLOSED) {
		for (uint32_t j = 0; j < n; j++)
			emit(c, waiting[j], c->staged[waiting[j]].d.len, NV_PORT_DROP);
		if (status == NV_NF_TRAPPED) {
			nc[N_TRAPPED] += n;
			nc[N_TRAP_BATCHES] += 1;
		} else {
			nc[N_FAIL_DROPPED] += n;
		}
		c->counters[C_DROPPED] += n;
		return next_nf(c, k);
	}
	/* Failed open: the packets go on as they came, whatever is in the NF's
	 * records or private area (a guest that gave up late may still write there). */
	if (status == NV_NF_FAILED_OPEN) {
		for (uint32_t j = 0; j < n; j++) {
			uint16_t i = waiting[j];
			uint32_t len = c->staged[i].d.len;
			if (last)
				emit(c, i, len, c->to_port);
			else
				wait_for(c, k + 1, i, len);
		}
		nc[N_FAIL_PASSED] += n;
		c->counters[C_OUT] += last ? n : 0;
		return next_nf(c, k);
	}
	uint32_t j = 0;
	/* The common case first, in loops of their own: a shared NF passed the
	 * packet on (NEXT) at the length it was given, so there is nothing more
	 * to check (that length was checked when it was set) and nothing to parse
	 * again. The first packet that is anything else goes to the general loop. */
	if (c->private_area[k] == NULL && last) {
		j = passed_unchanged(records, stride, waiting, c->staged, n, &bytes);
		emit_staged(c, waiting, j, c->to_port);
		kept = j;
	} else if (c->private_area[k] == NULL) {
		j = passed_unchanged(records, stride, waiting, c->staged, n, &bytes);
		memcpy(&c->waiting[k + 1][c->n_waiting[k + 1]], waiting, j * sizeof(*waiting));
		/* The whole burst, in order, when the NF passed it all on to a next one that had none yet. */
		c->whole[k + 1] = c->whole[k] && j == n && c->n_waiting[k + 1] == 0;
		c->n_waiting[k + 1] += (uint16_t)j;
		kept = j;
	}
	for (; j < n; j++) {
		uint16_t i = waiting[j];
		const struct nv_desc *d = &c->staged[i].d; /* the length as the NF was given it */
		const struct nv_desc *rec = (const struct nv_desc *)(records + j * stride);
		uint32_t len = rec->len;
		uint32_t verdict = rec->verdict;
		/* A packet whose length or (says a v2 NF) headers changed is parsed again before the next NF. */
		bool reparse = stride == RECORD_V2 && (verdict & VERDICT_REPARSE);
		verdict &= reparse ? ~VERDICT_REPARSE : ~0u;
		reparse = c->parse && (reparse || len != d->len);

		if (unlikely(len == 0 || len > RTE_MIN((uint32_t)d->room, room_cap))) {
			bad_length++;
			emit(c, i, d->len, NV_PORT_DROP);
		} else if (likely(verdict == VERDICT_NEXT)) {
			copy_out(c, k, j, d, len);
			if (unlikely(reparse))
				nv_parse(nv_pool.base + d->pool_off, len, &c->staged[i].m);
			bytes += len;
			if (last)
				emit(c, i, len, c->to_port);
			else
				wait_for(c, k + 1, i, len);
			kept++;
		} else if ((verdict >> 16) == VERDICT_TO_NF_TAG && (verdict & 0xffff) > k &&
			   (verdict & 0xffff) < c->n_nfs) {
			copy_out(c, k, j, d, len);
			if (unlikely(reparse))
				nv_parse(nv_pool.base + d->pool_off, len, &c->staged[i].m);
			bytes += len;
			wait_for(c, (uint16_t)(verdict & 0xffff), i, len);
			kept++;
		} else if (verdict == VERDICT_DROP) {
			dropped++;
			emit(c, i, d->len, NV_PORT_DROP);
		} else if ((verdict >> 16) == VERDICT_OUT_PORT_TAG && (verdict & 0xffff) < c->n_ports) {
			copy_out(c, k, j, d, len);
			bytes += len;
			out++;
			emit(c, i, len, c->port_ids[verdict & 0xffff]);
		} else {
			bad_verdict++;
			emit(c, i, d->len, NV_PORT_DROP);
		}
	}
	struct nv_capture_point *cap = last ? NULL : __atomic_load_n(&nv_capture_link[id][k], __ATOMIC_ACQUIRE);
	if (unlikely(cap != NULL))
		capture_passed(c, cap, k + 1, passed_from);
	nc[N_BYTES] += (double)bytes;
	nc[N_NEXT] += kept;
	nc[N_OUT] += out;
	nc[N_DROPPED] += dropped;
	nc[N_BAD_LENGTH] += bad_length;
	nc[N_BAD_VERDICT] += bad_verdict;
	c->counters[C_OUT] += out + (last ? kept : 0);
	c->counters[C_DROPPED] += dropped + bad_length + bad_verdict;
	return next_nf(c, k);
}

/* The chain position whose NF has the burst under way, or whose tick runs
 * between bursts; -1 when none does (read by the watchdog from another
 * thread: a hint, not a lock). */
int nv_chain_running(uint16_t id)
{
	if (id >= NV_MAX_LANES)
		return -1;
	const struct chain *c = &chains[id];
	return __atomic_load_n(&c->n, __ATOMIC_RELAXED) == 0 ? __atomic_load_n(&c->ticking, __ATOMIC_RELAXED) : c->running;
}

/* Says that the NF at position k runs its tick now (-1: no tick runs). */
int nv_chain_ticking(uint16_t id, int k)
{
	if (id >= NV_MAX_LANES || k < -1 || k >= chains[id].n_nfs)
		return nv_fail(EINVAL, "chain %u: no NF at position %d", id, k);
	__atomic_store_n(&chains[id].ticking, k, __ATOMIC_RELAXED);
	return 0;
}

/* Ends the burst under way of a chain whose worker was stopped in the middle
 * of it (an NF that did not return): every packet of the burst not yet sent
 * on is dropped, and counted as hung on the NF that held the burst. Called
 * from another thread once that worker is gone; returns how many it dropped. */
uint32_t nv_chain_abort(uint16_t id)
{
	if (id >= NV_MAX_LANES)
		return 0;
	struct chain *c = &chains[id];
	if (c->n == 0)
		return 0;
	uint32_t dropped = 0;
	for (uint16_t t = c->running; t < c->n_nfs; t++) {
		for (uint32_t j = 0; j < c->n_waiting[t]; j++)
			emit(c, c->waiting[t][j], c->staged[c->waiting[t][j]].d.len, NV_PORT_DROP);
		dropped += c->n_waiting[t];
		c->n_waiting[t] = 0;
	}
	c->counters[C_COUNTERS_NF(c->running) + N_HUNG] += dropped;
	c->counters[C_DROPPED] += dropped;
	finish(c);
	return dropped;
}

/* Drops what still waits in the RX ring of a chain whose worker is gone for
 * good (terminated as the run stopped, after nv_chain_abort): as much as the
 * return ring has room for, counted as the chain's in and dropped (no NF saw
 * it). Returns how many are not back with the poll loop yet (still waiting, or
 * in the return ring): call again, as it takes the returns, until 0. */
uint32_t nv_chain_discard(uint16_t id)
{
	if (id >= NV_MAX_LANES || chains[id].n != 0)
		return 0;
	struct chain *c = &chains[id];
	uint32_t n = take(c, UINT32_MAX);
	for (uint32_t i = 0; i < n; i++)
		emit_at(c, rx_desc(c, i)->pool_off, rx_desc(c, i)->len, NV_PORT_DROP);
	c->counters[C_DROPPED] += n;
	if (n != 0)
		finish(c);
	return __atomic_load_n(&c->rx->head, __ATOMIC_ACQUIRE) - c->rx->tail +
	       c->ret->head - __atomic_load_n(&c->ret->tail, __ATOMIC_ACQUIRE);
}
