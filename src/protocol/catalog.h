/*
 * catalog.h - the configured catalog as the driver needs it: the list of
 * streams (name, namespace, sync modes) and a fast lookup from the raw
 * bytes the scanner finds in a RECORD line to the stream's index.
 */
#ifndef AB_CATALOG_H
#define AB_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct catalog_stream {
	char *name;
	char *ns;                 /* NULL when the stream has no namespace */
	size_t name_len, ns_len;  /* cached: lookups run once per record */
	char *sync_mode;          /* "full_refresh", "incremental", ... */
	char *destination_sync_mode;
};

struct catalog {
	struct catalog_stream *streams;
	size_t n;
	size_t *slots;            /* open addressing on name: index+1, 0 empty */
	size_t nslots;
	size_t last;              /* index of the last hit: records come in runs */
};

/* Error details for files users write: what, where. */
struct ab_error {
	char text[512];
	int line, column;
};

/* Load from a ConfiguredAirbyteCatalog document.  Fills err on -EINVAL. */
int catalog_from_json(struct catalog *c, const json_t *doc, struct ab_error *err);
/* Load from a file: -errno for I/O, -EINVAL (err filled) for bad content. */
int catalog_load(struct catalog *c, const char *path, struct ab_error *err);
void catalog_release(struct catalog *c);

/*
 * Index of the stream with this name and namespace (raw, unescaped bytes;
 * ns NULL = none), or -1.  A record without a namespace matches a stream by
 * name alone when exactly one stream has that name.
 */
long catalog_find(struct catalog *c, const char *name, size_t name_len,
		  const char *ns, size_t ns_len);

/* "ns.name" or "name", for messages and stats keys; static buffer-free. */
int catalog_stream_label(const struct catalog_stream *s, char *buf, size_t cap);

#endif
