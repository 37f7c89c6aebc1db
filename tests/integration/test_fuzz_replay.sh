#!/usr/bin/env bash
# test_fuzz_replay.sh - every fuzz target replays its seed corpus tests/fuzz/corpus/TARGET/
# (valid messages, malformed ones and the regressions of crashes found) through
# $MN_BUILD/tests/fuzzreplay_TARGET without a crash, sanitizer report or broken invariant.
# Under `make asan` the replay binaries are sanitized, leaks included. See docs/FUZZING.md.
set -u
src=${MN_SRCDIR:-.}
build=${MN_BUILD:-build}
out=$(mktemp "${TMPDIR:-/tmp}/mn-fuzz-replay.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
# Known leaks of system libraries (libconfig 1.5); matters only in the sanitized build.
export LSAN_OPTIONS="suppressions=$src/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

status=0
n_targets=0
for c in "$src"/tests/fuzz/fuzz_*.c; do
    t=$(basename "$c" .c)
    t=${t#fuzz_}
    [ "$t" = common ] && continue
    n_targets=$((n_targets + 1))
    bin=$build/tests/fuzzreplay_$t
    corpus=$src/tests/fuzz/corpus/$t
    if [ ! -x "$bin" ]; then
        echo "not ok - replay $t: $bin is not built (make test-bins)"
        status=1
        continue
    fi
    if [ ! -d "$corpus" ]; then
        echo "not ok - replay $t: no corpus $corpus"
        status=1
        continue
    fi
    if "$bin" "$corpus" >"$out" 2>&1; then
        n=$(sed -n 's/^replay: \([0-9]*\) inputs$/\1/p' "$out")
        echo "ok - replay $t ($n inputs)"
    else
        rc=$?
        echo "not ok - replay $t: exit $rc; last input and report:"
        grep -v '^replay: [0-9]* inputs$' "$out" | tail -n 30 | sed 's/^/#   /'
        status=1
    fi
done
if [ "$n_targets" -eq 0 ]; then
    echo "not ok - replay: no fuzz targets in $src/tests/fuzz"
    status=1
fi
exit "$status"
