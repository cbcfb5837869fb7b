/*
 * statesync.c - `sync-state`: the replication Pod's sidecar that carries
 * the run's committed state and progress into Kubernetes.
 *
 * The destination driver commits states to <store>/<replication>/state.json
 * (atomically: temp file + rename) and keeps stats.json current.  This loop
 * looks at both every interval and, when one changed, merge-patches the
 * Connection's ReplicationOutput status: status.state carries the state
 * document (so a killed Pod loses nothing committed: it is in Kubernetes
 * within about an interval plus one request), status.run the run record.
 * It ends when the run record says the run ended, or on SIGTERM, after a
 * last sync.  Only this container of the Pod holds an API token.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "operator/kube.h"
#include "operator/queue.h"
#include "operator/statesync.h"
#include "util/log.h"

struct seen {
	struct timespec mtime;
	off_t size;
	ino_t ino;
	bool exists;
};

/* Whether path changed since *s (updating *s). */
static bool changed(const char *path, struct seen *s)
{
	struct stat st;
	struct seen now = { 0 };
	if (stat(path, &st) == 0) {
		now.exists = true;
		now.mtime = st.st_mtim;
		now.size = st.st_size;
		now.ino = st.st_ino;
	}
	bool diff = now.exists != s->exists || now.size != s->size || now.ino != s->ino ||
		    now.mtime.tv_sec != s->mtime.tv_sec || now.mtime.tv_nsec != s->mtime.tv_nsec;
	*s = now;
	return diff;
}

static json_t *load(const char *path)
{
	return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}

/* One merge patch with whatever is newer than what Kubernetes has. */
static int push(const struct kube *k, const struct statesync_options *o, json_t *state,
		json_t *run)
{
	char now[32];
	kube_time(now, sizeof(now), (long long)time(NULL));
	json_t *st = json_pack("{s:s, s:s}", "replication", o->run ? o->run : o->replication,
			       "updatedAt", now);
	if (state)
		json_object_set_new(st, "state", json_pack("{s:s, s:s, s:O}", "apiVersion",
			AIRBYTE_API_VERSION, "kind", "AirbyteState", "data", state));
	if (run) {
		json_object_set(st, "run", run);
		json_t *v = json_object_get(run, "outcome");
		if (!v)
			v = json_object_get(run, "status");
		if (json_is_string(v))
			json_object_set(st, "status", v);
		json_object_set_new(st, "summary", json_pack("{s:I, s:I, s:O?}", "bytesMoved",
			json_integer_value(json_object_get(run, "bytes_emitted")), "recordsMoved",
			json_integer_value(json_object_get(run, "records_committed")), "streams",
			json_object_get(run, "streams")));
	}
	json_t *patch = json_pack("{s:o}", "status", st);
	json_t *ans = NULL;
	int code = kube_patch(k, &KIND_REPLICATION_OUTPUT, o->ns ? o->ns : k->namespace, o->output,
			      "status", patch, &ans);
	json_decref(patch);
	int r = 0;
	if (code != 200) {
		log_warn("cannot update ReplicationOutput '%s': %s", o->output,
			 code < 0 ? strerror(-code) : kube_status_message(ans));
		r = code < 0 ? code : -EPROTO;
	}
	json_decref(ans);
	return r;
}

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

int statesync_run(const struct kube *k, const struct statesync_options *o)
{
	char state_path[4096], stats_path[4096];
	snprintf(state_path, sizeof(state_path), "%s/%s/state.json", o->store_path, o->replication);
	snprintf(stats_path, sizeof(stats_path), "%s/%s/stats.json", o->store_path, o->replication);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	struct seen seen_state = { 0 }, seen_stats = { 0 };
	bool state_dirty = false, run_dirty = false;
	bool ended = false;           /* the run record says the run ended */
	int64_t linger_until = -1;    /* after a signal: go on until the run ends, or this */
	int64_t give_up = -1;         /* the last sync must be through by then */
	int64_t next_try = 0, backoff = 250, last_run_push = 0;
	unsigned long pushes = 0;
	log_info("syncing '%s' and stats.json to ReplicationOutput '%s' every %d ms", state_path,
		 o->output, o->interval_ms);
	for (;;) {
		int64_t now = mono_ms();
		/* a kubelet stops every container at once: the drivers are still
		 * committing their last states and writing the run record */
		if (stop_signal && linger_until < 0) {
			log_info("signal %d: syncing until the run ends (at most %d ms)", (int)stop_signal,
				 o->linger_ms);
			linger_until = now + o->linger_ms;
			give_up = linger_until + o->final_timeout_ms;
		}
		if (changed(state_path, &seen_state) && seen_state.exists)
			state_dirty = true;
		if (changed(stats_path, &seen_stats) && seen_stats.exists)
			run_dirty = true;

		bool closing = ended || (linger_until >= 0 && now >= linger_until);
		/* progress at most once a second; states and the end at once */
		bool due = state_dirty || (run_dirty && (now - last_run_push >= 1000 || closing));
		json_t *run = NULL;
		if (run_dirty) {
			run = load(stats_path);
			if (run && json_object_get(run, "ended_at") && !ended) {
				ended = closing = due = true;
				give_up = now + o->final_timeout_ms;
			}
		}
		if (due && now >= next_try) {
			json_t *state = state_dirty ? load(state_path) : NULL;
			if (state_dirty && !state) {
				/* cannot happen with atomic renames; try again next tick */
				log_warn("cannot read '%s' yet", state_path);
			} else if (push(k, o, state, run_dirty ? run : NULL) == 0) {
				pushes++;
				state_dirty = false;
				if (run_dirty) {
					run_dirty = false;
					last_run_push = now;
				}
				backoff = 250;
			} else {
				next_try = now + backoff;
				backoff = backoff < 5000 ? backoff * 2 : 5000;
			}
			json_decref(state);
		}
		json_decref(run);
		if (closing && !state_dirty && !run_dirty) {
			log_info("%s: %lu updates sent", ended ? "run ended" : "stopped before the run ended",
				 pushes);
			return 0;
		}
		if (closing && give_up >= 0 && mono_ms() >= give_up) {
			log_error("could not send the last %s before the deadline",
				  state_dirty ? "state" : "run record");
			return 1;
		}
		usleep((useconds_t)o->interval_ms * 1000);
	}
}
