/*
 * roles.h - the driver's roles.  Each returns the process exit code
 * (DESIGN §5: 0 ok, 1 failed, 2 usage/config, 3 timeout, 126/127 connector
 * cannot be executed, 128+N stopped by signal N).
 */
#ifndef AB_ROLES_H
#define AB_ROLES_H

#include "driver/config.h"

int source_role(const struct driver_config *cfg);
int destination_role(const struct driver_config *cfg);
/* Both roles as child processes of this one; argv is passed to them. */
int run_local(const struct driver_config *cfg, int argc, char **argv,
	      bool private_pipes);
/* Copy this executable to <storage_dir>/airbyte-replication-driver. */
int init_role(const struct driver_config *cfg);

#endif
