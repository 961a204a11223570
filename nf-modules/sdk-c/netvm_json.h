/* Reading an NF's config in C: a JSON reader and checked field readers with
 * the rules and messages of the AssemblyScript SDK's parseJson and
 * ConfigReader (nf-modules/sdk/json.ts), so that an NF in C refuses what the
 * AssemblyScript one refuses, naming the same field ("rules[2].dport: must
 * be ..."). Freestanding and allocation-free: the caller gives the token
 * array (netvm_json_parse with no tokens counts them first). For configure
 * time, not for the per-packet path.
 *
 *   struct netvm_config c;
 *   netvm_json_parse(&c, text, len, NULL, 0);          // count: c.n_tokens
 *   netvm_json_parse(&c, text, len, tokens, c.n_tokens);
 *   int64_t flows = 65536;
 *   if (!netvm_config_int(&c, NETVM_JSON_ROOT, "", "flows", false, 1, 1 << 23, &flows)) ... c.error ...
 *
 * A value is the index of its token; the root is NETVM_JSON_ROOT. An object
 * member given twice: the last one counts (as JSON.parse). A member that is
 * JSON null counts as absent. */
#ifndef NETVM_JSON_H
#define NETVM_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "netvm_addr.h"

enum netvm_json_kind { NETVM_JSON_NULL, NETVM_JSON_FALSE, NETVM_JSON_TRUE, NETVM_JSON_NUMBER, NETVM_JSON_STRING, NETVM_JSON_ARRAY, NETVM_JSON_OBJECT };

/* One value (or an object's key, a string). */
struct netvm_json_token {
	uint8_t kind;
	uint32_t start, end; /* its text; a string's without the quotes */
	uint32_t count;      /* an array's items, an object's members */
	uint32_t next;       /* the token after it and everything inside it */
};

typedef uint32_t netvm_json;
#define NETVM_JSON_ROOT 0u
#define NETVM_JSON_NONE UINT32_MAX
#define NETVM_JSON_MAX_DEPTH 64u

struct netvm_config {
	const char *text;
	uint32_t len, pos;
	struct netvm_json_token *tokens; /* NULL while counting */
	uint32_t n_tokens, capacity;
	bool failed;
	char error[256]; /* the first error: "path: reason" */
};

/* ---- writing the error ------------------------------------------------------ */

static inline void netvm_text_put(char *buf, uint32_t cap, uint32_t *at, const char *s)
{
	while (*s != '\0' && *at + 1 < cap)
		buf[(*at)++] = *s++;
	buf[*at < cap ? *at : cap - 1] = '\0';
}

static inline void netvm_text_int(char *buf, uint32_t cap, uint32_t *at, int64_t v)
{
	char digits[24];
	int n = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		digits[n++] = '-';
	char text[24];
	for (int k = 0; k < n; k++)
		text[k] = digits[n - 1 - k];
	text[n] = '\0';
	netvm_text_put(buf, cap, at, text);
}

/* A bound as the SDK writes it: whole numbers as such, others with up to 9 decimals. */
static inline void netvm_text_number(char *buf, uint32_t cap, uint32_t *at, double x)
{
	if (x == (double)(int64_t)x && x > -1e18 && x < 1e18) {
		netvm_text_int(buf, cap, at, (int64_t)x);
		return;
	}
	if (x < 0) {
		netvm_text_put(buf, cap, at, "-");
		x = -x;
	}
	const int64_t whole = (int64_t)x;
	netvm_text_int(buf, cap, at, whole);
	uint64_t frac = (uint64_t)((x - (double)whole) * 1e9 + 0.5);
	char digits[11] = ".000000000";
	for (int k = 9; k >= 1; k--, frac /= 10)
		digits[k] = (char)('0' + frac % 10);
	int last = 9;
	while (last > 1 && digits[last] == '0')
		digits[last--] = '\0';
	netvm_text_put(buf, cap, at, digits);
}

/* Records "where: reason" unless an error was recorded before; false. */
static inline bool netvm_config_fail(struct netvm_config *c, const char *where, const char *reason)
{
	if (c->failed)
		return false;
	c->failed = true;
	uint32_t at = 0;
	netvm_text_put(c->error, sizeof(c->error), &at, *where != '\0' ? where : "(root)");
	netvm_text_put(c->error, sizeof(c->error), &at, ": ");
	netvm_text_put(c->error, sizeof(c->error), &at, reason);
	return false;
}

/* Paths: "key" or "path.key"; "path[i]". */
static inline const char *netvm_key_path(char *buf, uint32_t cap, const char *path, const char *key)
{
	uint32_t at = 0;
	netvm_text_put(buf, cap, &at, path);
	if (*path != '\0')
		netvm_text_put(buf, cap, &at, ".");
	netvm_text_put(buf, cap, &at, key);
	return buf;
}

static inline const char *netvm_item_path(char *buf, uint32_t cap, const char *path, uint32_t i)
{
	uint32_t at = 0;
	netvm_text_put(buf, cap, &at, path);
	netvm_text_put(buf, cap, &at, "[");
	netvm_text_int(buf, cap, &at, i);
	netvm_text_put(buf, cap, &at, "]");
	return buf;
}

/* ---- parsing --------------------------------------------------------------- */

static inline bool netvm_json_syntax(struct netvm_config *c, uint32_t at, const char *what)
{
	if (c->failed)
		return false;
	/* As the SDK's ConfigReader says it: no path. */
	c->failed = true;
	uint32_t n = 0;
	netvm_text_put(c->error, sizeof(c->error), &n, "invalid JSON at ");
	netvm_text_int(c->error, sizeof(c->error), &n, at);
	netvm_text_put(c->error, sizeof(c->error), &n, ": ");
	netvm_text_put(c->error, sizeof(c->error), &n, what);
	return false;
}

/* "what 'x'" (quoted) or "what x" for a printable character, else "what U+00XX" (as the SDK's describe). */
static inline bool netvm_json_syntax_char(struct netvm_config *c, uint32_t at, const char *what, unsigned char ch, bool quoted)
{
	char text[64];
	uint32_t n = 0;
	netvm_text_put(text, sizeof(text), &n, what);
	if (ch > 0x20 && ch < 0x7f) {
		char one[4] = { (char)ch, '\0' };
		if (quoted)
			one[0] = '\'', one[1] = (char)ch, one[2] = '\'', one[3] = '\0';
		netvm_text_put(text, sizeof(text), &n, one);
	} else {
		const char hex[] = "0123456789ABCDEF";
		const char code[7] = { 'U', '+', '0', '0', hex[ch >> 4], hex[ch & 15], '\0' };
		netvm_text_put(text, sizeof(text), &n, code);
	}
	return netvm_json_syntax(c, at, text);
}

static inline void netvm_json_space(struct netvm_config *c)
{
	while (c->pos < c->len) {
		const char ch = c->text[c->pos];
		if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t')
			break;
		c->pos++;
	}
}

/* A new token (written only when there is room: while counting there is none). */
static inline uint32_t netvm_json_token(struct netvm_config *c, enum netvm_json_kind kind, uint32_t start)
{
	const uint32_t t = c->n_tokens++;
	if (c->tokens != NULL && t < c->capacity)
		c->tokens[t] = (struct netvm_json_token){ .kind = (uint8_t)kind, .start = start, .end = start };
	return t;
}

static inline void netvm_json_close(struct netvm_config *c, uint32_t t, uint32_t end, uint32_t count)
{
	if (c->tokens != NULL && t < c->capacity) {
		c->tokens[t].end = end;
		c->tokens[t].count = count;
		c->tokens[t].next = c->n_tokens;
	}
}

static inline bool netvm_json_string_token(struct netvm_config *c)
{
	const uint32_t quote = c->pos++;
	const uint32_t t = netvm_json_token(c, NETVM_JSON_STRING, c->pos);
	while (c->pos < c->len) {
		const unsigned char ch = (unsigned char)c->text[c->pos];
		if (ch == '"') {
			netvm_json_close(c, t, c->pos++, 0);
			return true;
		}
		if (ch < 0x20)
			return netvm_json_syntax(c, c->pos, "control character in string (write it as an escape)");
		if (ch == '\\') {
			if (c->pos + 1 >= c->len)
				break;
			const char e = c->text[c->pos + 1];
			if (e == 'u') {
				for (uint32_t k = 2; k < 6; k++) {
					if (c->pos + k >= c->len)
						return netvm_json_syntax(c, quote, "unterminated string");
					if (netvm_hex_digit(c->text[c->pos + k]) < 0)
						return netvm_json_syntax(c, c->pos, "invalid \\u escape (needs 4 hex digits)");
				}
				c->pos += 6;
				continue;
			}
			if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't')
				return netvm_json_syntax_char(c, c->pos, "invalid escape \\", (unsigned char)e, false);
			c->pos += 2;
			continue;
		}
		c->pos++;
	}
	return netvm_json_syntax(c, quote, "unterminated string");
}

static inline bool netvm_json_digits(struct netvm_config *c, const char *what)
{
	if (c->pos >= c->len || (unsigned)(c->text[c->pos] - '0') >= 10)
		return netvm_json_syntax(c, c->pos, what);
	while (c->pos < c->len && (unsigned)(c->text[c->pos] - '0') < 10)
		c->pos++;
	return true;
}

static inline bool netvm_json_number_token(struct netvm_config *c)
{
	const uint32_t start = c->pos;
	const uint32_t t = netvm_json_token(c, NETVM_JSON_NUMBER, start);
	if (c->text[c->pos] == '-')
		c->pos++;
	if (c->pos < c->len && c->text[c->pos] == '0') {
		c->pos++;
		if (c->pos < c->len && (unsigned)(c->text[c->pos] - '0') < 10)
			return netvm_json_syntax(c, start, "leading zero in number");
	} else if (!netvm_json_digits(c, "expected a digit after '-'")) {
		return false;
	}
	if (c->pos < c->len && c->text[c->pos] == '.') {
		c->pos++;
		if (!netvm_json_digits(c, "expected a digit after '.'"))
			return false;
	}
	if (c->pos < c->len && (c->text[c->pos] | 32) == 'e') {
		c->pos++;
		if (c->pos < c->len && (c->text[c->pos] == '+' || c->text[c->pos] == '-'))
			c->pos++;
		if (!netvm_json_digits(c, "expected a digit in exponent"))
			return false;
	}
	netvm_json_close(c, t, c->pos, 0);
	return true;
}

static inline bool netvm_json_value(struct netvm_config *c, uint32_t depth);

/* An array or an object (open is '[' or '{'). */
static inline bool netvm_json_container(struct netvm_config *c, uint32_t depth)
{
	const bool object = c->text[c->pos] == '{';
	const char close = object ? '}' : ']';
	if (depth >= NETVM_JSON_MAX_DEPTH)
		return netvm_json_syntax(c, c->pos, "nesting deeper than 64 levels");
	const uint32_t t = netvm_json_token(c, object ? NETVM_JSON_OBJECT : NETVM_JSON_ARRAY, c->pos);
	c->pos++;
	uint32_t count = 0;
	netvm_json_space(c);
	if (c->pos < c->len && c->text[c->pos] == close) {
		netvm_json_close(c, t, ++c->pos, 0);
		return true;
	}
	for (;;) {
		netvm_json_space(c);
		if (c->pos >= c->len)
			return netvm_json_syntax(c, c->len, "unexpected end of input");
		if (object) {
			if (c->text[c->pos] != '"')
				return netvm_json_syntax(c, c->pos, "expected a string as object key");
			if (!netvm_json_string_token(c))
				return false;
			netvm_json_space(c);
			if (c->pos >= c->len)
				return netvm_json_syntax(c, c->len, "unexpected end of input");
			if (c->text[c->pos] != ':')
				return netvm_json_syntax(c, c->pos, "expected ':' after object key");
			c->pos++;
		}
		if (!netvm_json_value(c, depth + 1))
			return false;
		count++;
		netvm_json_space(c);
		if (c->pos >= c->len)
			return netvm_json_syntax(c, c->len, "unexpected end of input");
		if (c->text[c->pos] == close) {
			netvm_json_close(c, t, ++c->pos, count);
			return true;
		}
		if (c->text[c->pos] != ',')
			return netvm_json_syntax(c, c->pos, object ? "expected ',' or '}' after object member" : "expected ',' or ']' after array item");
		const uint32_t comma = c->pos++;
		netvm_json_space(c);
		if (c->pos < c->len && c->text[c->pos] == close)
			return netvm_json_syntax(c, comma, "trailing comma");
	}
}

static inline bool netvm_json_literal(struct netvm_config *c, const char *word, enum netvm_json_kind kind)
{
	uint32_t n = 0;
	while (word[n] != '\0') {
		if (c->pos + n >= c->len || c->text[c->pos + n] != word[n])
			return netvm_json_syntax(c, c->pos, "invalid literal (expected true, false or null)");
		n++;
	}
	const uint32_t t = netvm_json_token(c, kind, c->pos);
	c->pos += n;
	netvm_json_close(c, t, c->pos, 0);
	return true;
}

static inline bool netvm_json_value(struct netvm_config *c, uint32_t depth)
{
	netvm_json_space(c);
	if (c->pos >= c->len)
		return netvm_json_syntax(c, c->len, "unexpected end of input");
	const char ch = c->text[c->pos];
	if (ch == '{' || ch == '[')
		return netvm_json_container(c, depth);
	if (ch == '"')
		return netvm_json_string_token(c);
	if (ch == '-' || (unsigned)(ch - '0') < 10)
		return netvm_json_number_token(c);
	if (ch == 't')
		return netvm_json_literal(c, "true", NETVM_JSON_TRUE);
	if (ch == 'f')
		return netvm_json_literal(c, "false", NETVM_JSON_FALSE);
	if (ch == 'n')
		return netvm_json_literal(c, "null", NETVM_JSON_NULL);
	return netvm_json_syntax_char(c, c->pos, "unexpected character ", (unsigned char)ch, true);
}

/* Parses text[0, len) into tokens (capacity of them); with tokens NULL, only
 * checks it and counts the tokens it needs (c->n_tokens). False with the
 * reason in c->error when it is not JSON, or there are more than capacity. */
static inline bool netvm_json_parse(struct netvm_config *c, const char *text, uint32_t len, struct netvm_json_token *tokens,
				    uint32_t capacity)
{
	*c = (struct netvm_config){ .text = text, .len = len, .tokens = tokens, .capacity = capacity };
	if (!netvm_json_value(c, 0))
		return false;
	netvm_json_space(c);
	if (c->pos < c->len)
		return netvm_json_syntax(c, c->pos, "trailing characters");
	if (tokens != NULL && c->n_tokens > capacity)
		return netvm_config_fail(c, "", "more JSON values than the tokens given");
	return true;
}

/* ---- values ----------------------------------------------------------------- */

static inline enum netvm_json_kind netvm_json_kind(const struct netvm_config *c, netvm_json v)
{
	return (enum netvm_json_kind)c->tokens[v].kind;
}

/* Items of an array, members of an object. */
static inline uint32_t netvm_json_count(const struct netvm_config *c, netvm_json v)
{
	return c->tokens[v].count;
}

/* Item i of an array (i < its count). */
static inline netvm_json netvm_json_item(const struct netvm_config *c, netvm_json array, uint32_t i)
{
	netvm_json v = array + 1;
	while (i-- > 0)
		v = c->tokens[v].next;
	return v;
}

/* One character of a string's text at *p (an escape decoded) as UTF-8 into
 * out; its byte count. The text was checked by netvm_json_parse. */
static inline uint32_t netvm_json_char(const char *text, uint32_t *p, uint32_t end, uint8_t out[4])
{
	const char ch = text[*p];
	if (ch != '\\') {
		out[0] = (uint8_t)ch;
		(*p)++;
		return 1;
	}
	const char e = text[*p + 1];
	if (e != 'u') {
		*p += 2;
		out[0] = (uint8_t)(e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e);
		return 1;
	}
	uint32_t cp = 0;
	for (uint32_t k = 2; k < 6; k++)
		cp = cp << 4 | (uint32_t)netvm_hex_digit(text[*p + k]);
	*p += 6;
	if (cp >= 0xd800 && cp < 0xdc00 && *p + 6 <= end && text[*p] == '\\' && text[*p + 1] == 'u') {
		uint32_t lo = 0;
		for (uint32_t k = 2; k < 6; k++)
			lo = lo << 4 | (uint32_t)netvm_hex_digit(text[*p + k]);
		if (lo >= 0xdc00 && lo < 0xe000) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			*p += 6;
		}
	}
	if (cp >= 0xd800 && cp < 0xe000)
		cp = 0xfffd; /* a lone surrogate: UTF-8 has none (as String.UTF8.encode) */
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6), out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12), out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)), out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18), out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)), out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* Whether string v is s. */
static inline bool netvm_json_equals(const struct netvm_config *c, netvm_json v, const char *s)
{
	const struct netvm_json_token *t = &c->tokens[v];
	uint32_t p = t->start, k = 0;
	uint8_t ch[4];
	while (p < t->end) {
		const uint32_t n = netvm_json_char(c->text, &p, t->end, ch);
		for (uint32_t j = 0; j < n; j++, k++)
			if (s[k] != (char)ch[j])
				return false;
	}
	return s[k] == '\0';
}

/* String v, decoded and NUL-terminated, into out (cap bytes); its length, or
 * -1 when it does not fit. */
static inline int32_t netvm_json_string(const struct netvm_config *c, netvm_json v, char *out, uint32_t cap)
{
	const struct netvm_json_token *t = &c->tokens[v];
	uint32_t p = t->start, k = 0;
	uint8_t ch[4];
	while (p < t->end) {
		const uint32_t n = netvm_json_char(c->text, &p, t->end, ch);
		if (k + n >= cap)
			return -1;
		for (uint32_t j = 0; j < n; j++)
			out[k++] = (char)ch[j];
	}
	out[k] = '\0';
	return (int32_t)k;
}

/* Number v as a double: exact for integers to 2^53 and for decimals with up
 * to 15 significant digits and exponents within 22 (every config value a
 * person writes); within an ulp or so beyond. */
static inline double netvm_json_number(const struct netvm_config *c, netvm_json v)
{
	static const double POW10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
					1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	const struct netvm_json_token *t = &c->tokens[v];
	uint32_t p = t->start;
	const bool negative = c->text[p] == '-';
	p += negative;
	uint64_t mantissa = 0;
	int32_t exp10 = 0;
	bool fraction = false;
	for (; p < t->end; p++) {
		const char ch = c->text[p];
		if (ch == '.') {
			fraction = true;
		} else if ((unsigned)(ch - '0') < 10) {
			if (mantissa < 1000000000000000000ull)
				mantissa = mantissa * 10 + (uint64_t)(ch - '0'), exp10 -= fraction;
			else
				exp10 += !fraction;
		} else {
			break;
		}
	}
	if (p < t->end) { /* the exponent */
		p++;
		const bool minus = c->text[p] == '-';
		p += c->text[p] == '-' || c->text[p] == '+';
		int32_t e = 0;
		for (; p < t->end; p++)
			if (e < 100000)
				e = e * 10 + (c->text[p] - '0');
		exp10 += minus ? -e : e;
	}
	double x = (double)mantissa;
	for (; exp10 > 22; exp10 -= 22)
		x *= 1e22;
	for (; exp10 < -22; exp10 += 22)
		x /= 1e22;
	x = exp10 >= 0 ? x * POW10[exp10] : x / POW10[-exp10];
	return negative ? -x : x;
}

/* Member key of object obj (the last one of that name), or NETVM_JSON_NONE. */
static inline netvm_json netvm_json_get(const struct netvm_config *c, netvm_json obj, const char *key)
{
	netvm_json found = NETVM_JSON_NONE;
	netvm_json k = obj + 1;
	for (uint32_t i = 0; i < c->tokens[obj].count; i++) {
		const netvm_json value = k + 1;
		if (netvm_json_equals(c, k, key))
			found = value;
		k = c->tokens[value].next;
	}
	return found;
}

/* ---- checked fields (the SDK's ConfigReader) ---------------------------------
 * Each reads member key of the object obj at path. Absent (or JSON null) and
 * not required: *out keeps its value (the default) and the call returns true.
 * Otherwise a value of the wrong kind or range records "path.key: reason"
 * and returns false. */

/* Whether v is an object; "required" / "must be an object" at path. */
static inline bool netvm_config_object(struct netvm_config *c, netvm_json v, const char *path)
{
	if (v != NETVM_JSON_NONE && netvm_json_kind(c, v) == NETVM_JSON_OBJECT)
		return true;
	return netvm_config_fail(c, path, v == NETVM_JSON_NONE || netvm_json_kind(c, v) == NETVM_JSON_NULL ? "required" : "must be an object");
}

/* Member key of obj; NETVM_JSON_NONE when absent or null. */
static inline netvm_json netvm_config_field(const struct netvm_config *c, netvm_json obj, const char *key)
{
	const netvm_json v = netvm_json_get(c, obj, key);
	return v != NETVM_JSON_NONE && netvm_json_kind(c, v) != NETVM_JSON_NULL ? v : NETVM_JSON_NONE;
}

/* Fails naming path.key with reason (a member that is there but wrong, or missing). */
static inline bool netvm_config_bad(struct netvm_config *c, const char *path, const char *key, const char *reason)
{
	char where[128];
	return netvm_config_fail(c, netvm_key_path(where, sizeof(where), path, key), reason);
}

/* The member, or NETVM_JSON_NONE; *ok false (and "required" recorded) when it is missing but required. */
static inline netvm_json netvm_config_member(struct netvm_config *c, netvm_json obj, const char *path, const char *key, bool required,
					     bool *ok)
{
	const netvm_json v = netvm_config_field(c, obj, key);
	*ok = v != NETVM_JSON_NONE || !required || netvm_config_bad(c, path, key, "required");
	return v;
}

/* Every key of obj is one of keys (NULL-terminated): else "path.key: unknown key (allowed: ...)". */
static inline bool netvm_config_only_keys(struct netvm_config *c, netvm_json obj, const char *path, const char *const *keys)
{
	netvm_json k = obj + 1;
	for (uint32_t i = 0; i < c->tokens[obj].count; i++, k = c->tokens[k + 1].next) {
		const char *const *allowed = keys;
		while (*allowed != NULL && !netvm_json_equals(c, k, *allowed))
			allowed++;
		if (*allowed != NULL)
			continue;
		char name[64], reason[192];
		uint32_t at = 0;
		netvm_text_put(reason, sizeof(reason), &at, "unknown key (allowed: ");
		for (allowed = keys; *allowed != NULL; allowed++) {
			netvm_text_put(reason, sizeof(reason), &at, allowed == keys ? "" : ", ");
			netvm_text_put(reason, sizeof(reason), &at, *allowed);
		}
		netvm_text_put(reason, sizeof(reason), &at, ")");
		if (netvm_json_string(c, k, name, sizeof(name)) < 0)
			netvm_text_put(name, sizeof(name), &(uint32_t){ 0 }, "(a long key)");
		return netvm_config_bad(c, path, name, reason);
	}
	return true;
}

/* A string (decoded, NUL-terminated) into out, of at most cap - 1 bytes. */
static inline bool netvm_config_string(struct netvm_config *c, netvm_json obj, const char *path, const char *key, bool required,
				       char *out, uint32_t cap)
{
	bool ok;
	const netvm_json v = netvm_config_member(c, obj, path, key, required, &ok);
	if (v == NETVM_JSON_NONE)
		return ok;
	if (netvm_json_kind(c, v) != NETVM_JSON_STRING)
		return netvm_config_bad(c, path, key, "must be a string");
	if (netvm_json_string(c, v, out, cap) < 0) {
		char reason[64];
		uint32_t at = 0;
		netvm_text_put(reason, sizeof(reason), &at, "longer than ");
		netvm_text_int(reason, sizeof(reason), &at, cap - 1);
		netvm_text_put(reason, sizeof(reason), &at, " bytes");
		return netvm_config_bad(c, path, key, reason);
	}
	return true;
}

static inline bool netvm_config_numeric(struct netvm_config *c, netvm_json obj, const char *path, const char *key, bool required, double lo,
					double hi, bool whole, double *out)
{
	bool ok;
	const netvm_json v = netvm_config_member(c, obj, path, key, required, &ok);
	if (v == NETVM_JSON_NONE)
		return ok;
	const double x = netvm_json_kind(c, v) == NETVM_JSON_NUMBER ? netvm_json_number(c, v) : lo - 1;
	if (x >= lo && x <= hi && (!whole || x == (double)(int64_t)x)) {
		*out = x;
		return true;
	}
	char reason[96];
	uint32_t at = 0;
	netvm_text_put(reason, sizeof(reason), &at, whole ? "must be an integer from " : "must be a number from ");
	netvm_text_number(reason, sizeof(reason), &at, lo);
	netvm_text_put(reason, sizeof(reason), &at, " to ");
	netvm_text_number(reason, sizeof(reason), &at, hi);
	return netvm_config_bad(c, path, key, reason);
}

/* A number in [lo, hi]. */
static inline bool netvm_config_number(struct netvm_config *c, netvm_json obj, const char *path, const char *key, bool required, double lo,
				       double hi, double *out)
{
	return netvm_config_numeric(c, obj, path, key, required, lo, hi, false, out);
}

/* A whole number in [lo, hi]. */
static inline bool netvm_config_int(struct netvm_config *c, netvm_json obj, const char *path, const char *key, bool required, int64_t lo,
				    int64_t hi, int64_t *out)
{
	double x = (double)*out;
	if (!netvm_config_numeric(c, obj, path, key, required, (double)lo, (double)hi, true, &x))
		return false;
	*out = (int64_t)x;
	return true;
}

static inline bool netvm_config_bool(struct netvm_config *c, netvm_json obj, const char *path, const char *key, bool required, bool *out)
{
	bool ok;
	const netvm_json v = netvm_config_member(c, obj, path, key, required, &ok);
	if (v == NETVM_JSON_NONE)
		return ok;
	const enum netvm_json_kind kind = netvm_json_kind(c, v);
	if (kind != NETVM_JSON_TRUE && kind != NETVM_JSON_FALSE)
		return netvm_config_bad(c, path, key, "must be true or false");
	*out = kind == NETVM_JSON_TRUE;
	return true;
}

/* The index in choices (NULL-terminated) of a string member. */
static inline bool netvm_config_choice(struct netvm_config *c, netvm_json obj, const char *path, const char *key, bool required,
				       const char *const *choices, int *out)
{
	bool ok;
	const netvm_json v = netvm_config_member(c, obj, path, key, required, &ok);
	if (v == NETVM_JSON_NONE)
		return ok;
	if (netvm_json_kind(c, v) == NETVM_JSON_STRING)
		for (int i = 0; choices[i] != NULL; i++)
			if (netvm_json_equals(c, v, choices[i])) {
				*out = i;
				return true;
			}
	char reason[128];
	uint32_t at = 0;
	netvm_text_put(reason, sizeof(reason), &at, "must be one of: ");
	for (int i = 0; choices[i] != NULL; i++) {
		netvm_text_put(reason, sizeof(reason), &at, i == 0 ? "" : ", ");
		netvm_text_put(reason, sizeof(reason), &at, choices[i]);
	}
	return netvm_config_bad(c, path, key, reason);
}

/* An array member into *out (NETVM_JSON_NONE when absent). */
static inline bool netvm_config_array(struct netvm_config *c, netvm_json obj, const char *path, const char *key, bool required,
				      netvm_json *out)
{
	bool ok;
	const netvm_json v = netvm_config_member(c, obj, path, key, required, &ok);
	*out = v;
	if (v == NETVM_JSON_NONE || netvm_json_kind(c, v) == NETVM_JSON_ARRAY)
		return ok;
	*out = NETVM_JSON_NONE;
	return netvm_config_bad(c, path, key, "must be an array");
}

#endif
