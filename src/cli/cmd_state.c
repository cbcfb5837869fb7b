/*
 * cmd_state.c - `state`: print the committed state of a replication.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "store/store.h"
#include "util/log.h"

int cmd_state(struct options *o)
{
	struct store s;
	struct ab_error err = { 0 };
	json_t *doc = NULL;
	int code = EXIT_OK;

	if (store_open(&s, o->cfg.store_path, o->cfg.replication, false) < 0) {
		log_error("out of memory");
		return EXIT_FAILED;
	}
	if (!store_exists(&s)) {
		log_error("no replication '%s' in the store '%s' (no directory '%s'); check --store-path",
			  o->cfg.replication, o->cfg.store_path, s.dir);
		code = EXIT_USAGE;
		goto out;
	}
	int r = store_load_state(&s, &doc, &err);
	if (r < 0) {
		log_error("the state file '%s' is unreadable: %s (line %d, column %d)",
			  s.state_path, r == -EBADMSG ? err.text : strerror(-r), err.line, err.column);
		code = EXIT_FAILED;
		goto out;
	}
	if (!doc)
		doc = json_pack("{s:s, s:n}", "replication", o->cfg.replication, "state");
	char *text = json_dumps(doc, JSON_INDENT(2));
	if (text) {
		puts(text);
		free(text);
	}
out:
	json_decref(doc);
	store_release(&s);
	return code;
}
