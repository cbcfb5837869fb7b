/*
 * source.c - the source role: connect to the destination driver, receive
 * the input state, run the source connector and relay its RECORD and STATE
 * lines into the data FIFO, counting per stream; everything else the
 * connector prints is logged.  The destination decides the final outcome.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "driver/child.h"
#include "driver/control.h"
#include "driver/relay.h"
#include "driver/roles.h"
#include "driver/runtime.h"
#include "driver/spec.h"
#include "protocol/state.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/secrets.h"
#include "util/words.h"

#define RELAY_BUFFER (1u << 20)
#define PIPE_SIZE (1 << 20)
#define STATS_INTERVAL_MS 1000

struct source {
	const struct driver_config *cfg;
	struct catalog cat;
	struct control ctl;
	struct child conn;
	struct relay relay;
	struct lines errbuf;
	int sfd, fifo_fd;
	char state_file[4096];
	uint64_t state_seq;
	uint64_t records_at_state; /* records forwarded before the last STATE */
	int64_t last_output, next_stats, term_at, exit_seen;
	int64_t blocked_since;   /* output waiting for the destination since */
	int signal;              /* signal that stopped us, 0 if none */
	int code;                /* first failure, 0 while fine */
	char reason[1024];
	char trace_error[1024];  /* the connector's TRACE ERROR message */
	json_t *result;          /* the destination's result or abort */
};

static void source_fail(struct source *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void source_fail(struct source *s, int code, const char *fmt, ...)
{
	va_list ap;
	if (s->code)
		return; /* the first failure is the cause */
	s->code = code;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	secrets_mask_inplace(s->reason, sizeof(s->reason));
	log_error("%s", s->reason);
}

/* --- what the connector prints besides records ------------------------ */

static json_t *records_snapshot(const struct source *s)
{
	json_t *a = json_array();
	for (size_t i = 0; i < s->cat.n; i++)
		json_array_append_new(a, json_integer((json_int_t)s->relay.records[i]));
	return a;
}

static int on_state(struct source *s, json_t *msg)
{
	json_t *state = json_object_get(msg, "state");
	uint64_t fp;
	if (state_fingerprint(state, &fp) < 0) {
		log_warn("dropping a STATE message without a \"state\" object");
		return RELAY_DROP;
	}
	char fps[32];
	snprintf(fps, sizeof(fps), "%016llx", (unsigned long long)fp);
	/* sourceStats.recordCount counts records since the previous state */
	uint64_t total = s->relay.messages[AB_MSG_RECORD];
	uint64_t since = total - s->records_at_state;
	json_t *stats = json_object_get(state, "sourceStats");
	json_t *rc = json_object_get(stats, "recordCount");
	if (rc && (uint64_t)json_number_value(rc) != since)
		log_warn("record count mismatch at state %llu: the source says %.0f records, the driver counted %llu",
			 (unsigned long long)s->state_seq + 1, json_number_value(rc),
			 (unsigned long long)since);
	s->records_at_state = total;
	/* the note travels before the bytes: the destination can always match */
	json_t *note = json_pack("{s:I, s:s, s:o}", "seq", (json_int_t)++s->state_seq,
				 "fp", fps, "records", records_snapshot(s));
	if (stats)
		json_object_set(note, "source_stats", stats);
	control_sendf(&s->ctl, "state", note);
	return RELAY_FORWARD;
}

static void on_trace(struct source *s, json_t *msg)
{
	json_t *trace = json_object_get(msg, "trace");
	const char *type = json_string_value(json_object_get(trace, "type"));
	if (type && !strcmp(type, "ERROR")) {
		json_t *err = json_object_get(trace, "error");
		const char *m = json_string_value(json_object_get(err, "message"));
		if (!s->trace_error[0])
			snprintf(s->trace_error, sizeof(s->trace_error), "%s",
				 m ? m : "source connector reported an error");
		log_connector_line(LOG_ERROR, s->conn.name, s->trace_error,
				   strlen(s->trace_error));
		return;
	}
	if (type && !strcmp(type, "ESTIMATE"))
		control_sendf(&s->ctl, "estimate",
			      json_pack("{s:O}", "estimate", json_object_get(trace, "estimate")));
	if (type && !strcmp(type, "STREAM_STATUS")) {
		json_t *st = json_object_get(trace, "stream_status");
		json_t *desc = json_object_get(st, "stream_descriptor");
		const char *name = json_string_value(json_object_get(desc, "name"));
		const char *status = json_string_value(json_object_get(st, "status"));
		if (name && status)
			control_sendf(&s->ctl, "stream_status",
				      json_pack("{s:s, s:s}", "name", name, "status", status));
	}
}

static int on_line(void *ctx, const char *line, size_t len,
		   const struct ab_scan *sc, int scan_result)
{
	struct source *s = ctx;

	if (scan_result == -ENOENT) {
		char name[512], ns[512];
		long n = ab_scan_unescape(sc->stream, sc->stream_len, name, sizeof(name));
		long m = sc->ns ? ab_scan_unescape(sc->ns, sc->ns_len, ns, sizeof(ns)) : -1;
		source_fail(s, EXIT_FAILED,
			    "the source sent a RECORD for stream '%s%s%s', which is not in the configured catalog '%s'",
			    m >= 0 ? ns : "", m >= 0 ? "." : "", n >= 0 ? name : "?",
			    s->cfg->catalog);
		return -ENOENT;
	}
	if (scan_result < 0 || sc->type == AB_MSG_NONE) {
		/* not an AirbyteMessage: connector log output */
		log_connector_line(LOG_INFO, s->conn.name, line, len);
		return RELAY_DROP;
	}
	if (sc->type == AB_MSG_LOG) {   /* the commonest: no tree for it */
		runtime_log_message(s->conn.name, line, len);
		return RELAY_DROP;
	}
	json_t *msg = json_loadb(line, len, 0, NULL);
	int verdict = RELAY_DROP;
	switch (sc->type) {
	case AB_MSG_STATE:
		verdict = on_state(s, msg);
		break;
	case AB_MSG_TRACE:
		on_trace(s, msg);
		break;
	case AB_MSG_CONTROL:
		control_sendf(&s->ctl, "control", json_pack("{s:O}", "message", msg));
		break;
	default:
		log_connector_line(LOG_INFO, s->conn.name, line, len);
		break;
	}
	json_decref(msg);
	return verdict;
}

/* --- handshake --------------------------------------------------------- */

static int source_connect(struct source *s, const char *sock)
{
	int64_t deadline = now_ms() + (int64_t)(s->cfg->connect_timeout * 1000);
	int64_t started = now_ms();
	int delay = 1;
	bool said = false;

	for (;;) {
		int r = control_connect(&s->ctl, sock);
		if (r == 0)
			return 0;
		if (r != -ENOENT && r != -ECONNREFUSED) {
			log_error("cannot connect to '%s': %s", sock, strerror(-r));
			return EXIT_FAILED;
		}
		if (!said && now_ms() - started > 50) {
			log_info("waiting for the destination driver on '%s'", sock);
			said = true;
		}
		if (now_ms() >= deadline) {
			log_error("no destination driver listened on '%s' within %.0f s; start the destination role with the same --pipes-dir",
				  sock, s->cfg->connect_timeout);
			return EXIT_TIMEOUT;
		}
		struct pollfd p = { .fd = s->sfd, .events = POLLIN };
		if (poll(&p, 1, delay) > 0) {
			int sig = runtime_read_signal(s->sfd);
			if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) {
				log_info("stopped by signal %d while waiting for the destination", sig);
				return 128 + sig;
			}
		}
		/* poll fast at first: with `run` the destination is ready in ms */
		if (now_ms() - started > 50)
			delay = delay < 500 ? delay * 2 : 500;
	}
}

/* Wait for one control message (handshake replies); NULL on EOF/timeout. */
static json_t *source_await(struct source *s, int timeout_ms, int *sig)
{
	int64_t deadline = now_ms() + timeout_ms;
	json_t *msg = NULL;
	*sig = 0;
	while (control_next(&s->ctl, &msg) == 0) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return NULL;
		struct pollfd p[2] = { { .fd = s->ctl.fd, .events = POLLIN },
				       { .fd = s->sfd, .events = POLLIN } };
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			return NULL;
		if (p[1].revents) {
			int n = runtime_read_signal(s->sfd);
			if (n != SIGCHLD && n > 0) {
				*sig = n;
				return NULL;
			}
		}
		if (p[0].revents) {
			ssize_t n = control_fill(&s->ctl);
			if (n == 0 || (n < 0 && n != -EAGAIN))
				return NULL;
		}
	}
	return msg;
}

static int write_state_file(struct source *s, const json_t *state)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(s->state_file, sizeof(s->state_file), "%s/airbyte-state-XXXXXX.json",
		 tmp && *tmp ? tmp : "/tmp");
	int fd = mkostemps(s->state_file, 5, O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		log_error("cannot create a state file in '%s': %s", tmp ? tmp : "/tmp", strerror(errno));
		s->state_file[0] = '\0';
		return r;
	}
	char *text = json_dumps(state, JSON_COMPACT | JSON_ENCODE_ANY);
	int r = text ? fs_write_all(fd, text, strlen(text)) : -ENOMEM;
	free(text);
	close(fd);
	return r;
}

/* --- the loop ---------------------------------------------------------- */

static void source_send_stats(struct source *s)
{
	json_t *msgs = json_object();
	for (int t = 1; t < AB_MSG_TYPE_COUNT; t++)
		if (s->relay.messages[t])
			json_object_set_new(msgs, ab_msg_type_name(t),
					    json_integer((json_int_t)s->relay.messages[t]));
	json_t *bytes = json_array();
	for (size_t i = 0; i < s->cat.n; i++)
		json_array_append_new(bytes, json_integer((json_int_t)s->relay.bytes[i]));
	control_sendf(&s->ctl, "stats",
		      json_pack("{s:o, s:o, s:o, s:I, s:I}", "records", records_snapshot(s),
				"bytes", bytes, "messages", msgs,
				"invalid", (json_int_t)s->relay.invalid,
				"bytes_read", (json_int_t)s->relay.total_bytes));
}

static void close_fifo(struct source *s)
{
	if (s->fifo_fd >= 0)
		close(s->fifo_fd);
	s->fifo_fd = -1;
	s->relay.out_fd = -1;  /* the relay splices into it */
}

static void close_output(struct source *s)
{
	if (s->conn.out_fd >= 0)
		close(s->conn.out_fd);
	s->conn.out_fd = -1;
	s->relay.in_fd = -1;   /* the relay splices from it */
}

static void source_handle_control(struct source *s)
{
	ssize_t n;
	while ((n = control_fill(&s->ctl)) > 0)
		;
	json_t *msg;
	int r;
	while ((r = control_next(&s->ctl, &msg)) != 0) {
		if (r < 0)
			continue;
		const char *t = control_type(msg);
		if (!strcmp(t, "abort") || !strcmp(t, "result")) {
			if (!s->result || !strcmp(t, "result")) {
				json_decref(s->result);
				s->result = json_incref(msg);
			}
			if (!strcmp(t, "abort") && !s->code) {
				const char *why = json_string_value(json_object_get(msg, "reason"));
				source_fail(s, (int)json_integer_value(json_object_get(msg, "code")),
					    "the destination stopped the replication: %s", why ? why : "?");
			}
		}
		json_decref(msg);
	}
	/* the loop above ends at n <= 0: end of file or an error, not EAGAIN */
	if (n != -EAGAIN) {
		control_close(&s->ctl);
		if (!s->result)
			source_fail(s, EXIT_FAILED, "the destination driver disconnected");
	}
}

/* Stop reading and stop the connector after a failure or a signal. */
static void source_stopping(struct source *s)
{
	/* what is not forwarded yet is dropped: no state after it commits */
	close_fifo(s);
	close_output(s);
	runtime_stop_child(&s->conn, &s->term_at, (int64_t)(s->cfg->grace_period * 1000));
}

static void source_loop(struct source *s)
{
	struct child *known[] = { &s->conn };

	s->last_output = now_ms();
	s->next_stats = s->last_output + STATS_INTERVAL_MS;
	while (!(s->conn.exited && s->conn.out_fd < 0 && s->conn.err_fd < 0 &&
		 (relay_pending(&s->relay) == 0 || s->fifo_fd < 0))) {
		struct pollfd p[5];
		int np = 0, i_out = -1, i_err = -1, i_fifo = -1, i_ctl = -1;
		p[np++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
		if (s->ctl.fd >= 0) {
			i_ctl = np;
			p[np++] = (struct pollfd){ .fd = s->ctl.fd, .events = POLLIN };
		}
		if (s->conn.out_fd >= 0 && relay_can_read(&s->relay)) {
			i_out = np;
			p[np++] = (struct pollfd){ .fd = s->conn.out_fd, .events = POLLIN };
		}
		if (s->conn.err_fd >= 0) {
			i_err = np;
			p[np++] = (struct pollfd){ .fd = s->conn.err_fd, .events = POLLIN };
		}
		if (s->fifo_fd >= 0 && relay_pending(&s->relay)) {
			i_fifo = np;
			p[np++] = (struct pollfd){ .fd = s->fifo_fd, .events = POLLOUT };
		}
		int64_t now = now_ms();
		int64_t wake = s->next_stats;
		if (s->term_at)
			wake = wake < now + 100 ? wake : now + 100;
		int timeout = wake > now ? (int)(wake - now) : 0;
		if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR) {
			source_fail(s, EXIT_FAILED, "poll: %s", strerror(errno));
			break;
		}
		log_hold(); /* a line logged per line read: not a write(2) each */

		if (p[0].revents) {
			int sig;
			while ((sig = runtime_read_signal(s->sfd)) > 0) {
				if (sig == SIGCHLD) {
					child_reap(known, 1);
				} else if (!s->signal) {
					s->signal = sig;
					log_info("stopping on signal %d", sig);
					source_fail(s, 128 + sig, "stopped by signal %d", sig);
				}
			}
		}
		if (i_ctl >= 0 && p[i_ctl].revents)
			source_handle_control(s);
		if (i_out >= 0 && p[i_out].revents && !s->code) {
			ssize_t n = relay_read(&s->relay, s->conn.out_fd);
			if (n > 0 || n == 0) {
				s->last_output = now_ms();
				int r = relay_scan(&s->relay);
				(void)r; /* a failing line has called source_fail() */
				if (n == 0)
					close_output(s);
			} else if (n == -E2BIG) {
				source_fail(s, EXIT_FAILED,
					    "%s printed a line longer than the limit of %lu bytes; raise --max-line-bytes if this is expected",
					    s->conn.name, s->cfg->max_line);
			} else if (n != -EAGAIN) {
				source_fail(s, EXIT_FAILED, "reading from %s: %s", s->conn.name,
					    strerror((int)-n));
			}
		}
		if (i_err >= 0 && p[i_err].revents)
			runtime_drain_stderr(&s->conn, &s->errbuf);
		if (s->fifo_fd >= 0 && relay_pending(&s->relay) &&
		    (i_fifo < 0 || p[i_fifo].revents || s->conn.out_fd < 0)) {
			int r = relay_write(&s->relay, s->fifo_fd);
			if (r == 0 && !s->code)
				relay_scan(&s->relay); /* splice mode: the rest of what was read */
			if (r < 0 && r != -EAGAIN) {
				close_fifo(s);
				/* when the destination driver died, its connector died
				 * with it: give its socket's end of file a moment to
				 * arrive, and say that rather than what followed */
				if (s->ctl.fd >= 0 &&
				    poll(&(struct pollfd){ .fd = s->ctl.fd, .events = POLLIN }, 1, 100) > 0)
					source_handle_control(s);
				source_fail(s, EXIT_FAILED,
					    "the destination stopped reading its input (%s)", strerror(-r));
			}
		}

		now = now_ms();
		if (relay_pending(&s->relay) && !relay_can_read(&s->relay)) {
			/* waiting for the destination, not the source */
			s->last_output = now;
			if (!s->blocked_since)
				s->blocked_since = now;
			if (!s->code && s->cfg->heartbeat_timeout > 0 &&
			    now - s->blocked_since > (int64_t)(s->cfg->heartbeat_timeout * 1000))
				source_fail(s, EXIT_TIMEOUT,
					    "the destination connector has not read its input for %.0f s (heartbeat timeout)",
					    s->cfg->heartbeat_timeout);
		} else {
			s->blocked_since = 0;
		}
		if (now >= s->next_stats) {
			s->next_stats = now + STATS_INTERVAL_MS;
			source_send_stats(s);
		}
		if (!s->code && s->cfg->heartbeat_timeout > 0 && s->conn.out_fd >= 0 &&
		    now - s->last_output > (int64_t)(s->cfg->heartbeat_timeout * 1000))
			source_fail(s, EXIT_TIMEOUT,
				    "no message from %s for %.0f s (heartbeat timeout)",
				    s->conn.name, s->cfg->heartbeat_timeout);
		if (s->code)
			source_stopping(s);
		if (!s->conn.exited)
			child_reap(known, 1);
		runtime_linger(&s->conn, &s->exit_seen, (int64_t)(s->cfg->grace_period * 1000));
		log_release();
	}
}

static bool has_result(const struct source *s)
{
	return s->result && !strcmp(control_type(s->result), "result");
}

/* After the connector: tell the destination how it went, await the result. */
static int source_finish(struct source *s)
{
	close_fifo(s);
	if (!s->code && s->conn.exited) {
		char how[128];
		if (s->trace_error[0])
			source_fail(s, EXIT_FAILED, "%s", s->trace_error);
		else if (child_describe_exit(&s->conn, how, sizeof(how)))
			source_fail(s, EXIT_FAILED, "the source connector %s", how);
	}
	if (s->ctl.fd >= 0) {
		source_send_stats(s);
		control_sendf(&s->ctl, "done", json_pack("{s:i, s:s, s:{s:f, s:I}}", "code", s->code,
							 "reason", s->reason, "connector",
							 "cpu_seconds", s->conn.cpu_seconds,
							 "max_rss_bytes", (json_int_t)s->conn.max_rss_kb * 1024));
	}
	/* the destination decides; a signal while waiting still stops us */
	while (!has_result(s) && s->ctl.fd >= 0) {
		struct pollfd p[2] = { { .fd = s->ctl.fd, .events = POLLIN },
				       { .fd = s->sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			int sig = runtime_read_signal(s->sfd);
			if (sig > 0 && sig != SIGCHLD)
				return 128 + sig;
			child_reap(NULL, 0);
		}
		if (p[0].revents)
			source_handle_control(s);
	}
	if (!has_result(s)) {
		log_error("the destination driver went away before reporting the result");
		return s->code ? s->code : EXIT_FAILED;
	}
	int code = (int)json_integer_value(json_object_get(s->result, "code"));
	const char *why = json_string_value(json_object_get(s->result, "reason"));
	if (code)
		log_info("replication failed (exit %d): %s", code, why ? why : "");
	else
		log_info("replication succeeded");
	return code;
}

static int source_start(struct source *s, const struct driver_config *cfg)
{
	struct ab_error err = { 0 };
	char sock[4096], fifo[4096];
	struct words argv = { 0 };
	int sig, r;

	if (!cfg->source_entrypoint || !*cfg->source_entrypoint) {
		log_error("no source connector command: set AIRBYTE_ENTRYPOINT (as Airbyte images do) or --source-entrypoint");
		return EXIT_USAGE;
	}
	if (words_split(cfg->source_entrypoint, &argv) < 0) {
		log_error("cannot split the source entrypoint '%s' into words (unbalanced quotes?)",
			  cfg->source_entrypoint);
		return EXIT_USAGE;
	}
	snprintf(sock, sizeof(sock), "%s/%s", cfg->pipes_dir, CONTROL_SOCKET);
	snprintf(fifo, sizeof(fifo), "%s/%s", cfg->pipes_dir, CONTROL_DATA_FIFO);
	if ((r = source_connect(s, sock)) != 0)
		goto out;
	control_sendf(&s->ctl, "hello", json_pack("{s:i, s:s}", "v", CONTROL_VERSION,
						  "replication", cfg->replication));
	json_t *welcome = source_await(s, (int)(cfg->connect_timeout * 1000), &sig);
	if (!welcome || strcmp(control_type(welcome), "welcome")) {
		const char *why = json_string_value(json_object_get(welcome, "reason"));
		json_t *code = json_object_get(welcome, "code");
		r = sig ? 128 + sig : code ? (int)json_integer_value(code) :
		    welcome ? EXIT_USAGE : EXIT_FAILED;
		if (!sig)
			log_error("the destination driver refused the handshake: %s",
				  why ? why : "no answer");
		json_decref(welcome);
		goto out;
	}
	json_t *state = json_object_get(welcome, "state");
	if (state && !json_is_null(state) && write_state_file(s, state) < 0) {
		json_decref(welcome);
		r = EXIT_FAILED;
		goto out;
	}
	log_info("connected to the destination (run %lld, input state: %s)",
		 (long long)json_integer_value(json_object_get(welcome, "run")),
		 s->state_file[0] ? state_type_name(state_doc_type(state)) : "none");
	json_decref(welcome);

	/* from here on a failure reaches the destination and the run record */
	if (catalog_load(&s->cat, cfg->catalog, &err) < 0) {
		source_fail(s, EXIT_USAGE, "cannot load the catalog '%s': %s (line %d, column %d)",
			    cfg->catalog, err.text, err.line, err.column);
		r = 0;
		goto out;
	}
	if (relay_init(&s->relay, &s->cat, RELAY_BUFFER, cfg->max_line + 1, on_line, s) < 0) {
		source_fail(s, EXIT_FAILED, "out of memory");
		r = 0;
		goto out;
	}
	if (connector_check_config("source", cfg->source_entrypoint, cfg->source_config,
				   cfg->spec_timeout, cfg->strict_config) != 0) {
		source_fail(s, EXIT_USAGE, "the source config '%s' is unusable (see the errors above)",
			    cfg->source_config);
		r = 0;
		goto out;
	}

	/* the destination holds a reader open: a non-blocking open succeeds */
	s->fifo_fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->fifo_fd < 0) {
		log_error("cannot open the data pipe '%s': %s", fifo, strerror(errno));
		r = EXIT_FAILED;
		goto out;
	}
	fcntl(s->fifo_fd, F_SETPIPE_SZ, PIPE_SIZE);
	control_sendf(&s->ctl, "open", NULL);

	const char *extra[] = { "read", "--config", cfg->source_config, "--catalog", cfg->catalog,
				s->state_file[0] ? "--state" : NULL, s->state_file };
	for (size_t i = 0; i < sizeof(extra) / sizeof(*extra) && extra[i]; i++)
		words_push(&argv, extra[i]);
	r = child_spawn(&s->conn, "source-connector", argv.v, -1, true);
	if (r < 0) {
		int code = s->conn.exec_errno ? child_exec_failure_code(s->conn.exec_errno) : EXIT_FAILED;
		source_fail(s, code, "cannot execute the source connector '%s': %s",
			    argv.v[0], strerror(-r));
		r = 0; /* reported through source_finish */
		goto out;
	}
	fcntl(s->conn.out_fd, F_SETPIPE_SZ, PIPE_SIZE);
	/* both ends are pipes (unless a test says otherwise): no copy out and back */
	if (relay_splice(&s->relay, s->conn.out_fd, s->fifo_fd) < 0)
		log_debug("relaying through a buffer: the connector's output or the data pipe is not a pipe");
	log_info("started the source connector: %s read (pid %d)", cfg->source_entrypoint,
		 (int)s->conn.pid);
	r = 0;
out:
	words_release(&argv);
	return r;
}

int source_role(const struct driver_config *cfg)
{
	struct source s = { .cfg = cfg, .fifo_fd = -1, .ctl = { .fd = -1 } };
	int code;

	s.conn.out_fd = s.conn.err_fd = -1;
	/* orphans of the connector (even in new sessions) come back to us */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	s.sfd = runtime_signals();
	if (s.sfd < 0) {
		log_error("cannot set up signal handling: %s", strerror(-s.sfd));
		return EXIT_FAILED;
	}
	if (lines_init(&s.errbuf, 16 << 10, 64 << 10) < 0) {
		log_error("out of memory");
		return EXIT_FAILED;
	}
	code = source_start(&s, cfg);
	if (code == 0) {
		if (s.conn.pid > 0)
			source_loop(&s);
		code = source_finish(&s);
	}
	if (s.conn.pid > 0)
		kill(-s.conn.pid, SIGKILL); /* anything the connector left behind */
	runtime_kill_orphans();
	if (s.state_file[0])
		unlink(s.state_file);
	close_fifo(&s);
	close_output(&s);
	control_close(&s.ctl);
	json_decref(s.result);
	relay_release(&s.relay);
	lines_release(&s.errbuf);
	catalog_release(&s.cat);
	close(s.sfd);
	return code;
}
