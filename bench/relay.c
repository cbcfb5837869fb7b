/*
 * relay: copy stdin to stdout and inspect nothing: the ceiling a line relay
 * can reach.  Both pipes get 1 MiB (as the driver sets for its pipes).
 *   relay            read(2)/write(2) through a 1 MiB buffer (default: the
 *                    driver copies through user space too)
 *   relay --splice   splice(2) through a pipe, no copy to user space
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (1 << 20)

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

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

static int copy_rw(void)
{
	char *buf = malloc(BUF_SIZE);
	ssize_t n;

	if (!buf)
		return -1;
	for (;;) {
		n = read(STDIN_FILENO, buf, BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			break;
	}
	free(buf);
	return n == 0 ? 0 : -1;
}

static int copy_splice(void)
{
	ssize_t n;

	for (;;) {
		n = splice(STDIN_FILENO, NULL, STDOUT_FILENO, NULL, BUF_SIZE, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : -1;
	}
}

int main(int argc, char **argv)
{
	int use_splice = argc > 1 && !strcmp(argv[1], "--splice");

	/* best effort: not a pipe, or over pipe-max-size */
	(void)fcntl(STDIN_FILENO, F_SETPIPE_SZ, BUF_SIZE);
	(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, BUF_SIZE);
	if ((use_splice ? copy_splice() : copy_rw()) < 0) {
		fprintf(stderr, "relay: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
