/*
 * test_state.c - unit tests for state merging (protocol/state.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "protocol/state.h"

static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!v)
		fail_msg("bad test JSON '%s': %s", text, jerr.text);
	return v;
}

/* Merge the message text into *doc, expecting result want. */
static void merge(json_t **doc, const char *msg_text, int want)
{
	json_t *msg = J(msg_text);
	struct ab_error err = { .text = "" };
	int r = state_merge(doc, msg, &err);

	json_decref(msg);
	if (r != want)
		fail_msg("merge '%s': returned %d (%s), expected %d", msg_text, r,
			 err.text, want);
}

/* *doc must equal the JSON text want (NULL: no document). */
static void expect_doc(const json_t *doc, const char *want)
{
	if (!want) {
		assert_null(doc);
		return;
	}
	json_t *w = J(want);
	if (!json_equal((json_t *)doc, w)) {
		char *got = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		char *exp = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("state doc\n  got  %s\n  want %s", got ? got : "NULL", exp);
	}
	json_decref(w);
}

#define SMSG(desc, ss) "{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":" \
	desc ",\"stream_state\":" ss "}}"
#define SITEM(desc, ss) "{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":" \
	desc ",\"stream_state\":" ss "}}"

static void test_types(void **st)
{
	json_t *m;

	assert_int_equal(state_doc_type(NULL), AB_STATE_NONE);
	m = json_null();
	assert_int_equal(state_doc_type(m), AB_STATE_NONE);
	json_decref(m);
	m = J("{\"cursor\":1}");
	assert_int_equal(state_doc_type(m), AB_STATE_LEGACY);
	json_decref(m);
	m = J("[" SITEM("{\"name\":\"a\"}", "{}") "]");
	assert_int_equal(state_doc_type(m), AB_STATE_STREAM);
	json_decref(m);
	m = J("[]");
	assert_int_equal(state_doc_type(m), AB_STATE_NONE);
	json_decref(m);

	m = J("{}");
	assert_int_equal(state_msg_type(m), AB_STATE_LEGACY);
	json_decref(m);
	m = J("{\"type\":null,\"data\":{}}");
	assert_int_equal(state_msg_type(m), AB_STATE_LEGACY);
	json_decref(m);
	m = J("{\"type\":\"LEGACY\"}");
	assert_int_equal(state_msg_type(m), AB_STATE_LEGACY);
	json_decref(m);
	m = J("{\"type\":\"GLOBAL\"}");
	assert_int_equal(state_msg_type(m), AB_STATE_GLOBAL);
	json_decref(m);
	m = J("{\"type\":\"STREAM\"}");
	assert_int_equal(state_msg_type(m), AB_STATE_STREAM);
	json_decref(m);
	m = J("{\"type\":\"stream\"}");
	assert_int_equal(state_msg_type(m), -1);
	json_decref(m);
	m = J("{\"type\":3}");
	assert_int_equal(state_msg_type(m), -1);
	json_decref(m);
	m = J("[]");
	assert_int_equal(state_msg_type(m), -1);
	json_decref(m);
	assert_int_equal(state_msg_type(NULL), -1);

	assert_string_equal(state_type_name(AB_STATE_NONE), "NONE");
	assert_string_equal(state_type_name(AB_STATE_LEGACY), "LEGACY");
	assert_string_equal(state_type_name(AB_STATE_STREAM), "STREAM");
	assert_string_equal(state_type_name(AB_STATE_GLOBAL), "GLOBAL");
}

static void test_stream(void **st)
{
	json_t *doc = NULL;

	merge(&doc, SMSG("{\"name\":\"users\"}", "{\"c\":1}"), 1);
	expect_doc(doc, "[" SITEM("{\"name\":\"users\"}", "{\"c\":1}") "]");
	assert_int_equal(state_doc_type(doc), AB_STATE_STREAM);

	/* same descriptor: replaced in place */
	merge(&doc, SMSG("{\"name\":\"users\"}", "{\"c\":2}"), 1);
	expect_doc(doc, "[" SITEM("{\"name\":\"users\"}", "{\"c\":2}") "]");

	/* new stream appended; namespace makes another stream */
	merge(&doc, SMSG("{\"name\":\"orders\"}", "{\"o\":1}"), 1);
	merge(&doc, SMSG("{\"name\":\"users\",\"namespace\":\"public\"}", "{\"p\":1}"), 1);
	expect_doc(doc, "["
		   SITEM("{\"name\":\"users\"}", "{\"c\":2}") ","
		   SITEM("{\"name\":\"orders\"}", "{\"o\":1}") ","
		   SITEM("{\"name\":\"users\",\"namespace\":\"public\"}", "{\"p\":1}") "]");

	/* namespace null == absent */
	merge(&doc, SMSG("{\"name\":\"orders\",\"namespace\":null}", "{\"o\":2}"), 1);
	merge(&doc, SMSG("{\"name\":\"users\",\"namespace\":\"public\"}", "{\"p\":2}"), 1);
	expect_doc(doc, "["
		   SITEM("{\"name\":\"users\"}", "{\"c\":2}") ","
		   SITEM("{\"name\":\"orders\",\"namespace\":null}", "{\"o\":2}") ","
		   SITEM("{\"name\":\"users\",\"namespace\":\"public\"}", "{\"p\":2}") "]");

	/* null or absent stream_state: ignored, doc unchanged */
	json_t *before = json_deep_copy(doc);
	merge(&doc, SMSG("{\"name\":\"users\"}", "null"), 0);
	merge(&doc, "{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":\"users\"}}}", 0);
	merge(&doc, SMSG("{\"name\":\"new\"}", "null"), 0);
	assert_true(json_equal(doc, before));
	json_decref(before);

	/* extra top-level fields such as sourceStats are not stored */
	merge(&doc, "{\"type\":\"STREAM\",\"sourceStats\":{\"recordCount\":3},"
		    "\"stream\":{\"stream_descriptor\":{\"name\":\"users\"},\"stream_state\":{\"c\":3}}}", 1);
	expect_doc(json_array_get(doc, 0), SITEM("{\"name\":\"users\"}", "{\"c\":3}"));
	json_decref(doc);
}

/* The stored doc must not change when the caller reuses its message. */
static void test_stream_doc_independent(void **st)
{
	json_t *doc = NULL;
	json_t *msg = J(SMSG("{\"name\":\"a\"}", "{\"c\":1}"));
	struct ab_error err;

	assert_int_equal(state_merge(&doc, msg, &err), 1);
	json_decref(msg);
	expect_doc(doc, "[" SITEM("{\"name\":\"a\"}", "{\"c\":1}") "]");
	json_decref(doc);
}

static void test_stream_invalid(void **st)
{
	json_t *doc = J("[" SITEM("{\"name\":\"a\"}", "{\"c\":1}") "]");
	json_t *before = json_deep_copy(doc);
	const char *bad[] = {
		"{\"type\":\"STREAM\"}",
		"{\"type\":\"STREAM\",\"stream\":{}}",
		"{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{}, \"stream_state\":{}}}",
		"{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":1}, \"stream_state\":{}}}",
		"{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":\"a\"}}, \"x\":1, \"stream\":5}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *msg = J(bad[i]);
		struct ab_error err = { .text = "" };
		int r = state_merge(&doc, msg, &err);
		json_decref(msg);
		if (r != -EINVAL)
			fail_msg("'%s': returned %d, expected -EINVAL", bad[i], r);
		assert_non_null(strstr(err.text, "stream_descriptor.name"));
	}
	assert_true(json_equal(doc, before));
	json_decref(before);
	json_decref(doc);
}

#define GMSG(body) "{\"type\":\"GLOBAL\",\"global\":" body "}"
#define SS(desc, ss) "{\"stream_descriptor\":" desc ",\"stream_state\":" ss "}"

static void test_global(void **st)
{
	json_t *doc = NULL;

	merge(&doc, GMSG("{\"shared_state\":{\"lsn\":1},\"stream_states\":["
			 SS("{\"name\":\"a\"}", "{\"x\":1}") ","
			 SS("{\"name\":\"b\"}", "{\"y\":1}") "]}"), 1);
	assert_int_equal(state_doc_type(doc), AB_STATE_GLOBAL);
	expect_doc(doc, "[" GMSG("{\"shared_state\":{\"lsn\":1},\"stream_states\":["
				 SS("{\"name\":\"a\"}", "{\"x\":1}") ","
				 SS("{\"name\":\"b\"}", "{\"y\":1}") "]}") "]");

	/* shared replaced, a replaced, b kept, c (namespaced) appended */
	merge(&doc, GMSG("{\"shared_state\":{\"lsn\":2},\"stream_states\":["
			 SS("{\"name\":\"a\"}", "{\"x\":2}") ","
			 SS("{\"name\":\"c\",\"namespace\":\"n\"}", "{\"z\":1}") "]}"), 1);
	expect_doc(doc, "[" GMSG("{\"shared_state\":{\"lsn\":2},\"stream_states\":["
				 SS("{\"name\":\"a\"}", "{\"x\":2}") ","
				 SS("{\"name\":\"b\"}", "{\"y\":1}") ","
				 SS("{\"name\":\"c\",\"namespace\":\"n\"}", "{\"z\":1}") "]}") "]");

	/* only stream states: shared state kept */
	merge(&doc, GMSG("{\"stream_states\":[" SS("{\"name\":\"b\"}", "{\"y\":2}") "]}"), 1);
	expect_doc(doc, "[" GMSG("{\"shared_state\":{\"lsn\":2},\"stream_states\":["
				 SS("{\"name\":\"a\"}", "{\"x\":2}") ","
				 SS("{\"name\":\"b\"}", "{\"y\":2}") ","
				 SS("{\"name\":\"c\",\"namespace\":\"n\"}", "{\"z\":1}") "]}") "]");

	/* only shared state: streams kept */
	merge(&doc, GMSG("{\"shared_state\":{\"lsn\":3}}"), 1);
	json_t *g = json_object_get(json_array_get(doc, 0), "global");
	expect_doc(json_object_get(g, "shared_state"), "{\"lsn\":3}");
	assert_int_equal(json_array_size(json_object_get(g, "stream_states")), 3);

	/* empty globals: ignored */
	json_t *before = json_deep_copy(doc);
	merge(&doc, GMSG("{}"), 0);
	merge(&doc, GMSG("{\"shared_state\":null,\"stream_states\":[]}"), 0);
	merge(&doc, GMSG("{\"shared_state\":{},\"stream_states\":[]}"), 0);
	assert_true(json_equal(doc, before));
	json_decref(before);
	json_decref(doc);
}

/* A GLOBAL without a shared payload never erases the stored shared state. */
static void test_global_no_shared_payload(void **st)
{
	json_t *doc = NULL;

	merge(&doc, GMSG("{\"shared_state\":{\"lsn\":7},\"stream_states\":["
			 SS("{\"name\":\"a\"}", "{\"x\":1}") "]}"), 1);
	merge(&doc, GMSG("{\"shared_state\":null,\"stream_states\":["
			 SS("{\"name\":\"a\"}", "{\"x\":2}") "]}"), 1);
	merge(&doc, GMSG("{\"shared_state\":{},\"stream_states\":["
			 SS("{\"name\":\"a\"}", "{\"x\":3}") "]}"), 1);
	expect_doc(doc, "[" GMSG("{\"shared_state\":{\"lsn\":7},\"stream_states\":["
				 SS("{\"name\":\"a\"}", "{\"x\":3}") "]}") "]");
	json_decref(doc);

	/* with nothing stored, an empty shared state may be stored */
	doc = NULL;
	merge(&doc, GMSG("{\"shared_state\":{},\"stream_states\":["
			 SS("{\"name\":\"a\"}", "{\"x\":1}") "]}"), 1);
	json_t *g = json_object_get(json_array_get(doc, 0), "global");
	assert_int_equal(json_array_size(json_object_get(g, "stream_states")), 1);
	json_t *shared = json_object_get(g, "shared_state");
	assert_true(!shared || (json_is_object(shared) && json_object_size(shared) == 0));
	json_decref(doc);
}

/* A per-stream entry without a payload never erases that stream's state. */
static void test_global_null_stream_state(void **st)
{
	json_t *doc = NULL;

	merge(&doc, GMSG("{\"shared_state\":{\"lsn\":1},\"stream_states\":["
			 SS("{\"name\":\"a\"}", "{\"x\":1}") "]}"), 1);
	merge(&doc, GMSG("{\"shared_state\":{\"lsn\":2},\"stream_states\":["
			 SS("{\"name\":\"a\"}", "null") ","
			 "{\"stream_descriptor\":{\"name\":\"b\"}}]}"), 1);
	expect_doc(doc, "[" GMSG("{\"shared_state\":{\"lsn\":2},\"stream_states\":["
				 SS("{\"name\":\"a\"}", "{\"x\":1}") "]}") "]");
	/* nothing with a payload: ignored */
	json_t *before = json_deep_copy(doc);
	merge(&doc, GMSG("{\"shared_state\":null,\"stream_states\":["
			 SS("{\"name\":\"a\"}", "null") "]}"), 0);
	assert_true(json_equal(doc, before));
	json_decref(before);
	json_decref(doc);
}

static void test_global_invalid(void **st)
{
	json_t *doc = NULL;
	struct ab_error err;
	const char *bad[] = {
		"{\"type\":\"GLOBAL\"}",
		"{\"type\":\"GLOBAL\",\"global\":[]}",
		GMSG("{\"stream_states\":{}}"),
		GMSG("{\"shared_state\":{\"a\":1},\"stream_states\":[" SS("{}", "{}") "]}"),
		GMSG("{\"stream_states\":[" SS("{\"name\":\"a\"}", "{}") ",{}]}"),
	};

	merge(&doc, GMSG("{\"shared_state\":{\"lsn\":1}}"), 1);
	json_t *before = json_deep_copy(doc);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *msg = J(bad[i]);
		err.text[0] = '\0';
		int r = state_merge(&doc, msg, &err);
		json_decref(msg);
		if (r != -EINVAL)
			fail_msg("'%s': returned %d, expected -EINVAL", bad[i], r);
		assert_true(err.text[0] != '\0');
	}
	assert_true(json_equal(doc, before)); /* untouched by failed merges */
	json_decref(before);
	json_decref(doc);
}

static void test_legacy(void **st)
{
	json_t *doc = NULL;

	/* no payload, nothing stored */
	merge(&doc, "{}", 0);
	merge(&doc, "{\"data\":null}", 0);
	assert_null(doc);

	merge(&doc, "{\"data\":{\"cursor\":1}}", 1);
	expect_doc(doc, "{\"cursor\":1}");
	assert_int_equal(state_doc_type(doc), AB_STATE_LEGACY);
	merge(&doc, "{\"type\":\"LEGACY\",\"data\":{\"cursor\":2,\"x\":[1]}}", 1);
	expect_doc(doc, "{\"cursor\":2,\"x\":[1]}");     /* replaced, not merged */
	merge(&doc, "{\"type\":null,\"data\":{\"other\":true}}", 1);
	expect_doc(doc, "{\"other\":true}");

	/* null and {} never erase a non-empty state */
	merge(&doc, "{\"data\":null}", 0);
	merge(&doc, "{\"type\":\"LEGACY\"}", 0);
	merge(&doc, "{\"data\":{}}", 0);
	expect_doc(doc, "{\"other\":true}");
	json_decref(doc);

	/* {} into nothing: stored */
	doc = NULL;
	merge(&doc, "{\"data\":{}}", 1);
	expect_doc(doc, "{}");
	json_decref(doc);
}

/* The doc keeps a deep copy of data: changing the message later is harmless. */
static void test_legacy_copy(void **st)
{
	json_t *doc = NULL;
	json_t *msg = J("{\"data\":{\"cursor\":1}}");
	struct ab_error err;

	assert_int_equal(state_merge(&doc, msg, &err), 1);
	json_object_set_new(json_object_get(msg, "data"), "cursor", json_integer(99));
	json_decref(msg);
	expect_doc(doc, "{\"cursor\":1}");
	json_decref(doc);
}

static void test_switch_types(void **st)
{
	json_t *doc = NULL;

	merge(&doc, "{\"data\":{\"cursor\":1}}", 1);
	merge(&doc, SMSG("{\"name\":\"a\"}", "{\"c\":1}"), 1);
	assert_int_equal(state_doc_type(doc), AB_STATE_STREAM);
	expect_doc(doc, "[" SITEM("{\"name\":\"a\"}", "{\"c\":1}") "]");

	merge(&doc, GMSG("{\"shared_state\":{\"s\":1}}"), 1);
	assert_int_equal(state_doc_type(doc), AB_STATE_GLOBAL);
	expect_doc(doc, "[" GMSG("{\"shared_state\":{\"s\":1},\"stream_states\":[]}") "]");

	merge(&doc, SMSG("{\"name\":\"b\"}", "{\"c\":2}"), 1);
	expect_doc(doc, "[" SITEM("{\"name\":\"b\"}", "{\"c\":2}") "]");

	merge(&doc, "{\"data\":{\"l\":1}}", 1);
	expect_doc(doc, "{\"l\":1}");

	/* an empty legacy does not erase a STREAM doc either */
	merge(&doc, SMSG("{\"name\":\"b\"}", "{\"c\":3}"), 1);
	merge(&doc, "{\"data\":{}}", 0);
	assert_int_equal(state_doc_type(doc), AB_STATE_STREAM);
	json_decref(doc);

	/* a json null doc counts as none */
	doc = json_null();
	merge(&doc, SMSG("{\"name\":\"a\"}", "{\"c\":1}"), 1);
	assert_int_equal(state_doc_type(doc), AB_STATE_STREAM);
	json_decref(doc);
}

static void test_invalid_message(void **st)
{
	const char *bad[] = { "[]", "1", "\"STREAM\"", "null",
			      "{\"type\":\"FOO\"}", "{\"type\":1}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = J("{\"cursor\":1}");
		json_t *msg = J(bad[i]);
		struct ab_error err = { .text = "" };
		int r = state_merge(&doc, msg, &err);
		if (r != -EINVAL)
			fail_msg("'%s': returned %d, expected -EINVAL", bad[i], r);
		assert_non_null(strstr(err.text, "STREAM, GLOBAL or LEGACY"));
		expect_doc(doc, "{\"cursor\":1}");
		json_decref(msg);
		json_decref(doc);
	}
}

static uint64_t fp(const char *text)
{
	json_t *m = J(text);
	uint64_t h = 0;

	assert_int_equal(state_fingerprint(m, &h), 0);
	json_decref(m);
	return h;
}

static void test_fingerprint(void **st)
{
	const char *base = SMSG("{\"name\":\"a\"}", "{\"c\":1,\"d\":[1,2]}");
	uint64_t h = fp(base);

	assert_true(h == fp(base));
	/* stats ignored */
	assert_true(h == fp("{\"type\":\"STREAM\",\"sourceStats\":{\"recordCount\":5.0},"
			    "\"stream\":{\"stream_descriptor\":{\"name\":\"a\"},"
			    "\"stream_state\":{\"c\":1,\"d\":[1,2]}},"
			    "\"destinationStats\":{\"recordCount\":5.0}}"));
	/* key order ignored, at every depth; whitespace too */
	assert_true(h == fp("{ \"stream\" : {\"stream_state\":{\"d\":[1,2],\"c\":1},"
			    "\"stream_descriptor\":{\"name\":\"a\"}}, \"type\":\"STREAM\"}"));
	/* real differences count */
	assert_true(h != fp(SMSG("{\"name\":\"a\"}", "{\"c\":2,\"d\":[1,2]}")));
	assert_true(h != fp(SMSG("{\"name\":\"a\"}", "{\"c\":1,\"d\":[2,1]}")));
	assert_true(h != fp(SMSG("{\"name\":\"b\"}", "{\"c\":1,\"d\":[1,2]}")));
	assert_true(h != fp(SMSG("{\"name\":\"a\",\"namespace\":\"n\"}", "{\"c\":1,\"d\":[1,2]}")));
	/* nested keys named like the stats are content */
	assert_true(h != fp(SMSG("{\"name\":\"a\"}", "{\"c\":1,\"d\":[1,2],\"sourceStats\":1}")));

	/* the message itself is not modified */
	json_t *m = J("{\"type\":\"LEGACY\",\"data\":{},\"sourceStats\":{}}");
	uint64_t x;
	assert_int_equal(state_fingerprint(m, &x), 0);
	assert_non_null(json_object_get(m, "sourceStats"));
	json_decref(m);

	m = J("[1]");
	assert_int_equal(state_fingerprint(m, &x), -EINVAL);
	json_decref(m);
	assert_int_equal(state_fingerprint(NULL, &x), -EINVAL);
}

static void expect_streams(const char *msg_text, int want_r, const char *want)
{
	json_t *msg = J(msg_text);
	json_t *names = json_array();

	assert_int_equal(state_msg_streams(msg, names), want_r);
	expect_doc(names, want);
	json_decref(names);
	json_decref(msg);
}

static void test_msg_streams(void **st)
{
	expect_streams(SMSG("{\"name\":\"users\"}", "{}"), 0, "[\"users\"]");
	expect_streams(SMSG("{\"name\":\"users\",\"namespace\":\"pub\"}", "{}"), 0,
		       "[\"pub.users\"]");
	expect_streams(SMSG("{\"name\":\"users\",\"namespace\":null}", "null"), 0,
		       "[\"users\"]");
	expect_streams(GMSG("{\"shared_state\":{},\"stream_states\":["
			    SS("{\"name\":\"a\"}", "{}") ","
			    SS("{\"name\":\"b\",\"namespace\":\"n\"}", "{}") "]}"), 0,
		       "[\"a\",\"n.b\"]");
	expect_streams(GMSG("{\"shared_state\":{}}"), 0, "[]");
	expect_streams("{\"data\":{\"x\":1}}", 0, "[]");
	expect_streams("{\"type\":\"LEGACY\",\"data\":{}}", 0, "[]");
	expect_streams("{\"type\":\"STREAM\"}", 0, "[]"); /* no descriptor: nothing */
	expect_streams("{\"type\":\"NOPE\"}", -EINVAL, "[]");
	expect_streams("[]", -EINVAL, "[]");

	/* appends to what is there */
	json_t *names = J("[\"x\"]");
	json_t *msg = J(SMSG("{\"name\":\"y\"}", "{}"));
	assert_int_equal(state_msg_streams(msg, names), 0);
	expect_doc(names, "[\"x\",\"y\"]");
	json_decref(names);
	json_decref(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_doc_independent),
		cmocka_unit_test(test_stream_invalid),
		cmocka_unit_test(test_global),
		cmocka_unit_test(test_global_no_shared_payload),
		cmocka_unit_test(test_global_null_stream_state),
		cmocka_unit_test(test_global_invalid),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_legacy_copy),
		cmocka_unit_test(test_switch_types),
		cmocka_unit_test(test_invalid_message),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_msg_streams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
