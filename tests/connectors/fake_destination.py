#!/usr/bin/env python3
"""A scriptable Airbyte destination for end-to-end tests.  Config:

  output              append every record's JSON line to this file
  fail_after_records  exit 1 (after a TRACE ERROR) once this many records came
  noise               print non-JSON lines on stdout
  stdin_log           write every line it receives to this file (for checks)
  state_log           for every STATE it echoes, append {"phase":"E","state":...}
                      to this file before printing it and {"phase":"P",...}
                      once printed and flushed (the driver may have it only
                      after P; it can never have a state without an E)
  state_marker        add "via": "destination" to the payload of every state
                      it echoes (stream_state, shared_state, LEGACY data), so
                      that a stored state provably came from the destination
  sleep_per_record    seconds to sleep after each record (a slow destination)
  sleep_records       with sleep_per_record: only the first this many records
  hang_after_records  stop reading (stdin stays open) after this many records
  close_after_records close stdin after this many records, then sleep forever
  reorder_states      echo states pairwise swapped (the older one last)
  echo_records        print every record back as a RECORD of stream "dry_run",
                      one flushed write per line (as the Faros destination's
                      dry run does)
  unknown_state_stream after each state, also echo a STATE for this stream
                      (not in the catalog)
  log_levels          with each STATE, a LOG of level FATAL and one of TRACE
  ignore_sigterm      ignore SIGTERM (only SIGKILL stops it)
  fork_child          "inherit", "group", "session" or "session_tree": as in
                      fake_source.py

It echoes each STATE only after the records before it are flushed and
fsynced to `output`, like a real destination.
"""
import json, os, sys, signal, time

signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))

def arg(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None

cmd = sys.argv[1]
if cmd == "spec":
    print(json.dumps({"type": "SPEC", "spec": {"connectionSpecification": {"type": "object"}}}))
    sys.exit(0)
cfg = json.load(open(arg("--config")))
assert cmd == "write", cmd
catalog = json.load(open(arg("--catalog")))
out = open(cfg["output"], "a") if cfg.get("output") else None
log = open(cfg["stdin_log"], "a") if cfg.get("stdin_log") else None
if cfg.get("ignore_sigterm"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if cfg.get("fork_child"):
    if os.fork() == 0:
        if cfg["fork_child"] in ("session", "session_tree"):
            os.setsid()
        if cfg["fork_child"] == "session_tree":
            os.fork()
        if cfg["fork_child"] in ("group", "session", "session_tree"):
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
        while True:
            time.sleep(3600)
slog = open(cfg["state_log"], "a") if cfg.get("state_log") else None
held = None  # reorder_states: the state waiting for its successor

def echo(msg):
    if cfg.get("state_marker"):
        st = msg["state"]
        for payload in ([st.get("stream", {}).get("stream_state")] +
                        [st.get("global", {}).get("shared_state")] +
                        [ss.get("stream_state") for ss in st.get("global", {}).get("stream_states", [])] +
                        [st.get("data")]):
            if isinstance(payload, dict):
                payload["via"] = "destination"
    if slog:
        slog.write(json.dumps({"phase": "E", "state": msg["state"]}) + "\n")
        slog.flush()
    print(json.dumps(msg))
    sys.stdout.flush()
    if slog:
        slog.write(json.dumps({"phase": "P", "state": msg["state"]}) + "\n")
        slog.flush()

records = 0
for line in sys.stdin:
    if log:
        log.write(line)
        log.flush()
    msg = json.loads(line)  # the driver forwards only valid messages
    if msg["type"] == "RECORD":
        records += 1
        if out:
            out.write(json.dumps(msg["record"]["data"]) + "\n")
        if cfg.get("echo_records"):
            print(json.dumps({"type": "RECORD", "record": dict(msg["record"], stream="dry_run")}))
            sys.stdout.flush()
        if cfg.get("sleep_per_record") and records <= cfg.get("sleep_records", records):
            time.sleep(cfg["sleep_per_record"])
        if cfg.get("hang_after_records") and records >= cfg["hang_after_records"]:
            time.sleep(3600)
        if cfg.get("close_after_records") and records >= cfg["close_after_records"]:
            os.close(0)
            time.sleep(3600)
        if cfg.get("fail_after_records") and records >= cfg["fail_after_records"]:
            print(json.dumps({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 0,
                  "error": {"message": "destination failing on purpose", "failure_type": "system_error"}}}))
            sys.stdout.flush()
            sys.exit(1)
    elif msg["type"] == "STATE":
        if out:
            out.flush()
            os.fsync(out.fileno())
        if cfg.get("noise"):
            print("destination says hello in plain text")
        if cfg.get("log_levels"):
            print(json.dumps({"type": "LOG", "log": {"level": "FATAL", "message": "destination fatal\tnote"}}))
            print(json.dumps({"type": "LOG", "log": {"level": "TRACE", "message": "destination trace note"}}))
        st = msg["state"]
        st["destinationStats"] = {"recordCount": st.get("sourceStats", {}).get("recordCount", 0.0)}
        if cfg.get("reorder_states"):
            if held is None:
                held = msg
                continue
            echo(msg)
            msg, held = held, None
        echo(msg)
        if cfg.get("unknown_state_stream"):
            echo({"type": "STATE", "state": {"type": "STREAM", "stream": {
                "stream_descriptor": {"name": cfg["unknown_state_stream"]},
                "stream_state": {"cursor": 1}}}})
    else:
        print("fake-destination: unexpected message type %s" % msg["type"], file=sys.stderr)
        sys.exit(3)
if held is not None:
    echo(held)
print("fake-destination: %d records" % records, file=sys.stderr)
