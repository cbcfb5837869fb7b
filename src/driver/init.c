/*
 * init.c - `init`: copy this static binary into the shared storage volume so
 * that connector containers can use it as their entrypoint.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driver/roles.h"
#include "util/fs.h"
#include "util/log.h"

#define DRIVER_NAME "airbyte-replication-driver"

int init_role(const struct driver_config *cfg)
{
	char *self = NULL, *dst = NULL;
	size_t len;
	int r = fs_mkdir_p(cfg->storage_dir, 0755);
	if (r < 0) {
		log_error("cannot create the storage directory '%s': %s", cfg->storage_dir,
			  strerror(-r));
		return EXIT_USAGE;
	}
	/* without /proc (an empty chroot), the path we were started by */
	const char *src = "/proc/self/exe";
	r = fs_read_file(src, 256u << 20, &self, &len);
	if (r < 0 && cfg->argv0 && strchr(cfg->argv0, '/')) {
		src = cfg->argv0;
		r = fs_read_file(src, 256u << 20, &self, &len);
	}
	if (r < 0) {
		log_error("cannot read this executable ('%s'): %s", src, strerror(-r));
		return EXIT_FAILED;
	}
	dst = fs_join(cfg->storage_dir, DRIVER_NAME);
	r = dst ? fs_write_atomic(dst, self, len, 0755, true) : -ENOMEM;
	if (r < 0)
		log_error("cannot write '%s': %s", dst ? dst : DRIVER_NAME, strerror(-r));
	else
		log_info("copied the driver to '%s' (%zu bytes)", dst, len);
	free(self);
	free(dst);
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}
