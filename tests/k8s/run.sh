#!/usr/bin/env bash
# The Kubernetes tests (`make test-k8s`; also part of `make test`): builds
# kube-apiserver, kube-controller-manager and kubectl from Debian's source
# package on first use (scripts/build-kube.sh, about 12 minutes; cached in
# /var/cache/airbyte-replication-driver/kube), then runs tests/k8s/t*.sh,
# each against its own control plane on 127.0.0.1.  Prints the scripts' TAP
# lines and "N passed, N failed".
#   tests/k8s/run.sh [FILTER]    only scripts whose name contains FILTER
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export TOP=$top
. tests/tap.sh # show_failed_log
filter=${1:-}
passed=0 failed=0
start=$SECONDS
blog=$(mktemp)
if ! scripts/build-kube.sh >"$blog" 2>&1; then
	tail -n 20 "$blog" | sed 's/^/# /'
	echo "not ok - build the Kubernetes control plane (scripts/build-kube.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "$blog"
echo "# control plane binaries ready after $((SECONDS - start)) s"
for t in tests/k8s/t*.sh; do
	case $t in *"$filter"*) ;; *) continue ;; esac
	name=$(basename "$t" .sh)
	echo "# $name"
	t0=$SECONDS
	out=$(mktemp)
	timeout 1200 bash "$t" >"$out" 2>&1
	rc=$?
	grep -q '^not ok' "$out" || [ $rc -ne 0 ] && show_failed_log "$out"
	grep -E '^(not )?ok |^# [a-z0-9].*(took|conflicts|restarts|seconds)' "$out"
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	rm -f "$out"
	echo "#   $((SECONDS - t0)) s"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
