#include "protocol/member.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/scan.h"

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at a string's opening quote: just past its closing one. */
static const char *skip_string(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return e;
}

static const char *skip_value(const char *p, const char *e)
{
	if (p < e && *p == '"')
		return skip_string(p, e);
	if (p < e && (*p == '{' || *p == '[')) {
		int depth = 0;
		while (p < e) {
			if (*p == '"') {
				p = skip_string(p, e);
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if ((*p == '}' || *p == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return e;
	}
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
	       *p != '\n' && *p != '\r')
		p++;
	return p;
}

static bool name_is(const char *raw, size_t len, const char *key, size_t klen)
{
	if (!memchr(raw, '\\', len))
		return len == klen && !memcmp(raw, key, klen);
	char *name = malloc(klen + 1); /* longer names do not fit: not key */
	long n = name ? ab_scan_unescape(raw, len, name, klen + 1) : -1;
	bool is = n >= 0 && (size_t)n == klen && !memcmp(name, key, klen);
	free(name);
	return is;
}

bool json_member(const char *obj, size_t len, const char *key, const char **val, size_t *vlen)
{
	const char *p = skip_ws(obj, obj + len), *e = obj + len;
	size_t klen = strlen(key);

	if (p == e || *p != '{')
		return false;
	for (p++;;) {
		p = skip_ws(p, e);
		if (p == e || *p != '"')
			return false;       /* "}": no more members */
		const char *name = p + 1, *name_end = skip_string(p, e) - 1;
		p = skip_ws(name_end + 1, e);
		if (p == e || *p != ':')
			return false;
		const char *v = skip_ws(p + 1, e);
		p = skip_value(v, e);
		if (name_is(name, (size_t)(name_end - name), key, klen)) {
			*val = v;
			*vlen = (size_t)(p - v);
			return true;
		}
		p = skip_ws(p, e);
		if (p == e || *p != ',')
			return false;
		p++;
	}
}

/* The value of the 4 hex digits at p (known to be hex). */
static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		unsigned c = (unsigned char)p[k] | 0x20;
		v = v * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return v;
}

/* The escape or character at s (n bytes left): its length, and in *out
 * the bytes it decodes to. */
static size_t step(const char *s, size_t n, size_t *out)
{
	*out = 1;
	if (s[0] != '\\')
		return 1;
	if (n < 6 || s[1] != 'u')
		return 2;
	unsigned cp = hex4(s + 2);
	if (cp >= 0xd800 && cp <= 0xdbff && n >= 12 && s[6] == '\\' && s[7] == 'u' &&
	    hex4(s + 8) >= 0xdc00 && hex4(s + 8) <= 0xdfff) {
		*out = 4;       /* a surrogate pair, whole or not at all */
		return 12;
	}
	*out = cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3; /* a lone surrogate: U+FFFD */
	return 6;
}

long json_member_string(const char *raw, size_t len, char *dst, size_t cap)
{
	if (cap == 0 || len < 2 || raw[0] != '"' || raw[len - 1] != '"')
		return -1;
	const char *s = raw + 1;
	size_t n = len - 2, i = 0, o = 0, k, m;
	long r = ab_scan_unescape(s, n, dst, cap);
	if (r != -ENOSPC)
		return r < 0 ? -1 : r;
	/* too long: the text up to the last character that fits */
	while (i < n && (k = step(s + i, n - i, &m)) && o + m <= cap - 1) {
		i += k;
		o += m;
	}
	r = ab_scan_unescape(s, i, dst, cap);
	return r < 0 ? -1 : r;
}
