/*
 * test_lines.c - unit tests for newline framing over a fd (protocol/lines.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "protocol/lines.h"

struct pipe_fds {
	int r, w;
};

static struct pipe_fds make_pipe(bool nonblock_read)
{
	int fd[2];

	assert_int_equal(pipe2(fd, O_CLOEXEC), 0);
	if (nonblock_read)
		assert_int_equal(fcntl(fd[0], F_SETFL, O_NONBLOCK), 0);
	return (struct pipe_fds){ fd[0], fd[1] };
}

static void put(int fd, const char *s, size_t n)
{
	assert_int_equal(write(fd, s, n), (ssize_t)n);
}

#define PUT(fd, s) put(fd, s, strlen(s))

/* Expect the next line to be exactly want[0..n). */
static void expect_line_n(struct lines *l, const char *want, size_t n)
{
	const char *line;
	size_t len;

	assert_int_equal(lines_next(l, &line, &len), 1);
	assert_int_equal(len, n);
	assert_memory_equal(line, want, n);
}

#define EXPECT_LINE(l, s) expect_line_n(l, s, strlen(s))

static void expect_none(struct lines *l)
{
	const char *line;
	size_t len;

	assert_int_equal(lines_next(l, &line, &len), 0);
}

static void test_many_per_read(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;

	assert_int_equal(lines_init(&l, 256, 4096), 0);
	PUT(p.w, "one\ntwo\n\nthree\r\n");
	assert_int_equal(lines_fill(&l, p.r), 16);
	EXPECT_LINE(&l, "one");
	EXPECT_LINE(&l, "two");
	EXPECT_LINE(&l, "");          /* empty line */
	EXPECT_LINE(&l, "three\r");   /* CR is kept */
	expect_none(&l);
	assert_false(l.eof);
	close(p.w);
	assert_int_equal(lines_fill(&l, p.r), 0);
	assert_true(l.eof);
	expect_none(&l);              /* nothing left after EOF */
	expect_none(&l);
	lines_release(&l);
	close(p.r);
}

static void test_split_across_reads(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;

	assert_int_equal(lines_init(&l, 256, 4096), 0);
	PUT(p.w, "hel");
	assert_int_equal(lines_fill(&l, p.r), 3);
	expect_none(&l);
	PUT(p.w, "lo wo");
	assert_int_equal(lines_fill(&l, p.r), 5);
	expect_none(&l);
	expect_none(&l); /* repeated calls do not lose the partial line */
	PUT(p.w, "rld\nnext");
	assert_int_equal(lines_fill(&l, p.r), 8);
	EXPECT_LINE(&l, "hello world");
	expect_none(&l);
	PUT(p.w, "\n");
	assert_int_equal(lines_fill(&l, p.r), 1);
	EXPECT_LINE(&l, "next");
	expect_none(&l);
	lines_release(&l);
	close(p.r);
	close(p.w);
}

static void test_byte_by_byte(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;
	const char *in = "ab\n\ncde\nf";
	const char *want[] = { "ab", "", "cde" };
	size_t got = 0;

	assert_int_equal(lines_init(&l, 4, 64), 0);
	for (const char *c = in; *c; c++) {
		const char *line;
		size_t len;

		put(p.w, c, 1);
		assert_int_equal(lines_fill(&l, p.r), 1);
		while (lines_next(&l, &line, &len) == 1) {
			assert_true(got < 3);
			assert_int_equal(len, strlen(want[got]));
			assert_memory_equal(line, want[got], len);
			got++;
		}
	}
	assert_int_equal(got, 3);
	close(p.w);
	assert_int_equal(lines_fill(&l, p.r), 0);
	EXPECT_LINE(&l, "f"); /* last line without a newline */
	expect_none(&l);
	lines_release(&l);
	close(p.r);
}

static void test_last_line_at_eof(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;

	assert_int_equal(lines_init(&l, 64, 64), 0);
	PUT(p.w, "a\nlast");
	close(p.w);
	assert_int_equal(lines_fill(&l, p.r), 6);
	EXPECT_LINE(&l, "a");
	expect_none(&l); /* not at EOF yet: "last" may continue */
	assert_int_equal(lines_fill(&l, p.r), 0);
	EXPECT_LINE(&l, "last");
	expect_none(&l);
	lines_release(&l);
	close(p.r);
}

static void test_empty_input(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;

	assert_int_equal(lines_init(&l, 64, 64), 0);
	close(p.w);
	assert_int_equal(lines_fill(&l, p.r), 0);
	assert_true(l.eof);
	expect_none(&l);
	lines_release(&l);
	close(p.r);
}

static void test_growth(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;
	char big[3000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(lines_init(&l, 16, 4096), 0);
	assert_int_equal(l.cap, 16);
	put(p.w, big, sizeof(big));
	PUT(p.w, "\nshort\n");
	close(p.w);
	const char *line;
	size_t len;
	int got = 0;
	for (;;) {
		ssize_t n = lines_fill(&l, p.r);
		assert_true(n >= 0);
		while (lines_next(&l, &line, &len) == 1) {
			if (got == 0) {
				assert_int_equal(len, sizeof(big));
				assert_memory_equal(line, big, len);
			} else {
				assert_int_equal(len, 5);
				assert_memory_equal(line, "short", 5);
			}
			got++;
		}
		if (n == 0)
			break;
	}
	assert_int_equal(got, 2);
	assert_true(l.cap >= sizeof(big) + 1);
	assert_true(l.cap <= 4096);
	lines_release(&l);
	close(p.r);
}

/* A partial line after consumed lines is moved to the front, not grown. */
static void test_compaction(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;

	assert_int_equal(lines_init(&l, 8, 8), 0);
	PUT(p.w, "abc\ndefg");
	assert_int_equal(lines_fill(&l, p.r), 8);
	EXPECT_LINE(&l, "abc");
	expect_none(&l);
	PUT(p.w, "hi\n");
	assert_int_equal(lines_fill(&l, p.r), 3);
	EXPECT_LINE(&l, "defghi");
	assert_int_equal(l.cap, 8);
	lines_release(&l);
	close(p.r);
	close(p.w);
}

static void test_too_long(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;
	char buf[100];

	memset(buf, 'y', sizeof(buf));
	assert_int_equal(lines_init(&l, 8, 32), 0);
	put(p.w, buf, sizeof(buf));
	ssize_t n;
	while ((n = lines_fill(&l, p.r)) > 0)
		expect_none(&l);
	assert_int_equal(n, -E2BIG);
	assert_int_equal(l.cap, 32);
	lines_release(&l);
	close(p.r);
	close(p.w);
}

/* max counts the newline: a line of max-1 bytes plus '\n' fits. */
static void test_max_boundary(void **st)
{
	struct pipe_fds p = make_pipe(false);
	struct lines l;
	char buf[32];

	memset(buf, 'z', 31);
	buf[31] = '\n';
	assert_int_equal(lines_init(&l, 32, 32), 0);
	put(p.w, buf, 32);
	PUT(p.w, "ok\n");
	assert_int_equal(lines_fill(&l, p.r), 32);
	expect_line_n(&l, buf, 31);
	expect_none(&l);
	assert_int_equal(lines_fill(&l, p.r), 3);
	EXPECT_LINE(&l, "ok");
	lines_release(&l);
	close(p.r);
	close(p.w);
}

static void test_eagain(void **st)
{
	struct pipe_fds p = make_pipe(true);
	struct lines l;

	assert_int_equal(lines_init(&l, 64, 64), 0);
	assert_int_equal(lines_fill(&l, p.r), -EAGAIN);
	assert_false(l.eof);
	PUT(p.w, "x\n");
	assert_int_equal(lines_fill(&l, p.r), 2);
	EXPECT_LINE(&l, "x");
	assert_int_equal(lines_fill(&l, p.r), -EAGAIN);
	expect_none(&l);
	lines_release(&l);
	close(p.r);
	close(p.w);
}

static void test_bad_fd(void **st)
{
	struct lines l;

	assert_int_equal(lines_init(&l, 64, 64), 0);
	assert_int_equal(lines_fill(&l, -1), -EBADF);
	lines_release(&l);
	lines_release(&l); /* idempotent */
}

/* Many lines through a small buffer: nothing lost, nothing reordered. */
static void test_stream(void **st)
{
	struct pipe_fds p = make_pipe(true);
	struct lines l;
	char s[64];
	int next = 0, sent = 0;

	assert_int_equal(lines_init(&l, 16, 64), 0);
	while (next < 5000) {
		while (sent < 5000 && sent - next < 200) {
			int n = snprintf(s, sizeof(s), "line %d%s\n", sent,
					 sent % 7 ? "" : " with some more text");
			put(p.w, s, (size_t)n);
			sent++;
		}
		if (sent == 5000 && p.w >= 0) {
			close(p.w);
			p.w = -1;
		}
		ssize_t n = lines_fill(&l, p.r);
		assert_true(n >= 0 || n == -EAGAIN);
		const char *line;
		size_t len;
		while (lines_next(&l, &line, &len) == 1) {
			int k = snprintf(s, sizeof(s), "line %d%s", next,
					 next % 7 ? "" : " with some more text");
			assert_int_equal(len, (size_t)k);
			assert_memory_equal(line, s, len);
			next++;
		}
		if (n == 0)
			break;
	}
	assert_int_equal(next, 5000);
	lines_release(&l);
	close(p.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_per_read),
		cmocka_unit_test(test_split_across_reads),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_last_line_at_eof),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_max_boundary),
		cmocka_unit_test(test_eagain),
		cmocka_unit_test(test_bad_fd),
		cmocka_unit_test(test_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
