#include "protocol/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lines_init(struct lines *l, size_t initial, size_t max)
{
	memset(l, 0, sizeof(*l));
	if (initial > max)
		initial = max;
	l->buf = malloc(initial);
	if (!l->buf)
		return -ENOMEM;
	l->cap = initial;
	l->max = max;
	return 0;
}

void lines_release(struct lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

/* Make room at the end: compact first, grow (doubling, up to max) second. */
static int lines_make_room(struct lines *l)
{
	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->end < l->cap)
		return 0;
	if (l->cap >= l->max)
		return -E2BIG;
	size_t ncap = l->cap * 2 > l->max ? l->max : l->cap * 2;
	char *nb = realloc(l->buf, ncap);
	if (!nb)
		return -ENOMEM;
	l->buf = nb;
	l->cap = ncap;
	return 0;
}

ssize_t lines_fill(struct lines *l, int fd)
{
	if (l->end == l->cap) {
		int r = lines_make_room(l);
		if (r < 0)
			return r;
	}
	for (;;) {
		ssize_t n = read(fd, l->buf + l->end, l->cap - l->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			l->eof = true;
		l->end += (size_t)n;
		return n;
	}
}

int lines_next(struct lines *l, const char **line, size_t *len)
{
	char *s = l->buf + l->start;
	size_t avail = l->end - l->start;
	char *nl = memchr(s + l->scanned, '\n', avail - l->scanned);

	if (!nl) {
		l->scanned = avail;
		if (!l->eof || avail == 0)
			return 0;
		nl = s + avail; /* last line without a newline */
		l->start = l->end;
	} else {
		l->start += (size_t)(nl - s) + 1;
	}
	l->scanned = 0;
	*line = s;
	*len = (size_t)(nl - s);
	if (l->start == l->end)
		l->start = l->end = 0;
	return 1;
}
