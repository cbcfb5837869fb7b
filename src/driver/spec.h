/*
 * spec.h - before a run, ask each connector for its specification
 * (`ENTRYPOINT spec`), check its config against it, and register the values
 * of `airbyte_secret` fields so that they never show in logs, stats or
 * run records.
 */
#ifndef AB_SPEC_H
#define AB_SPEC_H

#include <jansson.h>
#include <stdbool.h>

/*
 * Run `entrypoint spec` for at most timeout seconds.  Returns 0 with *spec
 * (new reference: the ConnectorSpecification), or -errno with why filled
 * (no SPEC message, exec failure, timeout).
 */
int connector_spec(const char *entrypoint, double timeout, json_t **spec, char *why, size_t cap);

/*
 * For a role: fetch the spec of `who` ("source", "destination"), validate
 * the config file against it (each error logged with its path), register
 * its secrets.  Returns 0 to go on (also when the connector has no usable
 * spec: then it warns), EXIT_USAGE when the config is unreadable, or
 * invalid and strict (not strict: the mismatch is a warning, since real
 * connectors accept configs their own specs reject).  timeout 0 skips it.
 */
int connector_check_config(const char *who, const char *entrypoint, const char *config_path,
			   double timeout, bool strict);

#endif
