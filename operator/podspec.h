/*
 * podspec.h - what one replication run looks like in Kubernetes: the
 * Secret with its connector configs, catalog and input state, and the Pod
 * that runs it.  Pure functions of the objects involved (no API calls), so
 * the whole layout is unit-tested.
 *
 * The Pod:
 *   init containers (driver image):  init (copies the driver into the
 *       `storage` emptyDir), restore-state (only with an input state:
 *       `state set` into the run's store)
 *   containers:  source, destination (the connector images, the driver as
 *       entrypoint, the image's AIRBYTE_ENTRYPOINT kept) and state-sync (the
 *       operator image: copies every committed state into the Connection's
 *       ReplicationOutput).  Only state-sync gets an API token, and each
 *       connector sees only its own config.
 *
 * Ownership: the returned objects are new references; inputs are borrowed.
 */
#ifndef OP_PODSPEC_H
#define OP_PODSPEC_H

#include <jansson.h>

struct run_inputs {
	const json_t *replication, *connection;
	const json_t *source, *destination;         /* Connector objects */
	const json_t *source_def, *destination_def; /* ConnectorDefinition objects */
	const json_t *state;                        /* committed state document, or NULL */
};

struct pod_options {
	const char *driver_image;       /* has airbyte-replication-driver and -operator */
	const char *service_account;    /* for the state-sync container */
	const char *pull_policy;        /* NULL: the cluster's default */
	const char *output_name;        /* the Connection's ReplicationOutput */
};

#define LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define LABEL_REPLICATION "airbyte.pravaah.dev/replication"
#define LABEL_CONNECTION "airbyte.pravaah.dev/connection"
#define OPERATOR_NAME "airbyte-replication-operator"

/* The Secret's name for a replication run. */
int podspec_secret_name(char *buf, size_t size, const char *replication);

/*
 * Build the Secret and the Pod for a run.  Returns 0, or -EINVAL with *why
 * (malloc'ed) naming the field that is missing or wrong.
 */
int podspec_build(const struct run_inputs *in, const struct pod_options *opt,
		  json_t **secret, json_t **pod, char **why);

/* A connector's config (Connector.spec.spec) without the CRD's embedded apiVersion/kind. */
json_t *podspec_connector_config(const json_t *connector);
/* The configured catalog of a Connection, as the connectors expect it. */
json_t *podspec_catalog(const json_t *connection);
/* An ownerReference to obj (controller when controller != 0). */
json_t *podspec_owner_ref(const json_t *obj, int controller);

#endif
