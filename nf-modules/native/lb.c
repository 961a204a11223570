/* lb in C: the same logic as nf-modules/lb (the bench's anchor). An L4 load
 * balancer with Maglev consistent hashing in direct-server-return mode: a
 * packet to a VIP leaves by one of the VIP's backends, its destination MAC
 * rewritten; a flow's backend is chosen once, by the VIP's Maglev table, and
 * kept in a flow table for the flow's life.
 *
 * config: as the Wasm NF's, read by the C SDK's readers (from the JSON text),
 * so it is refused where and as the Wasm NF refuses it:
 *   vips: [ { vip, port, proto: tcp | udp, backends: [ { name, mac, port } ] } ]  (required)
 *   table_size: prime (65537), flows: int (65536), timeout_s: number (60), egress: port | next (port)
 *
 * The same Maglev tables (names hashed as JavaScript strings: FNV-1a over
 * UTF-16 code units), flow keys, hash and flow table (../sdk-c/netvm_flow_table.h:
 * the SDK's), so every flow goes to the backend the Wasm NF sends it to. A
 * burst is worked as the Wasm NF works it: parse, match the VIP, key and hash
 * each packet; the flow table's misses of the whole burst started together;
 * then each flow's lookup, backend and rewrite.
 *
 * Metrics: the Wasm NF's, but for its per-backend counters to_<name>: a
 * native NF's metric names are fixed when it loads, before any config. The
 * counts are kept all the same (the same work per packet), not exported.
 * No state handover (the bench does not swap it). */
#include <stdlib.h>

#include "netvm_native.h"
#include "../sdk-c/netvm_flow_table.h"

const char NF_METRIC_NAMES[] = "balanced,new_flows,not_vip,untracked,imported_flows,import_skipped,flows:gauge";
enum { M_BALANCED, M_NEW_FLOWS, M_NOT_VIP, M_UNTRACKED, M_IMPORTED_FLOWS, M_IMPORT_SKIPPED, M_FLOWS };

#define MAX_VIPS 64
#define MAX_BACKENDS 1024
#define NAME_BYTES 256
#define EXPIRE_BUDGET 64u

struct vip {
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	uint8_t version;
	uint8_t proto;
	uint16_t port;
	uint32_t first; /* its backends: [first, first + count) of the lb's */
	uint32_t count;
	uint16_t *table; /* tableSize entries: a backend, relative to first */
};

struct lb {
	struct netvm_env env;
	struct vip vips[MAX_VIPS];
	uint32_t n_vips;
	uint32_t table_size;
	bool to_next;
	uint32_t n_backends;
	uint8_t mac[MAX_BACKENDS][6];
	uint32_t verdict[MAX_BACKENDS]; /* NETVM_OUT_PORT | the backend's port */
	uint64_t to_backend[MAX_BACKENDS];
	char (*names)[NAME_BYTES]; /* while configuring: each backend's name */
	struct netvm_flow_table flows;
};

void nf_destroy(void *self)
{
	struct lb *lb = self;
	if (lb == NULL)
		return;
	for (uint32_t i = 0; i < lb->n_vips; i++)
		free(lb->vips[i].table);
	free(lb->names);
	free(lb->flows.buckets);
	free(lb->flows.slots);
	free(lb);
}

/* ---- Maglev (nf-modules/lb: buildTable) ------------------------------------ */

/* FNV-1a over the UTF-16 code units of a UTF-8 name (as the Wasm NF hashes a string), with a seed. */
static uint32_t name_hash(const char *name, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;
	for (const uint8_t *s = (const uint8_t *)name; *s != 0;) {
		uint32_t cp;
		if (*s < 0x80)
			cp = *s++;
		else if (*s < 0xe0)
			cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f), s += 2;
		else if (*s < 0xf0)
			cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f), s += 3;
		else
			cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 | (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f), s += 4;
		uint32_t units[2] = { cp, 0 };
		int n = 1;
		if (cp >= 0x10000)
			units[0] = 0xd800 + ((cp - 0x10000) >> 10), units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff), n = 2;
		for (int k = 0; k < n; k++) {
			h ^= units[k];
			h *= 16777619u;
		}
	}
	return h;
}

/* The Maglev table of m entries for the n backends named names; NULL when out of memory. */
static uint16_t *build_table(char (*names)[NAME_BYTES], uint32_t n, uint32_t m)
{
	uint16_t *table = malloc((size_t)m * 2);
	uint32_t *offset = malloc((size_t)n * 4), *skip = malloc((size_t)n * 4), *next = calloc(n, 4);
	if (table != NULL && offset != NULL && skip != NULL && next != NULL) {
		memset(table, 0xff, (size_t)m * 2);
		for (uint32_t i = 0; i < n; i++) {
			offset[i] = name_hash(names[i], 0x5bd1e995u) % m;
			skip[i] = name_hash(names[i], 0x1b873593u) % (m - 1) + 1;
		}
		for (uint32_t filled = 0; filled < m;)
			for (uint32_t i = 0; i < n && filled < m; i++) {
				/* The next entry in backend i's preference order that is still free. */
				uint32_t c = (uint32_t)(((uint64_t)offset[i] + (uint64_t)next[i] * skip[i]) % m);
				while (table[c] != 0xffff) {
					next[i]++;
					c = (uint32_t)(((uint64_t)offset[i] + (uint64_t)next[i] * skip[i]) % m);
				}
				table[c] = (uint16_t)i;
				next[i]++;
				filled++;
			}
	} else {
		free(table);
		table = NULL;
	}
	free(offset);
	free(skip);
	free(next);
	return table;
}

/* ---- configuration (nf-modules/lb: readVip, netvm_configure) --------------- */

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static const char *const VIP_KEYS[] = { "vip", "port", "proto", "backends", NULL };
static const char *const BACKEND_KEYS[] = { "name", "mac", "port", NULL };
static const char *const PROTOS[] = { "tcp", "udp", NULL };

static bool read_backend(struct lb *lb, struct netvm_config *c, netvm_json b, const char *path)
{
	char where[160], reason[320];
	const uint32_t k = lb->n_backends;
	char *name = lb->names[k];
	char mac[NAME_BYTES];
	int64_t port = 0;
	if (!netvm_config_object(c, b, path) || !netvm_config_only_keys(c, b, path, BACKEND_KEYS) ||
	    !netvm_config_string(c, b, path, "name", true, name, NAME_BYTES))
		return false;
	for (uint32_t i = 0; i < k; i++)
		if (strcmp(lb->names[i], name) == 0) {
			snprintf(reason, sizeof(reason), "'%s' is used twice", name);
			return netvm_config_fail(c, netvm_key_path(where, sizeof(where), path, "name"), reason);
		}
	if (k == MAX_BACKENDS)
		return netvm_config_fail(c, path, "more than 1024 backends");
	if (!netvm_config_string(c, b, path, "mac", true, mac, sizeof(mac)))
		return false;
	if (!netvm_parse_mac(mac, lb->mac[k]))
		return netvm_config_fail(c, netvm_key_path(where, sizeof(where), path, "mac"), "must be a MAC address like 02:00:00:00:00:01");
	if (!netvm_config_int(c, b, path, "port", true, 0, 65535, &port))
		return false;
	lb->verdict[k] = NETVM_OUT_PORT | (uint32_t)port;
	lb->n_backends++;
	return true;
}

static bool read_vip(struct lb *lb, struct netvm_config *c, netvm_json v, const char *path)
{
	struct vip *vip = &lb->vips[lb->n_vips];
	char where[160], reason[320], addr[NAME_BYTES];
	int version = 0, len = 0, proto = 0;
	int64_t port = 0;
	netvm_json list;
	if (!netvm_config_object(c, v, path) || !netvm_config_only_keys(c, v, path, VIP_KEYS) ||
	    !netvm_config_string(c, v, path, "vip", true, addr, sizeof(addr)))
		return false;
	if (!netvm_parse_prefix(addr, vip->addr, &version, &len) || len != (version == 4 ? 32 : 128)) {
		snprintf(reason, sizeof(reason), "'%s' is not an IPv4 or IPv6 address", addr);
		return netvm_config_fail(c, netvm_key_path(where, sizeof(where), path, "vip"), reason);
	}
	if (!netvm_config_int(c, v, path, "port", true, 0, 65535, &port) || !netvm_config_choice(c, v, path, "proto", true, PROTOS, &proto) ||
	    !netvm_config_array(c, v, path, "backends", true, &list))
		return false;
	const uint32_t n = netvm_json_count(c, list);
	char backends[160];
	netvm_key_path(backends, sizeof(backends), path, "backends");
	if (n == 0)
		return netvm_config_fail(c, backends, "needs at least one backend");
	vip->version = (uint8_t)version;
	vip->port = (uint16_t)port;
	vip->proto = proto == 0 ? NETVM_IPPROTO_TCP : NETVM_IPPROTO_UDP;
	vip->first = lb->n_backends;
	for (uint32_t i = 0; i < n; i++)
		if (!read_backend(lb, c, netvm_json_item(c, list, i), netvm_item_path(where, sizeof(where), backends, i)))
			return false;
	vip->count = n;
	vip->table = build_table(lb->names + vip->first, n, lb->table_size);
	if (vip->table == NULL)
		return netvm_config_fail(c, path, "out of memory");
	lb->n_vips++;
	return true;
}

static const char *const ROOT_KEYS[] = { "vips", "table_size", "flows", "timeout_s", "egress", NULL };
static const char *const EGRESS[] = { "port", "next", NULL };

static bool configure(void *self, struct netvm_config *c)
{
	struct lb *lb = self;
	const netvm_json root = 0;
	int egress = 0;
	int64_t table_size = 65537, flows = 65536;
	double timeout_s = 60;
	netvm_json list;
	char where[32];
	if (!netvm_config_object(c, root, "") || !netvm_config_only_keys(c, root, "", ROOT_KEYS) ||
	    !netvm_config_choice(c, root, "", "egress", false, EGRESS, &egress) ||
	    !netvm_config_int(c, root, "", "table_size", false, 3, 1048573, &table_size))
		return false;
	if (!is_prime((uint32_t)table_size))
		return netvm_config_fail(c, "table_size", "must be a prime (like 65537)");
	if (!netvm_config_int(c, root, "", "flows", false, 1, 8388608, &flows) ||
	    !netvm_config_number(c, root, "", "timeout_s", false, 0.001, 604800, &timeout_s) ||
	    !netvm_config_array(c, root, "", "vips", true, &list))
		return false;
	const uint32_t n = netvm_json_count(c, list);
	if (n == 0 || n > MAX_VIPS)
		return netvm_config_fail(c, "vips", "must hold 1 to 64 VIPs");
	lb->to_next = egress == 1;
	lb->table_size = (uint32_t)table_size;
	for (uint32_t i = 0; i < n; i++)
		if (!read_vip(lb, c, netvm_json_item(c, list, i), netvm_item_path(where, sizeof(where), "vips", i)))
			return false;
	if (!netvm_flow_table_init(&lb->flows, (uint32_t)flows, (uint64_t)(timeout_s * 1e9), 0, netvm_zeroed))
		return netvm_config_fail(c, "flows", "out of memory");
	return true;
}

void *nf_create(const json_t *config, const struct netvm_env *env, char *error, size_t error_len)
{
	if (config == NULL)
		return netvm_fail(error, error_len, "", "a config is required (vips)");
	struct lb *lb = calloc(1, sizeof(*lb));
	if (lb == NULL || (lb->names = malloc(sizeof(*lb->names) * MAX_BACKENDS)) == NULL) {
		nf_destroy(lb);
		return netvm_fail(error, error_len, "", "out of memory");
	}
	lb->env = *env;
	if (!netvm_sdk_configure(config, configure, lb, error, error_len)) {
		nf_destroy(lb);
		return NULL;
	}
	free(lb->names);
	lb->names = NULL;
	return lb;
}

/* ---- per burst ---------------------------------------------------------------- */

/* The VIP the parsed packet goes to, or NULL. */
static inline const struct vip *vip_of(const struct lb *lb, const struct netvm_parsed *p)
{
	if (p->l4 == 0 || (p->l4_proto != NETVM_IPPROTO_TCP && p->l4_proto != NETVM_IPPROTO_UDP))
		return NULL;
	const uint8_t *dst = netvm_dst_addr(p);
	for (uint32_t i = 0; i < lb->n_vips; i++) {
		const struct vip *v = &lb->vips[i];
		if (v->version != p->ip_version || v->proto != p->l4_proto || v->port != p->dst_port)
			continue;
		if (memcmp(dst, v->addr, v->version == 4 ? 4 : 16) == 0)
			return v;
	}
	return NULL;
}

void nf_process(void *self, uint32_t n)
{
	struct lb *lb = self;
	struct netvm_record *rec = lb->env.records;
	uint64_t *m = lb->env.metrics;
	const uint64_t now = netvm_now_ns(&lb->env);
	/* The burst's packets to a VIP: their keys, hashes, records and VIPs. */
	uint64_t keys[NETVM_MAX_BURST][5];
	uint32_t hashes[NETVM_MAX_BURST], index[NETVM_MAX_BURST];
	const struct vip *vips[NETVM_MAX_BURST];
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct netvm_parsed p;
		const struct vip *v = netvm_parsed_at(&rec[i], lb->env.window, &p) ? vip_of(lb, &p) : NULL;
		if (v == NULL)
			continue;
		netvm_flow_key(&p, keys[k]);
		hashes[k] = netvm_flow_hash(keys[k]);
		index[k] = i;
		vips[k] = v;
		k++;
	}
	netvm_flow_prefetch(&lb->flows, hashes, k);
	uint64_t created = 0, lost = 0;
	for (uint32_t j = 0; j < k; j++) {
		bool inserted;
		const int64_t slot = netvm_flow_find_or_insert(&lb->flows, keys[j], hashes[j], now, &inserted);
		uint32_t b;
		if (slot >= 0 && !inserted) {
			b = lb->flows.slots[slot].value;
		} else {
			const struct vip *v = vips[j];
			b = v->first + v->table[hashes[j] % lb->table_size];
			if (slot >= 0) {
				lb->flows.slots[slot].value = b;
				created++;
			} else {
				lost++;
			}
		}
		struct netvm_record *r = &rec[index[j]];
		memcpy(lb->env.window + r->pool_off, lb->mac[b], 6);
		if (!lb->to_next)
			r->verdict = lb->verdict[b];
		lb->to_backend[b]++;
	}
	netvm_flow_expire(&lb->flows, now, EXPIRE_BUDGET);
	m[M_BALANCED] += k;
	m[M_NOT_VIP] += n - k;
	m[M_NEW_FLOWS] += created;
	m[M_UNTRACKED] += lost;
	m[M_FLOWS] = lb->flows.size;
}
