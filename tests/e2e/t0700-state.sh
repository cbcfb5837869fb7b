# State: STREAM, GLOBAL and LEGACY states merged and committed as the
# destination emits them; the next run resumes from them; streams that
# sent nothing keep their state; only destination-emitted states count.
. "$(dirname "$0")/lib.sh"
catalog users orders
dest_config "{\"output\":\"$OUT\"}"

# STREAM: per-stream states, latest wins
source_config '{"streams":{"users":5,"orders":3},"state_type":"STREAM"}'
run_repl
eq "STREAM run 1 exits 0" 0 "$rc"
eq "STREAM: one entry per stream with the latest cursor" '[["users",5],["orders",3]]' \
	"$(state_json '[.state[] | [.stream.stream_descriptor.name, .stream.stream_state.cursor]]')"
eq "state.json says STREAM" STREAM "$(state_json .type)"
source_config '{"streams":{"users":8,"orders":3},"state_type":"STREAM"}'
run_repl
eq "incremental run 2 exits 0" 0 "$rc"
eq "run 2 read only the 3 new users" 3 "$(last_run .records_emitted)"
eq "11 records in the destination after both runs (8 + 3)" 11 "$(records_out)"
eq "orders sent no new state and kept cursor 3; users moved to 8" '[["users",8],["orders",3]]' \
	"$(state_json '[.state[] | [.stream.stream_descriptor.name, .stream.stream_state.cursor]]')"
check "the source got the state on its command line" grep -q 'input state cursors {"users": 5, "orders": 3}' "$T/run.log"

# GLOBAL: shared state replaced, per-stream states merged
rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":4,"orders":2},"state_type":"GLOBAL"}'
run_repl
eq "GLOBAL run exits 0" 0 "$rc"
eq "state.json says GLOBAL" GLOBAL "$(state_json .type)"
eq "one GLOBAL message holding both streams" '[1,"GLOBAL",6,[["orders",2],["users",4]]]' \
	"$(state_json '[(.state|length), .state[0].type, .state[0].global.shared_state.position, ([.state[0].global.stream_states[] | [.stream_descriptor.name, .stream_state.cursor]] | sort)]')"
source_config '{"streams":{"users":6,"orders":2},"state_type":"GLOBAL"}'
run_repl
eq "GLOBAL run 2 resumes: 2 new records" 2 "$(last_run .records_emitted)"
eq "GLOBAL run 2 state" '[8,[["orders",2],["users",6]]]' \
	"$(state_json '[.state[0].global.shared_state.position, ([.state[0].global.stream_states[] | [.stream_descriptor.name, .stream_state.cursor]] | sort)]')"

# LEGACY (and untyped): the data blob
rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":3,"orders":1},"state_type":"LEGACY"}'
run_repl
eq "LEGACY run exits 0" 0 "$rc"
eq "state.json says LEGACY" LEGACY "$(state_json .type)"
eq "the data blob is stored as is" '{"users":{"cursor":3},"orders":{"cursor":1}}' "$(state_json .state)"
source_config '{"streams":{"users":5,"orders":1},"state_type":"LEGACY"}'
run_repl
eq "LEGACY run 2 resumes" 2 "$(last_run .records_emitted)"

# only states the destination emits are committed
rm -rf "$STORE" "$OUT"
source_config '{"streams":{"users":5}}'
DST_EP="sh -c 'cat >/dev/null'"
run_repl
eq "a destination that emits no state: run exits 0" 0 "$rc"
check "no state is stored from the source's STATE messages" [ ! -f "$STORE/r/state.json" ]
eq "nothing committed" 0 "$(last_run .records_committed)"

# a destination that emits a state for a stream outside the catalog
rm -rf "$STORE"
cat >"$T/bad_dest.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"ghost"},"stream_state":{"cursor":1}}}}'
echo '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":null}}}'
echo '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":42}}}}'
SH
chmod +x "$T/bad_dest.sh"
DST_EP=$T/bad_dest.sh
run_repl
eq "unknown-stream and empty states are not committed; the valid one is" '[["users",42]]' \
	"$(state_json '[.state[] | [.stream.stream_descriptor.name, .stream.stream_state.cursor]]')"
check "the unknown stream is reported" grep -q "state for stream 'ghost', which is not in the catalog" "$T/run.log"

# the seed's state command
eq "state prints the stored document" 42 \
	"$("$DRIVER" --command state --replication r --store-path "$STORE" | jq '.state[0].stream.stream_state.cursor')"
"$DRIVER" state --replication nope --store-path "$STORE" 2>"$T/e.log"
eq "state of an unknown replication: exit 2" 2 $?
check "and the message says so" grep -q "no replication 'nope'" "$T/e.log"

# a corrupt state file is reported and never overwritten
printf '{"state": [1, 2' >"$STORE/r/state.json"
cp "$STORE/r/state.json" "$T/corrupt.copy"
"$DRIVER" state --replication r --store-path "$STORE" 2>"$T/e.log"
eq "state of a corrupt file: exit 1" 1 $?
check "the message gives the file and the position" grep -q "state.json' is unreadable: .*line 1" "$T/e.log"
DST_EP="python3 $FAKE/fake_destination.py"
run_repl
eq "a run on a corrupt state file refuses with exit 2" 2 "$rc"
check "the corrupt file is left untouched" cmp -s "$T/corrupt.copy" "$STORE/r/state.json"

# readers of state.json during a run see whole states, however long they
# keep the file open (the driver reuses a superseded state's file for the
# next commit only while nobody has it open)
rm -rf "$STORE"
catalog stream_0
source_config '{"records":3000000,"record_size":200,"state_every":500}'
dest_config '{}'
# the reader is up before the run starts: a reader that came late to a
# fast run would see too few states to show anything
python3 - "$STORE/r/state.json" "$T/reads" "$T/reader-ready" <<'PY' &
import json, random, sys, time
path, out = sys.argv[1], sys.argv[2]
open(sys.argv[3], "w").close()
reads = bad = 0
last = -1
end = time.time() + 60
while time.time() < end:
    try:
        f = open(path, "rb")
    except FileNotFoundError:  # before the first commit
        time.sleep(0.001); continue
    time.sleep(random.random() * 0.004)  # hold it open across commits
    data = f.read(); f.close()
    try:
        cursor = json.loads(data)["state"][0]["stream"]["stream_state"]["cursor"]
    except Exception:
        bad += 1; continue
    reads += 1
    if cursor < last: bad += 1
    last = cursor
    if cursor == 3000000: break
open(out, "w").write("%d %d %d\n" % (reads, bad, last))
PY
reader=$!
while [ ! -e "$T/reader-ready" ] && kill -0 "$reader" 2>/dev/null; do sleep 0.01; done
SRC_EP=$BIN/source-e2e-test DST_EP=$BIN/destination-dev-null run_repl
wait "$reader"
read -r reads bad last <"$T/reads"
eq "a run committing states while a reader holds state.json open exits 0" 0 "$rc"
check "the reader read many states during the run ($reads)" [ "$reads" -ge 10 ]
eq "every read was one whole state, never older than the one before" 0 "$bad"
eq "the last read is the final state" 3000000 "$last"
check "no temp file left" dir_clean "$STORE"
check "no process left" no_leftover_processes
done_testing
