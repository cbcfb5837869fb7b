/*
 * fuzz_catalog.c - libFuzzer target for catalog loading and lookup
 * (src/protocol/catalog.c).
 *
 * Input: a JSON document (the configured catalog), optionally followed by a
 * NUL byte and lookup keys "name" or "ns\x01name" separated by NULs.
 * Checked: catalog_from_json() either succeeds or fails with -EINVAL and a
 * message and an empty catalog; every loaded stream is found again by its
 * own name and namespace (as a stream with the same name and namespace);
 * a lookup never returns an index out of range or a stream with another
 * name; catalog_stream_label() fits; catalog_release() frees everything.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/catalog.h"

#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "fuzz_catalog: check failed: %s (line %d)\n", #c, \
				__LINE__);                                       \
			abort();                                                 \
		}                                                                \
	} while (0)

static void lookup(struct catalog *c, const char *name, size_t nlen, const char *ns, size_t nslen)
{
	long i = catalog_find(c, name, nlen, ns, nslen);
	CHECK(i >= -1 && i < (long)c->n);
	if (i >= 0) {
		const struct catalog_stream *s = &c->streams[i];
		CHECK(s->name_len == nlen && memcmp(s->name, name, nlen) == 0);
		if (ns)
			CHECK(s->ns && s->ns_len == nslen && memcmp(s->ns, ns, nslen) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0, size);
	size_t jlen = sep ? (size_t)(sep - data) : size;
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)data, jlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return 0;
	struct catalog c;
	struct ab_error err = { { 0 }, 0, 0 };
	int r = catalog_from_json(&c, doc, &err);
	if (r < 0) {
		CHECK(r == -EINVAL || r == -ENOMEM);
		CHECK(err.text[0] != '\0');
		CHECK(c.n == 0 && c.streams == NULL && c.slots == NULL);
		json_decref(doc);
		return 0;
	}
	for (size_t i = 0; i < c.n; i++) {
		const struct catalog_stream *s = &c.streams[i];
		CHECK(s->name && strlen(s->name) == s->name_len);
		CHECK(!s->ns || strlen(s->ns) == s->ns_len);
		long j = catalog_find(&c, s->name, s->name_len, s->ns, s->ns_len);
		CHECK(j >= 0 && j < (long)c.n);
		const struct catalog_stream *t = &c.streams[j];
		CHECK(strcmp(t->name, s->name) == 0);
		CHECK((s->ns == NULL) == (t->ns == NULL));
		CHECK(!s->ns || strcmp(s->ns, t->ns) == 0);
		char label[64];
		int n = catalog_stream_label(s, label, sizeof(label));
		CHECK(n >= 0 && (size_t)n == s->name_len + (s->ns ? s->ns_len + 1 : 0));
		lookup(&c, s->name, s->name_len, NULL, 0);
	}
	if (sep) {
		const uint8_t *p = sep + 1, *end = data + size;
		while (p < end) {
			const uint8_t *q = memchr(p, 0, (size_t)(end - p));
			if (!q)
				q = end;
			const uint8_t *x = memchr(p, 1, (size_t)(q - p));
			if (x)
				lookup(&c, (const char *)x + 1, (size_t)(q - x - 1), (const char *)p,
				       (size_t)(x - p));
			else
				lookup(&c, (const char *)p, (size_t)(q - p), NULL, 0);
			p = q + 1;
		}
	}
	catalog_release(&c);
	CHECK(c.n == 0 && c.streams == NULL);
	catalog_release(&c); /* idempotent */
	json_decref(doc);
	return 0;
}
