#include "util/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum { CONN_READ, CONN_WRITE, CONN_LINGER };

#define LINGER_MS 2000     /* at most, to drain what a client still sends */
#define ACCEPT_PAUSE_MS 100 /* after EMFILE and the like */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- addresses ---- */

static int parse_port(const char *s, in_port_t *port, const char **why)
{
	unsigned long v = 0;

	if (!*s) {
		*why = "missing port after ':'";
		return -EINVAL;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s >= 5) {
			*why = "the port must be a number from 0 to 65535";
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535) {
		*why = "the port must be a number from 0 to 65535";
		return -EINVAL;
	}
	*port = htons((in_port_t)v);
	return 0;
}

int httpd_parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen,
		     const char **why)
{
	char host[64];
	const char *port;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	*why = NULL;
	if (!addr || !*addr) {
		*why = "empty address (expected HOST:PORT, :PORT or [IPV6]:PORT)";
		return -EINVAL;
	}
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end) {
			*why = "missing ']' after the IPv6 address";
			return -EINVAL;
		}
		if (end[1] != ':') {
			*why = "expected ':PORT' after ']'";
			return -EINVAL;
		}
		hlen = (size_t)(end - addr - 1);
		if (hlen >= sizeof(host)) {
			*why = "bad IPv6 address";
			return -EINVAL;
		}
		memcpy(host, addr + 1, hlen);
		host[hlen] = '\0';
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
			*why = "bad IPv6 address";
			return -EINVAL;
		}
		a6->sin6_family = AF_INET6;
		*sslen = sizeof(*a6);
		return parse_port(end + 2, &a6->sin6_port, why);
	}
	port = strrchr(addr, ':');
	if (!port) {
		*why = "missing ':PORT' (expected HOST:PORT, :PORT or [IPV6]:PORT)";
		return -EINVAL;
	}
	hlen = (size_t)(port - addr);
	if (memchr(addr, ':', hlen)) {
		*why = "an IPv6 address needs brackets: [ADDRESS]:PORT";
		return -EINVAL;
	}
	if (hlen >= sizeof(host)) {
		*why = "bad IPv4 address";
		return -EINVAL;
	}
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	a4->sin_family = AF_INET;
	*sslen = sizeof(*a4);
	if (!*host || strcmp(host, "*") == 0)
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
		*why = "bad IPv4 address (host names other than localhost are not resolved)";
		return -EINVAL;
	}
	return parse_port(port + 1, &a4->sin_port, why);
}

int httpd_listen(const char *addr, int *fd, const char **why)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	int r = httpd_parse_addr(addr, &ss, &len, why);

	*fd = -1;
	if (r < 0)
		return r;
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		*why = "socket";
		return -errno;
	}
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		*why = "setsockopt";
		goto fail;
	}
	if (bind(s, (struct sockaddr *)&ss, len) < 0) {
		*why = "bind";
		goto fail;
	}
	if (listen(s, HTTPD_MAX_CLIENTS) < 0) {
		*why = "listen";
		goto fail;
	}
	*fd = s;
	return 0;
fail:
	r = -errno;
	close(s);
	return r;
}

/* ---- the server ---- */

void httpd_init(struct httpd *h, int listen_fd)
{
	memset(h, 0, sizeof(*h));
	h->fd = listen_fd;
	h->idle_ms = HTTPD_IDLE_MS;
	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++)
		h->conns[i].fd = -1;
}

int httpd_open(struct httpd *h, const char *addr, const char **why)
{
	int fd;
	int r = httpd_listen(addr, &fd, why);

	httpd_init(h, fd);
	return r;
}

int httpd_port(const struct httpd *h)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(h->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}

int httpd_clients(const struct httpd *h)
{
	int n = 0;

	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++)
		n += h->conns[i].fd >= 0;
	return n;
}

static void conn_close(struct httpd_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void httpd_close(struct httpd *h)
{
	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++)
		conn_close(&h->conns[i]);
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

int httpd_fds(const struct httpd *h, struct pollfd *out, int max)
{
	int n = 0;

	if (h->fd >= 0 && h->accept_pause <= now_ms()) {
		if (n >= max)
			return -ENOBUFS;
		out[n++] = (struct pollfd){ .fd = h->fd, .events = POLLIN };
	}
	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++) {
		const struct httpd_conn *c = &h->conns[i];
		if (c->fd < 0)
			continue;
		if (n >= max)
			return -ENOBUFS;
		out[n++] = (struct pollfd){ .fd = c->fd,
					    .events = c->state == CONN_WRITE ? POLLOUT : POLLIN };
	}
	return n;
}

int httpd_timeout(const struct httpd *h)
{
	int64_t next = h->accept_pause, now = now_ms();

	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++) {
		const struct httpd_conn *c = &h->conns[i];
		if (c->fd >= 0 && (next == 0 || c->deadline < next))
			next = c->deadline;
	}
	if (next == 0)
		return -1;
	if (next <= now)
		return 0;
	return next - now > 3600000 ? 3600000 : (int)(next - now);
}

static const char *status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/*
 * The whole response into c->out: status line, headers, body (left out for
 * HEAD, but counted in Content-Length).  -ENOMEM.
 */
static int set_response(struct httpd_conn *c, int code, const char *ctype, const char *body,
			size_t len, bool head_only)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.0 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Connection: close\r\n"
			 "\r\n",
			 code, status_text(code), ctype ? ctype : "text/plain; charset=utf-8",
			 len, code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -EINVAL;
	size_t blen = head_only ? 0 : len;
	char *out = malloc((size_t)n + blen);
	if (!out)
		return -ENOMEM;
	memcpy(out, hdr, (size_t)n);
	if (blen)
		memcpy(out + n, body, blen);
	free(c->out);
	c->out = out;
	c->out_len = (size_t)n + blen;
	c->out_off = 0;
	return 0;
}

/* An error response with a one-line text body. */
static int set_error(struct httpd_conn *c, int code, bool head_only)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status_text(code));

	return set_response(c, code, NULL, body, (size_t)n, head_only);
}

static bool is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

enum { REQ_MORE = 0 };

/* Can buf (no newline yet) start a request line METHOD SP /TARGET SP HTTP/D.D CR? */
static bool line_prefix_ok(const char *buf, size_t len)
{
	static const char version[] = "HTTP/0.0\r";
	const char *p = buf, *end = buf + len;

	while (p < end && is_tchar(*p))
		p++;
	if (p == end)
		return true;
	if (p == buf || *p++ != ' ')
		return false;
	if (p < end && *p != '/')
		return false;
	while (p < end && *p > ' ' && *p < 0x7f)
		p++;
	if (p == end)
		return true;
	if (*p++ != ' ')
		return false;
	for (size_t i = 0; p < end; i++, p++) {
		if (i >= sizeof(version) - 1)
			return false;
		if (version[i] == '0' ? *p < '0' || *p > '9' : *p != version[i])
			return false;
	}
	return true;
}

/*
 * Look at the request head received so far.  Returns REQ_MORE until it is
 * complete (or proven bad), else an HTTP status: 200 with *method_head and
 * *path (NUL-terminated inside buf) for a GET or HEAD to answer, or an
 * error status.  *extra: bytes beyond the head (a body) were received.
 */
static int parse_request(char *buf, size_t len, bool *method_head, char **path, bool *extra)
{
	char *nl = memchr(buf, '\n', len);

	if (!nl) {
		if (!line_prefix_ok(buf, len))
			return 400; /* a TLS handshake, say: no need to wait */
		return len >= HTTPD_MAX_REQUEST ? 431 : REQ_MORE;
	}

	/* Request line: METHOD SP TARGET SP HTTP/D.D, judged as soon as it is whole. */
	char *end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
	char *p = buf, *method = buf;
	while (p < end && is_tchar(*p))
		p++;
	size_t mlen = (size_t)(p - method);
	if (mlen == 0 || p == end || *p != ' ')
		return 400;
	char *target = ++p;
	while (p < end && *p > ' ' && *p < 0x7f)
		p++;
	char *tend = p;
	if (target == tend || *target != '/' || p == end || *p != ' ')
		return 400;
	p++;
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' ||
	    p[6] != '.' || p[7] < '0' || p[7] > '9')
		return 400;

	/* Headers up to an empty line: NAME: value, no control characters. */
	char *line = nl + 1, *stop = buf + len;
	for (;;) {
		char *lnl = memchr(line, '\n', (size_t)(stop - line));
		if (!lnl)
			return len >= HTTPD_MAX_REQUEST ? 431 : REQ_MORE;
		char *lend = lnl > line && lnl[-1] == '\r' ? lnl - 1 : lnl;
		if (lend == line) {
			*extra = lnl + 1 < stop;
			break;
		}
		char *colon = memchr(line, ':', (size_t)(lend - line));
		if (!colon || colon == line)
			return 400;
		for (char *q = line; q < colon; q++)
			if (!is_tchar(*q))
				return 400;
		for (char *q = colon + 1; q < lend; q++)
			if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7f)
				return 400;
		line = lnl + 1;
	}

	*method_head = mlen == 4 && memcmp(method, "HEAD", 4) == 0;
	if (!(mlen == 3 && memcmp(method, "GET", 3) == 0) && !*method_head)
		return 405;
	for (char *q = target; q < tend; q++)
		if (*q == '?' || *q == '#')
			tend = q;
	*tend = '\0';
	*path = target;
	return 200;
}

/* After the response: drain what the client still sends, or close now. */
static void conn_done(struct httpd *h, struct httpd_conn *c, bool maybe_more, int64_t now)
{
	int pending = 0;

	h->served++;
	if (!maybe_more && ioctl(c->fd, FIONREAD, &pending) == 0 && pending == 0) {
		conn_close(c);
		return;
	}
	/* Closing with unread input would reset the connection, and the
	 * client might lose the response: stop writing, read until EOF. */
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_LINGER;
	c->deadline = now + (h->idle_ms < LINGER_MS ? h->idle_ms : LINGER_MS);
}

static void conn_write(struct httpd *h, struct httpd_conn *c, int64_t now)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return; /* wait for POLLOUT */
			conn_close(c); /* EPIPE, ECONNRESET: the client left */
			return;
		}
		c->out_off += (size_t)n;
		c->deadline = now + h->idle_ms;
	}
	conn_done(h, c, c->drain, now);
}

/* Answer a complete request (or refuse a bad one) and start writing. */
static void conn_answer(struct httpd *h, struct httpd_conn *c, int code, bool head_only,
			const char *path, bool extra, httpd_handler fn, void *ctx, int64_t now)
{
	int r;

	if (code == 200) {
		char *body = NULL;
		size_t len = 0;
		const char *ctype = NULL;
		r = fn ? fn(ctx, path, &body, &len, &ctype) : -ENOENT;
		if (r == 0)
			r = set_response(c, 200, ctype, body, body ? len : 0, head_only);
		else
			r = set_error(c, r == -ENOENT ? 404 : 500, head_only);
		free(body);
	} else {
		r = set_error(c, code, false);
	}
	if (r < 0) {
		conn_close(c);
		return;
	}
	c->state = CONN_WRITE;
	c->drain = code != 200 || extra;
	conn_write(h, c, now);
}

static void conn_read(struct httpd *h, struct httpd_conn *c, httpd_handler fn, void *ctx,
		      int64_t now)
{
	ssize_t n;

	do
		n = recv(c->fd, c->in + c->in_len, HTTPD_MAX_REQUEST - c->in_len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) { /* error, or the client left before a whole request */
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';

	bool head_only = false, extra = false;
	char *path = NULL;
	int code = parse_request(c->in, c->in_len, &head_only, &path, &extra);
	if (code != REQ_MORE)
		conn_answer(h, c, code, head_only, path, extra, fn, ctx, now);
}

static void conn_drain(struct httpd_conn *c)
{
	char scratch[4096];
	ssize_t n;

	do
		n = recv(c->fd, scratch, sizeof(scratch), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		conn_close(c);
}

/* Accept what is waiting; over HTTPD_MAX_CLIENTS, answer 503 and close. */
static void accept_all(struct httpd *h, int64_t now)
{
	for (int round = 0; round < 4 * HTTPD_MAX_CLIENTS; round++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				h->accept_pause = now + ACCEPT_PAUSE_MS; /* EMFILE, ENOBUFS... */
			return;
		}
		struct httpd_conn *c = NULL;
		for (int i = 0; i < HTTPD_MAX_CLIENTS && !c; i++)
			if (h->conns[i].fd < 0)
				c = &h->conns[i];
		char *in = c ? malloc(HTTPD_MAX_REQUEST + 1) : NULL;
		if (!in) {
			static const char busy[] =
				"HTTP/1.0 503 Service Unavailable\r\n"
				"Content-Type: text/plain; charset=utf-8\r\n"
				"Content-Length: 20\r\n"
				"Connection: close\r\n"
				"\r\n"
				"Service Unavailable\n";
			/* A fresh socket's buffer takes this whole; best effort. */
			ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)n;
			close(fd);
			h->rejected++;
			continue;
		}
		c->fd = fd;
		c->state = CONN_READ;
		c->in = in;
		c->in_len = 0;
		c->deadline = now + h->idle_ms;
	}
}

void httpd_handle(struct httpd *h, const struct pollfd *fds, int n, httpd_handler fn,
		  void *ctx)
{
	int64_t now = now_ms();
	bool listen_ready = false;

	for (int i = 0; i < n; i++) {
		if (!fds[i].revents || fds[i].fd < 0)
			continue;
		if (fds[i].fd == h->fd) {
			listen_ready = true;
			continue;
		}
		struct httpd_conn *c = NULL;
		for (int k = 0; k < HTTPD_MAX_CLIENTS && !c; k++)
			if (h->conns[k].fd == fds[i].fd)
				c = &h->conns[k];
		if (!c)
			continue;
		if (c->state == CONN_READ && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
			conn_read(h, c, fn, ctx, now);
		else if (c->state == CONN_WRITE && (fds[i].revents & (POLLOUT | POLLHUP | POLLERR)))
			conn_write(h, c, now);
		else if (c->state == CONN_LINGER && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
			conn_drain(c);
	}
	for (int k = 0; k < HTTPD_MAX_CLIENTS; k++)
		if (h->conns[k].fd >= 0 && h->conns[k].deadline <= now)
			conn_close(&h->conns[k]);
	if (h->accept_pause && h->accept_pause <= now)
		h->accept_pause = 0;
	/* Last, so that an fd closed above and reused by accept() cannot be
	 * mistaken for the old connection's readiness in fds. */
	if (listen_ready && h->fd >= 0 && !h->accept_pause)
		accept_all(h, now);
}
