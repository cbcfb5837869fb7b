# The driver as PID 1 of a container (a new PID namespace): it reaps
# orphans that connectors leave behind, and stops on SIGTERM (PID 1 gets no
# default signal actions: the driver must handle them itself).
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	echo "# skipped: needs root and PID namespaces"
	ok "skipped: PID 1 checks need root"
	done_testing
	exit
fi
catalog users
dest_config "{\"output\":\"$OUT\"}"
source_config '{"streams":{"users":40},"sleep":0.05}'
# a connector whose helper processes are orphaned mid-run
SRC_EP="sh -c 'for i in 1 2 3 4 5; do (sleep 0.2 &); done; exec python3 $FAKE/fake_source.py \"\$@\"' fake-source"
unshare --pid --fork --mount-proc "$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>"$T/run.log" &
outer=$!
sleep 1.2
pid1=$(pgrep -P $outer -f airbyte-replication-driver | head -n 1)
zombies=$(ps -e -o stat=,ppid= | awk -v p="$pid1" '$2 == p && $1 ~ /^Z/' | wc -l)
eq "orphans re-parented to the driver (PID 1) are reaped" 0 "$zombies"
wait $outer
eq "the run as PID 1 succeeds" 0 $?
eq "all records delivered" 40 "$(records_out)"

source_config '{"streams":{"users":100000},"sleep":0.01}'
SRC_EP="python3 $FAKE/fake_source.py"
unshare --pid --fork --mount-proc "$DRIVER" run --replication r --secrets-dir "$SECRETS" --store-path "$STORE" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" 2>"$T/run.log" &
outer=$!
sleep 1
pid1=$(pgrep -P $outer -f airbyte-replication-driver | head -n 1)
start=$(date +%s%N)
kill -TERM "$pid1"
wait $outer
eq "SIGTERM to the driver as PID 1: exit 143" 143 $?
ms=$((($(date +%s%N) - start) / 1000000))
check "stopped within 2 s (took $ms ms)" [ "$ms" -lt 2000 ]
check "no process left" no_leftover_processes
done_testing
