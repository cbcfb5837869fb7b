/*
 * cmd_state.c - `state`: show and manage the committed state of a
 * replication.
 *
 *   state                    print state.json (the seed's form)
 *   state history [--json]   every committed state, oldest first
 *   state set FILE           replace the state (validated)
 *   state reset [--stream S] forget the state, or one stream's
 *   state rollback N         go back to entry N of the history
 *
 * Changes take the replication's lock: never while a run is in progress.
 * Every change is journalled like a commit, so it can be rolled back too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "driver/runtime.h"
#include "protocol/state.h"
#include "store/store.h"
#include "util/log.h"

/* Print a JSON value, pretty, on stdout. */
static void print_json(const json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (text) {
		puts(text);
		free(text);
	}
}

static int load_state(struct store *s, json_t **doc)
{
	struct ab_error err = { 0 };
	int r = store_load_state(s, doc, &err);
	if (r < 0) {
		log_error("the state file '%s' is unreadable: %s (line %d, column %d); it is left as it is",
			  s->state_path, r == -EBADMSG ? err.text : strerror(-r), err.line, err.column);
		return EXIT_FAILED;
	}
	return 0;
}

/* Commit state (borrowed; NULL = no state) as a new journalled document. */
static int commit(struct store *s, const char *replication, const json_t *state,
		  const char *why)
{
	json_t *doc = json_pack("{s:s, s:s, s:o, s:n, s:O?, s:s}", "replication", replication,
				"type", state_type_name(state_doc_type(state)),
				"updated_at", json_time(wall_ms()), "run", "state", state,
				"changed_by", why);
	if (doc && !state)
		json_object_set_new(doc, "state", json_null());
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int r = text ? store_commit_text(s, text, strlen(text)) : -ENOMEM;
	free(text);
	json_decref(doc);
	if (r < 0) {
		log_error("cannot write '%s': %s; the previous state is intact", s->state_path,
			  strerror(-r));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* Names of the catalog's streams, or NULL when no catalog can be read. */
static json_t *catalog_names(const struct options *o)
{
	struct catalog cat;
	struct ab_error err = { 0 };
	if (access(o->cfg.catalog, R_OK) != 0 || catalog_load(&cat, o->cfg.catalog, &err) < 0)
		return NULL;
	json_t *names = json_array();
	for (size_t i = 0; i < cat.n; i++) {
		char label[1024];
		catalog_stream_label(&cat.streams[i], label, sizeof(label));
		json_array_append_new(names, json_string(label));
	}
	catalog_release(&cat);
	return names;
}

static bool name_in(const json_t *names, const char *name)
{
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n)
		if (!strcmp(json_string_value(n), name))
			return true;
	return false;
}

/*
 * A state a user hands us: the document `state` prints, an array of
 * state messages, or a LEGACY data object.  Returns the state (new
 * reference) or NULL after saying what is wrong.
 */
static json_t *parse_user_state(const struct options *o, const char *path)
{
	json_error_t jerr;
	json_t *in = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!in) {
		log_error("cannot read the state '%s': %s (line %d, column %d)", path, jerr.text,
			  jerr.line, jerr.column);
		return NULL;
	}
	json_t *state = json_is_object(in) && json_object_get(in, "state") && json_object_get(in, "replication") ?
			json_incref(json_object_get(in, "state")) : json_incref(in);
	json_decref(in);
	if (!json_is_array(state))
		return state; /* LEGACY data: opaque to us */

	json_t *merged = NULL, *names = catalog_names(o), *msg;
	size_t i;
	int first = -1;
	json_array_foreach(state, i, msg) {
		struct ab_error err = { 0 };
		int t = state_msg_type(msg);
		if (t != AB_STATE_STREAM && t != AB_STATE_GLOBAL) {
			log_error("'%s': entry %zu is not a STREAM or GLOBAL state message", path, i);
			goto bad;
		}
		if (first >= 0 && t != first) {
			log_error("'%s': entry %zu mixes STREAM and GLOBAL states", path, i);
			goto bad;
		}
		first = t;
		if (state_merge(&merged, msg, &err) < 0) {
			log_error("'%s': entry %zu: %s", path, i, err.text);
			goto bad;
		}
		json_t *streams = json_array();
		size_t k;
		json_t *n;
		state_msg_streams(msg, streams);
		json_array_foreach(streams, k, n) {
			if (names && !name_in(names, json_string_value(n))) {
				log_error("'%s': entry %zu is for stream '%s', which is not in the catalog '%s'",
					  path, i, json_string_value(n), o->cfg.catalog);
				json_decref(streams);
				goto bad;
			}
		}
		json_decref(streams);
	}
	if (!names)
		log_warn("no catalog at '%s': stream names were not checked", o->cfg.catalog);
	json_decref(names);
	json_decref(state);
	return merged ? merged : json_array();
bad:
	json_decref(names);
	json_decref(merged);
	json_decref(state);
	return NULL;
}

/* Drop one stream from a state; false when it has none. */
static bool remove_stream(json_t *state, const char *stream)
{
	size_t i;
	json_t *el;
	if (json_is_object(state))
		return json_object_del(state, stream) == 0;
	json_t *arr = state;
	if (state_doc_type(state) == AB_STATE_GLOBAL)
		arr = json_object_get(json_object_get(json_array_get(state, 0), "global"), "stream_states");
	json_array_foreach(arr, i, el) {
		json_t *desc = json_object_get(json_object_get(el, "stream") ? json_object_get(el, "stream") : el,
					       "stream_descriptor");
		const char *name = json_string_value(json_object_get(desc, "name"));
		const char *ns = json_string_value(json_object_get(desc, "namespace"));
		char label[1024];
		snprintf(label, sizeof(label), "%s%s%s", ns ? ns : "", ns ? "." : "", name ? name : "");
		if (!strcmp(label, stream)) {
			json_array_remove(arr, i);
			return true;
		}
	}
	return false;
}

static int state_history(struct store *s, bool as_json)
{
	json_t *entries;
	int r = store_read_journal(s, &entries);
	if (r < 0) {
		log_error("cannot read '%s': %s", s->journal_path, strerror(-r));
		return EXIT_FAILED;
	}
	if (as_json) {
		print_json(entries);
	} else {
		size_t i;
		json_t *e;
		printf("%-4s %-24s %-5s %-7s %s\n", "N", "COMMITTED", "RUN", "TYPE", "STREAMS");
		json_array_foreach(entries, i, e) {
			json_t *names = json_array();
			json_t *st = json_object_get(e, "state");
			size_t k;
			json_t *m;
			if (json_is_array(st))
				json_array_foreach(st, k, m)
					state_msg_streams(m, names);
			char list[256] = "";
			json_array_foreach(names, k, m) {
				size_t used = strlen(list);
				snprintf(list + used, sizeof(list) - used, "%s%s", k ? "," : "", json_string_value(m));
			}
			json_decref(names);
			const char *by = json_string_value(json_object_get(e, "changed_by"));
			char run[16];
			snprintf(run, sizeof(run), "%lld", json_integer_value(json_object_get(e, "run")));
			printf("%-4zu %-24s %-5s %-7s %s%s%s%s\n", i + 1,
			       json_string_value(json_object_get(e, "updated_at")),
			       json_is_integer(json_object_get(e, "run")) ? run : "-",
			       json_string_value(json_object_get(e, "type")), list,
			       by ? "  (" : "", by ? by : "", by ? ")" : "");
		}
	}
	json_decref(entries);
	return EXIT_OK;
}

int cmd_state(struct options *o)
{
	struct store s;
	json_t *doc = NULL, *state = NULL;
	const char *sub = o->nargs > 0 ? o->args[0] : "show";
	bool changes = strcmp(sub, "show") && strcmp(sub, "history");
	int lock = -1, code = EXIT_OK;

	if ((code = open_replication_store(o, &s, !strcmp(sub, "set"))) != 0)
		return code;
	if (changes) {
		long holder = 0;
		lock = store_lock(&s, false, &holder);
		if (lock < 0) {
			log_error(lock == -EWOULDBLOCK ?
				  "replication '%s' is running (process %ld holds its lock): change its state when it has finished" :
				  "cannot lock replication '%s' (%ld)", o->cfg.replication, holder);
			code = EXIT_FAILED;
			goto out;
		}
	}
	if (!strcmp(sub, "history")) {
		code = state_history(&s, o->json);
		goto out;
	}
	if (strcmp(sub, "set") && (code = load_state(&s, &doc)) != 0)
		goto out;
	if (!strcmp(sub, "show")) {
		if (!doc)
			doc = json_pack("{s:s, s:n}", "replication", o->cfg.replication, "state");
		print_json(doc);
	} else if (!strcmp(sub, "set")) {
		if (o->nargs != 2) {
			log_error("usage: state set FILE --replication NAME");
			code = EXIT_USAGE;
			goto out;
		}
		state = parse_user_state(o, o->args[1]);
		if (!state) {
			code = EXIT_USAGE;
			goto out;
		}
		code = commit(&s, o->cfg.replication, state, "state set");
		if (code == 0)
			log_info("state of '%s' set from '%s'", o->cfg.replication, o->args[1]);
	} else if (!strcmp(sub, "reset")) {
		state = json_incref(json_object_get(doc, "state"));
		if (o->stream) {
			if (!state || json_is_null(state) || !remove_stream(state, o->stream)) {
				log_error("stream '%s' has no state in replication '%s'", o->stream,
					  o->cfg.replication);
				code = EXIT_USAGE;
				goto out;
			}
			code = commit(&s, o->cfg.replication, state, "state reset --stream");
		} else {
			code = commit(&s, o->cfg.replication, NULL, "state reset");
		}
		if (code == 0)
			log_info("state of '%s'%s%s reset: the next run starts from scratch%s",
				 o->cfg.replication, o->stream ? " stream " : "", o->stream ? o->stream : "",
				 o->stream ? " for it" : "");
	} else if (!strcmp(sub, "rollback")) {
		json_t *entries = NULL;
		char *end = NULL;
		long n = o->nargs == 2 ? strtol(o->args[1], &end, 10) : 0;
		if (o->nargs != 2 || *end || n < 1) {
			log_error("usage: state rollback N --replication NAME (N from 'state history')");
			code = EXIT_USAGE;
			goto out;
		}
		store_read_journal(&s, &entries);
		json_t *e = json_array_get(entries, (size_t)n - 1);
		if (!e) {
			log_error("no entry %ld in the state history of '%s' (it has %zu)", n,
				  o->cfg.replication, json_array_size(entries));
			code = EXIT_USAGE;
		} else {
			char why[64];
			snprintf(why, sizeof(why), "state rollback %ld", n);
			state = json_incref(json_object_get(e, "state"));
			code = commit(&s, o->cfg.replication, json_is_null(state) ? NULL : state, why);
			if (code == 0)
				log_info("state of '%s' rolled back to entry %ld", o->cfg.replication, n);
		}
		json_decref(entries);
	} else {
		log_error("unknown state command '%s': use history, set, reset or rollback", sub);
		code = EXIT_USAGE;
	}
out:
	if (lock >= 0)
		close(lock);
	json_decref(doc);
	json_decref(state);
	store_release(&s);
	return code;
}

/*
 * `state --store k8s`: the state lives in Kubernetes, kept by the operator.
 * This static binary has no TLS, so it hands over to the operator's binary
 * (next to this one, else on PATH), which reads the Connection's
 * ReplicationOutput; KUBECONFIG and AIRBYTE_NAMESPACE pass through.
 */
int cmd_state_k8s(struct options *o)
{
	static const char op[] = "airbyte-replication-operator";
	char self[4096];
	if (o->nargs > 0 && strcmp(o->args[0], "show")) {
		log_error("--store k8s shows the state only; change it through Kubernetes");
		return EXIT_USAGE;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			char next_to_us[4200];
			*slash = '\0';
			snprintf(next_to_us, sizeof(next_to_us), "%s/%s", self, op);
			char *argv[] = { next_to_us, "state", "--replication", (char *)o->cfg.replication, NULL };
			execv(next_to_us, argv);
		}
	}
	char *argv[] = { (char *)op, "state", "--replication", (char *)o->cfg.replication, NULL };
	execvp(op, argv);
	log_error("--store k8s needs %s (in the driver's directory or on PATH): %s", op,
		  strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
