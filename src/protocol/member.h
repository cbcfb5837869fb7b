/*
 * member.h - a member of a JSON object found in its text, without building
 * a tree: for lines the scanner has already validated, where only a field
 * or two is wanted (a LOG message's level and text).
 */
#ifndef AB_MEMBER_H
#define AB_MEMBER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * In obj[0..len), the text of a JSON object that is known to be valid, the
 * raw value of the first member named key (a string with its quotes, an
 * object with its braces): *val and *vlen.  False when obj is not an
 * object or has no such member.  Names written with escapes are decoded
 * before they are compared.
 */
bool json_member(const char *obj, size_t len, const char *key, const char **val, size_t *vlen);

/*
 * The contents of the JSON string raw[0..len) (with its quotes), decoded
 * into dst (capacity cap, NUL-terminated) and cut, between characters, to
 * what fits: the decoded length, or -1 when raw is not a string.
 */
long json_member_string(const char *raw, size_t len, char *dst, size_t cap);

#endif
