#include "util/log.h"
#include "util/secrets.h"

#include <stdarg.h>
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

static size_t log_prefix(char *buf, size_t cap, enum log_level level,
			 const char *who)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] %s: ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000,
			 level_names[level], log_replication, who);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* One write(2) per line so that concurrent writers do not interleave;
 * secrets are masked on the way out, whatever printed them. */
static void log_emit(char *raw, size_t rawlen)
{
	char buf[8200];
	size_t len = secrets_mask(raw, rawlen, buf, sizeof(buf) - 1);
	buf[len++] = '\n';
	char *p = buf;
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, p, len);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
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
