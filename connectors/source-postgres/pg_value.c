#include "pg_value.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum pgv_kind pgv_kind_of(const char *t, char typcategory)
{
	static const struct {
		const char *name;
		enum pgv_kind kind;
	} map[] = {
		{"int2", PGV_INT},       {"int4", PGV_INT},       {"int8", PGV_INT},
		{"oid", PGV_INT},        {"float4", PGV_FLOAT},   {"float8", PGV_FLOAT},
		{"numeric", PGV_NUMERIC}, {"bool", PGV_BOOL},    {"timestamptz", PGV_TSTZ},
		{"timestamp", PGV_TS},   {"date", PGV_DATE},      {"time", PGV_TIME},
		{"timetz", PGV_TIMETZ},  {"json", PGV_JSON},      {"jsonb", PGV_JSON},
		{"bytea", PGV_BYTEA},
	};
	size_t i;

	if (typcategory == 'A')
		return PGV_ARRAY;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(t, map[i].name))
			return map[i].kind;
	return PGV_STRING;
}

json_t *pgv_schema(enum pgv_kind kind, enum pgv_kind elem)
{
	switch (kind) {
	case PGV_INT:
		return json_pack("{s:s, s:s}", "type", "number", "airbyte_type", "integer");
	case PGV_FLOAT:
	case PGV_NUMERIC:
		return json_pack("{s:s}", "type", "number");
	case PGV_BOOL:
		return json_pack("{s:s}", "type", "boolean");
	case PGV_TSTZ:
		return json_pack("{s:s, s:s, s:s}", "type", "string", "format", "date-time",
				 "airbyte_type", "timestamp_with_timezone");
	case PGV_TS:
		return json_pack("{s:s, s:s, s:s}", "type", "string", "format", "date-time",
				 "airbyte_type", "timestamp_without_timezone");
	case PGV_DATE:
		return json_pack("{s:s, s:s}", "type", "string", "format", "date");
	case PGV_TIME:
		return json_pack("{s:s, s:s, s:s}", "type", "string", "format", "time",
				 "airbyte_type", "time_without_timezone");
	case PGV_TIMETZ:
		return json_pack("{s:s, s:s, s:s}", "type", "string", "format", "time",
				 "airbyte_type", "time_with_timezone");
	case PGV_JSON:
		return json_pack("{s:s}", "type", "object");
	case PGV_BYTEA:
		return json_pack("{s:s, s:s}", "type", "string", "contentEncoding", "base64");
	case PGV_ARRAY:
		return json_pack("{s:s, s:o}", "type", "array", "items",
				 pgv_schema(elem == PGV_ARRAY ? PGV_STRING : elem, PGV_STRING));
	case PGV_STRING:
	default:
		return json_pack("{s:s}", "type", "string");
	}
}

int pgv_cursor_ok(enum pgv_kind kind)
{
	return kind != PGV_JSON && kind != PGV_ARRAY && kind != PGV_BYTEA;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pgv_unescape(struct ck_buf *out, const char *s, size_t n)
{
	size_t i = 0, run = 0;
	int r;

	ck_buf_reset(out);
	r = ck_buf_reserve(out, n);
	if (r < 0)
		return r;
	while (i < n) {
		const char *bs = memchr(s + i, '\\', n - i);
		char c;

		run = bs ? (size_t)(bs - (s + i)) : n - i;
		memcpy(out->data + out->len, s + i, run);
		out->len += run;
		i += run;
		if (i >= n)
			break;
		i++; /* the backslash */
		if (i >= n)
			break;
		c = s[i++];
		switch (c) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'v': c = '\v'; break;
		case 'x':
			if (i < n && hexval((unsigned char)s[i]) >= 0) {
				int v = hexval((unsigned char)s[i++]);

				if (i < n && hexval((unsigned char)s[i]) >= 0)
					v = v * 16 + hexval((unsigned char)s[i++]);
				c = (char)v;
			}
			break;
		default:
			if (c >= '0' && c <= '7') {
				int v = c - '0', k;

				for (k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
					v = v * 8 + (s[i++] - '0');
				c = (char)v;
			}
			break;
		}
		out->data[out->len++] = c;
	}
	out->data[out->len] = '\0';
	return 0;
}

/* ISO 8601 for timestamp[tz] text output in DateStyle ISO. */
static int add_ts(struct ck_buf *b, const char *s, size_t n, int tz)
{
	char t[96];
	size_t len, off;

	if (n + 8 > sizeof(t) || !memchr(s, ' ', n) ||
	    (n > 3 && !memcmp(s + n - 3, " BC", 3)))
		return ck_buf_add_json_str(b, s, n); /* infinity, BC dates: as is */
	memcpy(t, s, n);
	len = n;
	*(char *)memchr(t, ' ', len) = 'T';
	if (tz) {
		/* the offset starts at the last '+' or '-' after the 'T' */
		off = len;
		while (off > 0 && t[off - 1] != '+' && t[off - 1] != '-' && t[off - 1] != 'T')
			off--;
		if (off > 0 && t[off - 1] != 'T') {
			off--;
			if (len - off == 3 && !memcmp(t + off, "+00", 3)) {
				t[off] = 'Z';
				len = off + 1;
			} else if (len - off == 3) {
				memcpy(t + len, ":00", 3);
				len += 3;
			}
		}
	}
	return ck_buf_add_json_str(b, t, len);
}

static int add_timetz(struct ck_buf *b, const char *s, size_t n)
{
	char t[64];
	size_t off = n;

	if (n + 4 > sizeof(t))
		return ck_buf_add_json_str(b, s, n);
	memcpy(t, s, n);
	while (off > 0 && t[off - 1] != '+' && t[off - 1] != '-')
		off--;
	if (off > 0 && n - (off - 1) == 3) {
		memcpy(t + n, ":00", 3);
		n += 3;
	}
	return ck_buf_add_json_str(b, t, n);
}

/* json/jsonb text is valid JSON; only line breaks (never inside strings) matter. */
static int add_json_raw(struct ck_buf *b, const char *s, size_t n)
{
	size_t i;
	int r = ck_buf_reserve(b, n);

	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		char c = s[i];

		b->data[b->len++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
	}
	b->data[b->len] = '\0';
	return 0;
}

static int add_bytea(struct ck_buf *b, const char *s, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t nbytes, i, k = 0;
	unsigned char in[3];
	char *o;
	int r;

	if (n < 2 || s[0] != '\\' || s[1] != 'x' || (n - 2) % 2)
		return ck_buf_add_json_str(b, s, n); /* escape format: as is */
	s += 2;
	nbytes = (n - 2) / 2;
	r = ck_buf_reserve(b, (nbytes + 2) / 3 * 4 + 2);
	if (r < 0)
		return r;
	o = b->data + b->len;
	*o++ = '"';
	for (i = 0; i < nbytes; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);

		in[k++] = (unsigned char)((hi < 0 ? 0 : hi) * 16 + (lo < 0 ? 0 : lo));
		if (k == 3) {
			*o++ = b64[in[0] >> 2];
			*o++ = b64[((in[0] & 3) << 4) | (in[1] >> 4)];
			*o++ = b64[((in[1] & 15) << 2) | (in[2] >> 6)];
			*o++ = b64[in[2] & 63];
			k = 0;
		}
	}
	if (k) {
		*o++ = b64[in[0] >> 2];
		*o++ = b64[((in[0] & 3) << 4) | (k > 1 ? in[1] >> 4 : 0)];
		*o++ = k > 1 ? b64[(in[1] & 15) << 2] : '=';
		*o++ = '=';
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
	return 0;
}

/* Array literal parser: {a,"b c",NULL,{1,2}}; optional [l:u]= prefix. */
static struct ck_buf elem_buf = CK_BUF_INIT((size_t)1 << 30);

static int parse_array(struct ck_buf *b, enum pgv_kind elem, const char **pp, const char *e,
		       int depth)
{
	const char *p = *pp;
	int r, first = 1;

	if (depth > 16 || p >= e || *p != '{')
		return -1;
	p++;
	if ((r = ck_buf_addc(b, '[')) < 0)
		return r;
	if (p < e && *p == '}') {
		p++;
		goto done;
	}
	for (;;) {
		if (p >= e)
			return -1;
		if (!first && (r = ck_buf_addc(b, ',')) < 0)
			return r;
		first = 0;
		if (*p == '{') {
			r = parse_array(b, elem, &p, e, depth + 1);
			if (r)
				return r;
		} else if (*p == '"') {
			ck_buf_reset(&elem_buf);
			p++;
			while (p < e && *p != '"') {
				if (*p == '\\' && p + 1 < e)
					p++;
				if ((r = ck_buf_addc(&elem_buf, *p++)) < 0)
					return r;
			}
			if (p >= e)
				return -1;
			p++;
			r = pgv_emit_clean(b, elem, PGV_STRING, elem_buf.data ? elem_buf.data : "",
					   elem_buf.len);
			if (r < 0)
				return r;
		} else {
			const char *st = p;

			while (p < e && *p != ',' && *p != '}')
				p++;
			if (p - st == 4 && !strncasecmp(st, "NULL", 4))
				r = ck_buf_adds(b, "null");
			else
				r = pgv_emit_clean(b, elem, PGV_STRING, st, (size_t)(p - st));
			if (r < 0)
				return r;
		}
		if (p >= e)
			return -1;
		if (*p == '}') {
			p++;
			break;
		}
		if (*p != ',')
			return -1;
		p++;
	}
done:
	*pp = p;
	return ck_buf_addc(b, ']');
}

static int add_array(struct ck_buf *b, enum pgv_kind elem, const char *s, size_t n)
{
	const char *p = s, *e = s + n;
	size_t mark = b->len;
	int r;

	if (elem == PGV_ARRAY)
		elem = PGV_STRING;
	if (p < e && *p == '[') {
		const char *eq = memchr(p, '=', n);

		if (eq)
			p = eq + 1;
	}
	r = parse_array(b, elem, &p, e, 0);
	if (r < 0 && r != -1)
		return r;
	if (r == -1 || p != e) { /* not an array literal we know: keep the text */
		b->len = mark;
		if (b->data)
			b->data[mark] = '\0';
		return ck_buf_add_json_str(b, s, n);
	}
	return 0;
}

static int is_json_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !isdigit((unsigned char)s[i]))
		return 0;
	for (; i < n; i++) {
		char c = s[i];

		if (!isdigit((unsigned char)c) && c != '.' && c != 'e' && c != 'E' && c != '+' &&
		    c != '-')
			return 0;
	}
	return 1;
}

int pgv_emit_clean(struct ck_buf *b, enum pgv_kind kind, enum pgv_kind elem,
		   const char *s, size_t n)
{
	switch (kind) {
	case PGV_INT:
		if (n && is_json_number(s, n))
			return ck_buf_add(b, s, n);
		return ck_buf_add_json_str(b, s, n);
	case PGV_FLOAT:
	case PGV_NUMERIC:
		/* numerics stay exact: their text, unquoted; NaN, Infinity: strings */
		if (is_json_number(s, n))
			return ck_buf_add(b, s, n);
		return ck_buf_add_json_str(b, s, n);
	case PGV_BOOL:
		return ck_buf_adds(b, n && (s[0] == 't' || s[0] == 'T') ? "true" : "false");
	case PGV_TSTZ:
		return add_ts(b, s, n, 1);
	case PGV_TS:
		return add_ts(b, s, n, 0);
	case PGV_TIMETZ:
		return add_timetz(b, s, n);
	case PGV_JSON:
		return add_json_raw(b, s, n);
	case PGV_BYTEA:
		return add_bytea(b, s, n);
	case PGV_ARRAY:
		return add_array(b, elem, s, n);
	case PGV_DATE:
	case PGV_TIME:
	case PGV_STRING:
	default:
		return ck_buf_add_json_str(b, s, n);
	}
}

static struct ck_buf unesc_buf = CK_BUF_INIT((size_t)1 << 30);

int pgv_emit_field(struct ck_buf *b, enum pgv_kind kind, enum pgv_kind elem,
		   const char *s, size_t n)
{
	int r;

	if (n == 2 && s[0] == '\\' && s[1] == 'N')
		return ck_buf_add(b, "null", 4);
	if (!memchr(s, '\\', n))
		return pgv_emit_clean(b, kind, elem, s, n);
	r = pgv_unescape(&unesc_buf, s, n);
	if (r < 0)
		return r;
	return pgv_emit_clean(b, kind, elem, unesc_buf.data, unesc_buf.len);
}
