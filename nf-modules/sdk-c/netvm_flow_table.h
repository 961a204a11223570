/* The SDK's flow table (nf-modules/sdk/flow-table.ts) and flow keys
 * (nf-modules/sdk/flow.ts) in C, freestanding: the same keys and hash, so
 * that a table fills, reclaims and expires exactly as an AssemblyScript NF's
 * does, and flows move between the two in state. Open addressing with linear
 * probing and backward-shift deletion over 2 * capacity 8-byte buckets
 * (hash << 32 | slot + 1), the flows in 64-byte records (one cache line: key,
 * last seen, hash, free-list link, and a few bytes of the NF's own), a free
 * list, and an incremental expiry sweep.
 *
 * Freed slots: with freed_ring > 0, every slot the table frees on its own
 * (by expiry, or reclaimed by an insert when full) is pushed on a ring of
 * freed_ring entries (rounded up to a power of two, at most the capacity);
 * drain it with netvm_flow_pop_freed, e.g. to unlink the NF's own records of
 * the flow. The table never loses a record: while the ring is full, the sweep
 * frees nothing and an insert does not reclaim. With 0, nothing is recorded.
 *
 * Memory comes from the caller's alloc (zeroed, cache-line aligned, as long
 * as the table lives): netvm_alloc in Wasm, the C library natively. */
#ifndef NETVM_FLOW_TABLE_H
#define NETVM_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netvm_parse.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "flow keys and hashes are laid out as in Wasm memory: little-endian"
#endif

/* Largest capacity (flows), as the SDK's. */
#define NETVM_FLOW_TABLE_MAX_CAPACITY (1u << 23)
/* Slots a full table's insert sweeps when no expired flow is on the new key's path. */
#define NETVM_FLOW_RECLAIM_SWEEP 16u

/* A flow's slot: one cache line. dir, state and value are the NF's own (the
 * firewall's initiator direction bit and TCP state, lb's backend): the table
 * sets none of them. */
struct netvm_flow {
	uint64_t key[5];
	uint64_t last; /* last seen, ns */
	uint32_t hash;
	uint32_t next; /* next free slot + 1 (0: end of the free list) */
	uint8_t used;  /* 1 while the slot holds a flow */
	uint8_t dir;
	uint8_t state;
	uint8_t pad;
	uint32_t value;
};
_Static_assert(sizeof(struct netvm_flow) == 64, "a flow is a cache line");

struct netvm_flow_table {
	uint64_t *buckets;
	struct netvm_flow *slots;
	uint32_t bucket_mask;
	uint32_t capacity;
	uint64_t timeout_ns;
	uint32_t size;
	uint32_t free_head; /* slot + 1; 0 when none is free */
	uint32_t cursor;    /* next slot the sweep examines */
	uint32_t *ring;     /* freed slots, when ring_size != 0 */
	uint32_t ring_mask, ring_size;
	uint32_t ring_head, ring_tail; /* pops, pushes */
};

static inline uint32_t netvm_pow2_at_least(uint32_t x)
{
	return x <= 1 ? 1 : 1u << (32 - __builtin_clz(x - 1));
}

/* A table of capacity flows (clamped to 1..MAX and rounded up to a power of
 * two) forgetting flows idle longer than timeout_ns, with a ring of freed
 * slots (0: none); false when alloc fails. */
static bool netvm_flow_table_init(struct netvm_flow_table *t, uint32_t capacity, uint64_t timeout_ns, uint32_t freed_ring,
				  void *(*alloc)(uint32_t size))
{
	uint32_t cap = capacity < 1 ? 1 : capacity > NETVM_FLOW_TABLE_MAX_CAPACITY ? NETVM_FLOW_TABLE_MAX_CAPACITY : capacity;
	cap = netvm_pow2_at_least(cap);
	size_t nb = (size_t)cap << 1;
	t->buckets = alloc((uint32_t)(nb * sizeof(uint64_t)));
	t->slots = alloc(cap * (uint32_t)sizeof(struct netvm_flow));
	t->ring_size = freed_ring == 0 ? 0 : netvm_pow2_at_least(freed_ring < cap ? freed_ring : cap);
	t->ring_mask = t->ring_size - 1;
	t->ring_head = t->ring_tail = 0;
	t->ring = t->ring_size == 0 ? NULL : alloc(t->ring_size * (uint32_t)sizeof(uint32_t));
	if (t->buckets == NULL || t->slots == NULL || (t->ring_size != 0 && t->ring == NULL))
		return false;
	for (uint32_t s = 0; s < cap; s++)
		t->slots[s].next = s + 1 < cap ? s + 2 : 0;
	t->bucket_mask = (uint32_t)nb - 1;
	t->capacity = cap;
	t->timeout_ns = timeout_ns;
	t->size = 0;
	t->free_head = 1;
	t->cursor = 0;
	return true;
}

static inline bool netvm_key_equal(const uint64_t *a, const uint64_t *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

/* The bucket holding key (>= 0), or -1 with *empty the first empty bucket of
 * its probe path (where findOrInsert would put it). */
static inline int64_t netvm_flow_lookup(const struct netvm_flow_table *t, const uint64_t *key, uint32_t hash, uint32_t *empty)
{
	const uint64_t tag = (uint64_t)hash << 32;
	uint32_t i = hash & t->bucket_mask;
	for (;;) {
		uint64_t b = t->buckets[i];
		if (b == 0) {
			*empty = i;
			return -1;
		}
		if ((b & 0xffffffff00000000ull) == tag && netvm_key_equal(t->slots[(uint32_t)b - 1].key, key))
			return i;
		i = (i + 1) & t->bucket_mask;
	}
}

/* Starts the cache misses of a burst's lookups together (the SDK's
 * FlowTable.prefetch): the home bucket of each of the n hashes, then the
 * record there when its hash matches. Natively these are prefetches; in Wasm,
 * which has none, __builtin_prefetch is nothing, and the AssemblyScript SDK's
 * loads stand in for them. */
static inline void netvm_flow_prefetch(const struct netvm_flow_table *t, const uint32_t *hashes, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		__builtin_prefetch(&t->buckets[hashes[i] & t->bucket_mask]);
	for (uint32_t i = 0; i < n; i++) {
		const uint64_t b = t->buckets[hashes[i] & t->bucket_mask];
		if (b != 0 && (uint32_t)(b >> 32) == hashes[i])
			__builtin_prefetch(&t->slots[(uint32_t)b - 1]);
	}
}

/* The bucket pointing at a slot in use (on its key's probe path). */
static uint32_t netvm_flow_bucket_of_slot(const struct netvm_flow_table *t, uint32_t slot)
{
	uint32_t i = t->slots[slot].hash & t->bucket_mask;
	while ((uint32_t)t->buckets[i] != slot + 1)
		i = (i + 1) & t->bucket_mask;
	return i;
}

/* Backward-shift deletion: empties bucket i, moving back the entries after it
 * that may sit there (those whose home is not in (i, j]). */
static void netvm_flow_delete_bucket(struct netvm_flow_table *t, uint32_t i)
{
	const uint32_t mask = t->bucket_mask;
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		uint64_t b = t->buckets[j];
		if (b == 0)
			break;
		uint32_t home = (uint32_t)(b >> 32) & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->buckets[i] = b;
			i = j;
		}
	}
	t->buckets[i] = 0;
}

static void netvm_flow_free_slot(struct netvm_flow_table *t, uint32_t s)
{
	t->slots[s].used = 0;
	t->slots[s].next = t->free_head;
	t->free_head = s + 1;
	t->size--;
}

/* Removes the flow of bucket i (from netvm_flow_lookup); the table does not report it. */
static inline void netvm_flow_remove(struct netvm_flow_table *t, uint32_t i)
{
	const uint32_t s = (uint32_t)t->buckets[i] - 1;
	netvm_flow_delete_bucket(t, i);
	netvm_flow_free_slot(t, s);
}

static inline bool netvm_flow_ring_full(const struct netvm_flow_table *t)
{
	return t->ring_size != 0 && t->ring_tail - t->ring_head == t->ring_size;
}

static inline void netvm_flow_push_freed(struct netvm_flow_table *t, uint32_t s)
{
	if (t->ring_size != 0)
		t->ring[t->ring_tail++ & t->ring_mask] = s;
}

/* The next slot the table freed (expiry or reclaim), -1 when none is pending. */
static inline int64_t netvm_flow_pop_freed(struct netvm_flow_table *t)
{
	if (t->ring_head == t->ring_tail)
		return -1;
	return t->ring[t->ring_head++ & t->ring_mask];
}

static inline bool netvm_flow_expired(const struct netvm_flow_table *t, uint64_t seen, uint64_t now)
{
	return now > seen && now - seen > t->timeout_ns;
}

/* The incremental sweep: examines at most budget slots from where the last
 * one stopped and frees the flows idle longer than the timeout (pushing their
 * slots on the freed ring); stops early, at the slot it could not free, when
 * the ring is full. */
static void netvm_flow_expire(struct netvm_flow_table *t, uint64_t now, uint32_t budget)
{
	const uint32_t last = t->capacity - 1;
	uint32_t cursor = t->cursor;
	uint32_t n = budget < t->capacity ? budget : t->capacity;
	while (n != 0) {
		struct netvm_flow *f = &t->slots[cursor];
		if (f->used && netvm_flow_expired(t, f->last, now)) {
			if (netvm_flow_ring_full(t)) {
				t->cursor = cursor; /* examined again by the next sweep */
				return;
			}
			netvm_flow_delete_bucket(t, netvm_flow_bucket_of_slot(t, cursor));
			netvm_flow_free_slot(t, cursor);
			netvm_flow_push_freed(t, cursor);
		}
		cursor = (cursor + 1) & last;
		n--;
	}
	t->cursor = cursor;
}

/* No slot is free: frees the first expired flow on the probe path
 * [home, end) of a new key, else sweeps NETVM_FLOW_RECLAIM_SWEEP slots.
 * Whether a slot is free now. */
static bool netvm_flow_reclaim(struct netvm_flow_table *t, uint32_t hash, uint32_t end, uint64_t now)
{
	if (netvm_flow_ring_full(t))
		return false;
	for (uint32_t i = hash & t->bucket_mask; i != end; i = (i + 1) & t->bucket_mask) {
		uint32_t s = (uint32_t)t->buckets[i] - 1;
		if (netvm_flow_expired(t, t->slots[s].last, now)) {
			netvm_flow_delete_bucket(t, i);
			netvm_flow_free_slot(t, s);
			netvm_flow_push_freed(t, s);
			return true;
		}
	}
	netvm_flow_expire(t, now, NETVM_FLOW_RECLAIM_SWEEP);
	return t->free_head != 0;
}

/* Inserts key (absent: netvm_flow_lookup gave empty, and nothing changed
 * since); its new slot, or -1 when none is free even after reclaiming. */
static int64_t netvm_flow_insert(struct netvm_flow_table *t, const uint64_t *key, uint32_t hash, uint32_t empty, uint64_t now)
{
	if (t->free_head == 0) {
		if (!netvm_flow_reclaim(t, hash, empty, now))
			return -1;
		/* Deletions shift buckets back: find the first empty bucket again. */
		empty = hash & t->bucket_mask;
		while (t->buckets[empty] != 0)
			empty = (empty + 1) & t->bucket_mask;
	}
	uint32_t s = t->free_head - 1;
	struct netvm_flow *f = &t->slots[s];
	t->free_head = f->next;
	__builtin_memcpy(f->key, key, sizeof(f->key));
	f->last = now;
	f->hash = hash;
	f->used = 1;
	t->buckets[empty] = (uint64_t)hash << 32 | (s + 1);
	t->size++;
	return s;
}

/* The SDK's findOrInsert: the slot of key, refreshed to now (*inserted
 * false), or a new one (*inserted true), or -1 when the table is full of live
 * flows. */
static inline int64_t netvm_flow_find_or_insert(struct netvm_flow_table *t, const uint64_t *key, uint32_t hash, uint64_t now, bool *inserted)
{
	uint32_t empty;
	const int64_t bucket = netvm_flow_lookup(t, key, hash, &empty);
	*inserted = false;
	if (bucket >= 0) {
		const uint32_t s = (uint32_t)t->buckets[bucket] - 1;
		t->slots[s].last = now;
		return s;
	}
	const int64_t s = netvm_flow_insert(t, key, hash, empty, now);
	*inserted = s >= 0;
	return s;
}

/* ---- flow keys (nf-modules/sdk/flow.ts) ------------------------------------ */

static inline uint64_t netvm_load64(const uint8_t *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, 8);
	return v;
}

static inline uint32_t netvm_load32(const uint8_t *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, 4);
	return v;
}

/* p's canonical flow key (40 bytes, as flowKey lays it out in Wasm memory);
 * true when p goes from the higher endpoint to the lower one. */
static inline bool netvm_flow_key(const struct netvm_parsed *p, uint64_t key[5])
{
	const bool v6 = p->ip_version == 6;
	const uint8_t *src = netvm_src_addr(p);
	const uint8_t *dst = netvm_dst_addr(p);
	const bool ported = p->l4 != 0 && (p->l4_proto == NETVM_IPPROTO_TCP || p->l4_proto == NETVM_IPPROTO_UDP);
	const uint16_t sport = ported ? p->src_port : 0;
	const uint16_t dport = ported ? p->dst_port : 0;
	uint64_t s0, s1, d0, d1;
	int order;
	if (v6) {
		s0 = netvm_load64(src), s1 = netvm_load64(src + 8), d0 = netvm_load64(dst), d1 = netvm_load64(dst + 8);
		uint64_t x = __builtin_bswap64(s0), y = __builtin_bswap64(d0);
		if (x == y)
			x = __builtin_bswap64(s1), y = __builtin_bswap64(d1);
		order = x < y ? -1 : x > y;
	} else {
		uint32_t a = netvm_load32(src), b = netvm_load32(dst);
		s0 = a, s1 = 0, d0 = b, d1 = 0;
		uint32_t x = __builtin_bswap32(a), y = __builtin_bswap32(b);
		order = x < y ? -1 : x > y;
	}
	if (order == 0)
		order = (int)sport - (int)dport;
	const bool reverse = order > 0;
	uint64_t tail = (uint64_t)p->l4_proto << 32 | (uint64_t)p->ip_version << 40;
	if (reverse) {
		key[0] = d0, key[1] = d1, key[2] = s0, key[3] = s1;
		key[4] = tail | dport | (uint64_t)sport << 16;
	} else {
		key[0] = s0, key[1] = s1, key[2] = d0, key[3] = d1;
		key[4] = tail | sport | (uint64_t)dport << 16;
	}
	return reverse;
}

static inline uint32_t netvm_flow_hash(const uint64_t key[5])
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 5; i++) {
		h ^= key[i];
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	h *= 0x94d049bb133111ebull;
	return (uint32_t)(h ^ (h >> 32));
}

#endif
