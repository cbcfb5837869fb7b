/*
 * fuzz_member.c - libFuzzer target for json_member() and
 * json_member_string() (src/protocol/member.c), against jansson.
 *
 * For an input jansson reads as an object (without duplicate names), every
 * member json_member() finds must be the one jansson has: its text parses
 * to an equal value, and a string's decoded contents are jansson's (or a
 * prefix of them, when cut to a small buffer).  A name the object lacks
 * is not found.  Build and run with tests/fuzz/run.sh member SECONDS.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/member.h"

static void fail(const char *what, const char *key)
{
	fprintf(stderr, "fuzz_member: %s (member '%s')\n", what, key);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	json_t *obj;
	const char *key, *v;
	json_t *want;
	size_t vlen;

	if (!text)
		return 0;
	memcpy(text, data, size);
	obj = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (!json_is_object(obj)) {
		if (obj && json_member(text, size, "a", &v, &vlen))
			fail("a member found in what is not an object", "a");
		json_decref(obj);
		free(text);
		return 0;
	}
	json_object_foreach(obj, key, want) {
		if (!json_member(text, size, key, &v, &vlen))
			fail("not found", key);
		if (v < text || v + vlen > text + size)
			fail("value outside the text", key);
		json_t *got = json_loadb(v, vlen, JSON_DECODE_ANY, NULL);
		if (!got || !json_equal(got, want))
			fail("a different value", key);
		json_decref(got);
		if (json_is_string(want)) {
			size_t n = json_string_length(want);
			char *s = malloc(n + 1), small[8];
			long m = s ? json_member_string(v, vlen, s, n + 1) : 0;
			if (s && ((size_t)m != n || memcmp(s, json_string_value(want), n)))
				fail("a different string", key);
			free(s);
			m = json_member_string(v, vlen, small, sizeof(small));
			if (m < 0 || (size_t)m >= sizeof(small) || (size_t)m > n ||
			    memcmp(small, json_string_value(want), (size_t)m))
				fail("a string cut wrong", key);
		}
	}
	if (!json_object_get(obj, "no such name") && json_member(text, size, "no such name", &v, &vlen))
		fail("found what is not there", "no such name");
	json_decref(obj);
	free(text);
	return 0;
}
