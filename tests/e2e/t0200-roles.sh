# The two roles as separate processes sharing a pipes dir, as two containers
# would run them, started in either order.
. "$(dirname "$0")/lib.sh"
catalog users orders
source_config '{"streams":{"users":7,"orders":4},"state_every":3}'
dest_config "{\"output\":\"$OUT\"}"
P=$T/pipes

roles() { # first-role delay-seconds
	local first=$1 delay=$2 src dst
	if [ "$first" = destination ]; then
		"$DRIVER" --command destination --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" \
			--store-path "$STORE" --destination-entrypoint "$DST_EP" 2>"$T/dst.log" &
		dst=$!
		sleep "$delay"
		"$DRIVER" --command source --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" \
			--source-entrypoint "$SRC_EP" 2>"$T/src.log" &
		src=$!
	else
		AIRBYTE_ENTRYPOINT="$SRC_EP" "$DRIVER" source --replication r --pipes-dir "$P" \
			--secrets-dir "$SECRETS" 2>"$T/src.log" &
		src=$!
		sleep "$delay"
		AIRBYTE_ENTRYPOINT="$DST_EP" "$DRIVER" destination --replication r --pipes-dir "$P" \
			--secrets-dir "$SECRETS" --store-path "$STORE" 2>"$T/dst.log" &
		dst=$!
	fi
	wait $src
	src_rc=$?
	wait $dst
	dst_rc=$?
}

roles destination 0.3
eq "destination first: source exits 0" 0 "$src_rc"
eq "destination first: destination exits 0" 0 "$dst_rc"
eq "all 11 records delivered" 11 "$(records_out)"
check "pipes dir left clean (no FIFO, no socket)" dir_clean "$P"

rm -f "$OUT" "$STORE/r/state.json"
mkdir -p "$P" && mkfifo "$P/data.fifo" && python3 -c "import socket;s=socket.socket(socket.AF_UNIX);s.bind('$P/control.sock')"
roles source 1.0
eq "source first (stale FIFO and socket present): source exits 0" 0 "$src_rc"
eq "source first: destination exits 0" 0 "$dst_rc"
check "the source waited for the destination" grep -q 'waiting for the destination' "$T/src.log"
eq "all 11 records delivered again" 11 "$(records_out)"
eq "final state committed (users cursor 7)" 7 "$(state_json '.state[] | select(.stream.stream_descriptor.name=="users") | .stream.stream_state.cursor')"
eq "two runs recorded" 2 "$(wc -l <"$STORE/r/history.jsonl" | tr -d ' ')"
check "pipes dir left clean" dir_clean "$P"

# a second destination on the same pipes dir is refused while one runs
source_config '{"streams":{"users":3},"sleep":0.3}'
"$DRIVER" destination --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" --store-path "$STORE" \
	--destination-entrypoint "$DST_EP" 2>"$T/d1.log" &
d1=$!
sleep 0.3
"$DRIVER" destination --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" --store-path "$T/store2" \
	--destination-entrypoint "$DST_EP" 2>"$T/d2.log"
eq "a second destination on a busy pipes dir exits 2" 2 $?
check "and says another destination is listening" grep -q 'already listening' "$T/d2.log"
"$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>"$T/r2.log"
eq "a second run of the same replication (same store) exits 2" 2 $?
check "and says it is already running, naming the lock" grep -q "replication 'r' is already running (process [0-9]* holds '$STORE/r/lock')" "$T/r2.log"
"$DRIVER" source --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" --source-entrypoint "$SRC_EP" 2>/dev/null
eq "the first pair still completes" 0 $?
wait $d1

# the destination gives up when no source comes
"$DRIVER" destination --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" --store-path "$STORE" \
	--destination-entrypoint "$DST_EP" --connect-timeout 0.5 2>"$T/d3.log"
eq "destination without a source times out with exit 3" 3 $?
eq "the run record says timeout" timeout "$(last_run .outcome)"
"$DRIVER" source --replication r --pipes-dir "$T/nowhere" --secrets-dir "$SECRETS" \
	--source-entrypoint "$SRC_EP" --connect-timeout 0.5 2>"$T/s3.log"
eq "source without a destination times out with exit 3" 3 $?
check "and says what to do" grep -q 'start the destination role' "$T/s3.log"
check "no process left" no_leftover_processes
done_testing
