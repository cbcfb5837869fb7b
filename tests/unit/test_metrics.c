/*
 * test_metrics.c - unit tests for the Prometheus rendering of the stats
 * document (store/metrics.c): exact output, escaping, missing fields, and
 * promtool's own parser and linter when /usr/bin/promtool is installed
 * (Debian package "prometheus").
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "store/metrics.h"

#define PROMTOOL "/usr/bin/promtool"

/* Render a stats document given as JSON text; the result is new. */
static char *render_text(const char *text)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	char *out = NULL;
	size_t len = 0;

	if (!doc)
		fail_msg("bad test JSON: %s", jerr.text);
	assert_int_equal(metrics_render(doc, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, strlen(out));
	json_decref(doc);
	return out;
}

/* HELP + TYPE lines, as the renderer writes them. */
#define FAM(name, type, help) \
	"# HELP airbyte_replication_" name " " help "\n" \
	"# TYPE airbyte_replication_" name " " type "\n"

#define H_INFO "Always 1; the status label is the run's status (running, succeeded, failed)."
#define H_RUNNING "1 while a run is in progress, else 0."
#define H_RUN "Number of the current (or last) run, counting from 1."
#define H_DURATION "Time since the run started, or its total duration once finished."
#define H_REC "Records the source connector emitted in this run."
#define H_BYTES "Bytes of RECORD messages the source connector emitted in this run."
#define H_COMMITTED "Records covered by a state the destination committed in this run."
#define H_COMMITS "States committed to the store in this run."
#define H_MSG "Messages the source connector printed in this run, by Airbyte message type."
#define H_INVALID "Lines of the source connector that were not Airbyte messages in this run."
#define H_SUCCESS "1 when the last finished run succeeded, else 0."
#define H_EXIT "Exit code of the last finished run (0 success, 1 failure, 3 timeout, 128+N signal)."
#define H_CPU "CPU time (user + system) the connector's processes used in this run."
#define H_RSS "Largest resident set size of the connector's processes in this run."

static const char *const running_doc =
	"{\"replication\":\"r\",\"run\":3,\"status\":\"running\","
	"\"started_at\":\"2024-05-01T10:00:00.000Z\",\"updated_at\":\"2024-05-01T10:00:01.234Z\","
	"\"duration_ms\":1234,\"records_emitted\":10,\"records_committed\":8,"
	"\"bytes_emitted\":1000,\"state_commits\":4,"
	"\"messages\":{\"RECORD\":10,\"STATE\":4,\"LOG\":2},\"invalid_lines\":1,"
	"\"streams\":[{\"name\":\"users\",\"namespace\":\"public\",\"records_emitted\":6,"
	"\"bytes_emitted\":600,\"records_committed\":5,\"status\":\"RUNNING\"},"
	"{\"name\":\"orders\",\"records_emitted\":4,\"bytes_emitted\":400,"
	"\"records_committed\":3}]}";

static const char *const running_expected =
	FAM("run_info", "gauge", H_INFO)
	"airbyte_replication_run_info{replication=\"r\",status=\"running\"} 1\n"
	FAM("run_running", "gauge", H_RUNNING)
	"airbyte_replication_run_running{replication=\"r\"} 1\n"
	FAM("run_number", "gauge", H_RUN)
	"airbyte_replication_run_number{replication=\"r\"} 3\n"
	FAM("run_duration_seconds", "gauge", H_DURATION)
	"airbyte_replication_run_duration_seconds{replication=\"r\"} 1.234\n"
	FAM("records_emitted_total", "counter", H_REC)
	"airbyte_replication_records_emitted_total{replication=\"r\",stream=\"users\",namespace=\"public\"} 6\n"
	"airbyte_replication_records_emitted_total{replication=\"r\",stream=\"orders\"} 4\n"
	FAM("bytes_emitted_total", "counter", H_BYTES)
	"airbyte_replication_bytes_emitted_total{replication=\"r\",stream=\"users\",namespace=\"public\"} 600\n"
	"airbyte_replication_bytes_emitted_total{replication=\"r\",stream=\"orders\"} 400\n"
	FAM("records_committed_total", "counter", H_COMMITTED)
	"airbyte_replication_records_committed_total{replication=\"r\",stream=\"users\",namespace=\"public\"} 5\n"
	"airbyte_replication_records_committed_total{replication=\"r\",stream=\"orders\"} 3\n"
	FAM("state_commits_total", "counter", H_COMMITS)
	"airbyte_replication_state_commits_total{replication=\"r\"} 4\n"
	FAM("messages_total", "counter", H_MSG)
	"airbyte_replication_messages_total{replication=\"r\",type=\"LOG\"} 2\n"
	"airbyte_replication_messages_total{replication=\"r\",type=\"RECORD\"} 10\n"
	"airbyte_replication_messages_total{replication=\"r\",type=\"STATE\"} 4\n"
	FAM("invalid_lines_total", "counter", H_INVALID)
	"airbyte_replication_invalid_lines_total{replication=\"r\"} 1\n";

static void test_running_exact(void **st)
{
	char *out = render_text(running_doc);

	assert_string_equal(out, running_expected);
	free(out);
}

/* A finished run: outcome, exit code and connector usage appear. */
static const char *const final_doc =
	"{\"replication\":\"hello\",\"run\":1,\"status\":\"succeeded\",\"duration_ms\":60000,"
	"\"state_commits\":0,\"messages\":{},\"invalid_lines\":0,\"streams\":[],"
	"\"outcome\":\"succeeded\",\"exit_code\":0,"
	"\"connectors\":{\"source\":{\"cpu_seconds\":1.5,\"max_rss_bytes\":1234567},"
	"\"destination\":{\"cpu_seconds\":0.1,\"max_rss_bytes\":2345678}}}";

static const char *const final_expected =
	FAM("run_info", "gauge", H_INFO)
	"airbyte_replication_run_info{replication=\"hello\",status=\"succeeded\"} 1\n"
	FAM("run_running", "gauge", H_RUNNING)
	"airbyte_replication_run_running{replication=\"hello\"} 0\n"
	FAM("run_number", "gauge", H_RUN)
	"airbyte_replication_run_number{replication=\"hello\"} 1\n"
	FAM("run_duration_seconds", "gauge", H_DURATION)
	"airbyte_replication_run_duration_seconds{replication=\"hello\"} 60\n"
	FAM("state_commits_total", "counter", H_COMMITS)
	"airbyte_replication_state_commits_total{replication=\"hello\"} 0\n"
	FAM("invalid_lines_total", "counter", H_INVALID)
	"airbyte_replication_invalid_lines_total{replication=\"hello\"} 0\n"
	FAM("last_run_success", "gauge", H_SUCCESS)
	"airbyte_replication_last_run_success{replication=\"hello\"} 1\n"
	FAM("last_run_exit_code", "gauge", H_EXIT)
	"airbyte_replication_last_run_exit_code{replication=\"hello\"} 0\n"
	FAM("connector_cpu_seconds_total", "counter", H_CPU)
	"airbyte_replication_connector_cpu_seconds_total{replication=\"hello\",connector=\"destination\"} 0.1\n"
	"airbyte_replication_connector_cpu_seconds_total{replication=\"hello\",connector=\"source\"} 1.5\n"
	FAM("connector_max_rss_bytes", "gauge", H_RSS)
	"airbyte_replication_connector_max_rss_bytes{replication=\"hello\",connector=\"destination\"} 2345678\n"
	"airbyte_replication_connector_max_rss_bytes{replication=\"hello\",connector=\"source\"} 1234567\n";

static void test_final_exact(void **st)
{
	char *out = render_text(final_doc);

	assert_string_equal(out, final_expected);
	free(out);
}

static void test_failed_outcome(void **st)
{
	char *out = render_text("{\"replication\":\"r\",\"status\":\"failed\","
				"\"outcome\":\"timeout\",\"exit_code\":3}");

	assert_string_equal(out,
		FAM("run_info", "gauge", H_INFO)
		"airbyte_replication_run_info{replication=\"r\",status=\"failed\"} 1\n"
		FAM("run_running", "gauge", H_RUNNING)
		"airbyte_replication_run_running{replication=\"r\"} 0\n"
		FAM("last_run_success", "gauge", H_SUCCESS)
		"airbyte_replication_last_run_success{replication=\"r\"} 0\n"
		FAM("last_run_exit_code", "gauge", H_EXIT)
		"airbyte_replication_last_run_exit_code{replication=\"r\"} 3\n");
	free(out);
}

/* Label values escape backslash, double quote and newline, nothing else. */
static void test_escaping(void **st)
{
	char *out = render_text("{\"replication\":\"r\\\\1\","
				"\"streams\":[{\"name\":\"a\\\"b\\\\c\\nd\",\"namespace\":\"\\u00e9\\tx{}=,\","
				"\"records_emitted\":1}],"
				"\"messages\":{\"A\\\"\":7}}");

	assert_string_equal(out,
		FAM("records_emitted_total", "counter", H_REC)
		"airbyte_replication_records_emitted_total{replication=\"r\\\\1\","
		"stream=\"a\\\"b\\\\c\\nd\",namespace=\"\xc3\xa9\tx{}=,\"} 1\n"
		FAM("messages_total", "counter", H_MSG)
		"airbyte_replication_messages_total{replication=\"r\\\\1\",type=\"A\\\"\"} 7\n");
	free(out);
}

/* Only the replication: nothing to say, an empty (but valid) exposition. */
static void test_minimal(void **st)
{
	char *out = render_text("{\"replication\":\"r\"}");

	assert_string_equal(out, "");
	free(out);
}

/*
 * No "streams": the totals, without a stream label.  Fields of the wrong
 * type, streams without a name and connectors without a field are skipped.
 */
static void test_missing_optional(void **st)
{
	char *out = render_text("{\"replication\":\"r\",\"run\":\"3\",\"status\":null,"
				"\"records_emitted\":10,\"bytes_emitted\":1000,"
				"\"records_committed\":null,\"state_commits\":true,"
				"\"messages\":[1],\"connectors\":{\"source\":{\"cpu_seconds\":2}}}");

	assert_string_equal(out,
		FAM("records_emitted_total", "counter", H_REC)
		"airbyte_replication_records_emitted_total{replication=\"r\"} 10\n"
		FAM("bytes_emitted_total", "counter", H_BYTES)
		"airbyte_replication_bytes_emitted_total{replication=\"r\"} 1000\n"
		FAM("connector_cpu_seconds_total", "counter", H_CPU)
		"airbyte_replication_connector_cpu_seconds_total{replication=\"r\",connector=\"source\"} 2\n");
	free(out);

	out = render_text("{\"replication\":\"r\",\"streams\":[{\"records_emitted\":1},"
			  "{\"name\":\"s\",\"records_emitted\":2,\"namespace\":null},"
			  "{\"name\":\"t\"}, 5]}");
	assert_string_equal(out,
		FAM("records_emitted_total", "counter", H_REC)
		"airbyte_replication_records_emitted_total{replication=\"r\",stream=\"s\"} 2\n");
	free(out);
}

/* Reals in their shortest exact form; durations in seconds. */
static void test_numbers(void **st)
{
	char *out = render_text("{\"replication\":\"r\",\"duration_ms\":1,"
				"\"connectors\":{\"x\":{\"cpu_seconds\":0.3,\"max_rss_bytes\":1e20}}}");

	assert_string_equal(out,
		FAM("run_duration_seconds", "gauge", H_DURATION)
		"airbyte_replication_run_duration_seconds{replication=\"r\"} 0.001\n"
		FAM("connector_cpu_seconds_total", "counter", H_CPU)
		"airbyte_replication_connector_cpu_seconds_total{replication=\"r\",connector=\"x\"} 0.3\n"
		FAM("connector_max_rss_bytes", "gauge", H_RSS)
		"airbyte_replication_connector_max_rss_bytes{replication=\"r\",connector=\"x\"} 1e+20\n");
	free(out);
}

/* The same document built in another key order renders the same text. */
static void test_deterministic(void **st)
{
	char *a = render_text("{\"replication\":\"r\",\"messages\":{\"STATE\":1,\"LOG\":2,\"RECORD\":3},"
			      "\"connectors\":{\"source\":{\"cpu_seconds\":1},\"destination\":{\"cpu_seconds\":2}}}");
	char *b = render_text("{\"connectors\":{\"destination\":{\"cpu_seconds\":2},\"source\":{\"cpu_seconds\":1}},"
			      "\"messages\":{\"RECORD\":3,\"LOG\":2,\"STATE\":1},\"replication\":\"r\"}");

	assert_string_equal(a, b);
	assert_non_null(strstr(a, "type=\"LOG\"} 2\nairbyte_replication_messages_total"
				  "{replication=\"r\",type=\"RECORD\"} 3\n"));
	free(a);
	free(b);
}

static void test_invalid(void **st)
{
	char *out = (char *)"x";
	size_t len = 99;
	json_t *arr = json_array(), *noname = json_pack("{s:i}", "run", 1);
	json_t *badname = json_pack("{s:i}", "replication", 1);

	assert_int_equal(metrics_render(NULL, &out, &len), -EINVAL);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(metrics_render(arr, &out, NULL), -EINVAL);
	assert_int_equal(metrics_render(noname, &out, NULL), -EINVAL);
	assert_int_equal(metrics_render(badname, &out, NULL), -EINVAL);
	assert_null(out);
	json_decref(arr);
	json_decref(noname);
	json_decref(badname);
}

/* Feed text to `promtool check metrics`; returns its exit status, output in log. */
static int promtool_check(const char *text, char *log, size_t cap)
{
	char path[] = "/tmp/test_metrics.XXXXXX", cmd[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t got = fread(log, 1, cap - 1, p);
	log[got] = '\0';
	int status = pclose(p);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* promtool parses and lints every document above without a complaint. */
static void test_promtool(void **st)
{
	const char *docs[] = {
		running_doc, final_doc,
		"{\"replication\":\"r\\\\1\",\"streams\":[{\"name\":\"a\\\"b\\\\c\\nd\","
		"\"namespace\":\"\\u00e9\",\"records_emitted\":1,\"bytes_emitted\":2,"
		"\"records_committed\":0}],\"status\":\"failed\",\"outcome\":\"stopped\","
		"\"exit_code\":143,\"messages\":{\"TRACE\":1}}",
		"{\"replication\":\"r\",\"records_emitted\":10}",
	};
	char log[4096];

	if (access(PROMTOOL, X_OK) != 0) {
		fprintf(stderr, "skipping: %s not installed (Debian package \"prometheus\")\n",
			PROMTOOL);
		skip();
	}
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char *out = render_text(docs[i]);
		int rc = promtool_check(out, log, sizeof(log));
		if (rc != 0 || log[0])
			fail_msg("promtool on document %zu: exit %d: %s\n%s", i, rc, log, out);
		free(out);
	}
	/* The check is real: a broken exposition is refused. */
	assert_int_not_equal(promtool_check("# TYPE x_total counter\nx_total{a=\"b} 1\n",
					    log, sizeof(log)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_running_exact),
		cmocka_unit_test(test_final_exact),
		cmocka_unit_test(test_failed_outcome),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_missing_optional),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_promtool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
