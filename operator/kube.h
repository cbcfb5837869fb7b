/*
 * kube.h - a small Kubernetes API client: configuration (in-cluster or a
 * kubeconfig), JSON requests, and watches, over HTTPS with libcurl.
 *
 * One struct kube per process; it is read-only after kube_load, so several
 * threads may use it at once (each request uses its own curl handle).
 * Ownership: kube_request and kube_get return new json_t references in
 * *out that the caller frees; bodies passed in are borrowed.
 */
#ifndef OP_KUBE_H
#define OP_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct kube {
	char *server;       /* https://host:port, no trailing slash */
	char *token;        /* bearer token (from the kubeconfig), or NULL */
	char *token_file;   /* bearer token re-read on every request (projected tokens rotate) */
	char *ca_file;      /* CA bundle path, or NULL */
	char *ca_pem;       /* CA bundle contents, or NULL */
	char *cert_pem;     /* client certificate (PEM), or NULL */
	char *key_pem;      /* client key (PEM), or NULL */
	bool insecure;      /* insecure-skip-tls-verify */
	char *namespace;    /* the default namespace */
	char *source;       /* where the configuration came from, for messages */
};

/*
 * Load the configuration.  kubeconfig == NULL: $KUBECONFIG, else the
 * in-cluster service account when KUBERNETES_SERVICE_HOST is set, else
 * ~/.kube/config.  "in-cluster" forces the service account.  Returns 0, or
 * -errno with *why (malloc'ed) saying what is wrong.
 */
int kube_load(struct kube *k, const char *kubeconfig, char **why);
void kube_release(struct kube *k);

/* Process-wide set-up; call once before any thread starts. */
int kube_global_init(void);

/* Bounds: the API server's answers are capped, requests time out. */
#define KUBE_MAX_BODY (32u << 20)
#define KUBE_TIMEOUT_MS 30000

/*
 * One request.  body (borrowed) is sent as JSON with content_type (NULL:
 * application/json).  Returns the HTTP status (>= 100) with *out set to the
 * parsed answer (a new reference, NULL when the body is empty or not JSON),
 * or -errno when no answer came (connection, TLS, timeout), with *out NULL.
 */
int kube_request(const struct kube *k, const char *method, const char *path,
		 const json_t *body, const char *content_type, json_t **out);

/* The message of a Status answer, or a generic text; never NULL. */
const char *kube_status_message(const json_t *answer);

/*
 * Watch path (a list URL with ?watch=1&... already added by the caller).
 * Calls fn for every event (type "ADDED", "MODIFIED", "DELETED",
 * "BOOKMARK", "ERROR"; obj borrowed) until fn returns non-zero, *stop
 * becomes true (checked at least every second), the server ends the stream,
 * or it fails.  Returns fn's non-zero value, 0 when the stream ended, or
 * -errno; *http gets the HTTP status when one came.
 */
typedef int (*kube_event_fn)(void *ctx, const char *type, json_t *obj);
int kube_watch(const struct kube *k, const char *path, kube_event_fn fn, void *ctx,
	       volatile bool *stop, int *http);

/* The API path of a collection or an object: "/apis/GROUP/VERSION/namespaces/NS/PLURAL[/NAME][/SUB]". */
struct kube_kind {
	const char *group_version; /* "v1" for the core group, else "group/version" */
	const char *plural;
	const char *kind;
};
extern const struct kube_kind KIND_CONNECTOR_DEFINITION, KIND_CONNECTOR, KIND_CONNECTION,
	KIND_REPLICATION, KIND_REPLICATION_OUTPUT, KIND_POD, KIND_SECRET, KIND_EVENT, KIND_LEASE;
#define AIRBYTE_API_VERSION "airbyte.pravaah.dev/v1alpha1"

/* Write the path into buf; name and sub may be NULL.  -ENAMETOOLONG when it does not fit. */
int kube_path(char *buf, size_t size, const struct kube_kind *kind, const char *ns,
	      const char *name, const char *sub);

/* Merge-patch an object (sub: NULL or "status"); returns the HTTP status or -errno, *out as kube_request. */
int kube_patch(const struct kube *k, const struct kube_kind *kind, const char *ns,
	       const char *name, const char *sub, const json_t *patch, json_t **out);
/* POST obj into its collection; returns the HTTP status (201 created) or -errno. */
int kube_create(const struct kube *k, const struct kube_kind *kind, const char *ns,
		const json_t *obj, json_t **out);

/* GET an object: 0 with *out, -ENOENT on 404, else -errno/-EPROTO with *out NULL. */
int kube_get(const struct kube *k, const struct kube_kind *kind, const char *ns,
	     const char *name, json_t **out);

/* The string at obj[a] (obj[a][b] when b is not NULL), or NULL. */
const char *kube_str(const json_t *obj, const char *a, const char *b);

/* printf into a new string (NULL when out of memory). */
char *kube_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* RFC 3339 UTC time of a Unix time in seconds, into buf (at least 21 bytes). */
void kube_time(char *buf, size_t size, long long unix_seconds);
/* Parse an RFC 3339 time ("2026-01-02T03:04:05Z", fractions and offsets allowed); -1 if bad. */
long long kube_parse_time(const char *s);

#endif
