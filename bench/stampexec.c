/*
 * stampexec FILE LABEL CMD [ARGS...]: append "LABEL <CLOCK_REALTIME ns>" to
 * FILE, then exec CMD.  Put in front of the driver and of each connector,
 * it measures the driver's start-up: from its exec to the connectors' exec.
 * Static and tiny, so its own cost is a few microseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	char line[256];
	int fd, n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (argc < 4) {
		fprintf(stderr, "usage: stampexec FILE LABEL CMD [ARGS...]\n");
		return 2;
	}
	n = snprintf(line, sizeof(line), "%s %lld\n", argv[2],
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	/* one short O_APPEND write: lines of concurrent stampers do not mix */
	if (fd < 0 || n < 0 || write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "stampexec: %s: %s\n", argv[1], strerror(errno));
		return 125;
	}
	close(fd);
	execvp(argv[3], argv + 3);
	fprintf(stderr, "stampexec: %s: %s\n", argv[3], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
