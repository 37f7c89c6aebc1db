#!/bin/sh
# fuzz.sh - run libFuzzer targets built by `make fuzz`, each for a bounded time.
#
#   FUZZ_BUILD=build-fuzz FUZZ_SECONDS=60 scripts/fuzz.sh TARGET...
#
# Each $FUZZ_BUILD/fuzz/fuzz_TARGET starts from the committed seeds tests/fuzz/corpus/TARGET/
# (read only) and keeps the inputs it finds in $FUZZ_BUILD/corpus/TARGET/ (scratch: promote an
# interesting one to the seeds by hand). A crash, leak, timeout or sanitizer report is written
# to $FUZZ_BUILD/crashes/TARGET-*; replay it with $BUILD/tests/fuzzreplay_TARGET FILE, fix
# the decoder and add the file to the seeds as a regression.
# Prints one line per target and exits 1 when any target failed.
# Environment: FUZZ_SECONDS (default 60), FUZZ_BUILD (default build-fuzz), FUZZ_ARGS (extra
# libFuzzer options, e.g. -jobs=2).
set -u

build=${FUZZ_BUILD:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
root=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -eq 0 ]; then
    sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
fi

# Known leaks of system libraries (see the file); everything else stays a finding.
export LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

failed=0
for t in "$@"; do
    bin=$build/fuzz/fuzz_$t
    seeds=$root/tests/fuzz/corpus/$t
    scratch=$build/corpus/$t
    crashes=$build/crashes
    log=$build/logs/$t.log
    mkdir -p "$scratch" "$crashes" "$build/logs"
    # ASan's leak check stays on: a target must free everything.
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/$t-" ${FUZZ_ARGS:-} "$scratch" "$seeds" >"$log" 2>&1 </dev/null
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $t: ok, ${secs}s, ${runs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$scratch" | wc -l)"
    else
        failed=1
        echo "fuzz $t: FAILED (exit $rc), see $log"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)|invariant' "$log" |
            head -n 8 | sed 's/^/    /'
    fi
done
exit "$failed"
