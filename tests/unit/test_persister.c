/*
 * test_persister.c - unit tests for the state writer thread
 * (driver/persister.c): the latest state wins, writes start at most every
 * PERSISTER_INTERVAL_US, a flush or a stop writes what is queued at once
 * (without waiting out the interval), and a write error is kept and
 * reported.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "driver/persister.h"

/* What the write function saw: each document and when its write started. */
struct sink {
	char docs[256][16];
	int64_t started_us[256];
	int n;
	int fail_from;  /* writes from this one on fail with -ENOSPC (0: never) */
	useconds_t slow; /* each write takes this long */
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int sink_write(void *ctx, const char *text, size_t len)
{
	struct sink *s = ctx;
	assert_true(s->n < 256);
	s->started_us[s->n] = mono_us();
	snprintf(s->docs[s->n], sizeof(s->docs[0]), "%.*s", (int)len, text);
	s->n++;
	if (s->slow)
		usleep(s->slow);
	return s->fail_from && s->n >= s->fail_from ? -ENOSPC : 0;
}

static void submit(struct persister *p, uint64_t seq)
{
	char *text;
	assert_true(asprintf(&text, "%llu", (unsigned long long)seq) > 0);
	persister_submit(p, text, strlen(text), seq);
}

/* States submitted faster than writes go: every write is the latest so far. */
static void test_latest_wins(void **st)
{
	struct sink s = { .slow = 1000 };
	struct persister p;
	int err = -1;

	assert_int_equal(persister_start(&p, sink_write, &s), 0);
	for (uint64_t seq = 1; seq <= 200; seq++)
		submit(&p, seq);
	assert_int_equal(persister_flush(&p), 0);
	assert_int_equal(persister_durable(&p, &err), 200);
	assert_int_equal(err, 0);
	/* far fewer writes than states, in order, the last one the last state */
	assert_true(s.n >= 1 && s.n < 200);
	for (int i = 1; i < s.n; i++)
		assert_true(atoi(s.docs[i]) > atoi(s.docs[i - 1]));
	assert_string_equal(s.docs[s.n - 1], "200");
	persister_stop(&p);
}

/* Writes start at least PERSISTER_INTERVAL_US apart, states in between merge. */
static void test_interval(void **st)
{
	struct sink s = { 0 };
	struct persister p;

	assert_int_equal(persister_start(&p, sink_write, &s), 0);
	/* a state every 500 us for 30 ms */
	for (uint64_t seq = 1; seq <= 60; seq++) {
		submit(&p, seq);
		usleep(500);
	}
	assert_int_equal(persister_flush(&p), 0);
	assert_int_equal(persister_durable(&p, NULL), 60);
	assert_string_equal(s.docs[s.n - 1], "60");
	/* the first state is written at once; the flush's write may come early */
	assert_string_equal(s.docs[0], "1");
	for (int i = 1; i < s.n - 1; i++)
		if (s.started_us[i] - s.started_us[i - 1] < PERSISTER_INTERVAL_US)
			fail_msg("writes %d and %d started %lld us apart", i - 1, i,
				 (long long)(s.started_us[i] - s.started_us[i - 1]));
	assert_true(s.n < 60);
	persister_stop(&p);
}

/* A stop writes what is queued. */
static void test_stop_writes_the_last(void **st)
{
	struct sink s = { 0 };
	struct persister p;

	assert_int_equal(persister_start(&p, sink_write, &s), 0);
	submit(&p, 1);
	assert_int_equal(persister_flush(&p), 0);
	submit(&p, 2); /* within the interval of the first write */
	persister_stop(&p);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.docs[1], "2");
}

/*
 * A flush and a stop do not wait out the interval.  With an interval of an
 * hour, waiting would hang: the alarm turns that into a failure.
 */
static void test_flush_hurries(void **st)
{
	struct sink s = { 0 };
	struct persister p;

	assert_int_equal(persister_start(&p, sink_write, &s), 0);
	p.interval_us = 3600L * 1000000;
	alarm(20);
	submit(&p, 1);
	assert_int_equal(persister_flush(&p), 0);
	submit(&p, 2); /* an hour's rest before it, but for the flush */
	assert_int_equal(persister_flush(&p), 0);
	assert_int_equal(persister_durable(&p, NULL), 2);
	submit(&p, 3);
	persister_stop(&p);
	alarm(0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.docs[2], "3");
}

/* The first error is kept: durable stops at the last good write. */
static void test_error(void **st)
{
	struct sink s = { .fail_from = 2 };
	struct persister p;
	int err = 0;

	assert_int_equal(persister_start(&p, sink_write, &s), 0);
	submit(&p, 1);
	assert_int_equal(persister_flush(&p), 0);
	submit(&p, 2);
	assert_int_equal(persister_flush(&p), -ENOSPC);
	assert_int_equal(persister_durable(&p, &err), 1);
	assert_int_equal(err, -ENOSPC);
	persister_stop(&p);
	/* a persister that never started flushes and stops quietly */
	struct persister idle = { 0 };
	assert_int_equal(persister_flush(&idle), 0);
	persister_stop(&idle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latest_wins),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_stop_writes_the_last),
		cmocka_unit_test(test_flush_hurries),
		cmocka_unit_test(test_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
