/*
 * cron_next.c - test tool: print the next fire times of cron expressions,
 * for the differential test against Perl's DateTime::Event::Cron
 * (tests/e2e/t1200-cron.sh).  Links build/libdriver.a:
 *
 *   cc -std=c17 -D_GNU_SOURCE -Isrc -o build/tests/cron_next_tool \
 *      tests/conformance/cron_next.c build/libdriver.a
 *
 * Reads lines "EPOCH COUNT EXPR..." on stdin; for each prints one line:
 * COUNT epoch seconds separated by blanks, or "error: MESSAGE".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/cron.h"

int main(void)
{
	char line[1024];

	while (fgets(line, sizeof(line), stdin)) {
		long long after;
		int count, off = 0;
		struct cron c;
		struct cron_error err;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%lld %d %n", &after, &count, &off) < 2 || !off) {
			printf("error: bad input line\n");
			continue;
		}
		if (cron_parse(&c, line + off, &err) < 0) {
			printf("error: %s (column %d)\n", err.text, err.column);
			continue;
		}
		time_t t = (time_t)after;
		for (int i = 0; i < count; i++) {
			time_t next;
			int r = cron_next(&c, t, &next);
			if (r < 0) {
				printf("%serror: %s", i ? " " : "", strerror(-r));
				break;
			}
			printf("%s%lld", i ? " " : "", (long long)next);
			t = next;
		}
		printf("\n");
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
