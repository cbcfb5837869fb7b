/*
 * decide.h - the reconcile decisions that need no API server: what a Pod's
 * status means for its Replication, and when a Connection's schedule fires.
 * Pure functions, unit-tested.
 */
#ifndef OP_DECIDE_H
#define OP_DECIDE_H

#include <stdbool.h>
#include <jansson.h>

enum run_phase { PHASE_PENDING, PHASE_RUNNING, PHASE_SUCCEEDED, PHASE_FAILED };

struct outcome {
	enum run_phase phase;
	char reason[64];     /* CamelCase, e.g. "ConfigError", "DestinationFailed" */
	char message[512];
	/* both connectors have ended (state-sync may still be copying the last state) */
	bool connectors_done;
};

const char *phase_name(enum run_phase p); /* "Pending", "Running", "Succeeded", "Failed" */
bool phase_terminal(const char *state);    /* "Succeeded" or "Failed" */

/* What the Pod's status says about the run.  pod is borrowed. */
void decide_pod_outcome(const json_t *pod, struct outcome *out);

/* The driver's exit code as a reason ("ConfigError" for 2, ...). */
const char *exit_reason(int code);

/*
 * The schedule of a Connection (spec.scheduleType "cron" with
 * spec.schedule {units, timeUnit}): the interval's next fire time after
 * `last` (Unix seconds; the creation time when it never ran).  Returns -1
 * for a manual or invalid schedule, with *why set (static text) when
 * invalid.
 */
long long decide_next_run(const json_t *connection, long long last, const char **why);

#endif
