/*
 * persister.h - durable state writes off the destination driver's loop.
 *
 * The loop merges each STATE the destination emits and hands the
 * serialised document to a thread that writes it atomically and durably
 * (temp file, fsync, rename, fsync dir).  Writes start at most every
 * PERSISTER_INTERVAL_US (a group commit): of the states that come in
 * between, or while the disk is busy, only the latest is written, as each
 * one contains all earlier ones.  That bounds the disk's work when a
 * destination echoes states by the hundred a second, for at most that
 * much latency.  A state counts as committed only once it is durable; the
 * loop learns that from persister_durable() (polled, no wake-up).
 */
#ifndef AB_PERSISTER_H
#define AB_PERSISTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERSISTER_INTERVAL_US 2500

/* Makes text durable; returns 0 or -errno.  Runs on the persister thread. */
typedef int (*persister_write_fn)(void *ctx, const char *text, size_t len);

struct persister {
	pthread_t thread;
	persister_write_fn write;
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t wake, idle;
	char *text;            /* next document to write (owned), or NULL */
	size_t len;
	uint64_t submitted, writing, durable;
	int error;             /* first write error, -errno */
	bool stop, running;
	long interval_us;      /* PERSISTER_INTERVAL_US (tests set it before a submit) */
	bool resting;          /* waiting out the interval, text queued */
	bool hurry;            /* a flush is waiting: no interval */
};

/* Start the thread; it calls write(ctx, ...) for each document.  0 or -errno. */
int persister_start(struct persister *p, persister_write_fn write, void *ctx);
/* Queue text (stolen, malloc'ed) as state number seq (increasing). */
void persister_submit(struct persister *p, char *text, size_t len, uint64_t seq);
/* The highest durable seq, and the first error (0 if none). */
uint64_t persister_durable(struct persister *p, int *error);
/* Wait until everything submitted is durable or failed; returns error. */
int persister_flush(struct persister *p);
/* Flush, stop the thread, free everything.  Accepts a never-started one. */
void persister_stop(struct persister *p);

#endif
