/*
 * test_scan.c - unit tests for the hot-path line scanner (protocol/scan.c).
 *
 * Every line is scanned from a heap copy of exactly its length, so that
 * AddressSanitizer reports any read past line[len - 1].  Tests that need the
 * byte after the line to look like a valid continuation pass a short length
 * into a longer buffer instead.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "protocol/scan.h"

#define REC_LINE "{\"type\":\"RECORD\",\"record\":{\"stream\":\"users\"," \
	"\"data\":{\"id\":1,\"name\":\"x\"},\"emitted_at\":1700000000000}}"

static char *last_copy;

/* Scan a copy of s[0..len) that ends exactly at len; valid until next call. */
static int scan_n(const char *s, size_t len, struct ab_scan *out)
{
	free(last_copy);
	last_copy = malloc(len ? len : 1);
	assert_non_null(last_copy);
	memcpy(last_copy, s, len);
	return ab_scan_line(last_copy, len, out);
}

static int scan(const char *s, struct ab_scan *out)
{
	return scan_n(s, strlen(s), out);
}

static const char *show(const char *s, size_t len)
{
	static char buf[512];
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < sizeof(buf); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
	}
	if (len > 0 && o + 8 >= sizeof(buf))
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "...");
	buf[o] = '\0';
	return buf;
}

static void expect_ok_n(const char *s, size_t len, enum ab_msg_type type)
{
	struct ab_scan out;
	int r = scan_n(s, len, &out);

	if (r != 0)
		fail_msg("rejected '%s': %s at %zu", show(s, len), out.error,
			 out.error_offset);
	if (out.type != type)
		fail_msg("'%s': type %s, expected %s", show(s, len),
			 ab_msg_type_name(out.type), ab_msg_type_name(type));
}

static void expect_ok(const char *s, enum ab_msg_type type)
{
	expect_ok_n(s, strlen(s), type);
}

static void expect_bad_n(const char *s, size_t len, const char *msg)
{
	struct ab_scan out;
	int r = scan_n(s, len, &out);

	if (r != -EINVAL)
		fail_msg("accepted '%s' (len %zu)", show(s, len), len);
	assert_non_null(out.error);
	assert_true(out.error_offset <= len);
	assert_int_equal(out.type, AB_MSG_NONE);
	assert_null(out.stream);
	if (msg && strcmp(out.error, msg))
		fail_msg("'%s': error '%s', expected '%s'", show(s, len),
			 out.error, msg);
}

static void expect_bad(const char *s, const char *msg)
{
	expect_bad_n(s, strlen(s), msg);
}

static void expect_error_at(const char *s, const char *msg, size_t offset)
{
	struct ab_scan out;

	assert_int_equal(scan(s, &out), -EINVAL);
	assert_string_equal(out.error, msg);
	assert_int_equal(out.error_offset, offset);
}

static void assert_span(const char *p, size_t len, const char *want)
{
	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(ab_msg_type_name(AB_MSG_NONE), "NONE");
	assert_string_equal(ab_msg_type_name(AB_MSG_RECORD), "RECORD");
	assert_string_equal(ab_msg_type_name(AB_MSG_CONNECTION_STATUS),
			    "CONNECTION_STATUS");
	assert_string_equal(ab_msg_type_name(AB_MSG_DESTINATION_CATALOG),
			    "DESTINATION_CATALOG");
	assert_string_equal(ab_msg_type_name(AB_MSG_TYPE_COUNT), "UNKNOWN");
}

static void test_every_type(void **state)
{
	char line[256];

	(void)state;
	for (int t = AB_MSG_RECORD; t < AB_MSG_TYPE_COUNT; t++) {
		const char *name = ab_msg_type_name((enum ab_msg_type)t);

		snprintf(line, sizeof(line),
			 "{\"type\":\"%s\",\"record\":{\"stream\":\"s\"}}", name);
		expect_ok(line, (enum ab_msg_type)t);
		/* a prefix or an extension of a name is not that name */
		snprintf(line, sizeof(line), "{\"type\":\"%.*s\"}",
			 (int)strlen(name) - 1, name);
		expect_ok(line, AB_MSG_NONE);
		snprintf(line, sizeof(line), "{\"type\":\"%sX\"}", name);
		expect_ok(line, AB_MSG_NONE);
	}
	expect_ok("{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\"}}",
		  AB_MSG_STATE);
	expect_ok("{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":\"hi\"}}",
		  AB_MSG_LOG);
	expect_ok("{\"type\":\"TRACE\",\"trace\":{\"type\":\"ERROR\"}}",
		  AB_MSG_TRACE);
	expect_ok("{\"type\":\"CONNECTION_STATUS\",\"connectionStatus\":{}}",
		  AB_MSG_CONNECTION_STATUS);
}

static void test_record(void **state)
{
	struct ab_scan out;

	(void)state;
	assert_int_equal(scan(REC_LINE, &out), 0);
	assert_int_equal(out.type, AB_MSG_RECORD);
	assert_span(out.stream, out.stream_len, "users");
	assert_false(out.stream_escaped);
	assert_null(out.ns);
	/* the pointers point into the caller's line */
	assert_ptr_equal(out.stream, last_copy + strlen("{\"type\":\"RECORD\","
					     "\"record\":{\"stream\":\""));
}

static void test_key_order(void **state)
{
	struct ab_scan out;

	(void)state;
	assert_int_equal(scan("{\"record\":{\"namespace\":\"ns\",\"data\":{},"
			      "\"stream\":\"users\",\"emitted_at\":1},"
			      "\"type\":\"RECORD\"}", &out), 0);
	assert_int_equal(out.type, AB_MSG_RECORD);
	assert_span(out.stream, out.stream_len, "users");
	assert_span(out.ns, out.ns_len, "ns");

	/* the last "type" wins, whatever its value */
	expect_ok("{\"type\":\"LOG\",\"type\":\"STATE\"}", AB_MSG_STATE);
	expect_ok("{\"type\":\"STATE\",\"type\":1}", AB_MSG_NONE);
	expect_ok("{\"type\":\"STATE\",\"type\":null}", AB_MSG_NONE);
	expect_ok("{\"type\":\"STATE\",\"type\":{\"a\":\"LOG\"}}", AB_MSG_NONE);

	/* the last "record" and the last "stream" win */
	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"stream\":\"a\"},"
			      "\"record\":{\"stream\":\"b\",\"stream\":\"c\"}}",
			      &out), 0);
	assert_span(out.stream, out.stream_len, "c");
	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"stream\":\"a\","
			      "\"namespace\":\"n\"},\"record\":{\"stream\":\"b\"}}",
			      &out), 0);
	assert_span(out.stream, out.stream_len, "b");
	assert_null(out.ns);
}

static void test_nested_keys_ignored(void **state)
{
	struct ab_scan out;

	(void)state;
	assert_int_equal(scan("{\"record\":{\"data\":{\"stream\":\"bad\","
			      "\"type\":\"LOG\",\"namespace\":\"bad\","
			      "\"record\":{\"stream\":\"bad\"}},\"stream\":\"good\","
			      "\"list\":[{\"stream\":\"bad\"}]},\"type\":\"RECORD\"}",
			      &out), 0);
	assert_int_equal(out.type, AB_MSG_RECORD);
	assert_span(out.stream, out.stream_len, "good");
	assert_null(out.ns);

	/* stream after a nested "stream" that sits deeper */
	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"data\":"
			      "{\"a\":{\"stream\":\"bad\"}},\"stream\":\"good\"}}",
			      &out), 0);
	assert_span(out.stream, out.stream_len, "good");

	expect_ok("{\"data\":{\"type\":\"RECORD\"}}", AB_MSG_NONE);
	expect_ok("[{\"type\":\"RECORD\"}]", AB_MSG_NONE);
	expect_ok("{\"log\":[\"type\",\"RECORD\"]}", AB_MSG_NONE);
	/* "type" as a value, not a key */
	expect_ok("{\"a\":\"type\",\"b\":\"RECORD\"}", AB_MSG_NONE);

	/* only "record"."stream" counts, not a stream elsewhere */
	expect_bad("{\"type\":\"RECORD\",\"other\":{\"stream\":\"x\"}}",
		   "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"x\":{\"record\":{\"stream\":\"s\"}}}",
		   "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"record\":{\"data\":{\"stream\":\"x\"}}}",
		   "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"stream\":\"x\",\"record\":{}}",
		   "record has no stream");
	/* an object after "record" at depth 2 is not the record */
	expect_bad("{\"type\":\"RECORD\",\"record\":{},\"x\":{\"stream\":\"s\"}}",
		   "record has no stream");
}

static void test_namespace(void **state)
{
	struct ab_scan out;

	(void)state;
	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"namespace\":"
			      "\"public\",\"stream\":\"users\"}}", &out), 0);
	assert_span(out.ns, out.ns_len, "public");
	assert_false(out.ns_escaped);

	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"stream\":\"u\","
			      "\"namespace\":null}}", &out), 0);
	assert_null(out.ns);

	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"stream\":\"u\"}}",
			      &out), 0);
	assert_null(out.ns);

	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"stream\":\"u\","
			      "\"namespace\":\"\"}}", &out), 0);
	assert_non_null(out.ns);
	assert_int_equal(out.ns_len, 0);

	/* a namespace of another JSON type is treated as absent */
	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"stream\":\"u\","
			      "\"namespace\":[\"x\"]}}", &out), 0);
	assert_null(out.ns);

	/* not a RECORD: record fields are not reported */
	assert_int_equal(scan("{\"type\":\"STATE\",\"record\":{\"stream\":\"u\","
			      "\"namespace\":\"n\"}}", &out), 0);
	assert_int_equal(out.type, AB_MSG_STATE);
	assert_null(out.stream);
	assert_null(out.ns);
}

static void test_escaped_stream(void **state)
{
	struct ab_scan out;
	char buf[64];
	long n;
	static const char want[] = "us\"er\\s\xc3\xa9\xf0\x9f\x98\x80/";

	(void)state;
	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"stream\":"
			      "\"us\\\"er\\\\s\\u00e9\\ud83d\\ude00\\/\","
			      "\"namespace\":\"n\\tx\"}}", &out), 0);
	assert_int_equal(out.type, AB_MSG_RECORD);
	assert_true(out.stream_escaped);
	assert_true(out.ns_escaped);
	n = ab_scan_unescape(out.stream, out.stream_len, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want) - 1);
	assert_string_equal(buf, want);
	n = ab_scan_unescape(out.ns, out.ns_len, buf, sizeof(buf));
	assert_int_equal(n, 3);
	assert_string_equal(buf, "n\tx");

	/* a type value written with escapes still names the type */
	expect_ok("{\"type\":\"REC\\u004fRD\",\"record\":{\"stream\":\"s\"}}",
		  AB_MSG_RECORD);
	/* a key written with escapes is another key */
	expect_ok("{\"typ\\u0065\":\"LOG\"}", AB_MSG_NONE);
	expect_bad("{\"type\":\"RECORD\",\"record\":{\"str\\u0065am\":\"s\"}}",
		   "record has no stream");
}

static void test_unescape(void **state)
{
	char buf[32];
	const char *s;

	(void)state;
	assert_int_equal(ab_scan_unescape("plain", 5, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "plain");
	assert_int_equal(ab_scan_unescape("", 0, buf, 1), 0);
	assert_string_equal(buf, "");

	/* room for the terminator is required */
	assert_int_equal(ab_scan_unescape("plain", 5, buf, 6), 5);
	assert_int_equal(ab_scan_unescape("plain", 5, buf, 5), -ENOSPC);
	assert_int_equal(ab_scan_unescape("", 0, buf, 0), -ENOSPC);
	assert_int_equal(ab_scan_unescape("a\\u00e9", 7, buf, 4), 3);
	assert_int_equal(ab_scan_unescape("a\\u00e9", 7, buf, 3), -ENOSPC);

	s = "\\b\\f\\n\\r\\t\\/\\\\\\\"";
	assert_int_equal(ab_scan_unescape(s, strlen(s), buf, sizeof(buf)), 8);
	assert_string_equal(buf, "\b\f\n\r\t/\\\"");

	/* every UTF-8 length */
	s = "\\u0041\\u00A9\\u20ac\\uD83D\\uDE00";
	assert_int_equal(ab_scan_unescape(s, strlen(s), buf, sizeof(buf)), 10);
	assert_string_equal(buf, "A\xc2\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	s = "\\udbff\\udfff";
	assert_int_equal(ab_scan_unescape(s, strlen(s), buf, sizeof(buf)), 4);
	assert_string_equal(buf, "\xf4\x8f\xbf\xbf");

	/* lone surrogates become U+FFFD */
	s = "\\ud800x";
	assert_int_equal(ab_scan_unescape(s, strlen(s), buf, sizeof(buf)), 4);
	assert_string_equal(buf, "\xef\xbf\xbdx");
	s = "\\udc00";
	assert_int_equal(ab_scan_unescape(s, strlen(s), buf, sizeof(buf)), 3);
	assert_string_equal(buf, "\xef\xbf\xbd");
	s = "\\ud800\\u0041";
	assert_int_equal(ab_scan_unescape(s, strlen(s), buf, sizeof(buf)), 4);
	assert_string_equal(buf, "\xef\xbf\xbd" "A");
	s = "\\ud800\\ud800\\udc00";
	assert_int_equal(ab_scan_unescape(s, strlen(s), buf, sizeof(buf)), 7);
	assert_string_equal(buf, "\xef\xbf\xbd\xf0\x90\x80\x80");

	/* NUL decodes to a NUL byte; the length tells */
	assert_int_equal(ab_scan_unescape("a\\u0000b", 8, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "a\0b", 4);

	assert_int_equal(ab_scan_unescape("\\x", 2, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ab_scan_unescape("ab\\", 3, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ab_scan_unescape("\\u12", 4, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ab_scan_unescape("\\u12g4", 6, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(ab_scan_unescape("\\ud800\\u12", 10, buf, sizeof(buf)),
			 -EINVAL);
	/* the input need not be terminated: "\\u00e9" cut after 4 bytes */
	assert_int_equal(ab_scan_unescape("\\u00e9", 4, buf, sizeof(buf)),
			 -EINVAL);
}

static void test_record_errors(void **state)
{
	struct ab_scan out;

	(void)state;
	expect_error_at("{\"type\":\"RECORD\"}", "record has no stream", 0);
	expect_bad("{\"type\":\"RECORD\",\"record\":{}}", "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"record\":[]}", "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"record\":\"s\"}", "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"record\":null}", "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"record\":{\"stream\":1}}",
		   "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"record\":{\"stream\":null}}",
		   "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"record\":{\"stream\":\"a\","
		   "\"stream\":[]}}", "record has no stream");
	expect_bad("{\"type\":\"RECORD\",\"record\":{\"stream\":\"a\"},"
		   "\"record\":{}}", "record has no stream");
	expect_bad("{\"record\":{\"stream\":\"a\"},\"record\":1,"
		   "\"type\":\"RECORD\"}", "record has no stream");

	/* the same shapes are fine for other types */
	expect_ok("{\"type\":\"STATE\",\"record\":1}", AB_MSG_STATE);
	assert_int_equal(scan("{\"type\":\"LOG\",\"record\":{\"stream\":\"x\"}}",
			      &out), 0);
	assert_null(out.stream);
	/* an empty stream name is still a string */
	assert_int_equal(scan("{\"type\":\"RECORD\",\"record\":{\"stream\":\"\"}}",
			      &out), 0);
	assert_non_null(out.stream);
	assert_int_equal(out.stream_len, 0);
}

static void test_non_objects(void **state)
{
	(void)state;
	expect_ok("[]", AB_MSG_NONE);
	expect_ok("[{\"type\":\"LOG\"}]", AB_MSG_NONE);
	expect_ok("[1,\"a\",null,true,false,{},[]]", AB_MSG_NONE);
	expect_ok("1", AB_MSG_NONE);
	expect_ok("-1.5e3", AB_MSG_NONE);
	expect_ok("\"RECORD\"", AB_MSG_NONE);
	expect_ok("\"type\"", AB_MSG_NONE);
	expect_ok("null", AB_MSG_NONE);
	expect_ok("true", AB_MSG_NONE);
	expect_ok("false", AB_MSG_NONE);
	expect_ok("{}", AB_MSG_NONE);
	expect_ok("{\"message\":\"plain log output\"}", AB_MSG_NONE);
}

static void test_unknown_type(void **state)
{
	(void)state;
	expect_ok("{\"type\":\"record\"}", AB_MSG_NONE);
	expect_ok("{\"type\":\"RECORDS\"}", AB_MSG_NONE);
	expect_ok("{\"type\":\"RECORD \"}", AB_MSG_NONE);
	expect_ok("{\"type\":\"\"}", AB_MSG_NONE);
	expect_ok("{\"type\":\"NONE\"}", AB_MSG_NONE);
	expect_ok("{\"type\":\"RECORD\\u0000\"}", AB_MSG_NONE);
	expect_ok("{\"type\":\"\\u0052\\u0045\\u0043\\u004f\\u0052\\u0044"
		  "\\u0052\\u0045\\u0043\\u004f\\u0052\\u0044\"}", AB_MSG_NONE);
	expect_ok("{\"type\":1}", AB_MSG_NONE);
	expect_ok("{\"type\":[\"RECORD\"]}", AB_MSG_NONE);
	expect_ok("{\"type\":true}", AB_MSG_NONE);
	expect_ok("{\"Type\":\"LOG\"}", AB_MSG_NONE);
}

static void test_whitespace(void **state)
{
	struct ab_scan out;

	(void)state;
	expect_ok(" \t{ \"type\" :\t\"LOG\" ,\n\"log\" : { } , \"a\" : [ 1 , 2 ] }"
		  " \r\n\t ", AB_MSG_LOG);
	expect_ok("{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\"}}\r",
		  AB_MSG_RECORD);
	expect_ok("[ ]", AB_MSG_NONE);
	expect_ok("{ }", AB_MSG_NONE);
	expect_ok(" 0 ", AB_MSG_NONE);
	expect_error_at("", "empty line", 0);
	expect_error_at("  \r\t\n", "empty line", 5);
	expect_bad("\f{}", "unexpected character");
	expect_bad("{}\v", "trailing characters");
	expect_bad("{\"a\":\f1}", "unexpected character");
	expect_bad("\xc2\xa0{}", "unexpected character");   /* NBSP */
	expect_bad("\xef\xbb\xbf{}", "unexpected character"); /* BOM */

	/* a zero-length line is not read at all */
	assert_int_equal(ab_scan_line("{}", 0, &out), -EINVAL);
	assert_string_equal(out.error, "empty line");
}

/* Every proper prefix of a valid object line is invalid. */
static void test_truncated(void **state)
{
	static const char *const lines[] = {
		REC_LINE,
		"{\"type\":\"RECORD\",\"record\":{\"namespace\":null,\"stream\":"
		"\"u\\u00e9\\\"s\",\"data\":{\"a\":[true,false,null,-1.5e+3,"
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"],\"b\":{}},"
		"\"emitted_at\":0}}  ",
		"[[1e10, 2.5], {\"k\": \"\\ud83d\\ude00\"}, \"x\", 0]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *l = lines[i];
		size_t len = strlen(l);
		struct ab_scan out;

		expect_ok_n(l, len, i == 2 ? AB_MSG_NONE : AB_MSG_RECORD);
		/* trailing blanks aside, every prefix is cut inside the value */
		while (len > 0 && l[len - 1] == ' ')
			len--;
		for (size_t n = 0; n < len; n++) {
			expect_bad_n(l, n, NULL);
			/* and with the rest of the line right behind it */
			if (ab_scan_line(l, n, &out) != -EINVAL)
				fail_msg("accepted prefix %zu of line %zu", n, i);
		}
	}
}

/* The byte after the line would complete it: it must not be read. */
static void test_no_read_past_end(void **state)
{
	static const struct {
		const char *buf;
		size_t len;
	} cases[] = {
		{ "{\"a\":1}", 6 },
		{ "\"abc\"", 4 },
		{ "\"ab\\\"\"", 4 },
		{ "\"\\u0041\"", 6 },
		{ "\"\xc3\xa9\"", 2 },
		{ "\"\xe2\x82\xac\"", 3 },
		{ "\"\xf0\x9f\x98\x80\"", 4 },
		{ "tru" "e", 3 },
		{ "fals" "e", 4 },
		{ "nul" "l", 3 },
		{ "1e" "5", 2 },
		{ "1." "5", 2 },
		{ "-" "1", 1 },
		{ "[1" "]", 2 },
		{ "{\"a\"" ":1}", 4 },
		{ "{\"a\":" "1}", 5 },
		{ "\"aaaaaaaaaaaaaaa" "\"", 16 },
		{ "\"aaaaaaa" "\"", 8 },
	};
	struct ab_scan out;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_bad_n(cases[i].buf, cases[i].len, NULL);
		assert_int_equal(ab_scan_line(cases[i].buf, cases[i].len, &out),
				 -EINVAL);
	}
	/* a prefix that is itself valid stops at len */
	assert_int_equal(ab_scan_line("12x", 2, &out), 0);
	assert_int_equal(ab_scan_line("\"a\"x", 3, &out), 0);
	assert_int_equal(ab_scan_line("{}}", 2, &out), 0);
}

static void test_trailing(void **state)
{
	(void)state;
	expect_error_at("{} x", "trailing characters", 3);
	expect_bad("{}}", "trailing characters");
	expect_bad("{},", "trailing characters");
	expect_bad("{}{}", "trailing characters");
	expect_bad("1 2", "trailing characters");
	expect_bad("\"a\"\"b\"", "trailing characters");
	expect_bad("nullx", "trailing characters");
	expect_bad("truefalse", "trailing characters");
	expect_bad_n("{}\0", 3, "trailing characters");
	expect_bad(REC_LINE "\n" REC_LINE, "trailing characters");
}

static void test_structure_errors(void **state)
{
	(void)state;
	expect_error_at("{\"a\":1,}", "expected string key", 7);
	expect_error_at("[1,]", "unexpected character", 3);
	expect_error_at("{\"a\" 1}", "expected ':'", 5);
	expect_error_at("{\"a\":1]", "unexpected character", 6);
	expect_error_at("[1}", "unexpected character", 2);
	expect_error_at("{1:2}", "expected string key", 1);
	expect_error_at("{'a':1}", "expected string key", 1);
	expect_error_at("[1 2]", "unexpected character", 3);
	expect_error_at("{\"a\":}", "unexpected character", 5);
	expect_error_at("[,1]", "unexpected character", 1);
	expect_error_at("]", "unexpected character", 0);
	expect_error_at("}", "unexpected character", 0);
	expect_error_at("[", "unexpected end of line", 1);
	expect_error_at("{", "unexpected end of line", 1);
	expect_error_at("{\"a\"", "unexpected end of line", 4);
	expect_error_at("{\"a\":", "unexpected end of line", 5);
	expect_error_at("[1,", "unexpected end of line", 3);
	expect_error_at("\"abc", "unterminated string", 4);
	expect_error_at("tru", "invalid literal", 0);
	expect_error_at("[nul]", "invalid literal", 1);
	expect_error_at("True", "unexpected character", 0);
	expect_error_at("{\"a\":1,,\"b\":2}", "expected string key", 7);
	expect_bad("{\"a\"::1}", "unexpected character");
	expect_bad("{\"a\":1 \"b\":2}", "unexpected character");
}

static void test_numbers(void **state)
{
	static const char *const good[] = {
		"0", "-0", "1", "-1", "10", "1234567890", "1.5", "-0.5e10",
		"1E+2", "1e-2", "0.0", "0e0", "0E-0", "-0.0e+0", "9.99",
		"123456789012345678901234567890", "1e999", "1.000000000000001",
	};
	static const char *const bad[] = {
		"01", "-01", "00", "1.", ".5", "-", "1e", "1e+", "1E-", "+1",
		"0x1", "1.e5", "1.5e", "--1", "-a", "Infinity", "-Infinity",
		"NaN", "1.2.3", "1e5.5", "- 1", "1 .5", "0.e1", "-.5", "1ee5",
		"1e+-5", "012.5", "-00",
	};
	char line[128];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		expect_ok(good[i], AB_MSG_NONE);
		snprintf(line, sizeof(line), "[%s]", good[i]);
		expect_ok(line, AB_MSG_NONE);
		snprintf(line, sizeof(line), "{\"a\":%s,\"b\":%s}", good[i], good[i]);
		expect_ok(line, AB_MSG_NONE);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_bad(bad[i], NULL);
		snprintf(line, sizeof(line), "[%s]", bad[i]);
		expect_bad(line, NULL);
		snprintf(line, sizeof(line), "{\"a\":%s}", bad[i]);
		expect_bad(line, NULL);
	}
	expect_error_at("01", "invalid number", 0);
	expect_error_at("[1,-01]", "invalid number", 3);
	expect_error_at("1.", "invalid number", 0);
	expect_error_at("1e", "invalid number", 0);
	expect_error_at("-", "invalid number", 0);
	expect_error_at(".5", "unexpected character", 0);
}

static void test_escapes(void **state)
{
	static const char *const good[] = {
		"\"\\\"\"", "\"\\\\\"", "\"\\/\"", "\"\\b\"", "\"\\f\"",
		"\"\\n\"", "\"\\r\"", "\"\\t\"", "\"\\u0000\"", "\"\\uFFFF\"",
		"\"\\uabcd\\uABCD\"", "\"\\ud83d\\ude00\"",
		"\"\\ud800\"", "\"\\udfff\"",   /* lone surrogates: the grammar allows */
		"\"a\\\\\\\\\\\"b\"",
	};
	static const char *const bad[] = {
		"\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\U0041\"", "\"\\'\"",
		"\"\\ \"", "\"\\0\"", "\"\\a\"", "\"\\v\"", "\"\\u 123\"",
		"\"\\u-123\"", "\"\\u\"", "\"\\\"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_ok(good[i], AB_MSG_NONE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i], NULL);
	expect_error_at("\"ab\\x\"", "invalid escape", 3);
	expect_error_at("\"\\", "unterminated string", 1);
	expect_error_at("\"\\u00", "invalid escape", 1);
	expect_bad("{\"a\\q\":1}", "invalid escape");
}

static void test_control_chars(void **state)
{
	char line[8];

	(void)state;
	for (int c = 0; c < 0x20; c++) {
		memcpy(line, "\"a_b\"", 5);
		line[2] = (char)c;
		expect_bad_n(line, 5, "control character in string");
		memcpy(line, "{\"_\":1}", 7);
		line[2] = (char)c;
		expect_bad_n(line, 7, "control character in string");
	}
	expect_error_at("\"ab\tc\"", "control character in string", 3);
	expect_ok("\"\x7f\"", AB_MSG_NONE);
	expect_ok("\" !#[]~\"", AB_MSG_NONE);
}

/*
 * Each byte value at each offset of a long string, so that it lands in
 * every lane of the word-at-a-time loop and in the byte-wise tail.
 */
static void test_string_lanes(void **state)
{
	char line[64];

	(void)state;
	for (size_t k = 0; k < 24; k++) {
		for (int b = 0; b < 256; b++) {
			size_t n = 0;
			struct ab_scan out;
			bool plain = b >= 0x20 && b < 0x80 && b != '"' && b != '\\';
			int r;

			line[n++] = '"';
			memset(line + n, 'a', k);
			n += k;
			line[n++] = (char)b;
			for (size_t tail = 0; tail < 12; tail++) {
				line[n] = '"';
				r = scan_n(line, n + 1, &out);
				if ((r == 0) != plain)
					fail_msg("'%s': %d", show(line, n + 1), r);
				line[n++] = 'z';
			}
		}
	}
}

static void test_utf8_valid(void **state)
{
	static const char *const good[] = {
		"A", "\x7f",
		"\xc2\x80", "\xc3\xa9", "\xdf\xbf",
		"\xe0\xa0\x80", "\xe2\x82\xac", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xef\xbf\xbf", "\xef\xbb\xbf",
		"\xf0\x90\x80\x80", "\xf0\x9f\x98\x80", "\xf3\xbf\xbf\xbf",
		"\xf4\x8f\xbf\xbf",
	};
	char line[128];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(line, sizeof(line), "\"%s\"", good[i]);
		expect_ok(line, AB_MSG_NONE);
		/* at every lane, and in keys */
		for (int k = 0; k < 10; k++) {
			snprintf(line, sizeof(line), "{\"%.*s%s\":\"%.*s%s%s%s\"}",
				 k, "0123456789", good[i], k, "abcdefghij",
				 good[i], good[i], good[i]);
			expect_ok(line, AB_MSG_NONE);
		}
	}
	expect_ok("{\"type\":\"RECORD\",\"record\":{\"stream\":\"\xe7\x94\xa8"
		  "\xe6\x88\xb7\",\"data\":{\"name\":\"J\xc3\xbcrgen "
		  "\xf0\x9f\x98\x80 \xe2\x82\xac\"}}}", AB_MSG_RECORD);
}

static void test_utf8_invalid(void **state)
{
	static const char *const bad[] = {
		/* stray continuation bytes */
		"\x80", "\xbf", "a\x80", "\xc3\xa9\xa9",
		/* overlong encodings */
		"\xc0\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\x80",
		"\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
		/* UTF-16 surrogates encoded in UTF-8 */
		"\xed\xa0\x80", "\xed\xad\xbf", "\xed\xb0\x80", "\xed\xbf\xbf",
		/* above U+10FFFF and impossible bytes */
		"\xf4\x90\x80\x80", "\xf4\xbf\xbf\xbf", "\xf5\x80\x80\x80",
		"\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80",
		"\xfe", "\xff",
		/* truncated sequences */
		"\xc3", "\xe2\x82", "\xe2", "\xf0\x9f\x98", "\xf0\x9f", "\xf0",
		"\xc3 ", "\xe2\x82z", "\xf0\x9f\x98z",
		/* bad continuation bytes */
		"\xc3\x28", "\xc3\xc3\xa9", "\xe2\x28\xa1", "\xe2\x82\x28",
		"\xf0\x28\x8c\xbc", "\xf0\x90\x28\xbc", "\xf0\x90\x8c\x28",
		"\xe2\x82\xc0",
	};
	char line[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "\"%s\"", bad[i]);
		expect_bad(line, "invalid utf-8");
		snprintf(line, sizeof(line), "{\"a\":\"abcdefghijklm%sxyz\"}", bad[i]);
		expect_bad(line, "invalid utf-8");
		snprintf(line, sizeof(line), "{\"k%s\":1}", bad[i]);
		expect_bad(line, "invalid utf-8");
	}
	expect_error_at("\"ab\xc3\x28\"", "invalid utf-8", 3);
	/* a sequence cut by the end of the line */
	expect_bad_n("\"\xf0\x9f\x98\x80\"", 4, NULL);
	expect_bad_n("\"\xe2\x82\xac\"", 2, NULL);
	/* non-ASCII outside strings */
	expect_bad("\xc3\xa9", "unexpected character");
	expect_bad("[\xc3\xa9]", "unexpected character");
	expect_bad("{\"a\":1}\xc3\xa9", "trailing characters");
}

static void expect_nesting(size_t depth, bool objects, bool ok)
{
	size_t cap = depth * 6 + 2, n = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	for (size_t i = 0; i < depth; i++) {
		/* objects: alternate {"a":[ ... ]} so both kinds are stacked */
		if (objects && i % 2 == 0) {
			memcpy(buf + n, "{\"a\":", 5);
			n += 5;
		} else {
			buf[n++] = '[';
		}
	}
	buf[n++] = '1';
	for (size_t i = depth; i-- > 0;)
		buf[n++] = objects && i % 2 == 0 ? '}' : ']';
	if (ok) {
		expect_ok_n(buf, n, AB_MSG_NONE);
	} else {
		struct ab_scan out;

		assert_int_equal(scan_n(buf, n, &out), -EINVAL);
		assert_string_equal(out.error, "nesting too deep");
	}
	/* a wrong closing bracket deep inside is caught */
	if (ok && objects && depth > 2) {
		size_t at = n - depth + 1;      /* the second closer */

		buf[at] = buf[at] == '}' ? ']' : '}';
		expect_bad_n(buf, n, "unexpected character");
	}
	free(buf);
}

static void test_nesting(void **state)
{
	struct ab_scan out;
	char *buf;

	(void)state;
	expect_nesting(AB_SCAN_MAX_DEPTH, false, true);
	expect_nesting(AB_SCAN_MAX_DEPTH + 1, false, false);
	expect_nesting(AB_SCAN_MAX_DEPTH, true, true);
	expect_nesting(AB_SCAN_MAX_DEPTH + 1, true, false);
	expect_nesting(63, true, true);
	expect_nesting(64, true, true);
	expect_nesting(65, true, true);
	expect_nesting(100000, false, false);

	/* the offset is that of the first bracket over the limit */
	buf = malloc(AB_SCAN_MAX_DEPTH + 1);
	assert_non_null(buf);
	memset(buf, '[', AB_SCAN_MAX_DEPTH + 1);
	assert_int_equal(scan_n(buf, AB_SCAN_MAX_DEPTH + 1, &out), -EINVAL);
	assert_string_equal(out.error, "nesting too deep");
	assert_int_equal(out.error_offset, AB_SCAN_MAX_DEPTH);
	free(buf);

	/* going deep and back up many times reuses the bit stack */
	expect_ok("[[[[{\"a\":[{}]}]]],{\"b\":[[{\"c\":{}}]]},[{}],{}]",
		  AB_MSG_NONE);
	expect_ok("{\"record\":{\"data\":[[[[{\"x\":{}}]]]],\"stream\":\"s\"},"
		  "\"type\":\"RECORD\"}", AB_MSG_RECORD);
}

static void test_big_line(void **state)
{
	const size_t size = 10u << 20;
	const char *head = "{\"type\":\"RECORD\",\"record\":{\"stream\":\"big\","
			   "\"data\":{\"blob\":\"";
	const char *tail = "\",\"n\":[1,2,3]},\"emitted_at\":1}}";
	char *buf = malloc(size);
	size_t n = 0, body;
	struct ab_scan out;

	(void)state;
	assert_non_null(buf);
	memcpy(buf, head, strlen(head));
	n = strlen(head);
	body = size - n - strlen(tail);
	for (size_t i = 0; i < body; i++)
		buf[n + i] = (char)('a' + i % 26);
	/* some escapes and multi-byte characters along the way */
	for (size_t i = 1000; i + 8 < body; i += 99991) {
		memcpy(buf + n + i, "\\n", 2);
		memcpy(buf + n + i + 2, "\xe2\x82\xac", 3);
	}
	n += body;
	memcpy(buf + n, tail, strlen(tail));
	n += strlen(tail);
	assert_int_equal(n, size);

	assert_int_equal(ab_scan_line(buf, n, &out), 0);
	assert_int_equal(out.type, AB_MSG_RECORD);
	assert_span(out.stream, out.stream_len, "big");
	/* and the same bytes with one bad one near the end */
	buf[n - 100] = '\x01';
	assert_int_equal(ab_scan_line(buf, n, &out), -EINVAL);
	assert_int_equal(out.error_offset, n - 100);
	free(buf);
}

/* xorshift64*: the same sequence on every run and platform */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n)
{
	return (size_t)(rnd() % n);
}

/*
 * Inputs where jansson 2.14 and RFC 8259 part ways: it rejects "\u0000" and
 * lone surrogates (we skip any \u escape starting with 0 or d), integers
 * beyond long long and reals that overflow a double.
 */
static bool jansson_disagrees(const char *b, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\\' && i + 2 < n && b[i + 1] == 'u' &&
		    (b[i + 2] == '0' || (b[i + 2] | 0x20) == 'd'))
			return true;
		if (b[i] >= '0' && b[i] <= '9') {
			if (++run >= 16)
				return true;
			if (run >= 3 && i >= run) {
				size_t j = i - run;     /* byte before the run */

				if (j > 0 && (b[j] == '+' || b[j] == '-'))
					j--;
				if ((b[j] | 0x20) == 'e')
					return true;
			}
		} else {
			run = 0;
		}
	}
	return false;
}

/* With no backslash at all, keys and values are what jansson decodes. */
static void check_classification(const char *b, size_t n, json_t *root,
				 int r, const struct ab_scan *out)
{
	json_t *t, *rec, *st;
	enum ab_msg_type want = AB_MSG_NONE;

	if (memchr(b, '\\', n) || memchr(b, '\0', n))
		return;
	t = json_is_object(root) ? json_object_get(root, "type") : NULL;
	if (json_is_string(t)) {
		for (int i = AB_MSG_RECORD; i < AB_MSG_TYPE_COUNT; i++)
			if (!strcmp(json_string_value(t),
				    ab_msg_type_name((enum ab_msg_type)i)))
				want = (enum ab_msg_type)i;
	}
	if (want != AB_MSG_RECORD) {
		if (r != 0 || out->type != want)
			fail_msg("'%s': type %s, jansson says %s", show(b, n),
				 ab_msg_type_name(out->type),
				 ab_msg_type_name(want));
		return;
	}
	rec = json_object_get(root, "record");
	st = json_is_object(rec) ? json_object_get(rec, "stream") : NULL;
	if (!json_is_string(st)) {
		if (r != -EINVAL)
			fail_msg("'%s': record without stream accepted", show(b, n));
		return;
	}
	if (r != 0 || out->type != AB_MSG_RECORD)
		fail_msg("'%s': record rejected", show(b, n));
	assert_span(out->stream, out->stream_len, json_string_value(st));
}

static void test_fuzz_vs_jansson(void **state)
{
	static const char *const seeds[] = {
		REC_LINE,
		"{\"type\":\"RECORD\",\"record\":{\"namespace\":\"public\","
		"\"stream\":\"orders\",\"data\":{\"id\":42,\"total\":-12.5e-3,"
		"\"ok\":true,\"note\":null,\"tags\":[\"a\",\"b\\n\\\"c\"],"
		"\"name\":\"J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80\"},"
		"\"emitted_at\":1700000000000}}",
		"{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
		"{\"stream_descriptor\":{\"name\":\"users\"},\"stream_state\":"
		"{\"cursor\":\"2024-01-01\"}}}}",
		"{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":"
		"\"hello \\u20ac \\/ world\"}}",
		"{\"record\":{\"stream\":\"s\",\"data\":{\"type\":\"LOG\"}},"
		"\"type\":\"RECORD\"}",
		" [1, 2.5, -0, 1e5, \"x\", {\"a\": [{}, []]}, true, false, null] ",
		"\"just a string with \\t escapes\"",
		"{\"type\":\"TRACE\",\"trace\":{\"type\":\"ERROR\",\"error\":"
		"{\"message\":\"boom\",\"stack_trace\":\"at x\\nat y\"}}}",
	};
	static const char alphabet[] = "{}[]:,\"\\ \t\r\n0123456789-+.eEtrufalsn"
				       "u/bfnrtxyz\x01\x1f\x7f\x80\xbf\xc2\xc3"
				       "\xe0\xed\xf0\xf4\xff";
	const int iterations = 200000;
	char buf[512];
	int valid = 0, invalid = 0, skipped = 0;

	(void)state;
	for (int it = 0; it < iterations; it++) {
		const char *seed = seeds[rnd_below(sizeof(seeds) / sizeof(seeds[0]))];
		size_t n = strlen(seed);
		int edits = 1 + (int)rnd_below(3);
		struct ab_scan out;
		json_error_t err;
		json_t *root;
		int r;

		memcpy(buf, seed, n);
		while (edits-- > 0) {
			size_t at = n ? rnd_below(n) : 0;
			char c = rnd_below(4) ? alphabet[rnd_below(sizeof(alphabet) - 1)]
					      : (char)rnd_below(256);

			switch (rnd_below(5)) {
			case 0:         /* flip a bit */
				if (n)
					buf[at] ^= (char)(1 << rnd_below(8));
				break;
			case 1:         /* replace a byte */
				if (n)
					buf[at] = c;
				break;
			case 2:         /* insert a byte */
				if (n + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
				break;
			case 3:         /* delete a byte */
				if (n) {
					memmove(buf + at, buf + at + 1, n - at - 1);
					n--;
				}
				break;
			case 4:         /* cut the line */
				n = at;
				break;
			}
		}

		r = scan_n(buf, n, &out);
		assert_true(r == 0 || r == -EINVAL);
		if (jansson_disagrees(buf, n)) {
			skipped++;
			continue;
		}
		root = json_loadb(buf, n, JSON_DECODE_ANY, &err);
		if ((root != NULL) != (r == 0 || !strcmp(out.error,
							 "record has no stream")))
			fail_msg("'%s': scanner %s (%s), jansson %s (%s)",
				 show(buf, n), r ? "rejects" : "accepts",
				 r ? out.error : "-", root ? "accepts" : "rejects",
				 root ? "-" : err.text);
		if (root) {
			valid++;
			check_classification(buf, n, root, r, &out);
			json_decref(root);
		} else {
			invalid++;
		}
	}
	/* the mutations must exercise both outcomes */
	assert_true(valid > iterations / 20);
	assert_true(invalid > iterations / 4);
	assert_true(skipped < iterations / 4);
}

/* ---- every implementation gives the same answers ----------------------- */

static const enum ab_scan_impl all_impls[] = {
	AB_SCAN_SCALAR, AB_SCAN_SSE2, AB_SCAN_AVX2,
};
#define N_IMPLS (sizeof(all_impls) / sizeof(all_impls[0]))

static unsigned long diff_lines, diff_valid, diff_framed;

/*
 * ab_scan_frame() with the current implementation on s[0..len) followed by
 * a newline and more bytes: when it recognizes a line, that line ends at
 * the first newline and scans (scalar) exactly as it said.
 */
static void check_frame(const char *s, size_t len)
{
	enum ab_scan_impl impl = ab_scan_current_impl();
	char *buf = malloc(len + 3);
	struct ab_scan out, ref;
	size_t flen = 0;

	assert_non_null(buf);
	memcpy(buf, s, len);
	memcpy(buf + len, "\n{\"", 3);
	memset(&out, 0xa5, sizeof(out));
	if (ab_scan_frame(buf, len + 3, &flen, &out)) {
		const char *nl = memchr(buf, '\n', len + 3);

		if (buf + flen != nl)
			fail_msg("'%s': %s frames %zu bytes, the newline is at %zu",
				 show(s, len), ab_scan_impl_name(impl), flen,
				 (size_t)(nl - buf));
		assert_int_equal(ab_scan_force_impl(AB_SCAN_SCALAR), 0);
		if (!ab_scan_same(ab_scan_line(buf, flen, &ref), &ref, 0, &out))
			fail_msg("'%s': %s frames a line the scalar scan disagrees with",
				 show(s, len), ab_scan_impl_name(impl));
		ab_scan_force_impl(impl);
		diff_framed++;
	}
	free(buf);
}

/*
 * Scan a heap copy of exactly s[0..len) with every available implementation
 * and fail on any difference in the result: return value, type, stream and
 * namespace spans, error message and offset.  Each implementation scans it
 * twice (the second time a SIMD one may answer from the shape it learned the
 * first time), then frames it (check_frame()).  Returns the common result.
 */
static int scan_all(const char *s, size_t len)
{
	enum ab_scan_impl was = ab_scan_current_impl();
	char *copy = malloc(len ? len : 1);
	struct ab_scan ref = { 0 }, out;
	int r0 = 0, r;
	bool first = true;

	assert_non_null(copy);
	memcpy(copy, s, len);
	for (size_t i = 0; i < 2 * N_IMPLS; i++) {
		if (ab_scan_force_impl(all_impls[i / 2]))
			continue;
		memset(&out, 0xa5, sizeof(out));
		r = ab_scan_line(copy, len, &out);
		if (i % 2)
			check_frame(s, len);
		if (first) {
			r0 = r;
			ref = out;
			first = false;
			continue;
		}
		if (!ab_scan_same(r0, &ref, r, &out))
			fail_msg("'%s' (len %zu): %s says %d %s %s@%zu, %s says "
				 "%d %s %s@%zu", show(s, len), len,
				 ab_scan_impl_name(all_impls[0]), r0,
				 ab_msg_type_name(ref.type),
				 r0 ? ref.error : "-", r0 ? ref.error_offset : 0,
				 ab_scan_impl_name(all_impls[i / 2]), r,
				 ab_msg_type_name(out.type),
				 r ? out.error : "-", r ? out.error_offset : 0);
	}
	ab_scan_force_impl(was);
	free(copy);
	diff_lines++;
	diff_valid += r0 == 0;
	return r0;
}

static int scan_all_str(const char *s)
{
	return scan_all(s, strlen(s));
}

/* b[0..n) as a string value placed at offset pad of a RECORD line. */
static int scan_all_in_record(const char *b, size_t n, size_t pad)
{
	char line[1024];
	size_t o = 0;

	assert_true(n + pad < sizeof(line) - 128);
	o += (size_t)sprintf(line, "{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\","
			     "\"data\":{\"");
	memset(line + o, 'p', pad);
	o += pad;
	o += (size_t)sprintf(line + o, "\":\"");
	memcpy(line + o, b, n);
	o += n;
	o += (size_t)sprintf(line + o, "\"}}}");
	/* the whole line, and the line cut just after the value */
	scan_all(line, o - 3);
	return scan_all(line, o);
}

static const char *const utf8_good[] = {
	"\xc2\x80", "\xc3\xa9", "\xdf\xbf", "\xe0\xa0\x80", "\xe2\x82\xac",
	"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
	"\xf0\x9f\x98\x80", "\xf3\xbf\xbf\xbf", "\xf4\x8f\xbf\xbf",
};

static const char *const utf8_bad[] = {
	"\x80", "\xbf", "\xc3\xa9\xa9", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
	"\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80",
	"\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80",
	"\xfe", "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xc3 ", "\xe2\x82z",
	"\xc3\x28", "\xc3\xc3\xa9", "\xe2\x28\xa1", "\xf0\x90\x28\xbc",
	"\xf0\x90\x8c\x28", "\xe2\x82\xc0", "\xc3\"", "\xe2\x82\\n",
	"\xf0\x9f\x98\x01", "\xe2\x82\xac\x80", "\xc2\x80\xbf\xbf",
};

/* UTF-8, control characters and escapes at every offset modulo 64 */
static void test_diff_offsets(void **state)
{
	char b[256];

	(void)state;
	for (size_t k = 0; k < 70; k++) {
		for (size_t pad = 0; pad < 33; pad += 11) {
			memset(b, 'a', k);
			for (size_t i = 0; i < sizeof(utf8_good) / sizeof(*utf8_good); i++) {
				size_t n = strlen(utf8_good[i]), o = k;

				memcpy(b + o, utf8_good[i], n);
				o += n;
				/* a run of multi-byte characters after it */
				for (size_t j = 0; j < k % 13; j++) {
					memcpy(b + o, utf8_good[(i + j) % 12],
					       strlen(utf8_good[(i + j) % 12]));
					o += strlen(utf8_good[(i + j) % 12]);
				}
				assert_int_equal(scan_all_in_record(b, o, pad), 0);
				memcpy(b + o, "tail", 4);
				assert_int_equal(scan_all_in_record(b, o + 4, pad), 0);
				/* and at the very end of the line: unterminated */
				scan_all(b, o);
				b[0] = '"';
				assert_int_equal(scan_all(b, o), -EINVAL);
				b[0] = 'a';
			}
			for (size_t i = 0; i < sizeof(utf8_bad) / sizeof(*utf8_bad); i++) {
				size_t n = strlen(utf8_bad[i]);

				memcpy(b + k, utf8_bad[i], n);
				memset(b + k + n, 'z', 40);
				assert_int_equal(scan_all_in_record(b, k + n, pad), -EINVAL);
				assert_int_equal(scan_all_in_record(b, k + n + 40, pad), -EINVAL);
				/* after a run of good multi-byte characters */
				for (size_t j = 0; j + 3 <= k; j += 3)
					memcpy(b + j, "\xe2\x82\xac", 3);
				assert_int_equal(scan_all_in_record(b, k + n + 7, pad), -EINVAL);
				memset(b, 'a', k);
			}
			for (int c = 0; c < 0x20; c++) {
				memset(b + k, 'y', 40);
				b[k] = (char)c;
				assert_int_equal(scan_all_in_record(b, k + 1 + k % 5, pad), -EINVAL);
				b[k] = 'y';
			}
			static const char *const esc[] = {
				"\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude00", "\\x",
				"\\u12", "\\u12g4", "\\",
			};
			for (size_t i = 0; i < sizeof(esc) / sizeof(*esc); i++) {
				size_t n = strlen(esc[i]);

				memcpy(b + k, esc[i], n);
				memset(b + k + n, 'q', 10);
				scan_all_in_record(b, k + n, pad);
				scan_all_in_record(b, k + n + 10, pad);
			}
		}
	}
}

/* Lines whose length is around 16/32/64, with one byte of each kind at each place */
static void test_diff_lengths(void **state)
{
	static const unsigned char kinds[] = {
		'a', '"', '\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xe2, 0xf0, 0xff,
	};
	char b[160];

	(void)state;
	for (size_t len = 1; len < 140; len++) {
		for (size_t at = 0; at < len; at++) {
			for (size_t k = 0; k < sizeof(kinds); k++) {
				b[0] = '"';
				memset(b + 1, 'x', len - 1);
				b[len - 1] = '"';
				b[at] = (char)kinds[k];
				scan_all(b, len);
				/* and as the value of a key, ending at the line end */
				if (len > 8) {
					memcpy(b, "{\"k\":\"", 6);
					b[len - 1] = '}';
					b[len - 2] = '"';
					if (at >= 6 && at < len - 2)
						b[at] = (char)kinds[k];
					scan_all(b, len);
				}
			}
		}
		/* a multi-byte character ending exactly at the line end */
		for (size_t i = 0; i < sizeof(utf8_good) / sizeof(*utf8_good); i++) {
			size_t n = strlen(utf8_good[i]);

			if (len <= n + 1)
				continue;
			b[0] = '"';
			memset(b + 1, 'x', len - 1);
			memcpy(b + len - n - 1, utf8_good[i], n);
			b[len - 1] = '"';
			assert_int_equal(scan_all(b, len), 0);
			assert_int_equal(scan_all(b, len - 1), -EINVAL);
			memcpy(b + len - n, utf8_good[i], n);
			scan_all(b, len);               /* unterminated */
			scan_all(b, len - 1);           /* cut sequence */
		}
	}
}

static void test_diff_numbers(void **state)
{
	static const char *const nums[] = {
		"0", "-0", "1", "-1", "12345678", "123456789", "1234567890123456",
		"12345678901234567890123", "0.5", "1.25e-3", "-12.5E+10", "1e5",
		"01", "1.", "1e", "-", "1.e5", "1e+", "0x1", "1.5.5", "00", "-a",
		"1234567.1234567e1234567",
	};
	char b[128];

	(void)state;
	for (size_t i = 0; i < sizeof(nums) / sizeof(*nums); i++) {
		for (size_t pad = 0; pad < 20; pad++) {
			int n = snprintf(b, sizeof(b), "[%*s%s]", (int)pad, "", nums[i]);

			scan_all(b, (size_t)n);
			scan_all(b, (size_t)n - 1);     /* number at the very end */
			scan_all(b + 1 + pad, strlen(nums[i]));
			n = snprintf(b, sizeof(b), "{\"a\":%s,\"%.*s\":%s}", nums[i],
				     (int)pad, "abcdefghijklmnopqrstuvwxyz", nums[i]);
			scan_all(b, (size_t)n);
			scan_all(b, (size_t)n - 1);
		}
	}
	/* every digit-run length at every alignment at the end of the line */
	for (size_t run = 1; run < 24; run++) {
		for (size_t pad = 0; pad < 9; pad++) {
			size_t n = 0;

			b[n++] = '[';
			memset(b + n, ' ', pad);
			n += pad;
			b[n++] = '1';
			memset(b + n, '7', run);
			n += run;
			scan_all(b, n);
			b[n] = ']';
			assert_int_equal(scan_all(b, n + 1), 0);
			b[n] = 'x';
			scan_all(b, n + 1);
		}
	}
}

static void test_diff_nesting_and_truncation(void **state)
{
	static const char *const lines[] = {
		REC_LINE,
		"{\"type\":\"RECORD\",\"record\":{\"namespace\":\"p\u00fcblic\","
		"\"stream\":\"ord\\\"ers\",\"data\":{\"id\":42,\"total\":-12.5e-3,"
		"\"ok\":true,\"note\":null,\"tags\":[\"a\",\"b\\n\\\"c\"],"
		"\"name\":\"J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x95\xb0"
		"\xe6\x8d\xae\xe5\xba\x93\xe6\x95\xb0\xe6\x8d\xae\xe5\xba\x93\"},"
		"\"emitted_at\":1700000000000}}",
		"{\"record\":{\"stream\":\"s\",\"data\":[[[[{\"x\":{}}]]]]},"
		"\"type\":\"RECORD\"}",
		" [1, 2.5, -0, 1e5, \"x\", {\"a\": [{}, []]}, true, false, null] \r",
		"{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":"
		"\"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8"
		"\xd1\x80 \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0"
		"\xb8\xd1\x80 \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\"}}",
	};
	char *buf;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++) {
		n = strlen(lines[i]);
		assert_int_equal(scan_all_str(lines[i]), 0);
		for (size_t cut = 0; cut < n; cut++) {
			scan_all(lines[i], cut);
			scan_all(lines[i] + cut, n - cut);
		}
	}
	/* deep nesting, at and over the limit, with strings inside */
	buf = malloc(8 * AB_SCAN_MAX_DEPTH + 64);
	assert_non_null(buf);
	for (size_t depth = AB_SCAN_MAX_DEPTH - 1; depth <= AB_SCAN_MAX_DEPTH + 1; depth++) {
		n = 0;
		for (size_t d = 0; d < depth; d++) {
			if (d % 2) {
				memcpy(buf + n, "{\"\xc3\xa9\":", 6);
				n += 6;
			} else {
				buf[n++] = '[';
			}
		}
		buf[n++] = '0';
		for (size_t d = depth; d-- > 0;)
			buf[n++] = d % 2 ? '}' : ']';
		assert_int_equal(scan_all(buf, n), depth <= AB_SCAN_MAX_DEPTH ? 0 : -EINVAL);
		scan_all(buf, n - 1);
	}
	free(buf);
}

/* Random lines: mutated seeds, and strings of random pieces */
static void test_diff_random(void **state)
{
	static const char *const pieces[] = {
		"a", "hello world ", "0123456789abcdefghijklmnopqrstuv", "\\n", "\\\"",
		"\\u00e9", "\\ud83d\\ude00", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xd0\xbf\xd1\x80", "\xe6\x95\xb0", " ", "\t", "\x01", "\x80", "\xff",
		"\xc3", "\xe2\x82", "\xed\xa0\x80", "\\x", "\"", "\\",
	};
	static const char alphabet[] = "{}[]:,\"\\ \t\r\n0123456789-+.eEtrufalsn"
				       "u/bfnrtxyz\x01\x1f\x7f\x80\xbf\xc2\xc3"
				       "\xe0\xed\xf0\xf4\xff";
	char buf[700];

	(void)state;
	for (int it = 0; it < 60000; it++) {
		size_t n = 0, want = rnd_below(300);
		int bad = rnd_below(8) == 0;

		while (n < want) {
			size_t i = rnd_below(bad ? sizeof(pieces) / sizeof(*pieces) : 14);
			size_t len = strlen(pieces[i]);

			memcpy(buf + n, pieces[i], len);
			n += len;
		}
		scan_all_in_record(buf, n, rnd_below(40));
	}
	for (int it = 0; it < 60000; it++) {
		size_t n = strlen(REC_LINE);
		int edits = 1 + (int)rnd_below(4);

		memcpy(buf, REC_LINE, n);
		while (edits-- > 0) {
			size_t at = n ? rnd_below(n) : 0;
			char c = rnd_below(4) ? alphabet[rnd_below(sizeof(alphabet) - 1)]
					      : (char)rnd_below(256);

			switch (rnd_below(4)) {
			case 0:
				if (n)
					buf[at] = c;
				break;
			case 1:
				if (n + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
				break;
			case 2: {       /* insert a multi-byte run */
				size_t i = 7 + rnd_below(5), len = strlen(pieces[i]);

				for (int r = (int)rnd_below(20); r >= 0 &&
				     n + len < sizeof(buf); r--) {
					memmove(buf + at + len, buf + at, n - at);
					memcpy(buf + at, pieces[i], len);
					n += len;
				}
				break;
			}
			case 3:
				n = at;
				break;
			}
		}
		scan_all(buf, n);
	}
	/* purely random bytes */
	for (int it = 0; it < 20000; it++) {
		size_t n = rnd_below(100);

		buf[0] = '"';
		for (size_t i = 1; i < n; i++)
			buf[i] = (char)(rnd_below(2) ? rnd_below(256) : 'a' + rnd_below(26));
		scan_all(buf, n);
	}
	/* both outcomes must have been exercised */
	assert_true(diff_valid > diff_lines / 20);
	assert_true(diff_valid < diff_lines - diff_lines / 20);
}

/*
 * Inputs that crashed or split tests/fuzz/fuzz_scan.c go here verbatim (none
 * so far: 13M runs on the first version, more on this one), with the cases
 * that the SIMD paths' bookkeeping makes special: strings that cross the
 * 64-byte mask window, multi-byte characters cut by it, a window reloaded
 * after an escape, and the line-end window of lines just over 64 bytes.
 */
/*
 * Lines of a few shapes with values drawn at random, valid or not: the SIMD
 * implementations answer from the shape of an earlier line, and frame lines
 * with it; every answer must still be the scalar one.
 */
static void test_diff_templates(void **state)
{
	static const char *const shapes[] = {
		"{\"type\":\"RECORD\",\"record\":{\"stream\":%s,\"data\":{\"id\":%s,\"s\":%s},\"emitted_at\":%s}}",
		"{\"type\":\"RECORD\",\"record\":{\"namespace\":%s,\"stream\":%s,\"data\":[%s,%s]}}",
		"{\"record\":{\"stream\":%s},\"type\":\"RECORD\",\"x\":%s,\"y\":%s,\"record\":{\"stream\":%s}}",
		"{\"type\":\"STATE\",\"state\":{\"data\":{\"c\":%s,\"d\":%s,\"e\":%s,\"f\":%s}}}",
		"{ \"type\" : \"RECORD\" , \"record\" : { \"stream\" : %s , \"data\" : "
		"{ \"k\\u00e9\\\\\" : %s , \"\xc3\xa9\" : %s } } , \"z\" : %s }\r",
		"{\"type\":%s,\"record\":{\"stream\":%s,\"namespace\":%s},\"q\":%s}",
	};
	static const char *const values[] = {
		"\"users\"", "\"users\"", "\"orders\"", "\"us\\u0065rs\"", "\"\"",
		"\"a\\\\\"", "\"\\\"\"", "\"\xc3\xa9t\xc3\xa9\"", "\"RECORD\"",
		"1", "-0", "0.5e+10", "123456789012345678", "true", "false", "null",
		"\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
		"\"0123456789012345678901234567890123456789012345678901234567\\\\\\\"x\"",
		"\"x\x01\"", "\"\\x\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\\u12\"",
		"01", "-", "1.", "1e", "tru", "nul", "\"open", "{}", "[1]", "", " 1", "1 ",
		"\"a\nb\"", "\"tab\there\"",
	};
	const size_t nv = sizeof(values) / sizeof(*values);
	unsigned long framed = diff_framed;
	char line[2048];

	(void)state;
	for (int it = 0; it < 20000; it++) {
		const char *shape = shapes[rnd_below(sizeof(shapes) / sizeof(*shapes))];
		/* mostly valid values, so that shapes are learned and reused */
		size_t lim = rnd_below(4) ? 16 : nv;
		int n = snprintf(line, sizeof(line), shape, values[rnd_below(lim)],
				 values[rnd_below(lim)], values[rnd_below(lim)],
				 values[rnd_below(lim)]);

		assert_true(n > 0 && (size_t)n < sizeof(line));
		scan_all(line, (size_t)n);
	}
	if (ab_scan_impl_available(AB_SCAN_SSE2))
		assert_true(diff_framed - framed > 1000);
}

static void test_fuzz_regressions(void **state)
{
	char b[300];

	(void)state;
	for (size_t at = 50; at < 140; at++) {
		size_t n = 0;
		static const char mid[] = "\xe2\x82\xac\\n\xf0\x9f\x98\x80\",\"\xc3\xa9";

		memset(b, 'x', sizeof(b));
		b[n++] = '[';
		b[n++] = '"';
		n = at;
		memcpy(b + n, mid, sizeof(mid) - 1);
		n += sizeof(mid) - 1;
		memcpy(b + n, "\"]", 2);
		n += 2;
		assert_int_equal(scan_all(b, n), 0);
		assert_int_equal(scan_all(b, n - 1), -EINVAL);
		b[at + 1] = (char)0xc3;         /* breaks the euro sign */
		assert_int_equal(scan_all(b, n), -EINVAL);
	}
	assert_int_equal(scan_all_str("[\"0123456789012345678901234567890123456"
				      "789012345678901234567890\"]"), 0);
	assert_int_equal(scan_all_str("[\"0123456789012345678901234567890123456"
				      "78901234567890123456789\xc3\"]"), -EINVAL);
}

static void test_impl_api(void **state)
{
	enum ab_scan_impl was = ab_scan_current_impl();

	(void)state;
	assert_true(ab_scan_impl_available(AB_SCAN_AUTO));
	assert_true(ab_scan_impl_available(AB_SCAN_SCALAR));
	assert_int_equal(ab_scan_force_impl(AB_SCAN_SCALAR), 0);
	assert_int_equal(ab_scan_current_impl(), AB_SCAN_SCALAR);
	assert_int_equal(ab_scan_force_impl((enum ab_scan_impl)99), -ENOTSUP);
	assert_int_equal(ab_scan_current_impl(), AB_SCAN_SCALAR);
	assert_int_equal(ab_scan_force_impl(AB_SCAN_AUTO), 0);
	assert_int_not_equal(ab_scan_current_impl(), AB_SCAN_AUTO);
#if defined(__x86_64__) && !defined(AB_SCAN_NO_SIMD)
	assert_true(ab_scan_impl_available(AB_SCAN_SSE2));
	assert_int_not_equal(ab_scan_current_impl(), AB_SCAN_SCALAR);
#endif
	assert_string_equal(ab_scan_impl_name(AB_SCAN_AVX2), "avx2");
	assert_int_equal(ab_scan_force_impl(was), 0);
}

static int teardown(void **state)
{
	(void)state;
	free(last_copy);
	last_copy = NULL;
	return 0;
}

static int use_impl(enum ab_scan_impl impl)
{
	return ab_scan_force_impl(impl);
}

static int setup_scalar(void **state) { (void)state; return use_impl(AB_SCAN_SCALAR); }
static int setup_sse2(void **state) { (void)state; return use_impl(AB_SCAN_SSE2); }
static int setup_avx2(void **state) { (void)state; return use_impl(AB_SCAN_AVX2); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_nested_keys_ignored),
		cmocka_unit_test(test_namespace),
		cmocka_unit_test(test_escaped_stream),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_record_errors),
		cmocka_unit_test(test_non_objects),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_no_read_past_end),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_string_lanes),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_big_line),
		cmocka_unit_test(test_fuzz_vs_jansson),
	};
	const struct CMUnitTest diff_tests[] = {
		cmocka_unit_test(test_impl_api),
		cmocka_unit_test(test_diff_offsets),
		cmocka_unit_test(test_diff_lengths),
		cmocka_unit_test(test_diff_numbers),
		cmocka_unit_test(test_diff_nesting_and_truncation),
		cmocka_unit_test(test_diff_random),
		cmocka_unit_test(test_diff_templates),
		cmocka_unit_test(test_fuzz_regressions),
	};
	static const struct {
		enum ab_scan_impl impl;
		const char *name;
		CMFixtureFunction setup;
	} groups[] = {
		{ AB_SCAN_SCALAR, "scan (scalar)", setup_scalar },
		{ AB_SCAN_SSE2, "scan (sse2)", setup_sse2 },
		{ AB_SCAN_AVX2, "scan (avx2)", setup_avx2 },
	};
	int failed = 0;

	/* every test under every implementation this machine has */
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (!ab_scan_impl_available(groups[i].impl)) {
			printf("# skipping %s: not available here\n", groups[i].name);
			continue;
		}
		rng_state = 0x9e3779b97f4a7c15ull;
		failed += _cmocka_run_group_tests(groups[i].name, tests,
						  sizeof(tests) / sizeof(tests[0]),
						  groups[i].setup, teardown);
	}
	ab_scan_force_impl(AB_SCAN_AUTO);
	failed += cmocka_run_group_tests_name("scan (all implementations agree)",
					      diff_tests, NULL, teardown);
	return failed;
}
