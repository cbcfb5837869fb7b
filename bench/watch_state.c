/*
 * watch_state DIR: print "<CLOCK_REALTIME ns> <state.json on one line>"
 * each time DIR/state.json is replaced (the store renames a temp file over
 * it after fsync, so the rename is the moment the state is durable).  The
 * stamp is taken when the event is read, before reading the file: an upper
 * bound of the commit time.  Prints "ready" once watching; stops on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define MAX_STATE (1 << 20)

static int write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int report(const char *path, long long ns, char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n;
	ssize_t got, len = 0;

	if (fd < 0)
		return 0; /* replaced again meanwhile: the next event has it */
	n = snprintf(buf, 32, "%lld ", ns);
	while ((got = read(fd, buf + n + len, MAX_STATE - (size_t)len)) > 0)
		len += got;
	close(fd);
	for (ssize_t i = n; i < n + len; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[n + len] = '\n';
	return write_all(buf, (size_t)(n + len + 1));
}

int main(int argc, char **argv)
{
	char ev[sizeof(struct inotify_event) + NAME_MAX + 1]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	char path[PATH_MAX], *buf = malloc(MAX_STATE + 64);
	int fd;

	if (argc != 2 || !buf) {
		fprintf(stderr, "usage: watch_state DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/state.json", argv[1]);
	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, argv[1], IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		fprintf(stderr, "watch_state: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (write_all("ready\n", 6) < 0)
		return 1;
	for (;;) {
		ssize_t n = read(fd, ev, sizeof(ev)), off = 0;
		struct timespec ts;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		while (off < n) {
			struct inotify_event *e = (struct inotify_event *)(ev + off);

			if (e->len && !strcmp(e->name, "state.json") &&
			    report(path, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, buf) < 0)
				return 1;
			off += (ssize_t)sizeof(*e) + e->len;
		}
	}
}
