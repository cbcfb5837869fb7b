#!/usr/bin/env bash
# End-to-end tests of the example connectors (source-file, destination-csv)
# with real processes.  Builds nothing: run after `make connectors`.
# BIN_DIR (default <repo>/build/bin) locates the binaries, SEED_DIR the
# seed's hello-airbyte-file-to-csv/docker directory.
# Prints "ok N - name" / "not ok N - name", then "N passed, N failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
BIN_DIR=$(cd "$BIN_DIR" 2>/dev/null && pwd) || { echo "no BIN_DIR '$BIN_DIR'" >&2; exit 2; }
SRC=$BIN_DIR/source-file
DST=$BIN_DIR/destination-csv
SEED=${SEED_DIR:-/work/shared/seed-examples/e2e/hello-airbyte-file-to-csv/docker}
for f in "$SRC" "$DST"; do
	[ -x "$f" ] || { echo "missing $f (run make connectors)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/connectors-e2e.XXXXXX") || exit 2
BGPID=
cleanup() {
	[ -n "$BGPID" ] && kill "$BGPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASS=0 FAIL=0 N=0
ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"
	[ -n "${2:-}" ] && printf '#   %s\n' "$2"
	return 0
}
# check NAME COMMAND...: the command's status decides.
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
# jq -e as a predicate, quietly
jqe() { jq -e "$@" >/dev/null 2>&1; }
# every line of $1 is a JSON object with a type
all_json() { jq -e -s 'length > 0 and all(.[]; type == "object" and has("type"))' "$1" >/dev/null 2>&1; }
count_type() { jq -c "select(.type == \"$2\")" "$1" | wc -l; }

# The seed's files, unchanged; /local is remapped into the temp dir.
mkdir -p "$T/root/local"
cp "$SEED/local/input.csv" "$T/root/local/input.csv"
SECRETS=$SEED/secrets
export SOURCE_FILE_ROOT=$T/root DESTINATION_CSV_ROOT=$T/root
SCFG=$SECRETS/source-file.json DCFG=$SECRETS/destination-file.json CAT=$SECRETS/catalog-file.json
RAW=$T/root/local/_airbyte_raw_test.csv

# ---- spec / check / discover ----
"$SRC" spec >"$T/o" 2>"$T/e"
check "source-file spec emits SPEC" \
	jqe -s 'length == 1 and .[0].type == "SPEC" and (.[0].spec.connectionSpecification.properties | has("url"))' "$T/o"
"$DST" spec >"$T/o" 2>"$T/e"
check "destination-csv spec emits SPEC" \
	jqe -s 'length == 1 and .[0].type == "SPEC" and (.[0].spec.supported_destination_sync_modes | index("append"))' "$T/o"
"$SRC" check --config "$SCFG" >"$T/o" 2>"$T/e"
check "source-file check succeeds on the seed config" \
	jqe -s '.[0].type == "CONNECTION_STATUS" and .[0].connectionStatus.status == "SUCCEEDED"' "$T/o"
jq '.url = "file:///local/nope.csv"' "$SCFG" >"$T/missing.json"
"$SRC" check --config "$T/missing.json" >"$T/o" 2>"$T/e"; rc=$?
check "source-file check reports FAILED for a missing file (exit 0)" \
	jqe -s --argjson rc $rc '$rc == 0 and .[0].connectionStatus.status == "FAILED" and (.[0].connectionStatus.message | test("nope.csv"))' "$T/o"
"$DST" check --config "$DCFG" >"$T/o" 2>"$T/e"
check "destination-csv check succeeds on the seed config" \
	jqe -s '.[0].type == "CONNECTION_STATUS" and .[0].connectionStatus.status == "SUCCEEDED"' "$T/o"
"$SRC" discover --config "$SCFG" >"$T/o" 2>"$T/e"
check "source-file discover: stream test, 4 nullable string columns" \
	jqe -s '.[0].type == "CATALOG" and (.[0].catalog.streams | length) == 1 and
		.[0].catalog.streams[0].name == "test" and
		(.[0].catalog.streams[0].json_schema.properties | keys) == ["modified","name","size","type"] and
		all(.[0].catalog.streams[0].json_schema.properties[]; .type == ["string","null"]) and
		(.[0].catalog.streams[0].supported_sync_modes | index("incremental"))' "$T/o"

printf 'id,price,ok,label,empty\n1,2.5,true,a,\n2,3,false,b,\n-7,1e3,TRUE,c,\n' >"$T/root/typed.csv"
jq '.url = "/typed.csv" | .dataset_name = "typed"' "$SCFG" >"$T/typed.json"
"$SRC" discover --config "$T/typed.json" >"$T/o" 2>"$T/e"
check "discover infers integer, number, boolean, string" \
	jqe -s '.[0].catalog.streams[0].json_schema.properties |
		.id.type == ["integer","null"] and .price.type == ["number","null"] and
		.ok.type == ["boolean","null"] and .label.type == ["string","null"] and
		.empty.type == ["string","null"]' "$T/o"
jq '{streams: [{stream: .catalog.streams[0], sync_mode: "full_refresh", destination_sync_mode: "append"}]}' \
	"$T/o" >"$T/typed-cat.json"
"$SRC" read --config "$T/typed.json" --catalog "$T/typed-cat.json" >"$T/o" 2>"$T/e"
check "read converts values by the catalog's json_schema" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.data] ==
		[{id:1,price:2.5,ok:true,label:"a",empty:""},{id:2,price:3,ok:false,label:"b",empty:""},
		 {id:-7,price:1e3,ok:true,label:"c",empty:""}]' "$T/o"

# ---- read the seed ----
"$SRC" read --config "$SCFG" --catalog "$CAT" >"$T/read.out" 2>"$T/e"; rc=$?
check "source-file read of the seed exits 0 with valid JSON lines" \
	test $rc -eq 0 -a "$(all_json "$T/read.out" && echo y)" = y
check "source-file read emits 19 records" test "$(count_type "$T/read.out" RECORD)" -eq 19
check "source-file read ends with one STATE for stream test" \
	jqe -s '[.[] | select(.type == "STATE")] | length == 1 and .[0].state.type == "STREAM" and
		.[0].state.stream.stream_descriptor.name == "test"' "$T/read.out"
check "records carry the row as strings" \
	jqe -s '[.[] | select(.type == "RECORD")][0].record | .stream == "test" and (.emitted_at | type) == "number" and
		.data == {name:"mkdocs.yml",type:"file",size:"74 B",modified:"2022-07-17 14:04:24.750 -05:00"}' "$T/read.out"

# ---- source | destination with the seed's configs ----
"$SRC" read --config "$SCFG" --catalog "$CAT" 2>"$T/e1" |
	"$DST" write --config "$DCFG" --catalog "$CAT" >"$T/w.out" 2>"$T/e2"
rc=$?
check "source-file | destination-csv exits 0" test $rc -eq 0
check "_airbyte_raw_test.csv has as many lines as input.csv (20)" \
	test "$(wc -l <"$RAW")" -eq "$(wc -l <"$T/root/local/input.csv")"
check "header uses the decoded tab delimiter" \
	test "$(head -1 "$RAW")" = "$(printf '_airbyte_ab_id\t_airbyte_emitted_at\t_airbyte_data')"
check "destination echoes the STATE" test "$(count_type "$T/w.out" STATE)" -eq 1
# Read the raw file back with source-file (tab separated) and compare data.
raw_cfg() { jq --arg u "$1" --arg sep "$2" '.url = $u | .dataset_name = "raw" | .reader_options = ({sep: $sep} | tojson)' "$SCFG"; }
raw_cat='{"streams":[{"stream":{"name":"raw","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh"]},"sync_mode":"full_refresh","destination_sync_mode":"append"}]}'
echo "$raw_cat" >"$T/raw-cat.json"
raw_cfg /local/_airbyte_raw_test.csv $'\t' >"$T/raw.json"
"$SRC" read --config "$T/raw.json" --catalog "$T/raw-cat.json" >"$T/back.out" 2>"$T/e"
jq -c 'select(.type == "RECORD") | .record.data' "$T/read.out" >"$T/want"
jq -c 'select(.type == "RECORD") | .record.data._airbyte_data | fromjson' "$T/back.out" >"$T/got"
check "raw file data column equals the source records" cmp -s "$T/want" "$T/got"
check "ab_id is a UUID v4, emitted_at in ms" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.data] | length == 19 and
		all(.[]; (._airbyte_ab_id | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")) and
			(._airbyte_emitted_at | test("^[0-9]{13}$"))) and
		([.[]._airbyte_ab_id] | unique | length) == 19' "$T/back.out"

# ---- quoted CSV round trip (RFC 4180) ----
printf 'k,text,note\r\n1,"a, b","say ""hi"""\r\n2,"line1\nline2",plain\r\n3,,"tab\there"\r\n4,"",x\r\n' >"$T/root/quoted.csv"
jq '.url = "/quoted.csv" | .dataset_name = "quoted"' "$SCFG" >"$T/q.json"
qcat='{"streams":[{"stream":{"name":"quoted","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh"]},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}'
echo "$qcat" >"$T/q-cat.json"
echo '{"destination_path":"/out"}' >"$T/d-comma.json"
"$SRC" read --config "$T/q.json" --catalog "$T/q-cat.json" >"$T/q.out" 2>"$T/e"
check "quoted fields parse: commas, quotes, newlines, empty" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.data] ==
		[{k:"1",text:"a, b",note:"say \"hi\""},{k:"2",text:"line1\nline2",note:"plain"},
		 {k:"3",text:"",note:"tab\there"},{k:"4",text:"",note:"x"}]' "$T/q.out"
"$DST" write --config "$T/d-comma.json" --catalog "$T/q-cat.json" <"$T/q.out" >/dev/null 2>"$T/e"
raw_cfg /out/_airbyte_raw_quoted.csv , >"$T/qraw.json"
"$SRC" read --config "$T/qraw.json" --catalog "$T/raw-cat.json" >"$T/qback.out" 2>"$T/e"
jq -c 'select(.type == "RECORD") | .record.data' "$T/q.out" >"$T/want"
jq -c 'select(.type == "RECORD") | .record.data._airbyte_data | fromjson' "$T/qback.out" >"$T/got"
check "quoted CSV round-trips through destination-csv (comma delimiter)" cmp -s "$T/want" "$T/got"

printf 'a;b\n"x;y";2\n' >"$T/root/semi.csv"
jq '.url = "file:///semi.csv" | .dataset_name = "semi" | .reader_options = "{\"sep\": \";\", \"header\": 0}"' "$SCFG" >"$T/semi.json"
echo "$qcat" | jq '.streams[0].stream.name = "semi"' >"$T/semi-cat.json"
"$SRC" read --config "$T/semi.json" --catalog "$T/semi-cat.json" >"$T/o" 2>"$T/e"
check "reader_options sep ';'" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.data] == [{a:"x;y",b:"2"}]' "$T/o"

# ---- incremental ----
jq '.streams[0].sync_mode = "incremental" | .streams[0].cursor_field = ["modified"]' "$CAT" >"$T/inc-cat.json"
"$SRC" read --config "$SCFG" --catalog "$T/inc-cat.json" >"$T/inc1.out" 2>"$T/e"
check "incremental first run: 19 records, state cursor is the max" \
	jqe -s '([.[] | select(.type == "RECORD")] | length) == 19 and
		([.[] | select(.type == "STATE")] | last | .state.stream.stream_state ==
			{cursor_field: "modified", cursor: "2023-03-02 19:43:11.257633107 -06:00"})' "$T/inc1.out"
jq -s -c '[.[] | select(.type == "STATE") | .state] | [last]' "$T/inc1.out" >"$T/state.json"
printf 'new1.txt,file,1 B,2023-03-03 00:00:00.000 -06:00\nold.txt,file,1 B,2020-01-01 00:00:00.000 -06:00\nnew2.txt,file,2 B,2023-03-04 00:00:00.000 -06:00\n' \
	>>"$T/root/local/input.csv"
"$SRC" read --config "$SCFG" --catalog "$T/inc-cat.json" --state "$T/state.json" >"$T/inc2.out" 2>"$T/e"
check "incremental second run emits only the new rows" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.data.name] == ["new1.txt","new2.txt"] and
		([.[] | select(.type == "STATE")] | last | .state.stream.stream_state.cursor) == "2023-03-04 00:00:00.000 -06:00"' "$T/inc2.out"
echo '{"test":{"cursor":"2023-03-03 12:00:00"}}' >"$T/legacy.json"
"$SRC" read --config "$SCFG" --catalog "$T/inc-cat.json" --state "$T/legacy.json" >"$T/o" 2>"$T/e"
check "incremental accepts a legacy state object" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.data.name] == ["new2.txt"]' "$T/o"
jq '.state_every = 5' "$SCFG" >"$T/every.json"
"$SRC" read --config "$T/every.json" --catalog "$T/inc-cat.json" >"$T/o" 2>"$T/e"
check "state_every 5: a STATE after every 5 records and at the end (22 rows -> 5)" \
	test "$(count_type "$T/o" STATE)" -eq 5
cp "$SEED/local/input.csv" "$T/root/local/input.csv"

# ---- overwrite vs append ----
rm -f "$RAW"
for i in 1 2; do
	"$SRC" read --config "$SCFG" --catalog "$CAT" 2>/dev/null | "$DST" write --config "$DCFG" --catalog "$CAT" >/dev/null 2>&1
done
check "append twice: one header, 38 rows" \
	test "$(wc -l <"$RAW")" -eq 39 -a "$(grep -c '^_airbyte_ab_id' "$RAW")" -eq 1
jq '.streams[0].destination_sync_mode = "overwrite"' "$CAT" >"$T/ow-cat.json"
"$SRC" read --config "$SCFG" --catalog "$T/ow-cat.json" 2>/dev/null | "$DST" write --config "$DCFG" --catalog "$T/ow-cat.json" >/dev/null 2>&1
check "overwrite replaces the file: 20 lines" test "$(wc -l <"$RAW")" -eq 20

# ---- state only after its records are in the file ----
rec() { printf '{"type":"RECORD","record":{"stream":"test","data":{"n":%d},"emitted_at":1700000000000}}\n' "$1"; }
st() { printf '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"test"},"stream_state":{"cursor":"%s"}}}}\n' "$1"; }
mkfifo "$T/fifo"
"$DST" write --config "$DCFG" --catalog "$T/ow-cat.json" <"$T/fifo" >"$T/st.out" 2>"$T/e" &
BGPID=$!
exec 7>"$T/fifo"
{ rec 1; rec 2; rec 3; st s1; } >&7
for _ in $(seq 50); do [ -s "$T/st.out" ] && break; sleep 0.1; done
lines_at_state=$(wc -l <"$RAW")
echo_at_state=$(wc -l <"$T/st.out")
{ rec 4; echo 'this is not json'; rec 5; st s2; rec 6; } >&7
exec 7>&-
wait "$BGPID"; rc=$?; BGPID=
check "first STATE echoed while input still open, after its 3 records were written" \
	test "$echo_at_state" -eq 1 -a "$lines_at_state" -eq 4
check "destination echoes states in order, compact, and exits 0" \
	test $rc -eq 0 -a "$(jq -r '.state.stream.stream_state.cursor' "$T/st.out" | tr '\n' ' ')" = "s1 s2 " \
	-a "$(head -1 "$T/st.out")" = "$(st s1)"
check "all 6 records written, invalid JSON line skipped with a message" \
	test "$(wc -l <"$RAW")" -eq 7 -a "$(grep -c 'skipped' "$T/e")" -eq 1

# ---- exact data: the data column is record.data's text, compacted ----
# Big/precise numbers that a double cannot hold, 1e400, -0.0, unicode and
# escapes, whitespace outside and inside strings, keys in any order.
cat >"$T/exact.in" <<'EOF'
 { "type" : "RECORD" , "record" : { "emitted_at" : 1700000000001 ,	"data" : { "big" : 123456789012345678901234567891.123456 ,	"money": 6172.839000, "huge" : 1e400, "negz" : -0.0, "s" : "caf\u00e9 ☕ \"q\" \\ \/ \n\t, tab\ud83d\ude00" , "arr" : [ 1 , { "x" : [ ] } , "a  b" , true , null ] , "e" : { } } , "stream" : "test" } }	
{"record":{"stream":"test","data":{"k":"v  w","n":-1.50E+10,"i":-9223372036854775809},"emitted_at":1700000000002},"type":"RECORD"}
EOF
"$DST" write --config "$DCFG" --catalog "$T/ow-cat.json" <"$T/exact.in" >"$T/o" 2>"$T/e"; rc=$?
cat >"$T/exact.want" <<'EOF'
1700000000001	{"big":123456789012345678901234567891.123456,"money":6172.839000,"huge":1e400,"negz":-0.0,"s":"caf\u00e9 ☕ \"q\" \\ \/ \n\t, tab\ud83d\ude00","arr":[1,{"x":[]},"a  b",true,null],"e":{}}
1700000000002	{"k":"v  w","n":-1.50E+10,"i":-9223372036854775809}
EOF
# unquote the CSV field (it holds '"', so it is quoted with "" inside)
tail -n +2 "$RAW" | awk -F'\t' '{ d = $3; if (d ~ /^"/) { d = substr(d, 2, length(d) - 2); gsub(/""/, "\"", d) } print $2 "\t" d }' >"$T/exact.got"
check "data column is record.data byte for byte, compacted (big numbers, 1e400, -0.0, unicode, escapes)" \
	test $rc -eq 0 -a "$(wc -l <"$T/exact.in")" -eq 2 -a "$(wc -l <"$RAW")" -eq 3 -a ! -s "$T/e"
check "... exact bytes" cmp "$T/exact.want" "$T/exact.got"

# ---- failures ----
{ rec 1; printf '{"type":"RECORD","record":{"stream":"nope","data":{}}}\n'; } |
	"$DST" write --config "$DCFG" --catalog "$CAT" >"$T/o" 2>"$T/e"; rc=$?
check "record for an unknown stream: exit 1 with TRACE ERROR" \
	jqe -s --argjson rc $rc '$rc == 1 and (last | .type == "TRACE" and .trace.type == "ERROR" and
		.trace.error.failure_type == "system_error" and (.trace.error.message | test("nope")))' "$T/o"
"$SRC" read --config "$T/missing.json" --catalog "$CAT" >"$T/o" 2>"$T/e"; rc=$?
check "read of a missing file: exit 1 with TRACE ERROR naming it" \
	jqe -s --argjson rc $rc '$rc == 1 and ([.[] | select(.type == "TRACE" and .trace.type == "ERROR")] | length == 1) and
		(last.trace.error.message | test("nope.csv"))' "$T/o"
check "... and a message on stderr" grep -q 'nope.csv' "$T/e"
printf 'a,b\n1,2\n3,"open\n4,5\n' >"$T/root/local/input.csv"
"$SRC" read --config "$SCFG" --catalog "$CAT" >"$T/o" 2>"$T/e"; rc=$?
check "unterminated quote: exit 1, message with the line number" \
	jqe -s --argjson rc $rc '$rc == 1 and (last.trace.error.message | test("line 3: unterminated"))' "$T/o"
printf 'a,b\n1,2\n3,4,5\n' >"$T/root/local/input.csv"
"$SRC" read --config "$SCFG" --catalog "$CAT" >"$T/o" 2>"$T/e"; rc=$?
check "ragged row: exit 1, message with the line number" \
	jqe -s --argjson rc $rc '$rc == 1 and (last.trace.error.message | test("line 3: expected 2 fields, found 3"))' "$T/o"
printf '{"dataset_name": "x",\n "url": }\n' >"$T/bad.json"
"$SRC" check --config "$T/bad.json" >"$T/o" 2>"$T/e"; rc=$?
check "invalid config JSON: exit 1 naming file, line and column" \
	test $rc -eq 1 -a "$(grep -c "bad.json.*line 2 column" "$T/e")" -eq 1
"$SRC" read --config "$SCFG" >/dev/null 2>"$T/e"; rc=$?
check "usage error (read without --catalog): exit 2" test $rc -eq 2
"$DST" frobnicate >/dev/null 2>&1; rc=$?
check "unknown command: exit 2" test $rc -eq 2

# ---- JSONL ----
printf '{"id":1,"v":"a"}\n\n{"id":2,"v":"b","extra":true}\n{"id":3,"v":null}\n' >"$T/root/data.jsonl"
jq '.url = "/data.jsonl" | .format = "jsonl" | .dataset_name = "j"' "$SCFG" >"$T/j.json"
"$SRC" discover --config "$T/j.json" >"$T/o" 2>"$T/e"
check "jsonl discover: union of keys with types" \
	jqe -s '.[0].catalog.streams[0].json_schema.properties ==
		{id:{type:["integer","null"]},v:{type:["string","null"]},extra:{type:["boolean","null"]}}' "$T/o"
jq '{streams: [{stream: .catalog.streams[0], sync_mode: "incremental", cursor_field: ["id"], destination_sync_mode: "append"}]}' \
	"$T/o" >"$T/j-cat.json"
echo '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"j"},"stream_state":{"cursor":1}}}]' >"$T/j-state.json"
"$SRC" read --config "$T/j.json" --catalog "$T/j-cat.json" --state "$T/j-state.json" >"$T/o" 2>"$T/e"
check "jsonl incremental read with a numeric cursor" \
	jqe -s '[.[] | select(.type == "RECORD") | .record.data.id] == [2,3] and
		(last | .type == "STATE" and .state.stream.stream_state.cursor == 3)' "$T/o"

# ---- signals ----
mkfifo "$T/fifo2"
"$DST" write --config "$DCFG" --catalog "$CAT" <"$T/fifo2" >/dev/null 2>"$T/e" &
BGPID=$!
exec 8>"$T/fifo2"
sleep 0.3
kill -TERM "$BGPID" 2>/dev/null
wait "$BGPID"; rc=$?; BGPID=
exec 8>&-
check "SIGTERM while waiting for input: exit 143" test $rc -eq 143
# A reader that goes away: the source stops quietly (no error output).
awk 'BEGIN { print "a,b"; for (i = 0; i < 200000; i++) print i ",xxxxxxxxxxxxxxxxxxxxxxxx" }' >"$T/root/local/input.csv"
"$SRC" read --config "$SCFG" --catalog "$CAT" 2>"$T/e" | head -c 10 >/dev/null
rc=${PIPESTATUS[0]}
check "closed stdout: source exits 141 quietly" test "$rc" -eq 141 -a ! -s "$T/e"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
