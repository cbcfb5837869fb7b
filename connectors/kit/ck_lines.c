#include "ck_lines.h"
#include "ck_main.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ck_lines_init(struct ck_lines *l, int fd, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->max = max;
}

void ck_lines_release(struct ck_lines *l)
{
	if (!l)
		return;
	free(l->buf);
	l->buf = NULL;
	l->cap = l->start = l->end = 0;
}

static int fill(struct ck_lines *l)
{
	ssize_t n;

	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->end + 1 >= l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64 * 1024;
		char *p;

		if (l->end >= l->max + 1)
			return -E2BIG;
		if (cap > l->max + 2)
			cap = l->max + 2;
		p = realloc(l->buf, cap);
		if (!p)
			return -ENOMEM;
		l->buf = p;
		l->cap = cap;
	}
	for (;;) {
		n = read(l->fd, l->buf + l->end, l->cap - 1 - l->end);
		if (n >= 0)
			break;
		if (errno != EINTR || ck_terminated())
			return -errno;
	}
	if (n == 0)
		l->eof = 1;
	l->end += (size_t)n;
	return 0;
}

int ck_lines_next(struct ck_lines *l, char **line, size_t *len)
{
	size_t scanned = 0;
	char *nl;
	int r;

	for (;;) {
		nl = l->buf ? memchr(l->buf + l->start + scanned, '\n',
				     l->end - l->start - scanned) : NULL;
		if (nl || (l->eof && l->end > l->start))
			break;
		if (l->eof)
			return 0;
		if (l->end - l->start > l->max)
			return -E2BIG;
		scanned = l->end - l->start;
		r = fill(l);
		if (r < 0)
			return r;
	}
	*line = l->buf + l->start;
	if (nl) {
		*len = (size_t)(nl - *line);
		l->start += *len + 1;
	} else {
		/* Last line without newline: there is room for the NUL. */
		*len = l->end - l->start;
		l->start = l->end;
	}
	if (*len > l->max)
		return -E2BIG;
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	(*line)[*len] = '\0';
	l->lineno++;
	return 1;
}
