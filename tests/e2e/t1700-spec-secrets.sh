# Before running, each connector's `spec` checks its config; values of
# fields marked airbyte_secret never appear in logs, stats or run records,
# even when the connector itself prints them.
. "$(dirname "$0")/lib.sh"
catalog users
dest_config "{\"output\":\"$OUT\"}"

source_config '{"streams":{"users":"many"},"state_every":0}'
run_repl --spec-timeout 5
check "a config that does not match the spec: a warning" grep -q "WARN .*the source config '$SECRETS/source-file.json' does not match the connector's specification (going on" "$T/run.log"
run_repl --strict-config
eq "with --strict-config: exit 2" 2 "$rc"
check "each error with its path: streams" grep -q '/streams/users: ' "$T/run.log"
check "each error with its path: state_every" grep -q '/state_every: ' "$T/run.log"
eq "the run record says why" "the source config '$SECRETS/source-file.json' is unusable (see the errors above)" "$(last_run .failure_reason)"
check "nothing ran" [ ! -s "$OUT" ]

V() { "$DRIVER" validate --replication r --secrets-dir "$SECRETS" --source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" "$@"; }
V >"$T/v.out" 2>"$T/v.log"
eq "validate --replication on an invalid config: exit 1" 1 $?
check "it lists the errors" grep -q '/state_every: ' "$T/v.log"
source_config '{"streams":{"users":3}}'
eq "validate --replication on valid configs: prints valid" valid "$(V 2>/dev/null)"

source_config '{"streams":{"users":3},"password":"hunter2-s3cret","credentials":{"api_key":"AKIA-very-secret"},"leak":true,"fail_after":2,"trace_error":"boom"}'
run_repl
eq "the failing run exits 1" 1 "$rc"
check "the secret never appears in the log" bash -c "! grep -q 'hunter2-s3cret' '$T/run.log'"
check "nested secrets (oneOf) neither" bash -c "! grep -q 'AKIA-very-secret' '$T/run.log'"
check "it is masked where the connector printed it" grep -q 'connecting with \*\*\*\*\*\*\*\*\*\* \*\*\*\*\*\*\*\*\*\*' "$T/run.log"
check "stderr lines are masked too" grep -q 'debug password=\*\*\*\*\*\*\*\*\*\*' "$T/run.log"
check "the store holds no secret (state, stats, history, metrics)" bash -c "! grep -rq 'hunter2-s3cret\|AKIA-very-secret' '$STORE'"
eq "the run record's reason is masked" "boom (login ********** ********** failed)" "$(last_run .failure_reason)"

# a connector without a spec: a warning, and the run goes on
SRC_EP="sh -c 'exec python3 $FAKE/fake_source.py \"\$@\"' x"
source_config '{"streams":{"users":3}}'
cat >"$T/nospec.sh" <<SH
#!/bin/sh
[ "\$1" = spec ] && { echo "I have no spec"; exit 1; }
exec python3 $FAKE/fake_destination.py "\$@"
SH
chmod +x "$T/nospec.sh"
DST_EP=$T/nospec.sh
run_repl
eq "a connector with no spec still runs" 0 "$rc"
check "with a warning" grep -q 'the destination connector gave no specification' "$T/run.log"
run_repl --spec-timeout 0
eq "--spec-timeout 0 skips the check" 0 "$rc"
check "silently" bash -c "! grep -q 'gave no specification' '$T/run.log'"
# specs are cached: asking costs a connector start (seconds for node/Python)
cat >"$T/counting.sh" <<SH
#!/bin/sh
[ "\$1" = spec ] && echo called >>"$T/spec.calls"
exec python3 $FAKE/fake_source.py "\$@"
SH
chmod +x "$T/counting.sh"
SRC_EP=$T/counting.sh
DST_EP="python3 $FAKE/fake_destination.py"
run_repl
run_repl
eq "two runs ask the connector for its spec once" 1 "$(wc -l <"$T/spec.calls" | tr -d ' ')"
touch -d '+1 minute' "$T/counting.sh"
run_repl
eq "a changed connector is asked again" 2 "$(wc -l <"$T/spec.calls" | tr -d ' ')"
source_config '{"streams":{"users":3},"password":"cached-s3cret-value","leak":true}'
run_repl
check "secrets are masked with a cached spec too" bash -c "! grep -q 'cached-s3cret-value' '$T/run.log'"
done_testing
