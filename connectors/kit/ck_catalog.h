/*
 * ck_catalog: lookups in a ConfiguredAirbyteCatalog and in a saved state.
 *
 * Every returned json_t or string is borrowed from the argument and lives
 * as long as it does.
 */
#ifndef CK_CATALOG_H
#define CK_CATALOG_H

#include <jansson.h>

/* Accessors of one ConfiguredAirbyteStream (NULL when absent). */
const char *ck_cs_name(const json_t *cs);
const char *ck_cs_namespace(const json_t *cs);
const char *ck_cs_sync_mode(const json_t *cs);
const char *ck_cs_destination_sync_mode(const json_t *cs);
/* First element of cursor_field, or NULL. */
const char *ck_cs_cursor(const json_t *cs);
/* The stream's json_schema "properties" object, or NULL. */
json_t *ck_cs_properties(const json_t *cs);

/* The configured stream with that name (namespace ignored when NULL). */
json_t *ck_catalog_find(const json_t *catalog, const char *name, const char *ns);

/*
 * The saved stream_state for a stream, from a --state file in any of the
 * shapes Airbyte has used: an array of AirbyteStateMessage (STREAM, GLOBAL,
 * LEGACY) or of AirbyteMessage of type STATE, a single such message, or a
 * legacy object keyed by stream name.  NULL when there is none.
 */
json_t *ck_state_find(const json_t *state, const char *name, const char *ns);

#endif
