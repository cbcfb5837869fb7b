/*
 * relay.h - the source hot path: bytes from the source connector's stdout
 * are framed into lines, each line is scanned (never parsed into a tree),
 * RECORD lines are counted per stream and forwarded unchanged, everything
 * else goes to a handler that decides.  Forwarded lines stay where they
 * were read; they only move when a dropped line sits before them.
 *
 *   buf: [0 .. out_off) written | [out_off .. out_end) to write |
 *        [out_end .. scan) dropped gap | [scan .. fill) not yet scanned
 *
 * Splice mode (relay_splice(), when input and output are both pipes): the
 * bytes are not copied out and back in.  tee(2) copies the input pipe's
 * contents into buf without consuming them; scanned lines then leave the
 * input pipe in order, forwarded ones by splice(2) straight into the output
 * pipe (the kernel moves the pages), dropped ones by a read into buf.  Only
 * a line cut at the end of what was read is consumed early into buf (the
 * "carry"): it goes out by write(2) once its end has arrived.  Right after
 * the tee the seen bytes are spliced on into a stage pipe of the relay's
 * own, so the source can fill its pipe again while they are scanned; they
 * then leave the stage as they would have left the input pipe.  A read
 * with many dropped lines is consumed whole instead, and its forwarded
 * lines after them go out from buf by one write(2), as the carry does.
 *
 *   buf: [0 .. carry) consumed partial line | [carry .. fill) copy of the
 *        first bytes of the stage and then the input pipe, of which
 *        [carry .. head) are consumed,
 *        then fwd bytes to splice and drop bytes to discard; scanned to scan
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
	/* splice mode only: see above; the owner sets in_fd / out_fd to -1
	 * when it closes them */
	bool spliced;
	int in_fd, out_fd, tee_r, tee_w, stage_r, stage_w;  /* stage_r < 0: none */
	size_t carry, head, fwd, drop;
	size_t staged;                  /* of the seen bytes, those in the stage */
	unsigned drops;                 /* dropped lines since the last carry */
};

int relay_init(struct relay *r, struct catalog *cat, size_t initial, size_t max,
	       relay_handler handler, void *ctx);
void relay_release(struct relay *r);

/*
 * Switch to splice mode for input in_fd and output out_fd (non-blocking
 * pipes; relay_read() and relay_write() must then be given these fds).
 * Call before the first relay_read().  Returns -EINVAL when either is not
 * a pipe, or another -errno; the relay then stays in copy mode.
 */
int relay_splice(struct relay *r, int in_fd, int out_fd);

/* True when there is room to read more. */
bool relay_can_read(const struct relay *r);
/* Bytes waiting to be written (or, in splice mode, discarded). */
static inline size_t relay_pending(const struct relay *r)
{
	return r->out_end - r->out_off + r->fwd + r->drop;
}

/* One read(2): bytes read, 0 at EOF, -EAGAIN, -E2BIG (line over max). */
ssize_t relay_read(struct relay *r, int fd);
/*
 * Scan all complete lines (and the unterminated last one after EOF).  In
 * splice mode the scan stops early while output is blocked: call it again
 * after relay_write() has returned 0.
 */
int relay_scan(struct relay *r);
/* Write pending output: 0 when all written, -EAGAIN, -EPIPE, ... */
int relay_write(struct relay *r, int fd);

#endif
