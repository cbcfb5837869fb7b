#include "config/replication.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/yamljson.h"

static char *dup_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strdup(s) : NULL;
}

/* An inline document, or one loaded from KEY_file next to the file. */
static json_t *doc_or_file(const json_t *o, const char *key, const char *dir,
			   const char *what, struct ab_error *err)
{
	json_t *v = json_object_get(o, key);
	if (json_is_object(v))
		return json_incref(v);
	char fkey[64];
	snprintf(fkey, sizeof(fkey), "%s_file", key);
	const char *f = json_string_value(json_object_get(o, fkey));
	if (!f) {
		snprintf(err->text, sizeof(err->text), "%s: needs \"%s\" (an object) or \"%s\" (a path)",
			 what, key, fkey);
		return NULL;
	}
	char *path = f[0] == '/' ? strdup(f) : fs_join(dir, f);
	struct ab_error ferr = { 0 };
	json_t *doc = path ? yamljson_load_file(path, &ferr) : NULL;
	if (!doc)
		snprintf(err->text, sizeof(err->text), "%s: cannot load '%.200s': %.200s (line %d, column %d)",
			 what, path ? path : f, ferr.text, ferr.line, ferr.column);
	free(path);
	return doc;
}

int replication_file_load(const char *path, struct replication_file *rf, struct ab_error *err)
{
	memset(rf, 0, sizeof(*rf));
	json_t *doc = yamljson_load_file(path, err);
	if (!doc)
		return -EINVAL;
	char *copy = strdup(path);
	const char *dir = copy ? dirname(copy) : ".";
	int r = -EINVAL;
	const json_t *src = json_object_get(doc, "source");
	const json_t *dst = json_object_get(doc, "destination");
	memset(err, 0, sizeof(*err));
	if (!json_is_object(doc)) {
		snprintf(err->text, sizeof(err->text), "a replication file holds a mapping (name, source, destination, catalog)");
		goto out;
	}
	rf->name = dup_str(doc, "name");
	if (!rf->name) {
		snprintf(err->text, sizeof(err->text), "\"name\" is missing");
		goto out;
	}
	if (!json_is_object(src) || !json_is_object(dst)) {
		snprintf(err->text, sizeof(err->text), "\"source\" and \"destination\" must be mappings");
		goto out;
	}
	rf->source_entrypoint = dup_str(src, "entrypoint");
	rf->source_image = dup_str(src, "image");
	rf->destination_entrypoint = dup_str(dst, "entrypoint");
	rf->destination_image = dup_str(dst, "image");
	if (!rf->source_entrypoint && !rf->source_image) {
		snprintf(err->text, sizeof(err->text), "source: needs \"entrypoint\" (a command) or \"image\"");
		goto out;
	}
	if (!rf->destination_entrypoint && !rf->destination_image) {
		snprintf(err->text, sizeof(err->text), "destination: needs \"entrypoint\" (a command) or \"image\"");
		goto out;
	}
	if (!(rf->source_config = doc_or_file(src, "config", dir, "source", err)) ||
	    !(rf->destination_config = doc_or_file(dst, "config", dir, "destination", err)) ||
	    !(rf->catalog = doc_or_file(doc, "catalog", dir, "replication", err)))
		goto out;
	if (!json_is_array(json_object_get(rf->catalog, "streams"))) {
		snprintf(err->text, sizeof(err->text), "catalog: needs a \"streams\" array");
		goto out;
	}
	rf->schedule = dup_str(doc, "schedule");
	r = 0;
out:
	if (r < 0)
		replication_file_release(rf);
	free(copy);
	json_decref(doc);
	return r;
}

void replication_file_release(struct replication_file *rf)
{
	free(rf->name);
	free(rf->source_entrypoint);
	free(rf->source_image);
	free(rf->destination_entrypoint);
	free(rf->destination_image);
	free(rf->schedule);
	json_decref(rf->source_config);
	json_decref(rf->destination_config);
	json_decref(rf->catalog);
	memset(rf, 0, sizeof(*rf));
}

static int write_doc(const char *dir, const char *name, const json_t *doc)
{
	char *path = fs_join(dir, name);
	char *text = json_dumps(doc, JSON_INDENT(2));
	int r = path && text ? fs_write_atomic(path, text, strlen(text), 0600, false) : -ENOMEM;
	free(path);
	free(text);
	return r;
}

int replication_file_materialise(const struct replication_file *rf, const char *dir)
{
	int r = write_doc(dir, "source-file.json", rf->source_config);
	if (r == 0)
		r = write_doc(dir, "destination-file.json", rf->destination_config);
	if (r == 0)
		r = write_doc(dir, "catalog-file.json", rf->catalog);
	return r;
}
