#include "driver/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_MAX_LINE (64u << 20) /* the input state travels here */

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int control_listen(const char *path)
{
	struct sockaddr_un a;
	int r = fill_addr(&a, path);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int control_adopt(struct control *c, int fd)
{
	c->fd = fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	int r = lines_init(&c->in, 64 << 10, CONTROL_MAX_LINE);
	if (r < 0) {
		close(fd);
		c->fd = -1;
	}
	return r;
}

int control_connect(struct control *c, const char *path)
{
	struct sockaddr_un a;
	int r = fill_addr(&a, path);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return control_adopt(c, fd);
}

void control_close(struct control *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	lines_release(&c->in);
}

int control_send(struct control *c, const json_t *msg)
{
	if (c->fd < 0)
		return -EPIPE;
	char *text = json_dumps(msg, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	text[len++] = '\n';
	const char *p = text;
	int r = 0, waited = 0;
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || waited >= 5000) {
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		poll(&pfd, 1, 100);
		waited += 100;
	}
	free(text);
	return r;
}

int control_sendf(struct control *c, const char *type, json_t *fields)
{
	json_t *msg = fields ? fields : json_object();
	if (!msg)
		return -ENOMEM;
	json_object_set_new(msg, "t", json_string(type));
	int r = control_send(c, msg);
	json_decref(msg);
	return r;
}

ssize_t control_fill(struct control *c)
{
	return lines_fill(&c->in, c->fd);
}

int control_next(struct control *c, json_t **msg)
{
	const char *line;
	size_t len;
	if (lines_next(&c->in, &line, &len) <= 0)
		return 0;
	*msg = json_loadb(line, len, 0, NULL);
	if (json_is_object(*msg))
		return 1;
	json_decref(*msg);
	*msg = NULL;
	return -EBADMSG;
}

const char *control_type(const json_t *msg)
{
	const char *t = json_string_value(json_object_get(msg, "t"));
	return t ? t : "";
}
