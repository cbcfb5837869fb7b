#include "driver/persister.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ts + us */
static struct timespec ts_add(struct timespec ts, long us)
{
	ts.tv_sec += us / 1000000;
	ts.tv_nsec += us % 1000000 * 1000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

static bool ts_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static void *persister_main(void *arg)
{
	struct persister *p = arg;
	struct timespec now, next = { 0 }; /* the next write starts no sooner */

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->text && !p->stop)
			pthread_cond_wait(&p->wake, &p->mu);
		if (!p->text)
			break;
		/* rest out the interval: states coming meanwhile replace text */
		p->resting = true;
		while (!p->stop && !p->hurry) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!ts_before(now, next))
				break;
			pthread_cond_timedwait(&p->wake, &p->mu, &next);
		}
		p->resting = false;
		clock_gettime(CLOCK_MONOTONIC, &now);
		next = ts_add(now, p->interval_us);
		char *text = p->text;
		size_t len = p->len;
		uint64_t seq = p->submitted;
		p->text = NULL;
		p->writing = seq;
		pthread_mutex_unlock(&p->mu);

		int r = p->write(p->ctx, text, len);
		free(text);

		pthread_mutex_lock(&p->mu);
		p->writing = 0;
		if (r < 0 && !p->error)
			p->error = r;
		if (r == 0)
			p->durable = seq;
		pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int persister_start(struct persister *p, persister_write_fn write, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->write = write;
	p->ctx = ctx;
	p->interval_us = PERSISTER_INTERVAL_US;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&p->idle, NULL);
	int r = pthread_create(&p->thread, NULL, persister_main, p);
	if (r) {
		persister_stop(p);
		return -r;
	}
	p->running = true;
	return 0;
}

void persister_submit(struct persister *p, char *text, size_t len, uint64_t seq)
{
	pthread_mutex_lock(&p->mu);
	free(p->text); /* superseded: the new state contains it */
	p->text = text;
	p->len = len;
	p->submitted = seq;
	if (!p->resting) /* a resting writer takes it when the interval is over */
		pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->mu);
}

uint64_t persister_durable(struct persister *p, int *error)
{
	uint64_t n;
	pthread_mutex_lock(&p->mu);
	n = p->durable;
	if (error)
		*error = p->error;
	pthread_mutex_unlock(&p->mu);
	return n;
}

int persister_flush(struct persister *p)
{
	int r;
	if (!p->running)
		return p->error;
	pthread_mutex_lock(&p->mu);
	p->hurry = true;
	pthread_cond_signal(&p->wake);
	while (p->text || p->writing)
		pthread_cond_wait(&p->idle, &p->mu);
	p->hurry = false;
	r = p->error;
	pthread_mutex_unlock(&p->mu);
	return r;
}

void persister_stop(struct persister *p)
{
	if (p->running) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->wake);
		pthread_cond_destroy(&p->idle);
		p->running = false;
	}
	free(p->text);
	p->text = NULL;
}
