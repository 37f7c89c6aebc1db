#!/usr/bin/env bash
# test_damaged_files.sh - a damaged gateway store or agent spool is a clear error with a hint in
# every program that opens it, never a crash; a lost spool is refused, not silently made anew.
#
# The corpus is made from a real store and spool: the real gateway registers three reports from
# the real agent, which then queues three more while the gateway is down. Each data.mdb is then
# cut (inside meta page 0, inside meta page 1, after the meta pages, inside and at the end of its
# data pages), zeroed (each meta page, and every other page in turn), emptied, or removed next to
# its lock.mdb. For every case, every program that opens the file must end with a status below
# 128, no "Assertion" and no sanitizer report; when it fails, it prints a hint. Damage the check
# must see (cuts, zeroed meta pages, empty, missing) must make every one of them fail. A zeroed
# page LMDB no longer uses (a free page) is no damage: the programs may work then.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline-utrecht utrecht || mn_bail "agent"
template=$MN_SRCDIR/examples/labour-horticulture-inspectorate.json
report() { # N: a distinct report in $MN_TMP/r.json
    sed "s/\"narrative\": \"/\"narrative\": \"[damaged #$1] /" "$template" >"$MN_TMP/r.json"
}

mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
for i in 1 2 3; do
    report "$i"
    mn__quiet mn_agent hotline-utrecht submit "$MN_TMP/r.json" --wait 60 ||
        mn_bail "report $i is accepted"
done
check_eq "three reports registered" 3 "$(mn_ctl registry count)"
mn_stop_gateway || mn_bail "gateway stops cleanly"
for i in 4 5 6; do
    report "$i"
    mn__quiet mn_agent hotline-utrecht submit "$MN_TMP/r.json" --wait 0 || mn_bail "queue $i"
done
check_match "three more wait in the spool" '^queued=3 acknowledged=3 ' \
    mn_agent hotline-utrecht status

pristine=$MN_TMP/pristine
mkdir -p "$pristine" || mn_bail "mkdir"
cp -a "$MN_GWHOME" "$pristine/gw" && cp -a "$MN_TMP/agents/hotline-utrecht" "$pristine/agent" ||
    mn_bail "keep pristine copies"
work=$MN_TMP/work
regkey=$work/gw/registry-secret/registry.key

# meta_u64 FILE OFFSET: a native (little-endian) u64 of FILE.
meta_u64() {
    od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '
}

# need FILE: the bytes the file's pages need: (last page + 1) * page size, from the meta with the
# higher txnid (page size at byte 40 of a meta page, last page at 136, txnid at 144).
need() {
    local f=$1 ps t0 t1 last
    ps=$(od -An -t u4 -j 40 -N 4 "$f" | tr -d ' ')
    t0=$(meta_u64 "$f" 144)
    t1=$(meta_u64 "$f" $((ps + 144)))
    if [ "$t1" -gt "$t0" ]; then last=$(meta_u64 "$f" $((ps + 136))); else last=$(meta_u64 "$f" 136); fi
    echo $(((last + 1) * ps))
}

# damage FILE CASE: cut-N (truncate to N bytes), zero-P (page P to zeros), empty, missing.
damage() {
    local f=$1
    case $2 in
        cut-*) truncate -s "${2#cut-}" "$f" ;;
        zero-*) dd if=/dev/zero of="$f" bs=4096 seek="${2#zero-}" count=1 conv=notrunc status=none ;;
        empty) : >"$f" ;;
        missing) rm -f "$f" ;;
    esac
}

# The cases for a data file of NEED bytes: first those the check must see, then the zeroed pages.
cases_for() {
    local need=$1 pages p
    pages=$((need / 4096))
    echo "cut-100 cut-4200 cut-8192 cut-$((need / 2 + 100)) cut-$((need - 4096)) cut-$((need - 1))"
    echo "zero-0 zero-1 empty missing"
    for ((p = 2; p < pages; p++)); do echo "zero-$p"; done
}
must_fail() { case $1 in zero-0 | zero-1 | cut-* | empty | missing) return 0 ;; esac; return 1; }

# One program run on a damaged file: "NAME=STATUS" into $verdicts; a problem into $problems.
# $clean: the statuses that mean the program worked (meldnet-agent run: 3, reports still queued).
clean=0
verdicts=
problems=
run_one() { # NAME MUST_FAIL CMD...
    local name=$1 mf=$2 out=$MN_TMP/one.out rc
    shift 2
    timeout 60 "$@" >"$out" 2>&1
    rc=$?
    judge "$name" "$mf" "$rc" "$out"
}
judge() { # NAME MUST_FAIL STATUS OUTPUT-FILE
    local name=$1 mf=$2 rc=$3 out=$4
    verdicts+=" $name=$rc"
    if [ "$rc" -ge 124 ]; then
        problems+=" $name:status-$rc"
    elif grep -qE 'Assertion|AddressSanitizer|LeakSanitizer|runtime error:' "$out"; then
        problems+=" $name:crash-report"
    elif [[ " $clean " != *" $rc "* ]] && ! grep -q 'hint: ' "$out"; then
        problems+=" $name:no-hint"
    elif [[ " $clean " == *" $rc "* ]] && [ "$mf" = 1 ]; then
        problems+=" $name:not-refused"
    fi
    cp "$out" "$MN_LOGS/last-$name.out" 2>/dev/null
    return 0
}

# The gateway on the damaged store: it refuses to start, or it starts and stops cleanly.
gateway_run() { # MUST_FAIL
    local home=$work/gw pid rc
    rm -f "$home/run/status.json"
    mn_spawn gateway-damaged "$MN_BIN/meldnet-gateway" --home "$home"
    pid=$MN_LAST_PID
    mn_wait_until 60 mn__gateway_up "$home" "$pid" >/dev/null 2>&1
    if mn_is_running "$pid"; then
        mn_stop "$pid" 20
    else
        mn_wait_exit "$pid" 20
    fi
    rc=$?
    tail -n 5 "$MN_LAST_LOG" >"$MN_TMP/gw.out"
    judge gateway "$1" "$rc" "$MN_TMP/gw.out"
}

fresh() {
    rm -rf "$work" && mkdir -p "$work" && cp -a "$pristine/gw" "$work/gw" &&
        cp -a "$pristine/agent" "$work/agent" || mn_bail "copy the pristine files"
}

# --- the gateway store -----------------------------------------------------------------------
store=data/data.mdb
store_need=$(need "$pristine/gw/$store")
[ "$store_need" -gt 16384 ] || mn_bail "the store's meta pages read back ($store_need bytes)"
for c in $(cases_for "$store_need"); do
    fresh
    damage "$work/gw/$store" "$c"
    mf=0
    must_fail "$c" && mf=1
    verdicts=
    problems=
    ctl=("$MN_BIN/meldnetctl" --home "$work/gw")
    run_one registry-count "$mf" "${ctl[@]}" registry count
    run_one registry-show "$mf" "${ctl[@]}" registry show MN-00000001 --registry-key "$regkey"
    run_one queue-list "$mf" "${ctl[@]}" queue list
    run_one hold-list "$mf" "${ctl[@]}" hold list
    run_one status 0 "${ctl[@]}" status
    run_one check-config 0 "$MN_BIN/meldnet-gateway" -n --home "$work/gw"
    gateway_run "$mf"
    if [ -z "$problems" ]; then
        ok "store $c: a clear error or a clean run everywhere ($verdicts )"
    else
        not_ok "store $c: $problems" "statuses:$verdicts" "last outputs in $MN_LOGS/last-*.out"
    fi
done

# --- the agent spool -------------------------------------------------------------------------
spool=spool/data.mdb
spool_need=$(need "$pristine/agent/$spool")
[ "$spool_need" -gt 16384 ] || mn_bail "the spool's meta pages read back ($spool_need bytes)"
report 7
for c in $(cases_for "$spool_need"); do
    fresh
    damage "$work/agent/$spool" "$c"
    mf=0
    must_fail "$c" && mf=1
    verdicts=
    problems=
    ag=("$MN_BIN/meldnet-agent")
    run_one status "$mf" "${ag[@]}" status --home "$work/agent"
    run_one submit "$mf" "${ag[@]}" submit "$MN_TMP/r.json" --wait 0 --home "$work/agent"
    # no gateway runs: an intact spool keeps its queue (exit 3 after the bound)
    clean="0 3"
    run_one run "$mf" "${ag[@]}" run --until-empty --max-seconds 2 --home "$work/agent"
    clean=0
    if [ -z "$problems" ]; then
        ok "spool $c: a clear error or a clean run everywhere ($verdicts )"
    else
        not_ok "spool $c: $problems" "statuses:$verdicts" "last outputs in $MN_LOGS/last-*.out"
    fi
done

# --- a lost spool is not made anew -----------------------------------------------------------
for c in empty missing; do
    fresh
    damage "$work/agent/$spool" "$c"
    check_fails "a spool whose data.mdb is $c is refused" \
        "$MN_BIN/meldnet-agent" status --home "$work/agent"
    check_match "... saying to restore it or to start an empty one on purpose" \
        'hint: restore the spool directory from a backup.*new-spool' cat "$MN_ERR"
    check_fails "... and stays refused (nothing was made)" \
        "$MN_BIN/meldnet-agent" submit "$MN_TMP/r.json" --wait 0 --home "$work/agent"
    check "new-spool starts an empty one on purpose" \
        "$MN_BIN/meldnet-agent" new-spool --home "$work/agent"
    check_match "which is empty and works" '^queued=0 acknowledged=0 rejected=0' \
        "$MN_BIN/meldnet-agent" status --home "$work/agent"
done
fresh
check_fails "new-spool leaves a spool with reports alone" \
    "$MN_BIN/meldnet-agent" new-spool --home "$work/agent"
check_match "... which still holds its reports" '^queued=3 acknowledged=3 ' \
    "$MN_BIN/meldnet-agent" status --home "$work/agent"
rm -rf "$work/agent/spool"
check_fails "a spool directory that is gone is refused too" \
    "$MN_BIN/meldnet-agent" status --home "$work/agent"
check "keygen makes the spool of a new home" test -s "$pristine/agent/$spool"
mn_finish
