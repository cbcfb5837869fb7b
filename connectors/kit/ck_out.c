#include "ck_out.h"
#include "ck_buf.h"
#include "ck_main.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_SIZE (256 * 1024)

static char out_buf[OUT_SIZE];
static size_t out_len;
static int out_err;

int64_t ck_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ck_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR && !ck_terminated())
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int ck_out_error(void)
{
	return out_err;
}

int ck_out_flush(void)
{
	int r;

	if (out_err)
		return out_err;
	r = ck_write_all(STDOUT_FILENO, out_buf, out_len);
	out_len = 0;
	if (r < 0)
		out_err = r;
	return out_err;
}

int ck_out_write(const void *p, size_t n)
{
	if (out_err)
		return out_err;
	if (n > OUT_SIZE - out_len) {
		if (ck_out_flush() < 0)
			return out_err;
		if (n >= OUT_SIZE) {
			int r = ck_write_all(STDOUT_FILENO, p, n);

			if (r < 0)
				out_err = r;
			return out_err;
		}
	}
	memcpy(out_buf + out_len, p, n);
	out_len += n;
	return 0;
}

static int dump_cb(const char *p, size_t n, void *data)
{
	return ck_out_write(p, n) < 0 ? -1 : 0;
}

int ck_emit(const json_t *msg)
{
	if (json_dump_callback(msg, dump_cb, NULL, JSON_COMPACT) < 0)
		return out_err ? out_err : -ENOMEM;
	return ck_out_write("\n", 1);
}

int ck_emit_new(json_t *msg)
{
	int r;

	if (!msg)
		return -ENOMEM;
	r = ck_emit(msg);
	json_decref(msg);
	return r;
}

int ck_emit_log(const char *level, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return ck_emit_new(json_pack("{s:s, s:{s:s, s:s}}", "type", "LOG", "log",
				     "level", level, "message", text));
}

int ck_emit_trace_error(const char *message)
{
	return ck_emit_new(json_pack("{s:s, s:{s:s, s:I, s:{s:s, s:s}}}",
				     "type", "TRACE", "trace", "type", "ERROR",
				     "emitted_at", (json_int_t)ck_now_ms(),
				     "error", "message", message,
				     "failure_type", "system_error"));
}

static json_t *descriptor(const char *stream, const char *ns)
{
	json_t *d = json_pack("{s:s}", "name", stream);

	if (d && ns && json_object_set_new(d, "namespace", json_string(ns)) < 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}

int ck_emit_estimate(const char *stream, const char *ns, int64_t rows, int64_t bytes)
{
	json_t *est = json_pack("{s:s, s:s, s:I, s:I}", "name", stream,
				"type", "STREAM", "row_estimate", (json_int_t)rows,
				"byte_estimate", (json_int_t)bytes);

	if (est && ns)
		json_object_set_new(est, "namespace", json_string(ns));
	return ck_emit_new(json_pack("{s:s, s:{s:s, s:I, s:o}}", "type", "TRACE",
				     "trace", "type", "ESTIMATE", "emitted_at",
				     (json_int_t)ck_now_ms(), "estimate", est));
}

int ck_emit_connection_status(const char *status, const char *message)
{
	json_t *cs = json_pack("{s:s}", "status", status);

	if (cs && message)
		json_object_set_new(cs, "message", json_string(message));
	return ck_emit_new(json_pack("{s:s, s:o}", "type", "CONNECTION_STATUS",
				     "connectionStatus", cs));
}

int ck_emit_spec(const char *spec_json)
{
	json_error_t err;
	json_t *spec = json_loads(spec_json, 0, &err);

	if (!spec)
		return -EINVAL;
	return ck_emit_new(json_pack("{s:s, s:o}", "type", "SPEC", "spec", spec));
}

int ck_emit_catalog(const json_t *streams)
{
	return ck_emit_new(json_pack("{s:s, s:{s:O}}", "type", "CATALOG",
				     "catalog", "streams", streams));
}

int ck_emit_stream_state(const char *stream, const char *ns, const json_t *stream_state)
{
	return ck_emit_new(json_pack("{s:s, s:{s:s, s:{s:o, s:O}}}", "type", "STATE",
				     "state", "type", "STREAM", "stream",
				     "stream_descriptor", descriptor(stream, ns),
				     "stream_state", stream_state));
}

static int record_head(const char *stream, const char *ns, struct ck_buf *b)
{
	int r = ck_buf_adds(b, "{\"type\":\"RECORD\",\"record\":{\"stream\":");

	if (!r)
		r = ck_buf_add_json_str(b, stream, strlen(stream));
	if (!r && ns) {
		r = ck_buf_adds(b, ",\"namespace\":");
		if (!r)
			r = ck_buf_add_json_str(b, ns, strlen(ns));
	}
	if (!r)
		r = ck_buf_adds(b, ",\"data\":");
	return r;
}

/*
 * The record head ({"type":"RECORD","record":{"stream":...,"data":) is
 * cached for the last stream, so the fast path does no allocation.
 */
static struct ck_buf head_cache = CK_BUF_INIT(1 << 20);
static struct ck_buf head_key = CK_BUF_INIT(1 << 20);

int ck_emit_record_raw(const char *stream, const char *ns,
		       const char *data, size_t len, int64_t emitted_at)
{
	char tail[64];
	size_t slen = strlen(stream), nslen = ns ? strlen(ns) + 1 : 0;
	int n, r;

	if (!head_key.data || head_key.len != slen + 1 + nslen ||
	    memcmp(head_key.data, stream, slen + 1) ||
	    (ns && memcmp(head_key.data + slen + 1, ns, nslen))) {
		ck_buf_reset(&head_key);
		ck_buf_reset(&head_cache);
		r = ck_buf_add(&head_key, stream, slen + 1);
		if (!r && ns)
			r = ck_buf_add(&head_key, ns, nslen);
		if (!r)
			r = record_head(stream, ns, &head_cache);
		if (r < 0) {
			ck_buf_reset(&head_key);
			return r;
		}
	}
	r = ck_out_write(head_cache.data, head_cache.len);
	if (!r)
		r = ck_out_write(data, len);
	if (r < 0)
		return r;
	n = snprintf(tail, sizeof(tail), ",\"emitted_at\":%" PRId64 "}}\n", emitted_at);
	return ck_out_write(tail, (size_t)n);
}

int ck_emit_record(const char *stream, const char *ns, const json_t *data,
		   int64_t emitted_at)
{
	json_t *msg = json_pack("{s:s, s:{s:s, s:O, s:I}}", "type", "RECORD",
				"record", "stream", stream, "data", data,
				"emitted_at", (json_int_t)emitted_at);

	if (msg && ns)
		json_object_set_new(json_object_get(msg, "record"), "namespace",
				    json_string(ns));
	return ck_emit_new(msg);
}
