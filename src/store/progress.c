#include "store/progress.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string for the rendered text. */
struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->s && (size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t ncap = (t->cap + (size_t)n + 1) * 2;
		char *ns = realloc(t->s, ncap);
		if (!ns) {
			t->oom = true;
			return;
		}
		t->s = ns;
		t->cap = ncap;
	}
}

void progress_human_bytes(double b, char *buf, size_t cap)
{
	const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static const json_t *prev_stream(const json_t *prev, const char *name)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(prev, "streams"), i, s)
		if (!strcmp(json_string_value(json_object_get(s, "name")), name))
			return s;
	return NULL;
}

json_t *progress_figures(const json_t *stats, const json_t *prev)
{
	json_t *out = json_deep_copy(stats);
	if (!out)
		return NULL;
	double dt = (num(stats, "duration_ms") - (prev ? num(prev, "duration_ms") : 0)) / 1000.0;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(out, "streams"), i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		const json_t *ps = prev ? prev_stream(prev, name) : NULL;
		double rec = num(s, "records_emitted");
		double rate = dt > 0 ? (rec - (ps ? num(ps, "records_emitted") : 0)) / dt : 0;
		json_object_set_new(s, "records_per_second", json_real(rate));
		double est = num(json_object_get(s, "estimate"), "row_estimate");
		if (est > 0) {
			double frac = rec / est > 1 ? 1 : rec / est;
			json_object_set_new(s, "progress", json_real(frac));
			if (rate > 0 && rec < est)
				json_object_set_new(s, "eta_seconds", json_real((est - rec) / rate));
		}
	}
	return out;
}

int progress_render(const json_t *stats, const json_t *prev, char **out)
{
	struct text t = { 0 };
	json_t *fig = progress_figures(stats, prev);
	char b[32];
	size_t i;
	json_t *s;

	if (!fig)
		return -ENOMEM;
	const char *status = json_string_value(json_object_get(fig, "status"));
	progress_human_bytes(num(fig, "bytes_emitted"), b, sizeof(b));
	double secs = num(fig, "duration_ms") / 1000.0;
	add(&t, "%s, run %lld: %s for %.1f s, %.0f records read (%s), %.0f committed, %.0f state commits\n",
	    json_string_value(json_object_get(fig, "replication")),
	    json_integer_value(json_object_get(fig, "run")), status ? status : "?", secs,
	    num(fig, "records_emitted"), b, num(fig, "records_committed"), num(fig, "state_commits"));
	json_array_foreach(json_object_get(fig, "streams"), i, s) {
		const char *ss = json_string_value(json_object_get(s, "status"));
		progress_human_bytes(num(s, "bytes_emitted"), b, sizeof(b));
		add(&t, "  %-24s %12.0f records %11s %10.0f rec/s", json_string_value(json_object_get(s, "name")),
		    num(s, "records_emitted"), b, num(s, "records_per_second"));
		json_t *p = json_object_get(s, "progress");
		if (p) {
			int filled = (int)(json_real_value(p) * 20 + 0.5);
			add(&t, "  [%.*s%.*s] %3.0f%%", filled, "####################", 20 - filled,
			    "....................", json_real_value(p) * 100);
			json_t *eta = json_object_get(s, "eta_seconds");
			if (eta)
				add(&t, " ETA %.0f s", json_real_value(eta));
		}
		if (ss)
			add(&t, "  %s", ss);
		add(&t, "\n");
	}
	json_decref(fig);
	if (t.oom) {
		free(t.s);
		return -ENOMEM;
	}
	*out = t.s ? t.s : strdup("");
	return *out ? 0 : -ENOMEM;
}
