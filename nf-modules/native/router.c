/* router in C: the same logic as nf-modules/router (the bench's anchor).
 * IPv4 and IPv6 forwarding by longest-prefix match. A packet whose route is
 * found leaves by its next hop's port, with the next hop's MAC as destination
 * (and src_mac, if set, as source), its TTL or hop limit one less and, for
 * IPv4, its header checksum updated (RFC 1624).
 *
 * config (as the Wasm NF's, refused where it refuses):
 *   next_hops: [ { port: <port index>, mac: "02:00:00:00:00:02", src_mac: "..." } ]  (required, 1..65534)
 *   routes: [ { prefix: "10.0.0.0/8" | "2001:db8::/32", via: <next hop index> } ]  (required)
 *   non_ip: drop | pass                                                             (drop)
 *   egress: port | next                                                             (port)
 *
 * Dropped, each counted: no route (no_route), TTL/hop limit <= 1
 * (ttl_expired), IP headers that are truncated, lie about their length or
 * fail their checksum (malformed); non-IP frames unless non_ip is pass.
 *
 * IPv4: DIR-24-8 as nf-modules/sdk/lpm4.ts (a 2^24-entry first level, 256-entry
 * groups for the /24s that hold longer routes; an entry keeps the length of
 * the route that set it, so routes may come in any order). IPv6: the
 * multibit trie of nf-modules/sdk/lpm6.ts (a 16-bit first stride, then 8-bit
 * strides). Add only (the Wasm tables' rule hashes exist for remove(), which
 * a configured router never calls). Groups are sized from the routes as the
 * Wasm NF sizes them, so the same configs are refused as too big.
 * Entries (u32): EXT | group, or (len + 1) << 16 | (hop + 1); 0 is no route,
 * so the tables start as untouched zero pages.
 * A burst is worked as the Wasm NF works it: parse, check and collect the
 * destinations; first-level loads of all IPv4 destinations, then the rest of
 * each lookup and the rewrite. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "netvm_native.h"
#include "../sdk-c/netvm_parse.h"

const char NF_METRIC_NAMES[] = "forwarded,no_route,ttl_expired,malformed,non_ip";
enum { M_FORWARDED, M_NO_ROUTE, M_TTL_EXPIRED, M_MALFORMED, M_NON_IP };

#define MAX_NEXT_HOPS 65534
#define NO_ROUTE 0xffffu
#define EXT 0x80000000u
#define GROUP_MASK 0x00ffffffu
#define LPM4_MAX_GROUPS (1u << 19)
#define LPM6_MAX_GROUPS (1u << 19)
#define TBL24_BYTES ((size_t)4 << 24)

struct hop {
	uint8_t mac[6];
	uint8_t src_mac[6];
	bool has_src;
	uint32_t verdict; /* NETVM_OUT_PORT | port */
};

struct lpm4 {
	uint32_t *tbl24; /* 2^24 entries, mmap'd */
	uint32_t *tbl8;  /* max_groups * 256 entries */
	uint32_t max_groups, used_groups;
};

struct lpm6 {
	uint32_t l0[65536];
	uint32_t *tbl8;
	uint32_t max_groups, used_groups;
};

struct router {
	struct netvm_env env;
	struct hop *hops;
	struct lpm4 lpm4;
	struct lpm6 *lpm6;
	bool pass_non_ip;
	bool to_next;
};

static inline uint32_t entry_of(uint32_t len, uint16_t hop)
{
	return (len + 1) << 16 | (uint32_t)(hop + 1);
}

/* The hop of a non-EXT entry; NO_ROUTE for 0. */
static inline uint16_t hop_of(uint32_t e)
{
	return (uint16_t)((e & 0xffff) - 1);
}

/* bytes of zeroed memory (pages mapped on first touch); NULL on failure. */
static void *zeroed(size_t bytes, bool huge)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (huge)
		madvise(p, bytes, MADV_HUGEPAGE); /* fewer TLB misses over the 64 MiB; a hint only */
	return p;
}

/* Writes entry over the entries [start, end) of a table set by routes of
 * length code - 1 or shorter, and likewise over every group under them. */
static void paint(uint32_t *table, uint32_t *tbl8, uint32_t start, uint32_t end, uint32_t code, uint32_t entry)
{
	for (uint32_t j = start; j < end; j++) {
		uint32_t e = table[j];
		if (e & EXT)
			paint(tbl8 + ((size_t)(e & GROUP_MASK) << 8), tbl8, 0, 256, code, entry);
		else if (((e >> 16) & 0xff) <= code)
			table[j] = entry;
	}
}

/* ---- IPv4: DIR-24-8 (nf-modules/sdk/lpm4.ts) -------------------------------- */

static bool lpm4_init(struct lpm4 *t, uint32_t max_groups)
{
	t->max_groups = max_groups;
	t->used_groups = 0;
	t->tbl24 = zeroed(TBL24_BYTES, true);
	t->tbl8 = zeroed((size_t)(max_groups > 0 ? max_groups : 1) << 10, false);
	return t->tbl24 != NULL && t->tbl8 != NULL;
}

static void lpm4_free(struct lpm4 *t)
{
	if (t->tbl24 != NULL)
		munmap(t->tbl24, TBL24_BYTES);
	if (t->tbl8 != NULL)
		munmap(t->tbl8, (size_t)(t->max_groups > 0 ? t->max_groups : 1) << 10);
}

/* Adds prefix/len -> hop (prefix in host order); false when a group is needed and none is free. */
static bool lpm4_add(struct lpm4 *t, uint32_t prefix, uint32_t len, uint16_t hop)
{
	prefix &= len == 0 ? 0 : 0xffffffffu << (32 - len);
	const uint32_t entry = entry_of(len, hop);
	if (len <= 24) {
		uint32_t start = prefix >> 8;
		paint(t->tbl24, t->tbl8, start, start + (1u << (24 - len)), len + 1, entry);
		return true;
	}
	uint32_t *a = &t->tbl24[prefix >> 8];
	if (!(*a & EXT)) {
		if (t->used_groups == t->max_groups)
			return false;
		uint32_t g = t->used_groups++;
		uint32_t *group = t->tbl8 + ((size_t)g << 8);
		for (int j = 0; j < 256; j++)
			group[j] = *a;
		*a = EXT | g;
	}
	uint32_t start = prefix & 0xff;
	paint(t->tbl8 + ((size_t)(*a & GROUP_MASK) << 8), t->tbl8, start, start + (1u << (32 - len)), len + 1, entry);
	return true;
}

/* ---- IPv6: a 16-8-8-... multibit trie (nf-modules/sdk/lpm6.ts) -------------- */

/* The level a route of length len lives at: 0 (bits 0..15), or t >= 1 (bits 8t+8 .. 8t+15). */
static inline uint32_t level_of(uint32_t len)
{
	return len <= 16 ? 0 : (len - 9) >> 3;
}

/* Adds the prefix (16 bytes, network order)/len -> hop; false when the groups it needs are not free. */
static bool lpm6_add(struct lpm6 *t, const uint8_t addr[16], uint32_t len, uint16_t hop)
{
	uint8_t a[16];
	for (uint32_t k = 0; k < 16; k++) {
		uint32_t bits = len > 8 * k ? len - 8 * k : 0;
		a[k] = bits >= 8 ? addr[k] : (uint8_t)(addr[k] & (0xff00 >> bits));
	}
	const uint32_t target = level_of(len);
	const uint32_t top = netvm_be16(a);
	/* The groups that must be made, all or none. */
	uint32_t e = t->l0[top], needed = 0;
	for (uint32_t lv = 1; lv <= target; lv++) {
		if (!(e & EXT)) {
			needed = target - lv + 1;
			break;
		}
		e = t->tbl8[(size_t)(e & GROUP_MASK) << 8 | a[lv + 1]];
	}
	if (needed > t->max_groups - t->used_groups)
		return false;
	uint32_t *base = t->l0;
	uint32_t *at = &t->l0[top];
	for (uint32_t lv = 1; lv <= target; lv++) {
		if (!(*at & EXT)) {
			uint32_t g = t->used_groups++;
			uint32_t *group = t->tbl8 + ((size_t)g << 8);
			for (int j = 0; j < 256; j++)
				group[j] = *at;
			*at = EXT | g;
		}
		base = t->tbl8 + ((size_t)(*at & GROUP_MASK) << 8);
		at = &base[a[lv + 1]];
	}
	const uint32_t start = target == 0 ? top : a[target + 1];
	const uint32_t end_bit = target == 0 ? 16 : 8 * target + 16;
	paint(base, t->tbl8, start, start + (1u << (end_bit - len)), len + 1, entry_of(len, hop));
	return true;
}

static inline uint16_t lpm6_lookup(const struct lpm6 *t, const uint8_t *addr)
{
	uint32_t e = t->l0[netvm_be16(addr)];
	for (uint32_t k = 2; (e & EXT) && k < 16; k++)
		e = t->tbl8[(size_t)(e & GROUP_MASK) << 8 | addr[k]];
	return e & EXT ? NO_ROUTE : hop_of(e);
}

/* ---- configuration ---------------------------------------------------------- */

void nf_destroy(void *self)
{
	struct router *nf = self;
	if (nf == NULL)
		return;
	lpm4_free(&nf->lpm4);
	if (nf->lpm6 != NULL) {
		if (nf->lpm6->tbl8 != NULL)
			munmap(nf->lpm6->tbl8, (size_t)(nf->lpm6->max_groups > 0 ? nf->lpm6->max_groups : 1) << 10);
		free(nf->lpm6);
	}
	free(nf->hops);
	free(nf);
}

/* A member that must be present: NULL (JSON null too) is "required". */
static const json_t *required_array(const json_t *obj, const char *key, char *error, size_t error_len)
{
	const json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return netvm_fail(error, error_len, key, "required");
	if (!json_is_array(v))
		return netvm_fail(error, error_len, key, "must be an array");
	return v;
}

static bool object_at(const json_t *v, const char *path, char *error, size_t error_len)
{
	if (json_is_object(v))
		return true;
	netvm_fail(error, error_len, path, json_is_null(v) ? "required" : "must be an object");
	return false;
}

static bool read_hop(const json_t *v, const char *path, struct hop *h, char *error, size_t error_len)
{
	static const char *const keys[] = { "port", "mac", "src_mac", NULL };
	char where[64];
	int64_t port = 0;
	const char *mac = NULL, *src = "";
	if (!object_at(v, path, error, error_len) || !netvm_only_keys(v, path, keys, error, error_len) ||
	    !netvm_get_int(v, path, "port", true, 0, 65535, &port, error, error_len) ||
	    !netvm_get_string(v, path, "mac", true, &mac, error, error_len))
		return false;
	if (!netvm_parse_mac(mac, h->mac)) {
		snprintf(where, sizeof(where), "%s.mac", path);
		netvm_fail(error, error_len, where, "must be a MAC address like 02:00:00:00:00:01");
		return false;
	}
	if (!netvm_get_string(v, path, "src_mac", false, &src, error, error_len))
		return false;
	h->has_src = src[0] != '\0';
	if (h->has_src && !netvm_parse_mac(src, h->src_mac)) {
		snprintf(where, sizeof(where), "%s.src_mac", path);
		netvm_fail(error, error_len, where, "must be a MAC address like 02:00:00:00:00:01");
		return false;
	}
	h->verdict = NETVM_OUT_PORT | (uint32_t)port;
	return true;
}

/* A route, checked: its prefix, version, length and next hop. */
struct route {
	uint8_t addr[16];
	int version, len;
	uint16_t via;
};

static bool read_route(const json_t *v, const char *path, size_t n_hops, struct route *r, char *error, size_t error_len)
{
	static const char *const keys[] = { "prefix", "via", NULL };
	const char *text = NULL;
	int64_t via = 0;
	if (!object_at(v, path, error, error_len) || !netvm_only_keys(v, path, keys, error, error_len) ||
	    !netvm_get_string(v, path, "prefix", true, &text, error, error_len) ||
	    !netvm_get_int(v, path, "via", true, 0, n_hops > 0 ? (int64_t)n_hops - 1 : 0, &via, error, error_len))
		return false;
	if (!netvm_parse_prefix(text, r->addr, &r->version, &r->len)) {
		char where[64];
		snprintf(where, sizeof(where), "%s.prefix", path);
		netvm_fail(error, error_len, where, "'%s' is not an IPv4 or IPv6 prefix (like 10.0.0.0/8)", text);
		return false;
	}
	r->via = (uint16_t)via;
	return true;
}

void *nf_create(const json_t *config, const struct netvm_env *env, char *error, size_t error_len)
{
	static const char *const keys[] = { "next_hops", "routes", "non_ip", "egress", NULL };
	static const char *const non_ip_choices[] = { "drop", "pass", NULL };
	static const char *const egress_choices[] = { "port", "next", NULL };
	if (config == NULL)
		return netvm_fail(error, error_len, "", "a config is required (next_hops, routes)");
	if (!json_is_object(config))
		return netvm_fail(error, error_len, "", "must be an object");
	int non_ip = 0, egress = 0;
	if (!netvm_only_keys(config, "", keys, error, error_len) ||
	    !netvm_get_choice(config, "", "non_ip", false, non_ip_choices, &non_ip, error, error_len) ||
	    !netvm_get_choice(config, "", "egress", false, egress_choices, &egress, error, error_len))
		return NULL;
	const json_t *hops = required_array(config, "next_hops", error, error_len);
	if (hops == NULL)
		return NULL;
	const size_t n_hops = json_array_size(hops);
	if (n_hops == 0 || n_hops > MAX_NEXT_HOPS)
		return netvm_fail(error, error_len, "next_hops", "must hold 1 to %d next hops", MAX_NEXT_HOPS);
	const json_t *routes = required_array(config, "routes", error, error_len);
	if (routes == NULL)
		return NULL;
	const size_t n_routes = json_array_size(routes);

	struct router *nf = calloc(1, sizeof(*nf));
	struct route *checked = malloc((n_routes > 0 ? n_routes : 1) * sizeof(struct route));
	if (nf == NULL || checked == NULL || (nf->hops = calloc(n_hops, sizeof(struct hop))) == NULL) {
		free(checked);
		free(nf);
		return netvm_fail(error, error_len, "", "out of memory");
	}
	nf->env = *env;
	char path[48];
	for (size_t i = 0; i < n_hops; i++) {
		snprintf(path, sizeof(path), "next_hops[%zu]", i);
		if (!read_hop(json_array_get(hops, i), path, &nf->hops[i], error, error_len))
			goto fail;
	}
	/* Size the tables from the routes as the Wasm NF does: one tbl8 group at
	 * most per IPv4 route longer than /24; one IPv6 group per byte of prefix
	 * past the first 16 bits. */
	uint32_t groups4 = 1, groups6 = 1;
	for (size_t i = 0; i < n_routes; i++) {
		snprintf(path, sizeof(path), "routes[%zu]", i);
		struct route *r = &checked[i];
		if (!read_route(json_array_get(routes, i), path, n_hops, r, error, error_len))
			goto fail;
		if (r->version == 4 && r->len > 24)
			groups4++;
		else if (r->version == 6 && r->len > 16)
			groups6 += (uint32_t)(r->len - 9) >> 3;
	}
	if (!lpm4_init(&nf->lpm4, groups4 < LPM4_MAX_GROUPS ? groups4 : LPM4_MAX_GROUPS) ||
	    (nf->lpm6 = calloc(1, sizeof(struct lpm6))) == NULL) {
		netvm_fail(error, error_len, "routes", "out of memory for the tables");
		goto fail;
	}
	nf->lpm6->max_groups = groups6 < LPM6_MAX_GROUPS ? groups6 : LPM6_MAX_GROUPS;
	nf->lpm6->tbl8 = zeroed((size_t)nf->lpm6->max_groups << 10, false);
	if (nf->lpm6->tbl8 == NULL) {
		netvm_fail(error, error_len, "routes", "out of memory for the tables");
		goto fail;
	}
	for (size_t i = 0; i < n_routes; i++) {
		const struct route *r = &checked[i];
		bool added = r->version == 4 ? lpm4_add(&nf->lpm4, netvm_be32(r->addr), (uint32_t)r->len, r->via)
					     : lpm6_add(nf->lpm6, r->addr, (uint32_t)r->len, r->via);
		if (!added) {
			snprintf(path, sizeof(path), "routes[%zu]", i);
			netvm_fail(error, error_len, path, "could not be added (the table is full)");
			goto fail;
		}
	}
	free(checked);
	nf->pass_non_ip = non_ip == 1;
	nf->to_next = egress == 1;
	return nf;
fail:
	free(checked);
	nf_destroy(nf);
	return NULL;
}

/* ---- per packet --------------------------------------------------------------- */

/* Rewrites the MACs and sends packet i by next hop h. */
static inline void send_by(const struct router *nf, struct netvm_record *rec, uint8_t *pkt, uint16_t h)
{
	const struct hop *hop = &nf->hops[h];
	memcpy(pkt, hop->mac, 6);
	if (hop->has_src)
		memcpy(pkt + 6, hop->src_mac, 6);
	if (!nf->to_next)
		rec->verdict = hop->verdict;
	nf->env.metrics[M_FORWARDED]++;
}

void nf_process(void *self, uint32_t n)
{
	struct router *nf = self;
	struct netvm_record *rec = nf->env.records;
	uint8_t *window = nf->env.window;
	uint64_t *m = nf->env.metrics;
	const uint32_t *tbl24 = nf->lpm4.tbl24;
	const uint32_t *tbl8 = nf->lpm4.tbl8;
	/* Per burst: which packets wait for which lookup, and where their IP header is. */
	uint32_t dst4[NETVM_MAX_BURST], e4[NETVM_MAX_BURST];
	uint16_t idx4[NETVM_MAX_BURST], idx6[NETVM_MAX_BURST];
	uint8_t *ip_of[NETVM_MAX_BURST];
	uint32_t k4 = 0, k6 = 0;
	struct netvm_parsed p;
	if (n > NETVM_MAX_BURST)
		n = NETVM_MAX_BURST;

	/* Pass 1: check and classify; collect destinations. */
	for (uint32_t i = 0; i < n; i++) {
		netvm_parsed_at(&rec[i], window, &p);
		uint8_t *ip = p.pkt + p.l3;
		ip_of[i] = ip;
		if (p.ip_version == 4) {
			if (p.ip_truncated || !netvm_ipv4_checksum_ok(&p)) {
				m[M_MALFORMED]++;
				rec[i].verdict = NETVM_DROP;
			} else if (ip[8] <= 1) {
				m[M_TTL_EXPIRED]++;
				rec[i].verdict = NETVM_DROP;
			} else {
				dst4[k4] = netvm_be32(ip + 16);
				idx4[k4++] = (uint16_t)i;
			}
		} else if (p.ip_version == 6) {
			if (p.ip_truncated) {
				m[M_MALFORMED]++;
				rec[i].verdict = NETVM_DROP;
			} else if (ip[7] <= 1) {
				m[M_TTL_EXPIRED]++;
				rec[i].verdict = NETVM_DROP;
			} else {
				idx6[k6++] = (uint16_t)i;
			}
		} else if (p.ether_type == NETVM_ETHERTYPE_IPV4 || p.ether_type == NETVM_ETHERTYPE_IPV6) {
			m[M_MALFORMED]++;
			rec[i].verdict = NETVM_DROP;
		} else {
			m[M_NON_IP]++;
			if (!nf->pass_non_ip)
				rec[i].verdict = NETVM_DROP;
		}
	}
	/* Pass 2: the first-level loads of every IPv4 destination together (their misses overlap). */
	for (uint32_t j = 0; j < k4; j++)
		e4[j] = tbl24[dst4[j] >> 8];
	/* Pass 3: the rest of each lookup; step, rewrite, send. */
	for (uint32_t j = 0; j < k4; j++) {
		uint32_t e = e4[j];
		if (e & EXT)
			e = tbl8[(size_t)(e & GROUP_MASK) << 8 | (dst4[j] & 0xff)];
		const uint16_t h = hop_of(e);
		const uint32_t i = idx4[j];
		if (h == NO_ROUTE) {
			m[M_NO_ROUTE]++;
			rec[i].verdict = NETVM_DROP;
			continue;
		}
		uint8_t *ip = ip_of[i];
		const uint16_t old_word = netvm_be16(ip + 8);
		const uint16_t new_word = (uint16_t)(old_word - 0x100);
		netvm_put_be16(ip + 8, new_word);
		netvm_put_be16(ip + 10, netvm_checksum_update16(netvm_be16(ip + 10), old_word, new_word));
		send_by(nf, &rec[i], window + rec[i].pool_off, h);
	}
	for (uint32_t j = 0; j < k6; j++) {
		const uint32_t i = idx6[j];
		uint8_t *ip = ip_of[i];
		const uint16_t h = lpm6_lookup(nf->lpm6, ip + 24);
		if (h == NO_ROUTE) {
			m[M_NO_ROUTE]++;
			rec[i].verdict = NETVM_DROP;
			continue;
		}
		ip[7]--;
		send_by(nf, &rec[i], window + rec[i].pool_off, h);
	}
}
