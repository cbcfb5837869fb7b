/*
 * config.h - everything a driver role needs to know, filled by the command
 * layer from flags, environment variables and defaults (DESIGN §2).
 */
#ifndef AB_CONFIG_H
#define AB_CONFIG_H

#include <stdbool.h>

struct driver_config {
	const char *replication;
	const char *pipes_dir;
	const char *secrets_dir;
	const char *storage_dir;
	const char *store_path;
	const char *source_entrypoint;
	const char *destination_entrypoint;
	/* files handed to the connectors (default: in secrets_dir) */
	const char *source_config;
	const char *destination_config;
	const char *catalog;
	/* seconds */
	double connect_timeout;   /* waiting for the peer driver */
	double heartbeat_timeout; /* source silent this long: fail (0: never) */
	double grace_period;      /* SIGTERM to a connector, then SIGKILL */
	double drain_timeout;     /* destination finishing after the source failed */
	double spec_timeout;      /* `spec` before running (0: no config check) */
	bool strict_config;       /* a config that fails its spec stops the run */
	unsigned long max_line;   /* bytes */
	const char *metrics_addr; /* serve /metrics here while running, or NULL */
	const char *argv0;        /* how we were started (init falls back to it) */
};

/* Exit codes (contract, DESIGN §5). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_TIMEOUT = 3,
};

#endif
