#include "driver/child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Resolve a command like execvp would, before fork (malloc is not safe after). */
static int resolve_command(const char *cmd, char *out, size_t cap)
{
	if (strchr(cmd, '/')) {
		if (snprintf(out, cap, "%s", cmd) >= (int)cap)
			return -ENAMETOOLONG;
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int first_err = -ENOENT;
	while (*path) {
		const char *end = strchrnul(path, ':');
		int dlen = (int)(end - path);
		if (snprintf(out, cap, "%.*s/%s", dlen, dlen ? path : ".", cmd) < (int)cap) {
			struct stat st;
			if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
				if (access(out, X_OK) == 0)
					return 0;
				first_err = -EACCES;
			}
		}
		path = *end ? end + 1 : end;
	}
	return first_err;
}

int child_spawn(struct child *c, const char *name, char *const argv[],
		int stdin_fd, bool capture_out)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
	char path[PATH_MAX];
	sigset_t all;
	int r;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->out_fd = c->err_fd = -1;
	r = resolve_command(argv[0], path, sizeof(path));
	if (r < 0) {
		c->exec_errno = -r;
		return r;
	}
	if ((capture_out && pipe2(out, O_CLOEXEC) < 0) || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail;
	}
	if (pid == 0) {
		/* async-signal-safe calls only from here on */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		int in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 ||
		    dup2(capture_out ? out[1] : 2, 1) < 0 || dup2(err[1], 2) < 0)
			goto child_fail;
		execv(path, argv);
child_fail:;
		int e = errno;
		while (write(rep[1], &e, sizeof(e)) < 0 && errno == EINTR)
			;
		_exit(127);
	}
	setpgid(pid, pid); /* also here: no race with an early child_signal() */
	close(rep[1]);
	rep[1] = -1;
	int e = 0;
	ssize_t n;
	while ((n = read(rep[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(rep[0]);
	rep[0] = -1;
	if (n > 0) {
		waitpid(pid, NULL, 0);
		c->exec_errno = e;
		r = -e;
		goto fail;
	}
	c->pid = pid;
	if (capture_out) {
		close(out[1]);
		c->out_fd = out[0];
	}
	close(err[1]);
	c->err_fd = err[0];
	fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	if (c->out_fd >= 0)
		fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (rep[i] >= 0)
			close(rep[i]);
	}
	return r;
}

void child_signal(struct child *c, int sig)
{
	if (c->pid > 0 && !c->exited)
		kill(-c->pid, sig);
}

void child_reap(struct child *const *known, int nknown)
{
	for (;;) {
		int status;
		struct rusage ru;
		pid_t pid = wait4(-1, &status, WNOHANG, &ru);
		if (pid <= 0)
			return;
		for (int i = 0; i < nknown; i++) {
			struct child *c = known[i];
			if (c && c->pid == pid && !c->exited) {
				c->exited = true;
				c->status = status;
				c->cpu_seconds = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
						 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
				c->max_rss_kb = ru.ru_maxrss;
			}
		}
	}
}

int child_exit_code(const struct child *c)
{
	if (WIFEXITED(c->status))
		return WEXITSTATUS(c->status);
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return 1;
}

int child_exec_failure_code(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

bool child_describe_exit(const struct child *c, char *buf, size_t cap)
{
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		return false;
	if (WIFSIGNALED(c->status))
		snprintf(buf, cap, "was killed by signal %d (%s)", WTERMSIG(c->status),
			 strsignal(WTERMSIG(c->status)));
	else
		snprintf(buf, cap, "exited with status %d", child_exit_code(c));
	return true;
}
