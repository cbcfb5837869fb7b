#!/usr/bin/env bash
# `make bench`: the driver's throughput and overhead benchmark.  Builds
# nothing (make bench builds first); bench/bench.py does the measuring.
# Knobs (environment): BENCH_REPS (5), BENCH_BYTES (2G per repetition and
# variant; K/M/G suffixes), BENCH_RECORD_SIZE (200), BENCH_STATE_EVERY
# (10000), BENCH_STARTUP_RUNS (20), BENCH_CHECKPOINT_REPS (3),
# BENCH_FAROS_RECORDS (200000), BENCH_FAROS_REPS (7), BENCH_DROP_RECORDS
# (1000000), BENCH_ONLY (all of "throughput checkpoint startup faros
# drops", or some of them), BENCH_TMPFS
# (/dev/shm: variant f's store), BENCH_NPM_DIR
# (build/npm), BENCH_RESULTS_DIR (bench/results), BENCH_KEEP=1 keeps the
# work dir (under TMPDIR).  See bench/README.md.
set -eu
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "bench: python3 is required" >&2; exit 2; }
exec python3 bench/bench.py "$@"
