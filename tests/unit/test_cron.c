/*
 * test_cron.c - unit tests for cron expressions (schedule/cron.c): parsing,
 * error positions, next fire times in UTC and across DST changes in
 * Europe/Berlin and America/New_York, Feb 29, day-of-month/day-of-week.
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

#include <cmocka.h>

#include "schedule/cron.h"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			 .tm_min = mi };
	return timegm(&tm);
}

static struct cron parse_ok(const char *expr)
{
	struct cron c;
	struct cron_error err;
	if (cron_parse(&c, expr, &err) != 0)
		fail_msg("'%s' rejected: %s", expr, err.text);
	return c;
}

static void expect_error(const char *expr, int field, int column, const char *text)
{
	struct cron c;
	struct cron_error err;
	int r = cron_parse(&c, expr, &err);
	if (r != -EINVAL)
		fail_msg("'%s' accepted", expr);
	if (err.field != field || err.column != column || (text && strcmp(err.text, text)))
		fail_msg("'%s': field %d column %d '%s', expected field %d column %d '%s'", expr,
			 err.field, err.column, err.text, field, column, text ? text : "");
}

/* The next n fire times after `after` must be want[0..n). */
static void expect_next(const char *expr, time_t after, const time_t *want, int n)
{
	struct cron c = parse_ok(expr);
	for (int i = 0; i < n; i++) {
		time_t t;
		int r = cron_next(&c, after, &t);
		if (r != 0)
			fail_msg("'%s' after %lld: %s", expr, (long long)after, strerror(-r));
		if (t != want[i])
			fail_msg("'%s' fire %d after %lld: got %lld, expected %lld", expr, i,
				 (long long)after, (long long)t, (long long)want[i]);
		after = t;
	}
}

#define NEXT(expr, after, ...) \
	expect_next(expr, after, (const time_t[]){ __VA_ARGS__ }, \
		    (int)(sizeof((const time_t[]){ __VA_ARGS__ }) / sizeof(time_t)))

static void test_parse_fields(void **st)
{
	struct cron c = parse_ok("*/15 1-10/2 1,15,31 * *");
	assert_int_equal(c.minute, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45));
	assert_int_equal(c.hour, (1u << 1) | (1u << 3) | (1u << 5) | (1u << 7) | (1u << 9));
	assert_int_equal(c.dom, (1u << 1) | (1u << 15) | (1u << 31));
	assert_int_equal(c.month, 0x1ffe);
	assert_int_equal(c.dow, 0x7f);
	assert_false(c.dom_star);
	assert_true(c.dow_star);

	c = parse_ok("0 0 * jan-Mar,DEC mon-FRI");
	assert_int_equal(c.month, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12));
	assert_int_equal(c.dow, 0x3e);
	c = parse_ok("0 0 * * 7");
	assert_int_equal(c.dow, 1);
	c = parse_ok("0 0 * * 5-7");
	assert_int_equal(c.dow, (1u << 5) | (1u << 6) | 1u);
	c = parse_ok("0 0 * * fri-sun");
	assert_int_equal(c.dow, (1u << 5) | (1u << 6) | 1u);
	c = parse_ok("5/20 * * * *"); /* N/STEP: N to the end */
	assert_int_equal(c.minute, (1ULL << 5) | (1ULL << 25) | (1ULL << 45));
	c = parse_ok("  0\t12  *  *  *  ");
	assert_int_equal(c.hour, 1u << 12);
	c = parse_ok("0 0 */2 * 1");
	assert_true(c.dom_star); /* Vixie: a stepped star still counts as '*' */
}

static void test_macros(void **st)
{
	struct cron a = parse_ok("@yearly"), b = parse_ok("0 0 1 1 *");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parse_ok("@ANNUALLY");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parse_ok("@monthly"), b = parse_ok("0 0 1 * *");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parse_ok("@weekly"), b = parse_ok("0 0 * * 0");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parse_ok("@daily"), b = parse_ok("0 0 * * *");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parse_ok("@midnight");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parse_ok("@hourly"), b = parse_ok("0 * * * *");
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_errors(void **st)
{
	expect_error("61 * * * *", CRON_MINUTE, 1, "minute: 61 is out of range 0-59");
	expect_error("* 24 * * *", CRON_HOUR, 3, "hour: 24 is out of range 0-23");
	expect_error("* * 0 * *", CRON_DOM, 5, "day-of-month: 0 is out of range 1-31");
	expect_error("* * * 13 *", CRON_MONTH, 7, "month: 13 is out of range 1-12");
	expect_error("* * * * 8", CRON_DOW, 9, "day-of-week: 8 is out of range 0-7");
	expect_error("0 1-30 * * *", CRON_HOUR, 5, "hour: 30 is out of range 0-23");
	expect_error("10-5 * * * *", CRON_MINUTE, 1, "minute: range 10-5 is backwards");
	expect_error("*/0 * * * *", CRON_MINUTE, 3, "minute: step 0 is out of range 1-59");
	expect_error("1,,2 * * * *", CRON_MINUTE, 3, NULL);
	expect_error("1, * * * *", CRON_MINUTE, 3, "minute: list ends with ','");
	expect_error("x * * * *", CRON_MINUTE, 1, NULL);
	expect_error("0 0 * FOO *", CRON_MONTH, 7,
		     "month: expected a number or a month name, got 'FOO'");
	expect_error("0 0 * * MON-XYZ", CRON_DOW, 13, NULL);
	expect_error("0 0 * * 1#2", CRON_DOW, 10, "day-of-week: unexpected '#'");
	expect_error("* * * *", CRON_EXPR, 8, NULL);
	expect_error("* * * * * *", CRON_EXPR, 11, NULL);
	expect_error("", CRON_EXPR, 1, NULL);
	expect_error("@reboot", CRON_EXPR, 1, NULL);
	expect_error("@daily x", CRON_EXPR, 8, NULL);
	expect_error("0 0 30 2 *", CRON_DOM, 5, "day-of-month: '30' never occurs in the selected months");
	expect_error("0 0 31 4,6,9,11 *", CRON_DOM, 5, NULL);
	/* both restricted: weekdays still fire (Vixie), so this is fine */
	parse_ok("0 0 31 4 1");
	parse_ok("0 0 29 2 *");
}

static void test_next_utc(void **st)
{
	set_tz("UTC");
	time_t t0 = utc(2024, 1, 1, 0, 0);
	NEXT("*/15 * * * *", t0, t0 + 900, t0 + 1800, t0 + 2700, t0 + 3600);
	/* strictly after, also from the middle of a minute */
	NEXT("*/15 * * * *", t0 + 899, t0 + 900);
	NEXT("*/15 * * * *", t0 + 900, t0 + 1800);
	NEXT("30 14 * * *", t0, utc(2024, 1, 1, 14, 30), utc(2024, 1, 2, 14, 30));
	NEXT("0 0 1 * *", utc(2024, 1, 31, 12, 0), utc(2024, 2, 1, 0, 0), utc(2024, 3, 1, 0, 0));
	NEXT("@yearly", utc(2024, 6, 1, 0, 0), utc(2025, 1, 1, 0, 0));
	NEXT("59 23 31 12 *", utc(2024, 12, 31, 23, 59), utc(2025, 12, 31, 23, 59));
	NEXT("0 0 31 * *", utc(2024, 1, 31, 0, 0), utc(2024, 3, 31, 0, 0), utc(2024, 5, 31, 0, 0));
	/* Feb 29: only in leap years, 2100 is not one */
	NEXT("0 12 29 2 *", utc(2025, 1, 1, 0, 0), utc(2028, 2, 29, 12, 0), utc(2032, 2, 29, 12, 0));
	NEXT("0 0 29 2 *", utc(2096, 3, 1, 0, 0), utc(2104, 2, 29, 0, 0));
	/* 2024-09-13 is a Friday: day 13 OR Friday when both are restricted */
	NEXT("0 0 13 * 5", utc(2024, 9, 1, 0, 0), utc(2024, 9, 6, 0, 0), utc(2024, 9, 13, 0, 0),
	     utc(2024, 9, 20, 0, 0), utc(2024, 9, 27, 0, 0), utc(2024, 10, 4, 0, 0),
	     utc(2024, 10, 11, 0, 0), utc(2024, 10, 13, 0, 0));
	/* with a '*' day field both must match: Fridays only / the 13th only */
	NEXT("0 0 * * FRI", utc(2024, 9, 7, 0, 0), utc(2024, 9, 13, 0, 0));
	NEXT("0 0 13 * *", utc(2024, 9, 1, 0, 0), utc(2024, 9, 13, 0, 0), utc(2024, 10, 13, 0, 0));
	/* Vixie: "*" + step counts as '*': odd days that are also Mondays */
	NEXT("0 0 */2 * 1", utc(2024, 9, 1, 0, 0), utc(2024, 9, 9, 0, 0), utc(2024, 9, 23, 0, 0),
	     utc(2024, 10, 7, 0, 0));
	/* Sunday as 0, 7 and SUN */
	NEXT("0 0 * * 0", utc(2024, 9, 1, 0, 0), utc(2024, 9, 8, 0, 0));
	NEXT("0 0 * * 7", utc(2024, 9, 1, 0, 0), utc(2024, 9, 8, 0, 0));
	NEXT("0 0 * * sun", utc(2024, 9, 1, 0, 0), utc(2024, 9, 8, 0, 0));
	/* rare: Feb 29 that is a Sunday, found by jumping, not minute stepping */
	NEXT("0 0 29 2 */7", utc(2024, 3, 1, 0, 0), utc(2032, 2, 29, 0, 0), utc(2060, 2, 29, 0, 0));
}

static void test_next_berlin(void **st)
{
	set_tz("Europe/Berlin");
	/* spring forward 2024-03-31 02:00 CET -> 03:00 CEST (01:00 UTC) */
	NEXT("30 2 * * *", utc(2024, 3, 30, 12, 0),
	     utc(2024, 3, 31, 1, 0),  /* 02:30 does not exist: 03:00 CEST */
	     utc(2024, 4, 1, 0, 30)); /* 02:30 CEST */
	NEXT("*/20 * * * *", utc(2024, 3, 31, 0, 30), /* 01:30 CET */
	     utc(2024, 3, 31, 0, 40),                  /* 01:40 CET */
	     utc(2024, 3, 31, 1, 0),                   /* 02:00-02:40 collapse into 03:00 CEST */
	     utc(2024, 3, 31, 1, 20));                 /* 03:20 CEST */
	NEXT("0 3 * * *", utc(2024, 3, 30, 12, 0), utc(2024, 3, 31, 1, 0));
	/* fall back 2024-10-27 03:00 CEST -> 02:00 CET (01:00 UTC): once, the first time */
	NEXT("30 2 * * *", utc(2024, 10, 26, 12, 0), utc(2024, 10, 27, 0, 30),
	     utc(2024, 10, 28, 1, 30));
	NEXT("0 * * * *", utc(2024, 10, 26, 23, 30), utc(2024, 10, 27, 0, 0), /* 02:00 CEST */
	     utc(2024, 10, 27, 2, 0));                                        /* 03:00 CET */
	/* asked from inside the second 02:xx: the repeated times are skipped */
	NEXT("*/20 * * * *", utc(2024, 10, 27, 1, 10), utc(2024, 10, 27, 2, 0));
	NEXT("*/20 * * * *", utc(2024, 10, 27, 0, 50), utc(2024, 10, 27, 2, 0));
}

static void test_next_new_york(void **st)
{
	set_tz("America/New_York");
	/* 2024-03-10 02:00 EST -> 03:00 EDT (07:00 UTC) */
	NEXT("0 2 * * *", utc(2024, 3, 9, 17, 0), utc(2024, 3, 10, 7, 0), utc(2024, 3, 11, 6, 0));
	NEXT("59 1 * * *", utc(2024, 3, 9, 17, 0), utc(2024, 3, 10, 6, 59));
	/* 2024-11-03 02:00 EDT -> 01:00 EST (06:00 UTC) */
	NEXT("30 1 * * *", utc(2024, 11, 2, 17, 0), utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30));
	NEXT("0 9 * * MON-FRI", utc(2024, 11, 1, 14, 0), utc(2024, 11, 4, 14, 0));
	NEXT("0 9 * * MON-FRI", utc(2024, 10, 31, 14, 0), utc(2024, 11, 1, 13, 0));
}

static void test_next_many(void **st)
{
	/* a long walk stays ordered and on matching minutes */
	set_tz("Europe/Berlin");
	struct cron c = parse_ok("7,37 */3 1-10,20 * MON,WED");
	time_t t = utc(2024, 1, 1, 0, 0), prev = t;
	for (int i = 0; i < 5000; i++) {
		struct tm tm;
		assert_int_equal(cron_next(&c, t, &t), 0);
		assert_true(t > prev);
		prev = t;
		localtime_r(&t, &tm);
		assert_true(tm.tm_min == 7 || tm.tm_min == 37);
		assert_int_equal(tm.tm_hour % 3, 0);
		assert_true((tm.tm_mday <= 10 || tm.tm_mday == 20) || tm.tm_wday == 1 ||
			    tm.tm_wday == 3);
	}
}

/* Found by tests/fuzz/fuzz_cron.c (reproducers in tests/fuzz/crashes/cron-*). */
static void test_fuzz_regressions(void **st)
{
	set_tz("UTC");
	/* "7/3": from Sunday (7) to the end is Sunday, not an empty set that never fires */
	struct cron c = parse_ok("0 0 * * 7/3");
	assert_int_equal(c.dow, 1);
	NEXT("0 0 * * 7/3", utc(2024, 9, 2, 0, 0), utc(2024, 9, 8, 0, 0));
	c = parse_ok("0 0 * * 6/3");
	assert_int_equal(c.dow, 1u << 6);

	/* a start time near the end of struct tm's years: an error, no int overflow */
	time_t t;
	c = parse_ok("* * * * *");
	assert_int_equal(cron_next(&c, (time_t)67767976233316800LL, &t), -EOVERFLOW);

	/* years before 1 (AIRBYTE_NOW is any number): weekdays stay right */
	c = parse_ok("0 0 * * 1");
	t = utc(-5, 4, 20, 12, 0);
	for (int i = 0; i < 10; i++) {
		struct tm tm;
		assert_int_equal(cron_next(&c, t, &t), 0);
		gmtime_r(&t, &tm);
		assert_int_equal(tm.tm_wday, 1);
		assert_int_equal(tm.tm_hour, 0);
	}
	c = parse_ok("0 0 29 2 */7"); /* Feb 29 on a Sunday, across year 0 */
	t = utc(-30, 1, 1, 0, 0);
	for (int i = 0; i < 3; i++) {
		struct tm tm;
		assert_int_equal(cron_next(&c, t, &t), 0);
		gmtime_r(&t, &tm);
		assert_int_equal(tm.tm_wday, 0);
		assert_int_equal(tm.tm_mon, 1);
		assert_int_equal(tm.tm_mday, 29);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_next_utc),
		cmocka_unit_test(test_next_berlin),
		cmocka_unit_test(test_next_new_york),
		cmocka_unit_test(test_next_many),
		cmocka_unit_test(test_fuzz_regressions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
