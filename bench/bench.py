#!/usr/bin/env python3
"""The driver benchmark (run through bench/run.sh or `make bench`).

Variants, alternated within each repetition (the order rotates):
  a  driver    airbyte-replication-driver run: source-e2e-test -> destination-dev-null
  b  shell     source-e2e-test | cat > /dev/null
  c  relay     source-e2e-test | bench relay (copies, inspects nothing) | cat > /dev/null
  d  roles     as a, but the two roles started separately under proctime, to
               measure the drivers' own CPU and peak RSS (connectors excluded)
  e  rare      as a, with one STATE at the end: a/e is what checkpointing costs
  f  roles on tmpfs  as d, the store on tmpfs: d/f is what the disk's durable
               writes cost, f/e what the driver's own checkpointing costs
then: checkpoint latency, start-up overhead, tiny-replication wall time and
the Faros destination (npm).  Every knob is an environment variable, see
bench/README.md.  Results: bench/results/<UTC>.json and bench/results/latest.md.
"""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
HELPERS = os.path.join(ROOT, "build", "bench")
DRIVER = os.path.join(BIN, "airbyte-replication-driver")
GEN = os.path.join(BIN, "source-e2e-test")
DEVNULL = os.path.join(BIN, "destination-dev-null")
RELAY = os.path.join(HELPERS, "relay")
PROCTIME = os.path.join(HELPERS, "proctime")
STAMPEXEC = os.path.join(HELPERS, "stampexec")
WATCH = os.path.join(HELPERS, "watch_state")
GIB = 1 << 30


def env_size(name, default):
    v = os.environ.get(name, "").strip()
    if not v:
        return default
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(v[-1].upper(), 1)
    return int(float(v.rstrip("kKmMgG")) * mult)


def env_int(name, default):
    v = os.environ.get(name, "").strip()
    return int(v) if v else default


REPS = env_int("BENCH_REPS", 5)
BYTES = env_size("BENCH_BYTES", 2 * GIB)
RECORD_SIZE = env_int("BENCH_RECORD_SIZE", 200)
STATE_EVERY = env_int("BENCH_STATE_EVERY", 10000)
STARTUP_RUNS = env_int("BENCH_STARTUP_RUNS", 20)
CKPT_REPS = env_int("BENCH_CHECKPOINT_REPS", 3)
FAROS_RECORDS = env_int("BENCH_FAROS_RECORDS", 200000)
FAROS_REPS = env_int("BENCH_FAROS_REPS", 7)
DROP_RECORDS = env_int("BENCH_DROP_RECORDS", 1000000)
DROP_EVERY = (1, 10, 100)
SECTIONS = ("throughput", "checkpoint", "startup", "faros", "drops")
ONLY = [x for x in os.environ.get("BENCH_ONLY", ",".join(SECTIONS)).replace(",", " ").split() if x]
NPM_DIR = os.environ.get("BENCH_NPM_DIR") or os.path.join(ROOT, "build", "npm")
RESULTS = os.environ.get("BENCH_RESULTS_DIR") or os.path.join(ROOT, "bench", "results")
TMPFS = os.environ.get("BENCH_TMPFS") or "/dev/shm"
RECORDS = max(1, BYTES // RECORD_SIZE)
STATES = -(-RECORDS // STATE_EVERY) if STATE_EVERY else 1  # the last one ends the stream
PIPE_SIZE = 1 << 20


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def catalog(names, mode="full_refresh"):
    return {"streams": [{
        "stream": {"name": n, "json_schema": {"type": "object"},
                   "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": mode, "destination_sync_mode": "append"} for n in names]}


class Setup:
    """A secrets dir (source-file.json, destination-file.json, catalog-file.json)."""

    def __init__(self, work, name, src_cfg, dst_cfg, cat, store=None):
        self.dir = os.path.join(work, name)
        self.records = src_cfg.get("records", 1000)
        self.bytes = self.records * src_cfg.get("record_size", 200)
        self.secrets = os.path.join(self.dir, "secrets")
        self.store = store or os.path.join(self.dir, "store")
        self.pipes = os.path.join(self.dir, "pipes")
        os.makedirs(self.secrets, exist_ok=True)
        write_json(os.path.join(self.secrets, "source-file.json"), src_cfg)
        write_json(os.path.join(self.secrets, "destination-file.json"), dst_cfg)
        write_json(os.path.join(self.secrets, "catalog-file.json"), cat)
        self.src_cfg = os.path.join(self.secrets, "source-file.json")
        self.dst_cfg = os.path.join(self.secrets, "destination-file.json")
        self.cat = os.path.join(self.secrets, "catalog-file.json")

    def fresh_store(self):
        shutil.rmtree(self.store, ignore_errors=True)
        shutil.rmtree(self.pipes, ignore_errors=True)
        os.makedirs(self.pipes)

    def common(self):
        return ["--replication", "b", "--secrets-dir", self.secrets, "--store-path", self.store]

    def history(self):
        with open(os.path.join(self.store, "b", "history.jsonl")) as f:
            return [json.loads(l) for l in f if l.strip()][-1]


def run_checked(cmd, what, stderr_path, **kw):
    with open(stderr_path, "w") as err:
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=err, **kw)
        wall = time.perf_counter() - t0
    if r.returncode != 0:
        with open(stderr_path) as f:
            tail = f.read()[-2000:]
        raise SystemExit(f"bench: {what} failed with status {r.returncode}:\n{tail}")
    return wall


def check_history(setup, records, what):
    h = setup.history()
    if h.get("outcome") != "succeeded" or h.get("records_committed") != records:
        raise SystemExit(f"bench: {what}: unexpected run record {json.dumps(h)[:500]}")
    return h


# --- throughput variants ------------------------------------------------------

def timed(s, cmd, what, err):
    """Wall time, and the CPU seconds of cmd and all its processes."""
    usage = os.path.join(s.dir, "usage.json")
    wall = run_checked([PROCTIME, "-n", usage, *cmd], what, os.path.join(s.dir, err))
    u = read_json(usage)
    return {"wall": wall, "cpu_s": u["user"] + u["sys"]}


def v_driver(s):
    s.fresh_store()
    r = timed(s, [DRIVER, "run", *s.common(), "--source-entrypoint", GEN,
                  "--destination-entrypoint", DEVNULL], "driver run", "driver.err")
    check_history(s, s.records, "driver run")
    return r


def shell(s, middle):
    gen = f"'{GEN}' read --config '{s.src_cfg}' --catalog '{s.cat}'"
    script = "set -o pipefail; " + " | ".join([gen, *middle, "cat > /dev/null"])
    return timed(s, ["bash", "-c", script], "pipeline", "pipe.err")


def v_shell(s):
    return shell(s, [])


def v_relay(s):
    return shell(s, [f"'{RELAY}'"])


def read_json(path):
    with open(path) as f:
        return json.load(f)


def v_roles(s):
    """The roles under proctime; their connectors under proctime -n."""
    s.fresh_store()
    t = {k: os.path.join(s.dir, k + ".json") for k in ("dst", "src", "dconn", "sconn")}
    common = [*s.common(), "--pipes-dir", s.pipes]
    dst_cmd = [PROCTIME, t["dst"], DRIVER, "destination", *common,
               "--destination-entrypoint", f"{PROCTIME} -n {t['dconn']} {DEVNULL}"]
    src_cmd = [PROCTIME, t["src"], DRIVER, "source", *common,
               "--source-entrypoint", f"{PROCTIME} -n {t['sconn']} {GEN}"]
    with open(os.path.join(s.dir, "dst.err"), "w") as de, open(os.path.join(s.dir, "src.err"), "w") as se:
        t0 = time.perf_counter()
        dp = subprocess.Popen(dst_cmd, stdout=subprocess.DEVNULL, stderr=de)
        sp = subprocess.Popen(src_cmd, stdout=subprocess.DEVNULL, stderr=se)
        rs, rd = sp.wait(), dp.wait()
        wall = time.perf_counter() - t0
    if rs or rd:
        raise SystemExit(f"bench: roles failed: source {rs}, destination {rd} (see {s.dir})")
    check_history(s, s.records, "roles")
    m = {k: read_json(p) for k, p in t.items()}
    gib = s.bytes / GIB
    out = {"wall": wall}
    for role, conn in (("source", "sconn"), ("destination", "dconn")):
        role_m = m["src" if role == "source" else "dst"]
        user = role_m["user"] - m[conn]["user"]
        sys_ = role_m["sys"] - m[conn]["sys"]
        out[role] = {"user_s": user, "sys_s": sys_, "cpu_s_per_gib": (user + sys_) / gib,
                     "peak_rss_mib": role_m["hwm_kib"] / 1024.0,
                     "connector_cpu_s": m[conn]["user"] + m[conn]["sys"],
                     # the role's sleeps (its threads' voluntary context switches)
                     "wakeups": role_m["nvcsw"] - m[conn]["nvcsw"],
                     # cross-check: the role's own threads, read directly
                     "self_cpu_s_per_gib": (role_m["self_user"] + role_m["self_sys"]) / gib}
    out["cpu_s_per_gib"] = out["source"]["cpu_s_per_gib"] + out["destination"]["cpu_s_per_gib"]
    return out


def v_rare(s):
    """As a, with one STATE at the end instead of one every STATE_EVERY
    records: a/e is what checkpointing costs in throughput."""
    return v_driver(s.rare)


def v_roles_tmpfs(s):
    """As d, the store on tmpfs: the same commits without disk I/O."""
    return v_roles(s.mem)


VARIANTS = [("a_driver", v_driver), ("b_shell", v_shell), ("c_relay", v_relay), ("d_roles", v_roles),
            ("e_rare_states", v_rare), ("f_roles_tmpfs", v_roles_tmpfs)]


def fs_type(path):
    """The type of the filesystem path is on (the longest mount prefix)."""
    best, kind = "", None
    real = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            mnt, typ = line.split()[1:3]
            mnt = mnt.replace("\\040", " ")
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, typ
    return kind


def tmpfs_store_root():
    """A fresh dir on tmpfs for variant f, or (None, why not)."""
    if not os.path.isdir(TMPFS):
        return None, f"{TMPFS} does not exist (BENCH_TMPFS)"
    kind = fs_type(TMPFS)
    if kind != "tmpfs":
        return None, f"{TMPFS} is {kind or 'unknown'}, not tmpfs (BENCH_TMPFS)"
    return tempfile.mkdtemp(prefix="airbyte-bench.", dir=TMPFS), None


def throughput(work):
    src = {"records": RECORDS, "record_size": RECORD_SIZE, "state_every": STATE_EVERY,
           "pipe_size": PIPE_SIZE}
    s = Setup(work, "throughput", src, {}, catalog(["stream_0"]))
    s.rare = Setup(work, "throughput-rare", dict(src, state_every=RECORDS), {}, catalog(["stream_0"]))
    # warm up (page cache, binaries) on a small run of each variant
    small = min(RECORDS, 100000)
    warm = Setup(work, "warmup", dict(src, records=small), {}, catalog(["stream_0"]))
    warm.rare = Setup(work, "warmup-rare", dict(src, records=small, state_every=small), {},
                      catalog(["stream_0"]))
    mem_root, skipped = tmpfs_store_root()
    variants = [v for v in VARIANTS if v[0] != "f_roles_tmpfs" or mem_root]
    try:
        if mem_root:
            s.mem = Setup(work, "throughput-tmpfs", src, {}, catalog(["stream_0"]),
                          store=os.path.join(mem_root, "store"))
            warm.mem = Setup(work, "warmup-tmpfs", dict(src, records=small), {}, catalog(["stream_0"]),
                             store=os.path.join(mem_root, "warmup-store"))
        else:
            log(f"bench: variant f skipped: {skipped}")
        res = throughput_runs(s, warm, variants)
    finally:
        if mem_root:
            shutil.rmtree(mem_root, ignore_errors=True)
    if skipped:
        res["f_skipped"] = skipped
    return res


def driver_cpu(d):
    """Driver CPU s/GiB from runs of v_roles()."""
    return {
        "total": summary([r["cpu_s_per_gib"] for r in d]),
        "source_role": summary([r["source"]["cpu_s_per_gib"] for r in d]),
        "destination_role": summary([r["destination"]["cpu_s_per_gib"] for r in d]),
        "total_self": summary([(r["source"]["self_cpu_s_per_gib"] + r["destination"]["self_cpu_s_per_gib"])
                               for r in d]),
        "source_role_user_s": summary([r["source"]["user_s"] for r in d]),
        "source_role_sys_s": summary([r["source"]["sys_s"] for r in d]),
        "destination_role_wakeups_per_state": summary([r["destination"]["wakeups"] / STATES for r in d]),
        "source_role_wakeups_per_mib": summary([r["source"]["wakeups"] / (RECORDS * RECORD_SIZE / (1 << 20))
                                                for r in d]),
    }


def throughput_runs(s, warm, variants):
    for _, fn in variants:
        fn(warm)
    runs = {name: [] for name, _ in variants}
    for rep in range(REPS):
        order = variants[rep % len(variants):] + variants[:rep % len(variants)]
        for name, fn in order:
            r = fn(s)
            r["rep"] = rep
            r["gbps"] = RECORDS * RECORD_SIZE / r["wall"] / 1e9
            r["records_per_s"] = RECORDS / r["wall"]
            runs[name].append(r)
            log(f"  rep {rep + 1}/{REPS} {name:9s} {r['wall']:7.3f} s  {r['gbps']:6.3f} GB/s")
    res = {"variants": {}, "ratios": {}, "runs": runs}
    for name, rs in runs.items():
        res["variants"][name] = {"gbps": summary([r["gbps"] for r in rs]),
                                 # every process of the variant: what 2 cores must fit
                                 "cpu_s_per_gib": summary([r["cpu_s"] / (s.bytes / GIB) for r in rs
                                                           if "cpu_s" in r]),
                                 "records_per_s": summary([r["records_per_s"] for r in rs]),
                                 "wall_s": summary([r["wall"] for r in rs])}
    for a, b in (("a_driver", "b_shell"), ("a_driver", "c_relay"), ("d_roles", "c_relay"),
                 ("a_driver", "e_rare_states"), ("d_roles", "f_roles_tmpfs"),
                 ("f_roles_tmpfs", "e_rare_states")):
        if a not in runs or b not in runs:
            continue
        ratios = [x["gbps"] / y["gbps"] for x, y in zip(runs[a], runs[b])]
        res["ratios"][f"{a[0]}/{b[0]}"] = dict(summary(ratios), per_rep=ratios)
    d = runs["d_roles"]
    res["driver_cpu_s_per_gib"] = driver_cpu(d)
    if "f_roles_tmpfs" in runs:
        res["driver_cpu_s_per_gib_store_on_tmpfs"] = driver_cpu(runs["f_roles_tmpfs"])
    res["driver_peak_rss_mib"] = {
        "source_role": summary([r["source"]["peak_rss_mib"] for r in d]),
        "destination_role": summary([r["destination"]["peak_rss_mib"] for r in d]),
    }
    return res


# --- checkpoint latency --------------------------------------------------------

def checkpoint(work):
    """Destination echo (dev-null stamp_file) -> state.json renamed (inotify)."""
    records = max(STATE_EVERY, RECORDS // 4)
    lat, states, missed, commits = [], 0, 0, 0
    for rep in range(CKPT_REPS):
        stamps = os.path.join(work, f"stamps.{rep}")
        s = Setup(work, f"checkpoint{rep}",
                  {"records": records, "record_size": RECORD_SIZE, "state_every": STATE_EVERY,
                   "pipe_size": PIPE_SIZE},
                  {"stamp_file": stamps}, catalog(["stream_0"]))
        s.fresh_store()
        os.makedirs(os.path.join(s.store, "b"))
        wout = os.path.join(s.dir, "watch.out")
        with open(wout, "w") as wf:
            w = subprocess.Popen([WATCH, os.path.join(s.store, "b")], stdout=wf)
            while True:  # wait for "ready"
                with open(wout) as f:
                    if f.read(6) == "ready\n":
                        break
                if w.poll() is not None:
                    raise SystemExit("bench: watch_state failed")
                time.sleep(0.005)
            try:
                run_checked([DRIVER, "run", *s.common(), "--source-entrypoint", GEN,
                             "--destination-entrypoint", DEVNULL],
                            "checkpoint run", os.path.join(s.dir, "driver.err"))
            finally:
                time.sleep(0.05)
                w.terminate()
                w.wait()
        h = check_history(s, records, "checkpoint run")
        commits += h.get("state_commits", 0)
        seen = []  # (ns, cursor)
        with open(wout) as f:
            for line in f:
                if line.startswith("ready"):
                    continue
                ns, _, text = line.partition(" ")
                try:
                    doc = json.loads(text)
                except ValueError:
                    continue
                cur = max(x["stream"]["stream_state"]["cursor"] for x in doc["state"])
                seen.append((int(ns), cur))
        with open(stamps) as f:
            for line in f:
                ns, _, text = line.partition(" ")
                cur = json.loads(text)["state"]["stream"]["stream_state"]["cursor"]
                t0 = int(ns)
                states += 1
                hit = next((t for t, c in seen if c >= cur and t >= t0), None)
                if hit is None:
                    missed += 1
                else:
                    lat.append((hit - t0) / 1e6)
        log(f"  checkpoint rep {rep + 1}/{CKPT_REPS}: {len(seen)} commits observed")
    return {"records_per_run": records, "state_every": STATE_EVERY, "runs": CKPT_REPS,
            "states_echoed": states, "state_commits": commits, "unmatched": missed,
            "latency_ms": {"p50": percentile(lat, 50), "p90": percentile(lat, 90),
                           "p99": percentile(lat, 99), "max": max(lat) if lat else None,
                           "n": len(lat)}}


# --- start-up overhead and tiny replications ----------------------------------

def startup(work):
    s = Setup(work, "tiny", {"records": 1}, {}, catalog(["stream_0"]))
    to_src, to_dst, to_both = [], [], []
    run_wall, pipe_wall = [], []
    gen = f"'{GEN}' read --config '{s.src_cfg}' --catalog '{s.cat}'"
    dst = f"'{DEVNULL}' write --config '{s.dst_cfg}' --catalog '{s.cat}'"
    drv = " ".join(f"'{a}'" for a in [DRIVER, "run", *s.common(), "--source-entrypoint", GEN,
                                      "--destination-entrypoint", DEVNULL])
    for i in range(STARTUP_RUNS):
        f = os.path.join(s.dir, f"stamps.{i}")
        s.fresh_store()
        run_checked([STAMPEXEC, f, "driver", DRIVER, "run", *s.common(),
                     "--source-entrypoint", f"{STAMPEXEC} {f} source {GEN}",
                     "--destination-entrypoint", f"{STAMPEXEC} {f} destination {DEVNULL}"],
                    "tiny run (stamped)", os.path.join(s.dir, "stamped.err"))
        st = {}
        with open(f) as fh:
            for line in fh:
                k, v = line.split()
                st[k] = int(v)
        to_src.append((st["source"] - st["driver"]) / 1e6)
        to_dst.append((st["destination"] - st["driver"]) / 1e6)
        to_both.append((max(st["source"], st["destination"]) - st["driver"]) / 1e6)
        # alternate: the driver end to end, then the same connectors piped by bash
        s.fresh_store()
        run_wall.append(run_checked(["bash", "-c", "exec " + drv], "tiny run",
                                    os.path.join(s.dir, "tiny.err")) * 1e3)
        check_history(s, 1, "tiny run")
        pipe_wall.append(run_checked(["bash", "-c", f"set -o pipefail; {gen} | {dst} >/dev/null"],
                                     "tiny pipe", os.path.join(s.dir, "pipe.err")) * 1e3)
    return {"runs": STARTUP_RUNS,
            "exec_to_connectors_ms": {"both": summary(to_both), "source": summary(to_src),
                                      "destination": summary(to_dst)},
            "tiny_replication_wall_ms": {"driver_run": summary(run_wall),
                                         "shell_pipe": summary(pipe_wall),
                                         "difference_median": statistics.median(
                                             [a - b for a, b in zip(run_wall, pipe_wall)])}}


# --- the Faros destination (npm) ------------------------------------------------

def faros_install():
    main = os.path.join(NPM_DIR, "faros-destination.js")
    pkg = os.path.join(NPM_DIR, "node_modules", "airbyte-faros-destination")
    if not os.path.isdir(pkg):
        if not shutil.which("npm") or not shutil.which("node"):
            return None, "node/npm not found"
        log(f"  npm install airbyte-faros-destination into {NPM_DIR} ...")
        os.makedirs(NPM_DIR, exist_ok=True)
        r = subprocess.run(["npm", "install", "--prefix", NPM_DIR, "--no-audit", "--no-fund",
                            "--loglevel=error", "airbyte-faros-destination"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0 or not os.path.isdir(pkg):
            return None, "npm install failed: " + r.stderr.strip()[-500:]
    # the package has no bin: a two-line runner next to its node_modules
    with open(main, "w") as f:
        f.write("require('airbyte-faros-destination').mainCommand().parseAsync(process.argv);\n")
    return main, None


def faros(work):
    main, why = faros_install()
    if not main:
        log(f"  SKIPPED the Faros destination: {why}")
        return {"skipped": why}
    name = "mytestsource__github__users"
    src = {"stream_names": [name], "records": FAROS_RECORDS, "state_every": STATE_EVERY,
           "data_template": {"login": "user{{id}}", "name": "User {{id}}", "type": "User",
                             "html_url": "https://github.com/user{{id}}"}}
    out = {"records": FAROS_RECORDS, "reps": FAROS_REPS, "configs": {}}
    configs = {
        # the connector's default logs every converted record on stdout in dry run
        "log_records_false": {"edition_configs": {}, "dry_run": True, "log_records": False},
        "default": {"edition_configs": {}, "dry_run": True},
        # without the `spec` run before the sync (node starts twice otherwise)
        "log_records_false_no_spec_check": {"edition_configs": {}, "dry_run": True,
                                            "log_records": False},
    }
    entry = f"node {main}"
    for cname, dcfg in configs.items():
        extra = ["--spec-timeout", "0"] if cname.endswith("no_spec_check") else []
        s = Setup(work, "faros-" + cname, src, dcfg, catalog([name]))
        gen = f"'{GEN}' read --config '{s.src_cfg}' --catalog '{s.cat}'"
        dst = f"node '{main}' write --config '{s.dst_cfg}' --catalog '{s.cat}'"
        drv, pipe = [], []
        for rep in range(FAROS_REPS):
            def one_driver():
                s.fresh_store()
                drv.append(run_checked([DRIVER, "run", *s.common(), *extra, "--source-entrypoint", GEN,
                                        "--destination-entrypoint", entry],
                                       "faros driver run", os.path.join(s.dir, "driver.err")))
                check_history(s, FAROS_RECORDS, "faros driver run")

            def one_pipe():
                pipe.append(run_checked(["bash", "-c", f"set -o pipefail; {gen} | {dst} >/dev/null"],
                                        "faros pipe", os.path.join(s.dir, "pipe.err")))
            for fn in ((one_driver, one_pipe) if rep % 2 == 0 else (one_pipe, one_driver)):
                fn()
            log(f"  faros {cname} rep {rep + 1}/{FAROS_REPS}: driver {drv[-1]:.2f} s, pipe {pipe[-1]:.2f} s")
        ratios = [a / b for a, b in zip(drv, pipe)]
        out["configs"][cname] = {"config": dcfg, "driver_wall_s": summary(drv),
                                 "pipe_wall_s": summary(pipe),
                                 "wall_ratio_driver_over_pipe": dict(summary(ratios), per_rep=ratios),
                                 "driver_records_per_s": FAROS_RECORDS / statistics.median(drv)}
    return out


# --- dropped lines ---------------------------------------------------------------

def drops(work):
    """A non-JSON line or a LOG message after every N records: the driver
    logs and drops each."""
    out = {"records": DROP_RECORDS, "reps": REPS, "kinds": {}}
    for kind, key in (("non_json", "garbage_every"), ("log", "log_every")):
        out["kinds"][kind] = {}
        for n in DROP_EVERY:
            s = Setup(work, f"drops-{kind}-{n}", {"records": DROP_RECORDS, "record_size": RECORD_SIZE,
                                                  "state_every": STATE_EVERY, "pipe_size": PIPE_SIZE,
                                                  key: n}, {}, catalog(["stream_0"]))
            drv, pipe = [], []
            for rep in range(REPS):
                for fn in ((v_driver, v_shell) if rep % 2 == 0 else (v_shell, v_driver)):
                    (drv if fn is v_driver else pipe).append(fn(s)["wall"])
            ratios = [a / b for a, b in zip(drv, pipe)]
            out["kinds"][kind][str(n)] = {
                "dropped_lines": DROP_RECORDS // n, "driver_wall_s": summary(drv),
                "pipe_wall_s": summary(pipe),
                "wall_ratio_driver_over_pipe": dict(summary(ratios), per_rep=ratios)}
            log(f"  a {kind} line every {n}: driver {statistics.median(drv):.2f} s, "
                f"pipe {statistics.median(pipe):.2f} s")
    return out


# --- report ---------------------------------------------------------------------

def source_version():
    """The commit measured ("+changes" when the code differs from it), or None.
    Results are not code: a run that updates latest.md measured the commit."""
    def git(*args):
        r = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None
    head = git("rev-parse", "--short", "HEAD")
    if head and git("status", "--porcelain", "--untracked-files=no", "--", "src", "connectors", "bench",
                       ":(exclude)bench/results"):
        head += "+changes"
    return head


def host_info(work):
    info = {"nproc": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg()[0], "commit": source_version()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    r = subprocess.run(["df", "-T", work], capture_output=True, text=True)
    if r.returncode == 0 and len(r.stdout.splitlines()) > 1:
        info["work_fs"] = r.stdout.splitlines()[1].split()[1]
    return info


def fmt(x, p=2):
    return "n/a" if x is None else f"{x:.{p}f}"


def spread(x, p=2):
    """A summary as "median [min-max]"."""
    return f"{fmt(x['median'], p)} [{fmt(x['min'], p)}-{fmt(x['max'], p)}]"


def markdown(res):
    t = res.get("throughput", {})
    p = res["params"]
    L = [f"# Benchmark {res['timestamp']}, commit {res['host'].get('commit') or 'unknown'}", "",
         f"{p['reps']} repetitions x {p['bytes'] / GIB:.2f} GiB ({p['records']} records of "
         f"{p['record_size']} B, a STATE every {p['state_every']}), variants alternated; "
         f"host: {res['host'].get('nproc')} cores, {res['host'].get('cpu', '?')}, "
         f"work dir on {res['host'].get('work_fs', '?')}, load average "
         f"{res['host'].get('loadavg_at_start', 0):.1f} at start, {res['host'].get('loadavg_at_end', 0):.1f} at end. "
         "Medians [min-max]."]
    if t:
        L += ["", "| variant | GB/s | records/s | CPU s/GiB, all its processes |", "|---|---|---|---|"]
    names = {"a_driver": "a: driver `run`", "b_shell": "b: shell pipe into `cat`",
             "c_relay": "c: relay (ceiling)", "d_roles": "d: driver roles (measured)",
             "e_rare_states": "e: as a, one STATE at the end",
             "f_roles_tmpfs": "f: as d, the store on tmpfs"}
    for k, v in t.get("variants", {}).items():
        g, r, c = v["gbps"], v["records_per_s"], v.get("cpu_s_per_gib") or {}
        L.append(f"| {names.get(k, k)} | {fmt(g['median'], 3)} [{fmt(g['min'], 3)}-{fmt(g['max'], 3)}] | "
                 f"{r['median'] / 1e6:.2f} M [{r['min'] / 1e6:.2f}-{r['max'] / 1e6:.2f}] | "
                 f"{fmt(c.get('median'))} |")
    if t:
        L += ["", "| ratio (throughput, per repetition) | median | min-max |", "|---|---|---|"]
    for k, v in t.get("ratios", {}).items():
        L.append(f"| {k} | {fmt(v['median'])} | {fmt(v['min'])}-{fmt(v['max'])} |")
    if t.get("f_skipped"):
        L += ["", f"Variant f skipped: {t['f_skipped']}."]
    cpu, rss = t.get("driver_cpu_s_per_gib"), t.get("driver_peak_rss_mib")
    if t or res.get("checkpoint") or res.get("startup"):
        L += ["", "| driver cost (connectors excluded) | median [min-max] |", "|---|---|"]
    for where, cpu in (("", cpu), (", store on tmpfs (f)", t.get("driver_cpu_s_per_gib_store_on_tmpfs"))):
        for k in ("total", "source_role", "destination_role") if cpu else ():
            c = cpu[k]
            L.append(f"| CPU s/GiB, {k.replace('_', ' ')}{where} | "
                     f"{fmt(c['median'])} [{fmt(c['min'])}-{fmt(c['max'])}] |")
        if cpu:
            c = cpu["destination_role_wakeups_per_state"]
            L.append(f"| wake-ups (voluntary context switches) per state, destination role{where} | "
                     f"{fmt(c['median'], 1)} [{fmt(c['min'], 1)}-{fmt(c['max'], 1)}] |")
    if rss:
        for k in ("source_role", "destination_role"):
            c = rss[k]
            L.append(f"| peak RSS MiB, {k.replace('_', ' ')} | {fmt(c['median'], 1)} [{fmt(c['min'], 1)}-{fmt(c['max'], 1)}] |")
    c = res.get("checkpoint")
    if c:
        l = c["latency_ms"]
        L.append(f"| checkpoint latency ms (echo to durable state.json), p50 / p99 / max, n={l['n']} | "
                 f"{fmt(l['p50'])} / {fmt(l['p99'])} / {fmt(l['max'])} |")
    s = res.get("startup")
    if s:
        b = s["exec_to_connectors_ms"]["both"]
        w = s["tiny_replication_wall_ms"]
        L.append(f"| start-up ms: driver exec to both connectors exec'd (n={s['runs']}) | "
                 f"{fmt(b['median'])} [{fmt(b['min'])}-{fmt(b['max'])}] |")
        L.append(f"| 1-record replication wall ms: driver `run` / shell pipe | "
                 f"{fmt(w['driver_run']['median'])} / {fmt(w['shell_pipe']['median'])} |")
    f = res.get("faros")
    if f and "skipped" in f:
        L += ["", f"Faros destination: skipped ({f['skipped']})."]
    elif f:
        L += ["", f"Faros destination (npm, dry run), {f['records']} records, {f['reps']} runs each, "
              "wall seconds, medians:", "",
              "| destination config | driver `run` | shell pipe | ratio driver/pipe [min-max] |",
              "|---|---|---|---|"]
        for k, v in f["configs"].items():
            L.append(f"| {k} | {fmt(v['driver_wall_s']['median'])} | {fmt(v['pipe_wall_s']['median'])} | "
                     f"{spread(v['wall_ratio_driver_over_pipe'])} |")
    d = res.get("drops")
    if d:
        L += ["", f"Dropped lines: {d['records']} records and a non-JSON line or a LOG message after "
              f"every N, {d['reps']} runs each, wall seconds, medians:", "",
              "| line | N | dropped | driver `run` | shell pipe | ratio driver/pipe [min-max] |",
              "|---|---|---|---|---|---|"]
        for kind, ns in d["kinds"].items():
            for k, v in ns.items():
                L.append(f"| {kind.replace('_', '-')} | {k} | {v['dropped_lines']} | "
                         f"{fmt(v['driver_wall_s']['median'])} | {fmt(v['pipe_wall_s']['median'])} | "
                         f"{spread(v['wall_ratio_driver_over_pipe'])} |")
    L += ["", "How each number is measured: bench/README.md. Raw data: the JSON file of the same run."]
    return "\n".join(L) + "\n"


def snapshot_binaries(work):
    """Copy the binaries into the work dir: a rebuild or `make clean` during
    the run must not change or remove what is being measured."""
    g = globals()
    os.makedirs(os.path.join(work, "bin"))
    for name in ("DRIVER", "GEN", "DEVNULL", "RELAY", "PROCTIME", "STAMPEXEC", "WATCH"):
        src = g[name]
        if not os.access(src, os.X_OK):
            raise SystemExit(f"bench: missing {src} (run make bench)")
        dst = os.path.join(work, "bin", os.path.basename(src))
        shutil.copy2(src, dst)
        g[name] = dst


def main():
    ts = datetime.datetime.now(datetime.timezone.utc)
    work = tempfile.mkdtemp(prefix="airbyte-bench.", dir=os.environ.get("TMPDIR"))
    snapshot_binaries(work)
    res = {"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "host": host_info(work),
           "params": {"reps": REPS, "bytes": RECORDS * RECORD_SIZE, "records": RECORDS,
                      "record_size": RECORD_SIZE, "state_every": STATE_EVERY,
                      "pipe_size": PIPE_SIZE, "startup_runs": STARTUP_RUNS,
                      "checkpoint_reps": CKPT_REPS, "faros_records": FAROS_RECORDS,
                      "faros_reps": FAROS_REPS, "drop_records": DROP_RECORDS}}
    t0 = time.time()
    bad = set(ONLY) - set(SECTIONS)
    if bad:
        raise SystemExit(f"bench: BENCH_ONLY: unknown section(s) {' '.join(sorted(bad))}; "
                         f"choose from {' '.join(SECTIONS)}")
    steps = {"throughput": (f"throughput, {REPS} x {RECORDS * RECORD_SIZE / GIB:.2f} GiB per variant",
                            throughput),
             "checkpoint": ("checkpoint latency", checkpoint),
             "startup": (f"start-up, {STARTUP_RUNS} runs", startup),
             "faros": ("Faros destination", faros),
             "drops": (f"dropped lines, {REPS} runs each", drops)}
    try:
        for name in SECTIONS:
            if name in ONLY:
                what, fn = steps[name]
                log(f"bench: {what}")
                res[name] = fn(work)
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
    res["duration_s"] = time.time() - t0
    res["host"]["loadavg_at_end"] = os.getloadavg()[0]
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, ts.strftime("%Y%m%dT%H%M%SZ") + ".json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    md = markdown(res)
    with open(os.path.join(RESULTS, "latest.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"bench: {path} and {os.path.join(RESULTS, 'latest.md')} ({res['duration_s']:.0f} s)")


if __name__ == "__main__":
    main()
