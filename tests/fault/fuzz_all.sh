#!/usr/bin/env bash
# Build and run the libFuzzer targets tests/fuzz/fuzz_{lines,state,catalog,words}.c
# (clang 14, -fsanitize=fuzzer,address,undefined, linked against src/ directly).
#   tests/fault/fuzz_all.sh                 build, then fuzz each target 180 s
#   FUZZ_SECONDS=30 tests/fault/fuzz_all.sh fuzz each target 30 s
#   tests/fault/fuzz_all.sh state words     only these targets
#   FUZZ_SECONDS=0 tests/fault/fuzz_all.sh  build and replay corpora + crashes only
# Corpora live in tests/fuzz/corpus/<target>/ (new inputs are added there);
# crashes are written to tests/fuzz/crashes/<target>-crash-<sha1>.  Exit
# status: 0 when no target crashed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
CC=${FUZZ_CC:-clang}
secs=${FUZZ_SECONDS:-180}
out=${FUZZ_BUILD:-build-fuzz}
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -Isrc"
targets=${*:-lines state catalog words}
declare -A srcs=(
	[lines]="src/protocol/lines.c"
	[state]="src/protocol/state.c"
	[catalog]="src/protocol/catalog.c"
	[words]="src/util/words.c"
)
mkdir -p "$out" tests/fuzz/crashes
status=0
for t in $targets; do
	name=fuzz_$t
	if ! $CC $flags -o "$out/$name" "tests/fuzz/$name.c" ${srcs[$t]} -ljansson; then
		echo "not ok - $name does not build"
		status=1
		continue
	fi
	mkdir -p "tests/fuzz/corpus/$name"
	# known crashers first: they must not crash any more
	for c in tests/fuzz/crashes/$name-*; do
		[ -f "$c" ] || continue
		if ! "$out/$name" "$c" >"$out/$name.replay.log" 2>&1; then
			echo "not ok - $name still crashes on $c"
			status=1
		fi
	done
	[ "$secs" = 0 ] && { "$out/$name" -runs=0 "tests/fuzz/corpus/$name" >/dev/null 2>&1 \
		&& echo "ok - $name replays its corpus" || { echo "not ok - $name corpus"; status=1; }; continue; }
	start=$(date +%s)
	"$out/$name" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="tests/fuzz/crashes/$name-" -print_final_stats=1 \
		"tests/fuzz/corpus/$name" >"$out/$name.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
	cov=$(grep -o 'cov: [0-9]*' "$out/$name.log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "ok - $name: $(($(date +%s) - start)) s, ${execs:-?} runs, $cov"
	else
		echo "not ok - $name crashed (exit $rc), see $out/$name.log:"
		grep -E 'ERROR|check failed|SUMMARY|Test unit written' "$out/$name.log" | head -5 | sed 's/^/#   /'
		status=1
	fi
done
exit $status
