/*
 * cmd_list.c - `list`: the replications in a store, with their last run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "store/store.h"
#include "util/log.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The last run record, or NULL when there is none. */
static json_t *last_run(const struct store *s)
{
	json_t *runs = NULL, *last = NULL;
	if (store_read_history(s, &runs) == 0)
		last = json_incref(json_array_get(runs, json_array_size(runs) - 1));
	json_decref(runs);
	return last;
}

int cmd_list(struct options *o)
{
	DIR *d = opendir(o->cfg.store_path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (!d) {
		log_error("cannot open the store '%s': %s; check --store-path", o->cfg.store_path,
			  strerror(errno));
		return EXIT_USAGE;
	}
	while ((e = readdir(d))) {
		struct store s;
		if (!store_valid_name(e->d_name) || store_open(&s, o->cfg.store_path, e->d_name, false) < 0)
			continue;
		if (store_exists(&s)) {
			char **nn = realloc(names, (n + 1) * sizeof(*names));
			if (nn) {
				names = nn;
				names[n++] = strdup(e->d_name);
			}
		}
		store_release(&s);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);

	json_t *all = json_array();
	for (size_t i = 0; i < n; i++) {
		struct store s;
		struct ab_error err = { 0 };
		json_t *doc = NULL;
		store_open(&s, o->cfg.store_path, names[i], false);
		int r = store_load_state(&s, &doc, &err);
		json_t *run = last_run(&s);
		json_t *row = json_pack("{s:s, s:s, s:O?, s:O?, s:O?, s:O?}", "replication", names[i],
					"state", r < 0 ? "corrupt" : json_string_value(json_object_get(doc, "type")) ?: "NONE",
					"runs", json_object_get(run, "run"),
					"last_outcome", json_object_get(run, "outcome"),
					"last_started_at", json_object_get(run, "started_at"),
					"last_failure", json_object_get(run, "failure_reason"));
		json_array_append_new(all, row);
		json_decref(doc);
		json_decref(run);
		store_release(&s);
		free(names[i]);
	}
	free(names);
	if (o->json) {
		char *text = json_dumps(all, JSON_INDENT(2));
		if (text)
			puts(text);
		free(text);
	} else {
		size_t i;
		json_t *row;
		printf("%-32s %-8s %5s %-10s %s\n", "REPLICATION", "STATE", "RUNS", "LAST", "STARTED");
		json_array_foreach(all, i, row)
			printf("%-32s %-8s %5lld %-10s %s\n", json_string_value(json_object_get(row, "replication")),
			       json_string_value(json_object_get(row, "state")),
			       json_integer_value(json_object_get(row, "runs")),
			       json_string_value(json_object_get(row, "last_outcome")) ?: "-",
			       json_string_value(json_object_get(row, "last_started_at")) ?: "-");
	}
	json_decref(all);
	return EXIT_OK;
}
