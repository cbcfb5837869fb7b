/*
 * fuzz_scan.c - libFuzzer target for ab_scan_line() (src/protocol/scan.c).
 *
 * Runs every implementation the CPU has (scalar, SSE2, AVX2) on a heap copy
 * of exactly the input, so that AddressSanitizer flags any read past the
 * end, and aborts when they disagree on anything: return value, type,
 * stream/namespace spans, error message or offset.  A valid RECORD's stream
 * must also unescape.  Build and run with tests/fuzz/run.sh scan SECONDS.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/scan.h"

static const enum ab_scan_impl impls[] = {
	AB_SCAN_SCALAR, AB_SCAN_SSE2, AB_SCAN_AVX2,
};

static void differ(const char *what, enum ab_scan_impl impl, size_t size)
{
	fprintf(stderr, "fuzz_scan: %s differs: scalar vs %s (input %zu bytes)\n",
		what, ab_scan_impl_name(impl), size);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	struct ab_scan ref, out;
	int r0 = 0;
	bool first = true;

	if (!line)
		return 0;
	memcpy(line, data, size);
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		int r;

		if (ab_scan_force_impl(impls[i]))
			continue;
		r = ab_scan_line(line, size, &out);
		if (r != 0 && r != -EINVAL)
			abort();
		if (r == 0 && out.type == AB_MSG_RECORD) {
			char buf[256];

			if (!out.stream || out.stream < line ||
			    out.stream + out.stream_len > line + size)
				abort();
			if (ab_scan_unescape(out.stream, out.stream_len, buf,
					     sizeof(buf)) == -EINVAL)
				abort();
		}
		if (r != 0 && (!out.error || out.error_offset > size))
			abort();
		if (first) {
			first = false;
			r0 = r;
			ref = out;
			continue;
		}
		if (r != r0)
			differ("return value", impls[i], size);
		if (out.type != ref.type)
			differ("type", impls[i], size);
		if (out.stream != ref.stream || out.stream_len != ref.stream_len ||
		    out.stream_escaped != ref.stream_escaped)
			differ("stream", impls[i], size);
		if (out.ns != ref.ns || out.ns_len != ref.ns_len ||
		    out.ns_escaped != ref.ns_escaped)
			differ("namespace", impls[i], size);
		if (r0 && (out.error != ref.error ||
			   out.error_offset != ref.error_offset))
			differ("error", impls[i], size);
	}
	free(line);
	return 0;
}
