/*
 * commands.h - one function per command, each returning the exit code.
 */
#ifndef AB_COMMANDS_H
#define AB_COMMANDS_H

#include "cli/options.h"
#include "store/store.h"

/*
 * Open the store of o's replication, which must exist: 0, or the exit
 * code after saying what is wrong.
 */
int open_replication_store(const struct options *o, struct store *s, bool create);

int cmd_state(struct options *o);
int cmd_state_k8s(struct options *o); /* execs the operator: returns on failure */
int cmd_history(struct options *o);
int cmd_progress(struct options *o);
int cmd_list(struct options *o);
int cmd_validate(struct options *o);
int cmd_validate_replication(struct options *o);
int cmd_schedule(struct options *o);
int cmd_schedule_next(struct options *o);

#endif
