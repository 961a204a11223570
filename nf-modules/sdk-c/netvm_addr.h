/* Addresses and prefixes as written in configs ("10.0.0.0/8", "2001:db8::/32",
 * "02:00:00:00:00:01"), read with the rules of the AssemblyScript SDK's
 * nf-modules/sdk/addr.ts, so that an NF in C takes and refuses the same text.
 * Freestanding; for configure time, not for the per-packet path. */
#ifndef NETVM_ADDR_H
#define NETVM_ADDR_H

#include <stdbool.h>
#include <stdint.h>

static inline int netvm_hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The IPv4 address in s[0, n) in host order, or -1: four decimal parts of
 * 0-255, no leading zeros. */
static inline int64_t netvm_parse_ipv4(const char *s, uint32_t n)
{
	uint32_t value = 0;
	int32_t part = -1;
	int parts = 0;
	for (uint32_t i = 0; i <= n; i++) {
		const char c = i < n ? s[i] : '.'; /* a final '.' */
		if (c >= '0' && c <= '9') {
			if (part == 0)
				return -1; /* a leading zero */
			part = (part < 0 ? 0 : part * 10) + (c - '0');
			if (part > 255)
				return -1;
		} else if (c == '.') {
			if (part < 0 || ++parts > 4)
				return -1;
			value = value << 8 | (uint32_t)part;
			part = -1;
		} else {
			return -1;
		}
	}
	return parts == 4 ? (int64_t)value : -1;
}

/* The IPv6 address in s[0, n) as 16 bytes at out; false when it is not one.
 * Takes "::" compression and a dotted IPv4 tail ("::ffff:10.0.0.1"). */
static inline bool netvm_parse_ipv6(const char *s, uint32_t n, uint8_t out[16])
{
	uint16_t groups[8];
	int count = 0, gap = -1;
	uint32_t i = 0;
	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (n >= 1 && s[0] == ':') {
		return false;
	}
	while (i < n) {
		if (count == 8)
			return false;
		/* A dotted IPv4 tail fills two groups. */
		bool dot = false, colon = false;
		for (uint32_t k = i; k < n; k++)
			dot |= s[k] == '.', colon |= s[k] == ':';
		if (dot && !colon) {
			int64_t v4 = netvm_parse_ipv4(s + i, n - i);
			if (v4 < 0 || count > 6)
				return false;
			groups[count++] = (uint16_t)(v4 >> 16);
			groups[count++] = (uint16_t)v4;
			break;
		}
		uint32_t value = 0, digits = 0;
		while (i < n && netvm_hex_digit(s[i]) >= 0) {
			value = value << 4 | (uint32_t)netvm_hex_digit(s[i++]);
			if (++digits > 4)
				return false;
		}
		if (digits == 0)
			return false;
		groups[count++] = (uint16_t)value;
		if (i == n)
			break;
		if (s[i] != ':')
			return false;
		i++;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return false;
			gap = count;
			i++;
		} else if (i == n) {
			return false; /* a trailing single ':' */
		}
	}
	if (gap < 0 ? count != 8 : count > 7)
		return false;
	const int zeros = 8 - count;
	for (int g = 0, k = 0; g < 8; g++) {
		const uint16_t value = gap >= 0 && g >= gap && g < gap + zeros ? 0 : groups[k++];
		out[g * 2] = (uint8_t)(value >> 8);
		out[g * 2 + 1] = (uint8_t)value;
	}
	return true;
}

/* "10.0.0.0/8", "2001:db8::/32", or an address alone (all its bits): the
 * address in network order (IPv4 in the first 4 bytes, the rest zero), its
 * version and length. False when text is not one: the length is 1 to 3
 * digits, and bits past it must be zero. */
static inline bool netvm_parse_prefix(const char *text, uint8_t addr[16], int *version, int *len)
{
	uint32_t n = 0, slash = UINT32_MAX;
	for (; text[n] != '\0'; n++)
		if (text[n] == '/' && slash == UINT32_MAX)
			slash = n;
	const uint32_t addr_len = slash == UINT32_MAX ? n : slash;
	for (int k = 0; k < 16; k++)
		addr[k] = 0;
	const int64_t v4 = netvm_parse_ipv4(text, addr_len);
	if (v4 >= 0) {
		*version = 4;
		for (int k = 0; k < 4; k++)
			addr[k] = (uint8_t)(v4 >> (24 - 8 * k));
	} else if (netvm_parse_ipv6(text, addr_len, addr)) {
		*version = 6;
	} else {
		return false;
	}
	const int max = *version == 4 ? 32 : 128;
	*len = max;
	if (slash != UINT32_MAX) {
		const uint32_t digits = n - slash - 1;
		if (digits == 0 || digits > 3)
			return false;
		int l = 0;
		for (uint32_t k = slash + 1; k < n; k++) {
			if (text[k] < '0' || text[k] > '9')
				return false;
			l = l * 10 + (text[k] - '0');
		}
		if (l > max)
			return false;
		*len = l;
	}
	for (int bit = *len; bit < max; bit++)
		if (addr[bit >> 3] & (0x80 >> (bit & 7)))
			return false;
	return true;
}

/* "02:00:00:00:00:01": exactly six pairs of hex digits, ':' between. */
static inline bool netvm_parse_mac(const char *text, uint8_t mac[6])
{
	uint32_t n = 0;
	while (text[n] != '\0')
		n++;
	if (n != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		const int hi = netvm_hex_digit(text[i * 3]), lo = netvm_hex_digit(text[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

#endif
