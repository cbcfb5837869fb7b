/*
 * controller.h - the operator's control loop: watches feed a work queue,
 * workers reconcile one key at a time.
 *
 *   controller.c   watches (list, watch from resourceVersion, bookmarks,
 *                  re-list on 410, reconnect with backoff), workers, metrics
 *   reconcile.c    what one Replication or Connection needs done
 *   leader.c       the Lease that makes one operator of several active
 */
#ifndef OP_CONTROLLER_H
#define OP_CONTROLLER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "operator/kube.h"
#include "operator/podspec.h"
#include "operator/queue.h"

struct ctl_metrics {
	atomic_ulong reconciles, reconcile_errors, conflicts;
	atomic_ulong watch_events, watch_restarts, watch_relists;
	atomic_ulong pods_created, replications_created, runs_succeeded, runs_failed;
	atomic_ulong api_errors;
};

struct ctl {
	const struct kube *k;
	const char *ns;                 /* the watched namespace */
	struct pod_options pod;         /* output_name is set per run */
	int stuck_grace_s;              /* connectors done, pod still running: delete after this */
	struct queue q;
	bool q_ready;                   /* q initialised (once, on the first term) */
	volatile bool stop;
	atomic_bool synced;             /* every watch has listed once (readiness) */
	struct ctl_metrics m;
	pthread_t watchers[5], worker;
	int n_watchers;
	atomic_int listed;
};

/* Start the watches and the worker (the leader calls this). */
int ctl_start(struct ctl *c);
/* Stop them and wait (on SIGTERM or lost leadership). */
void ctl_stop(struct ctl *c);

/* Prometheus text of the controller's counters (malloc'ed). */
char *ctl_metrics_text(struct ctl *c, bool leader);

/* reconcile.c: 0 done, > 0 requeue after that many ms, < 0 retry with backoff. */
long reconcile_replication(struct ctl *c, const char *ns, const char *name);
long reconcile_connection(struct ctl *c, const char *ns, const char *name);

/* A merge patch of obj's status (or the object itself when sub is NULL). */
int ctl_patch(struct ctl *c, const struct kube_kind *kind, const char *ns, const char *name,
	      const char *sub, json_t *patch);
/* An Event about obj (type "Normal" or "Warning"); failures are only counted. */
void ctl_event(struct ctl *c, const json_t *obj, const char *type, const char *reason,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
