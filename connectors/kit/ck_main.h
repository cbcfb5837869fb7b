/*
 * ck_main: the Airbyte connector command line, shared by every connector.
 *
 *   spec | check --config F | discover --config F
 *   read --config F --catalog F [--state F] | write --config F --catalog F
 *
 * ck_main() parses the arguments, loads the JSON files, installs the signal
 * handling, calls the connector's callback, flushes stdout and returns the
 * process exit code:
 *   0 success, 1 failure (a TRACE ERROR on stdout and a line on stderr),
 *   2 usage error (stderr only), 143 SIGTERM/SIGINT, 141 stdout reader gone.
 * Callbacks return 0 or a negative errno; they describe a failure with
 * ck_fail() (the first message wins).  The json_t arguments are borrowed:
 * ck_main() frees them after the callback returns.
 */
#ifndef CK_MAIN_H
#define CK_MAIN_H

#include <jansson.h>

struct ck_connector {
	const char *name;
	const char *spec_json;
	/* check must emit CONNECTION_STATUS itself; FAILED is not an error. */
	int (*check)(json_t *config);
	int (*discover)(json_t *config);
	int (*read)(json_t *config, json_t *catalog, json_t *state); /* sources */
	int (*write)(json_t *config, json_t *catalog);              /* destinations */
};

int ck_main(int argc, char **argv, const struct ck_connector *c);

/* Record the failure message; returns -EINVAL for `return ck_fail(...)`. */
int ck_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The stored failure message or NULL; ck_clear_failure() forgets it. */
const char *ck_failure(void);
void ck_clear_failure(void);

/* Nonzero once SIGTERM or SIGINT arrived; loops must stop promptly. */
int ck_terminated(void);

/* Print "<connector>: message" on stderr (diagnostics, not protocol). */
void ck_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Load a JSON file.  On failure returns NULL and writes a message naming
 * the file, line and column into err.  The result is a new reference.
 */
json_t *ck_load_json(const char *path, char *err, size_t errlen);

#endif
