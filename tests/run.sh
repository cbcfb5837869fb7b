#!/usr/bin/env bash
# The whole test suite: unit tests (cmocka), the connectors' end-to-end
# checks, and the driver's end-to-end scripts (tests/e2e/t*.sh).  Every test
# prints TAP-like "ok N - what" / "not ok N - what" lines; this script counts
# them and ends with "N passed, N failed".
#   tests/run.sh                 everything, also the scenarios with real
#                                services (PostgreSQL, S3) and containers
#   tests/run.sh --quick         unit and end-to-end tests only (2 minutes)
#   tests/run.sh --e2e-only      only the end-to-end scripts
#   tests/run.sh t0300           only scripts whose name contains t0300
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export TOP=$top
. tests/tap.sh # show_failed_log
passed=0 failed=0 failures=()
e2e_only=0 filter="" quick=0
for a in "$@"; do
	case $a in
	--e2e-only) e2e_only=1 ;;
	--quick) quick=1 ;;
	*) filter=$a ;;
	esac
done

count() { # name, output file, exit code
	local p f
	p=$(grep -c '^ok ' "$2")
	f=$(grep -c '^not ok ' "$2")
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # died without saying which check failed
		echo "not ok - $1 exited with status $3"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failures+=("$1")
}

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

if [ $e2e_only = 0 ] && [ -z "$filter" ]; then
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		echo "# $name"
		# cmocka prints "[       OK ] name" / "[  FAILED  ] name" per test
		"$t" >"$log/$name" 2>&1
		rc=$?
		sed -n 's/^\[       OK \] \(.*\)/ok - \1/p; s/^\[  FAILED  \] \([^0-9].*\)/not ok - \1/p' "$log/$name" >"$log/$name.tap"
		grep -q '^not ok' "$log/$name.tap" && cat "$log/$name"
		cat "$log/$name.tap"
		count "$name" "$log/$name.tap" "$rc"
	done
	for c in tests/connectors-e2e/test_*.sh; do
		name=$(basename "$c" .sh)
		echo "# $name"
		"$c" >"$log/$name" 2>&1
		rc=$?
		grep -E '^(not )?ok ' "$log/$name"
		count "$name" "$log/$name" "$rc"
	done
fi

for t in tests/e2e/t*.sh; do
	case $t in *"$filter"*) ;; *) continue ;; esac
	name=$(basename "$t" .sh)
	# E2E_SKIP: names to leave out (the sanitizer run skips the checks of
	# the release binary's nature: static, size, empty chroot)
	case " ${E2E_SKIP:-} " in *" $name "*) echo "# $name: skipped (E2E_SKIP)"; continue ;; esac
	echo "# $name"
	start=$(date +%s.%N)
	timeout 300 bash "$t" >"$log/$name" 2>&1
	rc=$?
	grep -q '^not ok' "$log/$name" || [ $rc -ne 0 ] && sed 's/^/#   /' "$log/$name" | tail -60
	grep -E '^(not )?ok ' "$log/$name"
	count "$name" "$log/$name" "$rc"
	awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "#   %.1f s\n", e - s }'
done

# scenarios with real services and real containers (minutes each)
suite() { # name, timeout, command...
	local name=$1 limit=$2
	shift 2
	echo "# $name"
	local start
	start=$(date +%s)
	timeout "$limit" "$@" >"$log/$name" 2>&1
	local rc=$?
	grep -q '^not ok' "$log/$name" || [ $rc -ne 0 ] && show_failed_log "$log/$name"
	grep -E '^(not )?ok ' "$log/$name"
	grep -E '^# .*(rows/s|MB/s)' "$log/$name" # the scenario's measurements
	count "$name" "$log/$name" "$rc"
	echo "#   $(($(date +%s) - start)) s"
}
if [ $quick = 0 ] && [ $e2e_only = 0 ] && [ -z "$filter" ]; then
	suite bench 300 tests/bench/smoke.sh
	suite fault 1500 env FAULT_ITERATIONS=5 tests/fault/run.sh
	suite sanitizers 2400 tests/fault/sanitize.sh
	suite fuzz 600 env FUZZ_SECONDS=20 tests/fuzz/run.sh --all
	suite s3-s3 900 tests/scenarios/s3-s3.sh
	suite postgres-s3 1200 tests/scenarios/postgres-s3.sh
	suite k8s 2400 tests/k8s/run.sh
	if command -v podman >/dev/null && command -v docker-compose >/dev/null; then
		suite compose 2400 tests/compose/run.sh
	else
		echo "not ok - compose: podman/docker-compose missing: run scripts/install-deps.sh"
		failed=$((failed + 1))
		failures+=(compose)
	fi
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
