/*
 * cmd_schedule.c - `schedule --replication NAME --cron EXPR`: run the
 * replication on a cron schedule, as a foreground daemon.  With --next N it
 * only prints the next fire times (cmd_schedule_next.c).
 *
 * Each fire runs `run` with this command's arguments as a child process.
 * The replication's lock keeps runs from overlapping, scheduled or manual:
 * a fire that finds it held is skipped with a message.  SIGTERM/SIGINT
 * while idle stop the daemon (exit 0); during a run they are forwarded to
 * it (it stops per the usual rules) and the daemon exits with its code.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "driver/runtime.h"
#include "schedule/cron.h"
#include "util/log.h"

static void fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

/* Start `run` with our arguments (minus the schedule-only ones). */
static pid_t start_run(const struct options *o)
{
	char *argv[o->argc + 2];
	int n = 0;
	argv[n++] = "airbyte-replication-driver";
	argv[n++] = "run";
	for (int i = 1; i < o->argc; i++) {
		const char *a = o->argv[i];
		if (!strcmp(a, "--cron") || !strcmp(a, "--command") || !strcmp(a, "--next")) {
			i++;
			continue;
		}
		if (!strncmp(a, "--cron=", 7) || !strncmp(a, "--command=", 10) ||
		    !strncmp(a, "--next=", 7) || !strcmp(a, "schedule"))
			continue;
		argv[n++] = (char *)a;
	}
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return pid;
}

int cmd_schedule(struct options *o)
{
	struct cron c;
	struct cron_error err = { 0 };

	if (o->next)
		return cmd_schedule_next(o);
	if (!o->cron) {
		log_error("schedule needs --cron 'EXPR' (or a schedule in the --file)");
		return EXIT_USAGE;
	}
	if (cron_parse(&c, o->cron, &err) < 0) {
		log_error("invalid cron expression '%s': %s (column %d)", o->cron, err.text, err.column);
		return EXIT_USAGE;
	}
	if (!o->cfg.source_entrypoint || !o->cfg.destination_entrypoint) {
		log_error("schedule runs `run`: it needs --source-entrypoint and --destination-entrypoint (or a --file)");
		return EXIT_USAGE;
	}
	int sfd = runtime_signals();
	if (sfd < 0)
		return EXIT_FAILED;
	int code = EXIT_OK;
	for (;;) {
		time_t now = time(NULL), next;
		char when[64];
		if (cron_next(&c, now, &next) < 0) {
			log_error("'%s' never fires again", o->cron);
			code = EXIT_USAGE;
			break;
		}
		fmt_time(next, when, sizeof(when));
		log_info("next run at %s", when);
		int sig = 0;
		while (!sig && time(NULL) < next) {
			struct pollfd p = { .fd = sfd, .events = POLLIN };
			int64_t ms = (int64_t)(next - time(NULL)) * 1000;
			poll(&p, 1, ms > 1000 ? 1000 : (int)(ms > 0 ? ms : 0));
			int s;
			while ((s = runtime_read_signal(sfd)) > 0)
				if (s != SIGCHLD)
					sig = s;
		}
		if (sig) {
			log_info("stopped by signal %d while idle", sig);
			break;
		}
		log_info("starting the run scheduled for %s", when);
		pid_t pid = start_run(o);
		if (pid < 0) {
			log_error("cannot start a run: %s", strerror(errno));
			continue;
		}
		int status = 0, stop = 0;
		for (;;) {
			struct pollfd p = { .fd = sfd, .events = POLLIN };
			poll(&p, 1, 1000);
			int s;
			while ((s = runtime_read_signal(sfd)) > 0) {
				if (s != SIGCHLD && !stop) {
					stop = s;
					log_info("stopping the current run (signal %d)", s);
					kill(pid, s);
				}
			}
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
		}
		int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (rc == EXIT_USAGE)
			log_warn("the run scheduled for %s did not start (exit 2): see above; a run of the same replication may still be in progress",
				 when);
		else
			log_info("the run scheduled for %s ended with exit code %d", when, rc);
		if (stop) {
			code = rc;
			break;
		}
	}
	close(sfd);
	return code;
}
