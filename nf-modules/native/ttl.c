/* ttl in C: the same logic as nf-modules/ttl (the bench's anchor). Valid IPv4
 * (IHL >= 5, total length within the frame, header checksum correct): TTL <= 1
 * is dropped, else TTL - 1 with the checksum updated incrementally (RFC 1624).
 * IPv6: hop limit <= 1 is dropped, else - 1. Anything else passes unchanged. */
#include <stdlib.h>

#include "netvm_native.h"

const char NF_METRIC_NAMES[] = "ttl_expired,ttl_stepped";
/* It walks the Ethernet header itself, as nf-modules/ttl does: no meta. */
const bool NF_READS_META = false;
enum { M_EXPIRED, M_STEPPED };

enum step { UNTOUCHED, EXPIRED, STEPPED };

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

static enum step ipv4_step(uint8_t *ip, uint32_t avail)
{
	if (avail < 20)
		return UNTOUCHED;
	uint32_t hlen = (uint32_t)(ip[0] & 15) << 2;
	if (ip[0] >> 4 != 4 || hlen < 20)
		return UNTOUCHED;
	uint32_t total = netvm_be16(ip + 2);
	if (total < hlen || total > avail || netvm_sum16(ip, hlen) != 0xffff)
		return UNTOUCHED;
	if (ip[8] <= 1)
		return EXPIRED;
	uint16_t old_word = netvm_be16(ip + 8);
	uint16_t new_word = (uint16_t)(old_word - 0x100);
	netvm_put_be16(ip + 8, new_word);
	netvm_put_be16(ip + 10, netvm_checksum_update16(netvm_be16(ip + 10), old_word, new_word));
	return STEPPED;
}

static enum step ipv6_step(uint8_t *ip, uint32_t avail)
{
	if (avail < 40 || ip[0] >> 4 != 6)
		return UNTOUCHED;
	if (ip[7] <= 1)
		return EXPIRED;
	ip[7]--;
	return STEPPED;
}

/* The L3 header's offset and ethertype after an 802.1Q tag, or an 802.1ad
 * tag and an 802.1Q tag (as the SDK's l3Of); type 0 when there is none. */
static uint32_t l3_of(const uint8_t *p, uint32_t len, uint16_t *type)
{
	*type = 0;
	if (len < 14)
		return 0;
	uint32_t off = 12;
	uint16_t t = netvm_be16(p + off);
	if (t == 0x88a8) {
		if (len < off + 8)
			return 0;
		off += 4;
		t = netvm_be16(p + off);
		if (t != 0x8100)
			return 0;
	}
	if (t == 0x8100) {
		if (len < off + 6)
			return 0;
		off += 4;
		t = netvm_be16(p + off);
	}
	*type = t;
	return off + 2;
}

void nf_process(void *self, uint32_t n)
{
	struct ttl *nf = self;
	struct netvm_record *r = nf->env.records;
	uint64_t *m = nf->env.metrics;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = nf->env.window + r[i].pool_off;
		uint32_t len = r[i].len;
		uint16_t type;
		uint32_t off = l3_of(p, len, &type);
		enum step result = UNTOUCHED;
		if (type == 0x0800)
			result = ipv4_step(p + off, len - off);
		else if (type == 0x86dd)
			result = ipv6_step(p + off, len - off);
		if (result == EXPIRED) {
			r[i].verdict = NETVM_DROP;
			m[M_EXPIRED]++;
		} else if (result == STEPPED) {
			m[M_STEPPED]++;
		}
	}
}
