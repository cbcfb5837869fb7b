/*
 * podspec.c - the Secret and the Pod of one replication run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator/kube.h"
#include "operator/podspec.h"

/* the seed's file names, so the driver's defaults need no flags */
#define SOURCE_CONFIG "source-file.json"
#define DESTINATION_CONFIG "destination-file.json"
#define CATALOG "catalog-file.json"
#define STATE "state.json"
#define DRIVER_IN_STORAGE "/storage/airbyte-replication-driver"

int podspec_secret_name(char *buf, size_t size, const char *replication)
{
	int n = snprintf(buf, size, "%s-config", replication);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* A copy of an embedded object without the apiVersion/kind the CRD makes users add. */
static json_t *unembed(const json_t *v)
{
	if (!json_is_object(v))
		return v ? json_deep_copy(v) : json_object();
	json_t *c = json_deep_copy(v);
	const char *av = json_string_value(json_object_get(c, "apiVersion"));
	if (av && !strcmp(av, AIRBYTE_API_VERSION)) {
		json_object_del(c, "apiVersion");
		json_object_del(c, "kind");
		json_t *md = json_object_get(c, "metadata");
		if (json_is_object(md) && json_object_size(md) == 0)
			json_object_del(c, "metadata");
	}
	return c;
}

json_t *podspec_connector_config(const json_t *connector)
{
	return unembed(json_object_get(json_object_get(connector, "spec"), "spec"));
}

json_t *podspec_catalog(const json_t *connection)
{
	json_t *cat = json_deep_copy(json_object_get(json_object_get(connection, "spec"), "catalog"));
	json_t *s;
	size_t i;
	if (!json_is_object(cat)) {
		json_decref(cat);
		return NULL;
	}
	json_array_foreach(json_object_get(cat, "streams"), i, s) {
		json_t *stream = json_object_get(s, "stream");
		json_t *schema = json_object_get(stream, "json_schema");
		if (schema)
			json_object_set_new(stream, "json_schema", unembed(schema));
	}
	return cat;
}

json_t *podspec_owner_ref(const json_t *obj, int controller)
{
	json_t *r = json_pack("{s:s?, s:s?, s:s?, s:s?}", "apiVersion",
			      kube_str(obj, "apiVersion", NULL), "kind", kube_str(obj, "kind", NULL), "name",
			      kube_str(obj, "metadata", "name"), "uid", kube_str(obj, "metadata", "uid"));
	if (r && controller) {
		json_object_set_new(r, "controller", json_true());
		json_object_set_new(r, "blockOwnerDeletion", json_true());
	}
	return r;
}

/* base64 for Secret data */
static char *b64(const char *in, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n) v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n) v |= (unsigned char)in[i + 2];
		*o++ = t[v >> 18 & 63];
		*o++ = t[v >> 12 & 63];
		*o++ = i + 1 < n ? t[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? t[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int put_json(json_t *data, const char *key, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	char *enc = text ? b64(text, strlen(text)) : NULL;
	free(text);
	if (!enc)
		return -ENOMEM;
	json_object_set_new(data, key, json_string(enc));
	free(enc);
	return 0;
}

static json_t *labels(const char *replication, const char *connection)
{
	return json_pack("{s:s, s:s, s:s}", LABEL_MANAGED_BY, OPERATOR_NAME, LABEL_REPLICATION,
			 replication, LABEL_CONNECTION, connection);
}

static json_t *mount(const char *volume, const char *path, int read_only)
{
	json_t *m = json_pack("{s:s, s:s}", "name", volume, "mountPath", path);
	if (read_only)
		json_object_set_new(m, "readOnly", json_true());
	return m;
}

/* A secret volume with some of the Secret's keys. */
static json_t *secret_volume(const char *name, const char *secret, const char *k1,
			     const char *k2)
{
	json_t *items = json_array();
	json_array_append_new(items, json_pack("{s:s, s:s}", "key", k1, "path", k1));
	if (k2)
		json_array_append_new(items, json_pack("{s:s, s:s}", "key", k2, "path", k2));
	return json_pack("{s:s, s:{s:s, s:o, s:i}}", "name", name, "secret", "secretName", secret,
			 "items", items, "defaultMode", 0400);
}

static json_t *small_resources(void)
{
	return json_pack("{s:{s:s, s:s}, s:{s:s}}", "requests", "cpu", "10m", "memory", "16Mi",
			 "limits", "memory", "64Mi");
}

/* Connector.spec.resources (an addition to the seed's CRD) or a default. */
static json_t *connector_resources(const json_t *connector)
{
	json_t *r = json_object_get(json_object_get(connector, "spec"), "resources");
	if (json_is_object(r))
		return json_deep_copy(r);
	return json_pack("{s:{s:s, s:s}, s:{s:s}}", "requests", "cpu", "100m", "memory", "128Mi",
			 "limits", "memory", "2Gi");
}

static json_t *container(const char *name, const char *image, json_t *command,
			 json_t *mounts, json_t *resources, const struct pod_options *opt)
{
	json_t *c = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "name", name, "image", image,
			      "command", command, "volumeMounts", mounts, "resources", resources,
			      "terminationMessagePolicy", "FallbackToLogsOnError");
	if (opt->pull_policy)
		json_object_set_new(c, "imagePullPolicy", json_string(opt->pull_policy));
	return c;
}

static json_t *role_command(const char *role, const char *replication)
{
	return json_pack("[s, s, s, s, s]", DRIVER_IN_STORAGE, "--command", role, "--replication",
			 replication);
}

static char *image_of(const json_t *def)
{
	const char *repo = kube_str(def, "spec", "imageRepository");
	const char *tag = kube_str(def, "spec", "imageTag");
	if (!repo || !*repo)
		return NULL;
	return tag && *tag ? kube_fmt("%s:%s", repo, tag) : strdup(repo);
}

int podspec_build(const struct run_inputs *in, const struct pod_options *opt,
		  json_t **secret_out, json_t **pod_out, char **why)
{
	*secret_out = *pod_out = NULL;
	*why = NULL;
	const char *name = kube_str(in->replication, "metadata", "name");
	/* the driver's replication name: the seed's spec.name, else the connection's */
	const char *run_name = kube_str(in->replication, "spec", "name");
	const char *ns = kube_str(in->replication, "metadata", "namespace");
	const char *conn = kube_str(in->connection, "metadata", "name");
	char *src_image = image_of(in->source_def), *dst_image = image_of(in->destination_def);
	json_t *catalog = podspec_catalog(in->connection);
	json_t *secret = NULL, *pod = NULL;
	char sname[300];
	int r = -EINVAL;

	if (!name || !ns || !conn) {
		*why = strdup("the replication or its connection has no name or namespace");
		goto out;
	}
	if (!run_name || !*run_name)
		run_name = conn;
	if (!src_image || !dst_image) {
		*why = kube_fmt("connector definition '%s' has no spec.imageRepository",
			   kube_str(src_image ? in->destination_def : in->source_def, "metadata", "name"));
		goto out;
	}
	if (!catalog || !json_is_array(json_object_get(catalog, "streams"))) {
		*why = kube_fmt("connection '%s' has no spec.catalog.streams", conn);
		goto out;
	}
	if (podspec_secret_name(sname, sizeof(sname), name) < 0) {
		*why = kube_fmt("replication name '%s' is too long", name);
		goto out;
	}

	/* the Secret: every connector config stays out of the Pod spec */
	json_t *data = json_object();
	json_t *src_cfg = podspec_connector_config(in->source);
	json_t *dst_cfg = podspec_connector_config(in->destination);
	r = put_json(data, SOURCE_CONFIG, src_cfg);
	if (!r) r = put_json(data, DESTINATION_CONFIG, dst_cfg);
	if (!r) r = put_json(data, CATALOG, catalog);
	if (!r && in->state) r = put_json(data, STATE, in->state);
	json_decref(src_cfg);
	json_decref(dst_cfg);
	if (r) {
		json_decref(data);
		goto out;
	}
	secret = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}, s:s, s:o}", "apiVersion", "v1",
			   "kind", "Secret", "metadata", "name", sname, "namespace", ns, "labels",
			   labels(name, conn), "ownerReferences",
			   podspec_owner_ref(in->replication, 1), "type", "Opaque", "data", data);

	/* volumes */
	json_t *volumes = json_pack("[{s:s, s:{}}, {s:s, s:{}}]", "name", "pipes", "emptyDir",
				    "name", "storage", "emptyDir");
	json_array_append_new(volumes, secret_volume("source-secrets", sname, SOURCE_CONFIG, CATALOG));
	json_array_append_new(volumes, secret_volume("destination-secrets", sname,
						     DESTINATION_CONFIG, CATALOG));
	if (in->state)
		json_array_append_new(volumes, secret_volume("input-state", sname, STATE, NULL));
	/* the API token, for state-sync only (automount is off for the Pod) */
	json_array_append_new(volumes, json_pack(
		"{s:s, s:{s:[{s:{s:s, s:i}}, {s:{s:s, s:[{s:s, s:s}]}}, {s:{s:[{s:s, s:{s:s}}]}}]}}",
		"name", "api-token", "projected", "sources",
		"serviceAccountToken", "path", "token", "expirationSeconds", 3600,
		"configMap", "name", "kube-root-ca.crt", "items", "key", "ca.crt", "path", "ca.crt",
		"downwardAPI", "items", "path", "namespace", "fieldRef", "fieldPath",
		"metadata.namespace"));

	/* init containers */
	json_t *inits = json_array();
	json_array_append_new(inits, container("init", opt->driver_image,
		json_pack("[s, s, s, s, s]", "airbyte-replication-driver", "--command", "init",
			  "--replication", run_name),
		json_pack("[o, o]", mount("storage", "/storage", 0), mount("pipes", "/pipes", 0)),
		small_resources(), opt));
	if (in->state)
		json_array_append_new(inits, container("restore-state", opt->driver_image,
			json_pack("[s, s, s, s, s, s]", "airbyte-replication-driver", "state", "set",
				  "/input-state/" STATE, "--replication", run_name),
			json_pack("[o, o]", mount("storage", "/storage", 0),
				  mount("input-state", "/input-state", 1)),
			small_resources(), opt));

	/* the run */
	json_t *containers = json_array();
	json_array_append_new(containers, container("source", src_image,
		role_command("source", run_name),
		json_pack("[o, o, o]", mount("pipes", "/pipes", 0), mount("storage", "/storage", 0),
			  mount("source-secrets", "/secrets", 1)),
		connector_resources(in->source), opt));
	json_array_append_new(containers, container("destination", dst_image,
		role_command("destination", run_name),
		json_pack("[o, o, o]", mount("pipes", "/pipes", 0), mount("storage", "/storage", 0),
			  mount("destination-secrets", "/secrets", 1)),
		connector_resources(in->destination), opt));
	json_array_append_new(containers, container("state-sync", opt->driver_image,
		json_pack("[s, s, s, s, s, s, s, s, s, s]", "airbyte-replication-operator",
			  "sync-state", "--output", opt->output_name, "--replication", run_name,
			  "--run", name, "--kubeconfig", "in-cluster"),
		json_pack("[o, o]", mount("storage", "/storage", 1),
			  mount("api-token", "/var/run/secrets/kubernetes.io/serviceaccount", 1)),
		small_resources(), opt));

	pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}, s:{s:s, s:b, s:o, s:o, s:o}}",
			"apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace",
			ns, "labels", labels(name, conn), "ownerReferences",
			podspec_owner_ref(in->replication, 1), "spec", "restartPolicy", "Never",
			"automountServiceAccountToken", 0, "initContainers", inits, "containers",
			containers, "volumes", volumes);
	if (opt->service_account)
		json_object_set_new(json_object_get(pod, "spec"), "serviceAccountName",
				    json_string(opt->service_account));
	r = secret && pod ? 0 : -ENOMEM;
out:
	free(src_image);
	free(dst_image);
	json_decref(catalog);
	if (r) {
		json_decref(secret);
		json_decref(pod);
	} else {
		*secret_out = secret;
		*pod_out = pod;
	}
	return r;
}
