#include "ck_catalog.h"

#include <string.h>

static const char *str_at(const json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}

const char *ck_cs_name(const json_t *cs)
{
	return str_at(cs, "stream", "name");
}

const char *ck_cs_namespace(const json_t *cs)
{
	return str_at(cs, "stream", "namespace");
}

const char *ck_cs_sync_mode(const json_t *cs)
{
	return str_at(cs, "sync_mode", NULL);
}

const char *ck_cs_destination_sync_mode(const json_t *cs)
{
	return str_at(cs, "destination_sync_mode", NULL);
}

const char *ck_cs_cursor(const json_t *cs)
{
	return json_string_value(json_array_get(json_object_get(cs, "cursor_field"), 0));
}

json_t *ck_cs_properties(const json_t *cs)
{
	json_t *p = json_object_get(json_object_get(json_object_get(cs, "stream"),
						    "json_schema"), "properties");

	return json_is_object(p) ? p : NULL;
}

static int same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

json_t *ck_catalog_find(const json_t *catalog, const char *name, const char *ns)
{
	json_t *streams = json_object_get(catalog, "streams"), *cs;
	size_t i;

	json_array_foreach(streams, i, cs) {
		if (!same(ck_cs_name(cs), name))
			continue;
		if (ns && ck_cs_namespace(cs) && !same(ck_cs_namespace(cs), ns))
			continue;
		return cs;
	}
	return NULL;
}

static int desc_match(const json_t *desc, const char *name, const char *ns)
{
	const char *dns = str_at(desc, "namespace", NULL);

	if (!same(str_at(desc, "name", NULL), name))
		return 0;
	return !ns || !dns || !strcmp(ns, dns);
}

/* One AirbyteStateMessage (or AirbyteMessage wrapping one). */
static json_t *from_message(const json_t *m, const char *name, const char *ns)
{
	const char *type;
	json_t *ss, *v;
	size_t i;

	if (json_is_object(json_object_get(m, "state")) && same(str_at(m, "type", NULL), "STATE"))
		m = json_object_get(m, "state");
	type = str_at(m, "type", NULL);
	if (same(type, "STREAM")) {
		v = json_object_get(m, "stream");
		if (desc_match(json_object_get(v, "stream_descriptor"), name, ns))
			return json_object_get(v, "stream_state");
		return NULL;
	}
	if (same(type, "GLOBAL")) {
		ss = json_object_get(json_object_get(m, "global"), "stream_states");
		json_array_foreach(ss, i, v) {
			if (desc_match(json_object_get(v, "stream_descriptor"), name, ns))
				return json_object_get(v, "stream_state");
		}
		return NULL;
	}
	if (!type || same(type, "LEGACY")) {
		v = json_object_get(m, "data");
		if (json_is_object(v))
			return json_object_get(v, name);
	}
	return NULL;
}

json_t *ck_state_find(const json_t *state, const char *name, const char *ns)
{
	json_t *m, *found = NULL, *v;
	size_t i;

	if (json_is_array(state)) {
		/* The last matching message wins. */
		json_array_foreach(state, i, m) {
			v = from_message(m, name, ns);
			if (v)
				found = v;
		}
		return found;
	}
	if (!json_is_object(state))
		return NULL;
	if (json_object_get(state, "type") || json_object_get(state, "data")) {
		found = from_message(state, name, ns);
		if (found)
			return found;
	}
	v = json_object_get(state, name);
	return json_is_object(v) ? v : NULL;
}
