/*
 * destination-csv: an Airbyte destination that writes each stream to
 * <destination_path>/_airbyte_raw_<stream>.csv (columns _airbyte_ab_id,
 * _airbyte_emitted_at, _airbyte_data) and echoes a STATE only once every
 * record before it is on disk.  See connectors/README.md.
 */
#include "../kit/ck_buf.h"
#include "../kit/ck_catalog.h"
#include "../kit/ck_csv.h"
#include "../kit/ck_lines.h"
#include "../kit/ck_main.h"
#include "../kit/ck_out.h"
#include "../kit/ck_raw.h"
#include "../kit/ck_uuid.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLUSH_AT (1u << 20)  /* write a stream's buffer out at 1 MiB */

static const char spec_json[] =
"{\"documentationUrl\":\"https://docs.airbyte.com/integrations/destinations/local-csv\","
"\"supportsIncremental\":true,"
"\"supportsNormalization\":false,\"supportsDBT\":false,"
"\"supported_destination_sync_modes\":[\"overwrite\",\"append\"],"
"\"connectionSpecification\":{"
 "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
 "\"title\":\"CSV Destination Spec\",\"type\":\"object\","
 "\"required\":[\"destination_path\"],"
 "\"additionalProperties\":true,"
 "\"properties\":{"
  "\"destination_path\":{\"type\":\"string\",\"title\":\"Destination Path\","
   "\"description\":\"Directory for the files; absolute paths are prefixed with $DESTINATION_CSV_ROOT when set.\","
   "\"examples\":[\"/local\"]},"
  "\"delimiter_type\":{\"type\":\"object\",\"title\":\"Delimiter\","
   "\"properties\":{\"delimiter\":{\"type\":\"string\",\"default\":\"\\\\u002c\","
    "\"description\":\"One character, or its escape such as \\\\u0009 for tab.\","
    "\"examples\":[\"\\\\u002c\",\"\\\\u003b\",\"\\\\u007c\",\"\\\\u0009\",\"\\\\u0020\"]}}}"
 "}}}";

struct dc_stream {
	char *name;      /* stream name (borrowed from the catalog) */
	char *path;      /* owned */
	int fd;
	int dirty;       /* written since the last fsync */
	struct ck_buf buf;
	struct dc_stream *same; /* another stream sharing this file, or NULL */
};

struct dc {
	char *dir;       /* owned */
	char delim;
	struct dc_stream *streams;
	size_t n;
};

static int parse_delim(const json_t *config, char *out)
{
	const char *s = json_string_value(json_object_get(
		json_object_get(config, "delimiter_type"), "delimiter"));
	unsigned v;

	*out = ',';
	if (!s)
		return 0;
	if (strlen(s) == 6 && (!strncmp(s, "\\u", 2) || !strncmp(s, "\\U", 2)) &&
	    sscanf(s + 2, "%4x", &v) == 1 && isxdigit((unsigned char)s[5]) &&
	    v > 0 && v < 0x80)
		*out = (char)v;
	else if (!strcmp(s, "\\t"))
		*out = '\t';
	else if (strlen(s) == 1)
		*out = s[0];
	else
		return ck_fail("config: unsupported delimiter '%s' (one ASCII character or \\uXXXX)", s);
	if (*out == '"' || *out == '\r' || *out == '\n')
		return ck_fail("config: the delimiter cannot be a quote or a newline");
	return 0;
}

static int resolve_dir(const json_t *config, char **out)
{
	const char *p = json_string_value(json_object_get(config, "destination_path"));
	const char *root = getenv("DESTINATION_CSV_ROOT");
	size_t rl;

	if (!p || !*p)
		return ck_fail("config: 'destination_path' must be a non-empty string");
	if (p[0] == '/' && root && *root) {
		rl = strlen(root);
		while (rl > 1 && root[rl - 1] == '/')
			rl--;
		return asprintf(out, "%.*s%s", (int)rl, root, p) < 0 ? -ENOMEM : 0;
	}
	return (*out = strdup(p)) ? 0 : -ENOMEM;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char *p = strdup(path), *s;
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return r;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

static int dc_check(json_t *config)
{
	char *dir = NULL, *probe = NULL, delim;
	int fd = -1, r;

	r = parse_delim(config, &delim);
	if (r >= 0)
		r = resolve_dir(config, &dir);
	if (r >= 0 && (r = make_dirs(dir)) < 0)
		ck_fail("cannot create '%s': %s", dir, strerror(-r));
	if (r >= 0 && asprintf(&probe, "%s/.airbyte-check-%ld", dir, (long)getpid()) < 0) {
		probe = NULL;
		r = -ENOMEM;
	}
	if (r >= 0) {
		fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || ck_write_all(fd, "ok\n", 3) < 0)
			r = ck_fail("cannot write in '%s': %s", dir, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(probe);
		}
	}
	free(probe);
	free(dir);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		r = ck_emit_connection_status("FAILED", ck_failure() ? ck_failure() : strerror(-r));
		ck_clear_failure();
		return r;
	}
	return ck_emit_connection_status("SUCCEEDED", NULL);
}

/* Airbyte's raw table name: _airbyte_raw_ + name with [^A-Za-z0-9_] -> _. */
static char *raw_file_name(const char *dir, const char *stream)
{
	char *p;
	size_t dl = strlen(dir), i;

	if (asprintf(&p, "%s/_airbyte_raw_%s.csv", dir, stream) < 0)
		return NULL;
	for (i = dl + 14; p[i + 4]; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_')
			p[i] = '_';
	return p;
}

static int stream_flush(struct dc_stream *s)
{
	int r;

	if (!s->buf.len)
		return 0;
	r = ck_write_all(s->fd, s->buf.data, s->buf.len);
	if (r < 0)
		return ck_fail("cannot write '%s': %s", s->path, strerror(-r));
	ck_buf_reset(&s->buf);
	s->dirty = 1;
	return 0;
}

/* Make everything received so far durable. */
static int dc_sync(struct dc *d)
{
	size_t i;
	int r;

	for (i = 0; i < d->n; i++) {
		struct dc_stream *s = &d->streams[i];

		if (s->fd < 0)
			continue;
		r = stream_flush(s);
		if (r < 0)
			return r;
		if (s->dirty && fsync(s->fd) < 0)
			return ck_fail("cannot fsync '%s': %s", s->path, strerror(errno));
		s->dirty = 0;
	}
	return 0;
}

static void dc_release(struct dc *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct dc_stream *s = &d->streams[i];

		if (s->fd >= 0 && !s->same)
			close(s->fd);
		free(s->path);
		ck_buf_release(&s->buf);
	}
	free(d->streams);
	free(d->dir);
}

static int dc_open(struct dc *d, const json_t *catalog)
{
	json_t *streams = json_object_get(catalog, "streams"), *cs;
	size_t i, j;
	int r;

	d->streams = calloc(json_array_size(streams) + 1, sizeof(*d->streams));
	if (!d->streams)
		return -ENOMEM;
	json_array_foreach(streams, i, cs) {
		struct dc_stream *s = &d->streams[d->n];
		const char *mode = ck_cs_destination_sync_mode(cs);
		int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
		struct stat st;

		s->fd = -1;
		ck_buf_init(&s->buf, (size_t)256 << 20);
		s->name = (char *)ck_cs_name(cs);
		if (!s->name)
			return ck_fail("configured catalog: stream %zu has no name", i);
		d->n++;
		if (!(s->path = raw_file_name(d->dir, s->name)))
			return -ENOMEM;
		for (j = 0; j + 1 < d->n; j++) {
			if (!strcmp(d->streams[j].path, s->path)) {
				s->same = &d->streams[j];
				break;
			}
		}
		if (s->same)
			continue;
		if (mode && !strcmp(mode, "overwrite")) {
			flags |= O_TRUNC;
		} else {
			if (mode && strcmp(mode, "append"))
				ck_emit_log("WARN", "stream '%s': destination_sync_mode '%s' is "
					    "written as append", s->name, mode);
			flags |= O_APPEND;
		}
		s->fd = open(s->path, flags, 0644);
		if (s->fd < 0)
			return ck_fail("cannot open '%s': %s", s->path, strerror(errno));
		if (fstat(s->fd, &st) < 0)
			return ck_fail("cannot stat '%s': %s", s->path, strerror(errno));
		if (st.st_size == 0) {
			r = ck_buf_addf(&s->buf, "_airbyte_ab_id%c_airbyte_emitted_at%c_airbyte_data\n",
					d->delim, d->delim);
			if (r < 0)
				return r;
		}
		s->dirty = 1;
	}
	/* Shared files write through their first stream. */
	for (i = 0; i < d->n; i++)
		if (d->streams[i].same)
			d->streams[i].fd = -1;
	r = fsync_dir(d->dir);
	if (r < 0)
		return ck_fail("cannot fsync '%s': %s", d->dir, strerror(-r));
	return 0;
}

static struct dc_stream *dc_find(struct dc *d, const char *name)
{
	size_t i;

	for (i = 0; name && i < d->n; i++) {
		if (strcmp(d->streams[i].name, name))
			continue;
		return d->streams[i].same ? d->streams[i].same : &d->streams[i];
	}
	return NULL;
}

/*
 * One RECORD, taken from the raw line: the data column is the exact text of
 * record.data (numbers and strings byte for byte; whitespace outside
 * strings removed).
 */
static int on_record(struct dc *d, const struct ck_raw_msg *m)
{
	char name[4096], id[37];
	struct dc_stream *s = NULL;
	int64_t ms;
	int r;

	name[0] = '\0';
	if (ck_raw_kind(m->stream) == CK_RAW_STRING &&
	    ck_raw_unescape(m->stream, name, sizeof(name)) >= 0)
		s = dc_find(d, name);
	if (!s)
		return ck_fail("record for stream '%s', which is not in the configured catalog",
			       name[0] ? name : "(none)");
	if (ck_raw_int64(m->emitted_at, &ms) < 0)
		ms = ck_now_ms();
	ck_uuid4(id);
	r = ck_buf_reserve(&s->buf, 64);
	if (!r) {
		char *o = s->buf.data + s->buf.len;

		memcpy(o, id, 36);
		o[36] = d->delim;
		s->buf.len += 37 + (size_t)sprintf(o + 37, "%" PRId64, ms);
		r = ck_buf_addc(&s->buf, d->delim);
	}
	/* The data column: record.data's own text, compacted, never re-encoded. */
	if (!r)
		r = m->data.p ? ck_raw_add(&s->buf, m->data, d->delim) : ck_buf_adds(&s->buf, "{}");
	if (!r)
		r = ck_buf_addc(&s->buf, '\n');
	if (r < 0)
		return r == -E2BIG ? ck_fail("record of stream '%s' too large", s->name) : r;
	return s->buf.len >= FLUSH_AT ? stream_flush(s) : 0;
}

static int dc_write(json_t *config, json_t *catalog)
{
	struct dc d = { 0 };
	struct ck_lines l;
	json_error_t jerr;
	json_t *msg;
	struct ck_raw_msg m;
	size_t len, epos;
	char *line;
	const char *err;
	int r;

	ck_lines_init(&l, STDIN_FILENO, CK_LINE_MAX);
	r = parse_delim(config, &d.delim);
	if (r >= 0)
		r = resolve_dir(config, &d.dir);
	if (r >= 0 && (r = make_dirs(d.dir)) < 0)
		ck_fail("cannot create '%s': %s", d.dir, strerror(-r));
	if (r >= 0)
		r = dc_open(&d, catalog);
	while (r >= 0 && (r = ck_lines_next(&l, &line, &len)) > 0) {
		if (!len)
			continue;
		/* Records are not parsed into a tree: only their spans are found. */
		if (ck_raw_message(line, len, &m, &err, &epos) < 0) {
			ck_warn("stdin line %lu: %s at byte %zu, skipped", l.lineno, err, epos + 1);
			continue;
		}
		if (ck_raw_str_eq(m.type, "RECORD")) {
			r = on_record(&d, &m);
		} else if (ck_raw_str_eq(m.type, "STATE")) {
			msg = json_loadb(line, len, 0, &jerr);
			if (!msg) {
				ck_warn("stdin line %lu: %s, skipped", l.lineno, jerr.text);
				continue;
			}
			/* Records before this STATE are durable before it is echoed. */
			r = dc_sync(&d);
			if (r >= 0)
				r = ck_emit(msg);
			if (r >= 0)
				r = ck_out_flush();
			json_decref(msg);
		}
	}
	if (r == -E2BIG)
		ck_fail("stdin line %lu: longer than %zu bytes", l.lineno + 1, (size_t)CK_LINE_MAX);
	else if (r < 0 && r != -EINTR && r != -EPIPE && !ck_failure())
		ck_fail("cannot read stdin: %s", strerror(-r));
	if (r >= 0)
		r = dc_sync(&d);
	ck_lines_release(&l);
	dc_release(&d);
	return r;
}

int main(int argc, char **argv)
{
	static const struct ck_connector conn = {
		.name = "destination-csv",
		.spec_json = spec_json,
		.check = dc_check,
		.write = dc_write,
	};

	return ck_main(argc, argv, &conn);
}
