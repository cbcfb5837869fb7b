/*
 * test_relay.c - unit tests for the source hot path (driver/relay.c): lines
 * go in through a pipe, RECORDs of known streams and the lines the handler
 * keeps come out through another pipe, byte for byte and in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "driver/relay.h"

/* A growing byte buffer. */
struct bytes {
	char *p;
	size_t n, cap;
};

static void bytes_add(struct bytes *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

#define ADD(b, s) bytes_add(b, s, strlen(s))

/* What the handler saw, one entry per call. */
struct call {
	char *line;
	size_t len;
	int scan_result;
	enum ab_msg_type type;
};

struct ctx {
	struct call calls[256];
	size_t ncalls;
	int unknown_verdict;   /* returned for RECORDs of unknown streams */
	bool forward_all;      /* forward every line, not only STATEs */
	const struct relay *watch; /* record its stage's fill at each call */
	int staged[256];
};

static int handler(void *p, const char *line, size_t len,
		   const struct ab_scan *sc, int scan_result)
{
	struct ctx *c = p;

	if (c->ncalls < 256) {
		struct call *k = &c->calls[c->ncalls];
		k->line = strndup(line, len);
		k->len = len;
		k->scan_result = scan_result;
		k->type = scan_result == 0 || scan_result == -ENOENT ? sc->type : AB_MSG_NONE;
		if (c->watch)
			assert_int_equal(ioctl(c->watch->stage_r, FIONREAD, &c->staged[c->ncalls]), 0);
	}
	c->ncalls++;
	if (scan_result == -ENOENT) {
		/* the stream still points into the line */
		assert_true(sc->stream >= line && sc->stream + sc->stream_len <= line + len);
		return c->unknown_verdict;
	}
	if (c->forward_all)
		return RELAY_FORWARD;
	return scan_result == 0 && sc->type == AB_MSG_STATE ? RELAY_FORWARD : RELAY_DROP;
}

static void ctx_release(struct ctx *c)
{
	for (size_t i = 0; i < c->ncalls && i < 256; i++)
		free(c->calls[i].line);
}

static struct catalog cat;

static int setup_catalog(void **st)
{
	struct ab_error err;
	json_t *doc = json_loads("{\"streams\":["
		"{\"stream\":{\"name\":\"users\"}},"
		"{\"stream\":{\"name\":\"orders\"}},"
		"{\"stream\":{\"name\":\"items\",\"namespace\":\"shop\"}}]}", 0, NULL);
	int r = catalog_from_json(&cat, doc, &err);
	json_decref(doc);
	return r;
}

static int teardown_catalog(void **st)
{
	catalog_release(&cat);
	return 0;
}

static void set_nonblock(int fd)
{
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

struct pipes {
	int in_r, in_w, out_r, out_w;
};

static struct pipes make_pipes(void)
{
	int a[2], b[2];

	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	set_nonblock(b[0]);
	set_nonblock(b[1]);
	return (struct pipes){ a[0], a[1], b[0], b[1] };
}

static void close_pipes(struct pipes *p)
{
	int *fds[] = { &p->in_r, &p->in_w, &p->out_r, &p->out_w };
	for (int i = 0; i < 4; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

/* Splice mode for the tests of the "spliced" group (see main). */
static bool use_splice;

/* relay_init(), then splice mode between p's pipes in the spliced group. */
static int init(struct relay *r, size_t initial, size_t max, struct ctx *c,
		const struct pipes *p)
{
	int e = relay_init(r, &cat, initial, max, handler, c);

	if (e == 0 && use_splice)
		e = relay_splice(r, p->in_r, p->out_w);
	return e;
}

/* Read what is in the output pipe (up to max bytes) into out. */
static void drain(int fd, struct bytes *out, size_t max)
{
	char buf[4096];

	while (max > 0) {
		ssize_t n = read(fd, buf, max < sizeof(buf) ? max : sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return;
		assert_true(n > 0);
		bytes_add(out, buf, (size_t)n);
		max -= (size_t)n;
	}
}

/*
 * Write all of in (closing the input), relay it to the output, return the
 * relay's first error (0 when the whole input went through).
 */
static int run_all(struct relay *r, struct pipes *p, const char *in, size_t len,
		   struct bytes *out)
{
	int res = 0;

	assert_true(len < 60000); /* fits in the pipe */
	assert_int_equal(write(p->in_w, in, len), (ssize_t)len);
	close(p->in_w);
	p->in_w = -1;
	for (;;) {
		ssize_t n = relay_read(r, p->in_r);
		if (n == -EAGAIN) {
			assert_false(relay_can_read(r));
			int w = relay_write(r, p->out_w);
			assert_true(w == 0 || w == -EAGAIN);
			if (w == 0 && !res && (res = relay_scan(r)) < 0)
				break;
			drain(p->out_r, out, SIZE_MAX);
			continue;
		}
		if (n < 0)
			return (int)n;
		int s = relay_scan(r);
		if (s < 0)
			res = s;
		int w = relay_write(r, p->out_w);
		assert_true(w == 0 || w == -EAGAIN);
		drain(p->out_r, out, SIZE_MAX);
		if (n == 0 || s < 0)
			break;
	}
	while (relay_pending(r)) {
		int w = relay_write(r, p->out_w);
		assert_true(w == 0 || w == -EAGAIN);
		drain(p->out_r, out, SIZE_MAX);
	}
	drain(p->out_r, out, SIZE_MAX);
	return res;
}

#define REC(stream) "{\"type\":\"RECORD\",\"record\":{\"stream\":\"" stream \
	"\",\"data\":{\"id\":1},\"emitted_at\":1}}"
#define REC_NS(stream, ns) "{\"type\":\"RECORD\",\"record\":{\"namespace\":\"" ns \
	"\",\"stream\":\"" stream "\",\"data\":{}}}"
#define STATE(n) "{\"type\":\"STATE\",\"state\":{\"type\":\"LEGACY\",\"data\":{\"c\":" #n "}}}"
#define LOG "{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":\"hi\"}}"

static void test_mixed(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { .unknown_verdict = RELAY_DROP };
	struct bytes in = { 0 }, out = { 0 }, want = { 0 };

	assert_int_equal(init(&r, 4096, 4096, &c, &p), 0);
	ADD(&in, REC("users") "\n");          ADD(&want, REC("users") "\n");
	ADD(&in, "junk output\n");
	ADD(&in, REC("orders") "\n");         ADD(&want, REC("orders") "\n");
	ADD(&in, LOG "\n");
	ADD(&in, STATE(1) "\n");              ADD(&want, STATE(1) "\n");
	ADD(&in, "\n");
	ADD(&in, REC("us\\u0065rs") "\n");    ADD(&want, REC("us\\u0065rs") "\n");
	ADD(&in, REC("nope") "\n");
	ADD(&in, REC_NS("items", "shop") "\n"); ADD(&want, REC_NS("items", "shop") "\n");
	ADD(&in, REC_NS("items", "sh\\u006fp") "\r\n"); ADD(&want, REC_NS("items", "sh\\u006fp") "\r\n");
	ADD(&in, REC("items") "\n");          ADD(&want, REC("items") "\n"); /* name only */
	ADD(&in, REC_NS("users", "shop") "\n");
	ADD(&in, "{\"type\":\"RECORD\",\"record\":{}}\n");
	ADD(&in, "[1,2]\n");
	ADD(&in, REC("users"));               ADD(&want, REC("users") "\n"); /* no newline */

	assert_int_equal(run_all(&r, &p, in.p, in.n, &out), 0);
	assert_int_equal(out.n, want.n);
	assert_string_equal(out.p, want.p);

	/* the handler saw every other line, in order, with the scan result */
	const struct { const char *line; int sr; enum ab_msg_type type; } calls[] = {
		{ "junk output", -EINVAL, AB_MSG_NONE },
		{ LOG, 0, AB_MSG_LOG },
		{ STATE(1), 0, AB_MSG_STATE },
		{ "", -EINVAL, AB_MSG_NONE },
		{ REC("nope"), -ENOENT, AB_MSG_RECORD },
		{ REC_NS("users", "shop"), -ENOENT, AB_MSG_RECORD },
		{ "{\"type\":\"RECORD\",\"record\":{}}", -EINVAL, AB_MSG_NONE },
		{ "[1,2]", 0, AB_MSG_NONE },
	};
	size_t ncalls = sizeof(calls) / sizeof(calls[0]);
	assert_int_equal(c.ncalls, ncalls);
	for (size_t i = 0; i < ncalls; i++) {
		assert_string_equal(c.calls[i].line, calls[i].line);
		assert_int_equal(c.calls[i].len, strlen(calls[i].line));
		assert_int_equal(c.calls[i].scan_result, calls[i].sr);
		assert_int_equal(c.calls[i].type, calls[i].type);
	}

	/* counts */
	assert_int_equal(r.records[0], 3);
	assert_int_equal(r.records[1], 1);
	assert_int_equal(r.records[2], 3);
	assert_int_equal(r.bytes[0], strlen(REC("users")) * 2 + strlen(REC("us\\u0065rs")) + 3);
	assert_int_equal(r.bytes[1], strlen(REC("orders")) + 1);
	assert_int_equal(r.bytes[2], strlen(REC_NS("items", "shop")) +
			 strlen(REC_NS("items", "sh\\u006fp")) + 1 + strlen(REC("items")) + 3);
	assert_int_equal(r.messages[AB_MSG_RECORD], 7);
	assert_int_equal(r.messages[AB_MSG_STATE], 1);
	assert_int_equal(r.messages[AB_MSG_LOG], 1);
	assert_int_equal(r.messages[AB_MSG_NONE], 1);
	assert_int_equal(r.invalid, 3);
	assert_int_equal(r.total_bytes, in.n);
	assert_true(r.eof);
	assert_false(relay_can_read(&r));

	relay_release(&r);
	relay_release(&r);
	ctx_release(&c);
	close_pipes(&p);
	free(in.p);
	free(out.p);
	free(want.p);
}

/* The handler may forward any line; it comes out unchanged. */
static void test_forward_all(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { .unknown_verdict = RELAY_FORWARD, .forward_all = true };
	struct bytes out = { 0 };
	const char *in = "a\n\n" REC("x") "\n" LOG "\n" REC("users") "\nz";

	assert_int_equal(init(&r, 64, 1024, &c, &p), 0);
	assert_int_equal(run_all(&r, &p, in, strlen(in), &out), 0);
	assert_string_equal(out.p, "a\n\n" REC("x") "\n" LOG "\n" REC("users") "\nz\n");
	assert_int_equal(c.ncalls, 5);
	assert_int_equal(r.records[0], 1);
	relay_release(&r);
	ctx_release(&c);
	close_pipes(&p);
	free(out.p);
}

/* A handler error stops the scan and is returned; earlier lines survive. */
static void test_unknown_stream_stops(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { .unknown_verdict = -ENOENT };
	struct bytes out = { 0 };
	const char *in = REC("users") "\n" REC("nope") "\n" REC("orders") "\n";

	assert_int_equal(init(&r, 4096, 4096, &c, &p), 0);
	assert_int_equal(run_all(&r, &p, in, strlen(in), &out), -ENOENT);
	assert_string_equal(out.p, REC("users") "\n");
	assert_int_equal(c.ncalls, 1);
	assert_string_equal(c.calls[0].line, REC("nope"));
	assert_int_equal(r.records[0], 1);
	assert_int_equal(r.records[1], 0);
	relay_release(&r);
	ctx_release(&c);
	close_pipes(&p);
	free(out.p);
}

static void test_empty_input(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { 0 };
	struct bytes out = { 0 };

	assert_int_equal(init(&r, 64, 64, &c, &p), 0);
	assert_true(relay_can_read(&r));
	assert_int_equal(run_all(&r, &p, "", 0, &out), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(c.ncalls, 0);
	assert_int_equal(relay_pending(&r), 0);
	relay_release(&r);
	close_pipes(&p);
}

/* Lines up to max bytes (newline included) pass; longer ones are E2BIG. */
static void test_too_long(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { 0 };
	struct bytes in = { 0 }, out = { 0 };
	char line[200];

	/* a record of exactly 127 bytes + '\n' with max 128: grows and passes */
	const char *head = "{\"type\":\"RECORD\",\"record\":{\"stream\":\"users\",\"data\":\"";
	size_t pad = 127 - strlen(head) - 3;
	snprintf(line, sizeof(line), "%s%.*s\"}}", head, (int)pad,
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_int_equal(strlen(line), 127);
	ADD(&in, line);
	ADD(&in, "\n");
	assert_int_equal(init(&r, 16, 128, &c, &p), 0);
	assert_int_equal(run_all(&r, &p, in.p, in.n, &out), 0);
	assert_int_equal(out.n, 128);
	assert_memory_equal(out.p, in.p, 128);
	assert_int_equal(r.cap, 128);
	assert_int_equal(r.records[0], 1);
	relay_release(&r);
	close_pipes(&p);

	/* one byte more: E2BIG, and nothing of it is forwarded */
	p = make_pipes();
	out.n = 0;
	in.n = 0;
	ADD(&in, REC("users") "\n");
	ADD(&in, "x");
	ADD(&in, line);
	ADD(&in, "\n");
	assert_int_equal(init(&r, 16, 128, &c, &p), 0);
	assert_int_equal(run_all(&r, &p, in.p, in.n, &out), -E2BIG);
	assert_string_equal(out.p, REC("users") "\n");
	assert_int_equal(r.records[0], 1);
	relay_release(&r);
	close_pipes(&p);

	/* a final line without a newline over the limit is E2BIG too */
	p = make_pipes();
	out.n = 0;
	in.n = 0;
	ADD(&in, "x");
	ADD(&in, line);
	assert_int_equal(init(&r, 64, 128, &c, &p), 0);
	assert_int_equal(run_all(&r, &p, in.p, in.n, &out), -E2BIG);
	assert_int_equal(out.n, 0);
	relay_release(&r);
	close_pipes(&p);

	/* ...and at the limit passes, with the newline added */
	p = make_pipes();
	out.n = 0;
	assert_int_equal(init(&r, 64, 128, &c, &p), 0);
	assert_int_equal(run_all(&r, &p, line, 127, &out), 0);
	assert_int_equal(out.n, 128);
	assert_memory_equal(out.p, line, 127);
	assert_int_equal(out.p[127], '\n');
	assert_int_equal(r.bytes[0], 128);
	relay_release(&r);
	close_pipes(&p);

	ctx_release(&c);
	free(in.p);
	free(out.p);
}

/* Pending output fills the buffer: read says -EAGAIN until it is written. */
static void test_write_first(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { 0 };
	struct bytes out = { 0 };
	const char *rec = "{\"type\":\"RECORD\",\"record\":{\"stream\":\"users\"}}";
	struct bytes in = { 0 };

	assert_int_equal(strlen(rec), 45);
	ADD(&in, "x\n");      /* dropped: leaves a gap before the record */
	ADD(&in, rec);
	ADD(&in, "\n");
	ADD(&in, rec);
	ADD(&in, "\n");
	assert_int_equal(write(p.in_w, in.p, in.n), (ssize_t)in.n);
	close(p.in_w);
	p.in_w = -1;

	assert_int_equal(relay_init(&r, &cat, 64, 64, handler, &c), 0);
	assert_int_equal(relay_read(&r, p.in_r), 64);
	assert_int_equal(relay_scan(&r), 0);
	assert_int_equal(relay_pending(&r), 46);
	assert_memory_equal(r.buf, rec, 45);  /* moved over the dropped line */
	assert_false(relay_can_read(&r));
	assert_int_equal(relay_read(&r, p.in_r), -EAGAIN);
	assert_int_equal(relay_pending(&r), 46);

	assert_int_equal(relay_write(&r, p.out_w), 0);
	assert_int_equal(relay_pending(&r), 0);
	assert_true(relay_can_read(&r));
	/* compacted: the 16 unscanned bytes move to the front */
	assert_int_equal(relay_read(&r, p.in_r), 30);
	assert_int_equal(r.fill, 46);
	assert_int_equal(relay_scan(&r), 0);
	assert_int_equal(relay_write(&r, p.out_w), 0);
	assert_int_equal(relay_read(&r, p.in_r), 0);
	assert_int_equal(relay_scan(&r), 0);
	drain(p.out_r, &out, SIZE_MAX);
	assert_int_equal(out.n, 92);
	assert_memory_equal(out.p, in.p + 2, 92);
	assert_int_equal(r.records[0], 2);
	assert_int_equal(c.ncalls, 1);
	relay_release(&r);
	ctx_release(&c);
	close_pipes(&p);
	free(in.p);
	free(out.p);
}

static void test_write_errors(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { 0 };
	const char *in = REC("users") "\n";

	assert_int_equal(relay_init(&r, &cat, 4096, 4096, handler, &c), 0);
	assert_int_equal(relay_write(&r, p.out_w), 0); /* nothing to write */
	assert_int_equal(write(p.in_w, in, strlen(in)), (ssize_t)strlen(in));
	assert_int_equal(relay_read(&r, p.in_r), (ssize_t)strlen(in));
	assert_int_equal(relay_scan(&r), 0);
	close(p.out_r);
	p.out_r = -1;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(relay_write(&r, p.out_w), -EPIPE);
	assert_int_equal(relay_pending(&r), strlen(in));
	assert_int_equal(relay_read(&r, -1), -EBADF);
	relay_release(&r);
	close_pipes(&p);
}

/* Non-blocking empty input: -EAGAIN, nothing changes. */
static void test_read_eagain(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { 0 };

	set_nonblock(p.in_r);
	assert_int_equal(relay_init(&r, &cat, 64, 64, handler, &c), 0);
	assert_int_equal(relay_read(&r, p.in_r), -EAGAIN);
	assert_false(r.eof);
	assert_int_equal(r.fill, 0);
	assert_int_equal(relay_scan(&r), 0);
	assert_int_equal(c.ncalls, 0);
	relay_release(&r);
	close_pipes(&p);
}

/*
 * Random interleaving of feeding input, reading, writing and draining, with
 * a small output pipe, checked against the expected output.  Exercises
 * compaction with pending output and growth.
 */
static void random_run(unsigned seed, size_t initial, size_t max, size_t long_len)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { .unknown_verdict = RELAY_DROP };
	struct bytes in = { 0 }, out = { 0 }, want = { 0 };
	uint64_t want_records[3] = { 0 }, want_bytes[3] = { 0 };
	char line[20000];
	int compact_pending = 0, eagain_full = 0;

	srand(seed);
	set_nonblock(p.in_r);
	set_nonblock(p.in_w);
	fcntl(p.out_w, F_SETPIPE_SZ, 4096);
	for (int i = 0; i < 3000; i++) {
		int k = rand() % 8, n;
		int pad = rand() % 80;
		switch (k) {
		case 0: case 1: case 2:
			n = snprintf(line, sizeof(line), "{\"type\":\"RECORD\",\"record\":"
				     "{\"stream\":\"%s\",\"data\":{\"i\":%d,\"p\":\"%.*s\"}}}",
				     k == 2 ? "orders" : "users", i, pad,
				     "................................................................................");
			want_records[k == 2]++;
			want_bytes[k == 2] += (uint64_t)n + 1;
			ADD(&want, line);
			ADD(&want, "\n");
			break;
		case 3:
			n = snprintf(line, sizeof(line), "{\"type\":\"STATE\",\"state\":{\"data\":{\"i\":%d}}}", i);
			ADD(&want, line);
			ADD(&want, "\n");
			break;
		case 4:
			n = snprintf(line, sizeof(line), "log line %d %.*s", i, pad, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
			break;
		case 5:
			n = snprintf(line, sizeof(line), REC("unknown%d"), i);
			break;
		case 6:
			n = snprintf(line, sizeof(line), "%s", rand() % 2 ? "" : LOG);
			break;
		default:
			if (long_len && rand() % 20 == 0) {
				n = snprintf(line, sizeof(line), "{\"type\":\"RECORD\",\"record\":"
					     "{\"stream\":\"orders\",\"data\":\"");
				size_t len = (size_t)(rand() % (int)long_len);
				memset(line + n, 'L', len);
				n += (int)len;
				n += snprintf(line + n, sizeof(line) - (size_t)n, "\"}}");
				want_records[1]++;
				want_bytes[1] += (uint64_t)n + 1;
				ADD(&want, line);
				ADD(&want, "\n");
			} else {
				n = snprintf(line, sizeof(line), "{\"type\":\"RECORD\",\"record\":{\"stream\":\"us\\u0065rs\"}}");
				want_records[0]++;
				want_bytes[0] += (uint64_t)n + 1;
				ADD(&want, line);
				ADD(&want, "\n");
			}
		}
		ADD(&in, line);
		ADD(&in, "\n");
	}
	in.n--; /* the last line has no newline: it must get one */

	size_t fed = 0;
	bool done = false;
	int steps = 0;
	while (!done || relay_pending(&r) || out.n < want.n) {
		assert_true(++steps < 10000000);
		if (steps == 1)
			assert_int_equal(init(&r, initial, max, &c, &p), 0);
		/* writes are rarer than reads so that output piles up */
		int a = rand() % 20;
		switch (a < 7 ? 0 : a < 14 ? 1 : a < 16 ? 2 : 3) {
		case 0: /* the source writes a bit */
			if (fed < in.n) {
				size_t want_n = 1 + (size_t)rand() % 700;
				if (want_n > in.n - fed)
					want_n = in.n - fed;
				ssize_t n = write(p.in_w, in.p + fed, want_n);
				assert_true(n > 0 || errno == EAGAIN);
				if (n > 0)
					fed += (size_t)n;
			}
			if (fed == in.n && p.in_w >= 0) {
				close(p.in_w);
				p.in_w = -1;
			}
			break;
		case 1: /* the driver reads and scans */
			if (!relay_can_read(&r)) {
				if (!r.eof) {
					assert_int_equal(relay_read(&r, p.in_r), -EAGAIN);
					eagain_full++;
				}
				break;
			}
			if (r.out_off > 0 && relay_pending(&r) > 0)
				compact_pending++;
			ssize_t n = relay_read(&r, p.in_r);
			assert_true(n >= 0 || n == -EAGAIN);
			if (n >= 0)
				assert_int_equal(relay_scan(&r), 0);
			if (n == 0)
				done = true;
			break;
		case 2: { /* the driver writes, then scans what a blocked write held up */
			int w = relay_write(&r, p.out_w);
			assert_true(w == 0 || w == -EAGAIN);
			if (w == 0)
				assert_int_equal(relay_scan(&r), 0);
			break;
		}
		default: /* the destination reads a bit */
			drain(p.out_r, &out, 1 + (size_t)rand() % 3000);
		}
		/* invariants of the buffer layout */
		assert_true(r.out_off <= r.out_end && r.out_end <= r.scan);
		assert_true(r.scan <= r.fill && r.fill <= r.cap + 1 && r.cap <= max);
	}
	if (out.n != want.n || memcmp(out.p, want.p, want.n)) {
		size_t i = 0;
		while (i < out.n && i < want.n && out.p[i] == want.p[i])
			i++;
		fail_msg("seed %u: output differs at byte %zu of %zu (got %zu)", seed, i,
			 want.n, out.n);
	}
	assert_int_equal(r.records[0], want_records[0]);
	assert_int_equal(r.records[1], want_records[1]);
	assert_int_equal(r.bytes[0], want_bytes[0]);
	assert_int_equal(r.bytes[1], want_bytes[1]);
	assert_int_equal(r.total_bytes, in.n);
	if (long_len)
		assert_true(r.cap > initial);   /* it grew */
	else
		assert_int_equal(r.cap, initial);
	if (initial > 4096 && !use_splice)
		assert_true(compact_pending > 0); /* partial writes happened */
	if (!long_len)
		assert_true(eagain_full > 0);   /* the buffer filled with output */
	relay_release(&r);
	ctx_release(&c);
	close_pipes(&p);
	free(in.p);
	free(out.p);
	free(want.p);
}

static void test_random_small(void **st)
{
	for (unsigned seed = 1; seed <= 5; seed++)
		random_run(seed, 256, 256, 0);
}

static void test_random_partial_writes(void **st)
{
	for (unsigned seed = 11; seed <= 15; seed++)
		random_run(seed, 6000, 6000, 0);
}

static void test_random_growth(void **st)
{
	for (unsigned seed = 21; seed <= 25; seed++)
		random_run(seed, 5000, 19000, 15000);
}

/* Splice mode needs pipes at both ends; the relay stays in copy mode otherwise. */
static void test_splice_needs_pipes(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { 0 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(relay_init(&r, &cat, 64, 64, handler, &c), 0);
	assert_int_equal(relay_splice(&r, sv[0], p.out_w), -EINVAL);
	assert_int_equal(relay_splice(&r, p.in_r, sv[1]), -EINVAL);
	assert_false(r.spliced);
	assert_int_equal(relay_splice(&r, p.in_r, p.out_w), 0);
	assert_true(r.spliced);
	relay_release(&r);
	close(sv[0]);
	close(sv[1]);
	close_pipes(&p);
}

/*
 * Splice mode: a forwarded line cut by the end of a read is taken out of the
 * pipe (so that poll() wakes for new bytes only) and written from buf once
 * its end has come; the lines after it go pipe to pipe.
 */
static void test_splice_carry(void **st)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { 0 };
	struct bytes out = { 0 };
	const char *a = REC("users") "\n" "{\"type\":\"RECORD\",\"rec";
	const char *b = "ord\":{\"stream\":\"orders\"}}\n" REC("users") "\n";

	set_nonblock(p.in_r);
	assert_int_equal(relay_init(&r, &cat, 4096, 4096, handler, &c), 0);
	assert_int_equal(relay_splice(&r, p.in_r, p.out_w), 0);
	assert_int_equal(write(p.in_w, a, strlen(a)), (ssize_t)strlen(a));
	assert_int_equal(relay_read(&r, p.in_r), (ssize_t)strlen(a));
	assert_int_equal(relay_scan(&r), 0);
	assert_int_equal(relay_pending(&r), 0);
	assert_int_equal(r.carry, strlen(a) - strlen(REC("users")) - 1);
	assert_true(relay_can_read(&r));
	assert_int_equal(relay_read(&r, p.in_r), -EAGAIN); /* the pipe is empty */
	assert_int_equal(write(p.in_w, b, strlen(b)), (ssize_t)strlen(b));
	assert_int_equal(relay_read(&r, p.in_r), (ssize_t)strlen(b));
	assert_int_equal(relay_scan(&r), 0);
	drain(p.out_r, &out, SIZE_MAX);
	assert_int_equal(out.n, strlen(a) + strlen(b));
	assert_memory_equal(out.p, a, strlen(a));
	assert_memory_equal(out.p + strlen(a), b, strlen(b));
	assert_int_equal(r.records[0], 2);
	assert_int_equal(r.records[1], 1);
	assert_int_equal(r.total_bytes, strlen(a) + strlen(b));
	relay_release(&r);
	close_pipes(&p);
	free(out.p);
}

/* Splice mode: write and scan until nothing is pending; the rounds it took. */
static int write_out(struct relay *r, const struct pipes *p, struct bytes *out)
{
	int rounds = 0;
	while (relay_pending(r)) {
		drain(p->out_r, out, SIZE_MAX);
		int w = relay_write(r, p->out_w);
		assert_true(w == 0 || w == -EAGAIN);
		if (w == 0)
			assert_int_equal(relay_scan(r), 0);
		assert_true(++rounds < 100000);
	}
	return rounds;
}

/* The end of the line cut at the end of the first read comes: all of the
 * output must then be what was wanted. */
static void finish_cut(struct relay *r, const struct pipes *p, const char *rest,
		       struct bytes *out, const struct bytes *want)
{
	assert_int_equal(write(p->in_w, rest, strlen(rest)), (ssize_t)strlen(rest));
	assert_int_equal(relay_read(r, p->in_r), (ssize_t)strlen(rest));
	assert_int_equal(relay_scan(r), 0);
	drain(p->out_r, out, SIZE_MAX);
	assert_int_equal(out->n, want->n);
	assert_memory_equal(out->p, want->p, want->n);
}

/*
 * Splice mode: what relay_read() saw leaves the input pipe at once, into the
 * stage, so the source can write on while the relay scans it; forwarded and
 * dropped lines then leave the stage in order.  Where the stage takes only
 * part of it, the rest follows from the input pipe; without a stage (when
 * none can be had) all of it does.
 */
enum stage_mode { STAGE_ALL, STAGE_PART, STAGE_NONE };

static void stage_run(enum stage_mode mode)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { .unknown_verdict = RELAY_DROP };
	struct bytes in = { 0 }, want = { 0 }, out = { 0 };
	const char *cut = "{\"type\":\"RECORD\",\"rec";
	const char *rest = "ord\":{\"stream\":\"orders\"}}\n";
	int left;

	for (int i = 0; i < 60; i++) {  /* 6 KiB: more than a page */
		ADD(&in, REC("users") "\n" "not json\n" REC("orders") "\n" LOG "\n");
		ADD(&want, REC("users") "\n" REC("orders") "\n");
	}
	ADD(&in, cut);
	ADD(&want, cut);
	ADD(&want, rest);
	set_nonblock(p.in_r);
	assert_int_equal(relay_init(&r, &cat, 16384, 16384, handler, &c), 0);
	assert_int_equal(relay_splice(&r, p.in_r, p.out_w), 0);
	assert_true(r.stage_r >= 0);
	if (mode == STAGE_PART) {
		assert_int_equal(fcntl(r.stage_w, F_SETPIPE_SZ, 4096), 4096);
	} else if (mode == STAGE_NONE) {
		close(r.stage_r);
		close(r.stage_w);
		r.stage_r = r.stage_w = -1;
	}
	assert_int_equal(write(p.in_w, in.p, in.n), (ssize_t)in.n);
	assert_int_equal(relay_read(&r, p.in_r), (ssize_t)in.n);
	assert_int_equal(ioctl(p.in_r, FIONREAD, &left), 0);
	if (mode == STAGE_ALL)
		assert_int_equal(left, 0);
	else if (mode == STAGE_PART)
		assert_true(left > 0 && (size_t)left < in.n);
	else
		assert_int_equal(left, (int)in.n);
	assert_int_equal(r.staged, in.n - (size_t)left);
	/* each splice takes a slot of the output pipe: drain it as it fills */
	assert_int_equal(relay_scan(&r), 0);
	write_out(&r, &p, &out);
	assert_int_equal(r.staged, 0);
	finish_cut(&r, &p, rest, &out, &want);
	assert_int_equal(r.invalid, 60);
	assert_int_equal(r.records[0], 60);
	assert_int_equal(r.records[1], 61);
	relay_release(&r);
	ctx_release(&c);
	close_pipes(&p);
	free(in.p);
	free(want.p);
	free(out.p);
}

static void test_splice_stage(void **st)
{
	stage_run(STAGE_ALL);
	stage_run(STAGE_PART);
	stage_run(STAGE_NONE);
}

/*
 * Splice mode, a read with many dropped lines close together: from the
 * RELAY_DENSE_DROPS-th the relay consumes all it saw and writes the
 * remaining forwarded lines from buf in one go, instead of a splice (and a
 * slot of the output pipe) per run of records between two dropped lines.
 * With an output pipe of four slots, splicing would take a round of
 * draining per four records.  Dropped lines far apart are spliced around.
 */
static void dense_run(bool dense)
{
	struct pipes p = make_pipes();
	struct relay r;
	struct ctx c = { .watch = &r };
	struct bytes in = { 0 }, want = { 0 }, out = { 0 };
	const char *cut = "{\"type\":\"RECORD\",\"rec";
	const char *rest = "ord\":{\"stream\":\"orders\"}}\n";
	int left;
	size_t records = 0;

	for (int i = 0; i < 40; i++) {
		/* far apart: 80 records (about 5 KiB) between dropped lines */
		for (int k = 0; k < (dense ? 1 : 80); k++, records++) {
			ADD(&in, REC("users") "\n");
			ADD(&want, REC("users") "\n");
		}
		ADD(&in, "not json\n");
	}
	ADD(&in, cut);
	ADD(&want, cut);
	ADD(&want, rest);
	set_nonblock(p.in_r);
	assert_int_equal(fcntl(p.in_w, F_SETPIPE_SZ, 1 << 20), 1 << 20);
	assert_int_equal(fcntl(p.out_w, F_SETPIPE_SZ, dense ? 16384 : 1 << 20), dense ? 16384 : 1 << 20);
	assert_int_equal(relay_init(&r, &cat, 1 << 20, 1 << 20, handler, &c), 0);
	assert_int_equal(relay_splice(&r, p.in_r, p.out_w), 0);
	assert_int_equal(fcntl(r.stage_w, F_SETPIPE_SZ, 1 << 20), 1 << 20);
	assert_int_equal(write(p.in_w, in.p, in.n), (ssize_t)in.n);
	assert_int_equal(relay_read(&r, p.in_r), (ssize_t)in.n);
	assert_int_equal(relay_scan(&r), 0);
	int rounds = write_out(&r, &p, &out);
	if (dense)
		assert_true(rounds <= 3);
	/* the stage still held the unscanned lines at the RELAY_DENSE_DROPS-th
	 * dropped line; at the next, only when they are spliced around */
	assert_int_equal(c.ncalls, 40);
	assert_true(c.staged[7] > 0);
	if (dense)
		assert_int_equal(c.staged[8], 0);
	else
		assert_true(c.staged[8] > 0);
	/* all seen bytes have left the pipes; the cut line is in buf */
	assert_int_equal(ioctl(p.in_r, FIONREAD, &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(ioctl(r.stage_r, FIONREAD, &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(r.carry, strlen(cut));
	finish_cut(&r, &p, rest, &out, &want);
	assert_int_equal(r.invalid, 40);
	assert_int_equal(r.records[0], records);
	assert_int_equal(r.records[1], 1);
	relay_release(&r);
	ctx_release(&c);
	close_pipes(&p);
	free(in.p);
	free(want.p);
	free(out.p);
}

static void test_splice_dense_drops(void **st)
{
	dense_run(true);
	dense_run(false);
}

static int splice_on(void **st)
{
	use_splice = true;
	return setup_catalog(st);
}

static int splice_off(void **st)
{
	use_splice = false;
	return teardown_catalog(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_forward_all),
		cmocka_unit_test(test_unknown_stream_stops),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_write_first),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_read_eagain),
		cmocka_unit_test(test_random_small),
		cmocka_unit_test(test_random_partial_writes),
		cmocka_unit_test(test_random_growth),
	};
	/* the same behaviour through splice(2) and tee(2) */
	const struct CMUnitTest spliced[] = {
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_forward_all),
		cmocka_unit_test(test_unknown_stream_stops),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_splice_needs_pipes),
		cmocka_unit_test(test_splice_carry),
		cmocka_unit_test(test_splice_stage),
		cmocka_unit_test(test_splice_dense_drops),
		cmocka_unit_test(test_random_small),
		cmocka_unit_test(test_random_partial_writes),
		cmocka_unit_test(test_random_growth),
	};
	if (setup_catalog(NULL) < 0)
		return 1;
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	teardown_catalog(NULL);
	failed += cmocka_run_group_tests_name("relay (spliced)", spliced, splice_on, splice_off);
	return failed;
}
