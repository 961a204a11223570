/* firewall in C: the same logic as nf-modules/firewall, in one header that
 * two builds share: firewall-c (nf.c: Wasm, with the C SDK) and the bench's
 * native anchor (nf-modules/native/firewall.c). Only the build differs.
 * An ordered 5-tuple ACL with a default policy, and an optional stateful
 * mode that lets the return traffic of allowed flows through.
 *
 * config (as the Wasm NF's, refused where it refuses):
 *   default: allow | deny              (required) when no rule matches
 *   non_ip: allow | deny               (allow) frames that are not IPv4/IPv6
 *   stateful: bool                     (false)
 *   flows: int                         (65536) flows tracked, stateful mode
 *   timeout_s: number                  (120) idle time before a flow is forgotten
 *   rules: [ { action: allow | deny,
 *              proto: tcp | udp | icmp | icmpv6 | any | 0..255,  (any)
 *              src: prefix, dst: prefix,                          (any; IPv4 or IPv6)
 *              sport: port | "lo-hi", dport: port | "lo-hi" } ]    (any; need tcp or udp)
 *
 * The first rule that matches decides; a rule with ports matches only packets
 * whose TCP/UDP header is there. IP frames that do not parse as IP are
 * dropped (malformed). Stateful: a flow is remembered when a rule allows its
 * first packet (for TCP, a SYN without ACK); later packets of the flow, both
 * ways, pass without the rules. TCP: until the responder's SYN+ACK, it may
 * send only SYN+ACK or RST (anything else: invalid_tcp); an RST ends the flow.
 *
 * The flow table is the SDK's FlowTable (nf-modules/sdk/flow-table.ts) with
 * the same keys and hash (nf-modules/sdk/flow.ts), so that it fills, reclaims
 * and expires exactly as the Wasm NF's does: open addressing with linear
 * probing and backward-shift deletion over 2 * capacity 8-byte buckets
 * (hash << 32 | slot + 1), the flows in 64-byte records (one cache line: key,
 * last seen, hash, free-list link, and here the flow's own state too), a free
 * list, and an incremental expiry sweep of 64 slots a burst. It takes no
 * messages (blocks) yet: denied_by_block and blocks stay 0.
 *
 * The including file defines firewall_alloc (zeroed memory that lives as long
 * as the instance: the native build frees it in nf_destroy). */
#include "netvm_json.h"
#include "netvm_parse.h"

static void *firewall_alloc(uint32_t size);

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "flow keys and hashes are laid out as in Wasm memory: little-endian"
#endif

/* The metrics, in slot order. */
#define FIREWALL_METRIC_NAMES                                                                 \
	"allowed_by_rule,allowed_by_default,allowed_by_state,denied_by_rule,denied_by_default," \
	"malformed,invalid_tcp,untracked,imported_flows,flows:gauge,denied_by_block,blocks:gauge"
enum {
	M_ALLOWED_BY_RULE,
	M_ALLOWED_BY_DEFAULT,
	M_ALLOWED_BY_STATE,
	M_DENIED_BY_RULE,
	M_DENIED_BY_DEFAULT,
	M_MALFORMED,
	M_INVALID_TCP,
	M_UNTRACKED,
	M_IMPORTED_FLOWS,
	M_FLOWS,
	M_DENIED_BY_BLOCK, /* the AssemblyScript firewall's blocks (messages): none here yet, 0 */
	M_BLOCKS,
	M_COUNT
};

#define MAX_CAPACITY (1u << 23)
#define RECLAIM_SWEEP 16u
#define EXPIRE_BUDGET 64u

/* A rule; addresses and masks in host order (IPv6 as two halves, high first). */
struct rule {
	uint8_t allow;
	uint8_t version; /* 0 any, 4, 6 */
	int16_t proto;   /* -1 any */
	bool ports;      /* sport or dport given */
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	uint32_t src4, src4_mask, dst4, dst4_mask;
	uint64_t src6[2], src6_mask[2], dst6[2], dst6_mask[2];
};

/* TCP state of a flow. */
enum { TCP_NONE, TCP_AWAIT_SYNACK, TCP_OPEN };

/* A flow-table slot: one cache line. */
struct flow {
	uint64_t key[5];
	uint64_t last; /* last seen, ns */
	uint32_t hash;
	uint32_t next;   /* next free slot + 1 (0: end of the free list) */
	uint8_t used;    /* 1 while the slot holds a flow */
	uint8_t reverse; /* the initiator's direction bit */
	uint8_t tcp;     /* TCP_* */
	uint8_t pad[5];
};
_Static_assert(sizeof(struct flow) == 64, "a flow is a cache line");

struct flow_table {
	uint64_t *buckets;
	struct flow *slots;
	uint32_t bucket_mask;
	uint32_t capacity;
	uint64_t timeout_ns;
	uint32_t size;
	uint32_t free_head; /* slot + 1; 0 when none is free */
	uint32_t cursor;    /* next slot the sweep examines */
};

struct firewall {
	uint64_t *metrics; /* M_COUNT slots */
	struct rule *rules;
	uint32_t n_rules;
	bool allow_by_default;
	bool allow_non_ip;
	bool stateful;
	struct flow_table table;
};

/* ---- the flow table (nf-modules/sdk/flow-table.ts) ------------------------- */

static uint32_t pow2_at_least(uint32_t x)
{
	return x <= 1 ? 1 : 1u << (32 - __builtin_clz(x - 1));
}

static bool table_init(struct flow_table *t, uint32_t capacity, uint64_t timeout_ns)
{
	uint32_t cap = capacity < 1 ? 1 : capacity > MAX_CAPACITY ? MAX_CAPACITY : capacity;
	cap = pow2_at_least(cap);
	size_t nb = (size_t)cap << 1;
	t->buckets = firewall_alloc((uint32_t)(nb * sizeof(uint64_t)));
	t->slots = firewall_alloc(cap * (uint32_t)sizeof(struct flow));
	if (t->buckets == NULL || t->slots == NULL)
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

static inline bool key_equal(const uint64_t *a, const uint64_t *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

/* The bucket holding key (>= 0), or -1 with *empty the first empty bucket of
 * its probe path (where findOrInsert would put it). */
static inline int64_t table_lookup(const struct flow_table *t, const uint64_t *key, uint32_t hash, uint32_t *empty)
{
	const uint64_t tag = (uint64_t)hash << 32;
	uint32_t i = hash & t->bucket_mask;
	for (;;) {
		uint64_t b = t->buckets[i];
		if (b == 0) {
			*empty = i;
			return -1;
		}
		if ((b & 0xffffffff00000000ull) == tag && key_equal(t->slots[(uint32_t)b - 1].key, key))
			return i;
		i = (i + 1) & t->bucket_mask;
	}
}

/* The bucket pointing at a slot in use (on its key's probe path). */
static uint32_t bucket_of_slot(const struct flow_table *t, uint32_t slot)
{
	uint32_t i = t->slots[slot].hash & t->bucket_mask;
	while ((uint32_t)t->buckets[i] != slot + 1)
		i = (i + 1) & t->bucket_mask;
	return i;
}

/* Backward-shift deletion: empties bucket i, moving back the entries after it
 * that may sit there (those whose home is not in (i, j]). */
static void delete_bucket(struct flow_table *t, uint32_t i)
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

static void free_slot(struct flow_table *t, uint32_t s)
{
	t->slots[s].used = 0;
	t->slots[s].next = t->free_head;
	t->free_head = s + 1;
	t->size--;
}

static inline bool expired(const struct flow_table *t, uint64_t seen, uint64_t now)
{
	return now > seen && now - seen > t->timeout_ns;
}

/* The incremental sweep: examines at most budget slots from where the last
 * one stopped and frees the flows idle longer than the timeout. */
static void table_expire(struct flow_table *t, uint64_t now, uint32_t budget)
{
	const uint32_t last = t->capacity - 1;
	uint32_t cursor = t->cursor;
	uint32_t n = budget < t->capacity ? budget : t->capacity;
	while (n != 0) {
		struct flow *f = &t->slots[cursor];
		if (f->used && expired(t, f->last, now)) {
			delete_bucket(t, bucket_of_slot(t, cursor));
			free_slot(t, cursor);
		}
		cursor = (cursor + 1) & last;
		n--;
	}
	t->cursor = cursor;
}

/* No slot is free: frees the first expired flow on the probe path
 * [home, end) of a new key, else sweeps RECLAIM_SWEEP slots. Whether a slot
 * is free now. */
static bool table_reclaim(struct flow_table *t, uint32_t hash, uint32_t end, uint64_t now)
{
	for (uint32_t i = hash & t->bucket_mask; i != end; i = (i + 1) & t->bucket_mask) {
		uint32_t s = (uint32_t)t->buckets[i] - 1;
		if (expired(t, t->slots[s].last, now)) {
			delete_bucket(t, i);
			free_slot(t, s);
			return true;
		}
	}
	table_expire(t, now, RECLAIM_SWEEP);
	return t->free_head != 0;
}

/* Inserts key (absent: table_lookup gave empty, and nothing changed since);
 * its new slot, or -1 when none is free even after reclaiming. */
static int64_t table_insert(struct flow_table *t, const uint64_t *key, uint32_t hash, uint32_t empty, uint64_t now)
{
	if (t->free_head == 0) {
		if (!table_reclaim(t, hash, empty, now))
			return -1;
		/* Deletions shift buckets back: find the first empty bucket again. */
		empty = hash & t->bucket_mask;
		while (t->buckets[empty] != 0)
			empty = (empty + 1) & t->bucket_mask;
	}
	uint32_t s = t->free_head - 1;
	struct flow *f = &t->slots[s];
	t->free_head = f->next;
	__builtin_memcpy(f->key, key, sizeof(f->key));
	f->last = now;
	f->hash = hash;
	f->used = 1;
	t->buckets[empty] = (uint64_t)hash << 32 | (s + 1);
	t->size++;
	return s;
}

/* ---- flow keys (nf-modules/sdk/flow.ts) ------------------------------------ */

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, 8);
	return v;
}

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, 4);
	return v;
}

/* p's canonical flow key (40 bytes, as flowKey lays it out in Wasm memory);
 * true when p goes from the higher endpoint to the lower one. */
static inline bool flow_key(const struct netvm_parsed *p, uint64_t key[5])
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
		s0 = load64(src), s1 = load64(src + 8), d0 = load64(dst), d1 = load64(dst + 8);
		uint64_t x = __builtin_bswap64(s0), y = __builtin_bswap64(d0);
		if (x == y)
			x = __builtin_bswap64(s1), y = __builtin_bswap64(d1);
		order = x < y ? -1 : x > y;
	} else {
		uint32_t a = load32(src), b = load32(dst);
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

static inline uint32_t flow_hash(const uint64_t key[5])
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

/* ---- configuration ---------------------------------------------------------- */

static const char *const ALLOW_CHOICES[] = { "deny", "allow", NULL };

static bool is_space(unsigned c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d);
}

/* AssemblyScript's I32.parseInt(s) (radix from the prefix: 0b, 0o, 0x, else
 * 10), which the Wasm NF reads the two ends of a port range with: leading
 * white space and a '+' skipped, digits read up to the first that is not one
 * (0 when the first is not), i32 wrapping. */
static int32_t as_parse_int(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && is_space((unsigned char)s[i]))
		i++;
	size_t rem = len - i;
	if (rem == 0)
		return 0;
	int32_t sign = 1;
	if (s[i] == '-' || s[i] == '+') {
		if (--rem == 0)
			return 0;
		if (s[i] == '-')
			sign = -1;
		i++;
	}
	unsigned radix = 10;
	if (s[i] == '0' && rem > 2) {
		switch (s[i + 1] | 32) {
		case 'b':
			radix = 2;
			break;
		case 'o':
			radix = 8;
			break;
		case 'x':
			radix = 16;
			break;
		}
		if (radix != 10) {
			i += 2;
			rem -= 2;
		}
	}
	uint32_t num = 0;
	for (size_t k = 0; k < rem; k++) {
		unsigned code = (unsigned char)s[i + k];
		if (code - '0' < 10)
			code -= '0';
		else if (code - 'A' <= 'Z' - 'A')
			code -= 'A' - 10;
		else if (code - 'a' <= 'z' - 'a')
			code -= 'a' - 10;
		if (code >= radix) {
			if (k == 0)
				return 0;
			break;
		}
		num = num * radix + code;
	}
	return (int32_t)((uint32_t)sign * num);
}

/* sport or dport: a port or a range "lo-hi"; [0, 65535] when absent. */
static bool read_ports(struct netvm_config *c, netvm_json rule, const char *path, const char *name, uint16_t *lo_out, uint16_t *hi_out,
		       bool *given)
{
	*lo_out = 0;
	*hi_out = 0xffff;
	*given = false;
	const netvm_json v = netvm_json_get(c, rule, name);
	if (v == NETVM_JSON_NONE)
		return true;
	int64_t lo = -1, hi = -1;
	char s[128];
	int32_t len;
	if (netvm_json_kind(c, v) == NETVM_JSON_NUMBER) {
		double n = netvm_json_number(c, v);
		if (n >= 0 && n <= 65535 && n == (double)(int64_t)n)
			lo = hi = (int64_t)n;
	} else if (netvm_json_kind(c, v) == NETVM_JSON_STRING && (len = netvm_json_string(c, v, s, sizeof(s))) >= 0) {
		int32_t dash = -1, dashes = 0;
		for (int32_t k = 0; k < len; k++)
			if (s[k] == '-' && dashes++ == 0)
				dash = k;
		if (dashes == 1) {
			size_t n0 = (size_t)dash, n1 = (size_t)(len - dash - 1);
			lo = as_parse_int(s, n0);
			hi = as_parse_int(s + dash + 1, n1);
			if (n0 == 0 || n1 == 0 || lo < 0 || hi > 65535 || lo > hi)
				lo = -1;
		}
	}
	if (lo < 0)
		return netvm_config_bad(c, path, name, "must be a port (0-65535) or a range \"lo-hi\"");
	*lo_out = (uint16_t)lo;
	*hi_out = (uint16_t)hi;
	*given = true;
	return true;
}

static bool read_proto(struct netvm_config *c, netvm_json rule, const char *path, int16_t *out)
{
	*out = -1;
	const netvm_json v = netvm_json_get(c, rule, "proto");
	if (v == NETVM_JSON_NONE)
		return true;
	if (netvm_json_kind(c, v) == NETVM_JSON_STRING) {
		static const char *const names[] = { "tcp", "udp", "icmp", "icmpv6", "any" };
		static const int16_t numbers[] = { NETVM_IPPROTO_TCP, NETVM_IPPROTO_UDP, NETVM_IPPROTO_ICMP, NETVM_IPPROTO_ICMPV6, -1 };
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (netvm_json_equals(c, v, names[k])) {
				*out = numbers[k];
				return true;
			}
	} else if (netvm_json_kind(c, v) == NETVM_JSON_NUMBER) {
		double n = netvm_json_number(c, v);
		if (n >= 0 && n <= 255 && n == (double)(int64_t)n) {
			*out = (int16_t)n;
			return true;
		}
	}
	return netvm_config_bad(c, path, "proto", "must be tcp, udp, icmp, icmpv6, any or 0-255");
}

static uint32_t mask32(int len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

static uint64_t mask64(int len)
{
	return len <= 0 ? 0 : len >= 64 ? ~0ull : ~0ull << (64 - len);
}

/* src or dst into the rule; *version its IP version, 0 if absent (or ""). */
static bool read_prefix(struct netvm_config *c, netvm_json rule, const char *path, const char *name, struct rule *r, int *version)
{
	*version = 0;
	char text[64] = "";
	if (!netvm_config_string(c, rule, path, name, false, text, sizeof(text)))
		return false;
	if (text[0] == '\0')
		return true;
	uint8_t addr[16];
	int len;
	if (!netvm_parse_prefix(text, addr, version, &len)) {
		char reason[128];
		uint32_t at = 0;
		netvm_text_put(reason, sizeof(reason), &at, "'");
		netvm_text_put(reason, sizeof(reason), &at, text);
		netvm_text_put(reason, sizeof(reason), &at, "' is not an IPv4 or IPv6 prefix (like 10.0.0.0/8 or 2001:db8::/32)");
		return netvm_config_bad(c, path, name, reason);
	}
	const bool src = name[0] == 's';
	if (*version == 4) {
		uint32_t a = netvm_be32(addr), m = mask32(len);
		*(src ? &r->src4 : &r->dst4) = a & m;
		*(src ? &r->src4_mask : &r->dst4_mask) = m;
	} else {
		uint64_t *a = src ? r->src6 : r->dst6, *m = src ? r->src6_mask : r->dst6_mask;
		m[0] = mask64(len);
		m[1] = mask64(len - 64);
		a[0] = __builtin_bswap64(load64(addr)) & m[0];
		a[1] = __builtin_bswap64(load64(addr + 8)) & m[1];
	}
	return true;
}

static bool read_rule(struct netvm_config *c, netvm_json rule, const char *path, struct rule *r)
{
	static const char *const keys[] = { "action", "proto", "src", "dst", "sport", "dport", NULL };
	if (!netvm_config_object(c, rule, path) || !netvm_config_only_keys(c, rule, path, keys))
		return false;
	int allow = 0;
	if (!netvm_config_choice(c, rule, path, "action", true, ALLOW_CHOICES, &allow))
		return false;
	r->allow = (uint8_t)allow;
	if (!read_proto(c, rule, path, &r->proto))
		return false;
	int src_version, dst_version;
	if (!read_prefix(c, rule, path, "src", r, &src_version) || !read_prefix(c, rule, path, "dst", r, &dst_version))
		return false;
	if (src_version != 0 && dst_version != 0 && src_version != dst_version)
		return netvm_config_fail(c, path, "src and dst are of different IP versions");
	r->version = (uint8_t)(src_version > dst_version ? src_version : dst_version);
	bool sport, dport;
	if (!read_ports(c, rule, path, "sport", &r->sport_lo, &r->sport_hi, &sport) ||
	    !read_ports(c, rule, path, "dport", &r->dport_lo, &r->dport_hi, &dport))
		return false;
	if ((sport || dport) && r->proto != NETVM_IPPROTO_TCP && r->proto != NETVM_IPPROTO_UDP)
		return netvm_config_fail(c, path, "sport and dport need proto tcp or udp");
	r->ports = sport || dport;
	return true;
}

/* Configures nf (zeroed, its metrics set) from the config's root; false with
 * the reason in c->error. */
static bool firewall_configure(struct firewall *nf, struct netvm_config *c)
{
	static const char *const keys[] = { "default", "non_ip", "stateful", "flows", "timeout_s", "rules", NULL };
	const netvm_json root = NETVM_JSON_ROOT;
	if (!netvm_config_object(c, root, "") || !netvm_config_only_keys(c, root, "", keys))
		return false;
	int by_default = 0, non_ip = 1;
	bool stateful = false;
	int64_t capacity = 65536;
	double timeout_s = 120;
	netvm_json list;
	if (!netvm_config_choice(c, root, "", "default", true, ALLOW_CHOICES, &by_default) ||
	    !netvm_config_choice(c, root, "", "non_ip", false, ALLOW_CHOICES, &non_ip) ||
	    !netvm_config_bool(c, root, "", "stateful", false, &stateful) ||
	    !netvm_config_int(c, root, "", "flows", false, 1, MAX_CAPACITY, &capacity) ||
	    !netvm_config_number(c, root, "", "timeout_s", false, 0.001, 86400 * 7, &timeout_s) ||
	    !netvm_config_array(c, root, "", "rules", false, &list))
		return false;
	const uint32_t count = list == NETVM_JSON_NONE ? 0 : netvm_json_count(c, list);
	nf->rules = firewall_alloc((count > 0 ? count : 1) * (uint32_t)sizeof(struct rule));
	if (nf->rules == NULL)
		return netvm_config_fail(c, "rules", "out of memory");
	for (uint32_t i = 0; i < count; i++) {
		char path[32];
		if (!read_rule(c, netvm_json_item(c, list, i), netvm_item_path(path, sizeof(path), "rules", i), &nf->rules[i]))
			return false;
	}
	nf->n_rules = count;
	nf->allow_by_default = by_default == 1;
	nf->allow_non_ip = non_ip == 1;
	nf->stateful = stateful;
	if (stateful && !table_init(&nf->table, (uint32_t)capacity, (uint64_t)(timeout_s * 1e9)))
		return netvm_config_fail(c, "flows", "out of memory for that many flows");
	return true;
}

/* ---- per packet --------------------------------------------------------------- */

/* The first rule matching p: 1 allow, 0 deny, -1 none. */
static inline int match_rules(const struct firewall *nf, const struct netvm_parsed *p)
{
	const uint8_t *src = netvm_src_addr(p);
	const uint8_t *dst = netvm_dst_addr(p);
	const uint8_t version = p->ip_version;
	uint32_t s4 = 0, d4 = 0;
	uint64_t s6[2] = { 0, 0 }, d6[2] = { 0, 0 };
	if (version == 4) {
		s4 = netvm_be32(src);
		d4 = netvm_be32(dst);
	} else {
		s6[0] = __builtin_bswap64(load64(src));
		s6[1] = __builtin_bswap64(load64(src + 8));
		d6[0] = __builtin_bswap64(load64(dst));
		d6[1] = __builtin_bswap64(load64(dst + 8));
	}
	const bool has_ports = p->l4 != 0 && (p->l4_proto == NETVM_IPPROTO_TCP || p->l4_proto == NETVM_IPPROTO_UDP);
	const struct rule *r = nf->rules;
	for (uint32_t i = 0; i < nf->n_rules; i++, r++) {
		if (r->version != 0) {
			if (r->version != version)
				continue;
			if (version == 4) {
				if (((s4 ^ r->src4) & r->src4_mask) | ((d4 ^ r->dst4) & r->dst4_mask))
					continue;
			} else {
				if (((s6[0] ^ r->src6[0]) & r->src6_mask[0]) | ((s6[1] ^ r->src6[1]) & r->src6_mask[1]) |
				    ((d6[0] ^ r->dst6[0]) & r->dst6_mask[0]) | ((d6[1] ^ r->dst6[1]) & r->dst6_mask[1]))
					continue;
			}
		}
		if (r->proto >= 0 && (uint8_t)r->proto != p->l4_proto)
			continue;
		if (r->ports) {
			if (!has_ports || p->src_port < r->sport_lo || p->src_port > r->sport_hi || p->dst_port < r->dport_lo ||
			    p->dst_port > r->dport_hi)
				continue;
		}
		return r->allow;
	}
	return -1;
}

/* The ACL's decision for p, counted. */
static inline bool by_rules(const struct firewall *nf, const struct netvm_parsed *p)
{
	uint64_t *m = nf->metrics;
	int k = match_rules(nf, p);
	if (k == 1)
		m[M_ALLOWED_BY_RULE]++;
	else if (k == 0)
		m[M_DENIED_BY_RULE]++;
	else if (nf->allow_by_default)
		m[M_ALLOWED_BY_DEFAULT]++;
	else
		m[M_DENIED_BY_DEFAULT]++;
	return k == 1 || (k < 0 && nf->allow_by_default);
}

/* The stateful decision: known flows pass (TCP checked), new ones by the rules. */
static inline bool by_state(struct firewall *nf, const struct netvm_parsed *p, uint64_t now)
{
	struct flow_table *t = &nf->table;
	uint64_t *m = nf->metrics;
	uint64_t key[5];
	const bool reverse = flow_key(p, key);
	const uint32_t hash = flow_hash(key);
	const bool is_tcp = p->l4_proto == NETVM_IPPROTO_TCP && p->l4 != 0;
	uint32_t empty;
	const int64_t bucket = table_lookup(t, key, hash, &empty);
	if (bucket >= 0) {
		const uint32_t slot = (uint32_t)t->buckets[bucket] - 1;
		struct flow *f = &t->slots[slot];
		if (is_tcp) {
			const uint8_t flags = p->tcp_flags;
			const bool from_initiator = (f->reverse != 0) == reverse;
			if (f->tcp == TCP_AWAIT_SYNACK && !from_initiator) {
				if ((flags & NETVM_TCP_RST) == 0 &&
				    (flags & (NETVM_TCP_SYN | NETVM_TCP_ACK)) != (NETVM_TCP_SYN | NETVM_TCP_ACK)) {
					m[M_INVALID_TCP]++;
					return false;
				}
				if ((flags & NETVM_TCP_RST) == 0)
					f->tcp = TCP_OPEN;
			}
			if (flags & NETVM_TCP_RST) {
				delete_bucket(t, (uint32_t)bucket);
				free_slot(t, slot);
				m[M_ALLOWED_BY_STATE]++;
				return true;
			}
		}
		f->last = now;
		m[M_ALLOWED_BY_STATE]++;
		return true;
	}
	if (!by_rules(nf, p))
		return false;
	/* A TCP flow is tracked from its opening SYN only. */
	if (is_tcp && (p->tcp_flags & (NETVM_TCP_SYN | NETVM_TCP_ACK | NETVM_TCP_RST)) != NETVM_TCP_SYN)
		return true;
	const int64_t created = table_insert(t, key, hash, empty, now);
	if (created < 0) {
		m[M_UNTRACKED]++;
		return true;
	}
	t->slots[created].reverse = reverse;
	t->slots[created].tcp = is_tcp ? TCP_AWAIT_SYNACK : TCP_NONE;
	return true;
}

/* Decides records rec[0, n) of packets in the pool window at window; now is
 * the burst's start (read only when stateful). */
static void firewall_process(struct firewall *nf, struct netvm_record *rec, uint8_t *window, uint32_t n, uint64_t now)
{
	uint64_t *m = nf->metrics;
	struct netvm_parsed p;
	for (uint32_t i = 0; i < n; i++) {
		bool allow;
		if (!netvm_parsed_at(&rec[i], window, &p)) {
			const bool ip = p.ether_type == NETVM_ETHERTYPE_IPV4 || p.ether_type == NETVM_ETHERTYPE_IPV6;
			if (ip)
				m[M_MALFORMED]++;
			allow = !ip && nf->allow_non_ip;
		} else {
			allow = nf->stateful ? by_state(nf, &p, now) : by_rules(nf, &p);
		}
		if (!allow)
			rec[i].verdict = NETVM_DROP;
	}
	if (nf->stateful) {
		table_expire(&nf->table, now, EXPIRE_BUDGET);
		m[M_FLOWS] = nf->table.size;
	}
}
