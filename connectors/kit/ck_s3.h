/*
 * ck_s3: a small S3 client on libcurl (CURLOPT_AWS_SIGV4), path-style URLs
 * <endpoint>/<bucket>/<key>, payloads sent as UNSIGNED-PAYLOAD.
 *
 * Used by destination-s3 and source-s3, which link -lcurl dynamically (the
 * rest of the kit does not need libcurl: without <curl/curl.h> this file
 * compiles to nothing).
 *
 * Every request is retried on connection errors, timeouts, HTTP 5xx and 429,
 * at most max_retries times, sleeping base_delay_ms * 2^attempt (capped at
 * 10 s) between attempts.  Functions return 0 on a 2xx answer, else -EIO and
 * a message in s->err (S3's error Code and Message, the request, and a hint
 * for 403/404/unreachable endpoint); s->status holds the last HTTP status
 * (0 for a transport failure).
 */
#ifndef CK_S3_H
#define CK_S3_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ck_buf.h"

struct ck_s3 {
	void *curl;                 /* CURL * */
	char *endpoint;             /* without trailing '/' */
	char *bucket, *region;
	char *userpwd;              /* access:secret */
	char sigv4[128];
	int max_retries;            /* default 5 */
	long base_delay_ms;         /* default 500 */
	long connect_timeout_s;     /* default 10 */
	long stall_timeout_s;       /* abort when < 1 byte/s for this long; 60 */
	long status;                /* last HTTP status, 0 if none */
	unsigned long requests, retries;
	char err[1024];
};

/* 0, or -EINVAL with a message in s->err. */
int ck_s3_open(struct ck_s3 *s, const char *endpoint, const char *bucket,
	       const char *region, const char *access_key, const char *secret_key);
void ck_s3_close(struct ck_s3 *s);

/* Append key URI-encoded (every byte but A-Za-z0-9-._~ and '/' as %XX). */
int ck_s3_uri_encode(struct ck_buf *b, const char *s, int keep_slash);

/*
 * One request.  key may be NULL or "" (the bucket itself); query is the
 * already encoded query string without '?', its parameters sorted by name
 * (what SigV4 signs), or NULL.  body/len: request payload (PUT/POST).
 * The response body is appended to resp (when not NULL), or written to
 * out (a GET into a file, truncated again before each retry).  When etag is
 * not NULL the ETag response header (with its quotes) is copied there.
 */
int ck_s3_request(struct ck_s3 *s, const char *method, const char *key,
		  const char *query, const void *body, size_t len,
		  struct ck_buf *resp, FILE *out, char *etag, size_t etaglen);

int ck_s3_put(struct ck_s3 *s, const char *key, const void *body, size_t len);
int ck_s3_delete(struct ck_s3 *s, const char *key);
int ck_s3_get_file(struct ck_s3 *s, const char *key, FILE *out);

/* Multipart upload.  upload_id: caller buffer (>= 512 bytes). */
int ck_s3_mpu_create(struct ck_s3 *s, const char *key, char *upload_id, size_t idlen);
/* etag: caller buffer (>= 128 bytes) that receives the part's ETag. */
int ck_s3_mpu_part(struct ck_s3 *s, const char *key, const char *upload_id,
		   int partno, const void *body, size_t len, char *etag);
/* etags: the n part ETags in order, each at etags + i * 128. */
int ck_s3_mpu_complete(struct ck_s3 *s, const char *key, const char *upload_id,
		       const char *etags, int n);
int ck_s3_mpu_abort(struct ck_s3 *s, const char *key, const char *upload_id);

struct ck_s3_object {
	char *key;
	char last_modified[40];     /* as S3 gives it: 2024-01-02T03:04:05.000Z */
	int64_t size;
};

struct ck_s3_list {
	struct ck_s3_object *v;
	size_t n, cap;
};

/*
 * Every object under prefix (ListObjectsV2, all pages), in S3's key order.
 * Appends to l; ck_s3_list_release() frees it.
 */
int ck_s3_list_all(struct ck_s3 *s, const char *prefix, struct ck_s3_list *l);
void ck_s3_list_release(struct ck_s3_list *l);

/*
 * The text of the first <tag>...</tag> in xml at or after *pos, XML
 * entities decoded, into out; *pos moves past it.  1 found, 0 not found.
 */
int ck_s3_xml_get(const char *xml, size_t *pos, const char *tag, char *out, size_t outlen);

#endif
