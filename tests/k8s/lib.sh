# shellcheck shell=bash disable=SC2034
# Shared helpers of the Kubernetes tests (sourced): a real control plane in a
# temp directory (tests/k8s/cluster.sh), stopped on exit, the TAP helpers of
# tests/tap.sh, and helpers to read and wait for objects.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SEED=${SEED:-$TOP/../shared/seed-examples}
[ -d "$SEED" ] || SEED=/work/shared/seed-examples
DEPLOY=$TOP/deploy/k8s
T=$(mktemp -d /tmp/abk8s.XXXXXX)
. "$TOP/tests/tap.sh"

cleanup() {
	"$TOP/tests/k8s/cluster.sh" stop "$T/cluster" >/dev/null 2>&1
	# nothing started by a test may outlive it
	pkill -9 -f "$T/" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# all_of "CMD ARGS" ...: every command (a simple word list, no quoting) succeeds
all_of() {
	local c
	for c in "$@"; do
		# shellcheck disable=SC2086
		$c || return 1
	done
}
# start_cluster: start it, load DIR/env (KUBECONFIG, KUBE_SERVER, KUBE_TOKEN,
# KUBE_CA, KUBECTL, KUBE_OPERATOR_TOKEN, ...); bails out when it cannot start
start_cluster() {
	local t0=$SECONDS
	if ! "$TOP/tests/k8s/cluster.sh" start "$T/cluster" >"$T/cluster-start.log" 2>&1; then
		sed 's/^/# /' "$T/cluster-start.log"
		echo "Bail out! the control plane did not start"
		exit 1
	fi
	CLUSTER_START_SECONDS=$((SECONDS - t0))
	set -a
	. "$T/cluster/env"
	set +a
	# kubectl with its discovery cache in the test's directory (the default,
	# ~/.kube/cache, outlives the cluster and misses CRD changes for 10 min)
	KUBE_CACHE_DIR=$T/kube-cache
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexec %q --cache-dir %q "$@"\n' "$KUBECTL" "$KUBE_CACHE_DIR" >"$T/bin/kubectl"
	chmod +x "$T/bin/kubectl"
	KUBECTL=$T/bin/kubectl
}

k() { "$KUBECTL" "$@"; }

# api METHOD PATH [BODY [CONTENT-TYPE [TOKEN]]]: one request with curl; prints
# the HTTP status, the answer lands in $T/api.json
api() {
	local body=${3:-} ct=${4:-application/json} tok=${5:-$KUBE_TOKEN}
	local args=(-sS -o "$T/api.json" -w '%{http_code}' --cacert "$KUBE_CA"
		-H "Authorization: Bearer $tok" -X "$1")
	[ -n "$body" ] && args+=(-H "Content-Type: $ct" --data-binary "$body")
	curl "${args[@]}" "$KUBE_SERVER$2"
}

# wait_until SECONDS COMMAND...: poll every 0.2 s
wait_until() {
	local limit=$1 deadline
	shift
	deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# yaml_to_json FILE: the documents of a YAML file as one JSON value per line,
# converted by kubectl itself, offline, any kind (no PyYAML needed).
# `annotate --local` with the removal of an absent annotation changes nothing
# but leaves an empty annotations map, removed here.
yaml_to_json() {
	"$KUBECTL" annotate --local -o json -f "$1" airbyte-test-unused- |
		jq -c 'if .kind == "List" then .items[] else . end |
			if .metadata.annotations == {} then del(.metadata.annotations) else . end'
}

# ---- reading objects, for checks and for wait_until ---------------------------

# jget KIND NAME JQ-FILTER: a field of an object ("" when it is not there)
jget() { k get "$1" "$2" -o json 2>/dev/null | jq -r "$3"; }
phase_is() { [ "$(jget replication "$1" .status.state)" = "$2" ]; }
gone() { ! k get "$1" "$2" >/dev/null 2>&1; }
# wait_until runs a command again and again: these compare its output
is() { [ "$("${@:2}")" = "$1" ]; }
isnt() { [ "$("${@:2}")" != "$1" ]; }
ge() { [ "$("${@:2}")" -ge "$1" ] 2>/dev/null; }
nonempty() { [ -n "$("$@")" ]; }

# request_token ACCOUNT: a bound token of a service account (TokenRequest API)
request_token() {
	api POST "/api/v1/namespaces/default/serviceaccounts/$1/token" \
		'{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}' >/dev/null
	jq -r .status.token "$T/api.json"
}
kubeconfig_for() { # FILE TOKEN
	cat >"$1" <<-EOF
	apiVersion: v1
	kind: Config
	clusters: [{name: test, cluster: {server: "$KUBE_SERVER", certificate-authority: "$KUBE_CA"}}]
	users: [{name: sa, user: {token: "$2"}}]
	contexts: [{name: test, context: {cluster: test, user: sa, namespace: default}}]
	current-context: test
	EOF
}
