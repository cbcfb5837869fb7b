#!/usr/bin/env bash
# Build and run a libFuzzer target for a set time.
#   tests/fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]
# TARGET is the NAME of tests/fuzz/fuzz_NAME.c (e.g. "scan").  Seeds come
# from tests/fuzz/corpus/NAME/ (never written to); new inputs go to
# build/fuzz/corpus-NAME/, crashes to build/fuzz/crash-NAME-*.  Needs clang
# with the libFuzzer runtime (Debian: libclang-rt-14-dev or
# libclang-common-14-dev).  Set JOBS=N to run N fuzzer processes.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
target=${1:?usage: $0 TARGET SECONDS [libFuzzer flags]}
seconds=${2:?usage: $0 TARGET SECONDS [libFuzzer flags]}
shift 2
CC=${FUZZ_CC:-clang}
out=build/fuzz
bin=$out/fuzz_$target
mkdir -p "$out/corpus-$target"

# The target plus the sources it exercises.
# Other targets: FUZZ_SRCS="src/a/b.c ..." (default: src/protocol/*.c).
[ -f "tests/fuzz/fuzz_$target.c" ] || { echo "no tests/fuzz/fuzz_$target.c" >&2; exit 2; }
case $target in
scan) srcs=${FUZZ_SRCS:-src/protocol/scan.c} ;;
*) srcs=${FUZZ_SRCS:-$(echo src/protocol/*.c)} ;;
esac

$CC -std=c17 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -Isrc \
	"tests/fuzz/fuzz_$target.c" $srcs -o "$bin"

seeds=tests/fuzz/corpus/$target
dict=()
[ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")
jobs=${JOBS:-1}
par=()
[ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
exec "$bin" "$out/corpus-$target" "$seeds" -max_total_time="$seconds" \
	-max_len=4096 -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$out/crash-$target-" "${dict[@]}" "${par[@]}" "$@"
