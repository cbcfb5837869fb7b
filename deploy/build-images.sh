#!/usr/bin/env bash
# Build the container images locally, with no registry (see docs/containers.md).
#
#   deploy/build-images.sh [all|base|driver|connectors|dynamic|faros]...
#
# Base images are `podman import`ed from tarballs made here:
#   localhost/ard-base-busybox:latest  busybox-static + /etc basics (~2 MiB)
#   localhost/ard-base-node:latest     the same + the host's node and its libs
#   localhost/ard-base-libs:latest     busybox + the shared libraries (and the
#                                      loader) that `ldd` lists for our
#                                      dynamically linked binaries: the
#                                      connectors (source-postgres: libpq;
#                                      destination-s3, source-s3: libcurl, zlib)
#                                      and airbyte-replication-operator
#                                      (libcurl, jansson, libyaml), which the
#                                      driver image carries
# then deploy/*.Containerfile are built FROM them. Every image carries a label
# io.ard.inputs=<sha256 of its inputs> (files, Containerfile, base image id):
# an image whose label matches is not rebuilt. Work files (rootfs tarballs,
# the Faros node_modules) are cached under $ARD_IMAGE_CACHE (default
# /var/cache/airbyte-replication-driver/images when writable, else build/containers).
#
# Needs the binaries in $BIN_DIR (default build/bin: `make all` first) and
# podman; uses $CONTAINERS_CONF when set (scripts/podman-setup.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
BIN_DIR=${BIN_DIR:-$repo/build/bin}
# outside build/ when possible: `make clean` must not cost an npm install
if [ -z "${ARD_IMAGE_CACHE:-}" ]; then
	ARD_IMAGE_CACHE=$repo/build/containers
	if mkdir -p /var/cache/airbyte-replication-driver 2>/dev/null && [ -w /var/cache/airbyte-replication-driver ]; then
		ARD_IMAGE_CACHE=/var/cache/airbyte-replication-driver/images
	fi
fi
CACHE=$ARD_IMAGE_CACHE
BUSYBOX=${BUSYBOX:-/bin/busybox}
NODE=${NODE:-$(command -v node || true)}
LABEL=io.ard.inputs
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# the names the seed's compose file uses, plus our own
DRIVER_TAGS=(localhost/airbyte-replication-driver:latest
	docker.io/h7kanna/airbyte-replication-operator:0.0.1)
SOURCE_FILE_TAGS=(docker.io/airbyte/source-file:0.2.33 localhost/ard/source-file:latest)
DEST_CSV_TAGS=(docker.io/airbyte/destination-csv:1.0.0 localhost/ard/destination-csv:latest)
FAROS_TAGS=(localhost/ard/airbyte-faros-destination:0.10.65)
# optional connectors, built when their binaries exist
OPTIONAL_CONNECTORS=(source-e2e-test destination-dev-null)
# dynamically linked connectors (libpq, libcurl, zlib): on localhost/ard-base-libs,
# built when their binaries exist; the tags the seed's postgres-to-s3 and
# s3-to-s3 compose files name
DYNAMIC_CONNECTORS=(source-postgres destination-s3 source-s3)
# the Kubernetes operator (libcurl): in the driver image, on the same libs base,
# for the replication Pod's state-sync container
OPERATOR=airbyte-replication-operator
declare -A DYNAMIC_TAGS=(
	[source-postgres]="docker.io/airbyte/source-postgres:2.0.3 localhost/ard/source-postgres:latest"
	[destination-s3]="docker.io/airbyte/destination-s3:0.3.21 localhost/ard/destination-s3:latest"
	[source-s3]="docker.io/airbyte/source-s3:1.0.2 localhost/ard/source-s3:latest"
)

say() { echo "build-images: $*" >&2; }
die() { say "$*"; exit 1; }

stamp_of() { podman image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
hash_files() { sha256sum "$@" | cut -d" " -f1 | sha256sum | cut -c1-32; }

# remove a replaced image when nothing refers to it any more
drop_old() {
	local old=$1 new=$2
	[ -n "$old" ] && [ "$old" != "$new" ] || return 0
	podman rmi "$old" >/dev/null 2>&1 || true
}

tag_all() {
	local src=$1; shift
	local t
	for t in "$@"; do podman tag "$src" "$t"; done
}

# ---------------------------------------------------------------- base images
busybox_rootfs() {
	local root=$1
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,tmp,var/tmp,proc,sys,dev}
	chmod 1777 "$root/tmp" "$root/var/tmp"
	cp "$BUSYBOX" "$root/bin/busybox"
	local a
	for a in $("$BUSYBOX" --list-full); do
		[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
}

import_base() {
	local root=$1 tag=$2 h=$3
	local tarball=$CACHE/$(basename "$root").tar old
	old=$(image_id "$tag")
	tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$tarball" .
	podman import --quiet \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change "LABEL $LABEL=$h" \
		--change 'CMD ["/bin/sh"]' \
		"$tarball" "$tag" >/dev/null
	drop_old "$old" "$(image_id "$tag")"
	say "imported $tag ($(du -h "$tarball" | cut -f1))"
}

build_base_busybox() {
	[ -x "$BUSYBOX" ] || die "$BUSYBOX missing: scripts/install-deps.sh --containers (busybox-static)"
	file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' || die "$BUSYBOX is not static (install busybox-static)"
	local h
	h=$(hash_files "$BUSYBOX" "$0")
	if [ "$(stamp_of localhost/ard-base-busybox:latest)" = "$h" ]; then
		say "localhost/ard-base-busybox:latest is up to date"
		return
	fi
	busybox_rootfs "$CACHE/rootfs-busybox"
	import_base "$CACHE/rootfs-busybox" localhost/ard-base-busybox:latest "$h"
}

node_libs() { ldd "$NODE" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'; }

build_base_node() {
	[ -n "$NODE" ] && [ -x "$NODE" ] || die "no node binary on this host"
	local h libs
	libs=$(node_libs)
	# shellcheck disable=SC2086
	h=$(hash_files "$BUSYBOX" "$0" "$NODE" $libs)
	if [ "$(stamp_of localhost/ard-base-node:latest)" = "$h" ]; then
		say "localhost/ard-base-node:latest is up to date"
		return
	fi
	local root=$CACHE/rootfs-node l
	busybox_rootfs "$root"
	cp -L "$NODE" "$root/usr/bin/node"
	for l in $libs; do
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
	# the loader must sit where the binary's PT_INTERP says
	"$root/usr/bin/node" --version >/dev/null 2>&1 || true
	import_base "$root" localhost/ard-base-node:latest "$h"
}

# the shared libraries of the dynamic binaries: `ldd` paths (resolved
# libraries and the loader at its PT_INTERP path), sorted, unique
dyn_libs() {
	local c
	for c in "$@"; do
		ldd "$BIN_DIR/$c" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
	done | sort -u
}

dyn_present() {
	local c
	for c in "${DYNAMIC_CONNECTORS[@]}"; do [ -x "$BIN_DIR/$c" ] && echo "$c"; done
	return 0
}

# the libs base serves the dynamic connectors and the operator (driver image)
build_base_libs() {
	local present libs h
	present=$(dyn_present)
	[ -x "$BIN_DIR/$OPERATOR" ] && present="$present $OPERATOR"
	[ -n "${present// /}" ] || { say "no dynamic binary in $BIN_DIR: skipping localhost/ard-base-libs"; return 1; }
	# shellcheck disable=SC2086
	libs=$(dyn_libs $present)
	[ -n "$libs" ] || die "ldd found no libraries for: $present"
	# the paths matter too (the loader's path is compiled into the binaries)
	# shellcheck disable=SC2086
	h=$( { hash_files "$BUSYBOX" "$0" $libs; echo $libs; } | sha256sum | cut -c1-32)
	if [ "$(stamp_of localhost/ard-base-libs:latest)" = "$h" ]; then
		say "localhost/ard-base-libs:latest is up to date"
		return 0
	fi
	local root=$CACHE/rootfs-libs l
	busybox_rootfs "$root"
	for l in $libs; do
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
	import_base "$root" localhost/ard-base-libs:latest "$h"
}

# ------------------------------------------------------------ built images
# build_image CONTAINERFILE CONTEXT HASH_INPUTS... -- TAGS... [-- BUILD_ARGS...]
build_image() {
	local file=$1 ctx=$2 base=$3; shift 3
	local inputs=() tags=() args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do inputs+=("$1"); shift; done
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do tags+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	args=("$@")
	local base_id h cur old
	base_id=$(image_id "$base")
	[ -n "$base_id" ] || die "base image $base missing"
	h=$( { hash_files "$file" "${inputs[@]}"; echo "$base_id ${args[*]}"; } | sha256sum | cut -c1-32)
	cur=$(stamp_of "${tags[0]}")
	if [ "$cur" = "$h" ]; then
		local t ok=1
		for t in "${tags[@]}"; do [ "$(stamp_of "$t")" = "$h" ] || ok=0; done
		if [ $ok = 1 ]; then
			say "${tags[0]} is up to date"
			return
		fi
	fi
	old=$(image_id "${tags[0]}")
	local bargs=() a
	for a in "${args[@]}"; do bargs+=(--build-arg "$a"); done
	podman build --quiet --pull=never --layers=false -f "$file" \
		--build-arg "BASE=$base" "${bargs[@]}" --label "$LABEL=$h" \
		-t "${tags[0]}" "$ctx" >/dev/null
	tag_all "${tags[0]}" "${tags[@]:1}"
	drop_old "$old" "$(image_id "${tags[0]}")"
	say "built ${tags[*]} ($(podman image inspect --format '{{.Size}}' "${tags[0]}" | awk '{ printf "%.1f MiB", $1 / 1048576 }'))"
}

need_bin() { [ -x "$BIN_DIR/$1" ] || die "$BIN_DIR/$1 missing: run make first"; }

# a context directory holding exactly the named binaries
stage() {
	local ctx=$1; shift
	rm -rf "$ctx"
	mkdir -p "$ctx"
	local b
	for b in "$@"; do cp "$BIN_DIR/$b" "$ctx/$b"; done
}

# the driver image: the static driver plus the operator (dynamic: on the libs
# base) for the replication Pod's state-sync container; smoke-tested with
# `airbyte-replication-operator --help` in the image's own root
build_driver() {
	need_bin airbyte-replication-driver
	need_bin "$OPERATOR"
	build_base_libs || die "localhost/ard-base-libs could not be built"
	local ctx=$CACHE/ctx-driver
	stage "$ctx" airbyte-replication-driver "$OPERATOR"
	build_image "$here/driver.Containerfile" "$ctx" localhost/ard-base-libs:latest \
		"$ctx/airbyte-replication-driver" "$ctx/$OPERATOR" -- "${DRIVER_TAGS[@]}"
	smoke_run "${DRIVER_TAGS[0]}" 'usage: airbyte-replication-operator' \
		"/usr/local/bin/$OPERATOR" --help
	smoke_run "${DRIVER_TAGS[0]}" 'airbyte-replication-driver' \
		/usr/local/bin/airbyte-replication-driver --help
}

build_connector() {
	local c=$1; shift
	need_bin "$c"
	need_bin airbyte-replication-driver
	local ctx=$CACHE/ctx-$c
	stage "$ctx" "$c" airbyte-replication-driver
	build_image "$here/connector.Containerfile" "$ctx" "${CONNECTOR_BASE:-localhost/ard-base-busybox:latest}" \
		"$ctx/$c" "$ctx/airbyte-replication-driver" -- "$@" -- "CONNECTOR=$c"
}

# smoke test of an image: a command in the image's own root (every library
# found by the image's loader) whose output must contain PATTERN. As root: the
# image mounted and chroot (no runtime needed, ~50 ms); else `podman run` when
# $CONTAINERS_CONF is set (scripts/podman-setup.sh); else skipped.
# smoke_run IMAGE PATTERN COMMAND...
smoke_run() {
	local img=$1 pat=$2 out mnt
	shift 2
	if [ "$(id -u)" = 0 ] && mnt=$(podman image mount "$img" 2>/dev/null) && [ -n "$mnt" ]; then
		out=$(chroot "$mnt" "$@" 2>&1 || true)
		podman image unmount "$img" >/dev/null 2>&1 || true
	elif [ -n "${CONTAINERS_CONF:-}" ]; then
		out=$(podman run --rm --pull=never --network=none --entrypoint "$1" "$img" "${@:2}" 2>&1 || true)
	else
		return 0
	fi
	echo "$out" | grep -qF -- "$pat" || die "$img: '$*' fails in the image: $(echo "$out" | tail -n 2)"
}

# a dynamic connector image: `spec`
smoke_spec() { smoke_run "$1" '"type":"SPEC"' "/airbyte/integration_code/$2" spec; }

# source-postgres, destination-s3, source-s3: the same Containerfile on the
# libs base, then the smoke test
build_dynamic() {
	build_base_libs || return 0
	local c tags
	for c in $(dyn_present); do
		read -r -a tags <<<"${DYNAMIC_TAGS[$c]}"
		CONNECTOR_BASE=localhost/ard-base-libs:latest build_connector "$c" "${tags[@]}"
		smoke_spec "${tags[0]}" "$c"
	done
}

build_connectors() {
	build_connector source-file "${SOURCE_FILE_TAGS[@]}"
	build_connector destination-csv "${DEST_CSV_TAGS[@]}"
	local c
	for c in "${OPTIONAL_CONNECTORS[@]}"; do
		[ -x "$BIN_DIR/$c" ] && build_connector "$c" "localhost/ard/$c:latest"
	done
	return 0
}

build_faros() {
	need_bin airbyte-replication-driver
	build_base_node
	local ctx=$CACHE/ctx-faros app
	app=$ctx/faros
	mkdir -p "$app"
	# npm ci only when the lock file changed (node_modules is kept in the cache)
	local lock_h
	lock_h=$(hash_files "$here/faros/package.json" "$here/faros/package-lock.json")
	if [ ! -d "$app/node_modules" ] || [ "$(cat "$app/.lock-hash" 2>/dev/null)" != "$lock_h" ]; then
		say "npm ci airbyte-faros-destination (the npm registry; cached in ~/.npm)"
		rm -rf "$app/node_modules"
		cp "$here/faros/package.json" "$here/faros/package-lock.json" "$app/"
		(cd "$app" && npm ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
		echo "$lock_h" >"$app/.lock-hash"
	fi
	cp "$here/faros/main.js" "$app/main.js"
	build_image "$here/faros-app.Containerfile" "$ctx" localhost/ard-base-node:latest \
		"$app/.lock-hash" "$app/main.js" -- localhost/ard-faros-app:latest
	local dctx=$CACHE/ctx-faros-driver
	stage "$dctx" airbyte-replication-driver
	build_image "$here/faros-destination.Containerfile" "$dctx" localhost/ard-faros-app:latest \
		"$dctx/airbyte-replication-driver" -- "${FAROS_TAGS[@]}"
}

command -v podman >/dev/null || die "podman missing: scripts/install-deps.sh --containers"
# a snapshot of the binaries: a concurrent `make` must not change them mid-build
snap=$CACHE/bin
rm -rf "$snap" && mkdir -p "$snap"
for b in airbyte-replication-driver "$OPERATOR" source-file destination-csv "${OPTIONAL_CONNECTORS[@]}" "${DYNAMIC_CONNECTORS[@]}"; do
	[ -x "$BIN_DIR/$b" ] && cp "$BIN_DIR/$b" "$snap/$b"
done
BIN_DIR=$snap
[ $# -gt 0 ] || set -- all
for what in "$@"; do
	case $what in
	all) build_base_busybox; build_driver; build_connectors; build_dynamic; build_faros ;;
	base) build_base_busybox; build_base_node; build_base_libs || true ;;
	driver) build_base_busybox; build_driver ;;
	connectors) build_base_busybox; build_connectors; build_dynamic ;;
	dynamic) build_base_busybox; build_dynamic ;;
	faros) build_base_busybox; build_faros ;;
	*) die "unknown target '$what' (all|base|driver|connectors|dynamic|faros)" ;;
	esac
done
