/*
 * ck_csv: RFC 4180 CSV reading and field quoting.
 *
 * The reader pulls bytes from a FILE it does not own (the caller closes it)
 * and keeps the current record's fields in its own buffer; field pointers
 * stay valid until the next ck_csv_next().  ck_csv_release() frees the
 * buffers.  Quoted fields may contain the delimiter, "" and newlines; CRLF
 * and LF both end a record; blank lines are skipped; a UTF-8 BOM at the
 * start is dropped.  A quote inside an unquoted field is kept literally.
 */
#ifndef CK_CSV_H
#define CK_CSV_H

#include <stdio.h>
#include "ck_buf.h"

#define CK_CSV_RECORD_MAX ((size_t)100 << 20)

struct ck_csv {
	FILE *f;
	char delim;
	struct ck_buf data;    /* fields, each NUL-terminated */
	size_t *offs;          /* start of field i in data */
	size_t nfields, cap;
	unsigned long line;    /* physical line where the record started */
	unsigned long nextline;
	int started;
};

void ck_csv_init(struct ck_csv *c, FILE *f, char delim);
void ck_csv_release(struct ck_csv *c);
/*
 * 1 and a record, 0 at end of file, or a negative errno: -EBADMSG for an
 * unterminated quoted field (c->line is where it started), -E2BIG for a
 * record over CK_CSV_RECORD_MAX, -EIO for a read error, -ENOMEM.
 */
int ck_csv_next(struct ck_csv *c);

static inline const char *ck_csv_field(const struct ck_csv *c, size_t i)
{
	return c->data.data + c->offs[i];
}
static inline size_t ck_csv_field_len(const struct ck_csv *c, size_t i)
{
	size_t end = i + 1 < c->nfields ? c->offs[i + 1] - 1 : c->data.len;

	return end - c->offs[i];
}

/* Append s as a CSV field, quoted only if it holds delim, '"', CR or LF. */
int ck_csv_add_field(struct ck_buf *b, const char *s, size_t n, char delim);

#endif
