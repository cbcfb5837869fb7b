#!/usr/bin/env bash
# t0300-podman.sh - the operator's Pods run for real: a real API server
# (tests/k8s/cluster.sh), the operator with its own service account, and
# tests/k8s/kubelet.sh, a test kubelet that runs each Pod with `podman kube
# play` (init containers, emptyDirs, the Secret volumes, the projected token)
# and reports container results through pods/status.  The images are ours
# (deploy/build-images.sh), tagged with the seed's names.
# Covers: the seed's file-to-csv replication through its own manifests (the
# seed's success criterion: the CSV has as many lines as the input), state
# handed to the next run by the restore-state init container, a destination
# killed with SIGKILL mid-run (Failed/Killed, nothing committed lost, the
# stuck Pod cleaned up), deleting a running Replication.
. "$(dirname "$0")/lib.sh"
BIN=$TOP/build/bin
OP=$BIN/airbyte-replication-operator
DRIVER=$BIN/airbyte-replication-driver
NAME=hello-airbyte-file-to-csv
KUBELET=$TOP/tests/k8s/kubelet.sh

if ! command -v podman >/dev/null; then
	not_ok "podman is missing: scripts/install-deps.sh installs it"
	done_testing
	exit 1
fi
start_cluster
show_logs() {
	local f
	[ "$nfail" -gt 0 ] || return 0
	for f in "$T"/operator.log "$T"/cluster/kubelet.log; do
		[ -f "$f" ] && { echo "# --- $f"; tail -n 30 "$f" | cut -c1-300 | sed 's/^/#   /'; }
	done
}
# the kubelet stops its podman pods on SIGTERM; cleanup catches the rest
trap 'show_logs; [ -n "${KPID:-}" ] && kill -TERM "$KPID" 2>/dev/null && wait "$KPID"; "$KUBELET" cleanup "$T/cluster" >/dev/null 2>&1; cleanup' EXIT

check "the images (deploy/build-images.sh driver connectors)" \
	"$TOP/deploy/build-images.sh" driver connectors
k apply -f "$DEPLOY/crds.yaml" >/dev/null
k wait --for condition=established crd --all --timeout=60s >/dev/null
k apply -f "$DEPLOY/rbac.yaml" >/dev/null
for f in "$SEED"/e2e/$NAME/k8s/*.yaml; do k apply -f "$f" >/dev/null || not_ok "apply $f"; done

kubeconfig_for "$T/operator.kubeconfig" "$(request_token airbyte-replication-operator)"
"$OP" run --kubeconfig "$T/operator.kubeconfig" --listen 127.0.0.1:0 --lease-duration 4 \
	--stuck-grace 5 >"$T/operator.log" 2>&1 &
mkdir -p "$T/local"
cp "$SEED/e2e/$NAME/docker/local/input.csv" "$T/local/"
KUBELET_LOCAL_DIR=$T/local "$KUBELET" "$T/cluster" >/dev/null 2>&1 &
KPID=$!

pod_dir() { echo "$T/cluster/kubelet/pods/$(jget pod "$1" .metadata.uid)"; }

# ---- the seed's replication, for real ------------------------------------------

printf 'apiVersion: airbyte.pravaah.dev/v1alpha1\nkind: Replication\nmetadata: {name: %s}\nspec: {connectionRef: {name: %s, namespace: default}, name: %s}\n' \
	$NAME $NAME $NAME | k apply -f - >/dev/null
check "the seed's replication Succeeds in podman" wait_until 120 phase_is $NAME Succeeded
rows=$(($(wc -l <"$T/local/input.csv") - 1))
eq "records" "$rows" "$(jget replication $NAME .status.records)"
csv=$(find "$T/cluster/kubelet" -name '_airbyte_raw_test.csv' 2>/dev/null | head -1)
eq "the seed's criterion: the CSV has as many lines as the input" "$(wc -l <"$T/local/input.csv")" \
	"$([ -n "$csv" ] && wc -l <"$csv")"
eq "the Pod ended Succeeded (kubelet)" Succeeded "$(jget pod $NAME .status.phase)"
eq "every container exited 0" "0 0 0" "$(jget pod $NAME '[.status.containerStatuses[].state.terminated.exitCode] | join(" ")')"
"$DRIVER" --command state --replication $NAME --store k8s >"$T/state1.json" 2>"$T/state1.err"
check "the committed state is in Kubernetes" jq -e '.state[0].type == "STREAM"' "$T/state1.json"

# ---- the next run gets it through restore-state -----------------------------------

"$OP" trigger --connection $NAME --kubeconfig "$KUBECONFIG" >/dev/null
R2=
find_r2() { R2=$(k get replications -o json | jq -r '.items[] | select(.metadata.annotations["airbyte.pravaah.dev/created-by"] == "trigger") | .metadata.name' | head -1); [ -n "$R2" ]; }
check "trigger: a second Replication" wait_until 20 find_r2
check "run 2 Succeeds" wait_until 120 phase_is "$R2" Succeeded
eq "restore-state ran first, exit 0" "restore-state:0" \
	"$(jget pod "$R2" '.status.initContainerStatuses[] | select(.name == "restore-state") | "\(.name):\(.state.terminated.exitCode)"')"
check "the source driver got run 1's state from the destination" bash -c "'$KUBELET' logs '$T/cluster' '$R2' source 2>&1 | grep -q 'input state: STREAM'"

# ---- a destination killed mid-run --------------------------------------------------

cat >"$T/slow.yaml" <<EOF
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: ConnectorDefinition
metadata: {name: source-e2e-test}
spec: {id: source-e2e-test, name: source-e2e-test, imageRepository: localhost/ard/source-e2e-test, imageTag: latest, kind: source, spec: {connectionSpecification: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: ConnectionSpecification, type: object}}}
---
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: ConnectorDefinition
metadata: {name: destination-dev-null}
spec: {id: destination-dev-null, name: destination-dev-null, imageRepository: localhost/ard/destination-dev-null, imageTag: latest, kind: destination, spec: {connectionSpecification: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: ConnectionSpecification, type: object}}}
---
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: Connector
metadata: {name: slow-generator}
spec:
  connectorDefinitionRef: {name: source-e2e-test}
  spec: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: ConnectionSpecification, records: 3000, state_every: 50, delay_ms: 2}
---
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: Connector
metadata: {name: dev-null}
spec:
  connectorDefinitionRef: {name: destination-dev-null}
  spec: {apiVersion: airbyte.pravaah.dev/v1alpha1, kind: ConnectionSpecification}
---
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: Connection
metadata: {name: slow}
spec:
  sourceRef: {name: slow-generator}
  destinationRef: {name: dev-null}
  scheduleType: manual
  schedule: {units: 1, timeUnit: minutes}
  catalog:
    streams:
    - stream: {name: stream_0, json_schema: {type: object}, supported_sync_modes: [full_refresh, incremental]}
      sync_mode: incremental
      cursor_field: [id]
      destination_sync_mode: append
EOF
k apply -f "$T/slow.yaml" >/dev/null
printf 'apiVersion: airbyte.pravaah.dev/v1alpha1\nkind: Replication\nmetadata: {name: slow-1}\nspec: {connectionRef: {name: slow}, name: slow}\n' | k apply -f - >/dev/null
committed() { [ "$(jget replicationoutput slow '.status.state.data.state // empty | length')" -ge 1 ] 2>/dev/null; }
check "slow-1 runs and commits states into Kubernetes" wait_until 120 committed
check "kill -9 the destination container" "$KUBELET" kill "$T/cluster" slow-1 destination KILL
check "slow-1 Failed" wait_until 60 phase_is slow-1 Failed
eq "reason" Killed "$(jget replication slow-1 .status.reason)"
# the connectors are dead: nothing commits any more; state-sync had 250 ms
sleep 1
state_file=$(pod_dir slow-1)/volumes/storage/store/slow/state.json
[ -f "$state_file" ] || state_file=$(find "$(pod_dir slow-1)" -path '*store/slow/state.json' 2>/dev/null | head -1)
eq "killed: Kubernetes has the pod's last committed state" "$(jq -cS .state "$state_file" 2>/dev/null)" \
	"$(jget replicationoutput slow '.status.state.data.state' | jq -cS .)"
eq "the Connection stays taken while the pod runs" slow-1 "$(jget connection slow .status.active)"
check "the stuck Pod (state-sync left) is deleted after --stuck-grace" wait_until 60 gone pod slow-1
check "the Connection is free again" wait_until 20 is none jget connection slow '.status.active // "none"'

# ---- deleting a running Replication --------------------------------------------------

printf 'apiVersion: airbyte.pravaah.dev/v1alpha1\nkind: Replication\nmetadata: {name: slow-2}\nspec: {connectionRef: {name: slow}, name: slow}\n' | k apply -f - >/dev/null
check "slow-2 Running" wait_until 120 phase_is slow-2 Running
k delete replication slow-2 --wait=false >/dev/null
check "deleting it stops and removes its Pod" wait_until 90 gone pod slow-2
check "... and its podman pod" wait_until 30 bash -c "[ -z \"\$(podman pod ps -q --filter name=slow-2)\" ]"
check "the Connection is free again" wait_until 30 is none jget connection slow '.status.active // "none"'
done_testing
