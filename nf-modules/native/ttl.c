/* ttl in C: the same logic as nf-modules/ttl (the bench's anchor), the step of ttl-c (built to Wasm) built natively. Valid IPv4
 * (IHL >= 5, total length within the frame, header checksum correct): TTL <= 1
 * is dropped, else TTL - 1 with the checksum updated incrementally (RFC 1624).
 * IPv6: hop limit <= 1 is dropped, else - 1. Anything else passes unchanged. */
#include <stdlib.h>

#include "netvm_native.h"
#include "../ttl-c/ttl_step.h"

const char NF_METRIC_NAMES[] = "ttl_expired,ttl_stepped";
/* It walks the Ethernet header itself, as nf-modules/ttl does: no meta. */
const bool NF_READS_META = false;
enum { M_EXPIRED, M_STEPPED };

struct ttl {
	struct netvm_env env;
};

void *nf_create(const json_t *config, const struct netvm_env *env, char *error, size_t error_len)
{
	static const char *const keys[] = { NULL };
	if (config != NULL && (!json_is_object(config) || !netvm_only_keys(config, "", keys, error, error_len)))
		return error[0] ? NULL : netvm_fail(error, error_len, "", "takes no config");
	struct ttl *nf = calloc(1, sizeof(*nf));
	if (nf == NULL)
		return netvm_fail(error, error_len, "", "out of memory");
	nf->env = *env;
	return nf;
}

void nf_destroy(void *nf)
{
	free(nf);
}

void nf_process(void *self, uint32_t n)
{
	struct ttl *nf = self;
	struct netvm_record *r = nf->env.records;
	uint64_t *m = nf->env.metrics;
	for (uint32_t i = 0; i < n; i++) {
		enum ttl_step result = ttl_step(nf->env.window + r[i].pool_off, r[i].len);
		if (result == TTL_EXPIRED) {
			r[i].verdict = NETVM_DROP;
			m[M_EXPIRED]++;
		} else if (result == TTL_STEPPED) {
			m[M_STEPPED]++;
		}
	}
}
