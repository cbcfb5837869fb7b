#!/usr/bin/env bash
# Fault matrix, end to end with real processes (see docs/reliability.md).
#   tests/fault/run.sh                      everything, 100 iterations per SIGKILL target
#   FAULT_ITERATIONS=10 tests/fault/run.sh  CI size (under 5 minutes)
#   tests/fault/run.sh kill_src_conn stale  only the groups named
# Env: FAULT_ITERATIONS (SIGKILL loops, default 100), FAULT_SIGNAL_ITERATIONS
# (SIGTERM/SIGINT loops per signal and target, default FAULT_ITERATIONS/5),
# FAULT_SEED (random delays; default: time), FAULT_KEEP=1 (keep /tmp/abfault.*),
# BIN (driver binaries, default build/bin), FAULT_MEM_LIMIT_KB (16384).
# Prints TAP-like "ok N - ..." lines, "# WARNING: ..." for known gaps, and
# ends with "# N cases, N checks, N failed, N warnings"; exit 1 on failure.
. "$(dirname "$0")/lib.sh"
ITER=${FAULT_ITERATIONS:-100}
SIG_ITER=${FAULT_SIGNAL_ITERATIONS:-$(((ITER + 4) / 5))}
SEED=${FAULT_SEED:-$(date +%s)}
RANDOM=$SEED
echo "# seed $SEED, $ITER iterations per SIGKILL target, $SIG_ITER per signal target; driver $DRIVER"
[ -x "$DRIVER" ] || { echo "not ok - no driver at $DRIVER (make first)"; exit 1; }
ONLY=" ${*:-} "
want() { [ "$ONLY" = "  " ] || [[ "$ONLY" == *" $1 "* ]]; }

# a long source: ~6000 records over ~7 s, a state every 20 records per stream
LONG='{"streams":{"users":3000,"orders":3000},"state_every":20,"sleep":0.001}'
FAST='{"streams":{"users":3000,"orders":3000},"state_every":20}'
# delay: a random delay between $1 and $2 seconds (10 ms steps)
delay() { local lo=${1/./} hi=${2/./} v; lo=$((10#$lo)) hi=$((10#$hi)); v=$((lo + RANDOM % (hi - lo + 1))); printf '%d.%02d' $((v / 100)) $((v % 100)); }
pair() { # start both roles, in a random order
	if [ $((RANDOM % 2)) = 0 ]; then start_dst "$@"; start_src; else start_src; start_dst "$@"; fi
}
full_state() { # full_state: the stored cursors are the whole source
	eq "$1" '{"users":3000,"orders":3000}' "$(jq -c '[.state[] | {(.stream.stream_descriptor.name): .stream.stream_state.cursor}] | add' "$STORE/r/state.json" 2>/dev/null)"
}
# the next run on the same store and pipes dir finishes the job
next_run_succeeds() {
	local h0 src_rc dst_rc
	h0=$( [ -f "$STORE/r/history.jsonl" ] && wc -l <"$STORE/r/history.jsonl" || echo 0)
	source_config "$FAST"
	pair
	wait_rc $SRC src_rc
	wait_rc $DST dst_rc
	eq "next run: source exits 0" 0 "$src_rc"
	eq "next run: destination exits 0" 0 "$dst_rc"
	inv_history $((h0 + 1)) succeeded
	full_state "next run: the whole source is committed"
	inv_state exact
	inv_no_procs
	inv_clean
}

# --- 1. SIGKILL at a random point, in a loop ------------------------------------
kill_one() { # kill_one src|dst|src_conn|dst_conn ITERATION
	local what=$1 d src_rc dst_rc victim
	new_case "kill-$what-$2"
	source_config "$LONG"
	pair
	case $what in
	src) victim=$SRC; d=$(delay 0.10 3.00) ;;
	dst) victim=$DST; d=$(delay 0.10 3.00) ;;
	src_conn) wait_conn source || { not_ok "no source connector"; return; }; victim=$CONN; d=$(delay 0.00 2.50) ;;
	dst_conn) wait_conn destination || { not_ok "no destination connector"; return; }; victim=$CONN; d=$(delay 0.00 2.50) ;;
	esac
	sleep "$d"
	echo "# SIGKILL $what (pid $victim) after $d s"
	kill -9 "$victim"
	wait_rc $SRC src_rc
	wait_rc $DST dst_rc
	case $what in
	src)
		eq "source driver SIGKILLed: exit 137" 137 "$src_rc"
		# before the handshake the destination cannot know a source existed
		oneof "the destination fails (1) or times out waiting (3)" "$dst_rc" 1 3
		inv_history 1 failed timeout
		invariants exact ;;
	dst)
		eq "destination driver SIGKILLed: exit 137" 137 "$dst_rc"
		oneof "the source fails (1) or times out connecting (3)" "$src_rc" 1 3
		inv_history 0 # nobody is left to write it: documented
		invariants any stale-ok
		next_run_succeeds ;;
	src_conn)
		eq "source connector SIGKILLed: the source driver exits 1" 1 "$src_rc"
		eq "the destination driver exits 1" 1 "$dst_rc"
		inv_history 1 failed
		check "the reason names the signal" grep -qi 'signal 9\|killed\|SIGKILL' <<<"$(tail -n 1 "$STORE/r/history.jsonl" | jq -r .failure_reason)"
		invariants exact ;;
	dst_conn)
		eq "destination connector SIGKILLed: the destination driver exits 1" 1 "$dst_rc"
		eq "the source driver exits 1" 1 "$src_rc"
		inv_history 1 failed
		invariants exact ;;
	esac
}
for what in src dst src_conn dst_conn; do
	want "kill_$what" || want kill || continue
	for i in $(seq "$ITER"); do kill_one "$what" "$i"; done
done

# --- 2. SIGTERM / SIGINT at a random point ---------------------------------------
signal_one() { # signal_one TERM|INT run|src|dst ITERATION
	local sig=$1 what=$2 num d rc src_rc dst_rc
	num=$(kill -l "$sig")
	new_case "sig$sig-$what-$3"
	source_config "$LONG"
	d=$(delay 0.10 3.00)
	if [ "$what" = run ]; then
		start_run
		sleep "$d"
		echo "# SIG$sig run after $d s"
		kill -"$sig" $RUN
		wait_rc $RUN rc
		eq "SIG$sig to run: exit $((128 + num))" $((128 + num)) "$rc"
	else
		pair
		sleep "$d"
		echo "# SIG$sig $what after $d s"
		[ "$what" = src ] && kill -"$sig" $SRC || kill -"$sig" $DST
		wait_rc $SRC src_rc
		wait_rc $DST dst_rc
		if [ "$what" = src ]; then
			eq "SIG$sig to the source role: exit $((128 + num))" $((128 + num)) "$src_rc"
			# before the handshake the peer cannot be told: it times out (3)
			oneof "the destination follows with the same outcome" "$dst_rc" $((128 + num)) 3
		else
			eq "SIG$sig to the destination role: exit $((128 + num))" $((128 + num)) "$dst_rc"
			# a source whose connection was still in the listen backlog sees
			# the destination go without an answer: failed (1)
			oneof "the source follows with the same outcome" "$src_rc" $((128 + num)) 3 1
		fi
	fi
	# a destination that timed out waiting for the source records just that
	if [ "$what" = src ] && [ "${dst_rc:-}" = 3 ]; then
		inv_history 1 timeout
	else
		inv_history 1 stopped
	fi
	invariants exact
}
if want signals; then
	for sig in TERM INT; do
		for what in run src dst; do
			for i in $(seq "$SIG_ITER"); do signal_one $sig $what "$i"; done
		done
	done
fi

# --- 3. single cases -------------------------------------------------------------------
if want slow_destination; then
	# backpressure: the destination takes ~1 ms per record, the source writes
	# 400-byte records as fast as it can; the source connector must be held
	# back (blocked on its stdout) and the drivers must not buffer
	new_case slow-destination
	# 60000 records (~6.6 MB); the destination is slow (>= 1 ms) for its first 3000
	source_config '{"streams":{"users":30000,"orders":30000},"state_every":500}'
	dest_config '{"sleep_per_record":0.001,"sleep_records":3000}'
	pair
	wait_conn source && sconn=$CONN
	sleep 2.5
	# bytes the source connector wrote vs lines the destination took in
	wrote=$(awk '/^wchar/ {print $2}' /proc/$sconn/io 2>/dev/null)
	took=$(wc -c <"$INLOG")
	echo "# after 2.5 s: the source connector wrote $wrote bytes, the destination received $took"
	check "backpressure: the source is at most 4 MiB ahead of the destination ($((wrote - took)) bytes)" \
		[ $((wrote - took)) -lt $((4 << 20)) ]
	check "the source connector is blocked, not finished (it would need 60000 records)" [ -d /proc/$sconn ]
	wait_rc $SRC src_rc
	wait_rc $DST dst_rc
	eq "slow destination: source exits 0" 0 "$src_rc"
	eq "slow destination: destination exits 0" 0 "$dst_rc"
	inv_history 1 succeeded
	invariants exact
	eq "slow destination: all 60000 records delivered" 60000 "$(wc -l <"$OUT")"
fi

if want hung_destination; then
	# the destination stops reading but keeps its stdin open: nothing fails,
	# nobody makes progress; the heartbeat timeout must end the run
	new_case hung-destination
	source_config '{"streams":{"users":200000},"state_every":50}'
	dest_config '{"hang_after_records":1000}'
	start=$(date +%s)
	start_run --heartbeat-timeout 3 --grace-period 1 --drain-timeout 3
	wait_rc $RUN rc
	took=$(($(date +%s) - start))
	oneof "a destination that stops reading: the run ends with 3 (timeout) or 1 (exit $rc after $took s)" "$rc" 3 1
	check "within heartbeat + drain + grace + slack: 15 s (took $took s)" [ "$took" -lt 15 ]
	inv_history 1 timeout failed
	reason=$(tail -n 1 "$STORE/r/history.jsonl" | jq -r .failure_reason)
	grep -qi 'source' <<<"$reason" && warn "finding: a destination that stops reading is reported as a silent source: '$reason'"
	invariants exact

	# the destination closes its stdin: the source sees EPIPE
	new_case closed-destination
	source_config '{"streams":{"users":200000},"state_every":50}'
	dest_config '{"close_after_records":1000}'
	start=$(date +%s)
	start_run --heartbeat-timeout 30 --grace-period 1 --drain-timeout 3
	wait_rc $RUN rc
	took=$(($(date +%s) - start))
	eq "a destination that closes its input: exit 1" 1 "$rc"
	check "within 15 s (took $took s)" [ "$took" -lt 15 ]
	inv_history 1 failed
	invariants exact
fi

if want hung_source; then
	new_case hung-source
	source_config '{"streams":{"users":100},"state_every":2,"hang_after":7}'
	start=$(date +%s)
	start_run --heartbeat-timeout 2 --grace-period 1
	wait_rc $RUN rc
	eq "a source that stops writing: exit 3" 3 "$rc"
	check "soon after the heartbeat timeout ($(($(date +%s) - start)) s)" [ $(($(date +%s) - start)) -lt 12 ]
	inv_history 1 timeout
	invariants exact
	# (a loaded machine may start python slower than the heartbeat timeout)
	if [ "$(grep -c RECORD "$INLOG" 2>/dev/null)" = 7 ]; then
		eq "states before the silence are kept" 6 "$(jq -c '.state[0].stream.stream_state.cursor' "$STORE/r/state.json")"
	fi
fi

if want long_line; then
	new_case long-line
	source_config '{"streams":{"users":50},"state_every":5,"big_record":5000}'
	start_run --max-line-bytes 4096
	wait_rc $RUN rc
	eq "a line over --max-line-bytes: exit 1" 1 "$rc"
	inv_history 1 failed
	check "the reason says the line is too long" grep -qi 'long\|limit\|max' <<<"$(tail -n 1 "$STORE/r/history.jsonl" | jq -r .failure_reason)"
	invariants exact
	check "the destination never received the long line" [ "$(jq -c 'select(.record.data.blob)' "$INLOG" 2>/dev/null | wc -l)" = 0 ]
fi

if want garbage; then
	seeds="1 2 3 4 5"
	[ "$ITER" -lt 50 ] && seeds="1 2"
	for seed in $seeds; do
		new_case garbage-$seed
		source_config "{\"streams\":{\"users\":300,\"orders\":300},\"state_every\":10,\"garbage\":400,\"garbage_seed\":$seed,\"garbage_tail\":$((seed * 300))}"
		start_run
		wait_rc $RUN rc
		eq "binary garbage (seed $seed) from the source: logged, not forwarded, exit 0" 0 "$rc"
		inv_history 1 succeeded
		invariants exact
		full=$(jq -c '[.state[] | {(.stream.stream_descriptor.name): .stream.stream_state.cursor}] | add' "$STORE/r/state.json")
		eq "every record came through" '{"users":300,"orders":300}' "$full"
		check "the destination received only valid JSON messages" jq -e -s 'all(.type == "RECORD" or .type == "STATE")' "$INLOG"
		check "invalid lines counted" jq -e '.invalid_lines >= 400' <(tail -n 1 "$STORE/r/history.jsonl")
	done
fi

if want stale; then
	# a crashed run left a FIFO, a socket nobody listens on and a temp state file
	new_case stale
	source_config "$FAST"
	mkdir -p "$P" "$STORE/r"
	mkfifo "$P/data.fifo"
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$P/control.sock"
	# what fs.c leaves when the destination driver (pid 12345) dies mid-commit
	echo '{"partial' >"$STORE/r/state.json.tmp.12345"
	pair
	wait_rc $SRC src_rc
	wait_rc $DST dst_rc
	eq "stale FIFO and socket: source exits 0" 0 "$src_rc"
	eq "stale FIFO and socket: destination exits 0" 0 "$dst_rc"
	inv_history 1 succeeded
	full_state "the whole source is committed"
	invariants exact
	# a regular file where the FIFO goes, and a directory where the socket goes
	new_case stale-wrong-types
	source_config "$FAST"
	mkdir -p "$P"
	echo junk >"$P/data.fifo"
	pair
	wait_rc $SRC src_rc
	wait_rc $DST dst_rc
	eq "a regular file named data.fifo is replaced: destination exits 0" 0 "$dst_rc"
	eq "source exits 0" 0 "$src_rc"
	invariants exact
fi

if want concurrent; then
	# same pipes dir: the second destination is refused, the first completes
	new_case concurrent-same-pipes
	source_config '{"streams":{"users":300},"state_every":10,"sleep":0.002}'
	start_dst
	d1=$DST
	sleep 0.3
	start_dst
	d2=$DST
	wait_rc $d2 rc2
	eq "a second destination on a busy pipes dir exits 2" 2 "$rc2"
	start_src
	wait_rc $SRC src_rc
	wait_rc $d1 dst_rc
	eq "the first pair still completes (source)" 0 "$src_rc"
	eq "the first pair still completes (destination)" 0 "$dst_rc"
	inv_history 1 succeeded
	invariants exact

	# separate pipes dirs, the same store: two runs of one replication at once
	new_case concurrent-same-store
	source_config '{"streams":{"users":600,"orders":600},"state_every":10,"sleep":0.002}'
	P1=$C/pipes1 P2=$C/pipes2
	P=$P1 start_dst; da=$DST
	P=$P2 start_dst; db=$DST
	P=$P1 start_src; sa=$SRC
	P=$P2 start_src; sb=$SRC
	wait_rc $sa rsa; wait_rc $sb rsb; wait_rc $da rda; wait_rc $db rdb
	echo "# two concurrent runs on one store: exits source $rsa/$rsb, destination $rda/$rdb"
	nrec=$(wc -l <"$STORE/r/history.jsonl" 2>/dev/null || echo 0)
	if [ "$rda" = 0 ] && [ "$rdb" = 0 ]; then
		warn "known gap: two runs of the same replication on separate pipes dirs both ran to completion on one store (no per-replication lock refused the second); $nrec history records"
	else
		ok "the second run on the same store was refused (exits $rda/$rdb) ($(grep -h -i 'lock\|already\|running' "$C/dst.log" | head -1 | cut -c1-150))"
	fi
	inv_state any
	P=$P1 inv_clean
	P=$P2 inv_clean
	inv_no_procs
	check "history.jsonl is valid JSON lines" jq -e . "$STORE/r/history.jsonl"
fi

if want bad_states; then
	# states echoed out of order: an older echo after a newer one is ignored
	# (committing it would move the state back)
	new_case states-out-of-order
	source_config '{"streams":{"users":100},"state_every":10}'
	dest_config '{"reorder_states":true}'
	start_run
	wait_rc $RUN rc
	eq "out-of-order states: exit 0" 0 "$rc"
	inv_history 1 succeeded
	invariants any
	cur=$(jq '.state[0].stream.stream_state.cursor' "$STORE/r/state.json")
	newest=$(jq -s '[.[] | select(.phase == "P") | .state.stream.stream_state.cursor] | max' "$SLOG")
	eq "the stored state is the newest the destination confirmed, not the stale echo" "$newest" "$cur"

	new_case states-unknown-stream
	source_config '{"streams":{"users":50},"state_every":10}'
	dest_config '{"unknown_state_stream":"ghost"}'
	start_run
	wait_rc $RUN rc
	oneof "states for a stream outside the catalog: exit 0 or 1 ($rc)" "$rc" 0 1
	check "the unknown stream is not stored" jq -e '[.state[].stream.stream_descriptor.name] | index("ghost") == null' "$STORE/r/state.json"
	check "it is reported" grep -q "ghost" "$C/run.log"
	inv_history 1 succeeded failed
	invariants any
	eq "the known stream's state is committed" 50 "$(jq '.state[] | select(.stream.stream_descriptor.name == "users") | .stream.stream_state.cursor' "$STORE/r/state.json")"

	# the marker proves each stored payload came through the destination
	new_case states-marker
	source_config '{"streams":{"users":57,"orders":33},"state_every":10}'
	dest_config '{"state_marker":true}'
	start_run
	wait_rc $RUN rc
	eq "marked states: exit 0" 0 "$rc"
	check "every stored payload carries the destination's marker" jq -e '[.state[].stream.stream_state.via] | all(. == "destination")' "$STORE/r/state.json"
	full=$(jq -c '[.state[] | {(.stream.stream_descriptor.name): .stream.stream_state.cursor}] | add' "$STORE/r/state.json")
	eq "and they are the last ones" '{"users":57,"orders":33}' "$full"
	invariants exact
fi

if want stubborn; then
	for side in source destination both; do
		new_case ignore-sigterm-$side
		source_config "$LONG"
		[ $side != destination ] && source_config "$(jq -c '. + {ignore_sigterm: true}' <<<"$LONG")"
		[ $side != source ] && dest_config '{"ignore_sigterm":true}'
		start_run --grace-period 1
		sleep 1.5
		start=$(date +%s%N)
		kill -TERM $RUN
		wait_rc $RUN rc
		ms=$((($(date +%s%N) - start) / 1000000))
		eq "connectors ignoring SIGTERM ($side): run exits 143" 143 "$rc"
		check "killed after the 1 s grace period (took $ms ms, < 4000)" [ "$ms" -lt 4000 ]
		inv_history 1 stopped
		invariants exact
	done
fi

if want forks; then
	# a connector's own children must not outlive the run, and must not keep
	# it from ending: "inherit" children hold the connector's stdout open
	WAIT_LIMIT=${FAULT_HANG_LIMIT:-10}
	for mode in inherit group session session_tree; do
		for side in source destination; do
			# run to completion
			new_case fork-$mode-$side
			src=$FAST dst='{}'
			[ $side = source ] && src=$(jq -c --arg m $mode '. + {fork_child: $m}' <<<"$FAST")
			[ $side = destination ] && dst="{\"fork_child\":\"$mode\"}"
			source_config "$src"
			dest_config "$dst"
			start=$(date +%s)
			start_run --grace-period 1 --drain-timeout 5
			wait_rc $RUN rc
			oneof "$side connector with a '$mode' child, run to the end: exit 0 ($rc after $(($(date +%s) - start)) s)" "$rc" 0
			inv_history 1 succeeded
			invariants exact
			# and with the roles run separately (as in two containers)
			new_case fork-roles-$mode-$side
			source_config "$src"
			dest_config "$dst"
			pair --grace-period 1
			wait_rc $SRC src_rc
			wait_rc $DST dst_rc
			eq "roles: $side connector with a '$mode' child: source exits 0" 0 "$src_rc"
			eq "roles: destination exits 0" 0 "$dst_rc"
			invariants exact
		done
	done
	# killed mid-run with SIGTERM
	new_case fork-sigterm
	source_config "$(jq -c '. + {fork_child: "group"}' <<<"$LONG")"
	dest_config '{"fork_child":"group"}'
	start_run --grace-period 1
	sleep 1.5
	kill -TERM $RUN
	wait_rc $RUN rc
	eq "forking connectors, SIGTERM: exit 143" 143 "$rc"
	invariants exact
	# SIGTERM must stop a run even when a connector's child holds its stdout
	new_case fork-inherit-sigterm
	source_config "$(jq -c '. + {fork_child: "inherit", streams: {users: 10}}' <<<"$LONG")"
	start_run --grace-period 1
	sleep 3
	start=$(date +%s)
	kill -TERM $RUN
	wait_rc $RUN rc
	# the driver kills such leftovers after the grace period: the run may
	# have ended by itself (0) before the SIGTERM, or stops on it (143)
	check "a stdout-holding child, SIGTERM after the connector exited: exit 0 or 143 within $WAIT_LIMIT s (got $rc, $(($(date +%s) - start)) s)" \
		test "$rc" = 0 -o "$rc" = 143
	invariants exact
	unset WAIT_LIMIT
fi

done_testing
