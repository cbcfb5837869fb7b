/*
 * schema.c - JSON Schema draft-07 validation (see schema.h for the contract).
 *
 * Compiling walks the schema once: it indexes $id base URIs, resolves every
 * $ref to the json_t it designates (so validation follows a pointer and
 * never handles URIs), and compiles every pattern.  Validation then
 * interprets the schema document directly.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/schema.h"

#define META_URI "http://json-schema.org/draft-07/schema"
/* Schema recursion without consuming instance (a $ref loop), and overall. */
#define MAX_LOCAL_DEPTH 256
#define MAX_DEPTH 10000
/*
 * Subschemas one validation may visit: MAX_STEPS plus STEPS_PER_NODE per
 * value in the instance.  $refs can share subschemas so that the work
 * doubles with every level ({"anyOf": [{"$ref": "#"}, {"$ref": "#"}]} on
 * nested arrays): over the budget, validation gives up with -ELOOP.
 */
#define MAX_STEPS 200000UL
#define STEPS_PER_NODE 100UL

/* ---- growable strings ---------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap;
};

static int sb_addn(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s)
			return -ENOMEM;
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int sb_add(struct sbuf *b, const char *p) { return sb_addn(b, p, strlen(p)); }
static int sb_addc(struct sbuf *b, char c) { return sb_addn(b, &c, 1); }

static void sb_trunc(struct sbuf *b, size_t len)
{
	b->len = len;
	if (b->s)
		b->s[len] = '\0';
}

static const char *sb_str(const struct sbuf *b) { return b->s ? b->s : ""; }

/* Append "/" and a JSON pointer token (~ -> ~0, / -> ~1). */
static int sb_token(struct sbuf *b, const char *tok, size_t n)
{
	if (sb_addc(b, '/') < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = tok[i] == '~' ? sb_add(b, "~0") : tok[i] == '/' ? sb_add(b, "~1")
									: sb_addc(b, tok[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sb_index(struct sbuf *b, size_t i)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%zu", i);
	return sb_token(b, num, (size_t)n);
}

/* ---- hash maps: pointer -> pointer, string -> pointer -------------------- */

struct pmap {
	const void **keys;
	void **vals;
	size_t cap, n;
};

static size_t hash_ptr(const void *p)
{
	uint64_t x = (uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static void *pmap_get(const struct pmap *m, const void *k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hash_ptr(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return NULL;
		if (m->keys[i] == k)
			return m->vals[i];
	}
}

static int pmap_put(struct pmap *m, const void *k, void *v)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pmap g = { 0 };
		g.cap = m->cap ? m->cap * 2 : 64;
		g.keys = calloc(g.cap, sizeof(*g.keys));
		g.vals = calloc(g.cap, sizeof(*g.vals));
		if (!g.keys || !g.vals) {
			free(g.keys);
			free(g.vals);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i])
				pmap_put(&g, m->keys[i], m->vals[i]);
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	size_t i = hash_ptr(k) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->vals[i] = v;
	return 0;
}

static void pmap_release(struct pmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

struct smap {
	char **keys;
	void **vals;
	size_t cap, n;
};

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

static void **smap_slot(const struct smap *m, const char *k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return NULL;
		if (!strcmp(m->keys[i], k))
			return &m->vals[i];
	}
}

static void *smap_get(const struct smap *m, const char *k)
{
	void **v = smap_slot(m, k);
	return v ? *v : NULL;
}

/* Insert a copy of k (k must not be present yet). */
static int smap_put(struct smap *m, const char *k, void *v)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct smap g = { 0 };
		g.cap = m->cap ? m->cap * 2 : 32;
		g.keys = calloc(g.cap, sizeof(*g.keys));
		g.vals = calloc(g.cap, sizeof(*g.vals));
		if (!g.keys || !g.vals) {
			free(g.keys);
			free(g.vals);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = hash_str(m->keys[i]) & (g.cap - 1);
			while (g.keys[j])
				j = (j + 1) & (g.cap - 1);
			g.keys[j] = m->keys[i];
			g.vals[j] = m->vals[i];
		}
		g.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	char *copy = strdup(k);
	if (!copy)
		return -ENOMEM;
	size_t i = hash_str(k) & (m->cap - 1);
	while (m->keys[i])
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = copy;
	m->vals[i] = v;
	m->n++;
	return 0;
}

/* ---- URIs (RFC 3986 reference resolution) -------------------------------- */

struct uri {
	const char *scheme, *auth, *path, *query, *frag;
	size_t scheme_len, auth_len, path_len, query_len, frag_len;
	bool has_auth, has_query, has_frag;
};

static void uri_parse(const char *s, struct uri *u)
{
	const char *p = s;

	memset(u, 0, sizeof(*u));
	if (isalpha((unsigned char)*p)) {
		const char *q = p;
		while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
			q++;
		if (*q == ':') {
			u->scheme = p;
			u->scheme_len = (size_t)(q - p);
			p = q + 1;
		}
	}
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		u->has_auth = true;
		u->auth = p;
		while (*p && *p != '/' && *p != '?' && *p != '#')
			p++;
		u->auth_len = (size_t)(p - u->auth);
	}
	u->path = p;
	while (*p && *p != '?' && *p != '#')
		p++;
	u->path_len = (size_t)(p - u->path);
	if (*p == '?') {
		u->has_query = true;
		u->query = ++p;
		while (*p && *p != '#')
			p++;
		u->query_len = (size_t)(p - u->query);
	}
	if (*p == '#') {
		u->has_frag = true;
		u->frag = ++p;
		u->frag_len = strlen(p);
	}
}

/* RFC 3986 5.2.4, appending the result to out. */
static int remove_dots(struct sbuf *out, const char *in, size_t n)
{
	struct sbuf o = { 0 };
	size_t i = 0;
	int r = 0;

#define AT(str) (n - i >= strlen(str) && !strncmp(in + i, str, strlen(str)))
#define IS(str) (n - i == strlen(str) && !strncmp(in + i, str, n - i))
	while (i < n) {
		if (AT("../")) {
			i += 3;
		} else if (AT("./")) {
			i += 2;
		} else if (AT("/./")) {
			i += 2;
		} else if (IS("/.")) {
			r = sb_add(&o, "/");
			break;
		} else if (AT("/../") || IS("/..")) {
			bool last = IS("/..");
			i += 3; /* "/../": the last "/" starts the rest of the input */
			char *slash = o.s ? strrchr(o.s, '/') : NULL;
			sb_trunc(&o, slash ? (size_t)(slash - o.s) : 0);
			if (last) {
				r = sb_add(&o, "/");
				break;
			}
		} else if (IS(".") || IS("..")) {
			break;
		} else {
			size_t j = i + (in[i] == '/');
			while (j < n && in[j] != '/')
				j++;
			if ((r = sb_addn(&o, in + i, j - i)) < 0)
				break;
			i = j;
		}
	}
#undef AT
#undef IS
	if (r == 0 && o.len)
		r = sb_addn(out, o.s, o.len);
	free(o.s);
	return r;
}

/* Resolve ref against base; *out is a new string the caller frees. */
static int uri_resolve(const char *base, const char *ref, char **out)
{
	struct uri b, r;
	struct sbuf o = { 0 };
	int e = 0;

	uri_parse(base, &b);
	uri_parse(ref, &r);
	if (r.scheme || r.has_auth) {
		if (r.scheme)
			e |= sb_addn(&o, r.scheme, r.scheme_len) | sb_addc(&o, ':');
		else if (b.scheme)
			e |= sb_addn(&o, b.scheme, b.scheme_len) | sb_addc(&o, ':');
		if (r.has_auth)
			e |= sb_add(&o, "//") | sb_addn(&o, r.auth, r.auth_len);
		e |= remove_dots(&o, r.path, r.path_len);
		if (r.has_query)
			e |= sb_addc(&o, '?') | sb_addn(&o, r.query, r.query_len);
	} else {
		if (b.scheme)
			e |= sb_addn(&o, b.scheme, b.scheme_len) | sb_addc(&o, ':');
		if (b.has_auth)
			e |= sb_add(&o, "//") | sb_addn(&o, b.auth, b.auth_len);
		if (!r.path_len) {
			e |= sb_addn(&o, b.path, b.path_len);
			if (r.has_query)
				e |= sb_addc(&o, '?') | sb_addn(&o, r.query, r.query_len);
			else if (b.has_query)
				e |= sb_addc(&o, '?') | sb_addn(&o, b.query, b.query_len);
		} else {
			if (r.path[0] == '/') {
				e |= remove_dots(&o, r.path, r.path_len);
			} else {
				struct sbuf m = { 0 };
				if (b.has_auth && !b.path_len) {
					e |= sb_addc(&m, '/');
				} else {
					size_t k = b.path_len;
					while (k && b.path[k - 1] != '/')
						k--;
					e |= sb_addn(&m, b.path, k);
				}
				e |= sb_addn(&m, r.path, r.path_len);
				if (!e)
					e |= remove_dots(&o, m.s, m.len);
				free(m.s);
			}
			if (r.has_query)
				e |= sb_addc(&o, '?') | sb_addn(&o, r.query, r.query_len);
		}
	}
	if (r.has_frag)
		e |= sb_addc(&o, '#') | sb_addn(&o, r.frag, r.frag_len);
	if (e || sb_add(&o, "") < 0) {
		free(o.s);
		return -ENOMEM;
	}
	*out = o.s;
	return 0;
}

/* ---- the built-in draft-07 meta-schema ----------------------------------- */

static const char meta_schema_text[] =
	"{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
	"\"$id\":\"http://json-schema.org/draft-07/schema#\","
	"\"title\":\"Core schema meta-schema\","
	"\"definitions\":{"
	"\"schemaArray\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"$ref\":\"#\"}},"
	"\"nonNegativeInteger\":{\"type\":\"integer\",\"minimum\":0},"
	"\"nonNegativeIntegerDefault0\":{\"allOf\":[{\"$ref\":\"#/definitions/nonNegativeInteger\"},{\"default\":0}]},"
	"\"simpleTypes\":{\"enum\":[\"array\",\"boolean\",\"integer\",\"null\",\"number\",\"object\",\"string\"]},"
	"\"stringArray\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"uniqueItems\":true,\"default\":[]}},"
	"\"type\":[\"object\",\"boolean\"],"
	"\"properties\":{"
	"\"$id\":{\"type\":\"string\",\"format\":\"uri-reference\"},"
	"\"$schema\":{\"type\":\"string\",\"format\":\"uri\"},"
	"\"$ref\":{\"type\":\"string\",\"format\":\"uri-reference\"},"
	"\"$comment\":{\"type\":\"string\"},"
	"\"title\":{\"type\":\"string\"},"
	"\"description\":{\"type\":\"string\"},"
	"\"default\":true,"
	"\"readOnly\":{\"type\":\"boolean\",\"default\":false},"
	"\"examples\":{\"type\":\"array\",\"items\":true},"
	"\"multipleOf\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
	"\"maximum\":{\"type\":\"number\"},"
	"\"exclusiveMaximum\":{\"type\":\"number\"},"
	"\"minimum\":{\"type\":\"number\"},"
	"\"exclusiveMinimum\":{\"type\":\"number\"},"
	"\"maxLength\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
	"\"minLength\":{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
	"\"pattern\":{\"type\":\"string\",\"format\":\"regex\"},"
	"\"additionalItems\":{\"$ref\":\"#\"},"
	"\"items\":{\"anyOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/schemaArray\"}],\"default\":true},"
	"\"maxItems\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
	"\"minItems\":{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
	"\"uniqueItems\":{\"type\":\"boolean\",\"default\":false},"
	"\"contains\":{\"$ref\":\"#\"},"
	"\"maxProperties\":{\"$ref\":\"#/definitions/nonNegativeInteger\"},"
	"\"minProperties\":{\"$ref\":\"#/definitions/nonNegativeIntegerDefault0\"},"
	"\"required\":{\"$ref\":\"#/definitions/stringArray\"},"
	"\"additionalProperties\":{\"$ref\":\"#\"},"
	"\"definitions\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},"
	"\"properties\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},"
	"\"patternProperties\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},"
	"\"propertyNames\":{\"format\":\"regex\"},\"default\":{}},"
	"\"dependencies\":{\"type\":\"object\",\"additionalProperties\":{\"anyOf\":"
	"[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/stringArray\"}]}},"
	"\"propertyNames\":{\"$ref\":\"#\"},"
	"\"const\":true,"
	"\"enum\":{\"type\":\"array\",\"items\":true},"
	"\"type\":{\"anyOf\":[{\"$ref\":\"#/definitions/simpleTypes\"},"
	"{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/simpleTypes\"},\"minItems\":1,\"uniqueItems\":true}]},"
	"\"format\":{\"type\":\"string\"},"
	"\"contentMediaType\":{\"type\":\"string\"},"
	"\"contentEncoding\":{\"type\":\"string\"},"
	"\"if\":{\"$ref\":\"#\"},"
	"\"then\":{\"$ref\":\"#\"},"
	"\"else\":{\"$ref\":\"#\"},"
	"\"allOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
	"\"anyOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
	"\"oneOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
	"\"not\":{\"$ref\":\"#\"}},"
	"\"default\":true}";

/* ---- patterns: ECMA-262 -> POSIX ERE ------------------------------------- */

struct pattern {
	regex_t re;
	bool ok;        /* false: untranslatable, lax: matches everything */
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parse \xHH or \uHHHH (with surrogate pairs) at p (after the backslash). */
static int parse_hex_escape(const char *p, size_t *used, unsigned long *cp)
{
	int digits = *p == 'x' ? 2 : 4;
	unsigned long v = 0;

	for (int i = 1; i <= digits; i++) {
		int h = hexval((unsigned char)p[i]);
		if (h < 0)
			return -EINVAL;
		v = v * 16 + (unsigned long)h;
	}
	*used = 1 + (size_t)digits;
	if (digits == 4 && v >= 0xd800 && v < 0xdc00 && p[5] == '\\' && p[6] == 'u') {
		size_t u2;
		unsigned long lo;
		if (parse_hex_escape(p + 6, &u2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
			v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
			*used += 1 + u2;
		}
	}
	*cp = v;
	return 0;
}

static int add_utf8(struct sbuf *o, unsigned long cp, bool escape_special)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		if (escape_special && strchr(".[]()*+?{}|^$\\", (int)cp) && cp)
			if (sb_addc(o, '\\') < 0)
				return -ENOMEM;
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return sb_addn(o, b, n);
}

static int control_escape(int c)
{
	switch (c) {
	case 't': return '\t';
	case 'n': return '\n';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'v': return '\v';
	default: return -1;
	}
}

/*
 * Translate a bracket expression starting at p (just after '['); *end gets
 * the position after the closing ']'.  POSIX brackets have no escapes, so
 * ']' goes first, '-' last and '^' anywhere but first.
 */
static int translate_class(const char *p, const char **end, struct sbuf *o, const char **why)
{
	struct sbuf body = { 0 };
	bool neg = false, rbracket = false, dash = false, caret = false, lbracket = false;
	int e = 0;

	if (*p == '^') {
		neg = true;
		p++;
	}
	if (*p == ']') {
		*why = "empty character class []";
		return -ENOTSUP;
	}
	while (*p && *p != ']') {
		unsigned long lo;
		bool single = true;
		if (*p == '\\') {
			int c = (unsigned char)p[1];
			size_t used = 1;
			if (!c)
				break;
			if (c >= 0x80) { /* an escaped non-ASCII character: itself, whole */
				p++;
				continue;
			}
			if (c == 'd') {
				e |= sb_add(&body, "0-9");
				single = false;
			} else if (c == 'w') {
				e |= sb_add(&body, "A-Za-z0-9_");
				single = false;
			} else if (c == 's') {
				e |= sb_add(&body, "[:space:]");
				single = false;
			} else if (c == 'D' || c == 'W' || c == 'S') {
				*why = "\\D, \\W and \\S inside [...] are not supported";
				free(body.s);
				return -ENOTSUP;
			} else if (c == 'x' || c == 'u') {
				if (parse_hex_escape(p + 1, &used, &lo) < 0) {
					lo = (unsigned long)c;
					used = 1;
				}
			} else if (c == 'b') {
				lo = '\b';
			} else if (control_escape(c) >= 0) {
				lo = (unsigned long)control_escape(c);
			} else {
				lo = (unsigned long)c;
			}
			p += 1 + used;
			if (!single)
				continue;
		} else {
			/* one UTF-8 character */
			unsigned char c = (unsigned char)*p;
			size_t n = strnlen(p, c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4);
			if (n == 1) {
				lo = c;
			} else {
				lo = 0x80000000UL; /* marker: raw bytes */
				if (p[1] == '-' && p[2] && p[2] != ']') {
					*why = "ranges of non-ASCII characters are not supported";
					free(body.s);
					return -ENOTSUP;
				}
				e |= sb_addn(&body, p, n);
				p += n;
				continue;
			}
			p++;
		}
		/* a range? */
		if (p[0] == '-' && p[1] && p[1] != ']') {
			unsigned long hi;
			const char *q = p + 1;
			if (*q == '\\') {
				size_t used = 1;
				int c = (unsigned char)q[1];
				if (c == 'x' || c == 'u') {
					if (parse_hex_escape(q + 1, &used, &hi) < 0) {
						hi = (unsigned long)c;
						used = 1;
					}
				} else if (control_escape(c) >= 0) {
					hi = (unsigned long)control_escape(c);
				} else if (strchr("dwsDWS", c)) {
					*why = "a class escape cannot end a range";
					free(body.s);
					return -ENOTSUP;
				} else {
					hi = (unsigned long)c;
				}
				q += 1 + used;
			} else {
				hi = (unsigned char)*q++;
			}
			if (hi < lo) {
				*why = "range out of order in character class";
				free(body.s);
				return -EINVAL;
			}
			if (strchr("]-^[", (int)lo) || strchr("]-^[", (int)hi) || hi >= 0x80) {
				*why = "this character range is not supported";
				free(body.s);
				return -ENOTSUP;
			}
			e |= sb_addc(&body, (char)lo) | sb_addc(&body, '-') | sb_addc(&body, (char)hi);
			p = q;
			continue;
		}
		if (lo == ']')
			rbracket = true;
		else if (lo == '-')
			dash = true;
		else if (lo == '^')
			caret = true;
		else if (lo == '[')
			lbracket = true;
		else
			e |= add_utf8(&body, lo, false);
	}
	if (*p != ']') {
		free(body.s);
		*why = "unterminated character class";
		return -EINVAL;
	}
	*end = p + 1;
	if (!neg && !rbracket && !dash && !lbracket && !body.len && caret) {
		free(body.s);
		return sb_add(o, "\\^");
	}
	e |= sb_addc(o, '[');
	if (neg)
		e |= sb_addc(o, '^');
	if (rbracket)
		e |= sb_addc(o, ']');
	if (body.len)
		e |= sb_addn(o, body.s, body.len);
	if (lbracket)
		e |= sb_addc(o, '[');
	if (caret)
		e |= sb_addc(o, '^');
	if (dash)
		e |= sb_addc(o, '-');
	e |= sb_addc(o, ']');
	free(body.s);
	return e ? -ENOMEM : 0;
}

/* Is p ("{...") a valid quantifier {n}, {n,} or {n,m}?  Its length or 0. */
static size_t quantifier_len(const char *p)
{
	const char *q = p + 1;
	if (!isdigit((unsigned char)*q))
		return 0;
	while (isdigit((unsigned char)*q))
		q++;
	if (*q == ',') {
		q++;
		while (isdigit((unsigned char)*q))
			q++;
	}
	return *q == '}' ? (size_t)(q + 1 - p) : 0;
}

/*
 * regcomp() (glibc's at least) needs time and memory that grow faster than
 * linearly with the size of the pattern once counted repetitions are
 * expanded, cubically for optional and starred parts, and nested
 * quantifiers multiply: "((a{1,100}){1,100}){1,100}" takes a gigabyte,
 * "[a-z]{1,32767}" 40 s.  translate_pattern() estimates that size (an atom
 * costs 1; X* 4 times X, X+ 5 times, X? 3 times, X{n,m} n times plus 3
 * times per optional copy) and refuses patterns over PATTERN_MAX_COST.
 */
#define PATTERN_MAX_COST 5000UL
#define PATTERN_MAX_NEST 256

struct pattern_cost {
	unsigned long group[PATTERN_MAX_NEST]; /* the enclosing groups' costs so far */
	int depth;
	unsigned long cur, last; /* the current group's cost; its last atom's */
};

static void cost_atom(struct pattern_cost *k)
{
	k->last = 1;
	k->cur++;
}

/* The last atom repeated n to m times (m == ULONG_MAX: no upper bound). */
static void cost_repeat(struct pattern_cost *k, unsigned long n, unsigned long m)
{
	unsigned long long max = PATTERN_MAX_COST + 1, q;
	if (n > max)
		n = max;
	if (m == ULONG_MAX)
		q = ((unsigned long long)n + 4) * k->last; /* n copies, then X* */
	else
		q = ((unsigned long long)n + 3 * ((m > max ? max : m) - (m > n ? n : m))) * k->last;
	if (q > max)
		q = max;
	k->cur = k->cur - k->last + (unsigned long)q;
	k->last = (unsigned long)q;
}

static int translate_pattern(const char *p, struct sbuf *o, const char **why)
{
	struct pattern_cost k = { .depth = 0 };
	int e = 0;

	while (*p && !e) {
		char c = *p;
		if (k.cur > PATTERN_MAX_COST) {
			*why = "too large for the regex engine once its repetitions are expanded";
			return -ENOTSUP;
		}
		if (c == '(' || c == ')' || c == '|') {
			/* groups: their content is the atom a quantifier repeats */
			if (c == '(' && k.depth == PATTERN_MAX_NEST) {
				*why = "groups nested too deep";
				return -ENOTSUP;
			}
			if (c == '(') {
				k.group[k.depth++] = k.cur;
				k.cur = k.last = 0;
			} else if (c == ')' && k.depth > 0) {
				k.last = k.cur + 1;
				k.cur = k.group[--k.depth] + k.last;
			} else {
				k.cur++;
				k.last = 0;
			}
		} else if (c != '*' && c != '+' && c != '?' && (c != '{' || !quantifier_len(p))) {
			cost_atom(&k);
		}
		if (c == '\\') {
			int d = (unsigned char)p[1];
			size_t used = 1;
			unsigned long cp;
			if (!d) {
				*why = "trailing backslash";
				return -EINVAL;
			}
			if (d >= 0x80) { /* an escaped non-ASCII character: itself, whole */
				p++;
				continue;
			}
			switch (d) {
			case 'd': e = sb_add(o, "[0-9]"); break;
			case 'D': e = sb_add(o, "[^0-9]"); break;
			case 'w': e = sb_add(o, "[A-Za-z0-9_]"); break;
			case 'W': e = sb_add(o, "[^A-Za-z0-9_]"); break;
			case 's': e = sb_add(o, "[[:space:]]"); break;
			case 'S': e = sb_add(o, "[^[:space:]]"); break;
			case 'b': e = sb_add(o, "\\b"); break;
			case 'B': e = sb_add(o, "\\B"); break;
			case 'x':
			case 'u':
				if (parse_hex_escape(p + 1, &used, &cp) < 0) {
					used = 1;
					cp = (unsigned long)d;
				}
				e = add_utf8(o, cp, true);
				break;
			default:
				if (control_escape(d) >= 0) {
					e = sb_addc(o, (char)control_escape(d));
				} else if (d >= '1' && d <= '9') {
					/* POSIX back-references differ from ECMA-262's, and
					 * glibc's regexec() recurses without bound on some
					 * ("(|)(\\1\\1)*" overflows the stack) */
					*why = "back-references are not supported";
					return -ENOTSUP;
				} else if (isalnum(d)) {
					*why = "unsupported escape in pattern";
					return -ENOTSUP;
				} else {
					e = add_utf8(o, (unsigned long)d, true);
				}
			}
			p += 1 + used;
		} else if (c == '(' && p[1] == '?') {
			if (p[2] == ':') {
				p += 3;
			} else if (p[2] == '<' && p[3] != '=' && p[3] != '!') {
				const char *q = strchr(p, '>');
				if (!q) {
					*why = "unterminated group name";
					return -EINVAL;
				}
				p = q + 1;
			} else {
				*why = "lookahead and lookbehind are not supported";
				return -ENOTSUP;
			}
			e = sb_addc(o, '(');
		} else if (c == '[') {
			e = translate_class(p + 1, &p, o, why);
			if (e)
				return e;
		} else if (c == '{') {
			size_t n = quantifier_len(p);
			if (n) {
				char *end;
				unsigned long lo = strtoul(p + 1, &end, 10), hi = lo;
				if (*end == ',')
					hi = end[1] == '}' ? ULONG_MAX : strtoul(end + 1, NULL, 10);
				cost_repeat(&k, lo, hi);
				e = sb_addn(o, p, n);
				p += n;
				if (*p == '?')
					p++; /* lazy: same match/no-match answer */
			} else {
				e = sb_add(o, "\\{");
				p++;
			}
		} else if (c == '}') {
			e = sb_add(o, "\\}");
			p++;
		} else if (c == '*' || c == '+' || c == '?') {
			cost_repeat(&k, c == '+', c == '?' ? 1 : ULONG_MAX);
			e = sb_addc(o, c);
			p++;
			if (*p == '?')
				p++;
		} else if (c == '.') {
			e = sb_add(o, "[^\n\r]");
			p++;
		} else {
			e = sb_addc(o, c);
			p++;
		}
	}
	while (k.depth > 0) /* unclosed groups: regcomp() rejects them anyway */
		k.cur += k.group[--k.depth];
	if (!e && k.cur > PATTERN_MAX_COST) {
		*why = "too large for the regex engine once its repetitions are expanded";
		return -ENOTSUP;
	}
	return e ? -ENOMEM : 0;
}

/* ---- the compiled schema ------------------------------------------------- */

struct schema {
	json_t *root;
	json_t *meta;           /* the meta-schema, once a $ref needs it */
	unsigned flags;
	struct smap ids;        /* absolute URI (no empty fragment) -> json_t * */
	struct smap patterns;   /* pattern text -> struct pattern * */
	struct pmap refs;       /* object holding "$ref" -> target json_t * */
	struct pmap walked;     /* schema objects already indexed */
};

struct pending_ref {
	json_t *node;
	char *uri;
	char *path;             /* where the $ref is, for messages */
};

struct compiler {
	struct schema *s;
	struct schema_error *err;
	struct pending_ref *pend;
	size_t npend, cappend;
	struct sbuf path;
};

static int fail_compile(struct compiler *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_compile(struct compiler *c, int code, const char *fmt, ...)
{
	if (c->err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err->text, sizeof(c->err->text), fmt, ap);
		va_end(ap);
		snprintf(c->err->path, sizeof(c->err->path), "%s", sb_str(&c->path));
	}
	return code;
}

static int add_pattern(struct compiler *c, const char *text)
{
	struct schema *s = c->s;
	struct sbuf ere = { 0 };
	const char *why = NULL;

	if (smap_get(&s->patterns, text))
		return 0;
	struct pattern *pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	int r = translate_pattern(text, &ere, &why);
	if (r == 0) {
		int rc = regcomp(&pt->re, sb_str(&ere), REG_EXTENDED | REG_NOSUB);
		if (rc == 0) {
			pt->ok = true;
		} else {
			char msg[128];
			regerror(rc, &pt->re, msg, sizeof(msg));
			r = fail_compile(c, -EINVAL, "invalid pattern '%s': %s", text, msg);
		}
	} else if (r != -ENOMEM) {
		r = fail_compile(c, r, "pattern '%s': %s", text, why);
	}
	free(ere.s);
	if (r < 0 && r != -ENOMEM && (s->flags & SCHEMA_LAX_PATTERNS))
		r = 0; /* pt->ok stays false: matches everything */
	if (r < 0) {
		free(pt);
		return r;
	}
	if ((r = smap_put(&s->patterns, text, pt)) < 0) {
		if (pt->ok)
			regfree(&pt->re);
		free(pt);
	}
	return r;
}

static int walk(struct compiler *c, json_t *node, const char *base);

static int walk_child(struct compiler *c, json_t *node, const char *base,
		      const char *kw, const char *key, size_t index)
{
	size_t len = c->path.len;
	int r = sb_token(&c->path, kw, strlen(kw));
	if (r == 0 && key)
		r = sb_token(&c->path, key, strlen(key));
	else if (r == 0 && index != (size_t)-1)
		r = sb_index(&c->path, index);
	if (r == 0)
		r = walk(c, node, base);
	sb_trunc(&c->path, len);
	return r;
}

/* Register uri (an absolute URI, maybe with a plain-name fragment) -> node. */
static int register_id(struct schema *s, const char *uri, json_t *node)
{
	if (smap_get(&s->ids, uri))
		return 0; /* first one wins */
	return smap_put(&s->ids, uri, node);
}

static char *strip_fragment(const char *uri)
{
	const char *h = strchr(uri, '#');
	return strndup(uri, h ? (size_t)(h - uri) : strlen(uri));
}

static int walk(struct compiler *c, json_t *node, const char *base)
{
	static const char *const single[] = { "additionalItems", "additionalProperties", "contains",
		"propertyNames", "if", "then", "else", "not" };
	static const char *const arrays[] = { "allOf", "anyOf", "oneOf" };
	static const char *const maps[] = { "properties", "definitions", "patternProperties" };
	struct schema *s = c->s;
	char *mybase = NULL;
	json_t *v, *ref;
	const char *key;
	int r = 0;

	if (!json_is_object(node) || pmap_get(&s->walked, node))
		return 0;
	if ((r = pmap_put(&s->walked, node, node)) < 0)
		return r;

	ref = json_object_get(node, "$ref");
	if (json_is_string(ref)) {
		char *uri;
		if ((r = uri_resolve(base, json_string_value(ref), &uri)) < 0)
			return r;
		if (c->npend == c->cappend) {
			size_t cap = c->cappend ? c->cappend * 2 : 16;
			struct pending_ref *p = realloc(c->pend, cap * sizeof(*p));
			if (!p) {
				free(uri);
				return -ENOMEM;
			}
			c->pend = p;
			c->cappend = cap;
		}
		char *path = strdup(sb_str(&c->path));
		if (!path) {
			free(uri);
			return -ENOMEM;
		}
		c->pend[c->npend++] = (struct pending_ref){ node, uri, path };
	}
	v = json_object_get(node, "$id");
	if (json_is_string(v) && !json_is_string(ref)) {
		char *uri;
		if ((r = uri_resolve(base, json_string_value(v), &uri)) < 0)
			return r;
		char *doc = strip_fragment(uri);
		const char *frag = strchr(uri, '#');
		if (!doc) {
			free(uri);
			return -ENOMEM;
		}
		if (frag && frag[1] && frag[1] != '/')
			r = register_id(s, uri, node);
		if (r == 0 && (!frag || !frag[1] || strcmp(doc, base)))
			r = register_id(s, doc, node);
		free(uri);
		if (r < 0) {
			free(doc);
			return r;
		}
		mybase = doc;
		base = mybase;
	}

	v = json_object_get(node, "pattern");
	if (json_is_string(v) && (r = add_pattern(c, json_string_value(v))) < 0)
		goto out;
	v = json_object_get(node, "patternProperties");
	if (json_is_object(v)) {
		json_t *sub;
		json_object_foreach(v, key, sub) {
			if ((r = add_pattern(c, key)) < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < sizeof(single) / sizeof(*single); i++)
		if ((v = json_object_get(node, single[i])) &&
		    (r = walk_child(c, v, base, single[i], NULL, (size_t)-1)) < 0)
			goto out;
	v = json_object_get(node, "items");
	if (json_is_array(v)) {
		json_t *sub;
		size_t i;
		json_array_foreach(v, i, sub)
			if ((r = walk_child(c, sub, base, "items", NULL, i)) < 0)
				goto out;
	} else if (v && (r = walk_child(c, v, base, "items", NULL, (size_t)-1)) < 0) {
		goto out;
	}
	for (size_t k = 0; k < sizeof(arrays) / sizeof(*arrays); k++) {
		json_t *sub;
		size_t i;
		v = json_object_get(node, arrays[k]);
		json_array_foreach(v, i, sub)
			if ((r = walk_child(c, sub, base, arrays[k], NULL, i)) < 0)
				goto out;
	}
	for (size_t k = 0; k < sizeof(maps) / sizeof(*maps); k++) {
		json_t *sub;
		v = json_object_get(node, maps[k]);
		if (!json_is_object(v))
			continue;
		json_object_foreach(v, key, sub)
			if ((r = walk_child(c, sub, base, maps[k], key, 0)) < 0)
				goto out;
	}
	v = json_object_get(node, "dependencies");
	if (json_is_object(v)) {
		json_t *sub;
		json_object_foreach(v, key, sub)
			if ((r = walk_child(c, sub, base, "dependencies", key, 0)) < 0)
				goto out;
	}
out:
	free(mybase);
	return r;
}

/* Percent-decode s into a new string. */
static char *percent_decode(const char *s)
{
	char *o = malloc(strlen(s) + 1), *q = o;
	if (!o)
		return NULL;
	for (; *s; s++) {
		int h, l;
		if (*s == '%' && (h = hexval((unsigned char)s[1])) >= 0 &&
		    (l = hexval((unsigned char)s[2])) >= 0) {
			*q++ = (char)(h * 16 + l);
			s += 2;
		} else {
			*q++ = *s;
		}
	}
	*q = '\0';
	return o;
}

/* Evaluate a JSON pointer (already percent-decoded) from node. */
static json_t *json_pointer(json_t *node, const char *ptr)
{
	if (!*ptr)
		return node;
	if (*ptr != '/')
		return NULL;
	while (node && *ptr == '/') {
		const char *p = ptr + 1;
		size_t n = strcspn(p, "/");
		char *tok = malloc(n + 1), *t = tok;
		if (!tok)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '~' && p[i + 1] == '0') {
				*t++ = '~';
				i++;
			} else if (p[i] == '~' && p[i + 1] == '1') {
				*t++ = '/';
				i++;
			} else {
				*t++ = p[i];
			}
		}
		*t = '\0';
		if (json_is_object(node)) {
			node = json_object_get(node, tok);
		} else if (json_is_array(node)) {
			char *end;
			unsigned long idx = strtoul(tok, &end, 10);
			bool okidx = *tok && !*end && isdigit((unsigned char)*tok) &&
				     (tok[0] != '0' || !tok[1]);
			node = okidx ? json_array_get(node, idx) : NULL;
		} else {
			node = NULL;
		}
		free(tok);
		ptr = p + n;
	}
	return node;
}

static int load_meta(struct compiler *c)
{
	struct schema *s = c->s;
	json_error_t je;

	if (s->meta)
		return 0;
	s->meta = json_loads(meta_schema_text, 0, &je);
	if (!s->meta)
		return -ENOMEM;
	return walk(c, s->meta, "");
}

static int resolve_ref(struct compiler *c, const char *uri, json_t **target)
{
	struct schema *s = c->s;
	const char *hash = strchr(uri, '#');
	const char *frag = hash ? hash + 1 : "";
	char *doc = strip_fragment(uri);
	json_t *node;
	int r = 0;

	if (!doc)
		return -ENOMEM;
	if (*frag && *frag != '/') {
		node = smap_get(&s->ids, uri);
		if (!node && !strcmp(doc, META_URI)) {
			if ((r = load_meta(c)) < 0)
				goto out;
			node = smap_get(&s->ids, uri);
		}
		if (!node)
			r = fail_compile(c, -ENOENT, "$ref '%s': no subschema has this $id", uri);
		*target = node;
		goto out;
	}
	node = smap_get(&s->ids, doc);
	if (!node && !strcmp(doc, META_URI)) {
		if ((r = load_meta(c)) < 0)
			goto out;
		node = smap_get(&s->ids, doc);
	}
	if (!node) {
		r = fail_compile(c, -ENOENT,
				 "$ref '%s': remote references are not supported "
				 "(only this document and its $id subschemas)", uri);
		goto out;
	}
	char *ptr = percent_decode(frag);
	if (!ptr) {
		r = -ENOMEM;
		goto out;
	}
	*target = json_pointer(node, ptr);
	free(ptr);
	if (!*target) {
		r = fail_compile(c, -ENOENT, "$ref '%s': no such location in the schema", uri);
		goto out;
	}
	if (!json_is_object(*target) && !json_is_boolean(*target))
		r = fail_compile(c, -EINVAL, "$ref '%s' points at a %s, not a schema", uri,
				 json_is_array(*target) ? "array" : "scalar");
	else
		r = walk(c, *target, doc);
out:
	free(doc);
	return r;
}

void schema_free(struct schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ids.cap; i++)
		free(s->ids.keys[i]);
	free(s->ids.keys);
	free(s->ids.vals);
	for (size_t i = 0; i < s->patterns.cap; i++) {
		struct pattern *p = s->patterns.vals[i];
		free(s->patterns.keys[i]);
		if (p && p->ok)
			regfree(&p->re);
		free(p);
	}
	free(s->patterns.keys);
	free(s->patterns.vals);
	pmap_release(&s->refs);
	pmap_release(&s->walked);
	json_decref(s->root);
	json_decref(s->meta);
	free(s);
}

static int meta_check(const json_t *doc, struct schema_error *err)
{
	struct schema *meta = NULL;
	json_t *meta_doc = json_loads(meta_schema_text, 0, NULL);
	json_t *errors = json_array();
	int r = -ENOMEM;

	if (!meta_doc || !errors)
		goto out;
	if ((r = schema_compile_flags(&meta, meta_doc, SCHEMA_NO_META_CHECK, NULL)) < 0)
		goto out;
	r = schema_validate(meta, doc, errors);
	if (r == 1) {
		json_t *e = json_array_get(errors, 0);
		if (err) {
			snprintf(err->text, sizeof(err->text), "not a valid draft-07 schema: %s",
				 json_string_value(json_object_get(e, "message")));
			snprintf(err->path, sizeof(err->path), "%s",
				 json_string_value(json_object_get(e, "path")));
		}
		r = -EINVAL;
	}
out:
	schema_free(meta);
	json_decref(meta_doc);
	json_decref(errors);
	return r;
}

int schema_compile_flags(struct schema **out, const json_t *doc, unsigned flags,
			 struct schema_error *err)
{
	struct compiler c = { .err = err };
	int r;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (!json_is_object(doc) && !json_is_boolean(doc)) {
		if (err)
			snprintf(err->text, sizeof(err->text),
				 "a schema must be an object or a boolean");
		return -EINVAL;
	}
	if (!(flags & SCHEMA_NO_META_CHECK) && (r = meta_check(doc, err)) < 0)
		return r;
	c.s = calloc(1, sizeof(*c.s));
	if (!c.s)
		return -ENOMEM;
	c.s->flags = flags;
	c.s->root = json_incref((json_t *)doc);
	if ((r = register_id(c.s, "", c.s->root)) < 0 || (r = walk(&c, c.s->root, "")) < 0)
		goto out;
	for (size_t i = 0; i < c.npend; i++) { /* the list grows while we resolve */
		json_t *target = NULL;
		sb_trunc(&c.path, 0);
		if ((r = sb_add(&c.path, c.pend[i].path)) < 0)
			goto out;
		if ((r = resolve_ref(&c, c.pend[i].uri, &target)) < 0)
			goto out;
		if ((r = pmap_put(&c.s->refs, c.pend[i].node, target)) < 0)
			goto out;
	}
out:
	for (size_t i = 0; i < c.npend; i++) {
		free(c.pend[i].uri);
		free(c.pend[i].path);
	}
	free(c.pend);
	free(c.path.s);
	if (r < 0) {
		schema_free(c.s);
		return r;
	}
	*out = c.s;
	return 0;
}

int schema_compile(struct schema **out, const json_t *doc, struct schema_error *err)
{
	return schema_compile_flags(out, doc, 0, err);
}

/* ---- validation ---------------------------------------------------------- */

struct vctx {
	const struct schema *s;
	json_t *errors;         /* NULL: only the answer matters */
	struct sbuf ipath, spath;
	int depth, local;
	unsigned long steps, max_steps;
};

static int verror(struct vctx *c, const char *kw, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int verror(struct vctx *c, const char *kw, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->errors)
		return 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = c->spath.len;
	if (kw && sb_token(&c->spath, kw, strlen(kw)) < 0)
		return -ENOMEM;
	json_t *e = json_pack("{s:s, s:s, s:s}", "path", sb_str(&c->ipath), "schema_path",
			      sb_str(&c->spath), "message", msg);
	sb_trunc(&c->spath, len);
	if (!e || json_array_append_new(c->errors, e) < 0)
		return -ENOMEM;
	return 1;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

/* No libm: the driver links statically against jansson and libc only. */
static double abs_d(double d) { return d < 0 ? -d : d; }

/* d rounded to the nearest integer (d finite). */
static double round_d(double d)
{
	if (abs_d(d) >= 4503599627370496.0) /* 2^52: already integral */
		return d;
	return (double)(long long)(d + (d < 0 ? -0.5 : 0.5));
}

static bool is_integral(const json_t *v)
{
	if (json_is_integer(v))
		return true;
	if (!json_is_real(v))
		return false;
	double d = json_real_value(v);
	return isfinite(d) && (abs_d(d) >= 4503599627370496.0 || d == (double)(long long)d);
}

static bool type_matches(const json_t *v, const char *t)
{
	if (!strcmp(t, "integer"))
		return is_integral(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	return !strcmp(t, type_name(v));
}

/* -1, 0, 1 like strcmp; exact for two integers. */
static int num_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return (x > y) - (x < y);
	}
	double x = json_number_value(a), y = json_number_value(b);
	return (x > y) - (x < y);
}

int schema_json_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	if (!a || !b || json_typeof(a) != json_typeof(b))
		return a == b;
	if (json_is_array(a)) {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!schema_json_equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v) {
			json_t *w = json_object_get(b, k);
			if (!w || !schema_json_equal(v, w))
				return 0;
		}
		return 1;
	}
	if (json_is_string(a))
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
	return 1; /* null, true, false */
}

static size_t utf8_length(const json_t *s)
{
	const unsigned char *p = (const unsigned char *)json_string_value(s);
	size_t n = json_string_length(s), count = 0;
	for (size_t i = 0; i < n; i++)
		count += (p[i] & 0xc0) != 0x80;
	return count;
}

/* A short rendering of a value for messages. */
static void render(const json_t *v, char *buf, size_t size)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!s) {
		snprintf(buf, size, "(value)");
		return;
	}
	if (strlen(s) >= size && size > 4)
		snprintf(buf, size, "%.*s...", (int)(size - 4), s);
	else
		snprintf(buf, size, "%s", s);
	free(s);
}

static int validate(struct vctx *c, const json_t *schema, const json_t *inst);

/* Validate against a subschema at schema path kw[/key or /index]. */
static int validate_sub(struct vctx *c, const json_t *schema, const json_t *inst,
	       const char *kw, const char *key, size_t index)
{
	size_t len = c->spath.len;
	int r = sb_token(&c->spath, kw, strlen(kw));
	if (r == 0 && key)
		r = sb_token(&c->spath, key, strlen(key));
	else if (r == 0 && index != (size_t)-1)
		r = sb_index(&c->spath, index);
	if (r == 0)
		r = validate(c, schema, inst);
	sb_trunc(&c->spath, len);
	return r;
}

/* The same, on a member of the instance (instance path grows by key/index). */
static int sub_child(struct vctx *c, const json_t *schema, const json_t *inst,
		     const char *ikey, size_t iindex, const char *kw, const char *key,
		     size_t index)
{
	size_t len = c->ipath.len;
	int local = c->local;
	int r = ikey ? sb_token(&c->ipath, ikey, strlen(ikey)) : sb_index(&c->ipath, iindex);
	c->local = 0;
	if (r == 0)
		r = validate_sub(c, schema, inst, kw, key, index);
	c->local = local;
	sb_trunc(&c->ipath, len);
	return r;
}

/* Only the answer: 0 valid, 1 invalid, <0 error; no errors recorded. */
static int quiet(struct vctx *c, const json_t *schema, const json_t *inst,
		 const char *kw, const char *key, size_t index)
{
	json_t *saved = c->errors;
	c->errors = NULL;
	int r = validate_sub(c, schema, inst, kw, key, index);
	c->errors = saved;
	return r;
}

#define RUN(expr) \
	do { \
		int r_ = (expr); \
		if (r_ < 0) \
			return r_; \
		if (r_) { \
			invalid = 1; \
			if (!c->errors) \
				return 1; \
		} \
	} while (0)

static bool pattern_matches(const struct schema *s, const char *pat, const char *str)
{
	struct pattern *p = smap_get(&s->patterns, pat);
	if (!p || !p->ok)
		return true; /* lax: untranslatable patterns match everything */
	return regexec(&p->re, str, 0, NULL, 0) == 0;
}

static int check_type(struct vctx *c, const json_t *t, const json_t *inst)
{
	if (json_is_string(t)) {
		if (type_matches(inst, json_string_value(t)))
			return 0;
		return verror(c, "type", "expected %s, got %s", json_string_value(t),
			      type_name(inst));
	}
	if (!json_is_array(t))
		return 0;
	size_t i;
	json_t *x;
	char list[256] = "";
	json_array_foreach(t, i, x) {
		if (json_is_string(x) && type_matches(inst, json_string_value(x)))
			return 0;
		if (json_is_string(x) && strlen(list) + json_string_length(x) + 3 < sizeof(list)) {
			if (i)
				strcat(list, ", ");
			strcat(list, json_string_value(x));
		}
	}
	return verror(c, "type", "expected one of [%s], got %s", list, type_name(inst));
}

static int check_number(struct vctx *c, const json_t *sc, const json_t *inst)
{
	int invalid = 0;
	json_t *v;
	double x = json_number_value(inst);

	v = json_object_get(sc, "multipleOf");
	if (json_is_number(v) && json_number_value(v) > 0) {
		bool ok;
		if (json_is_integer(v) && json_is_integer(inst)) {
			ok = json_integer_value(inst) % json_integer_value(v) == 0;
		} else {
			double q = x / json_number_value(v);
			ok = isfinite(q) && abs_d(q - round_d(q)) <= 1e-9 * (abs_d(q) > 1.0 ? abs_d(q) : 1.0);
		}
		if (!ok)
			RUN(verror(c, "multipleOf", "%.17g is not a multiple of %.17g", x,
				   json_number_value(v)));
	}
	v = json_object_get(sc, "maximum");
	if (json_is_number(v) && num_cmp(inst, v) > 0)
		RUN(verror(c, "maximum", "%.17g is greater than the maximum %.17g", x,
			   json_number_value(v)));
	v = json_object_get(sc, "exclusiveMaximum");
	if (json_is_number(v) && num_cmp(inst, v) >= 0)
		RUN(verror(c, "exclusiveMaximum", "%.17g is not less than %.17g", x,
			   json_number_value(v)));
	v = json_object_get(sc, "minimum");
	if (json_is_number(v) && num_cmp(inst, v) < 0)
		RUN(verror(c, "minimum", "%.17g is less than the minimum %.17g", x,
			   json_number_value(v)));
	v = json_object_get(sc, "exclusiveMinimum");
	if (json_is_number(v) && num_cmp(inst, v) <= 0)
		RUN(verror(c, "exclusiveMinimum", "%.17g is not greater than %.17g", x,
			   json_number_value(v)));
	return invalid;
}

static int check_string(struct vctx *c, const json_t *sc, const json_t *inst)
{
	int invalid = 0;
	json_t *v;
	size_t len = 0;
	bool counted = false;

	v = json_object_get(sc, "maxLength");
	if (json_is_number(v)) {
		len = utf8_length(inst);
		counted = true;
		if ((double)len > json_number_value(v))
			RUN(verror(c, "maxLength", "string has %zu characters, more than %.17g",
				   len, json_number_value(v)));
	}
	v = json_object_get(sc, "minLength");
	if (json_is_number(v)) {
		if (!counted)
			len = utf8_length(inst);
		if ((double)len < json_number_value(v))
			RUN(verror(c, "minLength", "string has %zu characters, fewer than %.17g",
				   len, json_number_value(v)));
	}
	v = json_object_get(sc, "pattern");
	if (json_is_string(v) && !pattern_matches(c->s, json_string_value(v), json_string_value(inst)))
		RUN(verror(c, "pattern", "does not match the pattern '%s'", json_string_value(v)));
	return invalid;
}

static int check_array(struct vctx *c, const json_t *sc, const json_t *inst)
{
	int invalid = 0;
	size_t n = json_array_size(inst), i;
	json_t *v, *items, *x;

	items = json_object_get(sc, "items");
	if (json_is_array(items)) {
		size_t m = json_array_size(items);
		for (i = 0; i < n && i < m; i++)
			RUN(sub_child(c, json_array_get(items, i), json_array_get(inst, i), NULL, i,
				      "items", NULL, i));
		v = json_object_get(sc, "additionalItems");
		if (n > m && json_is_false(v)) {
			RUN(verror(c, "additionalItems",
				   "array has %zu items, only %zu are allowed", n, m));
		} else if (n > m && json_is_object(v)) {
			for (i = m; i < n; i++)
				RUN(sub_child(c, v, json_array_get(inst, i), NULL, i,
					      "additionalItems", NULL, (size_t)-1));
		}
	} else if (items) {
		json_array_foreach(inst, i, x)
			RUN(sub_child(c, items, x, NULL, i, "items", NULL, (size_t)-1));
	}
	v = json_object_get(sc, "maxItems");
	if (json_is_number(v) && (double)n > json_number_value(v))
		RUN(verror(c, "maxItems", "array has %zu items, more than %.17g", n,
			   json_number_value(v)));
	v = json_object_get(sc, "minItems");
	if (json_is_number(v) && (double)n < json_number_value(v))
		RUN(verror(c, "minItems", "array has %zu items, fewer than %.17g", n,
			   json_number_value(v)));
	if (json_is_true(json_object_get(sc, "uniqueItems"))) {
		for (i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (schema_json_equal(json_array_get(inst, i), json_array_get(inst, j))) {
					RUN(verror(c, "uniqueItems", "items %zu and %zu are equal", i, j));
					goto unique_done;
				}
	}
unique_done:
	v = json_object_get(sc, "contains");
	if (v) {
		bool found = false;
		json_array_foreach(inst, i, x) {
			int local = c->local;
			c->local = 0;
			int r = quiet(c, v, x, "contains", NULL, (size_t)-1);
			c->local = local;
			if (r < 0)
				return r;
			if (r == 0) {
				found = true;
				break;
			}
		}
		if (!found)
			RUN(verror(c, "contains", "no item matches the \"contains\" schema"));
	}
	return invalid;
}

static int check_object(struct vctx *c, const json_t *sc, const json_t *inst)
{
	int invalid = 0;
	size_t n = json_object_size(inst), i;
	json_t *v, *x, *props, *pprops, *addl;
	const char *key;

	v = json_object_get(sc, "maxProperties");
	if (json_is_number(v) && (double)n > json_number_value(v))
		RUN(verror(c, "maxProperties", "object has %zu properties, more than %.17g", n,
			   json_number_value(v)));
	v = json_object_get(sc, "minProperties");
	if (json_is_number(v) && (double)n < json_number_value(v))
		RUN(verror(c, "minProperties", "object has %zu properties, fewer than %.17g", n,
			   json_number_value(v)));
	v = json_object_get(sc, "required");
	json_array_foreach(v, i, x)
		if (json_is_string(x) && !json_object_get(inst, json_string_value(x)))
			RUN(verror(c, "required", "required property '%s' is missing",
				   json_string_value(x)));

	props = json_object_get(sc, "properties");
	pprops = json_object_get(sc, "patternProperties");
	addl = json_object_get(sc, "additionalProperties");
	if (!json_is_object(props))
		props = NULL;
	if (!json_is_object(pprops))
		pprops = NULL;
	json_object_foreach((json_t *)inst, key, x) {
		bool matched = false;
		json_t *ps = props ? json_object_get(props, key) : NULL;
		if (ps) {
			matched = true;
			RUN(sub_child(c, ps, x, key, 0, "properties", key, (size_t)-1));
		}
		if (pprops) {
			const char *pat;
			json_t *pv;
			json_object_foreach(pprops, pat, pv) {
				if (!pattern_matches(c->s, pat, key))
					continue;
				matched = true;
				RUN(sub_child(c, pv, x, key, 0, "patternProperties", pat, (size_t)-1));
			}
		}
		if (matched || !addl)
			continue;
		if (json_is_false(addl)) {
			size_t len = c->ipath.len;
			if (sb_token(&c->ipath, key, strlen(key)) < 0)
				return -ENOMEM;
			int r = verror(c, "additionalProperties",
				       "property '%s' is not allowed (additionalProperties)", key);
			sb_trunc(&c->ipath, len);
			RUN(r);
		} else {
			RUN(sub_child(c, addl, x, key, 0, "additionalProperties", NULL, (size_t)-1));
		}
	}

	v = json_object_get(sc, "dependencies");
	if (json_is_object(v)) {
		const char *dk;
		json_t *dep;
		json_object_foreach(v, dk, dep) {
			if (!json_object_get(inst, dk))
				continue;
			if (json_is_array(dep)) {
				json_array_foreach(dep, i, x)
					if (json_is_string(x) && !json_object_get(inst, json_string_value(x)))
						RUN(verror(c, "dependencies",
							   "property '%s' requires property '%s'", dk,
							   json_string_value(x)));
			} else {
				RUN(validate_sub(c, dep, inst, "dependencies", dk, (size_t)-1));
			}
		}
	}

	v = json_object_get(sc, "propertyNames");
	if (v) {
		json_object_foreach((json_t *)inst, key, x) {
			json_t *name = json_string(key);
			if (!name)
				return -ENOMEM;
			int local = c->local;
			c->local = 0;
			int r = quiet(c, v, name, "propertyNames", NULL, (size_t)-1);
			c->local = local;
			json_decref(name);
			if (r > 0)
				r = verror(c, "propertyNames",
					   "property name '%s' does not match the \"propertyNames\" schema", key);
			RUN(r);
		}
	}
	return invalid;
}

static int check_combinators(struct vctx *c, const json_t *sc, const json_t *inst)
{
	int invalid = 0;
	size_t i;
	json_t *v, *x;

	v = json_object_get(sc, "allOf");
	json_array_foreach(v, i, x)
		RUN(validate_sub(c, x, inst, "allOf", NULL, i));

	v = json_object_get(sc, "anyOf");
	if (json_is_array(v)) {
		bool any = false;
		json_array_foreach(v, i, x) {
			int r = quiet(c, x, inst, "anyOf", NULL, i);
			if (r < 0)
				return r;
			if (r == 0) {
				any = true;
				break;
			}
		}
		if (!any)
			RUN(verror(c, "anyOf", "value does not match any of the \"anyOf\" schemas"));
	}

	v = json_object_get(sc, "oneOf");
	if (json_is_array(v)) {
		long first = -1, second = -1;
		json_array_foreach(v, i, x) {
			int r = quiet(c, x, inst, "oneOf", NULL, i);
			if (r < 0)
				return r;
			if (r == 0) {
				if (first < 0) {
					first = (long)i;
				} else {
					second = (long)i;
					break;
				}
			}
		}
		if (first < 0)
			RUN(verror(c, "oneOf", "value does not match any of the \"oneOf\" schemas"));
		else if (second >= 0)
			RUN(verror(c, "oneOf",
				   "value matches \"oneOf\" schemas %ld and %ld, expected exactly one",
				   first, second));
	}

	v = json_object_get(sc, "not");
	if (v) {
		int r = quiet(c, v, inst, "not", NULL, (size_t)-1);
		if (r < 0)
			return r;
		if (r == 0)
			RUN(verror(c, "not", "value must not match the \"not\" schema"));
	}

	v = json_object_get(sc, "if");
	if (v) {
		int r = quiet(c, v, inst, "if", NULL, (size_t)-1);
		if (r < 0)
			return r;
		const char *kw = r == 0 ? "then" : "else";
		json_t *branch = json_object_get(sc, kw);
		if (branch)
			RUN(validate_sub(c, branch, inst, kw, NULL, (size_t)-1));
	}
	return invalid;
}

static int validate_object_schema(struct vctx *c, const json_t *sc, const json_t *inst)
{
	int invalid = 0;
	json_t *v;

	v = json_object_get(sc, "$ref");
	if (json_is_string(v)) {
		/* draft-07: the other keywords next to $ref are ignored */
		const json_t *target = pmap_get(&c->s->refs, sc);
		if (!target)
			return -ENOENT;
		return validate_sub(c, target, inst, "$ref", NULL, (size_t)-1);
	}
	if ((v = json_object_get(sc, "type")))
		RUN(check_type(c, v, inst));
	if ((v = json_object_get(sc, "enum")) && json_is_array(v)) {
		size_t i;
		json_t *x;
		bool found = false;
		json_array_foreach(v, i, x)
			if (schema_json_equal(x, inst)) {
				found = true;
				break;
			}
		if (!found) {
			char list[160];
			render(v, list, sizeof(list));
			RUN(verror(c, "enum", "value is not one of %s", list));
		}
	}
	if ((v = json_object_get(sc, "const")) && !schema_json_equal(v, inst)) {
		char val[160];
		render(v, val, sizeof(val));
		RUN(verror(c, "const", "value must be %s", val));
	}
	if (json_is_number(inst))
		RUN(check_number(c, sc, inst));
	else if (json_is_string(inst))
		RUN(check_string(c, sc, inst));
	else if (json_is_array(inst))
		RUN(check_array(c, sc, inst));
	else if (json_is_object(inst))
		RUN(check_object(c, sc, inst));
	RUN(check_combinators(c, sc, inst));
	return invalid;
}

static int validate(struct vctx *c, const json_t *schema, const json_t *inst)
{
	int r;

	if (json_is_true(schema))
		return 0;
	if (json_is_false(schema))
		return verror(c, NULL, "no value is allowed here (false schema)");
	if (!json_is_object(schema))
		return 0; /* not a schema: SCHEMA_NO_META_CHECK let it through */
	if (c->depth >= MAX_DEPTH || c->local >= MAX_LOCAL_DEPTH || c->steps++ >= c->max_steps)
		return -ELOOP;
	c->depth++;
	c->local++;
	r = validate_object_schema(c, schema, inst);
	c->local--;
	c->depth--;
	return r;
}

/* Number of values in v (v itself, members, items, recursively). */
static unsigned long count_nodes(const json_t *v)
{
	unsigned long n = 1;
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, x)
			n += count_nodes(x);
	else if (json_is_array(v))
		json_array_foreach(v, i, x)
			n += count_nodes(x);
	return n;
}

int schema_validate(const struct schema *s, const json_t *instance, json_t *errors)
{
	struct vctx c = { .s = s, .errors = errors };
	int r;

	if (!s || !instance)
		return -EINVAL;
	c.max_steps = MAX_STEPS + STEPS_PER_NODE * count_nodes(instance);
	r = validate(&c, s->root, instance);
	free(c.ipath.s);
	free(c.spath.s);
	return r;
}

int schema_validate_connector_config(const json_t *spec, const json_t *config, json_t *errors)
{
	struct schema *s = NULL;
	struct schema_error err;
	const json_t *doc = spec;
	json_t *v;
	int r;

	if (json_is_object(spec) && json_is_object(v = json_object_get(spec, "spec")))
		doc = v; /* a SPEC message */
	if (json_is_object(doc) && (v = json_object_get(doc, "connectionSpecification")))
		doc = v;
	r = schema_compile_flags(&s, doc, SCHEMA_LAX_PATTERNS | SCHEMA_NO_META_CHECK, &err);
	if (r < 0) {
		if (errors && r != -ENOMEM)
			json_array_append_new(errors,
					      json_pack("{s:s, s:s, s:s}", "path", "", "schema_path",
							err.path, "message", err.text));
		return r;
	}
	r = schema_validate(s, config, errors);
	schema_free(s);
	return r;
}
