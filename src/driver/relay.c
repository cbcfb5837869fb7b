#include "driver/relay.h"

#include <errno.h>
#include <fcntl.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Splice mode: once a read has had this many dropped lines, at least one
 * every RELAY_DENSE_SPAN bytes, its other lines are copied (measured: the
 * copy costs less than splicing around drops 4 KiB apart, more than
 * around drops 8 KiB apart).
 */
#define RELAY_DENSE_DROPS 8
#define RELAY_DENSE_SPAN 4096

int relay_init(struct relay *r, struct catalog *cat, size_t initial, size_t max,
	       relay_handler handler, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->in_fd = r->out_fd = r->tee_r = r->tee_w = r->stage_r = r->stage_w = -1;
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
	if (r->tee_r >= 0)
		close(r->tee_r);
	if (r->tee_w >= 0)
		close(r->tee_w);
	if (r->stage_r >= 0)
		close(r->stage_r);
	if (r->stage_w >= 0)
		close(r->stage_w);
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

/* A non-blocking pipe of (best effort) size bytes; 0 or -errno. */
static int relay_pipe(int p[2], size_t size)
{
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	fcntl(p[1], F_SETPIPE_SZ, (int)size);
	return 0;
}

int relay_splice(struct relay *r, int in_fd, int out_fd)
{
	size_t size = r->cap < (1u << 20) ? r->cap : 1u << 20;
	struct stat st;
	int p[2], e;

	if (fstat(in_fd, &st) < 0 || !S_ISFIFO(st.st_mode) ||
	    fstat(out_fd, &st) < 0 || !S_ISFIFO(st.st_mode) || r->fill)
		return -EINVAL;
	/* a tee takes at most what this pipe holds */
	if ((e = relay_pipe(p, size)) < 0)
		return e;
	r->tee_r = p[0];
	r->tee_w = p[1];
	/* best effort: without a stage it does not stage; a small one takes part */
	if (relay_pipe(p, size) >= 0) {
		r->stage_r = p[0];
		r->stage_w = p[1];
	}
	r->in_fd = in_fd;
	r->out_fd = out_fd;
	r->spliced = true;
	return 0;
}

bool relay_can_read(const struct relay *r)
{
	if (r->eof)
		return false;
	if (r->spliced) /* everything seen has left the input pipe */
		return r->head == r->fill && r->out_off == r->out_end;
	if (r->fill < r->cap || r->out_end == r->out_off || r->out_off > 0)
		return true;
	return false; /* full of output still to write */
}

/* One partial line fills the buffer: grow, up to the limit. */
static int relay_grow(struct relay *r)
{
	if (r->cap >= r->max)
		return -E2BIG;
	size_t ncap = r->cap * 2 < r->max ? r->cap * 2 : r->max;
	char *nb = realloc(r->buf, ncap + 1);
	if (!nb)
		return -ENOMEM;
	r->buf = nb;
	r->cap = ncap;
	return 0;
}

/*
 * Splice mode: copy what the input pipe holds into buf with tee(2), which
 * leaves it in the pipe.  Only called with everything seen so far consumed
 * (relay_can_read), so the pipe holds new bytes only.
 */
static ssize_t relay_tee(struct relay *r, int fd)
{
	ssize_t n;
	size_t got = 0;

	if (!relay_can_read(r))
		return -EAGAIN;
	if (r->fill == r->cap) {
		int g = relay_grow(r);
		if (g < 0)
			return g;
	}
	do
		n = tee(fd, r->tee_w, r->cap - r->fill, SPLICE_F_NONBLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0) {
		r->eof = true;
		return 0;
	}
	while (got < (size_t)n) {
		ssize_t m = read(r->tee_r, r->buf + r->fill + got, (size_t)n - got);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			return m < 0 ? -errno : -EIO;
		got += (size_t)m;
	}
	r->fill += got;
	r->total_bytes += got;
	/* stage what was seen: the source writes on while it is scanned */
	if (r->stage_w >= 0) {  /* empty: everything seen before has left it */
		ssize_t m;
		do
			m = splice(fd, NULL, r->stage_w, NULL, got,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		while (m < 0 && errno == EINTR);
		if (m > 0)      /* the rest stays in the input: fine, if slower */
			r->staged = (size_t)m;
	}
	return n;
}

/*
 * Splice mode: where the next of the bytes seen are, the stage first; *len
 * is cut to what that pipe holds of them.  -EPIPE once the input is closed.
 */
static int relay_seen_fd(const struct relay *r, size_t *len)
{
	if (r->in_fd < 0)
		return -EPIPE;
	if (!r->staged)
		return r->in_fd;
	if (*len > r->staged)
		*len = r->staged;
	return r->stage_r;
}

/* n of the seen bytes left the pipe relay_seen_fd() named. */
static void relay_took(struct relay *r, size_t n)
{
	if (r->staged)
		r->staged -= n;
	r->head += n;
}

ssize_t relay_read(struct relay *r, int fd)
{
	if (r->eof)
		return 0; /* the final line may already use the spare byte */
	if (r->spliced)
		return relay_tee(r, fd);
	if (r->out_end == r->out_off || r->fill == r->cap)
		relay_compact(r);
	if (r->fill == r->cap) {
		if (r->out_end != r->out_off)
			return -EAGAIN; /* write first */
		int g = relay_grow(r);
		if (g < 0)
			return g;
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

/*
 * Decide one line: count a RECORD of a known stream and forward it, hand
 * anything else to the handler.  framed: the line's scan when
 * ab_scan_frame() found it, else NULL and it is scanned here.
 */
static inline __attribute__((always_inline))
int relay_line(struct relay *r, size_t start, size_t len,
	       const struct ab_scan *framed)
{
	const char *line = r->buf + start;
	struct ab_scan own;
	const struct ab_scan *sc = framed;
	int sr = 0;

	if (!sc) {
		sr = ab_scan_line(line, len, &own);
		sc = &own;
	}
	if (sr == 0 && sc->type == AB_MSG_RECORD) {
		long i;
		if (!sc->stream_escaped && !sc->ns_escaped) {
			i = catalog_find(r->cat, sc->stream, sc->stream_len, sc->ns, sc->ns_len);
		} else {
			char name[1024], ns[1024];
			long nl = ab_scan_unescape(sc->stream, sc->stream_len, name, sizeof(name));
			long sl = sc->ns ? ab_scan_unescape(sc->ns, sc->ns_len, ns, sizeof(ns)) : 0;
			i = nl < 0 || sl < 0 ? -1 :
			    catalog_find(r->cat, name, (size_t)nl, sc->ns ? ns : NULL, (size_t)sl);
		}
		if (i >= 0) {
			r->messages[AB_MSG_RECORD]++;
			r->records[i]++;
			r->bytes[i] += len + 1;
			return RELAY_FORWARD;
		}
		return r->handler(r->ctx, line, len, sc, -ENOENT);
	}
	if (sr == 0)
		r->messages[sc->type]++;
	else
		r->invalid++;
	return r->handler(r->ctx, line, len, sc, sr);
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

/*
 * The length of the next line at buf[scan..fill) by its newline; false when
 * it is not complete yet.  After EOF the unterminated last line gets a '\n'
 * (the +1 byte in the allocation).
 */
static bool relay_frame(struct relay *r, size_t *len)
{
	char *s = r->buf + r->scan;
	char *nl = find_newline(s, r->fill - r->scan);

	if (nl) {
		*len = (size_t)(nl - s);
		return true;
	}
	if (!r->eof)
		return false;
	*len = r->fill - r->scan;
	s[*len] = '\n';
	r->fill++;
	return true;
}

/*
 * Splice mode: send what is decided, in order: the consumed part of the
 * first line (buf), forwarded bytes (pipe to pipe), dropped bytes (read
 * over their own copy in buf).  0 when all went, -EAGAIN, other -errno.
 */
static int relay_flush(struct relay *r, int out_fd)
{
	ssize_t n;

	while (r->out_off < r->out_end) {
		n = write(out_fd, r->buf + r->out_off, r->out_end - r->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		r->out_off += (size_t)n;
	}
	while (r->fwd) {
		size_t len = r->fwd;
		int fd = relay_seen_fd(r, &len);
		if (fd < 0)
			return fd;
		n = splice(fd, NULL, out_fd, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		r->fwd -= (size_t)n;
		relay_took(r, (size_t)n);
	}
	while (r->drop) {
		size_t len = r->drop;
		int fd = relay_seen_fd(r, &len);
		if (fd < 0)
			return fd;
		n = read(fd, r->buf + r->head, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		r->drop -= (size_t)n;
		relay_took(r, (size_t)n);
	}
	return 0;
}

/*
 * Splice mode: consume all bytes seen from the pipes, reading them over
 * their own copy in buf.  Only with nothing else pending.
 */
static int relay_take_seen(struct relay *r)
{
	while (r->head < r->fill) {
		size_t len = r->fill - r->head;
		int fd = relay_seen_fd(r, &len);
		if (fd < 0)
			return fd;
		ssize_t n = read(fd, r->buf + r->head, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		relay_took(r, (size_t)n);
	}
	return 0;
}

/*
 * Splice mode: once all decided bytes are out, consume the cut line at the
 * end from the pipe and move it to the front of buf: the pipe is then empty
 * of bytes already seen, so poll() wakes for new data only.
 */
static int relay_take_carry(struct relay *r)
{
	size_t rest = r->fill - r->scan;
	int e = relay_take_seen(r);

	if (e < 0)
		return e;
	if (r->scan > 0)
		memmove(r->buf, r->buf + r->scan, rest);
	r->carry = r->head = r->fill = rest;
	r->scan = r->out_off = r->out_end = 0;
	r->drops = 0;
	return 0;
}

/*
 * Splice mode, a read dense with dropped lines: splicing around each
 * further one would cost a splice, a read and a slot of the output pipe
 * per line, and wake the destination for each run of records.
 * Instead everything seen is consumed now and the rest of this read's lines
 * are kept in buf like the carry, to go out in one write.  Stays in splice
 * mode when the output is blocked: the next lines wait for it anyway.
 */
static void relay_go_copy(struct relay *r)
{
	if (r->carry == r->fill || relay_flush(r, r->out_fd) < 0)
		return;
	relay_take_seen(r);     /* on an error, what it took is in buf all the same */
	r->carry = r->head;
	r->out_off = r->out_end = r->scan;
}

/*
 * Splice mode scan.  A line is decided only when it can join what is
 * pending: forwarded bytes cannot follow dropped ones still in the pipe, so
 * those are flushed first, and the scan stops (returning 0) while the output
 * is blocked.  Output errors are left for relay_write() to report.
 */
static int relay_scan_spliced(struct relay *r)
{
	while (r->scan < r->fill) {
		if (r->drop && relay_flush(r, r->out_fd) < 0)
			return 0;
		char *s = r->buf + r->scan;
		struct ab_scan sc;
		size_t len;
		bool framed = ab_scan_frame(s, r->fill - r->scan, &len, &sc);
		if (!framed) {
			bool last = r->eof && !find_newline(s, r->fill - r->scan);
			if (!relay_frame(r, &len))
				break;
			if (last)       /* the pipe is empty: all of it is in buf */
				r->carry = r->head = r->fill;
		}
		/* own: the line's bytes already consumed, kept in buf */
		size_t start = r->scan, n = len + 1;
		size_t own = start >= r->carry ? 0 : r->carry - start < n ? r->carry - start : n;
		r->scan += n;
		int v = relay_line(r, start, len, framed ? &sc : NULL);
		if (v < 0)
			return v;
		if (v == RELAY_FORWARD) {
			if (own)        /* nothing is pending before it */
				relay_keep(r, start, own);
			r->fwd += n - own;
		} else {
			r->drop += n - own;
			if (++r->drops >= RELAY_DENSE_DROPS &&
			    r->scan < (size_t)r->drops * RELAY_DENSE_SPAN)
				relay_go_copy(r);
		}
	}
	if (relay_flush(r, r->out_fd) == 0 && !r->eof)
		relay_take_carry(r);
	return 0;
}

int relay_scan(struct relay *r)
{
	if (r->spliced)
		return relay_scan_spliced(r);
	while (r->scan < r->fill) {
		char *s = r->buf + r->scan;
		struct ab_scan sc;
		size_t len;
		bool framed = ab_scan_frame(s, r->fill - r->scan, &len, &sc);
		if (!framed && !relay_frame(r, &len))
			break;
		size_t start = r->scan;
		r->scan += len + 1;
		int v = relay_line(r, start, len, framed ? &sc : NULL);
		if (v < 0)
			return v;
		if (v == RELAY_FORWARD)
			relay_keep(r, start, len + 1);
	}
	return 0;
}

int relay_write(struct relay *r, int fd)
{
	if (r->spliced)
		return relay_flush(r, fd);
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
