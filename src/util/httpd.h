/*
 * httpd.h - a tiny non-blocking HTTP/1.0-style server for `/metrics`, driven
 * from the caller's poll() loop (the driver is single-threaded).
 *
 * One request per connection: GET or HEAD, answered with Content-Length and
 * "Connection: close", then the connection is closed.  Everything from the
 * network is bounded: HTTPD_MAX_REQUEST bytes of request head,
 * HTTPD_MAX_CLIENTS connections at once (one more is told 503 and closed),
 * and idle_ms for a client to send its request and read the answer.
 * Nothing ever blocks: sockets are non-blocking and unsent output waits for
 * POLLOUT.  Addresses are numeric only (no name lookups in a static binary).
 *
 *	struct httpd h;
 *	const char *why;
 *	if (httpd_open(&h, ":9100", &why) < 0) ... report why ...
 *	for (;;) {
 *		struct pollfd p[8 + HTTPD_MAX_FDS];
 *		int n = own fds..., k = httpd_fds(&h, p + n, HTTPD_MAX_FDS);
 *		poll(p, n + k, min(own timeout, httpd_timeout(&h)));
 *		httpd_handle(&h, p + n, k, handler, ctx);  (also after a timeout)
 *	}
 *	httpd_close(&h);
 *
 * Ownership: struct httpd is the caller's; it owns the listening socket and
 * the connections, freed by httpd_close.  The handler's body is malloc'ed by
 * the handler and freed by httpd; its content type is borrowed.
 */
#ifndef AB_HTTPD_H
#define AB_HTTPD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HTTPD_MAX_REQUEST 8192     /* request line + headers */
#define HTTPD_MAX_CLIENTS 16
#define HTTPD_MAX_FDS (1 + HTTPD_MAX_CLIENTS)
#define HTTPD_IDLE_MS 10000        /* default idle_ms */

/*
 * Produce the answer for a GET or HEAD of path (the request target without
 * its query string, not decoded).  Return 0 with *body (malloc'ed, or NULL
 * for empty), *len and *content_type (borrowed; NULL: text/plain) for 200;
 * -ENOENT for 404; any other negative errno for 500.
 */
typedef int (*httpd_handler)(void *ctx, const char *path, char **body, size_t *len,
			     const char **content_type);

struct httpd_conn {
	int fd;                 /* -1: free slot */
	int state;              /* internal: reading, writing, draining */
	bool drain;             /* internal: more input may follow the request */
	char *in;               /* request head, HTTPD_MAX_REQUEST bytes */
	size_t in_len;
	char *out;              /* whole response */
	size_t out_len, out_off;
	int64_t deadline;       /* CLOCK_MONOTONIC ms */
};

struct httpd {
	int fd;                 /* listening socket, -1 when closed */
	int idle_ms;            /* may be changed after httpd_init */
	int64_t accept_pause;   /* out of fds: no accept() before this time */
	unsigned long served, rejected; /* responses sent; connections refused (503) */
	struct httpd_conn conns[HTTPD_MAX_CLIENTS];
};

/*
 * Parse "host:port" -- "127.0.0.1:9100", ":9100" (all IPv4 interfaces),
 * "[::1]:9100", "[::]:9100", "localhost:9100" -- into *ss and *sslen.  Port 0
 * means any free port.  -EINVAL with *why (a static string) when malformed.
 */
int httpd_parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen,
		     const char **why);

/*
 * A listening TCP socket on addr (SOCK_CLOEXEC, SOCK_NONBLOCK, SO_REUSEADDR)
 * into *fd.  -EINVAL with *why for a bad address; -errno from socket(),
 * bind() or listen() (*why names the call).
 */
int httpd_listen(const char *addr, int *fd, const char **why);

/* Take over listen_fd (a non-blocking listening socket); idle_ms = default. */
void httpd_init(struct httpd *h, int listen_fd);

/* httpd_listen + httpd_init.  On error h is closed (httpd_close is a no-op). */
int httpd_open(struct httpd *h, const char *addr, const char **why);

/* The bound port (after port 0), or -errno. */
int httpd_port(const struct httpd *h);

/* Connections currently open. */
int httpd_clients(const struct httpd *h);

/*
 * Append the server's fds with the events it waits for to out (at most max
 * entries; HTTPD_MAX_FDS is always enough).  Returns how many, or -ENOBUFS.
 */
int httpd_fds(const struct httpd *h, struct pollfd *out, int max);

/* Milliseconds until the next idle deadline (poll timeout), -1 when none. */
int httpd_timeout(const struct httpd *h);

/*
 * Process readiness: fds is any array holding what httpd_fds returned (with
 * revents filled by poll); other fds are ignored.  Accepts, reads, answers
 * through fn, writes what the socket takes, and closes connections that are
 * done, failed or past their deadline.  Call it after every poll, also when
 * poll timed out.
 */
void httpd_handle(struct httpd *h, const struct pollfd *fds, int n, httpd_handler fn,
		  void *ctx);

/* Close the listening socket and every connection.  Safe to call twice. */
void httpd_close(struct httpd *h);

#endif
