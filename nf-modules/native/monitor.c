/* monitor in C: the same logic and metrics as nf-modules/monitor (the bench's
 * anchor). Passes every packet unchanged and measures the traffic: packets and
 * bytes in total and per flow, and the top-K flows by bytes (heavy hitters) by
 * a count-min sketch and a min-heap of K entries.
 *
 * config: as the Wasm NF's, read by the C SDK's readers (from the JSON text),
 * refused where and as it refuses: flows (65536), timeout_s (60), top_k (10,
 * 0..28), sketch_width_bits (16), sketch_depth (4), seed (from the clock).
 * Without a config, the defaults.
 *
 * The same flow table (../sdk-c/netvm_flow_table.h, with its ring of freed
 * slots), flow keys, seeded NH hash, sketch and heap, so that with the same
 * seed the counts, the flows and the heavy hitters are the Wasm NF's. A burst
 * is worked as the Wasm NF works it: parse, key and hash every IP packet; the
 * flow table's misses of the whole burst started together; then each flow.
 *
 * Metrics: the Wasm NF's, in its order; the top gauges for all 28 heavy
 * hitters are defined at load (a native NF's names are fixed then), where the
 * Wasm NF defines 10 and more when top_k asks for them. */
#include <stdlib.h>

#include "netvm_native.h"
#include "../sdk-c/netvm_flow_table.h"

const char NF_METRIC_NAMES[] = "packets,bytes,ip_packets,non_ip,flows:gauge,new_flows,expired_flows,untracked,"
	"top_0_bytes:gauge,top_0_proto:gauge,"
	"top_1_bytes:gauge,top_1_proto:gauge,"
	"top_2_bytes:gauge,top_2_proto:gauge,"
	"top_3_bytes:gauge,top_3_proto:gauge,"
	"top_4_bytes:gauge,top_4_proto:gauge,"
	"top_5_bytes:gauge,top_5_proto:gauge,"
	"top_6_bytes:gauge,top_6_proto:gauge,"
	"top_7_bytes:gauge,top_7_proto:gauge,"
	"top_8_bytes:gauge,top_8_proto:gauge,"
	"top_9_bytes:gauge,top_9_proto:gauge,"
	"top_10_bytes:gauge,top_10_proto:gauge,"
	"top_11_bytes:gauge,top_11_proto:gauge,"
	"top_12_bytes:gauge,top_12_proto:gauge,"
	"top_13_bytes:gauge,top_13_proto:gauge,"
	"top_14_bytes:gauge,top_14_proto:gauge,"
	"top_15_bytes:gauge,top_15_proto:gauge,"
	"top_16_bytes:gauge,top_16_proto:gauge,"
	"top_17_bytes:gauge,top_17_proto:gauge,"
	"top_18_bytes:gauge,top_18_proto:gauge,"
	"top_19_bytes:gauge,top_19_proto:gauge,"
	"top_20_bytes:gauge,top_20_proto:gauge,"
	"top_21_bytes:gauge,top_21_proto:gauge,"
	"top_22_bytes:gauge,top_22_proto:gauge,"
	"top_23_bytes:gauge,top_23_proto:gauge,"
	"top_24_bytes:gauge,top_24_proto:gauge,"
	"top_25_bytes:gauge,top_25_proto:gauge,"
	"top_26_bytes:gauge,top_26_proto:gauge,"
	"top_27_bytes:gauge,top_27_proto:gauge";
enum { M_PACKETS, M_BYTES, M_IP_PACKETS, M_NON_IP, M_FLOWS, M_NEW_FLOWS, M_EXPIRED_FLOWS, M_UNTRACKED, M_TOP };

#define MAX_TOP_K 28
#define EXPIRE_BUDGET 64u
#define FREED_RING 1024u
/* A flow's record, by slot: packets << 8 | (its heap entry + 1, 0 when not in the heap), and bytes. */
#define LINK_MASK 0xffull
#define ONE_PACKET 0x100ull

/* A heavy hitter; the heap orders entry ids by value. */
struct entry {
	uint64_t key[5];
	uint64_t hash;
	uint64_t value; /* bytes */
	int32_t slot;   /* its flow's table slot, -1 none */
	int32_t pos;    /* its heap position */
};

struct flow_data {
	uint64_t packets_link;
	uint64_t bytes;
};

struct monitor {
	struct netvm_env env;
	struct netvm_flow_table table;
	struct flow_data *flows;
	uint32_t *sketch; /* depth rows of width u32 counters */
	uint32_t width, mask, depth;
	uint32_t nh_key[10];
	uint32_t top_k;
	struct entry entries[MAX_TOP_K];
	uint32_t heap[MAX_TOP_K]; /* entry id by heap position */
	uint32_t heap_size;
	uint32_t unlinked; /* heap entries without a table slot: only they need find_entry's scan */
	bool top_dirty;
};

void nf_destroy(void *self)
{
	struct monitor *nf = self;
	if (nf == NULL)
		return;
	free(nf->table.buckets);
	free(nf->table.slots);
	free(nf->table.ring);
	free(nf->flows);
	free(nf->sketch);
	free(nf);
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static bool setup(struct monitor *nf, uint32_t capacity, uint64_t timeout_ns, uint32_t k, uint32_t width_bits, uint32_t depth, uint64_t seed)
{
	if (!netvm_flow_table_init(&nf->table, capacity, timeout_ns, FREED_RING, netvm_zeroed))
		return false;
	nf->width = 1u << width_bits;
	nf->mask = nf->width - 1;
	nf->depth = depth;
	nf->sketch = netvm_zeroed(nf->width * depth * 4);
	nf->flows = netvm_zeroed(nf->table.capacity * (uint32_t)sizeof(struct flow_data));
	nf->top_k = k;
	nf->top_dirty = true;
	uint64_t x = seed;
	for (int i = 0; i < 5; i++) {
		x = splitmix(x);
		nf->nh_key[2 * i] = (uint32_t)x;
		nf->nh_key[2 * i + 1] = (uint32_t)(x >> 32);
	}
	return nf->sketch != NULL && nf->flows != NULL;
}

static const char *const KEYS[] = { "flows", "timeout_s", "top_k", "sketch_width_bits", "sketch_depth", "seed", NULL };

static bool configure(void *self, struct netvm_config *c)
{
	struct monitor *nf = self;
	int64_t capacity = 65536, k = 10, width_bits = 16, depth = 4, seed = -1;
	double timeout_s = 60;
	if (!netvm_config_object(c, 0, "") || !netvm_config_only_keys(c, 0, "", KEYS) ||
	    !netvm_config_int(c, 0, "", "flows", false, 1, 8388608, &capacity) ||
	    !netvm_config_number(c, 0, "", "timeout_s", false, 0.001, 604800, &timeout_s) ||
	    !netvm_config_int(c, 0, "", "top_k", false, 0, MAX_TOP_K, &k) ||
	    !netvm_config_int(c, 0, "", "sketch_width_bits", false, 4, 24, &width_bits) ||
	    !netvm_config_int(c, 0, "", "sketch_depth", false, 1, 8, &depth) ||
	    !netvm_config_int(c, 0, "", "seed", false, 0, 4294967295, &seed))
		return false;
	if (!setup(nf, (uint32_t)capacity, (uint64_t)(timeout_s * 1e9), (uint32_t)k, (uint32_t)width_bits, (uint32_t)depth,
		   seed < 0 ? netvm_now_ns(&nf->env) : (uint64_t)seed))
		return netvm_config_fail(c, "flows", "out of memory");
	return true;
}

void *nf_create(const json_t *config, const struct netvm_env *env, char *error, size_t error_len)
{
	struct monitor *nf = calloc(1, sizeof(*nf));
	if (nf == NULL)
		return netvm_fail(error, error_len, "", "out of memory");
	nf->env = *env;
	bool ok;
	if (config != NULL)
		ok = netvm_sdk_configure(config, configure, nf, error, error_len);
	else if (!(ok = setup(nf, 65536, 60000000000ull, 10, 16, 4, netvm_now_ns(env)))) /* the defaults */
		netvm_fail(error, error_len, "", "out of memory");
	if (!ok) {
		nf_destroy(nf);
		return NULL;
	}
	return nf;
}

/* ---- heavy hitters ---------------------------------------------------------------- */

/* The flow hash: NH (UMAC's: sums of products of key words plus secret words), then murmur3's
 * 64-bit finalizer. Its low half is the table's hash, both halves the sketch's. */
static inline uint64_t hash64(const struct monitor *nf, const uint64_t key[5])
{
	const uint32_t *k = (const uint32_t *)key;
	uint64_t h = 0;
	for (int i = 0; i < 10; i += 2)
		h += (uint64_t)(uint32_t)(k[i] + nf->nh_key[i]) * (uint32_t)(k[i + 1] + nf->nh_key[i + 1]);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Adds n to the item's count in every row (saturating); returns its new estimate. */
static inline uint32_t sketch_add(struct monitor *nf, uint64_t hash, uint32_t n)
{
	const uint32_t h1 = (uint32_t)hash, h2 = (uint32_t)(hash >> 32);
	uint32_t estimate = UINT32_MAX;
	for (uint32_t i = 0; i < nf->depth; i++) {
		uint32_t *c = &nf->sketch[(size_t)i * nf->width + ((h1 + i * (h2 | 1)) & nf->mask)];
		const uint32_t v = *c + n < *c ? UINT32_MAX : *c + n;
		*c = v;
		if (v < estimate)
			estimate = v;
	}
	return estimate;
}

static inline void place(struct monitor *nf, uint32_t pos, uint32_t id)
{
	nf->heap[pos] = id;
	nf->entries[id].pos = (int32_t)pos;
}

static void sift_down(struct monitor *nf, uint32_t pos)
{
	const uint32_t id = nf->heap[pos];
	const uint64_t v = nf->entries[id].value;
	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= nf->heap_size)
			break;
		if (c + 1 < nf->heap_size && nf->entries[nf->heap[c + 1]].value < nf->entries[nf->heap[c]].value)
			c++;
		if (nf->entries[nf->heap[c]].value >= v)
			break;
		place(nf, pos, nf->heap[c]);
		pos = c;
	}
	place(nf, pos, id);
}

static void sift_up(struct monitor *nf, uint32_t pos)
{
	const uint32_t id = nf->heap[pos];
	const uint64_t v = nf->entries[id].value;
	while (pos > 0) {
		const uint32_t parent = (pos - 1) >> 1;
		if (nf->entries[nf->heap[parent]].value <= v)
			break;
		place(nf, pos, nf->heap[parent]);
		pos = parent;
	}
	place(nf, pos, id);
}

/* The heap entry of a flow, -1 if not in the heap (a scan: for flows without a linked slot). */
static int32_t find_entry(const struct monitor *nf, uint64_t h, const uint64_t key[5])
{
	if (nf->unlinked == 0)
		return -1;
	for (uint32_t id = 0; id < nf->heap_size; id++)
		if (nf->entries[id].hash == h && netvm_key_equal(nf->entries[id].key, key))
			return (int32_t)id;
	return -1;
}

/* Fills entry id with a flow entering the heap, linked both ways with its slot. */
static void fill(struct monitor *nf, uint32_t id, const uint64_t key[5], uint64_t h, uint64_t value, int32_t slot)
{
	struct entry *e = &nf->entries[id];
	memcpy(e->key, key, sizeof(e->key));
	e->hash = h;
	e->value = value;
	e->slot = slot;
	if (slot < 0)
		nf->unlinked++;
	else
		nf->flows[slot].packets_link = (nf->flows[slot].packets_link & ~LINK_MASK) | (id + 1);
}

/* Counts len bytes of the flow (key, hash h, table slot or -1) in the sketch and the heap. */
static inline void account(struct monitor *nf, uint64_t h, const uint64_t key[5], uint32_t len, int32_t slot)
{
	const uint32_t est = sketch_add(nf, h, len);
	const int32_t id = slot >= 0 ? (int32_t)(nf->flows[slot].packets_link & LINK_MASK) - 1 : find_entry(nf, h, key);
	if (id >= 0) {
		nf->entries[id].value += len;
		sift_down(nf, (uint32_t)nf->entries[id].pos);
		nf->top_dirty = true;
	} else if (nf->heap_size < nf->top_k) {
		const uint32_t pos = nf->heap_size++;
		fill(nf, pos, key, h, est, slot);
		place(nf, pos, pos);
		sift_up(nf, pos);
		nf->top_dirty = true;
	} else if (nf->heap_size > 0 && est > nf->entries[nf->heap[0]].value) {
		const uint32_t top = nf->heap[0];
		const int32_t old = nf->entries[top].slot;
		if (old >= 0)
			nf->flows[old].packets_link &= ~LINK_MASK;
		else
			nf->unlinked--;
		fill(nf, top, key, h, est, slot);
		sift_down(nf, 0);
		nf->top_dirty = true;
	}
}

static void publish_top(struct monitor *nf)
{
	uint32_t order[MAX_TOP_K];
	const uint32_t n = nf->heap_size;
	/* Insertion sort of the entry ids, largest value first. */
	for (uint32_t i = 0; i < n; i++) {
		const uint32_t id = nf->heap[i];
		const uint64_t v = nf->entries[id].value;
		uint32_t j = i;
		while (j > 0 && nf->entries[order[j - 1]].value < v) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = id;
	}
	uint64_t *m = nf->env.metrics;
	for (uint32_t i = 0; i < MAX_TOP_K; i++) {
		const struct entry *e = i < n ? &nf->entries[order[i]] : NULL;
		m[M_TOP + 2 * i] = e != NULL ? e->value : 0;
		m[M_TOP + 2 * i + 1] = e != NULL ? (uint8_t)(e->key[4] >> 32) : 0; /* the key's protocol byte */
	}
	nf->top_dirty = false;
}

/* ---- per burst ---------------------------------------------------------------------- */

/* Takes the slots the table freed (expiry, reclaim): unlinks their heap entries. */
static void drain_freed(struct monitor *nf)
{
	uint64_t n = 0;
	for (int64_t s = netvm_flow_pop_freed(&nf->table); s >= 0; s = netvm_flow_pop_freed(&nf->table), n++) {
		const uint32_t link = (uint32_t)(nf->flows[s].packets_link & LINK_MASK);
		if (link != 0) {
			nf->entries[link - 1].slot = -1;
			nf->unlinked++;
		}
		nf->flows[s].packets_link = 0;
	}
	nf->env.metrics[M_EXPIRED_FLOWS] += n;
}

void nf_process(void *self, uint32_t n)
{
	struct monitor *nf = self;
	struct netvm_record *rec = nf->env.records;
	uint64_t *m = nf->env.metrics;
	const uint64_t now = netvm_now_ns(&nf->env);
	/* The burst's IP packets: keys, hashes (and the table's half of each) and lengths. */
	uint64_t keys[NETVM_MAX_BURST][5], hashes[NETVM_MAX_BURST];
	uint32_t hashes32[NETVM_MAX_BURST], lens[NETVM_MAX_BURST];
	uint64_t total = 0;
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct netvm_parsed p;
		total += rec[i].len;
		if (!netvm_parsed_at(&rec[i], nf->env.window, &p))
			continue;
		netvm_flow_key(&p, keys[k]);
		hashes[k] = hash64(nf, keys[k]);
		hashes32[k] = (uint32_t)hashes[k];
		lens[k] = rec[i].len;
		k++;
	}
	netvm_flow_prefetch(&nf->table, hashes32, k);
	uint64_t created = 0, lost = 0;
	for (uint32_t j = 0; j < k; j++) {
		bool inserted;
		const int64_t slot = netvm_flow_find_or_insert(&nf->table, keys[j], hashes32[j], now, &inserted);
		if (slot >= 0) {
			struct flow_data *w = &nf->flows[slot];
			if (inserted) {
				/* The new slot may be one the table has just freed: settle those first. */
				drain_freed(nf);
				created++;
				const int32_t id = find_entry(nf, hashes[j], keys[j]);
				if (id >= 0) {
					nf->entries[id].slot = (int32_t)slot;
					nf->unlinked--;
				}
				w->packets_link = ONE_PACKET | (uint64_t)(id + 1);
				w->bytes = lens[j];
			} else {
				w->packets_link += ONE_PACKET;
				w->bytes += lens[j];
			}
		} else {
			lost++;
		}
		account(nf, hashes[j], keys[j], lens[j], (int32_t)slot);
	}
	netvm_flow_expire(&nf->table, now, EXPIRE_BUDGET);
	drain_freed(nf);
	m[M_PACKETS] += n;
	m[M_BYTES] += total;
	m[M_IP_PACKETS] += k;
	m[M_NON_IP] += n - k;
	m[M_NEW_FLOWS] += created;
	m[M_UNTRACKED] += lost;
	m[M_FLOWS] = nf->table.size;
	if (nf->top_dirty)
		publish_top(nf);
}
