/*
 * ck_raw: find the raw text of JSON values in a line without building a
 * tree and without allocating.
 *
 * The scanner validates as it goes (RFC 8259 grammar: objects, arrays,
 * strings with their escapes and UTF-8, numbers, true/false/null; nesting
 * up to CK_RAW_MAX_DEPTH) and never reads outside the bytes it is given,
 * so invalid input gives an error, not a crash.  Numbers are not converted:
 * a span is the value's exact text, so 123456789012345678901234567891.123456,
 * 6172.839000, 1e400 and -0.0 stay what they are.
 *
 * A span of a string includes its quotes and is still escaped; use
 * ck_raw_unescape() or ck_raw_str_eq() to look at its content.
 */
#ifndef CK_RAW_H
#define CK_RAW_H

#include <stddef.h>
#include <stdint.h>

#define CK_RAW_MAX_DEPTH 2048

/* span flags */
#define CK_RAW_WS  1u   /* insignificant whitespace inside the value */
#define CK_RAW_ESC 2u   /* a backslash escape inside a string of the value */

struct ck_raw_span {
	const char *p;      /* NULL when absent */
	size_t n;
	unsigned flags;
};

/* Kind of a (present) span's value, from its first byte. */
enum ck_raw_kind { CK_RAW_ABSENT, CK_RAW_OBJECT, CK_RAW_ARRAY, CK_RAW_STRING,
		   CK_RAW_NUMBER, CK_RAW_TRUE, CK_RAW_FALSE, CK_RAW_NULL };
enum ck_raw_kind ck_raw_kind(struct ck_raw_span v);

/*
 * Scan one value of s[*pos..n) (whitespace before it is skipped) into v and
 * move *pos just past it.  0, or -1 on invalid JSON (then *pos is where the
 * error was found).
 */
int ck_raw_value(const char *s, size_t n, size_t *pos, struct ck_raw_span *v);

/*
 * Members of an object, in order:
 *     struct ck_raw_iter it;  struct ck_raw_span k, v;
 *     ck_raw_iter_init(&it, obj.p, obj.n);
 *     while ((r = ck_raw_next(&it, &k, &v)) > 0) ...
 * ck_raw_next() returns 1 with a member, 0 after the closing '}' (it.i is
 * then just past it), -1 on invalid JSON (it.i is where).  The value can
 * instead be taken apart by the caller: ck_raw_next_key() stops with it.i
 * at the value; the caller moves it.i past the value before the next call.
 */
struct ck_raw_iter {
	const char *s;
	size_t n, i;
	int state;
};
void ck_raw_iter_init(struct ck_raw_iter *it, const char *s, size_t n);
int ck_raw_next_key(struct ck_raw_iter *it, struct ck_raw_span *key);
int ck_raw_next(struct ck_raw_iter *it, struct ck_raw_span *key, struct ck_raw_span *val);

/*
 * The parts of one AirbyteMessage line: the top-level "type" and the
 * "stream", "namespace", "emitted_at" and "data" of "record" (any key
 * order; with duplicate keys the last one wins, as in jansson).  The whole
 * line is validated: it must be one JSON object, with only whitespace
 * around it.  0, or -1 with *err set to a message and *errpos to the offset.
 */
struct ck_raw_msg {
	struct ck_raw_span type, record, stream, ns, emitted_at, data;
};
int ck_raw_message(const char *line, size_t len, struct ck_raw_msg *m,
		   const char **err, size_t *errpos);

/* 1 when the string span s decodes to exactly the NUL-terminated lit. */
int ck_raw_str_eq(struct ck_raw_span s, const char *lit);

/*
 * Decode the string span s (quotes and escapes) into out (cap bytes, a NUL
 * is added).  The decoded length, or -1 when s is not a valid string or
 * out is too small.  \u0000 decodes to a NUL byte.
 */
long ck_raw_unescape(struct ck_raw_span s, char *out, size_t cap);

/*
 * Copy the value text s[0..n) to out without the whitespace outside its
 * strings; strings and numbers are copied byte for byte.  Returns the
 * length written (at most n).  out may be s itself (compaction in place).
 * Expects a span from the scanner (valid JSON).
 */
size_t ck_raw_compact(char *out, const char *s, size_t n);

/*
 * Append the value text of v to b, compacted (as ck_raw_compact); with
 * csv_delim >= 0 as a CSV field, quoted (with "" for ") only if it holds
 * the delimiter, a quote, CR or LF.  0 or a negative errno from ck_buf.
 */
struct ck_buf;
int ck_raw_add(struct ck_buf *b, struct ck_raw_span v, int csv_delim);

/*
 * The integer value of a number span: its integer part for a fraction or
 * exponent form, clamped to the int64_t range.  0, or -1 when v is not a
 * number.
 */
int ck_raw_int64(struct ck_raw_span v, int64_t *out);

#endif
