/*
 * options.h - the command line and environment of airbyte-replication-driver
 * (DESIGN §2): `--command NAME` or a subcommand word, and for every setting
 * a flag, an environment variable and a default.
 */
#ifndef AB_OPTIONS_H
#define AB_OPTIONS_H

#include <stdbool.h>

#include "driver/config.h"

struct options {
	const char *command;
	const char *store;          /* "local" (default) or "k8s" */
	const char *log_level;
	const char *file;           /* --file: a replication file */
	char *file_dir;             /* its materialised configs (removed at exit) */
	bool help, version;
	/* command-specific flags */
	const char *schema, *data;  /* validate */
	const char *cron;           /* schedule */
	long next;                  /* schedule --next N */
	const char *stream;         /* state reset --stream */
	bool json, watch;           /* progress, history */
	bool pipes_dir_given;
	struct driver_config cfg;
	int argc;                   /* the whole command line, for re-running */
	char **argv;
	int nargs;                  /* positional words after the command */
	char **args;
	/* owned strings behind cfg */
	char *owned[12];
};

/* Parse argv and the environment.  0, or -EINVAL after printing why. */
int options_parse(struct options *o, int argc, char **argv);
void options_release(struct options *o);
void options_usage(void);

#endif
