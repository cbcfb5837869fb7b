/*
 * ck_lines: read newline-terminated lines from a file descriptor.
 *
 * The reader owns a growing buffer (capped at max bytes per line) and hands
 * out pointers into it; a line stays valid until the next call.  The
 * trailing "\n" (and a "\r" before it) is removed and the line is
 * NUL-terminated.  ck_lines_release() frees the buffer, not the fd.
 */
#ifndef CK_LINES_H
#define CK_LINES_H

#include <stddef.h>

#define CK_LINE_MAX ((size_t)100 << 20) /* 100 MiB */

struct ck_lines {
	int fd;
	char *buf;
	size_t cap, start, end, max;
	unsigned long lineno; /* number of the last line returned */
	int eof;
};

void ck_lines_init(struct ck_lines *l, int fd, size_t max);
void ck_lines_release(struct ck_lines *l);
/*
 * 1 and a line, 0 at end of input, or a negative errno: -E2BIG when a line
 * is longer than max, -EINTR when terminating, -ENOMEM, or read's error.
 */
int ck_lines_next(struct ck_lines *l, char **line, size_t *len);

#endif
