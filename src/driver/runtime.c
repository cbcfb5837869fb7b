#include "driver/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "protocol/member.h"
#include "util/log.h"

int runtime_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int runtime_read_signal(int sfd)
{
	struct signalfd_siginfo si;
	ssize_t n = read(sfd, &si, sizeof(si));
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n == sizeof(si) ? (int)si.ssi_signo : 0;
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *json_time(int64_t epoch_ms)
{
	char buf[64];
	struct tm tm;
	time_t t = (time_t)(epoch_ms / 1000);
	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (int)(epoch_ms % 1000));
	return json_string(buf);
}

/* A LOG message's level (FATAL, ERROR, WARN, INFO, DEBUG, TRACE) as ours. */
static enum log_level airbyte_level(const char *level)
{
	if (!strcmp(level, "ERROR") || !strcmp(level, "FATAL"))
		return LOG_ERROR;
	if (!strcmp(level, "WARN"))
		return LOG_WARN;
	if (!strcmp(level, "DEBUG") || !strcmp(level, "TRACE"))
		return LOG_DEBUG;
	return LOG_INFO;
}

void runtime_log_message(const char *who, const char *line, size_t len)
{
	char message[8192], level[16];
	const char *log, *v;
	size_t log_len, n;
	long m;

	if (!json_member(line, len, "log", &log, &log_len) ||
	    !json_member(log, log_len, "message", &v, &n) ||
	    (m = json_member_string(v, n, message, sizeof(message))) < 0)
		return;
	enum log_level lv = LOG_INFO;
	if (json_member(log, log_len, "level", &v, &n) &&
	    json_member_string(v, n, level, sizeof(level)) >= 0)
		lv = airbyte_level(level);
	log_connector_line(lv, who, message, (size_t)m);
}

int runtime_drain_stderr(struct child *c, struct lines *buf)
{
	const char *line;
	size_t len;
	for (;;) {
		ssize_t n = lines_fill(buf, c->err_fd);
		if (n == -E2BIG) {
			/* a log line, not data: show what fits and move on */
			log_connector_line(LOG_INFO, c->name, buf->buf + buf->start,
					   buf->end - buf->start);
			buf->start = buf->end = buf->scanned = 0;
			continue;
		}
		while (lines_next(buf, &line, &len) > 0)
			log_connector_line(LOG_INFO, c->name, line, len);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
			close(c->err_fd);
			c->err_fd = -1;
			return 1;
		}
		if (n < 0)
			return 0;
	}
}

void runtime_stop_child(struct child *c, int64_t *term_at, int64_t grace_ms)
{
	if (c->pid <= 0)
		return;
	if (c->exited) {
		/* the connector is gone; what it left holding its pipes goes too */
		if (c->out_fd >= 0 || c->err_fd >= 0)
			kill(-c->pid, SIGKILL);
		return;
	}
	int64_t now = now_ms();
	if (*term_at == 0) {
		*term_at = now;
		child_signal(c, SIGTERM);
	} else if (now - *term_at >= grace_ms) {
		child_signal(c, SIGKILL);
	}
}

void runtime_linger(struct child *c, int64_t *exit_seen, int64_t grace_ms)
{
	if (c->pid <= 0 || !c->exited || (c->out_fd < 0 && c->err_fd < 0))
		return;
	int64_t now = now_ms();
	if (*exit_seen == 0) {
		*exit_seen = now;
		return;
	}
	if (now - *exit_seen >= grace_ms) {
		if (now - *exit_seen < grace_ms + 100)
			log_warn("%s exited, but processes it started still hold its output open: killing them",
				 c->name);
		kill(-c->pid, SIGKILL);
	}
	if (now - *exit_seen >= grace_ms + 2000) {
		/* a process that left the group still holds them: stop waiting */
		if (c->out_fd >= 0)
			close(c->out_fd);
		if (c->err_fd >= 0)
			close(c->err_fd);
		c->out_fd = c->err_fd = -1;
	}
}

void runtime_kill_orphans(void)
{
	pid_t self = getpid();
	for (int pass = 0; pass < 20; pass++) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		int found = 0;
		if (!d)
			return;
		while ((e = readdir(d))) {
			char path[64], buf[512];
			pid_t pid = (pid_t)atoi(e->d_name);
			if (pid <= 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n <= 0)
				continue;
			buf[n] = '\0';
			/* "pid (name) S ppid ...": the name may hold spaces and ')' */
			char *rp = strrchr(buf, ')');
			long ppid = rp && rp[1] == ' ' && rp[2] && rp[3] == ' ' ? strtol(rp + 4, NULL, 10) : 0;
			if (ppid == self) {
				kill(pid, SIGKILL);
				found++;
			}
		}
		closedir(d);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!found)
			return;
		usleep(10000); /* their own children are ours now: look again */
	}
}
