/*
 * relay.h - the source hot path: bytes from the source connector's stdout
 * are framed into lines, each line is scanned (never parsed into a tree),
 * RECORD lines are counted per stream and forwarded unchanged, everything
 * else goes to a handler that decides.  Forwarded lines stay where they
 * were read; they only move when a dropped line sits before them.
 *
 *   buf: [0 .. out_off) written | [out_off .. out_end) to write |
 *        [out_end .. scan) dropped gap | [scan .. fill) not yet scanned
 */
#ifndef AB_RELAY_H
#define AB_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/catalog.h"
#include "protocol/scan.h"

/* What the handler says about a line. */
enum relay_verdict { RELAY_DROP = 0, RELAY_FORWARD = 1 };

/*
 * Called for every line that is not a RECORD of a known stream.  For RECORDs
 * of unknown streams it is called with stream < 0.  Returns a verdict, or a
 * negative errno to stop the relay (the error is returned by relay_scan).
 */
typedef int (*relay_handler)(void *ctx, const char *line, size_t len,
			     const struct ab_scan *sc, int scan_result);

struct relay {
	char *buf;
	size_t cap, max;
	size_t out_off, out_end, scan, fill;
	bool eof;
	struct catalog *cat;
	uint64_t *records, *bytes;        /* per catalog stream */
	uint64_t messages[AB_MSG_TYPE_COUNT];
	uint64_t invalid, total_bytes;
	relay_handler handler;
	void *ctx;
};

int relay_init(struct relay *r, struct catalog *cat, size_t initial, size_t max,
	       relay_handler handler, void *ctx);
void relay_release(struct relay *r);

/* True when there is room to read more. */
bool relay_can_read(const struct relay *r);
/* Bytes waiting to be written. */
static inline size_t relay_pending(const struct relay *r) { return r->out_end - r->out_off; }

/* One read(2): bytes read, 0 at EOF, -EAGAIN, -E2BIG (line over max). */
ssize_t relay_read(struct relay *r, int fd);
/* Scan all complete lines (and the unterminated last one after EOF). */
int relay_scan(struct relay *r);
/* Write pending output: 0 when all written, -EAGAIN, -EPIPE, ... */
int relay_write(struct relay *r, int fd);

#endif
