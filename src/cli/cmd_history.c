/*
 * cmd_history.c - `history`: the runs of a replication, newest last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "store/store.h"
#include "util/log.h"

int cmd_history(struct options *o)
{
	struct store s;
	int code = EXIT_OK;

	if ((code = open_replication_store(o, &s, false)) != 0)
		return code;
	json_t *runs;
	int r = store_read_history(&s, &runs);
	if (r < 0) {
		log_error("cannot read '%s': %s", s.history_path, strerror(-r));
		store_release(&s);
		return EXIT_FAILED;
	}
	if (o->json) {
		char *out = json_dumps(runs, JSON_INDENT(2));
		if (out)
			puts(out);
		free(out);
	} else {
		size_t i;
		json_t *rec;
		printf("%-5s %-24s %10s %-10s %12s %12s  %s\n", "RUN", "STARTED", "DURATION",
		       "OUTCOME", "RECORDS", "BYTES", "REASON");
		json_array_foreach(runs, i, rec) {
			const char *why = json_string_value(json_object_get(rec, "failure_reason"));
			printf("%-5lld %-24s %9.2fs %-10s %12lld %12lld  %s\n",
			       json_integer_value(json_object_get(rec, "run")),
			       json_string_value(json_object_get(rec, "started_at")),
			       json_integer_value(json_object_get(rec, "duration_ms")) / 1000.0,
			       json_string_value(json_object_get(rec, "outcome")),
			       json_integer_value(json_object_get(rec, "records_committed")),
			       json_integer_value(json_object_get(rec, "bytes_emitted")), why ? why : "");
		}
	}
	json_decref(runs);
	store_release(&s);
	return code;
}
