# Protocol rules on the hot path: only RECORD and STATE reach the
# destination, byte for byte; non-JSON and non-message lines are logged and
# counted; "type" may come after "record"; a RECORD of a stream outside the
# catalog is an error; lines up to the limit pass, longer ones fail clearly.
. "$(dirname "$0")/lib.sh"
catalog users orders
dest_config "{\"output\":\"$OUT\",\"stdin_log\":\"$T/stdin.log\"}"

source_config '{"streams":{"users":10,"orders":6},"noise":true,"state_every":3}'
run_repl
eq "noisy connectors: run exits 0" 0 "$rc"
eq "all 16 records delivered" 16 "$(records_out)"
eq "the destination saw only RECORD and STATE lines" "RECORD STATE" \
	"$(jq -r .type "$T/stdin.log" | sort -u | xargs)"
check "non-JSON lines are logged under the connector's name" \
	grep -q 'source-connector: this is not json, record 2' "$T/run.log"
check "JSON that is not a message is logged" grep -q 'source-connector: {"valid": "json but not a message"}' "$T/run.log"
check "LOG messages are logged" grep -q 'source-connector: starting read' "$T/run.log"
check "stderr lines are logged" grep -q 'source-connector: fake-source: progress 2' "$T/run.log"
eq "invalid lines counted in the run record" 8 "$(last_run .invalid_lines)"
eq "records per stream emitted" "10 6" "$(last_run '[.streams[].records_emitted] | map(tostring) | join(" ")')"
eq "records per stream committed" "10 6" "$(last_run '[.streams[].records_committed] | map(tostring) | join(" ")')"

# LOG messages: read without a JSON tree, at their level, escapes decoded
rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":3},"log_levels":true}'
dest_config "{\"output\":\"$OUT\",\"log_levels\":true}"
run_repl
eq "LOG levels: run exits 0" 0 "$rc"
check "a FATAL LOG is an error; its keys in any order, its escapes decoded" \
	grep -q 'ERROR \[r\] source-connector: fatal "quoted" second line$' "$T/run.log"
for level in ERROR WARN INFO; do
	check "a LOG of level $level is logged at $level, \\u escapes decoded" \
		grep -q "$(printf '%-5s' $level) \\[r\\] source-connector: level $level café 😀\$" "$T/run.log"
done
check_fails "DEBUG and TRACE are below the default level" grep -q 'level DEBUG\|level TRACE' "$T/run.log"
check "a message longer than a log line is logged, cut" grep -q 'WARN  \[r\] source-connector: long éééé' "$T/run.log"
check_fails "(its end is cut off)" grep -q 'ééé end' "$T/run.log"
check "the destination's FATAL LOG is an error too" \
	grep -q 'ERROR \[r\] destination-connector: destination fatal.note$' "$T/run.log"
check_fails "its TRACE is below the default level" grep -q 'destination trace note' "$T/run.log"
dest_config "{\"output\":\"$OUT\",\"stdin_log\":\"$T/stdin.log\"}"

# forwarded bytes are unchanged: compare the source's own lines
rm -rf "$STORE" "$OUT" "$T/stdin.log"
source_config '{"streams":{"users":5},"type_last":true}'
python3 "$FAKE/fake_source.py" read --config "$SECRETS/source-file.json" --catalog "$SECRETS/catalog-file.json" 2>/dev/null |
	grep -E '"type": "(RECORD|STATE)"' | sed 's/"emitted_at": [0-9]*/E/' >"$T/expected"
run_repl
eq "type after record: run exits 0" 0 "$rc"
eq "records counted with type last" 5 "$(last_run .records_emitted)"
sed 's/"emitted_at": [0-9]*/E/' "$T/stdin.log" >"$T/got"
check "forwarded lines are byte-identical to the source's" cmp -s "$T/expected" "$T/got"

rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":5},"unknown_stream":"ghost"}'
run_repl
eq "a RECORD of a stream not in the catalog: exit 1" 1 "$rc"
check "the reason names the stream and the catalog" grep -q "stream 'ghost', which is not in the configured catalog" "$T/run.log"
check "no process left" no_leftover_processes

# a destination that prints every record back (Faros's dry run does): its
# records are news for the debug log only, and its states still commit
rm -rf "$STORE" "$OUT"
dest_config "{\"output\":\"$OUT\",\"echo_records\":true}"
source_config '{"streams":{"users":300},"state_every":100}'
run_repl
eq "an echoing destination: run exits 0" 0 "$rc"
eq "all 300 records delivered" 300 "$(records_out)"
eq "its last state committed" 300 "$(state_json '.state[0].stream.stream_state.cursor')"
eq "records committed" 300 "$(last_run .records_committed)"
eq "echoed records are not logged at info" 0 "$(grep -c '"stream": "dry_run"' "$T/run.log")"
rm -rf "$STORE" "$OUT"
run_repl --log-level debug
eq "echoed records, debug: run exits 0" 0 "$rc"
eq "each echoed record is logged at debug" 300 "$(grep -c 'DEBUG.*destination-connector: .*"stream": "dry_run"' "$T/run.log")"
dest_config "{\"output\":\"$OUT\",\"stdin_log\":\"$T/stdin.log\"}"

# a 30 MiB record passes; a line over --max-line-bytes fails with a message
rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":1},"big_record":31457280}'
run_repl
eq "a 30 MiB record line passes" 0 "$rc"
eq "both records delivered" 2 "$(records_out)"
check "the big record arrived whole" [ "$(head -n 1 "$OUT" | wc -c)" -gt 31457280 ]
rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":1},"big_record":100000}'
run_repl --max-line-bytes 65536
eq "a line over --max-line-bytes: exit 1" 1 "$rc"
check "the message names the connector and the limit" grep -q 'source-connector printed a line longer than the limit of 65536 bytes' "$T/run.log"
check "no process left" no_leftover_processes
done_testing
