# shellcheck shell=bash
# TAP helpers of the end-to-end and Kubernetes tests (sourced): ok / not_ok /
# check / check_fails / eq (check needs $T, the test's temp dir), and
# done_testing, whose "# N checks, N failed" line tests/run.sh reads; and
# show_failed_log for the runners.
n=0 nfail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); nfail=$((nfail + 1)); echo "not ok $n - $1"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds; its output
# is shown (as TAP comments) only when the check fails
check() {
	local d=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$T/check.out" | tail -n 20; fi
}
check_fails() { # check_fails DESCRIPTION COMMAND...: passes when the command fails
	local d=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then not_ok "$d"; sed 's/^/#   /' "$T/check.out" | tail -n 20; else ok "$d"; fi
}
eq() { # eq DESCRIPTION EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
done_testing() { echo "# $n checks, $nfail failed"; [ "$nfail" -eq 0 ]; }

# show_failed_log LOG: a failed script's log as TAP comments: every failure
# or bail-out with the lines after it (its diagnostics), then the log's end
show_failed_log() {
	grep -E -A25 '^(#   )*(not ok|Bail out)' "$1" | head -n 200 | sed 's/^/#   /'
	echo "#   (the last 40 lines:)"
	tail -n 40 "$1" | sed 's/^/#   /'
}
