#!/usr/bin/env python3
"""A scriptable Airbyte destination for end-to-end tests.  Config:

  output              append every record's JSON line to this file
  fail_after_records  exit 1 (after a TRACE ERROR) once this many records came
  noise               print non-JSON lines on stdout
  stdin_log           write every line it receives to this file (for checks)

It echoes each STATE only after the records before it are flushed and
fsynced to `output`, like a real destination.
"""
import json, os, sys, signal

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
        st = msg["state"]
        st["destinationStats"] = {"recordCount": st.get("sourceStats", {}).get("recordCount", 0.0)}
        print(json.dumps(msg))
        sys.stdout.flush()
    else:
        print("fake-destination: unexpected message type %s" % msg["type"], file=sys.stderr)
        sys.exit(3)
print("fake-destination: %d records" % records, file=sys.stderr)
