#!/usr/bin/env bash
# s3rver.sh: a local S3 (s3rver, https://github.com/jamhall/s3rver) on
# 127.0.0.1 for the scenario tests.  Stable interface:
#
#   tests/scenarios/s3rver.sh start DIR [BUCKET...]
#       Starts s3rver with its data in DIR/data (kept across stop/start, so a
#       restart on the same port sees the same objects), bound to 127.0.0.1
#       on a free port (or $S3RVER_PORT when set), and creates each BUCKET
#       (also possible later with `mb`).  Waits until it answers, then
#       prints the port (only that, one line) on stdout and writes
#       DIR/s3rver.env, a file to source:
#           S3_PORT=40123
#           S3_ENDPOINT=http://127.0.0.1:40123
#           S3_ACCESS_KEY=S3RVER   S3_SECRET_KEY=S3RVER   S3_REGION=us-east-1
#           S3RVER_PID=12345
#       (all exported).  Log: DIR/s3rver.log.  Exit 1 (message on stderr) if
#       it cannot start.  Starting while already running prints the port.
#   tests/scenarios/s3rver.sh stop DIR
#       Stops the s3rver started for DIR (by its pid, SIGTERM then SIGKILL);
#       silent and exit 0 when none runs.  DIR/data and the env file stay.
#   tests/scenarios/s3rver.sh mb DIR BUCKET...
#       Creates buckets on the running server (PUT /BUCKET, SigV4, curl).
#   tests/scenarios/s3rver.sh port DIR
#       Prints the port of the running server (exit 1 if none).
#
# s3rver checks SigV4 signatures with its only key pair S3RVER/S3RVER
# (access key id / secret).  Path-style URLs: $S3_ENDPOINT/BUCKET/KEY.
# Quick client: curl --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER
#   -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' ...
#
# s3rver is installed with npm (s3rver@3) into $S3RVER_NPM_DIR (default
# <repo>/build/npm-s3rver) when missing; $S3RVER_BIN overrides the binary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
npm_dir=${S3RVER_NPM_DIR:-$root/build/npm-s3rver}

die() { echo "s3rver.sh: $*" >&2; exit 1; }

s3rver_bin() {
	if [ -n "${S3RVER_BIN:-}" ]; then echo "$S3RVER_BIN"; return; fi
	if [ ! -x "$npm_dir/node_modules/.bin/s3rver" ]; then
		command -v npm >/dev/null || die "npm not found (apt-get install npm)"
		mkdir -p "$npm_dir"
		echo "s3rver.sh: installing s3rver into $npm_dir" >&2
		(cd "$npm_dir" && npm install --no-audit --no-fund --silent s3rver@3 >&2) ||
			die "npm install s3rver failed"
	fi
	echo "$npm_dir/node_modules/.bin/s3rver"
}

running_pid() { # DIR -> pid of a live server or nothing
	local f="$1/s3rver.pid" pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

mb() { # DIR BUCKET...
	local dir="$1"; shift
	# shellcheck disable=SC1091
	. "$dir/s3rver.env"
	local b code
	for b in "$@"; do
		code=$(curl -s -o "$dir/mb.out" -w '%{http_code}' -X PUT \
			--aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
			-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$S3_ENDPOINT/$b") || true
		case "$code" in
		200|409) ;;
		*) die "creating bucket $b: HTTP $code $(cat "$dir/mb.out" 2>/dev/null)";;
		esac
	done
}

start() {
	local dir="$1"; shift
	mkdir -p "$dir/data"
	dir=$(cd "$dir" && pwd)
	local pid port bin i
	pid=$(running_pid "$dir")
	if [ -n "$pid" ]; then
		port=$(sed -n 's/^export S3_PORT=//p' "$dir/s3rver.env")
		[ $# -gt 0 ] && mb "$dir" "$@"
		echo "$port"
		return
	fi
	bin=$(s3rver_bin)
	echo "--- start $(date -u +%FT%TZ)" >>"$dir/s3rver.log"
	local off
	off=$(stat -c %s "$dir/s3rver.log")
	# setsid: its own process group, so stop can end node and nothing else.
	# --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation
	# tokens with a cipher OpenSSL 3 only has in its legacy provider (else
	# every truncated listing is HTTP 500).
	NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--openssl-legacy-provider" \
	setsid "$bin" -d "$dir/data" -a 127.0.0.1 -p "${S3RVER_PORT:-0}" \
		>>"$dir/s3rver.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/s3rver.pid"
	port=
	for i in $(seq 1 200); do
		port=$(tail -c +$((off + 1)) "$dir/s3rver.log" |
			sed -n 's/.*S3rver listening on [0-9.]*:\([0-9]*\).*/\1/p' | head -1)
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$port" ]; then
		kill "$pid" 2>/dev/null || true
		die "s3rver did not start: $(tail -5 "$dir/s3rver.log")"
	fi
	cat >"$dir/s3rver.env" <<EOF
export S3_PORT=$port
export S3_ENDPOINT=http://127.0.0.1:$port
export S3_ACCESS_KEY=S3RVER
export S3_SECRET_KEY=S3RVER
export S3_REGION=us-east-1
export S3RVER_PID=$pid
EOF
	[ $# -gt 0 ] && mb "$dir" "$@"
	echo "$port"
}

stop() {
	local dir="$1" pid i
	[ -d "$dir" ] || return 0
	pid=$(running_pid "$dir")
	[ -n "$pid" ] || { rm -f "$dir/s3rver.pid"; return 0; }
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/s3rver.pid"
}

cmd=${1:-}
[ $# -ge 2 ] || die "usage: $0 start DIR [BUCKET...] | stop DIR | mb DIR BUCKET... | port DIR"
shift
case "$cmd" in
start) start "$@";;
stop) stop "$1";;
mb) [ -n "$(running_pid "$1")" ] || die "no s3rver running for $1"; mb "$@";;
port) [ -n "$(running_pid "$1")" ] || exit 1; sed -n 's/^export S3_PORT=//p' "$1/s3rver.env";;
*) die "unknown command $cmd";;
esac
