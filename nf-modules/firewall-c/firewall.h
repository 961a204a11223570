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
#include "netvm_flow_table.h"
#include "netvm_json.h"

static void *firewall_alloc(uint32_t size);

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

struct firewall {
	uint64_t *metrics; /* M_COUNT slots */
	struct rule *rules;
	uint32_t n_rules;
	bool allow_by_default;
	bool allow_non_ip;
	bool stateful;
	struct netvm_flow_table table;
};

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
		a[0] = __builtin_bswap64(netvm_load64(addr)) & m[0];
		a[1] = __builtin_bswap64(netvm_load64(addr + 8)) & m[1];
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
	    !netvm_config_int(c, root, "", "flows", false, 1, NETVM_FLOW_TABLE_MAX_CAPACITY, &capacity) ||
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
	if (stateful && !netvm_flow_table_init(&nf->table, (uint32_t)capacity, (uint64_t)(timeout_s * 1e9), 0, firewall_alloc))
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
		s6[0] = __builtin_bswap64(netvm_load64(src));
		s6[1] = __builtin_bswap64(netvm_load64(src + 8));
		d6[0] = __builtin_bswap64(netvm_load64(dst));
		d6[1] = __builtin_bswap64(netvm_load64(dst + 8));
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
	struct netvm_flow_table *t = &nf->table;
	uint64_t *m = nf->metrics;
	uint64_t key[5];
	const bool reverse = netvm_flow_key(p, key);
	const uint32_t hash = netvm_flow_hash(key);
	const bool is_tcp = p->l4_proto == NETVM_IPPROTO_TCP && p->l4 != 0;
	uint32_t empty;
	const int64_t bucket = netvm_flow_lookup(t, key, hash, &empty);
	if (bucket >= 0) {
		const uint32_t slot = (uint32_t)t->buckets[bucket] - 1;
		struct netvm_flow *f = &t->slots[slot];
		if (is_tcp) {
			const uint8_t flags = p->tcp_flags;
			const bool from_initiator = (f->dir != 0) == reverse;
			if (f->state == TCP_AWAIT_SYNACK && !from_initiator) {
				if ((flags & NETVM_TCP_RST) == 0 &&
				    (flags & (NETVM_TCP_SYN | NETVM_TCP_ACK)) != (NETVM_TCP_SYN | NETVM_TCP_ACK)) {
					m[M_INVALID_TCP]++;
					return false;
				}
				if ((flags & NETVM_TCP_RST) == 0)
					f->state = TCP_OPEN;
			}
			if (flags & NETVM_TCP_RST) {
				netvm_flow_remove(t, (uint32_t)bucket);
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
	const int64_t created = netvm_flow_insert(t, key, hash, empty, now);
	if (created < 0) {
		m[M_UNTRACKED]++;
		return true;
	}
	t->slots[created].dir = reverse;
	t->slots[created].state = is_tcp ? TCP_AWAIT_SYNACK : TCP_NONE;
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
		netvm_flow_expire(&nf->table, now, EXPIRE_BUDGET);
		m[M_FLOWS] = nf->table.size;
	}
}
