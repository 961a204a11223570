/* firewall, built natively: the bench's anchor for nf-modules/firewall. The
 * logic, config included, is nf-modules/firewall-c/firewall.h, which
 * firewall-c builds to Wasm; here it runs on the JSON text of the config
 * (re-encoded from jansson's) and on memory from the C library. */
#include <stdlib.h>

#include "netvm_native.h"
#include "../firewall-c/firewall.h"

const char NF_METRIC_NAMES[] = FIREWALL_METRIC_NAMES;

/* Freed by nf_destroy (the rules and the table's two arrays). */
static void *firewall_alloc(uint32_t size)
{
	return netvm_zeroed(size);
}

void nf_destroy(void *self)
{
	struct firewall *nf = self;
	if (nf == NULL)
		return;
	free(nf->rules);
	free(nf->table.buckets);
	free(nf->table.slots);
	free(nf);
}

struct native_firewall {
	struct firewall fw; /* first: nf_destroy frees through it */
	struct netvm_env env;
};

static bool configure(void *nf, struct netvm_config *c)
{
	return firewall_configure(&((struct native_firewall *)nf)->fw, c);
}

void *nf_create(const json_t *config, const struct netvm_env *env, char *error, size_t error_len)
{
	if (config == NULL)
		return netvm_fail(error, error_len, "", "a config is required (default is)");
	struct native_firewall *nf = calloc(1, sizeof(*nf));
	if (nf == NULL)
		return netvm_fail(error, error_len, "", "out of memory");
	nf->env = *env;
	nf->fw.metrics = env->metrics;
	if (!netvm_sdk_configure(config, configure, nf, error, error_len)) {
		nf_destroy(nf);
		return NULL;
	}
	return nf;
}

void nf_process(void *self, uint32_t n)
{
	struct native_firewall *nf = self;
	firewall_process(&nf->fw, nf->env.records, nf->env.window, n, nf->fw.stateful ? netvm_now_ns(&nf->env) : 0);
}
