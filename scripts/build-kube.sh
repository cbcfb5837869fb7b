#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager and kubectl from Debian's `kubernetes`
# source package (upstream v1.20.2 with a complete vendor/), offline with
# Debian's Go, for the operator tests against a real API server.
#
#   scripts/build-kube.sh [DEST]   (default: $KUBE_CACHE or
#                                   /var/cache/airbyte-replication-driver/kube)
#
# Prints nothing new and exits 0 when both binaries are already in DEST.
# About 12 minutes cold on 2 cores.  The source comes through a private apt
# configuration: nothing under /etc changes.
set -euo pipefail

DEST=${1:-${KUBE_CACHE:-/var/cache/airbyte-replication-driver/kube}}
DIST=${DEBIAN_DIST:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BINS=(kube-apiserver kube-controller-manager kubectl)

say() { echo "build-kube: $*" >&2; }
die() { say "error: $*"; exit 1; }

have_all() {
	local b
	for b in "${BINS[@]}"; do [ -x "$DEST/$b" ] || return 1; done
}
if have_all; then
	say "kube binaries already in $DEST"
	exit 0
fi

for t in go make rsync apt-get; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found: run scripts/install-deps.sh"
done
GOCODE=/usr/share/gocode/src/github.com
[ -d "$GOCODE/modern-go/reflect2" ] && [ -d "$GOCODE/json-iterator/go" ] ||
	die "Debian's reflect2/json-iterator sources missing: run scripts/install-deps.sh"

mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9
if have_all; then exit 0; fi

WORK=$DEST/work
APT=$WORK/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
echo "deb-src $MIRROR $DIST main" >"$APT/sources.list"
O=(-o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache")
[ "$(id -u)" -eq 0 ] && O+=(-o APT::Sandbox::User=root)

retry() {
	local i
	for i in $(seq 1 10); do
		"$@" && return 0
		say "$* failed (attempt $i), retrying in 10 s"
		sleep 10
	done
	die "$* kept failing"
}

orig=$(ls -1 "$WORK"/kubernetes_*.orig.tar.gz 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$orig" ]; then
	say "downloading the kubernetes source package ($DIST)"
	retry apt-get "${O[@]}" -q update
	(cd "$WORK" && retry apt-get "${O[@]}" -q source --download-only kubernetes)
	orig=$(ls -1 "$WORK"/kubernetes_*.orig.tar.gz | sort -V | tail -n 1)
fi

SRC=$WORK/src
rm -rf "$SRC"
mkdir -p "$SRC"
tar -xzf "$orig" -C "$SRC" --strip-components=1
# the vendored reflect2 1.0.1 / json-iterator predate Go 1.18: use Debian's
V=$SRC/vendor/github.com
rm -rf "$V/modern-go/reflect2" "$V/json-iterator/go"
cp -r "$GOCODE/modern-go/reflect2" "$V/modern-go/"
cp -r "$GOCODE/json-iterator/go" "$V/json-iterator/"

say "building ${BINS[*]} (about 12 minutes on 2 cores)"
(cd "$SRC" && GOPROXY=off CGO_ENABLED=0 make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kubectl" \
	GOFLAGS=-tags=providerless KUBE_BUILD_PLATFORMS=linux/amd64) >"$WORK/build.log" 2>&1 ||
	{ tail -n 40 "$WORK/build.log" >&2; die "build failed (log: $WORK/build.log)"; }
for b in "${BINS[@]}"; do
	f=$(find "$SRC/_output" -type f -name "$b" -perm -u+x | head -n 1)
	[ -n "$f" ] || die "$b not produced"
	install -m 0755 "$f" "$DEST/$b.tmp" && mv -f "$DEST/$b.tmp" "$DEST/$b"
done
# keep the downloaded source (small), drop the tree and Go's caches
rm -rf "$SRC"
go clean -cache >/dev/null 2>&1 || true
say "ok: ${BINS[*]} in $DEST"
