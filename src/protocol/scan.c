/*
 * scan.c - single-pass, allocation-free JSON validator and AirbyteMessage
 * classifier (see scan.h for the contract).
 *
 * The scanner is a small state machine (value / key / after-value) joined by
 * gotos.  Nesting lives in a bit stack (1 = parent is an object) instead of
 * recursion, so a hostile line cannot blow the C stack.  String contents go
 * through a fast loop that stops only at '"', '\\', bytes < 0x20 and bytes
 * >= 0x80 (find_special()); non-ASCII runs are then checked as UTF-8.
 *
 * The whole scanner is one always-inline body, scan_body(), instantiated once
 * per implementation so that each gets its string kernel inlined:
 *
 *   SCALAR  8 bytes at a time with the zero-byte tricks; byte-wise UTF-8
 *   SSE2    16 bytes at a time (x86-64 baseline); byte-wise UTF-8
 *   AVX2    32/64 bytes at a time; 32-byte vectorised UTF-8 validation
 *
 * ab_scan_line() calls through a pointer chosen once, on first use, from
 * __builtin_cpu_supports().  All three give identical results, error offsets
 * included: the SIMD kernels only ever skip bytes that the scalar path would
 * accept, and every error is reported by the same byte-wise code.
 *
 * The SIMD instances first try templates: the shapes of lines they accepted
 * before, checked without walking the structure (see "the fast path"
 * below); ab_scan_frame() uses them to find a line's end as well.
 *
 * Every read is bounded by the end pointer: the line is not NUL-terminated.
 */
#include "protocol/scan.h"
#include "protocol/scan_simd.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

_Static_assert(AB_SCAN_MAX_DEPTH % 64 == 0, "bit stack is whole words");

typedef unsigned char uchar;

#if AB_SCAN_HAVE_X86
#define win ab_win
#else
struct win { int unused; };
#define AB_WIN_EMPTY { 0 }
#endif

/* Which interesting member the value being scanned belongs to. */
enum member {
	M_NONE = 0,
	M_TYPE,         /* depth 1 "type" */
	M_RECORD,       /* depth 1 "record" */
	M_STREAM,       /* "record"."stream" */
	M_NAMESPACE,    /* "record"."namespace" */
};

struct fail {
	const uchar *at;
	const char *msg;
};

static const char *const type_names[AB_MSG_TYPE_COUNT] = {
	[AB_MSG_NONE] = "NONE",
	[AB_MSG_RECORD] = "RECORD",
	[AB_MSG_STATE] = "STATE",
	[AB_MSG_LOG] = "LOG",
	[AB_MSG_TRACE] = "TRACE",
	[AB_MSG_CONTROL] = "CONTROL",
	[AB_MSG_SPEC] = "SPEC",
	[AB_MSG_CONNECTION_STATUS] = "CONNECTION_STATUS",
	[AB_MSG_CATALOG] = "CATALOG",
	[AB_MSG_DESTINATION_CATALOG] = "DESTINATION_CATALOG",
};

const char *ab_msg_type_name(enum ab_msg_type type)
{
	if ((unsigned)type >= AB_MSG_TYPE_COUNT)
		return "UNKNOWN";
	return type_names[type];
}

static inline bool is_ws(uchar c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline bool is_digit(uchar c)
{
	return (unsigned)(c - '0') < 10;
}

static inline int hex_value(uchar c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	if ((unsigned)(c - 'a') < 6)
		return c - 'a' + 10;
	return -1;
}

/* Four hex digits at p (caller checked the bounds); -1 when not hex. */
static inline long hex4(const uchar *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hex_value(p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static inline const uchar *skip_ws(const uchar *p, const uchar *e)
{
	/* compact JSON: the next byte is almost never blank */
	if (likely(p < e && *p > ' '))
		return p;
	while (p < e && is_ws(*p))
		p++;
	return p;
}

static inline uint64_t load64(const uchar *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);       /* byte 0 in the low bits, as below */
#endif
	return w;
}

/*
 * High bit set in each byte of w that is '"', '\\', < 0x20 or >= 0x80.  The
 * zero-byte tricks may also flag bytes above a real hit (borrows), never
 * below one, so the lowest flagged byte is always exact.
 */
static inline uint64_t special_mask(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"');
	uint64_t b = w ^ (ONES * '\\');

	return (((q - ONES) & ~q) | ((b - ONES) & ~b) |
		((w - ONES * 0x20) & ~w) | w) & HIGHS;
}

static inline bool is_plain(uchar c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* First byte in [p, e) that is not plain string content, or e. */
static inline const uchar *scan_plain(const uchar *p, const uchar *e)
{
	while (e - p >= 8) {
		uint64_t m = special_mask(load64(p));

		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
	while (p < e && is_plain(*p))
		p++;
	return p;
}

/* One UTF-8 sequence starting at the non-ASCII byte p; end of it or NULL. */
static const uchar *scan_utf8(const uchar *p, const uchar *e, struct fail *f)
{
	uchar c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0xc2) {
		goto bad;               /* stray continuation or overlong lead */
	} else if (c < 0xe0) {
		n = 1;
	} else if (c < 0xf0) {
		n = 2;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* U+D800..DFFF */
	} else if (c < 0xf5) {
		n = 3;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* above U+10FFFF */
	} else {
		goto bad;
	}
	if ((size_t)(e - p) <= n || p[1] < lo || p[1] > hi)
		goto bad;
	for (size_t i = 2; i <= n; i++)
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
	return p + n + 1;
bad:
	f->at = p;
	f->msg = "invalid utf-8";
	return NULL;
}

/*
 * String contents starting just after the opening quote.  Returns the byte
 * after the closing quote, or NULL with *f set.  *escaped is set when the
 * contents hold a backslash escape.
 */
static inline __attribute__((always_inline))
const uchar *find_special(const uchar *p, const uchar *e, const uchar *base,
			  struct win *w, const enum ab_scan_impl impl)
{
#if AB_SCAN_HAVE_X86
	if (impl == AB_SCAN_AVX2)
		return find_win_avx2(p, e, base, w);
	if (impl == AB_SCAN_SSE2)
		return find_win_sse2(p, e, base, w);
#endif
	return scan_plain(p, e);
}

static inline __attribute__((always_inline))
const uchar *scan_string(const uchar *p, const uchar *e, const uchar *base,
			 struct win *w, bool *escaped, struct fail *f,
			 const enum ab_scan_impl impl)
{
	for (;;) {
		p = find_special(p, e, base, w, impl);
		if (unlikely(p == e)) {
			f->at = p;
			f->msg = "unterminated string";
			return NULL;
		}
		if (likely(*p == '"'))
			return p + 1;
		if (*p == '\\') {
			*escaped = true;
			if (e - p < 2)
				goto unterminated;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				p += 2;
				break;
			case 'u':
				/* lone surrogates pass: RFC 8259 grammar allows them */
				if (e - p < 6 || hex4(p + 2) < 0)
					goto bad_escape;
				p += 6;
				break;
			default:
				goto bad_escape;
			}
		} else if (*p < 0x20) {
			f->at = p;
			f->msg = "control character in string";
			return NULL;
		} else {
#if AB_SCAN_HAVE_X86
			if (impl == AB_SCAN_AVX2) {
				const uchar *r = utf8_avx2(p, e, base);

				if (r) {
					p = r;
					continue;
				}
			}
#endif
			/* a run of non-ASCII: stay byte-wise until it ends */
			do {
				p = scan_utf8(p, e, f);
				if (!p)
					return NULL;
			} while (p < e && *p >= 0x80);
		}
	}
unterminated:
	f->at = p;
	f->msg = "unterminated string";
	return NULL;
bad_escape:
	f->at = p;
	f->msg = "invalid escape";
	return NULL;
}

/*
 * First non-digit in [p, e), or e.  Eight bytes at a time: x = w ^ '0' is
 * below 10 exactly in the digit bytes, and (x & 0x7f) + 0x76 cannot carry
 * out of its byte, so every flagged byte is exact.
 */
static inline uint64_t nondigit_mask(uint64_t w)
{
	uint64_t x = w ^ (ONES * '0');

	return (((x & ~HIGHS) + ONES * 0x76) | x) & HIGHS;
}

static inline const uchar *skip_digits(const uchar *p, const uchar *e,
				       const uchar *base)
{
	while (e - p >= 8) {
		uint64_t m = nondigit_mask(load64(p));

		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
	if (p < e && e - base >= 8) {
		/*
		 * Fewer than 8 bytes left (a number at the end of the line): the
		 * line's last 8 bytes with those before p shifted out; the zero
		 * bytes shifted in are not digits, so m is never 0.
		 */
		uint64_t m = nondigit_mask(load64(e - 8) >> (8 * (8 - (e - p))));

		return p + (__builtin_ctzll(m) >> 3);
	}
	while (p < e && is_digit(*p))
		p++;
	return p;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; end of it or NULL. */
static inline __attribute__((always_inline))
const uchar *scan_number(const uchar *p, const uchar *e, const uchar *base,
			 struct fail *f)
{
	const uchar *start = p;

	if (*p == '-')
		p++;
	if (p == e)
		goto bad;
	if (*p == '0') {
		p++;
	} else if (is_digit(*p)) {
		p = skip_digits(p + 1, e, base);
	} else {
		goto bad;
	}
	if (p < e && *p == '.') {
		p++;
		if (p == e || !is_digit(*p))
			goto bad;
		p = skip_digits(p + 1, e, base);
	}
	if (p < e && (*p | 0x20) == 'e') {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p == e || !is_digit(*p))
			goto bad;
		do
			p++;
		while (p < e && is_digit(*p));
	}
	/* a digit right after "0" or "-0" is a leading zero */
	if (p < e && is_digit(*p))
		goto bad;
	return p;
bad:
	f->at = start;
	f->msg = "invalid number";
	return NULL;
}

#define NAME_LEN(t, name) [t] = sizeof(name) - 1
static const unsigned char type_name_len[AB_MSG_TYPE_COUNT] = {
	NAME_LEN(AB_MSG_NONE, "NONE"),
	NAME_LEN(AB_MSG_RECORD, "RECORD"),
	NAME_LEN(AB_MSG_STATE, "STATE"),
	NAME_LEN(AB_MSG_LOG, "LOG"),
	NAME_LEN(AB_MSG_TRACE, "TRACE"),
	NAME_LEN(AB_MSG_CONTROL, "CONTROL"),
	NAME_LEN(AB_MSG_SPEC, "SPEC"),
	NAME_LEN(AB_MSG_CONNECTION_STATUS, "CONNECTION_STATUS"),
	NAME_LEN(AB_MSG_CATALOG, "CATALOG"),
	NAME_LEN(AB_MSG_DESTINATION_CATALOG, "DESTINATION_CATALOG"),
};
#undef NAME_LEN

static enum ab_msg_type classify(const uchar *s, size_t len, bool escaped)
{
	char buf[32]; /* here, not in the block: s may point into it below */

	if (escaped) {
		/* rare: a type spelled with escapes still names the type */
		long n = ab_scan_unescape((const char *)s, len, buf, sizeof(buf));

		if (n < 0)
			return AB_MSG_NONE;
		s = (const uchar *)buf;
		len = (size_t)n;
	}
	for (int t = AB_MSG_RECORD; t < AB_MSG_TYPE_COUNT; t++)
		if (type_name_len[t] == len && !memcmp(type_names[t], s, len))
			return (enum ab_msg_type)t;
	return AB_MSG_NONE;
}

static inline bool key_is(const uchar *s, size_t len, const char *name,
			  size_t name_len)
{
	/* name_len is a constant, so the memcmp is inlined */
	return len == name_len && !memcmp(s, name, name_len);
}

/* A member's value was not a string (nor an object, for "record"). */
static void member_other(struct ab_scan *out, enum member m, bool *record_obj)
{
	switch (m) {
	case M_TYPE:
		out->type = AB_MSG_NONE;
		break;
	case M_RECORD:
		*record_obj = false;
		out->stream = out->ns = NULL;
		break;
	case M_STREAM:
		out->stream = NULL;
		break;
	case M_NAMESPACE:
		out->ns = NULL;         /* null, or a value we cannot use */
		break;
	case M_NONE:
		break;
	}
}

/* A member's value was the string s[0..len). */
static void member_string(struct ab_scan *out, enum member m, const uchar *s,
			  size_t len, bool escaped, bool *record_obj)
{
	switch (m) {
	case M_TYPE:
		out->type = classify(s, len, escaped);
		break;
	case M_STREAM:
		out->stream = (const char *)s;
		out->stream_len = len;
		out->stream_escaped = escaped;
		break;
	case M_NAMESPACE:
		out->ns = (const char *)s;
		out->ns_len = len;
		out->ns_escaped = escaped;
		break;
	case M_RECORD:
		member_other(out, m, record_obj);
		break;
	case M_NONE:
		break;
	}
}

static int fail_at(struct ab_scan *out, const uchar *base, const uchar *at,
		   const char *msg)
{
	out->type = AB_MSG_NONE;
	out->stream = out->ns = NULL;
	out->stream_len = out->ns_len = 0;
	out->stream_escaped = out->ns_escaped = false;
	out->error = msg;
	out->error_offset = (size_t)(at - base);
	return -EINVAL;
}

/*
 * The scalar values a scan met, for the templates of the SIMD instances (see
 * "the fast path" below): where each one is, and whether it must stay a string
 * (a "stream" or "namespace").  The values that decide the result ("type",
 * a "stream", "namespace" or "record" that is not a string) are not noted:
 * they stay in the template's literal bytes.
 */
#define TPL_MAX_SLOTS 32
#define TPL_MAX_BYTES 512

struct tpl_rec {
	unsigned n;                             /* > TPL_MAX_SLOTS: too many */
	uint32_t start[TPL_MAX_SLOTS], end[TPL_MAX_SLOTS];
	uint8_t string_only[TPL_MAX_SLOTS];
};

static inline void tpl_note(struct tpl_rec *r, const uchar *base,
			    const uchar *start, const uchar *end, enum member m,
			    bool str)
{
	if (!r || (m != M_NONE && !(str && (m == M_STREAM || m == M_NAMESPACE))))
		return;
	if (r->n < TPL_MAX_SLOTS) {
		r->start[r->n] = (uint32_t)(start - base);
		r->end[r->n] = (uint32_t)(end - base);
		r->string_only[r->n] = m != M_NONE;
	}
	r->n++;
}

static inline __attribute__((always_inline))
int scan_body(const char *line, size_t len, struct ab_scan *out,
	      const enum ab_scan_impl impl, struct tpl_rec *rec)
{
	const uchar *const base = (const uchar *)line;
	const uchar *p = base, *e = base + len;
	uint64_t stack[AB_SCAN_MAX_DEPTH / 64];
	unsigned depth = 0;
	bool in_obj = false;            /* innermost open container is an object */
	bool in_record = false;         /* the open depth 2 object is "record" */
	bool record_obj = false;        /* "record" was an object */
	enum member pend = M_NONE;
	struct fail f = { NULL, NULL };
	struct win win = AB_WIN_EMPTY;
	const uchar *s, *v;
	bool escaped;

	*out = (struct ab_scan){ .type = AB_MSG_NONE };
	if (rec)
		rec->n = 0;
	p = skip_ws(p, e);
	if (p == e)
		return fail_at(out, base, p, "empty line");

value:
	if (unlikely(p == e))
		return fail_at(out, base, p, "unexpected end of line");
	v = p;
	switch (*p) {
	case '{':
	case '[':
		if (unlikely(depth == AB_SCAN_MAX_DEPTH))
			return fail_at(out, base, p, "nesting too deep");
		if (!(depth & 63))
			stack[depth >> 6] = 0;
		stack[depth >> 6] &= ~(1ull << (depth & 63));
		stack[depth >> 6] |= (uint64_t)in_obj << (depth & 63);
		depth++;
		in_obj = *p == '{';
		if (unlikely(pend)) {
			if (pend == M_RECORD && in_obj) {
				record_obj = in_record = true;
				out->stream = out->ns = NULL;   /* last "record" wins */
			} else {
				member_other(out, pend, &record_obj);
			}
			pend = M_NONE;
		}
		p = skip_ws(p + 1, e);
		if (p < e && *p == (in_obj ? '}' : ']')) {
			p++;
			goto close;
		}
		if (in_obj)
			goto key;
		goto value;
	case '"':
		s = p + 1;
		escaped = false;
		p = scan_string(s, e, base, &win, &escaped, &f, impl);
		if (unlikely(!p))
			return fail_at(out, base, f.at, f.msg);
		tpl_note(rec, base, v, p, pend, true);
		if (unlikely(pend)) {
			member_string(out, pend, s, (size_t)(p - 1 - s), escaped,
				      &record_obj);
			pend = M_NONE;
		}
		goto after_value;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		p = scan_number(p, e, base, &f);
		if (unlikely(!p))
			return fail_at(out, base, f.at, f.msg);
		break;
	case 't':
		if (e - p < 4 || memcmp(p, "true", 4))
			return fail_at(out, base, p, "invalid literal");
		p += 4;
		break;
	case 'f':
		if (e - p < 5 || memcmp(p, "false", 5))
			return fail_at(out, base, p, "invalid literal");
		p += 5;
		break;
	case 'n':
		if (e - p < 4 || memcmp(p, "null", 4))
			return fail_at(out, base, p, "invalid literal");
		p += 4;
		break;
	case ' ': case '\t': case '\n': case '\r':
		/* blanks are rare: every state skips them only when it meets them */
		p = skip_ws(p, e);
		goto value;
	default:
		return fail_at(out, base, p, "unexpected character");
	}
	/* a number or literal */
	tpl_note(rec, base, v, p, pend, false);
	if (unlikely(pend)) {
		member_other(out, pend, &record_obj);
		pend = M_NONE;
	}
	goto after_value;

key:
	/* p is just after '{' (and its blanks) or ',' inside an object */
	if (unlikely(p == e))
		return fail_at(out, base, p, "unexpected end of line");
	if (unlikely(*p != '"')) {
		if (is_ws(*p)) {
			p = skip_ws(p, e);
			goto key;
		}
		return fail_at(out, base, p, "expected string key");
	}
	s = p + 1;
	escaped = false;
	p = scan_string(s, e, base, &win, &escaped, &f, impl);
	if (unlikely(!p))
		return fail_at(out, base, f.at, f.msg);
	/* keys written with escapes never match: no decoding on the hot path */
	if (depth == 1 && !escaped) {
		size_t n = (size_t)(p - 1 - s);

		if (key_is(s, n, "type", 4))
			pend = M_TYPE;
		else if (key_is(s, n, "record", 6))
			pend = M_RECORD;
	} else if (depth == 2 && in_record && !escaped) {
		size_t n = (size_t)(p - 1 - s);

		if (key_is(s, n, "stream", 6))
			pend = M_STREAM;
		else if (key_is(s, n, "namespace", 9))
			pend = M_NAMESPACE;
	}
	if (unlikely(p == e || *p != ':')) {
		p = skip_ws(p, e);
		if (p == e || *p != ':')
			return fail_at(out, base, p, p == e ? "unexpected end of line"
							  : "expected ':'");
	}
	p++;
	goto value;

after_value:
	if (unlikely(depth == 0)) {
		p = skip_ws(p, e);
		if (p != e)
			return fail_at(out, base, p, "trailing characters");
		goto done;
	}
	if (unlikely(p == e))
		return fail_at(out, base, p, "unexpected end of line");
	if (*p == ',') {
		p++;
		if (in_obj)
			goto key;
		goto value;
	}
	if (unlikely(*p != (in_obj ? '}' : ']'))) {
		if (is_ws(*p)) {
			p = skip_ws(p, e);
			goto after_value;
		}
		return fail_at(out, base, p, "unexpected character");
	}
	p++;
close:
	depth--;
	in_obj = stack[depth >> 6] >> (depth & 63) & 1;
	if (depth == 1)
		in_record = false;
	goto after_value;

done:
	if (out->type == AB_MSG_RECORD) {
		if (!record_obj || !out->stream)
			return fail_at(out, base, base, "record has no stream");
	} else {
		out->stream = out->ns = NULL;
		out->stream_len = out->ns_len = 0;
		out->stream_escaped = out->ns_escaped = false;
	}
	return 0;
}

#if AB_SCAN_HAVE_X86
/* ---- the fast path of the SIMD instances: templates ------------------------
 *
 * Records of one stream usually have one shape: the same keys in the same
 * order, the same structure and blanks; only the scalar values differ.  The
 * SIMD instances remember the shape of lines scan_body() accepted as a
 * template: the bytes between the scalar values (the "literals"), and
 * which values are the stream and namespace.  tpl_match() checks a line
 * against a template: each literal by comparing bytes, each value with the
 * scanner's own kernels (scan_string(), scan_number()); it never walks the
 * structure.  Any line with the template's literals and any scalar values in
 * its slots is valid JSON with the same keys in the same places (replacing a
 * scalar value by another keeps JSON valid), so it scans to the same type,
 * and to the stream and namespace in the same slots.  The values that decide
 * the result ("type", a "stream" or "namespace" that is not a string, ...)
 * are part of the literals (see tpl_note()).
 *
 * tpl_match() accepts only a line it has fully validated, with *out exactly
 * as scan_body() would fill it; anything else goes through scan_body(),
 * which finds errors and their offsets.  So the SIMD instances give the
 * scalar answers as long as tpl_match() never accepts what scan_body()
 * rejects and agrees on what it accepts: the differential tests and
 * tests/fuzz/fuzz_scan.c check exactly that, with lines of learned shapes.
 *
 * (A structural pre-pass, simdjson-style, was tried first: 64-byte blocks
 * classified into quote/backslash/control/non-ASCII masks, strings ended
 * through them, the structure walked outside strings.  On lines dense with
 * short keys and values the walk cost as much as scan_body(), and on long
 * strings the block masks cost more than the string kernels below, which
 * already skip 64 bytes at a time; so it was dropped.)
 */

static inline uint32_t ld32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A value at p < e that is not a string: its end, or NULL when it is not valid. */
static inline __attribute__((always_inline))
const uchar *tpl_nonstring(const uchar *p, const uchar *e, const uchar *base)
{
	struct fail f;

	if (is_digit(*p) || *p == '-')
		return scan_number(p, e, base, &f);
	switch (*p) {
	case 't':
		return e - p >= 4 && ld32(p) == ld32("true") ? p + 4 : NULL;
	case 'f':
		return e - p >= 5 && ld32(p + 1) == ld32("alse") ? p + 5 : NULL;
	case 'n':
		return e - p >= 4 && ld32(p) == ld32("null") ? p + 4 : NULL;
	default:
		return NULL;
	}
}

/*
 * The shape of a line scan_body() accepted (see above): its literals, and
 * what each slot may hold.
 */
struct tpl {
	unsigned nslots;                        /* 0: none (a line has one at least) */
	uint16_t lit[TPL_MAX_SLOTS + 1];        /* literal bytes before slot k; after the last */
	uint8_t role[TPL_MAX_SLOTS];            /* SLOT_* */
	enum ab_msg_type type;
	uchar bytes[TPL_MAX_BYTES + 16];        /* the literals, one after another */
};

enum {
	SLOT_ANY = 0,           /* any scalar value */
	SLOT_STRING,            /* a string (a stream or namespace, not the result) */
	SLOT_STREAM,            /* a string: the result's stream */
	SLOT_NS,                /* a string: the result's namespace */
};

/*
 * Learn the template of a line scan_body() accepted with *out.  Not when a
 * literal holds a '\n' (ab_scan_frame() relies on there being none), nor
 * when the line has too many values or literal bytes.
 */
static void tpl_learn(struct tpl *t, const struct tpl_rec *r, const uchar *base,
		      size_t len, const struct ab_scan *out)
{
	size_t prev = 0, used = 0;

	t->nslots = 0;
	if (r->n == 0 || r->n > TPL_MAX_SLOTS || len > UINT32_MAX ||
	    len - (r->end[r->n - 1] - r->start[0]) > TPL_MAX_BYTES ||
	    memchr(base, '\n', len))
		return;
	for (unsigned k = 0; k <= r->n; k++) {
		size_t start = k < r->n ? r->start[k] : len, n = start - prev;

		if (used + n > TPL_MAX_BYTES)
			return;
		memcpy(t->bytes + used, base + prev, n);
		used += n;
		t->lit[k] = (uint16_t)n;
		if (k == r->n)
			break;
		t->role[k] = r->string_only[k] ? SLOT_STRING : SLOT_ANY;
		if (out->stream && (const uchar *)out->stream == base + start + 1)
			t->role[k] = SLOT_STREAM;
		if (out->ns && (const uchar *)out->ns == base + start + 1)
			t->role[k] = SLOT_NS;
		prev = r->end[k];
	}
	t->type = out->type;
	t->nslots = r->n;
}

static inline __attribute__((always_inline))
__m128i load16(const uchar *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/*
 * a[0..n) == b[0..n) for the literals of a template (n <= TPL_MAX_BYTES; b
 * is readable 16 bytes past n).  When 16 bytes of a are readable (room), a
 * literal of up to 16 bytes is one compare with its tail masked off; longer
 * ones go 16 bytes at a time, the last step overlapping; short ones near
 * the end of the line in two overlapping words.
 */
static inline bool bytes_eq(const uchar *a, const uchar *b, size_t n, size_t room)
{
	if (n <= 16 && room >= 16) {
		unsigned ne = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(load16(a), load16(b)));

		return !(ne & ((1u << n) - 1));
	}
	if (n >= 16) {
		__m128i d = _mm_setzero_si128();

		for (size_t i = 0; i + 16 < n; i += 16)
			d = _mm_or_si128(d, _mm_xor_si128(load16(a + i), load16(b + i)));
		d = _mm_or_si128(d, _mm_xor_si128(load16(a + n - 16), load16(b + n - 16)));
		return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xffff;
	}
	if (n >= 8)
		return !((ld64(a) ^ ld64(b)) | (ld64(a + n - 8) ^ ld64(b + n - 8)));
	if (n >= 4)
		return !((ld32(a) ^ ld32(b)) | (ld32(a + n - 4) ^ ld32(b + n - 4)));
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * Whether line[0..len) has the shape of template t; fills *out when it has.
 * Framing (frame true, see ab_scan_frame()): line[0..len) is a buffer, and
 * the line is its start up to a '\n' right after the last literal; *line_len
 * gets its length.  (No value can hold a '\n', and no literal does.)
 */
static inline __attribute__((always_inline))
bool tpl_match(const struct tpl *t, const char *line, size_t len,
	       struct ab_scan *out, const bool frame, size_t *line_len,
	       const enum ab_scan_impl impl)
{
	const uchar *const base = (const uchar *)line;
	const uchar *p = base, *e = base + len, *lit = t->bytes, *v;
	struct win win = AB_WIN_EMPTY;
	struct ab_scan res = { .type = t->type };
	struct fail f;

	for (unsigned k = 0;; k++) {
		size_t n = t->lit[k];

		if ((size_t)(e - p) < n || !bytes_eq(p, lit, n, (size_t)(e - p)))
			return false;
		p += n;
		lit += n;
		if (k == t->nslots)
			break;
		if (p == e)
			return false;
		v = p;
		if (*p != '"') {
			if (t->role[k] != SLOT_ANY)
				return false;
			p = tpl_nonstring(p, e, base);
			if (!p)
				return false;
			continue;
		}
		bool escaped = false;

		p = scan_string(p + 1, e, base, &win, &escaped, &f, impl);
		if (!p)
			return false;
		if (t->role[k] == SLOT_STREAM) {
			res.stream = (const char *)v + 1;
			res.stream_len = (size_t)(p - v) - 2;
			res.stream_escaped = escaped;
		} else if (t->role[k] == SLOT_NS) {
			res.ns = (const char *)v + 1;
			res.ns_len = (size_t)(p - v) - 2;
			res.ns_escaped = escaped;
		}
	}
	if (frame) {
		if (p == e || *p != '\n')
			return false;
		*line_len = (size_t)(p - base);
	} else if (p != e) {
		return false;
	}
	*out = res;     /* only a RECORD's template has stream and namespace slots */
	return true;
}

/* ---- the template cache ---- */

/*
 * Two templates per thread (the scanner has no handle, and threads may
 * scan): records of two streams often alternate.  A line that matches
 * neither goes through scan_body(), noting its values when it is to be
 * learned; its template replaces the one used less recently.  Trying and
 * learning cost a fraction of a scan, so when lines keep changing shape
 * (templates stop matching), both happen only now and then: learning on
 * every 16th line, trying on the few lines after it.  ab_scan_frame() goes
 * by the same rule, and a line it found no template for is not tried again
 * when its caller passes it to ab_scan_line() next.
 */
struct tpl_cache {
	struct tpl t[2];
	unsigned lru;           /* the one to replace next */
	unsigned learned;       /* the one learned last */
	bool wasted;            /* it has not matched a line yet */
	unsigned misses;        /* lines since a template last matched */
	unsigned since_learn;   /* of those, lines since the last learning */
	const char *tried;      /* the line ab_scan_frame() just missed */
};

static _Thread_local struct tpl_cache tpl_cache;

static inline bool tpl_worth_trying(const struct tpl_cache *c)
{
	return c->misses < 8 || c->since_learn < 4;
}

static inline __attribute__((always_inline))
bool tpl_try(struct tpl_cache *c, unsigned i, const char *line, size_t len,
	     struct ab_scan *out, const bool frame, size_t *line_len,
	     const enum ab_scan_impl impl)
{
	if (!c->t[i].nslots || !tpl_match(&c->t[i], line, len, out, frame, line_len, impl))
		return false;
	c->lru = !i;
	c->misses = 0;
	if (i == c->learned)
		c->wasted = false;
	return true;
}

/*
 * The one used last first: one shape often runs for many lines.  (Written
 * out for each order: with a constant index the compiler addresses the
 * template directly, 5 % fewer instructions a line.)
 */
static inline __attribute__((always_inline))
bool tpl_find(const char *line, size_t len, struct ab_scan *out, const bool frame,
	      size_t *line_len, const enum ab_scan_impl impl)
{
	struct tpl_cache *c = &tpl_cache;

	if (c->lru)
		return tpl_try(c, 0, line, len, out, frame, line_len, impl) ||
		       tpl_try(c, 1, line, len, out, frame, line_len, impl);
	return tpl_try(c, 1, line, len, out, frame, line_len, impl) ||
	       tpl_try(c, 0, line, len, out, frame, line_len, impl);
}

/* The SIMD instances: a template first, scan_body() (and learning) else. */
static inline __attribute__((always_inline))
int simd_scan(const char *line, size_t len, struct ab_scan *out,
	      const enum ab_scan_impl impl)
{
	struct tpl_cache *c = &tpl_cache;
	struct tpl_rec rec;
	bool learn;
	int r;

	if (line == c->tried)   /* ab_scan_frame() tried it */
		c->tried = NULL;
	else if (tpl_worth_trying(c) && tpl_find(line, len, out, false, NULL, impl))
		return 0;
	if (c->misses < UINT_MAX) {
		c->misses++;
		c->since_learn++;
	}
	learn = !c->wasted || c->since_learn >= 16;
	/* two instances: noting values costs even when there is nowhere to */
	if (learn)
		r = scan_body(line, len, out, impl, &rec);
	else
		r = scan_body(line, len, out, impl, NULL);
	if (learn && r == 0) {
		tpl_learn(&c->t[c->lru], &rec, (const uchar *)line, len, out);
		c->learned = c->lru;
		c->lru = !c->lru;
		c->wasted = true;
		c->since_learn = 0;
	}
	return r;
}
#endif

/*
 * flatten: every helper is inlined into each instance, in particular the
 * AVX2 kernels, which cannot be always_inline into the generic body.
 */
static __attribute__((flatten))
int scan_line_scalar(const char *line, size_t len, struct ab_scan *out)
{
	return scan_body(line, len, out, AB_SCAN_SCALAR, NULL);
}

#if AB_SCAN_HAVE_X86
static __attribute__((flatten))
int scan_line_sse2(const char *line, size_t len, struct ab_scan *out)
{
	return simd_scan(line, len, out, AB_SCAN_SSE2);
}

static AB_AVX2 __attribute__((flatten))
int scan_line_avx2(const char *line, size_t len, struct ab_scan *out)
{
	return simd_scan(line, len, out, AB_SCAN_AVX2);
}

/*
 * ab_scan_frame(): the templates only, which know where their line ends.
 * After a miss, the ab_scan_line() that follows on the same line does not
 * try them again: a line that ends at its first '\n' matches a template
 * there exactly when it does here.
 */
static inline __attribute__((always_inline))
int simd_frame(const char *buf, size_t avail, size_t *len, struct ab_scan *out,
	       const enum ab_scan_impl impl)
{
	struct tpl_cache *c = &tpl_cache;

	if (tpl_worth_trying(c) && tpl_find(buf, avail, out, true, len, impl))
		return 1;
	c->tried = buf;
	return 0;
}

/* noinline: inlined, an instance would make its caller save every register */
static __attribute__((flatten, noinline))
int scan_frame_sse2(const char *buf, size_t avail, size_t *len, struct ab_scan *out)
{
	return simd_frame(buf, avail, len, out, AB_SCAN_SSE2);
}

static AB_AVX2 __attribute__((flatten, noinline))
int scan_frame_avx2(const char *buf, size_t avail, size_t *len, struct ab_scan *out)
{
	return simd_frame(buf, avail, len, out, AB_SCAN_AVX2);
}
#endif

typedef int scan_fn(const char *line, size_t len, struct ab_scan *out);

static scan_fn *impl_fn(enum ab_scan_impl impl)
{
	switch (impl) {
	case AB_SCAN_SCALAR:
		return scan_line_scalar;
#if AB_SCAN_HAVE_X86
	case AB_SCAN_SSE2:
		return scan_line_sse2;
	case AB_SCAN_AVX2:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") ? scan_line_avx2 : NULL;
#endif
	default:
		return NULL;
	}
}

static enum ab_scan_impl best_impl(void)
{
	if (impl_fn(AB_SCAN_AVX2))
		return AB_SCAN_AVX2;
	if (impl_fn(AB_SCAN_SSE2))
		return AB_SCAN_SSE2;
	return AB_SCAN_SCALAR;
}

static int scan_line_first(const char *line, size_t len, struct ab_scan *out);

/* Relaxed atomics: a plain load on the hot path, no torn pointer. */
static _Atomic(scan_fn *) scan_line_fn = scan_line_first;
static _Atomic enum ab_scan_impl scan_impl_now = AB_SCAN_AUTO;

/* The first call picks the implementation (any racing thread picks the same). */
static int scan_line_first(const char *line, size_t len, struct ab_scan *out)
{
	ab_scan_force_impl(AB_SCAN_AUTO);
	return atomic_load_explicit(&scan_line_fn, memory_order_relaxed)(
		line, len, out);
}

int ab_scan_line(const char *line, size_t len, struct ab_scan *out)
{
	return atomic_load_explicit(&scan_line_fn, memory_order_relaxed)(
		line, len, out);
}

int ab_scan_frame(const char *buf, size_t avail, size_t *len, struct ab_scan *out)
{
	switch (atomic_load_explicit(&scan_impl_now, memory_order_relaxed)) {
#if AB_SCAN_HAVE_X86
	case AB_SCAN_SSE2:
		return scan_frame_sse2(buf, avail, len, out);
	case AB_SCAN_AVX2:
		return scan_frame_avx2(buf, avail, len, out);
#endif
	default:
		return 0;       /* the scalar reference has no template */
	}
}

bool ab_scan_impl_available(enum ab_scan_impl impl)
{
	return impl == AB_SCAN_AUTO || impl_fn(impl) != NULL;
}

int ab_scan_force_impl(enum ab_scan_impl impl)
{
	scan_fn *fn;

	if (impl == AB_SCAN_AUTO)
		impl = best_impl();
	fn = impl_fn(impl);
	if (!fn)
		return -ENOTSUP;
	atomic_store_explicit(&scan_impl_now, impl, memory_order_relaxed);
	atomic_store_explicit(&scan_line_fn, fn, memory_order_relaxed);
	return 0;
}

enum ab_scan_impl ab_scan_current_impl(void)
{
	enum ab_scan_impl impl;

	impl = atomic_load_explicit(&scan_impl_now, memory_order_relaxed);
	return impl == AB_SCAN_AUTO ? best_impl() : impl;
}

const char *ab_scan_impl_name(enum ab_scan_impl impl)
{
	switch (impl) {
	case AB_SCAN_AUTO: return "auto";
	case AB_SCAN_SCALAR: return "scalar";
	case AB_SCAN_SSE2: return "sse2";
	case AB_SCAN_AVX2: return "avx2";
	}
	return "unknown";
}

static size_t put_utf8(char *dst, unsigned long cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | cp >> 6);
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | cp >> 12);
		dst[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | cp >> 18);
	dst[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	dst[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A lone surrogate (which ab_scan_line accepts) decodes to U+FFFD so that the
 * result is always valid UTF-8.  "\u0000" decodes to a NUL byte: trust the
 * returned length, not strlen().
 */
long ab_scan_unescape(const char *src, size_t len, char *dst, size_t cap)
{
	const uchar *p = (const uchar *)src, *e = p + len;
	size_t o = 0;

	if (cap == 0)
		return -ENOSPC;
	while (p < e) {
		const uchar *bs = memchr(p, '\\', (size_t)(e - p));
		size_t n = (bs ? bs : e) - p;
		char tmp[4];
		long cp;

		if (n >= cap - o)
			return -ENOSPC;
		memcpy(dst + o, p, n);
		o += n;
		p += n;
		if (p == e)
			break;
		if (e - p < 2)
			return -EINVAL;
		switch (p[1]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (e - p < 6 || (cp = hex4(p + 2)) < 0)
				return -EINVAL;
			p += 4;
			break;
		default:
			return -EINVAL;
		}
		p += 2;
		if (cp >= 0xd800 && cp <= 0xdbff && e - p >= 6 &&
		    p[0] == '\\' && p[1] == 'u') {
			long lo = hex4(p + 2);

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;
		n = put_utf8(tmp, (unsigned long)cp);
		if (n >= cap - o)
			return -ENOSPC;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return (long)o;
}

bool ab_scan_same(int r1, const struct ab_scan *a, int r2, const struct ab_scan *b)
{
	return r1 == r2 && a->type == b->type && a->stream == b->stream &&
	       a->stream_len == b->stream_len && a->stream_escaped == b->stream_escaped &&
	       a->ns == b->ns && a->ns_len == b->ns_len && a->ns_escaped == b->ns_escaped &&
	       (!r1 || (a->error == b->error && a->error_offset == b->error_offset));
}
