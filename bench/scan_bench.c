/*
 * scan_bench.c - throughput of ab_scan_line() per implementation.
 *
 *   cc -std=c17 -O2 -D_GNU_SOURCE -Isrc bench/scan_bench.c \
 *      src/protocol/scan.c -o build/scan_bench
 *   build/scan_bench [MB per data set, default 1024] [short|text|utf8|rows|e2e]...
 *
 * Builds an in-memory buffer of newline-separated RECORD lines for each data
 * set, then for each implementation times the relay's loop over the whole
 * buffer (ab_scan_frame, and where it does not frame the line, memchr for
 * the newline and ab_scan_line), best of three passes (thread CPU time, so
 * that other load on the machine matters less).  Data sets: "short", "text"
 * and "utf8" change shape from line to line; "rows" are rows of one table
 * (fixed keys, mixed values), "e2e" the lines of source-e2e-test.
 * Environment: SCAN_IMPL=scalar|sse2|avx2 runs only that one; PASSES=N.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/scan.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *const words[] = {
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing",
	"elit", "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore",
	"et", "dolore", "magna", "aliqua", "enim", "ad", "minim", "veniam",
};

static const char *const uwords[] = {
	"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",     /* привет */
	"\xd0\xbc\xd0\xb8\xd1\x80",                             /* мир */
	"\xe6\x95\xb0\xe6\x8d\xae\xe5\xba\x93",                 /* 数据库 */
	"\xe7\x94\xa8\xe6\x88\xb7",                             /* 用户 */
	"J\xc3\xbcrgen", "M\xc3\xbcller", "caf\xc3\xa9", "na\xc3\xafve",
	"\xf0\x9f\x98\x80", "\xf0\x9f\x9a\x80", "\xe2\x82\xac" "42",
	"\xce\xb1\xce\xb2\xce\xb3", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
	"\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf",
};

static size_t put(char *b, const char *s)
{
	size_t n = strlen(s);

	memcpy(b, s, n);
	return n;
}

static size_t text(char *b, size_t want, bool utf8)
{
	size_t n = 0;

	while (n < want) {
		if (utf8 && below(3) != 0)
			n += put(b + n, uwords[below(sizeof(uwords) / sizeof(*uwords))]);
		else
			n += put(b + n, words[below(sizeof(words) / sizeof(*words))]);
		switch (below(40)) {
		case 0: n += put(b + n, "\\n"); break;
		case 1: n += put(b + n, ", \\\"q\\\" "); break;
		case 2: n += put(b + n, ". "); break;
		default: b[n++] = ' ';
		}
	}
	return n;
}

/* One line (with its newline) at b; returns its length. */
static size_t record(char *b, int kind)
{
	static const char *const streams[] = { "users", "orders", "events",
					       "public_items" };
	size_t n = 0;

	if (kind == 4)
		return (size_t)sprintf(b, "{\"type\":\"RECORD\",\"record\":{\"stream\":\"stream_0\","
				       "\"data\":{\"id\":%u,\"payload\":\"%.97s\"},"
				       "\"emitted_at\":1700000000000}}\n", 1 + below(10000000),
				       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	n += (size_t)sprintf(b, "{\"type\":\"RECORD\",\"record\":{\"stream\":\"%s\","
			     "\"data\":{", streams[kind == 3 ? 1 : below(4)]);
	if (kind == 3) {
		n += (size_t)sprintf(b + n, "\"id\":%u,\"customer\":\"", below(10000000));
		n += text(b + n, 8 + below(16), false);
		n += (size_t)sprintf(b + n, "\",\"amount\":%u.%02u,\"currency\":\"EUR\","
				     "\"paid\":%s,\"note\":%s,\"items\":%u,"
				     "\"created_at\":\"2024-%02u-%02uT%02u:%02u:00Z\"",
				     below(100000), below(100), below(2) ? "true" : "false",
				     below(4) ? "null" : "\"rush\"", 1 + below(9),
				     1 + below(12), 1 + below(28), below(24), below(60));
	} else if (kind == 0) {
		int fields = 5 + (int)below(6);

		n += (size_t)sprintf(b + n, "\"id\":%u", below(10000000));
		for (int i = 1; i < fields; i++) {
			switch (below(5)) {
			case 0:
				n += (size_t)sprintf(b + n, ",\"f%d\":%d.%02u", i,
						     (int)below(20000) - 10000, below(100));
				break;
			case 1:
				n += (size_t)sprintf(b + n, ",\"active_%d\":%s", i,
						     below(2) ? "true" : "null");
				break;
			case 2:
				n += (size_t)sprintf(b + n, ",\"updated_at\":\"2024-%02u-%02uT%02u:%02u:00Z\"",
						     1 + below(12), 1 + below(28), below(24), below(60));
				break;
			default:
				n += (size_t)sprintf(b + n, ",\"name_%d\":\"", i);
				n += text(b + n, 4 + below(16), false);
				b[n++] = '"';
			}
		}
	} else {
		n += (size_t)sprintf(b + n, "\"id\":%u,\"title\":\"", below(1000000));
		n += text(b + n, 20 + below(40), kind == 2);
		n += put(b + n, "\",\"body\":\"");
		n += text(b + n, 1000 + below(3000), kind == 2);
		n += put(b + n, "\",\"tags\":[\"a\",\"b\"]");
	}
	n += (size_t)sprintf(b + n, "},\"emitted_at\":%u}}\n", 1700000000u + below(1000000));
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "short", "text", "utf8", "rows", "e2e" };
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	size_t cap = mb << 20;
	int passes = getenv("PASSES") ? atoi(getenv("PASSES")) : 3;
	char *buf = malloc(cap + 16384);

	if (!buf)
		return 1;
	for (int k = 0; k < 5; k++) {
		size_t n = 0, lines = 0;
		bool want = argc <= 2;

		for (int a = 2; a < argc; a++)
			want |= !strcmp(argv[a], kinds[k]);
		if (!want)
			continue;
		while (n < cap) {
			n += record(buf + n, k);
			lines++;
		}
		printf("%-6s %zu MB, %zu lines, avg %zu B/line\n", kinds[k],
		       n >> 20, lines, n / lines);
		for (int impl = AB_SCAN_SCALAR; impl <= AB_SCAN_AVX2; impl++) {
			double best = 1e9;
			unsigned long errors = 0, records = 0;
			const char *only = getenv("SCAN_IMPL");

			if (only && strcmp(only, ab_scan_impl_name((enum ab_scan_impl)impl)))
				continue;
			if (ab_scan_force_impl((enum ab_scan_impl)impl))
				continue;
			for (int pass = 0; pass < passes; pass++) {
				double t0 = now();
				const char *p = buf, *e = buf + n;

				errors = records = 0;
				while (p < e) {
					struct ab_scan out;
					size_t len;

					if (!ab_scan_frame(p, (size_t)(e - p), &len, &out)) {
						len = (size_t)((const char *)memchr(p, '\n', (size_t)(e - p)) - p);
						if (ab_scan_line(p, len, &out)) {
							errors++;
							out.type = AB_MSG_NONE;
						}
					}
					records += out.type == AB_MSG_RECORD;
					p += len + 1;
				}
				t0 = now() - t0;
				if (t0 < best)
					best = t0;
			}
			printf("  %-6s %8.0f MB/s %10.2f Mlines/s  (%lu errors, %lu records)\n",
			       ab_scan_impl_name((enum ab_scan_impl)impl),
			       n / best / 1e6, lines / best / 1e6, errors, records);
		}
	}
	free(buf);
	return 0;
}
