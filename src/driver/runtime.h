/*
 * runtime.h - what both driver roles share: blocked signals read through a
 * signalfd, a monotonic clock, wall-clock timestamps for records, and the
 * per-role connector bookkeeping helpers.
 */
#ifndef AB_RUNTIME_H
#define AB_RUNTIME_H

#include <jansson.h>
#include <stdint.h>

#include "driver/child.h"
#include "protocol/lines.h"

/*
 * Block SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGCHLD (read them from the
 * returned signalfd) and ignore SIGPIPE.  Returns the fd or -errno.
 */
int runtime_signals(void);
/* Read one signal from the signalfd: its number, 0 if none, -errno. */
int runtime_read_signal(int sfd);

int64_t now_ms(void);           /* monotonic */
int64_t now_us(void);           /* monotonic */
int64_t wall_ms(void);          /* Unix epoch */
/* ISO 8601 UTC string for epoch ms, as a new json string. */
json_t *json_time(int64_t epoch_ms);

/*
 * Log a connector's LOG message (a line ab_scan_line() accepted as one)
 * under its name, at its level; the line is not parsed into a tree.
 */
void runtime_log_message(const char *who, const char *line, size_t len);

/*
 * Drain a connector's stderr into the log, line by line, under its name.
 * Returns 0 while open, 1 at end of file.
 */
int runtime_drain_stderr(struct child *c, struct lines *buf);

/*
 * Stop a connector: SIGTERM to its group, then SIGKILL once grace_ms has
 * passed since *term_at (set on the first call).  Call it repeatedly from
 * the loop until the child has exited.
 */
void runtime_stop_child(struct child *c, int64_t *term_at, int64_t grace_ms);

/*
 * A connector that has exited may leave processes behind that still hold
 * its stdout or stderr open.  Once grace_ms has passed since its exit was
 * seen (*exit_seen, set on the first call), SIGKILL its process group; later
 * still, give up on the pipes (close them).  Call it from the loop.
 */
void runtime_linger(struct child *c, int64_t *exit_seen, int64_t grace_ms);

/*
 * SIGKILL every process whose parent is this one except the known children,
 * and reap them, until none is left.  With PR_SET_CHILD_SUBREAPER set, this
 * covers whatever connectors started and orphaned, even in new sessions.
 */
void runtime_kill_orphans(void);

#endif
