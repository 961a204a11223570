/* ttl-c: nf-modules/ttl in C, built to Wasm with the C SDK (nf-modules/sdk-c):
 * a router's TTL step (ttl_step.h, which the bench's native C ttl runs too). */
#define NETVM_READS_NO_META
#include "netvm.h"

#include "ttl_step.h"

static uint32_t expired, stepped;

void nf_init(void)
{
	expired = netvm_counter("ttl_expired");
	stepped = netvm_counter("ttl_stepped");
}

void nf_process(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		enum ttl_step result = ttl_step(netvm_packet(i), netvm_packet_len(i));
		if (result == TTL_EXPIRED) {
			netvm_set_verdict(i, NETVM_DROP);
			netvm_count(expired, 1);
		} else if (result == TTL_STEPPED) {
			netvm_count(stepped, 1);
		}
	}
}
