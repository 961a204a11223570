/* The exports every native NF shares: handles, JSON config, and the readers
 * its nf_create uses. Nothing here runs per packet but netvm_native_process's
 * look-up of the handle. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netvm_native.h"

#define MAX_INSTANCES 256

static void *instances[MAX_INSTANCES];

const char *netvm_native_metric_names(void)
{
	return NF_METRIC_NAMES;
}

int netvm_native_reads_meta(void)
{
	return &NF_READS_META == NULL || NF_READS_META;
}

void *netvm_fail(char *error, size_t error_len, const char *path, const char *fmt, ...)
{
	int n = snprintf(error, error_len, "%s%s", path, *path ? ": " : "");
	if (n < 0 || (size_t)n >= error_len)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error + n, error_len - (size_t)n, fmt, ap);
	va_end(ap);
	return NULL;
}

bool netvm_sdk_configure(const json_t *config, bool (*configure)(void *nf, struct netvm_config *c), void *nf, char *error,
			 size_t error_len)
{
	struct netvm_json_token *tokens = NULL;
	struct netvm_config c;
	bool ok = false;
	char *text = json_dumps(config, JSON_ENCODE_ANY | JSON_COMPACT);
	if (text != NULL && netvm_json_parse(&c, text, (uint32_t)strlen(text), NULL, 0) &&
	    (tokens = calloc(c.n_tokens, sizeof(*tokens))) != NULL && netvm_json_parse(&c, text, (uint32_t)strlen(text), tokens, c.n_tokens)) {
		ok = configure(nf, &c);
		if (!ok)
			snprintf(error, error_len, "%s", c.error);
	} else {
		netvm_fail(error, error_len, "", "out of memory");
	}
	free(tokens);
	free(text);
	return ok;
}

void *netvm_zeroed(uint32_t size)
{
	const size_t rounded = ((size_t)size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, rounded > 0 ? rounded : 64);
	if (p != NULL)
		memset(p, 0, rounded);
	return p;
}

int netvm_native_create(const char *config, uintptr_t window, uintptr_t records, uintptr_t metrics, uintptr_t clock,
			char *error, size_t error_len)
{
	int handle = 0;
	while (handle < MAX_INSTANCES && instances[handle] != NULL)
		handle++;
	if (handle == MAX_INSTANCES) {
		netvm_fail(error, error_len, "", "at most %d instances of a native NF", MAX_INSTANCES);
		return -1;
	}
	json_t *root = NULL;
	if (*config != '\0') {
		json_error_t err;
		/* A duplicate key: the last value wins, as in the SDK's parseJson (and JSON.parse). */
		root = json_loads(config, 0, &err);
		if (root == NULL) {
			netvm_fail(error, error_len, "", "config is not JSON: %s (line %d)", err.text, err.line);
			return -1;
		}
	}
	const struct netvm_env env = {
		.window = (uint8_t *)window,
		.records = (struct netvm_record *)records,
		.metrics = (uint64_t *)metrics,
		.clock = (const volatile uint64_t *)clock,
	};
	error[0] = '\0';
	void *nf = nf_create(root, &env, error, error_len);
	json_decref(root);
	if (nf == NULL)
		return -1;
	instances[handle] = nf;
	return handle;
}

void netvm_native_process(int handle, uint32_t n)
{
	nf_process(instances[handle], n);
}

void netvm_native_destroy(int handle)
{
	if (handle < 0 || handle >= MAX_INSTANCES || instances[handle] == NULL)
		return;
	nf_destroy(instances[handle]);
	instances[handle] = NULL;
}

/* Writes "<path.key>: <reason>" into error; returns false. */
static bool refuse(char *error, size_t error_len, const char *path, const char *key, const char *reason)
{
	char where[256];
	snprintf(where, sizeof(where), "%s%s%s", path, *path ? "." : "", key);
	netvm_fail(error, error_len, where, "%s", reason);
	return false;
}

bool netvm_only_keys(const json_t *obj, const char *path, const char *const *keys, char *error, size_t error_len)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)obj, key, value) {
		const char *const *k = keys;
		while (*k != NULL && strcmp(*k, key) != 0)
			k++;
		if (*k != NULL)
			continue;
		/* As the SDK's ConfigReader says it: "unknown key (allowed: a, b)". */
		char reason[256] = "unknown key";
		size_t n = strlen(reason);
		for (k = keys; *k != NULL && n < sizeof(reason); k++)
			n += (size_t)snprintf(reason + n, sizeof(reason) - n, "%s%s", k == keys ? " (allowed: " : ", ", *k);
		if (keys[0] != NULL && n < sizeof(reason))
			snprintf(reason + n, sizeof(reason) - n, ")");
		return refuse(error, error_len, path, key, reason);
	}
	return true;
}

/* Member key of obj; NULL when absent or JSON null (as the SDK's ConfigReader.field). */
static const json_t *field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return v != NULL && !json_is_null(v) ? v : NULL;
}

static const json_t *member(const json_t *obj, const char *path, const char *key, bool required, char *error,
			    size_t error_len, bool *ok)
{
	const json_t *v = field(obj, key);
	*ok = v != NULL || !required;
	if (v == NULL && required)
		refuse(error, error_len, path, key, "is required");
	return v;
}

bool netvm_get_string(const json_t *obj, const char *path, const char *key, bool required, const char **out, char *error, size_t error_len)
{
	bool ok;
	const json_t *v = member(obj, path, key, required, error, error_len, &ok);
	if (v == NULL)
		return ok;
	if (!json_is_string(v)) {
		return refuse(error, error_len, path, key, "must be a string");
	}
	*out = json_string_value(v);
	return true;
}

bool netvm_get_int(const json_t *obj, const char *path, const char *key, bool required, int64_t lo, int64_t hi, int64_t *out,
		   char *error, size_t error_len)
{
	bool ok;
	const json_t *v = member(obj, path, key, required, error, error_len, &ok);
	if (v == NULL)
		return ok;
	double d = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : -1e300;
	if (d != (double)(int64_t)d || d < (double)lo || d > (double)hi) {
		char reason[96];
		snprintf(reason, sizeof(reason), "must be a whole number from %lld to %lld", (long long)lo, (long long)hi);
		return refuse(error, error_len, path, key, reason);
	}
	*out = (int64_t)d;
	return true;
}

bool netvm_get_number(const json_t *obj, const char *path, const char *key, double lo, double hi, double *out, char *error, size_t error_len)
{
	const json_t *v = field(obj, key);
	if (v == NULL)
		return true;
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
		char reason[96];
		snprintf(reason, sizeof(reason), "must be a number from %g to %g", lo, hi);
		return refuse(error, error_len, path, key, reason);
	}
	*out = json_number_value(v);
	return true;
}

bool netvm_get_bool(const json_t *obj, const char *path, const char *key, bool *out, char *error, size_t error_len)
{
	const json_t *v = field(obj, key);
	if (v == NULL)
		return true;
	if (!json_is_boolean(v)) {
		return refuse(error, error_len, path, key, "must be true or false");
	}
	*out = json_is_true(v);
	return true;
}

bool netvm_get_choice(const json_t *obj, const char *path, const char *key, bool required, const char *const *choices, int *out,
		      char *error, size_t error_len)
{
	const char *s = NULL;
	if (!netvm_get_string(obj, path, key, required, &s, error, error_len))
		return false;
	if (s == NULL)
		return true;
	for (int i = 0; choices[i] != NULL; i++)
		if (strcmp(s, choices[i]) == 0) {
			*out = i;
			return true;
		}
	return refuse(error, error_len, path, key, "is not one of the choices");
}
