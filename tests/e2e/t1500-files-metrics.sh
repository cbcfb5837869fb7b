# A replication described in one YAML (or JSON) file; `list`; Prometheus
# metrics as a textfile in the store and on --metrics-addr while running.
. "$(dirname "$0")/lib.sh"
catalog users orders
mkdir -p "$T/conf"
cp "$SECRETS/catalog-file.json" "$T/conf/catalog.json"
cat >"$T/conf/sync.yaml" <<Y
# a replication file
name: yaml-sync
source:
  entrypoint: python3 $FAKE/fake_source.py
  config:
    streams: {users: 6, orders: 2}
    state_every: 3
destination:
  entrypoint: "python3 '$FAKE/fake_destination.py'"
  config:
    output: $OUT
catalog_file: catalog.json
schedule: "*/5 * * * *"
Y
"$DRIVER" run --file "$T/conf/sync.yaml" --store-path "$STORE" 2>"$T/run.log"
eq "run --file exits 0" 0 $?
eq "all records arrived" 8 "$(records_out)"
eq "the name comes from the file" 6 "$("$DRIVER" state --replication yaml-sync --store-path "$STORE" | jq '.state[0].stream.stream_state.cursor')"
check "the materialised configs are removed afterwards" no_private_dirs

echo '{"name": "json-sync", "source": {"entrypoint": "python3 '"$FAKE"'/fake_source.py", "config": {"streams": {"users": 2}}}, "destination": {"entrypoint": "python3 '"$FAKE"'/fake_destination.py", "config": {}}, "catalog_file": "catalog.json"}' >"$T/conf/sync.json"
"$DRIVER" run --file "$T/conf/sync.json" --store-path "$STORE" 2>"$T/run.log"
eq "a JSON replication file works too" 0 $?

printf 'name: bad\nsource: {entrypoint: x, config: {}}\ndestination: {entrypoint: y}\ncatalog: {streams: []}\n' >"$T/conf/bad.yaml"
"$DRIVER" run --file "$T/conf/bad.yaml" --store-path "$STORE" 2>"$T/e.log"
eq "a replication file without a destination config: exit 2" 2 $?
check "the message says what is missing" grep -q 'destination: needs "config"' "$T/e.log"
printf 'name: [unclosed\n' >"$T/conf/broken.yaml"
"$DRIVER" run --file "$T/conf/broken.yaml" --store-path "$STORE" 2>"$T/e.log"
eq "broken YAML: exit 2" 2 $?
check "the message gives line and column" grep -qE 'line [0-9]+, column [0-9]+' "$T/e.log"

"$DRIVER" list --store-path "$STORE" >"$T/list.txt"
check "list shows both replications" grep -qE '^json-sync +STREAM +1 +succeeded' "$T/list.txt"
check "list shows the YAML one" grep -qE '^yaml-sync +STREAM +1 +succeeded' "$T/list.txt"
eq "list --json" '["json-sync","yaml-sync"]' "$("$DRIVER" list --store-path "$STORE" --json | jq -c '[.[].replication]')"

# metrics: a textfile in the store, valid Prometheus text
prom=$STORE/yaml-sync/metrics.prom
check "a metrics textfile is in the store" [ -s "$prom" ]
check "it counts committed records per stream" grep -q 'airbyte_replication_records_committed_total{replication="yaml-sync",stream="users"} 6' "$prom"
check "it has the run outcome" grep -q 'airbyte_replication_last_run_success{replication="yaml-sync"} 1' "$prom"
check "it has connector CPU time" grep -q 'airbyte_replication_connector_cpu_seconds_total{replication="yaml-sync",connector="source"}' "$prom"
if command -v promtool >/dev/null; then
	check "promtool accepts the textfile" promtool check metrics <"$prom"
fi

# /metrics while running
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
source_config '{"streams":{"users":100000},"sleep":0.01}'
dest_config "{\"output\":\"$OUT\"}"
"$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" --metrics-addr "127.0.0.1:$port" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>"$T/run.log" &
pid=$!
for i in $(seq 100); do curl -sf "http://127.0.0.1:$port/metrics" >"$T/m.txt" 2>/dev/null && grep -q 'records_emitted_total{replication="r",stream="users"} [1-9]' "$T/m.txt" && break; sleep 0.1; done
check "/metrics answers while running with live counts" grep -q 'airbyte_replication_records_emitted_total{replication="r",stream="users"} [1-9]' "$T/m.txt"
check "and says it is running" grep -q 'airbyte_replication_run_running{replication="r"} 1' "$T/m.txt"
if command -v promtool >/dev/null; then
	check "promtool accepts /metrics" promtool check metrics <"$T/m.txt"
fi
eq "other paths are 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")"
kill -TERM $pid
wait $pid
"$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" --metrics-addr "nonsense" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>"$T/e.log"
eq "a bad --metrics-addr: exit 2" 2 $?
check "with a message" grep -q "cannot serve metrics on 'nonsense'" "$T/e.log"
check "no process left" no_leftover_processes
done_testing
