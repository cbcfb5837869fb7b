/*
 * fuzz_lines.c - libFuzzer target for the line framing (src/protocol/lines.c).
 *
 * Input: byte 0 = initial capacity (1..64), byte 1 = maximal line length
 * (initial..initial+255), then chunks: one length byte followed by up to
 * that many data bytes.  Each chunk is written into a non-blocking pipe and
 * the reader calls lines_fill()/lines_next() until -EAGAIN, exactly as the
 * driver's poll loops do; then the writer closes and the rest is drained.
 *
 * Checked against a model of the input stream:
 *   - the lines returned, each followed by '\n' (the last one possibly
 *     without), are exactly the bytes written, in order;
 *   - -E2BIG comes only when the unconsumed partial line is max bytes long
 *     and holds no newline, and every line shorter than max passes;
 *   - nothing is lost or invented at end of file.
 * Build: tests/fault/fuzz_all.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/lines.h"

#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "fuzz_lines: check failed: %s (line %d)\n", #c, \
				__LINE__);                                       \
			abort();                                                 \
		}                                                                \
	} while (0)

static uint8_t written[1 << 20];
static size_t nwritten, consumed; /* bytes written; bytes returned as lines */

static void take(struct lines *l)
{
	const char *line;
	size_t len;
	while (lines_next(l, &line, &len) > 0) {
		CHECK(consumed + len <= nwritten);
		CHECK(memcmp(line, written + consumed, len) == 0);
		CHECK(memchr(line, '\n', len) == NULL);
		consumed += len;
		if (consumed < nwritten) {
			CHECK(written[consumed] == '\n');
			consumed++;
		} else {
			CHECK(l->eof); /* an unterminated line only at end of file */
		}
	}
}

/* returns 1 when the reader stopped on E2BIG */
static int pump(struct lines *l, int fd)
{
	for (;;) {
		ssize_t n = lines_fill(l, fd);
		if (n == -E2BIG) {
			/* the pending partial line fills the whole buffer */
			size_t pending = nwritten - consumed;
			CHECK(l->end - l->start == l->max);
			CHECK(pending >= l->max);
			CHECK(memchr(written + consumed, '\n', l->max) == NULL);
			return 1;
		}
		take(l);
		if (n == -EAGAIN || n == 0)
			return 0;
		CHECK(n > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t initial = 1 + data[0] % 64;
	size_t max = initial + data[1];
	data += 2, size -= 2;

	int p[2];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		abort();
	struct lines l;
	CHECK(lines_init(&l, initial, max) == 0);
	nwritten = consumed = 0;
	int too_long = 0;
	while (size > 0 && !too_long) {
		size_t n = data[0];
		data++, size--;
		if (n > size)
			n = size;
		if (nwritten + n > sizeof(written))
			break;
		if (n) {
			CHECK(write(p[1], data, n) == (ssize_t)n);
			memcpy(written + nwritten, data, n);
			nwritten += n;
		}
		data += n, size -= n;
		too_long = pump(&l, p[0]);
	}
	close(p[1]);
	if (!too_long) {
		too_long = pump(&l, p[0]);
		if (!too_long) {
			CHECK(l.eof);
			take(&l);
			CHECK(consumed == nwritten); /* nothing lost */
		}
	}
	if (!too_long) {
		/* every line was shorter than max */
		size_t run = 0;
		for (size_t i = 0; i < nwritten; i++) {
			run = written[i] == '\n' ? 0 : run + 1;
			CHECK(run < max);
		}
	}
	lines_release(&l);
	close(p[0]);
	return 0;
}
