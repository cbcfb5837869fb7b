#include "util/log.h"
#include "util/secrets.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_replication = "-";
static const char *log_component = "driver";
static enum log_level log_min = LOG_INFO;

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void log_set_context(const char *replication, const char *component)
{
	if (replication)
		log_replication = replication;
	if (component)
		log_component = component;
}

void log_set_min_level(enum log_level level)
{
	log_min = level;
}

static void put(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
	if (len > cap - 1 - *n)
		len = cap - 1 - *n;
	memcpy(buf + *n, s, len);
	*n += len;
}

/*
 * "2026-11-25T14:34:49.498Z INFO  [replication] who: ", cut to cap - 1.
 * Built by hand, the date once a second: a loop may log a line for each
 * line of input.
 */
static size_t log_prefix(char *buf, size_t cap, enum log_level level,
			 const char *who)
{
	static _Thread_local time_t stamped = -1;
	static _Thread_local char stamp[80]; /* up to the second's "." */
	struct timeval tv;
	size_t n = 0;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != stamped) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
		stamped = tv.tv_sec;
	}
	int ms = (int)(tv.tv_usec / 1000);
	char tail[16] = { (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
			  (char)('0' + ms % 10), 'Z', ' ' };
	size_t lv = strlen(level_names[level]);
	memcpy(tail + 5, level_names[level], lv);
	memcpy(tail + 5 + lv, "      ", 6 - lv); /* padded to 5, then a space */
	memcpy(tail + 11, "[", 1);
	put(buf, cap, &n, stamp, strlen(stamp));
	put(buf, cap, &n, tail, 12);
	put(buf, cap, &n, log_replication, strlen(log_replication));
	put(buf, cap, &n, "] ", 2);
	put(buf, cap, &n, who, strlen(who));
	put(buf, cap, &n, ": ", 2);
	return n;
}

/*
 * Lines held by this thread (log_hold): written when the next would not
 * fit, so that each write stays within PIPE_BUF and whole lines of
 * concurrent writers do not interleave on a pipe.
 */
static _Thread_local bool held_on;
static _Thread_local size_t held_len;
static _Thread_local char held[PIPE_BUF];

static void log_write(const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, p, len);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void log_flush_held(void)
{
	log_write(held, held_len);
	held_len = 0;
}

void log_hold(void)
{
	held_on = true;
}

void log_release(void)
{
	log_flush_held();
	held_on = false;
}

/* One write(2) per line (or per batch of held ones); secrets are masked
 * on the way out, whatever printed them. */
static void log_emit(char *raw, size_t rawlen)
{
	char buf[8200];
	size_t len = secrets_mask(raw, rawlen, buf, sizeof(buf) - 1);
	buf[len++] = '\n';
	if (!held_on) {
		log_write(buf, len);
		return;
	}
	if (held_len + len > sizeof(held))
		log_flush_held();
	if (len > sizeof(held)) {
		log_write(buf, len);
		return;
	}
	memcpy(held + held_len, buf, len);
	held_len += len;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	if (level < log_min)
		return;
	size_t n = log_prefix(buf, sizeof(buf) - 1, level, log_component);
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - 1 - n, fmt, ap);
	va_end(ap);
	if (m > 0)
		n += (size_t)m < sizeof(buf) - 1 - n ? (size_t)m : sizeof(buf) - 2 - n;
	log_emit(buf, n);
}

void log_connector_line(enum log_level level, const char *who,
			const char *line, size_t len)
{
	char buf[8192];

	if (level < log_min)
		return;
	size_t n = log_prefix(buf, sizeof(buf) - 1, level, who);
	size_t room = sizeof(buf) - 2 - n;
	if (len > room)
		len = room; /* a log line, not data: cutting it is fine */
	memcpy(buf + n, line, len);
	/* keep the line on one line */
	for (size_t i = n; i < n + len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	log_emit(buf, n + len);
}
