#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1) /* <linux/fs.h>; musl has no renameat2() */
#endif

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_replacer_open(struct fs_replacer *w, const char *path, mode_t mode)
{
	char *copy = strdup(path);

	memset(w, 0, sizeof(*w));
	w->dir_fd = -1;
	w->mode = mode;
	w->path = strdup(path);
	if (!copy || !w->path || asprintf(&w->tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
		w->tmp = NULL;
		free(copy);
		fs_replacer_close(w);
		return -ENOMEM;
	}
	w->dir_fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = w->dir_fd < 0 ? -errno : 0;
	free(copy);
	if (r < 0)
		fs_replacer_close(w);
	return r;
}

/* Move the temp file to path: a swap when path exists and the file system can. */
static int put_in_place(struct fs_replacer *w)
{
	if (!w->plain_rename) {
		if (syscall(SYS_renameat2, AT_FDCWD, w->tmp, AT_FDCWD, w->path, RENAME_EXCHANGE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
			w->plain_rename = true;
		else if (errno != ENOENT) /* ENOENT: the first version */
			return -errno;
	}
	return rename(w->tmp, w->path) < 0 ? -errno : 0;
}

/*
 * The temp file for the next version: the superseded version, but only
 * while nobody else has it open, so that a reader of the file never sees
 * it change.  A write lease is granted only then, and it holds off new
 * opens until we close.  Otherwise (or where leases are not to be had) a
 * fresh file.
 */
static int open_tmp(struct fs_replacer *w)
{
	int fd = open(w->tmp, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* a lease break raises SIGURG, ignored by default, not the fatal SIGIO */
		if (fcntl(fd, F_SETSIG, SIGURG) == 0 && fcntl(fd, F_SETLEASE, F_WRLCK) == 0)
			return fd; /* no O_TRUNC: freeing blocks costs what the swap saves */
		close(fd);
		unlink(w->tmp);
	}
	fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, w->mode);
	return fd < 0 ? -errno : fd;
}

int fs_replacer_write(struct fs_replacer *w, const void *data, size_t len)
{
	int fd = open_tmp(w);
	if (fd < 0)
		return fd;
	int r = fs_write_all(fd, data, len);
	if (r == 0 && ftruncate(fd, (off_t)len) < 0)
		r = -errno;
	if (r == 0 && !w->lazy && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = put_in_place(w);
	if (r == 0 && !w->lazy && fsync(w->dir_fd) < 0)
		r = -errno;
	if (r < 0)
		unlink(w->tmp); /* the next write starts from a fresh file */
	return r;
}

void fs_replacer_close(struct fs_replacer *w)
{
	if (w->tmp)
		unlink(w->tmp);
	if (w->path && w->dir_fd >= 0) /* a zeroed w has no fd 0 */
		close(w->dir_fd);
	free(w->path);
	free(w->tmp);
	memset(w, 0, sizeof(*w));
	w->dir_fd = -1;
}

int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, bool durable)
{
	struct fs_replacer w;
	int r = fs_replacer_open(&w, path, mode);
	if (r < 0)
		return r;
	w.plain_rename = true; /* one version: nothing to keep for a next one */
	w.lazy = !durable;
	r = fs_replacer_write(&w, data, len);
	fs_replacer_close(&w);
	return r;
}

int fs_append_durable(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int r = fs_write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int fs_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t used = 0, cap;
	int r = 0;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	for (;;) {
		if (used + 1 >= cap) {
			cap *= 2;
		}
		if (cap > max + 2)
			cap = max + 2;
		char *nb = realloc(buf, cap);
		if (!nb) {
			r = -ENOMEM;
			goto out;
		}
		buf = nb;
		ssize_t n = read(fd, buf + used, cap - 1 - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			r = -EFBIG;
			goto out;
		}
	}
	buf[used] = '\0';
	*out = buf;
	if (len)
		*len = used;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return n ? -ENAMETOOLONG : -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

char *fs_join(const char *a, const char *b)
{
	char *s = NULL;
	size_t n = strlen(a);
	if (asprintf(&s, "%s%s%s", a, n && a[n - 1] == '/' ? "" : "/", b) < 0)
		return NULL;
	return s;
}
