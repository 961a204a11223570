/* ttl as a vm NF: the very TTL step of ttl-c and the bench's native C ttl
 * (nf-modules/ttl-c/ttl_step.h), byte for byte the Wasm ttl
 * (nf-modules/ttl/index.ts). It takes no config (the host sends "null" for
 * none). */
#include <stdio.h>
#include <string.h>

#include "netvm_guest.h"
#include "../ttl-c/ttl_step.h"

int nf_configure(const char *config, uint32_t len, char *error, uint32_t error_max)
{
	if (len == 0 || strcmp(config, "null") == 0)
		return 0;
	snprintf(error, error_max, "ttl takes no config");
	return 1;
}

uint32_t nf_process(uint8_t *packet, uint32_t *len, uint32_t room, uint16_t port)
{
	(void)room;
	(void)port;
	return ttl_step(packet, *len) == TTL_EXPIRED ? NETVM_DROP : NETVM_NEXT;
}
