# Day-to-day state operations: history of committed states, set (validated),
# reset (all or one stream), rollback; refused while a run holds the lock;
# run history.
. "$(dirname "$0")/lib.sh"
catalog users orders
dest_config "{\"output\":\"$OUT\"}"
# slow enough that no two states are coalesced into one write
source_config '{"streams":{"users":4,"orders":2},"sleep":0.1}'
run_repl
eq "run 1 exits 0" 0 "$rc"
st() { "$DRIVER" state "$@" --replication r --store-path "$STORE" --secrets-dir "$SECRETS"; }
cursors() { st | jq -c '[.state[] | [.stream.stream_descriptor.name, .stream.stream_state.cursor]]'; }

n_entries=$(st history --json | jq length)
eq "every committed state is journalled (2 users + 1 orders)" 3 "$n_entries"
eq "the last journal entry is the current state" "$(jq -c .state "$STORE/r/state.json")" \
	"$(st history --json | jq -c '.[-1].state')"
check "state history lists entries with run and streams" grep -qE "^$n_entries +[0-9T:.-]+Z +1 +STREAM +users,orders" <<<"$(st history)"

cat >"$T/new.json" <<'J'
[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":2}}}]
J
st set "$T/new.json" 2>"$T/e.log"
eq "state set exits 0" 0 $?
eq "the state is what was set" '[["users",2]]' "$(cursors)"
source_config '{"streams":{"users":4,"orders":2}}'
run_repl
eq "the next run resumes from the set state: users 3-4 and all orders" 4 "$(last_run .records_emitted)"

echo '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"ghost"},"stream_state":{"cursor":1}}}]' >"$T/bad.json"
st set "$T/bad.json" 2>"$T/e.log"
eq "state set for a stream outside the catalog: exit 2" 2 $?
check "the message names the stream" grep -q "stream 'ghost', which is not in the catalog" "$T/e.log"
echo '{"type":"STREAM"' >"$T/broken.json"
st set "$T/broken.json" 2>"$T/e.log"
eq "state set of broken JSON: exit 2" 2 $?
check "the message gives line and column" grep -q "line 2, column 0\|line 1, column" "$T/e.log"
eq "a refused set changes nothing" '[["users",4],["orders",2]]' "$(cursors)"

st reset --stream orders 2>/dev/null
eq "reset --stream drops one stream" '[["users",4]]' "$(cursors)"
st reset --stream nope 2>"$T/e.log"
eq "reset of a stream without state: exit 2" 2 $?
st reset 2>/dev/null
eq "reset drops everything" null "$(st | jq -c .state)"
run_repl
eq "after a reset the run starts from scratch" 6 "$(last_run .records_emitted)"

entries=$(st history --json | jq length)
set_entry=$(st history --json | jq '[.[].changed_by] | index("state set") + 1')
st rollback "$set_entry" 2>/dev/null
eq "rollback $set_entry restores the state that was set" '[["users",2]]' "$(cursors)"
eq "the rollback is journalled too" $((entries + 1)) "$(st history --json | jq length)"
st rollback 999 2>"$T/e.log"
eq "rollback to a missing entry: exit 2" 2 $?

# a state change while a run holds the lock is refused
source_config '{"streams":{"users":100000},"sleep":0.01}'
"$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>/dev/null &
pid=$!
sleep 1
before=$(cat "$STORE/r/state.json")
st reset 2>"$T/e.log"
eq "state reset during a run: exit 1" 1 $?
check "the message says the replication is running" grep -q "replication 'r' is running" "$T/e.log"
kill -TERM $pid
wait $pid

"$DRIVER" history --replication r --store-path "$STORE" >"$T/h.txt"
eq "history lists every run" 4 "$(grep -cE '^[0-9]+ ' "$T/h.txt")"
check "history shows outcomes" grep -qE '^4 .* stopped ' "$T/h.txt"
eq "history --json" '["succeeded","succeeded","succeeded","stopped"]' \
	"$("$DRIVER" history --replication r --store-path "$STORE" --json | jq -c '[.[].outcome]')"
"$DRIVER" history --replication nope --store-path "$STORE" 2>/dev/null
eq "history of an unknown replication: exit 2" 2 $?
done_testing
