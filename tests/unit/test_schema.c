/*
 * test_schema.c - unit tests for the draft-07 validator (validate/schema.c),
 * and the official JSON-Schema-Test-Suite's draft7 tests as a conformance
 * gate: fails below 95%, writes a Markdown report (SCHEMA_SUITE_REPORT, by
 * default build/tests/draft7-report.md).  The suite comes from Debian's
 * json-schema-test-suite package (JSON_SCHEMA_TEST_SUITE overrides the
 * directory); without it the conformance test is skipped with a message.
 */
#include <dirent.h>
#include <errno.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "validate/schema.h"

#define SUITE_DIR "/usr/share/json-schema-test-suite/tests/draft7"
#define MIN_PASS_PERCENT 95.0

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
	if (!v)
		fail_msg("bad test JSON '%s': %s", text, je.text);
	return v;
}

/* Validate data against schema (both JSON text); return 0/1, errors in *errs. */
static int check(const char *schema, const char *data, json_t **errs)
{
	struct schema *s = NULL;
	struct schema_error err;
	json_t *sd = parse(schema), *dd = parse(data), *e = json_array();
	int r = schema_compile(&s, sd, &err);
	if (r < 0)
		fail_msg("'%s' does not compile: %s at '%s'", schema, err.text, err.path);
	r = schema_validate(s, dd, e);
	schema_free(s);
	json_decref(sd);
	json_decref(dd);
	if (errs)
		*errs = e;
	else
		json_decref(e);
	return r;
}

#define VALID(schema, data) \
	do { \
		json_t *e_; \
		if (check(schema, data, &e_) != 0) \
			fail_msg("%s should be valid against %s: %s", data, schema, \
				 json_dumps(e_, JSON_COMPACT)); \
		json_decref(e_); \
	} while (0)
#define INVALID(schema, data) \
	do { \
		if (check(schema, data, NULL) != 1) \
			fail_msg("%s should be invalid against %s", data, schema); \
	} while (0)

static int compile_error(const char *schema, unsigned flags, struct schema_error *err)
{
	struct schema *s = NULL;
	json_t *sd = parse(schema);
	int r = schema_compile_flags(&s, sd, flags, err);
	schema_free(s);
	json_decref(sd);
	return r;
}

static void test_types(void **st)
{
	VALID("{\"type\":\"integer\"}", "1");
	VALID("{\"type\":\"integer\"}", "1.0");
	INVALID("{\"type\":\"integer\"}", "1.5");
	VALID("{\"type\":\"number\"}", "1");
	VALID("{\"type\":[\"string\",\"null\"]}", "null");
	INVALID("{\"type\":[\"string\",\"null\"]}", "0");
	INVALID("{\"type\":\"boolean\"}", "0");
	VALID("true", "{\"a\":1}");
	INVALID("false", "null");
}

static void test_error_paths(void **st)
{
	json_t *e;
	const char *schema =
		"{\"properties\":{\"a\":{\"type\":\"array\",\"items\":{\"properties\":"
		"{\"b~/\":{\"type\":\"integer\"}}}}},\"required\":[\"z\"]}";
	assert_int_equal(check(schema, "{\"a\":[{}, {\"b~/\":\"x\"}]}", &e), 1);
	assert_int_equal(json_array_size(e), 2);
	json_t *first = json_array_get(e, 0), *second = json_array_get(e, 1);
	assert_string_equal(json_string_value(json_object_get(first, "path")), "");
	assert_string_equal(json_string_value(json_object_get(first, "schema_path")), "/required");
	assert_non_null(strstr(json_string_value(json_object_get(first, "message")), "'z'"));
	assert_string_equal(json_string_value(json_object_get(second, "path")), "/a/1/b~0~1");
	assert_string_equal(json_string_value(json_object_get(second, "schema_path")),
			    "/properties/a/items/properties/b~0~1/type");
	assert_string_equal(json_string_value(json_object_get(second, "message")),
			    "expected integer, got string");
	json_decref(e);

	/* additionalProperties points at the offending property */
	assert_int_equal(check("{\"properties\":{\"a\":true},\"additionalProperties\":false}",
			       "{\"a\":1,\"b\":2}", &e), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(e, 0), "path")), "/b");
	json_decref(e);
}

static void test_strings(void **st)
{
	VALID("{\"maxLength\":2}", "\"\\u00e9\\u00e9\"");        /* 2 code points, 4 bytes */
	INVALID("{\"minLength\":3}", "\"\\ud83d\\ude00\\u00e9\"");
	VALID("{\"pattern\":\"^\\\\d{4}-\\\\d{2}$\"}", "\"2024-02\"");
	INVALID("{\"pattern\":\"^\\\\d{4}-\\\\d{2}$\"}", "\"2024-2\"");
	VALID("{\"pattern\":\"^\\\\w+@\\\\w+\\\\.com$\"}", "\"a_1@b.com\"");
	INVALID("{\"pattern\":\"^\\\\w+@\\\\w+\\\\.com$\"}", "\"a-1@b.com\"");
	VALID("{\"pattern\":\"^[\\\\w.\\\\-]+$\"}", "\"a.b-c\"");
	INVALID("{\"pattern\":\"^[\\\\w.\\\\-]+$\"}", "\"a b\"");
	VALID("{\"pattern\":\"^(?:https?)\\\\/\\\\/\\\\S+$\"}", "\"http//x\"");
	INVALID("{\"pattern\":\"^\\\\s*$\"}", "\"x\"");
	VALID("{\"pattern\":\"[\\\\]]\"}", "\"a]\"");
	VALID("{\"pattern\":\"^a{2}b{\"}", "\"aab{\"");
	VALID("{\"pattern\":\"^.+?$\"}", "\"xyz\"");
	VALID("{\"pattern\":\"^\\\\u0041$\"}", "\"A\"");
	/* patterns are searches, not anchored */
	VALID("{\"pattern\":\"b\"}", "\"abc\"");
	/* not strings: pattern does not apply */
	VALID("{\"pattern\":\"^x$\"}", "1");
}

static void test_patterns_unsupported(void **st)
{
	struct schema_error err;
	assert_int_equal(compile_error("{\"pattern\":\"^(?!foo)\"}", 0, &err), -ENOTSUP);
	assert_non_null(strstr(err.text, "lookahead"));
	assert_string_equal(err.path, "");
	assert_int_equal(compile_error("{\"properties\":{\"x\":{\"pattern\":\"(?=a)\"}}}", 0, &err),
			 -ENOTSUP);
	assert_string_equal(err.path, "/properties/x");
	assert_int_equal(compile_error("{\"pattern\":\"(?=a)\"}", SCHEMA_LAX_PATTERNS, &err), 0);
	assert_int_equal(compile_error("{\"pattern\":\"a(\"}", 0, &err), -EINVAL);
	assert_int_equal(compile_error("{\"pattern\":\"[z-a]\"}", 0, &err), -EINVAL);
}

/*
 * Found with tests/fuzz/fuzz_schema.c (reproducers in tests/fuzz/crashes/
 * schema-*): patterns that make regcomp()/regexec() run away, and $refs
 * that make validation exponential.  alarm(): a regression hangs, and the
 * test binary dies of SIGALRM instead of blocking the suite.
 */
static void test_fuzz_regressions(void **st)
{
	struct schema_error err;
	char schema[1024];

	alarm(60);
	/* a back-reference on which glibc's regexec() overflows the stack */
	assert_int_equal(compile_error("{\"pattern\":\"(|)(\\\\1\\\\1)*\"}", 0, &err), -ENOTSUP);
	assert_non_null(strstr(err.text, "back-references"));
	/* lax (connector specs): such a pattern matches everything */
	json_t *sd = parse("{\"pattern\":\"(|)(\\\\1\\\\1)*\"}"), *inst = parse("\"abc\"");
	struct schema *s = NULL;
	assert_int_equal(schema_compile_flags(&s, sd, SCHEMA_LAX_PATTERNS, &err), 0);
	assert_int_equal(schema_validate(s, inst, NULL), 0);
	schema_free(s);
	json_decref(sd);
	json_decref(inst);

	/* an escaped non-ASCII character (U+00D8) is itself; in [...] it was
	 * split and the rest read past the end of the pattern */
	VALID("{\"pattern\":\"^[\\\\d\\\\\xc3\x98]$\"}", "\"\xc3\x98\"");
	VALID("{\"pattern\":\"^[\\\\d\\\\\xc3\x98]$\"}", "\"5\"");
	INVALID("{\"pattern\":\"^[\\\\d\\\\\xc3\x98]$\"}", "\"x\"");
	VALID("{\"pattern\":\"^\\\\\xc3\x98$\"}", "\"\xc3\x98\"");
	assert_int_equal(compile_error("{\"pattern\":\"[\\\\d\\\\\xd8\xa0\"}", 0, &err), -EINVAL);
	assert_non_null(strstr(err.text, "unterminated"));

	/* stacked quantifiers (regcomp: minutes), nested repetitions (a GiB) */
	int n = snprintf(schema, sizeof(schema), "{\"pattern\":\"^(g");
	for (int i = 0; i < 200; i++)
		schema[n++] = '*';
	snprintf(schema + n, sizeof(schema) - (size_t)n, ")*\"}");
	assert_int_equal(compile_error(schema, 0, &err), -ENOTSUP);
	assert_non_null(strstr(err.text, "too large"));
	assert_int_equal(compile_error("{\"pattern\":\"((a{1,100}){1,100}){1,100}\"}", 0, &err),
			 -ENOTSUP);
	assert_int_equal(compile_error("{\"pattern\":\"^[a-z]{1,32767}$\"}", 0, &err), -ENOTSUP);
	/* ordinary repetitions still compile */
	VALID("{\"pattern\":\"^[a-z]{1,1000}$\"}", "\"abc\"");
	INVALID("{\"pattern\":\"^[a-z]{1,1000}$\"}", "\"ab1\"");
	VALID("{\"pattern\":\"^(a*b?)*(c{2,3}){10}$\"}", "\"aabccccccccccccccccccccc\"");
	VALID("{\"pattern\":\"^\\\\d{4}-\\\\d{2}-\\\\d{2}T\\\\d{2}:\\\\d{2}:\\\\d{2}(\\\\.\\\\d+)?Z$\"}",
	      "\"2024-01-02T03:04:05.678Z\"");

	/* $refs sharing subschemas: 2^40 paths through nested arrays */
	sd = parse("{\"type\":\"array\",\"anyOf\":[{\"items\":{\"$ref\":\"#\"}},"
		   "{\"items\":{\"$ref\":\"#\"}}]}");
	inst = parse("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	assert_int_equal(schema_compile(&s, sd, &err), 0);
	assert_int_equal(schema_validate(s, inst, NULL), -ELOOP);
	json_t *errors = json_array();
	assert_int_equal(schema_validate(s, inst, errors), -ELOOP);
	json_decref(errors);
	json_decref(inst);
	inst = parse("[[[[1]]]]"); /* a few levels are fine */
	assert_int_equal(schema_validate(s, inst, NULL), 1);
	json_decref(inst);
	schema_free(s);
	json_decref(sd);
	alarm(0);
}

static void test_numbers_and_equality(void **st)
{
	VALID("{\"multipleOf\":0.01}", "19.99");
	INVALID("{\"multipleOf\":0.01}", "19.995");
	VALID("{\"multipleOf\":3}", "9007199254740993"); /* 2^53 + 1: exact */
	INVALID("{\"multipleOf\":3}", "9007199254740991");
	INVALID("{\"exclusiveMaximum\":3}", "3");
	VALID("{\"maximum\":3}", "3.0");
	VALID("{\"enum\":[1,\"a\"]}", "1.0");
	VALID("{\"const\":{\"a\":[1,2]}}", "{\"a\":[1.0,2]}");
	INVALID("{\"uniqueItems\":true}", "[1, 1.0]");
	INVALID("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2}, {\"b\":2,\"a\":1}]");
	VALID("{\"uniqueItems\":true}", "[0, false, null, \"0\", [0], {}]");
}

static void test_refs(void **st)
{
	/* escaped pointers */
	const char *esc = "{\"definitions\":{\"a/b\":{\"type\":\"integer\"},\"c~d\":{\"type\":\"string\"},"
			  "\"e%f\":{\"type\":\"null\"}},\"properties\":{"
			  "\"x\":{\"$ref\":\"#/definitions/a~1b\"},"
			  "\"y\":{\"$ref\":\"#/definitions/c~0d\"},"
			  "\"z\":{\"$ref\":\"#/definitions/e%25f\"}}}";
	VALID(esc, "{\"x\":1,\"y\":\"s\",\"z\":null}");
	INVALID(esc, "{\"x\":\"1\"}");
	INVALID(esc, "{\"y\":1}");
	INVALID(esc, "{\"z\":1}");
	/* recursion through "#" */
	const char *tree = "{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\","
			   "\"items\":{\"$ref\":\"#\"}}},\"additionalProperties\":false}";
	VALID(tree, "{\"kids\":[{\"kids\":[]},{}]}");
	INVALID(tree, "{\"kids\":[{\"kids\":[{\"x\":1}]}]}");
	/* $id base URIs and plain-name fragments */
	const char *ids = "{\"$id\":\"http://example.com/root.json\",\"definitions\":{"
			  "\"A\":{\"$id\":\"#foo\",\"type\":\"integer\"},"
			  "\"B\":{\"$id\":\"other/b.json\",\"definitions\":{\"X\":{\"type\":\"string\"}},"
			  "\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/X\"}},"
			  "\"C\":{\"$id\":\"ignored/\",\"$ref\":\"other/b.json\"}},"  /* draft-07: $id next to $ref is ignored */
			  "\"properties\":{\"a\":{\"$ref\":\"#foo\"},"
			  "\"b\":{\"$ref\":\"other/b.json\"},"
			  "\"c\":{\"$ref\":\"http://example.com/other/../root.json#/definitions/A\"},"
			  "\"d\":{\"$ref\":\"other/b.json#/definitions/X\"}}}";
	VALID(ids, "{\"a\":1,\"b\":[\"x\"],\"c\":2,\"d\":\"s\"}");
	INVALID(ids, "{\"a\":\"1\"}");
	INVALID(ids, "{\"b\":[1]}");
	INVALID(ids, "{\"c\":\"2\"}");
	INVALID(ids, "{\"d\":2}");
	/* the meta-schema is built in */
	VALID("{\"$ref\":\"http://json-schema.org/draft-07/schema#\"}", "{\"type\":\"string\"}");
	INVALID("{\"$ref\":\"http://json-schema.org/draft-07/schema#\"}", "{\"type\":12}");
}

static void test_ref_errors(void **st)
{
	struct schema_error err;
	assert_int_equal(compile_error("{\"$ref\":\"http://example.com/x.json\"}", 0, &err), -ENOENT);
	assert_non_null(strstr(err.text, "remote references are not supported"));
	assert_int_equal(compile_error("{\"properties\":{\"a\":{\"$ref\":\"#/definitions/nope\"}}}",
				       0, &err), -ENOENT);
	assert_non_null(strstr(err.text, "no such location"));
	assert_string_equal(err.path, "/properties/a");
	assert_int_equal(compile_error("{\"$ref\":\"#nope\"}", 0, &err), -ENOENT);

	/* a loop that consumes no instance: -ELOOP, not a crash */
	struct schema *s = NULL;
	json_t *sd = parse("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},"
			   "\"b\":{\"allOf\":[{\"$ref\":\"#/definitions/a\"}]}},\"$ref\":\"#/definitions/a\"}");
	json_t *inst = parse("1");
	assert_int_equal(schema_compile(&s, sd, &err), 0);
	assert_int_equal(schema_validate(s, inst, NULL), -ELOOP);
	schema_free(s);
	json_decref(sd);
	json_decref(inst);
}

static void test_invalid_schema(void **st)
{
	struct schema_error err;
	assert_int_equal(compile_error("{\"type\":\"strin\"}", 0, &err), -EINVAL);
	assert_string_equal(err.path, "/type");
	assert_int_equal(compile_error("{\"properties\":{\"a\":{\"minLength\":-1}}}", 0, &err), -EINVAL);
	assert_string_equal(err.path, "/properties/a/minLength");
	assert_int_equal(compile_error("[]", 0, &err), -EINVAL);
	assert_int_equal(compile_error("{\"required\":\"a\"}", 0, &err), -EINVAL);
	/* without the meta check, ill-typed keywords are ignored */
	assert_int_equal(compile_error("{\"required\":\"a\"}", SCHEMA_NO_META_CHECK, &err), 0);
}

static void test_combinators(void **st)
{
	const char *s = "{\"if\":{\"properties\":{\"k\":{\"const\":\"a\"}}},"
			"\"then\":{\"required\":[\"a\"]},\"else\":{\"required\":[\"b\"]}}";
	VALID(s, "{\"k\":\"a\",\"a\":1}");
	INVALID(s, "{\"k\":\"a\",\"b\":1}");
	VALID(s, "{\"k\":\"x\",\"b\":1}");
	VALID("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1");
	INVALID("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3");
	INVALID("{\"not\":{\"type\":\"null\"}}", "null");
	VALID("{\"dependencies\":{\"a\":[\"b\"],\"c\":{\"required\":[\"d\"]}}}", "{\"a\":1,\"b\":2}");
	INVALID("{\"dependencies\":{\"a\":[\"b\"],\"c\":{\"required\":[\"d\"]}}}", "{\"c\":1}");
	INVALID("{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}");
	INVALID("{\"contains\":{\"const\":3}}", "[1,2]");
	VALID("{\"items\":[{\"type\":\"integer\"}],\"additionalItems\":false}", "[1]");
	INVALID("{\"items\":[{\"type\":\"integer\"}],\"additionalItems\":false}", "[1,2]");
	VALID("{\"patternProperties\":{\"^x_\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
	      "{\"x_a\":1}");
	INVALID("{\"patternProperties\":{\"^x_\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
		"{\"y\":1}");
}

static void test_connector_config(void **st)
{
	json_t *spec = parse(
		"{\"documentationUrl\":\"https://docs.airbyte.com\",\"connectionSpecification\":{"
		"\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"title\":\"File Source Spec\","
		"\"type\":\"object\",\"required\":[\"dataset_name\",\"url\"],"
		"\"properties\":{\"dataset_name\":{\"type\":\"string\",\"order\":0,\"examples\":[\"x\"]},"
		"\"url\":{\"type\":\"string\",\"pattern\":\"^(?!ftp)\",\"order\":1},"
		"\"password\":{\"type\":\"string\",\"airbyte_secret\":true},"
		"\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535}}}}");
	json_t *ok = parse("{\"dataset_name\":\"d\",\"url\":\"/tmp/x.csv\",\"port\":5432}");
	json_t *bad = parse("{\"dataset_name\":3,\"port\":70000}");
	json_t *msg = parse("{\"type\":\"SPEC\",\"spec\":{\"connectionSpecification\":"
			    "{\"required\":[\"a\"]}}}");
	json_t *errs = json_array();

	assert_int_equal(schema_validate_connector_config(spec, ok, errs), 0);
	assert_int_equal(json_array_size(errs), 0);
	assert_int_equal(schema_validate_connector_config(spec, bad, errs), 1);
	assert_int_equal(json_array_size(errs), 3); /* url missing, dataset_name type, port max */
	json_array_clear(errs);
	assert_int_equal(schema_validate_connector_config(msg, ok, errs), 1);
	assert_int_equal(schema_validate_connector_config(
				 json_object_get(spec, "connectionSpecification"), ok, NULL), 0);
	json_decref(spec);
	json_decref(ok);
	json_decref(bad);
	json_decref(msg);
	json_decref(errs);
}

/* ---- the official test suite --------------------------------------------- */

struct suite_result {
	int pass, total;
	json_t *failures;       /* ["file: group / test (expected ...)", ...] */
	json_t *per_file;       /* {"file": [pass, total]} */
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_suite_file(const char *dir, const char *name, struct suite_result *res)
{
	char path[4096];
	json_error_t je;
	int pass = 0, total = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	json_t *groups = json_load_file(path, 0, &je);
	if (!groups)
		fail_msg("cannot load '%s': %s", path, je.text);
	size_t gi;
	json_t *g;
	json_array_foreach(groups, gi, g) {
		const char *gdesc = json_string_value(json_object_get(g, "description"));
		struct schema *s = NULL;
		struct schema_error err;
		int cr = schema_compile(&s, json_object_get(g, "schema"), &err);
		size_t ti;
		json_t *t;
		json_array_foreach(json_object_get(g, "tests"), ti, t) {
			const char *tdesc = json_string_value(json_object_get(t, "description"));
			int want = json_is_true(json_object_get(t, "valid")) ? 0 : 1;
			int got = cr < 0 ? cr : schema_validate(s, json_object_get(t, "data"), NULL);
			total++;
			if (got == want) {
				pass++;
				continue;
			}
			char line[1024];
			if (cr < 0)
				snprintf(line, sizeof(line), "%s: %s / %s (schema rejected: %s)", name,
					 gdesc, tdesc, err.text);
			else
				snprintf(line, sizeof(line), "%s: %s / %s (expected %s, got %s)", name,
					 gdesc, tdesc, want ? "invalid" : "valid",
					 got == 0 ? "valid" : got == 1 ? "invalid" : strerror(-got));
			json_array_append_new(res->failures, json_string(line));
		}
		schema_free(s);
	}
	json_decref(groups);
	res->pass += pass;
	res->total += total;
	json_object_set_new(res->per_file, name, json_pack("[i,i]", pass, total));
}

static void write_report(const char *path, const char *dir, const struct suite_result *res)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		print_message("cannot write the report '%s': %s\n", path, strerror(errno));
		return;
	}
	double pct = res->total ? 100.0 * res->pass / res->total : 0;
	fprintf(f, "# JSON Schema draft-07 conformance\n\n");
	fprintf(f, "Generated by `build/tests/test_schema` from the official "
		   "JSON-Schema-Test-Suite\n(`%s`, Debian package `json-schema-test-suite`), "
		   "every file except\n`optional/` and `refRemote.json` (remote references are "
		   "not fetched).\n\n", dir);
	fprintf(f, "**%d of %d tests pass (%.1f%%)**; `make test` fails below %.0f%%.\n\n",
		res->pass, res->total, pct, MIN_PASS_PERCENT);
	fprintf(f, "| file | pass | total |\n|---|---|---|\n");
	const char *k;
	json_t *v;
	void *iter;
	/* sorted: jansson keeps insertion order, and we inserted sorted */
	for (iter = json_object_iter(res->per_file); iter;
	     iter = json_object_iter_next(res->per_file, iter)) {
		k = json_object_iter_key(iter);
		v = json_object_iter_value(iter);
		fprintf(f, "| %s | %lld | %lld |\n", k,
			(long long)json_integer_value(json_array_get(v, 0)),
			(long long)json_integer_value(json_array_get(v, 1)));
	}
	fprintf(f, "\n## Failing tests (%zu)\n\n", json_array_size(res->failures));
	size_t i;
	json_array_foreach(res->failures, i, v)
		fprintf(f, "- %s\n", json_string_value(v));
	if (!json_array_size(res->failures))
		fprintf(f, "None.\n");
	if (fclose(f) != 0)
		print_message("cannot write the report '%s'\n", path);
}

static void test_conformance_draft7(void **st)
{
	const char *dir = getenv("JSON_SCHEMA_TEST_SUITE");
	const char *report = getenv("SCHEMA_SUITE_REPORT");
	struct suite_result res = { 0, 0, json_array(), json_object() };
	char *names[256];
	size_t n = 0;

	if (!dir)
		dir = SUITE_DIR;
	if (!report)
		report = "build/tests/draft7-report.md";
	DIR *d = opendir(dir);
	if (!d) {
		print_message("skipped: no JSON Schema test suite at '%s' "
			      "(apt-get install json-schema-test-suite)\n", dir);
		skip();
	}
	struct dirent *de;
	while ((de = readdir(d)) && n < 256) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") ||
		    !strcmp(de->d_name, "refRemote.json"))
			continue;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		run_suite_file(dir, names[i], &res);
		free(names[i]);
	}
	write_report(report, dir, &res);
	double pct = res.total ? 100.0 * res.pass / res.total : 0;
	print_message("draft7: %d of %d pass (%.1f%%), report in %s\n", res.pass, res.total, pct,
		      report);
	size_t i;
	json_t *v;
	json_array_foreach(res.failures, i, v)
		print_message("  failing: %s\n", json_string_value(v));
	json_decref(res.failures);
	json_decref(res.per_file);
	assert_true(res.total > 0);
	if (pct < MIN_PASS_PERCENT)
		fail_msg("draft7 conformance %.1f%% is below %.0f%%", pct, MIN_PASS_PERCENT);
}

int main(void)
{
	/* pattern tests with non-ASCII text want characters, not bytes */
	setlocale(LC_CTYPE, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_error_paths),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_patterns_unsupported),
		cmocka_unit_test(test_fuzz_regressions),
		cmocka_unit_test(test_numbers_and_equality),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_ref_errors),
		cmocka_unit_test(test_invalid_schema),
		cmocka_unit_test(test_combinators),
		cmocka_unit_test(test_connector_config),
		cmocka_unit_test(test_conformance_draft7),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
