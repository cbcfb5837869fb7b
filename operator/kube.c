/*
 * kube.c - Kubernetes API client: configuration, requests, watches.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "operator/kube.h"
#include "util/fs.h"
#include "util/yamljson.h"

const struct kube_kind KIND_CONNECTOR_DEFINITION = { AIRBYTE_API_VERSION, "connectordefinitions", "ConnectorDefinition" };
const struct kube_kind KIND_CONNECTOR = { AIRBYTE_API_VERSION, "connectors", "Connector" };
const struct kube_kind KIND_CONNECTION = { AIRBYTE_API_VERSION, "connections", "Connection" };
const struct kube_kind KIND_REPLICATION = { AIRBYTE_API_VERSION, "replications", "Replication" };
const struct kube_kind KIND_REPLICATION_OUTPUT = { AIRBYTE_API_VERSION, "replicationoutputs", "ReplicationOutput" };
const struct kube_kind KIND_POD = { "v1", "pods", "Pod" };
const struct kube_kind KIND_SECRET = { "v1", "secrets", "Secret" };
const struct kube_kind KIND_EVENT = { "v1", "events", "Event" };
const struct kube_kind KIND_LEASE = { "coordination.k8s.io/v1", "leases", "Lease" };

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* ---- configuration --------------------------------------------------- */

const char *kube_str(const json_t *obj, const char *a, const char *b)
{
	const json_t *v = json_object_get(obj, a);
	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}

char *kube_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* A whole small file (tokens, certificates), NUL-terminated; NULL on error. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			if (cap > (1u << 20)) {
				free(buf);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			cap = cap ? cap * 2 : 8192;
			char *n = realloc(buf, cap);
			if (!n) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = n;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Standard base64 (kubeconfig *-data fields), NUL-terminated; NULL if malformed. */
static char *base64_decode(const char *in)
{
	size_t n = strlen(in);
	char *out = malloc(n / 4 * 3 + 4);
	if (!out)
		return NULL;
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i], v;
		if (c >= 'A' && c <= 'Z') v = c - 'A';
		else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
		else if (c >= '0' && c <= '9') v = c - '0' + 52;
		else if (c == '+') v = 62;
		else if (c == '/') v = 63;
		else if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
		else { free(out); return NULL; }
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	return out;
}

/* The entry named name in a kubeconfig list ("clusters", "users", "contexts"). */
static json_t *named(json_t *cfg, const char *list, const char *name, const char *field)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(cfg, list), i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && name && !strcmp(n, name))
			return json_object_get(e, field);
	}
	return NULL;
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A path from a kubeconfig, relative to the kubeconfig's directory. */
static char *relative_to(const char *kubeconfig, const char *path)
{
	if (!path || path[0] == '/')
		return dup_or_null(path);
	const char *slash = strrchr(kubeconfig, '/');
	if (!slash)
		return strdup(path);
	return kube_fmt("%.*s/%s", (int)(slash - kubeconfig), kubeconfig, path);
}

/* data (base64) wins over a file, as in kubectl; *out NULL when neither is set. */
static int pem_field(const char *kubeconfig, const json_t *obj, const char *data_key,
		     const char *file_key, char **out, char **why)
{
	const char *data = str(obj, data_key), *file = str(obj, file_key);
	*out = NULL;
	if (data) {
		if (!(*out = base64_decode(data))) {
			*why = kube_fmt("%s: %s is not valid base64", kubeconfig, data_key);
			return -EINVAL;
		}
	} else if (file) {
		char *p = relative_to(kubeconfig, file);
		*out = p ? slurp(p) : NULL;
		if (!*out) {
			*why = kube_fmt("%s: cannot read %s '%s': %s", kubeconfig, file_key,
					 p ? p : file, strerror(errno));
			free(p);
			return -EINVAL;
		}
		free(p);
	}
	return 0;
}

static int load_kubeconfig(struct kube *k, const char *path, char **why)
{
	struct ab_error err = { 0 };
	json_t *cfg = yamljson_load_file(path, &err);
	if (!cfg) {
		*why = kube_fmt("cannot read the kubeconfig '%s': %s (line %d)", path, err.text,
				 err.line);
		return -EINVAL;
	}
	int r = -EINVAL;
	const char *ctx_name = str(cfg, "current-context");
	json_t *ctx = named(cfg, "contexts", ctx_name, "context");
	if (!ctx) {
		*why = kube_fmt("%s: no context '%s' (set current-context)", path,
				 ctx_name ? ctx_name : "");
		goto out;
	}
	json_t *cluster = named(cfg, "clusters", str(ctx, "cluster"), "cluster");
	json_t *user = named(cfg, "users", str(ctx, "user"), "user");
	if (!cluster || !str(cluster, "server")) {
		*why = kube_fmt("%s: context '%s' has no cluster with a server", path, ctx_name);
		goto out;
	}
	k->server = strdup(str(cluster, "server"));
	k->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
	k->namespace = strdup(str(ctx, "namespace") ? str(ctx, "namespace") : "default");
	if (pem_field(path, cluster, "certificate-authority-data", "certificate-authority",
		      &k->ca_pem, why) < 0)
		goto out;
	if (user) {
		k->token = dup_or_null(str(user, "token"));
		k->token_file = relative_to(path, str(user, "tokenFile"));
		if (pem_field(path, user, "client-certificate-data", "client-certificate",
			      &k->cert_pem, why) < 0 ||
		    pem_field(path, user, "client-key-data", "client-key", &k->key_pem, why) < 0)
			goto out;
		if (!k->cert_pem != !k->key_pem) {
			*why = kube_fmt("%s: user '%s' has a client certificate without its key (or the other way round)",
					 path, str(ctx, "user"));
			goto out;
		}
	}
	k->source = strdup(path);
	r = 0;
out:
	json_decref(cfg);
	return r;
}

static int load_in_cluster(struct kube *k, char **why)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	/* the directory can be moved for tests; in a Pod it is the standard one */
	const char *dir = getenv("AIRBYTE_KUBE_SA_DIR");
	if (!dir)
		dir = SA_DIR;
	if (!host) {
		*why = strdup("not in a cluster: KUBERNETES_SERVICE_HOST is not set (give --kubeconfig)");
		return -ENOENT;
	}
	k->server = strchr(host, ':') ? kube_fmt("https://[%s]:%s", host, port ? port : "443") :
					kube_fmt("https://%s:%s", host, port ? port : "443");
	k->token_file = kube_fmt("%s/token", dir);
	k->ca_file = kube_fmt("%s/ca.crt", dir);
	char *ns_path = kube_fmt("%s/namespace", dir);
	char *ns = ns_path ? slurp(ns_path) : NULL;
	free(ns_path);
	if (ns)
		trim(ns);
	k->namespace = ns ? ns : strdup("default");
	k->source = kube_fmt("in-cluster service account (%s)", dir);
	char *t = slurp(k->token_file);
	if (!t) {
		*why = kube_fmt("cannot read the service account token '%s': %s", k->token_file,
				 strerror(errno));
		return -EACCES;
	}
	free(t);
	return 0;
}

int kube_load(struct kube *k, const char *kubeconfig, char **why)
{
	memset(k, 0, sizeof(*k));
	*why = NULL;
	int r;
	if (kubeconfig && !strcmp(kubeconfig, "in-cluster"))
		r = load_in_cluster(k, why);
	else if (kubeconfig && *kubeconfig)
		r = load_kubeconfig(k, kubeconfig, why);
	else if (getenv("KUBECONFIG") && *getenv("KUBECONFIG"))
		r = load_kubeconfig(k, getenv("KUBECONFIG"), why);
	else if (getenv("KUBERNETES_SERVICE_HOST"))
		r = load_in_cluster(k, why);
	else {
		char *p = kube_fmt("%s/.kube/config", getenv("HOME") ? getenv("HOME") : "");
		r = p ? load_kubeconfig(k, p, why) : -ENOMEM;
		free(p);
	}
	if (r == 0) {
		size_t n = strlen(k->server);
		while (n && k->server[n - 1] == '/')
			k->server[--n] = '\0';
	} else {
		kube_release(k);
	}
	return r;
}

void kube_release(struct kube *k)
{
	if (!k)
		return;
	free(k->server);
	free(k->token);
	free(k->token_file);
	free(k->ca_file);
	free(k->ca_pem);
	free(k->cert_pem);
	free(k->key_pem);
	free(k->namespace);
	free(k->source);
	memset(k, 0, sizeof(*k));
}

int kube_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

/* ---- requests -------------------------------------------------------- */

struct body {
	char *data;
	size_t len, cap;
	bool overflow;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	size_t add = size * n;
	if (b->len + add + 1 > KUBE_MAX_BODY) {
		b->overflow = true;
		return 0;
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + add + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/* A curl handle with TLS and authentication set up, plus its header list. */
static CURL *open_handle(const struct kube *k, const char *method, const char *path,
			 const char *content_type, struct curl_slist **headers)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	char *url = kube_fmt("%s%s", k->server, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if (k->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (k->ca_pem) {
		struct curl_blob blob = { k->ca_pem, strlen(k->ca_pem), CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	} else if (k->ca_file) {
		curl_easy_setopt(c, CURLOPT_CAINFO, k->ca_file);
	}
	if (k->cert_pem) {
		struct curl_blob cert = { k->cert_pem, strlen(k->cert_pem), CURL_BLOB_COPY };
		struct curl_blob key = { k->key_pem, strlen(k->key_pem), CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	*headers = curl_slist_append(NULL, "Accept: application/json");
	char *token = k->token_file ? slurp(k->token_file) : NULL;
	if (token)
		trim(token);
	const char *t = token ? token : k->token;
	if (t && *t) {
		char *h = kube_fmt("Authorization: Bearer %s", t);
		*headers = curl_slist_append(*headers, h);
		free(h);
	}
	free(token);
	if (content_type) {
		char *h = kube_fmt("Content-Type: %s", content_type);
		*headers = curl_slist_append(*headers, h);
		free(h);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
	return c;
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	case CURLE_WRITE_ERROR: return -EFBIG;
	case CURLE_ABORTED_BY_CALLBACK: return -ECANCELED;
	default: return -EIO;
	}
}

int kube_request(const struct kube *k, const char *method, const char *path,
		 const json_t *body, const char *content_type, json_t **out)
{
	*out = NULL;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (body && !text)
		return -ENOMEM;
	struct curl_slist *headers = NULL;
	CURL *c = open_handle(k, method, path,
			      body ? (content_type ? content_type : "application/json") : NULL,
			      &headers);
	if (!c) {
		free(text);
		return -ENOMEM;
	}
	struct body b = { 0 };
	if (text)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)KUBE_TIMEOUT_MS);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	free(text);
	int r;
	if (rc != CURLE_OK) {
		r = b.overflow ? -EFBIG : curl_errno(rc);
	} else {
		r = (int)status;
		if (b.len)
			*out = json_loadb(b.data, b.len, 0, NULL);
	}
	free(b.data);
	return r;
}

const char *kube_status_message(const json_t *answer)
{
	const char *m = json_string_value(json_object_get(answer, "message"));
	return m ? m : "no message from the API server";
}

/* ---- watches --------------------------------------------------------- */

struct watch {
	struct body line;
	kube_event_fn fn;
	void *ctx;
	volatile bool *stop;
	int result;
};

static int deliver(struct watch *w, const char *text, size_t len)
{
	json_t *ev = json_loadb(text, len, 0, NULL);
	if (!ev)
		return -EPROTO;
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	int r = type && obj ? w->fn(w->ctx, type, obj) : -EPROTO;
	json_decref(ev);
	return r;
}

static size_t watch_data(char *p, size_t size, size_t n, void *ud)
{
	struct watch *w = ud;
	size_t len = size * n;
	for (size_t i = 0; i < len;) {
		char *nl = memchr(p + i, '\n', len - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : len - i;
		if (collect(p + i, 1, take, &w->line) != take) {
			w->result = -EFBIG;
			return 0;
		}
		i += take;
		if (nl) {
			i++;
			if (w->line.len) {
				int r = deliver(w, w->line.data, w->line.len);
				w->line.len = 0;
				if (r) {
					w->result = r;
					return 0;
				}
			}
		}
	}
	return len;
}

static int watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct watch *w = ud;
	return w->stop && *w->stop ? 1 : 0;
}

int kube_watch(const struct kube *k, const char *path, kube_event_fn fn, void *ctx,
	       volatile bool *stop, int *http)
{
	struct curl_slist *headers = NULL;
	*http = 0;
	CURL *c = open_handle(k, "GET", path, NULL, &headers);
	if (!c)
		return -ENOMEM;
	struct watch w = { .fn = fn, .ctx = ctx, .stop = stop };
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
	/* a watch that says nothing (not even a bookmark) for this long is dead */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 600L);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	*http = (int)status;
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (w.result == 0 && rc == CURLE_OK && w.line.len && status == 200)
		w.result = deliver(&w, w.line.data, w.line.len);
	free(w.line.data);
	if (w.result)
		return w.result;
	if (rc != CURLE_OK)
		return stop && *stop ? 0 : curl_errno(rc);
	return 0;
}

/* ---- helpers --------------------------------------------------------- */

int kube_path(char *buf, size_t size, const struct kube_kind *kind, const char *ns,
	      const char *name, const char *sub)
{
	const char *root = strchr(kind->group_version, '/') ? "/apis/" : "/api/";
	int n = snprintf(buf, size, "%s%s%s%s/%s%s%s%s%s", root, kind->group_version,
			 ns ? "/namespaces/" : "", ns ? ns : "", kind->plural, name ? "/" : "",
			 name ? name : "", sub ? "/" : "", sub ? sub : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kube_patch(const struct kube *k, const struct kube_kind *kind, const char *ns,
	       const char *name, const char *sub, const json_t *patch, json_t **out)
{
	char path[1024];
	*out = NULL;
	if (kube_path(path, sizeof(path), kind, ns, name, sub) < 0)
		return -ENAMETOOLONG;
	return kube_request(k, "PATCH", path, patch, "application/merge-patch+json", out);
}

int kube_create(const struct kube *k, const struct kube_kind *kind, const char *ns,
		const json_t *obj, json_t **out)
{
	char path[1024];
	*out = NULL;
	if (kube_path(path, sizeof(path), kind, ns, NULL, NULL) < 0)
		return -ENAMETOOLONG;
	return kube_request(k, "POST", path, obj, NULL, out);
}

int kube_get(const struct kube *k, const struct kube_kind *kind, const char *ns,
	     const char *name, json_t **out)
{
	char path[1024];
	*out = NULL;
	if (kube_path(path, sizeof(path), kind, ns, name, NULL) < 0)
		return -ENAMETOOLONG;
	json_t *ans = NULL;
	int st = kube_request(k, "GET", path, NULL, NULL, &ans);
	if (st == 200 && ans) {
		*out = ans;
		return 0;
	}
	json_decref(ans);
	if (st == 404)
		return -ENOENT;
	return st < 0 ? st : -EPROTO;
}

void kube_time(char *buf, size_t size, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

long long kube_parse_time(const char *s)
{
	struct tm tm = { 0 };
	if (!s)
		return -1;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	long long off = 0;
	if (*end == '+' || *end == '-') {
		int h, m;
		if (sscanf(end + 1, "%2d:%2d", &h, &m) != 2)
			return -1;
		off = (h * 3600LL + m * 60LL) * (*end == '-' ? -1 : 1);
	} else if (*end != 'Z' && *end != 'z') {
		return -1;
	}
	return (long long)timegm(&tm) - off;
}
