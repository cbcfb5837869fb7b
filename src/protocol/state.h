/*
 * state.h - merging AirbyteStateMessages into the state of a replication.
 *
 * The merged state is kept in the form a source's `read --state FILE`
 * expects: a JSON array of AirbyteStateMessage objects for STREAM and
 * GLOBAL states, the bare `data` object for LEGACY ones.  Rules (DESIGN §4):
 * latest state per stream wins; streams that sent nothing keep theirs; a
 * GLOBAL replaces the shared state and the per-stream states it carries;
 * a message without a payload never erases a stored state.
 *
 * All json_t arguments are borrowed; *doc is owned by the caller.
 */
#ifndef AB_STATE_H
#define AB_STATE_H

#include <jansson.h>
#include <stdint.h>

#include "protocol/catalog.h"

enum ab_state_type { AB_STATE_NONE, AB_STATE_LEGACY, AB_STATE_STREAM, AB_STATE_GLOBAL };

/* The type of a merged state document (NULL or json null: NONE). */
enum ab_state_type state_doc_type(const json_t *doc);
/* The type a message declares (no "type": LEGACY); -1 when invalid. */
int state_msg_type(const json_t *msg);
const char *state_type_name(enum ab_state_type t);

/*
 * Merge the AirbyteStateMessage msg into *doc (which may be NULL).
 * Returns 1 when *doc changed, 0 when msg carried nothing to store (it is
 * ignored), -EINVAL with err filled when msg is malformed.
 */
int state_merge(json_t **doc, const json_t *msg, struct ab_error *err);

/*
 * Fingerprint of a state message, ignoring sourceStats/destinationStats, so
 * that a state echoed by the destination can be matched to the one the
 * source sent.  Returns 0, or -EINVAL for a non-object.
 */
int state_fingerprint(const json_t *msg, uint64_t *out);

/*
 * The streams a state message is about, appended to names as "ns.name" or
 * "name" strings (LEGACY: none).  Used to reject states for unknown streams.
 */
int state_msg_streams(const json_t *msg, json_t *names);

#endif
