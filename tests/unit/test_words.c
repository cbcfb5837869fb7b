/*
 * test_words.c - unit tests for shell-like word splitting (util/words.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/words.h"

/* Split s and check the words against the NULL-terminated list want. */
static void expect_words(const char *s, const char *const *want)
{
	struct words w;
	size_t n = 0;

	while (want[n])
		n++;
	int r = words_split(s, &w);
	if (r != 0)
		fail_msg("'%s': words_split returned %d", s, r);
	if (w.n != n)
		fail_msg("'%s': %zu words, expected %zu", s, w.n, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(w.v[i], want[i]))
			fail_msg("'%s': word %zu is '%s', expected '%s'", s, i, w.v[i], want[i]);
	assert_null(w.v[n]);
	words_release(&w);
	assert_null(w.v);
	assert_int_equal(w.n, 0);
}

#define EXPECT(s, ...) expect_words(s, (const char *const[]){ __VA_ARGS__, NULL })

static void expect_einval(const char *s)
{
	struct words w = { (char **)(uintptr_t)1, 99 }; /* garbage: must be reset */
	int r = words_split(s, &w);

	if (r != -EINVAL)
		fail_msg("'%s': returned %d, expected -EINVAL", s, r);
	assert_null(w.v);
	assert_int_equal(w.n, 0);
}

static void test_plain(void **st)
{
	EXPECT("a", "a");
	EXPECT("python main.py", "python", "main.py");
	EXPECT("python /airbyte/integration_code/main.py",
	       "python", "/airbyte/integration_code/main.py");
}

static void test_blanks(void **st)
{
	EXPECT("  a   b\t\tc \n d  ", "a", "b", "c", "d");
	EXPECT("\tx\n", "x");
}

static void test_single_quotes(void **st)
{
	EXPECT("'a b'", "a b");
	EXPECT("'a \\\" $x' c", "a \\\" $x", "c"); /* all literal */
	EXPECT("x'y z'w", "xy zw");
	EXPECT("''", "");
	EXPECT("a '' b", "a", "", "b");
}

static void test_double_quotes(void **st)
{
	EXPECT("\"a b\"", "a b");
	EXPECT("\"say \\\"hi\\\"\"", "say \"hi\"");
	EXPECT("\"back\\\\slash\"", "back\\slash");
	EXPECT("\"\\$HOME\"", "$HOME");
	EXPECT("\"\\`cmd\\`\"", "`cmd`");
	/* other backslashes stay */
	EXPECT("\"a\\nb\"", "a\\nb");
	EXPECT("\"it's\"", "it's");
	EXPECT("\"\"", "");
	EXPECT("pre\"mid dle\"post", "premid dlepost");
}

static void test_backslash(void **st)
{
	EXPECT("a\\ b c", "a b", "c");
	EXPECT("\\'x\\'", "'x'");
	EXPECT("\\\"", "\"");
	EXPECT("\\\\", "\\");
	EXPECT("a\\", "a");          /* trailing backslash dropped */
	EXPECT("\\a\\b", "ab");
}

static void test_mixed(void **st)
{
	EXPECT("sh -c 'echo \"$1\"' \"arg one\" two\\ three",
	       "sh", "-c", "echo \"$1\"", "arg one", "two three");
}

static void test_unterminated(void **st)
{
	expect_einval("'abc");
	expect_einval("a 'b c");
	expect_einval("\"abc");
	expect_einval("\"abc\\\"");   /* the escaped quote does not close */
	expect_einval("\"abc\\");
	expect_einval("ok \"");
}

static void test_empty(void **st)
{
	expect_einval("");
	expect_einval("   ");
	expect_einval(" \t\n ");
}

static void test_push(void **st)
{
	struct words w = { 0 };
	char buf[8] = "abc";

	assert_int_equal(words_push(&w, buf), 0);
	buf[0] = 'X'; /* the word is a copy */
	assert_int_equal(words_push(&w, ""), 0);
	assert_int_equal(words_push(&w, "zz"), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.v[0], "abc");
	assert_string_equal(w.v[1], "");
	assert_string_equal(w.v[2], "zz");
	assert_null(w.v[3]);
	words_release(&w);

	/* append to a split result */
	assert_int_equal(words_split("read --config", &w), 0);
	assert_int_equal(words_push(&w, "/tmp/c.json"), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.v[2], "/tmp/c.json");
	assert_null(w.v[3]);
	words_release(&w);
}

static void test_push_many(void **st)
{
	struct words w = { 0 };
	char s[16];

	for (int i = 0; i < 1000; i++) {
		snprintf(s, sizeof(s), "w%d", i);
		assert_int_equal(words_push(&w, s), 0);
	}
	assert_int_equal(w.n, 1000);
	assert_string_equal(w.v[999], "w999");
	assert_null(w.v[1000]);
	words_release(&w);
}

static void test_release_zeroed(void **st)
{
	struct words w = { 0 };

	words_release(&w);
	words_release(&w); /* twice is fine too */
	assert_null(w.v);
	assert_int_equal(w.n, 0);
}

static void test_long_input(void **st)
{
	/* one word as long as the input: the scratch buffer must hold it */
	char s[4096 + 3];
	s[0] = '"';
	memset(s + 1, 'q', 4096);
	s[4097] = '"';
	s[4098] = '\0';
	struct words w;
	assert_int_equal(words_split(s, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(strlen(w.v[0]), 4096);
	words_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_blanks),
		cmocka_unit_test(test_single_quotes),
		cmocka_unit_test(test_double_quotes),
		cmocka_unit_test(test_backslash),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_push_many),
		cmocka_unit_test(test_release_zeroed),
		cmocka_unit_test(test_long_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
