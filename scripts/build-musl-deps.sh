#!/usr/bin/env bash
# Build the driver's C dependencies (jansson, libyaml) as static musl
# libraries, so the driver can be linked with musl-gcc -static.
#
#   scripts/build-musl-deps.sh [PREFIX]      (default: build/musl)
#
# Debian's libjansson.a / libyaml.a are glibc builds and must not be mixed
# with musl, so the sources come from Debian's archive (apt-get source with a
# private apt configuration: nothing under /etc changes) and are built with
# CC=musl-gcc into PREFIX/{include,lib}.  Downloads are cached in PREFIX/src.
# Idempotent: does nothing when both libraries and their headers exist.
# Needs: musl-gcc (musl-tools), cmake, make, apt-get; run
# scripts/install-deps.sh first on a fresh Debian 12 machine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${1:-${MUSL_PREFIX:-$ROOT/build/musl}}
case $PREFIX in /*) ;; *) PREFIX=$PWD/$PREFIX ;; esac
MUSL_CC=${MUSL_CC:-musl-gcc}
DIST=${DEBIAN_DIST:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEP_CFLAGS=${MUSL_DEPS_CFLAGS:--Os -ffunction-sections -fdata-sections}

SRC=$PREFIX/src
WORK=$PREFIX/work

say() { echo "build-musl-deps: $*" >&2; }
die() { say "error: $*"; exit 1; }

have_all() {
	local f
	for f in lib/libjansson.a include/jansson.h include/jansson_config.h lib/libyaml.a include/yaml.h; do
		[ -s "$PREFIX/$f" ] || return 1
	done
}

if have_all; then
	say "jansson and libyaml for musl already in $PREFIX"
	exit 0
fi

# --- tools ---------------------------------------------------------------
command -v "$MUSL_CC" >/dev/null 2>&1 ||
	die "$MUSL_CC not found: install musl-tools (scripts/install-deps.sh), or build the glibc driver with 'make DRIVER_CC=cc'"
command -v cmake >/dev/null 2>&1 || die "cmake not found: run scripts/install-deps.sh"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: the sources come from Debian's archive"
echo 'int main(void){return 0;}' >"${TMPDIR:-/tmp}/musl-probe.$$.c"
if ! "$MUSL_CC" -static -o "${TMPDIR:-/tmp}/musl-probe.$$" "${TMPDIR:-/tmp}/musl-probe.$$.c"; then
	rm -f "${TMPDIR:-/tmp}/musl-probe.$$"*
	die "$MUSL_CC cannot link a static hello world"
fi
rm -f "${TMPDIR:-/tmp}/musl-probe.$$"*

mkdir -p "$SRC" "$WORK"
# one build at a time (parallel makes, two checkouts sharing a prefix)
if command -v flock >/dev/null 2>&1; then
	exec 9>"$PREFIX/.lock"
	flock 9
	if have_all; then
		say "jansson and libyaml for musl already in $PREFIX"
		exit 0
	fi
fi

# --- sources: apt-get source with a private configuration ------------------
APT=$SRC/apt
apt_retry() {
	local i
	for i in $(seq 1 10); do
		if apt-get -o DPkg::Lock::Timeout=60 "$@"; then
			return 0
		fi
		say "apt-get $* failed (attempt $i), retrying in 10 s"
		sleep 10
	done
	die "apt-get $* kept failing (no network to $MIRROR?)"
}

# the newest .dsc of a source package in the cache, or nothing
dsc_of() { ls -1 "$SRC"/"$1"_*.dsc 2>/dev/null | sort -V | tail -n 1; }

fetch_sources() {
	local need=() p
	for p in jansson libyaml; do
		[ -n "$(dsc_of "$p")" ] || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	say "downloading ${need[*]} sources from $MIRROR ($DIST)"
	mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
	echo "deb-src $MIRROR $DIST main" >"$APT/sources.list"
	local O=(-o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache")
	# as root apt drops to the _apt user, which cannot write in our cache
	[ "$(id -u)" -eq 0 ] && O+=(-o APT::Sandbox::User=root)
	apt_retry "${O[@]}" -q update
	(cd "$SRC" && apt_retry "${O[@]}" -q source --download-only "${need[@]}")
	for p in "${need[@]}"; do
		[ -n "$(dsc_of "$p")" ] || die "apt-get source did not download $p"
	done
}

# unpack (with Debian's patches when dpkg-source is there) into a fresh dir
unpack() {
	local pkg=$1 dir=$2 dsc orig
	dsc=$(dsc_of "$pkg")
	rm -rf "$dir"
	if command -v dpkg-source >/dev/null 2>&1; then
		# apt-get already checked the files against the signed index;
		# gpgv's "no public key" chatter goes to the log
		(cd "$SRC" && dpkg-source -x "$(basename "$dsc")" "$dir" >"$dir.log" 2>&1) ||
			{ cat "$dir.log" >&2; die "dpkg-source -x $dsc failed"; }
	else
		orig=$(ls -1 "$SRC"/"${pkg}"_*.orig.tar.* | sort -V | tail -n 1)
		mkdir -p "$dir"
		tar -xf "$orig" -C "$dir" --strip-components=1 || die "cannot unpack $orig"
	fi
	[ -f "$dir/CMakeLists.txt" ] || die "$pkg: no CMakeLists.txt in $dir"
}

cmake_build() {
	local name=$1 srcdir=$2
	shift 2
	local b=$WORK/$name-build
	rm -rf "$b"
	say "building $name with $MUSL_CC ($DEP_CFLAGS)"
	CC=$MUSL_CC cmake -S "$srcdir" -B "$b" -Wno-dev \
		-DCMAKE_C_COMPILER="$MUSL_CC" \
		-DCMAKE_BUILD_TYPE= \
		-DCMAKE_C_FLAGS="$DEP_CFLAGS" \
		-DCMAKE_INSTALL_PREFIX="$PREFIX" \
		-DCMAKE_INSTALL_LIBDIR=lib \
		-DCMAKE_POSITION_INDEPENDENT_CODE=OFF \
		-DBUILD_SHARED_LIBS=OFF \
		-DBUILD_TESTING=OFF \
		"$@" >"$b.log" 2>&1 || { tail -n 30 "$b.log" >&2; die "cmake configure of $name failed (log: $b.log)"; }
	cmake --build "$b" -j "$(nproc 2>/dev/null || echo 2)" >>"$b.log" 2>&1 ||
		{ tail -n 30 "$b.log" >&2; die "build of $name failed (log: $b.log)"; }
	cmake --install "$b" >>"$b.log" 2>&1 ||
		{ tail -n 30 "$b.log" >&2; die "install of $name failed (log: $b.log)"; }
}

fetch_sources

if ! [ -s "$PREFIX/lib/libjansson.a" ] || ! [ -s "$PREFIX/include/jansson.h" ] ||
	! [ -s "$PREFIX/include/jansson_config.h" ]; then
	rm -f "$PREFIX/lib/libjansson.a"
	unpack jansson "$WORK/jansson"
	cmake_build jansson "$WORK/jansson" \
		-DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_BUILD_DOCS=OFF \
		-DJANSSON_WITHOUT_TESTS=ON -DJANSSON_EXAMPLES=OFF
fi

if ! [ -s "$PREFIX/lib/libyaml.a" ] || ! [ -s "$PREFIX/include/yaml.h" ]; then
	rm -f "$PREFIX/lib/libyaml.a"
	unpack libyaml "$WORK/libyaml"
	cmake_build libyaml "$WORK/libyaml" -DYAML_STATIC_LIB_NAME=yaml
fi

have_all || die "libraries missing in $PREFIX after the build"
rm -rf "$WORK"
say "ok: $PREFIX/lib/libjansson.a $PREFIX/lib/libyaml.a"
