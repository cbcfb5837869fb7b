/*
 * destination.c - the destination role: owns the pipes dir entries and the
 * store.  It waits for the source driver, hands it the committed state,
 * runs the destination connector with the data FIFO as stdin, commits every
 * STATE the connector emits (durably, before it counts), keeps live stats,
 * and decides and records the outcome of the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "driver/child.h"
#include "driver/control.h"
#include "driver/persister.h"
#include "driver/roles.h"
#include "driver/runtime.h"
#include "driver/spec.h"
#include "protocol/scan.h"
#include "protocol/state.h"
#include "store/metrics.h"
#include "store/store.h"
#include "util/httpd.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/secrets.h"
#include "util/words.h"

#define STATS_INTERVAL_MS 1000
/*
 * While the connector's output streams in (reads less than two rests
 * apart), leave it alone this long after each read: a connector that writes
 * line by line (Faros's dry run echoes every record) otherwise pays a reader
 * wake-up, an IPI on these VMs, in each write.  A STATE is read at most this
 * late; the pipe holds far more meanwhile.  Output that comes now and then
 * (a STATE echoed every few ms) is read at once, without a timer wake-up.
 */
#define OUT_REST_US 500
#define PIPE_SIZE (1 << 20)

struct destination {
	const struct driver_config *cfg;
	struct catalog cat;
	struct store store;
	json_t *state;            /* merged committed state (what read --state gets) */
	long run;
	int64_t started_wall, started;
	char sock_path[4096], fifo_path[4096];
	int sfd, listen_fd, keeper_fd, lock_fd;
	struct control ctl;
	struct child conn;
	struct lines out, errbuf;
	json_t *pending;          /* forwarded-state notes from the source, in order */
	json_t *settled;          /* fingerprints of notes already passed */
	uint64_t *committed;      /* records per stream covered by committed states */
	json_t *source_stats;     /* last stats message from the source */
	json_t *estimates;        /* last ESTIMATE trace per stream */
	json_t *statuses;         /* last STREAM_STATUS per stream */
	json_t *source_usage;     /* the source connector's cpu and memory */
	json_t *last_stats;       /* what /metrics serves */
	struct httpd http;
	uint64_t state_commits, state_ignored;
	struct persister persist;
	struct store_committer committer; /* the persister's */
	uint64_t state_seq;       /* states handed to the persister */
	json_t *undurable;        /* [{seq, records|null}] not yet durable */
	bool source_done, source_gone;
	int source_code;
	int64_t source_end, term_at, next_stats, exit_seen;
	int64_t out_rest_until;   /* now_us() before which out_fd is not polled */
	int64_t out_read_at;      /* now_us() of the last read that got output */
	int signal;
	int code;                 /* first failure */
	char reason[1024];
	char trace_error[1024];
};

static void dest_fail(struct destination *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dest_fail(struct destination *d, int code, const char *fmt, ...)
{
	va_list ap;
	if (d->code)
		return;
	d->code = code;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	secrets_mask_inplace(d->reason, sizeof(d->reason));
	log_error("%s", d->reason);
}

/* --- stats and run records ---------------------------------------------- */

static uint64_t source_count(const struct destination *d, const char *key, size_t i)
{
	return (uint64_t)json_integer_value(json_array_get(json_object_get(d->source_stats, key), i));
}

static json_t *dest_stats(struct destination *d, const char *status)
{
	json_t *streams = json_array();
	uint64_t emitted = 0, committed = 0, bytes = 0;
	for (size_t i = 0; i < d->cat.n; i++) {
		const struct catalog_stream *cs = &d->cat.streams[i];
		uint64_t e = source_count(d, "records", i), b = source_count(d, "bytes", i);
		json_t *st = json_pack("{s:s, s:I, s:I, s:I}", "name", cs->name,
				       "records_emitted", (json_int_t)e,
				       "bytes_emitted", (json_int_t)b,
				       "records_committed", (json_int_t)d->committed[i]);
		if (cs->ns)
			json_object_set_new(st, "namespace", json_string(cs->ns));
		json_t *est = json_object_get(d->estimates, cs->name);
		if (est)
			json_object_set(st, "estimate", est);
		json_t *ss = json_object_get(d->statuses, cs->name);
		if (ss)
			json_object_set(st, "status", ss);
		json_array_append_new(streams, st);
		emitted += e;
		committed += d->committed[i];
		bytes += b;
	}
	int64_t now = wall_ms();
	json_t *messages = json_object_get(d->source_stats, "messages");
	json_t *connectors = json_object();
	if (d->source_usage)
		json_object_set(connectors, "source", d->source_usage);
	if (d->conn.exited)
		json_object_set_new(connectors, "destination",
				    json_pack("{s:f, s:I}", "cpu_seconds", d->conn.cpu_seconds,
					      "max_rss_bytes", (json_int_t)d->conn.max_rss_kb * 1024));
	return json_pack("{s:s, s:I, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:o}",
			 "replication", d->cfg->replication, "run", (json_int_t)d->run,
			 "status", status, "started_at", json_time(d->started_wall),
			 "updated_at", json_time(now),
			 "duration_ms", (json_int_t)(now - d->started_wall),
			 "records_emitted", (json_int_t)emitted,
			 "records_committed", (json_int_t)committed,
			 "bytes_emitted", (json_int_t)bytes,
			 "state_commits", (json_int_t)d->state_commits,
			 "messages", messages ? json_incref(messages) : json_object(),
			 "invalid_lines", json_integer_value(json_object_get(d->source_stats, "invalid")),
			 "streams", streams, "connectors", connectors);
}

static void dest_save_stats(struct destination *d, const char *status, bool durable)
{
	json_t *st = dest_stats(d, status);
	int r = st ? store_save_stats(&d->store, st, durable) : -ENOMEM;
	if (r < 0)
		log_warn("cannot write '%s': %s", d->store.stats_path, strerror(-r));
	json_decref(d->last_stats);
	d->last_stats = st;
}

static int serve_metrics(void *ctx, const char *path, char **body, size_t *len,
			 const char **content_type)
{
	struct destination *d = ctx;
	if (strcmp(path, "/metrics"))
		return -ENOENT;
	*content_type = METRICS_CONTENT_TYPE;
	return d->last_stats ? metrics_render(d->last_stats, body, len) : -EAGAIN;
}

static void dest_record_run(struct destination *d, int code)
{
	json_t *rec = dest_stats(d, code == 0 ? "succeeded" : "failed");
	if (!rec)
		return;
	json_object_set_new(rec, "ended_at", json_time(wall_ms()));
	json_object_set_new(rec, "outcome", json_string(code == 0 ? "succeeded" :
							 code == EXIT_TIMEOUT ? "timeout" :
							 code > 128 ? "stopped" : "failed"));
	json_object_set_new(rec, "exit_code", json_integer(code));
	json_object_set_new(rec, "failure_reason", code ? json_string(d->reason) : json_null());
	json_object_set_new(rec, "state_type", json_string(state_type_name(state_doc_type(d->state))));
	int r = store_append_history(&d->store, rec);
	if (r < 0)
		log_error("cannot append the run record to '%s': %s", d->store.history_path,
			  strerror(-r));
	r = store_save_stats(&d->store, rec, true);
	if (r < 0)
		log_warn("cannot write '%s': %s", d->store.stats_path, strerror(-r));
	json_decref(d->last_stats);
	d->last_stats = rec;
}

/* --- committing states --------------------------------------------------- */

/* The fingerprint of a state as text, as the source sends it in notes. */
static bool fingerprint_text(const json_t *state, char fps[32])
{
	uint64_t fp;
	if (state_fingerprint(state, &fp) < 0)
		return false;
	snprintf(fps, 32, "%016llx", (unsigned long long)fp);
	return true;
}

/* Which forwarded state does this echo correspond to?  Returns its note. */
static json_t *match_note(struct destination *d, const char *fps, size_t *index)
{
	size_t i;
	json_t *note;
	json_array_foreach(d->pending, i, note) {
		const char *f = json_string_value(json_object_get(note, "fp"));
		if (f && !strcmp(f, fps)) {
			*index = i;
			return note;
		}
	}
	return NULL;
}

static bool state_streams_known(struct destination *d, const json_t *state)
{
	json_t *names = json_array();
	size_t i;
	json_t *n;
	bool ok = true;
	state_msg_streams(state, names);
	json_array_foreach(names, i, n) {
		bool found = false;
		for (size_t k = 0; k < d->cat.n && !found; k++) {
			char label[1024];
			catalog_stream_label(&d->cat.streams[k], label, sizeof(label));
			found = !strcmp(label, json_string_value(n));
		}
		if (!found) {
			log_error("the destination emitted a state for stream '%s', which is not in the catalog: not committed",
				  json_string_value(n));
			ok = false;
		}
	}
	json_decref(names);
	return ok;
}

static void on_control(struct destination *d);

static void commit_state(struct destination *d, const json_t *state)
{
	struct ab_error err = { 0 };
	size_t idx = 0;
	char fps[32] = "";

	if (!state_streams_known(d, state)) {
		d->state_ignored++;
		return;
	}
	fingerprint_text(state, fps);
	json_t *note = match_note(d, fps, &idx);
	if (!note && d->ctl.fd >= 0) {
		/* the source sends a state's note before its bytes, but the echo
		 * can be read in the same batch as earlier ones, before the note */
		on_control(d);
		note = match_note(d, fps, &idx);
	}
	if (!note && json_object_get(d->settled, fps)) {
		/* an echo of a state already passed: committing it would go back */
		log_warn("the destination emitted an earlier state again, after a later one: ignored");
		d->state_ignored++;
		return;
	}
	json_t *merged = json_deep_copy(d->state);
	int r = state_merge(&merged, state, &err);
	if (r < 0) {
		log_error("the destination emitted an invalid state (%s): not committed", err.text);
		json_decref(merged);
		d->state_ignored++;
		return;
	}
	if (r == 0) {
		log_warn("the destination emitted an empty state: ignored, the stored state is kept");
		json_decref(merged);
		return;
	}
	json_t *doc = json_pack("{s:s, s:s, s:o, s:I, s:O}", "replication", d->cfg->replication,
				"type", state_type_name(state_doc_type(merged)),
				"updated_at", json_time(wall_ms()), "run", (json_int_t)d->run,
				"state", merged);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		dest_fail(d, EXIT_FAILED, "out of memory while committing a state");
		json_decref(merged);
		return;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* the terminator is not written */
	persister_submit(&d->persist, text, len + 1, ++d->state_seq);
	json_decref(d->state);
	d->state = merged;

	/* its record counts apply once it is durable */
	json_array_append_new(d->undurable, json_pack("{s:I, s:O?}", "seq", (json_int_t)d->state_seq,
						      "records", json_object_get(note, "records")));
	if (!note) {
		log_warn("committing a state the source did not send in this form; record counts are not updated");
		return;
	}
	/* destinationStats.recordCount: records since the previous state */
	json_t *dstats = json_object_get(state, "destinationStats");
	json_t *sstats = json_object_get(note, "source_stats");
	if (dstats && sstats) {
		double dc = json_number_value(json_object_get(dstats, "recordCount"));
		double sc = json_number_value(json_object_get(sstats, "recordCount"));
		if (dc != sc)
			log_warn("record count mismatch at state %lld: the source counted %.0f, the destination %.0f",
				 (long long)json_integer_value(json_object_get(note, "seq")), sc, dc);
	}
	/* notes up to this one are settled: an echo of them now is stale */
	if (json_object_size(d->settled) > 4096)
		json_object_clear(d->settled);
	for (size_t i = 0; i <= idx; i++) {
		const char *f = json_string_value(json_object_get(json_array_get(d->pending, 0), "fp"));
		if (f)
			json_object_set_new(d->settled, f, json_true());
		json_array_remove(d->pending, 0);
	}
}

static int commit_text(void *ctx, const char *text, size_t len)
{
	return store_committer_commit(ctx, text, len);
}

/*
 * States the persister made durable are committed: count them.  Called on
 * every pass of the loop, which does not wake up for this (a wake-up per
 * commit is an IPI on these VMs): the counts lag by at most a pass, and a
 * pass comes at least every STATS_INTERVAL_MS, before the stats are saved.
 */
static void settle_durable(struct destination *d)
{
	int err = 0;
	uint64_t durable = persister_durable(&d->persist, &err);
	if (err)
		dest_fail(d, EXIT_FAILED, "cannot persist the state to '%s': %s; the previous state file is intact",
			  d->store.state_path, strerror(-err));
	while (json_array_size(d->undurable) > 0) {
		json_t *e = json_array_get(d->undurable, 0);
		if ((uint64_t)json_integer_value(json_object_get(e, "seq")) > durable)
			break;
		json_t *records = json_object_get(e, "records");
		for (size_t i = 0; records && i < d->cat.n; i++)
			d->committed[i] = (uint64_t)json_integer_value(json_array_get(records, i));
		d->state_commits++;
		json_array_remove(d->undurable, 0);
	}
}

/* --- destination connector output ---------------------------------------- */

static void on_connector_line(struct destination *d, const char *line, size_t len)
{
	struct ab_scan sc;
	if (ab_scan_line(line, len, &sc) < 0 || sc.type == AB_MSG_NONE) {
		log_connector_line(LOG_INFO, d->conn.name, line, len);
		return;
	}
	if (sc.type == AB_MSG_RECORD) {
		/* some destinations echo what they wrote: data, not news (and not
		 * worth a parse: Faros's dry run echoes every record) */
		log_connector_line(LOG_DEBUG, d->conn.name, line, len);
		return;
	}
	if (sc.type == AB_MSG_LOG) {
		runtime_log_message(d->conn.name, line, len);
		return;
	}
	json_t *msg = json_loadb(line, len, 0, NULL);
	switch (sc.type) {
	case AB_MSG_STATE:
		commit_state(d, json_object_get(msg, "state"));
		break;
	case AB_MSG_TRACE: {
		json_t *trace = json_object_get(msg, "trace");
		const char *type = json_string_value(json_object_get(trace, "type"));
		if (type && !strcmp(type, "ERROR")) {
			const char *m = json_string_value(json_object_get(json_object_get(trace, "error"),
									   "message"));
			if (!d->trace_error[0])
				snprintf(d->trace_error, sizeof(d->trace_error), "%s",
					 m ? m : "destination connector reported an error");
			log_connector_line(LOG_ERROR, d->conn.name, d->trace_error,
					   strlen(d->trace_error));
		}
		break;
	}
	default:
		log_connector_line(LOG_INFO, d->conn.name, line, len);
		break;
	}
	json_decref(msg);
}

/* Read what the connector printed; whether there was anything. */
static bool drain_connector_output(struct destination *d)
{
	const char *line;
	size_t len;
	bool got = false;
	for (;;) {
		ssize_t n = lines_fill(&d->out, d->conn.out_fd);
		while (lines_next(&d->out, &line, &len) > 0)
			on_connector_line(d, line, len);
		if (n == -EAGAIN)
			return got;
		got = true;
		if (n == -E2BIG) {
			dest_fail(d, EXIT_FAILED, "%s printed a line longer than %lu bytes",
				  d->conn.name, d->cfg->max_line);
		} else if (n < 0) {
			dest_fail(d, EXIT_FAILED, "reading from %s: %s", d->conn.name,
				  strerror((int)-n));
		} else if (n > 0) {
			continue;
		}
		close(d->conn.out_fd);
		d->conn.out_fd = -1;
		return false;
	}
}

/* --- the source side ----------------------------------------------------- */

static void close_keeper(struct destination *d)
{
	if (d->keeper_fd >= 0)
		close(d->keeper_fd);
	d->keeper_fd = -1;
}

static void source_finished(struct destination *d)
{
	close_keeper(d);
	if (!d->source_end)
		d->source_end = now_ms();
}

static void on_control(struct destination *d)
{
	ssize_t n;
	while ((n = control_fill(&d->ctl)) > 0)
		;
	json_t *msg;
	int r;
	while ((r = control_next(&d->ctl, &msg)) != 0) {
		if (r < 0)
			continue;
		const char *t = control_type(msg);
		if (!strcmp(t, "open")) {
			/* the source holds the FIFO: our own writer can go */
			close_keeper(d);
		} else if (!strcmp(t, "state")) {
			json_array_append(d->pending, msg);
		} else if (!strcmp(t, "stats")) {
			json_decref(d->source_stats);
			d->source_stats = json_incref(msg);
		} else if (!strcmp(t, "estimate")) {
			json_t *e = json_object_get(msg, "estimate");
			const char *name = json_string_value(json_object_get(e, "name"));
			if (name)
				json_object_set(d->estimates, name, e);
		} else if (!strcmp(t, "stream_status")) {
			const char *name = json_string_value(json_object_get(msg, "name"));
			if (name)
				json_object_set(d->statuses, name, json_object_get(msg, "status"));
		} else if (!strcmp(t, "done")) {
			d->source_done = true;
			d->source_code = (int)json_integer_value(json_object_get(msg, "code"));
			json_t *usage = json_object_get(msg, "connector");
			if (usage) {
				json_decref(d->source_usage);
				d->source_usage = json_incref(usage);
			}
			const char *why = json_string_value(json_object_get(msg, "reason"));
			if (d->source_code)
				dest_fail(d, d->source_code, "%s", why && *why ? why : "the source failed");
			source_finished(d);
		} else if (!strcmp(t, "control")) {
			log_info("the source sent a connector config update (CONTROL); it is not persisted yet");
		}
		json_decref(msg);
	}
	/* the loop above ends at n <= 0: end of file or an error, not EAGAIN */
	if (n != -EAGAIN) {
		control_close(&d->ctl);
		d->source_gone = true;
		if (!d->source_done)
			dest_fail(d, EXIT_FAILED, "the source driver disconnected before it finished");
		source_finished(d);
	}
}

/* --- set-up ---------------------------------------------------------------- */

static int prepare_pipes(struct destination *d)
{
	const char *dir = d->cfg->pipes_dir;
	struct control probe = { .fd = -1 };
	int r = fs_mkdir_p(dir, 0755);
	if (r < 0) {
		log_error("cannot create the pipes directory '%s': %s", dir, strerror(-r));
		return EXIT_USAGE;
	}
	snprintf(d->sock_path, sizeof(d->sock_path), "%s/%s", dir, CONTROL_SOCKET);
	snprintf(d->fifo_path, sizeof(d->fifo_path), "%s/%s", dir, CONTROL_DATA_FIFO);
	if (control_connect(&probe, d->sock_path) == 0) {
		control_close(&probe);
		d->sock_path[0] = d->fifo_path[0] = '\0'; /* not ours to remove */
		log_error("another destination driver is already listening on '%s/%s'; use another --pipes-dir",
			  dir, CONTROL_SOCKET);
		return EXIT_USAGE;
	}
	/* stale entries of a crashed run */
	unlink(d->sock_path);
	unlink(d->fifo_path);
	if (mkfifo(d->fifo_path, 0600) < 0) {
		log_error("cannot create the data pipe '%s': %s", d->fifo_path, strerror(errno));
		return EXIT_FAILED;
	}
	d->listen_fd = control_listen(d->sock_path);
	if (d->listen_fd < 0) {
		log_error("cannot listen on '%s': %s", d->sock_path, strerror(-d->listen_fd));
		return EXIT_FAILED;
	}
	return 0;
}

/* Wait for the source driver's hello.  0, or an exit code. */
static int await_source(struct destination *d)
{
	int64_t deadline = now_ms() + (int64_t)(d->cfg->connect_timeout * 1000);
	log_info("waiting for the source driver on '%s'", d->sock_path);
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			dest_fail(d, EXIT_TIMEOUT,
				  "no source driver connected to '%s' within %.0f s; start the source role with the same --pipes-dir",
				  d->sock_path, d->cfg->connect_timeout);
			return EXIT_TIMEOUT;
		}
		struct pollfd p[2] = { { .fd = d->sfd, .events = POLLIN },
				       { .fd = d->ctl.fd >= 0 ? d->ctl.fd : d->listen_fd, .events = POLLIN } };
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			return EXIT_FAILED;
		if (p[0].revents) {
			int sig = runtime_read_signal(d->sfd);
			if (sig > 0 && sig != SIGCHLD) {
				dest_fail(d, 128 + sig, "stopped by signal %d before the source connected", sig);
				return 128 + sig;
			}
		}
		if (!p[1].revents)
			continue;
		if (d->ctl.fd < 0) {
			int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0 && control_adopt(&d->ctl, fd) < 0)
				return EXIT_FAILED;
			continue;
		}
		ssize_t n = control_fill(&d->ctl);
		json_t *msg = NULL;
		if (n > 0 && control_next(&d->ctl, &msg) > 0) {
			int code = 0;
			const char *repl = json_string_value(json_object_get(msg, "replication"));
			if (strcmp(control_type(msg), "hello")) {
				code = EXIT_FAILED;
			} else if (!repl || strcmp(repl, d->cfg->replication)) {
				control_sendf(&d->ctl, "reject", json_pack("{s:s}", "reason",
					"the replication names differ"));
				dest_fail(d, EXIT_USAGE, "the source driver runs replication '%s', this destination '%s'",
					  repl ? repl : "?", d->cfg->replication);
				code = EXIT_USAGE;
			}
			json_decref(msg);
			return code;
		}
		if (n == 0 || (n < 0 && n != -EAGAIN))
			control_close(&d->ctl); /* it went away: wait for another */
	}
}

static int start_connector(struct destination *d)
{
	struct words argv = { 0 };
	int r, rfd;

	if (words_split(d->cfg->destination_entrypoint, &argv) < 0) {
		dest_fail(d, EXIT_USAGE, "cannot split the destination entrypoint '%s' into words (unbalanced quotes?)",
			  d->cfg->destination_entrypoint);
		return EXIT_USAGE;
	}
	/* a reader and our own writer: the connector sees no end of input
	 * until the source has taken over the writing side */
	rfd = open(d->fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	d->keeper_fd = rfd < 0 ? -1 : open(d->fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0 || d->keeper_fd < 0) {
		dest_fail(d, EXIT_FAILED, "cannot open the data pipe '%s': %s", d->fifo_path,
			  strerror(errno));
		if (rfd >= 0)
			close(rfd);
		words_release(&argv);
		return EXIT_FAILED;
	}
	fcntl(rfd, F_SETFL, 0);
	fcntl(rfd, F_SETPIPE_SZ, PIPE_SIZE);
	const char *extra[] = { "write", "--config", d->cfg->destination_config,
				"--catalog", d->cfg->catalog };
	for (size_t i = 0; i < sizeof(extra) / sizeof(*extra); i++)
		words_push(&argv, extra[i]);
	r = child_spawn(&d->conn, "destination-connector", argv.v, rfd, true);
	close(rfd); /* only the connector reads: its death is the source's EPIPE */
	if (r < 0) {
		int code = d->conn.exec_errno ? child_exec_failure_code(d->conn.exec_errno) : EXIT_FAILED;
		dest_fail(d, code, "cannot execute the destination connector '%s': %s", argv.v[0],
			  strerror(-r));
		words_release(&argv);
		return code;
	}
	log_info("started the destination connector: %s write (pid %d)",
		 d->cfg->destination_entrypoint, (int)d->conn.pid);
	words_release(&argv);
	return 0;
}

/* --- the loop ---------------------------------------------------------------- */

static void dest_loop(struct destination *d)
{
	struct child *known[] = { &d->conn };
	int64_t grace = (int64_t)(d->cfg->grace_period * 1000);
	int64_t drain = (int64_t)(d->cfg->drain_timeout * 1000);

	d->next_stats = now_ms(); /* a first view at once */
	while (!(d->conn.exited && d->conn.out_fd < 0 && d->conn.err_fd < 0)) {
		struct pollfd p[5 + HTTPD_MAX_FDS];
		int np = 0, i_ctl = -1, i_out = -1, i_err = -1;
		p[np++] = (struct pollfd){ .fd = d->sfd, .events = POLLIN };
		if (d->ctl.fd >= 0) {
			i_ctl = np;
			p[np++] = (struct pollfd){ .fd = d->ctl.fd, .events = POLLIN };
		}
		int64_t now_u = now_us();
		if (d->conn.out_fd >= 0 && now_u >= d->out_rest_until) {
			i_out = np;
			p[np++] = (struct pollfd){ .fd = d->conn.out_fd, .events = POLLIN };
		}
		if (d->conn.err_fd >= 0) {
			i_err = np;
			p[np++] = (struct pollfd){ .fd = d->conn.err_fd, .events = POLLIN };
		}
		int i_http = np;
		int nhttp = d->http.fd >= 0 ? httpd_fds(&d->http, p + np, HTTPD_MAX_FDS) : 0;
		np += nhttp > 0 ? nhttp : 0;
		int64_t now = now_ms();
		int64_t wake = d->next_stats;
		if (d->term_at || d->source_end)
			wake = wake < now + 100 ? wake : now + 100;
		int timeout = wake > now ? (int)(wake - now) : 0;
		int ht = d->http.fd >= 0 ? httpd_timeout(&d->http) : -1;
		if (ht >= 0 && ht < timeout)
			timeout = ht;
		struct timespec ts = { .tv_sec = timeout / 1000,
				       .tv_nsec = (long)(timeout % 1000) * 1000000 };
		if (d->conn.out_fd >= 0 && i_out < 0 &&
		    d->out_rest_until - now_u < (int64_t)timeout * 1000)
			ts = (struct timespec){ 0, (long)(d->out_rest_until - now_u) * 1000 };
		if (ppoll(p, (nfds_t)np, &ts, NULL) < 0 && errno != EINTR)
			break;
		log_hold(); /* a line logged per line read: not a write(2) each */
		if (d->http.fd >= 0)
			httpd_handle(&d->http, p + i_http, nhttp > 0 ? nhttp : 0, serve_metrics, d);
		if (p[0].revents) {
			int sig;
			while ((sig = runtime_read_signal(d->sfd)) > 0) {
				if (sig == SIGCHLD) {
					child_reap(known, 1);
				} else if (!d->signal) {
					d->signal = sig;
					d->code = 0; /* the signal is what the outcome says */
					dest_fail(d, 128 + sig, "stopped by signal %d", sig);
					if (d->ctl.fd >= 0)
						control_sendf(&d->ctl, "abort", json_pack("{s:i, s:s}",
							"code", 128 + sig, "reason", d->reason));
					close_keeper(d);
				}
			}
		}
		/* notes before the states they describe */
		if (i_ctl >= 0 && p[i_ctl].revents)
			on_control(d);
		if (i_out >= 0 && p[i_out].revents && drain_connector_output(d)) {
			int64_t t = now_us();
			if (t - d->out_read_at < 2 * OUT_REST_US)
				d->out_rest_until = t + OUT_REST_US;
			d->out_read_at = t;
		}
		if (i_err >= 0 && p[i_err].revents)
			runtime_drain_stderr(&d->conn, &d->errbuf);
		settle_durable(d);
		if (!d->conn.exited)
			child_reap(known, 1);
		runtime_linger(&d->conn, &d->exit_seen, grace);

		now = now_ms();
		if (d->signal)
			runtime_stop_child(&d->conn, &d->term_at, grace);
		else if (d->source_end && d->code && now - d->source_end > drain)
			runtime_stop_child(&d->conn, &d->term_at, grace);
		if (now >= d->next_stats) {
			d->next_stats = now + STATS_INTERVAL_MS;
			dest_save_stats(d, "running", false);
		}
		log_release();
	}
}

/* Connector gone: settle the outcome with the source, record it. */
static int dest_finish(struct destination *d)
{
	/* the source's failure, when it came first, stays the cause */
	if (d->conn.exited && !d->signal) {
		char how[128];
		if (d->trace_error[0])
			dest_fail(d, EXIT_FAILED, "%s", d->trace_error);
		else if (child_describe_exit(&d->conn, how, sizeof(how)))
			dest_fail(d, EXIT_FAILED, "the destination connector %s", how);
	}
	/* the source must stop too when we end first; then learn how it ended */
	if (d->ctl.fd >= 0 && !d->source_done) {
		if (d->code)
			control_sendf(&d->ctl, "abort", json_pack("{s:i, s:s}", "code", d->code,
								  "reason", d->reason));
		else
			log_info("the destination connector finished; waiting for the source to finish");
		int64_t deadline = now_ms() + (int64_t)(d->cfg->grace_period * 1000) + 5000;
		while (d->ctl.fd >= 0 && !d->source_done && now_ms() < deadline) {
			struct pollfd p[2] = { { .fd = d->ctl.fd, .events = POLLIN },
					       { .fd = d->sfd, .events = POLLIN } };
			poll(p, 2, 100);
			if (p[1].revents) {
				int sig = runtime_read_signal(d->sfd);
				if (sig > 0 && sig != SIGCHLD && !d->signal) {
					d->signal = sig;
					d->code = 0;
					dest_fail(d, 128 + sig, "stopped by signal %d", sig);
				}
				child_reap(NULL, 0);
			}
			if (p[0].revents)
				on_control(d);
		}
		if (!d->source_done)
			dest_fail(d, EXIT_FAILED, "the source did not finish after the destination connector exited");
	}
	persister_flush(&d->persist);
	settle_durable(d);
	int code = d->code;
	dest_record_run(d, code);
	if (d->ctl.fd >= 0)
		control_sendf(&d->ctl, "result", json_pack("{s:i, s:s}", "code", code,
							   "reason", code ? d->reason : ""));
	if (code)
		log_error("run %ld failed (exit %d): %s", d->run, code, d->reason);
	else
		log_info("run %ld succeeded: %llu state(s) committed to '%s'", d->run,
			 (unsigned long long)d->state_commits, d->store.state_path);
	return code;
}

static int dest_start(struct destination *d)
{
	const struct driver_config *cfg = d->cfg;
	struct ab_error err = { 0 };
	int r;

	if (catalog_load(&d->cat, cfg->catalog, &err) < 0) {
		log_error("cannot load the catalog '%s': %s (line %d, column %d)", cfg->catalog,
			  err.text, err.line, err.column);
		return EXIT_USAGE;
	}
	if (!cfg->destination_entrypoint || !*cfg->destination_entrypoint) {
		log_error("no destination connector command: set AIRBYTE_ENTRYPOINT (as Airbyte images do) or --destination-entrypoint");
		return EXIT_USAGE;
	}
	r = connector_check_config("destination", cfg->destination_entrypoint,
				   cfg->destination_config, cfg->spec_timeout, cfg->strict_config);
	if (r != 0)
		return r;
	r = store_open(&d->store, cfg->store_path, cfg->replication, true);
	if (r < 0) {
		log_error("cannot use the store '%s' for '%s': %s", cfg->store_path,
			  cfg->replication, strerror(-r));
		return EXIT_USAGE;
	}
	long holder = 0;
	d->lock_fd = store_lock(&d->store, false, &holder);
	if (d->lock_fd < 0) {
		if (d->lock_fd == -EWOULDBLOCK)
			log_error("replication '%s' is already running (process %ld holds '%s'); wait for it to finish",
				  cfg->replication, holder, d->store.lock_path);
		else
			log_error("cannot lock '%s': %s", d->store.lock_path, strerror(-d->lock_fd));
		return EXIT_USAGE;
	}
	store_remove_stale_temps(&d->store);
	json_t *doc = NULL;
	r = store_load_state(&d->store, &doc, &err);
	if (r < 0) {
		log_error("the state file '%s' is unreadable: %s (line %d, column %d); it is left untouched: fix it or move it away",
			  d->store.state_path, r == -EBADMSG ? err.text : strerror(-r), err.line,
			  err.column);
		return EXIT_USAGE;
	}
	d->state = json_incref(json_object_get(doc, "state"));
	if (json_is_null(d->state)) {
		json_decref(d->state);
		d->state = NULL;
	}
	json_decref(doc);
	d->committed = calloc(d->cat.n ? d->cat.n : 1, sizeof(uint64_t));
	d->pending = json_array();
	d->settled = json_object();
	d->estimates = json_object();
	d->statuses = json_object();
	d->source_stats = json_object();
	if (!d->committed || !d->pending || !d->settled || !d->estimates || !d->statuses || !d->source_stats ||
	    lines_init(&d->out, 64 << 10, cfg->max_line + 1) < 0 ||
	    lines_init(&d->errbuf, 16 << 10, 64 << 10) < 0) {
		log_error("out of memory");
		return EXIT_FAILED;
	}
	d->run = store_run_count(&d->store) + 1;
	if (cfg->metrics_addr) {
		const char *why = "";
		if (httpd_open(&d->http, cfg->metrics_addr, &why) < 0) {
			log_error("cannot serve metrics on '%s': %s", cfg->metrics_addr, why);
			return EXIT_USAGE;
		}
		log_info("serving metrics on http://%s/metrics", cfg->metrics_addr);
	}
	d->undurable = json_array();
	r = store_committer_open(&d->committer, &d->store);
	if (r == 0)
		r = persister_start(&d->persist, commit_text, &d->committer);
	if (r < 0 || !d->undurable) {
		log_error("cannot start the state writer: %s", strerror(r < 0 ? -r : ENOMEM));
		return EXIT_FAILED;
	}
	return prepare_pipes(d);
}

int destination_role(const struct driver_config *cfg)
{
	struct destination d = { .cfg = cfg, .listen_fd = -1, .keeper_fd = -1, .lock_fd = -1,
				 .http = { .fd = -1 },
				 .ctl = { .fd = -1 } };
	int code;

	d.conn.out_fd = d.conn.err_fd = -1;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	d.started_wall = wall_ms();
	d.started = now_ms();
	d.sfd = runtime_signals();
	if (d.sfd < 0) {
		log_error("cannot set up signal handling: %s", strerror(-d.sfd));
		return EXIT_FAILED;
	}
	code = dest_start(&d);
	if (code == 0)
		code = await_source(&d);
	if (code == 0)
		code = start_connector(&d);
	if (code == 0) {
		control_sendf(&d.ctl, "welcome", json_pack("{s:i, s:I, s:O?}", "v", CONTROL_VERSION,
							   "run", (json_int_t)d.run, "state", d.state));
		dest_loop(&d);
		code = dest_finish(&d);
	} else if (d.store.dir && (d.code || d.ctl.fd >= 0)) {
		/* failed before any data moved: still say why, to both */
		if (!d.code)
			d.code = code;
		if (d.ctl.fd >= 0)
			control_sendf(&d.ctl, "reject", json_pack("{s:i, s:s}", "code", code,
								  "reason", d.reason));
		dest_record_run(&d, code);
	}
	if (d.conn.pid > 0)
		kill(-d.conn.pid, SIGKILL);
	runtime_kill_orphans();
	persister_stop(&d.persist);
	store_committer_close(&d.committer);
	json_decref(d.undurable);
	close_keeper(&d);
	if (d.listen_fd >= 0)
		close(d.listen_fd);
	if (d.sock_path[0])
		unlink(d.sock_path);
	if (d.fifo_path[0])
		unlink(d.fifo_path);
	if (d.conn.out_fd >= 0)
		close(d.conn.out_fd);
	if (d.conn.err_fd >= 0)
		close(d.conn.err_fd);
	control_close(&d.ctl);
	lines_release(&d.out);
	lines_release(&d.errbuf);
	json_decref(d.state);
	json_decref(d.pending);
	json_decref(d.settled);
	json_decref(d.estimates);
	json_decref(d.statuses);
	json_decref(d.source_usage);
	json_decref(d.last_stats);
	httpd_close(&d.http);
	json_decref(d.source_stats);
	free(d.committed);
	if (d.lock_fd >= 0)
		close(d.lock_fd); /* last: the run is over */
	store_release(&d.store);
	catalog_release(&d.cat);
	close(d.sfd);
	return code;
}
