/*
 * ck_out: AirbyteMessage output on stdout.
 *
 * Messages are written one compact JSON object per line through a private
 * buffer (no stdio).  Errors are sticky: the first write error is remembered
 * and returned by every later call and by ck_out_flush(), so a long loop can
 * check once per record.  -EPIPE means the reader went away.  Functions that
 * take json_t arguments borrow them (the caller keeps its reference).
 */
#ifndef CK_OUT_H
#define CK_OUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the epoch (for emitted_at). */
int64_t ck_now_ms(void);

/* Write all n bytes to fd (retries EINTR unless terminating). */
int ck_write_all(int fd, const void *p, size_t n);

int ck_out_write(const void *p, size_t n);
int ck_out_flush(void);
int ck_out_error(void);

/* Any AirbyteMessage object, compact, plus newline. */
int ck_emit(const json_t *msg);
/* Steals msg (convenience for freshly built messages). */
int ck_emit_new(json_t *msg);

int ck_emit_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ck_emit_trace_error(const char *message);
int ck_emit_estimate(const char *stream, const char *ns, int64_t rows, int64_t bytes);
/* status is "SUCCEEDED" or "FAILED"; message may be NULL. */
int ck_emit_connection_status(const char *status, const char *message);
/* spec_json is the ConnectorSpecification as JSON text (a program constant). */
int ck_emit_spec(const char *spec_json);
int ck_emit_catalog(const json_t *streams);
int ck_emit_stream_state(const char *stream, const char *ns, const json_t *stream_state);
/*
 * RECORD fast path: data is the compact JSON text of the record's data
 * object (trusted, not re-parsed).
 */
int ck_emit_record_raw(const char *stream, const char *ns,
		       const char *data, size_t len, int64_t emitted_at);
int ck_emit_record(const char *stream, const char *ns, const json_t *data,
		   int64_t emitted_at);

#endif
