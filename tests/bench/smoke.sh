#!/usr/bin/env bash
# `make bench` in miniature: the harness runs every section but Faros's on a
# few MiB and reports what bench/README.md promises (every variant, the
# ratios, driver CPU and wake-ups with the store on disk and on tmpfs,
# checkpoint latency, start-up, dropped lines); variant f is skipped with its reason when
# BENCH_TMPFS is not tmpfs, and an unknown section is refused.  The numbers
# themselves are not judged: that is the benchmark's job, not a test's.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=tests/tap.sh
. tests/tap.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

make -s bench-helpers >"$T/make.log" 2>&1 || { echo "Bail out! make bench-helpers failed"; cat "$T/make.log"; exit 1; }

smoke() { # smoke NAME [ENV...]: a tiny run into $T/NAME
	env BENCH_RESULTS_DIR="$T/$1" BENCH_REPS=1 BENCH_BYTES=4M BENCH_STATE_EVERY=2000 \
		BENCH_STARTUP_RUNS=2 BENCH_CHECKPOINT_REPS=1 BENCH_DROP_RECORDS=20000 \
		BENCH_ONLY="throughput checkpoint startup drops" \
		"${@:2}" bench/run.sh >"$T/$1.out" 2>&1
}
json() { jq -r "$2" "$T/$1"/*.json; }

check "a tiny run of every section but Faros succeeds" smoke full
check "it writes the JSON and latest.md" test -s "$T/full/latest.md" -a -n "$(ls "$T/full"/*.json 2>/dev/null)"
shm=$(stat -f -c %T /dev/shm 2>/dev/null)
variants=(a_driver b_shell c_relay d_roles e_rare_states f_roles_tmpfs)
ratios=(a/b a/c a/e d/c d/f f/e)
if [ "$shm" != tmpfs ]; then
	variants=("${variants[@]:0:5}")
	ratios=("${ratios[@]:0:4}")
	echo "# /dev/shm is $shm here: variant f is expected to be skipped"
fi
if head=$(git rev-parse --short HEAD 2>/dev/null); then
	[ -n "$(git status --porcelain --untracked-files=no -- src connectors bench ':(exclude)bench/results')" ] &&
		head+=+changes
	eq "the results name the commit measured (results files are not changes)" "$head" "$(json full '.host.commit')"
fi
eq "every variant ran" "$(printf '%s\n' "${variants[@]}" | sort | xargs)" \
	"$(json full '.throughput.variants | keys[]' | sort | xargs)"
eq "every ratio is there" "$(printf '%s\n' "${ratios[@]}" | sort | xargs)" \
	"$(json full '.throughput.ratios | keys[]' | sort | xargs)"
check "driver CPU per role is positive" test "$(json full '[.throughput.driver_cpu_s_per_gib | .source_role.median, .destination_role.median] | all(. > 0)')" = true
check "the destination role's wake-ups per state are counted" \
	test "$(json full '.throughput.driver_cpu_s_per_gib.destination_role_wakeups_per_state.median > 0')" = true
if [ "$shm" = tmpfs ]; then
	check "so they are with the store on tmpfs" \
		test "$(json full '.throughput.driver_cpu_s_per_gib_store_on_tmpfs.destination_role_wakeups_per_state.median > 0')" = true
	check "the table shows the tmpfs rows" grep -q 'store on tmpfs (f)' "$T/full/latest.md"
fi
eq "every echoed state was seen durable" 0 "$(json full '.checkpoint.unmatched')"
check "checkpoint latency has a p99" test "$(json full '.checkpoint.latency_ms.p99 > 0')" = true
check "start-up was measured" test "$(json full '.startup.exec_to_connectors_ms.both.median > 0')" = true
for kind in non_json log; do
	eq "dropped lines ($kind): every density ran" "1 10 100" "$(json full ".drops.kinds.$kind | keys[]" | sort -n | xargs)"
	eq "with the number of lines dropped" "20000 2000 200" \
		"$(json full "[.drops.kinds.$kind[] | .dropped_lines] | sort | reverse | .[]" | xargs)"
	check "and a driver/pipe ratio" test "$(json full "[.drops.kinds.$kind[] | .wall_ratio_driver_over_pipe.median > 0] | all")" = true
done
check "the table shows them" grep -q '^Dropped lines: 20000 records' "$T/full/latest.md"

check "with BENCH_TMPFS not on tmpfs the run still succeeds" smoke notmpfs BENCH_ONLY=throughput BENCH_TMPFS="$T"
eq "variant f is left out" null "$(json notmpfs '.throughput.variants.f_roles_tmpfs')"
check "and the reason is in the results" grep -q "not tmpfs (BENCH_TMPFS)" <<<"$(json notmpfs '.throughput.f_skipped')"
check "and in the table" grep -q "Variant f skipped" "$T/notmpfs/latest.md"

check_fails "an unknown section is refused" smoke bad BENCH_ONLY=thruput
check "naming it and the choices" grep -q "unknown section(s) thruput; choose from" "$T/bad.out"

done_testing
