/*
 * source-file: an Airbyte source that reads one local CSV or JSONL file as
 * one stream (named by the config's dataset_name).  See connectors/README.md.
 */
#include "../kit/ck_buf.h"
#include "../kit/ck_catalog.h"
#include "../kit/ck_csv.h"
#include "../kit/ck_lines.h"
#include "../kit/ck_main.h"
#include "../kit/ck_out.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define INFER_MAX_ROWS 100000
#define JSONL_INFER_LINES 1000
#define STATE_EVERY_DEFAULT 10000

static const char spec_json[] =
"{\"documentationUrl\":\"https://docs.airbyte.com/integrations/sources/file\","
"\"supportsIncremental\":true,"
"\"supported_destination_sync_modes\":[],"
"\"connectionSpecification\":{"
 "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
 "\"title\":\"File Source Spec\",\"type\":\"object\","
 "\"required\":[\"dataset_name\",\"format\",\"url\",\"provider\"],"
 "\"additionalProperties\":true,"
 "\"properties\":{"
  "\"dataset_name\":{\"type\":\"string\",\"title\":\"Dataset Name\","
   "\"description\":\"The name of the stream (and of the destination table).\"},"
  "\"format\":{\"type\":\"string\",\"title\":\"File Format\",\"enum\":[\"csv\",\"jsonl\"],"
   "\"default\":\"csv\",\"description\":\"The format of the file.\"},"
  "\"reader_options\":{\"type\":\"string\",\"title\":\"Reader Options\","
   "\"description\":\"JSON object as a string; supported keys: sep (or delimiter), header (ignored).\","
   "\"examples\":[\"{\\\"sep\\\": \\\";\\\"}\"]},"
  "\"url\":{\"type\":\"string\",\"title\":\"URL\","
   "\"description\":\"file:///path or /path; absolute paths are prefixed with $SOURCE_FILE_ROOT when set.\"},"
  "\"provider\":{\"type\":\"object\",\"title\":\"Storage Provider\","
   "\"required\":[\"storage\"],"
   "\"properties\":{\"storage\":{\"type\":\"string\",\"const\":\"local\"}}},"
  "\"cursor_field\":{\"type\":\"string\",\"title\":\"Cursor Field\","
   "\"description\":\"Default cursor column for incremental syncs.\"},"
  "\"state_every\":{\"type\":\"integer\",\"minimum\":1,\"default\":10000,"
   "\"description\":\"Emit a STATE every N records in incremental syncs.\"}"
 "}}}";

struct sf_config {
	const char *stream;
	int jsonl;
	char *path; /* owned */
	char delim;
	const char *cursor;
	long state_every;
};

static void sf_config_release(struct sf_config *c)
{
	free(c->path);
	c->path = NULL;
}

/* "\t", "\u0009" or a single character. */
static int parse_delim(const char *s, char *out)
{
	if (!strcmp(s, "\\t") || !strcmp(s, "tab")) {
		*out = '\t';
		return 0;
	}
	if (strlen(s) == 6 && !strncmp(s, "\\u00", 4) && isxdigit((unsigned char)s[4]) &&
	    isxdigit((unsigned char)s[5])) {
		*out = (char)strtol(s + 4, NULL, 16);
		return *out ? 0 : -EINVAL;
	}
	if (strlen(s) == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r') {
		*out = s[0];
		return 0;
	}
	return -EINVAL;
}

static int parse_reader_options(const json_t *ro, struct sf_config *c)
{
	json_error_t jerr;
	json_t *opts, *v;
	const char *key;
	int r = 0;

	if (!ro || json_is_null(ro))
		return 0;
	if (json_is_string(ro)) {
		const char *s = json_string_value(ro);

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			return 0;
		opts = json_loads(s, 0, &jerr);
		if (!opts)
			return ck_fail("reader_options is not valid JSON: column %d: %s",
				       jerr.column, jerr.text);
	} else {
		opts = json_incref((json_t *)ro);
	}
	if (!json_is_object(opts)) {
		json_decref(opts);
		return ck_fail("reader_options must be a JSON object");
	}
	json_object_foreach(opts, key, v) {
		if (!strcmp(key, "sep") || !strcmp(key, "delimiter")) {
			if (!json_is_string(v) || parse_delim(json_string_value(v), &c->delim) < 0) {
				r = ck_fail("reader_options: '%s' must be a single character", key);
				break;
			}
		} else if (strcmp(key, "header") && strcmp(key, "encoding")) {
			ck_warn("ignoring unsupported reader option '%s'", key);
		}
	}
	json_decref(opts);
	return r;
}

static int resolve_path(const char *url, char **out)
{
	const char *path = url, *root = getenv("SOURCE_FILE_ROOT");
	size_t rl;

	if (!strncmp(url, "file://", 7)) {
		path = url + 7;
		if (!strncmp(path, "localhost/", 10))
			path += 9;
	} else if (strstr(url, "://")) {
		return ck_fail("unsupported url '%s': only file:// and local paths", url);
	}
	if (!*path)
		return ck_fail("url '%s' has no path", url);
	if (path[0] == '/' && root && *root) {
		rl = strlen(root);
		while (rl > 1 && root[rl - 1] == '/')
			rl--;
		if (asprintf(out, "%.*s%s", (int)rl, root, path) < 0)
			return -ENOMEM;
	} else if (!(*out = strdup(path))) {
		return -ENOMEM;
	}
	return 0;
}

static int parse_config(const json_t *j, struct sf_config *c)
{
	const char *fmt, *url, *storage;
	json_t *v;

	memset(c, 0, sizeof(*c));
	c->delim = ',';
	c->state_every = STATE_EVERY_DEFAULT;
	c->stream = json_string_value(json_object_get(j, "dataset_name"));
	if (!c->stream || !*c->stream)
		return ck_fail("config: 'dataset_name' must be a non-empty string");
	fmt = json_string_value(json_object_get(j, "format"));
	if (!fmt || !strcasecmp(fmt, "csv"))
		c->jsonl = 0;
	else if (!strcasecmp(fmt, "jsonl"))
		c->jsonl = 1;
	else
		return ck_fail("config: unsupported format '%s' (csv or jsonl)", fmt);
	storage = json_string_value(json_object_get(json_object_get(j, "provider"), "storage"));
	if (storage && strcasecmp(storage, "local"))
		return ck_fail("config: unsupported provider storage '%s' (only local)", storage);
	v = json_object_get(j, "cursor_field");
	if (json_is_string(v))
		c->cursor = json_string_value(v);
	else if (json_is_array(v))
		c->cursor = json_string_value(json_array_get(v, 0));
	v = json_object_get(j, "state_every");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return ck_fail("config: 'state_every' must be a positive integer");
		c->state_every = (long)json_integer_value(v);
	}
	if (parse_reader_options(json_object_get(j, "reader_options"), c) < 0)
		return -EINVAL;
	url = json_string_value(json_object_get(j, "url"));
	if (!url)
		return ck_fail("config: 'url' must be a string");
	return resolve_path(url, &c->path);
}

static int open_input(const struct sf_config *c, int *fdp, FILE **fp)
{
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return ck_fail("cannot open '%s': %s", c->path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return ck_fail("cannot read '%s': is a directory", c->path);
	}
	if (fp && !(*fp = fdopen(fd, "r"))) {
		close(fd);
		return -ENOMEM;
	}
	*fdp = fd;
	return 0;
}

/* ---- values ---- */

static int parse_int(const char *s, long long *v)
{
	char *end;

	if (!*s || isspace((unsigned char)*s))
		return 0;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !*end && !errno;
}

static int parse_num(const char *s, double *v)
{
	char *end;

	if (!*s || isspace((unsigned char)*s) || !strpbrk(s, "0123456789"))
		return 0;
	if (strpbrk(s, "xXpP")) /* no hex floats */
		return 0;
	*v = strtod(s, &end);
	return !*end && isfinite(*v);
}

static int parse_bool(const char *s, int *v)
{
	if (!strcasecmp(s, "true")) {
		*v = 1;
		return 1;
	}
	if (!strcasecmp(s, "false")) {
		*v = 0;
		return 1;
	}
	return 0;
}

/* Cursor order: numeric when both are numbers, else bytewise. */
static int cursor_cmp(const char *a, const char *b)
{
	double x, y;

	if (parse_num(a, &x) && parse_num(b, &y))
		return (x > y) - (x < y);
	return strcmp(a, b);
}

/* ---- CSV ---- */

enum conv { CONV_STR, CONV_INT, CONV_NUM, CONV_BOOL };

struct column {
	char *name;
	enum conv conv;
	int nullable;  /* empty value -> null */
	unsigned maybe; /* inference: bits of what all values could be */
	int seen;
};

#define MAY_INT 1u
#define MAY_NUM 2u
#define MAY_BOOL 4u

struct csv_input {
	int fd;
	FILE *f;
	struct ck_csv csv;
	struct column *cols;
	size_t ncols;
};

static void csv_input_release(struct csv_input *in)
{
	size_t i;

	for (i = 0; i < in->ncols; i++)
		free(in->cols[i].name);
	free(in->cols);
	in->cols = NULL;
	in->ncols = 0;
	ck_csv_release(&in->csv);
	if (in->f)
		fclose(in->f);
	in->f = NULL;
}

static int csv_error(const struct sf_config *c, const struct ck_csv *csv, int r)
{
	if (r == -EBADMSG)
		return ck_fail("'%s' line %lu: unterminated quoted field", c->path, csv->line);
	if (r == -E2BIG)
		return ck_fail("'%s' line %lu: record longer than %zu bytes", c->path,
			       csv->line, (size_t)CK_CSV_RECORD_MAX);
	return ck_fail("cannot read '%s': %s", c->path, strerror(-r));
}

/* Open the file and read the header row. */
static int csv_open(const struct sf_config *c, struct csv_input *in)
{
	size_t i, j;
	int r;

	memset(in, 0, sizeof(*in));
	r = open_input(c, &in->fd, &in->f);
	if (r < 0)
		return r;
	ck_csv_init(&in->csv, in->f, c->delim);
	r = ck_csv_next(&in->csv);
	if (r < 0)
		return csv_error(c, &in->csv, r);
	if (r == 0)
		return ck_fail("'%s' is empty: no header row", c->path);
	in->ncols = in->csv.nfields;
	in->cols = calloc(in->ncols, sizeof(*in->cols));
	if (!in->cols)
		return -ENOMEM;
	for (i = 0; i < in->ncols; i++) {
		const char *name = ck_csv_field(&in->csv, i);
		int dup = 0;

		for (j = 0; j < i; j++)
			dup |= !strcmp(in->cols[j].name, name);
		if (!*name)
			r = asprintf(&in->cols[i].name, "column_%zu", i + 1);
		else if (dup)
			r = asprintf(&in->cols[i].name, "%s_%zu", name, i + 1);
		else
			r = (in->cols[i].name = strdup(name)) ? 0 : -1;
		if (r < 0)
			return -ENOMEM;
		in->cols[i].maybe = MAY_INT | MAY_NUM | MAY_BOOL;
	}
	return 0;
}

static int csv_next_row(const struct sf_config *c, struct csv_input *in)
{
	int r = ck_csv_next(&in->csv);

	if (r < 0)
		return csv_error(c, &in->csv, r);
	if (r > 0 && in->csv.nfields != in->ncols)
		return ck_fail("'%s' line %lu: expected %zu fields, found %zu", c->path,
			       in->csv.line, in->ncols, in->csv.nfields);
	return r;
}

static json_t *type_pair(const char *t)
{
	return json_pack("[s, s]", t, "null");
}

static json_t *csv_schema(const struct sf_config *c, json_t **props_out)
{
	struct csv_input in;
	json_t *props = NULL;
	long rows = 0;
	size_t i;
	int r;

	r = csv_open(c, &in);
	while (r >= 0 && rows < INFER_MAX_ROWS && (r = csv_next_row(c, &in)) > 0) {
		rows++;
		for (i = 0; i < in.ncols; i++) {
			const char *v = ck_csv_field(&in.csv, i);
			struct column *col = &in.cols[i];
			long long iv;
			double dv;
			int bv;

			if (!*v)
				continue;
			col->seen = 1;
			if ((col->maybe & MAY_INT) && !parse_int(v, &iv))
				col->maybe &= ~MAY_INT;
			if ((col->maybe & MAY_NUM) && !parse_num(v, &dv))
				col->maybe &= ~MAY_NUM;
			if ((col->maybe & MAY_BOOL) && !parse_bool(v, &bv))
				col->maybe &= ~MAY_BOOL;
		}
	}
	if (r >= 0) {
		props = json_object();
		for (i = 0; props && i < in.ncols; i++) {
			const struct column *col = &in.cols[i];
			const char *t = "string";

			if (col->seen && (col->maybe & MAY_INT))
				t = "integer";
			else if (col->seen && (col->maybe & MAY_NUM))
				t = "number";
			else if (col->seen && (col->maybe & MAY_BOOL))
				t = "boolean";
			json_object_set_new(props, col->name,
					    json_pack("{s:o}", "type", type_pair(t)));
		}
	}
	csv_input_release(&in);
	*props_out = props;
	return props;
}

/* ---- JSONL ---- */

static int jsonl_line(const struct sf_config *c, struct ck_lines *l, json_t **obj)
{
	json_error_t jerr;
	size_t len;
	char *line;
	int r;

	*obj = NULL;
	for (;;) {
		r = ck_lines_next(l, &line, &len);
		if (r == -E2BIG)
			return ck_fail("'%s' line %lu: longer than %zu bytes", c->path,
				       l->lineno + 1, (size_t)CK_LINE_MAX);
		if (r <= 0)
			return r < 0 && r != -EINTR ? ck_fail("cannot read '%s': %s", c->path,
							      strerror(-r)) : r;
		while (len && isspace((unsigned char)line[len - 1]))
			len--;
		if (len)
			break;
	}
	*obj = json_loadb(line, len, 0, &jerr);
	if (!*obj)
		return ck_fail("'%s' line %lu column %d: %s", c->path, l->lineno,
			       jerr.column, jerr.text);
	if (!json_is_object(*obj)) {
		json_decref(*obj);
		*obj = NULL;
		return ck_fail("'%s' line %lu: not a JSON object", c->path, l->lineno);
	}
	return 1;
}

static unsigned json_type_bit(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return 1;
	case JSON_ARRAY: return 2;
	case JSON_STRING: return 4;
	case JSON_INTEGER: return 8;
	case JSON_REAL: return 16;
	case JSON_TRUE:
	case JSON_FALSE: return 32;
	default: return 0;
	}
}

static json_t *jsonl_schema(const struct sf_config *c, json_t **props_out)
{
	static const char *names[] = { "object", "array", "string", "integer", "number", "boolean" };
	struct ck_lines l;
	json_t *props = json_object(), *obj, *v, *types;
	const char *key;
	int fd, r, n = 0;
	size_t i;

	*props_out = NULL;
	if (!props || open_input(c, &fd, NULL) < 0) {
		json_decref(props);
		return NULL;
	}
	ck_lines_init(&l, fd, CK_LINE_MAX);
	/* First pass: an integer "mask" per key, turned into types below. */
	while (n++ < JSONL_INFER_LINES && (r = jsonl_line(c, &l, &obj)) > 0) {
		json_object_foreach(obj, key, v) {
			json_t *m = json_object_get(props, key);
			json_int_t bits = (m ? json_integer_value(m) : 0) | json_type_bit(v);

			json_object_set_new(props, key, json_integer(bits));
		}
		json_decref(obj);
	}
	ck_lines_release(&l);
	close(fd);
	if (r < 0) {
		json_decref(props);
		return NULL;
	}
	json_object_foreach(props, key, v) {
		unsigned bits = (unsigned)json_integer_value(v);

		if ((bits & 8) && (bits & 16))
			bits &= ~8u; /* integer and number: number */
		types = json_array();
		for (i = 0; i < 6; i++)
			if (bits & (1u << i))
				json_array_append_new(types, json_string(names[i]));
		if (!json_array_size(types))
			json_array_append_new(types, json_string("string"));
		json_array_append_new(types, json_string("null"));
		json_object_set_new(props, key, json_pack("{s:o}", "type", types));
	}
	*props_out = props;
	return props;
}

/* ---- commands ---- */

static int sf_check(json_t *config)
{
	struct sf_config c;
	struct csv_input in;
	struct ck_lines l;
	json_t *obj;
	int r, fd;

	r = parse_config(config, &c);
	if (r >= 0 && !c.jsonl) {
		r = csv_open(&c, &in);
		csv_input_release(&in);
	} else if (r >= 0) {
		r = open_input(&c, &fd, NULL);
		if (r >= 0) {
			ck_lines_init(&l, fd, CK_LINE_MAX);
			r = jsonl_line(&c, &l, &obj);
			json_decref(obj);
			ck_lines_release(&l);
			close(fd);
		}
	}
	sf_config_release(&c);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* The reason is the stored failure; a FAILED check is no error. */
		r = ck_emit_connection_status("FAILED", ck_failure() ? ck_failure() : strerror(-r));
		ck_clear_failure();
		return r;
	}
	return ck_emit_connection_status("SUCCEEDED", NULL);
}

static int sf_discover(json_t *config)
{
	struct sf_config c;
	json_t *props = NULL, *stream;
	int r;

	r = parse_config(config, &c);
	if (r < 0)
		goto out;
	if (!(c.jsonl ? jsonl_schema(&c, &props) : csv_schema(&c, &props))) {
		r = ck_failure() ? -EINVAL : -ENOMEM;
		goto out;
	}
	stream = json_pack("{s:s, s:{s:s, s:s, s:o}, s:[s, s], s:b}",
			   "name", c.stream,
			   "json_schema", "$schema", "http://json-schema.org/draft-07/schema#",
			   "type", "object", "properties", props,
			   "supported_sync_modes", "full_refresh", "incremental",
			   "source_defined_cursor", 0);
	if (stream && c.cursor)
		json_object_set_new(stream, "default_cursor_field", json_pack("[s]", c.cursor));
	r = ck_emit_new(json_pack("{s:s, s:{s:[o]}}", "type", "CATALOG", "catalog",
				  "streams", stream));
out:
	sf_config_release(&c);
	return r;
}

/* Incremental bookkeeping for one stream. */
struct cursor {
	const char *field;     /* NULL: full refresh */
	char *saved;           /* cursor from --state, owned */
	char *max;             /* largest cursor emitted, owned */
	int max_is_number;     /* JSONL: max came from a JSON number */
	long since_state;
};

static void cursor_release(struct cursor *cur)
{
	free(cur->saved);
	free(cur->max);
}

static char *json_scalar_text(const json_t *v, int *is_number)
{
	char *s = NULL;

	*is_number = json_is_number(v);
	if (json_is_string(v))
		s = strdup(json_string_value(v));
	else if (json_is_integer(v))
		s = asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0 ? NULL : s;
	else if (json_is_real(v))
		s = asprintf(&s, "%.17g", json_real_value(v)) < 0 ? NULL : s;
	return s;
}

/* 1: emit this row (and track its cursor), 0: skip it, <0: error. */
static int cursor_take(struct cursor *cur, const char *v, int is_number)
{
	if (!cur->field)
		return 1;
	if (cur->saved && (!v || cursor_cmp(v, cur->saved) <= 0))
		return 0;
	if (v && *v && (!cur->max || cursor_cmp(v, cur->max) > 0)) {
		char *d = strdup(v);

		if (!d)
			return -ENOMEM;
		free(cur->max);
		cur->max = d;
		cur->max_is_number = is_number;
	}
	return 1;
}

/* STATE for the stream: {} for full refresh, else the cursor reached. */
static int emit_state(const char *stream, const char *ns, struct cursor *cur)
{
	const char *v = cur->max ? cur->max : cur->saved;
	json_t *ss, *val = NULL;
	int r;

	cur->since_state = 0;
	ss = cur->field ? json_pack("{s:s}", "cursor_field", cur->field) : json_object();
	if (!ss)
		return -ENOMEM;
	if (cur->field && v) {
		if (cur->max && cur->max_is_number)
			val = json_loads(v, JSON_DECODE_ANY, NULL);
		json_object_set_new(ss, "cursor", val ? val : json_string(v));
	}
	r = ck_emit_stream_state(stream, ns, ss);
	json_decref(ss);
	return r;
}

static void emit_estimate(const char *stream, const char *ns, int fd, int header)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	long lines = 0, rows;
	ssize_t i;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return;
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	if (n == st.st_size && n > 0 && buf[n - 1] != '\n')
		lines++;
	rows = lines ? (long)((double)st.st_size * lines / n) : 1;
	rows -= header;
	ck_emit_estimate(stream, ns, rows > 0 ? rows : 0, st.st_size);
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (isdigit((unsigned char)*s))
			s++;
	else
		return 0;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return !*s;
}

/* Whether a JSON Schema "type" (a string or an array) names t. */
static int has_type(const json_t *type, const char *t)
{
	json_t *v;
	size_t i;

	if (json_is_string(type))
		return !strcmp(json_string_value(type), t);
	json_array_foreach(type, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), t))
			return 1;
	return 0;
}

/* How to emit a column, from the configured catalog's json_schema. */
static enum conv column_conv(const json_t *props, const char *name)
{
	json_t *type = json_object_get(json_object_get(props, name), "type");

	if (!type || has_type(type, "string"))
		return CONV_STR;
	if (has_type(type, "integer"))
		return CONV_INT;
	if (has_type(type, "number"))
		return CONV_NUM;
	if (has_type(type, "boolean"))
		return CONV_BOOL;
	return CONV_STR;
}

static int add_value(struct ck_buf *b, const char *v, size_t len, enum conv conv)
{
	long long iv;
	double dv;
	int bv;

	if (conv != CONV_STR && !*v)
		return ck_buf_adds(b, "null");
	switch (conv) {
	case CONV_INT:
		if (parse_int(v, &iv))
			return ck_buf_addf(b, "%lld", iv);
		break;
	case CONV_NUM:
		if (is_json_number(v))
			return ck_buf_add(b, v, len);
		if (parse_num(v, &dv))
			return ck_buf_addf(b, "%.17g", dv);
		break;
	case CONV_BOOL:
		if (parse_bool(v, &bv))
			return ck_buf_adds(b, bv ? "true" : "false");
		break;
	default:
		break;
	}
	return ck_buf_add_json_str(b, v, len);
}

static int read_csv(const struct sf_config *c, const json_t *cs, struct cursor *cur)
{
	const char *ns = ck_cs_namespace(cs);
	json_t *props = ck_cs_properties(cs);
	struct ck_buf data = CK_BUF_INIT(2 * CK_CSV_RECORD_MAX);
	struct ck_buf keys = CK_BUF_INIT(CK_CSV_RECORD_MAX);
	size_t *koff = NULL, i, ci = (size_t)-1;
	struct csv_input in;
	int r;

	r = csv_open(c, &in);
	if (r < 0)
		goto out;
	koff = calloc(in.ncols + 1, sizeof(*koff));
	if (!koff) {
		r = -ENOMEM;
		goto out;
	}
	/* Pre-encode ,"name": for every column. */
	for (i = 0; i < in.ncols && r >= 0; i++) {
		in.cols[i].conv = column_conv(props, in.cols[i].name);
		if (cur->field && !strcmp(in.cols[i].name, cur->field))
			ci = i;
		koff[i] = keys.len;
		r = ck_buf_adds(&keys, i ? "," : "{");
		if (!r)
			r = ck_buf_add_json_str(&keys, in.cols[i].name, strlen(in.cols[i].name));
		if (!r)
			r = ck_buf_addc(&keys, ':');
	}
	koff[in.ncols] = keys.len;
	if (r < 0)
		goto out;
	if (cur->field && ci == (size_t)-1) {
		r = ck_fail("cursor field '%s' is not a column of '%s'", cur->field, c->path);
		goto out;
	}
	emit_estimate(c->stream, ns, in.fd, 1);
	while ((r = csv_next_row(c, &in)) > 0) {
		if (ck_terminated()) {
			r = -EINTR;
			break;
		}
		if (cur->field) {
			r = cursor_take(cur, ck_csv_field(&in.csv, ci), 0);
			if (r < 0)
				break;
			if (!r)
				continue;
		}
		ck_buf_reset(&data);
		for (i = 0; i < in.ncols && r >= 0; i++) {
			r = ck_buf_add(&data, keys.data + koff[i], koff[i + 1] - koff[i]);
			if (!r)
				r = add_value(&data, ck_csv_field(&in.csv, i),
					      ck_csv_field_len(&in.csv, i), in.cols[i].conv);
		}
		if (!r)
			r = ck_buf_add(&data, in.ncols ? "}" : "{}", in.ncols ? 1 : 2);
		if (!r)
			r = ck_emit_record_raw(c->stream, ns, data.data, data.len, ck_now_ms());
		if (r < 0)
			break;
		if (cur->field && ++cur->since_state >= c->state_every)
			r = emit_state(c->stream, ns, cur);
		if (r < 0)
			break;
	}
out:
	free(koff);
	ck_buf_release(&keys);
	ck_buf_release(&data);
	csv_input_release(&in);
	return r;
}

static int read_jsonl(const struct sf_config *c, const json_t *cs, struct cursor *cur)
{
	const char *ns = ck_cs_namespace(cs);
	struct ck_lines l;
	json_t *obj;
	int fd, r, num, take = 1;
	char *v;

	r = open_input(c, &fd, NULL);
	if (r < 0)
		return r;
	emit_estimate(c->stream, ns, fd, 0);
	ck_lines_init(&l, fd, CK_LINE_MAX);
	while ((r = jsonl_line(c, &l, &obj)) > 0) {
		if (ck_terminated()) {
			json_decref(obj);
			r = -EINTR;
			break;
		}
		if (cur->field) {
			v = json_scalar_text(json_object_get(obj, cur->field), &num);
			take = cursor_take(cur, v, num);
			free(v);
		}
		r = take > 0 ? ck_emit_record(c->stream, ns, obj, ck_now_ms()) : take;
		json_decref(obj);
		if (r < 0)
			break;
		if (!take)
			continue;
		if (cur->field && ++cur->since_state >= c->state_every)
			r = emit_state(c->stream, ns, cur);
		if (r < 0)
			break;
	}
	ck_lines_release(&l);
	close(fd);
	return r;
}

static int load_cursor(struct cursor *cur, const json_t *state, const char *stream,
		       const char *ns)
{
	json_t *ss = ck_state_find(state, stream, ns), *v;
	int num;

	if (!ss)
		return 0;
	v = json_object_get(ss, "cursor");
	if (!v)
		v = json_object_get(ss, cur->field);
	if (!v || json_is_null(v))
		return 0;
	cur->saved = json_scalar_text(v, &num);
	if (!cur->saved)
		return ck_fail("state of stream '%s': cursor is not a string or number", stream);
	return 0;
}

static int sf_read(json_t *config, json_t *catalog, json_t *state)
{
	json_t *streams = json_object_get(catalog, "streams"), *cs;
	struct sf_config c;
	int r, done = 0;
	size_t i;

	r = parse_config(config, &c);
	json_array_foreach(streams, i, cs) {
		const char *name = ck_cs_name(cs), *ns = ck_cs_namespace(cs);
		struct cursor cur = { 0 };

		if (r < 0)
			break;
		if (!name || strcmp(name, c.stream) || done) {
			ck_emit_log("WARN", "stream '%s' is not provided by this source; skipped",
				    name ? name : "(unnamed)");
			continue;
		}
		done = 1;
		if (ck_cs_sync_mode(cs) && !strcmp(ck_cs_sync_mode(cs), "incremental")) {
			cur.field = ck_cs_cursor(cs) ? ck_cs_cursor(cs) : c.cursor;
			if (!cur.field) {
				r = ck_fail("stream '%s' is incremental but has no cursor_field", name);
				break;
			}
			r = load_cursor(&cur, state, name, ns);
		}
		if (r >= 0)
			r = c.jsonl ? read_jsonl(&c, cs, &cur) : read_csv(&c, cs, &cur);
		if (r >= 0)
			r = emit_state(name, ns, &cur);
		cursor_release(&cur);
	}
	if (r >= 0 && !done)
		ck_emit_log("WARN", "stream '%s' is not in the configured catalog; nothing to read",
			    c.stream);
	sf_config_release(&c);
	return r;
}

int main(int argc, char **argv)
{
	static const struct ck_connector conn = {
		.name = "source-file",
		.spec_json = spec_json,
		.check = sf_check,
		.discover = sf_discover,
		.read = sf_read,
	};

	return ck_main(argc, argv, &conn);
}
