#include "protocol/catalog.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_bytes(const char *s, size_t n)
{
	size_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static char *dup_string_member(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? strdup(s) : NULL;
}

int catalog_from_json(struct catalog *c, const json_t *doc, struct ab_error *err)
{
	memset(c, 0, sizeof(*c));
	const json_t *streams = json_object_get(doc, "streams");
	if (!json_is_array(streams)) {
		snprintf(err->text, sizeof(err->text), "the catalog has no \"streams\" array");
		return -EINVAL;
	}
	size_t n = json_array_size(streams);
	c->streams = calloc(n ? n : 1, sizeof(*c->streams));
	c->nslots = 16;
	while (c->nslots < 2 * n)
		c->nslots *= 2;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->streams || !c->slots)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const json_t *cs = json_array_get(streams, i);
		const json_t *s = json_object_get(cs, "stream");
		const char *name = json_string_value(json_object_get(s, "name"));
		if (!name) {
			snprintf(err->text, sizeof(err->text),
				 "catalog stream %zu has no \"stream\".\"name\"", i);
			catalog_release(c);
			return -EINVAL;
		}
		struct catalog_stream *st = &c->streams[c->n++];
		st->name = strdup(name);
		st->ns = dup_string_member(s, "namespace");
		st->sync_mode = dup_string_member(cs, "sync_mode");
		st->destination_sync_mode = dup_string_member(cs, "destination_sync_mode");
		if (!st->name)
			goto nomem;
		st->name_len = strlen(st->name);
		st->ns_len = st->ns ? strlen(st->ns) : 0;
		size_t h = hash_bytes(name, strlen(name)) & (c->nslots - 1);
		while (c->slots[h])
			h = (h + 1) & (c->nslots - 1);
		c->slots[h] = i + 1;
	}
	return 0;
nomem:
	catalog_release(c);
	snprintf(err->text, sizeof(err->text), "out of memory");
	return -ENOMEM;
}

int catalog_load(struct catalog *c, const char *path, struct ab_error *err)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		snprintf(err->text, sizeof(err->text), "%s", jerr.text);
		err->line = jerr.line;
		err->column = jerr.column;
		return -EINVAL;
	}
	int r = catalog_from_json(c, doc, err);
	json_decref(doc);
	return r;
}

void catalog_release(struct catalog *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->streams[i].name);
		free(c->streams[i].ns);
		free(c->streams[i].sync_mode);
		free(c->streams[i].destination_sync_mode);
	}
	free(c->streams);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

long catalog_find_slow(struct catalog *c, const char *name, size_t name_len,
		       const char *ns, size_t ns_len)
{
	if (c->n == 0)
		return -1;
	long by_name = -1;
	int name_hits = 0;
	size_t h = hash_bytes(name, name_len) & (c->nslots - 1);
	for (; c->slots[h]; h = (h + 1) & (c->nslots - 1)) {
		size_t i = c->slots[h] - 1;
		if (catalog_stream_is(&c->streams[i], name, name_len, ns, ns_len)) {
			c->last = i;
			return (long)i;
		}
		if (!ns && catalog_name_is(&c->streams[i], name, name_len)) {
			by_name = (long)i;
			name_hits++;
		}
	}
	return name_hits == 1 ? by_name : -1;
}

int catalog_stream_label(const struct catalog_stream *s, char *buf, size_t cap)
{
	return snprintf(buf, cap, "%s%s%s", s->ns ? s->ns : "", s->ns ? "." : "", s->name);
}
