/*
 * controller.c - watches, the worker, patches, events and metrics.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "operator/controller.h"
#include "util/log.h"

/* ---- watches --------------------------------------------------------- */

struct watcher {
	struct ctl *c;
	const struct kube_kind *kind;
	const char *selector;   /* label selector, or NULL */
	char rv[64];            /* resourceVersion to watch from */
};

static struct watcher watchers[5];

/* The queue key an object's change leads to, or 0 when none. */
static int key_of(const struct watcher *w, const json_t *obj, char *key, size_t size)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	if (!ns || !name)
		return 0;
	if (w->kind == &KIND_POD) {
		name = json_string_value(json_object_get(json_object_get(md, "labels"), LABEL_REPLICATION));
		if (!name)
			return 0;
	} else if (w->kind == &KIND_REPLICATION_OUTPUT) {
		name = json_string_value(json_object_get(
			json_object_get(json_object_get(obj, "spec"), "replicationRef"), "name"));
		if (!name)
			return 0;
	}
	const char *type = w->kind == &KIND_CONNECTION ? "connection" : "replication";
	snprintf(key, size, "%s/%s/%s", type, ns, name);
	return 1;
}

static void enqueue(struct watcher *w, const json_t *obj)
{
	char key[600];
	if (key_of(w, obj, key, sizeof(key)))
		queue_add(&w->c->q, key);
}

/* List everything (queueing every key) and remember the list's resourceVersion. */
static int relist(struct watcher *w)
{
	char path[1200], base[1024];
	kube_path(base, sizeof(base), w->kind, w->c->ns, NULL, NULL);
	snprintf(path, sizeof(path), "%s?limit=500%s%s", base, w->selector ? "&labelSelector=" : "",
		 w->selector ? w->selector : "");
	char cont[2048] = "";
	for (;;) {
		char page[4096];
		snprintf(page, sizeof(page), "%s%s%s", path, *cont ? "&continue=" : "", cont);
		json_t *ans = NULL;
		int st = kube_request(w->c->k, "GET", page, NULL, NULL, &ans);
		if (st != 200) {
			log_warn("cannot list %s: %s", w->kind->plural,
				 st < 0 ? strerror(-st) : kube_status_message(ans));
			json_decref(ans);
			atomic_fetch_add(&w->c->m.api_errors, 1);
			return -EIO;
		}
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(ans, "items"), i, it) {
			/* list items carry no namespace-less surprises, but no kind either */
			enqueue(w, it);
		}
		const json_t *meta = json_object_get(ans, "metadata");
		const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
		const char *next = json_string_value(json_object_get(meta, "continue"));
		snprintf(w->rv, sizeof(w->rv), "%s", rv ? rv : "");
		snprintf(cont, sizeof(cont), "%s", next ? next : "");
		json_decref(ans);
		if (!*cont)
			break;
	}
	atomic_fetch_add(&w->c->m.watch_relists, 1);
	return 0;
}

#define GONE 410

static int on_event(void *ctx, const char *type, json_t *obj)
{
	struct watcher *w = ctx;
	atomic_fetch_add(&w->c->m.watch_events, 1);
	if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		log_info("watch of %s: %s (%lld)", w->kind->plural, kube_status_message(obj),
			 (long long)code);
		return code == GONE ? GONE : -EPROTO;
	}
	const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
							   "resourceVersion"));
	if (rv)
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
	if (strcmp(type, "BOOKMARK"))
		enqueue(w, obj);
	/* a Replication deleted mid-run leaves its Connection taken: look at it */
	if (w->kind == &KIND_REPLICATION && !strcmp(type, "DELETED")) {
		const json_t *ref = json_object_get(json_object_get(obj, "spec"), "connectionRef");
		const char *cname = json_string_value(json_object_get(ref, "name"));
		const char *cns = json_string_value(json_object_get(ref, "namespace"));
		const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
		if (cname && ns) {
			char key[600];
			snprintf(key, sizeof(key), "connection/%s/%s", cns && *cns ? cns : ns, cname);
			queue_add(&w->c->q, key);
		}
	}
	return 0;
}

static void nap(struct ctl *c, int ms)
{
	for (int t = 0; t < ms && !c->stop; t += 100)
		usleep(100 * 1000);
}

static void *watch_loop(void *arg)
{
	struct watcher *w = arg;
	struct ctl *c = w->c;
	int backoff = 500;
	bool need_list = true;
	while (!c->stop) {
		if (need_list) {
			if (relist(w) < 0) {
				nap(c, backoff);
				backoff = backoff < 30000 ? backoff * 2 : 30000;
				continue;
			}
			need_list = false;
			if (atomic_fetch_add(&c->listed, 1) + 1 == c->n_watchers)
				atomic_store(&c->synced, true);
		}
		char base[1024], path[1400];
		kube_path(base, sizeof(base), w->kind, c->ns, NULL, NULL);
		/* the server ends a watch after timeoutSeconds: then we go on from rv */
		snprintf(path, sizeof(path),
			 "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s%s%s",
			 base, 240 + (int)(random() % 60), w->rv, w->selector ? "&labelSelector=" : "",
			 w->selector ? w->selector : "");
		int http = 0;
		int r = kube_watch(c->k, path, on_event, w, &c->stop, &http);
		if (c->stop)
			break;
		if (r == GONE || http == GONE) {
			log_info("watch of %s expired (410 Gone): listing again", w->kind->plural);
			need_list = true;
			continue;
		}
		if (r < 0 || (http && http != 200)) {
			atomic_fetch_add(&c->m.watch_restarts, 1);
			log_warn("watch of %s failed (%s, HTTP %d): reconnecting in %d ms",
				 w->kind->plural, r < 0 ? strerror(-r) : "stream ended", http, backoff);
			nap(c, backoff);
			backoff = backoff < 30000 ? backoff * 2 : 30000;
			continue;
		}
		backoff = 500; /* a clean end after timeoutSeconds */
	}
	return NULL;
}

/* ---- the worker ------------------------------------------------------ */

static void *work_loop(void *arg)
{
	struct ctl *c = arg;
	char *key;
	while ((key = queue_get(&c->q))) {
		char type[32], ns[256], name[300];
		long r = 0;
		if (sscanf(key, "%31[^/]/%255[^/]/%299s", type, ns, name) == 3) {
			atomic_fetch_add(&c->m.reconciles, 1);
			r = !strcmp(type, "connection") ? reconcile_connection(c, ns, name) :
							  reconcile_replication(c, ns, name);
		}
		if (r < 0) {
			atomic_fetch_add(&c->m.reconcile_errors, 1);
			long long d = queue_retry(&c->q, key);
			log_debug("%s: retry in %lld ms", key, d);
		} else {
			queue_forget(&c->q, key);
			if (r > 0)
				queue_add_after(&c->q, key, r);
		}
		queue_done(&c->q, key);
		free(key);
	}
	return NULL;
}

int ctl_start(struct ctl *c)
{
	static const struct { const struct kube_kind *kind; const char *selector; } what[] = {
		{ &KIND_REPLICATION, NULL },
		{ &KIND_CONNECTION, NULL },
		{ &KIND_POD, LABEL_MANAGED_BY "%3D" OPERATOR_NAME },
		{ &KIND_REPLICATION_OUTPUT, NULL },
	};
	c->stop = false;
	atomic_store(&c->synced, false);
	atomic_store(&c->listed, 0);
	/* the queue lives as long as the process: /metrics reads it any time */
	if (!c->q_ready) {
		queue_init(&c->q, 500, 60000);
		c->q_ready = true;
	} else {
		queue_reset(&c->q);
	}
	c->n_watchers = (int)(sizeof(what) / sizeof(what[0]));
	if (pthread_create(&c->worker, NULL, work_loop, c))
		return -EAGAIN;
	for (int i = 0; i < c->n_watchers; i++) {
		watchers[i] = (struct watcher){ .c = c, .kind = what[i].kind, .selector = what[i].selector };
		if (pthread_create(&c->watchers[i], NULL, watch_loop, &watchers[i]))
			return -EAGAIN;
	}
	return 0;
}

void ctl_stop(struct ctl *c)
{
	c->stop = true;
	queue_shutdown(&c->q);
	pthread_join(c->worker, NULL);
	for (int i = 0; i < c->n_watchers; i++)
		pthread_join(c->watchers[i], NULL);
	c->n_watchers = 0;
}

/* ---- patches and events ---------------------------------------------- */

int ctl_patch(struct ctl *c, const struct kube_kind *kind, const char *ns, const char *name,
	      const char *sub, json_t *patch)
{
	json_t *ans = NULL;
	int st = kube_patch(c->k, kind, ns, name, sub, patch, &ans);
	int r = 0;
	if (st == 409) {
		atomic_fetch_add(&c->m.conflicts, 1);
		r = -EAGAIN;
	} else if (st == 404) {
		r = -ENOENT;
	} else if (st != 200) {
		atomic_fetch_add(&c->m.api_errors, 1);
		char *text = json_dumps(patch, JSON_COMPACT);
		log_warn("cannot patch %s '%s'%s%s: %s", kind->kind, name, sub ? " " : "",
			 sub ? sub : "", st < 0 ? strerror(-st) : kube_status_message(ans));
		log_debug("the patch was: %s", text ? text : "?");
		free(text);
		r = st < 0 ? st : -EPROTO;
	}
	json_decref(ans);
	return r;
}

void ctl_event(struct ctl *c, const json_t *obj, const char *type, const char *reason,
	       const char *fmt, ...)
{
	char msg[1024], now[32], prefix[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kube_time(now, sizeof(now), (long long)time(NULL));
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	snprintf(prefix, sizeof(prefix), "%s.", json_string_value(json_object_get(md, "name")));
	json_t *ev = json_pack(
		"{s:s, s:s, s:{s:s, s:s?}, s:{s:s?, s:s?, s:s?, s:s?, s:s?}, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s}",
		"apiVersion", "v1", "kind", "Event", "metadata", "generateName", prefix, "namespace",
		ns, "involvedObject", "apiVersion", json_string_value(json_object_get(obj, "apiVersion")),
		"kind", json_string_value(json_object_get(obj, "kind")), "name",
		json_string_value(json_object_get(md, "name")), "namespace", ns, "uid",
		json_string_value(json_object_get(md, "uid")), "reason", reason, "message", msg, "type",
		type, "source", "component", OPERATOR_NAME, "firstTimestamp", now, "lastTimestamp",
		now, "count", 1, "reportingComponent", OPERATOR_NAME);
	json_t *ans = NULL;
	int st = ev ? kube_create(c->k, &KIND_EVENT, ns, ev, &ans) : -ENOMEM;
	if (st != 201)
		atomic_fetch_add(&c->m.api_errors, 1);
	log_info("%s %s '%s': %s", reason, json_string_value(json_object_get(obj, "kind")),
		 json_string_value(json_object_get(md, "name")), msg);
	json_decref(ans);
	json_decref(ev);
}

/* ---- metrics --------------------------------------------------------- */

char *ctl_metrics_text(struct ctl *c, bool leader)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
#define COUNTER(name, help, v) \
	fprintf(f, "# HELP airbyte_operator_" name " " help "\n# TYPE airbyte_operator_" name " counter\nairbyte_operator_" name " %lu\n", (unsigned long)(v))
#define GAUGE(name, help, v) \
	fprintf(f, "# HELP airbyte_operator_" name " " help "\n# TYPE airbyte_operator_" name " gauge\nairbyte_operator_" name " %ld\n", (long)(v))
	GAUGE("leader", "1 while this operator holds the lease.", leader);
	GAUGE("queue_depth", "Keys waiting in the work queue.", c->q_ready ? queue_len(&c->q) : 0);
	COUNTER("reconciles_total", "Reconciles run.", atomic_load(&c->m.reconciles));
	COUNTER("reconcile_errors_total", "Reconciles that will be retried with backoff.", atomic_load(&c->m.reconcile_errors));
	COUNTER("conflicts_total", "409 Conflict answers (re-read and retried).", atomic_load(&c->m.conflicts));
	COUNTER("watch_events_total", "Watch events received.", atomic_load(&c->m.watch_events));
	COUNTER("watch_restarts_total", "Watches reconnected after an error.", atomic_load(&c->m.watch_restarts));
	COUNTER("watch_relists_total", "Full lists (start and 410 Gone).", atomic_load(&c->m.watch_relists));
	COUNTER("pods_created_total", "Replication pods created.", atomic_load(&c->m.pods_created));
	COUNTER("replications_created_total", "Replications created by schedules and triggers.", atomic_load(&c->m.replications_created));
	COUNTER("runs_succeeded_total", "Replications that succeeded.", atomic_load(&c->m.runs_succeeded));
	COUNTER("runs_failed_total", "Replications that failed.", atomic_load(&c->m.runs_failed));
	COUNTER("api_errors_total", "API requests that failed.", atomic_load(&c->m.api_errors));
#undef COUNTER
#undef GAUGE
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
