#!/usr/bin/env bash
# A test kubelet: runs the operator's replication Pods for real with podman
# (`podman kube play`) against the test control plane of tests/k8s/cluster.sh,
# which has no kubelet of its own.
#
#   tests/k8s/kubelet.sh [run] DIR               run until SIGTERM/SIGINT
#   tests/k8s/kubelet.sh kill DIR POD CONTAINER [SIGNAL]
#                                               podman kill -s SIGNAL (default KILL)
#   tests/k8s/kubelet.sh name DIR POD [CONTAINER]  the podman pod/container name
#   tests/k8s/kubelet.sh logs DIR POD CONTAINER  the container's log (podman's,
#                                               or the copy kept after removal)
#   tests/k8s/kubelet.sh cleanup DIR            stop and remove every podman pod a
#                                               kubelet of DIR started (for traps,
#                                               after a SIGKILL)
# DIR is a cluster directory (DIR/env from cluster.sh: KUBE_SERVER, KUBE_TOKEN,
# KUBE_CA). POD is NAME (namespace default) or NAMESPACE/NAME.
#
# What it does, every KUBELET_INTERVAL (0.5) seconds:
# - registers a Node (KUBELET_NODE_NAME, default podman-kubelet; Ready) and,
#   being the only "scheduler" too, binds every unbound Pod that matches
#   KUBELET_SELECTOR (default app.kubernetes.io/managed-by=airbyte-replication-operator)
#   to it (pods/binding). Bound Pods get graceful deletion, as with a real node:
#   a DELETE sets deletionTimestamp, the kubelet stops the containers and then
#   deletes the Pod for good (grace 0).
# - runs each such Pod with `podman kube play`, rewritten for podman 4.3:
#   hostNetwork: true (the API server is on 127.0.0.1); every volume but
#   hostPath becomes a per-Pod hostPath directory under DIR/kubelet/pods/UID/
#   (podman 4.3 turns an emptyDir into a *named* volume shared by every pod
#   with a volume of that name, and panics on secret volumes): emptyDir (empty,
#   0777), secret and configMap (items, defaultMode/mode, optional), projected
#   (serviceAccountToken from the TokenRequest API bound to the Pod, refreshed
#   at 80% of its life; configMap kube-root-ca.crt, else KUBE_CA; secret;
#   downwardAPI), downwardAPI; env KUBERNETES_SERVICE_HOST/PORT (and the other
#   KUBERNETES_* service variables) in every container, env valueFrom
#   (fieldRef, secretKeyRef, configMapKeyRef) and envFrom resolved; image
#   names normalized like containerd (airbyte/x:1 -> docker.io/airbyte/x:1);
#   imagePullPolicy Never: this kubelet never pulls (a missing image gives
#   waiting ErrImagePull, or ErrImageNeverPull for policy Never, and the Pod
#   stays Pending until the image appears); init containers kept after they
#   ran (annotation io.podman.annotations.init.container.type=always) so
#   their status can be reported.
# - patches pods/status (merge patch) whenever it changes: phase, conditions,
#   hostIP/podIP 127.0.0.1, startTime, initContainerStatuses and
#   containerStatuses (waiting/running/terminated with exitCode, reason
#   Completed/Error/OOMKilled, startedAt/finishedAt, containerID podman://ID,
#   and for failures with terminationMessagePolicy FallbackToLogsOnError the
#   last log lines as message). Phase: Running once a container started,
#   Succeeded when all exited 0, Failed when all ended and one did not exit 0,
#   or an init container failed. restartPolicy Never is assumed.
# - a Pod deleted in the API (deletionTimestamp set, or gone): podman pod stop
#   with grace min(deletionGracePeriodSeconds, KUBELET_MAX_GRACE=10) (SIGTERM,
#   then SIGKILL), final status, DELETE grace 0, logs kept under
#   DIR/kubelet/logs/NS_NAME_UID8/CONTAINER.log, podman pod and its
#   directories removed. Exited pods stay in podman (for `logs`) until then.
# - SIGTERM/SIGINT: every podman pod stopped (grace KUBELET_SHUTDOWN_GRACE=5),
#   final statuses sent, pods removed, Node marked NotReady, exit 0. A worker
#   whose kubelet died (SIGKILL of the main process alone) does the same. When
#   everything was SIGKILLed (`pkill -9 -f DIR`), podman pods are left
#   running: `kubelet.sh cleanup DIR` removes them (they carry the label
#   io.ard.kubelet.dir=<hash of DIR>); a kubelet started again reports the
#   Running Pods it finds bound to it without containers as ended
#   (ContainerStatusUnknown, exit 137, phase Failed), as a kubelet does.
# - One worker process per Pod; a tick costs two processes (podman ps, jq)
#   while nothing changes. KUBELET_TRACE=1 writes a timestamped bash trace to
#   DIR/kubelet/trace.log.
#
# Podman names: pod NAME-UID8 (UID8 = the first 8 characters of the Pod's uid,
# so clusters side by side never clash), containers NAME-UID8-CONTAINER.
# Log: DIR/kubelet.log. State: DIR/kubelet/. Needs curl, jq, podman (root);
# uses $CONTAINERS_CONF, else writes DIR/kubelet/containers.conf (runc, ulimits).
#
# Not supported: image pulls, restartPolicy other than Never (podman would
# restart containers on its own), probes, ports, PVCs, emptyDir medium Memory
# (a plain directory), Secret/ConfigMap updates after the start (but for the
# token refresh), `kubectl logs/exec` (use `kubelet.sh logs` or podman).
#
# Test-only hook: KUBELET_LOCAL_DIR=HOSTDIR mounts HOSTDIR at /local
# (KUBELET_LOCAL_PATH) into the containers named in KUBELET_LOCAL_CONTAINERS
# (default "source destination"), never into init containers: the seed's
# source-file config reads file:///local/input.csv, which a replication Pod
# has no volume for.
set -uo pipefail

INTERVAL=${KUBELET_INTERVAL:-0.5}
NODE=${KUBELET_NODE_NAME:-podman-kubelet}
SELECTOR=${KUBELET_SELECTOR:-app.kubernetes.io/managed-by=airbyte-replication-operator}
MAX_GRACE=${KUBELET_MAX_GRACE:-10}
SHUTDOWN_GRACE=${KUBELET_SHUTDOWN_GRACE:-5}
LOCAL_DIR=${KUBELET_LOCAL_DIR:-}
LOCAL_PATH=${KUBELET_LOCAL_PATH:-/local}
LOCAL_CONTAINERS=${KUBELET_LOCAL_CONTAINERS:-source destination}
export TZ=UTC
shopt -s nullglob

usage() {
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# ------------------------------------------------------------------ setup
setup_dir() { # DIR
	[ -n "${1:-}" ] && [ -d "$1" ] || { echo "kubelet: no such directory '${1:-}'" >&2; exit 2; }
	DIR=$(cd "$1" && pwd)
	STATE=$DIR/kubelet
	PODS=$STATE/pods
	LOGS=$STATE/logs
	LOG=$DIR/kubelet.log
	mkdir -p "$PODS" "$LOGS"
	if [ -z "${CONTAINERS_CONF:-}" ]; then
		printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n' \
			>"$STATE/containers.conf"
		export CONTAINERS_CONF=$STATE/containers.conf
	fi
}

load_env() {
	[ -f "$DIR/env" ] || { echo "kubelet: $DIR/env missing (tests/k8s/cluster.sh start $DIR)" >&2; exit 2; }
	local line k v
	while IFS= read -r line; do
		k=${line%%=*} v=${line#*=}
		case $k in KUBE_SERVER | KUBE_TOKEN | KUBE_CA) ;; *) continue ;; esac
		case $v in \'*\') v=${v:1:${#v}-2} ;; esac
		printf -v "$k" '%s' "$v"
	done <"$DIR/env"
	[ -n "${KUBE_SERVER:-}" ] && [ -n "${KUBE_TOKEN:-}" ] && [ -n "${KUBE_CA:-}" ] ||
		{ echo "kubelet: $DIR/env lacks KUBE_SERVER, KUBE_TOKEN or KUBE_CA" >&2; exit 2; }
	local hp=${KUBE_SERVER#https://}
	hp=${hp%%/*}
	API_HOST=${hp%:*}
	API_PORT=${hp##*:}
	[ "$API_PORT" != "$hp" ] || API_PORT=443
}

# KUBELET_TRACE=1: bash xtrace with timestamps in DIR/kubelet/trace.log
trace_on() {
	[ "${KUBELET_TRACE:-0}" = 1 ] || return 0
	exec 7>>"$STATE/trace.log"
	BASH_XTRACEFD=7
	PS4='+ ${EPOCHREALTIME} ${BASHPID} ${FUNCNAME[0]:-main}: '
	set -x
}

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$*" >>"$LOG"; }

# api OUT METHOD PATH [BODY [CONTENT-TYPE]]: prints the HTTP code (000 when
# the server could not be reached), the answer in OUT
api() {
	local out=$1 method=$2 path=$3 body=${4:-} ct=${5:-application/json}
	local args=(-sS -o "$out" -w '%{http_code}' --max-time 10 --cacert "$KUBE_CA"
		-H "Authorization: Bearer $KUBE_TOKEN" -H 'Accept: application/json' -X "$method")
	[ -n "$body" ] && args+=(-H "Content-Type: $ct" --data-binary "$body")
	curl "${args[@]}" "$KUBE_SERVER$path" 2>/dev/null || true
}

now_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# the podman names of an API Pod
pod_ref() { # NS NAME UID -> podman pod name
	printf '%s-%s' "$2" "${3:0:8}"
}

# ------------------------------------------------------------------ jq programs
# build the podman Pod and the files of its volumes. Inputs: the API Pod,
# then the fetched objects (obj_KIND_NAME.json) and token answers (in the
# order of $tokkeys).
read -r -d '' JQ_BUILD_HEAD <<'EOF'
input as $pod
| (reduce inputs as $x ({objs: {}, toks: []};
    (input_filename | sub(".*/"; "") | sub("\\.json$"; "")) as $f
    | if ($f | startswith("obj_")) then
        ($f[4:] | index("_")) as $i
        | .objs[$f[4:][0:$i] + "/" + $f[4:][$i + 1:]] = $x
      else .toks += [$x] end)) as $in
| ($in.objs
   | if has("configmap/kube-root-ca.crt") and .["configmap/kube-root-ca.crt"] == null
     then .["configmap/kube-root-ca.crt"] = {data: {"ca.crt": $ca}} else . end) as $objs
| ([$tokkeys, $in.toks] | transpose | map(select(.[0] != null) | {key: .[0], value: .[1].status.token}) | from_entries) as $tokens
| $pod
|
EOF
read -r -d '' JQ_BUILD <<'EOF'
. as $pod
| def objof(kind; name): $objs[kind + "/" + name];
  def fieldval(p):
    if p == "metadata.name" then $pod.metadata.name
    elif p == "metadata.namespace" then $pod.metadata.namespace
    elif p == "metadata.uid" then $pod.metadata.uid
    elif p == "spec.nodeName" then $node
    elif p == "spec.serviceAccountName" then ($pod.spec.serviceAccountName // "default")
    elif p == "status.hostIP" or p == "status.podIP" then "127.0.0.1"
    elif (p | test("^metadata\\.(labels|annotations)\\['.*'\\]$")) then
      (p | capture("^metadata\\.(?<m>[a-z]+)\\['(?<k>.*)'\\]$")) as $c | ($pod.metadata[$c.m][$c.k] // "")
    elif p == "metadata.labels" or p == "metadata.annotations" then
      ($pod.metadata[p[9:]] // {} | to_entries | map("\(.key)=\"\(.value)\"") | join("\n"))
    else null end;
  # {b64} or {err}
  def keyval(kind; ref):
    objof(kind; ref.name) as $o
    | if $o == null then
        (if ref.optional then {} else {err: "\(kind) \"\(ref.name)\" not found"} end)
      else
        (if kind == "secret" then ($o.data // {})[ref.key]
         else (($o.data // {})[ref.key] | if . then @base64 else null end) // ($o.binaryData // {})[ref.key] end) as $v
        | if $v != null then {b64: $v}
          elif ref.optional then {}
          else {err: "couldn't find key \(ref.key) in \(kind) \($pod.metadata.namespace)/\(ref.name)"} end
      end;
  def alldata(kind; o):
    if kind == "secret" then (o.data // {})
    else ((o.data // {}) | map_values(@base64)) + (o.binaryData // {}) end;
  # files of a secret/configMap source: {files: [{path, mode, b64}], errors: []}
  def keyfiles(kind; name; src; dmode):
    objof(kind; name) as $o
    | if $o == null then
        (if src.optional then {files: [], errors: []}
         else {files: [], errors: ["\(kind) \"\(name)\" not found"]} end)
      else alldata(kind; $o) as $d
        | if (src.items // []) | length > 0 then
            reduce src.items[] as $it ({files: [], errors: []};
              if $d[$it.key] != null then .files += [{path: $it.path, mode: ($it.mode // dmode), b64: $d[$it.key]}]
              elif src.optional then .
              else .errors += ["couldn't find key \($it.key) in \(kind) \($pod.metadata.namespace)/\(name)"] end)
          else {files: [$d | to_entries[] | {path: .key, mode: dmode, b64: .value}], errors: []} end
      end;
  def dafiles(items; dmode):
    reduce (items // [])[] as $it ({files: [], errors: []};
      if $it.fieldRef then
        (fieldval($it.fieldRef.fieldPath)) as $v
        | if $v == null then .errors += ["downwardAPI: unsupported fieldPath \($it.fieldRef.fieldPath)"]
          else .files += [{path: $it.path, mode: ($it.mode // dmode), b64: ($v | @base64)}] end
      else .errors += ["downwardAPI: only fieldRef items are supported (\($it.path))"] end);
  def volfiles(v):
    if v.secret then keyfiles("secret"; v.secret.secretName; v.secret; (v.secret.defaultMode // 420))
    elif v.configMap then keyfiles("configmap"; v.configMap.name; v.configMap; (v.configMap.defaultMode // 420))
    elif v.downwardAPI then dafiles(v.downwardAPI.items; (v.downwardAPI.defaultMode // 420))
    elif v.projected then
      (v.projected.defaultMode // 420) as $dm
      | reduce (v.projected.sources // [])[] as $s ({files: [], errors: []};
          (if $s.secret then keyfiles("secret"; $s.secret.name; $s.secret; $dm)
           elif $s.configMap then keyfiles("configmap"; $s.configMap.name; $s.configMap; $dm)
           elif $s.downwardAPI then dafiles($s.downwardAPI.items; $dm)
           elif $s.serviceAccountToken then
             ($tokens[v.name + "/" + $s.serviceAccountToken.path]) as $t
             | if $t then {files: [{path: $s.serviceAccountToken.path, mode: $dm, b64: ($t | @base64)}], errors: []}
               else {files: [], errors: ["no service account token for volume \(v.name)"]} end
           else {files: [], errors: ["volume \(v.name): unsupported projected source \($s | keys | join(","))"]} end) as $r
          | .files += $r.files | .errors += $r.errors)
    else {files: [], errors: []} end;
  def normimage:
    (if test("^[^/]+[.:][^/]*/") or test("^localhost/") then .
     elif test("/") then "docker.io/" + .
     else "docker.io/library/" + . end)
    | if test("@") or test(":[^/]*$") then . else . + ":latest" end;
  def kubeenv:
    [{name: "KUBERNETES_SERVICE_HOST", value: $host},
     {name: "KUBERNETES_SERVICE_PORT", value: $port},
     {name: "KUBERNETES_SERVICE_PORT_HTTPS", value: $port},
     {name: "KUBERNETES_PORT", value: "tcp://\($host):\($port)"},
     {name: "KUBERNETES_PORT_\($port)_TCP", value: "tcp://\($host):\($port)"},
     {name: "KUBERNETES_PORT_\($port)_TCP_PROTO", value: "tcp"},
     {name: "KUBERNETES_PORT_\($port)_TCP_PORT", value: $port},
     {name: "KUBERNETES_PORT_\($port)_TCP_ADDR", value: $host}];
  # {env: [...], errors: [...]}
  def ctrenv(c):
    (reduce (c.envFrom // [])[] as $f ({env: [], errors: []};
      (if $f.secretRef then ["secret", $f.secretRef] else ["configmap", $f.configMapRef] end) as [$k, $r]
      | objof($k; $r.name) as $o
      | if $o == null then (if $r.optional then . else .errors += ["\($k) \"\($r.name)\" not found"] end)
        else .env += [alldata($k; $o) | to_entries[] | {name: (($f.prefix // "") + .key), value: (.value | @base64d)}] end)) as $from
    | (reduce (c.env // [])[] as $e ({env: [], errors: []};
        if $e.valueFrom == null then .env += [{name: $e.name, value: ($e.value // "")}]
        elif $e.valueFrom.fieldRef then
          (fieldval($e.valueFrom.fieldRef.fieldPath)) as $v
          | if $v == null then .errors += ["env \($e.name): unsupported fieldPath \($e.valueFrom.fieldRef.fieldPath)"]
            else .env += [{name: $e.name, value: $v}] end
        elif $e.valueFrom.secretKeyRef or $e.valueFrom.configMapKeyRef then
          (if $e.valueFrom.secretKeyRef then keyval("secret"; $e.valueFrom.secretKeyRef)
           else keyval("configmap"; $e.valueFrom.configMapKeyRef) end) as $r
          | if $r.err then .errors += ["env \($e.name): \($r.err)"]
            elif $r.b64 then .env += [{name: $e.name, value: ($r.b64 | @base64d)}]
            else . end
        else .errors += ["env \($e.name): unsupported valueFrom"] end)) as $own
    | ($from.env + $own.env) as $user
    | ([$user[].name]) as $names
    | {env: ([kubeenv[] | select(.name as $n | $names | index($n) | not)] + $user),
       errors: ($from.errors + $own.errors)};
  def ctr(init):
    . as $c | ctrenv($c) as $e
    | {spec: ({name, image: (.image | normimage), imagePullPolicy: "Never", env: $e.env,
        volumeMounts: ([(.volumeMounts // [])[] | {name, mountPath}
                          + (if .readOnly then {readOnly: true} else {} end)
                          + (if .subPath then {subPath} else {} end)]
                       + (if $local != "" and (init | not) and ($localctrs | index($c.name)) then
                            [{name: "kubelet-local", mountPath: $localpath}] else [] end))}
        + ($c | with_entries(select(.key | IN("command", "args", "workingDir", "securityContext",
                                              "resources", "stdin", "tty"))))),
       errors: $e.errors};
  ([($pod.spec.volumes // [])[] | . as $v | volfiles($v) | .files[] |= (. + {vol: $v.name})]) as $vf
  | ([($pod.spec.volumes // [])[]
      | if .hostPath then {name, hostPath}
        elif (.emptyDir or .secret or .configMap or .projected or .downwardAPI) then
          {name, hostPath: {path: "\($vdir)/\(.name)", type: "Directory"}}
        else {name, unsupported: (keys - ["name"] | join(","))} end]) as $vols
  | ([(.spec.initContainers // [])[] | ctr(true)]) as $inits
  | ([.spec.containers[] | ctr(false)]) as $ctrs
  | {errors: ([$vf[].errors[]] + [$inits[].errors[], $ctrs[].errors[]]
              + [$vols[] | select(.unsupported) | "volume \(.name): type \(.unsupported) is not supported by the test kubelet"]
              + [$vf[].files[] | select(.path | test("(^|/)\\.\\.(/|$)|^/")) | "volume \(.vol): bad path \(.path)"]
              | reduce .[] as $m ([]; if index([$m]) then . else . + [$m] end)),
     files: [$vf[].files[]],
     dirs: [$vols[] | select(.hostPath != null and (.hostPath.path | startswith($vdir + "/"))) | .name],
     ro_dirs: [($pod.spec.volumes // [])[] | select(.secret or .configMap or .projected or .downwardAPI) | .name],
     ctrs: [($pod.spec.initContainers // [])[], $pod.spec.containers[]
            | {name, image: (.image | normimage), policy: (.imagePullPolicy // "IfNotPresent")}],
     play: {apiVersion: "v1", kind: "Pod",
            metadata: {name: $pname,
                       labels: (($pod.metadata.labels // {}) + {"io.ard.kubelet.dir": $dirlabel}),
                       annotations: {"io.podman.annotations.init.container.type": "always"}},
            spec: ({hostNetwork: true, restartPolicy: ($pod.spec.restartPolicy // "Always"),
                   initContainers: [$inits[].spec], containers: [$ctrs[].spec],
                   volumes: ([$vols[] | select(.hostPath)]
                             + (if $local != "" then [{name: "kubelet-local", hostPath: {path: $local, type: "Directory"}}] else [] end))})}}
EOF

# the Pod's status from podman's view. Input: the API Pod; $psf: [podman ps
# -a JSON]; $termf: [{container: {message, oom}}] (end details fetched so
# far); $playstate none|running|done, $playrc, $playlog; $imgerr, $mnterr,
# $prev (the last status sent), $now, $start, $pname. Output: {status,
# need: the exited containers without end details yet, summary, terminal}.
read -r -d '' JQ_STATUS <<'EOF'
. as $pod
| ($psf[0] // []) as $ps
| ($termf[0] // {}) as $term
| {state: $playstate, rc: ($playrc | tonumber? // 0), log: $playlog} as $play
| ($playstate != "none") as $started
| ([$ps[] | select(.IsInfra | not)] | length > 0) as $anyctr
| ($ps | map(select(.IsInfra | not))
      | map({key: (.Names[0] | ltrimstr($pname + "-")), value: .}) | from_entries) as $c
| ($pod.spec.initContainers // []) as $ispec
| ([$ispec[] | $c[.name]]) as $ip
| ($ip | map(. != null and (.State | IN("exited", "stopped")) and .ExitCode == 0) | all) as $initialized
| ($ip | map(. != null and (.State | IN("exited", "stopped")) and .ExitCode != 0) | any) as $initfailed
| def ts: if . == null or . <= 0 then null else todate end;
  def waiting(reason; msg): {waiting: ({reason: reason} + (if msg != null and msg != "" then {message: msg} else {} end))};
  def cstatus(init; $before_ok):
    . as $s | $c[$s.name] as $p | ($s.image) as $img
    | ($imgerr[$s.name]) as $ie
    | {name: $s.name, image: $img, imageID: (if $p then "sha256:" + $p.ImageID else "" end),
       restartCount: 0}
      + (if $p then {containerID: ("podman://" + $p.Id)} else {} end)
      + (if $p == null or ($p.State | IN("created", "configured", "initialized")) then
           if $p == null and $started and ($play.state == "done") and ($play.rc == 0 or $anyctr) then
             {state: {terminated: {exitCode: 137, reason: "ContainerStatusUnknown",
                       message: "The container could not be located when the pod was terminated"}},
              ready: false, started: false}
           elif $ie then {state: waiting($ie.reason; $ie.message), ready: false, started: false}
           elif $mnterr != "" then {state: waiting("ContainerCreating"; $mnterr), ready: false, started: false}
           elif $play.state == "done" and $play.rc != 0 and ($anyctr | not) then
             {state: waiting("CreateContainerError"; $play.log), ready: false, started: false}
           elif (init | not) and ($initialized | not) then {state: waiting("PodInitializing"; null), ready: false, started: false}
           elif init and ($before_ok | not) then {state: waiting("PodInitializing"; null), ready: false, started: false}
           else {state: waiting("ContainerCreating"; null), ready: false, started: false} end
         elif ($p.State | IN("running", "paused", "stopping")) then
           {state: {running: {startedAt: ($p.StartedAt | ts)}}, ready: (init | not), started: true}
         else
           ($term[$s.name] // {}) as $t
           | {state: {terminated: ({exitCode: $p.ExitCode,
                  reason: (if $t.oom then "OOMKilled" elif $p.ExitCode == 0 then "Completed" else "Error" end),
                  startedAt: ($p.StartedAt | ts), finishedAt: ($p.ExitedAt | ts),
                  containerID: ("podman://" + $p.Id)}
                  + (if ($t.message // "") != "" then {message: $t.message} else {} end))},
              ready: (init and $p.ExitCode == 0), started: false}
         end);
  ([range(0; $ispec | length) as $i | $ispec[$i] | cstatus(true; ([$ip[0:$i][] | (. != null and (.State | IN("exited", "stopped")) and .ExitCode == 0)] | all))]) as $ics
  | ([$pod.spec.containers[] | cstatus(false; true)]) as $cs
  | ($cs | map(.state.terminated != null) | all) as $alldone
  | ($cs | map(.state.running != null) | all) as $allrun
  | (if $initfailed then "Failed"
     elif $alldone and ($cs | map(.state.terminated.exitCode == 0) | all) then "Succeeded"
     elif $alldone then "Failed"
     elif ($cs | map(.state.running != null or .state.terminated != null) | any) then "Running"
     else "Pending" end) as $phase
  | (($phase == "Succeeded" or $phase == "Failed")) as $final
  | def summary(l): [l[] | "\(.name)=\(.state | keys[0])\(if .state.terminated then "(\(.state.terminated.exitCode))" elif .state.waiting then ":\(.state.waiting.reason)" else "" end)"] | join(" ");
    def cond(t; ok; reason):
      ($prev.conditions // [] | map(select(.type == t)) | .[0]) as $old
      | (if ok then "True" else "False" end) as $st
      | {type: t, status: $st, lastProbeTime: null,
         lastTransitionTime: (if $old and $old.status == $st then $old.lastTransitionTime else $now end)}
        + (if ok or reason == null then {} else {reason: reason} end);
    {phase: $phase, hostIP: "127.0.0.1", podIP: "127.0.0.1", podIPs: [{ip: "127.0.0.1"}],
     startTime: $start,
     conditions: [cond("Initialized"; $initialized; (if $final then "PodCompleted" else "ContainersNotInitialized" end)),
                  cond("Ready"; $allrun; (if $final then "PodCompleted" else "ContainersNotReady" end)),
                  cond("ContainersReady"; $allrun; (if $final then "PodCompleted" else "ContainersNotReady" end)),
                  cond("PodScheduled"; true; null)],
     initContainerStatuses: $ics, containerStatuses: $cs}
  | {status: ., terminal: $final,
     summary: "\($phase) init[\(summary($ics))] \(summary($cs))",
     need: [($ispec + $pod.spec.containers)[] | . as $s | $c[$s.name] as $p
            | select($p != null and ($p.State | IN("exited", "stopped")) and ($term[$s.name] == null))
            | {name: $s.name, id: $p.Id, code: $p.ExitCode,
               logs: ($p.ExitCode != 0 and ($s.terminationMessagePolicy // "File") == "FallbackToLogsOnError")}]}
EOF

# ------------------------------------------------------------------ a pod's worker
# One background process per Pod: W is its directory (pods/UID) holding
#   api.json   the Pod as last listed (written by the main loop)
#   gone       the Pod is no longer in the API
#   meta       NS NAME UID PODMAN-POD-NAME
#   phase      new | playing | ended
#   play.*     the podman kube play input, output, exit code
#   status.json the last status sent; term/ per-container end details
w_log() { log "[$W_NS/$W_NAME] $*"; }

w_api_pod() { jq -r "$@" "$W/api.json" 2>/dev/null; }

w_deleting() { # no process: this runs every tick
	[ -e "$W/gone" ] && return 0
	local c=""
	IFS= read -r -d '' c <"$W/api.json" || true
	[[ $c == *'"deletionTimestamp"'* ]]
}

w_podman_exists() { podman pod exists "$W_PNAME" 2>/dev/null; }

# Fetch what the Pod refers to into $W/in/: the Secrets and ConfigMaps
# (obj_KIND_NAME.json, "null" when missing) and a TokenRequest per projected
# serviceAccountToken source (tok_N.json; W_TOKKEYS: their "VOL/PATH" keys).
w_fetch() {
	local what a b c sa=default code n=0 body aud now min_exp=""
	rm -rf "$W/in"
	mkdir -p "$W/in"
	W_TOKKEYS=""
	W_TOKFILES=()
	while IFS=$'\x1f' read -r what a b c; do
		case $what in
		sa) sa=$a ;;
		obj)
			local res=secrets
			[ "$a" = configmap ] && res=configmaps
			code=$(api "$W/in/obj_${a}_$b.json" GET "/api/v1/namespaces/$W_NS/$res/$b")
			case $code in
			200) ;;
			404) echo null >"$W/in/obj_${a}_$b.json" ;;
			*) W_MOUNT_ERR="cannot read $a $W_NS/$b: HTTP $code"; return 1 ;;
			esac
			;;
		tok) # a: the key (JSON), b: expirationSeconds, c: the audience (JSON or null)
			aud=""
			[ "$c" = null ] || aud=",\"audiences\":[$c]"
			body="{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{\"expirationSeconds\":$b,\"boundObjectRef\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"$W_NAME\",\"uid\":\"$W_UID\"}$aud}}"
			code=$(api "$W/in/tok_$n.json" POST "/api/v1/namespaces/$W_NS/serviceaccounts/$sa/token" "$body")
			if [ "$code" != 201 ]; then
				W_MOUNT_ERR="cannot get a token for service account $W_NS/$sa: HTTP $code $(jq -r '.message // empty' "$W/in/tok_$n.json" 2>/dev/null)"
				return 1
			fi
			W_TOKKEYS+=${W_TOKKEYS:+,}$a
			W_TOKFILES+=("$W/in/tok_$n.json")
			n=$((n + 1))
			[ -z "$min_exp" ] || [ "$b" -lt "$min_exp" ] && min_exp=$b
			;;
		esac
	done < <(jq -r '"sa\u001f\(.spec.serviceAccountName // "default")",
		([.spec.volumes[]? | (.secret.secretName // empty | ["secret", .]),
		  (.configMap.name // empty | ["configmap", .]),
		  (.projected.sources[]? | (.secret.name // empty | ["secret", .]), (.configMap.name // empty | ["configmap", .]))]
		 + [(.spec.containers[], .spec.initContainers[]?)
		    | (.env[]?.valueFrom | (.secretKeyRef.name // empty | ["secret", .]), (.configMapKeyRef.name // empty | ["configmap", .])),
		      (.envFrom[]? | (.secretRef.name // empty | ["secret", .]), (.configMapRef.name // empty | ["configmap", .]))]
		 | unique[] | "obj\u001f\(.[0])\u001f\(.[1])"),
		(.spec.volumes[]? | .name as $v | .projected.sources[]? | .serviceAccountToken // empty
		 | "tok\u001f\("\($v)/\(.path)" | tojson)\u001f\(.expirationSeconds // 3600)\u001f\(.audience // null | tojson)")' "$W/api.json")
	if [ -n "$min_exp" ]; then # refreshed at 80% of their life, as a kubelet does
		printf -v now '%(%s)T' -1
		echo $((now + min_exp * 8 / 10)) >"$W/token-refresh-at"
	else
		rm -f "$W/token-refresh-at"
	fi
}

# build.json: the podman Pod and the files of its volumes (one jq)
w_build() {
	W_MOUNT_ERR=""
	w_fetch || return 1
	local localctrs="" c
	for c in $LOCAL_CONTAINERS; do localctrs+=${localctrs:+,}\"$c\"; done
	jq -nc --argjson tokkeys "[$W_TOKKEYS]" --rawfile ca "$KUBE_CA" --arg node "$NODE" \
		--arg host "$API_HOST" --arg port "$API_PORT" --arg pname "$W_PNAME" --arg vdir "$W/volumes" \
		--arg local "$LOCAL_DIR" --arg localpath "$LOCAL_PATH" --argjson localctrs "[$localctrs]" \
		--arg dirlabel "$DIR_LABEL" "$JQ_BUILD_HEAD $JQ_BUILD" "$W/api.json" "$W"/in/obj_*.json "${W_TOKFILES[@]}" \
		>"$W/build.json" 2>"$W/build.err" || {
		W_MOUNT_ERR="test kubelet: cannot translate the pod: $(head -c 300 "$W/build.err")"
		return 1
	}
}

# write the volume directories (MODE all: fresh directories; files: update
# the files in place, for the token refresh); fails with the build's errors
read -r -d '' PY_VOLUMES <<'PYEOF'
import base64, json, os, shutil, sys
build, vdir, mode = sys.argv[1:4]
b = json.load(open(build))
if b["errors"]:
    print("; ".join(b["errors"]))
    sys.exit(1)
if mode == "all":
    for v in b["dirs"]:
        d = os.path.join(vdir, v)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        os.chmod(d, 0o777)
for f in b["files"]:
    p = os.path.join(vdir, f["vol"], f["path"])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    t = p + ".kubelet-tmp"
    with open(t, "wb") as o:
        o.write(base64.b64decode(f["b64"]))
    os.chmod(t, f["mode"])
    os.replace(t, p)
if mode == "all":
    for v in b["ro_dirs"]:  # secret-like volumes: 0755, as a kubelet makes them
        os.chmod(os.path.join(vdir, v), 0o755)
PYEOF

w_volumes() { # all|files
	local err
	err=$(python3 -c "$PY_VOLUMES" "$W/build.json" "$W/volumes" "$1" 2>&1) || {
		W_MOUNT_ERR=${err:-cannot write the volumes}
		return 1
	}
}

# re-issue the tokens at 80% of their life (and refresh Secret/ConfigMap files)
w_refresh_tokens() {
	[ -f "$W/token-refresh-at" ] || return 0
	local at="" now
	IFS= read -r at <"$W/token-refresh-at" || true
	printf -v now '%(%s)T' -1
	[ "$now" -ge "${at:-0}" ] || return 0
	if w_build && w_volumes files; then
		w_log "service account tokens refreshed"
	else
		w_log "token refresh failed: $W_MOUNT_ERR"
		echo $((now + 10)) >"$W/token-refresh-at"
	fi
	W_MOUNT_ERR=""
}

# image errors per container name: JSON {name: {reason, message}}; one
# podman call when every image is there
w_image_errors() {
	W_IMGERR="{}"
	local imgs=() name img pol
	mapfile -t imgs < <(jq -r '[.ctrs[].image] | unique[]' "$W/build.json")
	podman image inspect --format '{{.Id}}' "${imgs[@]}" >/dev/null 2>&1 && return 0
	local out="{}"
	while IFS=$'\x1f' read -r name img pol; do
		[ -n "$name" ] || continue
		podman image exists "$img" 2>/dev/null && continue
		if [ "$pol" = Never ]; then
			out=$(jq -c --arg n "$name" --arg m "Container image \"$img\" is not present with pull policy of Never" \
				'. + {($n): {reason: "ErrImageNeverPull", message: $m}}' <<<"$out")
		else
			out=$(jq -c --arg n "$name" --arg m "image \"$img\" is not in podman's local store and this test kubelet never pulls (build it: deploy/build-images.sh)" \
				'. + {($n): {reason: "ErrImagePull", message: $m}}' <<<"$out")
		fi
	done < <(jq -r '.ctrs[] | [.name, .image, .policy] | join("\u001f")' "$W/build.json")
	W_IMGERR=$out
}

# podman's view of the pod's containers
w_observe() {
	podman ps -a --filter "pod=$W_PNAME" --format json >"$W/ps.json" 2>/dev/null || echo '[]' >"$W/ps.json"
	[ -s "$W/ps.json" ] || echo '[]' >"$W/ps.json"
}

w_status_json() {
	jq -c --slurpfile psf "$W/ps.json" --slurpfile termf "$W/term.json" --arg pname "$W_PNAME" \
		--arg playstate "$1" --arg playrc "$2" --arg playlog "$3" \
		--argjson imgerr "$W_IMGERR" --arg mnterr "$W_MOUNT_ERR" --argjson prev "$W_LAST" \
		--arg now "$(printf '%(%Y-%m-%dT%H:%M:%SZ)T' -1)" --arg start "$W_START" \
		"$JQ_STATUS" "$W/api.json" 2>"$W/status.err"
}

# compute the status and patch it when it changed; returns 0 when the pod is
# terminal. Two processes a tick (podman ps, jq) while nothing changes.
w_sync_status() {
	local play_state=none play_rc=0 play_log=""
	if [ -f "$W/play.rc" ]; then
		play_state="done"
		IFS= read -r play_rc <"$W/play.rc" || true
		[ "$play_rc" = 0 ] || play_log=$(grep -v '^[0-9a-f]\{64\}$' "$W/play.log" 2>/dev/null | grep -iv '^pod:$\|^container:$' | tail -c 1024)
	elif [ -f "$W/play.started" ]; then
		play_state=running
	fi
	[ -f "$W/term.json" ] || echo '{}' >"$W/term.json"
	local out
	out=$(w_status_json "$play_state" "$play_rc" "$play_log") || {
		w_log "cannot compute the status: $(head -c 300 "$W/status.err")"
		return 1
	}
	# end details of newly exited containers (once each): OOM, and the last
	# log lines for FallbackToLogsOnError
	if [[ $out != *'"need":[]'* ]]; then
		local name id code logs msg ids=() names=() wantlogs=() args=() i
		declare -A oom=()
		while IFS=$'\x1f' read -r name id code logs; do
			[ -n "$name" ] || continue
			names+=("$name")
			ids+=("$id")
			wantlogs+=("$logs")
		done < <(jq -r '.need[] | [.name, .id, .code, .logs] | map(tostring) | join("\u001f")' <<<"$out")
		while read -r id code; do
			oom[$id]=$code
		done < <(podman inspect --format '{{.Id}} {{.State.OOMKilled}}' "${ids[@]}" 2>/dev/null)
		for i in "${!names[@]}"; do
			msg=""
			[ "${wantlogs[$i]}" = true ] && msg=$(podman logs --tail 80 "${ids[$i]}" 2>&1 | tail -c 2048)
			args+=("${names[$i]}" "$msg" "${oom[${ids[$i]}]:-false}")
		done
		jq -c '. + ([$ARGS.positional as $a | range(0; $a | length; 3)
			| {($a[.]): {message: $a[. + 1], oom: ($a[. + 2] == "true")}}] | add // {})' \
			"$W/term.json" --args "${args[@]}" >"$W/term.json.tmp" && mv -f "$W/term.json.tmp" "$W/term.json"
		out=$(w_status_json "$play_state" "$play_rc" "$play_log") || return 1
	fi
	local status=${out#\{\"status\":}
	status=${status%%,\"terminal\":*}
	if [ "$status" != "$W_LAST" ] && [ ! -e "$W/gone" ]; then
		local code
		code=$(api "$W/patch.json" PATCH "/api/v1/namespaces/$W_NS/pods/$W_NAME/status" \
			"{\"status\":$status}" application/merge-patch+json)
		if [ "$code" = 200 ]; then
			local summary=${out#*,\"summary\":\"}
			w_log "status: ${summary%%\",\"need\":*}"
			W_LAST=$status
			printf '%s\n' "$status" >"$W/status.json"
		elif [ "$code" = 404 ]; then
			touch "$W/gone"
		else
			w_log "status patch: HTTP $code $(jq -r '.message // empty' "$W/patch.json" 2>/dev/null | head -c 300)"
		fi
	fi
	[[ $out == *'"terminal":true'* ]]
}

w_save_logs() {
	local d=$LOGS/${W_NS}_${W_NAME}_${W_UID:0:8} cname id
	mkdir -p "$d"
	while IFS=$'\t' read -r cname id; do
		podman logs "$id" >"$d/$cname.log" 2>&1 || true
	done < <(jq -r --arg p "$W_PNAME-" '.[] | select(.IsInfra | not) | [(.Names[0] | ltrimstr($p)), .Id] | @tsv' "$W/ps.json" 2>/dev/null)
}

# stop (SIGTERM, SIGKILL after GRACE s), report, remove
w_teardown() { # GRACE WHY
	local grace=$1 why=$2
	if [ -f "$W/play.pid" ] && kill -0 "$(cat "$W/play.pid")" 2>/dev/null; then
		# kube play still running init containers: let it reach a state podman can stop
		local i
		for i in $(seq 100); do kill -0 "$(cat "$W/play.pid")" 2>/dev/null || break; sleep 0.1; done
	fi
	if w_podman_exists; then
		w_observe
		if [ "$(jq '[.[] | select((.IsInfra | not) and (.State | IN("running", "paused", "stopping")))] | length' "$W/ps.json" 2>/dev/null || echo 1)" != 0 ] ||
			[ ! -f "$W/play.rc" ]; then
			w_log "$why: stopping podman pod $W_PNAME (grace ${grace}s)"
			podman pod stop -t "$grace" "$W_PNAME" >/dev/null 2>>"$W/stop.err" ||
				w_log "podman pod stop: $(tail -n 2 "$W/stop.err")"
		fi
		w_observe
		w_sync_status >/dev/null 2>&1 || true
		w_save_logs
	fi
	# a Pod being deleted: it is gone for good once its containers are
	if [ ! -e "$W/gone" ] && [ -n "$(w_api_pod '.metadata.deletionTimestamp // empty')" ]; then
		local code
		code=$(api "$W/del.json" DELETE "/api/v1/namespaces/$W_NS/pods/$W_NAME" \
			"$(jq -nc --arg u "$W_UID" '{apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0, preconditions: {uid: $u}}')")
		w_log "pod deleted (grace 0): HTTP $code"
	fi
	if w_podman_exists; then
		podman pod rm -f "$W_PNAME" >/dev/null 2>>"$W/stop.err" || w_log "podman pod rm: $(tail -n 2 "$W/stop.err")"
	fi
	w_log "podman pod $W_PNAME removed ($why)"
	rm -rf "$W"
}

w_set_start() {
	[ -n "$W_START" ] && return
	W_START=$(now_iso)
	echo "$W_START" >"$W/start-time"
}

w_start_play() {
	jq '.play' "$W/build.json" >"$W/play.json"
	w_set_start
	touch "$W/play.started"
	w_log "podman kube play ($W_PNAME)"
	(
		podman kube play "$W/play.json" >"$W/play.log" 2>&1
		echo $? >"$W/play.rc.tmp"
		mv -f "$W/play.rc.tmp" "$W/play.rc"
	) &
	W_PLAYPID=$!
	echo $! >"$W/play.pid"
}

# bind to our node (we are the scheduler too); 1 when another node has it
w_bind() {
	local nn
	nn=$(w_api_pod '.spec.nodeName // empty')
	[ -n "$nn" ] && { [ "$nn" = "$NODE" ]; return; }
	local code
	code=$(api "$W/bind.json" POST "/api/v1/namespaces/$W_NS/pods/$W_NAME/binding" \
		"$(jq -nc --arg n "$W_NAME" --arg u "$W_UID" --arg node "$NODE" \
			'{apiVersion: "v1", kind: "Binding", metadata: {name: $n, uid: $u}, target: {apiVersion: "v1", kind: "Node", name: $node}}')")
	case $code in
	201 | 200)
		w_log "bound to node $NODE"
		return 0
		;;
	*)
		w_log "binding: HTTP $code $(jq -r '.message // empty' "$W/bind.json" 2>/dev/null)"
		return 1
		;;
	esac
}

worker() { # UID
	W=$PODS/$1
	read -r W_NS W_NAME W_UID W_PNAME <"$W/meta"
	W_IMGERR="{}"
	W_MOUNT_ERR=""
	W_LAST="{}"
	[ -s "$W/status.json" ] && IFS= read -r W_LAST <"$W/status.json"
	W_START=""
	[ -f "$W/start-time" ] && IFS= read -r W_START <"$W/start-time"
	W_PLAYPID=""
	[ -f "$W/play.pid" ] && IFS= read -r W_PLAYPID <"$W/play.pid"
	local stop_req="" phase retry_at=0
	trap 'stop_req=1' TERM INT
	phase=$(cat "$W/phase" 2>/dev/null || echo new)
	w_log "worker $BASHPID (phase $phase, podman pod $W_PNAME)"
	while :; do
		if [ -n "$stop_req" ]; then
			w_teardown "$SHUTDOWN_GRACE" "kubelet shutting down"
			exit 0
		fi
		if ! kill -0 "$MAIN_PID" 2>/dev/null; then
			w_teardown 1 "kubelet gone"
			exit 0
		fi
		if w_deleting; then
			local g
			g=$(w_api_pod '.metadata.deletionGracePeriodSeconds // .spec.terminationGracePeriodSeconds // 30')
			[ -n "$g" ] || g=$MAX_GRACE
			[ "$g" -le "$MAX_GRACE" ] 2>/dev/null || g=$MAX_GRACE
			w_teardown "$g" "pod deleted"
			exit 0
		fi
		case $phase in
		new)
			[ "$SECONDS" -ge "$retry_at" ] || { sleep "$INTERVAL"; continue; }
			if ! w_bind; then
				w_log "not ours: forgetting it"
				rm -rf "$W"
				exit 0
			fi
			if w_build && w_volumes all; then
				w_image_errors
				if [ "$W_IMGERR" = "{}" ]; then
					w_start_play
					phase=playing
					echo playing >"$W/phase"
				fi
			else
				w_log "cannot start yet: $W_MOUNT_ERR"
			fi
			if [ "$phase" = new ]; then # retry in 2 s, as a kubelet does
				echo '[]' >"$W/ps.json"
				w_set_start
				w_sync_status || true
				retry_at=$((SECONDS + 2))
			fi
			;;
		playing)
			W_MOUNT_ERR=""
			W_IMGERR="{}"
			w_refresh_tokens
			w_observe
			if w_sync_status && { [ -f "$W/play.rc" ] || { [ -z "$W_PLAYPID" ] || ! kill -0 "$W_PLAYPID" 2>/dev/null; }; }; then
				w_log "pod ended: $(jq -r .phase "$W/status.json" 2>/dev/null)"
				phase=ended
				echo ended >"$W/phase"
			fi
			;;
		lost)
			echo '[]' >"$W/ps.json"
			touch "$W/play.started"
			echo 0 >"$W/play.rc"
			[ -n "$W_START" ] || W_START=$(w_api_pod '.status.startTime // empty')
			w_set_start
			if w_sync_status; then
				phase=ended
				echo ended >"$W/phase"
			fi
			;;
		ended) ;; # kept for `logs` until the Pod is deleted
		esac
		sleep "$INTERVAL"
	done
}

# ------------------------------------------------------------------ main loop
register_node() {
	local code t
	t=$(now_iso)
	code=$(api "$STATE/node.json" POST /api/v1/nodes "$(jq -nc --arg n "$NODE" \
		'{apiVersion: "v1", kind: "Node", metadata: {name: $n, labels: {"kubernetes.io/hostname": $n, "kubernetes.io/os": "linux", "airbyte.test/kubelet": "podman"}}}')")
	case $code in 201 | 409) ;; *) log "cannot register node $NODE: HTTP $code"; return 1 ;; esac
	node_ready True KubeletReady "test kubelet (podman kube play) is posting ready status"
}

node_ready() { # STATUS REASON MESSAGE
	local t code
	t=$(now_iso)
	code=$(api "$STATE/node.json" PATCH "/api/v1/nodes/$NODE/status" "$(jq -nc --arg s "$1" --arg r "$2" --arg m "$3" --arg t "$t" \
		--arg cpu "$(nproc)" --arg mem "$(awk '/MemTotal/ { print $2 "Ki" }' /proc/meminfo)" \
		'{status: {conditions: [{type: "Ready", status: $s, reason: $r, message: $m, lastHeartbeatTime: $t, lastTransitionTime: $t}],
		  addresses: [{type: "InternalIP", address: "127.0.0.1"}, {type: "Hostname", address: "localhost"}],
		  capacity: {cpu: $cpu, memory: $mem, pods: "110"}, allocatable: {cpu: $cpu, memory: $mem, pods: "110"}}}')" \
		application/strategic-merge-patch+json)
	[ "$code" = 200 ] || log "node status: HTTP $code"
}

declare -A WORKERS=() LAST_RV=()
spawn_worker() { # UID
	(worker "$1") </dev/null >>"$STATE/worker.out" 2>&1 &
	WORKERS[$1]=$!
	echo $! >"$PODS/$1/worker.pid"
}

worker_alive() { # UID
	local p=${WORKERS[$1]:-}
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

STOPPING=""
shutdown() {
	STOPPING=1
}

main_loop() {
	MAIN_PID=$BASHPID
	trace_on
	exec 9>"$STATE/.lock"
	flock -n 9 || { echo "kubelet: another kubelet runs for $DIR" >&2; exit 1; }
	echo "$MAIN_PID" >"$STATE/kubelet.pid"
	trap shutdown TERM INT
	log "kubelet $MAIN_PID: node $NODE, API $KUBE_SERVER, selector $SELECTOR${LOCAL_DIR:+, test hook: $LOCAL_DIR at $LOCAL_PATH in [$LOCAL_CONTAINERS]}"
	until register_node; do
		[ -z "$STOPPING" ] || exit 0
		sleep 1
	done
	local sel uid ns name node phase dts rv json
	sel=$(jq -rn --arg s "$SELECTOR" '$s | @uri')
	while [ -z "$STOPPING" ]; do
		local code
		code=$(api "$STATE/list.json" GET "/api/v1/pods?labelSelector=$sel")
		if [ "$code" = 200 ]; then
			declare -A seen=()
			# \x1f-separated: empty fields must not collapse as tabs do
			while IFS=$'\x1f' read -r uid ns name node phase dts rv json; do
				[ -n "$uid" ] || continue
				seen[$uid]=1
				local w=$PODS/$uid
				if [ ! -d "$w" ]; then
					# a new Pod: ours when unbound or bound to us, not ended, not being deleted
					[ -z "$node" ] || [ "$node" = "$NODE" ] || continue
					case $phase in Succeeded | Failed) continue ;; esac
					if [ -n "$dts" ]; then
						[ "$node" = "$NODE" ] && api "$STATE/del.json" DELETE "/api/v1/namespaces/$ns/pods/$name" \
							"$(jq -nc --arg u "$uid" '{gracePeriodSeconds: 0, preconditions: {uid: $u}}')" >/dev/null
						continue
					fi
					mkdir -p "$w"
					echo "$ns $name $uid $(pod_ref "$ns" "$name" "$uid")" >"$w/meta"
					if [ "$node" = "$NODE" ] && [ "$phase" = Running ]; then
						# started by an earlier kubelet whose containers are gone: as a
						# kubelet does, report them ended (ContainerStatusUnknown)
						echo lost >"$w/phase"
						log "[$ns/$name] running pod $uid without containers here: reporting them lost"
					else
						log "[$ns/$name] new pod $uid"
					fi
				fi
				# the worker's copy of the Pod, rewritten only when it changed
				if [ "${LAST_RV[$uid]:-}" != "$rv" ] || [ ! -f "$w/api.json" ]; then
					printf '%s\n' "$json" >"$w/api.json.tmp" && mv -f "$w/api.json.tmp" "$w/api.json"
					LAST_RV[$uid]=$rv
				fi
				worker_alive "$uid" || spawn_worker "$uid"
			done < <(jq -r '.items[] | [.metadata.uid, .metadata.namespace, .metadata.name, (.spec.nodeName // ""),
				(.status.phase // ""), (.metadata.deletionTimestamp // ""), .metadata.resourceVersion, tojson]
				| join("\u001f")' "$STATE/list.json")
			# Pods gone from the API (and leftovers of an earlier kubelet)
			for w in "$PODS"/*/; do
				[ -d "$w" ] || continue
				w=${w%/}
				uid=${w##*/}
				[ -f "$w/meta" ] || { rm -rf "$w"; continue; }
				[ -n "${seen[$uid]:-}" ] && continue
				[ -e "$w/gone" ] || touch "$w/gone"
				[ -f "$w/api.json" ] || echo '{}' >"$w/api.json"
				worker_alive "$uid" || spawn_worker "$uid"
			done
			unset seen
		else
			log "list pods: HTTP $code"
		fi
		sleep "$INTERVAL" &
		wait $! 2>/dev/null || true
	done
	log "SIGTERM: stopping the pods"
	local p
	for p in "${WORKERS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	# wait for every worker (each stops, reports and removes its podman pod)
	for p in "${WORKERS[@]}"; do
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	done
	wait 2>/dev/null
	node_ready False KubeletStopped "the test kubelet stopped"
	rm -f "$STATE/kubelet.pid"
	log "kubelet $MAIN_PID: stopped"
	exit 0
}

# ------------------------------------------------------------------ tool commands
find_pod() { # POD -> the worker dir's meta line
	local ns=default name=$1 m
	case $1 in */*) ns=${1%%/*} name=${1#*/} ;; esac
	local mns mname muid mpname
	for m in "$PODS"/*/meta; do
		read -r mns mname muid mpname <"$m" || continue
		[ "$mns" = "$ns" ] && [ "$mname" = "$name" ] && { echo "$mns $mname $muid $mpname"; return 0; }
	done
	echo "kubelet: no pod $ns/$name run by the kubelet of $DIR" >&2
	return 1
}

cmd_name() { # POD [CONTAINER]
	local meta pname
	meta=$(find_pod "$1") || exit 1
	pname=${meta##* }
	if [ -n "${2:-}" ]; then echo "$pname-$2"; else echo "$pname"; fi
}

cmd_kill() { # POD CONTAINER [SIGNAL]
	[ $# -ge 2 ] || usage
	local c
	c=$(cmd_name "$1" "$2") || exit 1
	podman kill -s "${3:-KILL}" "$c" >/dev/null || exit 1
	log "[$1] kill -s ${3:-KILL} $c (requested)"
}

cmd_logs() { # POD CONTAINER
	[ $# -ge 2 ] || usage
	local c ns=default name=$1 f
	case $1 in */*) ns=${1%%/*} name=${1#*/} ;; esac
	if c=$(cmd_name "$1" "$2" 2>/dev/null) && podman container exists "$c"; then
		podman logs "$c"
		return
	fi
	for f in "$LOGS/${ns}_${name}"_*/"$2.log"; do
		[ -f "$f" ] && { cat "$f"; return 0; }
	done
	echo "kubelet: no log of $ns/$name container $2" >&2
	return 1
}

cmd_cleanup() {
	local p
	p=$(cat "$STATE/kubelet.pid" 2>/dev/null) && kill -TERM "$p" 2>/dev/null &&
		for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	local id
	for id in $(podman pod ps -q --filter "label=io.ard.kubelet.dir=$DIR_LABEL" 2>/dev/null); do
		podman pod rm -f -t 1 "$id" >/dev/null 2>&1 || podman pod rm -f "$id" >/dev/null 2>&1 || true
	done
	rm -rf "$PODS"
}

# ------------------------------------------------------------------ dispatch
cmd=${1:-}
case $cmd in
run | kill | name | logs | cleanup) shift ;;
-h | --help | "") usage ;;
*) cmd=run ;;
esac
setup_dir "${1:-}"
shift
# podman labels the pods with this: `cleanup` finds them even without state
DIR_LABEL=$(printf '%s' "$DIR" | sha256sum | cut -c1-16)
case $cmd in
run)
	load_env
	command -v podman >/dev/null && command -v jq >/dev/null && command -v curl >/dev/null ||
		{ echo "kubelet: needs podman, jq and curl" >&2; exit 2; }
	[ -z "$LOCAL_DIR" ] || [ -d "$LOCAL_DIR" ] || { echo "kubelet: KUBELET_LOCAL_DIR '$LOCAL_DIR' is not a directory" >&2; exit 2; }
	[ -z "$LOCAL_DIR" ] || LOCAL_DIR=$(cd "$LOCAL_DIR" && pwd)
	main_loop
	;;
kill) cmd_kill "$@" ;;
name) cmd_name "$@" ;;
logs) cmd_logs "$@" ;;
cleanup) cmd_cleanup ;;
esac
