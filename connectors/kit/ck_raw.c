/*
 * ck_raw: a validating JSON scanner that only reports byte spans.  See
 * ck_raw.h.  Every read is bounds-checked against the length it was given;
 * nesting is tracked with a bit stack (no recursion).
 */
#include "ck_raw.h"
#include "ck_buf.h"

#include <stdlib.h>
#include <string.h>

/* On the hot path of the destinations: optimize for speed, not size. */

/* Byte classes inside a string: 0 plain ASCII, 1 '"', 2 '\\', 3 control, 4 non-ASCII. */
static const unsigned char str_cls[256] = {
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

static inline int is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \uXXXX at s[i] (the backslash); -1 if malformed or short. */
static long hex4(const unsigned char *s, size_t n, size_t i)
{
	long v = 0;
	int k, h;

	if (n - i < 6 || s[i + 1] != 'u')
		return -1;
	for (k = 2; k < 6; k++) {
		if ((h = hexval(s[i + k])) < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Length of the valid UTF-8 sequence at s[i] (non-ASCII lead), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n, size_t i)
{
	unsigned c = s[i], lo = 0x80, hi = 0xBF;
	size_t len, k;

	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (n - i < len)
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if (s[i + k] < 0x80 || s[i + k] > 0xBF)
			return 0;
	return len;
}

/* The string starting at s[*i] == '"'; *i moves past the closing quote. */
static int scan_string(const unsigned char *s, size_t n, size_t *pi, unsigned *flags)
{
	size_t i = *pi + 1, l;
	long u, u2;

	for (;;) {
		while (i < n && !str_cls[s[i]])
			i++;
		if (i >= n)
			goto bad;
		switch (str_cls[s[i]]) {
		case 1:
			*pi = i + 1;
			return 0;
		case 2:
			*flags |= CK_RAW_ESC;
			if (i + 1 >= n)
				goto bad;
			switch (s[i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				i += 2;
				break;
			case 'u':
				if ((u = hex4(s, n, i)) < 0)
					goto bad;
				i += 6;
				if (u >= 0xDC00 && u <= 0xDFFF)
					goto bad;  /* lone low surrogate */
				if (u >= 0xD800 && u <= 0xDBFF) {
					if (i >= n || s[i] != '\\' || (u2 = hex4(s, n, i)) < 0 ||
					    u2 < 0xDC00 || u2 > 0xDFFF)
						goto bad;
					i += 6;
				}
				break;
			default:
				goto bad;
			}
			break;
		case 3:
			goto bad;
		default:
			if (!(l = utf8_len(s, n, i)))
				goto bad;
			i += l;
		}
	}
bad:
	*pi = i;
	return -1;
}

static int scan_number(const unsigned char *s, size_t n, size_t *pi)
{
	size_t i = *pi;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i]))
		goto bad;
	if (s[i] == '0')
		i++;
	else
		while (i < n && is_digit(s[i]))
			i++;
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			goto bad;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i]))
			goto bad;
		while (i < n && is_digit(s[i]))
			i++;
	}
	*pi = i;
	return 0;
bad:
	*pi = i;
	return -1;
}

/* One value at s[*pi] (no leading whitespace); iterative over nesting. */
static int scan_value(const unsigned char *s, size_t n, size_t *pi, unsigned *flags)
{
	uint64_t stack[CK_RAW_MAX_DEPTH / 64]; /* bit set: object, clear: array */
	size_t i = *pi, depth = 0;
	unsigned f = 0;

value:
	if (i >= n)
		goto bad;
	switch (s[i]) {
	case '{':
	case '[':
		if (depth == CK_RAW_MAX_DEPTH)
			goto bad;
		if (s[i] == '{')
			stack[depth / 64] |= (uint64_t)1 << (depth % 64);
		else
			stack[depth / 64] &= ~((uint64_t)1 << (depth % 64));
		depth++;
		i++;
		while (i < n && is_ws(s[i])) {
			i++;
			f |= CK_RAW_WS;
		}
		if (i < n && (s[i] == '}' || s[i] == ']')) {
			if (s[i] != (((stack[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1) ? '}' : ']'))
				goto bad;
			depth--;
			i++;
			goto after;
		}
		if ((stack[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1)
			goto key;
		goto value;
	case '"':
		if (scan_string(s, n, &i, &f))
			goto bad;
		goto after;
	case 't':
		if (n - i < 4 || memcmp(s + i, "true", 4))
			goto bad;
		i += 4;
		goto after;
	case 'f':
		if (n - i < 5 || memcmp(s + i, "false", 5))
			goto bad;
		i += 5;
		goto after;
	case 'n':
		if (n - i < 4 || memcmp(s + i, "null", 4))
			goto bad;
		i += 4;
		goto after;
	default:
		if (scan_number(s, n, &i))
			goto bad;
		goto after;
	}
key:
	if (i >= n || s[i] != '"' || scan_string(s, n, &i, &f))
		goto bad;
	while (i < n && is_ws(s[i])) {
		i++;
		f |= CK_RAW_WS;
	}
	if (i >= n || s[i] != ':')
		goto bad;
	i++;
	while (i < n && is_ws(s[i])) {
		i++;
		f |= CK_RAW_WS;
	}
	goto value;
after:
	if (!depth) {
		*pi = i;
		*flags |= f;
		return 0;
	}
	while (i < n && is_ws(s[i])) {
		i++;
		f |= CK_RAW_WS;
	}
	if (i >= n)
		goto bad;
	{
		int obj = (int)((stack[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1);

		if (s[i] == ',') {
			i++;
			while (i < n && is_ws(s[i])) {
				i++;
				f |= CK_RAW_WS;
			}
			if (obj)
				goto key;
			goto value;
		}
		if (s[i] == (obj ? '}' : ']')) {
			depth--;
			i++;
			goto after;
		}
	}
bad:
	*pi = i;
	return -1;
}

enum ck_raw_kind ck_raw_kind(struct ck_raw_span v)
{
	if (!v.p || !v.n)
		return CK_RAW_ABSENT;
	switch (v.p[0]) {
	case '{': return CK_RAW_OBJECT;
	case '[': return CK_RAW_ARRAY;
	case '"': return CK_RAW_STRING;
	case 't': return CK_RAW_TRUE;
	case 'f': return CK_RAW_FALSE;
	case 'n': return CK_RAW_NULL;
	default: return CK_RAW_NUMBER;
	}
}

int ck_raw_value(const char *s, size_t n, size_t *pos, struct ck_raw_span *v)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = *pos, start;
	unsigned f = 0;

	while (i < n && is_ws(u[i]))
		i++;
	start = i;
	if (scan_value(u, n, &i, &f)) {
		*pos = i;
		return -1;
	}
	v->p = s + start;
	v->n = i - start;
	v->flags = f;
	*pos = i;
	return 0;
}

void ck_raw_iter_init(struct ck_raw_iter *it, const char *s, size_t n)
{
	it->s = s;
	it->n = n;
	it->i = 0;
	it->state = 0;
}

/* states: 0 before '{', 1 after a key (value pending), 2 done, -1 error */
int ck_raw_next_key(struct ck_raw_iter *it, struct ck_raw_span *key)
{
	const unsigned char *s = (const unsigned char *)it->s;
	size_t n = it->n, i = it->i, start;
	unsigned f = 0;

	if (it->state == 2)
		return 0;
	if (it->state < 0)
		return -1;
	while (i < n && is_ws(s[i]))
		i++;
	if (it->state == 0) {
		if (i >= n || s[i] != '{')
			goto bad;
		i++;
		while (i < n && is_ws(s[i]))
			i++;
		if (i < n && s[i] == '}') {
			it->i = i + 1;
			it->state = 2;
			return 0;
		}
	} else {
		if (i >= n)
			goto bad;
		if (s[i] == '}') {
			it->i = i + 1;
			it->state = 2;
			return 0;
		}
		if (s[i] != ',')
			goto bad;
		i++;
		while (i < n && is_ws(s[i]))
			i++;
	}
	if (i >= n || s[i] != '"')
		goto bad;
	start = i;
	if (scan_string(s, n, &i, &f))
		goto bad;
	key->p = it->s + start;
	key->n = i - start;
	key->flags = f;
	while (i < n && is_ws(s[i]))
		i++;
	if (i >= n || s[i] != ':')
		goto bad;
	i++;
	while (i < n && is_ws(s[i]))
		i++;
	it->i = i;
	it->state = 1;
	return 1;
bad:
	it->i = i;
	it->state = -1;
	return -1;
}

int ck_raw_next(struct ck_raw_iter *it, struct ck_raw_span *key, struct ck_raw_span *val)
{
	int r = ck_raw_next_key(it, key);

	if (r <= 0)
		return r;
	if (ck_raw_value(it->s, it->n, &it->i, val)) {
		it->state = -1;
		return -1;
	}
	return 1;
}

/* Fast path for the common unescaped ASCII keys. */
static inline int key_is(struct ck_raw_span k, const char *lit, size_t ll)
{
	if (!(k.flags & CK_RAW_ESC))
		return k.n == ll + 2 && !memcmp(k.p + 1, lit, ll);
	return ck_raw_str_eq(k, lit);
}

int ck_raw_message(const char *line, size_t len, struct ck_raw_msg *m,
		   const char **err, size_t *errpos)
{
	struct ck_raw_iter it, rit;
	struct ck_raw_span k, v;
	const unsigned char *u = (const unsigned char *)line;
	int r;

	memset(m, 0, sizeof(*m));
	ck_raw_iter_init(&it, line, len);
	while ((r = ck_raw_next_key(&it, &k)) > 0) {
		if (!key_is(k, "record", 6) || it.i >= len || line[it.i] != '{') {
			if (ck_raw_value(line, len, &it.i, &v))
				goto bad_it;
			if (key_is(k, "type", 4))
				m->type = v;
			else if (key_is(k, "record", 6)) {
				m->record = v;  /* not an object */
				memset(&m->stream, 0, 4 * sizeof(m->stream));
			}
			continue;
		}
		/* "record": an object, taken apart in the same pass. */
		memset(&m->stream, 0, 4 * sizeof(m->stream));
		ck_raw_iter_init(&rit, line + it.i, len - it.i);
		while ((r = ck_raw_next(&rit, &k, &v)) > 0) {
			if (key_is(k, "data", 4))
				m->data = v;
			else if (key_is(k, "stream", 6))
				m->stream = v;
			else if (key_is(k, "emitted_at", 10))
				m->emitted_at = v;
			else if (key_is(k, "namespace", 9))
				m->ns = v;
		}
		if (r < 0) {
			it.i += rit.i;
			goto bad_it;
		}
		m->record.p = line + it.i;
		m->record.n = rit.i;
		m->record.flags = 0;
		it.i += rit.i;
	}
	if (r < 0)
		goto bad_it;
	while (it.i < len && is_ws(u[it.i]))
		it.i++;
	if (it.i != len) {
		*err = "unexpected text after the JSON object";
		*errpos = it.i;
		return -1;
	}
	return 0;
bad_it:
	*err = it.i >= len ? "unexpected end of line" : it.i == 0 ? "not a JSON object" : "invalid JSON";
	*errpos = it.i;
	return -1;
}

long ck_raw_unescape(struct ck_raw_span sp, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)sp.p;
	size_t n, i, o = 0;
	long u, u2;

	if (!s || sp.n < 2 || s[0] != '"' || s[sp.n - 1] != '"' || !cap)
		return -1;
	n = sp.n - 1;
	for (i = 1; i < n; ) {
		unsigned char c = s[i];
		char tmp[4];
		size_t tl;

		if (c != '\\') {
			if (c < 0x20 || c == '"')
				return -1;
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		switch (s[i + 1]) {
		case '"': tmp[0] = '"'; tl = 1; break;
		case '\\': tmp[0] = '\\'; tl = 1; break;
		case '/': tmp[0] = '/'; tl = 1; break;
		case 'b': tmp[0] = '\b'; tl = 1; break;
		case 'f': tmp[0] = '\f'; tl = 1; break;
		case 'n': tmp[0] = '\n'; tl = 1; break;
		case 'r': tmp[0] = '\r'; tl = 1; break;
		case 't': tmp[0] = '\t'; tl = 1; break;
		case 'u':
			if ((u = hex4(s, n, i)) < 0)
				return -1;
			if (u >= 0xDC00 && u <= 0xDFFF)
				return -1;
			if (u >= 0xD800 && u <= 0xDBFF) {
				if (i + 6 >= n || s[i + 6] != '\\' || (u2 = hex4(s, n, i + 6)) < 0 ||
				    u2 < 0xDC00 || u2 > 0xDFFF)
					return -1;
				u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
				i += 6;
			}
			if (u < 0x80) {
				tmp[0] = (char)u;
				tl = 1;
			} else if (u < 0x800) {
				tmp[0] = (char)(0xC0 | (u >> 6));
				tmp[1] = (char)(0x80 | (u & 0x3F));
				tl = 2;
			} else if (u < 0x10000) {
				tmp[0] = (char)(0xE0 | (u >> 12));
				tmp[1] = (char)(0x80 | ((u >> 6) & 0x3F));
				tmp[2] = (char)(0x80 | (u & 0x3F));
				tl = 3;
			} else {
				tmp[0] = (char)(0xF0 | (u >> 18));
				tmp[1] = (char)(0x80 | ((u >> 12) & 0x3F));
				tmp[2] = (char)(0x80 | ((u >> 6) & 0x3F));
				tmp[3] = (char)(0x80 | (u & 0x3F));
				tl = 4;
			}
			i += 4;
			break;
		default:
			return -1;
		}
		i += 2;
		if (o + tl >= cap)
			return -1;
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o] = '\0';
	return (long)o;
}

int ck_raw_str_eq(struct ck_raw_span s, const char *lit)
{
	char buf[256];
	size_t ll = strlen(lit);
	long l;

	if (!s.p || s.n < 2 || s.p[0] != '"')
		return 0;
	if (!(s.flags & CK_RAW_ESC) && !memchr(s.p + 1, '\\', s.n - 2))
		return s.n == ll + 2 && !memcmp(s.p + 1, lit, ll);
	if (ll >= sizeof(buf))
		return 0;  /* escapes only shorten: compare the decoded text */
	l = ck_raw_unescape(s, buf, sizeof(buf));
	return l >= 0 && (size_t)l == ll && !memcmp(buf, lit, ll);
}

size_t ck_raw_compact(char *out, const char *s, size_t n)
{
	size_t i = 0, o = 0, start;

	while (i < n) {
		/* a run of structure/number bytes */
		start = i;
		while (i < n && s[i] != '"' && !is_ws((unsigned char)s[i]))
			i++;
		if (i > start) {
			if (out + o != s + start)
				memmove(out + o, s + start, i - start);
			o += i - start;
		}
		if (i >= n)
			break;
		if (s[i] != '"') {
			i++;  /* insignificant whitespace */
			continue;
		}
		/* a string, through its closing quote */
		start = i++;
		while (i < n && s[i] != '"') {
			if (s[i] == '\\')
				i++;
			i++;
		}
		if (i < n)
			i++;
		if (i > n)
			i = n;
		if (out + o != s + start)
			memmove(out + o, s + start, i - start);
		o += i - start;
	}
	return o;
}

int ck_raw_add(struct ck_buf *b, struct ck_raw_span v, int csv_delim)
{
	const char *src = v.p, *q;
	char *o, *end;
	size_t n = v.n, k;
	int r;

	if (!src)
		return 0;
	/* room: the quoted field (2n+2) and, after it, the compacted text */
	if ((r = ck_buf_reserve(b, (v.flags & CK_RAW_WS) ? 3 * n + 4 : 2 * n + 2)))
		return r;
	o = b->data + b->len;
	if (csv_delim < 0) {
		n = (v.flags & CK_RAW_WS) ? ck_raw_compact(o, src, n) : (memcpy(o, src, n), n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	if (v.flags & CK_RAW_WS) {
		n = ck_raw_compact(o + 2 * v.n + 2, src, n);
		src = o + 2 * v.n + 2;
	}
	for (k = 0; k < n; k++) {
		char c = src[k];

		if (c == '"' || c == csv_delim || c == '\n' || c == '\r')
			break;
	}
	if (k == n) {
		memcpy(o, src, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	*o++ = '"';
	end = (char *)src + n;
	while ((q = memchr(src, '"', (size_t)(end - src)))) {
		memcpy(o, src, (size_t)(q - src) + 1);
		o += q - src + 1;
		*o++ = '"';
		src = q + 1;
	}
	memcpy(o, src, (size_t)(end - src));
	o += end - src;
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
	return 0;
}

int ck_raw_int64(struct ck_raw_span v, int64_t *out)
{
	char buf[400], *end;
	size_t i = 0;
	int neg = 0, plain = 1;
	uint64_t acc = 0;
	double d;

	if (ck_raw_kind(v) != CK_RAW_NUMBER || v.n >= sizeof(buf))
		return -1;
	if (v.p[0] == '-') {
		neg = 1;
		i = 1;
	}
	for (; i < v.n; i++) {
		if (!is_digit((unsigned char)v.p[i]) || acc > (UINT64_MAX - 9) / 10) {
			plain = 0;
			break;
		}
		acc = acc * 10 + (uint64_t)(v.p[i] - '0');
	}
	if (plain && acc <= (uint64_t)INT64_MAX) {
		*out = neg ? -(int64_t)acc : (int64_t)acc;
		return 0;
	}
	memcpy(buf, v.p, v.n);
	buf[v.n] = '\0';
	d = strtod(buf, &end);
	if (end == buf)
		return -1;
	if (d != d)
		d = 0;
	*out = d >= 9.2233720368547758e18 ? INT64_MAX : d <= -9.2233720368547758e18 ? INT64_MIN :
	       (int64_t)d;
	return 0;
}
