#include "util/words.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int words_push(struct words *w, const char *word)
{
	char **v = realloc(w->v, (w->n + 2) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	w->v = v;
	if (!(v[w->n] = strdup(word)))
		return -ENOMEM;
	v[++w->n] = NULL;
	return 0;
}

void words_release(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

int words_split(const char *s, struct words *out)
{
	size_t len = strlen(s);
	char *cur = malloc(len + 1); /* a word is never longer than the input */
	size_t n = 0;
	bool in_word = false;
	int r = 0;

	out->v = NULL;
	out->n = 0;
	if (!cur)
		return -ENOMEM;
	for (const char *p = s;; p++) {
		char c = *p;
		if (c == '\0' || c == ' ' || c == '\t' || c == '\n') {
			if (in_word) {
				cur[n] = '\0';
				if ((r = words_push(out, cur)) < 0)
					goto fail;
				n = 0;
				in_word = false;
			}
			if (c == '\0')
				break;
		} else if (c == '\'') {
			in_word = true;
			const char *end = strchr(p + 1, '\'');
			if (!end) {
				r = -EINVAL;
				goto fail;
			}
			memcpy(cur + n, p + 1, (size_t)(end - p - 1));
			n += (size_t)(end - p - 1);
			p = end;
		} else if (c == '"') {
			in_word = true;
			for (p++; *p != '"'; p++) {
				if (*p == '\0') {
					r = -EINVAL;
					goto fail;
				}
				if (*p == '\\' && strchr("\"\\$`", p[1]) && p[1])
					p++;
				cur[n++] = *p;
			}
		} else if (c == '\\') {
			in_word = true;
			if (p[1] == '\0')
				continue; /* a trailing backslash is dropped */
			cur[n++] = *++p;
		} else {
			in_word = true;
			cur[n++] = c;
		}
	}
	free(cur);
	if (out->n == 0) {
		words_release(out);
		return -EINVAL;
	}
	return 0;
fail:
	free(cur);
	words_release(out);
	return r;
}
