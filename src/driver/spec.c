#include "driver/spec.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/child.h"
#include "driver/config.h"
#include "driver/runtime.h"
#include "protocol/lines.h"
#include "protocol/scan.h"
#include "util/log.h"
#include "util/secrets.h"
#include "util/words.h"
#include "validate/schema.h"

int connector_spec(const char *entrypoint, double timeout, json_t **spec, char *why, size_t cap)
{
	struct words argv = { 0 };
	struct child c;
	struct lines out = { 0 }, err = { 0 };
	int r;

	*spec = NULL;
	if (words_split(entrypoint, &argv) < 0 || words_push(&argv, "spec") < 0) {
		snprintf(why, cap, "the entrypoint cannot be split into words");
		words_release(&argv);
		return -EINVAL;
	}
	r = child_spawn(&c, "spec", argv.v, -1, true);
	words_release(&argv);
	if (r < 0) {
		snprintf(why, cap, "cannot execute it: %s", strerror(-r));
		return r;
	}
	lines_init(&out, 64 << 10, 64u << 20);
	lines_init(&err, 4 << 10, 64 << 10);
	int64_t deadline = now_ms() + (int64_t)(timeout * 1000);
	while ((c.out_fd >= 0 || c.err_fd >= 0) && !*spec) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd p[2] = { { .fd = c.out_fd, .events = POLLIN },
				       { .fd = c.err_fd, .events = POLLIN } };
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			ssize_t n = lines_fill(&err, c.err_fd);
			const char *l;
			size_t len;
			while (lines_next(&err, &l, &len) > 0)
				;
			if (n == 0 || (n < 0 && n != -EAGAIN && n != -E2BIG)) {
				close(c.err_fd);
				c.err_fd = -1;
			}
		}
		if (p[0].revents) {
			ssize_t n = lines_fill(&out, c.out_fd);
			const char *l;
			size_t len;
			while (!*spec && lines_next(&out, &l, &len) > 0) {
				struct ab_scan sc;
				if (ab_scan_line(l, len, &sc) == 0 && sc.type == AB_MSG_SPEC) {
					json_t *msg = json_loadb(l, len, 0, NULL);
					*spec = json_incref(json_object_get(msg, "spec"));
					json_decref(msg);
				}
			}
			if (n == 0 || (n < 0 && n != -EAGAIN)) {
				close(c.out_fd);
				c.out_fd = -1;
			}
		}
	}
	/* we have what we need: the process goes, whatever it was doing */
	kill(-c.pid, SIGKILL);
	waitpid(c.pid, NULL, 0);
	if (c.out_fd >= 0)
		close(c.out_fd);
	if (c.err_fd >= 0)
		close(c.err_fd);
	lines_release(&out);
	lines_release(&err);
	if (*spec)
		return 0;
	snprintf(why, cap, now_ms() >= deadline ? "no SPEC message within %.0f s" :
		 "it printed no SPEC message", timeout);
	return -ENOMSG;
}

int connector_check_config(const char *who, const char *entrypoint, const char *config_path,
			   double timeout, bool strict)
{
	json_error_t jerr;
	char why[256];
	json_t *spec = NULL;

	if (timeout <= 0)
		return 0;
	json_t *config = json_load_file(config_path, 0, &jerr);
	if (!config) {
		log_error("cannot read the %s config '%s': %s (line %d, column %d)", who, config_path,
			  jerr.text, jerr.line, jerr.column);
		return EXIT_USAGE;
	}
	int code = 0;
	if (connector_spec(entrypoint, timeout, &spec, why, sizeof(why)) < 0) {
		log_warn("the %s connector gave no specification (%s): its config is not checked and no field is treated as secret",
			 who, why);
		goto out;
	}
	int nsecrets = secrets_from_spec(spec, config);
	json_t *errors = json_array();
	int r = schema_validate_connector_config(spec, config, errors);
	if (r == 1) {
		size_t i;
		json_t *e;
		enum log_level level = strict ? LOG_ERROR : LOG_WARN;
		log_msg(level, "the %s config '%s' does not match the connector's specification%s:",
			who, config_path, strict ? "" : " (going on: --strict-config makes this fatal)");
		json_array_foreach(errors, i, e) {
			const char *path = json_string_value(json_object_get(e, "path"));
			log_msg(level, "  %s: %s", path && *path ? path : "(root)",
				json_string_value(json_object_get(e, "message")));
		}
		code = strict ? EXIT_USAGE : 0;
	} else if (r < 0) {
		log_warn("the %s connector's specification is not a usable JSON Schema: its config is not checked",
			 who);
	} else {
		log_debug("the %s config matches the connector's specification (%d secret field(s) masked)",
			  who, nsecrets);
	}
	json_decref(errors);
out:
	json_decref(spec);
	json_decref(config);
	return code;
}
