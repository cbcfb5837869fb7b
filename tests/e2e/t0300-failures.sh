# Failures of a connector: the source fails (exit 1, TRACE ERROR), the
# destination fails; committed states are kept, the other side stops, the
# exit code and the run record say why, nothing is left behind.
. "$(dirname "$0")/lib.sh"
catalog users
dest_config "{\"output\":\"$OUT\"}"

# source fails after 5 records, states every 2 records
source_config '{"streams":{"users":100},"state_every":2,"fail_after":5,"trace_error":"upstream API said no"}'
run_repl
eq "source failure: run exits 1" 1 "$rc"
eq "records before the failure reached the destination" 5 "$(records_out)"
eq "states committed before the failure are kept (cursor 4)" 4 "$(state_json '.state[0].stream.stream_state.cursor')"
eq "the run record says failed" failed "$(last_run .outcome)"
eq "the run record gives the connector's TRACE error" "upstream API said no" "$(last_run .failure_reason)"
eq "committed records counted" 4 "$(last_run .records_committed)"
check "the log names the reason" grep -q 'upstream API said no' "$T/run.log"
check "no process left" no_leftover_processes
check "no state temp file left" no_state_temp_files

# without a TRACE message the exit status is the reason
rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":100},"state_every":2,"fail_after":3}'
run_repl
eq "source exit 1 without TRACE: run exits 1" 1 "$rc"
eq "the reason is the exit status" "the source connector exited with status 1" "$(last_run .failure_reason)"
eq "cursor 2 committed" 2 "$(state_json '.state[0].stream.stream_state.cursor')"

# destination fails: the source connector (still producing) is stopped
rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":100000},"state_every":2,"sleep":0.01}'
dest_config "{\"output\":\"$OUT\",\"fail_after_records\":7}"
start=$(date +%s)
run_repl
eq "destination failure: run exits 1" 1 "$rc"
eq "the reason is the destination's TRACE error" "destination failing on purpose" "$(last_run .failure_reason)"
check "the run stopped quickly (not after all 100000 records)" [ $(($(date +%s) - start)) -lt 15 ]
eq "states the destination committed are kept (cursor 6)" 6 "$(state_json '.state[0].stream.stream_state.cursor')"
check "the source side learned why" grep -q 'source: .*destination failing on purpose' "$T/run.log"
check "no process left (source connector killed)" no_leftover_processes

# destination connector that exits 0 early while the source still sends
rm -rf "$STORE" "$OUT"
DST_EP="sh -c 'head -n 2 >/dev/null'"
run_repl
eq "a destination that stops reading fails the run" 1 "$rc"
check "no process left" no_leftover_processes
done_testing
