/*
 * fuzz_cron.c - libFuzzer target for cron expressions and their next fire
 * times (src/schedule/cron.c, `schedule --cron EXPR --next N`).
 *
 * Input: up to three lines of text (bytes after a NUL are ignored)
 *   EXPR       the expression, as cron_parse() gets it from the command line
 *   TZ         optional: a zoneinfo name or a POSIX TZ rule (default UTC);
 *              names starting with '/' or holding ".." are replaced by UTC
 *   AFTER      optional: epoch seconds, decimal, may be negative or huge, as
 *              AIRBYTE_NOW gives them (default 1700000000)
 *
 * Checked:
 *   - cron_parse() returns 0 or -EINVAL; an error names a field and a column
 *     inside the expression, a success sets only bits of valid values, at
 *     least one per field, and the same bits come back from the expression
 *     re-written as plain number lists;
 *   - cron_next() returns 0, -EOVERFLOW, or -ENOENT only when the search
 *     runs off the calendar (never for years within +-30000);
 *   - a fire time is after `after`, on a local minute that matches, or (a
 *     DST gap) exactly at a change of the UTC offset;
 *   - asking again from one second before the fire time, or from half-way,
 *     gives the same fire time (the fire times are one fixed set);
 *   - up to three fire times in a row; each call is bounded (libFuzzer's
 *     -timeout turns a runaway search into a crash).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedule/cron.h"

#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "fuzz_cron: check failed: %s (line %d)\n", #c, \
				__LINE__);                                       \
			abort();                                                 \
		}                                                                \
	} while (0)

/* Next line of [*p, end) as a C string in buf (cut at size - 1). */
static void take_line(const char **p, const char *end, char *buf, size_t size)
{
	size_t n = 0;
	while (*p < end && **p != '\n') {
		if (n + 1 < size)
			buf[n++] = **p;
		(*p)++;
	}
	if (*p < end)
		(*p)++;
	buf[n] = '\0';
}

/* Switch TZ only when it changes: loading a zone file is the slow part. */
static void use_tz(const char *tz)
{
	static char current[80] = "";
	if (!*tz || *tz == '/' || !strncmp(tz, ":/", 2) || strstr(tz, ".."))
		tz = "UTC";
	if (!strcmp(tz, current))
		return;
	snprintf(current, sizeof(current), "%s", tz);
	setenv("TZ", current, 1);
	tzset();
}

static void render(char *out, size_t size, uint64_t bits, int lo, int hi)
{
	size_t n = 0;
	for (int v = lo; v <= hi; v++)
		if (bits & (1ULL << v))
			n += (size_t)snprintf(out + n, size - n, "%s%d", n ? "," : "", v);
}

static void check_parsed(const struct cron *c)
{
	CHECK(c->minute && !(c->minute >> 60));
	CHECK(c->hour && !(c->hour >> 24));
	CHECK(c->dom && !(c->dom & 1));
	CHECK(c->month && !(c->month & 1) && !(c->month >> 13));
	CHECK(c->dow && !(c->dow >> 7));

	/* round trip through plain lists (no '*': the Vixie rule may differ) */
	char f[5][200], expr[1024];
	render(f[0], sizeof(f[0]), c->minute, 0, 59);
	render(f[1], sizeof(f[1]), c->hour, 0, 23);
	render(f[2], sizeof(f[2]), c->dom, 1, 31);
	render(f[3], sizeof(f[3]), c->month, 1, 12);
	render(f[4], sizeof(f[4]), c->dow, 0, 6);
	snprintf(expr, sizeof(expr), "%s %s %s %s %s", f[0], f[1], f[2], f[3], f[4]);
	struct cron d;
	struct cron_error err;
	CHECK(cron_parse(&d, expr, &err) == 0);
	CHECK(d.minute == c->minute && d.hour == c->hour && d.dom == c->dom &&
	      d.month == c->month && d.dow == c->dow);
	CHECK(!d.dom_star && !d.dow_star);
}

static bool matches(const struct cron *c, const struct tm *tm)
{
	bool dm = c->dom & (1u << tm->tm_mday), wm = c->dow & (1u << tm->tm_wday);
	bool day = c->dom_star || c->dow_star ? dm && wm : dm || wm;
	return tm->tm_sec == 0 && (c->minute & (1ULL << tm->tm_min)) &&
	       (c->hour & (1u << tm->tm_hour)) && (c->month & (1u << (tm->tm_mon + 1))) && day;
}

/* cron_next() from `from`, which must give `want` (a known fire time). */
static void same_next(const struct cron *c, time_t from, time_t want)
{
	time_t t = 0;
	int r = cron_next(c, from, &t);
	if (r != 0 || t != want)
		fprintf(stderr, "fuzz_cron: from %lld: %d, %lld; expected %lld\n",
			(long long)from, r, (long long)t, (long long)want);
	CHECK(r == 0 && t == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	const char *nul = memchr(p, 0, size);
	char expr[512], tz[64], num[32];

	if (nul)
		end = nul;
	take_line(&p, end, expr, sizeof(expr));
	take_line(&p, end, tz, sizeof(tz));
	take_line(&p, end, num, sizeof(num));
	time_t after = *num ? (time_t)strtoll(num, NULL, 10) : (time_t)1700000000;

	struct cron c;
	struct cron_error err;
	int r = cron_parse(&c, expr, &err);
	if (r < 0) {
		CHECK(r == -EINVAL);
		CHECK(err.text[0] != '\0');
		CHECK(err.field >= CRON_EXPR && err.field <= CRON_DOW);
		CHECK(err.column >= 1 && (size_t)err.column <= strlen(expr) + 1);
		CHECK(strlen(cron_field_name(err.field)) > 0);
		return 0;
	}
	CHECK(r == 0);
	check_parsed(&c);

	use_tz(tz);
	/* within +-30000 years a match is always found (400-year calendar cycle) */
	bool sane = after > -(time_t)1000000000000LL && after < (time_t)900000000000LL;
	time_t t = after;
	for (int i = 0; i < 3; i++) {
		time_t next = 0;
		r = cron_next(&c, t, &next);
		CHECK(r == 0 || r == -EOVERFLOW || r == -ENOENT);
		if (r == -ENOENT && sane)
			fprintf(stderr, "fuzz_cron: no fire time after %lld\n", (long long)t);
		CHECK(r != -ENOENT || !sane);
		if (r < 0)
			break;
		CHECK(next > t);

		struct tm at, before;
		time_t prev = next - 1;
		CHECK(localtime_r(&next, &at) != NULL);
		if (!matches(&c, &at)) { /* a DST gap: the first instant after it */
			CHECK(localtime_r(&prev, &before) != NULL);
			if (before.tm_gmtoff == at.tm_gmtoff)
				fprintf(stderr, "fuzz_cron: %lld is %04d-%02d-%02d %02d:%02d:%02d "
					"(offset %ld), no match and no offset change\n",
					(long long)next, at.tm_year + 1900, at.tm_mon + 1,
					at.tm_mday, at.tm_hour, at.tm_min, at.tm_sec,
					(long)at.tm_gmtoff);
			CHECK(before.tm_gmtoff != at.tm_gmtoff);
		}
		same_next(&c, next - 1, next);
		if (next - t > 2)
			same_next(&c, t + (next - t) / 2, next);
		t = next;
	}
	return 0;
}
