#!/usr/bin/env bash
# test_rate_limit.sh - a flooding agent is rate-limited (retryable RATE_LIMITED, counted) while
# two other agents keep being served: all their reports get receipts.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
sed -i -e 's/^\( *\)agent_rate_per_s = .*/\1agent_rate_per_s = 50;/' \
    -e 's/^\( *\)agent_burst = .*/\1agent_burst = 50;/' "$MN_GWHOME/gateway.conf"
mn_new_agent flood amsterdam || mn_bail "agent flood"
mn_new_agent school rotterdam || mn_bail "agent school"
mn_new_agent district utrecht || mn_bail "agent district"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

mn_spawn flood "$MN_BIN/mn-rawsend" --endpoint "$MN_ENDPOINT" \
    --key "$MN_TMP/agents/flood/keys/agent.key" --gateway-key "$MN_GWHOME/keys/gateway.pub" \
    --mode valid --report "$MN_SRCDIR/examples/minor-sextortion-online.json" --unique \
    --count 3000 --window 64 --timeout-ms 30000
flood=$MN_LAST_PID
check "the flood is being refused" mn_wait_until 20 mn_status_ge RATE_LIMITED 100

for a in school district; do
    for i in $(seq 1 10); do
        sed "s/\"narrative\": \"/\"narrative\": \"[$a #$i] /" \
            "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" >"$MN_TMP/$a.json"
        mn__quiet mn_agent "$a" submit "$MN_TMP/$a.json" --wait 20
    done
    check_match "agent $a got a receipt for each of its 10 reports" \
        '^queued=0 acknowledged=10 ' mn_agent "$a" status
done
mn_wait_exit "$flood" 60
check "the flooding agent was told RATE_LIMITED (retryable)" \
    grep -qE 'rejected=[1-9][0-9]*' "$MN_LOGS/flood.log"
check "the gateway is still running" mn_is_running "$MN_GW_PID"
mn_finish
