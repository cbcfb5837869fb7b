# schedule: a foreground daemon that runs the replication on a cron
# schedule; runs never overlap (the lock); SIGTERM stops it cleanly.
. "$(dirname "$0")/lib.sh"
catalog users
dest_config "{\"output\":\"$OUT\"}"
# exec: in the background the pid must be the driver's, not a subshell's
S() { exec "$DRIVER" schedule --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" "$@"; }

(S --cron '61 * * * *') 2>"$T/e.log"
eq "an invalid expression: exit 2" 2 $?
check "the message points at the field" grep -q "minute: 61 is out of range 0-59" "$T/e.log"
(S --cron 'bad') 2>/dev/null
eq "garbage: exit 2" 2 $?

# idle: SIGTERM stops it at once, exit 0
S --cron '0 0 1 1 *' 2>"$T/idle.log" &
pid=$!
sleep 0.5
kill -TERM $pid
wait $pid
eq "SIGTERM while idle: exit 0" 0 $?
check "it said when the next run was" grep -q 'next run at 20[0-9][0-9]-01-01T00:00:00' "$T/idle.log"

# every minute: the first fire runs the replication (wait up to ~65 s)
source_config '{"streams":{"users":100000},"sleep":0.01,"state_every":5}'
S --cron '* * * * *' 2>"$T/sched.log" &
pid=$!
for i in $(seq 700); do [ -f "$STORE/r/state.json" ] && break; sleep 0.1; done
check "a scheduled run started and committed state" [ -f "$STORE/r/state.json" ]
"$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>"$T/manual.log"
eq "a manual run during the scheduled one: exit 2" 2 $?
check "it says the replication is already running" grep -q "replication 'r' is already running" "$T/manual.log"
kill -TERM $pid
wait $pid
eq "SIGTERM during a run: the run is stopped, exit 143" 143 $?
eq "the run record says stopped" stopped "$(last_run .outcome)"
check "the daemon logged the outcome" grep -q 'ended with exit code 143' "$T/sched.log"
check "no process left" no_leftover_processes
done_testing
