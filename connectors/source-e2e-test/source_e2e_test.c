/*
 * source-e2e-test: a deterministic, fast record generator (the benchmark
 * source).  Every stream emits ids 1..records; a RECORD line is a template
 * copied into a large output buffer with the id's digits patched in, and
 * the buffer goes out with write(2): no printf, no JSON library per record.
 * See connectors/README.md.
 */
#include "../kit/ck_buf.h"
#include "../kit/ck_catalog.h"
#include "../kit/ck_main.h"
#include "../kit/ck_out.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_MIN (1u << 20)
#define RECORD_SIZE_MAX ((int64_t)16 << 20)
#define TEMPLATE_MAX ((size_t)1 << 20)
#define ID_PLACEHOLDER "{{id}}"
#define EMITTED_AT_DEFAULT INT64_C(1700000000000)

static const char spec_json[] =
"{\"documentationUrl\":\"https://docs.airbyte.com/integrations/sources/e2e-test\","
"\"supportsIncremental\":true,"
"\"supported_destination_sync_modes\":[],"
"\"connectionSpecification\":{"
 "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
 "\"title\":\"E2E Test (generator) Spec\",\"type\":\"object\","
 "\"additionalProperties\":true,"
 "\"properties\":{"
  "\"streams\":{\"type\":\"integer\",\"minimum\":1,\"default\":1},"
  "\"stream_names\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
   "\"description\":\"Stream names (overrides streams; default stream_0, stream_1, ...).\"},"
  "\"records\":{\"type\":\"integer\",\"minimum\":0,\"default\":1000},"
  "\"record_size\":{\"type\":\"integer\",\"minimum\":1,\"default\":200,"
   "\"description\":\"Bytes per RECORD line (the payload string is padded).\"},"
  "\"data_template\":{\"type\":[\"string\",\"object\"],"
   "\"description\":\"Record data as JSON; {{id}} is replaced by the id. Overrides record_size.\"},"
  "\"state_every\":{\"type\":\"integer\",\"minimum\":0,\"default\":10000},"
  "\"estimate\":{\"type\":\"boolean\",\"default\":false},"
  "\"emitted_at\":{\"type\":\"integer\",\"default\":1700000000000},"
  "\"pipe_size\":{\"type\":\"integer\",\"minimum\":0,\"default\":0},"
  "\"fail_after\":{\"type\":\"integer\",\"minimum\":0,\"default\":0},"
  "\"trace_error\":{\"type\":\"string\"},"
  "\"garbage_every\":{\"type\":\"integer\",\"minimum\":0,\"default\":0},"
  "\"log_every\":{\"type\":\"integer\",\"minimum\":0,\"default\":0},"
  "\"delay_ms\":{\"type\":\"integer\",\"minimum\":0,\"default\":0}"
 "}}}";

struct gen_config {
	json_t *names;          /* array of stream names (owned) */
	int64_t records, record_size, state_every, emitted_at, pipe_size;
	int64_t fail_after, garbage_every, log_every, delay_ms;
	int estimate;
	const char *trace_error;
	char *data_template;    /* compact JSON with {{id}} (owned), or NULL */
};

/* --- output: one large buffer, written with write(2) ---------------------- */

static char *obuf;
static size_t olen, ocap;
static int oerr;

static int out_flush(void)
{
	int r;

	if (oerr || !olen)
		return oerr;
	r = ck_write_all(STDOUT_FILENO, obuf, olen);
	olen = 0;
	if (r < 0)
		oerr = r;
	else if (ck_terminated())
		oerr = -EINTR;
	return oerr;
}

/* Room for n more bytes (n <= ocap, guaranteed by the buffer sizing). */
static inline char *out_room(size_t n)
{
	if (ocap - olen < n && out_flush() < 0)
		return NULL;
	return obuf + olen;
}

static int out_add(const void *p, size_t n)
{
	char *d;

	if (n > ocap) {
		/* longer than the buffer (a huge stream name): write it directly */
		if (out_flush() < 0)
			return oerr;
		if ((oerr = ck_write_all(STDOUT_FILENO, p, n)) < 0)
			return oerr;
		return 0;
	}
	if (!(d = out_room(n)))
		return oerr;
	memcpy(d, p, n);
	olen += n;
	return 0;
}

static int out_addb(const struct ck_buf *b)
{
	return out_add(b->data, b->len);
}

/* --- config --------------------------------------------------------------- */

static int get_int(const json_t *config, const char *key, int64_t def, int64_t min,
		   int64_t max, int64_t *out)
{
	json_t *v = json_object_get(config, key);

	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return ck_fail("config: '%s' must be an integer in [%" PRId64 ", %" PRId64 "]",
			       key, min, max);
	*out = json_integer_value(v);
	return 0;
}

static void config_release(struct gen_config *c)
{
	json_decref(c->names);
	free(c->data_template);
	memset(c, 0, sizeof(*c));
}

/* The template must be a JSON object once {{id}} is replaced by digits. */
static int check_template(const char *tpl)
{
	struct ck_buf b = CK_BUF_INIT(2 * TEMPLATE_MAX);
	json_error_t err;
	json_t *parsed = NULL;
	const char *p;
	int r = 0;

	while (!r && (p = strstr(tpl, ID_PLACEHOLDER))) {
		r = ck_buf_add(&b, tpl, (size_t)(p - tpl));
		if (!r)
			r = ck_buf_addc(&b, '1');
		tpl = p + strlen(ID_PLACEHOLDER);
	}
	if (!r)
		r = ck_buf_adds(&b, tpl);
	if (!r && !json_is_object(parsed = json_loadb(b.data, b.len, 0, &err)))
		r = ck_fail("config: 'data_template' is not a JSON object%s%s",
			    parsed ? "" : ": ", parsed ? "" : err.text);
	json_decref(parsed);
	ck_buf_release(&b);
	return r;
}

static int parse_config(const json_t *config, struct gen_config *c)
{
	json_t *names = json_object_get(config, "stream_names"), *v, *tpl;
	int64_t nstreams;
	size_t i;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = get_int(config, "streams", 1, 1, 100000, &nstreams)) < 0 ||
	    (r = get_int(config, "records", 1000, 0, INT64_MAX / 2, &c->records)) < 0 ||
	    (r = get_int(config, "record_size", 200, 1, RECORD_SIZE_MAX, &c->record_size)) < 0 ||
	    (r = get_int(config, "state_every", 10000, 0, INT64_MAX, &c->state_every)) < 0 ||
	    (r = get_int(config, "emitted_at", EMITTED_AT_DEFAULT, INT64_MIN, INT64_MAX,
			 &c->emitted_at)) < 0 ||
	    (r = get_int(config, "pipe_size", 0, 0, INT32_MAX, &c->pipe_size)) < 0 ||
	    (r = get_int(config, "fail_after", 0, 0, INT64_MAX, &c->fail_after)) < 0 ||
	    (r = get_int(config, "garbage_every", 0, 0, INT64_MAX, &c->garbage_every)) < 0 ||
	    (r = get_int(config, "log_every", 0, 0, INT64_MAX, &c->log_every)) < 0 ||
	    (r = get_int(config, "delay_ms", 0, 0, 3600000, &c->delay_ms)) < 0)
		return r;
	v = json_object_get(config, "estimate");
	if (v && !json_is_boolean(v))
		return ck_fail("config: 'estimate' must be a boolean");
	c->estimate = json_is_true(v);
	v = json_object_get(config, "trace_error");
	if (v && !json_is_string(v))
		return ck_fail("config: 'trace_error' must be a string");
	c->trace_error = json_string_value(v);

	if (names) {
		if (!json_is_array(names) || !json_array_size(names))
			return ck_fail("config: 'stream_names' must be a non-empty array of strings");
		json_array_foreach(names, i, v)
			if (!json_is_string(v) || !json_string_length(v))
				return ck_fail("config: 'stream_names' must be a non-empty array of strings");
		c->names = json_incref(names);
	} else {
		c->names = json_array();
		for (i = 0; c->names && i < (size_t)nstreams; i++) {
			char name[32];

			snprintf(name, sizeof(name), "stream_%zu", i);
			if (json_array_append_new(c->names, json_string(name)) < 0)
				break;
		}
		if (!c->names || json_array_size(c->names) != (size_t)nstreams)
			return -ENOMEM;
	}

	tpl = json_object_get(config, "data_template");
	if (json_is_string(tpl)) {
		if (!(c->data_template = strdup(json_string_value(tpl))))
			return -ENOMEM;
		if ((r = check_template(c->data_template)) < 0)
			return r;
	} else if (json_is_object(tpl)) {
		c->data_template = json_dumps(tpl, JSON_COMPACT);
	} else if (tpl && !json_is_null(tpl)) {
		return ck_fail("config: 'data_template' must be a JSON object or its text");
	} else {
		return 0;
	}
	if (!c->data_template)
		return -ENOMEM;
	if (strlen(c->data_template) > TEMPLATE_MAX)
		return ck_fail("config: 'data_template' is longer than %zu bytes", TEMPLATE_MAX);
	if (strchr(c->data_template, '\n'))
		return ck_fail("config: 'data_template' must not contain a newline");
	return 0;
}

/* --- the record template -------------------------------------------------- */

/* The id as ASCII digits, incremented in place (no division per record). */
struct counter {
	char d[24];
	size_t len;
};

static void counter_set(struct counter *c, int64_t v)
{
	c->len = (size_t)snprintf(c->d, sizeof(c->d), "%" PRId64, v);
}

/* Returns 1 when the number of digits grew. */
static inline int counter_inc(struct counter *c)
{
	size_t i = c->len;

	while (i > 0 && c->d[i - 1] == '9')
		c->d[--i] = '0';
	if (i > 0) {
		c->d[i - 1]++;
		return 0;
	}
	memmove(c->d + 1, c->d, c->len);
	c->d[0] = '1';
	c->len++;
	return 1;
}

/*
 * A RECORD line is seg[0] id seg[1] id ... seg[n-1]: the segments are the
 * fixed text between the id's occurrences, kept in one buffer.
 */
#define MAX_SEGS 64

struct line_tpl {
	struct ck_buf text;
	size_t off[MAX_SEGS + 1]; /* segment i is text[off[i], off[i+1]) */
	size_t nseg;
	size_t fixed;             /* bytes of all segments */
};

static int tpl_cut(struct line_tpl *t)
{
	if (t->nseg >= MAX_SEGS)
		return ck_fail("config: 'data_template' has more than %d {{id}}", MAX_SEGS - 1);
	t->off[++t->nseg] = t->text.len;
	return 0;
}

/* Append template text, cutting a segment at each {{id}}. */
static int tpl_add_template(struct line_tpl *t, const char *s)
{
	const char *p;
	int r;

	while ((p = strstr(s, ID_PLACEHOLDER))) {
		if ((r = ck_buf_add(&t->text, s, (size_t)(p - s))) < 0 || (r = tpl_cut(t)) < 0)
			return r;
		s = p + strlen(ID_PLACEHOLDER);
	}
	return ck_buf_adds(&t->text, s);
}

/*
 * Build the line template for a stream.  Without a data template the data
 * is {"id":N,"payload":"xxx"} with the payload padded so that the line,
 * newline included, is record_size bytes for ids of id_digits digits.
 */
static int tpl_build(struct line_tpl *t, const struct gen_config *c, const char *stream,
		     size_t id_digits)
{
	char tail[64];
	int r, n;

	ck_buf_reset(&t->text);
	t->nseg = 0;
	t->off[0] = 0;
	n = snprintf(tail, sizeof(tail), "},\"emitted_at\":%" PRId64 "}}\n", c->emitted_at);
	r = ck_buf_adds(&t->text, "{\"type\":\"RECORD\",\"record\":{\"stream\":");
	if (!r)
		r = ck_buf_add_json_str(&t->text, stream, strlen(stream));
	if (!r)
		r = ck_buf_adds(&t->text, ",\"data\":");
	if (r < 0)
		return r;
	if (c->data_template) {
		r = tpl_add_template(t, c->data_template);
		/* the data object's closing brace is part of the template */
		if (!r)
			r = ck_buf_add(&t->text, tail + 1, (size_t)n - 1);
	} else {
		static const char mid[] = ",\"payload\":\"";
		size_t have, pad;

		r = ck_buf_adds(&t->text, "{\"id\":");
		if (!r)
			r = tpl_cut(t);
		if (!r)
			r = ck_buf_adds(&t->text, mid);
		if (r < 0)
			return r;
		have = t->text.len + id_digits + 1 + (size_t)n; /* 1: closing quote */
		pad = (size_t)c->record_size > have ? (size_t)c->record_size - have : 0;
		if ((r = ck_buf_reserve(&t->text, pad)) < 0)
			return r;
		memset(t->text.data + t->text.len, 'x', pad);
		t->text.len += pad;
		r = ck_buf_addc(&t->text, '"');
		if (!r)
			r = ck_buf_add(&t->text, tail, (size_t)n);
	}
	if (r < 0)
		return r;
	t->off[++t->nseg] = t->text.len;
	t->fixed = t->text.len;
	return 0;
}

/* --- messages ------------------------------------------------------------- */

static int emit_state(const char *stream, int64_t cursor)
{
	struct ck_buf b = CK_BUF_INIT(1 << 20);
	int r = ck_buf_adds(&b, "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
			    "{\"stream_descriptor\":{\"name\":");

	if (!r)
		r = ck_buf_add_json_str(&b, stream, strlen(stream));
	if (!r)
		r = ck_buf_addf(&b, "},\"stream_state\":{\"cursor\":%" PRId64 "}}}}\n", cursor);
	if (!r)
		r = out_addb(&b);
	ck_buf_release(&b);
	return r;
}

/* The kit's emitter stamps the current time; ours is deterministic. */
static int emit_estimate(const struct gen_config *c, const char *stream, int64_t rows,
			 int64_t bytes)
{
	struct ck_buf b = CK_BUF_INIT(1 << 20);
	int r = ck_buf_addf(&b, "{\"type\":\"TRACE\",\"trace\":{\"type\":\"ESTIMATE\","
			    "\"emitted_at\":%" PRId64 ",\"estimate\":{\"name\":", c->emitted_at);

	if (!r)
		r = ck_buf_add_json_str(&b, stream, strlen(stream));
	if (!r)
		r = ck_buf_addf(&b, ",\"type\":\"STREAM\",\"row_estimate\":%" PRId64
				",\"byte_estimate\":%" PRId64 "}}}\n", rows, bytes);
	if (!r)
		r = out_addb(&b);
	ck_buf_release(&b);
	return r;
}

static int emit_garbage(int64_t n)
{
	char line[80];
	int len = snprintf(line, sizeof(line), "garbage line %" PRId64 ": this is not JSON\n", n);

	return out_add(line, (size_t)len);
}

/* A LOG in the buffer, as a chatty source logs its progress. */
static int emit_progress(int64_t n)
{
	char line[96];
	int len = snprintf(line, sizeof(line), "{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\","
			   "\"message\":\"%" PRId64 " records read\"}}\n", n);

	return out_add(line, (size_t)len);
}

/* A LOG through the kit, kept in order with our buffer. */
static int emit_log(const char *level, const char *msg, const char *arg)
{
	int r = out_flush();

	if (!r)
		r = ck_emit_log(level, "%s%s", msg, arg);
	if (!r)
		r = ck_out_flush();
	return r;
}

/* --- read ----------------------------------------------------------------- */

struct run {
	const struct gen_config *c;
	int64_t total;          /* records emitted by this run, all streams */
	int failed;
};

static int64_t saved_cursor(const json_t *state, const char *name)
{
	json_t *ss = ck_state_find(state, name, NULL);
	json_t *cur = json_object_get(ss, "cursor");

	if (json_is_integer(cur))
		return json_integer_value(cur);
	if (json_is_string(cur))
		return strtoll(json_string_value(cur), NULL, 10);
	return 0;
}

static inline int64_t min_nz(int64_t a, int64_t b)
{
	return b > 0 && b < a ? b : a;
}

static int sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		if (errno != EINTR || ck_terminated())
			return -EINTR;
	return 0;
}

/* Emit ids first..last of one stream. */
static int read_stream(struct run *run, const char *name, int64_t first, int64_t last)
{
	const struct gen_config *c = run->c;
	struct line_tpl t = { .text = CK_BUF_INIT(RECORD_SIZE_MAX + TEMPLATE_MAX) };
	struct counter cnt;
	int64_t id = first, since_state = 0, stated = -1;
	int r;

	counter_set(&cnt, first);
	if ((r = tpl_build(&t, c, name, cnt.len)) < 0)
		goto out;
	/* the record loop writes a whole line into the buffer */
	if (t.fixed + (t.nseg - 1) * sizeof(cnt.d) > ocap) {
		r = ck_fail("a RECORD line of stream '%.100s' would exceed %zu bytes", name, ocap);
		goto out;
	}
	while (id <= last) {
		/* records until the next event (state, garbage, log, failure, end) */
		int64_t n = last - id + 1, k;

		if (c->state_every)
			n = min_nz(n, c->state_every - since_state);
		if (c->garbage_every)
			n = min_nz(n, c->garbage_every - run->total % c->garbage_every);
		if (c->log_every)
			n = min_nz(n, c->log_every - run->total % c->log_every);
		if (c->fail_after)
			n = min_nz(n, c->fail_after - run->total);
		if (c->delay_ms)
			n = 1;
		for (k = 0; k < n; k++) {
			size_t len = t.fixed + (t.nseg - 1) * cnt.len, s;
			char *p = out_room(len);

			if (!p) {
				r = oerr;
				goto out;
			}
			for (s = 0; s + 1 < t.nseg; s++) {
				memcpy(p, t.text.data + t.off[s], t.off[s + 1] - t.off[s]);
				p += t.off[s + 1] - t.off[s];
				memcpy(p, cnt.d, cnt.len);
				p += cnt.len;
			}
			memcpy(p, t.text.data + t.off[s], t.off[s + 1] - t.off[s]);
			olen += len;
			if (counter_inc(&cnt) && !c->data_template &&
			    (r = tpl_build(&t, c, name, cnt.len)) < 0)
				goto out;
		}
		id += n;
		since_state += n;
		run->total += n;
		if (c->garbage_every && run->total % c->garbage_every == 0 &&
		    (r = emit_garbage(run->total)) < 0)
			goto out;
		if (c->log_every && run->total % c->log_every == 0 &&
		    (r = emit_progress(run->total)) < 0)
			goto out;
		if (c->state_every && since_state == c->state_every) {
			since_state = 0;
			stated = id - 1;
			if ((r = emit_state(name, stated)) < 0)
				goto out;
		}
		if (c->fail_after && run->total >= c->fail_after) {
			run->failed = 1;
			r = 0;
			goto out;
		}
		if (c->delay_ms && ((r = out_flush()) < 0 || (r = sleep_ms(c->delay_ms)) < 0))
			goto out;
		if (ck_terminated()) {
			r = -EINTR;
			goto out;
		}
	}
	/* the final state, also when nothing was left to emit */
	r = stated == last ? 0 : emit_state(name, last >= first ? last : first - 1);
out:
	ck_buf_release(&t.text);
	return r;
}

static int gen_read(json_t *config, json_t *catalog, json_t *state)
{
	struct gen_config c;
	struct run run = { .c = &c };
	json_t *v;
	size_t i, maxline;
	int r;

	if ((r = parse_config(config, &c)) < 0)
		goto out;
	maxline = (size_t)c.record_size + (c.data_template ? MAX_SEGS * 24 + 2 * TEMPLATE_MAX : 0) + 4096;
	ocap = maxline > OUT_MIN ? 2 * maxline : OUT_MIN;
	if (!(obuf = malloc(ocap))) {
		r = -ENOMEM;
		goto out;
	}
	/* Larger pipe buffers mean fewer wake-ups per byte; best effort. */
	if (c.pipe_size)
		(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, (int)c.pipe_size);

	json_array_foreach(c.names, i, v) {
		const char *name = json_string_value(v);
		json_t *cs = ck_catalog_find(catalog, name, NULL);
		const char *mode = ck_cs_sync_mode(cs);
		int64_t first = 1;

		if (!cs)
			continue;
		if (mode && !strcmp(mode, "incremental"))
			first = saved_cursor(state, name) + 1;
		if (first < 1)
			first = 1;
		if (c.estimate) {
			int64_t rows = c.records >= first ? c.records - first + 1 : 0;

			if ((r = emit_estimate(&c, name, rows, rows * c.record_size)) < 0)
				goto out;
		}
	}
	json_array_foreach(json_object_get(catalog, "streams"), i, v) {
		const char *name = ck_cs_name(v);
		size_t k;
		json_t *n;
		int known = 0;

		json_array_foreach(c.names, k, n)
			known |= name && !strcmp(name, json_string_value(n));
		if (!known && (r = emit_log("WARN", "not a stream of this source, skipped: ",
					    name ? name : "(unnamed)")) < 0)
			goto out;
	}
	json_array_foreach(c.names, i, v) {
		const char *name = json_string_value(v);
		json_t *cs = ck_catalog_find(catalog, name, NULL);
		const char *mode = ck_cs_sync_mode(cs);
		int64_t first = 1;

		if (!cs)
			continue;
		if (mode && !strcmp(mode, "incremental"))
			first = saved_cursor(state, name) + 1;
		if (first < 1)
			first = 1;
		if ((r = read_stream(&run, name, first, c.records)) < 0 || run.failed)
			break;
	}
	if (r >= 0)
		r = out_flush();
	if (r >= 0 && run.failed) {
		if (c.trace_error) {
			r = ck_fail("%s", c.trace_error);
		} else {
			/* A crash-like failure: no TRACE ERROR, just the exit status. */
			fprintf(stderr, "source-e2e-test: fail_after reached after %" PRId64
				" records\n", run.total);
			config_release(&c);
			free(obuf);
			exit(1);
		}
	}
out:
	config_release(&c);
	free(obuf);
	obuf = NULL;
	return r;
}

/* --- spec / check / discover ---------------------------------------------- */

static int gen_check(json_t *config)
{
	struct gen_config c;
	int r = parse_config(config, &c);

	config_release(&c);
	if (r == -EINVAL) {
		r = ck_emit_connection_status("FAILED", ck_failure());
		ck_clear_failure();
		return r;
	}
	return r < 0 ? r : ck_emit_connection_status("SUCCEEDED", NULL);
}

static int gen_discover(json_t *config)
{
	struct gen_config c;
	json_t *streams, *v;
	size_t i;
	int r = parse_config(config, &c);

	if (r < 0)
		goto out;
	streams = json_array();
	json_array_foreach(c.names, i, v) {
		json_t *s = json_pack("{s:O, s:{s:s, s:s, s:{s:{s:s}, s:{s:s}}}, s:[s, s], s:b, s:[s]}",
				      "name", v,
				      "json_schema", "$schema", "http://json-schema.org/draft-07/schema#",
				      "type", "object", "properties",
				      "id", "type", "integer", "payload", "type", "string",
				      "supported_sync_modes", "full_refresh", "incremental",
				      "source_defined_cursor", 1, "default_cursor_field", "id");

		if (!s || json_array_append_new(streams, s) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	if (!r)
		r = ck_emit_catalog(streams);
	json_decref(streams);
out:
	config_release(&c);
	return r;
}

int main(int argc, char **argv)
{
	static const struct ck_connector conn = {
		.name = "source-e2e-test",
		.spec_json = spec_json,
		.check = gen_check,
		.discover = gen_discover,
		.read = gen_read,
	};

	return ck_main(argc, argv, &conn);
}
