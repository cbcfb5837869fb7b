/*
 * queue.h - the controller's work queue: keys ("replication/NS/NAME",
 * "connection/NS/NAME"), each queued at most once, never handed to two
 * workers at once, with delayed adds and per-key exponential backoff for
 * retries (like client-go's rate-limited queue).
 *
 * Thread-safe.  Keys are copied; queue_get returns a malloc'ed key the
 * caller passes to queue_done and then frees.
 */
#ifndef OP_QUEUE_H
#define OP_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct queue_item;

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct queue_item *items;   /* every known key */
	bool shutdown;
	int64_t base_ms, max_ms;    /* backoff: base * 2^failures, at most max */
};

void queue_init(struct queue *q, int64_t base_ms, int64_t max_ms);
void queue_release(struct queue *q);

/* Queue key now (or keep its earlier due time). */
void queue_add(struct queue *q, const char *key);
/* Queue key after delay_ms (an earlier due time wins). */
void queue_add_after(struct queue *q, const char *key, int64_t delay_ms);
/* Retry key after its backoff; returns the delay chosen. */
int64_t queue_retry(struct queue *q, const char *key);
/* Forget key's failures (after a successful reconcile). */
void queue_forget(struct queue *q, const char *key);

/*
 * Wait for a due key that no worker holds.  Returns it (malloc'ed; the
 * caller must queue_done it), or NULL after queue_shutdown.
 */
char *queue_get(struct queue *q);
/* The worker is done with key; a re-add while it worked is kept. */
void queue_done(struct queue *q, const char *key);
void queue_shutdown(struct queue *q);
/* Forget every key and accept work again (a new term as leader). */
void queue_reset(struct queue *q);

/* Keys waiting (due or not), for /metrics. */
int queue_len(struct queue *q);

int64_t mono_ms(void);

#endif
