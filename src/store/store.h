/*
 * store.h - the local directory store of one replication.
 *
 *   <store-path>/<replication>/state.json    committed state (atomic, fsynced)
 *   <store-path>/<replication>/state.json.tmp.PID  while a run commits: the
 *                                            superseded state, next temp file
 *   <store-path>/<replication>/stats.json    live stats, rewritten every second
 *   <store-path>/<replication>/history.jsonl one JSON line per finished run
 *   <store-path>/<replication>/state-history.jsonl every committed state
 *   <store-path>/<replication>/metrics.prom  Prometheus textfile (with stats)
 *   <store-path>/<replication>/lock          held (flock) while a run or a
 *                                            state change is in progress
 *
 * state.json holds {"replication", "type", "updated_at", "run", "state"}
 * where "state" is what `read --state` receives.  Everything is plain JSON,
 * readable with jq.  A corrupt state file is reported, never overwritten.
 */
#ifndef AB_STORE_H
#define AB_STORE_H

#include <jansson.h>
#include <stdbool.h>

#include "protocol/catalog.h"
#include "util/fs.h"

struct store {
	char *dir;
	char *state_path, *stats_path, *history_path, *journal_path, *lock_path;
	char *metrics_path;
};

/* Set up paths; with create, make the directories.  -EINVAL: bad name. */
int store_open(struct store *s, const char *store_path, const char *replication,
	       bool create);
void store_release(struct store *s);

/* True when the replication's directory exists. */
bool store_exists(const struct store *s);

/*
 * Load state.json into *doc (new reference; NULL when there is none).
 * -EBADMSG with err filled when the file is not valid JSON.
 */
int store_load_state(const struct store *s, json_t **doc, struct ab_error *err);
int store_save_state(const struct store *s, const json_t *doc);
/*
 * Commit a state document given as one line of compact JSON (with or
 * without the trailing newline): state.json is replaced durably, then the
 * line is appended to the state journal.
 */
int store_commit_text(const struct store *s, const char *text, size_t len);
/*
 * The same for many commits in a row (the destination's persister), at
 * less cost each: state.json's previous version is kept as the next temp
 * file (see fs_replacer) and the journal stays open.
 */
struct store_committer {
	struct fs_replacer state;
	int journal_fd;
};
int store_committer_open(struct store_committer *c, const struct store *s);
int store_committer_commit(struct store_committer *c, const char *text, size_t len);
/* Remove the temp file, close everything.  Accepts a zeroed c. */
void store_committer_close(struct store_committer *c);
/* All journal entries, oldest first, as a new array (a torn last line is skipped). */
int store_read_journal(const struct store *s, json_t **entries);
/* All run records (history.jsonl), oldest first, as a new array. */
int store_read_history(const struct store *s, json_t **runs);
/* stats.json as a new reference, NULL when there is none (or unreadable). */
json_t *store_load_stats(const struct store *s);

/*
 * Take the replication's lock (flock on <dir>/lock, the holder's pid
 * written inside).  Returns the lock fd (close it to release), -EWOULDBLOCK
 * when another process holds it and wait is false (*holder set to its pid).
 */
int store_lock(const struct store *s, bool wait, long *holder);
/* stats.json, and metrics.prom rendered from it. */
int store_save_stats(const struct store *s, const json_t *stats, bool durable);
int store_append_history(const struct store *s, const json_t *record);
/* Number of runs recorded so far (lines in history.jsonl). */
long store_run_count(const struct store *s);

/* Remove temp files a killed writer left (call with the lock held). */
void store_remove_stale_temps(const struct store *s);

/* Replication names become directory names: letters, digits, . _ - only. */
bool store_valid_name(const char *name);

#endif
