#include "protocol/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *state_type_name(enum ab_state_type t)
{
	static const char *const names[] = { "NONE", "LEGACY", "STREAM", "GLOBAL" };
	return names[t];
}

int state_msg_type(const json_t *msg)
{
	if (!json_is_object(msg))
		return -1;
	const json_t *t = json_object_get(msg, "type");
	if (!t || json_is_null(t))
		return AB_STATE_LEGACY;
	const char *s = json_string_value(t);
	if (!s)
		return -1;
	if (!strcmp(s, "STREAM"))
		return AB_STATE_STREAM;
	if (!strcmp(s, "GLOBAL"))
		return AB_STATE_GLOBAL;
	if (!strcmp(s, "LEGACY"))
		return AB_STATE_LEGACY;
	return -1;
}

enum ab_state_type state_doc_type(const json_t *doc)
{
	if (!doc || json_is_null(doc))
		return AB_STATE_NONE;
	if (json_is_object(doc))
		return AB_STATE_LEGACY;
	int t = state_msg_type(json_array_get(doc, 0));
	return t < 0 ? AB_STATE_NONE : (enum ab_state_type)t;
}

static bool empty_payload(const json_t *v)
{
	return !v || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0);
}

/* Two stream descriptors name the same stream (absent namespace == null). */
static bool same_descriptor(const json_t *a, const json_t *b)
{
	const char *an = json_string_value(json_object_get(a, "name"));
	const char *bn = json_string_value(json_object_get(b, "name"));
	const char *as = json_string_value(json_object_get(a, "namespace"));
	const char *bs = json_string_value(json_object_get(b, "namespace"));
	if (!an || !bn || strcmp(an, bn))
		return false;
	if (!as || !bs)
		return as == bs;
	return !strcmp(as, bs);
}

/* Replace or append, in array arr of {stream_descriptor,...} items. */
static void upsert_by_descriptor(json_t *arr, const json_t *item,
				 const char *wrapper)
{
	const json_t *desc = json_object_get(wrapper ? json_object_get(item, wrapper) : item,
					     "stream_descriptor");
	size_t i;
	json_t *el;
	json_array_foreach(arr, i, el) {
		const json_t *inner = wrapper ? json_object_get(el, wrapper) : el;
		if (same_descriptor(json_object_get(inner, "stream_descriptor"), desc)) {
			json_array_set(arr, i, (json_t *)item);
			return;
		}
	}
	json_array_append(arr, (json_t *)item);
}

static int merge_stream(json_t **doc, const json_t *msg, struct ab_error *err)
{
	const json_t *stream = json_object_get(msg, "stream");
	const json_t *desc = json_object_get(stream, "stream_descriptor");
	if (!json_string_value(json_object_get(desc, "name"))) {
		snprintf(err->text, sizeof(err->text),
			 "STREAM state without stream.stream_descriptor.name");
		return -EINVAL;
	}
	const json_t *ss = json_object_get(stream, "stream_state");
	if (!ss || json_is_null(ss))
		return 0;
	if (state_doc_type(*doc) != AB_STATE_STREAM) {
		json_decref(*doc);
		*doc = json_array();
	}
	json_t *item = json_pack("{s:s, s:O}", "type", "STREAM", "stream", stream);
	if (!item)
		return -ENOMEM;
	upsert_by_descriptor(*doc, item, "stream");
	json_decref(item);
	return 1;
}

static int merge_global(json_t **doc, const json_t *msg, struct ab_error *err)
{
	const json_t *g = json_object_get(msg, "global");
	if (!json_is_object(g)) {
		snprintf(err->text, sizeof(err->text), "GLOBAL state without a \"global\" object");
		return -EINVAL;
	}
	const json_t *shared = json_object_get(g, "shared_state");
	const json_t *states = json_object_get(g, "stream_states");
	if (states && !json_is_array(states)) {
		snprintf(err->text, sizeof(err->text), "global.stream_states is not an array");
		return -EINVAL;
	}
	if (empty_payload(shared) && json_array_size(states) == 0)
		return 0;

	json_t *merged;
	if (state_doc_type(*doc) == AB_STATE_GLOBAL)
		merged = json_deep_copy(json_object_get(json_array_get(*doc, 0), "global"));
	else
		merged = json_object();
	if (!merged)
		return -ENOMEM;
	/* no payload never erases: null never replaces, {} only replaces nothing */
	int changed = 0;
	if (shared && !json_is_null(shared) &&
	    (!empty_payload(shared) || empty_payload(json_object_get(merged, "shared_state")))) {
		json_object_set(merged, "shared_state", (json_t *)shared);
		changed = 1;
	}
	json_t *arr = json_object_get(merged, "stream_states");
	if (!json_is_array(arr)) {
		arr = json_array();
		json_object_set_new(merged, "stream_states", arr);
	}
	size_t i;
	json_t *el;
	json_array_foreach(states, i, el) {
		if (!json_string_value(json_object_get(json_object_get(el, "stream_descriptor"), "name"))) {
			snprintf(err->text, sizeof(err->text),
				 "global.stream_states[%zu] has no stream_descriptor.name", i);
			json_decref(merged);
			return -EINVAL;
		}
		const json_t *ss = json_object_get(el, "stream_state");
		if (!ss || json_is_null(ss))
			continue; /* as for STREAM: keep the stored state */
		upsert_by_descriptor(arr, el, NULL);
		changed = 1;
	}
	if (!changed) {
		json_decref(merged);
		return 0;
	}
	json_decref(*doc);
	*doc = json_pack("[{s:s, s:o}]", "type", "GLOBAL", "global", merged);
	return *doc ? 1 : -ENOMEM;
}

static int merge_legacy(json_t **doc, const json_t *msg)
{
	const json_t *data = json_object_get(msg, "data");
	if (!data || json_is_null(data))
		return 0;
	/* an empty object replaces nothing that holds something */
	if (empty_payload(data) && state_doc_type(*doc) != AB_STATE_NONE)
		return 0;
	json_t *copy = json_deep_copy(data);
	if (!copy)
		return -ENOMEM;
	json_decref(*doc);
	*doc = copy;
	return 1;
}

int state_merge(json_t **doc, const json_t *msg, struct ab_error *err)
{
	switch (state_msg_type(msg)) {
	case AB_STATE_STREAM:
		return merge_stream(doc, msg, err);
	case AB_STATE_GLOBAL:
		return merge_global(doc, msg, err);
	case AB_STATE_LEGACY:
		return merge_legacy(doc, msg);
	default:
		snprintf(err->text, sizeof(err->text),
			 "state message is not an object with type STREAM, GLOBAL or LEGACY");
		return -EINVAL;
	}
}

int state_fingerprint(const json_t *msg, uint64_t *out)
{
	if (!json_is_object(msg))
		return -EINVAL;
	json_t *copy = json_copy((json_t *)msg);
	if (!copy)
		return -ENOMEM;
	json_object_del(copy, "sourceStats");
	json_object_del(copy, "destinationStats");
	char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(copy);
	if (!s)
		return -ENOMEM;
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	free(s);
	*out = h;
	return 0;
}

static void push_label(json_t *names, const json_t *desc)
{
	const char *name = json_string_value(json_object_get(desc, "name"));
	const char *ns = json_string_value(json_object_get(desc, "namespace"));
	if (!name)
		return;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s%s%s", ns ? ns : "", ns ? "." : "", name);
	json_array_append_new(names, json_string(buf));
}

int state_msg_streams(const json_t *msg, json_t *names)
{
	size_t i;
	json_t *el;

	switch (state_msg_type(msg)) {
	case AB_STATE_STREAM:
		push_label(names, json_object_get(json_object_get(msg, "stream"), "stream_descriptor"));
		return 0;
	case AB_STATE_GLOBAL:
		json_array_foreach(json_object_get(json_object_get(msg, "global"), "stream_states"), i, el)
			push_label(names, json_object_get(el, "stream_descriptor"));
		return 0;
	case AB_STATE_LEGACY:
		return 0;
	default:
		return -EINVAL;
	}
}
