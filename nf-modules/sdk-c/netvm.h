/* The C SDK for NetVM NFs: an NF written in C, built to WebAssembly with clang
 * (`netvm nf build <name>` for nf-modules/<name>/nf.c), speaking the host ABI
 * version 2 (docs/abi.md) as the AssemblyScript SDK's NFs do. Freestanding: no
 * libc, no allocator; an NF keeps its state in static storage.
 *
 * Include it in the NF's one source file: it defines the exports the host
 * calls, and the NF defines
 *   void nf_init(void)          called once, before anything else: define the
 *                               metrics here (netvm_counter, netvm_gauge)
 *   void nf_process(uint32_t n) decide netvm_records[0..n): each record's
 *                               verdict (NETVM_NEXT when called) and length
 * and, with these defined before the include, more of the ABI:
 *   NETVM_READS_NO_META  it reads no meta (the chain then need not parse for it)
 *   NETVM_CONFIG         it takes a config: the NF defines
 *                          bool nf_configure(struct netvm_config *c)
 *                        which reads it from NETVM_JSON_ROOT with the readers of
 *                        netvm_json.h; false refuses it (the reason in c->error)
 *   NETVM_STATE          its state moves on a hot-swap (netvm_state.h): the NF defines
 *                          uint32_t nf_state_export(void)   netvm_state_finish's blob, or 0
 *                          bool nf_state_import(struct netvm_state_reader *r)
 *   NETVM_TICK           it has work without traffic: void nf_tick(uint64_t now_ns),
 *                        about every 10 ms between bursts
 *
 * What an NF may not do traps (an out-of-range access of its own memory, an
 * unreachable): the host drops that burst, counts it and goes on. Reading a
 * packet outside [0, len) reads other packets' bytes (or traps), never the host's: check
 * lengths (netvm_packet_len) as the AssemblyScript SDK's readers do, or read
 * the chain's parse (netvm_parsed, netvm_parse.h), whose offsets are checked.
 *
 * Memory beyond the statics comes from netvm_alloc, at configure time: it
 * grows the module's memory and never frees. */
#ifndef NETVM_H
#define NETVM_H

#include "netvm_abi.h"
#include "netvm_json.h"
#include "netvm_parse.h"

#define NETVM_EXPORT(name) __attribute__((export_name(#name), visibility("default")))
#define NETVM_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* What the host grants (docs/abi.md, "The module"). */
NETVM_IMPORT(netvm_log) void netvm_log(int32_t level, const char *text, int32_t len);
NETVM_IMPORT(netvm_metric_define) int32_t netvm_metric_define(int32_t kind, const char *name, int32_t len);
NETVM_IMPORT(netvm_now_ns) int64_t netvm_host_now_ns(void);

void nf_init(void);
void nf_process(uint32_t n);

enum netvm_log_level { NETVM_LOG_DEBUG, NETVM_LOG_INFO, NETVM_LOG_WARN, NETVM_LOG_ERROR };

/* The batch area, the metric slots, the host's clock and where it writes the
 * pool window's base: all in the module's static data, above 256 MiB. */
static struct netvm_record netvm_records[NETVM_MAX_BURST] __attribute__((aligned(64)));
static uint64_t netvm_metric_slots[NETVM_MAX_METRICS] __attribute__((aligned(64)));
static volatile uint64_t netvm_clock_word;
static uint32_t netvm_window_base;
static bool netvm_initialized;

static inline uint32_t netvm_strlen(const char *s)
{
	uint32_t n = 0;
	while (s[n] != '\0')
		n++;
	return n;
}

static inline void netvm_log_text(enum netvm_log_level level, const char *text)
{
	netvm_log((int32_t)level, text, (int32_t)netvm_strlen(text));
}

/* size bytes aligned to align (a power of two), zeroed, after the module's
 * data and stack; NULL when the memory cannot grow that far. */
extern unsigned char __heap_base;
static uintptr_t netvm_heap_top;

static inline void *netvm_alloc(uint32_t size, uint32_t align)
{
	if (netvm_heap_top == 0)
		netvm_heap_top = (uintptr_t)&__heap_base;
	const uintptr_t at = (netvm_heap_top + align - 1) & ~(uintptr_t)(align - 1);
	const uintptr_t end = at + size;
	if (end < at)
		return NULL;
	const uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
	if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) == (uintptr_t)-1)
		return NULL;
	netvm_heap_top = end;
	return (void *)at;
}

/* Where the host writes len bytes for the NF (a config, state): traps when there is no memory. */
static inline uint32_t netvm_buffer(int32_t len, uint32_t align)
{
	void *area = netvm_alloc(len > 0 ? (uint32_t)len : 1, align);
	if (area == NULL)
		__builtin_trap();
	return (uint32_t)(uintptr_t)area;
}

/* Logs the NUL-terminated pieces, concatenated (at most 511 bytes). */
static inline void netvm_log_parts(enum netvm_log_level level, const char *a, const char *b)
{
	char line[512];
	uint32_t at = 0;
	netvm_text_put(line, sizeof(line), &at, a);
	netvm_text_put(line, sizeof(line), &at, b);
	netvm_log((int32_t)level, line, (int32_t)at);
}

/* A metric's slot; traps on a name the host refused (more than 64 metrics). */
static inline uint32_t netvm_define(int32_t kind, const char *name)
{
	int32_t slot = netvm_metric_define(kind, name, (int32_t)netvm_strlen(name));
	if (slot < 0)
		__builtin_trap();
	return (uint32_t)slot;
}

static inline uint32_t netvm_counter(const char *name)
{
	return netvm_define(0, name);
}

static inline uint32_t netvm_gauge(const char *name)
{
	return netvm_define(1, name);
}

/* Adds to a counter, or sets a gauge: plain stores, which the worker reads between bursts. */
static inline void netvm_count(uint32_t slot, uint64_t n)
{
	netvm_metric_slots[slot] += n;
}

static inline void netvm_set(uint32_t slot, int64_t value)
{
	netvm_metric_slots[slot] = (uint64_t)value;
}

/* Nanoseconds of the host's monotonic clock: in nf_process, the burst's start. */
static inline uint64_t netvm_now_ns(void)
{
	uint64_t now = netvm_clock_word;
	return now != 0 ? now : (uint64_t)netvm_host_now_ns();
}

/* The pool window's byte 0: the window argument of netvm_parsed_at. */
static inline uint8_t *netvm_window_pointer(void)
{
	return (uint8_t *)(uintptr_t)netvm_window_base;
}

/* Packet i of the burst: its first byte, and its length. */
static inline uint8_t *netvm_packet(uint32_t i)
{
	return (uint8_t *)(uintptr_t)(netvm_window_base + netvm_records[i].pool_off);
}

static inline uint32_t netvm_packet_len(uint32_t i)
{
	return netvm_records[i].len;
}

static inline void netvm_set_verdict(uint32_t i, uint32_t verdict)
{
	netvm_records[i].verdict = verdict;
}

/* ---- the exports -------------------------------------------------------------------------- */

NETVM_EXPORT(netvm_window) uint32_t netvm_window(void)
{
	return (uint32_t)(uintptr_t)&netvm_window_base;
}

/* The host's first call into the NF's code (after netvm_window): the NF's own start. */
NETVM_EXPORT(netvm_abi_version) int32_t netvm_abi_version(void)
{
	if (!netvm_initialized) {
		netvm_initialized = true;
		nf_init();
	}
	return NETVM_ABI_VERSION;
}

NETVM_EXPORT(netvm_batch) uint32_t netvm_batch(void)
{
	return (uint32_t)(uintptr_t)netvm_records;
}

NETVM_EXPORT(netvm_max_burst) int32_t netvm_max_burst(void)
{
	return (int32_t)NETVM_MAX_BURST;
}

NETVM_EXPORT(netvm_metrics) uint32_t netvm_metrics(void)
{
	return (uint32_t)(uintptr_t)netvm_metric_slots;
}

NETVM_EXPORT(netvm_clock) uint32_t netvm_clock(void)
{
	return (uint32_t)(uintptr_t)&netvm_clock_word;
}

#ifdef NETVM_READS_NO_META
NETVM_EXPORT(netvm_reads_meta) int32_t netvm_reads_meta(void)
{
	return 0;
}
#endif

NETVM_EXPORT(netvm_process) void netvm_process(int32_t n)
{
	nf_process(n < 0 ? 0 : n > (int32_t)NETVM_MAX_BURST ? NETVM_MAX_BURST : (uint32_t)n);
}

#ifdef NETVM_CONFIG
bool nf_configure(struct netvm_config *c);

NETVM_EXPORT(netvm_config_buffer) uint32_t netvm_config_buffer(int32_t len)
{
	return netvm_buffer(len, 1);
}

/* Parses the text twice: once to count its tokens, once into them. */
NETVM_EXPORT(netvm_configure) int32_t netvm_configure(uint32_t ptr, int32_t len)
{
	const char *text = (const char *)(uintptr_t)ptr;
	const uint32_t n = len > 0 ? (uint32_t)len : 0;
	struct netvm_config c;
	if (netvm_json_parse(&c, text, n, NULL, 0)) {
		struct netvm_json_token *tokens = netvm_alloc(c.n_tokens * (uint32_t)sizeof(*tokens), 4);
		if (tokens == NULL) {
			netvm_log_text(NETVM_LOG_ERROR, "config: no memory for its JSON tokens");
			return 1;
		}
		if (netvm_json_parse(&c, text, n, tokens, c.n_tokens) && nf_configure(&c))
			return 0;
	}
	netvm_log_parts(NETVM_LOG_ERROR, "config: ", c.error[0] != '\0' ? c.error : "refused");
	return 1;
}
#endif

#ifdef NETVM_STATE
#include "netvm_state.h"
#endif

#ifdef NETVM_TICK
void nf_tick(uint64_t now_ns);

NETVM_EXPORT(netvm_tick) void netvm_tick(int64_t now_ns)
{
	nf_tick((uint64_t)now_ns);
}
#endif

#endif
