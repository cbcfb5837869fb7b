#!/usr/bin/env bash
# Compose tests on real containers (podman + Debian's docker-compose 1.29).
#
#   tests/compose/run.sh            (make e2e-compose: also builds the images)
#
# Runs the seed's hello-airbyte-file-to-csv docker-compose.yml UNCHANGED
# (twice, with `down` in between: the state survives in the storage volume),
# our Faros scenario, and lifecycle cases (stop during a run, a failing
# destination, stale pipes left by a killed run, a missing AIRBYTE_ENTRYPOINT,
# either start order without init); then the seed's postgres-to-s3 and
# s3-to-s3 compose files UNCHANGED against a real PostgreSQL and s3rver on
# 127.0.0.1 (tests/compose/s3-cases.sh). Prints `ok N - ...` / `not ok N - ...`
# and `N passed, N failed`; exits non-zero on any failure. Everything it
# starts (containers, volumes, networks, the podman service when it started
# it) is removed at the end, also on failure or Ctrl-C.
#
# Env: SEED_DIR (default the shared seed, else examples/), PODMAN_DIR (a
# running scripts/podman-setup.sh dir to reuse; default: a private one), KEEP_WORK=1 keeps the work dir, NO_BUILD=1 skips the image
# build, ONLY=s3 runs only the postgres-to-s3 / s3-to-s3 cases, S3_ROWS (10000).
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/tests/compose
SEED_DIR=${SEED_DIR:-$repo/../shared/seed-examples/e2e/hello-airbyte-file-to-csv/docker}
[ -f "$SEED_DIR/docker-compose.yml" ] || SEED_DIR=$repo/examples/hello-airbyte-file-to-csv
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ard-compose.XXXXXX")
# our own podman service by default (a `make clean` cannot pull its files away)
PODMAN_DIR=${PODMAN_DIR:-$WORK/podman}
TAG=c$$
PASS=0 FAIL=0 N=0
projects=()
started_service=0
t_start=$(date +%s)

say() { echo "# $*"; }
ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
notok() {
	N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"
	shift
	local l
	for l in "$@"; do echo "#   $l"; done
}
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d" "failed: $*"; fi; }
eq() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "expected '$2', got '$3'"; fi; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${projects[@]}"; do
		(cd "$WORK/$p" 2>/dev/null && timeout 60 docker-compose -p "$TAG$p" down -v -t 1 --remove-orphans) \
			>>"$WORK/cleanup.log" 2>&1 || true
	done
	# anything compose did not know about (a `run` container, a volume)
	podman ps -aq --filter "label=com.docker.compose.project" --format '{{.ID}} {{index .Labels "com.docker.compose.project"}}' 2>/dev/null |
		awk -v t="$TAG" 'index($2, t) == 1 { print $1 }' | xargs -r podman rm -f -t 1 >/dev/null 2>&1 || true
	podman volume ls -q 2>/dev/null | grep "^$TAG" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
	s3c_cleanup
	[ $started_service = 1 ] && "$repo/scripts/podman-setup.sh" stop "$PODMAN_DIR"
	if [ "${KEEP_WORK:-0}" = 1 ]; then say "work dir kept: $WORK"; else rm -rf "$WORK"; fi
	exit $rc
}
# shellcheck source=tests/compose/s3-cases.sh
. "$here/s3-cases.sh"
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------- setup
if ! [ -f "$PODMAN_DIR/service.pid" ] || ! kill -0 "$(cat "$PODMAN_DIR/service.pid")" 2>/dev/null; then
	"$repo/scripts/podman-setup.sh" start "$PODMAN_DIR" || { echo "not ok 1 - podman service"; exit 1; }
	started_service=1
fi
# shellcheck disable=SC1091
. "$PODMAN_DIR/env"
if [ "${NO_BUILD:-0}" != 1 ]; then
	b0=$(now_ms)
	"$repo/deploy/build-images.sh" all || { echo "not ok 1 - building the images"; exit 1; }
	say "images ready in $(($(now_ms) - b0)) ms"
fi

# project NAME FROM: a copy of a compose dir (with its secrets/ and local/)
project() {
	rm -rf "${WORK:?}/$1"
	cp -r "$2" "$WORK/$1"
	chmod -R u+w "$WORK/$1"
	mkdir -p "$WORK/$1/local"
	projects+=("$1")
}
# dc NAME ARGS...: docker-compose in the project's dir (${PWD} is that dir)
dc() { local p=$1; shift; (cd "$WORK/$p" && docker-compose -p "$TAG$p" "$@"); }
ctr() { echo "${TAG}$1_$2_1"; }
exit_code() { podman inspect --format '{{.State.ExitCode}}' "$(ctr "$1" "$2")" 2>/dev/null || echo none; }
vol() { podman volume inspect --format '{{.Mountpoint}}' "$TAG$1_$2" 2>/dev/null; }
store_file() { echo "$(vol "$1" storage)/store/$2/$3"; }
history_lines() { local f; f=$(store_file "$1" "$2" history.jsonl); [ -f "$f" ] && wc -l <"$f" || echo 0; }
last_history() { tail -n 1 "$(store_file "$1" "$2" history.jsonl)" 2>/dev/null | jq -r "$3" 2>/dev/null; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo missing; }
# up NAME LOG [TIMEOUT]: docker-compose up in the foreground
up() { timeout "${3:-180}" docker-compose -p "$TAG$1" up --no-color >"$2" 2>&1; }
up_in() { local p=$1; shift; (cd "$WORK/$p" && up "$p" "$@"); }
wait_for() { # wait_for SECONDS CMD...
	local end=$(($(date +%s) + $1)); shift
	until "$@"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.2; done
}

finish() {
	say "compose tests took $(($(date +%s) - t_start)) s"
	echo "$PASS passed, $FAIL failed"
	[ $FAIL = 0 ]
	exit
}
if [ "${ONLY:-}" = s3 ]; then
	s3_cases
	finish
fi

# ------------------------------------------------- 1-2: the seed, unchanged
seed_criterion() { # the seed's own test: as many output lines as input lines
	[ "$(lines "$WORK/seed/local/_airbyte_raw_test.csv")" = "$(lines "$WORK/seed/local/input.csv")" ]
}
project seed "$SEED_DIR"
cmp -s "$SEED_DIR/docker-compose.yml" "$WORK/seed/docker-compose.yml" || notok "the seed's compose file is used unchanged"
t0=$(now_ms)
up_in seed "$WORK/seed-1.log"
rc=$?
ms=$(($(now_ms) - t0))
codes="$(exit_code seed init) $(exit_code seed destination) $(exit_code seed source)"
if [ $rc = 0 ] && [ "$codes" = "0 0 0" ] && seed_criterion; then
	echo "Replication successful."
	ok "seed hello-airbyte-file-to-csv, compose file unchanged: $(lines "$WORK/seed/local/input.csv") lines in, as many out (up took $ms ms)"
else
	notok "seed hello-airbyte-file-to-csv run 1" "compose rc $rc, exit codes init/destination/source: $codes" \
		"lines in $(lines "$WORK/seed/local/input.csv"), out $(lines "$WORK/seed/local/_airbyte_raw_test.csv")" \
		"$(tail -n 5 "$WORK/seed-1.log" | tr '\n' '|')"
fi

# run 2: `down` (volumes kept), a fresh output file, `up` again
dc seed down -t 1 >"$WORK/seed-down.log" 2>&1
rm -f "$WORK/seed/local/_airbyte_raw_test.csv"
up_in seed "$WORK/seed-2.log"
rc=$?
codes="$(exit_code seed init) $(exit_code seed destination) $(exit_code seed source)"
if [ $rc = 0 ] && [ "$codes" = "0 0 0" ] && seed_criterion && grep -q 'run 2, input state: STREAM' "$WORK/seed-2.log"; then
	echo "Replication successful."
	ok "seed run 2 after down + up: read the committed state from the storage volume (run 2, input state: STREAM)"
else
	notok "seed run 2 after down + up" "compose rc $rc, exit codes $codes" "$(grep -m1 'input state' "$WORK/seed-2.log")"
fi
eq "the storage volume's history holds both runs" 2 "$(history_lines seed hello-airbyte-file-to-csv)"
st=$(dc seed run --rm init airbyte-replication-driver --command state --replication hello-airbyte-file-to-csv \
	--store-path /storage/store 2>"$WORK/seed-state.err")
if [ "$(echo "$st" | jq -r '.run' 2>/dev/null)" = 2 ] &&
	[ "$(echo "$st" | jq -r '.state[0].stream.stream_descriptor.name' 2>/dev/null)" = test ]; then
	ok "the seed's state command in a container: run 2, stream 'test'"
else
	notok "the seed's state command in a container" "got: $(echo "$st" | head -c 300)" "$(tail -n 3 "$WORK/seed-state.err")"
fi

# ------------------------------------------------ 3: the Faros destination
project faros "$here/faros"
t0=$(now_ms)
up_in faros "$WORK/faros.log" 300
rc=$?
ms=$(($(now_ms) - t0))
codes="$(exit_code faros init) $(exit_code faros destination) $(exit_code faros source)"
cursor=$(jq -r '.state[0].stream.stream_state.cursor' "$(store_file faros faros-users state.json)" 2>/dev/null)
committed=$(last_history faros faros-users '.records_committed')
if [ $rc = 0 ] && [ "$codes" = "0 0 0" ] && [ "$cursor" = 100000 ] && [ "$committed" = 100000 ] &&
	grep -q 'Processed 100000 records' "$WORK/faros.log"; then
	ok "Faros destination (real npm connector, dry run): 100000 records, final STATE cursor 100000 committed (up took $ms ms)"
else
	notok "Faros destination scenario" "compose rc $rc, exit codes $codes, state cursor '$cursor', committed '$committed'" \
		"$(grep -v RECORD "$WORK/faros.log" | tail -n 5 | tr '\n' '|')"
fi

# ------------------------------- 4: stop during a run, zombies, PID 1 signals
project stop "$here/slow"
dc stop up -d >"$WORK/stop-up.log" 2>&1
state_f=$(store_file stop slow state.json)
if wait_for 60 test -s "$state_f"; then
	sleep 1.5  # the wrapper's orphans (sleep 0.2) have exited by now
	zombies=$(podman exec "$(ctr stop source)" ps -o stat,ppid 2>/dev/null | awk '$1 ~ /^Z/' | wc -l)
	leftover=$(podman exec "$(ctr stop source)" ps -o comm 2>/dev/null | grep -c '^sleep' || true)
	eq "orphans of the connector are reaped by the driver (PID 1): no zombie, no sleeper left" "0 0" "$zombies $leftover"
	# the client alone (python, ~1.3 s here) is most of `docker-compose stop`
	t0=$(now_ms)
	dc stop ps >/dev/null 2>&1
	client=$(($(now_ms) - t0))
	t0=$(now_ms)
	dc stop stop >"$WORK/stop-stop.log" 2>&1
	ms=$(($(now_ms) - t0))
	fin=$(podman inspect --format '{{.State.FinishedAt.UnixNano}}' "$(ctr stop source)" "$(ctr stop destination)" 2>/dev/null |
		sort -n | tail -n 1)
	if [ "$ms" -lt 2000 ]; then
		ok "docker-compose stop during a run returns in under 2 s (took $ms ms; the client alone: $client ms)"
	elif [ $((ms - client)) -lt 2000 ] && [ "$(exit_code stop source)" = 143 ]; then
		ok "docker-compose stop during a run: $ms ms, of which $client ms is the client's own start-up (busy machine)"
	else
		notok "docker-compose stop during a run returns in under 2 s" "took $ms ms (the client alone: $client ms)"
	fi
	[ -n "$fin" ] && say "containers exited $((fin / 1000000 - t0)) ms after the stop command started"
	eq "both drivers exit 143 (SIGTERM)" "143 143" "$(exit_code stop source) $(exit_code stop destination)"
	dc stop logs --no-color source destination >"$WORK/stop.log" 2>&1
	check "the source connector got the signal (it logged 'terminated')" grep -q 'source-connector: .*terminated' "$WORK/stop.log"
	eq "the run record says stopped" "stopped 143" "$(last_history stop slow '"\(.outcome) \(.exit_code)"')"
	cur=$(jq -r '.state[0].stream.stream_state.cursor' "$state_f" 2>/dev/null)
	committed=$(last_history stop slow '.records_committed')
	kept() { [ -n "$cur" ] && [ "$cur" != null ] && [ "$cur" -gt 0 ] && [ "$cur" = "$committed" ]; }
	check "committed state kept (cursor $cur = records committed $committed)" kept
else
	notok "slow replication committed a state within 60 s" "$(dc stop logs --no-color 2>&1 | tail -n 5 | tr '\n' '|')"
fi

# -------------------------------------- 5: stale pipes from a SIGKILLed run
project stale "$here/slow"
dc stale up -d >"$WORK/stale-up.log" 2>&1
if wait_for 60 test -s "$(store_file stale slow state.json)"; then
	# SIGKILL the destination (the owner of the pipes): nothing cleans up;
	# the source driver sees the control socket close and stops by itself
	podman kill -s KILL "$(ctr stale destination)" >/dev/null 2>&1
	wait_for 20 test "$(podman inspect --format '{{.State.Running}}' "$(ctr stale source)")" = false
	pipes=$(vol stale pipes)
	check "a SIGKILLed destination leaves stale pipes in the volume (data.fifo, control.sock)" \
		test -p "$pipes/data.fifo" -a -S "$pipes/control.sock"
	eq "... and the source driver stops by itself: exit codes destination/source" "137 1" \
		"$(exit_code stale destination) $(exit_code stale source)"
	# the same replication again, now quick: it must replace the stale entries
	echo '{"stream_names":["users"],"records":5000,"state_every":1000,"data_template":{"login":"user{{id}}","type":"User"}}' \
		>"$WORK/stale/secrets/source-file.json"
	up_in stale "$WORK/stale-2.log" 120
	rc=$?
	eq "the next run over the stale pipes succeeds" "0 0 0 5000" \
		"$rc $(exit_code stale destination) $(exit_code stale source) $(jq -r '.state[0].stream.stream_state.cursor' "$(store_file stale slow state.json)" 2>/dev/null)"
else
	notok "stale pipes: the first run committed nothing" "$(dc stale logs --no-color 2>&1 | tail -n 5 | tr '\n' '|')"
fi

# ------------------------------------------- 6: a destination that fails
project fail "$SEED_DIR"
# a config error: destination_path is a file, not a directory
echo '{"destination_path": "/local/input.csv", "delimiter_type": {"delimiter": ","}}' >"$WORK/fail/secrets/destination-file.json"
t0=$(now_ms)
up_in fail "$WORK/fail.log" 120
rc=$?
ms=$(($(now_ms) - t0))
codes="$(exit_code fail destination) $(exit_code fail source)"
eq "a failing destination: both drivers exit 1, compose returns (took $ms ms)" "0 1 1" "$rc $codes"
reason=$(last_history fail hello-airbyte-file-to-csv '.failure_reason')
check "the run record says why: $reason" test -n "$reason" -a "$reason" != null
check "no output file written" test ! -s "$WORK/fail/local/_airbyte_raw_test.csv"

# ------------------------------------------ 7: AIRBYTE_ENTRYPOINT missing
out=$(dc fail run --rm -e AIRBYTE_ENTRYPOINT= destination 2>&1)
rc=$?
if [ $rc = 2 ] && echo "$out" | grep -q 'set AIRBYTE_ENTRYPOINT'; then
	ok "no AIRBYTE_ENTRYPOINT: exit 2 and a clear message"
else
	notok "no AIRBYTE_ENTRYPOINT: exit 2 and a clear message" "rc $rc: $(echo "$out" | tail -n 2 | tr '\n' '|')"
fi

# ----------------------- 8-9: either start order, without init (fresh volumes)
order_test() { # NAME FIRST SECOND
	project "$1" "$SEED_DIR"
	dc "$1" up --no-deps -d "$2" >"$WORK/$1-1.log" 2>&1
	sleep 2
	(cd "$WORK/$1" && timeout 120 docker-compose -p "$TAG$1" up --no-deps --no-color "$3" >"$WORK/$1-2.log" 2>&1)
	wait_for 30 test "$(podman inspect --format '{{.State.Running}}' "$(ctr "$1" "$2")")" = false
	local got
	got="$(exit_code "$1" "$2") $(exit_code "$1" "$3") $(lines "$WORK/$1/local/_airbyte_raw_test.csv")"
	eq "$2 started first, $3 2 s later, no init container: the driver comes from the image" \
		"0 0 $(lines "$WORK/$1/local/input.csv")" "$got"
}
order_test order1 source destination
order_test order2 destination source

# ---------------- 10: the seed's postgres-to-s3 and s3-to-s3, real servers
s3_cases
finish
