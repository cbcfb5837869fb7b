/*
 * words.h - split a command line into words the way a POSIX shell would,
 * without expansions: blanks separate words, '...' is literal, "..." keeps
 * blanks and honours \" \\ \$ \` , and a backslash outside quotes escapes
 * the next character.  Used for AIRBYTE_ENTRYPOINT and --*-entrypoint.
 */
#ifndef AB_WORDS_H
#define AB_WORDS_H

#include <stddef.h>

struct words {
	char **v;      /* NULL-terminated, owned */
	size_t n;
};

/* Returns 0, -EINVAL on an unterminated quote, -ENOMEM. */
int words_split(const char *s, struct words *out);
/* Append a copy of word; returns 0 or -ENOMEM. */
int words_push(struct words *w, const char *word);
/* Frees everything; accepts an empty/zeroed struct. */
void words_release(struct words *w);

#endif
