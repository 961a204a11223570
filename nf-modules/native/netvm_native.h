/* NetVM's NF ABI as native code: the C anchor the bench measures the Wasm NFs
 * against (bench-only, like the JavaScript NFs: trusted code in the host's
 * process, not a trust level). A native NF is a shared object built from its
 * own C file and netvm_native.c (nf-modules/native/<nf>.c ->
 * nf-modules/build/native/<nf>.so) that the worker loads through koffi and
 * calls once per burst, with the same batch records, verdicts and pool window
 * as a Wasm NF (nf-modules/sdk/abi.ts, docs/abi.md). host/nf/native-nf.ts is
 * the host's side.
 *
 * What the shared object exports (netvm_native.c, for every NF):
 *   const char *netvm_native_metric_names(void)  its metrics, comma-separated, in slot order
 *   int netvm_native_create(const char *config, uintptr_t window, uintptr_t records,
 *                           uintptr_t metrics, uintptr_t clock, char *error, size_t error_len)
 *       an instance for a config (JSON text; "" for none): its handle (>= 0), or
 *       -1 with the reason in error (the field's path first)
 *   void netvm_native_process(int handle, uint32_t n)   one burst of n records
 *   void netvm_native_destroy(int handle)
 * What each NF's C file defines: NF_METRIC_NAMES and the three nf_* functions below. */
#ifndef NETVM_NATIVE_H
#define NETVM_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../sdk-c/netvm_abi.h"
#include "../sdk-c/netvm_addr.h"
#include "../sdk-c/netvm_json.h"

/* What an instance works on: all of it in the memory the host made for it
 * (the pool mapped at window, as for a Wasm NF). */
struct netvm_env {
	uint8_t *window;                /* the pool's byte 0 */
	struct netvm_record *records;   /* NETVM_MAX_BURST records */
	uint64_t *metrics;              /* NETVM_MAX_METRICS slots, in NF_METRIC_NAMES order */
	const volatile uint64_t *clock; /* monotonic ns as of the burst's start (the chain writes it) */
};

/* Defined by each NF. */
extern const char NF_METRIC_NAMES[];
/* Optional: false when the NF reads no meta in its records (as a module's
 * netvm_reads_meta export says 0): the chain then need not parse for it. */
extern const bool NF_READS_META __attribute__((weak));
/* An instance for config (a JSON value; NULL when none was given), or NULL
 * with the reason written by netvm_fail. */
void *nf_create(const json_t *config, const struct netvm_env *env, char *error, size_t error_len);
void nf_process(void *nf, uint32_t n);
void nf_destroy(void *nf);

/* Writes "<path>: <reason>" into error; returns NULL (for nf_create's return). */
void *netvm_fail(char *error, size_t error_len, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Config readers: each checks the kind of member key of obj (whose own path
 * is path, "" for the root) and writes a refusal naming path.key on a
 * mismatch (return false). An absent optional member leaves *out as it was;
 * a member that is JSON null counts as absent (as in the SDK's ConfigReader). */
bool netvm_only_keys(const json_t *obj, const char *path, const char *const *keys, char *error, size_t error_len);
bool netvm_get_string(const json_t *obj, const char *path, const char *key, bool required, const char **out, char *error, size_t error_len);
bool netvm_get_int(const json_t *obj, const char *path, const char *key, bool required, int64_t lo, int64_t hi, int64_t *out,
		   char *error, size_t error_len);
bool netvm_get_number(const json_t *obj, const char *path, const char *key, double lo, double hi, double *out, char *error, size_t error_len);
bool netvm_get_bool(const json_t *obj, const char *path, const char *key, bool *out, char *error, size_t error_len);
/* The index of the member's string in choices (NULL-terminated); *out unchanged when absent. */
bool netvm_get_choice(const json_t *obj, const char *path, const char *key, bool required, const char *const *choices, int *out,
		      char *error, size_t error_len);

/* Configures nf from config (jansson's) with an NF's reader written for the C SDK
 * (../sdk-c/netvm_json.h), for logic the SDK's NFs share: the config's JSON text
 * is re-encoded and parsed as a Wasm NF's would be. False with the reason in
 * error (the reader's, or out of memory). */
bool netvm_sdk_configure(const json_t *config, bool (*configure)(void *nf, struct netvm_config *c), void *nf, char *error,
			 size_t error_len);

/* size bytes of zeroed, cache-line aligned memory (free() frees it); NULL when out of memory. */
void *netvm_zeroed(uint32_t size);

/* The SDK's nowNs: the chain's clock word (the burst's start), or the
 * monotonic clock while it is 0 (before the first burst). */
static inline uint64_t netvm_now_ns(const struct netvm_env *env)
{
	uint64_t now = *env->clock;
	if (now != 0)
		return now;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
