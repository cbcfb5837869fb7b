/*
 * child.h - running a connector: spawn it in its own process group with
 * pipes for stdout/stderr, learn at once whether exec failed, signal the
 * whole group, remember how it ended.
 */
#ifndef AB_CHILD_H
#define AB_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct child {
	const char *name;    /* "source-connector", ... (borrowed) */
	pid_t pid;           /* also its process group id; 0 when not running */
	int out_fd;          /* read end of its stdout, or -1 */
	int err_fd;          /* read end of its stderr */
	bool exited;
	int status;          /* waitpid status once exited */
	int exec_errno;      /* errno of a failed exec, 0 otherwise */
	double cpu_seconds;  /* user + system time, once exited */
	long max_rss_kb;     /* peak resident memory, once exited */
};

/*
 * Start argv[0] (searched in PATH) with stdin_fd as its stdin (-1 for
 * /dev/null).  When capture_out is false its stdout is the driver's stderr.
 * The child gets SIGKILL if the driver dies (PR_SET_PDEATHSIG).
 * Returns 0; -ENOENT/-EACCES/... (c->exec_errno set) when it cannot be
 * executed; other -errno when the driver could not fork.
 */
int child_spawn(struct child *c, const char *name, char *const argv[],
		int stdin_fd, bool capture_out);

/* Send sig to the child's process group (no-op when it has exited). */
void child_signal(struct child *c, int sig);

/*
 * Reap every exited child (the driver may be PID 1 and adopt orphans),
 * recording the status of c when it is among them.  Never blocks.
 */
void child_reap(struct child *const *known, int nknown);

/* Exit code of a finished child: its code, or 128+signal. */
int child_exit_code(const struct child *c);

/*
 * Describe how a finished child ended ("exited with status 3", "was
 * killed by signal 9") into buf; returns false when it exited with 0.
 */
bool child_describe_exit(const struct child *c, char *buf, size_t cap);

/* Shell convention for exec failures: 127 not found, 126 otherwise. */
int child_exec_failure_code(int err);

#endif
