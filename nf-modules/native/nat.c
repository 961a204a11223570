/* nat in C: the same logic and metrics as nf-modules/nat (NAPT for IPv4; read
 * its header for the behaviour), for the bench's Wasm-vs-C points. No state
 * handover (native NFs have none): imported_mappings and import_skipped are
 * defined, as the Wasm NF defines them, and stay 0.
 *
 * The flow table behaves as the SDK's FlowTable (nf-modules/sdk/flow-table.ts)
 * does for the NAT: capacity rounded up to a power of two (at most 2^23), the
 * same seeded key hash, open addressing over 2 * capacity buckets of
 * (hash << 32 | slot + 1) with linear probing and backward-shift deletion,
 * slots handed out in the same order (the most recently freed first, then the
 * never used ones in order), the same incremental sweep (SWEEP_BUDGET slots a
 * burst, in slot order, from where the last stopped), the same reclaim when
 * full (the first expired flow on the new key's probe path, else a sweep of
 * RECLAIM_SWEEP slots), the same freed-slot ring, and as there the NAT's
 * fields beside the key (inside and far endpoints, protocol) in the slot's
 * record, so a hit costs its bucket and its record, and which slots are in
 * use in a dense bitmap (a bit a slot), so the sweep reads 32 bytes for its
 * 256 slots, and a record only for the slots in use (their last seen). What
 * differs: the record is 32 bytes, two a cache line (FlowTable's is a line,
 * for keys of up to 40 bytes); the tables of 2 MiB or more are in huge pages
 * faulted in at start; and a burst's buckets are prefetched together before
 * its packets are handled (prefetch_burst; Wasm has no prefetch). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "netvm_native.h"
#include "../sdk-c/netvm_parse.h"

const char NF_METRIC_NAMES[] = "translated_out,translated_in,new_mappings,expired_mappings,closed_mappings,no_mapping,"
			       "port_exhausted,table_full,untranslatable,imported_mappings,import_skipped,mappings:gauge";
enum {
	M_TRANSLATED_OUT,
	M_TRANSLATED_IN,
	M_NEW_MAPPINGS,
	M_EXPIRED_MAPPINGS,
	M_CLOSED_MAPPINGS,
	M_NO_MAPPING,
	M_PORT_EXHAUSTED,
	M_TABLE_FULL,
	M_UNTRANSLATABLE,
	M_IMPORTED_MAPPINGS,
	M_IMPORT_SKIPPED,
	M_MAPPINGS,
};

#define CLOSING_TIMEOUT_S 10.0
#define SWEEP_BUDGET 256u
#define RECLAIM_SWEEP 16u
#define FLOW_TABLE_MAX_CAPACITY (1u << 23)
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

/* Protocol index of the per-protocol port pools. */
enum { PI_TCP, PI_UDP, PI_ICMP, N_PROTOS };
#define BITMAP_WORDS (65536 / 64)

/* A flow-table slot: its key (the flow), last seen, the key's hash, and the
 * NAT's fields. meta: the protocol index (bits 2-3) and the FIN bits (0-1: 1
 * out, 2 in). Whether the slot holds a flow is its bit in the table's `used`
 * bitmap. While free, `last` holds the free list's link (next free slot + 1). */
struct flow {
	uint64_t k0; /* inside address | far address << 32 (host order) */
	uint64_t k1; /* inside port (ICMP: identifier) | far port << 16 | IP protocol << 32 */
	uint64_t last;
	uint32_t hash;
	uint16_t pub_port;
	uint8_t pub_idx; /* the public address, as its number in the pool */
	uint8_t meta;
};
_Static_assert(sizeof(struct flow) == 32, "two records a cache line");

#define META_FIN 0x03u
#define META_PI_SHIFT 2

#define TAG_MASK 0xffffffff00000000ull

struct nat {
	struct netvm_env env;
	uint32_t inside_net, inside_mask; /* host order */
	uint32_t public_base, public_count;
	uint32_t port_lo, port_hi;
	uint64_t timeout_ns, closing_ns;
	uint64_t seed;

	/* The flow table. */
	uint32_t capacity;
	uint32_t bucket_mask;
	uint32_t size;
	uint32_t free_head; /* freed slots, a stack: slot + 1, 0 when empty */
	uint32_t fresh;     /* the first slot never used */
	uint32_t sweep;     /* the next slot the sweep examines */
	uint64_t *buckets;
	struct flow *flows;
	uint64_t *used; /* a bit a slot: set while it holds a flow */
	size_t buckets_bytes, flows_bytes, used_bytes;
	uint32_t *ring;
	uint32_t ring_size, ring_mask, ring_head, ring_tail;

	/* The port pools (public address number * N_PROTOS + protocol index):
	 * free ports (bit set = free), slot + 1 by port, cursor, free count. */
	uint32_t pools;
	uint64_t *free_bits;
	uint32_t *port_slot;
	size_t port_slot_bytes;
	uint32_t *cursor;
	uint32_t *free_count;
};

/* ---- checksums (RFC 1624) ------------------------------------------------------------------ */

static inline uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value)
{
	uint32_t sum = (uint32_t)(uint16_t)~checksum + (uint16_t)~(old_value >> 16) + (uint16_t)~old_value + (new_value >> 16) +
		       (new_value & 0xffff);
	return (uint16_t)~netvm_fold16(sum);
}

/* Rewrites the address at ip + addr_off and the port (identifier) at l4 +
 * port_off, updating the IPv4 header and L4 checksums incrementally. */
static inline void rewrite(uint8_t *ip, uint8_t *l4, uint8_t proto, unsigned addr_off, uint32_t new_addr, unsigned port_off,
			   uint16_t new_port)
{
	const uint32_t old_addr = netvm_be32(ip + addr_off);
	const uint16_t old_port = netvm_be16(l4 + port_off);
	netvm_put_be32(ip + addr_off, new_addr);
	netvm_put_be16(ip + 10, checksum_update32(netvm_be16(ip + 10), old_addr, new_addr));
	netvm_put_be16(l4 + port_off, new_port);
	uint8_t *field = l4 + (proto == NETVM_IPPROTO_TCP ? 16 : proto == NETVM_IPPROTO_UDP ? 6 : 2);
	uint16_t c = netvm_be16(field);
	if (proto == NETVM_IPPROTO_UDP && c == 0)
		return; /* no checksum: stays none */
	if (proto != NETVM_IPPROTO_ICMP)
		c = checksum_update32(c, old_addr, new_addr); /* pseudo-header */
	c = netvm_checksum_update16(c, old_port, new_port);
	if (proto == NETVM_IPPROTO_UDP && c == 0)
		c = 0xffff;
	netvm_put_be16(field, c);
}

/* ---- the flow table ------------------------------------------------------------------------ */

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full

/* The SDK's hashKey16 of the NAT's key (k0, k1). */
static inline uint32_t hash_key(uint64_t k0, uint64_t k1, uint64_t seed)
{
	uint64_t a = (k0 ^ seed) * K1;
	uint64_t b = (k1 ^ seed ^ 0x27d4eb2f165667c5ull) * K2;
	uint64_t h = a ^ rotl64(b, 32);
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	return (uint32_t)(h ^ (h >> 32));
}

static inline bool expired(uint64_t now, uint64_t seen, uint64_t timeout)
{
	return now > seen && now - seen > timeout;
}

static inline bool ring_full(const struct nat *t)
{
	return t->ring_tail - t->ring_head == t->ring_size;
}

/* The bucket pointing at a slot in use. */
static inline uint32_t bucket_of_slot(const struct nat *t, uint32_t slot)
{
	const uint64_t want = (uint64_t)slot + 1;
	uint32_t i = t->flows[slot].hash & t->bucket_mask;
	while ((t->buckets[i] & 0xffffffffu) != want)
		i = (i + 1) & t->bucket_mask;
	return i;
}

/* Backward-shift deletion of bucket i. */
static inline void delete_bucket(struct nat *t, uint32_t i)
{
	uint64_t *buckets = t->buckets;
	const uint32_t mask = t->bucket_mask;
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		const uint64_t b = buckets[j];
		if (b == 0)
			break;
		const uint32_t home = (uint32_t)(b >> 32) & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			buckets[i] = b;
			i = j;
		}
	}
	buckets[i] = 0;
}

static inline void free_slot(struct nat *t, uint32_t s)
{
	t->used[s >> 6] &= ~(1ull << (s & 63));
	t->flows[s].last = t->free_head;
	t->free_head = s + 1;
	t->size--;
}

static inline void push_freed(struct nat *t, uint32_t s)
{
	t->ring[t->ring_tail & t->ring_mask] = s;
	t->ring_tail++;
}

static inline bool has_free(const struct nat *t)
{
	return t->free_head != 0 || t->fresh < t->capacity;
}

/* The sweep: at most budget slots from where the last stopped; frees the
 * flows idle longer than the timeout onto the ring. Stops when it is full.
 * It goes a bitmap word at a time (at most to the word's end, the budget's
 * end or the table's), visiting the slots in use in it in slot order. */
static void expire(struct nat *t, uint64_t now, uint32_t budget)
{
	const uint32_t capacity = t->capacity;
	const uint64_t timeout = t->timeout_ns;
	const uint64_t *used = t->used;
	uint32_t cursor = t->sweep;
	uint32_t n = budget < capacity ? budget : capacity;
	while (n != 0) {
		uint32_t span = 64 - (cursor & 63);
		if (span > n)
			span = n;
		if (span > capacity - cursor)
			span = capacity - cursor; /* a table of fewer than 64 slots */
		uint64_t bits = used[cursor >> 6] >> (cursor & 63);
		if (span < 64)
			bits &= (1ull << span) - 1;
		while (bits != 0) {
			const uint32_t s = cursor + (uint32_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (expired(now, t->flows[s].last, timeout)) {
				if (ring_full(t)) {
					t->sweep = s;
					return;
				}
				delete_bucket(t, bucket_of_slot(t, s));
				free_slot(t, s);
				push_freed(t, s);
			}
		}
		cursor = (cursor + span) & (capacity - 1);
		n -= span;
	}
	t->sweep = cursor;
}

/* No slot is free: frees the first expired flow on the probe path [home, end)
 * of a new key, else sweeps RECLAIM_SWEEP slots. Whether a slot is free now. */
static bool reclaim(struct nat *t, uint32_t hash, uint32_t end, uint64_t now)
{
	if (ring_full(t))
		return false;
	const uint32_t mask = t->bucket_mask;
	for (uint32_t i = hash & mask; i != end; i = (i + 1) & mask) {
		const uint32_t s = (uint32_t)t->buckets[i] - 1;
		if (expired(now, t->flows[s].last, t->timeout_ns)) {
			delete_bucket(t, i);
			free_slot(t, s);
			push_freed(t, s);
			return true;
		}
	}
	expire(t, now, RECLAIM_SWEEP);
	return has_free(t);
}

/* Removes the flow in a slot in use (not reported on the ring). */
static inline void remove_slot(struct nat *t, uint32_t slot)
{
	delete_bucket(t, bucket_of_slot(t, slot));
	free_slot(t, slot);
}

/* ---- ports --------------------------------------------------------------------------------- */

static inline uint32_t pool_of(uint32_t idx, uint32_t pi)
{
	return idx * N_PROTOS + pi;
}

/* The first free port of a pool at or after its cursor (wrapping), taken; -1 when none. */
static inline int32_t alloc_port(struct nat *t, uint32_t pool)
{
	if (t->free_count[pool] == 0)
		return -1;
	uint64_t *bm = t->free_bits + (size_t)pool * BITMAP_WORDS;
	const uint32_t start = t->cursor[pool];
	uint32_t w = start >> 6;
	uint64_t word = bm[w] & (~0ull << (start & 63));
	for (int k = 0; k <= BITMAP_WORDS; k++) {
		if (word != 0) {
			const uint32_t port = (w << 6) + (uint32_t)__builtin_ctzll(word);
			bm[w] &= ~(1ull << (port & 63));
			t->cursor[pool] = port >= t->port_hi ? t->port_lo : port + 1;
			t->free_count[pool]--;
			return (int32_t)port;
		}
		w = (w + 1) & (BITMAP_WORDS - 1);
		word = bm[w];
	}
	return -1;
}

/* A public address (number) and port for a new flow of inside address in_addr:
 * its paired address, or the next one with a free port. False when none has. */
static inline bool allocate(struct nat *t, uint32_t pi, uint32_t in_addr, uint32_t *idx_out, uint32_t *port_out)
{
	const uint32_t count = t->public_count;
	const uint32_t first = in_addr % count;
	for (uint32_t k = 0; k < count; k++) {
		uint32_t idx = first + k;
		if (idx >= count)
			idx -= count;
		const int32_t port = alloc_port(t, pool_of(idx, pi));
		if (port >= 0) {
			*idx_out = idx;
			*port_out = (uint32_t)port;
			return true;
		}
	}
	return false;
}

static inline uint32_t *slot_of_port(const struct nat *t, uint32_t pool, uint32_t port)
{
	return &t->port_slot[((size_t)pool << 16) + port];
}

/* Frees the public port a slot holds (its fields are still the flow's). */
static inline void release_slot(struct nat *t, uint32_t slot)
{
	const struct flow *f = &t->flows[slot];
	const uint32_t pool = pool_of(f->pub_idx, (f->meta >> META_PI_SHIFT) & 3);
	const uint32_t port = f->pub_port;
	uint32_t *at = slot_of_port(t, pool, port);
	if (*at != slot + 1)
		return; /* not holding it (never happens) */
	*at = 0;
	t->free_bits[(size_t)pool * BITMAP_WORDS + (port >> 6)] |= 1ull << (port & 63);
	t->free_count[pool]++;
}

/* Releases the ports of the slots the table freed (expired or reclaimed). */
static inline void drain_freed(struct nat *t)
{
	while (t->ring_head != t->ring_tail) {
		release_slot(t, t->ring[t->ring_head & t->ring_mask]);
		t->ring_head++;
		t->env.metrics[M_EXPIRED_MAPPINGS]++;
	}
}

/* ---- per packet ---------------------------------------------------------------------------- */

/* RST ends the mapping at once; FIN both ways shortens its life. */
static inline void tcp_state(struct nat *t, uint32_t slot, uint8_t flags, uint8_t dir_bit, uint64_t now)
{
	if (flags & NETVM_TCP_RST) {
		release_slot(t, slot);
		remove_slot(t, slot);
		t->env.metrics[M_CLOSED_MAPPINGS]++;
		return;
	}
	struct flow *f = &t->flows[slot];
	if (flags & NETVM_TCP_FIN)
		f->meta |= dir_bit;
	if ((f->meta & META_FIN) == 3) {
		const uint64_t back = t->timeout_ns - t->closing_ns;
		f->last = now > back ? now - back : 0;
	}
}

/* The protocol index of the packet if the NAT translates it (ports in *ours,
 * *theirs); -1 when it passes unchanged, or is dropped as untranslatable (*drop). */
static inline int translatable(struct nat *t, const uint8_t *a, const struct netvm_parsed *p, bool outbound, uint32_t *ours,
			       uint32_t *theirs, bool *drop)
{
	if (p->l4_proto == NETVM_IPPROTO_TCP || p->l4_proto == NETVM_IPPROTO_UDP) {
		if (p->l4 == 0) {
			t->env.metrics[M_UNTRANSLATABLE]++;
			*drop = true;
			return -1;
		}
		*ours = outbound ? p->src_port : p->dst_port;
		*theirs = outbound ? p->dst_port : p->src_port;
		return p->l4_proto == NETVM_IPPROTO_TCP ? PI_TCP : PI_UDP;
	}
	const uint8_t echo = outbound ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
	if (p->l4_proto == NETVM_IPPROTO_ICMP && p->l4 != 0 && p->l4_len >= 8 && p->icmp_type == echo) {
		*ours = netvm_be16(a + p->l4 + 4);
		*theirs = 0;
		return PI_ICMP;
	}
	return -1;
}

/* What prefetch_burst found of a packet: its outbound flow's key and hash
 * (k1 NO_KEY when it has none). */
struct burst_key {
	uint64_t k0, k1;
	uint32_t hash;
};
#define NO_KEY UINT64_MAX /* no key's k1: the protocol takes 8 bits */

/* Whether to drop the packet. pre: the key prefetch_burst saw for it, whose
 * hash is reused when it is the packet's key. */
static inline bool outbound(struct nat *t, uint8_t *a, const struct netvm_parsed *p, uint32_t src, uint32_t dst, uint64_t now,
			    const struct burst_key *pre)
{
	uint32_t local_port, remote_port;
	bool drop = false;
	const int found = translatable(t, a, p, true, &local_port, &remote_port, &drop);
	if (found < 0)
		return drop;
	const uint32_t pi = (uint32_t)found;
	const uint64_t k0 = src | (uint64_t)dst << 32;
	const uint64_t k1 = local_port | remote_port << 16 | (uint64_t)p->l4_proto << 32;
	const uint32_t hash = pre->k0 == k0 && pre->k1 == k1 ? pre->hash : hash_key(k0, k1, t->seed);
	const uint64_t tag = (uint64_t)hash << 32;
	const uint32_t mask = t->bucket_mask;
	uint64_t *buckets = t->buckets;
	uint32_t i = hash & mask;
	uint32_t slot = UINT32_MAX;
	for (uint64_t b; (b = buckets[i]) != 0; i = (i + 1) & mask) {
		if ((b & TAG_MASK) == tag) {
			const struct flow *f = &t->flows[(uint32_t)b - 1];
			if (((f->k0 ^ k0) | (f->k1 ^ k1)) == 0) {
				slot = (uint32_t)b - 1;
				break;
			}
		}
	}
	struct flow *f;
	if (slot != UINT32_MAX) {
		f = &t->flows[slot];
		f->last = now;
	} else {
		/* A new flow: i is the empty bucket that ended its probe. */
		bool room = has_free(t);
		if (!room && reclaim(t, hash, i, now)) {
			room = true;
			/* Deletions shift buckets back: find the first empty bucket again. */
			for (i = hash & mask; buckets[i] != 0; i = (i + 1) & mask)
				;
		}
		if (room) {
			if (t->free_head != 0) {
				slot = t->free_head - 1;
				t->free_head = (uint32_t)t->flows[slot].last;
			} else {
				slot = t->fresh++;
			}
			f = &t->flows[slot];
			f->k0 = k0;
			f->k1 = k1;
			f->last = now;
			f->hash = hash;
			t->used[slot >> 6] |= 1ull << (slot & 63);
			buckets[i] = tag | (slot + 1);
			t->size++;
		}
		drain_freed(t); /* a reclaimed slot's port first, before the slot is reused */
		if (!room) {
			t->env.metrics[M_TABLE_FULL]++;
			return true;
		}
		uint32_t idx, port;
		if (!allocate(t, pi, src, &idx, &port)) {
			remove_slot(t, slot);
			t->env.metrics[M_PORT_EXHAUSTED]++;
			return true;
		}
		f->pub_port = (uint16_t)port;
		f->pub_idx = (uint8_t)idx;
		f->meta = (uint8_t)(pi << META_PI_SHIFT);
		*slot_of_port(t, pool_of(idx, pi), port) = slot + 1;
		t->env.metrics[M_NEW_MAPPINGS]++;
	}
	uint8_t *ip = a + p->l3;
	rewrite(ip, a + p->l4, p->l4_proto, 12, t->public_base + f->pub_idx, pi == PI_ICMP ? 4 : 0, f->pub_port);
	t->env.metrics[M_TRANSLATED_OUT]++;
	if (pi == PI_TCP)
		tcp_state(t, slot, p->tcp_flags, 1, now);
	return false;
}

/* A packet to public address number idx; whether to drop it. */
static inline bool inbound(struct nat *t, uint8_t *a, const struct netvm_parsed *p, uint32_t src, uint32_t idx, uint64_t now)
{
	uint32_t pub_port, remote_port;
	bool drop = false;
	const int found = translatable(t, a, p, false, &pub_port, &remote_port, &drop);
	if (found < 0)
		return drop;
	const uint32_t pi = (uint32_t)found;
	const uint32_t held = *slot_of_port(t, pool_of(idx, pi), pub_port);
	if (held == 0) {
		t->env.metrics[M_NO_MAPPING]++;
		return true;
	}
	const uint32_t slot = held - 1;
	struct flow *f = &t->flows[slot];
	if ((uint32_t)(f->k0 >> 32) != src || (uint32_t)(f->k1 >> 16 & 0xffff) != remote_port) {
		t->env.metrics[M_NO_MAPPING]++;
		return true;
	}
	f->last = now;
	rewrite(a + p->l3, a + p->l4, p->l4_proto, 16, (uint32_t)f->k0, pi == PI_ICMP ? 4 : 2, (uint16_t)f->k1);
	t->env.metrics[M_TRANSLATED_IN]++;
	if (pi == PI_TCP)
		tcp_state(t, slot, p->tcp_flags, 2, now);
	return false;
}


/* The burst's lookups started together, as a DPDK NF does them (the CPU
 * overlaps their cache misses; one at a time, each packet would wait for its
 * own, about 3.5x slower at 1M flows): the key and hash of each outbound
 * flow, its home bucket prefetched; for an inbound packet, its public port's
 * entry. Only reads and hints: the packets are then handled one by one as if
 * this had not run (outbound reuses a hash whose key is the packet's). The
 * records need no prefetch: once the buckets are in the cache, the misses on
 * the records of successive packets overlap anyway. */
static void prefetch_burst(const struct nat *t, uint32_t n, struct burst_key *keys)
{
	const struct netvm_record *r = t->env.records;
	const uint32_t net = t->inside_net, mask = t->inside_mask;
	const uint32_t pub = t->public_base, count = t->public_count;
	const uint32_t bucket_mask = t->bucket_mask;
	for (uint32_t i = 0; i < n; i++) {
		struct burst_key *const k = &keys[i];
		k->k0 = 0;
		k->k1 = NO_KEY;
		const struct netvm_meta m = r[i].meta;
		if (m.ip_version != 4 || m.l4 == 0)
			continue;
		const uint8_t *a = t->env.window + r[i].pool_off;
		const uint8_t *l4 = a + m.l4;
		const uint32_t src = netvm_be32(a + m.l3 + 12), dst = netvm_be32(a + m.l3 + 16);
		const bool l4_ports = m.l4_proto == NETVM_IPPROTO_TCP || m.l4_proto == NETVM_IPPROTO_UDP;
		const bool icmp = m.l4_proto == NETVM_IPPROTO_ICMP && (uint32_t)m.l3 + m.ip_len - m.l4 >= 8;
		if ((src & mask) == net) {
			if ((dst & mask) == net || !(l4_ports || (icmp && l4[0] == ICMP_ECHO_REQUEST)))
				continue;
			const uint64_t ports = l4_ports ? (uint64_t)netvm_be16(l4) | (uint64_t)netvm_be16(l4 + 2) << 16 : netvm_be16(l4 + 4);
			k->k0 = src | (uint64_t)dst << 32;
			k->k1 = ports | (uint64_t)m.l4_proto << 32;
			k->hash = hash_key(k->k0, k->k1, t->seed);
			__builtin_prefetch(&t->buckets[k->hash & bucket_mask]);
		} else if (dst - pub < count) {
			if (!(l4_ports || (icmp && l4[0] == ICMP_ECHO_REPLY)))
				continue;
			const uint32_t pi = l4_ports ? (m.l4_proto == NETVM_IPPROTO_TCP ? PI_TCP : PI_UDP) : PI_ICMP;
			__builtin_prefetch(slot_of_port(t, pool_of(dst - pub, pi), netvm_be16(l4 + (l4_ports ? 2 : 4))));
		}
	}
}

void nf_process(void *self, uint32_t n)
{
	struct nat *t = self;
	struct netvm_record *r = t->env.records;
	const uint64_t now = netvm_now_ns(&t->env);
	const uint32_t net = t->inside_net, mask = t->inside_mask;
	const uint32_t pub = t->public_base, count = t->public_count;
	struct burst_key keys[NETVM_MAX_BURST];
	if (n > NETVM_MAX_BURST)
		n = NETVM_MAX_BURST;
	prefetch_burst(t, n, keys);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *a = t->env.window + r[i].pool_off;
		struct netvm_parsed p;
		if (!netvm_parsed_at(&r[i], t->env.window, &p) || p.ip_version != 4)
			continue;
		const uint32_t src = netvm_be32(a + p.l3 + 12);
		const uint32_t dst = netvm_be32(a + p.l3 + 16);
		bool drop = false;
		if ((src & mask) == net) {
			if ((dst & mask) != net)
				drop = outbound(t, a, &p, src, dst, now, &keys[i]);
		} else if (dst - pub < count) {
			drop = inbound(t, a, &p, src, dst - pub, now);
		}
		if (drop)
			r[i].verdict = NETVM_DROP;
	}
	expire(t, now, SWEEP_BUDGET);
	drain_freed(t);
	t->env.metrics[M_MAPPINGS] = t->size;
}

/* ---- configuration ------------------------------------------------------------------------- */

/* An IPv4 prefix ("10.0.0.0/8", or an address alone: /32; bits past the
 * length zero, as the SDK's parsePrefix): its length, the address in *addr
 * (host order); -1 when not one. */
static int prefix4(const char *s, uint32_t *addr)
{
	uint8_t a[16];
	int version, len;
	if (!netvm_parse_prefix(s, a, &version, &len) || version != 4)
		return -1;
	*addr = netvm_be32(a);
	return len;
}

/* A decimal number of 1 to 5 digits, or -1. */
static int32_t port_number(const char *s, size_t len)
{
	if (len == 0 || len > 5)
		return -1;
	int32_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Member key of obj; NULL when absent or JSON null (as the SDK's ConfigReader). */
static const json_t *field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return v != NULL && !json_is_null(v) ? v : NULL;
}

/* A string member; *out = fallback when absent (NULL: required). */
static bool get_string(const json_t *obj, const char *key, const char *fallback, const char **out, char *error, size_t error_len)
{
	const json_t *v = field(obj, key);
	if (v == NULL) {
		if (fallback == NULL) {
			netvm_fail(error, error_len, key, "required");
			return false;
		}
		*out = fallback;
		return true;
	}
	if (!json_is_string(v)) {
		netvm_fail(error, error_len, key, "must be a string");
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* As JavaScript writes a number: whole ones as integers, others in the fewest digits that read back. */
static void format_number(char *buf, size_t len, double x)
{
	if (x == (double)(int64_t)x) {
		snprintf(buf, len, "%lld", (long long)x);
		return;
	}
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(buf, len, "%.*g", digits, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

/* A finite number member within [lo, hi] (whole when asked); *out = fallback when absent. */
static bool get_number(const json_t *obj, const char *key, double lo, double hi, bool whole, double fallback, double *out,
		       char *error, size_t error_len)
{
	const json_t *v = field(obj, key);
	if (v == NULL) {
		*out = fallback;
		return true;
	}
	if (json_is_number(v)) {
		const double x = json_number_value(v);
		if (x >= lo && x <= hi && (!whole || x == (double)(int64_t)x)) {
			*out = x;
			return true;
		}
	}
	char l[32], h[32];
	format_number(l, sizeof(l), lo);
	format_number(h, sizeof(h), hi);
	netvm_fail(error, error_len, key, "must be %s from %s to %s", whole ? "an integer" : "a number", l, h);
	return false;
}

#define HUGE_PAGE ((size_t)2 << 20)

/* A zeroed table of *bytes, its pages faulted in now (as DPDK's memory is):
 * not on the packet path the first time the sweep or a new flow reaches
 * them. A table of 2 MiB or more is in 2 MiB pages (as DPDK's memory is;
 * transparent huge pages, where the kernel gives them), so that lookups
 * spread over it do not miss the TLB: *bytes is then rounded up to whole
 * huge pages (what to unmap). */
static void *map_zeroed(size_t *bytes)
{
	if (*bytes < HUGE_PAGE) {
		void *p = mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	/* Aligned to a huge page: map one more, unmap the ends. */
	const size_t len = (*bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uint8_t *p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uint8_t *start = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (start != p)
		munmap(p, (size_t)(start - p));
	munmap(start + len, (size_t)(p + HUGE_PAGE - start));
	*bytes = len;
	madvise(start, len, MADV_HUGEPAGE); /* a hint: 4 KiB pages when refused */
	for (size_t off = 0; off < len; off += 4096)
		((volatile uint8_t *)start)[off] = 0; /* faulted in, zeroed */
	return start;
}

void nf_destroy(void *self)
{
	struct nat *t = self;
	if (t == NULL)
		return;
	if (t->buckets != NULL)
		munmap(t->buckets, t->buckets_bytes);
	if (t->flows != NULL)
		munmap(t->flows, t->flows_bytes);
	if (t->used != NULL)
		munmap(t->used, t->used_bytes);
	if (t->port_slot != NULL)
		munmap(t->port_slot, t->port_slot_bytes);
	free(t->ring);
	free(t->free_bits);
	free(t->cursor);
	free(t->free_count);
	free(t);
}

static uint32_t pow2_at_least(uint32_t x)
{
	return x <= 1 ? 1 : 1u << (32 - __builtin_clz(x - 1));
}

void *nf_create(const json_t *config, const struct netvm_env *env, char *error, size_t error_len)
{
	static const char *const keys[] = { "inside", "public_ip", "ports", "flows", "timeout_s", NULL };
	if (config == NULL || json_is_null(config))
		return netvm_fail(error, error_len, "(root)", "required");
	if (!json_is_object(config))
		return netvm_fail(error, error_len, "(root)", "must be an object");
	if (!netvm_only_keys(config, "", keys, error, error_len))
		return NULL;

	const char *inside_text;
	if (!get_string(config, "inside", NULL, &inside_text, error, error_len))
		return NULL;
	uint32_t net;
	const int plen = prefix4(inside_text, &net);
	if (plen < 0)
		return netvm_fail(error, error_len, "inside", "'%s' is not an IPv4 prefix (like 10.0.0.0/8)", inside_text);
	const uint32_t mask = plen == 0 ? 0 : 0xffffffffu << (32 - plen);

	const char *public_text;
	if (!get_string(config, "public_ip", NULL, &public_text, error, error_len))
		return NULL;
	/* A prefix of /24 to /32 (a pool), or an address alone. */
	uint32_t pub = 0, count = 1;
	const int publen = prefix4(public_text, &pub);
	if (publen < (strchr(public_text, '/') != NULL ? 24 : 32))
		return netvm_fail(error, error_len, "public_ip",
				  "'%s' is not an IPv4 address or a prefix of /24 to /32 (like 203.0.113.1 or 203.0.113.0/28)", public_text);
	count = 1u << (32 - publen);
	/* A pool is a prefix and inside is one: they overlap if either holds the other's first address. */
	const uint32_t pool_mask = count == 1 ? 0xffffffffu : ~(count - 1);
	if ((pub & mask) == net || (net & pool_mask) == pub)
		return netvm_fail(error, error_len, "public_ip", "%s overlaps %s", public_text, inside_text);

	const char *ports_text;
	if (!get_string(config, "ports", "1024-65535", &ports_text, error, error_len))
		return NULL;
	int32_t lo, hi;
	const char *dash = strchr(ports_text, '-');
	if (dash == NULL) {
		lo = hi = port_number(ports_text, strlen(ports_text));
	} else {
		lo = port_number(ports_text, (size_t)(dash - ports_text));
		hi = port_number(dash + 1, strlen(dash + 1));
	}
	if (lo < 1 || hi < 1 || lo > 65535 || hi > 65535 || lo > hi)
		return netvm_fail(error, error_len, "ports", "'%s' is not a port range \"lo-hi\" within 1-65535", ports_text);

	double flows, timeout;
	if (!get_number(config, "flows", 1, FLOW_TABLE_MAX_CAPACITY, true, 65536, &flows, error, error_len) ||
	    !get_number(config, "timeout_s", 0.001, 86400 * 7, false, 120, &timeout, error, error_len))
		return NULL;

	struct nat *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return netvm_fail(error, error_len, "", "out of memory");
	t->env = *env;
	t->inside_net = net;
	t->inside_mask = mask;
	t->public_base = pub;
	t->public_count = count;
	t->port_lo = (uint32_t)lo;
	t->port_hi = (uint32_t)hi;
	t->timeout_ns = (uint64_t)(timeout * 1e9);
	t->closing_ns = (uint64_t)((timeout < CLOSING_TIMEOUT_S ? timeout : CLOSING_TIMEOUT_S) * 1e9);
	t->seed = netvm_now_ns(&t->env) * K1;

	const uint32_t cap = pow2_at_least((uint32_t)flows);
	t->capacity = cap;
	t->bucket_mask = 2 * cap - 1;
	t->buckets_bytes = (size_t)2 * cap * sizeof(uint64_t);
	t->flows_bytes = (size_t)cap * sizeof(struct flow);
	t->buckets = map_zeroed(&t->buckets_bytes);
	t->flows = map_zeroed(&t->flows_bytes);
	t->used_bytes = ((size_t)cap + 63) / 64 * sizeof(uint64_t);
	t->used = map_zeroed(&t->used_bytes);
	t->ring_size = pow2_at_least(SWEEP_BUDGET < cap ? SWEEP_BUDGET : cap);
	t->ring_mask = t->ring_size - 1;
	t->ring = calloc(t->ring_size, sizeof(uint32_t));

	const uint32_t pools = count * N_PROTOS;
	t->pools = pools;
	t->free_bits = calloc((size_t)pools * BITMAP_WORDS, sizeof(uint64_t));
	t->port_slot_bytes = (size_t)pools * 65536 * sizeof(uint32_t);
	t->port_slot = map_zeroed(&t->port_slot_bytes);
	t->cursor = calloc(pools, sizeof(uint32_t));
	t->free_count = calloc(pools, sizeof(uint32_t));
	if (t->buckets == NULL || t->flows == NULL || t->used == NULL || t->ring == NULL || t->free_bits == NULL || t->port_slot == NULL ||
	    t->cursor == NULL || t->free_count == NULL) {
		nf_destroy(t);
		return netvm_fail(error, error_len, "flows", "out of memory for the tables");
	}
	for (uint32_t pool = 0; pool < pools; pool++) {
		uint64_t *bm = t->free_bits + (size_t)pool * BITMAP_WORDS;
		for (uint32_t port = t->port_lo; port <= t->port_hi; port++)
			bm[port >> 6] |= 1ull << (port & 63);
		t->cursor[pool] = t->port_lo;
		t->free_count[pool] = t->port_hi - t->port_lo + 1;
	}
	return t;
}
