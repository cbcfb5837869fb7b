/*
 * ck_buf: a growable byte buffer with a hard size cap.
 *
 * The buffer owns its memory; ck_buf_release() frees it (safe on a zeroed or
 * already released buffer).  data is always NUL-terminated when non-NULL, so
 * text can be used as a C string.  Functions return 0 or a negative errno:
 * -ENOMEM when allocation fails, -E2BIG when the cap would be exceeded.
 */
#ifndef CK_BUF_H
#define CK_BUF_H

#include <stddef.h>

struct ck_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define CK_BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes) }

void ck_buf_init(struct ck_buf *b, size_t max);
void ck_buf_release(struct ck_buf *b);
static inline void ck_buf_reset(struct ck_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}
/* Make room for extra more bytes (plus the NUL terminator). */
int ck_buf_reserve(struct ck_buf *b, size_t extra);
int ck_buf_add(struct ck_buf *b, const void *p, size_t n);
int ck_buf_adds(struct ck_buf *b, const char *s);
int ck_buf_addc(struct ck_buf *b, char c);
int ck_buf_addf(struct ck_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Append s (n bytes) as a quoted JSON string.  Invalid UTF-8 bytes are
 * replaced by U+FFFD so the output is always valid JSON.
 */
int ck_buf_add_json_str(struct ck_buf *b, const char *s, size_t n);

#endif
