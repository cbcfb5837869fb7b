/*
 * fuzz_scan.c - libFuzzer target for ab_scan_line() (src/protocol/scan.c).
 *
 * Runs every implementation the CPU has (scalar, SSE2, AVX2) on a heap copy
 * of exactly the input, so that AddressSanitizer flags any read past the
 * end, and aborts when they disagree on anything: return value, type,
 * stream/namespace spans, error message or offset.  Each one scans twice:
 * the SIMD ones remember the shapes of lines they accepted, so the
 * second scan (and the first, after a similar input) goes through their
 * template path.  ab_scan_frame() must agree too: on the input followed by
 * a newline it may only find the line up to the first newline, scanned as
 * the scalar path says.  A valid RECORD's stream must also unescape.  Build
 * and run with tests/fuzz/run.sh scan SECONDS.
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

/* ab_scan_frame() (current implementation) on data + "\n": see above. */
static void check_frame(const uint8_t *data, size_t size)
{
	enum ab_scan_impl impl = ab_scan_current_impl();
	char *buf = malloc(size + 1);
	struct ab_scan out, ref;
	size_t len = 0;

	if (!buf)
		return;
	memcpy(buf, data, size);
	buf[size] = '\n';
	if (ab_scan_frame(buf, size + 1, &len, &out)) {
		if (buf + len != memchr(buf, '\n', size + 1)) {
			fprintf(stderr, "fuzz_scan: %s frames a line that does not end at the first newline\n",
				ab_scan_impl_name(impl));
			abort();
		}
		ab_scan_force_impl(AB_SCAN_SCALAR);
		if (!ab_scan_same(ab_scan_line(buf, len, &ref), &ref, 0, &out)) {
			fprintf(stderr, "fuzz_scan: %s frames a line the scalar scan disagrees with\n",
				ab_scan_impl_name(impl));
			abort();
		}
		ab_scan_force_impl(impl);
	}
	free(buf);
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
	for (size_t i = 0; i < 2 * sizeof(impls) / sizeof(impls[0]); i++) {
		int r;

		if (ab_scan_force_impl(impls[i / 2]))
			continue;
		r = ab_scan_line(line, size, &out);
		if (i % 2)
			check_frame(data, size);
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
			differ("return value", impls[i / 2], size);
		if (out.type != ref.type)
			differ("type", impls[i / 2], size);
		if (out.stream != ref.stream || out.stream_len != ref.stream_len ||
		    out.stream_escaped != ref.stream_escaped)
			differ("stream", impls[i / 2], size);
		if (out.ns != ref.ns || out.ns_len != ref.ns_len ||
		    out.ns_escaped != ref.ns_escaped)
			differ("namespace", impls[i / 2], size);
		if (r0 && (out.error != ref.error ||
			   out.error_offset != ref.error_offset))
			differ("error", impls[i / 2], size);
	}
	free(line);
	return 0;
}
