/* Packet capture at a hop: a port's input (what the poll loop received), its
 * output (what it handed the device), or the link from one NF of a chain to
 * the next (what the first passed on, on one lane). A capture point copies
 * each packet there (up to its snaplen, and only if its BPF filter matches)
 * into a ring of its own that the main thread drains into a pcap file.
 *
 * A point's only producer is the thread that owns its hop (the poll lcore for
 * ports, a lane's worker for NF links), so its ring is single-producer; the
 * ring never blocks it: a packet that finds the ring full is counted as missed,
 * never held. With no capture on, a hop costs one load of a NULL pointer per
 * burst. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

#include "internal.h"

struct nv_capture_point {
	struct nv_capture_ring *ring;
	uint32_t slot_bytes; /* NV_CAPTURE_SLOT_HDR + snaplen */
	uint32_t snaplen;
	struct bpf_program filter; /* no instructions: every packet */
	uint64_t missed;
};

#define MAX_POINTS 8
static struct nv_capture_point points[MAX_POINTS];
static uint32_t points_used; /* bit i: points[i] is attached */

struct nv_capture_point *nv_capture_rx[RTE_MAX_ETHPORTS];
struct nv_capture_point *nv_capture_tx[RTE_MAX_ETHPORTS];
struct nv_capture_point *nv_capture_link[NV_MAX_LANES][NV_MAX_CHAIN_NFS];

static struct nv_capture_point **hop_of(int kind, uint16_t a, uint16_t b)
{
	switch (kind) {
	case NV_CAPTURE_RX:
		return a < RTE_MAX_ETHPORTS ? &nv_capture_rx[a] : NULL;
	case NV_CAPTURE_TX:
		return a < RTE_MAX_ETHPORTS ? &nv_capture_tx[a] : NULL;
	case NV_CAPTURE_LINK:
		return a < NV_MAX_LANES && b < NV_MAX_CHAIN_NFS ? &nv_capture_link[a][b] : NULL;
	}
	return NULL;
}

/* Starts capturing at a hop (kind, a, b: a port id, or a lane and the chain
 * position whose NF's passed-on packets are taken) into ring (ring_bytes, slots
 * of NV_CAPTURE_SLOT_HDR + snaplen bytes), keeping only what filter (a pcap
 * filter expression, "" for all) matches. Returns the point's id. */
int nv_capture_attach(int kind, uint16_t a, uint16_t b, void *ring, uint32_t ring_bytes, uint32_t snaplen, const char *filter)
{
	struct nv_capture_point **hop = hop_of(kind, a, b);
	if (hop == NULL)
		return nv_fail(EINVAL, "capture: no hop %d/%u/%u", kind, a, b);
	if (*hop != NULL)
		return nv_fail(EBUSY, "capture: that hop is being captured already");
	if (snaplen == 0 || snaplen > NV_POOL_DATA_ROOM)
		return nv_fail(EINVAL, "capture: snaplen must be from 1 to %u", NV_POOL_DATA_ROOM);
	uint32_t slot_bytes = RTE_ALIGN_CEIL(NV_CAPTURE_SLOT_HDR + snaplen, 8);
	uint32_t slots = ring_bytes <= sizeof(struct nv_capture_ring) ? 0 : (ring_bytes - sizeof(struct nv_capture_ring)) / slot_bytes;
	if (slots == 0 || (slots & (slots - 1)) != 0)
		return nv_fail(EINVAL, "capture: the ring must hold a power of two of slots, not %u", slots);
	int id = 0;
	while (id < MAX_POINTS && (points_used & (1u << id)))
		id++;
	if (id == MAX_POINTS)
		return nv_fail(ENOSPC, "capture: at most %d at once", MAX_POINTS);
	struct nv_capture_point *p = &points[id];
	memset(p, 0, sizeof(*p));
	if (filter[0] != '\0') {
		pcap_t *dead = pcap_open_dead(DLT_EN10MB, (int)snaplen);
		if (dead == NULL)
			return nv_fail(ENOMEM, "capture: pcap_open_dead failed");
		int bad = pcap_compile(dead, &p->filter, filter, 1, PCAP_NETMASK_UNKNOWN);
		if (bad)
			nv_fail(EINVAL, "capture: --filter '%s': %s", filter, pcap_geterr(dead));
		pcap_close(dead);
		if (bad)
			return -EINVAL;
	}
	p->ring = ring;
	p->ring->mask = slots - 1;
	p->ring->slot_bytes = slot_bytes;
	p->slot_bytes = slot_bytes;
	p->snaplen = snaplen;
	points_used |= 1u << id;
	__atomic_store_n(hop, p, __ATOMIC_RELEASE);
	return id;
}

/* Stops a capture; once the hop's thread has turned (nv_poll_sync, or a worker
 * between bursts), nothing writes into its ring. Returns the packets it missed. */
int64_t nv_capture_detach(int kind, uint16_t a, uint16_t b)
{
	struct nv_capture_point **hop = hop_of(kind, a, b);
	if (hop == NULL || *hop == NULL)
		return nv_fail(EINVAL, "capture: nothing is captured at that hop");
	struct nv_capture_point *p = *hop;
	__atomic_store_n(hop, NULL, __ATOMIC_RELEASE);
	return (int64_t)__atomic_load_n(&p->missed, __ATOMIC_RELAXED);
}

/* Frees a detached point's filter and slot, once its producer is out of it. */
int nv_capture_release(int id)
{
	if (id < 0 || id >= MAX_POINTS || !(points_used & (1u << id)))
		return nv_fail(EINVAL, "capture: no point %d", id);
	pcap_freecode(&points[id].filter);
	points_used &= ~(1u << id);
	return 0;
}

uint64_t nv_capture_missed(int id)
{
	return id >= 0 && id < MAX_POINTS ? __atomic_load_n(&points[id].missed, __ATOMIC_RELAXED) : 0;
}

void nv_capture_mbufs(struct nv_capture_point *p, struct rte_mbuf *const *m, uint32_t n)
{
	const uint8_t *data[32];
	uint32_t len[32];
	for (uint32_t i = 0; i < n; i += 32) {
		uint32_t k = RTE_MIN(n - i, 32u);
		for (uint32_t j = 0; j < k; j++) {
			data[j] = rte_pktmbuf_mtod(m[i + j], const uint8_t *);
			len[j] = m[i + j]->data_len;
		}
		nv_capture_burst(p, data, len, k);
	}
}

/* Copies the packets of a burst that the filter keeps (burst-wide: one clock read). */
void nv_capture_burst(struct nv_capture_point *p, const uint8_t *const *data, const uint32_t *len, uint32_t n)
{
	struct nv_capture_ring *r = p->ring;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	uint32_t head = r->head;
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	uint32_t missed = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t cap = RTE_MIN(len[i], p->snaplen);
		if (p->filter.bf_insns != NULL && bpf_filter(p->filter.bf_insns, data[i], len[i], cap) == 0)
			continue;
		if (head - tail > r->mask) {
			missed++;
			continue;
		}
		struct nv_capture_slot *s = (struct nv_capture_slot *)((uint8_t *)r->slots + (size_t)(head & r->mask) * p->slot_bytes);
		s->ts_ns = ns;
		s->orig_len = len[i];
		s->cap_len = cap;
		memcpy(s->data, data[i], cap);
		head++;
	}
	__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	if (missed)
		__atomic_store_n(&p->missed, p->missed + missed, __ATOMIC_RELAXED);
}
