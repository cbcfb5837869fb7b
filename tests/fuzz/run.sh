#!/usr/bin/env bash
# Build and run the libFuzzer targets tests/fuzz/fuzz_NAME.c (clang,
# -fsanitize=fuzzer,address,undefined), each linked against the few src/
# files it exercises.
#   tests/fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
#       one target (e.g. "cron"), libFuzzer's own output; JOBS=N runs N
#       fuzzer processes; FUZZ_SRCS="src/a/b.c ..." overrides its sources
#   tests/fuzz/run.sh --all [TARGET...]        (make fuzz, tests/run.sh)
#       every target (or these) FUZZ_SECONDS (default 60) s each, one after
#       the other; prints "ok - ..." / "not ok - ..." per target with runs,
#       seconds and coverage, then a summary line; exit 1 if any crashed
#   FUZZ_SECONDS=0 tests/fuzz/run.sh --all     build, replay seeds and crashers
# Both modes first replay tests/fuzz/crashes/TARGET-*.bin (reproducers of
# fixed bugs; one that crashes again is a failure).  Seeds come from
# tests/fuzz/corpus/TARGET/ (never written to), tokens from
# tests/fuzz/TARGET.dict; new inputs go to build/fuzz/corpus-TARGET/,
# crashes to build/fuzz/crash-TARGET-*.  Needs clang and its libFuzzer
# runtime (Debian 12: clang libclang-rt-14-dev; FUZZ_CC=clang-NN to choose).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
CC=${FUZZ_CC:-clang}
out=build/fuzz
ALL_TARGETS="scan member lines state catalog words cron schema"
# shellcheck disable=SC2054 # the commas belong to -fsanitize=
CFLAGS_FUZZ=(-std=c17 -g -O1 -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -Isrc)

# The sources and libraries a target links (only what it exercises, so
# that work elsewhere in src/ cannot break the fuzz build).
target_srcs() {
	case $1 in
	scan) echo src/protocol/scan.c ;;
	member) echo src/protocol/member.c src/protocol/scan.c ;;
	lines) echo src/protocol/lines.c ;;
	state) echo src/protocol/state.c ;;
	catalog) echo src/protocol/catalog.c ;;
	words) echo src/util/words.c ;;
	cron) echo src/schedule/cron.c ;;
	schema) echo src/validate/schema.c ;;
	*) echo src/protocol/*.c ;;
	esac
}
target_libs() {
	case $1 in
	state | catalog | schema | member) echo -ljansson ;;
	esac
}
target_max_len() {
	case $1 in
	cron) echo 256 ;; # "EXPR\nTZ\nAFTER"
	*) echo 4096 ;;
	esac
}

# Is clang there, with the libFuzzer runtime?  Prints what is missing.
check_toolchain() {
	if ! command -v "$CC" >/dev/null; then
		echo "$CC not found: install clang and libclang-rt-14-dev (scripts/install-deps.sh)"
		return 1
	fi
	mkdir -p "$out"
	printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' \
		>"$out/probe.c"
	if ! "$CC" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" >"$out/probe.log" 2>&1; then
		echo "$CC cannot link -fsanitize=fuzzer ($(grep -m1 -E 'error|cannot find' "$out/probe.log")): install libclang-rt-14-dev (scripts/install-deps.sh)"
		return 1
	fi
}

# Build build/fuzz/fuzz_$1 if it is missing or older than its sources.
build() {
	local t=$1 bin=$out/fuzz_$1 srcs f stale=0
	srcs=${FUZZ_SRCS:-$(target_srcs "$t")}
	[ -f "tests/fuzz/fuzz_$t.c" ] || { echo "no tests/fuzz/fuzz_$t.c" >"$out/build-$t.log"; return 1; }
	mkdir -p "$out"
	[ -x "$bin" ] || stale=1
	for f in "tests/fuzz/fuzz_$t.c" $srcs src/*/*.h tests/fuzz/run.sh; do
		[ "$f" -nt "$bin" ] && stale=1
	done
	[ $stale = 0 ] && [ -z "${FUZZ_SRCS:-}" ] && return 0
	# shellcheck disable=SC2046,SC2086 # word splitting of the lists is wanted
	"$CC" "${CFLAGS_FUZZ[@]}" "tests/fuzz/fuzz_$t.c" $srcs -o "$bin" $(target_libs "$t") \
		>"$out/build-$t.log" 2>&1
}

# Replay tests/fuzz/crashes/$1-*: prints "not ok" per reproducer that still
# fails; sets $replayed.
replay() {
	local t=$1 c rc=0
	replayed=0
	for c in tests/fuzz/crashes/"$t"-*; do
		[ -f "$c" ] || continue
		replayed=$((replayed + 1))
		if ! timeout -k 10 120 "$out/fuzz_$t" -timeout=10 -rss_limit_mb=2048 "$c" >"$out/replay-$t.log" 2>&1; then
			echo "not ok - fuzz_$t fails again on $c:"
			grep -E 'check failed|ERROR|runtime error|SUMMARY' "$out/replay-$t.log" | head -5 | sed 's/^/#   /'
			rc=1
		fi
	done
	return $rc
}

fuzz_flags() { # target
	local t=$1
	echo "-max_len=$(target_max_len "$t") -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$out/crash-$t-"
	[ -f "tests/fuzz/$t.dict" ] && echo "-dict=tests/fuzz/$t.dict"
}

# ---- one target, interactive --------------------------------------------
if [ "${1:-}" != "--all" ]; then
	target=${1:?usage: $0 TARGET SECONDS [libFuzzer flags] | $0 --all [TARGET...]}
	seconds=${2:?usage: $0 TARGET SECONDS [libFuzzer flags]}
	shift 2
	why=$(check_toolchain) || { echo "$why" >&2; exit 2; }
	build "$target" || { cat "$out/build-$target.log" >&2; exit 2; }
	replay "$target" || exit 1
	[ "$replayed" -gt 0 ] && echo "fuzz_$target: $replayed reproducer(s) in tests/fuzz/crashes pass" >&2
	mkdir -p "$out/corpus-$target"
	jobs=${JOBS:-1}
	par=()
	[ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
	# shellcheck disable=SC2046
	exec "$out/fuzz_$target" "$out/corpus-$target" "tests/fuzz/corpus/$target" \
		-max_total_time="$seconds" $(fuzz_flags "$target") "${par[@]}" "$@"
fi

# ---- every target, TAP-like ---------------------------------------------
shift
secs=${FUZZ_SECONDS:-60}
targets=${*:-$ALL_TARGETS}
if ! why=$(check_toolchain); then
	echo "not ok - fuzz: $why"
	exit 1
fi
status=0 total_runs=0 crashed=0 start_all=$(date +%s)
for t in $targets; do
	if ! build "$t"; then
		echo "not ok - fuzz_$t does not build:"
		tail -5 "$out/build-$t.log" | sed 's/^/#   /'
		status=1 crashed=$((crashed + 1))
		continue
	fi
	replay "$t" || { status=1 crashed=$((crashed + 1)); continue; }
	note=""
	[ "$replayed" -gt 0 ] && note=", $replayed reproducer(s) pass"
	if [ "$secs" = 0 ]; then
		if timeout -k 10 300 "$out/fuzz_$t" -runs=0 -timeout=10 "tests/fuzz/corpus/$t" >"$out/fuzz-$t.log" 2>&1; then
			echo "ok - fuzz_$t replays its $(find "tests/fuzz/corpus/$t" -type f | wc -l) seeds$note"
		else
			echo "not ok - fuzz_$t fails on a seed, see $out/fuzz-$t.log"
			status=1 crashed=$((crashed + 1))
		fi
		continue
	fi
	mkdir -p "$out/corpus-$t"
	start=$(date +%s)
	# shellcheck disable=SC2046
	timeout -k 10 $((secs + 300)) "$out/fuzz_$t" "$out/corpus-$t" "tests/fuzz/corpus/$t" \
		-max_total_time="$secs" $(fuzz_flags "$t") >"$out/fuzz-$t.log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz-$t.log")
	cov=$(grep -E '^#[0-9]+' "$out/fuzz-$t.log" | tail -1 |
		sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
	total_runs=$((total_runs + ${runs:-0}))
	if [ $rc -eq 0 ]; then
		echo "ok - fuzz_$t: $took s, ${runs:-?} runs ($((${runs:-0} / (took > 0 ? took : 1)))/s), ${cov:-cov ?}$note"
	else
		echo "not ok - fuzz_$t crashed (exit $rc) after $took s, see $out/fuzz-$t.log:"
		grep -E 'check failed|ERROR|runtime error|SUMMARY|Test unit written' "$out/fuzz-$t.log" |
			head -6 | sed 's/^/#   /'
		echo "#   keep the reproducer as tests/fuzz/crashes/$t-<what>.bin once fixed"
		status=1 crashed=$((crashed + 1))
	fi
done
n=$(echo "$targets" | wc -w)
echo "# fuzz: $n target(s), $total_runs runs in $(($(date +%s) - start_all)) s, $crashed failed"
exit $status
