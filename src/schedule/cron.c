/*
 * cron.c - cron expressions and next fire times (see cron.h).
 *
 * cron_next() searches in civil (wall-clock) time, jumping whole months,
 * days and hours with bit masks, then maps the civil minute to an instant
 * with mktime() and checks the mapping with localtime_r(), which is what
 * makes DST gaps and overlaps explicit.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schedule/cron.h"

#define SEARCH_YEARS 400

static const char *const field_names[] = { "minute", "hour", "day-of-month", "month",
					   "day-of-week" };
static const int field_min[] = { 0, 0, 1, 1, 0 };
static const int field_max[] = { 59, 23, 31, 12, 7 };
static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const dow_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

const char *cron_field_name(int field)
{
	return field >= 0 && field <= 4 ? field_names[field] : "expression";
}

static int fail(struct cron_error *err, int field, int column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct cron_error *err, int field, int column, const char *fmt, ...)
{
	if (err) {
		char msg[200];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		if (field >= 0)
			snprintf(err->text, sizeof(err->text), "%s: %s", field_names[field], msg);
		else
			snprintf(err->text, sizeof(err->text), "%s", msg);
		err->field = field;
		err->column = column;
	}
	return -EINVAL;
}

/*
 * A number or a name at *p; advances *p.  -1 if there is neither.  SUN is 0,
 * or 7 at the end of a range (so that FRI-SUN works).
 */
static int parse_value(int field, const char **p, bool range_end)
{
	const char *s = *p;

	if (*s >= '0' && *s <= '9') {
		long v = 0;
		while (*s >= '0' && *s <= '9') {
			if (v < 100000)
				v = v * 10 + (*s - '0');
			s++;
		}
		*p = s;
		return (int)v;
	}
	const char *const *names = field == CRON_MONTH ? month_names : field == CRON_DOW ? dow_names : NULL;
	int n = field == CRON_MONTH ? 12 : 7, base = field == CRON_MONTH ? 1 : 0;
	if (names)
		for (int i = 0; i < n; i++)
			if (!strncasecmp(s, names[i], 3)) {
				*p = s + 3;
				return field == CRON_DOW && i == 0 && range_end ? 7 : i + base;
			}
	return -1;
}

/* Parse one field (text [start, end)) into *bits. */
static int parse_field(int field, const char *expr, const char *start, const char *end,
		       uint64_t *bits, bool *star, struct cron_error *err)
{
	const char *p = start;
	int lo_lim = field_min[field], hi_lim = field_max[field];

	*bits = 0;
	*star = *p == '*';
	for (;;) {
		const char *item = p;
		int lo, hi, step = 1;
		bool ranged = false;
		if (*p == '*') {
			lo = lo_lim;
			hi = field == CRON_DOW ? 6 : hi_lim;
			p++;
			ranged = true;
		} else {
			const char *v = p;
			lo = parse_value(field, &p, false);
			if (lo < 0)
				return fail(err, field, (int)(v - expr) + 1, "expected a number%s, got '%.*s'",
					    field == CRON_MONTH ? " or a month name" :
					    field == CRON_DOW ? " or a weekday name" : "",
					    (int)(end - v), v);
			if (lo < lo_lim || lo > hi_lim)
				return fail(err, field, (int)(v - expr) + 1, "%d is out of range %d-%d",
					    lo, lo_lim, hi_lim);
			hi = lo;
			if (*p == '-') {
				v = ++p;
				hi = parse_value(field, &p, true);
				if (hi < 0)
					return fail(err, field, (int)(v - expr) + 1,
						    "expected the end of the range, got '%.*s'",
						    (int)(end - v), v);
				if (hi < lo_lim || hi > hi_lim)
					return fail(err, field, (int)(v - expr) + 1,
						    "%d is out of range %d-%d", hi, lo_lim, hi_lim);
				if (hi < lo)
					return fail(err, field, (int)(item - expr) + 1,
						    "range %d-%d is backwards", lo, hi);
				ranged = true;
			}
		}
		if (*p == '/') {
			const char *v = ++p;
			if (*p < '0' || *p > '9')
				return fail(err, field, (int)(v - expr) + 1, "expected a step number, got '%.*s'",
					    (int)(end - v), v);
			step = parse_value(CRON_MINUTE, &p, false);
			if (step < 1 || step > hi_lim)
				return fail(err, field, (int)(v - expr) + 1, "step %d is out of range 1-%d",
					    step, hi_lim);
			if (!ranged) /* N/STEP: from N to the end of the range (7/N: Sunday) */
				hi = field == CRON_DOW && lo < 7 ? 6 : hi_lim;
		}
		if (p < end && *p != ',')
			return fail(err, field, (int)(p - expr) + 1, "unexpected '%c'", *p);
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << (field == CRON_DOW && v == 7 ? 0 : v);
		if (p >= end)
			break;
		p++; /* ',' */
		if (p >= end)
			return fail(err, field, (int)(p - expr) + 1, "list ends with ','");
	}
	return 0;
}

static const struct {
	const char *name, *expansion;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

int cron_parse(struct cron *c, const char *expr, struct cron_error *err)
{
	const char *starts[5], *ends[5];
	const char *p = expr;
	int n = 0;

	memset(c, 0, sizeof(*c));
	if (err)
		memset(err, 0, sizeof(*err));
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '@') {
		size_t len = strcspn(p, " \t");
		const char *rest = p + len;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		for (size_t i = 0; i < sizeof(macros) / sizeof(*macros); i++)
			if (strlen(macros[i].name) == len && !strncasecmp(p, macros[i].name, len)) {
				if (*rest)
					return fail(err, CRON_EXPR, (int)(rest - expr) + 1,
						    "unexpected '%s' after %s", rest, macros[i].name);
				return cron_parse(c, macros[i].expansion, NULL);
			}
		return fail(err, CRON_EXPR, (int)(p - expr) + 1,
			    "unknown macro '%.*s' (known: @yearly @annually @monthly @weekly @daily "
			    "@midnight @hourly)", (int)len, p);
	}
	while (*p) {
		if (n == 5)
			return fail(err, CRON_EXPR, (int)(p - expr) + 1,
				    "more than 5 fields (minute hour day-of-month month day-of-week)");
		starts[n] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		ends[n++] = p;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (n < 5)
		return fail(err, CRON_EXPR, (int)(p - expr) + 1,
			    "expected 5 fields (minute hour day-of-month month day-of-week), got %d", n);

	uint64_t bits[5];
	bool star[5];
	for (int f = 0; f < 5; f++) {
		int r = parse_field(f, expr, starts[f], ends[f], &bits[f], &star[f], err);
		if (r < 0)
			return r;
	}
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->dow = (uint8_t)bits[4];
	c->dom_star = star[2];
	c->dow_star = star[4];

	/* A day that must match day-of-month must exist in some month (leap years too). */
	if (c->dom_star || c->dow_star) {
		bool exists = false;
		for (int m = 1; m <= 12 && !exists; m++)
			if (c->month & (1u << m))
				for (int d = 1; d <= days_in_month(2000, m); d++)
					if (c->dom & (1u << d)) {
						exists = true;
						break;
					}
		if (!exists)
			return fail(err, CRON_DOM, (int)(starts[2] - expr) + 1,
				    "'%.*s' never occurs in the selected months",
				    (int)(ends[2] - starts[2]), starts[2]);
	}
	return 0;
}

/* ---- next fire time ------------------------------------------------------ */

struct civil {
	int y, mo, d, h, mi;
};

/* 0 = Sunday (Sakamoto). */
static int weekday(int y, int m, int d)
{
	static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
	if (m < 3)
		y -= 1;
	y = y % 400 + 400; /* same weekdays every 400 years; y > 0 for the divisions */
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static bool day_matches(const struct cron *c, int y, int m, int d)
{
	bool dm = c->dom & (1u << d), wm = c->dow & (1u << weekday(y, m, d));
	return c->dom_star || c->dow_star ? dm && wm : dm || wm;
}

/* Lowest set bit >= from, or -1. */
static int next_bit(uint64_t mask, int from)
{
	if (from > 63)
		return -1;
	mask &= ~0ULL << from;
	return mask ? __builtin_ctzll(mask) : -1;
}

/* Advance t to the first matching civil minute >= t.  -ENOENT past max_year. */
static int next_match(const struct cron *c, struct civil *t, int max_year)
{
	for (;;) {
		if (t->y > max_year)
			return -ENOENT;
		int m = next_bit(c->month, t->mo);
		if (m < 0 || m > 12) {
			t->y++;
			t->mo = 1;
			t->d = 1;
			t->h = t->mi = 0;
			continue;
		}
		if (m != t->mo) {
			t->mo = m;
			t->d = 1;
			t->h = t->mi = 0;
		}
		if (t->d > days_in_month(t->y, t->mo)) {
			t->mo++;
			t->d = 1;
			t->h = t->mi = 0;
			if (t->mo > 12) {
				t->mo = 1;
				t->y++;
			}
			continue;
		}
		if (!day_matches(c, t->y, t->mo, t->d)) {
			t->d++;
			t->h = t->mi = 0;
			continue;
		}
		int h = next_bit(c->hour, t->h);
		if (h < 0 || h > 23) {
			t->d++;
			t->h = t->mi = 0;
			continue;
		}
		if (h != t->h) {
			t->h = h;
			t->mi = 0;
		}
		int mi = next_bit(c->minute, t->mi);
		if (mi < 0 || mi > 59) {
			t->h++;
			t->mi = 0;
			if (t->h > 23) {
				t->h = 0;
				t->d++;
			}
			continue;
		}
		t->mi = mi;
		return 0;
	}
}

static void add_minute(struct civil *t)
{
	if (++t->mi < 60)
		return;
	t->mi = 0;
	if (++t->h < 24)
		return;
	t->h = 0;
	t->d++; /* next_match() carries days into months */
}

static int civil_cmp(const struct civil *a, const struct tm *tm)
{
	const int b[5] = { tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min };
	const int x[5] = { a->y, a->mo, a->d, a->h, a->mi };
	for (int i = 0; i < 5; i++)
		if (x[i] != b[i])
			return x[i] < b[i] ? 1 : -1; /* sign of (tm - a) */
	return 0;
}

/* Is the local civil time at instant t >= c? */
static bool at_or_after(time_t t, const struct civil *c)
{
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return true;
	return civil_cmp(c, &tm) >= 0;
}

/*
 * The instant a civil minute fires at: its first occurrence, or for a time
 * inside a DST gap the first instant after the gap.
 */
static int civil_to_instant(const struct civil *c, time_t *out)
{
	time_t raw[2], best = 0;
	bool found = false;

	for (int dst = 0; dst < 2; dst++) {
		struct tm tm = { .tm_year = c->y - 1900, .tm_mon = c->mo - 1, .tm_mday = c->d,
				 .tm_hour = c->h, .tm_min = c->mi, .tm_isdst = dst };
		struct tm back;
		raw[dst] = mktime(&tm);
		if (raw[dst] == (time_t)-1) /* never a whole minute: an error */
			return -EOVERFLOW;
		if (localtime_r(&raw[dst], &back) && civil_cmp(c, &back) == 0 &&
		    (!found || raw[dst] < best)) {
			best = raw[dst];
			found = true;
		}
	}
	if (found) {
		*out = best;
		return 0;
	}
	/* A gap: binary search for the first instant whose civil time is >= c. */
	time_t lo = raw[0] < raw[1] ? raw[0] : raw[1];
	time_t hi = raw[0] < raw[1] ? raw[1] : raw[0];
	if (at_or_after(lo, c) || !at_or_after(hi, c)) {
		*out = hi; /* not the shape of a gap we know: mktime's answer */
		return 0;
	}
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (at_or_after(mid, c))
			hi = mid;
		else
			lo = mid;
	}
	*out = hi;
	return 0;
}

int cron_next(const struct cron *c, time_t after, time_t *next)
{
	struct tm tm;
	struct civil t;

	if (!localtime_r(&after, &tm))
		return -EOVERFLOW;
	/* the search must not overflow the year (AIRBYTE_NOW can be anything) */
	if (tm.tm_year > INT_MAX - 1900 - SEARCH_YEARS - 1)
		return -EOVERFLOW;
	t = (struct civil){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min };
	int max_year = t.y + SEARCH_YEARS;
	/* bounded: only the minutes of a DST overlap can map to before `after` */
	for (int tries = 0; tries < 100000; tries++) {
		time_t when;
		int r;
		add_minute(&t);
		if ((r = next_match(c, &t, max_year)) < 0)
			return r;
		if ((r = civil_to_instant(&t, &when)) < 0)
			return r;
		if (when > after) {
			*next = when;
			return 0;
		}
	}
	return -ENOENT;
}
