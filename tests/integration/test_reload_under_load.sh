#!/usr/bin/env bash
# test_reload_under_load.sh - SIGHUP reloads (a partner added, then another) while reports
# stream in: the writer routes every batch with one consistent partner table, the gateway
# stays up, and every report is registered once and queued for the partners bound then.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
sed -i -e 's/^\( *\)agent_rate_per_s = .*/\1agent_rate_per_s = 0;/' "$MN_GWHOME/gateway.conf"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police 'hotline.*=pseudonymous' || mn_bail "partner police"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

n=4000
mn_spawn load "$MN_BIN/mn-rawsend" --endpoint "$MN_ENDPOINT" \
    --key "$MN_TMP/agents/hotline/keys/agent.key" --gateway-key "$MN_GWHOME/keys/gateway.pub" \
    --mode valid --report "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" --unique \
    --count "$n" --window 64 --timeout-ms 60000
load=$MN_LAST_PID
check "reports are streaming in" mn_wait_until 20 mn_status_ge accepted 200

# Reload every 50 ms while the writer works; bind one more partner halfway.
for i in $(seq 1 40); do
    [ "$i" = 20 ] && { mn_new_partner care care 'hotline.*=pseudonymous' || mn_bail "partner care"; }
    kill -HUP "$MN_GW_PID" 2>/dev/null || break
    sleep 0.05 # pacing the signals, not waiting for a result
done
check "the gateway reloaded again and again under load" mn_wait_until 5 mn_status_ge reloads 10
mn_wait_exit "$load" 120
check "every report got a receipt" grep -qE "accepted=$n .*rejected=0" "$MN_LOGS/load.log"
check_eq "each is registered once" "$n" "$(mn_ctl registry count)"
police_items() {
    mn_ctl queue list 2>/dev/null | awk '$1 == "police" { print $2 }'
}
check_eq "the police partner has an item for every report" "$n" "$(police_items)"
check "the gateway is still running" mn_is_running "$MN_GW_PID"
mn_finish
