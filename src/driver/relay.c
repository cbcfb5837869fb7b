#include "driver/relay.h"

#include <errno.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int relay_init(struct relay *r, struct catalog *cat, size_t initial, size_t max,
	       relay_handler handler, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->cap = initial < max ? initial : max;
	r->max = max;
	r->buf = malloc(r->cap + 1); /* +1: room for a final '\n' */
	r->records = calloc(cat->n ? cat->n : 1, sizeof(uint64_t));
	r->bytes = calloc(cat->n ? cat->n : 1, sizeof(uint64_t));
	if (!r->buf || !r->records || !r->bytes) {
		relay_release(r);
		return -ENOMEM;
	}
	/* touch the buffer now: first-touch page faults are slow mid-stream */
	memset(r->buf, 0, r->cap + 1);
	r->cat = cat;
	r->handler = handler;
	r->ctx = ctx;
	return 0;
}

void relay_release(struct relay *r)
{
	free(r->buf);
	free(r->records);
	free(r->bytes);
	memset(r, 0, sizeof(*r));
}

/* Slide pending output and unscanned bytes to the front of the buffer. */
static void relay_compact(struct relay *r)
{
	size_t pending = r->out_end - r->out_off;
	if (pending == 0) {
		size_t rest = r->fill - r->scan;
		memmove(r->buf, r->buf + r->scan, rest);
		r->out_off = r->out_end = r->scan = 0;
		r->fill = rest;
		return;
	}
	if (r->out_off == 0)
		return;
	memmove(r->buf, r->buf + r->out_off, pending);
	memmove(r->buf + pending, r->buf + r->scan, r->fill - r->scan);
	r->fill = pending + (r->fill - r->scan);
	r->scan = r->out_end = pending;
	r->out_off = 0;
}

bool relay_can_read(const struct relay *r)
{
	if (r->eof)
		return false;
	if (r->fill < r->cap || r->out_end == r->out_off || r->out_off > 0)
		return true;
	return false; /* full of output still to write */
}

ssize_t relay_read(struct relay *r, int fd)
{
	if (r->eof)
		return 0; /* the final line may already use the spare byte */
	if (r->out_end == r->out_off || r->fill == r->cap)
		relay_compact(r);
	if (r->fill == r->cap) {
		if (r->out_end != r->out_off)
			return -EAGAIN; /* write first */
		/* one partial line fills the buffer: grow, up to the limit */
		if (r->cap >= r->max)
			return -E2BIG;
		size_t ncap = r->cap * 2 < r->max ? r->cap * 2 : r->max;
		char *nb = realloc(r->buf, ncap + 1);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = ncap;
	}
	for (;;) {
		ssize_t n = read(fd, r->buf + r->fill, r->cap - r->fill);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			r->eof = true;
		r->fill += (size_t)n;
		r->total_bytes += (size_t)n;
		return n;
	}
}

/* Keep a forwarded line: move it down when dropped lines left a gap. */
static void relay_keep(struct relay *r, size_t start, size_t len)
{
	if (r->out_end != start)
		memmove(r->buf + r->out_end, r->buf + start, len);
	r->out_end += len;
}

static int relay_line(struct relay *r, size_t start, size_t len)
{
	const char *line = r->buf + start;
	struct ab_scan sc;
	int sr = ab_scan_line(line, len, &sc);

	if (sr == 0 && sc.type == AB_MSG_RECORD) {
		long i;
		if (!sc.stream_escaped && !sc.ns_escaped) {
			i = catalog_find(r->cat, sc.stream, sc.stream_len, sc.ns, sc.ns_len);
		} else {
			char name[1024], ns[1024];
			long nl = ab_scan_unescape(sc.stream, sc.stream_len, name, sizeof(name));
			long sl = sc.ns ? ab_scan_unescape(sc.ns, sc.ns_len, ns, sizeof(ns)) : 0;
			i = nl < 0 || sl < 0 ? -1 :
			    catalog_find(r->cat, name, (size_t)nl, sc.ns ? ns : NULL, (size_t)sl);
		}
		if (i >= 0) {
			r->messages[AB_MSG_RECORD]++;
			r->records[i]++;
			r->bytes[i] += len + 1;
			return RELAY_FORWARD;
		}
		return r->handler(r->ctx, line, len, &sc, -ENOENT);
	}
	if (sr == 0)
		r->messages[sc.type]++;
	else
		r->invalid++;
	return r->handler(r->ctx, line, len, &sc, sr);
}

/*
 * memchr for '\n', 16 bytes at a time: the static libc's memchr goes a
 * word at a time, and this runs once per record.
 */
static char *find_newline(char *s, size_t n)
{
#if defined(__SSE2__)
	const __m128i nl = _mm_set1_epi8('\n');
	while (n >= 16) {
		int m = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)s), nl));
		if (m)
			return s + __builtin_ctz((unsigned)m);
		s += 16;
		n -= 16;
	}
#endif
	return memchr(s, '\n', n);
}

int relay_scan(struct relay *r)
{
	while (r->scan < r->fill) {
		char *s = r->buf + r->scan;
		char *nl = find_newline(s, r->fill - r->scan);
		size_t len;
		if (nl) {
			len = (size_t)(nl - s);
		} else if (r->eof) {
			len = r->fill - r->scan;
			s[len] = '\n'; /* the +1 byte in the allocation */
			r->fill++;
		} else {
			break;
		}
		size_t start = r->scan;
		r->scan += len + 1;
		int v = relay_line(r, start, len);
		if (v < 0)
			return v;
		if (v == RELAY_FORWARD)
			relay_keep(r, start, len + 1);
	}
	return 0;
}

int relay_write(struct relay *r, int fd)
{
	while (r->out_off < r->out_end) {
		ssize_t n = write(fd, r->buf + r->out_off, r->out_end - r->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		r->out_off += (size_t)n;
	}
	return 0;
}
