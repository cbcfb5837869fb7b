/*
 * cmd_progress.c - `progress`: what a replication is doing right now, from
 * another terminal (it reads the stats the destination driver rewrites
 * every second).  --json for scripts, --watch to follow until the run ends.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "store/progress.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/log.h"

/* A run is live when its stats say so and the lock's holder is alive. */
static bool run_is_live(const struct store *s, const json_t *stats)
{
	const char *status = json_string_value(json_object_get(stats, "status"));
	char *text = NULL;
	if (!status || strcmp(status, "running"))
		return false;
	if (fs_read_file(s->lock_path, 64, &text, NULL) < 0)
		return false;
	long pid = strtol(text, NULL, 10);
	free(text);
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int cmd_progress(struct options *o)
{
	struct store s;
	json_t *prev = NULL;
	int code = EXIT_OK;
	bool tty = isatty(STDOUT_FILENO);

	if ((code = open_replication_store(o, &s, false)) != 0)
		return code;
	for (;;) {
		json_t *stats = store_load_stats(&s);
		if (!stats) {
			log_error("no stats yet for '%s' ('%s'): it has never run", o->cfg.replication,
				  s.stats_path);
			code = EXIT_FAILED;
			break;
		}
		bool live = run_is_live(&s, stats);
		if (!live && !strcmp(json_string_value(json_object_get(stats, "status")) ?: "", "running"))
			json_object_set_new(stats, "status", json_string("interrupted"));
		if (o->json) {
			json_t *fig = progress_figures(stats, prev);
			json_object_set_new(fig, "live", json_boolean(live));
			char *text = json_dumps(fig, o->watch ? JSON_COMPACT : JSON_INDENT(2));
			if (text)
				puts(text);
			free(text);
			json_decref(fig);
		} else {
			char *text = NULL;
			if (progress_render(stats, prev, &text) == 0) {
				if (o->watch && tty)
					fputs("\033[H\033[2J", stdout);
				fputs(text, stdout);
				if (!live)
					printf("(not running)\n");
			}
			free(text);
		}
		fflush(stdout);
		json_decref(prev);
		prev = stats;
		if (!o->watch || !live)
			break;
		sleep(1);
	}
	json_decref(prev);
	store_release(&s);
	return code;
}
