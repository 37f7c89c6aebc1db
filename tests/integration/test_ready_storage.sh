#!/usr/bin/env bash
# test_ready_storage.sh - readiness includes storage: a gateway that refuses every report is not
# ready. With min_free_mb above the free space, -n and the start log warn, /readyz is 503 with
# the reason and meldnet_ready 0; ready again with room. With a store too small (map_size_mb
# 16) the commits fail once it is full: /readyz says so, meldnet_ready is 0, the store errors
# are throttled (a few lines, not one per batch), and with a larger map it is ready again.
. "$(dirname "$0")/lib.sh"
mn_setup
command -v curl >/dev/null || mn_bail "curl is not installed (scripts/deps.sh --check)"
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
conf=$MN_GWHOME/gateway.conf
set_conf() { sed -i "s/^\( *\)$1 = .*/\1$1 = $2;/" "$conf" && grep -qE "^ *$1 = $2;" "$conf"; }

# readyz CODE ERE: /readyz answers CODE with a line matching ERE.
readyz() {
    local code
    code=$(curl -s -o "$MN_TMP/readyz" -w '%{http_code}' --max-time 5 "http://$MN_METRICS/readyz")
    [ "$code" = "$1" ] && grep -qE -- "$2" "$MN_TMP/readyz"
}
# ready_metric V: /metrics says meldnet_ready V.
ready_metric() {
    curl -fsS --max-time 5 "http://$MN_METRICS/metrics" -o "$MN_TMP/metrics" &&
        grep -qx "meldnet_ready $1" "$MN_TMP/metrics"
}

# --- the free-space floor above the free space -----------------------------------------------
free_mb=$(df -Pm "$MN_GWHOME/data" | awk 'NR == 2 {print $4}')
floor=$((free_mb + 1024))
if [ "$floor" -gt 1048576 ]; then
    ok "# skip: $free_mb MB free, more than min_free_mb can be set above (1048576)"
else
    set_conf min_free_mb "$floor" || mn_bail "set-up: min_free_mb"
    check "-n with the floor above the free space: still a valid configuration" \
        "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
    check "  but it warns that every report would be refused" \
        grep -qE "free space is below min_free_mb.*min_free_mb=$floor" "$MN_ERR"
    mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
    check "the start log warns too" mn_wait_until 10 mn_log_has "$MN_GW_LOG" \
        "warn config: free space is below min_free_mb"
    check "/readyz is 503 and says free space is below min_free_mb" \
        mn_wait_until 10 readyz 503 "^storage: free space [0-9]+ MB is below min_free_mb $floor"
    check "meldnet_ready is 0" mn_wait_until 10 ready_metric 0
    check_match "a report is refused (retryable OVERLOADED)" 'reject reason=OVERLOADED' \
        mn_rawsend hotline valid --report "$MN_SRCDIR/examples/minor-loverboy-acute.json"
    mn_stop_gateway || not_ok "the gateway stops cleanly"
    set_conf min_free_mb 64 || mn_bail "set-up: min_free_mb back"
    mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts with room"
    check "with room, /readyz is 200 ready" mn_wait_until 10 readyz 200 '^ready$'
    check "  and meldnet_ready 1" mn_wait_until 10 ready_metric 1
    mn_stop_gateway || not_ok "the gateway stops cleanly"
fi

# --- commits failing: a store that is full ----------------------------------------------------
set_conf map_size_mb 16 && set_conf agent_rate_per_s 0 && set_conf agent_inflight_max 1000 ||
    mn_bail "set-up: a small store"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts with a 16 MB store"
check "ready before it is full" mn_wait_until 10 readyz 200 '^ready$'
# ~3,400 reports fill 16 MB; the rest are refused with STORE_FAILED (bounded: 8,000 at most).
# At most 16 in flight, so a batch holds at most 16 and the ~4,600 refusals are hundreds of
# failed batches however the writer's batches grow on a loaded machine (with 128 in flight a
# loaded machine made 7 batches of them).
mn_run mn_rawsend hotline valid --report "$MN_SRCDIR/examples/minor-loverboy-acute.json" \
    --unique --count 8000 --window 16 --timeout-ms 60000
check "filling the store: reports are refused once it is full" \
    grep -qE '^bulk .* accepted=[1-9][0-9]* .*rejected=[1-9]' "$MN_OUT"
check "/readyz is 503 and says the commits failed" \
    mn_wait_until 10 readyz 503 "^storage: the last commits to the store failed"
check "meldnet_ready is 0" mn_wait_until 10 ready_metric 0
failures=$(awk '$1 == "meldnet_commit_failures_total" {print $2}' "$MN_TMP/metrics")
lines=$(grep -c "err store: batch of [0-9]* not committed" "$MN_GW_LOG")
check "many batches failed (${failures:-?})" test "${failures:-0}" -gt 20
check "  but the store error is logged at most 6 times a minute ($lines lines)" \
    test "$lines" -ge 1 -a "$lines" -le 12
check "  and the line says how many batches failed in a row" \
    grep -qE "not committed failed_batches=[0-9]+: .*store is full: raise map_size_mb" "$MN_GW_LOG"
mn_stop_gateway || not_ok "the gateway stops cleanly"

set_conf map_size_mb 64 || mn_bail "set-up: a larger store"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts with a 64 MB store"
check_match "with a larger map a report is accepted again" 'receipt status=accepted' \
    mn_rawsend hotline valid --unique --report "$MN_SRCDIR/examples/minor-loverboy-acute.json"
check "/readyz is 200 ready again" mn_wait_until 10 readyz 200 '^ready$'
check "  and meldnet_ready 1" mn_wait_until 10 ready_metric 1
mn_finish
