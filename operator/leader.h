/*
 * leader.h - leader election with a coordination.k8s.io/v1 Lease.
 *
 * One operator of several holds the Lease and runs the controllers; the
 * others try again every retry period and take over once the holder has
 * not renewed for a whole lease duration.  Expiry is judged by our own
 * clock from when we last saw the record change (as client-go does), so
 * clocks of different machines need not agree.  Updates carry the Lease's
 * resourceVersion: of two candidates only one wins a takeover.
 */
#ifndef OP_LEADER_H
#define OP_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "operator/kube.h"

struct leader {
	const struct kube *k;
	const char *ns, *name, *identity;
	int duration_s;
	bool held;
	char seen[256];          /* holder + renewTime last observed */
	int64_t seen_at;         /* monotonic ms when it last changed */
	int64_t renewed_at;      /* monotonic ms of our last successful renew */
};

void leader_init(struct leader *l, const struct kube *k, const char *ns, const char *name,
		 const char *identity, int duration_s);
/* Try to acquire or renew.  Returns true while we hold the lease. */
bool leader_step(struct leader *l);
/* Give the lease up (on shutdown) so that a standby takes over at once. */
void leader_release(struct leader *l);

#endif
