/*
 * scan.h - classify one Airbyte Protocol line without building a tree.
 *
 * The hot path calls ab_scan_line() once per line read from a source
 * connector.  It validates that the line is exactly one JSON value (RFC 8259)
 * with valid UTF-8 in every string, finds the top-level "type" and, for a
 * RECORD, "record"."stream" and "record"."namespace", in any key order.
 *
 * Nothing is allocated and nothing is copied: the stream and namespace
 * pointers point into the caller's line (the raw bytes between the quotes,
 * still JSON-escaped when *_escaped is set; ab_scan_unescape() decodes them).
 */
#ifndef AB_SCAN_H
#define AB_SCAN_H

#include <stdbool.h>
#include <stddef.h>

enum ab_msg_type {
	AB_MSG_NONE = 0,      /* valid JSON, but not an AirbyteMessage (log output) */
	AB_MSG_RECORD,
	AB_MSG_STATE,
	AB_MSG_LOG,
	AB_MSG_TRACE,
	AB_MSG_CONTROL,
	AB_MSG_SPEC,
	AB_MSG_CONNECTION_STATUS,
	AB_MSG_CATALOG,
	AB_MSG_DESTINATION_CATALOG,
	AB_MSG_TYPE_COUNT
};

/* Deepest nesting of arrays/objects accepted; deeper is an error. */
#define AB_SCAN_MAX_DEPTH 1024

struct ab_scan {
	enum ab_msg_type type;
	const char *stream;     /* RECORD: raw string contents, not terminated */
	size_t stream_len;
	bool stream_escaped;    /* contents contain a backslash escape */
	const char *ns;         /* RECORD: namespace or NULL (absent or null) */
	size_t ns_len;
	bool ns_escaped;
	const char *error;      /* on failure: static message */
	size_t error_offset;    /* on failure: byte offset in the line */
};

/*
 * Scan line[0..len) (no trailing newline; a trailing '\r' or other JSON
 * whitespace is allowed).  Returns 0 and fills *out when the line is valid
 * JSON.  out->type is AB_MSG_NONE when the value is not an object, has no
 * string "type" member, or names a type not in the protocol.  A RECORD
 * whose "record" is not an object or has no string "stream" is an error.
 * Returns -EINVAL with out->error and out->error_offset set otherwise.
 *
 * Details: keys are matched on their raw bytes, so a key written with
 * escapes ("typ\u0065") is another key; the "type" value is decoded before
 * it is compared.  When a key repeats, the last one wins.  A "namespace"
 * that is neither a string nor null is treated as absent.  Lone surrogate
 * escapes ("\ud800") are accepted, as the RFC 8259 grammar allows; raw
 * UTF-8 must be strictly valid.  Never reads line[len] or beyond.
 */
int ab_scan_line(const char *line, size_t len, struct ab_scan *out);

/*
 * Whether two scans gave the same answer: return values r1 and r2, and the
 * results (for failures also the error and its offset).  For the
 * differential tests and the fuzz target, which compare implementations.
 */
bool ab_scan_same(int r1, const struct ab_scan *a, int r2, const struct ab_scan *b);

/*
 * For the relay: ab_scan_line() on the first line of buf[0..avail), found
 * without a separate search for its newline.  Returns 1 when a fast path
 * recognizes a complete line there (one that a '\n' ends): then *len is its
 * length (the '\n' excluded; there is no other '\n' before it) and *out is
 * exactly what ab_scan_line(buf, *len, out) gives, with return value 0.
 * Returns 0 when no fast path recognizes it (the line has a shape not seen
 * lately, is invalid, or is not complete yet; the scalar implementation
 * always returns 0): the caller then finds the newline and calls
 * ab_scan_line(), which does not try the shapes on that line again.  Reads
 * only buf[0..avail).
 */
int ab_scan_frame(const char *buf, size_t avail, size_t *len, struct ab_scan *out);

/*
 * Implementations of ab_scan_line().  All give identical results (return
 * value, type, pointers, lengths, error message and offset); they differ in
 * speed only.  The best one the CPU supports is picked on first use.  The
 * SIMD ones remember the shapes of the last lines they accepted (per thread)
 * and check lines of the same shape faster; that changes no result.
 */
enum ab_scan_impl {
	AB_SCAN_AUTO = 0,       /* best available (the default) */
	AB_SCAN_SCALAR,         /* portable C, 8 bytes at a time */
	AB_SCAN_SSE2,           /* x86 only: 16-byte string scanning; templates */
	AB_SCAN_AVX2,           /* x86 with AVX2: 32-byte scanning and UTF-8; templates */
};

/*
 * For tests and benchmarks: make ab_scan_line() use impl from now on, for
 * every thread (not meant to be called while other threads scan).  Returns
 * 0, or -ENOTSUP when impl is not built in or the CPU lacks it.
 */
int ab_scan_force_impl(enum ab_scan_impl impl);

/* Whether impl can be forced here; the one in use; "scalar", "sse2", ... */
bool ab_scan_impl_available(enum ab_scan_impl impl);
enum ab_scan_impl ab_scan_current_impl(void);
const char *ab_scan_impl_name(enum ab_scan_impl impl);

/*
 * The protocol name of a type ("RECORD", ...); "NONE" for AB_MSG_NONE,
 * "UNKNOWN" for a value out of range.
 */
const char *ab_msg_type_name(enum ab_msg_type type);

/*
 * Decode the JSON string contents src[0..len) (as found by ab_scan_line)
 * into dst (capacity cap, NUL-terminated).  Returns the decoded length, or
 * -ENOSPC when it does not fit, -EINVAL on a malformed escape.  A lone
 * surrogate decodes to U+FFFD; "\u0000" to a NUL byte (trust the length).
 */
long ab_scan_unescape(const char *src, size_t len, char *dst, size_t cap);

#endif
