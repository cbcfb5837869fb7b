#!/usr/bin/env bash
# End-to-end tests of the benchmark connectors (source-e2e-test,
# destination-dev-null) with real processes, alone and through the driver.
# Builds nothing: run after `make`.  BIN_DIR (default <repo>/build/bin)
# locates the binaries.
# Prints "ok N - name" / "not ok N - name", then "N passed, N failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
BIN_DIR=$(cd "$BIN_DIR" 2>/dev/null && pwd) || { echo "no BIN_DIR '$BIN_DIR'" >&2; exit 2; }
SRC=$BIN_DIR/source-e2e-test
DST=$BIN_DIR/destination-dev-null
DRIVER=$BIN_DIR/airbyte-replication-driver
for f in "$SRC" "$DST" "$DRIVER"; do
	[ -x "$f" ] || { echo "missing $f (run make)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-connectors-e2e.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

PASS=0 FAIL=0 N=0
ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"
	[ -n "${2:-}" ] && printf '#   %s\n' "$2"
	return 0
}
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
jqe() { jq -e "$@" >/dev/null 2>&1; }
count_type() { grep -c "^{\"type\":\"$2\"" "$1"; }

# catalog NAME:MODE...: a configured catalog
catalog() {
	local s out='' sep=''
	for s in "$@"; do
		out="$out$sep{\"stream\":{\"name\":\"${s%%:*}\",\"json_schema\":{\"type\":\"object\"},\"supported_sync_modes\":[\"full_refresh\",\"incremental\"]},\"sync_mode\":\"${s#*:}\",\"destination_sync_mode\":\"append\"}"
		sep=,
	done
	echo "{\"streams\":[$out]}"
}
catalog stream_0:full_refresh stream_1:full_refresh >"$T/cat2.json"
catalog stream_0:incremental stream_1:full_refresh >"$T/cat-inc.json"
catalog stream_0:full_refresh >"$T/cat1.json"
echo '{}' >"$T/empty.json"
read_src() { "$SRC" read --config "$1" --catalog "$2" "${@:3}"; }

# ---- spec / check / discover ----
"$SRC" spec >"$T/o" 2>"$T/e"
check "source-e2e-test spec emits SPEC" \
	jqe -s 'length == 1 and .[0].type == "SPEC" and (.[0].spec.connectionSpecification.properties | has("record_size"))' "$T/o"
"$DST" spec >"$T/o" 2>"$T/e"
check "destination-dev-null spec emits SPEC" \
	jqe -s 'length == 1 and .[0].type == "SPEC" and (.[0].spec.connectionSpecification.properties | has("validate"))' "$T/o"
"$SRC" check --config "$T/empty.json" >"$T/o" 2>"$T/e"
check "source-e2e-test check succeeds on {}" \
	jqe -s '.[0].connectionStatus.status == "SUCCEEDED"' "$T/o"
echo '{"records":"many"}' >"$T/bad.json"
"$SRC" check --config "$T/bad.json" >"$T/o" 2>"$T/e"; rc=$?
check "source-e2e-test check reports FAILED for a bad config (exit 0)" \
	jqe -s --argjson rc $rc '$rc == 0 and .[0].connectionStatus.status == "FAILED" and (.[0].connectionStatus.message | test("records"))' "$T/o"
"$DST" check --config "$T/empty.json" >"$T/o" 2>"$T/e"
check "destination-dev-null check succeeds" jqe -s '.[0].connectionStatus.status == "SUCCEEDED"' "$T/o"
echo '{"streams":3}' >"$T/s3.json"
"$SRC" discover --config "$T/s3.json" >"$T/o" 2>"$T/e"
check "discover lists stream_0..stream_2 with an id cursor" \
	jqe -s '.[0].type == "CATALOG" and [.[0].catalog.streams[].name] == ["stream_0","stream_1","stream_2"] and
		all(.[0].catalog.streams[]; .source_defined_cursor and .default_cursor_field == ["id"])' "$T/o"

# ---- the generator ----
echo '{"streams":2,"records":1000,"state_every":300,"estimate":true}' >"$T/g.json"
read_src "$T/g.json" "$T/cat2.json" >"$T/g1" 2>"$T/e"; rc=$?
read_src "$T/g.json" "$T/cat2.json" >"$T/g2" 2>"$T/e"
check "read exits 0 and every line is an AirbyteMessage" \
	test $rc -eq 0 -a "$(jq -e -s 'all(.[]; type == "object" and has("type"))' "$T/g1" 2>/dev/null)" = true
check "two runs produce identical bytes" cmp -s "$T/g1" "$T/g2"
check "1000 records per stream, ids 1..1000 in order" \
	jqe -s '[.[] | select(.type == "RECORD") | .record] as $r |
		[$r[] | select(.stream == "stream_0") | .data.id] == [range(1; 1001)] and
		[$r[] | select(.stream == "stream_1") | .data.id] == [range(1; 1001)]' "$T/g1"
check "record shape: stream, data {id, payload}, fixed emitted_at" \
	jqe -s '[.[] | select(.type == "RECORD")][0].record |
		(keys == ["data","emitted_at","stream"]) and (.data | keys) == ["id","payload"] and .emitted_at == 1700000000000' "$T/g1"
check "every RECORD line is record_size (200) bytes" \
	test "$(grep '"type":"RECORD"' "$T/g1" | awk '{ print length($0) + 1 }' | sort -u)" = 200
check "states every 300 records plus a final one, cursor = last id" \
	jqe -s '[.[] | select(.type == "STATE") | .state | select(.type == "STREAM") |
		[.stream.stream_descriptor.name, .stream.stream_state.cursor]] ==
		[["stream_0",300],["stream_0",600],["stream_0",900],["stream_0",1000],
		 ["stream_1",300],["stream_1",600],["stream_1",900],["stream_1",1000]]' "$T/g1"
check "each STATE follows the record it names" \
	jqe -s '[range(1; length) as $i | select(.[$i].type == "STATE") |
		.[$i - 1].record.data.id == .[$i].state.stream.stream_state.cursor] | all' "$T/g1"
check "estimate: one TRACE ESTIMATE per stream before any record" \
	jqe -s '[.[0], .[1]] | all(.type == "TRACE" and .trace.type == "ESTIMATE" and .trace.estimate.row_estimate == 1000 and
		.trace.estimate.byte_estimate == 200000)' "$T/g1"
echo '{"records":100,"record_size":1000,"state_every":0}' >"$T/big.json"
read_src "$T/big.json" "$T/cat1.json" >"$T/o" 2>"$T/e"
check "record_size 1000: lines of 1000 bytes; state_every 0: one STATE at the end" \
	test "$(grep '"type":"RECORD"' "$T/o" | awk '{ print length($0) + 1 }' | sort -u)" = 1000 \
	-a "$(count_type "$T/o" STATE)" -eq 1 -a "$(tail -1 "$T/o" | jq .state.stream.stream_state.cursor)" = 100
echo '{"records":12000,"record_size":150}' >"$T/grow.json"
read_src "$T/grow.json" "$T/cat1.json" >"$T/o" 2>"$T/e"
check "line size stays exact as ids gain digits (1..12000)" \
	test "$(grep '"type":"RECORD"' "$T/o" | awk '{ print length($0) + 1 }' | sort -u)" = 150 \
	-a "$(count_type "$T/o" RECORD)" -eq 12000
read_src "$T/g.json" "$T/cat1.json" >"$T/o" 2>"$T/e"
check "only catalog streams are emitted" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.stream] | unique == ["stream_0"]' "$T/o"
catalog stream_0:full_refresh nope:full_refresh >"$T/cat-x.json"
read_src "$T/g.json" "$T/cat-x.json" >"$T/o" 2>"$T/e"
check "a catalog stream the source does not have: LOG WARN, skipped" \
	jqe -s 'any(.[]; .type == "LOG" and .log.level == "WARN" and (.log.message | test("nope")))' "$T/o"

# ---- incremental resume from a state file ----
jq -s -c '[.[] | select(.type == "STATE" and .state.stream.stream_state.cursor == 600) | .state]' "$T/g1" >"$T/state.json"
read_src "$T/g.json" "$T/cat-inc.json" --state "$T/state.json" >"$T/o" 2>"$T/e"
check "incremental stream resumes after the saved cursor; full refresh ignores it" \
	jqe -s '[.[] | select(.type == "RECORD") | .record] as $r |
		[$r[] | select(.stream == "stream_0") | .data.id] == [range(601; 1001)] and
		[$r[] | select(.stream == "stream_1") | .data.id] == [range(1; 1001)]' "$T/o"
check "resumed states continue from the cursor; estimate counts what is left" \
	jqe -s '[.[] | select(.type == "STATE" and .state.stream.stream_descriptor.name == "stream_0") |
		.state.stream.stream_state.cursor] == [900,1000] and
		(.[0].trace.estimate | .name == "stream_0" and .row_estimate == 400)' "$T/o"
echo '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"stream_0"},"stream_state":{"cursor":1000}}}]' >"$T/done.json"
read_src "$T/g.json" "$T/cat-inc.json" --state "$T/done.json" >"$T/o" 2>"$T/e"
check "a fully read stream emits no record and keeps its cursor" \
	jqe -s '([.[] | select(.type == "RECORD" and .record.stream == "stream_0")] | length) == 0 and
		([.[] | select(.type == "STATE" and .state.stream.stream_descriptor.name == "stream_0")][0].state.stream.stream_state.cursor == 1000)' "$T/o"

# ---- names and data templates ----
cat >"$T/faros.json" <<'EOF'
{"stream_names":["mytestsource__github__users"],"records":3,
 "data_template":{"login":"user{{id}}","name":"User {{id}}","type":"User","html_url":"https://github.com/user{{id}}"}}
EOF
catalog mytestsource__github__users:full_refresh >"$T/cat-f.json"
read_src "$T/faros.json" "$T/cat-f.json" >"$T/o" 2>"$T/e"
check "stream_names and an object data_template" \
	jqe -s '[.[] | select(.type == "RECORD") | .record | select(.stream == "mytestsource__github__users") | .data] ==
		[{login:"user1",name:"User 1",type:"User",html_url:"https://github.com/user1"},
		 {login:"user2",name:"User 2",type:"User",html_url:"https://github.com/user2"},
		 {login:"user3",name:"User 3",type:"User",html_url:"https://github.com/user3"}]' "$T/o"
echo '{"records":2,"data_template":"{\"n\":{{id}},\"s\":\"#{{id}}\"}"}' >"$T/tpl.json"
read_src "$T/tpl.json" "$T/cat1.json" >"$T/o" 2>"$T/e"
check "a text data_template may put the id in a number" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.data] == [{n:1,s:"#1"},{n:2,s:"#2"}]' "$T/o"
echo '{"data_template":"{\"n\":"}' >"$T/tplbad.json"
read_src "$T/tplbad.json" "$T/cat1.json" >"$T/o" 2>"$T/e"; rc=$?
check "an invalid data_template: exit 1 with TRACE ERROR" \
	jqe -s --argjson rc $rc '$rc == 1 and (last | .type == "TRACE" and (.trace.error.message | test("data_template")))' "$T/o"

# ---- faults ----
echo '{"streams":2,"records":100,"state_every":40,"fail_after":150,"trace_error":"boom at 150"}' >"$T/f1.json"
read_src "$T/f1.json" "$T/cat2.json" >"$T/o" 2>"$T/e"; rc=$?
check "fail_after 150 with trace_error: 150 records, then TRACE ERROR, exit 1" \
	jqe -s --argjson rc $rc '$rc == 1 and ([.[] | select(.type == "RECORD")] | length) == 150 and
		(last | .type == "TRACE" and .trace.type == "ERROR" and .trace.error.message == "boom at 150")' "$T/o"
echo '{"records":100,"state_every":40,"fail_after":50}' >"$T/f2.json"
read_src "$T/f2.json" "$T/cat1.json" >"$T/o" 2>"$T/e"; rc=$?
check "fail_after without trace_error: exit 1, no TRACE, a line on stderr" \
	test $rc -eq 1 -a "$(count_type "$T/o" RECORD)" -eq 50 -a "$(count_type "$T/o" TRACE)" -eq 0 -a -s "$T/e"
echo '{"records":100,"garbage_every":30}' >"$T/f3.json"
read_src "$T/f3.json" "$T/cat1.json" >"$T/o" 2>"$T/e"; rc=$?
check "garbage_every 30: 3 non-JSON lines among 100 records, exit 0" \
	test $rc -eq 0 -a "$(grep -c '^garbage line' "$T/o")" -eq 3 -a "$(count_type "$T/o" RECORD)" -eq 100
echo '{"records":100,"log_every":30,"garbage_every":50}' >"$T/f5.json"
read_src "$T/f5.json" "$T/cat1.json" >"$T/o" 2>"$T/e"; rc=$?
check "log_every 30: a LOG after records 30, 60 and 90, exit 0" \
	test $rc -eq 0 -a "$(grep -v '^garbage line' "$T/o" | jq -r 'select(.type == "LOG") | .log.level + " " + .log.message' | xargs)" = "INFO 30 records read INFO 60 records read INFO 90 records read" \
		-a "$(grep -c '^garbage line' "$T/o")" -eq 2 -a "$(count_type "$T/o" RECORD)" -eq 100
echo '{"records":5,"delay_ms":60}' >"$T/f4.json"
s=$(date +%s%N); read_src "$T/f4.json" "$T/cat1.json" >"$T/o" 2>"$T/e"; e=$(date +%s%N)
check "delay_ms 60 x 5 records takes at least 300 ms" test $(((e - s) / 1000000)) -ge 300
echo '{"records":1000000}' >"$T/many.json"
read_src "$T/many.json" "$T/cat1.json" 2>"$T/e" | head -c 10 >/dev/null
rc=${PIPESTATUS[0]}
check "closed stdout: the generator exits 141 quietly" test "$rc" -eq 141 -a ! -s "$T/e"

# ---- destination-dev-null ----
echo '{"validate":true}' >"$T/val.json"
"$DST" write --config "$T/empty.json" --catalog "$T/cat2.json" <"$T/g1" >"$T/o" 2>"$T/e"; rc=$?
grep '^{"type":"STATE"' "$T/g1" >"$T/want"
check "fast mode: exit 0, echoes exactly the STATE lines, unchanged and in order" \
	test $rc -eq 0 -a "$(cmp -s "$T/want" "$T/o" && echo y)" = y
"$DST" write --config "$T/val.json" --catalog "$T/cat2.json" <"$T/g1" >"$T/o" 2>"$T/e"; rc=$?
check "validate: counts per stream in a LOG at the end" \
	jqe -s --argjson rc $rc '$rc == 0 and (last | .type == "LOG" and
		(.log.message | ltrimstr("record counts: ") | fromjson) == {total:2000,invalid:0,streams:{stream_0:1000,stream_1:1000}})' "$T/o"
grep -v '"type":"LOG"' "$T/o" >"$T/got"
check "validate: STATE lines echoed unchanged" cmp -s "$T/want" "$T/got"
# other key orders, a nested "type":"STATE" in a record, a line without newline
{
	echo '{"type":"RECORD","record":{"stream":"s","data":{"type":"STATE"},"emitted_at":1}}'
	echo '{"state":{"type":"LEGACY","data":{"x":1}},"type":"STATE"}'
	echo '{"record":{"stream":"s","data":{}},"type":"RECORD"}'
	printf '%s' '{"type":"STATE","state":{"data":{"x":2}}}'
} >"$T/mixed"
"$DST" write --config "$T/empty.json" --catalog "$T/cat1.json" <"$T/mixed" >"$T/o" 2>"$T/e"; rc=$?
check "fast mode: STATE found in any key order, not inside a record; last line without newline" \
	test $rc -eq 0 -a "$(jq -c .state.data.x "$T/o" | tr '\n' ' ')" = "1 2 "
{ head -5 "$T/g1"; echo 'not json at all'; tail -3 "$T/g1"; } >"$T/bad"
"$DST" write --config "$T/val.json" --catalog "$T/cat2.json" <"$T/bad" >"$T/o" 2>"$T/e"; rc=$?
check "validate: an invalid line means TRACE ERROR naming it, exit 1" \
	jqe -s --argjson rc $rc '$rc == 1 and (last | .type == "TRACE" and (.trace.error.message | test("1 invalid line.*line 6")))' "$T/o"
"$DST" write --config "$T/empty.json" --catalog "$T/cat2.json" <"$T/bad" >"$T/o" 2>"$T/e"; rc=$?
check "fast mode does not look at invalid lines (exit 0)" test $rc -eq 0
echo '{"expect_records":2000}' >"$T/exp-ok.json"
echo '{"expect_records":1999}' >"$T/exp-bad.json"
"$DST" write --config "$T/exp-ok.json" --catalog "$T/cat2.json" <"$T/g1" >"$T/o" 2>"$T/e"; rc=$?
check "expect_records 2000 of 2000: exit 0" test $rc -eq 0
"$DST" write --config "$T/exp-bad.json" --catalog "$T/cat2.json" <"$T/g1" >"$T/o" 2>"$T/e"; rc=$?
check "expect_records 1999 of 2000: TRACE ERROR, exit 1" \
	jqe -s --argjson rc $rc '$rc == 1 and (last | .trace.error.message | test("expected 1999 records, received 2000"))' "$T/o"
jq -n --arg f "$T/stamps" '{stamp_file: $f}' >"$T/stamp.json"
"$DST" write --config "$T/stamp.json" --catalog "$T/cat2.json" <"$T/g1" >"$T/o" 2>"$T/e"
check "stamp_file: one '<ns> <state line>' per echoed STATE" \
	test "$(cut -d' ' -f2- "$T/stamps" | cmp -s - "$T/want" && echo y)" = y \
	-a "$(cut -d' ' -f1 "$T/stamps" | grep -cE '^1[0-9]{18}$')" -eq "$(wc -l <"$T/want")"
# a big input through a pipe, with states crossing read boundaries
echo '{"streams":2,"records":200000,"record_size":333,"state_every":777}' >"$T/p.json"
# the generator is deterministic: a second run gives the expected states
read_src "$T/p.json" "$T/cat2.json" 2>/dev/null | grep '^{"type":"STATE"' >"$T/want"
read_src "$T/p.json" "$T/cat2.json" 2>/dev/null |
	"$DST" write --config "$T/empty.json" --catalog "$T/cat2.json" >"$T/o" 2>"$T/e"
check "fast mode over 133 MB: every STATE echoed ($(wc -l <"$T/want"))" cmp -s "$T/want" "$T/o"
# reads keep the stream's page offsets (see write_fast): lines longer than the
# 1 MiB buffer grow it, and input that trickles in odd-sized pieces still
# gives every STATE once, whole and in order
python3 - "$T/long" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(12):
        pad = "y" * (3000000 if i % 4 == 1 else 1000 + 997 * i)
        f.write('{"type":"RECORD","record":{"stream":"s","data":{"p":"%s"},"emitted_at":1}}\n' % pad)
        f.write('{"type":"STATE","state":{"data":{"i":%d,"p":"%s"}}}\n' % (i, "z" * (2500000 if i % 4 == 0 else 10)))
PY
grep '^{"type":"STATE"' "$T/long" >"$T/want"
"$DST" write --config "$T/empty.json" --catalog "$T/cat1.json" <"$T/long" >"$T/o" 2>"$T/e"; rc=$?
check "fast mode: 3 MB lines (records and states) grow the buffer; all 12 STATEs echoed whole, in order" \
	test $rc -eq 0 -a "$(cmp -s "$T/want" "$T/o" && echo y)" = y
python3 -c '
import sys, time
data = open(sys.argv[1], "rb").read()
i, n = 0, 1
while i < len(data):
    sys.stdout.buffer.write(data[i:i + n]); sys.stdout.flush()
    i += n; n = n * 7 % 65521 + 1
    if n < 64: time.sleep(0.001)
' "$T/long" | "$DST" write --config "$T/empty.json" --catalog "$T/cat1.json" >"$T/o" 2>"$T/e"; rc=$?
check "fast mode: the same input in odd-sized pieces gives the same STATEs" \
	test $rc -eq 0 -a "$(cmp -s "$T/want" "$T/o" && echo y)" = y

# ---- through the driver ----
mkdir -p "$T/sec" "$T/store"
echo '{"streams":2,"records":5000,"state_every":1000}' >"$T/sec/source-file.json"
echo '{"expect_records":10000}' >"$T/sec/destination-file.json"
cp "$T/cat-inc.json" "$T/sec/catalog-file.json"
# run_driver: one `run` of replication b; sets rc
run_driver() {
	"$DRIVER" run --replication b --secrets-dir "$T/sec" --store-path "$T/store" \
		--source-entrypoint "$SRC" --destination-entrypoint "$DST" >"$T/drv.out" 2>"$T/drv.err"
	rc=$?
}
# last_run_is DESCRIPTION JQ: JQ (with $rc, the exit code) holds for the runs
# in history.jsonl
last_run_is() { check "$1" jqe -s --argjson rc "$rc" "$2" "$T/store/b/history.jsonl"; }
run_driver
check "driver run: exit 0" test $rc -eq 0
check "history.jsonl: succeeded, 5000 records emitted and committed per stream" \
	jqe -s 'last | .outcome == "succeeded" and .records_emitted == 10000 and .records_committed == 10000 and
		([.streams[] | [.name, .records_emitted, .records_committed]] == [["stream_0",5000,5000],["stream_1",5000,5000]])' \
	"$T/store/b/history.jsonl"
check "the destination's counts were logged by the driver" \
	grep -q 'record counts: {"total":10000,"invalid":0,"streams":{"stream_0":5000,"stream_1":5000}}' "$T/drv.err"
check "state.json holds cursor 5000 for both streams" \
	jqe '[.state[].stream.stream_state.cursor] == [5000,5000]' "$T/store/b/state.json"
# a state every 20 records: the destination echoes states faster than the
# driver reads the source's notes about them; every one must still find its
# note (it once read the echo first, warned, and lost the record counts)
rm -rf "$T/store"
echo '{"streams":1,"records":200000,"state_every":20}' >"$T/sec/source-file.json"
echo '{}' >"$T/sec/destination-file.json"
run_driver
last_run_is "10000 states in a run: exit 0, all 200000 records counted as committed" \
	'$rc == 0 and (last | .records_committed == 200000 and .state_commits == 10000)'
check "... and no state committed without its note" \
	test "$(grep -c 'did not send in this form' "$T/drv.err")" -eq 0
# a failure after a committed state, then an incremental resume
rm -rf "$T/store"
echo '{"streams":1,"records":5000,"state_every":1000,"fail_after":2500,"trace_error":"injected failure"}' >"$T/sec/source-file.json"
echo '{"validate":true}' >"$T/sec/destination-file.json"
catalog stream_0:incremental >"$T/sec/catalog-file.json"
run_driver
last_run_is "driver run with fail_after: exit 1, failure reason from the TRACE ERROR" \
	'$rc == 1 and (last | .outcome == "failed" and (.failure_reason | test("injected failure")))'
check "the last state before the failure (cursor 2000) is committed" \
	jqe '[.state[].stream.stream_state.cursor] == [2000]' "$T/store/b/state.json"
echo '{"streams":1,"records":5000,"state_every":1000}' >"$T/sec/source-file.json"
echo '{"expect_records":3000}' >"$T/sec/destination-file.json"
run_driver
last_run_is "the next run resumes from cursor 2000: 3000 records, exit 0" \
	'$rc == 0 and (last | .outcome == "succeeded" and .records_committed == 3000)'
check "state.json ends at cursor 5000" jqe '[.state[].stream.stream_state.cursor] == [5000]' "$T/store/b/state.json"
echo '{"records":100,"garbage_every":10}' >"$T/sec/source-file.json"
echo '{"expect_records":100}' >"$T/sec/destination-file.json"
catalog stream_0:full_refresh >"$T/sec/catalog-file.json"
run_driver
last_run_is "garbage lines are dropped by the driver (the destination sees 100 valid records)" \
	'$rc == 0 and (last | .outcome == "succeeded" and .invalid_lines == 10 and .records_committed == 100)'

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
