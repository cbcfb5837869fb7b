/*
 * progress.h - a human view of a replication's live stats (stats.json):
 * per stream records, bytes, rate, status, and a progress bar with an ETA
 * when the source sent ESTIMATE traces.  Used by `progress` and by `run`
 * on a terminal.  Pure formatting: no I/O.
 */
#ifndef AB_PROGRESS_H
#define AB_PROGRESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Render stats (borrowed) into a new string (*out, caller frees).  prev is
 * an earlier sample of the same run (or NULL): rates are taken between the
 * two, else over the whole run.  Returns 0 or -ENOMEM.
 */
int progress_render(const json_t *stats, const json_t *prev, char **out);

/*
 * The figures behind the view, added to a copy of stats for --json: per
 * stream "records_per_second", "progress" (0..1) and "eta_seconds" when
 * known.  Returns a new reference.
 */
json_t *progress_figures(const json_t *stats, const json_t *prev);

/* "1.5 MiB" and the like, into buf. */
void progress_human_bytes(double bytes, char *buf, size_t cap);

#endif
