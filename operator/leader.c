/*
 * leader.c - Lease-based leader election.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "operator/leader.h"
#include "operator/queue.h"
#include "util/log.h"

void leader_init(struct leader *l, const struct kube *k, const char *ns, const char *name,
		 const char *identity, int duration_s)
{
	memset(l, 0, sizeof(*l));
	l->k = k;
	l->ns = ns;
	l->name = name;
	l->identity = identity;
	l->duration_s = duration_s;
}

/* A Lease MicroTime: RFC 3339 with microseconds. */
static void micro_now(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06ldZ", base, (long)tv.tv_usec);
}

static const char *spec_str(const json_t *lease, const char *key)
{
	return json_string_value(json_object_get(json_object_get(lease, "spec"), key));
}

/* PUT (or POST when lease is NULL) a record with us as holder. */
static bool write_lease(struct leader *l, const json_t *lease, bool takeover)
{
	char now[40], path[512];
	micro_now(now, sizeof(now));
	json_int_t transitions = json_integer_value(
		json_object_get(json_object_get(lease, "spec"), "leaseTransitions"));
	const char *acquired = spec_str(lease, "acquireTime");
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s, s:s, s:I}}",
		"apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name,
		"namespace", l->ns, "spec", "holderIdentity", l->identity, "leaseDurationSeconds",
		l->duration_s, "acquireTime", takeover || !acquired ? now : acquired, "renewTime", now,
		"leaseTransitions", (json_int_t)(transitions + (lease && takeover ? 1 : 0)));
	const char *rv = lease ? json_string_value(json_object_get(json_object_get(lease, "metadata"),
								   "resourceVersion")) : NULL;
	if (rv)
		json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(rv));
	kube_path(path, sizeof(path), &KIND_LEASE, l->ns, lease ? l->name : NULL, NULL);
	json_t *ans = NULL;
	int st = kube_request(l->k, lease ? "PUT" : "POST", path, obj, NULL, &ans);
	json_decref(obj);
	bool ok = st == 200 || st == 201;
	if (!ok && st != 409)
		log_warn("cannot write the lease '%s': %s", l->name,
			 st < 0 ? strerror(-st) : kube_status_message(ans));
	json_decref(ans);
	return ok;
}

bool leader_step(struct leader *l)
{
	json_t *lease = NULL;
	int64_t now = mono_ms();
	int r = kube_get(l->k, &KIND_LEASE, l->ns, l->name, &lease);
	bool was = l->held;
	if (r == -ENOENT) {
		l->held = write_lease(l, NULL, true);
	} else if (r < 0) {
		/* cannot tell: keep leading only within the lease we last renewed */
		l->held = l->held && now - l->renewed_at < l->duration_s * 1000L;
	} else {
		const char *holder = spec_str(lease, "holderIdentity");
		const char *renew = spec_str(lease, "renewTime");
		char seen[256];
		snprintf(seen, sizeof(seen), "%s|%s", holder ? holder : "", renew ? renew : "");
		if (strcmp(seen, l->seen)) {
			snprintf(l->seen, sizeof(l->seen), "%s", seen);
			l->seen_at = now;
		}
		json_int_t dur = json_integer_value(json_object_get(json_object_get(lease, "spec"),
								    "leaseDurationSeconds"));
		if (dur <= 0)
			dur = l->duration_s;
		bool mine = holder && !strcmp(holder, l->identity);
		bool free = !holder || !*holder || now - l->seen_at >= dur * 1000;
		if (mine || free)
			l->held = write_lease(l, lease, !mine);
		else
			l->held = false;
	}
	json_decref(lease);
	if (l->held)
		l->renewed_at = now;
	if (l->held != was)
		log_info("%s the lease '%s/%s' as '%s'", l->held ? "acquired" : "lost", l->ns,
			 l->name, l->identity);
	return l->held;
}

void leader_release(struct leader *l)
{
	if (!l->held)
		return;
	json_t *lease = NULL;
	if (kube_get(l->k, &KIND_LEASE, l->ns, l->name, &lease) == 0) {
		const char *holder = spec_str(lease, "holderIdentity");
		if (holder && !strcmp(holder, l->identity)) {
			json_t *spec = json_object_get(lease, "spec");
			json_object_set_new(spec, "holderIdentity", json_string(""));
			json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
			char path[512];
			json_t *ans = NULL;
			kube_path(path, sizeof(path), &KIND_LEASE, l->ns, l->name, NULL);
			kube_request(l->k, "PUT", path, lease, NULL, &ans);
			json_decref(ans);
			log_info("released the lease '%s/%s'", l->ns, l->name);
		}
	}
	json_decref(lease);
	l->held = false;
}
