#!/usr/bin/env bash
# Memory and UB checking of the whole driver (see docs/reliability.md).
#   tests/fault/sanitize.sh             asan + valgrind + cppcheck
#   tests/fault/sanitize.sh asan        ASan+UBSan build (build-asan/), unit tests, e2e tests
#   tests/fault/sanitize.sh valgrind    memcheck of the driver roles on end-to-end runs
#   tests/fault/sanitize.sh cppcheck    static analysis of src/ and operator/ (suppressions: cppcheck.supp)
# Prints "ok"/"not ok" lines; exit 1 when anything is found.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
what=${*:-asan valgrind cppcheck}
status=0
work=$(mktemp -d /tmp/absanitize.XXXXXX)
trap 'rm -rf "$work"' EXIT
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }

# e2e scripts run against another binary dir: tests/e2e/lib.sh takes its
# binaries from $TOP/build/bin, so give it a TOP whose build/bin is ours and
# everything else is the real tree.  (With lib.sh honouring BIN, this is
# `BIN=$dir tests/run.sh --e2e-only`.)
shadow_top() { # shadow_top BINDIR -> prints the shadow TOP
	local s=$work/top-$(basename "$(dirname "$1")") f
	mkdir -p "$s/build"
	for f in "$top"/*; do [ "$(basename "$f")" = build ] || ln -sfn "$f" "$s/$(basename "$f")"; done
	ln -sfn "$1" "$s/build/bin"
	echo "$s"
}

if [[ " $what " == *" asan "* ]]; then
	echo "# ASan+UBSan build in build-asan/"
	# DRIVER_CC=gcc: the release driver is linked with musl-gcc, which has no
	# sanitizer runtimes.  The link lines use STATIC_LDFLAGS, not CFLAGS: the
	# sanitizers go there.
	# Connectors with link flags of their own (<name>_LDFLAGS in
	# connectors/connectors.mk) do not link this way: -k, and they are taken
	# from build/bin below (they are not what is under test here).
	make -k -j"$(nproc)" BUILD=build-asan DRIVER_CC=gcc \
		CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
		STATIC_LDFLAGS='-fsanitize=address,undefined' all unit >"$work/build.log" 2>&1
	if [ -x build-asan/bin/airbyte-replication-driver ] && ls build-asan/tests/test_* >/dev/null 2>&1; then
		say 0 "asan: build of the driver and the unit tests"
	else
		grep -v '^  CC' "$work/build.log" | tail -20; say 1 "asan: build"
	fi
	for f in build/bin/*; do
		[ -e "build-asan/bin/$(basename "$f")" ] && continue
		echo "# $(basename "$f"): not built with ASan (own link flags), using build/bin's"
		cp "$f" build-asan/bin/
	done
	mkdir -p "$work/asan-reports"
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$work/asan-reports/asan:log_exe_name=1"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$work/asan-reports/ubsan"
	for t in build-asan/tests/test_*; do
		[ -x "$t" ] || continue
		"$t" >"$work/$(basename "$t").log" 2>&1
		say $? "asan: unit $(basename "$t")"
	done
	start=$(date +%s)
	# tests/run.sh sets TOP from its own path: run the shadow tree's copy
	shadow=$(shadow_top "$top/build-asan/bin")
	# t0900 checks the release binary (static, size, empty chroot) and
	# t1200 links its own tool: neither applies to the sanitizer build
	E2E_SKIP="t0900-binary t1200-cron" "$shadow/tests/run.sh" --e2e-only >"$work/e2e.log" 2>&1
	rc=$?
	cp "$work/e2e.log" build-asan/e2e.log
	grep -E '^(not ok|failed:|[0-9]+ passed)' "$work/e2e.log" | sed 's/^/#   /'
	say $rc "asan: e2e suite against build-asan/bin ($(($(date +%s) - start)) s)"
	reports=$(ls "$work/asan-reports" 2>/dev/null)
	if [ -n "$reports" ]; then
		for r in "$work"/asan-reports/*; do echo "# --- $r"; head -40 "$r"; done
		mkdir -p build-asan/reports && cp "$work"/asan-reports/* build-asan/reports/
	fi
	say "$([ -z "$reports" ] && echo 0 || echo 1)" "asan: no sanitizer report from any process ($(echo $reports | wc -w) reports, copied to build-asan/reports/)"
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if [[ " $what " == *" valgrind "* ]]; then
	echo "# valgrind memcheck of the roles (dynamic, unstripped build in build-vg/)"
	if make -j"$(nproc)" BUILD=build-vg DRIVER_CC=gcc CFLAGS='-O1 -g' STATIC_LDFLAGS= driver >"$work/vgbuild.log" 2>&1; then
		say 0 "valgrind: build"
	else
		tail -20 "$work/vgbuild.log"; say 1 "valgrind: build"
	fi
	VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no"
	D=$top/build-vg/bin/airbyte-replication-driver
	F=$top/tests/connectors
	s=$work/vg
	mkdir -p "$s/secrets"
	echo '{"streams":[{"stream":{"name":"users","json_schema":{}},"sync_mode":"incremental","destination_sync_mode":"append"},{"stream":{"name":"orders","json_schema":{}},"sync_mode":"incremental","destination_sync_mode":"append"}]}' >"$s/secrets/catalog-file.json"
	echo "{\"output\":\"$s/out\"}" >"$s/secrets/destination-file.json"
	vg_pair() { # vg_pair NAME SOURCE-CONFIG EXPECTED-RC [ROLE ARGS...]
		local name=$1 cfg=$2 want=$3 src dst rs rd
		shift 3
		echo "$cfg" >"$s/secrets/source-file.json"
		$VG --log-file="$s/$name.dst.vg" "$D" destination --replication r --pipes-dir "$s/pipes" \
			--secrets-dir "$s/secrets" --store-path "$s/store" --connect-timeout 30 \
			--destination-entrypoint "python3 $F/fake_destination.py" "$@" 2>"$s/$name.dst.log" &
		dst=$!
		$VG --log-file="$s/$name.src.vg" "$D" source --replication r --pipes-dir "$s/pipes" \
			--secrets-dir "$s/secrets" --connect-timeout 30 \
			--source-entrypoint "python3 $F/fake_source.py" "$@" 2>"$s/$name.src.log" &
		src=$!
		wait $src; rs=$?
		wait $dst; rd=$?
		local errs
		errs=$(cat "$s/$name".*.vg)
		[ -n "$errs" ] && echo "$errs" | head -40 | sed 's/^/#   /'
		say "$([ "$rs" = "$want" ] && [ "$rd" = "$want" ] && [ -z "$errs" ] && echo 0 || echo 1)" \
			"valgrind: $name (source exit $rs, destination exit $rd, expected $want; $(echo "$errs" | grep -c 'ERROR SUMMARY\|==') report lines)"
	}
	vg_pair smoke '{"streams":{"users":500,"orders":300},"state_every":7,"noise":true}' 0
	vg_pair second-run-with-state '{"streams":{"users":900,"orders":600},"state_every":50}' 0
	vg_pair global '{"streams":{"users":50,"orders":30},"state_type":"GLOBAL","state_every":5}' 0
	rm -rf "$s/store"
	vg_pair source-fails '{"streams":{"users":100},"fail_after":30,"trace_error":"boom"}' 1
	vg_pair long-line '{"streams":{"users":10},"big_record":5000}' 1 --max-line-bytes 4096
	vg_pair garbage '{"streams":{"users":200},"garbage":300,"garbage_tail":100}' 0
fi

if [[ " $what " == *" cppcheck "* ]]; then
	echo "# cppcheck $(cppcheck --version | cut -d' ' -f2) on src/ and operator/"
	cppcheck -q --enable=warning,style,performance,portability --std=c11 -D_GNU_SOURCE -Isrc -I. \
		--include=/usr/include/jansson.h --inline-suppr \
		--suppressions-list=tests/fault/cppcheck.supp \
		--template='{file}:{line}: {severity}: {id}: {message}' src/ operator/ >"$work/cppcheck.log" 2>&1
	findings=$(grep -E ': (error|warning|style|performance|portability):' "$work/cppcheck.log")
	[ -n "$findings" ] && echo "$findings" | sed 's/^/#   /'
	say "$([ -z "$findings" ] && echo 0 || echo 1)" "cppcheck: $(echo -n "$findings" | grep -c .) findings"
fi
exit $status
