#!/usr/bin/env python3
"""State invariants of one fault case, in one process (see lib.sh inv_state).

usage: check_state.py MODE STATE_JSON STATE_LOG STDIN_LOG
  MODE exact: the destination driver survived: for every stream the stored
              cursor lies between the last cursor the destination printed
              ("P" in STATE_LOG) and the last one it was about to print ("E"),
              and every stream it printed is stored;
  MODE any:   the stored cursor is one the destination echoed ("E").
Always: the file is valid JSON with a "state" array of STREAM states, every
stored cursor is one the destination echoed (never a state only the source
sent), and every record of the stream up to the cursor reached the
destination (STDIN_LOG).  Prints one line: "ok <summary>" or "bad <why>".
"""
import json, os, sys

mode, state_path, slog_path, inlog_path = sys.argv[1:5]

def lines(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path, "rb") as f:
        for raw in f:
            try:
                out.append(json.loads(raw))
            except ValueError:
                pass  # a line cut by a SIGKILL
    return out

echoed = {"E": {}, "P": {}}  # phase -> stream -> [cursors in order]
for e in lines(slog_path):
    st = e.get("state", {})
    s = st.get("stream", {})
    name = s.get("stream_descriptor", {}).get("name")
    if name is not None:
        echoed[e["phase"]].setdefault(name, []).append(s.get("stream_state", {}).get("cursor"))

if not os.path.exists(state_path):
    if mode == "exact" and echoed["P"]:
        print("bad nothing stored although the destination printed states for %s" % sorted(echoed["P"]))
    else:
        print("ok none stored, none confirmed before the fault")
    sys.exit(0)
try:
    doc = json.load(open(state_path))
    stored = {s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"]["cursor"]
              for s in doc["state"]}
except Exception as e:  # noqa
    print("bad state.json is not a valid STREAM state document: %r: %s" % (e, open(state_path, "rb").read(200)))
    sys.exit(0)

ids = {}
for m in lines(inlog_path):
    if m.get("type") == "RECORD":
        ids.setdefault(m["record"]["stream"], set()).add(m["record"]["data"]["id"])

bad = []
for name, cur in stored.items():
    if cur not in echoed["E"].get(name, []):
        bad.append("%s:%s was never echoed by the destination" % (name, cur))
        continue
    if mode == "exact":
        lastp = echoed["P"].get(name, [None])[-1]
        laste = echoed["E"][name][-1]
        if lastp is not None and cur < lastp:
            bad.append("%s:%s is older than the last printed %s" % (name, cur, lastp))
        if cur > laste:
            bad.append("%s:%s is newer than the last echoed %s" % (name, cur, laste))
    missing = [i for i in range(1, cur + 1) if i not in ids.get(name, ())]
    if missing:
        bad.append("%s:cursor %s but %d records up to it never reached the destination (first %s)"
                   % (name, cur, len(missing), missing[0]))
if mode == "exact":
    for name in echoed["P"]:
        if name not in stored:
            bad.append("%s: printed by the destination but not stored" % name)
print(("bad " + "; ".join(bad)) if bad else
      "ok %s is echoed by the destination (%s) and covered by delivered records" % (json.dumps(stored, separators=(",", ":")), mode))
