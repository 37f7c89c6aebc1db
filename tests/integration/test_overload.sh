#!/usr/bin/env bash
# test_overload.sh - a saturated gateway refuses new envelopes with a retryable OVERLOADED
# instead of queueing without bound; a real agent caught in it backs off and still gets every
# report registered, once.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
# A tiny pipeline (16 envelopes in flight, one verify thread) and no rate limit: only the
# pipeline bound can refuse.
sed -i -e 's/^\( *\)inflight_max = .*/\1inflight_max = 16;/' \
    -e 's/^\( *\)workers = .*/\1workers = 1;/' \
    -e 's/^\( *\)agent_rate_per_s = .*/\1agent_rate_per_s = 0;/' "$MN_GWHOME/gateway.conf"
mn_new_agent flood1 amsterdam || mn_bail "agent flood1"
mn_new_agent flood2 amsterdam || mn_bail "agent flood2"
mn_new_agent school rotterdam || mn_bail "agent school"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

reports=40
for i in $(seq 1 "$reports"); do
    sed "s/\"narrative\": \"/\"narrative\": \"[school #$i] /" \
        "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" >"$MN_TMP/school.json"
    mn__quiet mn_agent school submit "$MN_TMP/school.json" --wait 0 || mn_bail "submit $i"
done

for f in flood1 flood2; do
    mn_spawn "$f" "$MN_BIN/mn-rawsend" --endpoint "$MN_ENDPOINT" \
        --key "$MN_TMP/agents/$f/keys/agent.key" --gateway-key "$MN_GWHOME/keys/gateway.pub" \
        --mode valid --report "$MN_SRCDIR/examples/minor-sextortion-online.json" --unique \
        --count 8000 --window 500 --timeout-ms 30000
    eval "pid_$f=\$MN_LAST_PID"
done
check "the saturated gateway answers OVERLOADED" mn_wait_until 30 mn_status_ge OVERLOADED 1
mn_spawn school "$MN_BIN/meldnet-agent" run --home "$MN_TMP/agents/school" --max-seconds 120
school=$MN_LAST_PID

# shellcheck disable=SC2154
mn_wait_exit "$pid_flood1" 120
# shellcheck disable=SC2154
mn_wait_exit "$pid_flood2" 120
check "the floods were refused in part" grep -qE 'rejected=[1-9]' "$MN_LOGS/flood1.log"
inflight_ok() {
    local v
    v=$(mn_json_get "$MN_GWHOME/run/status.json" inflight) && [ "$v" -le 16 ]
}
check "no more than inflight_max envelopes were in the pipeline at the last count" inflight_ok

school_done() {
    mn_agent school status 2>/dev/null | grep -qE "^queued=0 acknowledged=$reports "
}
check "the school's agent got a receipt for each of its $reports reports" \
    mn_wait_until 90 school_done
mn_stop "$school"
check "the agent backed off on OVERLOADED and sent again" \
    mn_log_has "$MN_LOGS/school.log" 'asks to retry .*reason=OVERLOADED'
dups() {
    [ "$(mn_json_get "$MN_GWHOME/run/status.json" duplicates)" = 0 ]
}
check "nothing was registered twice" dups
stages_counted() {
    local f=$MN_GWHOME/run/status.json
    grep -q '"verify_open"' "$f" && grep -q '"acknowledge"' "$f" && mn_status_ge items "$reports"
}
check "status.json shows each stage's cost and count" mn_wait_until 5 stages_counted
check "the gateway is still running" mn_is_running "$MN_GW_PID"
mn_finish
