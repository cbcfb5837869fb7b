/*
 * run.c - `run`: the destination and source roles as two child processes of
 * this one, on a private pipes dir, exactly as two containers would run
 * them.  This process only supervises: it forwards stop signals, reaps, and
 * makes sure that nothing of the run outlives it (it is a child subreaper,
 * so orphaned connector processes come back to it).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/control.h"
#include "driver/roles.h"
#include "driver/runtime.h"
#include "store/progress.h"
#include "store/store.h"
#include "util/log.h"

struct role_proc {
	const char *role;
	pid_t pid;
	bool exited;
	int status;
};

static pid_t spawn_role(const char *role, char **args, int nargs)
{
	char *argv[nargs + 3];
	argv[0] = "airbyte-replication-driver";
	argv[1] = (char *)role;
	for (int i = 0; i < nargs; i++)
		argv[i + 2] = args[i];
	argv[nargs + 2] = NULL;

	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	setpgid(0, 0); /* a terminal's Ctrl-C reaches us, and we forward it */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv("/proc/self/exe", argv);
	_exit(127);
}

static int role_code(const struct role_proc *r)
{
	if (WIFEXITED(r->status))
		return WEXITSTATUS(r->status);
	if (WIFSIGNALED(r->status))
		return 128 + WTERMSIG(r->status);
	return EXIT_FAILED;
}

/* A short human summary of the run just recorded, on stderr. */
static void print_summary(const struct driver_config *cfg)
{
	struct store st;
	if (store_open(&st, cfg->store_path, cfg->replication, false) < 0)
		return;
	json_t *stats = store_load_stats(&st);
	if (stats) {
		const char *outcome = json_string_value(json_object_get(stats, "outcome"));
		const char *why = json_string_value(json_object_get(stats, "failure_reason"));
		char b[32];
		fprintf(stderr, "\nreplication %s, run %lld: %s in %.2f s%s%s\n", cfg->replication,
			json_integer_value(json_object_get(stats, "run")), outcome ? outcome : "?",
			json_integer_value(json_object_get(stats, "duration_ms")) / 1000.0,
			why ? ": " : "", why ? why : "");
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(stats, "streams"), i, s) {
			progress_human_bytes((double)json_integer_value(json_object_get(s, "bytes_emitted")), b, sizeof(b));
			fprintf(stderr, "  stream %-24s %10lld records read, %10lld committed, %s\n",
				json_string_value(json_object_get(s, "name")),
				json_integer_value(json_object_get(s, "records_emitted")),
				json_integer_value(json_object_get(s, "records_committed")), b);
		}
		fprintf(stderr, "  state: %s (%lld commits this run)\n", st.state_path,
			json_integer_value(json_object_get(stats, "state_commits")));
		fprintf(stderr, "  show it: airbyte-replication-driver --command state --replication %s --store-path %s\n",
			cfg->replication, cfg->store_path);
		json_decref(stats);
	}
	store_release(&st);
}

/*
 * The live view while the roles work: on a terminal one line rewritten
 * every second, otherwise a plain line every 10 s.
 */
static void show_progress(const struct store *st, bool tty, json_t **prev)
{
	char *text = NULL;
	json_t *stats = store_load_stats(st);
	if (!stats || progress_render(stats, *prev, &text) < 0) {
		json_decref(stats);
		return;
	}
	char *nl = strchr(text, '\n');
	if (nl)
		*nl = '\0'; /* the first line sums it up */
	if (tty)
		fprintf(stderr, "\r\033[K%s", text);
	else
		fprintf(stderr, "%s\n", text);
	free(text);
	json_decref(*prev);
	*prev = stats;
}

int run_local(const struct driver_config *cfg, int argc, char **argv, bool private_pipes)
{
	char dir[4096] = "";
	int code = EXIT_FAILED;
	int sfd = runtime_signals();
	if (sfd < 0)
		return EXIT_FAILED;
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	/* the roles get our arguments minus the command, plus the pipes dir */
	char *args[argc + 4];
	int nargs = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--command") && i + 1 < argc) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "--command=", 10) || !strcmp(argv[i], "run"))
			continue;
		args[nargs++] = argv[i];
	}
	if (private_pipes) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/airbyte-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			log_error("cannot create a private pipes directory in '%s': %s",
				  tmp ? tmp : "/tmp", strerror(errno));
			close(sfd);
			return EXIT_FAILED;
		}
		args[nargs++] = "--pipes-dir";
		args[nargs++] = dir;
	}

	struct role_proc roles[2] = { { .role = "destination" }, { .role = "source" } };
	for (int i = 0; i < 2; i++) {
		roles[i].pid = spawn_role(roles[i].role, args, nargs);
		if (roles[i].pid < 0) {
			log_error("cannot start the %s role: %s", roles[i].role, strerror(errno));
			roles[i].exited = true;
			roles[i].status = EXIT_FAILED << 8;
		}
	}
	int stop_sig = 0;
	int64_t dest_end = 0;
	bool tty = isatty(STDERR_FILENO);
	int64_t next_view = now_ms() + (tty ? 1000 : 10000);
	json_t *prev = NULL;
	struct store st = { 0 };
	store_open(&st, cfg->store_path, cfg->replication, false);
	while (!roles[0].exited || !roles[1].exited) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		int64_t wait = next_view - now_ms();
		if (dest_end && wait > 100)
			wait = 100;
		if (poll(&p, 1, wait > 0 ? (int)wait : 0) < 0 && errno != EINTR)
			break;
		if (now_ms() >= next_view && st.dir) {
			show_progress(&st, tty, &prev);
			next_view = now_ms() + (tty ? 1000 : 10000);
		}
		/* the destination has the last word: a source still waiting
		 * (it never reached the destination) is not waited for long */
		if (dest_end && !roles[1].exited && now_ms() - dest_end > 2000) {
			kill(-roles[1].pid, SIGTERM);
			dest_end = now_ms() + 60000;
		}
		int sig;
		while ((sig = runtime_read_signal(sfd)) > 0) {
			if (sig != SIGCHLD) {
				stop_sig = sig;
				for (int i = 0; i < 2; i++)
					if (!roles[i].exited)
						kill(-roles[i].pid, sig);
			}
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int i = 0; i < 2; i++) {
				if (roles[i].pid == pid) {
					roles[i].exited = true;
					roles[i].status = status;
					if (i == 0)
						dest_end = now_ms();
				}
			}
		}
	}
	if (tty && prev)
		fputc('\n', stderr);
	json_decref(prev);
	store_release(&st);
	runtime_kill_orphans();
	if (dir[0]) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dir, CONTROL_SOCKET);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", dir, CONTROL_DATA_FIFO);
		unlink(path);
		rmdir(dir);
	}
	/* the destination decides the outcome; both normally agree */
	code = role_code(&roles[0]);
	if (code == 0)
		code = role_code(&roles[1]);
	if (stop_sig && code == 0)
		code = 128 + stop_sig;
	close(sfd);
	print_summary(cfg);
	return code;
}
