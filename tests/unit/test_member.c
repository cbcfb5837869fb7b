/*
 * test_member.c - unit tests for members found in JSON text
 * (protocol/member.c); tests/fuzz/fuzz_member.c compares with jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/member.h"

/* The member's raw text, or NULL when json_member() does not find it. */
static const char *member(const char *obj, const char *key)
{
	static char out[256];
	const char *v;
	size_t n;

	if (!json_member(obj, strlen(obj), key, &v, &n))
		return NULL;
	assert_true(n < sizeof(out));
	memcpy(out, v, n);
	out[n] = '\0';
	return out;
}

static void test_member(void **st)
{
	const char *o = " { \"a\" : [1, {\"b\": \"}]\"}, \"]\\\"\"] ,\"b\":{\"c\":null} ,"
			"\"n\":-1.5e3,\"t\":true, \"s\":\"x\\\"y\" , \"\\u0065sc\":2 }";

	(void)st;
	assert_string_equal(member(o, "a"), "[1, {\"b\": \"}]\"}, \"]\\\"\"]");
	assert_string_equal(member(o, "b"), "{\"c\":null}");
	assert_string_equal(member(o, "n"), "-1.5e3");
	assert_string_equal(member(o, "t"), "true");
	assert_string_equal(member(o, "s"), "\"x\\\"y\"");
	assert_string_equal(member(o, "esc"), "2");   /* a name written with an escape */
	assert_null(member(o, "c"));                  /* only this object's own members */
	assert_null(member(o, "es"));
	assert_string_equal(member("{\"k\":1,\"k\":2}", "k"), "1");  /* the first */
	assert_null(member("{}", "k"));
	assert_null(member("[{\"k\":1}]", "k"));
	assert_null(member("\"k\"", "k"));
	/* a LOG message, the way the roles read it */
	const char *line = "{\"type\":\"LOG\",\"log\":{\"message\":\"a\\nb\",\"level\":\"WARN\"}}";
	const char *log, *v;
	size_t log_len, n;
	char buf[16];
	assert_true(json_member(line, strlen(line), "log", &log, &log_len));
	assert_true(json_member(log, log_len, "message", &v, &n));
	assert_int_equal(json_member_string(v, n, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "a\nb");
	assert_true(json_member(log, log_len, "level", &v, &n));
	assert_int_equal(json_member_string(v, n, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "WARN");
}

static void test_string(void **st)
{
	char buf[8];

	(void)st;
	assert_int_equal(json_member_string("\"\"", 2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(json_member_string("12", 2, buf, sizeof(buf)), -1);
	assert_int_equal(json_member_string("\"", 1, buf, sizeof(buf)), -1);
	/* seven bytes fit once decoded, though the text is longer */
	const char *s = "\"\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"";
	assert_int_equal(json_member_string(s, strlen(s), buf, sizeof(buf)), 7);
	assert_string_equal(buf, "\\\\\\\\\\\\\\");
	/* too long: cut between characters, never inside an escape or a
	 * surrogate pair (U+1F600 is 4 bytes) */
	s = "\"abcdef\\u00e9\"";
	assert_int_equal(json_member_string(s, strlen(s), buf, sizeof(buf)), 6);
	assert_string_equal(buf, "abcdef");
	s = "\"a\\ud83d\\ude00bcdefgh\"";
	assert_int_equal(json_member_string(s, strlen(s), buf, sizeof(buf)), 7);
	assert_string_equal(buf, "a\xf0\x9f\x98\x80" "bc");
	s = "\"abcd\\ud83d\\ude00\"";
	assert_int_equal(json_member_string(s, strlen(s), buf, sizeof(buf)), 4);
	assert_string_equal(buf, "abcd");
	s = "\"a\\ud83d\\u0041\\ud83dbcdef\"";     /* lone surrogates: U+FFFD */
	assert_int_equal(json_member_string(s, strlen(s), buf, sizeof(buf)), 5);
	assert_string_equal(buf, "a\xef\xbf\xbd" "A");
	s = "\"\\ud83d\\ude00\\ud83d\\ude00\"";
	assert_int_equal(json_member_string(s, strlen(s), buf, sizeof(buf)), 4);
	assert_string_equal(buf, "\xf0\x9f\x98\x80");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member),
		cmocka_unit_test(test_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
