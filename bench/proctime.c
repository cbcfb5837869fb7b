/*
 * proctime [-n] OUT CMD [ARGS...]: run CMD, then write its resource use to
 * OUT as JSON and exit with its status.
 *   user, sys     CPU seconds of CMD and of every descendant it waited for
 *                 (wait4 counts reaped descendants: put `proctime -n` in
 *                 front of a role's connector to subtract the connector)
 *   maxrss_kib    wait4's peak RSS: the largest of CMD and its descendants
 *   hwm_kib       CMD's own peak RSS (VmHWM of its /proc status, sampled
 *                 every 10 ms while it runs; -n: not sampled, 0)
 *   self_user, self_sys
 *                 CPU seconds of CMD's own threads, children excluded (its
 *                 /proc stat read while it is a zombie, in clock ticks;
 *                 -n: not read, -1)
 *   nvcsw         wait4's voluntary context switches (the process slept:
 *                 mostly wake-ups), CMD and descendants
 *   wall          seconds
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long read_hwm(pid_t pid)
{
	char path[64], line[256];
	long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

/* utime and stime of a zombie's /proc stat, in seconds; -1 when unreadable */
static void read_self(pid_t pid, double *user, double *sys)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	*user = *sys = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* after "(comm)": state is field 3, utime and stime are 14 and 15 */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return;
	*user = (double)ut / (double)sysconf(_SC_CLK_TCK);
	*sys = (double)st / (double)sysconf(_SC_CLK_TCK);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void forward(int sig)
{
	/* the child is in our process group: the driver signals the group */
}

int main(int argc, char **argv)
{
	int sample = 1, arg = 1, status = 0;
	struct rusage ru;
	struct sigaction sa;
	long hwm = 0, h;
	double t0, self_user = -1, self_sys = -1;
	siginfo_t si;
	pid_t pid, w;
	FILE *out;

	if (argc > 1 && !strcmp(argv[1], "-n")) {
		sample = 0;
		arg = 2;
	}
	if (argc < arg + 2) {
		fprintf(stderr, "usage: proctime [-n] OUT CMD [ARGS...]\n");
		return 2;
	}
	/* signals meant for the command reach it through the process group */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("proctime: fork");
		return 125;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		execvp(argv[arg + 1], argv + arg + 1);
		fprintf(stderr, "proctime: %s: %s\n", argv[arg + 1], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	for (;;) {
		if (sample) {
			/* exited: read its own times while it is a zombie */
			si.si_pid = 0;
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == pid)
				read_self(pid, &self_user, &self_sys);
		}
		w = wait4(pid, &status, sample && self_user < 0 ? WNOHANG : 0, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			perror("proctime: wait4");
			return 125;
		}
		if (sample) {
			if ((h = read_hwm(pid)) > hwm)
				hwm = h;
			usleep(10000);
		}
	}
	out = fopen(argv[arg], "we");
	if (!out || fprintf(out, "{\"user\":%.6f,\"sys\":%.6f,\"maxrss_kib\":%ld,"
			    "\"hwm_kib\":%ld,\"self_user\":%.2f,\"self_sys\":%.2f,"
			    "\"nvcsw\":%ld,\"wall\":%.6f,\"status\":%d}\n",
			    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
			    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
			    ru.ru_maxrss, hwm, self_user, self_sys, ru.ru_nvcsw,
			    now() - t0, status) < 0 ||
	    fclose(out) != 0) {
		fprintf(stderr, "proctime: %s: %s\n", argv[arg], strerror(errno));
		return 125;
	}
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}
