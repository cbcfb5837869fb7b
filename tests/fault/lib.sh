# Fault-suite helpers (sourced by tests/fault/run.sh).  Real processes: the
# driver roles from $BIN (default build/bin) and the scriptable Python
# connectors of tests/connectors.  Every case gets its own directory $C and
# every driver it starts carries FAULT_CASE=$C in its environment, which all
# descendants inherit: "no process survives" means no process anywhere has
# that variable or mentions $C on its command line.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${BIN:-$TOP/build/bin}
DRIVER=$BIN/airbyte-replication-driver
FAKE=$TOP/tests/connectors
T=$(mktemp -d /tmp/abfault.XXXXXX)
SRC_EP="python3 $FAKE/fake_source.py"
DST_EP="python3 $FAKE/fake_destination.py"
MEM_LIMIT_KB=${FAULT_MEM_LIMIT_KB:-16384}
unset AIRBYTE_ENTRYPOINT AIRBYTE_SOURCE_ENTRYPOINT AIRBYTE_DESTINATION_ENTRYPOINT
n=0 nfail=0 nwarn=0 ncase=0
STARTED_PIDS=()

cleanup() {
	local p
	# kill only what this suite started (by pid and by case marker), never by name
	for p in "${STARTED_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in $(case_pids "$T"); do kill -9 "$p" 2>/dev/null; done
	[ -n "${FAULT_KEEP:-}" ] && { echo "# kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); nfail=$((nfail + 1)); echo "not ok $n - $1"
	[ -n "${C:-}" ] && for f in "$C"/*.log; do [ -s "$f" ] && tail -n 5 "$f" | sed "s|^|#   $(basename "$f"): |"; done
	return 0
}
warn() { nwarn=$((nwarn + 1)); echo "# WARNING: $1"; }
check() { local d=$1; shift; if "$@" >/dev/null; then ok "$d"; else not_ok "$d"; fi; }
eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi; }
oneof() { # oneof DESCRIPTION ACTUAL ALLOWED...
	local d=$1 a=$2 x; shift 2
	for x in "$@"; do [ "$a" = "$x" ] && { ok "$d"; return; }; done
	not_ok "$d (got '$a', allowed: $*)"
}
done_testing() {
	echo "# $ncase cases, $n checks, $nfail failed, $nwarn warnings"
	[ "$nfail" -eq 0 ]
}

# --- a case -------------------------------------------------------------------
# new_case NAME: fresh dirs; sets C, SECRETS, STORE, P (pipes), SLOG (states the
# destination echoed), INLOG (lines it received), OUT (its fsynced output)
new_case() {
	ncase=$((ncase + 1))
	C=$T/c$ncase-$1
	SECRETS=$C/secrets STORE=$C/store P=$C/pipes SLOG=$C/states.jsonl INLOG=$C/in.jsonl OUT=$C/out.jsonl
	mkdir -p "$SECRETS" "$C/tmp"
	catalog users orders
	dest_config '{}'
	touch "$C/.start"
}
catalog() {
	local s sep=""
	{
		printf '{"streams":['
		for s in "$@"; do
			printf '%s{"stream":{"name":"%s","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh","incremental"]},"sync_mode":"incremental","cursor_field":["id"],"destination_sync_mode":"append"}' "$sep" "$s"
			sep=,
		done
		printf ']}\n'
	} >"$SECRETS/catalog-file.json"
}
source_config() { echo "$1" >"$SECRETS/source-file.json"; }
# dest_config EXTRA-JSON: the checking knobs are always on
dest_config() {
	jq -c --arg o "$OUT" --arg s "$SLOG" --arg i "$INLOG" '{output:$o, state_log:$s, stdin_log:$i} + .' <<<"$1" \
		>"$SECRETS/destination-file.json"
}

# start_dst [ARGS...] / start_src [ARGS...]: the roles in the background on $P;
# pids in DST / SRC, logs dst.log / src.log (appended)
start_dst() {
	FAULT_CASE=$C TMPDIR=$C/tmp "$DRIVER" destination --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" \
		--store-path "$STORE" --destination-entrypoint "$DST_EP" --connect-timeout 10 "$@" \
		2>>"$C/dst.log" &
	DST=$!
	STARTED_PIDS+=("$DST")
	sample_hwm "$DST" "$C/hwm.dst.$DST"
}
start_src() {
	FAULT_CASE=$C TMPDIR=$C/tmp "$DRIVER" source --replication r --pipes-dir "$P" --secrets-dir "$SECRETS" \
		--source-entrypoint "$SRC_EP" --connect-timeout 10 "$@" 2>>"$C/src.log" &
	SRC=$!
	STARTED_PIDS+=("$SRC")
	sample_hwm "$SRC" "$C/hwm.src.$SRC"
}
# start_run [ARGS...]: `run` in the background, pid RUN, log run.log
start_run() {
	FAULT_CASE=$C TMPDIR=$C/tmp "$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
		--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" "$@" \
		>>"$C/run.out" 2>>"$C/run.log" &
	RUN=$!
	STARTED_PIDS+=("$RUN")
	sample_hwm "$RUN" "$C/hwm.run.$RUN"
}
# wait_rc PID VAR: wait for it (bounded: WAIT_LIMIT s, default 60, then
# SIGKILL and rc 999)
wait_rc() {
	local pid=$1 i
	for i in $(seq $((${WAIT_LIMIT:-60} * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
		printf -v "$2" 999
		return
	fi
	{ wait "$pid"; } 2>/dev/null
	printf -v "$2" %s $?
}
# a connector process of this case: conn_pid source|destination
conn_pid() {
	local pat
	[ "$1" = source ] && pat="fake_source.py read --config $C/" || pat="fake_destination.py write --config $C/"
	pgrep -o -f "$pat"
}
wait_conn() { # wait_conn source|destination: pid in CONN, up to 10 s
	local i
	for i in $(seq 200); do CONN=$(conn_pid "$1") && [ -n "$CONN" ] && return 0; sleep 0.05; done
	return 1
}

# Peak resident memory (VmHWM, kB) of a driver process, sampled every 50 ms
# while it lives, also of its direct driver children (the roles under `run`).
sample_hwm() {
	local pid=$1 out=$2
	(
		max=0
		while [ -d /proc/$pid ]; do
			for p in $pid $(pgrep -P "$pid" -x airbyte-replica 2>/dev/null); do
				v=$(awk '/^VmHWM/ {print $2}' /proc/$p/status 2>/dev/null)
				[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v && echo "$max" >"$out"
			done
			sleep 0.05
		done
	) </dev/null >/dev/null 2>&1 &
}

# pids whose environment holds FAULT_CASE=<dir>... or whose command line
# mentions it (a prefix match: $T finds every case)
case_pids() {
	local e
	for e in $(grep -lzs "^FAULT_CASE=$1" /proc/[0-9]*/environ 2>/dev/null); do
		e=${e#/proc/}
		[ "${e%/environ}" != $$ ] && echo "${e%/environ}"
	done
	pgrep -f "$1/" 2>/dev/null
}

# --- invariants -------------------------------------------------------------

# inv_state MODE: the stored state.json is valid JSON whose every stream
# cursor is a cursor the destination echoed (an "E" entry: never a state only
# the source sent), and every record up to that cursor reached the
# destination.  MODE exact: the destination driver survived, so the state is
# the last one the destination printed or one it was printing ("P" <= stored
# <= "E"); MODE any: it did not (SIGKILL), any echoed cursor is fine.
inv_state() {
	local r
	r=$(python3 "$TOP/tests/fault/check_state.py" "$1" "$STORE/r/state.json" "$SLOG" "$INLOG" 2>&1)
	case $r in
	ok\ *) ok "state: ${r#ok }" ;;
	*) not_ok "state: ${r#bad }" ;;
	esac
}
# inv_history COUNT [OUTCOME...]: history.jsonl has COUNT records, the last
# with one of these outcomes
inv_history() {
	local want=$1 h=$STORE/r/history.jsonl got
	shift
	got=$( [ -f "$h" ] && wc -l <"$h" | tr -d ' ' || echo 0)
	if [ "$got" != "$want" ]; then not_ok "history: $want record(s) expected, found $got"; return; fi
	[ "$want" = 0 ] && { ok "history: no record (expected)"; return; }
	if ! jq -e . "$h" >/dev/null 2>&1; then not_ok "history: invalid JSON"; return; fi
	oneof "history: outcome $(tail -n 1 "$h" | jq -c '[.outcome, .exit_code, .failure_reason]')" \
		"$(tail -n 1 "$h" | jq -r .outcome)" "$@"
}
# inv_no_procs: nothing of the case is alive (5 s to wind down)
inv_no_procs() {
	local i left
	for i in $(seq 50); do
		left=$(case_pids "$C" | sort -u | tr '\n' ' ')
		[ -z "$left" ] && { ok "processes: none left"; return; }
		sleep 0.1
	done
	not_ok "processes left: $(for p in $left; do ps -o pid=,pgid=,sid=,args= -p "$p"; done | tr '\n' ';')"
	for p in $left; do kill -9 "$p" 2>/dev/null; done
}
# inv_clean [stale-ok]: no FIFO, socket or temp file in the pipes dir and the
# store; nothing in the drivers' TMPDIR ($C/tmp: `run`'s private pipes dir,
# the source's input state file)
inv_clean() {
	local left
	left=$(find "$P" "$STORE" \( -type p -o -type s -o -name '*.tmp*' -o -name '.*tmp*' \) 2>/dev/null)
	left+=$(find "$C/tmp" -mindepth 1 -maxdepth 1 ! -name airbyte-spec-cache 2>/dev/null) # the spec cache is meant to stay
	if [ -z "$left" ]; then ok "files: nothing left behind"
	elif [ "${1:-}" = stale-ok ]; then ok "files: stale entries after a SIGKILLed driver: $(echo $left | sed "s|$C/||g")"
	else not_ok "files left behind: $(echo $left | sed "s|$C/||g")"; fi
}
# inv_mem: every driver's peak RSS (VmHWM) stays under MEM_LIMIT_KB
inv_mem() {
	local f max=0 v
	for f in "$C"/hwm.*; do [ -f "$f" ] && v=$(cat "$f") && [ "$v" -gt "$max" ] && max=$v; done
	check "memory: driver peak RSS ${max} kB <= $MEM_LIMIT_KB kB" [ "$max" -le "$MEM_LIMIT_KB" ]
}
# all of them
invariants() { # invariants STATE-MODE [stale-ok]
	inv_state "$1"
	inv_no_procs
	inv_clean "${2:-}"
	inv_mem
}
