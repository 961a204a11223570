/* firewall-c: nf-modules/firewall in C, built to Wasm with the C SDK
 * (nf-modules/sdk-c). The logic is firewall.h, which the bench's native
 * anchor runs too; this file gives it the SDK's memory, config and clock, and
 * moves its flows on a hot-swap in the AssemblyScript firewall's state format,
 * so that either can take over from the other. */
#define NETVM_CONFIG
#define NETVM_STATE
#include "netvm.h"

static void *firewall_alloc(uint32_t size)
{
	return netvm_alloc(size, 64);
}

#include "firewall.h"

static struct firewall fw;

void nf_init(void)
{
	/* Defined in FIREWALL_METRIC_NAMES' order: slot k is metric k. */
	static const char *const names[M_COUNT] = { "allowed_by_rule", "allowed_by_default", "allowed_by_state", "denied_by_rule",
						    "denied_by_default", "malformed", "invalid_tcp", "untracked", "imported_flows" };
	for (uint32_t k = 0; k < M_FLOWS; k++)
		if (netvm_counter(names[k]) != k)
			__builtin_trap();
	if (netvm_gauge("flows") != M_FLOWS || netvm_counter("denied_by_block") != M_DENIED_BY_BLOCK || netvm_gauge("blocks") != M_BLOCKS)
		__builtin_trap();
	fw.metrics = netvm_metric_slots;
}

bool nf_configure(struct netvm_config *c)
{
	return firewall_configure(&fw, c);
}

void nf_process(uint32_t n)
{
	firewall_process(&fw, netvm_records, netvm_window_pointer(), n, fw.stateful ? netvm_now_ns() : 0);
}

/* ---- state handover: the AssemblyScript firewall's format ------------------- */

#define STATE_KIND "firewall"
/* Format 2 (format 1, the flows alone, is still read): u32 count, the flows (a 40-byte key, u64
 * last seen (ns), u8 the initiator's direction bit, u8 TCP state); u32 count, the blocked
 * prefixes (26 bytes each); u32 count, the blocked flows (48 bytes each). This firewall takes
 * no messages, so it has no blocks to give and keeps none it is given. */
#define STATE_VERSION 2
#define STATE_RECORD_BYTES (40 + 10)
#define STATE_PREFIX_BYTES 26
#define STATE_BLOCKED_FLOW_BYTES 48

uint32_t nf_state_export(void)
{
	const struct netvm_flow_table *t = &fw.table;
	if (!fw.stateful)
		return 0;
	struct netvm_state_writer w;
	if (!netvm_state_begin(&w, STATE_KIND, STATE_VERSION, 12 + t->size * STATE_RECORD_BYTES))
		return 0;
	netvm_state_u32(&w, t->size);
	for (uint32_t s = 0; s < t->capacity; s++) {
		const struct netvm_flow *f = &t->slots[s];
		if (!f->used)
			continue;
		netvm_state_bytes(&w, f->key, sizeof(f->key));
		netvm_state_u64(&w, f->last);
		netvm_state_u8(&w, f->dir);
		netvm_state_u8(&w, f->state);
	}
	netvm_state_u32(&w, 0); /* blocked prefixes */
	netvm_state_u32(&w, 0); /* blocked flows */
	return netvm_state_finish(&w);
}

/* Logs that count things handed over (what) are not kept, and why. */
static void not_kept(int64_t count, const char *what, const char *why)
{
	if (count <= 0)
		return;
	char line[128];
	uint32_t at = 0;
	netvm_text_put(line, sizeof(line), &at, why);
	netvm_text_put(line, sizeof(line), &at, ": the ");
	netvm_text_int(line, sizeof(line), &at, count);
	netvm_text_put(line, sizeof(line), &at, " ");
	netvm_text_put(line, sizeof(line), &at, what);
	netvm_text_put(line, sizeof(line), &at, " handed over are not kept");
	netvm_log((int32_t)NETVM_LOG_WARN, line, (int32_t)at);
}

bool nf_state_import(struct netvm_state_reader *r)
{
	const uint32_t version = netvm_state_open_formats(r, STATE_KIND, 1, STATE_VERSION);
	if (version == 0)
		return false;
	const int64_t n = version == 1 ? netvm_state_records(r, "flows", STATE_RECORD_BYTES) : netvm_state_section(r, "flows", STATE_RECORD_BYTES);
	if (n < 0)
		return false;
	if (!fw.stateful)
		not_kept(n, "flows", "stateless");
	struct netvm_flow_table *t = &fw.table;
	for (int64_t k = 0; k < n; k++) {
		uint64_t key[5];
		netvm_state_read(r, key, sizeof(key));
		const uint64_t seen = netvm_state_get_u64(r);
		const uint8_t reverse = netvm_state_get_u8(r);
		const uint8_t tcp = netvm_state_get_u8(r);
		if (!fw.stateful)
			continue;
		const uint32_t hash = netvm_flow_hash(key);
		uint32_t empty;
		if (netvm_flow_lookup(t, key, hash, &empty) >= 0)
			continue;
		const int64_t s = netvm_flow_insert(t, key, hash, empty, seen);
		if (s < 0)
			continue;
		t->slots[s].dir = reverse != 0;
		t->slots[s].state = tcp < TCP_OPEN ? tcp : TCP_OPEN;
		fw.metrics[M_IMPORTED_FLOWS]++;
	}
	if (fw.stateful)
		fw.metrics[M_FLOWS] = t->size;
	if (version == 1)
		return true;
	const int64_t prefixes = netvm_state_section(r, "blocked prefixes", STATE_PREFIX_BYTES);
	if (prefixes < 0)
		return false;
	uint8_t skip[STATE_PREFIX_BYTES];
	for (int64_t k = 0; k < prefixes; k++)
		netvm_state_read(r, skip, sizeof(skip));
	const int64_t blocked = netvm_state_records(r, "blocked flows", STATE_BLOCKED_FLOW_BYTES);
	if (blocked < 0)
		return false;
	not_kept(prefixes + blocked, "blocks", "this firewall takes no messages");
	return true;
}
