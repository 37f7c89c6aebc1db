#!/usr/bin/env bash
# run-tests.sh - run every unit test binary and integration script; end with "N passed, N failed".
#
#   MN_BUILD=build tests/run-tests.sh [FILTER...]      (what `make check` runs)
#
# Unit tests: every $MN_BUILD/tests/test_* (cmocka), run from the repository root with
# MN_SRCDIR=<root>. Test cases are counted from cmocka's "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines; a binary that crashes, times out, or exits non-zero without
# a failure in its summary counts as one more failure.
# Integration tests: every tests/integration/test_*.sh, run by bash under `timeout` with MN_BIN,
# MN_BUILD and MN_SRCDIR set. Their "ok - ..." / "not ok - ..." lines are counted; a script that
# exits non-zero without a "not ok", prints no result at all, or leaves processes running counts
# as one more failure.
#
# FILTER: run only tests whose name contains one of the words (test_mn_key, ingest, ...).
# Environment:
#   MN_BUILD              build directory (default: build)
#   MN_UNIT_TIMEOUT       seconds per unit test binary (default: 120)
#   MN_TEST_TIMEOUT       seconds per integration script (default: 300)
#   MN_KEEP=1             integration scripts keep their temp directories (passed through)
# Exit status: 0 when everything passed and at least one test ran, 1 otherwise, 2 usage error.
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
    -*)
        usage >&2
        exit 2
        ;;
esac

build=${MN_BUILD:-build}
case "$build" in
    /*) ;;
    *) build=$root/$build ;;
esac
unit_timeout=${MN_UNIT_TIMEOUT:-120}
script_timeout=${MN_TEST_TIMEOUT:-300}
filters=("$@")

passed=0
failed=0
failures=()

work=$(mktemp -d "${TMPDIR:-/tmp}/mn-run-tests.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

selected() {
    local name=$1 f
    [ ${#filters[@]} -eq 0 ] && return 0
    for f in "${filters[@]}"; do
        case "$name" in *"$f"*) return 0 ;; esac
    done
    return 1
}

# fail NAME WHY: one failure that is not a test case of its own (crash, timeout, leak).
fail() {
    failed=$((failed + 1))
    failures+=("$1: $2")
    echo "not ok - $1: $2"
}

# Sum the numbers of every summary line matching the ERE (one per cmocka group).
sum_matches() {
    local ere=$1 file=$2 total=0 n
    while read -r n; do
        total=$((total + n))
    done < <(sed -nE "s/$ere/\\1/p" "$file")
    echo "$total"
}

# describe_status RC: "exit 3", "killed by SIGSEGV", "timed out".
describe_status() {
    local rc=$1
    if [ "$rc" -eq 124 ]; then
        echo "timed out"
    elif [ "$rc" -gt 128 ]; then
        echo "killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    else
        echo "exit $rc"
    fi
}

# run_bounded SECONDS OUT CMD...: run CMD under timeout with its output in OUT; sets $rc and
# $pgid. timeout makes its own process group, which on a timeout gets the signal as a whole and
# afterwards tells whether the test left anything running. (The wait's stderr is dropped: it
# would only carry bash's "Segmentation fault" job report, which $rc already says.)
run_bounded() {
    local secs=$1 out=$2
    shift 2
    timeout --kill-after=10 "$secs" "$@" >"$out" 2>&1 </dev/null &
    pgid=$!
    { wait "$pgid"; } 2>/dev/null
    rc=$?
}

# group_alive PGID: some process of the group still runs (zombies waiting for init excepted).
group_alive() {
    local pid pg state
    while read -r pid pg state; do
        [ "$pg" = "$1" ] && [ "$state" != Z ] && return 0
    done < <(ps -eo pid=,pgid=,stat= 2>/dev/null)
    return 1
}

# reap_group NAME PGID: nothing of a finished test may be left running; kill what is.
reap_group() {
    local name=$1 pg=$2 i pid g args
    for i in $(seq 1 20); do
        group_alive "$pg" || return 0
        sleep 0.1
    done
    fail "$name" "left processes running (process group $pg); killed them"
    while read -r pid g args; do
        [ "$g" = "$pg" ] && echo "#   $pid $args"
    done < <(ps -eo pid=,pgid=,args= 2>/dev/null)
    kill -TERM -- "-$pg" 2>/dev/null
    for i in $(seq 1 50); do
        group_alive "$pg" || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pg" 2>/dev/null
}

run_unit() {
    local bin=$1 name out p f t0 p0=$passed f0=$failed
    name=$(basename "$bin")
    out=$work/$name.out
    echo "== unit: $name"
    t0=$SECONDS
    (cd "$root" && MN_SRCDIR=$root CMOCKA_MESSAGE_OUTPUT=STDOUT \
        run_bounded "$unit_timeout" "$out" "$bin"
    exit "$rc")
    rc=$?
    cat "$out"
    p=$(sum_matches '^\[  PASSED  \] ([0-9]+) test\(s\)\..*' "$out")
    f=$(sum_matches '^\[  FAILED  \] ([0-9]+) test\(s\).*' "$out")
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failures+=("$name: $f test case(s) failed")
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "$name" "$(describe_status "$rc") without a failed test case in its summary"
    elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        fail "$name" "printed no cmocka summary"
    fi
    echo "# $name: $((passed - p0)) passed, $((failed - f0)) failed, $((SECONDS - t0)) s"
}

run_script() {
    local script=$1 name out p f line t0 p0=$passed f0=$failed
    name=integration/$(basename "$script")
    out=$work/$(basename "$script").out
    echo "== $name"
    t0=$SECONDS
    MN_BUILD=$build MN_BIN=$build/bin MN_SRCDIR=$root \
        run_bounded "$script_timeout" "$out" bash "$script"
    cat "$out"
    p=$(grep -cE '^ok( [0-9]+)?( -|$)' "$out")
    f=$(grep -cE '^not ok( [0-9]+)?( -|$)' "$out")
    passed=$((passed + p))
    failed=$((failed + f))
    while read -r line; do
        failures+=("$name: ${line#not ok - }")
    done < <(grep -E '^not ok( [0-9]+)?( -|$)' "$out")
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        fail "$name" "timed out after ${script_timeout}s"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "$name" "$(describe_status "$rc") without a \"not ok\" line"
    elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        fail "$name" "printed no \"ok\" or \"not ok\" line"
    fi
    reap_group "$name" "$pgid"
    echo "# $name: $((passed - p0)) passed, $((failed - f0)) failed, $((SECONDS - t0)) s"
}

shopt -s nullglob

for bin in "$build"/tests/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    selected "$(basename "$bin")" || continue
    run_unit "$bin"
done

for script in "$root"/tests/integration/test_*.sh; do
    selected "integration/$(basename "$script")" || continue
    if [ ! -x "$build/bin/meldnet-gateway" ]; then
        fail "integration/$(basename "$script")" \
            "$build/bin/meldnet-gateway is not built (make test-bins)"
        continue
    fi
    run_script "$script"
done

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failures:"
    printf '  %s\n' "${failures[@]}"
fi
if [ $((passed + failed)) -eq 0 ]; then
    echo "no tests ran (build them with 'make test-bins'; filter: ${filters[*]:-none})"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
