#!/usr/bin/env bash
# s3-s3.sh: the seed's hello-airbyte-s3-to-s3 on a real (local) S3, s3rver
# on 127.0.0.1, with build/bin/source-s3 and build/bin/destination-s3
# through build/bin/airbyte-replication-driver; then destination-level
# checks (multipart, gzip, STATE only after upload, retries, errors).
# Prints "ok N - ..." / "not ok N - ...", then "N passed, N failed";
# exit 1 on any failure.  Needs: make connectors, python3, curl, npm
# (s3rver is installed by s3rver.sh on first use).  WORK=DIR keeps the files.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${BIN_DIR:-$root/build/bin}
SEED=${SEED_DIR:-/work/shared/seed-examples/e2e/hello-airbyte-s3-to-s3/docker/secrets}
[ -d "$SEED" ] || SEED=$root/examples/hello-airbyte-s3-to-s3/docker/secrets
W=${WORK:-$(mktemp -d /tmp/s3-s3.XXXXXX)}
mkdir -p "$W"
S3DIR=$W/s3rver
SRC_BUCKET=nyc-taxi-data
DST_BUCKET=airbyte-replication-operator-s3-output

pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
cleanup() { "$here/s3rver.sh" stop "$S3DIR"; [ -n "${WORK:-}" ] || rm -rf "$W"; }
trap cleanup EXIT

for b in airbyte-replication-driver source-s3 destination-s3 source-e2e-test; do
	[ -x "$BIN/$b" ] || { echo "not ok 1 - $BIN/$b missing (make connectors)"; echo "0 passed, 1 failed"; exit 1; }
done

PORT=$("$here/s3rver.sh" start "$S3DIR" "$SRC_BUCKET" "$DST_BUCKET" dest-checks) ||
	{ echo "not ok 1 - s3rver starts"; echo "0 passed, 1 failed"; exit 1; }
. "$S3DIR/s3rver.env"
ok "s3rver on 127.0.0.1:$PORT with buckets $SRC_BUCKET, $DST_BUCKET"

s3() { # METHOD PATH [curl args...]
	local m=$1 p=$2; shift 2
	curl -sS -f -X "$m" --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$S3_ENDPOINT/$p"
}
put() { s3 PUT "$1" -T "$2" -o /dev/null; }
keys() { # BUCKET PREFIX: the keys, one a line
	s3 GET "$1?list-type=2&prefix=$2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}
fetch() { # BUCKET PREFIX DIR: download every object under PREFIX into DIR
	local k; rm -rf "$3"; mkdir -p "$3"
	for k in $(keys "$1" "$2"); do s3 GET "$1/$k" -o "$3/$(echo "$k" | tr / _)" || return 1; done
}

# ---- source objects ----
python3 "$here/s3/gen.py" "$W/gen" || { nok "generate data"; exit 1; }
put "$SRC_BUCKET/trips/2022/a.csv" "$W/gen/a.csv" &&
	put "$SRC_BUCKET/trips/2022/sub/b.csv.gz" "$W/gen/sub/b.csv.gz" &&
	put "$SRC_BUCKET/trips/2022/ignored.txt" "$W/gen/new.csv" &&
	put "$SRC_BUCKET/jsonl/c.jsonl" "$W/gen/c.jsonl"
check "uploaded 100000 CSV rows (one object gzip) + 20000 JSONL rows" [ $? -eq 0 ]

# ---- the seed's secrets, pointed at s3rver ----
SEC=$W/secrets
mkdir -p "$SEC"
jq --arg ep "$S3_ENDPOINT" '.format = {"filetype": "csv"} | .path_pattern = "**/*.csv|**/*.csv.gz"
	| .provider.endpoint = $ep | .provider.path_prefix = "trips/"
	| .provider.aws_access_key_id = "S3RVER" | .provider.aws_secret_access_key = "S3RVER"' \
	"$SEED/source-file.json" >"$SEC/source-file.json"
jq --arg ep "$S3_ENDPOINT" '.s3_endpoint = $ep | .access_key_id = "S3RVER" | .secret_access_key = "S3RVER"' \
	"$SEED/destination-file.json" >"$SEC/destination-file.json"
"$BIN/source-s3" discover --config "$SEC/source-file.json" >"$W/discover.out"
jq -e 'select(.type == "CATALOG") | .catalog.streams[0].json_schema.properties | has("id") and has("note")' \
	"$W/discover.out" >/dev/null
check "source-s3 discover infers the columns from the first object" [ $? -eq 0 ]
schema=$(jq -c 'select(.type == "CATALOG") | .catalog.streams[0].json_schema' "$W/discover.out")
jq --argjson s "$schema" '.streams[0].stream.json_schema = $s | .streams[0].sync_mode = "incremental"
	| .streams[0].destination_sync_mode = "append"' "$SEED/catalog-file.json" >"$SEC/catalog-file.json"

run_sync() { # LOG
	"$BIN/airbyte-replication-driver" run --replication hello-airbyte-s3-to-s3 \
		--secrets-dir "$SEC" --store-path "$W/store" \
		--source-entrypoint "$BIN/source-s3" --destination-entrypoint "$BIN/destination-s3" \
		>"$1" 2>&1
}

# ---- run 1 ----
t0=$(date +%s.%N)
run_sync "$W/run1.log"
rc=$?
t1=$(date +%s.%N)
check "run 1 (s3 -> s3 through the driver) exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$W/run1.log"
fetch "$DST_BUCKET" "nyc_green_2022/" "$W/out1"
python3 "$here/s3/rows.py" "$W"/out1/* | sort >"$W/got1"
sort "$W/gen/expected-run1.jsonl" >"$W/want1"
check "destination holds exactly the 100000 source rows ($(wc -l <"$W/got1") rows, unicode/quotes/newlines intact)" cmp -s "$W/got1" "$W/want1"
rate=$(grep -o 'wrote [0-9]* records in [0-9]* objects, [0-9.]* MB uploaded in [0-9.]* s ([0-9.]* MB/s)' "$W/run1.log" | head -1)
echo "# run 1: $(echo "$t1 - $t0" | bc) s wall; destination: $rate"
"$BIN/airbyte-replication-driver" state --replication hello-airbyte-s3-to-s3 --store-path "$W/store" >"$W/state1" 2>&1
grep -q 'b.csv.gz' "$W/state1" && grep -q '_ab_source_file_last_modified' "$W/state1"
check "committed state holds the LastModified cursor and the objects read at it" [ $? -eq 0 ]

# ---- run 2: incremental, only the new object ----
sleep 1.1   # s3rver's LastModified has 1 s resolution: a strictly newer one
put "$SRC_BUCKET/trips/2022/new.csv" "$W/gen/new.csv"
run_sync "$W/run2.log"
check "run 2 exits 0" [ $? -eq 0 ]
fetch "$DST_BUCKET" "nyc_green_2022/" "$W/out2"
for f in "$W"/out1/*; do rm -f "$W/out2/$(basename "$f")"; done
python3 "$here/s3/rows.py" "$W"/out2/* | sort >"$W/got2"
sort "$W/gen/expected-new.jsonl" >"$W/want2"
check "run 2 read only the new object: its 1000 rows in new objects ($(wc -l <"$W/got2") rows)" cmp -s "$W/got2" "$W/want2"
grep -q 'read 1000 rows from 1 objects' "$W/run2.log"
check "run 2 source log: 1000 rows from 1 object" [ $? -eq 0 ]

# ---- destination-level checks (the connector alone) ----
D=$W/dest
mkdir -p "$D"
dcfg() { # FILE jq-filter
	jq -n --arg ep "$S3_ENDPOINT" '{format: {format_type: "CSV", flattening: "No flattening",
		compression: {compression_type: "No Compression"}}, s3_endpoint: $ep,
		access_key_id: "S3RVER", secret_access_key: "S3RVER", s3_bucket_name: "dest-checks",
		s3_bucket_path: "checks", s3_bucket_region: "us-east-1", max_retries: 3, retry_base_ms: 100}
		| '"$2" >"$1"
}
cat >"$D/cat.json" <<'EOF'
{"streams":[{"stream":{"name":"stream_0","json_schema":{"type":"object","properties":{"id":{"type":"integer"},"payload":{"type":"string"}}},"supported_sync_modes":["full_refresh"]},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}
EOF
echo '{"records": 60000, "record_size": 200, "state_every": 0}' >"$D/src.json"

dcfg "$D/mp.json" '.s3_bucket_path = "mp" | .multipart_chunk_mb = 5'
"$BIN/source-e2e-test" read --config "$D/src.json" --catalog "$D/cat.json" |
	"$BIN/destination-s3" write --config "$D/mp.json" --catalog "$D/cat.json" >"$D/mp.out" 2>"$D/mp.err"
rc=$?
mpkey=$(keys dest-checks mp/stream_0/ | head -1)
size=$(s3 HEAD "dest-checks/$mpkey" -I | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p')
grep -q "$mpkey?uploads=" "$S3DIR/s3rver.log" &&
	[ "$(grep -c "$mpkey?partNumber=" "$S3DIR/s3rver.log")" -ge 2 ]
check "multipart upload of a $size-byte object in 5 MiB chunks (exit $rc)" [ $? -eq 0 -a $rc -eq 0 -a "${size:-0}" -gt 5242880 ]
s3 GET "dest-checks/$mpkey" -o "$D/mp.csv"
check "multipart object holds all 60000 records" [ "$(python3 "$here/s3/rows.py" "$D/mp.csv" | wc -l)" -eq 60000 ]
mbs=$(grep -o '[0-9.]* MB/s' "$D/mp.out" | head -1)
echo "# destination alone, 12 MB CSV into s3rver: $mbs"

# gzip + JSONL round trip through source-s3 and destination-s3
jq --arg ep "$S3_ENDPOINT" '.format = {"filetype": "jsonl"} | .path_pattern = "jsonl/*.jsonl" | .dataset = "c"
	| .provider.endpoint = $ep | .provider.path_prefix = "jsonl/"
	| .provider.aws_access_key_id = "S3RVER" | .provider.aws_secret_access_key = "S3RVER"' \
	"$SEED/source-file.json" >"$D/jsrc.json"
echo '{"streams":[{"stream":{"name":"c","json_schema":{}},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}' >"$D/jcat.json"
dcfg "$D/gz.json" '.s3_bucket_path = "gz" | .format = {format_type: "JSONL", flattening: "Root level flattening", compression: {compression_type: "GZIP"}}'
"$BIN/source-s3" read --config "$D/jsrc.json" --catalog "$D/jcat.json" |
	"$BIN/destination-s3" write --config "$D/gz.json" --catalog "$D/jcat.json" >"$D/gz.out" 2>&1
rc=$?
fetch dest-checks gz/c/ "$D/gz"
ls "$D"/gz/*.jsonl.gz >/dev/null 2>&1 && gzip -t "$D"/gz/*.jsonl.gz
check "JSONL + GZIP objects are valid gzip named .jsonl.gz (exit $rc)" [ $? -eq 0 -a $rc -eq 0 ]
python3 "$here/s3/rows.py" "$D"/gz/* | sort >"$D/gz.got"
check "gzip round trip: 20000 JSONL rows back exactly" cmp -s "$D/gz.got" <(sort "$W/gen/expected-c.jsonl")

# a STATE appears only once its records are in a completed object
dcfg "$D/st.json" '.s3_bucket_path = "st"'
mkfifo "$D/in.fifo"
"$BIN/destination-s3" write --config "$D/st.json" --catalog "$D/cat.json" <"$D/in.fifo" >"$D/st.out" 2>&1 &
dpid=$!
exec 7>"$D/in.fifo"
for i in $(seq 1 1000); do
	echo "{\"type\":\"RECORD\",\"record\":{\"stream\":\"stream_0\",\"data\":{\"id\":$i},\"emitted_at\":1}}"
done >&7
echo '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"stream_0"},"stream_state":{"cursor":1000}}}}' >&7
for i in $(seq 1 100); do grep -q '"cursor":1000' "$D/st.out" && break; sleep 0.05; done
k=$(keys dest-checks st/stream_0/)
got=0
[ -n "$k" ] && s3 GET "dest-checks/$k" -o "$D/st.csv" && got=$(python3 "$here/s3/rows.py" "$D/st.csv" | wc -l)
check "when STATE 1000 is echoed (input still open) S3 already holds its 1000 records ($got)" [ "$got" -eq 1000 ]
echo '{"type":"RECORD","record":{"stream":"stream_0","data":{"id":1001},"emitted_at":1}}' >&7
sleep 0.3
check "a record after the STATE is not echoed as committed yet (no new STATE)" [ "$(grep -c STATE "$D/st.out")" -eq 1 ]
exec 7>&-
wait $dpid
check "end of input: exit 0, the last record uploaded too" [ $? -eq 0 -a "$(keys dest-checks st/stream_0/ | wc -l)" -eq 2 ]

# retries: a closed port -> bounded retries, then TRACE ERROR, exit 1
dcfg "$D/closed.json" '.s3_endpoint = "http://127.0.0.1:1"'
t0=$(date +%s.%N)
"$BIN/source-e2e-test" read --config "$D/src.json" --catalog "$D/cat.json" |
	"$BIN/destination-s3" write --config "$D/closed.json" --catalog "$D/cat.json" >"$D/closed.out" 2>"$D/closed.err"
rc=$?
t1=$(date +%s.%N)
grep -q '"failure_type":"system_error"' "$D/closed.out" && grep -q 'cannot reach the endpoint' "$D/closed.out" &&
	[ "$(grep -c 'retry' "$D/closed.err")" -eq 3 ]
check "unreachable endpoint: 3 retries with backoff, TRACE ERROR, exit $rc in $(printf %.1f "$(echo "$t1 - $t0" | bc)") s" [ $? -eq 0 -a $rc -eq 1 ]

# retries: s3rver stopped for a moment during a write -> the write succeeds
dcfg "$D/blip.json" '.s3_bucket_path = "blip" | .max_retries = 6 | .retry_base_ms = 200'
"$here/s3rver.sh" stop "$S3DIR"
( "$BIN/source-e2e-test" read --config "$D/src.json" --catalog "$D/cat.json" |
	"$BIN/destination-s3" write --config "$D/blip.json" --catalog "$D/cat.json" >"$D/blip.out" 2>"$D/blip.err" ) &
bpid=$!
sleep 1
S3RVER_PORT=$PORT "$here/s3rver.sh" start "$S3DIR" >/dev/null
wait $bpid
rc=$?
check "s3rver down for 1 s: $(grep -c retry "$D/blip.err") retries, then the write succeeds (exit $rc)" [ $rc -eq 0 -a "$(grep -c retry "$D/blip.err")" -ge 1 ]

# clear errors
jq '.access_key_id = "minio" | .secret_access_key = "miniostorage"' "$D/blip.json" >"$D/badkey.json"
"$BIN/destination-s3" write --config "$D/badkey.json" --catalog "$D/cat.json" </dev/null >"$D/badkey.out" 2>&1
rc=$?
grep -q 'HTTP 403 InvalidAccessKeyId.*access denied' "$D/badkey.out"
check "bad credentials (the seed's minio keys): TRACE ERROR with the 403, exit $rc" [ $? -eq 0 -a $rc -eq 1 ]
jq '.s3_bucket_name = "no-such-bucket"' "$D/blip.json" >"$D/nobucket.json"
"$BIN/destination-s3" write --config "$D/nobucket.json" --catalog "$D/cat.json" </dev/null >"$D/nobucket.out" 2>&1
rc=$?
grep -q 'NoSuchBucket' "$D/nobucket.out"
check "missing bucket: TRACE ERROR naming NoSuchBucket, exit $rc" [ $? -eq 0 -a $rc -eq 1 ]
"$BIN/destination-s3" check --config "$D/blip.json" | grep -q SUCCEEDED &&
	"$BIN/destination-s3" check --config "$D/badkey.json" | grep -q '"FAILED".*403' &&
	[ -z "$(keys dest-checks checks/_airbyte_connection_test)" ]
check "check: SUCCEEDED (test object written and deleted) / FAILED with the 403" [ $? -eq 0 ]

# overwrite keeps the old objects until the new data is complete, then deletes them
before=$(keys dest-checks mp/stream_0/)
"$BIN/source-e2e-test" read --config "$D/src.json" --catalog "$D/cat.json" |
	"$BIN/destination-s3" write --config "$D/mp.json" --catalog "$D/cat.json" >"$D/mp2.out" 2>&1
after=$(keys dest-checks mp/stream_0/)
[ -n "$after" ] && [ "$after" != "$before" ] && [ "$(echo "$after" | wc -l)" -eq 1 ]
check "overwrite: after success only this sync's object remains" [ $? -eq 0 ]

# source errors
jq '.format = {"filetype": "parquet"}' "$SEC/source-file.json" >"$D/parquet.json"
"$BIN/source-s3" read --config "$D/parquet.json" --catalog "$SEC/catalog-file.json" >"$D/parquet.out" 2>&1
rc=$?
grep -q 'unsupported' "$D/parquet.out"
check "source-s3 with the seed's parquet format: clear unsupported-format error, exit $rc" [ $? -eq 0 -a $rc -eq 1 ]

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
