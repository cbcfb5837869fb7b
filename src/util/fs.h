/*
 * fs.h - file helpers: complete writes, durable atomic replacement,
 * directories.  All return 0 (or a count) on success, -errno on failure.
 */
#ifndef AB_FS_H
#define AB_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write all of buf, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *buf, size_t len);

/*
 * Replace path with data atomically: write path.tmp.PID, fsync it, rename
 * over path, fsync the directory (when durable).  The temp file is removed
 * on any error, so a crash leaves either the old or the new content.
 */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, bool durable);

/* Append data to path (created 0644) with one write, then fsync. */
int fs_append_durable(const char *path, const void *data, size_t len);

/*
 * Read a whole file into a new NUL-terminated buffer (*out, caller frees).
 * -EFBIG when larger than max.
 */
int fs_read_file(const char *path, size_t max, char **out, size_t *len);

/* mkdir -p with mode for the directories it creates. */
int fs_mkdir_p(const char *path, mode_t mode);

/* fsync the directory holding path. */
int fs_sync_dir_of(const char *path);

/* Join a and b with one '/', into a new string (NULL on ENOMEM). */
char *fs_join(const char *a, const char *b);

#endif
