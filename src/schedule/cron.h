/*
 * cron.h - five-field cron expressions and their next fire times, for
 * scheduled replications (`schedule --cron EXPR --next N`).
 *
 * Syntax: "minute hour day-of-month month day-of-week", fields separated by
 * blanks; each field a comma list of `*`, `N`, `N-M`, each optionally
 * followed by `/STEP` (`N/STEP` means `N-max/STEP`, as in cronie).  Months
 * JAN-DEC and weekdays SUN-SAT may be named (any case); weekday 7 is Sunday
 * like 0.  Macros: @yearly @annually @monthly @weekly @daily @midnight
 * @hourly.
 *
 * Day matching follows Vixie cron: if the day-of-month or the day-of-week
 * field starts with `*` (a plain `*`, and also a stepped star such as
 * `*` + `/2`), a day must match both;
 * when both are restricted, a day matching either one fires.
 *
 * Times are local (TZ from the environment), at minute resolution.  Around
 * daylight saving changes every matching wall-clock time fires exactly once:
 *   - a time that does not exist (spring-forward gap, e.g. 02:30 in Berlin
 *     on the last Sunday of March) fires at the first instant after the gap
 *     (03:00 CEST); several such times fire once, at that instant;
 *   - a time that exists twice (fall-back overlap) fires at its first
 *     occurrence only (02:30 CEST, not again at 02:30 CET).
 *
 * Nothing here allocates: struct cron is a plain value the caller owns.
 */
#ifndef AB_CRON_H
#define AB_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct cron {
	uint64_t minute;        /* bit n: minute n (0-59) */
	uint32_t hour;          /* bit n: hour n (0-23) */
	uint32_t dom;           /* bit n: day n of the month (1-31) */
	uint16_t month;         /* bit n: month n (1-12) */
	uint8_t dow;            /* bit n: weekday n (0-6, 0 = Sunday) */
	bool dom_star, dow_star; /* the field starts with '*' (Vixie) */
};

enum cron_field {
	CRON_EXPR = -1,         /* the expression as a whole */
	CRON_MINUTE, CRON_HOUR, CRON_DOM, CRON_MONTH, CRON_DOW,
};

/* Why an expression was rejected, and where (column: 1-based, in expr). */
struct cron_error {
	char text[256];         /* e.g. "minute: 61 is out of range 0-59" */
	int field;              /* enum cron_field */
	int column;
};

/*
 * Parse expr into *c.  0, or -EINVAL with err (may be NULL) filled: syntax,
 * out-of-range values, backwards ranges, zero steps, wrong field count,
 * unknown macros, and day/month combinations that never occur (30 2 ...).
 */
int cron_parse(struct cron *c, const char *expr, struct cron_error *err);

/*
 * The first fire time strictly after `after`, in *next.  0, or -ENOENT if
 * none within 400 years (cannot happen for a parsed expression), -EOVERFLOW
 * past the range of time_t/struct tm.
 */
int cron_next(const struct cron *c, time_t after, time_t *next);

/* Name of a field for messages ("minute", "day-of-month", ...). */
const char *cron_field_name(int field);

#endif
