#!/usr/bin/env bash
# The fuzz targets, as before: now `tests/fuzz/run.sh --all`, which builds
# and runs every target (see there); kept for the 180 s default.
#   tests/fault/fuzz_all.sh                  each target FUZZ_SECONDS (default 180) s
#   FUZZ_SECONDS=0 tests/fault/fuzz_all.sh   build, replay the seeds and crashers only
#   tests/fault/fuzz_all.sh state words      only these targets
top=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-180} exec "$top/tests/fuzz/run.sh" --all "$@"
