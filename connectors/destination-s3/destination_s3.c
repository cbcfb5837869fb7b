/*
 * destination-s3: Airbyte's S3 destination (CSV or JSONL, optional gzip)
 * on libcurl SigV4.  One object sequence per stream,
 * <path>/<namespace>/<stream>/<YYYY_MM_DD>_<epoch_ms>_<part>.csv[.gz];
 * a STATE is echoed only once every record before it is in a completed
 * object.  See connectors/README.md.
 */
/* Messages and keys are cut at their buffer size on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "../kit/ck_buf.h"
#include "../kit/ck_catalog.h"
#include "../kit/ck_csv.h"
#include "../kit/ck_lines.h"
#include "../kit/ck_main.h"
#include "../kit/ck_out.h"
#include "../kit/ck_raw.h"
#include "../kit/ck_uuid.h"
#include "../kit/ck_s3.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define STAGE_AT (256u << 10) /* compress / move staged rows at 256 KiB */
#define MIB ((uint64_t)1 << 20)

static const char spec_json[] =
"{\"documentationUrl\":\"https://docs.airbyte.com/integrations/destinations/s3\","
"\"supportsIncremental\":true,\"supportsNormalization\":false,\"supportsDBT\":false,"
"\"supported_destination_sync_modes\":[\"overwrite\",\"append\"],"
"\"connectionSpecification\":{"
 "\"$schema\":\"http://json-schema.org/draft-07/schema#\","
 "\"title\":\"S3 Destination Spec\",\"type\":\"object\","
 "\"required\":[\"s3_bucket_name\",\"s3_bucket_path\",\"s3_bucket_region\",\"format\"],"
 "\"additionalProperties\":true,"
 "\"properties\":{"
  "\"access_key_id\":{\"type\":\"string\",\"title\":\"S3 Key ID\",\"airbyte_secret\":true},"
  "\"secret_access_key\":{\"type\":\"string\",\"title\":\"S3 Access Key\",\"airbyte_secret\":true},"
  "\"s3_bucket_name\":{\"type\":\"string\",\"title\":\"S3 Bucket Name\"},"
  "\"s3_bucket_path\":{\"type\":\"string\",\"title\":\"S3 Bucket Path\",\"description\":\"Prefix of every object; '/' or '' for none.\"},"
  "\"s3_bucket_region\":{\"type\":\"string\",\"title\":\"S3 Bucket Region\",\"default\":\"us-east-1\"},"
  "\"s3_endpoint\":{\"type\":\"string\",\"title\":\"Endpoint\",\"description\":\"http(s)://host[:port]; path-style requests. Default https://s3.<region>.amazonaws.com\"},"
  "\"part_size_mb\":{\"type\":\"integer\",\"default\":50,\"description\":\"Start a new object once this many uncompressed MB are in the current one.\"},"
  "\"multipart_chunk_mb\":{\"type\":\"integer\",\"default\":8,\"minimum\":5,\"description\":\"Objects larger than this are sent by multipart upload in chunks of this size (MiB).\"},"
  "\"max_retries\":{\"type\":\"integer\",\"default\":5},"
  "\"retry_base_ms\":{\"type\":\"integer\",\"default\":500},"
  "\"format\":{\"type\":\"object\",\"title\":\"Output Format\",\"required\":[\"format_type\"],"
   "\"properties\":{"
    "\"format_type\":{\"type\":\"string\",\"enum\":[\"CSV\",\"JSONL\"],\"default\":\"CSV\"},"
    "\"flattening\":{\"type\":\"string\",\"enum\":[\"No flattening\",\"Root level flattening\"],\"default\":\"No flattening\"},"
    "\"compression\":{\"type\":\"object\",\"properties\":{\"compression_type\":{\"type\":\"string\",\"enum\":[\"No Compression\",\"GZIP\"],\"default\":\"No Compression\"}}}"
 "}}}}}";

struct ds_stream {
	const char *name, *ns;  /* borrowed from the catalog */
	char *prefix;           /* "<path>/<ns>/<stream>/" (no leading '/') */
	int overwrite;
	const char **cols;      /* root-level flattening: top-level fields */
	size_t *collen;
	struct ck_raw_span *vals; /* this record's value of each column */
	size_t ncols;
	/* current object */
	int open, partno;
	char key[2048];
	uint64_t raw;           /* uncompressed bytes in the object */
	z_stream z;
	struct ck_buf stage;    /* rows not yet compressed / moved */
	struct ck_buf obuf;     /* object bytes not yet uploaded */
	int mpu;                /* multipart upload in progress */
	char upload_id[512];
	char *etags;            /* 128 bytes per uploaded chunk */
	int nparts, capparts;
	struct ck_s3_list old;  /* overwrite: objects to delete after success */
	uint64_t records, objects;
};

struct ds {
	struct ck_s3 s3;
	char *path;             /* bucket path without leading/trailing '/' */
	int jsonl, flatten, gzip;
	uint64_t part_size, chunk;
	int64_t epoch_ms;
	char date[16];
	struct ds_stream *st;
	size_t n;
	uint64_t uploaded;      /* bytes sent to S3 */
};

static const char *cfg_str(const json_t *o, const char *k, const char *def)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : def;
}

static int64_t cfg_int(const json_t *o, const char *k, int64_t def)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	if (json_is_string(v) && *json_string_value(v))
		return strtoll(json_string_value(v), NULL, 10);
	return def;
}

static int ds_config(struct ds *d, const json_t *config)
{
	const json_t *fmt = json_object_get(config, "format");
	const char *ft = cfg_str(fmt, "format_type", "CSV");
	const char *fl = cfg_str(fmt, "flattening", "No flattening");
	const char *ct = cfg_str(json_object_get(fmt, "compression"), "compression_type",
				 "No Compression");
	const char *region = cfg_str(config, "s3_bucket_region", "");
	const char *endpoint = cfg_str(config, "s3_endpoint", "");
	const char *bucket = cfg_str(config, "s3_bucket_name", "");
	const char *path = cfg_str(config, "s3_bucket_path", "");
	char defep[256];
	size_t n;
	int64_t v;

	if (!*bucket)
		return ck_fail("config: s3_bucket_name is required");
	if (!strcasecmp(ft, "CSV") || !strcasecmp(ft, "CSV: Comma-Separated Values"))
		d->jsonl = 0;
	else if (!strcasecmp(ft, "JSONL") || !strcasecmp(ft, "JSON Lines: Newline-delimited JSON"))
		d->jsonl = 1;
	else
		return ck_fail("config: format.format_type '%s' is not supported (CSV or JSONL)", ft);
	if (!strcasecmp(fl, "No flattening"))
		d->flatten = 0;
	else if (!strcasecmp(fl, "Root level flattening"))
		d->flatten = 1;
	else
		return ck_fail("config: format.flattening '%s' is not supported", fl);
	if (!strcasecmp(ct, "No Compression"))
		d->gzip = 0;
	else if (!strcasecmp(ct, "GZIP"))
		d->gzip = 1;
	else
		return ck_fail("config: format.compression.compression_type '%s' is not supported", ct);
	v = cfg_int(config, "part_size_mb", 50);
	d->part_size = (uint64_t)(v > 0 ? v : 50) * MIB;
	v = cfg_int(config, "multipart_chunk_mb", 8);
	d->chunk = (uint64_t)(v >= 5 ? v : 5) * MIB;
	if (!*region)
		region = "us-east-1";
	if (!*endpoint) {
		snprintf(defep, sizeof(defep), "https://s3.%s.amazonaws.com", region);
		endpoint = defep;
	}
	while (*path == '/')
		path++;
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	n = strlen(d->path);
	while (n > 0 && d->path[n - 1] == '/')
		d->path[--n] = '\0';
	if (ck_s3_open(&d->s3, endpoint, bucket, region,
		       cfg_str(config, "access_key_id", ""),
		       cfg_str(config, "secret_access_key", "")))
		return ck_fail("config: %s", d->s3.err);
	d->s3.max_retries = (int)cfg_int(config, "max_retries", 5);
	d->s3.base_delay_ms = (long)cfg_int(config, "retry_base_ms", 500);
	return 0;
}

static void ds_release(struct ds *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct ds_stream *s = &d->st[i];

		free(s->prefix);
		free(s->cols);
		free(s->collen);
		free(s->vals);
		free(s->etags);
		ck_buf_release(&s->stage);
		ck_buf_release(&s->obuf);
		if (s->z.state)
			deflateEnd(&s->z);
		ck_s3_list_release(&s->old);
	}
	free(d->st);
	free(d->path);
	ck_s3_close(&d->s3);
}

static int s3_fail(struct ds *d)
{
	return ck_fail("%s", d->s3.err);
}

/* Upload obuf as the next chunk of a multipart upload. */
static int upload_chunk(struct ds *d, struct ds_stream *s)
{
	if (!s->mpu) {
		if (ck_s3_mpu_create(&d->s3, s->key, s->upload_id, sizeof(s->upload_id)))
			return s3_fail(d);
		s->mpu = 1;
		s->nparts = 0;
	}
	if (s->nparts == s->capparts) {
		int nc = s->capparts ? s->capparts * 2 : 16;
		char *ne = realloc(s->etags, (size_t)nc * 128);

		if (!ne)
			return -ENOMEM;
		s->etags = ne;
		s->capparts = nc;
	}
	if (ck_s3_mpu_part(&d->s3, s->key, s->upload_id, s->nparts + 1, s->obuf.data,
			   s->obuf.len, s->etags + (size_t)s->nparts * 128))
		return s3_fail(d);
	s->nparts++;
	d->uploaded += s->obuf.len;
	ck_buf_reset(&s->obuf);
	return 0;
}

/* Move staged rows into obuf (compressing them); finish: end the gzip stream. */
static int feed(struct ds *d, struct ds_stream *s, int finish)
{
	int r;

	if (!d->gzip) {
		r = ck_buf_add(&s->obuf, s->stage.data ? s->stage.data : "", s->stage.len);
		ck_buf_reset(&s->stage);
	} else {
		s->z.next_in = (Bytef *)s->stage.data;
		s->z.avail_in = (uInt)s->stage.len;
		do {
			size_t room;

			r = ck_buf_reserve(&s->obuf, 65536);
			if (r)
				return r;
			room = s->obuf.cap - s->obuf.len - 1;
			s->z.next_out = (Bytef *)s->obuf.data + s->obuf.len;
			s->z.avail_out = (uInt)room;
			r = deflate(&s->z, finish ? Z_FINISH : Z_NO_FLUSH);
			if (r == Z_STREAM_ERROR)
				return ck_fail("zlib deflate failed");
			s->obuf.len += room - s->z.avail_out;
			s->obuf.data[s->obuf.len] = '\0';
		} while (s->z.avail_in > 0 || (finish && r != Z_STREAM_END) ||
			 (!finish && s->z.avail_out == 0));
		r = 0;
		ck_buf_reset(&s->stage);
	}
	if (r)
		return r;
	if (!finish && s->obuf.len >= d->chunk)
		return upload_chunk(d, s);
	return 0;
}

static int start_part(struct ds *d, struct ds_stream *s)
{
	size_t i;
	int r = 0;

	snprintf(s->key, sizeof(s->key), "%s%s_%" PRId64 "_%d.%s%s", s->prefix, d->date,
		 d->epoch_ms, s->partno, d->jsonl ? "jsonl" : "csv", d->gzip ? ".gz" : "");
	if (d->gzip) {
		memset(&s->z, 0, sizeof(s->z));
		if (deflateInit2(&s->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return ck_fail("zlib deflateInit2 failed");
	}
	s->open = 1;
	s->raw = 0;
	s->mpu = 0;
	s->nparts = 0;
	if (!d->jsonl) {
		r = ck_buf_adds(&s->stage, "_airbyte_ab_id,_airbyte_emitted_at");
		if (!d->flatten)
			r = r ? r : ck_buf_adds(&s->stage, ",_airbyte_data");
		for (i = 0; d->flatten && i < s->ncols && !r; i++) {
			r = ck_buf_addc(&s->stage, ',');
			r = r ? r : ck_csv_add_field(&s->stage, s->cols[i], strlen(s->cols[i]), ',');
		}
		r = r ? r : ck_buf_addc(&s->stage, '\n');
		s->raw += s->stage.len;
	}
	return r;
}

/* Finish the current object: after this it is complete in S3. */
static int finish_part(struct ds *d, struct ds_stream *s)
{
	int r;

	if (!s->open)
		return 0;
	r = feed(d, s, 1);
	if (r)
		return r;
	if (s->mpu) {
		if (s->obuf.len > 0 && (r = upload_chunk(d, s)))
			return r;
		if (ck_s3_mpu_complete(&d->s3, s->key, s->upload_id, s->etags, s->nparts))
			return s3_fail(d);
		s->mpu = 0;
	} else {
		if (ck_s3_put(&d->s3, s->key, s->obuf.data, s->obuf.len))
			return s3_fail(d);
		d->uploaded += s->obuf.len;
		ck_buf_reset(&s->obuf);
	}
	if (d->gzip)
		deflateEnd(&s->z);
	memset(&s->z, 0, sizeof(s->z));
	s->open = 0;
	s->partno++;
	s->objects++;
	return 0;
}

/*
 * Append a value from its raw JSON text (a span in the input line): numbers
 * and strings are copied byte for byte, never re-encoded; whitespace
 * outside strings is removed.
 * CSV: null or absent is an empty field, a string is its decoded text.
 */
static int add_raw_value(struct ck_buf *b, struct ck_raw_span v, int csv)
{
	static struct ck_buf tmp = CK_BUF_INIT((size_t)256 << 20);
	enum ck_raw_kind k = ck_raw_kind(v);
	long l;
	int r;

	if (k == CK_RAW_ABSENT || k == CK_RAW_NULL)
		return csv ? 0 : ck_buf_adds(b, "null");
	if (csv && k == CK_RAW_STRING) {
		if (!(v.flags & CK_RAW_ESC))
			return ck_csv_add_field(b, v.p + 1, v.n - 2, ',');
		ck_buf_reset(&tmp);
		if ((r = ck_buf_reserve(&tmp, v.n)))
			return r;
		l = ck_raw_unescape(v, tmp.data, v.n + 1);
		if (l < 0)
			return ck_fail("invalid JSON string in a record");
		return ck_csv_add_field(b, tmp.data, (size_t)l, ',');
	}
	return ck_raw_add(b, v, csv ? ',' : -1);
}

/* Root-level flattening, CSV: s->vals[i] = the value of column i in data. */
static int split_columns(struct ds_stream *s, struct ck_raw_span data)
{
	struct ck_raw_iter it;
	struct ck_raw_span k, v;
	size_t i, j, next = 0;
	int r;

	memset(s->vals, 0, s->ncols * sizeof(*s->vals));
	if (ck_raw_kind(data) != CK_RAW_OBJECT)
		return 0;
	ck_raw_iter_init(&it, data.p, data.n);
	while ((r = ck_raw_next(&it, &k, &v)) > 0) {
		/* Fields usually come in column order: start after the last match. */
		for (j = 0; j < s->ncols; j++) {
			i = next + j < s->ncols ? next + j : next + j - s->ncols;
			if ((k.flags & CK_RAW_ESC) ? ck_raw_str_eq(k, s->cols[i]) :
			    (k.n == s->collen[i] + 2 && !memcmp(k.p + 1, s->cols[i], s->collen[i]))) {
				s->vals[i] = v;
				next = i + 1 < s->ncols ? i + 1 : 0;
				break;
			}
		}
	}
	return r < 0 ? ck_fail("invalid JSON in a record's data") : 0;
}

static int write_record(struct ds *d, struct ds_stream *s, struct ck_raw_span data, int64_t ms)
{
	char id[37];
	size_t before, i;
	int r;

	if (!s->open && (r = start_part(d, s)))
		return r;
	ck_uuid4(id);
	before = s->stage.len;
	if (!d->jsonl) {
		r = ck_buf_addf(&s->stage, "%s,%" PRId64 ",", id, ms);
		if (!d->flatten) {
			r = r ? r : add_raw_value(&s->stage, data, 1);
		} else {
			r = r ? r : split_columns(s, data);
			for (i = 0; i < s->ncols && !r; i++) {
				if (i)
					r = ck_buf_addc(&s->stage, ',');
				r = r ? r : add_raw_value(&s->stage, s->vals[i], 1);
			}
		}
	} else {
		r = ck_buf_addf(&s->stage, "{\"_airbyte_ab_id\":\"%s\",\"_airbyte_emitted_at\":%" PRId64,
				id, ms);
		if (!d->flatten) {
			r = r ? r : ck_buf_adds(&s->stage, ",\"_airbyte_data\":");
			r = r ? r : add_raw_value(&s->stage, data, 0);
		} else if (ck_raw_kind(data) == CK_RAW_OBJECT) {
			struct ck_raw_iter it;
			struct ck_raw_span k, v;
			int more;

			ck_raw_iter_init(&it, data.p, data.n);
			while (!r && (more = ck_raw_next(&it, &k, &v)) != 0) {
				if (more < 0) {
					r = ck_fail("invalid JSON in a record's data");
					break;
				}
				r = ck_buf_addc(&s->stage, ',');
				r = r ? r : ck_buf_add(&s->stage, k.p, k.n);
				r = r ? r : ck_buf_addc(&s->stage, ':');
				r = r ? r : add_raw_value(&s->stage, v, 0);
			}
		}
		r = r ? r : ck_buf_addc(&s->stage, '}');
	}
	r = r ? r : ck_buf_addc(&s->stage, '\n');
	if (r)
		return r == -E2BIG ? ck_fail("record of stream '%s' too large", s->name) : r;
	s->raw += s->stage.len - before;
	s->records++;
	if (s->stage.len >= STAGE_AT && (r = feed(d, s, 0)))
		return r;
	if (s->raw >= d->part_size)
		return finish_part(d, s);
	return 0;
}

static struct ds_stream *find_stream(struct ds *d, const char *name, const char *ns)
{
	static size_t last;
	size_t i;

	if (last < d->n && !strcmp(d->st[last].name, name) &&
	    (!ns || !d->st[last].ns || !strcmp(ns, d->st[last].ns)))
		return &d->st[last];
	for (i = 0; i < d->n; i++)
		if (!strcmp(d->st[i].name, name) &&
		    (!ns || !d->st[i].ns || !strcmp(ns, d->st[i].ns)))
			return &d->st[last = i];
	return NULL;
}

static int setup_streams(struct ds *d, const json_t *catalog)
{
	json_t *streams = json_object_get(catalog, "streams");
	size_t i;

	d->n = json_array_size(streams);
	d->st = calloc(d->n ? d->n : 1, sizeof(*d->st));
	if (!d->st)
		return -ENOMEM;
	for (i = 0; i < d->n; i++) {
		json_t *cs = json_array_get(streams, i);
		struct ds_stream *s = &d->st[i];
		const char *mode = ck_cs_destination_sync_mode(cs);
		json_t *props = ck_cs_properties(cs);
		struct ck_buf p = CK_BUF_INIT(1 << 16);

		s->name = ck_cs_name(cs);
		if (!s->name)
			return ck_fail("configured catalog: stream %zu has no name", i);
		s->ns = ck_cs_namespace(cs);
		ck_buf_init(&s->stage, (size_t)256 << 20);
		ck_buf_init(&s->obuf, (size_t)8 << 30);
		if (*d->path && (ck_buf_adds(&p, d->path) || ck_buf_addc(&p, '/')))
			return -ENOMEM;
		if (s->ns && *s->ns && (ck_buf_adds(&p, s->ns) || ck_buf_addc(&p, '/')))
			return -ENOMEM;
		if (ck_buf_adds(&p, s->name) || ck_buf_addc(&p, '/'))
			return -ENOMEM;
		s->prefix = p.data;
		s->overwrite = !mode || !strcmp(mode, "overwrite");
		if (mode && strcmp(mode, "overwrite") && strcmp(mode, "append"))
			ck_emit_log("WARN", "stream %s: destination_sync_mode %s is written as append",
				    s->name, mode);
		if (d->flatten && props) {
			const char *k;
			json_t *v;

			s->cols = calloc(json_object_size(props) + 1, sizeof(*s->cols));
			s->collen = calloc(json_object_size(props) + 1, sizeof(*s->collen));
			s->vals = calloc(json_object_size(props) + 1, sizeof(*s->vals));
			if (!s->cols || !s->collen || !s->vals)
				return -ENOMEM;
			json_object_foreach(props, k, v) {
				s->collen[s->ncols] = strlen(k);
				s->cols[s->ncols++] = k;
			}
		}
	}
	return 0;
}

/* Overwrite: the objects directly under the stream's prefix before this sync. */
static int list_old(struct ds *d, struct ds_stream *s)
{
	struct ck_s3_list all = { 0 };
	size_t i, pl = strlen(s->prefix);

	if (ck_s3_list_all(&d->s3, s->prefix, &all))
		return s3_fail(d);
	for (i = 0; i < all.n; i++) {
		if (strchr(all.v[i].key + pl, '/')) {
			free(all.v[i].key);
			continue;
		}
		if (s->old.n == s->old.cap) {
			size_t nc = s->old.cap ? s->old.cap * 2 : 16;
			void *nv = realloc(s->old.v, nc * sizeof(*s->old.v));

			if (!nv)
				return -ENOMEM;
			s->old.v = nv;
			s->old.cap = nc;
		}
		s->old.v[s->old.n++] = all.v[i];
	}
	free(all.v);
	return 0;
}

static int flush_all(struct ds *d)
{
	size_t i;
	int r;

	for (i = 0; i < d->n; i++)
		if ((r = finish_part(d, &d->st[i])))
			return r;
	return 0;
}

static void abort_uploads(struct ds *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct ds_stream *s = &d->st[i];

		if (s->mpu) {
			d->s3.max_retries = 0;
			ck_s3_mpu_abort(&d->s3, s->key, s->upload_id);
			s->mpu = 0;
		}
	}
}

static int ds_write_loop(struct ds *d)
{
	struct ck_lines in;
	char *line;
	size_t len;
	int r;
	uint64_t lines = 0;

	ck_lines_init(&in, 0, CK_LINE_MAX);
	while ((r = ck_lines_next(&in, &line, &len)) == 1) {
		struct ck_raw_msg m;
		const char *err;
		size_t epos;

		lines++;
		if (len == 0)
			continue;
		/* No tree: the line is validated and the spans of its parts found. */
		if (ck_raw_message(line, len, &m, &err, &epos) < 0) {
			ck_warn("input line %lu is not a JSON object (%s at byte %zu), skipped",
				in.lineno, err, epos + 1);
			continue;
		}
		if (ck_raw_str_eq(m.type, "RECORD")) {
			char name[4096], ns[4096];
			int has_ns = ck_raw_kind(m.ns) == CK_RAW_STRING &&
				     ck_raw_unescape(m.ns, ns, sizeof(ns)) >= 0;
			struct ds_stream *s = NULL;
			int64_t ms;

			name[0] = '\0';
			if (ck_raw_kind(m.stream) == CK_RAW_STRING &&
			    ck_raw_unescape(m.stream, name, sizeof(name)) >= 0)
				s = find_stream(d, name, has_ns ? ns : NULL);
			if (!s) {
				r = ck_fail("RECORD for stream '%s' that is not in the configured catalog",
					    name[0] ? name : "(none)");
				break;
			}
			if (ck_raw_int64(m.emitted_at, &ms) < 0)
				ms = ck_now_ms();
			r = write_record(d, s, m.data, ms);
		} else if (ck_raw_str_eq(m.type, "STATE")) {
			/* Every record before this STATE goes into a completed object first. */
			r = flush_all(d);
			if (!r) {
				ck_out_write(line, len);
				ck_out_write("\n", 1);
				r = ck_out_flush();
			}
		} else {
			r = 0;
		}
		if (r)
			break;
		if (ck_terminated()) {
			r = -EINTR;
			break;
		}
	}
	ck_lines_release(&in);
	if (r < 0)
		return r;
	return flush_all(d);
}

static int ds_write(json_t *config, json_t *catalog)
{
	struct ds d;
	struct timespec t0, t1;
	time_t now;
	struct tm tm;
	size_t i, j;
	int r;

	memset(&d, 0, sizeof(d));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = ds_config(&d, config)) || (r = setup_streams(&d, catalog)))
		goto out;
	d.epoch_ms = ck_now_ms();
	now = (time_t)(d.epoch_ms / 1000);
	gmtime_r(&now, &tm);
	strftime(d.date, sizeof(d.date), "%Y_%m_%d", &tm);
	/* Fail early (bad credentials, missing bucket, endpoint down). */
	for (i = 0; i < d.n; i++)
		if (d.st[i].overwrite && (r = list_old(&d, &d.st[i])))
			goto out;
	{
		int any = 0;

		for (j = 0; j < d.n; j++)
			any |= d.st[j].overwrite;
		if (!any && ck_s3_request(&d.s3, "GET", NULL, "list-type=2&max-keys=1", NULL, 0,
					  NULL, NULL, NULL, 0)) {
			r = s3_fail(&d);
			goto out;
		}
	}
	r = ds_write_loop(&d);
	if (r)
		goto out;
	/*
	 * Overwrite: only now, with every record of this sync in completed
	 * objects, delete what the stream held before it.
	 */
	for (i = 0; i < d.n; i++) {
		struct ds_stream *s = &d.st[i];

		for (j = 0; j < s->old.n; j++)
			if (ck_s3_delete(&d.s3, s->old.v[j].key)) {
				r = s3_fail(&d);
				goto out;
			}
		if (s->old.n)
			ck_emit_log("INFO", "stream %s: overwrite deleted %zu older objects under %s",
				    s->name, s->old.n, s->prefix);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		uint64_t recs = 0, objs = 0;

		for (i = 0; i < d.n; i++) {
			recs += d.st[i].records;
			objs += d.st[i].objects;
		}
		ck_emit_log("INFO", "wrote %" PRIu64 " records in %" PRIu64 " objects, %.1f MB uploaded "
			    "in %.2f s (%.1f MB/s), %lu requests, %lu retries", recs, objs,
			    (double)d.uploaded / 1e6, secs, secs > 0 ? (double)d.uploaded / 1e6 / secs : 0.0,
			    d.s3.requests, d.s3.retries);
	}
out:
	if (r)
		abort_uploads(&d);
	ds_release(&d);
	return r;
}

static int ds_check(json_t *config)
{
	struct ds d;
	char id[37], key[2048];
	int r;

	memset(&d, 0, sizeof(d));
	r = ds_config(&d, config);
	if (r) {
		const char *m = ck_failure();

		r = ck_emit_connection_status("FAILED", m ? m : "invalid config");
		ck_clear_failure();
		ds_release(&d);
		return r;
	}
	d.s3.max_retries = d.s3.max_retries > 2 ? 2 : d.s3.max_retries;
	ck_uuid4(id);
	snprintf(key, sizeof(key), "%s%s_airbyte_connection_test_%s", d.path,
		 *d.path ? "/" : "", id);
	if (ck_s3_put(&d.s3, key, "check", 5) || ck_s3_delete(&d.s3, key))
		r = ck_emit_connection_status("FAILED", d.s3.err);
	else
		r = ck_emit_connection_status("SUCCEEDED", NULL);
	ds_release(&d);
	return r;
}

int main(int argc, char **argv)
{
	static const struct ck_connector c = {
		.name = "destination-s3",
		.spec_json = spec_json,
		.check = ds_check,
		.write = ds_write,
	};

	return ck_main(argc, argv, &c);
}
