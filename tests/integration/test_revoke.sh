#!/usr/bin/env bash
# test_revoke.sh - revoking an agent while it is connected: the gateway closes its open
# connection, its next connection is refused and counted (cause revoked_key), its next report
# gets no receipt and stays in its spool; adding it back lets it deliver what it spooled. The
# same for a partner: revoked, its session ends and its connection is closed. The --json
# listings show both as revoked. An idle agent (connected, nothing sent yet) is closed out too,
# and what it submits while revoked is kept and delivered once it is admitted again.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent district utrecht || mn_bail "agent"
mn_new_partner care care 'hotline.*=pseudonymous' || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
ex=$MN_SRCDIR/examples
metrics=$MN_TMP/metrics.txt
has() { curl -fsS --max-time 5 "http://$MN_METRICS/metrics" -o "$metrics" && grep -qxF "$1" "$metrics"; }
# metric_ge SERIES N: the series (name with labels, as printed) has a value >= N
metric_ge() {
    curl -fsS --max-time 5 "http://$MN_METRICS/metrics" -o "$metrics" &&
        awk -v s="$1" -v n="$2" '$1 == s && $2 + 0 >= n { found = 1 } END { exit !found }' "$metrics"
}
spooled() { mn_agent district status | grep -qE "^queued=$1 acknowledged=$2 "; }
# json_ok DESC FILTER CTL-ARGS...: `meldnetctl CTL-ARGS` prints JSON for which jq's FILTER is true
json_ok() {
    local desc=$1 filter=$2 out=$MN_TMP/listing.json
    shift 2
    mn_ctl "$@" >"$out" 2>/dev/null || echo 'null' >"$out"
    check "$desc" jq -e "$filter" "$out"
}

# The agent runs as a daemon, so its connection stays open.
mn_spawn agent-district "$MN_BIN/meldnet-agent" run --home "$MN_TMP/agents/district"
mn_agent district submit "$ex/labour-horticulture-inspectorate.json" --wait 0 >/dev/null
check "the connected agent's first report is acknowledged" mn_wait_until 20 spooled 0 1
check "it shows as connected" mn_wait_until 5 has 'meldnet_connected_agents 1'

check_match "meldnetctl agent revoke applies it to the running gateway" 'reloaded' \
    mn_ctl agent revoke district
check "the gateway closes the revoked agent's open connection" \
    mn_wait_until 10 mn_log_has "$MN_GW_LOG" 'party=district connections_closed=1'
check "its reconnection is refused and counted as revoked_key" \
    mn_wait_until 20 metric_ge 'meldnet_handshakes_refused_total{cause="revoked_key"}' 1
check "the refusal is logged with cause, peer and key" \
    mn_log_has "$MN_GW_LOG" 'handshake refused cause=revoked_key .*peer=127\.0\.0\.1.*key='
metric_ge 'meldnet_handshakes_refused_total{cause="revoked_key"}' 1
refused=$(awk '$1 == "meldnet_handshakes_refused_total{cause=\"revoked_key\"}" { print $2 }' "$metrics")
mn_agent district submit "$ex/minor-grooming-youth-care.json" --wait 0 >/dev/null
check "its next report gets no receipt: its next connection is refused too" \
    mn_wait_until 30 metric_ge 'meldnet_handshakes_refused_total{cause="revoked_key"}' $((refused + 1))
check "the report stays queued" spooled 1 1
check_eq "nothing more is registered" 1 "$(mn_ctl registry count)"
check_match "agent list shows it revoked" '^district .*revoked' mn_ctl agent list
json_ok "agent list --json shows it revoked, with the time" \
    '.[] | select(.name == "district") | .revoked == true and (.revoked_at | type) == "string"' \
    agent list --json
json_ok "agents --json shows its state as revoked" \
    '.[] | select(.name == "district") | .revoked == true and .state == "revoked"' agents --json

line=$(cat "$MN_TMP/agents/district/keys/agent.pub")
check_match "adding it back applies at once" 'reloaded' mn_ctl agent add district "$line" \
    --region utrecht
check "the agent delivers what it spooled" mn_wait_until 60 spooled 0 2
check_eq "both reports are registered" 2 "$(mn_ctl registry count)"

# An idle agent: connected (handshake done) but it has sent nothing, so no message names its
# connection. Revoked, its connection is closed all the same; what it submits while revoked
# stays queued (not rejected), and is delivered once it is added back. Another idle agent,
# whose connection is closed with it, reconnects by itself and loses nothing.
mn_new_agent idle utrecht || mn_bail "agent idle"
mn_new_agent bystander utrecht || mn_bail "agent bystander"
spool_is() { mn_agent "$1" status | grep -qE "^queued=$2 acknowledged=$3 rejected=$4\$"; }
connects() { [ "$(grep -c 'connected to the gateway' "$1")" -ge "$2" ]; }
mn_spawn agent-idle "$MN_BIN/meldnet-agent" run --home "$MN_TMP/agents/idle"
idle_log=$MN_LAST_LOG
mn_spawn agent-bystander "$MN_BIN/meldnet-agent" run --home "$MN_TMP/agents/bystander"
bystander_log=$MN_LAST_LOG
check "the idle agent's handshake is done" mn_wait_until 20 connects "$idle_log" 1
check "so is the other one's" mn_wait_until 20 connects "$bystander_log" 1
check_match "the idle agent is revoked" 'reloaded' mn_ctl agent revoke idle
check "the gateway closes its idle connection" \
    mn_wait_until 10 mn_log_has "$idle_log" 'gateway connection lost'
check "its reconnection is refused" \
    mn_wait_until 30 mn_log_has "$idle_log" "gateway refused this agent's key"
metric_ge 'meldnet_handshakes_refused_total{cause="revoked_key"}' 1
refused=$(awk '$1 == "meldnet_handshakes_refused_total{cause=\"revoked_key\"}" { print $2 }' \
    "$metrics")
mn_agent idle submit "$ex/criminal-drugs-consent-refused.json" --wait 0 >/dev/null
check "while revoked its next connection is refused too" \
    mn_wait_until 60 metric_ge 'meldnet_handshakes_refused_total{cause="revoked_key"}' \
    $((refused + 1))
check "the report it submitted while revoked stays queued, not rejected" spool_is idle 1 0 0
check "the other idle agent reconnected by itself" mn_wait_until 20 connects "$bystander_log" 2
mn_agent bystander submit "$ex/financial-veilig-thuis.json" --wait 0 >/dev/null
check "and delivers its report" mn_wait_until 30 spool_is bystander 0 1 0
line=$(cat "$MN_TMP/agents/idle/keys/agent.pub")
check_match "the idle agent is added back" 'reloaded' mn_ctl agent add idle "$line" \
    --region utrecht
check "what it submitted while revoked is delivered" mn_wait_until 60 spool_is idle 0 1 0
check_eq "and registered" 4 "$(mn_ctl registry count)"

# A partner: subscribed, then revoked.
mn_start_partner care
check "the partner subscribes" mn_wait_until 20 has 'meldnet_partner_connected{partner="care"} 1'
check_match "meldnetctl partner revoke applies it" 'reloaded' mn_ctl partner revoke care
check "its connection is closed" \
    mn_wait_until 10 mn_log_has "$MN_GW_LOG" 'party=care connections_closed=1'
check "it is no longer connected" mn_wait_until 10 has 'meldnet_partner_connected{partner="care"} 0'
check "the partner's reconnection is refused as revoked" \
    mn_wait_until 30 mn_log_has "$MN_GW_LOG" 'handshake refused cause=revoked_key .*party=care'
json_ok "partner list --json shows it revoked, with its bindings" \
    '.[] | select(.name == "care") | .revoked == true and .bindings[0].topic == "hotline.*"' \
    partner list --json
json_ok "queues --json shows its queue, revoked, from the running gateway" \
    '.state == "running" and (.partners[] | select(.name == "care") | .revoked == true)' \
    queues --json
mn_finish
