/*
 * reconcile.c - what a Replication or a Connection needs done.
 *
 * A Replication is one run.  Its life: Pending (waiting for its Connection
 * to be free, or for the Pod to start) -> Running -> Succeeded | Failed.
 * A Connection runs one Replication at a time: the Replication that starts
 * writes its name into Connection.status.active with the Connection's
 * resourceVersion as precondition, so two operators (or two workers) can
 * never both start one (the loser gets 409 and tries again).
 * The committed state of a Connection lives in the ReplicationOutput named
 * after it; the state-sync container of the running Pod keeps it current,
 * and the next run's Secret carries it into the Pod.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "operator/controller.h"
#include "operator/decide.h"
#include "util/log.h"

#define POLL_WAITING_MS 3000

static void now_str(char *buf, size_t size)
{
	kube_time(buf, size, (long long)time(NULL));
}

/* The namespace of a reference: its own, else the referrer's. */
static const char *ref_ns(const json_t *ref, const char *dflt)
{
	const char *ns = json_string_value(json_object_get(ref, "namespace"));
	return ns && *ns ? ns : dflt;
}

/* ---- Replication status ---------------------------------------------- */

/*
 * Conditions: one per phase; the current one True, the others False.  A
 * condition keeps its lastTransitionTime while its status does not change.
 */
static json_t *conditions(const json_t *status, const char *phase, const char *reason,
			  const char *message)
{
	static const char *types[] = { "Pending", "Running", "Succeeded", "Failed" };
	json_t *out = json_array();
	char now[32];
	now_str(now, sizeof(now));
	for (size_t t = 0; t < 4; t++) {
		const json_t *old = NULL, *c;
		size_t i;
		json_array_foreach(json_object_get(status, "conditions"), i, c)
			if (!strcmp(kube_str(c, "type", NULL) ? kube_str(c, "type", NULL) : "", types[t]))
				old = c;
		bool on = !strcmp(types[t], phase);
		const char *was = old ? kube_str(old, "status", NULL) : NULL;
		bool same = was && !strcmp(was, on ? "True" : "False");
		if (!on && !old)
			continue;
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", types[t],
			"status", on ? "True" : "False",
			"reason", on ? reason : (kube_str(old, "reason", NULL) ? kube_str(old, "reason", NULL) : types[t]),
			"message", on ? message : (kube_str(old, "message", NULL) ? kube_str(old, "message", NULL) : ""),
			"lastTransitionTime", same && kube_str(old, "lastTransitionTime", NULL) ?
				kube_str(old, "lastTransitionTime", NULL) : now));
	}
	return out;
}

/* Set status.state (+ reason, message, conditions) when something changed. */
static int set_phase(struct ctl *c, const json_t *repl, const char *phase, const char *reason,
		     const char *message, json_t *extra)
{
	const json_t *st = json_object_get(repl, "status");
	const char *ns = kube_str(repl, "metadata", "namespace"), *name = kube_str(repl, "metadata", "name");
	const char *old = kube_str(st, "state", NULL), *old_reason = kube_str(st, "reason", NULL);
	const char *old_msg = kube_str(st, "message", NULL);
	if (!extra && old && !strcmp(old, phase) && old_reason && !strcmp(old_reason, reason) &&
	    old_msg && !strcmp(old_msg, message))
		return 0;
	json_t *s = extra ? extra : json_object();
	json_object_set_new(s, "state", json_string(phase));
	json_object_set_new(s, "status", json_string(message));
	json_object_set_new(s, "reason", json_string(reason));
	json_object_set_new(s, "message", json_string(message));
	json_object_set_new(s, "conditions", conditions(st, phase, reason, message));
	json_t *patch = json_pack("{s:o}", "status", s);
	int r = ctl_patch(c, &KIND_REPLICATION, ns, name, "status", patch);
	json_decref(patch);
	if (r == 0 && (!old || strcmp(old, phase)))
		ctl_event(c, repl, !strcmp(phase, "Failed") ? "Warning" : "Normal", phase, "%s%s%s",
			  reason, *message ? ": " : "", message);
	return r;
}

/* Something the run needs is not there (yet): Pending, look again later. */
static long missing(struct ctl *c, const json_t *repl, const char *reason, const char *what)
{
	char msg[500];
	snprintf(msg, sizeof(msg), "%s not found", what);
	set_phase(c, repl, "Pending", reason, msg, NULL);
	return 10000;
}

/* ---- the Connection's lock ------------------------------------------- */

/*
 * Take the Connection for this run: status.active = name, with the
 * Connection's resourceVersion as precondition.  0 taken (or already
 * ours), -EBUSY held by another run that is still going, -EAGAIN lost a
 * race (re-read and try again).
 */
static int take_connection(struct ctl *c, const json_t *conn, const char *name, const char *ns,
			   char *holder, size_t holder_size)
{
	const json_t *st = json_object_get(conn, "status");
	const char *active = kube_str(st, "active", NULL);
	if (active && !strcmp(active, name))
		return 0;
	if (active && *active) {
		json_t *other = NULL;
		int r = kube_get(c->k, &KIND_REPLICATION, ns, active, &other);
		bool running = r == 0 && !phase_terminal(kube_str(other, "status", "state"));
		json_decref(other);
		if (r < 0 && r != -ENOENT)
			return r;
		if (running) {
			snprintf(holder, holder_size, "%s", active);
			return -EBUSY;
		}
	}
	json_t *patch = json_pack("{s:{s:s}, s:{s:s, s:s}}", "metadata", "resourceVersion",
				  kube_str(conn, "metadata", "resourceVersion"), "status", "active", name,
				  "state", "Running");
	int r = ctl_patch(c, &KIND_CONNECTION, ns, kube_str(conn, "metadata", "name"), "status", patch);
	json_decref(patch);
	return r;
}

/* Give the Connection back after a run ends; remember the run. */
static int release_connection(struct ctl *c, const char *ns, const char *conn_name,
			      const char *name, const char *phase)
{
	json_t *conn = NULL;
	int r = kube_get(c->k, &KIND_CONNECTION, ns, conn_name, &conn);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	const char *active = kube_str(json_object_get(conn, "status"), "active", NULL);
	const char *last = kube_str(json_object_get(conn, "status"), "lastReplication", "name");
	if ((!active || strcmp(active, name)) && last && !strcmp(last, name)) {
		json_decref(conn);
		return 0; /* done already */
	}
	json_t *st = json_pack("{s:{s:s, s:s}, s:s}", "lastReplication", "name", name,
			       "namespace", ns, "state", phase);
	if (active && !strcmp(active, name))
		json_object_set_new(st, "active", json_null());
	json_t *patch = json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion",
				  kube_str(conn, "metadata", "resourceVersion"), "status", st);
	r = ctl_patch(c, &KIND_CONNECTION, ns, conn_name, "status", patch);
	json_decref(patch);
	json_decref(conn);
	return r;
}

/* ---- the ReplicationOutput (the Connection's committed state) ---------- */

#define STATE_KIND "AirbyteState"

/*
 * Make sure the Connection's ReplicationOutput exists and points at this
 * run; *state gets its committed state document (new reference) or NULL.
 */
static int prepare_output(struct ctl *c, const json_t *conn, const char *ns, const char *name,
			  json_t **state)
{
	const char *cname = kube_str(conn, "metadata", "name");
	json_t *out = NULL;
	*state = NULL;
	int r = kube_get(c->k, &KIND_REPLICATION_OUTPUT, ns, cname, &out);
	if (r == -ENOENT) {
		json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:[o]}, s:{s:{s:s, s:s}}}",
			"apiVersion", AIRBYTE_API_VERSION, "kind", "ReplicationOutput", "metadata",
			"name", cname, "namespace", ns, "labels", LABEL_CONNECTION, cname,
			"ownerReferences", podspec_owner_ref(conn, 0), "spec", "replicationRef",
			"name", name, "namespace", ns);
		json_t *ans = NULL;
		int st = kube_create(c->k, &KIND_REPLICATION_OUTPUT, ns, obj, &ans);
		json_decref(obj);
		if (st != 201 && st != 409) {
			log_warn("cannot create ReplicationOutput '%s': %s", cname,
				 st < 0 ? strerror(-st) : kube_status_message(ans));
			json_decref(ans);
			return st < 0 ? st : -EPROTO;
		}
		json_decref(ans);
		/* the seed's schema requires status.state: an empty state document */
		json_t *patch = json_pack("{s:{s:{s:s, s:s, s:n}, s:s, s:s}}", "status", "state",
					  "apiVersion", AIRBYTE_API_VERSION, "kind", STATE_KIND,
					  "data", "status", "pending", "replication", name);
		r = ctl_patch(c, &KIND_REPLICATION_OUTPUT, ns, cname, "status", patch);
		json_decref(patch);
		return r;
	}
	if (r < 0)
		return r;
	json_t *data = json_object_get(json_object_get(json_object_get(out, "status"), "state"), "data");
	if (data && !json_is_null(data))
		*state = json_incref(data);
	r = 0;
	if (strcmp(kube_str(json_object_get(out, "spec"), "replicationRef", "name") ?: "", name)) {
		json_t *patch = json_pack("{s:{s:{s:s, s:s}}}", "spec", "replicationRef", "name",
					  name, "namespace", ns);
		r = ctl_patch(c, &KIND_REPLICATION_OUTPUT, ns, cname, NULL, patch);
		json_decref(patch);
	}
	json_decref(out);
	if (r < 0) {
		json_decref(*state);
		*state = NULL;
	}
	return r;
}

/* The run record the state-sync container copied from the driver, if it is this run's. */
static json_t *run_record(struct ctl *c, const char *ns, const char *conn_name, const char *name)
{
	json_t *out = NULL;
	if (kube_get(c->k, &KIND_REPLICATION_OUTPUT, ns, conn_name, &out) < 0)
		return NULL;
	json_t *st = json_object_get(out, "status");
	json_t *run = NULL;
	if (!strcmp(kube_str(st, "replication", NULL) ?: "", name))
		run = json_incref(json_object_get(st, "run"));
	json_decref(out);
	return run;
}

/* Counts and timings of the run record into a status object. */
static void add_counts(json_t *s, const json_t *run)
{
	if (!run)
		return;
	json_t *v;
	if ((v = json_object_get(run, "records_committed")))
		json_object_set(s, "records", v);
	if ((v = json_object_get(run, "bytes_emitted")))
		json_object_set(s, "bytes", v);
	if ((v = json_object_get(run, "streams")) && json_is_array(v))
		json_object_set(s, "streams", v);
}

/* ---- reconcile a Replication ----------------------------------------- */

static void delete_object(struct ctl *c, const struct kube_kind *kind, const char *ns,
			  const char *name)
{
	char path[1024];
	json_t *ans = NULL;
	if (kube_path(path, sizeof(path), kind, ns, name, NULL) < 0)
		return;
	int st = kube_request(c->k, "DELETE", path, NULL, NULL, &ans);
	if (st != 200 && st != 202 && st != 404)
		atomic_fetch_add(&c->m.api_errors, 1);
	json_decref(ans);
}

/* The outcome is known: the final status (the Pod may still be ending). */
static int finish(struct ctl *c, const json_t *repl, const char *conn_ns, const char *conn_name,
		  const struct outcome *o)
{
	const char *name = kube_str(repl, "metadata", "name");
	const char *phase = phase_name(o->phase);
	char now[32], reason[64], message[600];
	now_str(now, sizeof(now));
	snprintf(reason, sizeof(reason), "%s", o->reason);
	snprintf(message, sizeof(message), "%s", *o->message ? o->message :
		 o->phase == PHASE_SUCCEEDED ? "the replication succeeded" : "the replication failed");
	json_t *run = run_record(c, conn_ns, conn_name, name);
	/* the driver's own words are better than an exit code */
	const char *why = kube_str(run, "failure_reason", NULL);
	if (o->phase == PHASE_FAILED && why)
		snprintf(message, sizeof(message), "%s", why);
	json_t *extra = json_pack("{s:s}", "completionTime", now);
	add_counts(extra, run);
	json_decref(run);
	int r = set_phase(c, repl, phase, reason, message, extra);
	if (r < 0)
		return r;
	atomic_fetch_add(o->phase == PHASE_SUCCEEDED ? &c->m.runs_succeeded : &c->m.runs_failed, 1);
	return 0;
}

static bool pod_ended(const json_t *pod)
{
	const char *p = kube_str(json_object_get(pod, "status"), "phase", NULL);
	return p && (!strcmp(p, "Succeeded") || !strcmp(p, "Failed"));
}

/*
 * After the outcome: the Connection stays taken until the Pod has ended,
 * so that its state-sync container can never write over the next run's
 * state.  A Pod that does not end by itself (a killed destination leaves
 * state-sync waiting for a run record that never comes; an image that
 * cannot be pulled) is deleted --stuck-grace seconds after completionTime:
 * state-sync syncs once more on its SIGTERM.  Then the Secret goes and the
 * Connection is given back.
 */
static long wind_up(struct ctl *c, const json_t *repl, const json_t *pod, const char *conn_ns,
		    const char *conn_name)
{
	const char *ns = kube_str(repl, "metadata", "namespace"), *name = kube_str(repl, "metadata", "name");
	const json_t *st = json_object_get(repl, "status");
	if (pod && !pod_ended(pod)) {
		long long done = kube_parse_time(kube_str(st, "completionTime", NULL));
		long long left = done < 0 ? 0 : done + c->stuck_grace_s - (long long)time(NULL);
		if (left > 0)
			return left * 1000 + 100;
		if (!json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp")) {
			log_warn("replication '%s' ended %s but its pod still runs: deleting it",
				 name, kube_str(st, "completionTime", NULL));
			delete_object(c, &KIND_POD, ns, name);
		}
		return 2000;
	}
	char sname[300];
	podspec_secret_name(sname, sizeof(sname), name);
	delete_object(c, &KIND_SECRET, ns, sname);
	return conn_name ? release_connection(c, conn_ns, conn_name, name, kube_str(st, "state", NULL)) : 0;
}

/* Everything the Pod needs; -ENOENT with *missing set when something is not there yet. */
struct inputs {
	json_t *src, *dst, *src_def, *dst_def;
};

static void inputs_release(struct inputs *in)
{
	json_decref(in->src);
	json_decref(in->dst);
	json_decref(in->src_def);
	json_decref(in->dst_def);
}

static int load_connector(struct ctl *c, const json_t *ref, const char *ns, json_t **conn,
			  json_t **def, char *missing, size_t size)
{
	const char *name = kube_str(ref, "name", NULL);
	int r = name ? kube_get(c->k, &KIND_CONNECTOR, ref_ns(ref, ns), name, conn) : -ENOENT;
	if (r < 0) {
		snprintf(missing, size, "connector '%s'", name ? name : "");
		return r;
	}
	const json_t *dref = json_object_get(json_object_get(*conn, "spec"), "connectorDefinitionRef");
	const char *dname = kube_str(dref, "name", NULL);
	r = dname ? kube_get(c->k, &KIND_CONNECTOR_DEFINITION, ref_ns(dref, ns), dname, def) : -ENOENT;
	if (r < 0)
		snprintf(missing, size, "connector definition '%s'", dname ? dname : "");
	return r;
}

static long start_run(struct ctl *c, const json_t *repl, const json_t *conn, const char *ns)
{
	const char *name = kube_str(repl, "metadata", "name");
	const char *rns = kube_str(repl, "metadata", "namespace");
	const json_t *spec = json_object_get(conn, "spec");
	struct inputs in = { 0 };
	char what[400], holder[300];
	long ret = 0;
	json_t *state = NULL, *secret = NULL, *pod = NULL;

	int r = load_connector(c, json_object_get(spec, "sourceRef"), ns, &in.src, &in.src_def,
			       what, sizeof(what));
	if (r == 0)
		r = load_connector(c, json_object_get(spec, "destinationRef"), ns, &in.dst,
				   &in.dst_def, what, sizeof(what));
	if (r == -ENOENT) {
		ret = missing(c, repl, "ConnectorNotFound", what);
		goto out;
	}
	if (r < 0) {
		ret = r;
		goto out;
	}

	r = take_connection(c, conn, name, ns, holder, sizeof(holder));
	if (r == -EBUSY) {
		char msg[400];
		snprintf(msg, sizeof(msg), "waiting for replication '%s' of the same connection", holder);
		set_phase(c, repl, "Pending", "ConnectionBusy", msg, NULL);
		ret = POLL_WAITING_MS;
		goto out;
	}
	if (r < 0) {
		ret = r;
		goto out;
	}

	char output[300];
	snprintf(output, sizeof(output), "%s", kube_str(conn, "metadata", "name"));
	if ((r = prepare_output(c, conn, ns, name, &state)) < 0) {
		ret = r;
		goto out;
	}
	struct run_inputs ri = { repl, conn, in.src, in.dst, in.src_def, in.dst_def, state };
	struct pod_options po = c->pod;
	po.output_name = output;
	char *why = NULL;
	if (podspec_build(&ri, &po, &secret, &pod, &why) < 0) {
		set_phase(c, repl, "Failed", "InvalidSpec", why ? why : "cannot build the pod", NULL);
		free(why);
		struct outcome o = { .phase = PHASE_FAILED };
		release_connection(c, ns, output, name, phase_name(o.phase));
		goto out;
	}

	char path[1024];
	json_t *ans = NULL;
	int st = kube_create(c->k, &KIND_SECRET, rns, secret, &ans);
	json_decref(ans);
	ans = NULL;
	if (st == 409) { /* left from an attempt that died before the Pod: replace it */
		char sname[300];
		podspec_secret_name(sname, sizeof(sname), name);
		kube_path(path, sizeof(path), &KIND_SECRET, rns, sname, NULL);
		st = kube_request(c->k, "PUT", path, secret, NULL, &ans);
		json_decref(ans);
		ans = NULL;
	}
	if (st != 201 && st != 200) {
		log_warn("cannot create the secret of replication '%s' (HTTP %d)", name, st);
		ret = -EIO;
		goto out;
	}
	st = kube_create(c->k, &KIND_POD, rns, pod, &ans);
	if (st != 201 && st != 409) {
		char msg[600];
		snprintf(msg, sizeof(msg), "cannot create the pod: %s",
			 st < 0 ? strerror(-st) : kube_status_message(ans));
		json_decref(ans);
		set_phase(c, repl, "Pending", "PodCreateFailed", msg, NULL);
		ret = -EIO;
		goto out;
	}
	json_decref(ans);
	if (st == 201) {
		atomic_fetch_add(&c->m.pods_created, 1);
		ctl_event(c, repl, "Normal", "PodCreated", "created pod '%s'%s", name,
			  state ? " with the committed state of the connection" : "");
	}
	char now[32];
	now_str(now, sizeof(now));
	json_t *extra = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "podName", name,
				  "startTime", now, "lastJob", "name", name, "namespace", rns,
				  "lastOutput", "name", output, "namespace", ns);
	ret = set_phase(c, repl, "Pending", "PodCreated", "waiting for the pod to start", extra);
out:
	inputs_release(&in);
	json_decref(state);
	json_decref(secret);
	json_decref(pod);
	return ret;
}

long reconcile_replication(struct ctl *c, const char *ns, const char *name)
{
	json_t *repl = NULL, *conn = NULL, *pod = NULL;
	int r = kube_get(c->k, &KIND_REPLICATION, ns, name, &repl);
	if (r == -ENOENT)
		return 0; /* deleted: its Pod and Secret go with it (owner references) */
	if (r < 0)
		return r;
	long ret = 0;
	const json_t *st = json_object_get(repl, "status");
	const json_t *cref = json_object_get(json_object_get(repl, "spec"), "connectionRef");
	const char *cname = kube_str(cref, "name", NULL);
	const char *cns = ref_ns(cref, ns);
	if (phase_terminal(kube_str(st, "state", NULL))) {
		r = kube_get(c->k, &KIND_POD, ns, name, &pod);
		ret = r < 0 && r != -ENOENT ? r : wind_up(c, repl, pod, cns, cname);
		goto out;
	}
	if (!cname || (r = kube_get(c->k, &KIND_CONNECTION, cns, cname, &conn)) == -ENOENT) {
		char what[300];
		snprintf(what, sizeof(what), "connection '%s'", cname ? cname : "");
		ret = missing(c, repl, "ConnectionNotFound", what);
		goto out;
	}
	if (r < 0) {
		ret = r;
		goto out;
	}
	r = kube_get(c->k, &KIND_POD, ns, name, &pod);
	if (r < 0 && r != -ENOENT) {
		ret = r;
		goto out;
	}
	if (!pod) {
		if (kube_str(st, "podName", NULL)) {
			struct outcome o = { .phase = PHASE_FAILED };
			snprintf(o.reason, sizeof(o.reason), "PodDeleted");
			snprintf(o.message, sizeof(o.message), "the pod was deleted before the run ended");
			ret = finish(c, repl, cns, cname, &o);
			if (ret == 0)
				ret = 100; /* wind up with the new status */
		} else {
			ret = start_run(c, repl, conn, cns);
		}
		goto out;
	}

	struct outcome o;
	decide_pod_outcome(pod, &o);
	if (o.phase == PHASE_SUCCEEDED || o.phase == PHASE_FAILED) {
		ret = finish(c, repl, cns, cname, &o);
		if (ret == 0)
			ret = 100; /* wind up with the new status */
		goto out;
	}
	json_t *run = run_record(c, cns, cname, name);
	json_t *extra = NULL;
	if (run) {
		extra = json_object();
		add_counts(extra, run);
		json_decref(run);
		/* counts move on while the run goes: patch only when they changed */
		json_t *rec = json_object_get(extra, "records");
		if (json_equal(rec, json_object_get(st, "records")) &&
		    !strcmp(kube_str(st, "state", NULL) ?: "", phase_name(o.phase))) {
			json_decref(extra);
			extra = NULL;
		}
	}
	r = set_phase(c, repl, phase_name(o.phase), o.reason,
		      o.phase == PHASE_PENDING ? "waiting for the pod to start" :
		      o.connectors_done ? "the connectors are done: copying the last state" :
					  "the replication is running",
		      extra);
	ret = r < 0 ? r : 0;
out:
	json_decref(repl);
	json_decref(conn);
	json_decref(pod);
	return ret;
}

/* ---- reconcile a Connection (schedules and triggers) ------------------- */

#define TRIGGER_ANNOTATION "airbyte.pravaah.dev/trigger"

/*
 * A new Replication of conn, owned by it, named NAME-SUFFIX.  The suffix
 * is the same on a retry (the schedule slot, a hash of the trigger's
 * value), so a retry never makes a second run: 409 is fine.
 */
static int create_replication(struct ctl *c, const json_t *conn, const char *why,
			      const char *suffix)
{
	const char *ns = kube_str(conn, "metadata", "namespace"), *cname = kube_str(conn, "metadata", "name");
	char name[300];
	snprintf(name, sizeof(name), "%.230s-%s", cname, suffix);
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:{s:s}, s:[o]}, s:{s:{s:s, s:s}, s:s}}",
		"apiVersion", AIRBYTE_API_VERSION, "kind", "Replication", "metadata", "name", name,
		"namespace", ns, "labels", LABEL_CONNECTION, cname, LABEL_MANAGED_BY, OPERATOR_NAME,
		"annotations", "airbyte.pravaah.dev/created-by", why, "ownerReferences",
		podspec_owner_ref(conn, 0), "spec", "connectionRef", "name", cname, "namespace", ns,
		"name", cname);
	json_t *ans = NULL;
	int st = kube_create(c->k, &KIND_REPLICATION, ns, obj, &ans);
	json_decref(obj);
	json_decref(ans);
	if (st == 201) {
		atomic_fetch_add(&c->m.replications_created, 1);
		ctl_event(c, conn, "Normal", "ReplicationCreated", "created replication '%s' (%s)", name, why);
		return 0;
	}
	return st == 409 ? 0 : -EIO; /* 409: made already, by us a moment ago */
}

long reconcile_connection(struct ctl *c, const char *ns, const char *name)
{
	json_t *conn = NULL;
	int r = kube_get(c->k, &KIND_CONNECTION, ns, name, &conn);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	long ret = 0;
	long long now = (long long)time(NULL);
	const json_t *md = json_object_get(conn, "metadata");
	const json_t *st = json_object_get(conn, "status");

	/* a manual run on request: the trigger annotation, removed once acted on */
	const char *trigger = kube_str(json_object_get(md, "annotations"), TRIGGER_ANNOTATION, NULL);
	if (trigger) {
		/* named after the request itself: asked once, run once, however
		 * often this is retried or the Connection changes meanwhile */
		uint32_t h = 2166136261u;
		for (const char *p = trigger; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		char suffix[32];
		snprintf(suffix, sizeof(suffix), "t%08x", h);
		if ((r = create_replication(c, conn, "trigger", suffix)) < 0) {
			ret = r;
			goto out;
		}
		json_t *patch = json_pack("{s:{s:s, s:{s:n}}}", "metadata", "resourceVersion",
					  kube_str(conn, "metadata", "resourceVersion"), "annotations",
					  TRIGGER_ANNOTATION);
		r = ctl_patch(c, &KIND_CONNECTION, ns, name, NULL, patch);
		json_decref(patch);
		ret = r < 0 ? r : 0;
		goto out;
	}

	/* a run that was deleted before it ended gives the Connection back */
	const char *holder = kube_str(st, "active", NULL);
	if (holder && *holder) {
		json_t *other = NULL;
		r = kube_get(c->k, &KIND_REPLICATION, ns, holder, &other);
		json_decref(other);
		if (r == -ENOENT) {
			json_t *patch = json_pack("{s:{s:s}, s:{s:n, s:s}}", "metadata", "resourceVersion",
						  kube_str(md, "resourceVersion", NULL), "status", "active",
						  "state", "Idle");
			r = ctl_patch(c, &KIND_CONNECTION, ns, name, "status", patch);
			json_decref(patch);
			if (r < 0) {
				ret = r;
				goto out;
			}
			ret = 100; /* look again with the new resourceVersion */
			goto out;
		}
	}

	const char *why = NULL;
	const char *last_s = kube_str(st, "lastScheduleTime", NULL);
	long long last = last_s ? kube_parse_time(last_s) :
				  kube_parse_time(kube_str(md, "creationTimestamp", NULL));
	long long next = decide_next_run(conn, last, &why);
	if (why) {
		ctl_event(c, conn, "Warning", "InvalidSchedule", "%s", why);
		goto out;
	}
	if (next < 0)
		goto out; /* manual */
	if (now < next) {
		char want[32];
		kube_time(want, sizeof(want), next);
		if (strcmp(kube_str(st, "nextScheduleTime", NULL) ?: "", want)) {
			json_t *patch = json_pack("{s:{s:s, s:s}}", "status", "nextScheduleTime", want,
						  "state", kube_str(st, "state", NULL) ?: "Scheduled");
			ctl_patch(c, &KIND_CONNECTION, ns, name, "status", patch);
			json_decref(patch);
		}
		ret = (next - now) * 1000 + 50;
		goto out;
	}
	/* due: one run at a time -- a run still going skips this slot */
	const char *active = kube_str(st, "active", NULL);
	json_t *other = NULL;
	bool busy = active && *active && kube_get(c->k, &KIND_REPLICATION, ns, active, &other) == 0 &&
		    !phase_terminal(kube_str(json_object_get(other, "status"), "state", NULL));
	json_decref(other);
	if (busy)
		ctl_event(c, conn, "Normal", "ScheduleSkipped",
			  "replication '%s' is still running: skipping this run", active);
	else {
		char suffix[32];
		snprintf(suffix, sizeof(suffix), "%lld", next);
		if ((r = create_replication(c, conn, "schedule", suffix)) < 0) {
			ret = r;
			goto out;
		}
	}
	char t[32], n[32];
	kube_time(t, sizeof(t), now);
	kube_time(n, sizeof(n), decide_next_run(conn, now, &why));
	/* resourceVersion precondition: two schedulers never both count one slot */
	json_t *patch = json_pack("{s:{s:s}, s:{s:s, s:s, s:s}}", "metadata", "resourceVersion",
				  kube_str(conn, "metadata", "resourceVersion"), "status",
				  "lastScheduleTime", t, "nextScheduleTime", n, "state",
				  kube_str(st, "state", NULL) ?: "Scheduled");
	r = ctl_patch(c, &KIND_CONNECTION, ns, name, "status", patch);
	json_decref(patch);
	ret = r < 0 ? r : 1000;
out:
	json_decref(conn);
	return ret;
}
