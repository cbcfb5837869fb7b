#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1 for the operator tests:
# Debian's etcd, kube-apiserver and kube-controller-manager (v1.20, built from
# Debian's source package by scripts/build-kube.sh), no nodes, no kubelet.
#
#   tests/k8s/cluster.sh start DIR    start (no-op when already running in DIR)
#   tests/k8s/cluster.sh stop DIR     stop everything started in DIR (no-op if none)
#   tests/k8s/cluster.sh status DIR   exit 0 when running and ready
#   tests/k8s/cluster.sh restart-apiserver DIR   stop the API server, start it
#                                     again on the same ports (watch tests)
#
# start writes into DIR:
#   kubeconfig       admin (group system:masters) by bearer token, CA inline
#   kubeconfig-cert  admin by client certificate (CN=admin-cert,O=system:masters),
#                    certificate and key inline, CA as a file path
#   env              KEY=value lines (`set -a; . DIR/env; set +a`):
#                    KUBECONFIG KUBECONFIG_CERT KUBE_SERVER KUBE_TOKEN KUBE_CA KUBECTL
#                    KUBE_OPERATOR_TOKEN (user operator-test, no groups: RBAC tests)
#                    KUBE_CLIENT_CERT KUBE_CLIENT_KEY KUBE_SA_KEY KUBE_ETCD KUBE_DIR
#   pids             "NAME PID" lines; *.log: the logs of the three servers
#   pki/, tokens.csv, etcd/ (etcd's data, wiped by every fresh start)
# Ports are picked free at run time, so clusters in different DIRs can run
# side by side.  A failed start stops what it started and prints the log tail.
# Environment: KUBE_CACHE (binaries; default /var/cache/airbyte-replication-driver/kube),
# ETCD (default: etcd in PATH), CLUSTER_TIMEOUT (seconds to wait, default 90).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KUBE_CACHE=${KUBE_CACHE:-/var/cache/airbyte-replication-driver/kube}
TIMEOUT=${CLUSTER_TIMEOUT:-90}

say() { echo "cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { echo "usage: $0 start|stop|status|restart-apiserver DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
CMD=$1
[ -n "$2" ] || usage
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
PIDS=$DIR/pids

# --- processes -----------------------------------------------------------------

# alive NAME PID: the process runs and is ours (its command line names DIR)
alive() {
	local pid=$2 cmdline
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	case $cmdline in *"$DIR"*) return 0 ;; esac
	return 1
}

# stop_all: controller-manager, apiserver, then etcd; TERM, then KILL after 10 s
stop_all() {
	[ -f "$PIDS" ] || return 0
	local name pid order=(kube-controller-manager kube-apiserver etcd) left
	for name in "${order[@]}"; do
		pid=$(awk -v n="$name" '$1 == n { print $2 }' "$PIDS")
		alive "$name" "$pid" || continue
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			alive "$name" "$pid" || break
			sleep 0.1
		done
		if alive "$name" "$pid"; then
			say "$name ($pid) ignored SIGTERM: killing it"
			kill -KILL "$pid" 2>/dev/null || true
			for _ in $(seq 50); do alive "$name" "$pid" || break; sleep 0.1; done
		fi
	done
	left=""
	while read -r name pid; do
		alive "$name" "$pid" && left="$left $name($pid)"
	done <"$PIDS"
	[ -z "$left" ] || die "still running:$left"
	rm -f "$PIDS"
}

running() { # all three recorded processes alive
	[ -f "$PIDS" ] || return 1
	local name pid n=0
	while read -r name pid; do
		alive "$name" "$pid" || return 1
		n=$((n + 1))
	done <"$PIDS"
	[ "$n" -eq 3 ]
}

ready() { # the API server answers /readyz with the admin token
	[ -f "$DIR/env" ] || return 1
	local server token
	server=$(sed -n 's/^KUBE_SERVER=//p' "$DIR/env")
	token=$(sed -n 's/^KUBE_TOKEN=//p' "$DIR/env")
	[ "$(curl -sS --max-time 5 --cacert "$DIR/pki/ca.crt" -H "Authorization: Bearer $token" \
		"$server/readyz" 2>/dev/null)" = ok ]
}

# spawn NAME LOG CMD...: start in the background, record the pid
spawn() {
	local name=$1 log=$2
	shift 2
	# fd 8 is the lock of DIR: the servers must not hold it
	(exec "$@" </dev/null >>"$log" 2>&1 8>&-) &
	echo "$name $!" >>"$PIDS"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

tail_logs() {
	local f
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "----- last lines of $f -----" >&2
		tail -n 25 "$f" >&2
	done
}

# --- PKI and credentials -------------------------------------------------------

gen_pki() {
	local P=$DIR/pki
	[ -s "$P/ca.crt" ] && [ -s "$P/apiserver.crt" ] && [ -s "$P/admin-cert.crt" ] &&
		[ -s "$P/sa.pub" ] && [ -s "$DIR/tokens.csv" ] && return 0
	command -v openssl >/dev/null || die "openssl not found: run scripts/install-deps.sh"
	rm -rf "$P"
	mkdir -p "$P"
	chmod 700 "$P"
	(
		cd "$P"
		openssl genrsa -out ca.key 2048
		openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=airbyte-test-ca" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
		# serving certificate of the API server
		openssl genrsa -out apiserver.key 2048
		openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr
		cat >apiserver.ext <<-'EOF'
			basicConstraints=CA:FALSE
			keyUsage=critical,digitalSignature,keyEncipherment
			extendedKeyUsage=serverAuth
			subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
		EOF
		openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-sha256 -days 3650 -extfile apiserver.ext -out apiserver.crt
		# client certificate for certificate authentication
		openssl genrsa -out admin-cert.key 2048
		openssl req -new -key admin-cert.key -subj "/O=system:masters/CN=admin-cert" -out admin-cert.csr
		cat >admin-cert.ext <<-'EOF'
			basicConstraints=CA:FALSE
			keyUsage=critical,digitalSignature,keyEncipherment
			extendedKeyUsage=clientAuth
		EOF
		openssl x509 -req -in admin-cert.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-sha256 -days 3650 -extfile admin-cert.ext -out admin-cert.crt
		# service-account token signing key pair
		openssl genrsa -out sa.key 2048
		openssl rsa -in sa.key -pubout -out sa.pub
		rm -f ./*.csr ./*.ext ./*.srl
	) >"$DIR/pki.log" 2>&1 || { tail_logs "$DIR/pki.log"; die "openssl failed"; }
	local admin op
	admin=$(openssl rand -hex 24)
	op=$(openssl rand -hex 24)
	umask 077
	printf '%s,admin,admin-uid,system:masters\n%s,operator-test,operator-test-uid\n' \
		"$admin" "$op" >"$DIR/tokens.csv.tmp"
	mv -f "$DIR/tokens.csv.tmp" "$DIR/tokens.csv"
}

b64() { base64 -w0 <"$1"; }

write_kubeconfigs() { # PORT
	local server=https://127.0.0.1:$1 token
	token=$(awk -F, '$2 == "admin" { print $1 }' "$DIR/tokens.csv")
	umask 077
	cat >"$DIR/kubeconfig.tmp" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- name: airbyte-test
		  cluster:
		    server: $server
		    certificate-authority-data: $(b64 "$DIR/pki/ca.crt")
		users:
		- name: admin
		  user:
		    token: $token
		contexts:
		- name: airbyte-test
		  context:
		    cluster: airbyte-test
		    user: admin
		    namespace: default
		current-context: airbyte-test
		preferences: {}
	EOF
	mv -f "$DIR/kubeconfig.tmp" "$DIR/kubeconfig"
	cat >"$DIR/kubeconfig-cert.tmp" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- name: airbyte-test
		  cluster:
		    server: $server
		    certificate-authority: $DIR/pki/ca.crt
		users:
		- name: admin-cert
		  user:
		    client-certificate-data: $(b64 "$DIR/pki/admin-cert.crt")
		    client-key-data: $(b64 "$DIR/pki/admin-cert.key")
		contexts:
		- name: airbyte-test-cert
		  context:
		    cluster: airbyte-test
		    user: admin-cert
		    namespace: default
		current-context: airbyte-test-cert
		preferences: {}
	EOF
	mv -f "$DIR/kubeconfig-cert.tmp" "$DIR/kubeconfig-cert"
}

# env lines: KEY=value, the value single-quoted only when it needs it
envline() {
	case $2 in
	*[!A-Za-z0-9_./:@%+=,-]*) printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}" ;;
	*) printf '%s=%s\n' "$1" "$2" ;;
	esac
}

write_env() { # APISERVER_PORT ETCD_PORT
	{
		envline KUBECONFIG "$DIR/kubeconfig"
		envline KUBECONFIG_CERT "$DIR/kubeconfig-cert"
		envline KUBE_SERVER "https://127.0.0.1:$1"
		envline KUBE_TOKEN "$(awk -F, '$2 == "admin" { print $1 }' "$DIR/tokens.csv")"
		envline KUBE_OPERATOR_TOKEN "$(awk -F, '$2 == "operator-test" { print $1 }' "$DIR/tokens.csv")"
		envline KUBE_CA "$DIR/pki/ca.crt"
		envline KUBE_CLIENT_CERT "$DIR/pki/admin-cert.crt"
		envline KUBE_CLIENT_KEY "$DIR/pki/admin-cert.key"
		envline KUBE_SA_KEY "$DIR/pki/sa.key"
		envline KUBECTL "$KUBE_CACHE/kubectl"
		envline KUBE_ETCD "http://127.0.0.1:$2"
		envline KUBE_DIR "$DIR"
	} >"$DIR/env.tmp"
	mv -f "$DIR/env.tmp" "$DIR/env"
}

# --- start ---------------------------------------------------------------------

# wait_for WHAT PROCESS-NAME COMMAND...: poll until the command succeeds,
# failing early when the named process died
wait_for() {
	local what=$1 proc=$2 deadline pid
	shift 2
	deadline=$((SECONDS + TIMEOUT))
	while ! "$@" >/dev/null 2>&1; do
		pid=$(awk -v n="$proc" '$1 == n { print $2 }' "$PIDS")
		alive "$proc" "$pid" || { say "$proc exited while waiting for $what"; return 1; }
		[ "$SECONDS" -lt "$deadline" ] || { say "timed out after ${TIMEOUT}s waiting for $what"; return 1; }
		sleep 0.2
	done
}

addr_in_use() { grep -qi 'address already in use' "$@" 2>/dev/null; }

default_sa_token() {
	[ -n "$("$KUBE_CACHE/kubectl" --kubeconfig "$DIR/kubeconfig" --cache-dir "$DIR/kube-cache" \
		-n default get serviceaccount default -o 'jsonpath={.secrets[0].name}' 2>/dev/null)" ]
}

# start_apiserver ETCD_PORT API_PORT: spawn it and wait for /readyz
start_apiserver() {
	spawn kube-apiserver "$DIR/kube-apiserver.log" "$KUBE_CACHE/kube-apiserver" \
		--etcd-servers="http://127.0.0.1:$1" \
		--bind-address=127.0.0.1 --secure-port="$2" --cert-dir="$DIR/pki" \
		--tls-cert-file="$DIR/pki/apiserver.crt" --tls-private-key-file="$DIR/pki/apiserver.key" \
		--client-ca-file="$DIR/pki/ca.crt" \
		--token-auth-file="$DIR/tokens.csv" \
		--authorization-mode=RBAC --anonymous-auth=false \
		--service-account-key-file="$DIR/pki/sa.pub" \
		--service-account-signing-key-file="$DIR/pki/sa.key" \
		--service-account-issuer=https://kubernetes.default.svc \
		--service-cluster-ip-range=10.0.0.0/24 \
		--profiling=false
	wait_for "the API server's /readyz on port $2" kube-apiserver ready
}

# restart_apiserver: stop the API server and start it again on the same
# ports, as an upgrade or a crash would (clients' watches break; resource
# versions from before may be too old afterwards: 410 Gone)
restart_apiserver() {
	running && ready || die "no cluster running in $DIR"
	local pid api_port etcd_port i
	pid=$(awk '$1 == "kube-apiserver" { print $2 }' "$PIDS")
	api_port=$(sed -n 's/^KUBE_SERVER=.*://p' "$DIR/env")
	etcd_port=$(sed -n 's/^KUBE_ETCD=.*://p' "$DIR/env")
	kill -TERM "$pid"
	for i in $(seq 100); do alive kube-apiserver "$pid" || break; sleep 0.1; done
	alive kube-apiserver "$pid" && kill -KILL "$pid"
	sed -i '/^kube-apiserver /d' "$PIDS"
	start_apiserver "$etcd_port" "$api_port" || die "the API server did not come back"
	say "API server restarted on port $api_port"
}

# one attempt with fresh ports; returns 1 on failure (processes left for the caller)
try_start() {
	local etcd_port peer_port api_port etcd_bin
	etcd_bin=${ETCD:-$(command -v etcd || true)}
	[ -x "$etcd_bin" ] || die "etcd not found: run scripts/install-deps.sh (package etcd-server)"
	etcd_port=$(free_port)
	peer_port=$(free_port)
	api_port=$(free_port)
	rm -rf "$DIR/etcd"
	: >"$PIDS"
	: >"$DIR/etcd.log"
	: >"$DIR/kube-apiserver.log"
	: >"$DIR/kube-controller-manager.log"
	write_kubeconfigs "$api_port"
	write_env "$api_port" "$etcd_port"

	spawn etcd "$DIR/etcd.log" "$etcd_bin" --name "airbyte-test" --data-dir "$DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$etcd_port" \
		--advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-cluster "airbyte-test=http://127.0.0.1:$peer_port" \
		--initial-cluster-state new --log-level warn
	wait_for "etcd on port $etcd_port" etcd \
		curl -sf --max-time 2 "http://127.0.0.1:$etcd_port/health" || return 1

	start_apiserver "$etcd_port" "$api_port" || return 1

	spawn kube-controller-manager "$DIR/kube-controller-manager.log" \
		"$KUBE_CACHE/kube-controller-manager" \
		--kubeconfig="$DIR/kubeconfig-cert" \
		--leader-elect=false \
		--bind-address=127.0.0.1 --secure-port=0 --port=0 \
		--service-account-private-key-file="$DIR/pki/sa.key" \
		--root-ca-file="$DIR/pki/ca.crt" \
		--cluster-signing-cert-file="$DIR/pki/ca.crt" \
		--cluster-signing-key-file="$DIR/pki/ca.key" \
		--use-service-account-credentials=false \
		--controllers='*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-route,-service'
	# the service-account controllers work: the default ServiceAccount of
	# namespace default exists with its token Secret
	wait_for "the default ServiceAccount's token (controller-manager)" kube-controller-manager \
		default_sa_token || return 1
}

start() {
	if running && ready; then
		say "already running in $DIR ($(sed -n 's/^KUBE_SERVER=//p' "$DIR/env"))"
		return 0
	fi
	stop_all
	"$TOP/scripts/build-kube.sh" "$KUBE_CACHE" >"$DIR/build-kube.log" 2>&1 ||
		{ tail_logs "$DIR/build-kube.log"; die "scripts/build-kube.sh failed"; }
	local b
	for b in kube-apiserver kube-controller-manager kubectl; do
		[ -x "$KUBE_CACHE/$b" ] || die "$KUBE_CACHE/$b missing"
	done
	command -v curl >/dev/null || die "curl not found: run scripts/install-deps.sh"
	gen_pki
	local attempt t0=$SECONDS
	for attempt in 1 2 3; do
		if try_start; then
			say "ready in $((SECONDS - t0))s: $(sed -n 's/^KUBE_SERVER=//p' "$DIR/env") (env: $DIR/env)"
			return 0
		fi
		local logs=("$DIR/etcd.log" "$DIR/kube-apiserver.log" "$DIR/kube-controller-manager.log")
		if [ "$attempt" -lt 3 ]; then
			# a port taken meanwhile, or (seen in CI, with empty logs) an
			# etcd that exits at once: both pass with fresh ports
			if addr_in_use "${logs[@]}"; then
				say "a port was taken meanwhile: retrying with other ports"
			else
				tail_logs "${logs[@]}"
				say "attempt $attempt failed: retrying with other ports"
			fi
			stop_all
			continue
		fi
		tail_logs "${logs[@]}"
		stop_all || true
		rm -f "$DIR/env"
		die "the control plane did not start in $DIR (logs: $DIR/*.log)"
	done
}

# one start/stop at a time per DIR
exec 8>"$DIR/.cluster.lock"
flock 8
case $CMD in
start)
	# shellcheck disable=SC2154
	trap 'rc=$?; if [ $rc -ne 0 ]; then stop_all >/dev/null 2>&1 || true; fi' EXIT
	start
	trap - EXIT
	;;
stop)
	stop_all
	rm -f "$DIR/env"
	;;
status)
	running && ready
	;;
restart-apiserver)
	restart_apiserver
	;;
*) usage ;;
esac
