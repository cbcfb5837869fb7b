/*
 * cmd_schedule_next.c - `schedule --cron EXPR [--next N]`: print the next N
 * (default 1) fire times of a cron expression (see schedule/cron.h), one per
 * line, in ISO 8601 local time with the UTC offset (2024-03-31T03:00:00+02:00).
 *
 * For commands.h:   int cmd_schedule_next(struct options *o);
 *
 * "Now" is the current time, or AIRBYTE_NOW (epoch seconds) for tests.
 * Exit codes: 0 printed; 2 no/invalid expression (stderr points at the
 * field and column) or a bad AIRBYTE_NOW.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "schedule/cron.h"
#include "util/log.h"

/* ISO 8601 local time with offset; buf of at least 32 bytes. */
static int format_local(time_t t, char *buf, size_t size)
{
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return -EOVERFLOW;
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n)
		return -ENOSPC;
	snprintf(buf + n, size - n, "%c%02ld:%02ld", sign, off / 60, off % 60);
	return 0;
}

int cmd_schedule_next(struct options *o)
{
	struct cron c;
	struct cron_error err;
	time_t t;
	long count = o->next > 0 ? o->next : 1;
	const char *now = getenv("AIRBYTE_NOW");

	if (!o->cron) {
		log_error("schedule needs --cron EXPR (e.g. --cron '0 3 * * *')");
		return EXIT_USAGE;
	}
	if (now && *now) {
		char *end;
		errno = 0;
		long long v = strtoll(now, &end, 10);
		if (errno || *end || end == now) {
			log_error("AIRBYTE_NOW must be epoch seconds, not '%s'", now);
			return EXIT_USAGE;
		}
		t = (time_t)v;
	} else {
		t = time(NULL);
	}
	if (cron_parse(&c, o->cron, &err) < 0) {
		log_error("invalid cron expression '%s': %s (column %d)", o->cron, err.text,
			  err.column);
		fprintf(stderr, "  %s\n  %*s^\n", o->cron, err.column > 0 ? err.column - 1 : 0, "");
		return EXIT_USAGE;
	}
	tzset();
	for (long i = 0; i < count; i++) {
		char buf[64];
		int r = cron_next(&c, t, &t);
		if (r == 0)
			r = format_local(t, buf, sizeof(buf));
		if (r < 0) {
			log_error("no fire time for '%s' after the %ld printed: %s", o->cron, i,
				  r == -ENOENT ? "none within 400 years" : strerror(-r));
			return EXIT_USAGE;
		}
		puts(buf);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("cannot write the result: %s", strerror(errno));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}
