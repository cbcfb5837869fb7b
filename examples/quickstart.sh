#!/usr/bin/env bash
# The seed's quick start without Docker: copy input.csv through source-file
# and destination-csv (our C stand-ins for Airbyte's images), with the seed's
# own config files, twice: the second run starts from the state the first
# one committed.  Check: the output has as many lines as the input (the
# seed's assert.sh criterion).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/bin
scenario=$top/examples/hello-airbyte-file-to-csv
work=${DEMO_DIR:-$top/build/demo}
name=hello-airbyte-file-to-csv

rm -rf "$work"
mkdir -p "$work/local"
cp "$scenario/local/input.csv" "$work/local/"
# the configs name container paths (/local/...): map them into $work
export SOURCE_FILE_ROOT=$work DESTINATION_CSV_ROOT=$work

run() {
	"$bin/airbyte-replication-driver" run --replication "$name" \
		--secrets-dir "$scenario/secrets" --store-path "$work/tmp" \
		--source-entrypoint "$bin/source-file" \
		--destination-entrypoint "$bin/destination-csv"
}

check() {
	local want got
	want=$(wc -l < "$work/local/input.csv")
	got=$(wc -l < "$work/local/_airbyte_raw_test.csv")
	if [ "$want" = "$got" ]; then
		echo "Replication successful: $work/local/_airbyte_raw_test.csv has $got lines, like input.csv."
	else
		echo "Replication FAILED: input.csv has $want lines, the output $got." >&2
		exit 1
	fi
}

echo "== run 1: fresh store"
run
check
echo
echo "== the committed state (the seed's CLI form):"
echo "\$ airbyte-replication-driver --command state --replication $name --store-path $work/tmp"
"$bin/airbyte-replication-driver" --command state --replication "$name" --store-path "$work/tmp"
echo
echo "== run 2: starts from the stored state (full refresh: the file is rewritten)"
rm -f "$work/local/_airbyte_raw_test.csv"
run 2>&1 | grep -E 'input state|replication |stream |state:' || true
check
echo
echo "== run history ($work/tmp/$name/history.jsonl):"
jq -c '{run, outcome, records_committed, duration_ms}' "$work/tmp/$name/history.jsonl"
