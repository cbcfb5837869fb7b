# Entrypoints: split like a shell splits words; one that cannot be executed
# gives 127 (not found) or 126 (not executable) and a message naming it.
. "$(dirname "$0")/lib.sh"
catalog users
source_config '{"streams":{"users":3}}'
dest_config "{\"output\":\"$OUT\"}"

SRC_EP="$T/no-such-connector read"
run_repl
eq "missing source entrypoint: exit 127" 127 "$rc"
check "the message names it" grep -q "cannot execute the source connector '$T/no-such-connector'" "$T/run.log"
eq "the run record says why" "cannot execute the source connector '$T/no-such-connector': No such file or directory" "$(last_run .failure_reason)"
check "no process left" no_leftover_processes

SRC_EP="python3 $FAKE/fake_source.py"
printf 'not a program\n' >"$T/notexec"
DST_EP="$T/notexec"
run_repl
eq "destination entrypoint not executable: exit 126" 126 "$rc"
check "the message names it" grep -q "cannot execute the destination connector '$T/notexec'" "$T/run.log"
check "no process left" no_leftover_processes

DST_EP="no-such-command-in-path-xyz"
run_repl
eq "a command not in PATH: exit 127" 127 "$rc"

# quoting: a word with a blank inside quotes reaches the connector whole
mkdir -p "$T/dir with space"
cp "$FAKE/fake_destination.py" "$T/dir with space/dest.py"
DST_EP="python3 '$T/dir with space/dest.py'"
run_repl
eq "a quoted entrypoint with a blank runs" 0 "$rc"
eq "records delivered through it" 3 "$(records_out)"

DST_EP="python3 \"unterminated"
run_repl
eq "unbalanced quotes: usage error 2" 2 "$rc"

# roles take AIRBYTE_ENTRYPOINT like Airbyte images; missing: clear message, 2
"$DRIVER" destination --replication r --pipes-dir "$T/p" --secrets-dir "$SECRETS" --store-path "$STORE" 2>"$T/d.log"
eq "destination role without AIRBYTE_ENTRYPOINT: exit 2" 2 $?
check "the message says to set AIRBYTE_ENTRYPOINT" grep -q 'set AIRBYTE_ENTRYPOINT' "$T/d.log"
"$DRIVER" --command source --replication r --pipes-dir "$T/p" --secrets-dir "$SECRETS" 2>"$T/s.log"
eq "source role without AIRBYTE_ENTRYPOINT: exit 2" 2 $?
"$DRIVER" run --replication r --secrets-dir "$SECRETS" 2>"$T/r.log"
eq "run without entrypoints: exit 2" 2 $?
"$DRIVER" --command source 2>"$T/u.log"
eq "no --replication: exit 2" 2 $?
check "the message asks for --replication" grep -q 'needs --replication' "$T/u.log"
"$DRIVER" frobnicate --replication r 2>"$T/u.log"
eq "unknown command: exit 2" 2 $?
"$DRIVER" run --replication 'a/b' 2>"$T/u.log"
eq "a replication name with a slash: exit 2" 2 $?
"$DRIVER" --help | grep -q -- '--store-path'
eq "--help lists the flags" 0 $?

# log levels
SRC_EP="python3 $FAKE/fake_source.py"
DST_EP="python3 $FAKE/fake_destination.py"
run_repl --log-level warn
eq "--log-level warn: the run works" 0 "$rc"
check "and prints no INFO line" bash -c "! grep -q ' INFO ' '$T/run.log'"
run_repl --log-level debug
check "--log-level debug prints DEBUG lines" grep -q ' DEBUG ' "$T/run.log"
"$DRIVER" state --replication r --store-path "$STORE" --log-level chatty 2>"$T/u.log" >/dev/null
eq "an unknown log level: exit 2" 2 $?
check "the message lists the levels" grep -q "unknown log level 'chatty': use debug, info, warn or error" "$T/u.log"
done_testing
