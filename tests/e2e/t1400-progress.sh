# Live progress: `progress` from another terminal while a run works (per
# stream records, rates, status, a bar and an ETA from ESTIMATE traces),
# --json and --watch; `run` on a terminal shows a live line.
. "$(dirname "$0")/lib.sh"
catalog users orders
dest_config "{\"output\":\"$OUT\"}"
source_config '{"streams":{"users":1000,"orders":5},"estimate":true,"sleep":0.01,"state_every":20}'
run_repl_bg() {
	"$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
		--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>"$T/run.log" &
	pid=$!
}
run_repl_bg
# wait until the run is well under way (slow machines start Python slowly)
for i in $(seq 200); do
	[ "$(jq '.streams[0].records_emitted' "$STORE/r/stats.json" 2>/dev/null || echo 0)" -gt 20 ] && break
	sleep 0.05
done
sleep 1.1
P() { "$DRIVER" progress --replication r --store-path "$STORE" "$@"; }
P --json >"$T/p.json"
eq "progress --json during the run says live" true "$(jq .live "$T/p.json")"
eq "status running" running "$(jq -r .status "$T/p.json")"
users=$(jq '.streams[] | select(.name=="users")' "$T/p.json")
check "users: records counted ($(jq .records_emitted <<<"$users"))" jq_true '.records_emitted > 10 and .records_emitted < 1000' <(echo "$users")
check "users: a rate in records/s" jq_true '.records_per_second > 0' <(echo "$users")
check "users: progress from the ESTIMATE" jq_true '.progress > 0 and .progress < 1' <(echo "$users")
check "users: an ETA" jq_true '.eta_seconds > 0' <(echo "$users")
eq "users: stream status from STREAM_STATUS traces" RUNNING "$(jq -r .status <<<"$users")"
P >"$T/p.txt"
check "the human view has a progress bar and an ETA" grep -qE 'users .*\[#+\.*\] +[0-9]+% ETA [0-9]+ s  RUNNING' "$T/p.txt"
timeout 90 "$DRIVER" progress --replication r --store-path "$STORE" --watch --json >"$T/watch.jsonl"
eq "--watch follows until the run ends" 0 $?
check "--watch printed several samples" [ "$(wc -l <"$T/watch.jsonl")" -ge 2 ]
eq "the last sample is the final one" succeeded "$(tail -n 1 "$T/watch.jsonl" | jq -r .status)"
wait $pid
P >"$T/p.txt"
check "after the run: succeeded, not running" grep -q 'succeeded' "$T/p.txt"
check "and says so" grep -q '(not running)' "$T/p.txt"
eq "users COMPLETE at the end" COMPLETE "$(jq -r '.streams[] | select(.name=="users") | .status' "$STORE/r/stats.json")"

# an interrupted run (destination killed) is not shown as running
"$DRIVER" progress --replication nope --store-path "$STORE" 2>/dev/null
eq "progress of an unknown replication: exit 2" 2 $?

# run on a terminal: a live line, rewritten in place
if command -v script >/dev/null; then
	rm -rf "$OUT" "$STORE"
	source_config '{"streams":{"users":250},"sleep":0.01}'
	script -qec "$DRIVER run --replication r --secrets-dir $SECRETS --store-path $STORE --source-entrypoint '$SRC_EP' --destination-entrypoint '$DST_EP'" /dev/null >"$T/tty.out"
	check "run on a terminal rewrites a live progress line" grep -qa "r, run [0-9]*: running for" "$T/tty.out"
fi
done_testing
