# Liveness: a silent source hits the heartbeat timeout (exit 3); a driver
# killed with SIGKILL is seen by its peer at once, which stops its connector
# and fails the run; committed state survives.
. "$(dirname "$0")/lib.sh"
catalog users
dest_config "{\"output\":\"$OUT\"}"

# a shell source (starts fast even on a loaded machine) that goes silent
cat >"$T/silent.sh" <<'SH'
#!/bin/sh
[ "$1" = spec ] && exit 0
for i in 1 2 3 4 5; do
	echo '{"type":"RECORD","record":{"stream":"users","data":{"id":'$i'},"emitted_at":0}}'
	[ $((i % 2)) = 0 ] && echo '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":'$i'}}}}'
done
exec sleep 3600
SH
chmod +x "$T/silent.sh"
source_config "{}"
SRC_EP=$T/silent.sh
start=$(date +%s)
run_repl --heartbeat-timeout 2
SRC_EP="python3 $FAKE/fake_source.py"
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
	# until some states are committed (slow machines start Python slowly)
	for i in $(seq 300); do
		[ "$(jq '.state[0].stream.stream_state.cursor' "$STORE/r/state.json" 2>/dev/null || echo 0)" -ge 5 ] && break
		sleep 0.05
	done
	before=$(state_json '.state[0].stream.stream_state.cursor')
}

rm -rf "$STORE"
start_pair
kill -KILL $dst
wait $src
eq "destination driver killed: the source exits 1" 1 $?
check "the source says the destination went away" grep -q 'destination driver disconnected' "$T/src.log"
check "connectors stopped (parent death kills them)" no_leftover_processes
check "the committed state is still valid and not older ($before)" jq_true ".state[0].stream.stream_state.cursor >= $before" "$STORE/r/state.json"

rm -rf "$STORE"
start_pair
kill -KILL $src
wait $dst
eq "source driver killed: the destination exits 1" 1 $?
eq "the run record says failed" failed "$(last_run .outcome)"
eq "and why" "the source driver disconnected before it finished" "$(last_run .failure_reason)"
cursor=$(state_json '.state[0].stream.stream_state.cursor')
check "what the destination received was still committed (cursor $cursor >= $before)" [ "$cursor" -ge "$before" ]
check "no process left" no_leftover_processes
check "pipes dir clean" dir_clean "$P"
done_testing
