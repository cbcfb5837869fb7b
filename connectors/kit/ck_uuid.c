#include "ck_uuid.h"

#include <stdlib.h>
#include <sys/random.h>
#include <sys/types.h>

void ck_uuid4(char out[37])
{
	static unsigned char pool[4096];
	static size_t left;
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (left < 16) {
		if (getrandom(pool, sizeof(pool), 0) < (ssize_t)sizeof(pool))
			for (size_t i = 0; i < sizeof(pool); i++)
				pool[i] = (unsigned char)random(); /* not expected on Linux */
		left = sizeof(pool);
	}
	unsigned char *b = pool + sizeof(pool) - left;
	left -= 16;
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}
