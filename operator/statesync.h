/*
 * statesync.h - the state-sync sidecar (see statesync.c).
 */
#ifndef OP_STATESYNC_H
#define OP_STATESYNC_H

#include "operator/kube.h"

struct statesync_options {
	const char *output;       /* ReplicationOutput name */
	const char *replication;  /* the driver's --replication */
	const char *run;          /* the Replication object (status.replication), default replication */
	const char *store_path;   /* the driver's store (default /storage/store) */
	const char *ns;           /* NULL: the configuration's namespace */
	int interval_ms;          /* how often to look (default 250) */
	int linger_ms;            /* after SIGTERM, wait this long for the run's end (10000) */
	int final_timeout_ms;     /* how long to try the last sync (default 20000) */
};

/* Sync until the run ends or a signal; 0 when the last sync went through. */
int statesync_run(const struct kube *k, const struct statesync_options *o);

#endif
