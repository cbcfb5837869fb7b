# The store's disk fills up during a state write: the run fails with a
# clear message, and the state file keeps the last durable state, intact.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=256k tmpfs "$T/secrets" 2>/dev/null; then
	ok "skipped: needs root to mount a small tmpfs"
	done_testing
	exit
fi
umount "$T/secrets"
mkdir -p "$STORE"
mount -t tmpfs -o size=64k tmpfs "$STORE"
trap 'umount "$STORE" 2>/dev/null; cleanup' EXIT
streams=$(seq -f 'stream_%g' 1 60)
catalog $streams
# every stream gets records and a state: the state document keeps growing
counts=$(for s in $streams; do printf '"%s":2,' "$s"; done)
source_config "{\"streams\":{${counts%,}},\"state_every\":1}"
dest_config "{}"
# leave about 6 KiB free: the first states fit, the later (larger) ones not
mkdir -p "$STORE/r"
dd if=/dev/zero of="$STORE/filler" bs=1k count=54 2>/dev/null
run_repl
eq "a full store fails the run" 1 "$rc"
check "the message names the state file and the error" grep -q "cannot persist the state to '$STORE/r/state.json': No space left on device" "$T/run.log"
check "state.json is still valid JSON" jq_true '.state | length > 0' "$STORE/r/state.json"
kept=$(jq '.state | length' "$STORE/r/state.json")
check "it holds an earlier complete state ($kept of 60 streams)" [ "$kept" -lt 60 ]
check "no temp file left" dir_clean "$STORE"
check "no process left" no_leftover_processes
done_testing
