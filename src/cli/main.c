/*
 * main.c - airbyte-replication-driver: parse the command line, pick the
 * command from a table, return its exit code.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "driver/roles.h"
#include "store/store.h"
#include "util/log.h"

#ifndef DRIVER_VERSION
#define DRIVER_VERSION "0.1.0"
#endif

int open_replication_store(const struct options *o, struct store *s, bool create)
{
	if (store_open(s, o->cfg.store_path, o->cfg.replication, create) < 0) {
		log_error("cannot use the store '%s'", o->cfg.store_path);
		return EXIT_USAGE;
	}
	if (!store_exists(s)) {
		log_error("no replication '%s' in the store '%s' (no directory '%s'); check --store-path",
			  o->cfg.replication, o->cfg.store_path, s->dir);
		store_release(s);
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_init(struct options *o) { return init_role(&o->cfg); }
static int cmd_source(struct options *o) { return source_role(&o->cfg); }
static int cmd_destination(struct options *o) { return destination_role(&o->cfg); }

static int cmd_run(struct options *o)
{
	if (!o->cfg.source_entrypoint || !o->cfg.destination_entrypoint) {
		log_error("run needs both connectors: --source-entrypoint CMD and --destination-entrypoint CMD (or AIRBYTE_SOURCE_ENTRYPOINT and AIRBYTE_DESTINATION_ENTRYPOINT)");
		return EXIT_USAGE;
	}
	return run_local(&o->cfg, o->argc, o->argv, !o->pipes_dir_given);
}

static const struct command {
	const char *name;
	int (*fn)(struct options *o);
	bool needs_replication;
} commands[] = {
	{ "init", cmd_init, false },
	{ "source", cmd_source, true },
	{ "destination", cmd_destination, true },
	{ "run", cmd_run, true },
	{ "state", cmd_state, true },
	{ "history", cmd_history, true },
	{ "progress", cmd_progress, true },
	{ "list", cmd_list, false },
	{ "validate", cmd_validate, false },
	{ "schedule", cmd_schedule, false },
};

int main(int argc, char **argv)
{
	struct options o;
	int code;

	if (options_parse(&o, argc, argv) < 0)
		return EXIT_USAGE;
	if (o.help) {
		options_usage();
		code = EXIT_OK;
		goto out;
	}
	if (o.version) {
		printf("airbyte-replication-driver %s\n", DRIVER_VERSION);
		code = EXIT_OK;
		goto out;
	}
	if (!o.command) {
		options_usage();
		code = EXIT_USAGE;
		goto out;
	}
	const struct command *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(commands[i].name, o.command))
			cmd = &commands[i];
	log_set_context(o.cfg.replication, o.command);
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	size_t lv = 0;
	while (lv < 4 && strcmp(o.log_level, levels[lv]))
		lv++;
	if (lv == 4) {
		log_error("unknown log level '%s': use debug, info, warn or error", o.log_level);
		code = EXIT_USAGE;
		goto out;
	}
	log_set_min_level((enum log_level)lv);
	if (!cmd) {
		log_error("unknown command '%s'; see --help", o.command);
		code = EXIT_USAGE;
		goto out;
	}
	if (cmd->needs_replication && !store_valid_name(o.cfg.replication)) {
		log_error(o.cfg.replication ?
			  "invalid replication name '%s': use letters, digits, '.', '_' and '-'" :
			  "%s needs --replication NAME", o.cfg.replication ? o.cfg.replication : o.command);
		code = EXIT_USAGE;
		goto out;
	}
	if (!strcmp(o.store, "k8s") && !strcmp(o.command, "state")) {
		code = cmd_state_k8s(&o); /* returns only on failure */
		goto out;
	}
	if (strcmp(o.store, "local")) {
		log_error(!strcmp(o.store, "k8s") ?
			  "--store k8s works with the state command only (the operator keeps runs in Kubernetes)" :
			  "unknown store '%s': use --store local, or k8s for state", o.store);
		code = EXIT_USAGE;
		goto out;
	}
	code = cmd->fn(&o);
out:
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("airbyte-replication-driver: stdout");
		code = code ? code : EXIT_FAILED;
	}
	options_release(&o);
	return code;
}
