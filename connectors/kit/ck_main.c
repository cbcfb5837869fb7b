#include "ck_main.h"
#include "ck_out.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t terminated;
static char fail_msg[4096];
static const char *prog = "connector";

static void on_term(int sig)
{
	terminated = 1;
}

int ck_terminated(void)
{
	return terminated;
}

int ck_fail(const char *fmt, ...)
{
	va_list ap;

	if (fail_msg[0])
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *ck_failure(void)
{
	return fail_msg[0] ? fail_msg : NULL;
}

void ck_clear_failure(void)
{
	fail_msg[0] = '\0';
}

void ck_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

json_t *ck_load_json(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	j = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (!j)
		snprintf(err, errlen, "cannot parse '%s': line %d column %d: %s",
			 path, jerr.line, jerr.column, jerr.text);
	return j;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: blocking reads and writes return EINTR. */
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static int usage(const struct ck_connector *c, const char *why)
{
	if (why)
		fprintf(stderr, "%s: %s\n", prog, why);
	fprintf(stderr, "usage: %s spec\n"
		"       %s check --config FILE\n", prog, prog);
	if (c->discover)
		fprintf(stderr, "       %s discover --config FILE\n", prog);
	if (c->read)
		fprintf(stderr, "       %s read --config FILE --catalog FILE [--state FILE]\n", prog);
	if (c->write)
		fprintf(stderr, "       %s write --config FILE --catalog FILE\n", prog);
	return 2;
}

struct args {
	const char *cmd, *config, *catalog, *state;
};

static int parse_args(int argc, char **argv, struct args *a, char *why, size_t len)
{
	int i;

	memset(a, 0, sizeof(*a));
	if (argc < 2) {
		snprintf(why, len, "missing command");
		return -1;
	}
	a->cmd = argv[1];
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i], *val = NULL, *eq;
		const char **slot;
		size_t n;

		if (strncmp(opt, "--", 2)) {
			snprintf(why, len, "unexpected argument '%s'", opt);
			return -1;
		}
		eq = strchr(opt, '=');
		n = eq ? (size_t)(eq - opt) : strlen(opt);
		if (n == 8 && !strncmp(opt, "--config", n))
			slot = &a->config;
		else if (n == 9 && !strncmp(opt, "--catalog", n))
			slot = &a->catalog;
		else if (n == 7 && !strncmp(opt, "--state", n))
			slot = &a->state;
		else {
			snprintf(why, len, "unknown option '%s'", opt);
			return -1;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		if (!val || !*val) {
			snprintf(why, len, "option '%.*s' needs a file", (int)n, opt);
			return -1;
		}
		*slot = val;
	}
	return 0;
}

static int fail_exit(const char *msg)
{
	ck_emit_trace_error(msg);
	ck_out_flush();
	fprintf(stderr, "%s: %s\n", prog, msg);
	return 1;
}

int ck_main(int argc, char **argv, const struct ck_connector *c)
{
	json_t *config = NULL, *catalog = NULL, *state = NULL;
	char why[512], err[1024];
	struct args a;
	int r, code = 0, want_catalog = 0;

	prog = c->name;
	install_signals();
	if (parse_args(argc, argv, &a, why, sizeof(why)) < 0)
		return usage(c, why);
	if (!strcmp(a.cmd, "spec")) {
		if (a.config || a.catalog || a.state)
			return usage(c, "spec takes no options");
	} else if (!strcmp(a.cmd, "check") || (!strcmp(a.cmd, "discover") && c->discover)) {
		if (a.catalog || a.state)
			return usage(c, "only --config is allowed here");
	} else if ((!strcmp(a.cmd, "read") && c->read) ||
		   (!strcmp(a.cmd, "write") && c->write)) {
		want_catalog = 1;
		if (!a.catalog)
			return usage(c, "missing --catalog");
		if (a.state && c->write)
			return usage(c, "write takes no --state");
	} else if (!strcmp(a.cmd, "-h") || !strcmp(a.cmd, "--help") ||
		   !strcmp(a.cmd, "help")) {
		usage(c, NULL);
		return 0;
	} else {
		snprintf(why, sizeof(why), "unknown command '%s'", a.cmd);
		return usage(c, why);
	}
	if (strcmp(a.cmd, "spec") && !a.config)
		return usage(c, "missing --config");

	if (a.config && !(config = ck_load_json(a.config, err, sizeof(err)))) {
		code = fail_exit(err);
		goto out;
	}
	if (config && !json_is_object(config)) {
		snprintf(err, sizeof(err), "config '%s' is not a JSON object", a.config);
		code = fail_exit(err);
		goto out;
	}
	if (want_catalog) {
		catalog = ck_load_json(a.catalog, err, sizeof(err));
		if (!catalog || !json_is_array(json_object_get(catalog, "streams"))) {
			if (catalog)
				snprintf(err, sizeof(err), "catalog '%s' has no \"streams\" array",
					 a.catalog);
			code = fail_exit(err);
			goto out;
		}
	}
	if (a.state && !(state = ck_load_json(a.state, err, sizeof(err)))) {
		code = fail_exit(err);
		goto out;
	}

	if (!strcmp(a.cmd, "spec"))
		r = ck_emit_spec(c->spec_json);
	else if (!strcmp(a.cmd, "check"))
		r = c->check(config);
	else if (!strcmp(a.cmd, "discover"))
		r = c->discover(config);
	else if (!strcmp(a.cmd, "read"))
		r = c->read(config, catalog, state);
	else
		r = c->write(config, catalog);

	if (r >= 0)
		r = ck_out_flush();
	if (terminated) {
		fprintf(stderr, "%s: terminated\n", prog);
		code = 143;
	} else if (r == -EPIPE || ck_out_error() == -EPIPE) {
		code = 141;
	} else if (ck_out_error()) {
		fprintf(stderr, "%s: cannot write to stdout: %s\n", prog,
			strerror(-ck_out_error()));
		code = 1;
	} else if (r < 0) {
		if (!fail_msg[0])
			snprintf(fail_msg, sizeof(fail_msg), "%s failed: %s", a.cmd,
				 strerror(-r));
		code = fail_exit(fail_msg);
	}
out:
	json_decref(config);
	json_decref(catalog);
	json_decref(state);
	return code;
}
