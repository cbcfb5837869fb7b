#include "driver/spec.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/child.h"
#include "driver/config.h"
#include "driver/runtime.h"
#include "protocol/lines.h"
#include "protocol/scan.h"
#include "util/fs.h"
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

/*
 * Specs are cached, because asking costs a connector start (a second or
 * more for node or Python connectors).  The key covers the command line
 * and the identity (size, mtime, inode) of every word of it that names a
 * file, the program found in PATH included: a changed connector misses.
 */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static bool spec_cache_path(const char *entrypoint, char *path, size_t cap)
{
	struct words w = { 0 };
	uint64_t h = 1469598103934665603ULL;
	const char *dir = getenv("AIRBYTE_SPEC_CACHE");
	const char *tmp = getenv("TMPDIR");
	char base[4096];

	if (words_split(entrypoint, &w) < 0)
		return false;
	h = fnv(h, entrypoint, strlen(entrypoint));
	for (size_t i = 0; i < w.n; i++) {
		struct stat st;
		char found[4096];
		const char *f = w.v[i];
		if (i == 0 && !strchr(f, '/')) {
			/* the program as PATH finds it */
			const char *pathenv = getenv("PATH");
			for (const char *p = pathenv ? pathenv : ""; *p;) {
				const char *end = strchrnul(p, ':');
				snprintf(found, sizeof(found), "%.*s/%s", (int)(end - p), p, f);
				if (access(found, X_OK) == 0) {
					f = found;
					break;
				}
				p = *end ? end + 1 : end;
			}
		}
		if (stat(f, &st) == 0) {
			h = fnv(h, &st.st_size, sizeof(st.st_size));
			h = fnv(h, &st.st_mtim, sizeof(st.st_mtim));
			h = fnv(h, &st.st_ino, sizeof(st.st_ino));
		}
	}
	words_release(&w);
	if (dir && *dir)
		snprintf(base, sizeof(base), "%s", dir);
	else
		snprintf(base, sizeof(base), "%s/airbyte-spec-cache", tmp && *tmp ? tmp : "/tmp");
	if (fs_mkdir_p(base, 0700) < 0)
		return false;
	return snprintf(path, cap, "%s/%016llx.json", base, (unsigned long long)h) < (int)cap;
}

static int connector_spec_cached(const char *entrypoint, double timeout, json_t **spec,
				 char *why, size_t cap)
{
	char path[4200];
	bool cacheable = spec_cache_path(entrypoint, path, sizeof(path));
	if (cacheable && (*spec = json_load_file(path, 0, NULL)) != NULL)
		return 0;
	int r = connector_spec(entrypoint, timeout, spec, why, cap);
	if (r == 0 && cacheable) {
		char *text = json_dumps(*spec, JSON_COMPACT);
		if (text)
			fs_write_atomic(path, text, strlen(text), 0600, false);
		free(text);
	}
	return r;
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
	if (connector_spec_cached(entrypoint, timeout, &spec, why, sizeof(why)) < 0) {
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
