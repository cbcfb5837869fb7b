#!/usr/bin/env bash
# Build and run the reliability fuzz targets (tests/fuzz/fuzz_{lines,state,
# catalog,words}.c) one after the other, with the conventions of
# tests/fuzz/run.sh (same compiler flags; seeds tests/fuzz/corpus/<target>/,
# read-only; new inputs build/fuzz/corpus-<target>/; crashes
# build/fuzz/crash-<target>-*).  It builds the targets itself because they
# need -ljansson, which run.sh does not link (yet).
#   tests/fault/fuzz_all.sh                  each target FUZZ_SECONDS (default 180) s
#   FUZZ_SECONDS=0 tests/fault/fuzz_all.sh   build, replay the seeds and crashers only
#   tests/fault/fuzz_all.sh state words      only these targets
# Reproducers worth keeping go to tests/fuzz/crashes/<target>-<what>.bin; they
# are replayed first.  Exit status 0 when no target crashed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
CC=${FUZZ_CC:-clang}
secs=${FUZZ_SECONDS:-180}
out=build/fuzz
mkdir -p "$out"
status=0
for t in ${*:-lines state catalog words}; do
	case $t in
	words) srcs="src/util/words.c" ;;
	*) srcs=$(echo src/protocol/*.c) ;;
	esac
	bin=$out/fuzz_$t
	if ! $CC -std=c17 -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -Isrc \
		"tests/fuzz/fuzz_$t.c" $srcs -o "$bin" -ljansson >"$out/build-$t.log" 2>&1; then
		echo "not ok - fuzz_$t does not build"; tail -5 "$out/build-$t.log"; status=1; continue
	fi
	for c in tests/fuzz/crashes/"$t"-*; do
		[ -f "$c" ] || continue
		"$bin" "$c" >/dev/null 2>&1 || { echo "not ok - fuzz_$t still crashes on $c"; status=1; }
	done
	if [ "$secs" = 0 ]; then
		"$bin" -runs=0 "tests/fuzz/corpus/$t" >/dev/null 2>&1 &&
			echo "ok - fuzz_$t replays its seeds" || { echo "not ok - fuzz_$t seeds"; status=1; }
		continue
	fi
	mkdir -p "$out/corpus-$t"
	start=$(date +%s)
	"$bin" "$out/corpus-$t" "tests/fuzz/corpus/$t" -max_total_time="$secs" \
		-max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$t-" >"$out/fuzz-$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz-$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$out/fuzz-$t.log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "ok - fuzz_$t: $(($(date +%s) - start)) s, ${execs:-?} runs, $cov"
	else
		echo "not ok - fuzz_$t crashed (exit $rc), see $out/fuzz-$t.log:"
		grep -E 'ERROR|check failed|SUMMARY|Test unit written' "$out/fuzz-$t.log" | head -5 | sed 's/^/#   /'
		status=1
	fi
done
exit $status
