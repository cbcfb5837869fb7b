#include "ck_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ck_csv_init(struct ck_csv *c, FILE *f, char delim)
{
	memset(c, 0, sizeof(*c));
	c->f = f;
	c->delim = delim;
	ck_buf_init(&c->data, CK_CSV_RECORD_MAX);
	c->nextline = 1;
}

void ck_csv_release(struct ck_csv *c)
{
	if (!c)
		return;
	ck_buf_release(&c->data);
	free(c->offs);
	c->offs = NULL;
	c->nfields = c->cap = 0;
}

static int start_field(struct ck_csv *c)
{
	if (c->nfields == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		size_t *p = realloc(c->offs, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->offs = p;
		c->cap = cap;
	}
	c->offs[c->nfields++] = c->data.len;
	return 0;
}

/* Terminate the current field: a NUL separates fields in data. */
static int end_field(struct ck_csv *c)
{
	return ck_buf_addc(&c->data, '\0');
}

int ck_csv_next(struct ck_csv *c)
{
	FILE *f = c->f;
	int ch, r, quoted, any, was_quoted;

	if (!c->started) {
		c->started = 1;
		ch = getc_unlocked(f);
		if (ch == 0xef) {
			int b2 = getc_unlocked(f), b3 = getc_unlocked(f);

			/* Not a BOM: start over (inputs are regular files). */
			if (!(b2 == 0xbb && b3 == 0xbf) && fseek(f, 0, SEEK_SET) < 0)
				return -errno;
		} else if (ch != EOF) {
			ungetc(ch, f);
		}
	}
again:
	ck_buf_reset(&c->data);
	c->nfields = 0;
	c->line = c->nextline;
	any = 0;
	was_quoted = 0;
	r = start_field(c);
	if (r < 0)
		return r;
	quoted = 0;
	for (;;) {
		ch = getc_unlocked(f);
		if (ch == EOF) {
			if (ferror(f))
				return -EIO;
			if (quoted)
				return -EBADMSG;
			if (!any)
				return 0;
			break;
		}
		any = 1;
		if (quoted) {
			if (ch == '"') {
				int nx = getc_unlocked(f);

				if (nx == '"') {
					r = ck_buf_addc(&c->data, '"');
				} else {
					quoted = 0;
					if (nx != EOF)
						ungetc(nx, f);
					continue;
				}
			} else {
				if (ch == '\n')
					c->nextline++;
				r = ck_buf_addc(&c->data, (char)ch);
			}
		} else if (ch == c->delim) {
			r = end_field(c);
			if (!r)
				r = start_field(c);
		} else if (ch == '\n') {
			c->nextline++;
			break;
		} else if (ch == '\r') {
			int nx = getc_unlocked(f);

			if (nx == '\n') {
				c->nextline++;
				break;
			}
			if (nx != EOF)
				ungetc(nx, f);
			r = ck_buf_addc(&c->data, '\r');
		} else if (ch == '"' && c->data.len == c->offs[c->nfields - 1]) {
			quoted = 1; /* opening quote at the start of a field */
			was_quoted = 1;
		} else {
			r = ck_buf_addc(&c->data, (char)ch);
		}
		if (r < 0)
			return r;
	}
	/* A line with nothing on it is not a record. */
	if (c->nfields == 1 && c->data.len == 0 && !was_quoted) {
		if (ch == EOF)
			return 0;
		goto again;
	}
	return 1;
}

int ck_csv_add_field(struct ck_buf *b, const char *s, size_t n, char delim)
{
	size_t i, start;
	int r;

	for (i = 0; i < n; i++)
		if (s[i] == delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == n)
		return ck_buf_add(b, s, n);
	r = ck_buf_addc(b, '"');
	for (start = 0, i = 0; !r && i < n; i++) {
		if (s[i] != '"')
			continue;
		r = ck_buf_add(b, s + start, i + 1 - start); /* through the quote */
		if (!r)
			r = ck_buf_addc(b, '"');
		start = i + 1;
	}
	if (!r)
		r = ck_buf_add(b, s + start, n - start);
	if (!r)
		r = ck_buf_addc(b, '"');
	return r;
}
