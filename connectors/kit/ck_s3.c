/*
 * ck_s3: S3 requests over libcurl with SigV4.  See ck_s3.h.
 */
/* Messages and keys are cut at their buffer size on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#if __has_include(<curl/curl.h>)
#include "ck_s3.h"
#include "ck_main.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ck_s3_open(struct ck_s3 *s, const char *endpoint, const char *bucket,
	       const char *region, const char *access_key, const char *secret_key)
{
	size_t n;

	memset(s, 0, sizeof(*s));
	s->max_retries = 5;
	s->base_delay_ms = 500;
	s->connect_timeout_s = 10;
	s->stall_timeout_s = 60;
	if (!endpoint || !*endpoint || !bucket || !*bucket) {
		snprintf(s->err, sizeof(s->err), "endpoint and bucket are required");
		return -EINVAL;
	}
	if (!region || !*region)
		region = "us-east-1";
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->curl = curl_easy_init();
	s->endpoint = strdup(endpoint);
	s->bucket = strdup(bucket);
	s->region = strdup(region);
	n = strlen(access_key ? access_key : "") + strlen(secret_key ? secret_key : "") + 2;
	s->userpwd = malloc(n);
	if (!s->curl || !s->endpoint || !s->bucket || !s->region || !s->userpwd) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -ENOMEM;
	}
	snprintf(s->userpwd, n, "%s:%s", access_key ? access_key : "",
		 secret_key ? secret_key : "");
	n = strlen(s->endpoint);
	while (n > 0 && s->endpoint[n - 1] == '/')
		s->endpoint[--n] = '\0';
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->region);
	return 0;
}

void ck_s3_close(struct ck_s3 *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->endpoint);
	free(s->bucket);
	free(s->region);
	if (s->userpwd)
		memset(s->userpwd, 0, strlen(s->userpwd));
	free(s->userpwd);
	memset(s, 0, sizeof(*s));
}

int ck_s3_uri_encode(struct ck_buf *b, const char *p, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (; *p && !rc; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~' || (keep_slash && c == '/')) {
			rc = ck_buf_addc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			rc = ck_buf_add(b, e, 3);
		}
	}
	return rc;
}

struct req_io {
	const char *body;
	size_t len, off;
	struct ck_buf *resp;
	FILE *out;
	struct ck_buf errbody;  /* body of a non-2xx answer */
	CURL *h;
	char *etag;
	size_t etaglen;
	int failed;
};

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
	struct req_io *io = arg;
	size_t want = size * n, left = io->len - io->off;

	if (want > left)
		want = left;
	memcpy(dst, io->body + io->off, want);
	io->off += want;
	return want;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
	struct req_io *io = arg;
	size_t len = size * n;
	long code = 0;

	curl_easy_getinfo(io->h, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		if (io->errbody.len < 65536)
			ck_buf_add(&io->errbody, p, len);
		return len;
	}
	if (io->out) {
		if (fwrite(p, 1, len, io->out) != len) {
			io->failed = 1;
			return 0;
		}
		return len;
	}
	if (io->resp && ck_buf_add(io->resp, p, len)) {
		io->failed = 1;
		return 0;
	}
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct req_io *io = arg;
	size_t len = size * n;

	if (io->etag && len > 5 && !strncasecmp(p, "etag:", 5)) {
		size_t i = 5, j = 0;

		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (i < len && p[i] != '\r' && p[i] != '\n' && j + 1 < io->etaglen)
			io->etag[j++] = p[i++];
		io->etag[j] = '\0';
	}
	return len;
}

static int transient_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !ck_terminated())
		;
}

static void describe_http(struct ck_s3 *s, const char *what, struct ck_buf *body)
{
	char code[128] = "", msg[512] = "";
	size_t pos = 0;
	const char *hint = "";

	if (body->data) {
		ck_s3_xml_get(body->data, &pos, "Code", code, sizeof(code));
		pos = 0;
		ck_s3_xml_get(body->data, &pos, "Message", msg, sizeof(msg));
	}
	if (s->status == 403)
		hint = " (access denied: check access_key_id / secret_access_key and the bucket policy)";
	else if (!strcmp(code, "NoSuchBucket"))
		hint = " (the bucket does not exist)";
	snprintf(s->err, sizeof(s->err), "S3 %s: HTTP %ld%s%s%s%s%s", what, s->status,
		 *code ? " " : "", code, *msg ? ": " : "", msg, hint);
}

int ck_s3_request(struct ck_s3 *s, const char *method, const char *key,
		  const char *query, const void *body, size_t len,
		  struct ck_buf *resp, FILE *out, char *etag, size_t etaglen)
{
	struct ck_buf url = CK_BUF_INIT(1 << 20);
	char what[600];
	size_t resp0 = resp ? resp->len : 0;
	int attempt, rc = -EIO;

	if (ck_buf_adds(&url, s->endpoint) || ck_buf_addc(&url, '/') ||
	    ck_s3_uri_encode(&url, s->bucket, 0))
		goto oom;
	if (key && *key && (ck_buf_addc(&url, '/') || ck_s3_uri_encode(&url, key, 1)))
		goto oom;
	if (query && *query && (ck_buf_addc(&url, '?') || ck_buf_adds(&url, query)))
		goto oom;
	snprintf(what, sizeof(what), "%s s3://%s/%s", method, s->bucket, key ? key : "");

	for (attempt = 0;; attempt++) {
		struct req_io io = { body, len, 0, resp, out, CK_BUF_INIT(1 << 20),
				     s->curl, etag, etaglen, 0 };
		struct curl_slist *hdr = NULL;
		char cerr[CURL_ERROR_SIZE] = "";
		CURLcode cc;
		CURL *h = s->curl;
		int retry = 0;

		if (resp) {
			resp->len = resp0;
			if (resp->data)
				resp->data[resp0] = '\0';
		}
		if (out) {
			fflush(out);
			if (ftruncate(fileno(out), 0) == 0)
				rewind(out);
		}
		if (etag && etaglen)
			etag[0] = '\0';
		curl_easy_reset(h);
		hdr = curl_slist_append(hdr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
		hdr = curl_slist_append(hdr, "Expect:");
		curl_easy_setopt(h, CURLOPT_URL, url.data);
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(h, CURLOPT_USERPWD, s->userpwd);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, s->connect_timeout_s);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, s->stall_timeout_s);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &io);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &io);
		if (!strcmp(method, "PUT")) {
			hdr = curl_slist_append(hdr, "Content-Type: application/octet-stream");
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, &io);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		} else if (!strcmp(method, "POST")) {
			hdr = curl_slist_append(hdr, body ? "Content-Type: application/xml"
							  : "Content-Type: application/octet-stream");
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		} else if (!strcmp(method, "HEAD")) {
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		} else if (strcmp(method, "GET")) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		}
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		s->requests++;
		cc = curl_easy_perform(h);
		curl_slist_free_all(hdr);
		s->status = 0;
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->status);
		if (io.failed) {
			snprintf(s->err, sizeof(s->err), "S3 %s: cannot store the response (%s)",
				 what, out ? "write error" : "out of memory");
			ck_buf_release(&io.errbody);
			rc = -EIO;
			break;
		}
		if (cc != CURLE_OK) {
			snprintf(s->err, sizeof(s->err),
				 "S3 %s: cannot reach the endpoint %s: %s (%s)", what,
				 s->endpoint, curl_easy_strerror(cc), cerr);
			retry = transient_curl(cc);
		} else if (s->status >= 200 && s->status <= 299) {
			ck_buf_release(&io.errbody);
			rc = 0;
			break;
		} else {
			describe_http(s, what, &io.errbody);
			retry = s->status >= 500 || s->status == 429;
		}
		ck_buf_release(&io.errbody);
		if (!retry || attempt >= s->max_retries || ck_terminated()) {
			if (retry && attempt > 0) {
				size_t l = strlen(s->err);

				snprintf(s->err + l, sizeof(s->err) - l,
					 " (gave up after %d attempts)", attempt + 1);
			}
			rc = -EIO;
			break;
		}
		{
			long d = s->base_delay_ms << (attempt < 5 ? attempt : 5);

			if (d > 10000)
				d = 10000;
			ck_warn("%s; retry %d/%d in %ld ms", s->err, attempt + 1,
				s->max_retries, d);
			s->retries++;
			sleep_ms(d);
		}
	}
	ck_buf_release(&url);
	return rc;
oom:
	ck_buf_release(&url);
	snprintf(s->err, sizeof(s->err), "out of memory");
	return -ENOMEM;
}

int ck_s3_put(struct ck_s3 *s, const char *key, const void *body, size_t len)
{
	return ck_s3_request(s, "PUT", key, NULL, body ? body : "", len, NULL, NULL, NULL, 0);
}

int ck_s3_delete(struct ck_s3 *s, const char *key)
{
	int rc = ck_s3_request(s, "DELETE", key, NULL, NULL, 0, NULL, NULL, NULL, 0);

	if (rc && s->status == 404)
		return 0;
	return rc;
}

int ck_s3_get_file(struct ck_s3 *s, const char *key, FILE *out)
{
	int rc = ck_s3_request(s, "GET", key, NULL, NULL, 0, NULL, out, NULL, 0);

	if (!rc && fflush(out)) {
		snprintf(s->err, sizeof(s->err), "S3 GET %s: writing the temporary file: %s",
			 key, strerror(errno));
		return -EIO;
	}
	if (!rc)
		rewind(out);
	return rc;
}

int ck_s3_mpu_create(struct ck_s3 *s, const char *key, char *upload_id, size_t idlen)
{
	struct ck_buf r = CK_BUF_INIT(1 << 20);
	size_t pos = 0;
	int rc = ck_s3_request(s, "POST", key, "uploads=", NULL, 0, &r, NULL, NULL, 0);

	if (!rc && (!r.data || !ck_s3_xml_get(r.data, &pos, "UploadId", upload_id, idlen) ||
		    !*upload_id)) {
		snprintf(s->err, sizeof(s->err), "S3 CreateMultipartUpload %s: no UploadId in the answer", key);
		rc = -EIO;
	}
	ck_buf_release(&r);
	return rc;
}

int ck_s3_mpu_part(struct ck_s3 *s, const char *key, const char *upload_id,
		   int partno, const void *body, size_t len, char *etag)
{
	struct ck_buf q = CK_BUF_INIT(4096);
	int rc;

	if (ck_buf_addf(&q, "partNumber=%d&uploadId=", partno) ||
	    ck_s3_uri_encode(&q, upload_id, 0)) {
		ck_buf_release(&q);
		return -ENOMEM;
	}
	rc = ck_s3_request(s, "PUT", key, q.data, body, len, NULL, NULL, etag, 128);
	if (!rc && !*etag) {
		snprintf(s->err, sizeof(s->err), "S3 UploadPart %s part %d: no ETag in the answer", key, partno);
		rc = -EIO;
	}
	ck_buf_release(&q);
	return rc;
}

int ck_s3_mpu_complete(struct ck_s3 *s, const char *key, const char *upload_id,
		       const char *etags, int n)
{
	struct ck_buf q = CK_BUF_INIT(4096), b = CK_BUF_INIT((size_t)1 << 24);
	struct ck_buf r = CK_BUF_INIT(1 << 20);
	size_t pos = 0;
	char code[128];
	int i, rc = -ENOMEM;

	if (ck_buf_adds(&q, "uploadId=") || ck_s3_uri_encode(&q, upload_id, 0) ||
	    ck_buf_adds(&b, "<CompleteMultipartUpload>"))
		goto out;
	for (i = 0; i < n; i++)
		if (ck_buf_addf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
				i + 1, etags + (size_t)i * 128))
			goto out;
	if (ck_buf_adds(&b, "</CompleteMultipartUpload>"))
		goto out;
	rc = ck_s3_request(s, "POST", key, q.data, b.data, b.len, &r, NULL, NULL, 0);
	/* S3 may answer 200 with an <Error> body. */
	if (!rc && r.data && ck_s3_xml_get(r.data, &pos, "Code", code, sizeof(code))) {
		snprintf(s->err, sizeof(s->err), "S3 CompleteMultipartUpload %s: %s", key, code);
		rc = -EIO;
	}
out:
	ck_buf_release(&q);
	ck_buf_release(&b);
	ck_buf_release(&r);
	return rc;
}

int ck_s3_mpu_abort(struct ck_s3 *s, const char *key, const char *upload_id)
{
	struct ck_buf q = CK_BUF_INIT(4096);
	int rc = -ENOMEM;

	if (!ck_buf_adds(&q, "uploadId=") && !ck_s3_uri_encode(&q, upload_id, 0))
		rc = ck_s3_request(s, "DELETE", key, q.data, NULL, 0, NULL, NULL, NULL, 0);
	ck_buf_release(&q);
	return rc;
}

static void xml_decode(const char *p, size_t n, char *out, size_t outlen)
{
	size_t i = 0, j = 0;

	while (i < n && j + 4 < outlen) {
		if (p[i] == '&') {
			static const struct { const char *e; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
				{ "&quot;", '"' }, { "&apos;", '\'' } };
			size_t k;
			int done = 0;

			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
				size_t el = strlen(ents[k].e);

				if (n - i >= el && !memcmp(p + i, ents[k].e, el)) {
					out[j++] = ents[k].c;
					i += el;
					done = 1;
					break;
				}
			}
			if (!done && n - i > 3 && p[i + 1] == '#') {
				char *end;
				unsigned long cp = p[i + 2] == 'x'
					? strtoul(p + i + 3, &end, 16) : strtoul(p + i + 2, &end, 10);

				if (end < p + n && *end == ';') {
					if (cp < 0x80) {
						out[j++] = (char)cp;
					} else if (cp < 0x800) {
						out[j++] = (char)(0xC0 | (cp >> 6));
						out[j++] = (char)(0x80 | (cp & 0x3F));
					} else if (cp < 0x10000) {
						out[j++] = (char)(0xE0 | (cp >> 12));
						out[j++] = (char)(0x80 | ((cp >> 6) & 0x3F));
						out[j++] = (char)(0x80 | (cp & 0x3F));
					} else {
						out[j++] = (char)(0xF0 | (cp >> 18));
						out[j++] = (char)(0x80 | ((cp >> 12) & 0x3F));
						out[j++] = (char)(0x80 | ((cp >> 6) & 0x3F));
						out[j++] = (char)(0x80 | (cp & 0x3F));
					}
					i = (size_t)(end - p) + 1;
					done = 1;
				}
			}
			if (!done)
				out[j++] = p[i++];
		} else {
			out[j++] = p[i++];
		}
	}
	out[j] = '\0';
}

int ck_s3_xml_get(const char *xml, size_t *pos, const char *tag, char *out, size_t outlen)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(xml + *pos, open);
	if (!a)
		return 0;
	a += strlen(open);
	b = strstr(a, close);
	if (!b)
		return 0;
	xml_decode(a, (size_t)(b - a), out, outlen);
	*pos = (size_t)(b - xml) + strlen(close);
	return 1;
}

int ck_s3_list_all(struct ck_s3 *s, const char *prefix, struct ck_s3_list *l)
{
	struct ck_buf q = CK_BUF_INIT(1 << 20), r = CK_BUF_INIT((size_t)64 << 20);
	char token[2048] = "", trunc[16];
	int rc = 0;

	do {
		size_t pos = 0;

		ck_buf_reset(&q);
		ck_buf_reset(&r);
		if (*token && (ck_buf_adds(&q, "continuation-token=") ||
			       ck_s3_uri_encode(&q, token, 0) || ck_buf_addc(&q, '&'))) {
			rc = -ENOMEM;
			break;
		}
		if (ck_buf_adds(&q, "list-type=2") ||
		    (prefix && *prefix && (ck_buf_adds(&q, "&prefix=") ||
					   ck_s3_uri_encode(&q, prefix, 0)))) {
			rc = -ENOMEM;
			break;
		}
		rc = ck_s3_request(s, "GET", NULL, q.data, NULL, 0, &r, NULL, NULL, 0);
		if (rc)
			break;
		if (!r.data)
			break;
		for (;;) {
			size_t c = pos, end;
			const char *cs = strstr(r.data + pos, "<Contents>"), *ce;
			struct ck_s3_object *o;
			char key[4096], sz[32];

			if (!cs)
				break;
			ce = strstr(cs, "</Contents>");
			if (!ce)
				break;
			end = (size_t)(ce - r.data);
			c = (size_t)(cs - r.data);
			if (l->n == l->cap) {
				size_t nc = l->cap ? l->cap * 2 : 256;
				void *nv = realloc(l->v, nc * sizeof(*l->v));

				if (!nv) {
					rc = -ENOMEM;
					goto out;
				}
				l->v = nv;
				l->cap = nc;
			}
			o = &l->v[l->n];
			memset(o, 0, sizeof(*o));
			{
				size_t p2 = c;

				if (ck_s3_xml_get(r.data, &p2, "Key", key, sizeof(key)) && p2 <= end + 1) {
					o->key = strdup(key);
					p2 = c;
					ck_s3_xml_get(r.data, &p2, "LastModified", o->last_modified,
						      sizeof(o->last_modified));
					p2 = c;
					if (ck_s3_xml_get(r.data, &p2, "Size", sz, sizeof(sz)))
						o->size = strtoll(sz, NULL, 10);
					if (!o->key) {
						rc = -ENOMEM;
						goto out;
					}
					l->n++;
				}
			}
			pos = end + strlen("</Contents>");
		}
		pos = 0;
		*token = '\0';
		if (ck_s3_xml_get(r.data, &pos, "IsTruncated", trunc, sizeof(trunc)) &&
		    !strcmp(trunc, "true")) {
			pos = 0;
			if (!ck_s3_xml_get(r.data, &pos, "NextContinuationToken", token, sizeof(token))) {
				snprintf(s->err, sizeof(s->err),
					 "S3 ListObjectsV2: truncated listing without NextContinuationToken");
				rc = -EIO;
				break;
			}
		}
	} while (*token);
out:
	if (rc == -ENOMEM)
		snprintf(s->err, sizeof(s->err), "out of memory");
	ck_buf_release(&q);
	ck_buf_release(&r);
	return rc;
}

void ck_s3_list_release(struct ck_s3_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

#endif /* __has_include(<curl/curl.h>) */
#if !__has_include(<curl/curl.h>)
typedef int ck_s3_unavailable; /* no libcurl headers: nothing to build */
#endif
