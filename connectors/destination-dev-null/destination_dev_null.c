/*
 * destination-dev-null: an Airbyte destination that discards records (the
 * benchmark destination).  It echoes every STATE line unchanged once every
 * line before it has been read.  The fast mode reads 1 MiB at a time and
 * only looks for STATE lines; validate mode parses every line with jansson
 * and counts records per stream.  See connectors/README.md.
 */
#include "../kit/ck_buf.h"
#include "../kit/ck_lines.h"
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

#define READ_SIZE ((size_t)1 << 20)
#define STATE_NEEDLE "\"type\":\"STATE\""
#define RECORD_HEAD "{\"type\":\"RECORD\""

static const char spec_json[] =
"{\"documentationUrl\":\"https://docs.airbyte.com/integrations/destinations/e2e-test\","
"\"supportsIncremental\":true,"
"\"supportsNormalization\":false,\"supportsDBT\":false,"
"\"supported_destination_sync_modes\":[\"overwrite\",\"append\",\"append_dedup\"],"
"\"connectionSpecification\":{"
 "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
 "\"title\":\"Dev Null Destination Spec\",\"type\":\"object\","
 "\"additionalProperties\":true,"
 "\"properties\":{"
  "\"validate\":{\"type\":\"boolean\",\"default\":false,"
   "\"description\":\"Parse every line as JSON and count records per stream.\"},"
  "\"expect_records\":{\"type\":\"integer\",\"minimum\":0,"
   "\"description\":\"Fail unless exactly this many records arrive (implies validate).\"},"
  "\"stamp_file\":{\"type\":\"string\","
   "\"description\":\"Append '<CLOCK_REALTIME ns> <line>' for each echoed STATE.\"}"
 "}}}";

struct dn_config {
	int validate;
	int has_expect;
	int64_t expect;
	const char *stamp_file;
};

static int stamp_fd = -1;

static int parse_config(const json_t *config, struct dn_config *c)
{
	json_t *v = json_object_get(config, "validate");

	memset(c, 0, sizeof(*c));
	if (v && !json_is_boolean(v))
		return ck_fail("config: 'validate' must be a boolean");
	c->validate = json_is_true(v);
	v = json_object_get(config, "expect_records");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return ck_fail("config: 'expect_records' must be a non-negative integer");
		c->has_expect = 1;
		c->expect = json_integer_value(v);
		c->validate = 1;
	}
	v = json_object_get(config, "stamp_file");
	if (v && !json_is_null(v) && !json_is_string(v))
		return ck_fail("config: 'stamp_file' must be a string");
	c->stamp_file = json_string_value(v);
	return 0;
}

/*
 * Echo a STATE line (len bytes, newline included) straight to stdout.  With
 * a stamp file, the time just before the echo is recorded after it, so the
 * stamp's own I/O is not part of the measured checkpoint latency.
 */
static int echo_state(const char *line, size_t len)
{
	struct timespec ts;
	char head[32];
	int r, n;

	if ((r = ck_out_flush()) < 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((r = ck_write_all(STDOUT_FILENO, line, len)) < 0)
		return r;
	if (stamp_fd < 0)
		return 0;
	n = snprintf(head, sizeof(head), "%lld ",
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if ((r = ck_write_all(stamp_fd, head, (size_t)n)) < 0 ||
	    (r = ck_write_all(stamp_fd, line, len)) < 0)
		return ck_fail("cannot write the stamp file: %s", strerror(-r));
	return 0;
}

/* --- fast mode ------------------------------------------------------------ */

/*
 * Echo the STATE lines among the complete lines in p[0, n).  A STATE line
 * is one holding the bytes "type":"STATE" (a JSON string cannot hold them
 * unescaped, so they are structure) and not starting as a RECORD does in
 * the usual key order, which keeps a record whose data has such a key out.
 */
static int scan_states(const char *p, size_t n)
{
	const char *end = p + n, *from = p, *hit;
	int r;

	while ((hit = memmem(from, (size_t)(end - from), STATE_NEEDLE, strlen(STATE_NEEDLE)))) {
		const char *ls = memrchr(p, '\n', (size_t)(hit - p));
		const char *le = memchr(hit, '\n', (size_t)(end - hit));

		ls = ls ? ls + 1 : p;
		le = le ? le + 1 : end;
		int record = (size_t)(le - ls) >= strlen(RECORD_HEAD) &&
			     !memcmp(ls, RECORD_HEAD, strlen(RECORD_HEAD));

		if (!record && (r = echo_state(ls, (size_t)(le - ls))) < 0)
			return r;
		from = le;
	}
	return 0;
}

/*
 * Reads land where the stream position says: buffer offset = bytes read so
 * far, modulo a page.  The kernel's copy out of a pipe page into a
 * destination a few bytes past the source's page offset runs three times
 * slower on these AMD hosts (0.8 s/GiB instead of 0.25, measured; likely
 * the copy's stores aliasing its next loads); a writer fills pipe pages
 * from the stream's page offsets, so keeping them equal avoids that.  The
 * partial last line moves down to its own stream offset for the same
 * reason.
 */
#define PAGE ((size_t)4096)

static int write_fast(void)
{
	size_t cap = READ_SIZE + PAGE, off = 0, len = 0;
	uint64_t total = 0;
	char *buf = aligned_alloc(PAGE, cap), *nl;
	ssize_t n;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (off + len == cap) {
			/* one line fills the buffer: grow it, up to the line limit */
			char *p;

			if (cap >= CK_LINE_MAX) {
				r = ck_fail("an input line is longer than %zu bytes", CK_LINE_MAX);
				break;
			}
			p = aligned_alloc(PAGE, 2 * cap);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			memcpy(p + off, buf + off, len);
			free(buf);
			buf = p;
			cap *= 2;
		}
		n = read(STDIN_FILENO, buf + off + len, cap - off - len);
		if (n < 0) {
			if (errno == EINTR && !ck_terminated())
				continue;
			r = -errno;
			break;
		}
		if (n == 0) {
			/* a last line without a newline */
			r = len ? scan_states(buf + off, len) : 0;
			break;
		}
		total += (uint64_t)n;
		len += (size_t)n;
		nl = memrchr(buf + off + len - (size_t)n, '\n', (size_t)n);
		if (!nl)
			continue;
		if ((r = scan_states(buf + off, (size_t)(nl + 1 - (buf + off)))) < 0)
			break;
		/* keep the partial last line (usually short) at its stream offset */
		len = (size_t)(buf + off + len - (nl + 1));
		off = (size_t)((total - len) % PAGE);
		memmove(buf + off, nl + 1, len);
	}
	free(buf);
	return r;
}

/* --- validate mode -------------------------------------------------------- */

static int write_validate(const struct dn_config *c)
{
	struct ck_lines in;
	json_t *counts = json_object();
	uint64_t total = 0, invalid = 0, first_bad = 0;
	char first_why[256] = "";
	char *line;
	size_t len;
	int r;

	if (!counts)
		return -ENOMEM;
	ck_lines_init(&in, STDIN_FILENO, CK_LINE_MAX);
	while ((r = ck_lines_next(&in, &line, &len)) > 0) {
		json_error_t err;
		json_t *msg;
		const char *type, *why = NULL;

		if (!len)
			continue;
		msg = json_loadb(line, len, 0, &err);
		type = json_string_value(json_object_get(msg, "type"));
		if (!msg)
			why = err.text;
		else if (!type)
			why = "not an AirbyteMessage (no \"type\")";
		else if (!strcmp(type, "RECORD")) {
			const char *s = json_string_value(json_object_get(
				json_object_get(msg, "record"), "stream"));

			if (!s) {
				why = "RECORD without record.stream";
			} else {
				json_t *v = json_object_get(counts, s);

				total++;
				if (v)
					r = json_integer_set(v, json_integer_value(v) + 1);
				else
					r = json_object_set_new(counts, s, json_integer(1));
				if (r < 0) {
					json_decref(msg);
					r = -ENOMEM;
					break;
				}
			}
		} else if (!strcmp(type, "STATE")) {
			line[len] = '\n'; /* the reader's NUL slot: echo the line as it came */
			r = echo_state(line, len + 1);
			line[len] = '\0';
			if (r < 0) {
				json_decref(msg);
				break;
			}
		}
		json_decref(msg);
		if (why) {
			if (!invalid++) {
				first_bad = in.lineno;
				snprintf(first_why, sizeof(first_why), "%s", why);
			}
			if (invalid <= 5)
				ck_warn("invalid line %lu: %s", in.lineno, why);
		}
	}
	ck_lines_release(&in);
	if (r == 0) {
		char *text = json_dumps(counts, JSON_COMPACT | JSON_SORT_KEYS);

		r = text ? ck_emit_log("INFO", "record counts: {\"total\":%" PRIu64
				       ",\"invalid\":%" PRIu64 ",\"streams\":%s}",
				       total, invalid, text) : -ENOMEM;
		free(text);
	} else if (r == -E2BIG) {
		r = ck_fail("an input line is longer than %zu bytes", CK_LINE_MAX);
	}
	json_decref(counts);
	if (r < 0)
		return r;
	if (invalid)
		return ck_fail("%" PRIu64 " invalid line(s); the first, line %" PRIu64 ": %s",
			       invalid, first_bad, first_why);
	if (c->has_expect && total != (uint64_t)c->expect)
		return ck_fail("expected %" PRId64 " records, received %" PRIu64, c->expect, total);
	return 0;
}

static int dn_write(json_t *config, json_t *catalog)
{
	struct dn_config c;
	int r = parse_config(config, &c);

	if (r < 0)
		return r;
	if (c.stamp_file) {
		stamp_fd = open(c.stamp_file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (stamp_fd < 0)
			return ck_fail("cannot open the stamp file '%s': %s", c.stamp_file,
				       strerror(errno));
	}
	r = c.validate ? write_validate(&c) : write_fast();
	if (stamp_fd >= 0 && close(stamp_fd) < 0 && r >= 0)
		r = ck_fail("cannot write the stamp file: %s", strerror(errno));
	stamp_fd = -1;
	if (r == -EINTR && ck_terminated())
		r = 0; /* ck_main reports the signal */
	return r;
}

static int dn_check(json_t *config)
{
	struct dn_config c;
	int r = parse_config(config, &c);

	if (r == -EINVAL) {
		r = ck_emit_connection_status("FAILED", ck_failure());
		ck_clear_failure();
		return r;
	}
	return ck_emit_connection_status("SUCCEEDED", NULL);
}

int main(int argc, char **argv)
{
	static const struct ck_connector conn = {
		.name = "destination-dev-null",
		.spec_json = spec_json,
		.check = dn_check,
		.write = dn_write,
	};

	return ck_main(argc, argv, &conn);
}
