# The seed's quick start (hello-airbyte-file-to-csv) through our C
# connectors with the seed's config files, twice.
. "$(dirname "$0")/lib.sh"
seed=$TOP/../shared/seed-examples/e2e/hello-airbyte-file-to-csv/docker
if [ -d "$seed" ]; then
	check "examples/ carries the seed's files unchanged" \
		diff -r "$seed" "$TOP/examples/hello-airbyte-file-to-csv"
fi
DEMO_DIR=$T/demo "$TOP/examples/quickstart.sh" >"$T/demo.out" 2>&1
eq "make demo exits 0" 0 $?
check "prints the seed's success line" grep -q '^Replication successful' "$T/demo.out"
eq "output has as many lines as input.csv" "$(wc -l <"$TOP/examples/hello-airbyte-file-to-csv/local/input.csv")" \
	"$(wc -l <"$T/demo/local/_airbyte_raw_test.csv")"
check "the second run received the stored state" grep -q 'input state: STREAM' "$T/demo.out"
check "a human summary names the stream and counts" grep -qE 'stream test +19 records read, +19 committed' "$T/demo.out"
eq "the seed's state command shows the stream's state" '"test"' \
	"$("$DRIVER" --command state --replication hello-airbyte-file-to-csv --store-path "$T/demo/tmp" | jq -c '.state[0].stream.stream_descriptor.name')"
eq "two runs in the history, both succeeded" "succeeded succeeded" \
	"$(jq -r .outcome "$T/demo/tmp/hello-airbyte-file-to-csv/history.jsonl" | xargs)"
header=$(head -n 1 "$T/demo/local/_airbyte_raw_test.csv")
eq "destination-csv writes Airbyte's raw columns (tab-delimited per the seed config)" \
	"$(printf '_airbyte_ab_id\t_airbyte_emitted_at\t_airbyte_data')" "$header"
check "nothing left in the demo's pipes" no_leftover_processes
done_testing
