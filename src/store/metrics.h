/*
 * metrics.h - the replication's stats document (stats.json, see store.h) as
 * Prometheus metrics, in the text exposition format version 0.0.4, for a
 * `/metrics` endpoint (util/httpd.h) or a node_exporter textfile.
 *
 * Every metric is named airbyte_replication_* and carries the label
 * replication; per-stream metrics add stream (and namespace when the stream
 * has one), messages_total adds type, connector metrics add connector.
 * Samples have no timestamps.  The output is deterministic: families in a
 * fixed order, streams in the document's order, other label values sorted.
 * A field missing from the document leaves its family out entirely.
 *
 * Ownership: the stats document is borrowed; the text is new, caller frees.
 */
#ifndef AB_METRICS_H
#define AB_METRICS_H

#include <jansson.h>
#include <stddef.h>

/* The Content-Type of the text exposition format. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Render stats into *out (malloc'ed, NUL-terminated, caller frees) and its
 * length into *len (len may be NULL).  Returns 0, -EINVAL when stats is not
 * an object with a string "replication", -ENOMEM.  *out is NULL on error.
 */
int metrics_render(const json_t *stats, char **out, size_t *len);

#endif
