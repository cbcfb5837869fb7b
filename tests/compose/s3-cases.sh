# shellcheck shell=bash disable=SC2154
# Sourced by tests/compose/run.sh (uses its helpers: project, up_in, dc,
# exit_code, last_history, ok/notok/eq, now_ms, $WORK, $TAG).
#
# The seed's hello-airbyte-postgres-to-s3 and hello-airbyte-s3-to-s3
# docker-compose.yml files, UNCHANGED, on podman, against a real PostgreSQL
# (tests/scenarios/postgres.sh) and s3rver (tests/scenarios/s3rver.sh) on the
# host's 127.0.0.1:5432 and 127.0.0.1:9000, as the seed's secrets say:
#
#   - the containers share the host's network namespace: host-network.yml is
#     copied next to the compose file as docker-compose.override.yml
#     (docker-compose merges it; the command stays `docker-compose up`);
#   - s3rver accepts the seed's MinIO keys minio/miniostorage besides its own
#     S3RVER/S3RVER: s3rver-keys.js is preloaded (NODE_OPTIONS=--require);
#   - postgres-to-s3 uses the seed's secrets as they are when 5432 and 9000 are
#     free; when a port is taken (a system PostgreSQL, a colleague's test) the
#     server gets a free port and the copy of the secrets is rewritten to it
#     (the case says so; the compose file stays unchanged);
#   - s3-to-s3: the seed's source config reads Parquet (format.filetype
#     "parquet"), which our source-s3 does not support: the copy of the
#     secrets says "csv" (nothing else changes: bucket nyc-taxi-data, pattern
#     "**", stream nyc_green_2022, the seed's catalog). Its input is the CSV
#     objects the postgres-to-s3 case wrote, uploaded into nyc-taxi-data.
#
# Checks: exit codes 0 0 0; the S3 objects hold exactly the table's rows
# (tests/scenarios/postgres/compare.py); s3-to-s3's output rows are exactly the
# rows of its input objects (unwrap.py) and so, again, the table's rows.
# Env: S3_ROWS (default 10000) rows in public.airbyte_configs.

# (SC2154: repo, here, WORK, ... are run.sh's)
S3_ROWS=${S3_ROWS:-10000}
PG_SEED=${PG_SEED:-$repo/../shared/seed-examples/e2e/hello-airbyte-postgres-to-s3/docker}
S3_SEED=${S3_SEED:-$repo/../shared/seed-examples/e2e/hello-airbyte-s3-to-s3/docker}
s3c_pg=$WORK/pg
s3c_s3=$WORK/s3rver

s3c_cleanup() {
	"$repo/tests/scenarios/s3rver.sh" stop "$s3c_s3" >/dev/null 2>&1 || true
	"$repo/tests/scenarios/postgres.sh" stop "$s3c_pg" >/dev/null 2>&1 || true
}

s3c_port_free() { python3 -c 'import socket,sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }

s3c_s3() { # METHOD PATH [curl args...] (s3rver's own key)
	local m=$1 p=$2; shift 2
	curl -sS -f -X "$m" --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$S3_ENDPOINT/$p"
}
s3c_keys() { # BUCKET PREFIX (fewer than 1000 keys here)
	s3c_s3 GET "$1?list-type=2&prefix=$2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' | sort
}
s3c_fetch() { # BUCKET PREFIX DIR: every object under PREFIX into DIR (keys with / -> _)
	local k; rm -rf "$3"; mkdir -p "$3"
	for k in $(s3c_keys "$1" "$2"); do s3c_s3 GET "$1/$k" -o "$3/$(echo "$k" | tr / _)" || return 1; done
	ls "$3"/* >/dev/null 2>&1
}

s3_cases() {
	local c missing=
	for c in docker.io/airbyte/source-postgres:2.0.3 docker.io/airbyte/destination-s3:0.3.21 \
		docker.io/airbyte/source-s3:1.0.2; do
		podman image exists "$c" || missing="$missing $c"
	done
	if [ -n "$missing" ] || ! [ -f "$PG_SEED/docker-compose.yml" ] || ! [ -f "$S3_SEED/docker-compose.yml" ]; then
		notok "postgres-to-s3 / s3-to-s3 compose cases" "missing images:${missing:- none} (make images: build/bin/source-postgres, destination-s3, source-s3)" \
			"or seed dirs: $PG_SEED $S3_SEED"
		return
	fi
	local t_all t0 ms pg_port s3_port note=
	t_all=$(now_ms)
	# the postgres user (initdb, pg_ctl) must reach $WORK/pg
	chmod 755 "$WORK"
	pg_port=5432 s3_port=9000
	s3c_port_free 5432 || { pg_port=; note="$note 127.0.0.1:5432 is taken (another PostgreSQL): PostgreSQL on a free port, the secrets copy rewritten;"; }
	s3c_port_free 9000 || { s3_port=; note="$note 127.0.0.1:9000 is taken: s3rver on a free port, the secrets copy rewritten;"; }
	[ -n "$note" ] && say "NOTE:$note"
	t0=$(now_ms)
	if ! pg_port=$(PG_PORT=$pg_port "$repo/tests/scenarios/postgres.sh" start "$s3c_pg" 2>"$WORK/pg-start.err"); then
		notok "PostgreSQL starts on 127.0.0.1:${pg_port:-free port}" "$(tail -n 3 "$WORK/pg-start.err")"
		return
	fi
	# s3rver with the seed's MinIO keys too (the preload), on 9000
	if ! s3_port=$(NODE_OPTIONS="--require $here/s3rver-keys.js" S3RVER_EXTRA_KEYS=minio:miniostorage \
		S3RVER_PORT=${s3_port:-0} "$repo/tests/scenarios/s3rver.sh" start "$s3c_s3" \
		operator-s3-output nyc-taxi-data airbyte-replication-operator-s3-output 2>"$WORK/s3rver-start.err"); then
		notok "s3rver starts on 127.0.0.1:${s3_port:-free port}" "$(tail -n 3 "$WORK/s3rver-start.err")"
		return
	fi
	# shellcheck disable=SC1091
	. "$s3c_s3/s3rver.env"
	local psql_su=("$repo/tests/scenarios/postgres.sh" psql "$s3c_pg")
	if "${psql_su[@]}" -v rows="$S3_ROWS" -c 'SET client_min_messages = warning' \
		-f "$repo/tests/scenarios/postgres/load.sql" \
		-c "ALTER TABLE public.airbyte_configs OWNER TO docker" >"$WORK/pg-load.log" 2>&1; then
		ok "PostgreSQL on 127.0.0.1:$pg_port with $S3_ROWS rows in public.airbyte_configs, s3rver on 127.0.0.1:$s3_port accepting minio/miniostorage (took $(($(now_ms) - t0)) ms)"
	else
		notok "load $S3_ROWS rows" "$(tail -n 3 "$WORK/pg-load.log")"
		return
	fi

	# ------------------------------------------------------ postgres-to-s3
	project pgs3 "$PG_SEED"
	cp "$here/host-network.yml" "$WORK/pgs3/docker-compose.override.yml"
	cmp -s "$PG_SEED/docker-compose.yml" "$WORK/pgs3/docker-compose.yml" || notok "the seed's postgres-to-s3 compose file is used unchanged"
	local sec=$WORK/pgs3/secrets tmp=$WORK/tmp.json how="the seed's secrets unchanged"
	if [ "$pg_port" != 5432 ]; then
		jq --argjson p "$pg_port" '.port = $p' "$sec/source-file.json" >"$tmp" && mv "$tmp" "$sec/source-file.json"
		how="the seed's secrets with port $pg_port"
	fi
	if [ "$s3_port" != 9000 ]; then
		jq --arg e "$S3_ENDPOINT" '.s3_endpoint = $e' "$sec/destination-file.json" >"$tmp" && mv "$tmp" "$sec/destination-file.json"
		how="$how, endpoint $S3_ENDPOINT"
	fi
	t0=$(now_ms)
	up_in pgs3 "$WORK/pgs3.log" 180
	local rc=$?
	ms=$(($(now_ms) - t0))
	local codes
	codes="$(exit_code pgs3 init) $(exit_code pgs3 destination) $(exit_code pgs3 source)"
	local bucket cols
	bucket=$(jq -r .s3_bucket_name "$sec/destination-file.json")
	cols=$(jq -r '.streams[0].stream.json_schema.properties | keys | join(",")' "$sec/catalog-file.json")
	"${psql_su[@]}" -At -c "SET TimeZone = 'UTC'" \
		-c "SELECT row_to_json(t) FROM (SELECT $cols FROM public.airbyte_configs) t" >"$WORK/pgs3.want"
	if [ $rc = 0 ] && [ "$codes" = "0 0 0" ]; then
		ok "seed hello-airbyte-postgres-to-s3, compose file unchanged, $how: exit codes 0 0 0 (up took $ms ms)"
	else
		notok "seed hello-airbyte-postgres-to-s3" "compose rc $rc, exit codes init/destination/source: $codes" \
			"$(tail -n 6 "$WORK/pgs3.log" | tr '\n' '|')"
	fi
	if s3c_fetch "$bucket" public/airbyte_configs/ "$WORK/pgs3.obj" &&
		python3 "$repo/tests/scenarios/postgres/compare.py" "$WORK/pgs3.want" "$cols" "$WORK"/pgs3.obj/* >"$WORK/pgs3.cmp" 2>&1; then
		ok "postgres-to-s3: $(ls "$WORK/pgs3.obj" | wc -l) object(s) in s3://$bucket/public/airbyte_configs/ hold exactly the table's rows ($(head -n 1 "$WORK/pgs3.cmp"))"
	else
		notok "postgres-to-s3: the S3 objects hold exactly the table's rows" "$(head -n 3 "$WORK/pgs3.cmp" 2>/dev/null | tr '\n' '|')" \
			"keys: $(s3c_keys "$bucket" "" | head -n 5 | tr '\n' ' ')"
	fi
	eq "postgres-to-s3: the run record says succeeded, $S3_ROWS records committed" "succeeded $S3_ROWS" \
		"$(last_history pgs3 hello-airbyte-postgres-to-s3 '"\(.outcome) \(.records_committed)"')"

	# ---------------------------------------------------------- s3-to-s3
	project s3s3 "$S3_SEED"
	cp "$here/host-network.yml" "$WORK/s3s3/docker-compose.override.yml"
	cmp -s "$S3_SEED/docker-compose.yml" "$WORK/s3s3/docker-compose.yml" || notok "the seed's s3-to-s3 compose file is used unchanged"
	sec=$WORK/s3s3/secrets
	# Parquet -> CSV (our source-s3 reads csv/jsonl); the rest as the seed says
	jq '.format = {"filetype": "csv"}' "$sec/source-file.json" >"$tmp" && mv "$tmp" "$sec/source-file.json"
	how="the seed's secrets with format.filetype csv"
	if [ "$s3_port" != 9000 ]; then
		jq --arg e "$S3_ENDPOINT" '.provider.endpoint = $e' "$sec/source-file.json" >"$tmp" && mv "$tmp" "$sec/source-file.json"
		jq --arg e "$S3_ENDPOINT" '.s3_endpoint = $e' "$sec/destination-file.json" >"$tmp" && mv "$tmp" "$sec/destination-file.json"
		how="$how, endpoint $S3_ENDPOINT"
	fi
	local src_bucket dst_bucket stream f n=0
	src_bucket=$(jq -r .provider.bucket "$sec/source-file.json")
	dst_bucket=$(jq -r .s3_bucket_name "$sec/destination-file.json")
	stream=$(jq -r .dataset "$sec/source-file.json")
	# the postgres-to-s3 objects are its input (path_pattern "**": any key)
	for f in "$WORK"/pgs3.obj/*; do
		s3c_s3 PUT "$src_bucket/from-postgres/$(basename "$f")" -T "$f" -o /dev/null && n=$((n + 1))
	done
	t0=$(now_ms)
	up_in s3s3 "$WORK/s3s3.log" 180
	rc=$?
	ms=$(($(now_ms) - t0))
	codes="$(exit_code s3s3 init) $(exit_code s3s3 destination) $(exit_code s3s3 source)"
	if [ $rc = 0 ] && [ "$codes" = "0 0 0" ]; then
		ok "seed hello-airbyte-s3-to-s3, compose file unchanged, $how: $n input object(s), exit codes 0 0 0 (up took $ms ms)"
	else
		notok "seed hello-airbyte-s3-to-s3" "compose rc $rc, exit codes init/destination/source: $codes" \
			"$(tail -n 6 "$WORK/s3s3.log" | tr '\n' '|')"
	fi
	if s3c_fetch "$dst_bucket" "$stream/" "$WORK/s3s3.obj" &&
		python3 "$here/unwrap.py" "$WORK/s3s3.inner.csv" "$WORK"/s3s3.obj/* -- "$WORK"/pgs3.obj/* >"$WORK/s3s3.cmp" 2>&1 &&
		python3 "$repo/tests/scenarios/postgres/compare.py" "$WORK/pgs3.want" "$cols" "$WORK/s3s3.inner.csv" >"$WORK/s3s3.cmp2" 2>&1; then
		ok "s3-to-s3: s3://$dst_bucket/$stream/ holds exactly the rows of its input objects ($(head -n 1 "$WORK/s3s3.cmp")), i.e. the table's rows ($(head -n 1 "$WORK/s3s3.cmp2"))"
	else
		notok "s3-to-s3: the output holds exactly the input objects' rows" \
			"$(cat "$WORK/s3s3.cmp" "$WORK/s3s3.cmp2" 2>/dev/null | head -n 4 | tr '\n' '|')" \
			"keys: $(s3c_keys "$dst_bucket" "" | head -n 5 | tr '\n' ' ')"
	fi
	s3c_cleanup
	say "postgres-to-s3 + s3-to-s3 cases took $(($(now_ms) - t_all)) ms"
}
