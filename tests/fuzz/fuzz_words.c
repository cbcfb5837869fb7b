/*
 * fuzz_words.c - libFuzzer target for shell-like word splitting
 * (src/util/words.c, used for AIRBYTE_ENTRYPOINT and --*-entrypoint).
 *
 * Input: any bytes, cut at the first NUL (entrypoints are C strings).
 * Checked: on success at least one word, v[n] == NULL, no word holds a
 * NUL-terminated surprise (total word bytes never exceed the input), and a
 * second split of the words re-quoted with '...' gives the same words
 * (round trip); on failure the struct is empty.  Memory errors and leaks
 * are caught by ASan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/words.h"

#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "fuzz_words: check failed: %s (line %d)\n", #c, \
				__LINE__);                                       \
			abort();                                                 \
		}                                                                \
	} while (0)

/* quote a word for words_split: '...' with ' written as '\'' */
static size_t quote(const char *w, char *out)
{
	size_t n = 0;
	out[n++] = '\'';
	for (; *w; w++) {
		if (*w == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *w;
		}
	}
	out[n++] = '\'';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size_t len = strlen(s);

	struct words w;
	int r = words_split(s, &w);
	if (r < 0) {
		CHECK(r == -EINVAL);
		CHECK(w.v == NULL && w.n == 0);
		free(s);
		return 0;
	}
	CHECK(w.n >= 1);
	CHECK(w.v[w.n] == NULL);
	size_t total = 0;
	for (size_t i = 0; i < w.n; i++) {
		CHECK(w.v[i] != NULL);
		total += strlen(w.v[i]);
	}
	CHECK(total <= len);

	/* round trip through quoting */
	char *q = malloc(4 * total + 3 * w.n + 1);
	size_t qn = 0;
	for (size_t i = 0; i < w.n; i++) {
		qn += quote(w.v[i], q + qn);
		q[qn++] = ' ';
	}
	q[qn] = '\0';
	struct words w2;
	CHECK(words_split(q, &w2) == 0);
	CHECK(w2.n == w.n);
	for (size_t i = 0; i < w.n; i++)
		CHECK(strcmp(w.v[i], w2.v[i]) == 0);
	words_release(&w2);
	free(q);
	words_release(&w);
	words_release(&w); /* releasing twice is allowed (zeroed struct) */
	free(s);
	return 0;
}
