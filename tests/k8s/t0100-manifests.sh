#!/usr/bin/env bash
# deploy/k8s against a real API server (v1.20, tests/k8s/cluster.sh):
# - the original CRDs (shared/seed-examples/crd/crd.yaml) and the original
#   example manifests, including the Replications embedded in the KubeVela
#   Applications, apply unchanged;
# - our crds.yaml applies over the original and from scratch, keeps every
#   example's spec as written, adds printer columns and status fields, and
#   still rejects invalid objects;
# - rbac.yaml is least privilege (kubectl auth can-i, and real requests with
#   the ServiceAccounts' tokens); deployment.yaml applies.
. "$(dirname "$0")/lib.sh"

start_cluster
ok "control plane started in ${CLUSTER_START_SECONDS}s ($KUBE_SERVER)"
echo "# control plane start: ${CLUSTER_START_SECONDS}s"
check "the default namespace exists" k get namespace default
check "the certificate kubeconfig works" k --kubeconfig "$KUBECONFIG_CERT" get namespace default
eq "a wrong token is refused (401)" 401 "$(api GET /api/v1/namespaces/default/pods '' '' wrong-token)"
eq "operator-test (no groups) is authenticated but not authorized (403)" 403 \
	"$(api GET /api/v1/namespaces/default/pods '' '' "$KUBE_OPERATOR_TOKEN")"

CRDS="connectordefinitions connectors connections replications replicationoutputs"
crd_names() { local c; for c in $CRDS; do echo "crd/$c.airbyte.pravaah.dev"; done; }
# shellcheck disable=SC2046
# kubectl validates against the server's published OpenAPI, which follows a
# CRD change a few seconds later: wait until it knows our additions
openapi_has_additions() { k explain connection.spec.catalog.streams.alias_name >/dev/null 2>&1; }
established() { k wait --for condition=Established --timeout=60s $(crd_names) >/dev/null; }

EXAMPLES=$(ls "$SEED"/e2e/*/k8s/*.yaml | sort)
# definitions, then connectors, then connections (the order does not matter
# to the API server, only to readers)
PG_CONN=$SEED/e2e/hello-airbyte-postgres-to-s3/k8s/connection.yaml
apply_examples() { # [EXCEPT]: apply every example file unchanged; prints failures
	local f rc=0
	for f in $EXAMPLES; do
		[ "$f" = "${1:-}" ] && continue
		k apply -f "$f" >"$T/apply.out" 2>&1 || { rc=1; echo "# $f:"; sed 's/^/#   /' "$T/apply.out"; }
	done
	return $rc
}

# the Replications inside the KubeVela Applications:
# spec.components[].properties.objects[], extracted with kubectl + jq
: >"$T/vela.jsonl"
for f in "$SEED"/e2e/*/vela/application.yaml; do
	yaml_to_json "$f" | jq -c '.spec.components[].properties.objects[]?' >>"$T/vela.jsonl"
done
eq "3 objects embedded in the vela Applications" 3 "$(wc -l <"$T/vela.jsonl" | tr -d ' ')"
eq "all of them Replications" "Replication Replication Replication" "$(jq -r .kind "$T/vela.jsonl" | xargs)"
apply_vela() {
	local rc=0 line i=0
	while read -r line; do
		i=$((i + 1))
		printf '%s\n' "$line" >"$T/vela-$i.json"
		k apply -f "$T/vela-$i.json" >"$T/apply.out" 2>&1 || { rc=1; sed 's/^/#   /' "$T/apply.out"; }
	done <"$T/vela.jsonl"
	return $rc
}

# same_spec FILE KIND NAME: the spec read back equals the spec in the file;
# the only extra fields allowed are the schema's defaults (false booleans)
same_spec() {
	yaml_to_json "$1" | jq '.spec' >"$T/want.json"
	k get "$2" "$3" -o json | jq '.spec' >"$T/got.json"
	python3 - "$T/want.json" "$T/got.json" <<-'PY'
		import json, sys
		want, got = (json.load(open(p)) for p in sys.argv[1:3])
		DEFAULTS = {"supportsDBT": False, "supportsNormalization": False}
		def same(w, g, path):
		    if isinstance(w, dict) and isinstance(g, dict):
		        for key in w:
		            if key not in g:
		                sys.exit(f"{path}/{key}: missing (pruned?)")
		            same(w[key], g[key], f"{path}/{key}")
		        for key in g.keys() - w.keys():
		            if DEFAULTS.get(key, object()) != g[key]:
		                sys.exit(f"{path}/{key}: added by the server")
		    elif isinstance(w, list) and isinstance(g, list) and len(w) == len(g):
		        for i, (a, b) in enumerate(zip(w, g)):
		            same(a, b, f"{path}[{i}]")
		    elif w != g or type(w) is bool != type(g) is bool:
		        sys.exit(f"{path}: {w!r} became {g!r}")
		same(want, got, "spec")
	PY
}
all_specs_same() {
	local f kind name rc=0
	for f in $EXAMPLES; do
		kind=$(yaml_to_json "$f" | jq -r .kind)
		name=$(yaml_to_json "$f" | jq -r .metadata.name)
		same_spec "$f" "$kind" "$name" 2>"$T/same.err" || { rc=1; echo "# $f: $(cat "$T/same.err")"; }
	done
	local i
	for i in 1 2 3; do
		same_spec "$T/vela-$i.json" replication "$(jq -r .metadata.name "$T/vela-$i.json")" 2>"$T/same.err" ||
			{ rc=1; echo "# vela object $i: $(cat "$T/same.err")"; }
	done
	return $rc
}
count() { k get "$1" -o name | wc -l | tr -d ' '; }

# ---- 1. the original CRDs and manifests ----------------------------------------
echo "# the original CRDs"
check "the original crd.yaml applies" k apply -f "$SEED/crd/crd.yaml"
check "its five CRDs become Established" established
check "the original example manifests apply unchanged (all $(($(echo "$EXAMPLES" | wc -w) - 1)) but one)" \
	apply_examples "$PG_CONN"
# a defect of the original CRD: the postgres example's streams have
# alias_name, selected, field_selection_enabled (unknown to it: kubectl
# refuses them, the server would prune them) and its json_schema has no
# apiVersion/kind (required there by x-kubernetes-embedded-resource)
k apply -f "$PG_CONN" >"$T/pg.out" 2>&1
check "the original CRD rejects the postgres-to-s3 Connection (known defect)" \
	grep -q 'unknown field "alias_name"' "$T/pg.out"
k apply --validate=false -f "$PG_CONN" >"$T/pg.out" 2>&1
check "even without kubectl's validation (json_schema.kind required)" \
	grep -q 'json_schema.kind: Required value' "$T/pg.out"
check "the vela-embedded Replications apply" apply_vela
eq "5 ConnectorDefinitions (destination-s3 is in two examples, the same)" 5 "$(count connectordefinitions)"
eq "5 Connectors (destination-s3-test too)" 5 "$(count connectors)"
eq "2 Connections" 2 "$(count connections)"
eq "3 Replications" 3 "$(count replications)"

# ---- 2. ours over the original ---------------------------------------------------
echo "# deploy/k8s/crds.yaml over the original"
check "crds.yaml applies over the original" k apply -f "$DEPLOY/crds.yaml"
check "the CRDs are Established" established
check "the published schema has our additions" wait_until 60 openapi_has_additions
check "all the examples apply, unchanged, the postgres one too" apply_examples
eq "3 Connections" 3 "$(count connections)"
check "the vela Replications apply again" apply_vela
check "every example reads back with the spec it was written with" all_specs_same
REPL=$(jq -r .metadata.name "$T/vela-1.json")
STATUS_PATH=/apis/airbyte.pravaah.dev/v1alpha1/namespaces/default/replications/$REPL/status
eq "a Replication status with the new fields is accepted" 200 "$(api PATCH "$STATUS_PATH" \
	'{"status":{"state":"succeeded","records":42,"bytes":4096,"podName":"p","reason":"Completed","startTime":"2026-01-01T00:00:00Z","completionTime":"2026-01-01T00:00:05Z","streams":[{"name":"test","records":42}],"conditions":[{"type":"Succeeded","status":"True","reason":"Completed","message":"done","lastTransitionTime":"2026-01-01T00:00:05Z"}]}}' \
	application/merge-patch+json)"
eq "and kept as written" '42 4096 test Succeeded' \
	"$(k get replication "$REPL" -o json | jq -r '.status | "\(.records) \(.bytes) \(.streams[0].name) \(.conditions[0].type)"')"

# ---- 3. ours from scratch ----------------------------------------------------------
echo "# deploy/k8s from scratch"
check "deleting all CRDs (and their objects)" k delete --wait=true --timeout=120s -f "$DEPLOY/crds.yaml"
check "crds.yaml applies on a cluster without them" k apply -f "$DEPLOY/crds.yaml"
check "the five CRDs become Established" established
check "... and published with our additions" wait_until 60 openapi_has_additions
# the original RBAC first: ours has the same role and binding names, so it
# replaces the original's broader rules (checked in the RBAC part below)
check "the original rbac.yaml applies" k apply -f "$SEED/crd/rbac.yaml"
check "(the original lets the operator read configmaps)" test \
	"$(k auth can-i get configmaps --as=system:serviceaccount:default:airbyte-replication-operator)" = yes
check "rbac.yaml applies over it" k apply -f "$DEPLOY/rbac.yaml"
check "deployment.yaml applies" k apply -f "$DEPLOY/deployment.yaml"
check "the original example manifests apply unchanged" apply_examples
check "the vela-embedded Replications apply" apply_vela
check "every example reads back with the spec it was written with" all_specs_same

# printer columns
header() { k get "$1" 2>/dev/null | head -n 1 | tr -s ' ' | sed 's/ $//'; }
eq "Replication columns" "NAME STATE CONNECTION RECORDS AGE" "$(header replications)"
eq "Connection columns" "NAME SCHEDULE STATE LAST AGE" "$(header connections)"
eq "Connector columns" "NAME DEFINITION AGE" "$(header connectors)"
eq "ConnectorDefinition columns" "NAME KIND IMAGE TAG AGE" "$(header connectordefinitions)"
eq "a Replication status is accepted" 200 "$(api PATCH "$STATUS_PATH" \
	'{"status":{"state":"running","records":7}}' application/merge-patch+json)"
eq "the Replication row shows state, connection and records" \
	"$REPL running $REPL 7" \
	"$(k get replication "$REPL" --no-headers | awk '{ print $1, $2, $3, $4 }')"

# a ReplicationOutput with a full status
cat >"$T/ro.yaml" <<EOF
apiVersion: airbyte.pravaah.dev/v1alpha1
kind: ReplicationOutput
metadata:
  name: $REPL-out
spec:
  replicationRef:
    name: $REPL
    namespace: default
EOF
check "a ReplicationOutput can be created" k apply -f "$T/ro.yaml"
# (kubectl caches discovery: drop the cache made before the category existed)
rm -rf "$KUBE_CACHE_DIR"
kinds_listed() { k get airbyte -o name | sed 's,/.*,,' | sort -u | wc -l | tr -d ' '; }
eq "kubectl get airbyte (the category) lists all five kinds" 5 "$(kinds_listed)"
RO_STATUS=/apis/airbyte.pravaah.dev/v1alpha1/namespaces/default/replicationoutputs/$REPL-out/status
eq "its status with the new fields is accepted" 200 "$(api PATCH "$RO_STATUS" \
	'{"status":{"state":{"apiVersion":"airbyte.pravaah.dev/v1alpha1","kind":"State","data":{"cursor":5}},"status":"succeeded","replication":"'"$REPL"'","updatedAt":"2026-01-01T00:00:05Z","summary":{"bytesMoved":1234,"recordsMoved":42,"streams":[{"name":"test","recordsMoved":42}]}}}' \
	application/merge-patch+json)"
eq "ReplicationOutput columns" "NAME REPLICATION STATUS BYTES UPDATED AGE" "$(header replicationoutputs)"
eq "the ReplicationOutput row shows replication, status and bytes" "$REPL-out $REPL succeeded 1234" \
	"$(k get replicationoutput "$REPL-out" --no-headers | awk '{ print $1, $2, $3, $4 }')"
eq "the state object is kept as written" '{"apiVersion":"airbyte.pravaah.dev/v1alpha1","data":{"cursor":5},"kind":"State"}' \
	"$(k get replicationoutput "$REPL-out" -o json | jq -cS .status.state)"
eq "state: null is accepted (nullable; a JSON patch keeps the key)" 200 "$(api PATCH "$RO_STATUS" \
	'[{"op":"replace","path":"/status/state","value":null}]' application/json-patch+json)"
eq "a merge patch with state: null removes state: rejected (422)" 422 "$(api PATCH "$RO_STATUS" \
	'{"status":{"state":null}}' application/merge-patch+json)"
CONN=$(k get connections -o name | head -n 1 | sed 's,.*/,,')
eq "a Connection status with the schedule fields is accepted" 200 "$(api PATCH \
	/apis/airbyte.pravaah.dev/v1alpha1/namespaces/default/connections/"$CONN"/status \
	'{"status":{"state":"scheduled","lastScheduleTime":"2026-01-01T00:00:00Z","nextScheduleTime":"2026-01-01T00:01:00Z","active":"r-1","lastReplication":{"name":"r-1","namespace":"default"}}}' \
	application/merge-patch+json)"
eq "the Connection row shows schedule, state and last" "$CONN manual scheduled r-1" \
	"$(k get connection "$CONN" --no-headers | awk '{ print $1, $2, $3, $4 }')"

# structural validation
echo "# validation"
yaml_to_json "$SEED/e2e/hello-airbyte-file-to-csv/k8s/connection.yaml" |
	jq '.metadata.name = "bad-schedule" | .spec.scheduleType = "weekly"' >"$T/bad1.json"
check_fails "a Connection with scheduleType: weekly is rejected" k apply -f "$T/bad1.json"
check "with a message naming the field" grep -q 'spec.scheduleType: Unsupported value: "weekly"' \
	<(k apply -f "$T/bad1.json" 2>&1)
yaml_to_json "$SEED/e2e/hello-airbyte-file-to-csv/k8s/connector-definition-source.yaml" |
	jq '.metadata.name = "bad-def" | del(.spec.imageTag)' >"$T/bad2.json"
check_fails "a ConnectorDefinition without imageTag is rejected" k apply -f "$T/bad2.json"
yaml_to_json "$SEED/e2e/hello-airbyte-file-to-csv/k8s/connector-source.yaml" |
	jq '.metadata.name = "bad-conn" | del(.spec.spec.kind)' >"$T/bad3.json"
check_fails "an embedded resource without kind is rejected" k apply -f "$T/bad3.json"
eq "a Replication status with records: \"many\" is rejected (422)" 422 "$(api PATCH "$STATUS_PATH" \
	'{"status":{"state":"running","records":"many"}}' application/merge-patch+json)"
eq "a Replication status without state is rejected (422)" 422 "$(api PUT "$STATUS_PATH" \
	"$(k get replication "$REPL" -o json | jq -c '.status = {"records": 1}')")"
eq "an unknown status field is pruned without an error (200)" "200 null" \
	"$(api PATCH "$STATUS_PATH" '{"status":{"state":"running","bogus":1}}' application/merge-patch+json) $(jq -c .status.bogus "$T/api.json")"
eq "a condition without status is rejected (422)" 422 "$(api PATCH "$STATUS_PATH" \
	'{"status":{"state":"running","conditions":[{"type":"Ready"}]}}' application/merge-patch+json)"
# status.state is an embedded resource (as in the original): apiVersion and
# kind are required, but the 1.20 API server checks it only on writes of the
# main resource, so a bad state written through /status blocks later updates
RO_PATH=${RO_STATUS%/status}
eq "a ReplicationOutput state without apiVersion/kind is accepted by /status (!)" 200 \
	"$(api PUT "$RO_STATUS" "$(k get replicationoutput "$REPL-out" -o json | jq -c '.status.state = {"cursor": 5}')")"
eq "then an update of the main resource is rejected (422)" 422 \
	"$(api PATCH "$RO_PATH" '{"metadata":{"labels":{"a":"b"}}}' application/merge-patch+json)"
check "naming status.state.kind" grep -q 'status.state.kind: Required value' "$T/api.json"
eq "with apiVersion and kind in the state, the update goes through" "200 200" \
	"$(api PATCH "$RO_STATUS" '{"status":{"state":{"apiVersion":"airbyte.pravaah.dev/v1alpha1","kind":"State"}}}' application/merge-patch+json) $(api PATCH "$RO_PATH" '{"metadata":{"labels":{"a":"b"}}}' application/merge-patch+json)"
eq "a negative bytesMoved is rejected (422)" 422 "$(api PATCH "$RO_STATUS" \
	'{"status":{"summary":{"bytesMoved":-1}}}' application/merge-patch+json)"

# ---- RBAC ---------------------------------------------------------------------------
echo "# RBAC"
DRV=system:serviceaccount:default:airbyte-replication-driver
OPR=system:serviceaccount:default:airbyte-replication-operator
can() { [ "$(k auth can-i "$@" 2>/dev/null)" = yes ]; }
RO=replicationoutputs.airbyte.pravaah.dev
check "driver: can patch replicationoutputs/status" can patch "$RO" --subresource=status --as="$DRV"
check "driver: can get replicationoutputs" can get "$RO" --as="$DRV"
check_fails "driver: cannot update replicationoutputs (spec)" can update "$RO" --as="$DRV"
check_fails "driver: cannot list replicationoutputs" can list "$RO" --as="$DRV"
check_fails "driver: cannot patch replications/status" can patch replications.airbyte.pravaah.dev --subresource=status --as="$DRV"
check_fails "driver: cannot get secrets" can get secrets --as="$DRV"
check_fails "driver: cannot create pods" can create pods --as="$DRV"
reads=()
for r in $CRDS; do for v in get list watch; do reads+=("can $v $r.airbyte.pravaah.dev --as=$OPR"); done; done
check "operator: can get, list and watch the five kinds" all_of "${reads[@]}"
check "operator: can create replications" can create replications.airbyte.pravaah.dev --as="$OPR"
check "operator: can patch replications/status" can patch replications.airbyte.pravaah.dev --subresource=status --as="$OPR"
check "operator: can patch connections/status" can patch connections.airbyte.pravaah.dev --subresource=status --as="$OPR"
check "operator: can create, update and delete replicationoutputs" all_of \
	"can create $RO --as=$OPR" "can update $RO --as=$OPR" "can delete $RO --as=$OPR"
check "operator: can create, watch and delete pods" all_of \
	"can create pods --as=$OPR" "can watch pods --as=$OPR" "can delete pods --as=$OPR"
check "operator: can create, update and delete secrets" all_of \
	"can create secrets --as=$OPR" "can update secrets --as=$OPR" "can delete secrets --as=$OPR"
check "operator: can get, create and update leases" all_of "can get leases.coordination.k8s.io --as=$OPR" \
	"can create leases.coordination.k8s.io --as=$OPR" "can update leases.coordination.k8s.io --as=$OPR"
check "operator: can create and patch events (core and events.k8s.io)" all_of \
	"can create events --as=$OPR" "can patch events --as=$OPR" \
	"can create events.events.k8s.io --as=$OPR" "can patch events.events.k8s.io --as=$OPR"
check_fails "operator: cannot update replications (spec)" can update replications.airbyte.pravaah.dev --as="$OPR"
check_fails "operator: cannot delete connections" can delete connections.airbyte.pravaah.dev --as="$OPR"
check_fails "operator: cannot update connectordefinitions" can update connectordefinitions.airbyte.pravaah.dev --as="$OPR"
check_fails "operator: cannot update pods" can update pods --as="$OPR"
check_fails "operator: cannot get configmaps (the original's rule is gone)" can get configmaps --as="$OPR"
check_fails "operator: cannot create jobs" can create jobs.batch --as="$OPR"
check_fails "operator: cannot delete leases" can delete leases.coordination.k8s.io --as="$OPR"

# the same with real tokens: the controller-manager's token Secrets of the accounts
sa_token() {
	local s
	s=$(k get serviceaccount "$1" -o 'jsonpath={.secrets[0].name}') && [ -n "$s" ] &&
		k get secret "$s" -o 'jsonpath={.data.token}' | base64 -d
}
wait_until 30 sa_token airbyte-replication-driver
DRV_TOKEN=$(sa_token airbyte-replication-driver || true)
OPR_TOKEN=$(sa_token airbyte-replication-operator || true)
check "the controller-manager made tokens for both accounts" test -n "$DRV_TOKEN" -a -n "$OPR_TOKEN"
eq "driver token: PATCH replicationoutputs/status -> 200" 200 "$(api PATCH "$RO_STATUS" \
	'{"status":{"status":"running"}}' application/merge-patch+json "$DRV_TOKEN")"
eq "driver token: GET secrets -> 403" 403 "$(api GET /api/v1/namespaces/default/secrets '' '' "$DRV_TOKEN")"
eq "driver token: POST pods -> 403" 403 "$(api POST /api/v1/namespaces/default/pods '{}' '' "$DRV_TOKEN")"
# a bound token (TokenRequest API), as a projected serviceAccountToken volume gets
eq "a TokenRequest for the driver account -> 201" 201 "$(api POST \
	/api/v1/namespaces/default/serviceaccounts/airbyte-replication-driver/token \
	'{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":600}}')"
BOUND=$(jq -r .status.token "$T/api.json")
eq "the bound token works: PATCH replicationoutputs/status -> 200" 200 "$(api PATCH "$RO_STATUS" \
	'{"status":{"status":"running"}}' application/merge-patch+json "$BOUND")"
eq "and is refused secrets too (403)" 403 "$(api GET /api/v1/namespaces/default/secrets '' '' "$BOUND")"
eq "operator token: LIST replications -> 200" 200 \
	"$(api GET /apis/airbyte.pravaah.dev/v1alpha1/replications '' '' "$OPR_TOKEN")"
eq "operator token: DELETE a replication -> 403" 403 \
	"$(api DELETE /apis/airbyte.pravaah.dev/v1alpha1/namespaces/default/replications/"$REPL" '' '' "$OPR_TOKEN")"

# the Deployment: no nodes, so its Pods stay Pending, but they are made
check "the Deployment wants 2 replicas" test "$(k get deployment airbyte-replication-operator -o 'jsonpath={.spec.replicas}')" = 2
operator_pods() { k get pods -l app=airbyte-replication-operator -o name | wc -l | tr -d ' '; }
pods_are() { [ "$(operator_pods)" = "$1" ]; }
check "the controller-manager creates its 2 Pods (Pending: no nodes)" wait_until 60 pods_are 2
check "the Pods run as the operator's ServiceAccount" test \
	"$(k get pods -l app=airbyte-replication-operator -o 'jsonpath={.items[*].spec.serviceAccountName}')" = \
	"airbyte-replication-operator airbyte-replication-operator"

# garbage collection: deleting the Deployment removes its Pods
check "deleting the Deployment" k delete deployment airbyte-replication-operator
check "removes its ReplicaSet's Pods (garbage collector)" wait_until 60 pods_are 0

# stop leaves nothing behind
check "cluster.sh stop" "$TOP/tests/k8s/cluster.sh" stop "$T/cluster"
check_fails "no process of the cluster is left" pgrep -f "$T/cluster/"
done_testing
