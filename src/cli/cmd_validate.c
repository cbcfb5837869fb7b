/*
 * cmd_validate.c - `validate --schema FILE --data FILE`: check a JSON
 * document against a JSON Schema (draft-07, see validate/schema.h).
 *
 * For commands.h:   int cmd_validate(struct options *o);
 *
 * Exit codes: 0 valid (prints "valid"); 1 invalid (prints one line per
 * violation on stdout: "JSON-POINTER: reason", the root written "(root)");
 * 2 unusable input: a file missing, unreadable, too big or not JSON (stderr
 * names the file, line and column), or a schema that is not a valid
 * draft-07 schema or uses what we do not support (remote $ref, lookahead).
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "driver/spec.h"
#include "util/fs.h"
#include "util/log.h"
#include "validate/schema.h"

#define MAX_INPUT (256UL << 20) /* bytes per file */

/* Load a JSON file (any value).  NULL after logging why. */
static json_t *load_json(const char *what, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	json_error_t je;
	json_t *v;
	int r = fs_read_file(path, MAX_INPUT, &buf, &len);

	if (r < 0) {
		log_error("cannot read the %s file '%s': %s", what, path,
			  r == -EFBIG ? "larger than 256 MiB" : strerror(-r));
		return NULL;
	}
	v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (!v)
		log_error("the %s file '%s' is not valid JSON: %s (line %d, column %d)", what, path,
			  je.text, je.line, je.column);
	return v;
}

int cmd_validate(struct options *o)
{
	struct schema *s = NULL;
	struct schema_error err;
	json_t *schema = NULL, *data = NULL, *errors = NULL;
	int code = EXIT_USAGE, r;

	if (!o->schema && !o->data && o->cfg.replication)
		return cmd_validate_replication(o);
	if (!o->schema || !o->data) {
		log_error("validate needs --schema FILE and --data FILE, or --replication NAME");
		return EXIT_USAGE;
	}
	/* patterns count characters, not bytes */
	setlocale(LC_CTYPE, "C.UTF-8");
	if (!(schema = load_json("schema", o->schema)) || !(data = load_json("data", o->data)))
		goto out;
	r = schema_compile(&s, schema, &err);
	if (r < 0) {
		if (r == -ENOMEM)
			log_error("out of memory");
		else
			log_error("the schema file '%s' is not a usable schema: %s (at '%s')", o->schema,
				  err.text, err.path[0] ? err.path : "(root)");
		goto out;
	}
	if (!(errors = json_array())) {
		log_error("out of memory");
		goto out;
	}
	r = schema_validate(s, data, errors);
	if (r < 0) {
		log_error("cannot validate '%s' against '%s': %s", o->data, o->schema,
			  r == -ELOOP ? "the schema's $refs recurse too deep or need too much work for this document" : strerror(-r));
		goto out;
	}
	if (r == 0) {
		puts("valid");
		code = EXIT_OK;
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(errors, i, e) {
			const char *path = json_string_value(json_object_get(e, "path"));
			printf("%s: %s\n", path && *path ? path : "(root)",
			       json_string_value(json_object_get(e, "message")));
		}
		code = EXIT_FAILED;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("cannot write the result: %s", strerror(errno));
		code = EXIT_USAGE;
	}
out:
	schema_free(s);
	json_decref(schema);
	json_decref(data);
	json_decref(errors);
	return code;
}

/*
 * `validate --replication NAME`: check both connectors' configs against
 * their specs (what run does first).  0 valid, 1 invalid, 2 unusable input.
 */
int cmd_validate_replication(struct options *o)
{
	const struct driver_config *c = &o->cfg;
	if (!c->source_entrypoint || !c->destination_entrypoint) {
		log_error("validate --replication needs --source-entrypoint and --destination-entrypoint (or a --file) to ask the connectors for their specs");
		return EXIT_USAGE;
	}
	double timeout = c->spec_timeout > 0 ? c->spec_timeout : 30;
	int a = connector_check_config("source", c->source_entrypoint, c->source_config, timeout, true);
	int b = connector_check_config("destination", c->destination_entrypoint,
				       c->destination_config, timeout, true);
	if (a == 0 && b == 0) {
		printf("valid\n");
		return EXIT_OK;
	}
	return EXIT_FAILED;
}
