/*
 * fuzz_schema.c - libFuzzer target for JSON Schema compilation and
 * validation (src/validate/schema.c, `validate --schema F --data F` and the
 * connector config check).
 *
 * Input: JSON documents separated by NUL bytes (at most 5 used).  The first
 * is the schema, compiled as `validate` does (meta-schema check, strict
 * patterns) and, when that fails, as the connector config check does (lax
 * patterns, no meta-schema check).  Every following document is an
 * instance validated against it; with none, the schema validates itself.
 *
 * Checked:
 *   - compilation returns 0 or one of the documented errors, with a message
 *     and no schema on failure; lax compilation never fails on a pattern;
 *   - validation returns 0, 1 or -ELOOP (or -ENOMEM); 0 comes with no error
 *     objects, 1 with at least one, each {"path", "schema_path", "message"}
 *     strings, the path a JSON pointer to a value that exists in the instance;
 *   - validating without an error list gives the same answer (it only stops
 *     earlier: -ELOOP there means -ELOOP with the list too);
 *   - the instance is not changed; schema_json_equal() is reflexive;
 *   - schema_validate_connector_config() agrees on its return domain;
 *   - schema_free() frees everything (LeakSanitizer).
 * Runaway recursion ($ref loops, deep documents) shows up as a stack
 * overflow, exponential work as a libFuzzer timeout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/schema.h"

#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "fuzz_schema: check failed: %s (line %d)\n", #c, \
				__LINE__);                                       \
			abort();                                                 \
		}                                                                \
	} while (0)

#define MAX_DOCS 5

/* The value a JSON pointer designates in v, or NULL. */
static const json_t *resolve(const json_t *v, const char *ptr)
{
	char tok[512];

	if (*ptr && *ptr != '/')
		return NULL;
	while (v && *ptr == '/') {
		size_t n = 0;
		for (ptr++; *ptr && *ptr != '/'; ptr++) {
			char c = *ptr;
			if (c == '~') {
				CHECK(ptr[1] == '0' || ptr[1] == '1'); /* escaped properly */
				c = *++ptr == '0' ? '~' : '/';
			}
			if (n + 1 >= sizeof(tok))
				return v; /* a very long key: accept */
			tok[n++] = c;
		}
		tok[n] = '\0';
		if (json_is_object(v)) {
			v = json_object_get(v, tok);
		} else if (json_is_array(v)) {
			char *end;
			unsigned long i = strtoul(tok, &end, 10);
			v = *tok && !*end ? json_array_get(v, i) : NULL;
		} else {
			v = NULL;
		}
	}
	return v;
}

static void check_errors(const json_t *errors, const json_t *inst, int r)
{
	size_t i;
	json_t *e;

	if (r == 0)
		CHECK(json_array_size(errors) == 0);
	if (r == 1)
		CHECK(json_array_size(errors) > 0);
	json_array_foreach(errors, i, e) {
		const json_t *path = json_object_get(e, "path");
		const json_t *spath = json_object_get(e, "schema_path");
		const json_t *msg = json_object_get(e, "message");
		CHECK(json_is_string(path) && json_is_string(spath) && json_is_string(msg));
		CHECK(json_string_length(msg) > 0);
		const char *sp = json_string_value(spath);
		CHECK(!*sp || *sp == '/');
		if (resolve(inst, json_string_value(path)) == NULL)
			fprintf(stderr, "fuzz_schema: error path '%s' is not in the instance\n",
				json_string_value(path));
		CHECK(resolve(inst, json_string_value(path)) != NULL);
	}
}

static void check_instance(const struct schema *s, const json_t *schema_doc, const json_t *inst,
			   bool first)
{
	json_t *copy = json_deep_copy(inst);
	json_t *errors = json_array();
	if (!copy || !errors)
		goto out;

	int a = schema_validate(s, inst, errors);
	CHECK(a == 0 || a == 1 || a == -ELOOP || a == -ENOMEM);
	if (a != -ENOMEM)
		check_errors(errors, inst, a);
	int b = schema_validate(s, inst, NULL);
	CHECK(b == 0 || b == 1 || b == -ELOOP || b == -ENOMEM);
	if (a >= 0 && b != -ENOMEM)
		CHECK(a == b);
	if (b == -ELOOP)
		CHECK(a == -ELOOP || a == -ENOMEM);

	CHECK(json_equal(copy, inst)); /* validation never changes the instance */
	CHECK(schema_json_equal(inst, inst) == 1);
	CHECK(schema_json_equal(inst, copy) == 1);

	if (first) {
		json_t *errs = json_array();
		if (errs) {
			int c = schema_validate_connector_config(schema_doc, inst, errs);
			CHECK(c == 0 || c == 1 || c == -ELOOP || c == -ENOMEM || c == -EINVAL ||
			      c == -ENOENT);
			if (c == 0)
				CHECK(json_array_size(errs) == 0);
			else if (c == 1 || c == -EINVAL || c == -ENOENT)
				CHECK(json_array_size(errs) > 0); /* a compile error is reported too */
			json_decref(errs);
		}
	}
out:
	json_decref(copy);
	json_decref(errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *docs[MAX_DOCS] = { 0 };
	size_t n = 0;
	const uint8_t *p = data, *end = data + size;

	while (n < MAX_DOCS) {
		const uint8_t *q = memchr(p, 0, (size_t)(end - p));
		size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
		json_error_t je;
		json_t *v = json_loadb((const char *)p, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
				       &je);
		if (!v && n == 0)
			return 0;
		if (v)
			docs[n++] = v;
		if (!q)
			break;
		p = q + 1;
	}

	struct schema *s = (struct schema *)1;
	struct schema_error err;
	int r = schema_compile(&s, docs[0], &err);
	if (r < 0) {
		CHECK(r == -EINVAL || r == -ENOENT || r == -ENOTSUP || r == -ENOMEM);
		CHECK(s == NULL);
		CHECK(r == -ENOMEM || err.text[0] != '\0');
		r = schema_compile_flags(&s, docs[0], SCHEMA_LAX_PATTERNS | SCHEMA_NO_META_CHECK, &err);
		if (r < 0) {
			CHECK(r == -EINVAL || r == -ENOENT || r == -ENOMEM);
			CHECK(s == NULL);
			CHECK(r == -ENOMEM || err.text[0] != '\0');
		}
	}
	if (r == 0) {
		CHECK(s != NULL);
		if (n == 1)
			check_instance(s, docs[0], docs[0], true);
		for (size_t i = 1; i < n; i++)
			check_instance(s, docs[0], docs[i], i == 1);
	}
	schema_free(s);
	for (size_t i = 0; i < n; i++)
		json_decref(docs[i]);
	return 0;
}
