/*
 * queue.c - keyed work queue with delays and backoff.
 *
 * A linked list is enough: the keys are one per Replication and Connection
 * of the namespace, and every operation is a short scan.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "operator/queue.h"

struct queue_item {
	struct queue_item *next;
	char *key;
	bool queued;       /* waiting to be handed out */
	bool busy;         /* a worker holds it */
	int64_t due;       /* when queued: not before this (monotonic ms) */
	int failures;
};

int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void queue_init(struct queue *q, int64_t base_ms, int64_t max_ms)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &a);
	pthread_condattr_destroy(&a);
	q->base_ms = base_ms;
	q->max_ms = max_ms;
}

static void free_items(struct queue *q)
{
	struct queue_item *it = q->items;
	while (it) {
		struct queue_item *next = it->next;
		free(it->key);
		free(it);
		it = next;
	}
	q->items = NULL;
}

void queue_release(struct queue *q)
{
	free_items(q);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

static struct queue_item *find(struct queue *q, const char *key, bool create)
{
	for (struct queue_item *it = q->items; it; it = it->next)
		if (!strcmp(it->key, key))
			return it;
	if (!create)
		return NULL;
	struct queue_item *it = calloc(1, sizeof(*it));
	if (!it || !(it->key = strdup(key))) {
		free(it);
		return NULL;
	}
	it->next = q->items;
	q->items = it;
	return it;
}

static void add_locked(struct queue *q, const char *key, int64_t delay_ms)
{
	struct queue_item *it = find(q, key, true);
	if (!it)
		return;
	int64_t due = mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	if (!it->queued || due < it->due)
		it->due = due;
	it->queued = true;
	pthread_cond_broadcast(&q->cv);
}

void queue_add(struct queue *q, const char *key)
{
	queue_add_after(q, key, 0);
}

void queue_add_after(struct queue *q, const char *key, int64_t delay_ms)
{
	pthread_mutex_lock(&q->mu);
	if (!q->shutdown)
		add_locked(q, key, delay_ms);
	pthread_mutex_unlock(&q->mu);
}

int64_t queue_retry(struct queue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct queue_item *it = find(q, key, true);
	int64_t delay = q->base_ms;
	if (it) {
		for (int i = 0; i < it->failures && delay < q->max_ms; i++)
			delay *= 2;
		if (delay > q->max_ms)
			delay = q->max_ms;
		it->failures++;
		if (!q->shutdown)
			add_locked(q, key, delay);
	}
	pthread_mutex_unlock(&q->mu);
	return delay;
}

void queue_forget(struct queue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct queue_item *it = find(q, key, false);
	if (it)
		it->failures = 0;
	pthread_mutex_unlock(&q->mu);
}

char *queue_get(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	for (;;) {
		if (q->shutdown) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		int64_t now = mono_ms(), next = -1;
		struct queue_item *pick = NULL;
		for (struct queue_item *it = q->items; it; it = it->next) {
			if (!it->queued || it->busy)
				continue;
			if (it->due <= now && (!pick || it->due < pick->due))
				pick = it;
			else if (it->due > now && (next < 0 || it->due < next))
				next = it->due;
		}
		if (pick) {
			pick->queued = false;
			pick->busy = true;
			char *key = strdup(pick->key);
			pthread_mutex_unlock(&q->mu);
			return key;
		}
		if (next < 0) {
			pthread_cond_wait(&q->cv, &q->mu);
		} else {
			struct timespec ts = { .tv_sec = next / 1000, .tv_nsec = next % 1000 * 1000000 };
			pthread_cond_timedwait(&q->cv, &q->mu, &ts);
		}
	}
}

void queue_done(struct queue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct queue_item *it = find(q, key, false);
	if (it) {
		it->busy = false;
		/* drop keys that are idle and clean, so deleted objects do not pile up */
		if (!it->queued && !it->failures) {
			struct queue_item **pp = &q->items;
			while (*pp != it)
				pp = &(*pp)->next;
			*pp = it->next;
			free(it->key);
			free(it);
		}
	}
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void queue_shutdown(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void queue_reset(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	free_items(q);
	q->shutdown = false;
	pthread_mutex_unlock(&q->mu);
}

int queue_len(struct queue *q)
{
	int n = 0;
	pthread_mutex_lock(&q->mu);
	for (struct queue_item *it = q->items; it; it = it->next)
		n += it->queued;
	pthread_mutex_unlock(&q->mu);
	return n;
}
