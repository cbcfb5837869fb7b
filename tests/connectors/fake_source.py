#!/usr/bin/env python3
"""A scriptable Airbyte source for end-to-end tests, written like the many
Python connectors in the wild.  Behaviour comes from its config file:

  streams        {"name": record count} (ids 1..N; incremental: only ids > cursor)
  state_every    emit a STATE after this many records per stream (default 2)
  state_type     STREAM (default), GLOBAL or LEGACY
  type_last      put "type" after "record" in RECORD lines
  noise          print non-JSON lines on stdout and stderr
  fail_after     exit 1 after this many records in total
  trace_error    with fail_after: send this TRACE ERROR message first
  unknown_stream emit one record of this stream (not in the catalog)
  sleep          seconds to sleep after each record
  hang_after     stop writing (sleep forever) after this many records
  source_stats   add sourceStats.recordCount to STATE messages
  big_record     emit one record whose "blob" field has this many bytes
  ignore_sigterm ignore SIGTERM (only SIGKILL stops it)
  fork_child     start a child that sleeps forever: "inherit" (keeps stdout
                 and stderr open), "group" (stdio on /dev/null, same process
                 group), "session" (setsid, stdio on /dev/null: a daemon) or
                 "session_tree" (like session, and that child forks one more)
  garbage        emit this many lines of random bytes (NUL, invalid UTF-8,
                 binary; never a newline inside) interleaved with the records
  garbage_seed   seed for garbage (default 1)
  garbage_tail   end the output with this many random bytes and no newline
  log_levels     emit LOG messages of every level, with escapes, keys in
                 another order, and one message longer than a log line
"""
import json, sys, time, signal, os

signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))

def fork_child(mode):
    """A child of our own that never ends by itself (see fork_child)."""
    if os.fork() == 0:
        if mode in ("session", "session_tree"):
            os.setsid()
        if mode == "session_tree":
            os.fork()
        if mode in ("group", "session", "session_tree"):
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
        while True:
            time.sleep(3600)

def arg(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None

def out(msg):
    sys.stdout.write(json.dumps(msg) + "\n")

cmd = sys.argv[1]
SPEC = {"connectionSpecification": {
    "type": "object",
    "properties": {
        "streams": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "state_every": {"type": "integer", "minimum": 1},
        "password": {"type": "string", "airbyte_secret": True},
        "credentials": {"oneOf": [{"properties": {"api_key": {"type": "string", "airbyte_secret": True}}}]},
    }}}

if cmd == "spec":
    out({"type": "SPEC", "spec": SPEC})
    sys.exit(0)
cfg = json.load(open(arg("--config")))
if cmd == "check":
    out({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
    sys.exit(0)
assert cmd == "read", cmd
catalog = json.load(open(arg("--catalog")))
state_path = arg("--state")
state = json.load(open(state_path)) if state_path else None
stype = cfg.get("state_type", "STREAM")
if cfg.get("ignore_sigterm"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if cfg.get("fork_child"):
    fork_child(cfg["fork_child"])
import random
rng = random.Random(cfg.get("garbage_seed", 1))
garbage_left = cfg.get("garbage", 0)

def garbage(n):
    """n random bytes, biased towards NUL, invalid UTF-8 and JSON-ish bytes"""
    pool = [0, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf8, 0x7b, 0x7d, 0x22, 0x5c, 0x0d, 0x09]
    return bytes(rng.choice(pool) if rng.random() < 0.5 else rng.randrange(256) for _ in range(n)).replace(b"\n", b"\x00")

cursors = {}
if isinstance(state, list):
    for s in state:
        if s.get("type") == "STREAM":
            cursors[s["stream"]["stream_descriptor"]["name"]] = s["stream"]["stream_state"]["cursor"]
        elif s.get("type") == "GLOBAL":
            for ss in s["global"].get("stream_states", []):
                cursors[ss["stream_descriptor"]["name"]] = ss["stream_state"]["cursor"]
elif isinstance(state, dict):
    cursors = {k: v["cursor"] for k, v in state.items()}
print("fake-source: input state cursors %s" % json.dumps(cursors), file=sys.stderr)
out({"type": "LOG", "log": {"level": "INFO", "message": "starting read with cursors %s" % json.dumps(cursors)}})
if cfg.get("log_levels"):
    sys.stdout.write('{ "log" : { "message" : "fatal \\"quoted\\"\\nsecond line", "level" : "FATAL" }, "type" : "LOG" }\n')
    for level in ("ERROR", "WARN", "INFO", "DEBUG", "TRACE"):
        out({"type": "LOG", "log": {"level": level, "message": "level %s caf\u00e9 \U0001F600" % level}})
    out({"type": "LOG", "log": {"level": "WARN", "message": "long " + "\u00e9" * 6000 + " end"}})
if cfg.get("leak"):
    secret = cfg.get("password", "") + " " + cfg.get("credentials", {}).get("api_key", "")
    out({"type": "LOG", "log": {"level": "INFO", "message": "connecting with %s" % secret}})
    print("fake-source: debug password=%s" % secret, file=sys.stderr)
    if cfg.get("trace_error"):
        cfg["trace_error"] += " (login %s failed)" % secret

def emit_state(name, since):
    cur = dict(cursors)
    if stype == "STREAM":
        st = {"type": "STREAM", "stream": {"stream_descriptor": {"name": name},
                                            "stream_state": {"cursor": cursors[name]}}}
    elif stype == "GLOBAL":
        st = {"type": "GLOBAL", "global": {"shared_state": {"position": sum(cur.values())},
              "stream_states": [{"stream_descriptor": {"name": n}, "stream_state": {"cursor": c}}
                                for n, c in sorted(cur.items())]}}
    else:
        st = {"type": "LEGACY", "data": {n: {"cursor": c} for n, c in cur.items()}}
    if cfg.get("source_stats"):
        st["sourceStats"] = {"recordCount": float(since)}
    out({"type": "STATE", "state": st})

total = 0
every = cfg.get("state_every", 2)
if cfg.get("big_record"):
    name = catalog["streams"][0]["stream"]["name"]
    out({"type": "RECORD", "record": {"stream": name, "data": {"id": 0, "blob": "x" * cfg["big_record"]}, "emitted_at": 0}})
if cfg.get("unknown_stream"):
    out({"type": "RECORD", "record": {"stream": cfg["unknown_stream"], "data": {"id": 0}, "emitted_at": 0}})
def trace(kind, body):
    out({"type": "TRACE", "trace": dict({"type": kind, "emitted_at": time.time() * 1000}, **body)})

def status(name, st):
    trace("STREAM_STATUS", {"stream_status": {"stream_descriptor": {"name": name}, "status": st}})

for cs in catalog["streams"]:
    name = cs["stream"]["name"]
    n = cfg.get("streams", {}).get(name, 0)
    start = cursors.get(name, 0)
    if cfg.get("estimate"):
        trace("ESTIMATE", {"estimate": {"name": name, "type": "STREAM", "row_estimate": n - start}})
        status(name, "STARTED")
        status(name, "RUNNING")
    cursors.setdefault(name, 0)
    since = 0
    for i in range(start + 1, n + 1):
        rec = {"stream": name, "data": {"id": i, "name": "row %d" % i}, "emitted_at": int(time.time() * 1000)}
        if cfg.get("type_last"):
            sys.stdout.write('{"record": %s, "type": "RECORD"}\n' % json.dumps(rec))
        else:
            out({"type": "RECORD", "record": rec})
        total += 1
        since += 1
        cursors[name] = i
        if garbage_left > 0:
            garbage_left -= 1
            sys.stdout.flush()
            sys.stdout.buffer.write(garbage(rng.randrange(1, 300)) + b"\n")
            sys.stdout.buffer.flush()
        if cfg.get("noise") and i % 2 == 0:
            sys.stdout.write("this is not json, record %d\n" % i)
            sys.stdout.write('{"valid": "json but not a message"}\n')
            print("fake-source: progress %d" % i, file=sys.stderr)
        if i % every == 0:
            emit_state(name, since)
            since = 0
        sys.stdout.flush()
        if cfg.get("fail_after") and total >= cfg["fail_after"]:
            if cfg.get("trace_error"):
                out({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 0,
                     "error": {"message": cfg["trace_error"], "failure_type": "system_error"}}})
            sys.stdout.flush()
            print("fake-source: failing on purpose after %d records" % total, file=sys.stderr)
            sys.exit(1)
        if cfg.get("hang_after") and total >= cfg["hang_after"]:
            sys.stdout.flush()
            time.sleep(3600)
        if cfg.get("sleep"):
            time.sleep(cfg["sleep"])
    if since:
        emit_state(name, since)
    if cfg.get("estimate"):
        status(name, "COMPLETE")
sys.stdout.flush()
if cfg.get("garbage_tail"):
    sys.stdout.buffer.write(garbage(cfg["garbage_tail"]))
    sys.stdout.buffer.flush()
