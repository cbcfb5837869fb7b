#!/usr/bin/env bash
# Podman as a Docker engine for docker-compose, as /work/shared/ENVIRONMENT.md
# describes: a private containers.conf (nothing in /etc changes) and
# `podman system service` on a private Unix socket.
#
#   scripts/podman-setup.sh start [DIR]   write DIR/containers.conf, start the
#                                         service, wait for its socket, write DIR/env
#   scripts/podman-setup.sh stop  [DIR]   stop the service started by `start`
#   scripts/podman-setup.sh env   [DIR]   print the exports (eval "$(... env)")
#
# DIR defaults to build/podman. After `start`, `. DIR/env` sets
# CONTAINERS_CONF and DOCKER_HOST for podman and docker-compose.
set -euo pipefail

cmd=${1:-}
dir=${2:-build/podman}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/containers.conf
sock=$dir/podman.sock
pidf=$dir/service.pid

write_env() {
	cat >"$dir/env" <<EOF
export CONTAINERS_CONF=$conf
export DOCKER_HOST=unix://$sock
export COMPOSE_HTTP_TIMEOUT=\${COMPOSE_HTTP_TIMEOUT:-120}
EOF
}

case $cmd in
start)
	command -v podman >/dev/null && command -v docker-compose >/dev/null || {
		echo "podman-setup: podman or docker-compose missing: run scripts/install-deps.sh --containers" >&2
		exit 2
	}
	cat >"$conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
EOF
	write_env
	if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
		echo "podman-setup: service already running (pid $(cat "$pidf"))" >&2
		exit 0
	fi
	rm -f "$sock"
	# its own session so that a Ctrl-C in the caller's terminal does not kill it
	CONTAINERS_CONF=$conf setsid podman system service --time=0 "unix://$sock" \
		>"$dir/service.log" 2>&1 </dev/null &
	echo $! >"$pidf"
	for _ in $(seq 1 100); do
		if [ -S "$sock" ] && curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
			echo "podman-setup: service ready on unix://$sock (pid $(cat "$pidf"))" >&2
			exit 0
		fi
		kill -0 "$(cat "$pidf")" 2>/dev/null || break
		sleep 0.1
	done
	echo "podman-setup: the podman service did not come up; see $dir/service.log:" >&2
	tail -n 20 "$dir/service.log" >&2 || true
	exit 1
	;;
stop)
	if [ -f "$pidf" ]; then
		pid=$(cat "$pidf")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$pidf" "$sock"
	fi
	;;
env)
	write_env
	cat "$dir/env"
	;;
*)
	echo "usage: $0 start|stop|env [DIR]" >&2
	exit 2
	;;
esac
