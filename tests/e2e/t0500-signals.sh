# SIGTERM and SIGINT mid-stream: forwarded to the connectors, clean stop,
# exit 128+N, committed state kept, nothing left behind.
. "$(dirname "$0")/lib.sh"
catalog users
dest_config "{\"output\":\"$OUT\"}"
source_config '{"streams":{"users":100000},"state_every":5,"sleep":0.01}'

for sig in TERM INT; do
	rm -rf "$STORE" "$OUT"
	"$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
		--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>"$T/run.log" &
	pid=$!
	for i in $(seq 100); do [ -f "$STORE/r/state.json" ] && break; sleep 0.05; done
	sleep 0.3
	start=$(date +%s%N)
	kill -$sig $pid
	wait $pid
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	num=$(kill -l $sig)
	eq "SIG$sig to run: exit $((128 + num))" $((128 + num)) "$rc"
	check "stopped within 2 s (took $ms ms)" [ "$ms" -lt 2000 ]
	check "the stored state is valid JSON with a cursor" jq_true '.state[0].stream.stream_state.cursor > 0' "$STORE/r/state.json"
	cursor=$(state_json '.state[0].stream.stream_state.cursor')
	check "the committed cursor ($cursor) is covered by the output ($(records_out) records)" [ "$cursor" -le "$(records_out)" ]
	eq "the run record says stopped" stopped "$(last_run .outcome)"
	check "no process left" no_leftover_processes
	check "no private pipes dir or temp file left" no_private_dirs
done

# SIGTERM to the destination role alone: it forwards, then tells the source
rm -rf "$STORE" "$OUT"
P=$T/pipes
"$DRIVER" destination --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" --store-path "$STORE" \
	--destination-entrypoint "$DST_EP" 2>"$T/dst.log" &
dst=$!
"$DRIVER" source --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" --source-entrypoint "$SRC_EP" 2>"$T/src.log" &
src=$!
sleep 1.5
kill -TERM $dst
wait $dst
eq "SIGTERM to the destination role: exit 143" 143 $?
wait $src
eq "the source role follows with the same outcome" 143 $?
check "pipes dir clean" dir_clean "$P"
check "no process left" no_leftover_processes
done_testing
