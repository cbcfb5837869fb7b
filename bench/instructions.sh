#!/usr/bin/env bash
# Instructions per record of the source role's hot path, from valgrind's
# callgrind: repeatable on a noisy machine, unlike CPU time.  Runs the
# destination role normally and the source role under callgrind, for
# SMALL and 2*SMALL records of source-e2e-test (200-byte RECORDs, a STATE
# every 10000); the difference in instructions / SMALL is the per-record
# cost (start-up and shutdown cancel out).
#   bench/instructions.sh [DRIVER] [SMALL]      (after make; SMALL 100000)
# The driver is stripped: for a per-function profile build one that is not,
#   make BUILD=/tmp/b STATIC_LDFLAGS="-static -Wl,--gc-sections" driver
# and pass /tmp/b/bin/airbyte-replication-driver; each run's callgrind.out
# is kept in the work dir printed at the end (callgrind_annotate FILE).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
driver=${1:-$top/build/bin/airbyte-replication-driver}
small=${2:-100000}
command -v valgrind >/dev/null || { echo "instructions: valgrind is required" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ab-instr.XXXXXX")

run() { # records -> instructions of the source role
	local n=$1 d=$work/$1
	mkdir -p "$d/secrets" "$d/pipes" "$d/store"
	echo "{\"records\":$n,\"record_size\":200,\"state_every\":10000,\"pipe_size\":1048576}" \
		>"$d/secrets/source-file.json"
	echo '{}' >"$d/secrets/destination-file.json"
	echo '{"streams":[{"stream":{"name":"stream_0","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh"]},"sync_mode":"full_refresh","destination_sync_mode":"append"}]}' \
		>"$d/secrets/catalog-file.json"
	local common=(--replication b --secrets-dir "$d/secrets" --store-path "$d/store" --pipes-dir "$d/pipes")
	"$driver" destination "${common[@]}" --destination-entrypoint "$top/build/bin/destination-dev-null" \
		2>"$d/dst.err" &
	local dst=$!
	valgrind --tool=callgrind --callgrind-out-file="$d/callgrind.out" \
		"$driver" source "${common[@]}" --source-entrypoint "$top/build/bin/source-e2e-test" \
		2>"$d/src.err"
	wait "$dst"
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$d/src.err"
}

a=$(run "$small")
b=$(run $((2 * small)))
echo "source role: $(( (b - a) / small )) instructions per record ($a for $small records, $b for $((2 * small)))"
echo "profiles: $work/*/callgrind.out"
