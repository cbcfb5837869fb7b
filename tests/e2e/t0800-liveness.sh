# Liveness: a silent source hits the heartbeat timeout (exit 3); a driver
# killed with SIGKILL is seen by its peer at once, which stops its connector
# and fails the run; committed state survives.
. "$(dirname "$0")/lib.sh"
catalog users
dest_config "{\"output\":\"$OUT\"}"

source_config '{"streams":{"users":100},"state_every":2,"hang_after":5}'
start=$(date +%s)
run_repl --heartbeat-timeout 1
eq "a source silent for longer than the heartbeat timeout: exit 3" 3 "$rc"
check "stopped soon after the timeout" [ $(($(date +%s) - start)) -lt 10 ]
eq "the run record says timeout" timeout "$(last_run .outcome)"
check "the reason names the heartbeat" grep -q 'heartbeat timeout' <<<"$(last_run .failure_reason)"
eq "states before the silence are kept (cursor 4)" 4 "$(state_json '.state[0].stream.stream_state.cursor')"
check "the hanging connector was stopped" no_leftover_processes

P=$T/pipes
source_config '{"streams":{"users":100000},"state_every":5,"sleep":0.01}'
start_pair() {
	rm -f "$OUT"
	"$DRIVER" destination --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" --store-path "$STORE" \
		--destination-entrypoint "$DST_EP" 2>"$T/dst.log" &
	dst=$!
	"$DRIVER" source --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" \
		--source-entrypoint "$SRC_EP" 2>"$T/src.log" &
	src=$!
	sleep 1.5
}

start_pair
before=$(state_json '.state[0].stream.stream_state.cursor')
kill -KILL $dst
wait $src
eq "destination driver killed: the source exits 1" 1 $?
check "the source says the destination went away" grep -q 'destination driver disconnected' "$T/src.log"
check "connectors stopped (parent death kills them)" no_leftover_processes
check "the committed state is still valid" jq_true '.state[0].stream.stream_state.cursor >= 5' "$STORE/r/state.json"

start_pair
kill -KILL $src
wait $dst
eq "source driver killed: the destination exits 1" 1 $?
eq "the run record says failed" failed "$(last_run .outcome)"
eq "and why" "the source driver disconnected before it finished" "$(last_run .failure_reason)"
cursor=$(state_json '.state[0].stream.stream_state.cursor')
check "what the destination received was still committed (cursor $cursor)" [ "$cursor" -ge 5 ]
check "no process left" no_leftover_processes
check "pipes dir clean" dir_clean "$P"
done_testing
