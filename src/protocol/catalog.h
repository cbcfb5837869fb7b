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
#include <stdint.h>
#include <string.h>

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
 * a[0..n) == b[0..n), inline: this runs once per record, and a static libc's
 * memcmp may go byte by byte.  Words of 8, the last one overlapping.
 */
static inline bool catalog_bytes_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;

	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

static inline bool catalog_name_is(const struct catalog_stream *s, const char *name, size_t len)
{
	return s->name_len == len && catalog_bytes_eq(s->name, name, len);
}

static inline bool catalog_stream_is(const struct catalog_stream *s, const char *name,
				     size_t name_len, const char *ns, size_t ns_len)
{
	if (!catalog_name_is(s, name, name_len))
		return false;
	if (!ns)
		return s->ns == NULL;
	return s->ns && s->ns_len == ns_len && catalog_bytes_eq(s->ns, ns, ns_len);
}

/* catalog_find() past the last hit: the hash lookup. */
long catalog_find_slow(struct catalog *c, const char *name, size_t name_len,
		       const char *ns, size_t ns_len);

/*
 * Index of the stream with this name and namespace (raw, unescaped bytes;
 * ns NULL = none), or -1.  A record without a namespace matches a stream by
 * name alone when exactly one stream has that name.  Records come in runs:
 * the stream of the last hit is tried inline.
 */
static inline long catalog_find(struct catalog *c, const char *name, size_t name_len,
				const char *ns, size_t ns_len)
{
	if (c->n && catalog_stream_is(&c->streams[c->last], name, name_len, ns, ns_len))
		return (long)c->last;
	return catalog_find_slow(c, name, name_len, ns, ns_len);
}

/* "ns.name" or "name", for messages and stats keys; static buffer-free. */
int catalog_stream_label(const struct catalog_stream *s, char *buf, size_t cap);

#endif
