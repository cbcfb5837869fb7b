/*
 * test_httpd.c - unit tests for the /metrics HTTP server (util/httpd.c).
 *
 * The server runs on 127.0.0.1 on an ephemeral port; the tests are its
 * clients, with non-blocking sockets in the same thread, and turn the
 * server's poll loop (pump) while they wait.  Only loopback traffic.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/httpd.h"

#define CURL "/usr/bin/curl"

static size_t big_len; /* size of /big */

/* /metrics, /empty, /big answer 200; /fail 500; everything else 404. */
static int handler(void *ctx, const char *path, char **body, size_t *len,
		   const char **content_type)
{
	int *calls = ctx;

	(*calls)++;
	if (strcmp(path, "/metrics") == 0) {
		*body = strdup("up 1\n");
		*len = 5;
		*content_type = "text/plain; version=0.0.4; charset=utf-8";
		return *body ? 0 : -ENOMEM;
	}
	if (strcmp(path, "/empty") == 0)
		return 0;
	if (strcmp(path, "/big") == 0) {
		*body = malloc(big_len);
		if (!*body)
			return -ENOMEM;
		for (size_t i = 0; i < big_len; i++)
			(*body)[i] = (char)('a' + i % 26);
		*len = big_len;
		return 0;
	}
	if (strcmp(path, "/fail") == 0)
		return -EIO;
	return -ENOENT;
}

struct fixture {
	struct httpd h;
	int port;
	int calls;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One turn of the server's loop, waiting at most ms. */
static void pump(struct fixture *f, int ms)
{
	struct pollfd p[HTTPD_MAX_FDS];
	int n = httpd_fds(&f->h, p, HTTPD_MAX_FDS);
	int t = httpd_timeout(&f->h);

	assert_true(n >= 0);
	if (t < 0 || t > ms)
		t = ms;
	assert_true(poll(p, (nfds_t)n, t) >= 0);
	httpd_handle(&f->h, p, n, handler, &f->calls);
}

/* Turn the loop until cond holds (fails after 3 s). */
#define PUMP_UNTIL(f, cond) do { \
		int64_t until_ = mono_ms() + 3000; \
		while (!(cond)) { \
			if (mono_ms() > until_) \
				fail_msg("timed out waiting for %s", #cond); \
			pump(f, 10); \
		} \
	} while (0)

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *why = NULL;

	assert_non_null(f);
	assert_int_equal(httpd_open(&f->h, "127.0.0.1:0", &why), 0);
	assert_null(why);
	f->port = httpd_port(&f->h);
	assert_true(f->port > 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	httpd_close(&f->h);
	httpd_close(&f->h); /* twice: fine */
	assert_int_equal(f->h.fd, -1);
	free(f);
	return 0;
}

/* A non-blocking client socket connected (or connecting) to the server. */
static int client_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		assert_int_equal(errno, EINPROGRESS);
	return fd;
}

static void client_send(struct fixture *f, int fd, const char *data, size_t len)
{
	int64_t until = mono_ms() + 3000;

	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EINTR);
			assert_true(mono_ms() < until);
			pump(f, 10);
			continue;
		}
		data += n;
		len -= (size_t)n;
	}
}

#define SEND(f, fd, s) client_send(f, fd, s, strlen(s))

/* Turn the loop until the server closes fd; the bytes received (new), *len. */
static char *client_read_all(struct fixture *f, int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int64_t until = mono_ms() + 5000;

	assert_non_null(buf);
	for (;;) {
		if (n + 1 == cap) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			fail_msg("recv: %s", strerror(errno));
		if (mono_ms() > until)
			fail_msg("no end of response after 5 s (%zu bytes)", n);
		pump(f, 10);
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Send a whole request on a new connection; the whole response (new). */
static char *exchange(struct fixture *f, const char *req)
{
	int fd = client_connect(f->port);

	SEND(f, fd, req);
	char *resp = client_read_all(f, fd, NULL);
	close(fd);
	return resp;
}

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("expected '%s...', got '%s'", prefix, s);
}

static void assert_contains(const char *s, const char *what)
{
	if (!strstr(s, what))
		fail_msg("expected '%s' in '%s'", what, s);
}

static void test_get_metrics(void **state)
{
	struct fixture *f = *state;
	char *r = exchange(f, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");

	assert_string_equal(r,
		"HTTP/1.0 200 OK\r\n"
		"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		"Content-Length: 5\r\n"
		"Connection: close\r\n"
		"\r\n"
		"up 1\n");
	free(r);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->h.served, 1);
	PUMP_UNTIL(f, httpd_clients(&f->h) == 0);

	/* HTTP/1.0, bare LF line ends, a query string: same answer. */
	r = exchange(f, "GET /metrics?x=1 HTTP/1.0\n\n");
	assert_prefix(r, "HTTP/1.0 200 OK\r\n");
	assert_contains(r, "\r\n\r\nup 1\n");
	free(r);
}

static void test_head(void **state)
{
	struct fixture *f = *state;
	char *r = exchange(f, "HEAD /metrics HTTP/1.0\r\n\r\n");

	assert_string_equal(r,
		"HTTP/1.0 200 OK\r\n"
		"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		"Content-Length: 5\r\n"
		"Connection: close\r\n"
		"\r\n");
	free(r);
	r = exchange(f, "HEAD /nope HTTP/1.0\r\n\r\n");
	assert_prefix(r, "HTTP/1.0 404 Not Found\r\n");
	assert_contains(r, "Content-Length: 10\r\n");
	assert_int_equal(strstr(r, "\r\n\r\n")[4], '\0');
	free(r);
}

static void test_empty_body(void **state)
{
	struct fixture *f = *state;
	char *r = exchange(f, "GET /empty HTTP/1.0\r\n\r\n");

	assert_string_equal(r,
		"HTTP/1.0 200 OK\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: 0\r\n"
		"Connection: close\r\n"
		"\r\n");
	free(r);
}

static void test_not_found(void **state)
{
	struct fixture *f = *state;
	char *r = exchange(f, "GET /nope HTTP/1.1\r\n\r\n");

	assert_string_equal(r,
		"HTTP/1.0 404 Not Found\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: 10\r\n"
		"Connection: close\r\n"
		"\r\n"
		"Not Found\n");
	free(r);
	r = exchange(f, "GET /metrics/ HTTP/1.1\r\n\r\n");
	assert_prefix(r, "HTTP/1.0 404 ");
	free(r);
}

static void test_handler_error(void **state)
{
	struct fixture *f = *state;
	char *r = exchange(f, "GET /fail HTTP/1.1\r\n\r\n");

	assert_prefix(r, "HTTP/1.0 500 Internal Server Error\r\n");
	free(r);
}

static void test_method_not_allowed(void **state)
{
	struct fixture *f = *state;
	char *r = exchange(f, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");

	assert_string_equal(r,
		"HTTP/1.0 405 Method Not Allowed\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: 19\r\n"
		"Allow: GET, HEAD\r\n"
		"Connection: close\r\n"
		"\r\n"
		"Method Not Allowed\n");
	free(r);
	r = exchange(f, "DELETE / HTTP/1.1\r\n\r\n");
	assert_prefix(r, "HTTP/1.0 405 ");
	free(r);
	r = exchange(f, "get /metrics HTTP/1.1\r\n\r\n"); /* methods are case-sensitive */
	assert_prefix(r, "HTTP/1.0 405 ");
	free(r);
	assert_int_equal(f->calls, 0);
}

static void test_garbage(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = {
		"hello\r\n\r\n",
		"\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\n",
		"GET\r\n\r\n",
		"GET /metrics\r\n\r\n",                    /* HTTP/0.9 */
		"GET metrics HTTP/1.1\r\n\r\n",            /* not a path */
		"GET /metrics HTTP/1.1 extra\r\n\r\n",
		"GET /metrics FTP/1.0\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET /met\x01rics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nbad name: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nX: a\x01b\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *r = exchange(f, bad[i]);
		if (strncmp(r, "HTTP/1.0 400 Bad Request\r\n", 26) != 0)
			fail_msg("request %zu: got '%s'", i, r);
		assert_contains(r, "\r\n\r\nBad Request\n");
		free(r);
	}
	assert_int_equal(f->calls, 0);
}

/* A bad request line is refused at once, without waiting for headers. */
static void test_garbage_early(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f->port);

	/* The start of a TLS ClientHello: no line end will ever come. */
	client_send(f, fd, "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11);
	char *r = client_read_all(f, fd, NULL);
	assert_prefix(r, "HTTP/1.0 400 ");
	free(r);
	close(fd);

	/* Nor for a request line gone wrong part way. */
	const char *starts[] = { "GET /metrics HTTP/1.1 ", "GET /metrics X", "GET x", "GET /a\tb",
				 "GET /metrics HTTP/1.1\rx", "GET /metrics HTTP/x" };
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		fd = client_connect(f->port);
		SEND(f, fd, starts[i]);
		r = client_read_all(f, fd, NULL);
		if (strncmp(r, "HTTP/1.0 400 ", 13) != 0)
			fail_msg("'%s': got '%s'", starts[i], r);
		free(r);
		close(fd);
	}
	assert_int_equal(f->calls, 0);
}

static void test_split_request(void **state)
{
	struct fixture *f = *state;
	const char *parts[] = { "GE", "T /met", "rics HTTP/1.1\r", "\nHost: x\r\n", "\r", "\n" };
	int fd = client_connect(f->port);

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		SEND(f, fd, parts[i]);
		for (int k = 0; k < 3; k++)
			pump(f, 5);
		if (i + 1 < sizeof(parts) / sizeof(parts[0]))
			assert_int_equal(f->calls, 0); /* not answered before the end */
	}
	char *r = client_read_all(f, fd, NULL);
	assert_prefix(r, "HTTP/1.0 200 OK\r\n");
	assert_contains(r, "\r\n\r\nup 1\n");
	assert_int_equal(f->calls, 1);
	free(r);
	close(fd);
}

static void test_too_large(void **state)
{
	struct fixture *f = *state;
	size_t n = HTTPD_MAX_REQUEST + 100;
	char *req = malloc(n + 1);
	int fd = client_connect(f->port);

	assert_non_null(req);
	memset(req, 'a', n);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX-Long: ", 31);
	req[n] = '\0';
	client_send(f, fd, req, n);
	char *r = client_read_all(f, fd, NULL);
	assert_prefix(r, "HTTP/1.0 431 Request Header Fields Too Large\r\n");
	free(r);
	free(req);
	close(fd);

	/* A request line without an end, over the bound. */
	req = malloc(n + 1);
	memset(req, '/', n);
	memcpy(req, "GET ", 4);
	fd = client_connect(f->port);
	client_send(f, fd, req, n);
	r = client_read_all(f, fd, NULL);
	assert_prefix(r, "HTTP/1.0 431 ");
	free(r);
	free(req);
	close(fd);
	assert_int_equal(f->calls, 0);
}

/* A silent client does not hold up others and is closed after idle_ms. */
static void test_idle_client(void **state)
{
	struct fixture *f = *state;
	char buf[16];

	f->h.idle_ms = 500;
	int64_t t0 = mono_ms();
	int silent = client_connect(f->port);
	PUMP_UNTIL(f, httpd_clients(&f->h) == 1);
	SEND(f, silent, "GET /metrics HTTP/1.1\r\n"); /* and never the end */

	char *r = exchange(f, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_prefix(r, "HTTP/1.0 200 OK\r\n");
	free(r);
	assert_true(mono_ms() - t0 < 500);
	assert_int_equal(httpd_clients(&f->h), 1);
	int t = httpd_timeout(&f->h);
	assert_true(t >= 0 && t <= 500);

	/* The server closes it: the client reads end of file, no answer. */
	r = client_read_all(f, silent, NULL);
	assert_string_equal(r, "");
	free(r);
	assert_true(mono_ms() - t0 >= 500);
	assert_int_equal(httpd_clients(&f->h), 0);
	assert_int_equal(httpd_timeout(&f->h), -1);
	assert_true(recv(silent, buf, sizeof(buf), 0) == 0);
	close(silent);
}

/* Two clients interleaved: the one that finishes first is answered first. */
static void test_interleaved(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f->port), b = client_connect(f->port);

	SEND(f, a, "GET /metrics HTTP/1.1\r\n");
	SEND(f, b, "GET /nope HTTP/1.1\r\n\r\n");
	char *rb = client_read_all(f, b, NULL);
	assert_prefix(rb, "HTTP/1.0 404 ");
	SEND(f, a, "\r\n");
	char *ra = client_read_all(f, a, NULL);
	assert_prefix(ra, "HTTP/1.0 200 ");
	free(ra);
	free(rb);
	close(a);
	close(b);
}

static void test_too_many_clients(void **state)
{
	struct fixture *f = *state;
	int fds[HTTPD_MAX_CLIENTS];

	for (int i = 0; i < HTTPD_MAX_CLIENTS; i++)
		fds[i] = client_connect(f->port);
	PUMP_UNTIL(f, httpd_clients(&f->h) == HTTPD_MAX_CLIENTS);

	/* One more is told so and closed; the others stay. */
	int extra = client_connect(f->port);
	char *r = client_read_all(f, extra, NULL);
	assert_string_equal(r,
		"HTTP/1.0 503 Service Unavailable\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: 20\r\n"
		"Connection: close\r\n"
		"\r\n"
		"Service Unavailable\n");
	free(r);
	close(extra);
	assert_int_equal(f->h.rejected, 1);
	assert_int_equal(httpd_clients(&f->h), HTTPD_MAX_CLIENTS);

	/* A slot frees when a client leaves; then requests work again. */
	close(fds[0]);
	PUMP_UNTIL(f, httpd_clients(&f->h) == HTTPD_MAX_CLIENTS - 1);
	r = exchange(f, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_prefix(r, "HTTP/1.0 200 OK\r\n");
	free(r);
	/* The table's clients are served too. */
	SEND(f, fds[5], "GET /metrics HTTP/1.0\r\n\r\n");
	r = client_read_all(f, fds[5], NULL);
	assert_prefix(r, "HTTP/1.0 200 OK\r\n");
	free(r);
	for (int i = 1; i < HTTPD_MAX_CLIENTS; i++)
		close(fds[i]);
	PUMP_UNTIL(f, httpd_clients(&f->h) == 0);
}

/* A response larger than the socket buffers: the loop never blocks on it. */
static void test_slow_reader(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char clen[64];
	int fd = client_connect(f->port);

	big_len = 32 << 20; /* more than loopback socket buffers hold */
	SEND(f, fd, "GET /big HTTP/1.0\r\n\r\n");
	PUMP_UNTIL(f, f->calls == 1);
	/* The client does not read: turns of the loop still return at once. */
	int64_t t0 = mono_ms();
	for (int i = 0; i < 20; i++)
		pump(f, 0);
	assert_true(mono_ms() - t0 < 500);
	char *r = exchange(f, "GET /metrics HTTP/1.0\r\n\r\n"); /* others are served */
	assert_prefix(r, "HTTP/1.0 200 OK\r\n");
	free(r);

	r = client_read_all(f, fd, &len);
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(len - (size_t)(body - r), big_len);
	assert_int_equal(body[big_len - 1], 'a' + (big_len - 1) % 26);
	snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", big_len);
	assert_contains(r, clen);
	free(r);
	close(fd);
}

/* A client that leaves before reading its answer costs nothing. */
static void test_client_leaves(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f->port);

	big_len = 8 << 20;
	SEND(f, fd, "GET /big HTTP/1.0\r\n\r\n");
	PUMP_UNTIL(f, f->calls == 1);
	close(fd); /* reset: the server's send fails with EPIPE/ECONNRESET, no SIGPIPE */
	PUMP_UNTIL(f, httpd_clients(&f->h) == 0);

	fd = client_connect(f->port);
	SEND(f, fd, "GET /metr");
	PUMP_UNTIL(f, httpd_clients(&f->h) == 1);
	close(fd);
	PUMP_UNTIL(f, httpd_clients(&f->h) == 0);
	assert_int_equal(f->calls, 1);
}

static void test_fds(void **state)
{
	struct fixture *f = *state;
	struct pollfd p[HTTPD_MAX_FDS];

	assert_int_equal(httpd_fds(&f->h, p, HTTPD_MAX_FDS), 1);
	assert_int_equal(p[0].fd, f->h.fd);
	assert_int_equal(p[0].events, POLLIN);
	assert_int_equal(httpd_timeout(&f->h), -1);
	assert_int_equal(httpd_fds(&f->h, p, 0), -ENOBUFS);

	int fd = client_connect(f->port);
	PUMP_UNTIL(f, httpd_clients(&f->h) == 1);
	assert_int_equal(httpd_fds(&f->h, p, HTTPD_MAX_FDS), 2);
	assert_int_equal(p[1].events, POLLIN);
	assert_int_equal(httpd_fds(&f->h, p, 1), -ENOBUFS);
	/* Readiness of fds that are not the server's is ignored. */
	struct pollfd other = { .fd = 0, .revents = POLLIN };
	httpd_handle(&f->h, &other, 1, handler, &f->calls);
	assert_int_equal(httpd_clients(&f->h), 1);
	close(fd);
	PUMP_UNTIL(f, httpd_clients(&f->h) == 0);
}

static void test_addresses(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *why;
	struct {
		const char *addr;
		int family;
		const char *host;
		int port;
	} good[] = {
		{ "127.0.0.1:9100", AF_INET, "127.0.0.1", 9100 },
		{ ":9100", AF_INET, "0.0.0.0", 9100 },
		{ "*:80", AF_INET, "0.0.0.0", 80 },
		{ "0.0.0.0:0", AF_INET, "0.0.0.0", 0 },
		{ "localhost:65535", AF_INET, "127.0.0.1", 65535 },
		{ "[::1]:9100", AF_INET6, "::1", 9100 },
		{ "[::]:1", AF_INET6, "::", 1 },
	};
	const char *bad[] = {
		NULL, "", "9100", "127.0.0.1", "127.0.0.1:", ":", "127.0.0.1:http",
		"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:99999999999",
		"127.0.0.1:80 ", "256.0.0.1:80", "example.com:80", "::1:9100", "[::1]",
		"[::1:9100", "[::1]9100", "[zz]:80", "[127.0.0.1]:80", "1.2.3.4.5:80",
		"[::1]:", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
	};
	char text[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = "unset";
		if (httpd_parse_addr(good[i].addr, &ss, &len, &why) != 0)
			fail_msg("'%s' refused: %s", good[i].addr, why);
		assert_null(why);
		assert_int_equal(ss.ss_family, good[i].family);
		if (good[i].family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			assert_int_equal(len, sizeof(*a));
			inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
			assert_int_equal(ntohs(a->sin_port), good[i].port);
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			assert_int_equal(len, sizeof(*a));
			inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
			assert_int_equal(ntohs(a->sin6_port), good[i].port);
		}
		assert_string_equal(text, good[i].host);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = 99;
		why = NULL;
		if (httpd_listen(bad[i], &fd, &why) != -EINVAL)
			fail_msg("'%s' accepted", bad[i] ? bad[i] : "(null)");
		assert_non_null(why);
		assert_true(strlen(why) > 10);
		assert_int_equal(fd, -1);
	}
	why = NULL;
	httpd_parse_addr("::1:9100", &ss, &len, &why);
	assert_string_equal(why, "an IPv6 address needs brackets: [ADDRESS]:PORT");
	httpd_parse_addr("127.0.0.1:65536", &ss, &len, &why);
	assert_string_equal(why, "the port must be a number from 0 to 65535");
}

/* A port in use is -EADDRINUSE from bind; the failed server closes cleanly. */
static void test_port_in_use(void **state)
{
	struct fixture *f = *state;
	struct httpd h2;
	const char *why = NULL;
	char addr[32];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
	assert_int_equal(httpd_open(&h2, addr, &why), -EADDRINUSE);
	assert_string_equal(why, "bind");
	assert_int_equal(h2.fd, -1);
	httpd_close(&h2);
}

/* IPv6 loopback, where the machine has it. */
static void test_ipv6(void **state)
{
	struct httpd h6;
	const char *why = NULL;
	int r = httpd_open(&h6, "[::1]:0", &why);

	if (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL) {
		fprintf(stderr, "skipping: no IPv6 loopback (%s)\n", strerror(-r));
		httpd_close(&h6);
		skip();
	}
	assert_int_equal(r, 0);
	assert_true(httpd_port(&h6) > 0);
	assert_int_equal(fcntl(h6.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_true(fcntl(h6.fd, F_GETFL) & O_NONBLOCK);
	httpd_close(&h6);
}

/* curl, a real client, if installed. */
static void test_curl(void **state)
{
	struct fixture *f = *state;
	char url[64], out[4096];
	int pfd[2], status;
	size_t n = 0;

	if (access(CURL, X_OK) != 0) {
		fprintf(stderr, "skipping: %s not installed\n", CURL);
		skip();
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", f->port);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		execl(CURL, "curl", "-s", "-S", "-i", "--noproxy", "*", "--max-time", "5",
		      url, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	int64_t until = mono_ms() + 10000;
	for (;;) {
		ssize_t r = read(pfd[0], out + n, sizeof(out) - 1 - n);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		assert_true(errno == EAGAIN || errno == EINTR);
		assert_true(mono_ms() < until);
		pump(f, 10);
	}
	out[n] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("curl failed (status %d): %s", status, out);
	assert_prefix(out, "HTTP/1.0 200 OK\r\n");
	assert_contains(out, "\r\n\r\nup 1\n");
	assert_int_equal(f->calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds, setup, teardown),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test_setup_teardown(test_curl, setup, teardown),
	};
	/* SIGPIPE keeps its default action: a send to a gone client must not kill us. */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
