/*
 * lines.h - newline framing over a file descriptor with one reusable buffer.
 *
 * Used for everything except the source hot path: the destination
 * connector's stdout, connectors' stderr, the control socket.  The buffer
 * grows up to a maximum line length; a longer line is an error (E2BIG),
 * never a silent cut.
 */
#ifndef AB_LINES_H
#define AB_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct lines {
	char *buf;
	size_t cap, max;    /* current and maximal capacity */
	size_t start, end;  /* unconsumed bytes are buf[start..end) */
	size_t scanned;     /* bytes from start known to hold no newline */
	bool eof;
};

int lines_init(struct lines *l, size_t initial, size_t max);
void lines_release(struct lines *l);

/*
 * One read from fd into the buffer.  Returns the byte count, 0 at end of
 * file (l->eof set), -EAGAIN when nothing is ready, -E2BIG when a line
 * already exceeds max, other -errno on error.
 */
ssize_t lines_fill(struct lines *l, int fd);

/*
 * Next complete line (without the '\n') in *line and *len, valid until the next
 * lines_fill().  Returns 1 for a line, 0 when none is complete.  After end
 * of file the unterminated rest is returned as a last line.
 */
int lines_next(struct lines *l, const char **line, size_t *len);

#endif
