# `make bench`: the throughput / overhead benchmark (bench/run.sh).  Included
# by the top-level Makefile; the helpers are small static C programs.

BENCH_HELPERS := relay stampexec proctime watch_state
BENCH_BINS := $(BENCH_HELPERS:%=$(BUILD)/bench/%)

.PHONY: bench bench-helpers
bench-helpers: $(BENCH_BINS)

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 $(WARN) $(CFLAGS) -D_GNU_SOURCE -static -o $@ $<

bench: all $(BENCH_BINS)
	bench/run.sh
