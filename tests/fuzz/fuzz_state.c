/*
 * fuzz_state.c - libFuzzer target for state merging (src/protocol/state.c).
 *
 * Input: JSON documents separated by NUL bytes.  The first is the stored
 * state (as read from state.json: an array, an object or null), every
 * following one is an AirbyteStateMessage merged into it with state_merge(),
 * as the destination driver does for each STATE the connector emits.
 *
 * Checked after each merge:
 *   - 0 (nothing to store) and errors leave the stored document unchanged;
 *   - 1 leaves a document that serialises, parses back to an equal value,
 *     and has the type of the message for STREAM and GLOBAL;
 *   - a STREAM or GLOBAL merge never loses a stream that was stored before
 *     (latest per stream wins, streams that sent nothing keep theirs);
 *   - state_fingerprint() ignores sourceStats/destinationStats;
 *   - state_msg_streams() and state_doc_type() do not crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/state.h"

#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "fuzz_state: check failed: %s (line %d)\n", #c, \
				__LINE__);                                       \
			abort();                                                 \
		}                                                                \
	} while (0)

static json_t *parse(const uint8_t *p, size_t n)
{
	json_error_t e;
	return json_loadb((const char *)p, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
}

/* stream descriptors stored in a STREAM or GLOBAL document, as "ns\x01name" */
static json_t *stored_streams(const json_t *doc)
{
	json_t *out = json_object();
	size_t i;
	json_t *el;
	enum ab_state_type t = state_doc_type(doc);
	const json_t *arr = NULL;
	if (t == AB_STATE_STREAM)
		arr = doc;
	else if (t == AB_STATE_GLOBAL)
		arr = json_object_get(json_object_get(json_array_get(doc, 0), "global"),
				      "stream_states");
	json_array_foreach(arr, i, el) {
		const json_t *d = t == AB_STATE_STREAM
					  ? json_object_get(json_object_get(el, "stream"), "stream_descriptor")
					  : json_object_get(el, "stream_descriptor");
		const char *name = json_string_value(json_object_get(d, "name"));
		const char *ns = json_string_value(json_object_get(d, "namespace"));
		if (!name)
			continue;
		char key[2048];
		snprintf(key, sizeof(key), "%s\x01%s", ns ? ns : "", name);
		json_object_set_new(out, key, json_true());
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size;
	const uint8_t *sep = memchr(data, 0, size);
	if (!sep)
		return 0;
	json_t *doc = parse(data, (size_t)(sep - data));
	if (doc && json_is_null(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	const uint8_t *p = sep + 1;
	while (p < end) {
		const uint8_t *q = memchr(p, 0, (size_t)(end - p));
		if (!q)
			q = end;
		json_t *msg = parse(p, (size_t)(q - p));
		p = q + 1;
		if (!msg)
			continue;

		uint64_t f1, f2;
		if (state_fingerprint(msg, &f1) == 0) {
			json_t *c = json_deep_copy(msg);
			json_object_set_new(c, "sourceStats", json_pack("{s:f}", "recordCount", 1.0));
			json_object_set_new(c, "destinationStats", json_pack("{s:f}", "recordCount", 2.0));
			CHECK(state_fingerprint(c, &f2) == 0);
			CHECK(f1 == f2);
			json_decref(c);
		}
		json_t *names = json_array();
		state_msg_streams(msg, names);
		json_decref(names);

		char *before = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
		json_t *streams_before = stored_streams(doc);
		enum ab_state_type tbefore = state_doc_type(doc);
		struct ab_error err = { { 0 }, 0, 0 };
		int r = state_merge(&doc, msg, &err);
		char *after = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
		if (r <= 0) {
			CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
			if (r == -EINVAL)
				CHECK(err.text[0] != '\0');
			CHECK((before == NULL) == (after == NULL));
			if (before)
				CHECK(strcmp(before, after) == 0);
		} else {
			CHECK(r == 1);
			CHECK(after != NULL);
			json_t *back = parse((const uint8_t *)after, strlen(after));
			CHECK(back && json_equal(back, doc));
			json_decref(back);
			int mt = state_msg_type(msg);
			enum ab_state_type tafter = state_doc_type(doc);
			if (mt == AB_STATE_STREAM || mt == AB_STATE_GLOBAL)
				CHECK((int)tafter == mt);
			if (mt == (int)tbefore && (mt == AB_STATE_STREAM || mt == AB_STATE_GLOBAL)) {
				json_t *streams_after = stored_streams(doc);
				const char *k;
				json_t *v;
				json_object_foreach(streams_before, k, v)
					CHECK(json_object_get(streams_after, k) != NULL);
				json_decref(streams_after);
			}
		}
		json_decref(streams_before);
		free(before);
		free(after);
		json_decref(msg);
	}
	json_decref(doc);
	return 0;
}
