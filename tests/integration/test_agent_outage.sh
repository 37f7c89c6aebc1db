#!/usr/bin/env bash
# test_agent_outage.sh - meldnet-agent run keeps its spool through a gateway that is down for a
# while and through its own restart, then delivers everything, once.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent district-rotterdam rotterdam || mn_bail "agent"
template=$MN_SRCDIR/examples/labour-horticulture-inspectorate.json

queue() { # FROM TO
    local i
    for i in $(seq "$1" "$2"); do
        sed "s/\"narrative\": \"/\"narrative\": \"[outage #$i] /" "$template" >"$MN_TMP/r.json"
        mn__quiet mn_agent district-rotterdam submit "$MN_TMP/r.json" --wait 0 || return 1
    done
}
acknowledged() { mn_agent district-rotterdam status | grep -qE "^queued=0 acknowledged=$1 "; }

queue 1 5 || mn_bail "queue 5 reports"
check_match "five reports wait in the spool" '^queued=5 ' mn_agent district-rotterdam status
mn_spawn agent "$MN_BIN/meldnet-agent" run --home "$MN_TMP/agents/district-rotterdam"
agent_pid=$MN_LAST_PID
check "the agent tries while the gateway is down, and says so" \
    mn_wait_until 20 mn_log_has "$MN_LAST_LOG" 'gateway does not answer'
check_match "nothing was lost meanwhile" '^queued=5 ' mn_agent district-rotterdam status
check "and keeps running" mn_is_running "$agent_pid"

mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
check "when the gateway comes up, all five are delivered" mn_wait_until 90 acknowledged 5

mn_stop_gateway
mn_stop "$agent_pid"
check_eq "the agent stops cleanly on SIGTERM" 0 "$?"
queue 6 10 || mn_bail "queue 5 more"
mn_spawn agent-restarted "$MN_BIN/meldnet-agent" run --home "$MN_TMP/agents/district-rotterdam"
check "a restarted agent tries again while the gateway is still down" \
    mn_wait_until 20 mn_log_has "$MN_LAST_LOG" 'gateway does not answer'
check_match "its spool kept the five new reports" '^queued=5 acknowledged=5 ' \
    mn_agent district-rotterdam status
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway restarts"
check "all ten are delivered after both restarts" mn_wait_until 90 acknowledged 10
check_eq "each registered once" 10 "$(mn_ctl registry count)"
mn_finish
