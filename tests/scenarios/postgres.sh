#!/usr/bin/env bash
# postgres.sh: a throwaway PostgreSQL on 127.0.0.1 for the scenario tests.
#
#   tests/scenarios/postgres.sh start DIR
#       initdb (as the postgres user) into DIR/data unless it exists, start
#       it on 127.0.0.1 with its socket in DIR/run, on $PG_PORT when set (5432
#       for the seed's configs, if free), else a free port.  Creates the role
#       $PG_USER/$PG_PASSWORD (docker/docker) and the database $PG_DATABASE
#       (airbyte) owned by it, like the seed scenario expects.  TCP logins
#       need a password (scram-sha-256); the socket trusts the superuser
#       postgres.  Prints the port (one line) and writes DIR/postgres.env:
#           PG_HOST=127.0.0.1 PG_PORT=... PG_USER=docker PG_PASSWORD=docker
#           PG_DATABASE=airbyte PG_SOCKET_DIR=DIR/run PG_BIN=/usr/lib/postgresql/15/bin
#       (exported).  Log: DIR/postgres.log.  Exit 1 if it cannot start.
#   tests/scenarios/postgres.sh stop DIR      pg_ctl stop -m fast (exit 0 if not running)
#   tests/scenarios/postgres.sh psql DIR ARGS...
#       psql as the superuser postgres over the socket, database $PG_DATABASE.
#
# Needs the Debian packages postgresql (server) and postgresql-client.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

pg_bin=${PG_BIN:-}
if [ -z "$pg_bin" ]; then
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && pg_bin=$d
	done
fi
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || die "PostgreSQL server not found (apt-get install postgresql)"

user=${PG_USER:-docker}
password=${PG_PASSWORD:-docker}
database=${PG_DATABASE:-airbyte}

as_pg() { # run a command as the postgres user when we are root
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_free() {
	python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

start() {
	local dir="$1" port i
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	chmod 755 "$dir"
	if [ -f "$dir/postgres.env" ] && as_pg "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		sed -n 's/^export PG_PORT=//p' "$dir/postgres.env"
		return
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		mkdir -p "$dir/data"
		[ "$(id -u)" = 0 ] && chown postgres: "$dir/data"
		as_pg "$pg_bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
			--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			die "initdb failed: $(tail -5 "$dir/initdb.log")"
	fi
	: >"$dir/postgres.log"
	mkdir -p "$dir/run"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir/postgres.log" "$dir/run"
	for i in 1 2 3 4 5; do
		if [ -n "${PG_PORT:-}" ]; then
			port=$PG_PORT
			port_free "$port" || die "port $port is busy"
		else
			port=$(free_port)
		fi
		if as_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir/run -c fsync=off -c max_connections=20" \
			start >/dev/null 2>&1; then
			break
		fi
		port=
		[ -n "${PG_PORT:-}" ] && break
	done
	[ -n "$port" ] || die "PostgreSQL did not start: $(tail -5 "$dir/postgres.log")"
	cat >"$dir/postgres.env" <<EOF
export PG_HOST=127.0.0.1
export PG_PORT=$port
export PG_USER=$user
export PG_PASSWORD=$password
export PG_DATABASE=$database
export PG_SOCKET_DIR=$dir/run
export PG_BIN=$pg_bin
EOF
	local q="psql -X -q -v ON_ERROR_STOP=1 -h $dir/run -p $port -U postgres"
	if [ "$($q -At -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
		$q -d postgres -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$password'" >/dev/null
	fi
	if [ "$($q -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
		$q -d postgres -c "CREATE DATABASE \"$database\" OWNER \"$user\"" >/dev/null
	fi
	echo "$port"
}

stop() {
	local dir="$1"
	[ -f "$dir/data/PG_VERSION" ] || return 0
	as_pg "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 0
	as_pg "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
		as_pg "$pg_bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
}

cmd=${1:-}
[ $# -ge 2 ] || die "usage: $0 start DIR | stop DIR | psql DIR ARGS..."
shift
case "$cmd" in
start) start "$1";;
stop) stop "$1";;
psql)
	dir=$1; shift
	# shellcheck disable=SC1091
	. "$dir/postgres.env"
	exec psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d "$PG_DATABASE" "$@";;
*) die "unknown command $cmd";;
esac
