/*
 * source-s3: Airbyte's S3 source (legacy v3 config shape) for CSV and JSONL
 * objects, optionally gzip-compressed (.gz), matched by a glob path_pattern;
 * one stream (config "dataset"), incremental on the objects' LastModified.
 * See connectors/README.md.
 */
#include "../kit/ck_buf.h"
#include "../kit/ck_catalog.h"
#include "../kit/ck_csv.h"
#include "../kit/ck_main.h"
#include "../kit/ck_out.h"
#include "../kit/ck_s3.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char spec_json[] =
"{\"documentationUrl\":\"https://docs.airbyte.com/integrations/sources/s3\","
"\"supportsIncremental\":true,"
"\"supported_destination_sync_modes\":[\"overwrite\",\"append\"],"
"\"connectionSpecification\":{"
 "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
 "\"title\":\"S3 Source Spec\",\"type\":\"object\","
 "\"required\":[\"dataset\",\"path_pattern\",\"provider\"],"
 "\"additionalProperties\":true,"
 "\"properties\":{"
  "\"dataset\":{\"type\":\"string\",\"title\":\"Output Stream Name\",\"pattern\":\"^([A-Za-z0-9-_]+)$\"},"
  "\"path_pattern\":{\"type\":\"string\",\"title\":\"Pattern of files to replicate\","
   "\"description\":\"Glob on the object keys: ** any path, * within one path segment, ? one character, {a,b} alternatives; several patterns separated by |.\","
   "\"examples\":[\"**\",\"myFolder/myTableFiles/*.csv|myFolder/myOtherTableFiles/*.csv\"]},"
  "\"format\":{\"type\":\"object\",\"title\":\"File Format\",\"properties\":{"
   "\"filetype\":{\"type\":\"string\",\"enum\":[\"csv\",\"jsonl\"],\"default\":\"csv\",\"description\":\"parquet and avro are not supported by this implementation\"},"
   "\"delimiter\":{\"type\":\"string\",\"default\":\",\"}}},"
  "\"schema\":{\"type\":\"string\",\"default\":\"{}\",\"description\":\"Ignored: columns are inferred from the first matching object.\"},"
  "\"provider\":{\"type\":\"object\",\"title\":\"S3: Amazon Web Services\",\"required\":[\"bucket\"],\"properties\":{"
   "\"bucket\":{\"type\":\"string\"},"
   "\"aws_access_key_id\":{\"type\":\"string\",\"airbyte_secret\":true},"
   "\"aws_secret_access_key\":{\"type\":\"string\",\"airbyte_secret\":true},"
   "\"path_prefix\":{\"type\":\"string\",\"default\":\"\"},"
   "\"endpoint\":{\"type\":\"string\",\"default\":\"\"},"
   "\"region_name\":{\"type\":\"string\",\"default\":\"us-east-1\"},"
   "\"max_retries\":{\"type\":\"integer\",\"default\":5},"
   "\"retry_base_ms\":{\"type\":\"integer\",\"default\":500}}}"
 "}}}";

#define CURSOR "_ab_source_file_last_modified"
#define URLCOL "_ab_source_file_url"

struct ss {
	struct ck_s3 s3;
	const char *dataset, *prefix, *pattern;
	int jsonl;
	char delim;
};

static const char *cfg_str(const json_t *o, const char *k, const char *def)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : def;
}

/* ---- glob ---- */

static int glob1(const char *p, const char *s)
{
	for (; *p; p++, s++) {
		if (p[0] == '*' && p[1] == '*') {
			const char *rest = p + 2;

			if (*rest == '/' && glob1(rest + 1, s))   /* "**\/" = zero segments */
				return 1;
			for (;; s++) {
				if (glob1(rest, s))
					return 1;
				if (!*s)
					return 0;
			}
		}
		if (*p == '*') {
			for (;; s++) {
				if (glob1(p + 1, s))
					return 1;
				if (!*s || *s == '/')
					return 0;
			}
		}
		if (!*s)
			return 0;
		if (*p == '?') {
			if (*s == '/')
				return 0;
			continue;
		}
		if (*p != *s)
			return 0;
	}
	return *s == '\0';
}

/* Expand the first {a,b,...} of p and match each alternative. */
static int glob_match(const char *p, const char *s)
{
	const char *open = strchr(p, '{'), *close, *a;
	int depth = 0;
	char buf[4096];

	if (!open)
		return glob1(p, s);
	for (close = open; *close; close++) {
		if (*close == '{')
			depth++;
		else if (*close == '}' && --depth == 0)
			break;
	}
	if (!*close)
		return glob1(p, s);
	for (a = open + 1; a <= close;) {
		const char *e = a;
		int dd = 0;

		while (e < close && !(dd == 0 && *e == ',')) {
			if (*e == '{')
				dd++;
			else if (*e == '}')
				dd--;
			e++;
		}
		if (snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)(open - p), p,
			     (int)(e - a), a, close + 1) < (int)sizeof(buf) && glob_match(buf, s))
			return 1;
		a = e + 1;
	}
	return 0;
}

static int pattern_match(const char *pattern, const char *key)
{
	char buf[4096];
	const char *p = pattern;

	while (1) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n < sizeof(buf)) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			if (glob_match(buf, key))
				return 1;
		}
		if (!bar)
			return 0;
		p = bar + 1;
	}
}

/* ---- config ---- */

static int ss_config(struct ss *d, const json_t *config)
{
	const json_t *prov = json_object_get(config, "provider");
	const json_t *fmt = json_object_get(config, "format");
	const char *ft = cfg_str(fmt, "filetype", "csv");
	const char *delim = cfg_str(fmt, "delimiter", ",");
	const char *endpoint = cfg_str(prov, "endpoint", "");
	const char *region = cfg_str(prov, "region_name", "us-east-1");
	char defep[256];
	json_t *v;

	d->dataset = cfg_str(config, "dataset", "");
	d->pattern = cfg_str(config, "path_pattern", "**");
	d->prefix = cfg_str(prov, "path_prefix", "");
	if (!*d->dataset)
		return ck_fail("config: dataset (the stream name) is required");
	if (!*cfg_str(prov, "bucket", ""))
		return ck_fail("config: provider.bucket is required");
	if (!strcasecmp(ft, "csv"))
		d->jsonl = 0;
	else if (!strcasecmp(ft, "jsonl"))
		d->jsonl = 1;
	else
		return ck_fail("config: format.filetype '%s' is unsupported: this source reads csv and "
			       "jsonl (optionally .gz); Debian ships no maintained C Parquet/Avro library",
			       ft);
	if (!strcmp(delim, "\\t"))
		d->delim = '\t';
	else if (strlen(delim) == 1)
		d->delim = delim[0];
	else
		return ck_fail("config: format.delimiter must be one character");
	if (!*endpoint) {
		snprintf(defep, sizeof(defep), "https://s3.%s.amazonaws.com", region);
		endpoint = defep;
	}
	if (ck_s3_open(&d->s3, endpoint, cfg_str(prov, "bucket", ""), region,
		       cfg_str(prov, "aws_access_key_id", ""),
		       cfg_str(prov, "aws_secret_access_key", "")))
		return ck_fail("config: %s", d->s3.err);
	if (json_is_integer(v = json_object_get(prov, "max_retries")))
		d->s3.max_retries = (int)json_integer_value(v);
	if (json_is_integer(v = json_object_get(prov, "retry_base_ms")))
		d->s3.base_delay_ms = (long)json_integer_value(v);
	return 0;
}

static int obj_cmp(const void *a, const void *b)
{
	const struct ck_s3_object *x = a, *y = b;
	int c = strcmp(x->last_modified, y->last_modified);

	return c ? c : strcmp(x->key, y->key);
}

/* Matching objects sorted by (LastModified, key). */
static int list_matching(struct ss *d, struct ck_s3_list *l)
{
	size_t i, n = 0;

	if (ck_s3_list_all(&d->s3, d->prefix, l))
		return ck_fail("%s", d->s3.err);
	for (i = 0; i < l->n; i++) {
		size_t kl = strlen(l->v[i].key);

		if (kl && l->v[i].key[kl - 1] != '/' && pattern_match(d->pattern, l->v[i].key))
			l->v[n++] = l->v[i];
		else
			free(l->v[i].key);
	}
	l->n = n;
	qsort(l->v, l->n, sizeof(*l->v), obj_cmp);
	return 0;
}

/* ---- object reading ---- */

static ssize_t gz_read(void *c, char *buf, size_t n)
{
	int r = gzread((gzFile)c, buf, (unsigned)(n > (1u << 30) ? 1u << 30 : n));

	return r < 0 ? -1 : r;
}

static int gz_close(void *c)
{
	return gzclose((gzFile)c) == Z_OK ? 0 : -1;
}

/* Download key; a FILE reading its (decompressed) bytes, or NULL. */
static FILE *open_object(struct ss *d, const char *key)
{
	FILE *tmp = tmpfile();
	size_t kl = strlen(key);

	if (!tmp) {
		ck_fail("cannot create a temporary file: %s", strerror(errno));
		return NULL;
	}
	if (ck_s3_get_file(&d->s3, key, tmp)) {
		ck_fail("%s", d->s3.err);
		fclose(tmp);
		return NULL;
	}
	if (kl > 3 && !strcmp(key + kl - 3, ".gz")) {
		static const cookie_io_functions_t io = { gz_read, NULL, NULL, gz_close };
		gzFile g = gzdopen(dup(fileno(tmp)), "rb");
		FILE *f;

		fclose(tmp); /* the dup keeps the unlinked file open */
		if (!g) {
			ck_fail("gzip: cannot open %s", key);
			return NULL;
		}
		gzbuffer(g, 1 << 17);
		f = fopencookie(g, "r", io);
		if (!f)
			gzclose(g);
		return f;
	}
	return tmp;
}

struct cols {
	char **name;
	size_t n;
};

static void cols_release(struct cols *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->name[i]);
	free(c->name);
	memset(c, 0, sizeof(*c));
}

static int read_header(struct ck_csv *csv, struct cols *c, const char *key)
{
	size_t i;
	int r = ck_csv_next(csv);

	if (r < 0)
		return ck_fail("%s: CSV error reading the header (line %lu)", key, csv->line);
	if (r == 0)
		return 0;
	c->name = calloc(csv->nfields, sizeof(*c->name));
	if (!c->name)
		return -ENOMEM;
	for (i = 0; i < csv->nfields; i++) {
		const char *f = ck_csv_field(csv, i);
		char tmp[32];

		if (!*f) {
			snprintf(tmp, sizeof(tmp), "column_%zu", i + 1);
			f = tmp;
		}
		if (!(c->name[i] = strdup(f)))
			return -ENOMEM;
		c->n++;
	}
	return 1;
}

/* Is s a JSON number (so that it can be emitted unquoted)? */
static int is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* Column i is typed number/integer (and not string) in the configured catalog. */
static int *numeric_cols(const json_t *props, const struct cols *c)
{
	int *num = calloc(c->n + 1, sizeof(int));
	size_t i;

	if (!num)
		return NULL;
	for (i = 0; props && i < c->n; i++) {
		json_t *t = json_object_get(json_object_get(props, c->name[i]), "type");
		int isnum = 0, isstr = 0;
		size_t j;

		if (json_is_string(t)) {
			isnum = !strcmp(json_string_value(t), "number") || !strcmp(json_string_value(t), "integer");
		} else {
			for (j = 0; j < json_array_size(t); j++) {
				const char *ts = json_string_value(json_array_get(t, j));

				isnum |= ts && (!strcmp(ts, "number") || !strcmp(ts, "integer"));
				isstr |= ts && !strcmp(ts, "string");
			}
		}
		num[i] = isnum && !isstr;
	}
	return num;
}

static int add_meta(struct ck_buf *b, const struct ck_s3_object *o, int comma)
{
	int r = comma ? ck_buf_addc(b, ',') : 0;

	r = r ? r : ck_buf_adds(b, "\"" CURSOR "\":");
	r = r ? r : ck_buf_add_json_str(b, o->last_modified, strlen(o->last_modified));
	r = r ? r : ck_buf_adds(b, ",\"" URLCOL "\":");
	r = r ? r : ck_buf_add_json_str(b, o->key, strlen(o->key));
	return r ? r : ck_buf_addc(b, '}');
}

/* Emit every row of one object; *rows counts them. */
static int read_object(struct ss *d, const struct ck_s3_object *o, const json_t *props,
		       const char *ns, unsigned long *rows)
{
	struct ck_buf b = CK_BUF_INIT((size_t)200 << 20);
	int64_t now = ck_now_ms();
	FILE *f = open_object(d, o->key);
	int r = 0;

	if (!f)
		return -EIO;
	if (!d->jsonl) {
		struct ck_csv csv;
		struct cols c = { 0 };
		int *num = NULL;

		ck_csv_init(&csv, f, d->delim);
		r = read_header(&csv, &c, o->key);
		if (r == 1 && !(num = numeric_cols(props, &c)))
			r = -ENOMEM;
		while (r >= 0 && c.n && (r = ck_csv_next(&csv)) == 1) {
			size_t i;

			if (csv.nfields != c.n) {
				r = ck_fail("%s: line %lu has %zu fields, the header has %zu",
					    o->key, csv.line, csv.nfields, c.n);
				break;
			}
			ck_buf_reset(&b);
			r = ck_buf_addc(&b, '{');
			for (i = 0; i < c.n && !r; i++) {
				const char *v = ck_csv_field(&csv, i);

				if (i)
					r = ck_buf_addc(&b, ',');
				r = r ? r : ck_buf_add_json_str(&b, c.name[i], strlen(c.name[i]));
				r = r ? r : ck_buf_addc(&b, ':');
				if (r)
					break;
				if (num[i] && !*v)
					r = ck_buf_adds(&b, "null");
				else if (num[i] && is_json_number(v))
					r = ck_buf_adds(&b, v);
				else
					r = ck_buf_add_json_str(&b, v, ck_csv_field_len(&csv, i));
			}
			r = r ? r : add_meta(&b, o, c.n > 0);
			r = r ? r : ck_emit_record_raw(d->dataset, ns, b.data, b.len, now);
			if (r)
				break;
			(*rows)++;
			r = 1;
		}
		if (r == -EBADMSG)
			r = ck_fail("%s: unterminated quoted field starting at line %lu", o->key, csv.line);
		else if (r == -EIO)
			r = ck_fail("%s: read error (corrupt gzip?)", o->key);
		ck_csv_release(&csv);
		cols_release(&c);
		free(num);
	} else {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		unsigned long lineno = 0;

		while ((n = getline(&line, &cap, f)) >= 0) {
			json_error_t err;
			json_t *obj;
			size_t len = (size_t)n, s = 0;

			lineno++;
			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
					   line[len - 1] == ' ' || line[len - 1] == '\t'))
				len--;
			while (s < len && (line[s] == ' ' || line[s] == '\t'))
				s++;
			if (s == len)
				continue;
			obj = json_loadb(line + s, len - s, 0, &err);
			if (!obj || !json_is_object(obj)) {
				json_decref(obj);
				r = ck_fail("%s: line %lu is not a JSON object (%s, column %d)", o->key,
					    lineno, obj ? "not an object" : err.text, err.column);
				break;
			}
			ck_buf_reset(&b);
			/* The object's own text without its closing brace, then ours. */
			while (len > s && line[len - 1] != '}')
				len--;
			r = ck_buf_add(&b, line + s, len - s - 1);
			r = r ? r : add_meta(&b, o, json_object_size(obj) > 0);
			json_decref(obj);
			r = r ? r : ck_emit_record_raw(d->dataset, ns, b.data, b.len, now);
			if (r)
				break;
			(*rows)++;
		}
		if (!r && ferror(f))
			r = ck_fail("%s: read error (corrupt gzip?)", o->key);
		free(line);
	}
	fclose(f);
	ck_buf_release(&b);
	return r < 0 ? r : 0;
}

/* ---- commands ---- */

static json_t *infer_schema(struct ss *d, const struct ck_s3_object *o)
{
	json_t *props = json_object();
	FILE *f;

	if (o && (f = open_object(d, o->key))) {
		if (!d->jsonl) {
			struct ck_csv csv;
			struct cols c = { 0 };
			size_t i;

			ck_csv_init(&csv, f, d->delim);
			if (read_header(&csv, &c, o->key) == 1)
				for (i = 0; i < c.n; i++)
					json_object_set_new(props, c.name[i],
							    json_pack("{s[ss]}", "type", "null", "string"));
			ck_csv_release(&csv);
			cols_release(&c);
		} else {
			char *line = NULL;
			size_t cap = 0;
			int lines = 0;

			while (lines++ < 1000 && getline(&line, &cap, f) >= 0) {
				json_t *obj = json_loads(line, JSON_DECODE_ANY, NULL);
				const char *k;
				json_t *v;

				json_object_foreach(obj, k, v) {
					const char *t = json_is_integer(v) ? "integer" : json_is_number(v) ? "number"
						: json_is_boolean(v) ? "boolean" : json_is_object(v) ? "object"
						: json_is_array(v) ? "array" : "string";

					if (!json_object_get(props, k) || json_is_null(v) == 0)
						if (!json_object_get(props, k))
							json_object_set_new(props, k, json_pack("{s[ss]}", "type", "null", t));
				}
				json_decref(obj);
			}
			free(line);
		}
		fclose(f);
	}
	json_object_set_new(props, CURSOR, json_pack("{ss,ss}", "type", "string", "format", "date-time"));
	json_object_set_new(props, URLCOL, json_pack("{ss}", "type", "string"));
	return props;
}

static int ss_discover(json_t *config)
{
	struct ss d;
	struct ck_s3_list l = { 0 };
	json_t *props, *streams;
	int r;

	memset(&d, 0, sizeof(d));
	if ((r = ss_config(&d, config)) || (r = list_matching(&d, &l)))
		goto out;
	props = infer_schema(&d, l.n ? &l.v[0] : NULL);
	if (ck_failure()) {
		json_decref(props);
		r = -EIO;
		goto out;
	}
	streams = json_pack("[{ss,s{ss,so},s[ss],sb,s[s],s[]}]", "name", d.dataset,
			    "json_schema", "type", "object", "properties", props,
			    "supported_sync_modes", "full_refresh", "incremental",
			    "source_defined_cursor", 1, "default_cursor_field", CURSOR,
			    "source_defined_primary_key");
	r = ck_emit_catalog(streams);
	json_decref(streams);
out:
	ck_s3_list_release(&l);
	ck_s3_close(&d.s3);
	return r;
}

static int ss_check(json_t *config)
{
	struct ss d;
	struct ck_s3_list l = { 0 };
	int r;

	memset(&d, 0, sizeof(d));
	if (!(r = ss_config(&d, config)))
		d.s3.max_retries = d.s3.max_retries > 2 ? 2 : d.s3.max_retries;
	if (r || (r = list_matching(&d, &l))) {
		const char *m = ck_failure();

		r = ck_emit_connection_status("FAILED", m ? m : "error");
		ck_clear_failure();
	} else {
		char msg[256];

		snprintf(msg, sizeof(msg), "%zu objects match", l.n);
		r = ck_emit_connection_status("SUCCEEDED", msg);
	}
	ck_s3_list_release(&l);
	ck_s3_close(&d.s3);
	return r;
}

static int ss_read(json_t *config, json_t *catalog, json_t *state)
{
	struct ss d;
	struct ck_s3_list l = { 0 };
	json_t *cs, *saved, *done = json_array();
	const char *ns, *cursor = "";
	int incremental, r;
	size_t i;
	unsigned long rows = 0, objs = 0;
	char cur[40] = "";

	memset(&d, 0, sizeof(d));
	if ((r = ss_config(&d, config)))
		goto out;
	cs = ck_catalog_find(catalog, d.dataset, NULL);
	if (!cs) {
		ck_emit_log("WARN", "stream %s is not in the configured catalog: nothing to read", d.dataset);
		goto out;
	}
	ns = ck_cs_namespace(cs);
	incremental = ck_cs_sync_mode(cs) && !strcmp(ck_cs_sync_mode(cs), "incremental");
	saved = incremental && state ? ck_state_find(state, d.dataset, ns) : NULL;
	if (saved) {
		json_t *k = json_object_get(saved, "files_at_cursor");
		json_t *v;

		cursor = cfg_str(saved, CURSOR, "");
		json_array_foreach(k, i, v)
			json_array_append(done, v);
		snprintf(cur, sizeof(cur), "%s", cursor);
	}
	if ((r = list_matching(&d, &l)))
		goto out;
	for (i = 0; i < l.n; i++) {
		const struct ck_s3_object *o = &l.v[i];
		int c = strcmp(o->last_modified, cur);
		json_t *st;

		if (incremental && *cur && c < 0)
			continue;
		if (incremental && *cur && c == 0) {
			size_t j;
			json_t *v;
			int seen = 0;

			json_array_foreach(done, j, v)
				seen |= !strcmp(json_string_value(v) ? json_string_value(v) : "", o->key);
			if (seen)
				continue;
		}
		if ((r = read_object(&d, o, ck_cs_properties(cs), ns, &rows)))
			goto out;
		objs++;
		/* The object is fully emitted: it becomes part of the cursor. */
		if (strcmp(o->last_modified, cur)) {
			json_array_clear(done);
			snprintf(cur, sizeof(cur), "%s", o->last_modified);
		}
		json_array_append_new(done, json_string(o->key));
		st = json_pack("{ss,sO}", CURSOR, cur, "files_at_cursor", done);
		r = ck_emit_stream_state(d.dataset, ns, st);
		json_decref(st);
		if (r || (r = ck_out_flush()))
			goto out;
		if (ck_terminated()) {
			r = -EINTR;
			goto out;
		}
	}
	if (objs == 0) {
		json_t *st = *cur ? json_pack("{ss,sO}", CURSOR, cur, "files_at_cursor", done)
				  : json_object();

		r = ck_emit_stream_state(d.dataset, ns, st);
		json_decref(st);
	}
	ck_emit_log("INFO", "read %lu rows from %lu objects (%zu matching, %s)", rows, objs, l.n,
		    incremental ? "incremental" : "full refresh");
out:
	json_decref(done);
	ck_s3_list_release(&l);
	ck_s3_close(&d.s3);
	return r;
}

int main(int argc, char **argv)
{
	static const struct ck_connector c = {
		.name = "source-s3",
		.spec_json = spec_json,
		.check = ss_check,
		.discover = ss_discover,
		.read = ss_read,
	};

	return ck_main(argc, argv, &c);
}
