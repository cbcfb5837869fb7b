# Shared helpers for the end-to-end scripts (sourced).  Each script runs real
# processes: the static driver, the fake Python connectors, our C connectors.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${BIN:-$TOP/build/bin}
DRIVER=$BIN/airbyte-replication-driver
FAKE=$TOP/tests/connectors
T=$(mktemp -d /tmp/abtest.XXXXXX)
SECRETS=$T/secrets
STORE=$T/store
OUT=$T/out.jsonl
mkdir -p "$SECRETS" "$T/tmp"
# temp files of the driver (input state, private pipes) land here too
export TMPDIR=$T/tmp
. "$TOP/tests/tap.sh"
unset AIRBYTE_ENTRYPOINT AIRBYTE_SOURCE_ENTRYPOINT AIRBYTE_DESTINATION_ENTRYPOINT

cleanup() {
	# nothing started by a test may outlive it
	pkill -9 -f "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# catalog STREAM...: a configured catalog with these streams (incremental, append)
catalog() {
	local s sep=""
	{
		printf '{"streams":['
		for s in "$@"; do
			printf '%s{"stream":{"name":"%s","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh","incremental"]},"sync_mode":"incremental","cursor_field":["id"],"destination_sync_mode":"append"}' "$sep" "$s"
			sep=,
		done
		printf ']}\n'
	} >"$SECRETS/catalog-file.json"
}
source_config() { echo "$1" >"$SECRETS/source-file.json"; }
dest_config() { echo "$1" >"$SECRETS/destination-file.json"; }

SRC_EP="python3 $FAKE/fake_source.py"
DST_EP="python3 $FAKE/fake_destination.py"

# run_repl [ARGS...]: one replication with `run`; sets rc, log in $T/run.log
run_repl() {
	"$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
		--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" "$@" \
		>"$T/run.out" 2>"$T/run.log"
	rc=$?
}

state_json() { jq -cr "${1:-.state}" "$STORE/r/state.json"; }
last_run() { tail -n 1 "$STORE/r/history.jsonl" | jq -r "$1"; }
records_out() { if [ -f "$OUT" ]; then wc -l <"$OUT" | tr -d ' '; else echo 0; fi; }

# no process whose command line mentions this test's directory survives
no_leftover_processes() {
	local i
	for i in $(seq 50); do
		pgrep -f "$T" >/dev/null || return 0
		sleep 0.1
	done
	pgrep -af "$T" >&2
	return 1
}
# no FIFO, socket or temp file is left in a directory
dir_clean() { [ -z "$(find "$1" \( -type p -o -type s -o -name '*.tmp.*' \) 2>/dev/null)" ]; }
no_state_temp_files() { [ -z "$(find "$T/tmp" -maxdepth 1 -name 'airbyte-state-*' 2>/dev/null)" ]; }
no_private_dirs() { [ -z "$(find "$T/tmp" -maxdepth 1 -name 'airbyte-*' ! -name airbyte-spec-cache 2>/dev/null)" ]; }
jq_true() { jq -e "$1" "$2" >/dev/null; }
