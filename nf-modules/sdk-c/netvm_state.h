/* State handover for NFs in C (netvm.h with NETVM_STATE): the blob format of
 * the AssemblyScript SDK's StateWriter and StateReader (nf-modules/sdk/state.ts),
 * so that a C NF and an AssemblyScript one of the same kind and format take
 * each other's state. Header: u32 magic "NVST", u16 kind length, the kind
 * (UTF-8), u32 format version; then the NF's records. Little-endian.
 *
 *   uint32_t nf_state_export(void)
 *   {
 *       struct netvm_state_writer w;
 *       if (!netvm_state_begin(&w, "firewall", 1, 4 + n * RECORD_BYTES)) return 0;
 *       netvm_state_u32(&w, n); ...
 *       return netvm_state_finish(&w);
 *   }
 *   bool nf_state_import(struct netvm_state_reader *r)
 *   {
 *       int64_t n = netvm_state_open(r, "firewall", 1) ? netvm_state_records(r, "flows", RECORD_BYTES) : -1;
 *       if (n < 0) return false; ...
 *   }
 * Only included by netvm.h: it uses netvm_alloc and netvm_log. */
#ifndef NETVM_STATE_H
#define NETVM_STATE_H

#define NETVM_STATE_MAGIC 0x5453564eu /* "NVST" */

struct netvm_state_writer {
	uint8_t *at, *end;
	bool overflow;
};

struct netvm_state_reader {
	const uint8_t *at, *end;
	bool short_read;
};

/* The last export's area, reused by the next when it fits. */
static uint8_t *netvm_state_area;
static uint32_t netvm_state_capacity;

static inline void netvm_state_put(struct netvm_state_writer *w, const void *src, uint32_t n)
{
	if (w->overflow || (uint32_t)(w->end - w->at) < n) {
		w->overflow = true;
		return;
	}
	__builtin_memcpy(w->at, src, n);
	w->at += n;
}

static inline void netvm_state_u8(struct netvm_state_writer *w, uint8_t v)
{
	netvm_state_put(w, &v, 1);
}

static inline void netvm_state_u16(struct netvm_state_writer *w, uint16_t v)
{
	netvm_state_put(w, &v, 2);
}

static inline void netvm_state_u32(struct netvm_state_writer *w, uint32_t v)
{
	netvm_state_put(w, &v, 4);
}

static inline void netvm_state_u64(struct netvm_state_writer *w, uint64_t v)
{
	netvm_state_put(w, &v, 8);
}

static inline void netvm_state_bytes(struct netvm_state_writer *w, const void *src, uint32_t n)
{
	netvm_state_put(w, src, n);
}

/* Starts a blob of this kind and format with room for payload bytes after
 * the header; false when there is no memory for it. */
static inline bool netvm_state_begin(struct netvm_state_writer *w, const char *kind, uint32_t version, uint32_t payload)
{
	const uint32_t name = netvm_strlen(kind);
	const uint64_t need = 4ull + 10 + name + payload; /* the length word, the header */
	if (need > 1u << 30)
		return false;
	if (need > netvm_state_capacity) {
		uint8_t *area = netvm_alloc((uint32_t)need, 4);
		if (area == NULL)
			return false;
		netvm_state_area = area;
		netvm_state_capacity = (uint32_t)need;
	}
	*w = (struct netvm_state_writer){ .at = netvm_state_area + 4, .end = netvm_state_area + need };
	netvm_state_u32(w, NETVM_STATE_MAGIC);
	netvm_state_u16(w, (uint16_t)name);
	netvm_state_bytes(w, kind, name);
	netvm_state_u32(w, version);
	return true;
}

/* What nf_state_export returns: the blob (its length first), or 0 when a
 * write did not fit in the payload begun. */
static inline uint32_t netvm_state_finish(struct netvm_state_writer *w)
{
	if (w->overflow)
		return 0;
	const uint32_t len = (uint32_t)(w->at - netvm_state_area - 4);
	__builtin_memcpy(netvm_state_area, &len, 4);
	return (uint32_t)(uintptr_t)netvm_state_area;
}

/* Reads n bytes into dst; zeros, and netvm_state_ok false, past the end. */
static inline void netvm_state_read(struct netvm_state_reader *r, void *dst, uint32_t n)
{
	if ((uint32_t)(r->end - r->at) < n) {
		r->short_read = true;
		__builtin_memset(dst, 0, n);
		return;
	}
	__builtin_memcpy(dst, r->at, n);
	r->at += n;
}

static inline uint8_t netvm_state_get_u8(struct netvm_state_reader *r)
{
	uint8_t v;
	netvm_state_read(r, &v, 1);
	return v;
}

static inline uint16_t netvm_state_get_u16(struct netvm_state_reader *r)
{
	uint16_t v;
	netvm_state_read(r, &v, 2);
	return v;
}

static inline uint32_t netvm_state_get_u32(struct netvm_state_reader *r)
{
	uint32_t v;
	netvm_state_read(r, &v, 4);
	return v;
}

static inline uint64_t netvm_state_get_u64(struct netvm_state_reader *r)
{
	uint64_t v;
	netvm_state_read(r, &v, 8);
	return v;
}

static inline bool netvm_state_ok(const struct netvm_state_reader *r)
{
	return !r->short_read;
}

static inline uint32_t netvm_state_remaining(const struct netvm_state_reader *r)
{
	return (uint32_t)(r->end - r->at);
}

/* The blob's format if it is state of this kind in a format from oldest to
 * version; 0 (and why logged) if not. */
static inline uint32_t netvm_state_open_formats(struct netvm_state_reader *r, const char *kind, uint32_t oldest, uint32_t version)
{
	if (netvm_state_get_u32(r) != NETVM_STATE_MAGIC) {
		netvm_log_text(NETVM_LOG_ERROR, "not NetVM NF state (bad magic)");
		return 0;
	}
	const uint32_t n = netvm_state_get_u16(r);
	if (!netvm_state_ok(r) || netvm_state_remaining(r) < n + 4) {
		netvm_log_text(NETVM_LOG_ERROR, "state header cut short");
		return 0;
	}
	const uint8_t *theirs = r->at;
	r->at += n;
	const uint32_t their_version = netvm_state_get_u32(r);
	const uint32_t mine = netvm_strlen(kind);
	bool same = n == mine;
	for (uint32_t k = 0; same && k < n; k++)
		same = theirs[k] == (uint8_t)kind[k];
	char line[256];
	uint32_t at = 0;
	if (!same) {
		char name[64];
		uint32_t k = 0;
		for (; k < n && k < sizeof(name) - 1; k++)
			name[k] = (char)theirs[k];
		name[k] = '\0';
		netvm_text_put(line, sizeof(line), &at, "state of a '");
		netvm_text_put(line, sizeof(line), &at, name);
		netvm_text_put(line, sizeof(line), &at, "' NF, not '");
		netvm_text_put(line, sizeof(line), &at, kind);
		netvm_text_put(line, sizeof(line), &at, "'");
	} else if (their_version < oldest || their_version > version) {
		netvm_text_put(line, sizeof(line), &at, "'");
		netvm_text_put(line, sizeof(line), &at, kind);
		netvm_text_put(line, sizeof(line), &at, "' state format ");
		netvm_text_int(line, sizeof(line), &at, their_version);
		netvm_text_put(line, sizeof(line), &at, oldest == version ? "; this module reads format " : "; this module reads formats ");
		if (oldest != version) {
			netvm_text_int(line, sizeof(line), &at, oldest);
			netvm_text_put(line, sizeof(line), &at, " to ");
		}
		netvm_text_int(line, sizeof(line), &at, version);
	} else {
		return their_version;
	}
	netvm_log((int32_t)NETVM_LOG_ERROR, line, (int32_t)at);
	return 0;
}

/* Whether the blob is state of this kind in this format; if not, logs why. */
static inline bool netvm_state_open(struct netvm_state_reader *r, const char *kind, uint32_t version)
{
	return netvm_state_open_formats(r, kind, version, version) != 0;
}

/* A u32 count of records of record_bytes each: when exact, they must fill the rest of the
 * blob; else the rest must have room for them (more sections follow). -1 (and the reason
 * logged) when it does not. */
static inline int64_t netvm_state_count(struct netvm_state_reader *r, const char *what, uint32_t record_bytes, bool exact)
{
	const uint32_t n = netvm_state_get_u32(r);
	const uint64_t need = (uint64_t)n * record_bytes;
	const uint32_t rest = netvm_state_remaining(r);
	if (netvm_state_ok(r) && (exact ? rest == need : rest >= need))
		return n;
	char line[256];
	uint32_t at = 0;
	netvm_text_put(line, sizeof(line), &at, "state of ");
	netvm_text_int(line, sizeof(line), &at, n);
	netvm_text_put(line, sizeof(line), &at, " ");
	netvm_text_put(line, sizeof(line), &at, what);
	netvm_text_put(line, sizeof(line), &at, " should be ");
	netvm_text_int(line, sizeof(line), &at, (int64_t)need);
	netvm_text_put(line, sizeof(line), &at, " bytes, not ");
	netvm_text_int(line, sizeof(line), &at, rest);
	netvm_log((int32_t)NETVM_LOG_ERROR, line, (int32_t)at);
	return -1;
}

/* The last section: records that fill the rest of the blob. */
static inline int64_t netvm_state_records(struct netvm_state_reader *r, const char *what, uint32_t record_bytes)
{
	return netvm_state_count(r, what, record_bytes, true);
}

/* A section that more follow. */
static inline int64_t netvm_state_section(struct netvm_state_reader *r, const char *what, uint32_t record_bytes)
{
	return netvm_state_count(r, what, record_bytes, false);
}

bool nf_state_import(struct netvm_state_reader *r);
uint32_t nf_state_export(void);

NETVM_EXPORT(netvm_state_export) uint32_t netvm_state_export(void)
{
	return nf_state_export();
}

NETVM_EXPORT(netvm_state_buffer) uint32_t netvm_state_buffer(int32_t len)
{
	return netvm_buffer(len, 4);
}

NETVM_EXPORT(netvm_state_import) int32_t netvm_state_import(uint32_t ptr, int32_t len)
{
	struct netvm_state_reader r = { .at = (const uint8_t *)(uintptr_t)ptr, .end = (const uint8_t *)(uintptr_t)ptr + (len > 0 ? len : 0) };
	return nf_state_import(&r) ? 0 : 1;
}

#endif
