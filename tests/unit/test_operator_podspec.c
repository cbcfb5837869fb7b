/*
 * test_operator_podspec.c - unit tests of the operator's pure parts: the
 * Pod and Secret of a run (operator/podspec.c), what a Pod's status means
 * (operator/decide.c), schedules, the work queue, kubeconfig loading.
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

#include "operator/decide.h"
#include "operator/kube.h"
#include "operator/podspec.h"
#include "operator/queue.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad fixture: %s at %d:%d", e.text, e.line, e.column);
	return v;
}

/* the seed's hello-airbyte-file-to-csv objects, trimmed */
#define API "\"apiVersion\": \"airbyte.pravaah.dev/v1alpha1\""
static const char *REPLICATION =
	"{" API ", \"kind\": \"Replication\", \"metadata\": {\"name\": \"run-1\", \"namespace\": \"ns1\", \"uid\": \"u-r\"},"
	" \"spec\": {\"connectionRef\": {\"name\": \"hello\"}, \"name\": \"hello\"}}";
static const char *CONNECTION =
	"{" API ", \"kind\": \"Connection\", \"metadata\": {\"name\": \"hello\", \"namespace\": \"ns1\", \"uid\": \"u-c\"},"
	" \"spec\": {\"sourceRef\": {\"name\": \"src\"}, \"destinationRef\": {\"name\": \"dst\"},"
	" \"scheduleType\": \"manual\", \"schedule\": {\"units\": 1, \"timeUnit\": \"minutes\"},"
	" \"catalog\": {\"streams\": [{\"stream\": {\"name\": \"test\", \"json_schema\": {" API ", \"kind\": \"JsonSchema\","
	" \"type\": \"object\"}, \"supported_sync_modes\": [\"full_refresh\"]}, \"sync_mode\": \"full_refresh\","
	" \"destination_sync_mode\": \"append\"}]}}}";
static const char *SOURCE =
	"{" API ", \"kind\": \"Connector\", \"metadata\": {\"name\": \"src\", \"namespace\": \"ns1\"},"
	" \"spec\": {\"connectorDefinitionRef\": {\"name\": \"source-file\"},"
	" \"spec\": {" API ", \"kind\": \"ConnectionSpecification\", \"url\": \"file:///local/input.csv\", \"password\": \"hunter2\"}}}";
static const char *DESTINATION =
	"{" API ", \"kind\": \"Connector\", \"metadata\": {\"name\": \"dst\", \"namespace\": \"ns1\"},"
	" \"spec\": {\"connectorDefinitionRef\": {\"name\": \"destination-csv\"},"
	" \"resources\": {\"limits\": {\"memory\": \"512Mi\"}},"
	" \"spec\": {" API ", \"kind\": \"ConnectionSpecification\", \"destination_path\": \"/storage\"}}}";
static const char *SOURCE_DEF =
	"{" API ", \"kind\": \"ConnectorDefinition\", \"metadata\": {\"name\": \"source-file\"},"
	" \"spec\": {\"imageRepository\": \"airbyte/source-file\", \"imageTag\": \"0.2.33\"}}";
static const char *DESTINATION_DEF =
	"{" API ", \"kind\": \"ConnectorDefinition\", \"metadata\": {\"name\": \"destination-csv\"},"
	" \"spec\": {\"imageRepository\": \"airbyte/destination-csv\", \"imageTag\": \"1.0.0\"}}";

struct fixture {
	json_t *repl, *conn, *src, *dst, *sdef, *ddef, *state;
	json_t *secret, *pod;
};

static void build(struct fixture *f, bool with_state)
{
	f->repl = parse(REPLICATION);
	f->conn = parse(CONNECTION);
	f->src = parse(SOURCE);
	f->dst = parse(DESTINATION);
	f->sdef = parse(SOURCE_DEF);
	f->ddef = parse(DESTINATION_DEF);
	f->state = with_state ? parse("{\"replication\": \"hello\", \"state\": {\"cursor\": 7}}") : NULL;
	struct run_inputs in = { f->repl, f->conn, f->src, f->dst, f->sdef, f->ddef, f->state };
	struct pod_options opt = { .driver_image = "driver:1", .service_account = "airbyte-replication-driver",
				   .output_name = "hello" };
	char *why = NULL;
	assert_int_equal(podspec_build(&in, &opt, &f->secret, &f->pod, &why), 0);
	assert_null(why);
}

static void release(struct fixture *f)
{
	json_t *all[] = { f->repl, f->conn, f->src, f->dst, f->sdef, f->ddef, f->state, f->secret, f->pod };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		json_decref(all[i]);
}

static json_t *named(const json_t *list, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return e;
	return NULL;
}

static const char *str_at(const json_t *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	const json_t *cur = o;
	for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
		cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(tok)) : json_object_get(cur, tok);
	return json_string_value(cur);
}

/* base64-decoded Secret value, as JSON */
static json_t *secret_json(const json_t *secret, const char *key)
{
	const char *b = json_string_value(json_object_get(json_object_get(secret, "data"), key));
	assert_non_null(b);
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(b), o = 0;
	char *out = calloc(1, n);
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n && b[i] != '='; i++) {
		acc = acc << 6 | (unsigned)(strchr(tbl, b[i]) - tbl);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	json_t *v = parse(out);
	free(out);
	return v;
}

static void test_pod_layout(void **unused)
{
	struct fixture f = { 0 };
	build(&f, false);
	const json_t *spec = json_object_get(f.pod, "spec");
	assert_string_equal(str_at(f.pod, "metadata.name"), "run-1");
	assert_string_equal(str_at(f.pod, "metadata.namespace"), "ns1");
	assert_string_equal(str_at(spec, "restartPolicy"), "Never");
	/* owned by the Replication: deleting it removes the Pod */
	assert_string_equal(str_at(f.pod, "metadata.ownerReferences.0.kind"), "Replication");
	assert_string_equal(str_at(f.pod, "metadata.ownerReferences.0.uid"), "u-r");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(
		json_object_get(f.pod, "metadata"), "ownerReferences"), 0), "controller")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		f.pod, "metadata"), "labels"), LABEL_REPLICATION)), "run-1");
	/* no API token for the connectors */
	assert_true(json_is_false(json_object_get(spec, "automountServiceAccountToken")));

	const json_t *inits = json_object_get(spec, "initContainers");
	assert_int_equal(json_array_size(inits), 1); /* no state: no restore-state */
	assert_string_equal(str_at(inits, "0.image"), "driver:1");
	assert_string_equal(str_at(inits, "0.command.2"), "init");

	const json_t *cs = json_object_get(spec, "containers");
	json_t *src = named(cs, "source"), *dst = named(cs, "destination"), *sync = named(cs, "state-sync");
	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(sync);
	assert_string_equal(str_at(src, "image"), "airbyte/source-file:0.2.33");
	assert_string_equal(str_at(dst, "image"), "airbyte/destination-csv:1.0.0");
	/* the driver is the entrypoint; the image's AIRBYTE_ENTRYPOINT stays (no env override) */
	assert_string_equal(str_at(src, "command.0"), "/storage/airbyte-replication-driver");
	assert_string_equal(str_at(src, "command.2"), "source");
	assert_string_equal(str_at(src, "command.4"), "hello"); /* the seed's spec.name */
	assert_string_equal(str_at(dst, "command.2"), "destination");
	assert_null(json_object_get(src, "env"));
	assert_null(json_object_get(dst, "env"));
	/* resources: the Connector's own, else defaults */
	assert_string_equal(str_at(dst, "resources.limits.memory"), "512Mi");
	assert_string_equal(str_at(src, "resources.requests.memory"), "128Mi");
	/* each connector sees only its own config */
	json_t *srcvol = named(json_object_get(spec, "volumes"), "source-secrets");
	json_t *dstvol = named(json_object_get(spec, "volumes"), "destination-secrets");
	assert_string_equal(str_at(srcvol, "secret.secretName"), "run-1-config");
	assert_string_equal(str_at(srcvol, "secret.items.0.key"), "source-file.json");
	assert_string_equal(str_at(srcvol, "secret.items.1.key"), "catalog-file.json");
	assert_string_equal(str_at(dstvol, "secret.items.0.key"), "destination-file.json");
	assert_string_equal(str_at(named(json_object_get(src, "volumeMounts"), "source-secrets"), "mountPath"), "/secrets");
	assert_null(named(json_object_get(src, "volumeMounts"), "destination-secrets"));
	assert_null(named(json_object_get(src, "volumeMounts"), "api-token"));
	assert_null(named(json_object_get(dst, "volumeMounts"), "api-token"));
	/* only state-sync gets the token, read-only */
	json_t *tok = named(json_object_get(sync, "volumeMounts"), "api-token");
	assert_non_null(tok);
	assert_true(json_is_true(json_object_get(tok, "readOnly")));
	assert_string_equal(str_at(sync, "command.1"), "sync-state");
	assert_string_equal(str_at(sync, "command.3"), "hello");
	assert_string_equal(str_at(spec, "serviceAccountName"), "airbyte-replication-driver");
	release(&f);
}

static void test_secret_contents(void **unused)
{
	struct fixture f = { 0 };
	build(&f, true);
	assert_string_equal(str_at(f.secret, "metadata.name"), "run-1-config");
	assert_string_equal(str_at(f.secret, "metadata.ownerReferences.0.name"), "run-1");
	/* configs without the CRD's embedded apiVersion/kind */
	json_t *src = secret_json(f.secret, "source-file.json");
	assert_string_equal(json_string_value(json_object_get(src, "url")), "file:///local/input.csv");
	assert_null(json_object_get(src, "apiVersion"));
	assert_null(json_object_get(src, "kind"));
	json_t *cat = secret_json(f.secret, "catalog-file.json");
	json_t *schema = json_object_get(json_object_get(json_array_get(json_object_get(cat, "streams"), 0), "stream"), "json_schema");
	assert_string_equal(json_string_value(json_object_get(schema, "type")), "object");
	assert_null(json_object_get(schema, "kind"));
	json_t *st = secret_json(f.secret, "state.json");
	assert_true(json_equal(st, f.state));
	/* with a state: restore-state runs before the connectors */
	json_t *inits = json_object_get(json_object_get(f.pod, "spec"), "initContainers");
	assert_int_equal(json_array_size(inits), 2);
	assert_string_equal(str_at(inits, "1.name"), "restore-state");
	assert_string_equal(str_at(inits, "1.command.3"), "/input-state/state.json");
	/* the config never appears in the Pod */
	char *pod_text = json_dumps(f.pod, 0);
	assert_null(strstr(pod_text, "hunter2"));
	assert_null(strstr(pod_text, "file:///local"));
	free(pod_text);
	json_decref(src);
	json_decref(cat);
	json_decref(st);
	release(&f);
}

static void test_bad_inputs(void **unused)
{
	json_t *repl = parse(REPLICATION), *conn = parse(CONNECTION), *src = parse(SOURCE);
	json_t *dst = parse(DESTINATION), *sdef = parse("{\"metadata\": {\"name\": \"broken\"}, \"spec\": {}}");
	json_t *ddef = parse(DESTINATION_DEF), *secret = NULL, *pod = NULL;
	struct run_inputs in = { repl, conn, src, dst, sdef, ddef, NULL };
	struct pod_options opt = { .driver_image = "d", .output_name = "hello" };
	char *why = NULL;
	assert_int_equal(podspec_build(&in, &opt, &secret, &pod, &why), -EINVAL);
	assert_non_null(strstr(why, "broken"));
	assert_null(pod);
	free(why);
	json_object_del(json_object_get(conn, "spec"), "catalog");
	in.source_def = ddef;
	assert_int_equal(podspec_build(&in, &opt, &secret, &pod, &why), -EINVAL);
	assert_non_null(strstr(why, "catalog"));
	free(why);
	json_t *all[] = { repl, conn, src, dst, sdef, ddef };
	for (size_t i = 0; i < 6; i++)
		json_decref(all[i]);
}

/* ---- decide ---- */

static json_t *pod_with(const char *phase, const char *containers)
{
	char buf[2048];
	snprintf(buf, sizeof(buf), "{\"status\": {\"phase\": \"%s\", \"containerStatuses\": [%s]}}", phase, containers);
	return parse(buf);
}

#define TERM(name, code) "{\"name\": \"" name "\", \"state\": {\"terminated\": {\"exitCode\": " #code "}}}"
#define RUN(name) "{\"name\": \"" name "\", \"state\": {\"running\": {}}}"

static void test_pod_outcome(void **unused)
{
	struct outcome o;
	json_t *p = pod_with("Pending", "");
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_PENDING);
	json_decref(p);

	p = pod_with("Running", RUN("source") "," RUN("destination"));
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_RUNNING);
	assert_false(o.connectors_done);
	json_decref(p);

	/* a success needs the last state in Kubernetes: state-sync ends first */
	p = pod_with("Running", TERM("source", 0) "," TERM("destination", 0) "," RUN("state-sync"));
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_RUNNING);
	assert_string_equal(o.reason, "SyncingState");
	assert_true(o.connectors_done);
	json_decref(p);
	p = pod_with("Running", TERM("source", 0) "," TERM("destination", 0) "," TERM("state-sync", 0));
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_SUCCEEDED);
	json_decref(p);
	p = pod_with("Failed", TERM("source", 0) "," TERM("destination", 0) "," TERM("state-sync", 2));
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_FAILED);
	assert_string_equal(o.reason, "StateSyncFailed");
	json_decref(p);
	/* a failure is known at once, whatever state-sync does */
	p = pod_with("Running", TERM("source", 0) "," TERM("destination", 1) "," RUN("state-sync"));
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_FAILED);
	json_decref(p);

	p = pod_with("Failed", TERM("source", 1) "," TERM("destination", 2));
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_FAILED);
	assert_string_equal(o.reason, "ConfigError");
	assert_non_null(strstr(o.message, "destination exited with 2"));
	json_decref(p);

	p = pod_with("Running", TERM("source", 1) "," RUN("destination"));
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_RUNNING); /* wait for the destination's verdict */
	json_decref(p);

	p = pod_with("Running", "{\"name\": \"destination\", \"state\": {\"terminated\": {\"exitCode\": 137, \"reason\": \"OOMKilled\"}}}");
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_FAILED);
	assert_string_equal(o.reason, "OOMKilled");
	json_decref(p);

	p = pod_with("Pending", "{\"name\": \"source\", \"state\": {\"waiting\": {\"reason\": \"ErrImagePull\", \"message\": \"no such image\"}}}");
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_FAILED);
	assert_string_equal(o.reason, "ErrImagePull");
	json_decref(p);

	p = parse("{\"status\": {\"phase\": \"Pending\", \"initContainerStatuses\": [" TERM("restore-state", 2) "]}}");
	decide_pod_outcome(p, &o);
	assert_int_equal(o.phase, PHASE_FAILED);
	assert_string_equal(o.reason, "InitFailed");
	json_decref(p);

	assert_string_equal(exit_reason(3), "Timeout");
	assert_true(phase_terminal("Failed"));
	assert_false(phase_terminal("Running"));
	assert_false(phase_terminal(NULL));
}

static void test_schedule(void **unused)
{
	const char *why;
	json_t *c = parse("{\"spec\": {\"scheduleType\": \"cron\", \"schedule\": {\"units\": 5, \"timeUnit\": \"minutes\"}}}");
	assert_int_equal(decide_next_run(c, 1000, &why), 1300);
	json_object_set_new(json_object_get(json_object_get(c, "spec"), "schedule"), "timeUnit", json_string("days"));
	assert_int_equal(decide_next_run(c, 0, &why), 5 * 86400);
	/* months are calendar months, the day clamped: Jan 31 + 1 month = Feb 28 */
	json_object_set_new(json_object_get(json_object_get(c, "spec"), "schedule"), "timeUnit", json_string("months"));
	json_object_set_new(json_object_get(json_object_get(c, "spec"), "schedule"), "units", json_integer(1));
	assert_int_equal(decide_next_run(c, kube_parse_time("2026-01-31T10:00:00Z"), &why),
			 kube_parse_time("2026-02-28T10:00:00Z"));
	json_object_set_new(json_object_get(json_object_get(c, "spec"), "schedule"), "units", json_integer(0));
	assert_int_equal(decide_next_run(c, 0, &why), -1);
	assert_non_null(why);
	json_object_set_new(json_object_get(c, "spec"), "scheduleType", json_string("manual"));
	assert_int_equal(decide_next_run(c, 0, &why), -1);
	assert_null(why);
	json_decref(c);
}

static void test_times(void **unused)
{
	char buf[32];
	kube_time(buf, sizeof(buf), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(kube_parse_time("2026-11-25T01:02:03Z"), kube_parse_time("2026-11-25T02:02:03+01:00"));
	assert_int_equal(kube_parse_time("2026-11-25T01:02:03.123456Z"), kube_parse_time("2026-11-25T01:02:03Z"));
	assert_int_equal(kube_parse_time("yesterday"), -1);
	assert_int_equal(kube_parse_time(NULL), -1);
}

/* ---- queue ---- */

static void test_queue(void **unused)
{
	struct queue q;
	queue_init(&q, 10, 80);
	queue_add(&q, "a");
	queue_add(&q, "a"); /* deduplicated */
	queue_add_after(&q, "b", 50);
	assert_int_equal(queue_len(&q), 2);
	char *k = queue_get(&q);
	assert_string_equal(k, "a");
	/* re-added while a worker holds it: handed out again only after done */
	queue_add(&q, "a");
	int64_t t0 = mono_ms();
	char *k2 = queue_get(&q);
	assert_string_equal(k2, "b");
	assert_true(mono_ms() - t0 >= 40);
	queue_done(&q, k2);
	free(k2);
	queue_done(&q, k);
	free(k);
	k = queue_get(&q);
	assert_string_equal(k, "a");
	/* backoff doubles up to the maximum */
	assert_int_equal(queue_retry(&q, k), 10);
	queue_done(&q, k);
	free(k);
	k = queue_get(&q);
	assert_int_equal(queue_retry(&q, k), 20);
	queue_done(&q, k);
	free(k);
	for (int i = 0; i < 4; i++) {
		k = queue_get(&q);
		queue_retry(&q, k);
		queue_done(&q, k);
		free(k);
	}
	k = queue_get(&q);
	assert_int_equal(queue_retry(&q, k), 80);
	queue_forget(&q, k);
	queue_done(&q, k);
	free(k);
	k = queue_get(&q);
	assert_int_equal(queue_retry(&q, k), 10); /* forgotten: back to the base */
	queue_done(&q, k);
	free(k);
	queue_shutdown(&q);
	assert_null(queue_get(&q));
	queue_release(&q);
}

/* ---- kubeconfig ---- */

static void test_kubeconfig(void **unused)
{
	char dir[] = "/tmp/test-kubeconfig-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], ca[256];
	snprintf(path, sizeof(path), "%s/config", dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	FILE *f = fopen(ca, "w");
	fputs("CA PEM\n", f);
	fclose(f);
	f = fopen(path, "w");
	/* "Y2VydA==" = "cert", "a2V5" = "key"; the CA path is relative to the file */
	fputs("apiVersion: v1\nkind: Config\ncurrent-context: b\n"
	      "clusters:\n- name: c1\n  cluster: {server: 'https://10.0.0.1:6443/', certificate-authority: ca.crt}\n"
	      "users:\n- name: u1\n  user: {token: t0k3n}\n- name: u2\n  user: {client-certificate-data: Y2VydA==, client-key-data: a2V5}\n"
	      "contexts:\n- name: a\n  context: {cluster: c1, user: u1}\n- name: b\n  context: {cluster: c1, user: u2, namespace: team}\n", f);
	fclose(f);
	struct kube k;
	char *why = NULL;
	assert_int_equal(kube_load(&k, path, &why), 0);
	assert_string_equal(k.server, "https://10.0.0.1:6443");
	assert_string_equal(k.namespace, "team");
	assert_string_equal(k.cert_pem, "cert");
	assert_string_equal(k.key_pem, "key");
	assert_string_equal(k.ca_pem, "CA PEM\n");
	assert_null(k.token);
	kube_release(&k);

	f = fopen(path, "w");
	fputs("current-context: nope\ncontexts: []\n", f);
	fclose(f);
	assert_true(kube_load(&k, path, &why) < 0);
	assert_non_null(strstr(why, "nope"));
	free(why);

	/* in-cluster: the service account directory */
	char sa[256];
	snprintf(sa, sizeof(sa), "%s/token", dir);
	f = fopen(sa, "w");
	fputs("sa-token\n", f);
	fclose(f);
	snprintf(sa, sizeof(sa), "%s/namespace", dir);
	f = fopen(sa, "w");
	fputs("prod\n", f);
	fclose(f);
	setenv("AIRBYTE_KUBE_SA_DIR", dir, 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_load(&k, "in-cluster", &why), 0);
	assert_string_equal(k.server, "https://10.96.0.1:443");
	assert_string_equal(k.namespace, "prod");
	assert_non_null(strstr(k.ca_file, "ca.crt"));
	kube_release(&k);
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_true(kube_load(&k, "in-cluster", &why) < 0);
	assert_non_null(strstr(why, "KUBERNETES_SERVICE_HOST"));
	free(why);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_paths(void **unused)
{
	char p[256];
	assert_int_equal(kube_path(p, sizeof(p), &KIND_POD, "ns", "x", "status"), 0);
	assert_string_equal(p, "/api/v1/namespaces/ns/pods/x/status");
	assert_int_equal(kube_path(p, sizeof(p), &KIND_REPLICATION, "ns", NULL, NULL), 0);
	assert_string_equal(p, "/apis/airbyte.pravaah.dev/v1alpha1/namespaces/ns/replications");
	assert_int_equal(kube_path(p, sizeof(p), &KIND_LEASE, "ns", "l", NULL), 0);
	assert_string_equal(p, "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l");
	assert_int_equal(kube_path(p, 10, &KIND_POD, "ns", "x", NULL), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_layout),
		cmocka_unit_test(test_secret_contents),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_pod_outcome),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_kubeconfig),
		cmocka_unit_test(test_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
