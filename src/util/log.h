/*
 * log.h - one-line messages on stderr, for the command layer only.
 *
 * Every line carries a UTC timestamp, a level, the replication name and the
 * component ("source", "destination", "source-connector", ...), so that the
 * interleaved output of two containers stays readable.
 */
#ifndef AB_LOG_H
#define AB_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set once at start-up; the strings must outlive all logging. */
void log_set_context(const char *replication, const char *component);
void log_set_min_level(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Between log_hold() and log_release() this thread's lines are gathered
 * and written a few KiB at a time: for loops that may log a line for each
 * line of input, which must not cost a system call each.
 */
void log_hold(void);
void log_release(void);
/* A line printed by a connector, under the connector's name. */
void log_connector_line(enum log_level level, const char *who,
			const char *line, size_t len);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
