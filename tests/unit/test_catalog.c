/*
 * test_catalog.c - unit tests for the configured catalog (protocol/catalog.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "protocol/catalog.h"

/* Load a catalog from JSON text; returns catalog_from_json's result. */
static int load_text(struct catalog *c, const char *text, struct ab_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);

	if (!doc)
		fail_msg("bad test JSON: %s", jerr.text);
	memset(err, 0, sizeof(*err));
	int r = catalog_from_json(c, doc, err);
	json_decref(doc);
	return r;
}

static long find(struct catalog *c, const char *name, const char *ns)
{
	return catalog_find(c, name, strlen(name), ns, ns ? strlen(ns) : 0);
}

#define CS(name_ns) "{\"stream\":{" name_ns ",\"json_schema\":{}}," \
	"\"sync_mode\":\"incremental\",\"destination_sync_mode\":\"append\"}"

static const char *const basic =
	"{\"streams\":["
	CS("\"name\":\"users\"") ","
	CS("\"name\":\"orders\",\"namespace\":\"shop\"") ","
	"{\"stream\":{\"name\":\"plain\",\"namespace\":null}}"
	"]}";

static void test_load(void **st)
{
	struct catalog c;
	struct ab_error err;

	assert_int_equal(load_text(&c, basic, &err), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.streams[0].name, "users");
	assert_null(c.streams[0].ns);
	assert_string_equal(c.streams[0].sync_mode, "incremental");
	assert_string_equal(c.streams[0].destination_sync_mode, "append");
	assert_string_equal(c.streams[1].name, "orders");
	assert_string_equal(c.streams[1].ns, "shop");
	assert_string_equal(c.streams[2].name, "plain");
	assert_null(c.streams[2].ns);        /* null namespace = none */
	assert_null(c.streams[2].sync_mode); /* absent */
	catalog_release(&c);
	assert_null(c.streams);
	assert_int_equal(c.n, 0);
	catalog_release(&c); /* released twice: fine */
}

static void test_empty_streams(void **st)
{
	struct catalog c;
	struct ab_error err;

	assert_int_equal(load_text(&c, "{\"streams\":[]}", &err), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(find(&c, "users", NULL), -1);
	catalog_release(&c);
}

static void expect_invalid(const char *text, const char *msg_part)
{
	struct catalog c;
	struct ab_error err;
	int r = load_text(&c, text, &err);

	if (r != -EINVAL)
		fail_msg("'%s': returned %d, expected -EINVAL", text, r);
	if (!strstr(err.text, msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", text, err.text, msg_part);
	assert_null(c.streams);
	assert_int_equal(c.n, 0);
	catalog_release(&c);
}

static void test_errors(void **st)
{
	expect_invalid("{}", "\"streams\"");
	expect_invalid("{\"streams\":{}}", "\"streams\"");
	expect_invalid("[]", "\"streams\"");
	expect_invalid("{\"streams\":[{\"stream\":{}}]}", "stream 0");
	expect_invalid("{\"streams\":[" CS("\"name\":\"a\"") ",{\"stream\":{\"name\":5}}]}",
		       "stream 1 has no \"stream\".\"name\"");
	expect_invalid("{\"streams\":[{\"name\":\"a\"}]}", "stream 0");
	expect_invalid("{\"streams\":[1]}", "stream 0");
}

static void test_find_exact(void **st)
{
	struct catalog c;
	struct ab_error err;

	assert_int_equal(load_text(&c, basic, &err), 0);
	assert_int_equal(find(&c, "users", NULL), 0);
	assert_int_equal(find(&c, "orders", "shop"), 1);
	assert_int_equal(find(&c, "plain", NULL), 2);
	/* wrong or extra namespace */
	assert_int_equal(find(&c, "orders", "other"), -1);
	assert_int_equal(find(&c, "users", "shop"), -1);
	assert_int_equal(find(&c, "users", ""), -1);
	/* unknown names, prefixes */
	assert_int_equal(find(&c, "user", NULL), -1);
	assert_int_equal(find(&c, "usersx", NULL), -1);
	assert_int_equal(find(&c, "", NULL), -1);
	/* the name is compared on its length, not up to a NUL */
	assert_int_equal(catalog_find(&c, "users!", 5, NULL, 0), 0);
	assert_int_equal(catalog_find(&c, "orders", 6, "shopping", 4), 1);
	assert_int_equal(catalog_find(&c, "use", 3, NULL, 0), -1);
	catalog_release(&c);
}

static void test_name_only_fallback(void **st)
{
	struct catalog c;
	struct ab_error err;

	assert_int_equal(load_text(&c, basic, &err), 0);
	/* orders exists once, in "shop": a record without namespace finds it */
	assert_int_equal(find(&c, "orders", NULL), 1);
	catalog_release(&c);

	/* two "orders" in two namespaces: ambiguous without a namespace */
	assert_int_equal(load_text(&c, "{\"streams\":["
		CS("\"name\":\"orders\",\"namespace\":\"a\"") ","
		CS("\"name\":\"orders\",\"namespace\":\"b\"") "]}", &err), 0);
	assert_int_equal(find(&c, "orders", NULL), -1);
	assert_int_equal(find(&c, "orders", "a"), 0);
	assert_int_equal(find(&c, "orders", "b"), 1);
	assert_int_equal(find(&c, "orders", NULL), -1); /* also after a cache hit */
	catalog_release(&c);

	/* one without, one with namespace: no namespace is an exact match */
	assert_int_equal(load_text(&c, "{\"streams\":["
		CS("\"name\":\"t\",\"namespace\":\"a\"") ","
		CS("\"name\":\"t\"") "]}", &err), 0);
	assert_int_equal(find(&c, "t", NULL), 1);
	assert_int_equal(find(&c, "t", "a"), 0);
	assert_int_equal(find(&c, "t", NULL), 1);
	catalog_release(&c);
}

/* The last-hit cache must never return a stream that does not match. */
static void test_last_hit_cache(void **st)
{
	struct catalog c;
	struct ab_error err;

	assert_int_equal(load_text(&c, basic, &err), 0);
	assert_int_equal(find(&c, "orders", "shop"), 1);
	assert_int_equal(c.last, 1);
	assert_int_equal(find(&c, "orders", "shop"), 1);
	assert_int_equal(find(&c, "orders", "shap"), -1);
	assert_int_equal(find(&c, "users", NULL), 0);
	assert_int_equal(c.last, 0);
	assert_int_equal(find(&c, "users", "x"), -1);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(find(&c, "plain", NULL), 2);
		assert_int_equal(find(&c, "users", NULL), 0);
	}
	catalog_release(&c);
}

static json_t *many_streams(int n)
{
	json_t *arr = json_array();
	char name[32], ns[32];

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "stream_%d", i);
		snprintf(ns, sizeof(ns), "ns%d", i % 3);
		json_t *s = i % 2 ? json_pack("{s:s, s:s}", "name", name, "namespace", ns)
				  : json_pack("{s:s}", "name", name);
		json_array_append_new(arr, json_pack("{s:o, s:s}", "stream", s,
						     "sync_mode", "full_refresh"));
	}
	return json_pack("{s:o}", "streams", arr);
}

static void test_many_streams(void **st)
{
	struct catalog c;
	struct ab_error err;
	json_t *doc = many_streams(1000);
	char name[32], ns[32];

	assert_int_equal(catalog_from_json(&c, doc, &err), 0);
	json_decref(doc);
	assert_int_equal(c.n, 1000);
	assert_true(c.nslots >= 2000);
	assert_int_equal(c.nslots & (c.nslots - 1), 0); /* a power of two */
	for (int i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "stream_%d", i);
		snprintf(ns, sizeof(ns), "ns%d", i % 3);
		if (i % 2) {
			assert_int_equal(find(&c, name, ns), i);
			assert_int_equal(find(&c, name, NULL), i); /* unique name */
			snprintf(ns, sizeof(ns), "ns%d", (i + 1) % 3);
			assert_int_equal(find(&c, name, ns), -1);
		} else {
			assert_int_equal(find(&c, name, NULL), i);
			assert_int_equal(find(&c, name, "ns0"), -1);
		}
	}
	assert_int_equal(find(&c, "stream_1000", NULL), -1);
	assert_int_equal(find(&c, "stream_", NULL), -1);
	catalog_release(&c);
}

static void test_load_file(void **st)
{
	char path[] = "/tmp/test_catalog_XXXXXX";
	int fd = mkstemp(path);
	struct catalog c;
	struct ab_error err;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, basic, strlen(basic)), (ssize_t)strlen(basic));
	close(fd);
	assert_int_equal(catalog_load(&c, path, &err), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(find(&c, "orders", "shop"), 1);
	catalog_release(&c);

	/* bad JSON: line and column */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"streams\":\n  [,]}\n", f);
	fclose(f);
	memset(&err, 0, sizeof(err));
	assert_int_equal(catalog_load(&c, path, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_true(err.column > 0);
	assert_true(err.text[0] != '\0');

	/* duplicate keys are rejected */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"streams\":[],\"streams\":[]}", f);
	fclose(f);
	assert_int_equal(catalog_load(&c, path, &err), -EINVAL);
	unlink(path);

	/* missing file */
	memset(&err, 0, sizeof(err));
	assert_true(catalog_load(&c, path, &err) < 0);
	assert_true(err.text[0] != '\0');
}

static void test_label(void **st)
{
	struct catalog c;
	struct ab_error err;
	char buf[64];

	assert_int_equal(load_text(&c, basic, &err), 0);
	assert_int_equal(catalog_stream_label(&c.streams[0], buf, sizeof(buf)), 5);
	assert_string_equal(buf, "users");
	assert_int_equal(catalog_stream_label(&c.streams[1], buf, sizeof(buf)), 11);
	assert_string_equal(buf, "shop.orders");
	/* truncation: snprintf semantics */
	assert_int_equal(catalog_stream_label(&c.streams[1], buf, 5), 11);
	assert_string_equal(buf, "shop");
	catalog_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_empty_streams),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_find_exact),
		cmocka_unit_test(test_name_only_fallback),
		cmocka_unit_test(test_last_hit_cache),
		cmocka_unit_test(test_many_streams),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_label),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
