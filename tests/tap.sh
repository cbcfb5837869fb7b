# shellcheck shell=bash
# TAP helpers of the end-to-end and Kubernetes tests (sourced after $T, the
# test's temp dir, is set): ok / not_ok / check / check_fails / eq, and
# done_testing, whose "# N checks, N failed" line tests/run.sh reads.
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
