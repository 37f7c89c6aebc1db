#!/usr/bin/env bash
# test_unknown_key.sh - an agent whose key is not configured gets nothing through: no receipt,
# nothing stored, the refused handshake counted and logged without content. Adding the agent
# and reloading (SIGHUP) lets it in without a restart.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
ex=$MN_SRCDIR/examples

# A full agent home whose key the gateway does not know.
mn__quiet "$MN_BIN/meldnet-agent" keygen outsider --home "$MN_TMP/agents/outsider" \
    --gateway "$MN_ENDPOINT" --gateway-key "$MN_GWHOME/keys/gateway.pub" || mn_bail "keygen"
check_exit "an unconfigured agent gets no receipt (exit 3: queued, not acknowledged)" 3 \
    mn_agent outsider submit "$ex/minor-grooming-youth-care.json" --wait 3
check_exit "a raw client with an unknown key gets no reply at all" 3 \
    mn_rawsend outsider valid --report "$ex/minor-grooming-youth-care.json" --timeout-ms 2000
check_eq "nothing is registered" 0 "$(mn_ctl registry count)"
check "the refused handshakes are counted" mn_wait_until 5 mn_status_ge handshakes_refused 1
check "the refusal is logged" mn_log_has "$MN_GW_LOG" 'handshake refused cause=unknown_key'
check_fails "the log holds no report content" grep -q 'Femke\|grooming' "$MN_GW_LOG"

line=$(cat "$MN_TMP/agents/outsider/keys/agent.pub")
mn_agent_add outsider "$line" --region amsterdam || mn_bail "agent add"
kill -HUP "$MN_GW_PID"
check "SIGHUP reloads the agents" mn_wait_until 5 mn_status_ge reloads 1
check "after the reload the agent delivers its queued report" \
    mn_agent outsider run --until-empty --max-seconds 30
check_match "its spool shows it acknowledged" '^queued=0 acknowledged=1 ' mn_agent outsider status
check_eq "and registered once" 1 "$(mn_ctl registry count)"
mn_finish
