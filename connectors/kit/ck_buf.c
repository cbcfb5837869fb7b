#include "ck_buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ck_buf_init(struct ck_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void ck_buf_release(struct ck_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int ck_buf_reserve(struct ck_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return -E2BIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int ck_buf_add(struct ck_buf *b, const void *p, size_t n)
{
	int r = ck_buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ck_buf_adds(struct ck_buf *b, const char *s)
{
	return ck_buf_add(b, s, strlen(s));
}

int ck_buf_addc(struct ck_buf *b, char c)
{
	return ck_buf_add(b, &c, 1);
}

int ck_buf_addf(struct ck_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = ck_buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int ck_buf_add_json_str(struct ck_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, k;
	int r;

	/* Worst case is 6 bytes per input byte; reserve the common case. */
	r = ck_buf_reserve(b, n + 2);
	if (r < 0)
		return r;
	b->data[b->len++] = '"';
	while (i < n) {
		unsigned char c = p[i];
		char esc[8];
		const char *out = NULL;
		size_t outlen = 0;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80) {
			k = utf8_seq(p + i, n - i);
			if (k) {
				i += k;
				run += k;
				continue;
			}
			out = "\xef\xbf\xbd";
			outlen = 3;
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			out = esc;
			outlen = 2;
		} else if (c == '\n') {
			out = "\\n";
			outlen = 2;
		} else if (c == '\r') {
			out = "\\r";
			outlen = 2;
		} else if (c == '\t') {
			out = "\\t";
			outlen = 2;
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			out = esc;
			outlen = 6;
		}
		r = ck_buf_add(b, s + i - run, run);
		if (r < 0)
			return r;
		run = 0;
		r = ck_buf_add(b, out, outlen);
		if (r < 0)
			return r;
		i++;
	}
	r = ck_buf_add(b, s + i - run, run);
	if (r < 0)
		return r;
	return ck_buf_addc(b, '"');
}
