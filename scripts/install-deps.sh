#!/usr/bin/env bash
# Install the build and test dependencies on a fresh Debian 12 machine
# (--no-containers: without podman and friends; --containers: only those).
# Retries while another apt/dpkg process holds the lock.
set -euo pipefail

# musl-tools + cmake: the driver is linked against musl, with jansson and
# libyaml built from Debian's sources by scripts/build-musl-deps.sh (make runs it)
PKGS=(build-essential pkg-config file procps util-linux bc curl jq python3
	musl-tools cmake libjansson-dev libyaml-dev libcmocka-dev
	libcurl4-openssl-dev zlib1g-dev libpq-dev postgresql
	# make fuzz: clang and its libFuzzer runtime (only a recommends of clang's)
	clang libclang-rt-14-dev
	prometheus json-schema-test-suite libdatetime-event-cron-perl
	openssl etcd-server golang-go rsync
	golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_retry() {
	local i
	for i in $(seq 1 30); do
		if as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@"; then
			return 0
		fi
		echo "install-deps: apt-get $1 failed (attempt $i), retrying in 10 s" >&2
		sleep 10
	done
	echo "install-deps: apt-get $* kept failing; giving up" >&2
	return 1
}

# --- Container packages (only with --containers; see docs/containers.md) ---
# podman + runc, Debian's docker-compose 1.29, busybox-static for the tiny
# local base images. The default invocation (no argument) is unchanged.
CONTAINER_PKGS=(podman runc crun fuse-overlayfs slirp4netns buildah debootstrap uidmap
	containernetworking-plugins netavark aardvark-dns catatonit docker-compose busybox-static)

install_containers() {
	local miss=() p
	for p in "${CONTAINER_PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || miss+=("$p")
	done
	if [ ${#miss[@]} -eq 0 ]; then
		echo "install-deps: all container packages present"
		return 0
	fi
	echo "install-deps: installing ${miss[*]}"
	apt_retry update
	apt_retry install -y --no-install-recommends "${miss[@]}"
}

if [ "${1:-}" = "--containers" ]; then
	install_containers
	exit $?
fi
# --- end of the container section ---

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
else
	echo "install-deps: installing ${missing[*]}"
	apt_retry update
	apt_retry install -y --no-install-recommends "${missing[@]}"
fi
# the whole test suite also runs containers
[ "${1:-}" = "--no-containers" ] || install_containers
