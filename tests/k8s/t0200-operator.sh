#!/usr/bin/env bash
# t0200-operator.sh - the operator against a real API server (etcd,
# kube-apiserver, kube-controller-manager; tests/k8s/cluster.sh), with the
# operator's own service account (deploy/k8s/rbac.yaml: least privilege).
# There is no kubelet: this test plays it the way a kubelet would -- it runs
# the Pod's commands (the driver, the state-sync sidecar with the driver
# service account's token, in-cluster configuration) on this machine and
# reports container results through pods/status.  (t0300 runs the Pods for
# real with podman.)
# Covers: Replication -> Pod + Secret (layout, no config outside the
# Secret), status and conditions, state handed from one run to the next
# through Kubernetes, a killed run loses nothing committed, failure reasons
# from the run record, one Pod per Connection (also with two active
# operators), trigger, schedules, deletion and garbage collection, leader
# failover and hand-over on SIGTERM, the API server restarting under the
# watches (410 Gone -> re-list), /healthz /readyz /metrics.
. "$(dirname "$0")/lib.sh"
BIN=$TOP/build/bin
OP=${OPERATOR:-$BIN/airbyte-replication-operator}  # OPERATOR: e.g. an ASan build
DRIVER=$BIN/airbyte-replication-driver
FAKE=$TOP/tests/connectors
NAME=hello-airbyte-file-to-csv
export TMPDIR=$T
mkdir -p "$T/tmp"
# on failure, the operators' logs say why
show_logs() {
	local f
	[ "$nfail" -gt 0 ] || return 0
	for f in "$T"/op-*.log "$T"/pod*/sync.log; do
		[ -f "$f" ] && { echo "# --- $f"; tail -n 25 "$f" | cut -c1-400 | sed 's/^/#   /'; }
	done
}
trap 'show_logs; cleanup' EXIT

start_cluster
k apply -f "$DEPLOY/crds.yaml" >/dev/null
check "our CRDs are established" k wait --for condition=established crd --all --timeout=60s
check "RBAC and service accounts apply" k apply -f "$DEPLOY/rbac.yaml"
for f in "$SEED"/e2e/$NAME/k8s/*.yaml; do k apply -f "$f" >/dev/null || not_ok "apply $f"; done

# ---- helpers -----------------------------------------------------------------

kubeconfig_for "$T/operator.kubeconfig" "$(request_token airbyte-replication-operator)"
# the Pod's service-account directory for the state-sync container
mkdir -p "$T/sa"
request_token airbyte-replication-driver >"$T/sa/token"
cp "$KUBE_CA" "$T/sa/ca.crt"
echo default >"$T/sa/namespace"
APIPORT=${KUBE_SERVER##*:}

# start_operator ID [args...]: in the background; sets PID_<ID> and PORT_<ID>
start_operator() {
	local id=$1
	shift
	"$OP" run --kubeconfig "$T/operator.kubeconfig" --listen 127.0.0.1:0 --lease-duration 4 \
		--stuck-grace 3 --identity "$id" --driver-image driver:test "$@" >>"$T/op-$id.log" 2>&1 &
	eval "PID_$id=$!"
	wait_until 10 grep -q 'health on port' "$T/op-$id.log"
	eval "PORT_$id=$(sed -n 's/.*health on port \([0-9]*\).*/\1/p' "$T/op-$id.log" | tail -1)"
}
http_get() { curl -s -o "$T/http.out" -w '%{http_code}' "http://127.0.0.1:$1$2"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="airbyte_operator_$2" '$1 == m { print $2 }'; }

count_replications() { k get replications -o name | wc -l; }
pod_exists() { k get pod "$1" >/dev/null 2>&1; }

# patch_pod POD JSON-STATUS: what a kubelet reports
patch_pod() {
	local code
	code=$(api PATCH "/api/v1/namespaces/default/pods/$1/status" "{\"status\":$2}" application/merge-patch+json)
	[ "$code" = 200 ] || { echo "# pods/status patch: HTTP $code $(cat "$T/api.json")"; return 1; }
}
running_status() { echo '{"phase":"Running","containerStatuses":[{"name":"source","ready":true,"restartCount":0,"image":"x","imageID":"","state":{"running":{}}},{"name":"destination","ready":true,"restartCount":0,"image":"x","imageID":"","state":{"running":{}}}]}'; }
ended_status() { # PHASE SOURCE-CODE DESTINATION-CODE
	printf '{"phase":"%s","containerStatuses":[' "$1"
	printf '{"name":"source","ready":false,"restartCount":0,"image":"x","imageID":"","state":{"terminated":{"exitCode":%s}}},' "$2"
	printf '{"name":"destination","ready":false,"restartCount":0,"image":"x","imageID":"","state":{"terminated":{"exitCode":%s}}},' "$3"
	printf '{"name":"state-sync","ready":false,"restartCount":0,"image":"x","imageID":"","state":{"terminated":{"exitCode":0}}}]}'
}

# pod_files POD DIR: the Pod's Secret items as its volumes would show them
pod_files() {
	local item
	mkdir -p "$2/secrets" "$2/input-state" "$2/storage"
	k get secret "$1-config" -o json >"$T/secret.json" || return 1
	for item in source-file.json destination-file.json catalog-file.json; do
		jq -r --arg k "$item" '.data[$k]' "$T/secret.json" | base64 -d >"$2/secrets/$item"
	done
	if jq -e '.data["state.json"]' "$T/secret.json" >/dev/null; then
		jq -r '.data["state.json"]' "$T/secret.json" | base64 -d >"$2/input-state/state.json"
	fi
}

# the Pod's container command (jq path into .spec), as a bash array in CMD
pod_cmd() { mapfile -t CMD < <(k get pod "$1" -o json | jq -r "$2 | .command[]"); }

# start_sync POD DIR: the state-sync container, in-cluster, with the driver SA
start_sync() {
	pod_cmd "$1" '.spec.containers[] | select(.name == "state-sync")'
	[ "${CMD[0]:-}" = airbyte-replication-operator ] || { echo "# state-sync command: ${CMD[*]}"; return 1; }
	KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$APIPORT AIRBYTE_KUBE_SA_DIR=$T/sa \
		"$OP" "${CMD[@]:1}" --store-path "$2/storage/store" >"$2/sync.log" 2>&1 &
	SYNC_PID=$!
}

# ---- the operator runs with its own least-privilege account ------------------

start_operator a
check "the operator acquires the lease" wait_until 10 grep -q "acquired the lease" "$T/op-a.log"
check "/readyz once the watches have listed" wait_until 10 is 200 http_get "$PORT_a" /readyz
eq "/healthz" 200 "$(http_get "$PORT_a" /healthz)"
eq "/metrics: leader" 1 "$(metric "$PORT_a" leader)"
if command -v promtool >/dev/null; then
	curl -s "http://127.0.0.1:$PORT_a/metrics" >"$T/metrics.txt"
	check "/metrics passes promtool" promtool check metrics <"$T/metrics.txt"
fi
eq "unknown path: 404" 404 "$(http_get "$PORT_a" /nope)"

# ---- the seed's Replication (from its KubeVela application) -> a Pod -----------

# KubeVela is not here: a stand-in for its Application CRD lets the seed's
# file apply unchanged; its embedded objects are what KubeVela would apply
k apply -f - >/dev/null <<EOF
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: applications.core.oam.dev}
spec:
  group: core.oam.dev
  names: {kind: Application, plural: applications, singular: application}
  scope: Namespaced
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
EOF
k wait --for condition=established crd/applications.core.oam.dev --timeout=30s >/dev/null
k apply -f "$SEED/e2e/$NAME/vela/application.yaml" >/dev/null
k get application $NAME -o json | jq -c '.spec.components[].properties.objects[]' >"$T/vela-objects.json"
apply_lines() { local l; while read -r l; do echo "$l" | k apply -f - >/dev/null || return 1; done <"$1"; }
check "the seed's vela Replication applies unchanged" apply_lines "$T/vela-objects.json"
check "a Pod for the Replication" wait_until 20 pod_exists $NAME
k get pod $NAME -o json >"$T/pod1.json"
eq "Pod owned by the Replication" "Replication/$NAME/true" \
	"$(jq -r '.metadata.ownerReferences[0] | "\(.kind)/\(.name)/\(.controller)"' "$T/pod1.json")"
eq "containers" "init|source destination state-sync" \
	"$(jq -r '[.spec.initContainers[].name] | join(" ")' "$T/pod1.json")|$(jq -r '[.spec.containers[].name] | join(" ")' "$T/pod1.json")"
eq "connector images from the ConnectorDefinitions" "airbyte/source-file:0.2.33 airbyte/destination-csv:1.0.0" \
	"$(jq -r '[.spec.containers[0,1].image] | join(" ")' "$T/pod1.json")"
eq "the driver is the connectors' entrypoint" "/storage/airbyte-replication-driver --command destination --replication $NAME" \
	"$(jq -r '.spec.containers[1].command | join(" ")' "$T/pod1.json")"
eq "restartPolicy" Never "$(jq -r .spec.restartPolicy "$T/pod1.json")"
eq "no token for the connectors" false "$(jq -r .spec.automountServiceAccountToken "$T/pod1.json")"
check "connector configs are not in the Pod" bash -c "! grep -q 'input.csv' '$T/pod1.json'"
check "the Secret holds them, owned by the Replication" \
	test "$(jget secret $NAME-config '.metadata.ownerReferences[0].name')" = $NAME
check "Replication Pending with its pod" wait_until 10 is $NAME jget replication $NAME .status.podName
eq "the Connection is taken by the run" $NAME "$(jget connection $NAME .status.active)"

# ---- play kubelet: run 1 --------------------------------------------------------

P1=$T/pod1
pod_files $NAME "$P1"
mkdir -p "$T/local" "$P1/out"
cp "$SEED/e2e/$NAME/docker/local/input.csv" "$T/local/"
# the seed's configs name /local and /storage: this machine's stand-ins
sed -i "s|/local|$T/local|" "$P1/secrets/source-file.json"
sed -i "s|\"/storage\"|\"$P1/out\"|" "$P1/secrets/destination-file.json"
check "pods/status: Running" patch_pod $NAME "$(running_status)"
check "Replication Running" wait_until 10 phase_is $NAME Running
start_sync $NAME "$P1"
check "run 1: the driver replicates" "$DRIVER" run --replication $NAME --secrets-dir "$P1/secrets" \
	--store-path "$P1/storage/store" --source-entrypoint "$BIN/source-file" \
	--destination-entrypoint "$BIN/destination-csv"
check "state-sync ends with the run" wait_until 10 bash -c "! kill -0 $SYNC_PID"
wait "$SYNC_PID"
eq "state-sync exit code" 0 "$?"
patch_pod $NAME "$(ended_status Succeeded 0 0)"
check "Replication Succeeded" wait_until 10 phase_is $NAME Succeeded
rows=$(($(wc -l <"$T/local/input.csv") - 1))
eq "records counted from the run record" "$rows" "$(jget replication $NAME .status.records)"
eq "condition Succeeded" True "$(jget replication $NAME '.status.conditions[] | select(.type == "Succeeded") | .status')"
check "the Connection is free again" wait_until 10 is none jget connection $NAME '.status.active // "none"'
eq "Connection.status.lastReplication" $NAME "$(jget connection $NAME .status.lastReplication.name)"
check "the run's Secret is deleted" wait_until 10 gone secret $NAME-config
eq "ReplicationOutput holds the committed state" "$(jq -cS . "$P1/storage/store/$NAME/state.json")" \
	"$(jget replicationoutput $NAME '.status.state.data' | jq -cS .)"
eq "ReplicationOutput summary" "$rows" "$(jget replicationoutput $NAME .status.summary.recordsMoved)"
"$DRIVER" --command state --replication $NAME --store-path "$P1/storage/store" >"$T/state-local.json"
"$DRIVER" --command state --replication $NAME --store k8s >"$T/state-k8s.json" 2>"$T/state-k8s.err"
eq "the seed's 'state --store k8s' shows it" "$(jq -cS . "$T/state-local.json")" "$(jq -cS . "$T/state-k8s.json" 2>/dev/null)"
"$OP" state --replication $NAME --kubeconfig "$KUBECONFIG_CERT" >"$T/state-cert.json" 2>"$T/state-cert.err"
eq "a kubeconfig with a client certificate works too" "$(jq -cS . "$T/state-local.json")" "$(jq -cS . "$T/state-cert.json" 2>/dev/null)"
"$OP" state --replication no-such-thing --kubeconfig "$KUBECONFIG" >/dev/null 2>"$T/state-missing.err"
eq "state of an unknown replication: exit 1" 1 "$?"
check "... saying what is missing" grep -q "no committed state for 'no-such-thing'" "$T/state-missing.err"
"$OP" trigger --connection no-such-connection --kubeconfig "$KUBECONFIG" >/dev/null 2>"$T/trigger-missing.err"
eq "trigger of an unknown connection: exit 1" 1 "$?"
check "... saying why" grep -q "cannot trigger connection 'no-such-connection'.*not found" "$T/trigger-missing.err"

# ---- run 2: triggered; the committed state goes in through the Secret -----------

before=$(k get replications -o name | wc -l)
check "trigger" "$OP" trigger --connection $NAME --kubeconfig "$KUBECONFIG"
check "the trigger creates a Replication" wait_until 10 ge $((before + 1)) count_replications
R2=$(k get replications -o json | jq -r --arg c $NAME '.items[] | select(.metadata.annotations["airbyte.pravaah.dev/created-by"] == "trigger") | .metadata.name' | head -1)
check "the trigger annotation is removed" wait_until 10 is gone jget connection $NAME '.metadata.annotations["airbyte.pravaah.dev/trigger"] // "gone"'
check "run 2 has a Pod" wait_until 20 pod_exists "$R2"
pod_cmd "$R2" '.spec.initContainers[] | select(.name == "restore-state")'
eq "run 2 restores the state first" "airbyte-replication-driver state set /input-state/state.json --replication $NAME" "${CMD[*]}"
P2=$T/pod2
pod_files "$R2" "$P2"
eq "its Secret carries the committed state" "$(jq -cS . "$T/state-local.json")" "$(jq -cS . "$P2/input-state/state.json")"
sed -i "s|/local|$T/local|" "$P2/secrets/source-file.json"
sed -i "s|\"/storage\"|\"$P1/out\"|" "$P2/secrets/destination-file.json"
"$DRIVER" "${CMD[@]:1:2}" "$P2/input-state/state.json" --replication $NAME --store-path "$P2/storage/store" >/dev/null 2>&1
patch_pod "$R2" "$(running_status)"
start_sync "$R2" "$P2"
"$DRIVER" run --replication $NAME --secrets-dir "$P2/secrets" --store-path "$P2/storage/store" \
	--source-entrypoint "$BIN/source-file" --destination-entrypoint "$BIN/destination-csv" >"$T/run2.log" 2>&1
check "run 2 starts from the state of run 1" grep -q 'input state: STREAM' "$T/run2.log"
wait "$SYNC_PID"
patch_pod "$R2" "$(ended_status Succeeded 0 0)"
check "run 2 Succeeded" wait_until 10 phase_is "$R2" Succeeded

# ---- a slow connection: kill mid-run, failures, one Pod at a time ---------------

cat >"$T/slow.yaml" <<EOF
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: ConnectorDefinition
metadata: {name: fake-source}
spec: {id: fake-source, name: fake-source, imageRepository: example/fake-source, imageTag: "1", kind: source, spec: {connectionSpecification: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: ConnectionSpecification, type: object}}}
---
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: ConnectorDefinition
metadata: {name: fake-destination}
spec: {id: fake-destination, name: fake-destination, imageRepository: example/fake-destination, imageTag: "1", kind: destination, spec: {connectionSpecification: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: ConnectionSpecification, type: object}}}
---
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: Connector
metadata: {name: slow-source}
spec:
  connectorDefinitionRef: {name: fake-source}
  spec: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: ConnectionSpecification, streams: {s: 400}, state_every: 5, sleep: 0.01, api_key: "k8s-test-secret-value"}
---
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: Connector
metadata: {name: slow-destination}
spec:
  connectorDefinitionRef: {name: fake-destination}
  spec: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: ConnectionSpecification}
---
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: Connection
metadata: {name: slow}
spec:
  sourceRef: {name: slow-source}
  destinationRef: {name: slow-destination}
  scheduleType: manual
  schedule: {units: 1, timeUnit: minutes}
  catalog:
    streams:
    - stream: {name: s, json_schema: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: JsonSchema, type: object}, supported_sync_modes: [full_refresh, incremental]}
      sync_mode: incremental
      cursor_field: [id]
      destination_sync_mode: append
EOF
k apply -f "$T/slow.yaml" >/dev/null
new_replication() { # NAME [CONNECTION]
	printf 'apiVersion: airbyte.pravaah.dev/v1alpha1\nkind: Replication\nmetadata: {name: %s}\nspec: {connectionRef: {name: %s}, name: %s}\n' \
		"$1" "${2:-slow}" "${2:-slow}" | k apply -f - >/dev/null
}
SRC_EP="python3 $FAKE/fake_source.py"
DST_EP="python3 $FAKE/fake_destination.py"

new_replication slow-1
check "slow-1 gets a Pod" wait_until 20 pod_exists slow-1
P3=$T/pod3
pod_files slow-1 "$P3"
patch_pod slow-1 "$(running_status)"
start_sync slow-1 "$P3"
setsid "$DRIVER" run --replication slow --secrets-dir "$P3/secrets" --store-path "$P3/storage/store" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$DST_EP" >"$T/run3.log" 2>&1 &
RUN3=$!
commits() { [ -f "$P3/storage/store/slow/state-history.jsonl" ] && wc -l <"$P3/storage/store/slow/state-history.jsonl" || echo 0; }
check "slow-1 commits states" wait_until 20 ge 3 commits
kill -9 -- -"$RUN3" 2>/dev/null
wait "$RUN3" 2>/dev/null
sleep 1.5
eq "killed mid-run: Kubernetes has the last committed state" "$(jq -cS .state "$P3/storage/store/slow/state.json")" \
	"$(jget replicationoutput slow '.status.state.data.state' | jq -cS .)"
# the connectors are dead, the Pod is not: it ends when state-sync does
# (t0300 kills a destination container for real, with state-sync waiting)
patch_pod slow-1 '{"phase":"Running","containerStatuses":[{"name":"source","ready":false,"restartCount":0,"image":"x","imageID":"","state":{"terminated":{"exitCode":137,"reason":"Error"}}},{"name":"destination","ready":false,"restartCount":0,"image":"x","imageID":"","state":{"terminated":{"exitCode":137,"reason":"Error"}}},{"name":"state-sync","ready":true,"restartCount":0,"image":"x","imageID":"","state":{"running":{}}}]}'
check "slow-1 Failed at once" wait_until 10 phase_is slow-1 Failed
eq "reason from the exit code" Killed "$(jget replication slow-1 .status.reason)"
eq "the Connection stays taken while the pod runs" slow-1 "$(jget connection slow .status.active)"
check "the stuck pod is deleted after --stuck-grace (3 s)" wait_until 20 gone pod slow-1
# as a kubelet would: SIGTERM; state-sync waits a while for the run record, syncs, exits
kill -TERM "$SYNC_PID"
wait "$SYNC_PID"
eq "state-sync: last sync on SIGTERM, exit 0" 0 "$?"
eq "the run record in Kubernetes says how the run ended" \
	"$(jq -r '.outcome // .status' "$P3/storage/store/slow/stats.json")" "$(jget replicationoutput slow .status.status)"
check "the Connection is free once the pod is gone" wait_until 10 is none jget connection slow '.status.active // "none"'

# slow-2: the state of the killed run goes in; its destination cannot start
new_replication slow-2
check "slow-2 gets a Pod" wait_until 20 pod_exists slow-2
P4=$T/pod4
pod_files slow-2 "$P4"
eq "slow-2 starts from the killed run's committed state" "$(jq -cS .state "$P3/storage/store/slow/state.json")" \
	"$(jq -cS .state "$P4/input-state/state.json")"
"$DRIVER" state set "$P4/input-state/state.json" --replication slow --store-path "$P4/storage/store" >/dev/null 2>&1
patch_pod slow-2 "$(running_status)"
start_sync slow-2 "$P4"
"$DRIVER" run --replication slow --secrets-dir "$P4/secrets" --store-path "$P4/storage/store" \
	--source-entrypoint "$SRC_EP" --destination-entrypoint "$T/no-such-destination" >"$T/run4.log" 2>&1
code=$?
wait "$SYNC_PID"
patch_pod slow-2 "$(ended_status Failed 1 $code)"
check "slow-2 Failed" wait_until 10 phase_is slow-2 Failed
why=$(tail -n 1 "$P4/storage/store/slow/history.jsonl" | jq -r .failure_reason)
eq "the failure reason is the run record's" "$why" "$(jget replication slow-2 .status.message)"
check "a Warning event says why" wait_until 10 bash -c "'$KUBECTL' get events -o json | jq -e '.items[] | select(.involvedObject.name == \"slow-2\" and .type == \"Warning\")' >/dev/null"

# connector configs never leave the Secret
k get events -o json >"$T/events.json"
check "no connector config in events" bash -c "! grep -q k8s-test-secret-value '$T/events.json'"
check "no connector config in the operator's log" bash -c "! grep -q k8s-test-secret-value '$T'/op-*.log"
check "no connector config in the Replication" bash -c "! '$KUBECTL' get replication -o json | grep -q k8s-test-secret-value"

# ---- one Pod per Connection, even with two active operators ----------------------

start_operator b --lease-name other-lease
check "a second operator (other lease) is active too" wait_until 10 is 1 metric "$PORT_b" leader
for i in 1 2 3 4; do new_replication "race-$i"; done
sleep 4
active_pods() { k get pods -l airbyte.pravaah.dev/connection=slow -o json | jq '[.items[] | select(.status.phase != "Succeeded" and .status.phase != "Failed")] | length'; }
eq "four Replications, one Pod" 1 "$(active_pods)"
eq "the other three wait" 3 "$(k get replications -o json | jq '[.items[] | select((.metadata.name | startswith("race-")) and .status.reason == "ConnectionBusy")] | length')"
# finish them one by one: each time exactly one next Pod
for round in 1 2 3 4; do
	cur=$(k get pods -l airbyte.pravaah.dev/connection=slow -o json | jq -r '.items[] | select(.status.phase != "Succeeded" and .status.phase != "Failed") | .metadata.name')
	[ "$(echo "$cur" | wc -w)" = 1 ] || { not_ok "round $round: one active pod (got: $cur)"; break; }
	patch_pod "$cur" "$(ended_status Succeeded 0 0)"
	wait_until 10 phase_is "$cur" Succeeded
	[ $round = 4 ] || wait_until 15 is 1 active_pods
done
eq "all four ran, one after the other" 4 "$(k get replications -o json | jq '[.items[] | select(.metadata.name | startswith("race-")) | select(.status.state == "Succeeded")] | length')"
echo "# 409 conflicts seen by the two operators: $(( $(metric "$PORT_a" conflicts_total) + $(metric "$PORT_b" conflicts_total) ))"
kill -TERM "$PID_b"
wait "$PID_b"

# ---- deletion and garbage collection --------------------------------------------

new_replication gc-1
check "gc-1 gets a Pod and a Secret" wait_until 20 pod_exists gc-1
k delete replication gc-1 >/dev/null
check "deleting the Replication removes its Pod (garbage collector)" wait_until 60 gone pod gc-1
check "... and its Secret" wait_until 30 gone secret gc-1-config
check "the Connection is free again after deletion" wait_until 20 isnt gc-1 jget connection slow '.status.active // "none"'

# ---- schedules ------------------------------------------------------------------

cat >"$T/cron.yaml" <<EOF
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: Connection
metadata: {name: every-minute}
spec:
  sourceRef: {name: slow-source}
  destinationRef: {name: slow-destination}
  scheduleType: cron
  schedule: {units: 1, timeUnit: minutes}
  catalog:
    streams:
    - stream: {name: s, json_schema: {type: object}, supported_sync_modes: [full_refresh]}
      sync_mode: full_refresh
      destination_sync_mode: append
EOF
k apply -f "$T/cron.yaml" >/dev/null
# as if it had run 58 s ago (a status patch): the next run is due in 2 s
past=$(date -u -d '-58 seconds' +%Y-%m-%dT%H:%M:%SZ)
sleep 0.5
api PATCH /apis/airbyte.pravaah.dev/v1alpha1/namespaces/default/connections/every-minute/status \
	"{\"status\":{\"state\":\"Scheduled\",\"lastScheduleTime\":\"$past\"}}" application/merge-patch+json >/dev/null
scheduled() { k get replications -o json | jq -r '.items[] | select(.metadata.annotations["airbyte.pravaah.dev/created-by"] == "schedule") | .metadata.name'; }
check "the schedule creates a Replication on time" wait_until 15 nonempty scheduled
S1=$(scheduled | head -1)
eq "owned by its Connection" Connection/every-minute "$(jget replication "$S1" '.metadata.ownerReferences[0] | "\(.kind)/\(.name)"')"
next=$(jget connection every-minute .status.nextScheduleTime)
delta=$(( $(date -d "$next" +%s) - $(date +%s) ))
check "the next run is about a minute later ($delta s)" test "$delta" -ge 50 -a "$delta" -le 61
eq "a manual Connection never runs by itself" 0 "$(k get replications -o json | jq --arg c $NAME '[.items[] | select(.spec.connectionRef.name == $c and .metadata.annotations["airbyte.pravaah.dev/created-by"] == "schedule")] | length')"
k delete connection every-minute >/dev/null
check "deleting the Connection removes its Replications" wait_until 60 bash -c "[ -z \"\$('$KUBECTL' get replications -o name | grep every-minute)\" ]"

# ---- leader election: failover and hand-over --------------------------------------

start_operator c
sleep 2
eq "a second candidate of the same lease stands by" 0 "$(metric "$PORT_c" leader)"
eq "a standby is ready" 200 "$(http_get "$PORT_c" /readyz)"
t0=$(date +%s.%N)
kill -9 "$PID_a"
check "the standby takes over after the leader dies (lease 4 s)" wait_until 12 is 1 metric "$PORT_c" leader
took=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
echo "# failover took $took s"
new_replication after-failover
check "the new leader runs Replications" wait_until 20 pod_exists after-failover
start_operator d
sleep 1
t0=$(date +%s.%N)
kill -TERM "$PID_c"
wait "$PID_c"
eq "SIGTERM: clean exit" 0 "$?"
check "SIGTERM releases the lease" grep -q "released the lease" "$T/op-c.log"
check "the standby takes over at once" wait_until 4 is 1 metric "$PORT_d" leader
echo "# hand-over took $(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"

# ---- the API server restarts under the watches ------------------------------------

patch_pod after-failover "$(ended_status Succeeded 0 0)"
check "after-failover Succeeded" wait_until 10 phase_is after-failover Succeeded
relists=$(metric "$PORT_d" watch_relists_total)
"$TOP/tests/k8s/cluster.sh" restart-apiserver "$T/cluster" >"$T/restart.log" 2>&1 ||
	{ sed 's/^/# /' "$T/restart.log"; not_ok "restart the API server"; }
new_replication after-restart
check "watches come back after the API server restarts" wait_until 60 pod_exists after-restart
check "... by listing again (410 Gone or a new list)" test "$(metric "$PORT_d" watch_relists_total)" -gt "$relists"
check "the operator saw 410 Gone and listed again" grep -q '410 Gone' "$T/op-d.log"
echo "# watch restarts: $(metric "$PORT_d" watch_restarts_total), relists: $(metric "$PORT_d" watch_relists_total)"
kill -TERM "$PID_d"
wait "$PID_d"
done_testing
