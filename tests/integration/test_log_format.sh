#!/usr/bin/env bash
# test_log_format.sh - logs are one event per line with level, time, component and key=value
# fields; with --log-format json every line is one JSON object with those members, including
# a refused handshake (cause, peer, key fingerprint) and a rejected envelope; never content.
# The agent's run and the partner's listen take the same option.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police '*=full' || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" --log-format json || mn_bail "gateway starts"
report=$MN_SRCDIR/examples/labour-horticulture-inspectorate.json
# json_lines FILE: every line of FILE is one JSON object with time, level, component and msg first
json_lines() {
    ! grep -qvE '^\{"time":"[^"]+","level":"[a-z]+","component":"[a-z]+","msg":.*\}$' "$1"
}

check_match "a report is accepted" '^receipt status=accepted ' mn_rawsend hotline valid \
    --report "$report"
check_match "a broken signature is refused" 'reason=BAD_SIGNATURE' \
    mn_rawsend hotline bad-signature --report "$report"
mn__quiet "$MN_BIN/meldnet-agent" keygen outsider --home "$MN_TMP/agents/outsider" \
    --gateway "$MN_ENDPOINT" --gateway-key "$MN_GWHOME/keys/gateway.pub" || mn_bail "keygen"
check_exit "an unknown key gets no reply" 3 mn_rawsend outsider valid --report "$report" \
    --timeout-ms 1500
check "the refused handshake is logged as JSON with cause, peer and key" mn_wait_until 5 \
    mn_log_has "$MN_GW_LOG" '^\{"time":"[0-9T:.-]+Z","level":"warn","component":"auth",.*"cause":"unknown_key".*"peer":"127\.0\.0\.1".*"key":"[^"]+"'
check "the rejected envelope is logged as JSON with its reason" \
    mn_log_has "$MN_GW_LOG" '"component":"ingest".*"reason":"BAD_SIGNATURE"'
curve=$(grep -oE 'curve=[A-Za-z0-9_-]+' "$MN_TMP/agents/outsider/keys/agent.pub" | cut -d= -f2)
check "the unknown key is logged as its public line writes it (curve=), to find whose it is" \
    mn_log_has "$MN_GW_LOG" "\"cause\":\"unknown_key\".*\"curve\":\"${curve:-none}\""

# The agent and the partner, in JSON too: one object per line, from start to stop.
mn__quiet mn_agent hotline submit "$report" --wait 0 || mn_bail "submit"
check "the agent's run delivers with --log-format json" \
    mn_agent hotline run --until-empty --max-seconds 20 --log-format json
check "the agent's log says it started, as JSON" grep -qE \
    '^\{"time":"[^"]+","level":"notice","component":"agent","msg":"started",.*"name":"hotline"' \
    "$MN_ERR"
agent_log=$MN_ERR
mn_start_partner police --log-format json
partner=$MN_LAST_PID
check "the partner stores the referral" mn_wait_until 20 mn_files_ge police 1
mn_stop "$partner" >/dev/null
check "the partner's log names the delivery, as JSON" grep -qE \
    '^\{"time":"[^"]+","level":"[a-z]+","component":"[a-z]+",.*"registration":"MN-[0-9]+"' \
    "$MN_LOGS/partner-police.log"
check "the partner's start line keeps its words in msg and its fields whole" grep -qE \
    '"msg":"started","name":"police","gateway":"tcp://[^"]+","topics":"\(all bound\)","credit":16,"out":"' \
    "$MN_LOGS/partner-police.log"
for who in agent partner; do
    if [ "$who" = agent ]; then log=$agent_log; else log=$MN_LOGS/partner-police.log; fi
    grep -v '^--- ' "$log" >"$MN_TMP/$who-lines.log"
    check "every line the $who wrote is one JSON object" \
        json_lines "$MN_TMP/$who-lines.log"
done
check_exit "an unknown format is a usage error for the agent" 2 \
    mn_agent hotline run --log-format yaml
check_exit "and for the partner" 2 mn_partner police listen --out "$MN_TMP/x" --log-format yaml
mn_stop_gateway >/dev/null
# Lines this gateway wrote (the log file also has lib.sh's "--- start" marker lines).
grep -v '^--- ' "$MN_GW_LOG" >"$MN_TMP/gw-lines.log"
check "every line the gateway wrote is one JSON object" \
    json_lines "$MN_TMP/gw-lines.log"
check "no report content in the log" \
    sh -c '! grep -qi "paspoort\|uitzendbureau\|kassencomplex" "$1"' _ "$MN_GW_LOG"

# Text format: level, time, component and key=value fields on one line.
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway restarts"
check "the text format: time, level, component, message, key=value fields" mn_wait_until 5 \
    mn_log_has "$MN_GW_LOG" '^[0-9-]+T[0-9:.]+Z notice gateway: listening endpoint=tcp://[^ ]+ agents=1 '

check_exit "an unknown format is a usage error" 2 "$MN_BIN/meldnet-gateway" --home "$MN_GWHOME" \
    --log-format yaml
mn_finish
