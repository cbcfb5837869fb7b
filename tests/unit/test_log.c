/*
 * test_log.c - unit tests for the log lines (util/log.c) and the masking
 * of secrets in them (util/secrets.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"
#include "util/secrets.h"

/* --- secrets_mask ---------------------------------------------------------- */

static char *mask(const char *in, size_t cap)
{
	static char out[256];
	assert_true(cap <= sizeof(out));
	size_t n = secrets_mask(in, strlen(in), out, cap);
	assert_int_equal(n, strlen(out));
	return out;
}

static void test_mask(void **st)
{
	(void)st;
	secrets_clear();
	assert_string_equal(mask("nothing to hide", 64), "nothing to hide");
	assert_string_equal(mask("cut to the cap", 7), "cut to");
	secrets_add("hunter2");
	secrets_add("hunter2");       /* once is enough */
	secrets_add("hu");            /* too short to mask */
	secrets_add("s3cr3t-key");
	secrets_add("s3cr3t-key-2");  /* shares a prefix with the one before */
	assert_string_equal(mask("hunter2", 64), "**********");
	assert_string_equal(mask("pw=hunter2;k=s3cr3t-key!", 64),
			    "pw=**********;k=**********!");
	assert_string_equal(mask("hunter2hunter2", 64), "********************");
	assert_string_equal(mask("hunter hunte hunter2", 64), "hunter hunte **********");
	/* the first secret that matches: no tail of the longer one is left */
	assert_string_equal(mask("s3cr3t-key-2", 64), "**********-2");
	assert_string_equal(mask("a hunter2 b", 6), "a ***");
	assert_string_equal(mask("hu h hunt", 64), "hu h hunt");
	secrets_clear();
	assert_string_equal(mask("hunter2", 64), "hunter2");
}

/* --- log lines --------------------------------------------------------------- */

/* What went to stderr while it was on a pipe. */
struct captured {
	char text[65536];
	size_t len;
};

static int saved_stderr = -1, pipe_r = -1;

static void capture_start(void)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_true(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) > 0);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(dup2(p[1], STDERR_FILENO) >= 0);
	close(p[1]);
	pipe_r = p[0];
}

/* Append what the pipe holds now to c; how many bytes that was. */
static size_t capture_take(struct captured *c)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = read(pipe_r, c->text + c->len, sizeof(c->text) - 1 - c->len);
		if (n == 0 || (n < 0 && errno == EAGAIN))
			break;          /* end of file once stderr is back */
		assert_true(n > 0);
		c->len += (size_t)n;
		got += (size_t)n;
	}
	c->text[c->len] = '\0';
	return got;
}

static void capture_stop(struct captured *c)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	capture_take(c);
	close(pipe_r);
}

static void test_line_format(void **st)
{
	struct captured c = { .len = 0 };
	regex_t re;

	(void)st;
	log_set_context("orders", "source");
	capture_start();
	log_warn("disk %d%% full", 93);
	log_connector_line(LOG_ERROR, "source-connector", "two\nlines", 9);
	log_debug("below the level: not shown");
	capture_stop(&c);
	assert_int_equal(regcomp(&re,
		"^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z "
		"WARN  \\[orders\\] source: disk 93% full\n"
		"[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z "
		"ERROR \\[orders\\] source-connector: two lines\n$", REG_EXTENDED), 0);
	if (regexec(&re, c.text, 0, NULL, 0))
		fail_msg("unexpected log output:\n%s", c.text);
	regfree(&re);
}

/*
 * Held lines are written only when the next would not fit in PIPE_BUF
 * bytes or at log_release(): whole lines, in order, each write atomic.
 */
static void test_hold(void **st)
{
	struct captured c = { .len = 0 };
	char line[64];

	(void)st;
	log_set_context("r", "source");
	secrets_clear();
	secrets_add("hunter2");
	capture_start();
	log_hold();
	log_info("first hunter2");
	assert_int_equal(capture_take(&c), 0);
	size_t before = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(line, sizeof(line), "line %03d", i);
		log_connector_line(LOG_INFO, "source-connector", line, strlen(line));
		size_t got = capture_take(&c);
		if (got) {
			assert_true(got <= PIPE_BUF);
			assert_int_equal(c.text[c.len - 1], '\n');
			before += got;
		}
	}
	assert_true(before > 0);                /* 200 lines are more than PIPE_BUF */
	log_release();
	size_t rest = capture_take(&c);         /* the rest was held until now */
	assert_true(rest > 0 && rest <= PIPE_BUF);
	log_info("after release");
	assert_true(capture_take(&c) > 0);
	capture_stop(&c);
	secrets_clear();

	assert_non_null(strstr(c.text, "source: first **********\n"));
	assert_null(strstr(c.text, "hunter2"));
	const char *p = c.text;
	for (int i = 0; i < 200; i++) {
		snprintf(line, sizeof(line), "source-connector: line %03d\n", i);
		p = strstr(p, line);
		if (!p)
			fail_msg("line %d is missing or out of order", i);
	}
	assert_non_null(strstr(p, "source: after release\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
