#!/usr/bin/env bash
# postgres-s3.sh: the seed's hello-airbyte-postgres-to-s3 for real: a
# throwaway PostgreSQL 15 (postgres.sh) and s3rver (s3rver.sh) on 127.0.0.1,
# build/bin/source-postgres -> airbyte-replication-driver run ->
# build/bin/destination-s3, with the seed's own secrets (port and endpoint
# rewritten).  Checks that S3 holds exactly the table's rows, that an
# incremental run uploads only new rows (ties at the cursor value included),
# connector-level errors, and measures throughput against a hand-written
# `psql \copy | gzip | upload` baseline and the peak RSS of each process.
# Prints "ok N - ..." / "not ok N - ...", then "N passed, N failed"; exit 1
# on any failure.  ROWS=N (default 1000000) rows; WORK=DIR keeps the files.
# Needs: make (driver + connectors), postgresql, postgresql-client, curl,
# python3, jq, npm (s3rver is installed by s3rver.sh on first use).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${BIN_DIR:-$root/build/bin}
SEED=${SEED_DIR:-/work/shared/seed-examples/e2e/hello-airbyte-postgres-to-s3/docker/secrets}
[ -d "$SEED" ] || SEED=$root/examples/hello-airbyte-postgres-to-s3/docker/secrets
ROWS=${ROWS:-1000000}
NEW=1000
REPL=hello-airbyte-postgres-to-s3
W=${WORK:-$(mktemp -d /tmp/postgres-s3.XXXXXX)}
mkdir -p "$W"
chmod 755 "$W"
PGDIR=$W/pg
S3DIR=$W/s3rver
BUCKET=$(jq -r .s3_bucket_name "$SEED/destination-file.json")

pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
cleanup() {
	"$here/s3rver.sh" stop "$S3DIR" 2>/dev/null
	"$here/postgres.sh" stop "$PGDIR" 2>/dev/null
	[ -n "${WORK:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in airbyte-replication-driver source-postgres destination-s3; do
	[ -x "$BIN/$b" ] || { nok "$BIN/$b missing (make)"; finish; }
done

# ---- services ----
pg_port=
python3 -c 'import socket; socket.socket().bind(("127.0.0.1", 5432))' 2>/dev/null && pg_port=5432
if PORT=$(PG_PORT=$pg_port "$here/postgres.sh" start "$PGDIR"); then
	ok "PostgreSQL on 127.0.0.1:$PORT (role docker/docker, database airbyte)"
else
	nok "PostgreSQL starts"; finish
fi
. "$PGDIR/postgres.env"
psql_su() { "$here/postgres.sh" psql "$PGDIR" "$@"; }
if S3PORT=$("$here/s3rver.sh" start "$S3DIR" "$BUCKET" baseline); then
	ok "s3rver on 127.0.0.1:$S3PORT with buckets $BUCKET, baseline"
else
	nok "s3rver starts"; finish
fi
. "$S3DIR/s3rver.env"

s3() { # METHOD PATH [curl args...]
	local m=$1 p=$2; shift 2
	curl -sS -f -X "$m" --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$S3_ENDPOINT/$p"
}
keys() { # BUCKET PREFIX: the keys, one a line (fewer than 1000 here)
	s3 GET "$1?list-type=2&prefix=$2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' | sort
}
fetch() { # BUCKET DIR KEY...: download the objects into DIR
	local b=$1 d=$2 k; shift 2; rm -rf "$d"; mkdir -p "$d"
	for k in "$@"; do s3 GET "$b/$k" -o "$d/$(echo "$k" | tr / _)" || return 1; done
}
pg_rows() { # the expected rows as JSON lines: COLUMNS [WHERE ...]
	psql_su -At -c "SET TimeZone = 'UTC'" \
		-c "SELECT row_to_json(t) FROM (SELECT $1 FROM public.airbyte_configs ${2:-}) t"
}

# ---- sample data ----
t0=$(date +%s.%N)
if psql_su -v rows="$ROWS" -c 'SET client_min_messages = warning' -f "$here/postgres/load.sql" \
	-f "$here/postgres/types.sql" \
	-c "ALTER TABLE public.airbyte_configs OWNER TO $PG_USER" \
	-c "ALTER TABLE public.types_probe OWNER TO $PG_USER" >"$W/load.log" 2>&1; then
	ok "loaded $ROWS rows into public.airbyte_configs in $(printf %.1f "$(echo "$(date +%s.%N) - $t0" | bc)") s"
else
	nok "load sample data: $(tail -3 "$W/load.log")"; finish
fi
TABLE_MB=$(psql_su -At -c "SELECT round(pg_total_relation_size('public.airbyte_configs') / 1048576.0, 1)")

# ---- the seed's secrets, pointed at these servers ----
SECRETS=$W/secrets
mkdir -p "$SECRETS"
jq --argjson p "$PG_PORT" '.port = $p' "$SEED/source-file.json" >"$SECRETS/source-file.json"
jq --arg e "$S3_ENDPOINT" --arg k "$S3_ACCESS_KEY" --arg s "$S3_SECRET_KEY" \
	'.s3_endpoint = $e | .access_key_id = $k | .secret_access_key = $s' \
	"$SEED/destination-file.json" >"$SECRETS/destination-file.json"
cp "$SEED/catalog-file.json" "$SECRETS/catalog-file.json"
SRC=$SECRETS/source-file.json
SP=$BIN/source-postgres

# ---- connector level: spec, check, discover ----
check "spec: a JSON Schema with password marked airbyte_secret" \
	[ "$("$SP" spec | jq -r '.spec.connectionSpecification | "\(.type) \(.properties.password.airbyte_secret) \(.properties.schemas.type)"')" = "object true array" ]
check "check with the seed's config: SUCCEEDED" \
	[ "$("$SP" check --config "$SRC" | jq -r .connectionStatus.status)" = SUCCEEDED ]
jq '.password = "wrong"' "$SRC" >"$W/bad-password.json"
out=$("$SP" check --config "$W/bad-password.json"); rc=$?
check "check with a bad password: FAILED, authentication named, exit 0" \
	[ $rc -eq 0 -a "$(echo "$out" | jq -r .connectionStatus.status)" = FAILED ] && echo "$out" | grep -q 'authentication failed for user'
jq --argjson p "$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')" \
	'.port = $p' "$SRC" >"$W/unreachable.json"
out=$("$SP" check --config "$W/unreachable.json")
check "check with nothing listening on the port: FAILED, cannot reach" \
	[ "$(echo "$out" | jq -r .connectionStatus.status)" = FAILED ] && echo "$out" | grep -q 'cannot reach PostgreSQL'
jq '.tunnel_method = {"tunnel_method": "SSH_KEY_AUTH", "tunnel_host": "h"}' "$SRC" >"$W/tunnel.json"
out=$("$SP" check --config "$W/tunnel.json")
check "check with an SSH tunnel: FAILED, unsupported" \
	[ "$(echo "$out" | jq -r .connectionStatus.status)" = FAILED ] && echo "$out" | grep -q 'unsupported'
"$SP" discover --config "$SRC" >"$W/discover.jsonl"
got=$(jq -c '.catalog.streams[] | select(.name == "airbyte_configs") |
	[.namespace, .source_defined_primary_key, .supported_sync_modes, .source_defined_cursor,
	 (.json_schema.properties | [.id, .config_blob, .created_at, .updated_at, .amount])]' "$W/discover.jsonl")
want='["public",[["id"]],["full_refresh","incremental"],false,[{"type":"number","airbyte_type":"integer"},{"type":"string"},{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},{"type":"number"}]]'
check "discover: airbyte_configs with namespace, primary key, sync modes and Airbyte types" [ "$got" = "$want" ]
got=$(jq -c '.catalog.streams[] | select(.name == "types_probe") | .json_schema.properties |
	[.b.type, .f8.type, .d.format, .t.airbyte_type, .tt.airbyte_type, .ts.airbyte_type, .j.type, .jb.type, .by.type, .ia.type, .ia.items.airbyte_type, .ta.items.type]' "$W/discover.jsonl")
check "discover: boolean, number, date, time, timestamp, json(b) object, bytea, arrays" \
	[ "$got" = '["boolean","number","date","time_without_timezone","time_with_timezone","timestamp_without_timezone","object","object","string","array","integer","string"]' ]
jq -c '{streams: [.catalog.streams[] | select(.name == "types_probe") |
	{stream: ., sync_mode: "full_refresh", destination_sync_mode: "overwrite"}]}' "$W/discover.jsonl" >"$W/types-catalog.json"
"$SP" read --config "$SRC" --catalog "$W/types-catalog.json" | grep '"type":"RECORD"' |
	sed 's/,"emitted_at":[0-9]*}}$//' >"$W/types.got"
check "read converts every type (NULL, unicode, ISO 8601, exact numerics, NaN, base64, arrays, json)" \
	diff -u "$here/postgres/types.expected" "$W/types.got"
jq '.streams[0].stream.name = "no_such_table"' "$SECRETS/catalog-file.json" >"$W/missing-catalog.json"
"$SP" read --config "$SRC" --catalog "$W/missing-catalog.json" >"$W/missing.out" 2>/dev/null; rc=$?
check "read of a table that does not exist: exit 1, TRACE ERROR naming it, no RECORD" \
	[ $rc -eq 1 ] && grep -q '"type":"ERROR".*no_such_table.*not found' "$W/missing.out" &&
	! grep -q RECORD "$W/missing.out"
"$SP" read --config "$W/bad-password.json" --catalog "$SECRETS/catalog-file.json" >"$W/badpw.out" 2>/dev/null; rc=$?
check "read with a bad password: exit 1, TRACE ERROR" \
	[ $rc -eq 1 ] && grep -q '"type":"ERROR".*authentication failed' "$W/badpw.out"
# pg_terminate_backend in the middle: the reader stops reading after 2000
# lines, so the COPY is stalled on a full pipe when the backend is killed.
"$SP" read --config "$SRC" --catalog "$SECRETS/catalog-file.json" 2>/dev/null | {
	head -n 2000 >/dev/null
	sleep 0.3
	psql_su -At -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'airbyte-source-postgres'" >"$W/terminated"
	cat >"$W/killed.out"
}
rc=${PIPESTATUS[0]}
check "backend killed mid-read (pg_terminate_backend): exit 1, TRACE ERROR 'connection ... lost', no final STATE" \
	[ $rc -eq 1 -a "$(cat "$W/terminated")" = 1 ] && grep -q '"type":"ERROR".*connection to PostgreSQL lost after' "$W/killed.out" &&
	! grep -q '"type":"STATE"' "$W/killed.out"

# ---- driver runs, with peak RSS sampled from /proc ----
rss_watch() { # PID OUT: max VmHWM (kB) per command name of PID and its descendants
	local root=$1 out=$2 p h c all
	declare -A peak=()
	while kill -0 "$root" 2>/dev/null; do
		all=$(ps -e -o pid=,ppid= | awk -v r="$root" '
			{ par[$1] = $2 } END { for (p in par) { q = p; while (q != "" && q > 1) {
				if (q == r) { print p; break } q = par[q] } } }')
		for p in $all; do
			c=$(cat /proc/$p/comm 2>/dev/null) || continue
			h=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$p/status 2>/dev/null)
			[ -n "$h" ] || continue
			[ "${peak[$c]:-0}" -ge "$h" ] || peak[$c]=$h
		done
		sleep 0.2
	done
	for c in "${!peak[@]}"; do echo "$c=${peak[$c]}"; done >"$out"
}
run_driver() { # SECRETS_DIR NAME: run the replication, time it, sample RSS
	local t0 t1 pid
	t0=$(date +%s.%N)
	"$BIN/airbyte-replication-driver" run --replication "$REPL" --secrets-dir "$1" \
		--store-path "$W/store" --source-entrypoint "$BIN/source-postgres" \
		--destination-entrypoint "$BIN/destination-s3" >"$W/$2.log" 2>&1 &
	pid=$!
	rss_watch "$pid" "$W/$2.rss" &
	wait "$pid"
	local rc=$?
	wait
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >"$W/$2.secs"
	return $rc
}

# 1. the seed: full refresh, seed catalog (6 columns), CSV, no compression
if run_driver "$SECRETS" run1; then
	ok "run 1 (seed catalog, full refresh): driver exit 0 in $(printf %.1f "$(cat "$W/run1.secs")") s"
else
	nok "run 1 (seed catalog, full refresh): driver failed: $(tail -5 "$W/run1.log")"
fi
mapfile -t K1 < <(keys "$BUCKET" public/airbyte_configs/)
fetch "$BUCKET" "$W/run1.obj" "${K1[@]}"
SEED_COLS=$(jq -r '.streams[0].stream.json_schema.properties | keys | join(",")' "$SECRETS/catalog-file.json")
pg_rows "$SEED_COLS" >"$W/run1.want"
if python3 "$here/postgres/compare.py" "$W/run1.want" "$SEED_COLS" "$W"/run1.obj/* >"$W/run1.cmp" 2>&1; then
	ok "run 1: ${#K1[@]} S3 objects hold exactly the $ROWS rows (columns $SEED_COLS; $(cat "$W/run1.cmp"))"
else
	nok "run 1: S3 content differs from the table: $(head -3 "$W/run1.cmp")"
fi
RUN1_BYTES=$(du -cb "$W"/run1.obj/* | tail -1 | cut -f1)

# baseline by hand: psql \copy | gzip | upload (same columns), timed in the same run
sel="SELECT $SEED_COLS FROM public.airbyte_configs"
t0=$(date +%s.%N)
if [ -x /usr/bin/aws ] && /usr/bin/aws --version 2>&1 | grep -q '^aws-cli/2'; then
	BASE_TOOL="psql | gzip | aws s3 cp -"
	PGPASSWORD=$PG_PASSWORD psql -X -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" \
		-c "\\copy ($sel) TO STDOUT" | gzip |
		AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_DEFAULT_REGION=$S3_REGION \
		/usr/bin/aws s3 cp - s3://baseline/airbyte_configs.tsv.gz --endpoint-url "$S3_ENDPOINT" >/dev/null
else
	BASE_TOOL="psql | gzip | curl --aws-sigv4 -T -"
	PGPASSWORD=$PG_PASSWORD psql -X -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" \
		-c "\\copy ($sel) TO STDOUT" | gzip | s3 PUT baseline/airbyte_configs.tsv.gz -T - -o /dev/null
fi
rc=$?
BASE_SECS=$(echo "$(date +%s.%N) - $t0" | bc)
t0=$(date +%s.%N)
PGPASSWORD=$PG_PASSWORD psql -X -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" \
	-c "\\copy ($sel) TO STDOUT" | s3 PUT baseline/airbyte_configs.tsv -T - -o /dev/null
BASE2_SECS=$(echo "$(date +%s.%N) - $t0" | bc)
s3 GET baseline/airbyte_configs.tsv.gz -o "$W/baseline.tsv.gz"
check "baseline ($BASE_TOOL) uploaded $ROWS rows" \
	[ $rc -eq 0 ] && [ "$(gzip -dc "$W/baseline.tsv.gz" | wc -l)" -eq "$ROWS" ]

# 2. incremental on updated_at (ties: 10 rows per value), all 7 columns
jq -c '{streams: [.catalog.streams[] | select(.name == "airbyte_configs") |
	{stream: ., sync_mode: "incremental", cursor_field: ["updated_at"], primary_key: [["id"]],
	 destination_sync_mode: "append"}]}' "$W/discover.jsonl" >"$W/incr-catalog.json"
ISECRETS=$W/secrets-incremental
mkdir -p "$ISECRETS"
jq '.state_every = 50000' "$SECRETS/source-file.json" >"$ISECRETS/source-file.json"
jq '.s3_bucket_path = "incremental"' "$SECRETS/destination-file.json" >"$ISECRETS/destination-file.json"
cp "$W/incr-catalog.json" "$ISECRETS/catalog-file.json"
ALL_COLS=id,config_id,config_type,config_blob,created_at,updated_at,amount
# a row leaves now and comes back after run 2 with the same updated_at as the
# saved cursor and a lower id than the saved last key (a late tie)
TIE_ID=$((ROWS - 1))
psql_su -c "CREATE TABLE tie_row AS SELECT * FROM public.airbyte_configs WHERE id = $TIE_ID" \
	-c "DELETE FROM public.airbyte_configs WHERE id = $TIE_ID" >/dev/null
if run_driver "$ISECRETS" run2; then
	ok "run 2 (incremental, cursor updated_at): driver exit 0 in $(printf %.1f "$(cat "$W/run2.secs")") s"
else
	nok "run 2 (incremental): driver failed: $(tail -5 "$W/run2.log")"
fi
mapfile -t K2 < <(keys "$BUCKET" incremental/public/airbyte_configs/)
fetch "$BUCKET" "$W/run2.obj" "${K2[@]}"
pg_rows "$ALL_COLS" >"$W/run2.want"
if python3 "$here/postgres/compare.py" --doubles "$W/run2.want" "$ALL_COLS" "$W"/run2.obj/* >"$W/run2.cmp" 2>&1; then
	ok "run 2: S3 holds exactly the $((ROWS - 1)) rows, all columns ($(cat "$W/run2.cmp"); numbers as doubles)"
else
	nok "run 2: S3 content differs from the table: $(head -3 "$W/run2.cmp")"
fi
# The source emits numerics exactly (test "read converts every type" above and
# this grep); S3 keeps them only if destination-s3 copies number text as is.
big=$(psql_su -At -c "SELECT amount FROM public.airbyte_configs WHERE id = 1")
if grep -qF "\"amount\":$big" <("$SP" read --config "$SRC" --catalog "$W/incr-catalog.json" | head -3); then
	ok "source emits numeric(40,6) $big unquoted and exact"
else
	nok "source emits numeric(40,6) $big unquoted and exact"
fi
if python3 "$here/postgres/compare.py" "$W/run2.want" "$ALL_COLS" "$W"/run2.obj/* >"$W/run2.exact" 2>&1; then
	ok "run 2: numerics exact in S3 too"
else
	nok "run 2: numerics exact in S3: $(head -1 "$W/run2.exact")"
fi
STATE=$W/store/$REPL/state.json
check "run 2: committed state has cursor updated_at at the max value and a primary-key tie-breaker" \
	[ "$(jq -r '.state[] | select(.stream.stream_descriptor.name == "airbyte_configs") | .stream.stream_state |
		"\(.cursor_field[0]) \(.cursor) \(.tie_breaker.columns[0]) \(.tie_breaker.last[0])"' "$STATE")" = \
	  "updated_at $(psql_su -At -c "SET TimeZone = 'UTC'; SELECT max(updated_at) FROM public.airbyte_configs") id $ROWS" ]

# 3. new rows, a row updated (new cursor value), the late tie row -> only those
psql_su -c "UPDATE tie_row SET updated_at = (SELECT max(updated_at) FROM public.airbyte_configs)" \
	-c "INSERT INTO public.airbyte_configs SELECT * FROM tie_row" \
	-c "INSERT INTO public.airbyte_configs
	    SELECT g, md5(g::text), 'NEW_' || (g % 3), 'new ✓ ' || g, now(), now() + (g % 7) * interval '1 ms', g * 0.5
	    FROM generate_series($ROWS + 1, $ROWS + $NEW) g" \
	-c "UPDATE public.airbyte_configs SET config_blob = 'updated', updated_at = now() + interval '1 s' WHERE id = 5" >/dev/null
if run_driver "$ISECRETS" run3; then
	ok "run 3 (incremental after $NEW inserts, 1 update, 1 late row at the saved cursor): driver exit 0"
else
	nok "run 3: driver failed: $(tail -5 "$W/run3.log")"
fi
mapfile -t K3 < <(keys "$BUCKET" incremental/public/airbyte_configs/ | grep -vxF -f <(printf '%s\n' "${K2[@]}"))
fetch "$BUCKET" "$W/run3.obj" "${K3[@]}"
pg_rows "$ALL_COLS" "WHERE id > $ROWS OR id IN (5, $TIE_ID)" >"$W/run3.want"
if [ ${#K3[@]} -gt 0 ] && python3 "$here/postgres/compare.py" --doubles "$W/run3.want" "$ALL_COLS" "$W"/run3.obj/* >"$W/run3.cmp" 2>&1; then
	ok "run 3: the new objects hold exactly the $((NEW + 2)) new/changed rows ($(cat "$W/run3.cmp"))"
else
	nok "run 3: new objects differ from the new rows: $(head -3 "$W/run3.cmp" 2>/dev/null) (${#K3[@]} objects)"
fi
# 4. nothing changed: nothing new
run_driver "$ISECRETS" run4; rc=$?
mapfile -t K4 < <(keys "$BUCKET" incremental/public/airbyte_configs/ | grep -vxF -f <(printf '%s\n' "${K2[@]}" "${K3[@]}"))
rows4=0
if [ ${#K4[@]} -gt 0 ]; then
	fetch "$BUCKET" "$W/run4.obj" "${K4[@]}"
	rows4=$(cat "$W"/run4.obj/* | grep -vc '^_airbyte_ab_id')
fi
check "run 4 (no changes): exit 0, no new rows in S3" [ $rc -eq 0 -a "$rows4" -eq 0 ]

# ---- numbers ----
mb() { echo "scale=1; $1 / 1048576" | bc; }
r1=$(cat "$W/run1.secs")
echo "# postgres -> S3, $ROWS rows, table $TABLE_MB MiB on disk, $(mb "$RUN1_BYTES") MiB of CSV objects"
echo "# driver run (seed, CSV, no compression): $(printf %.1f "$r1") s = $(echo "$ROWS / $r1" | bc) rows/s, $(echo "scale=1; $RUN1_BYTES / 1048576 / $r1" | bc) MB/s of CSV written"
echo "# baseline $BASE_TOOL: $(printf %.1f "$BASE_SECS") s = $(echo "$ROWS / $BASE_SECS" | bc) rows/s; without gzip: $(printf %.1f "$BASE2_SECS") s = $(echo "$ROWS / $BASE2_SECS" | bc) rows/s"
echo "# run 2 (incremental, ORDER BY updated_at, id): $(printf %.1f "$(cat "$W/run2.secs")") s; run 3 (new rows only): $(printf %.1f "$(cat "$W/run3.secs")") s"
for f in run1 run2; do
	echo "# peak RSS $f (kB): $(sort "$W/$f.rss" | tr '\n' ' ')"
done
finish
