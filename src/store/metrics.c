#include "store/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "airbyte_replication_"

/* A growing text buffer whose first failure sticks (checked once at the end). */
struct mbuf {
	char *p;
	size_t len, cap;
	int err;
};

static bool mb_reserve(struct mbuf *b, size_t more)
{
	if (b->err)
		return false;
	if (more < b->cap - b->len)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (more >= cap - b->len) {
		if (cap > SIZE_MAX / 2) {
			b->err = -ENOMEM;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void mb_add(struct mbuf *b, const char *s, size_t n)
{
	if (!mb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void mb_puts(struct mbuf *b, const char *s)
{
	mb_add(b, s, strlen(s));
}

/* A label value between double quotes: \ " and newline escaped. */
static void mb_label_value(struct mbuf *b, const char *v)
{
	mb_add(b, "\"", 1);
	for (const char *run = v;; v++) {
		const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" :
				  *v == '\n' ? "\\n" : NULL;
		if (esc || !*v) {
			mb_add(b, run, (size_t)(v - run));
			if (!*v)
				break;
			mb_puts(b, esc);
			run = v + 1;
		}
	}
	mb_add(b, "\"", 1);
}

struct label {
	const char *name, *value; /* value NULL: label left out */
};

/* "# HELP" and "# TYPE" lines of one family. */
static void family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mb_puts(b, "# HELP " PREFIX);
	mb_puts(b, name);
	mb_puts(b, " ");
	mb_puts(b, help);
	mb_puts(b, "\n# TYPE " PREFIX);
	mb_puts(b, name);
	mb_puts(b, " ");
	mb_puts(b, type);
	mb_puts(b, "\n");
}

/*
 * A sample value: integers exactly, reals (or integers / divisor) in the
 * shortest form that reads back the same.  False when v is not a number.
 */
static bool format_value(char *buf, size_t cap, const json_t *v, double divisor)
{
	if (json_is_integer(v) && divisor == 1.0) {
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return true;
	}
	if (!json_is_number(v))
		return false;
	double d = json_number_value(v) / divisor;
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return true;
}

/* One sample line: name{replication="..",labels..} value. */
static void sample(struct mbuf *b, const char *name, const char *replication,
		   const struct label *labels, size_t nlabels, const char *value)
{
	mb_puts(b, PREFIX);
	mb_puts(b, name);
	mb_puts(b, "{replication=");
	mb_label_value(b, replication);
	for (size_t i = 0; i < nlabels; i++) {
		if (!labels[i].value)
			continue;
		mb_puts(b, ",");
		mb_puts(b, labels[i].name);
		mb_puts(b, "=");
		mb_label_value(b, labels[i].value);
	}
	mb_puts(b, "} ");
	mb_puts(b, value);
	mb_puts(b, "\n");
}

/* A family with one sample of stats[key] / divisor; left out when missing. */
static void single(struct mbuf *b, const json_t *stats, const char *replication,
		   const char *key, double divisor, const char *name, const char *type,
		   const char *help)
{
	char v[64];

	if (!format_value(v, sizeof(v), json_object_get(stats, key), divisor))
		return;
	family(b, name, type, help);
	sample(b, name, replication, NULL, 0, v);
}

/*
 * A per-stream counter from streams[].key.  Without a "streams" array the
 * document's total of the same name is the one sample, with no stream label.
 */
static void per_stream(struct mbuf *b, const json_t *stats, const char *replication,
		       const char *key, const char *name, const char *help)
{
	const json_t *streams = json_object_get(stats, "streams");
	char v[64];
	bool head = false;

	if (!json_is_array(streams)) {
		single(b, stats, replication, key, 1.0, name, "counter", help);
		return;
	}
	for (size_t i = 0; i < json_array_size(streams); i++) {
		const json_t *st = json_array_get(streams, i);
		const char *stream = json_string_value(json_object_get(st, "name"));
		if (!stream || !format_value(v, sizeof(v), json_object_get(st, key), 1.0))
			continue;
		if (!head)
			family(b, name, "counter", help);
		head = true;
		struct label l[] = {
			{ "stream", stream },
			{ "namespace", json_string_value(json_object_get(st, "namespace")) },
		};
		sample(b, name, replication, l, 2, v);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted, in a new array (caller frees); NULL when empty. */
static const char **sorted_keys(const json_t *obj, size_t *n, int *err)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	*n = json_object_size(obj);
	if (*n == 0)
		return NULL;
	const char **keys = calloc(*n, sizeof(*keys));
	if (!keys) {
		*err = -ENOMEM;
		*n = 0;
		return NULL;
	}
	json_object_foreach((json_t *)obj, key, v)
		keys[i++] = key;
	qsort(keys, *n, sizeof(*keys), cmp_str);
	return keys;
}

/*
 * A family with one sample per key of stats[obj_key] (sorted), labelled
 * label=key, from the value itself (field NULL) or from value[field].
 */
static void keyed(struct mbuf *b, const json_t *stats, const char *replication,
		  const char *obj_key, const char *field, const char *label,
		  const char *name, const char *type, const char *help)
{
	const json_t *obj = json_object_get(stats, obj_key);
	size_t n;
	char v[64];
	bool head = false;

	if (!json_is_object(obj))
		return;
	const char **keys = sorted_keys(obj, &n, &b->err);
	for (size_t i = 0; i < n; i++) {
		const json_t *val = json_object_get(obj, keys[i]);
		if (field)
			val = json_object_get(val, field);
		if (!format_value(v, sizeof(v), val, 1.0))
			continue;
		if (!head)
			family(b, name, type, help);
		head = true;
		struct label l = { label, keys[i] };
		sample(b, name, replication, &l, 1, v);
	}
	free(keys);
}

int metrics_render(const json_t *stats, char **out, size_t *len)
{
	struct mbuf b = { 0 };
	const char *replication = json_string_value(json_object_get(stats, "replication"));
	const char *status = json_string_value(json_object_get(stats, "status"));
	const char *outcome = json_string_value(json_object_get(stats, "outcome"));

	*out = NULL;
	if (len)
		*len = 0;
	if (!json_is_object(stats) || !replication)
		return -EINVAL;

	if (mb_reserve(&b, 0)) /* a document without metrics renders as "" */
		b.p[0] = '\0';
	if (status) {
		struct label l = { "status", status };
		family(&b, "run_info", "gauge",
		       "Always 1; the status label is the run's status (running, succeeded, failed).");
		sample(&b, "run_info", replication, &l, 1, "1");
		family(&b, "run_running", "gauge", "1 while a run is in progress, else 0.");
		sample(&b, "run_running", replication, NULL, 0,
		       strcmp(status, "running") == 0 ? "1" : "0");
	}
	single(&b, stats, replication, "run", 1.0, "run_number", "gauge",
	       "Number of the current (or last) run, counting from 1.");
	single(&b, stats, replication, "duration_ms", 1000.0, "run_duration_seconds", "gauge",
	       "Time since the run started, or its total duration once finished.");
	per_stream(&b, stats, replication, "records_emitted", "records_emitted_total",
		   "Records the source connector emitted in this run.");
	per_stream(&b, stats, replication, "bytes_emitted", "bytes_emitted_total",
		   "Bytes of RECORD messages the source connector emitted in this run.");
	per_stream(&b, stats, replication, "records_committed", "records_committed_total",
		   "Records covered by a state the destination committed in this run.");
	single(&b, stats, replication, "state_commits", 1.0, "state_commits_total", "counter",
	       "States committed to the store in this run.");
	keyed(&b, stats, replication, "messages", NULL, "type", "messages_total", "counter",
	      "Messages the source connector printed in this run, by Airbyte message type.");
	single(&b, stats, replication, "invalid_lines", 1.0, "invalid_lines_total", "counter",
	       "Lines of the source connector that were not Airbyte messages in this run.");
	if (outcome) {
		family(&b, "last_run_success", "gauge",
		       "1 when the last finished run succeeded, else 0.");
		sample(&b, "last_run_success", replication, NULL, 0,
		       strcmp(outcome, "succeeded") == 0 ? "1" : "0");
	}
	single(&b, stats, replication, "exit_code", 1.0, "last_run_exit_code", "gauge",
	       "Exit code of the last finished run (0 success, 1 failure, 3 timeout, 128+N signal).");
	keyed(&b, stats, replication, "connectors", "cpu_seconds", "connector",
	      "connector_cpu_seconds_total", "counter",
	      "CPU time (user + system) the connector's processes used in this run.");
	keyed(&b, stats, replication, "connectors", "max_rss_bytes", "connector",
	      "connector_max_rss_bytes", "gauge",
	      "Largest resident set size of the connector's processes in this run.");

	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	if (len)
		*len = b.len;
	return 0;
}
