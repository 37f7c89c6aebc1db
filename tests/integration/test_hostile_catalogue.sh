#!/usr/bin/env bash
# test_hostile_catalogue.sh - while a well-behaved agent sends 1,000 reports, another agent
# throws truncated frames, multi-frame messages, garbage protobuf with absurd field lengths and
# an envelope replayed from the good agent, and a crowd of TCP connections opens without ever
# finishing the handshake; mallory's clock is 40 days behind and then a day ahead, and a partner
# acks and nacks tags it was never given. Each hostile frame gets its reason code and is
# counted (the out-of-window timestamps are counted and accepted: created_ms is informative);
# every one of the good agent's reports is registered.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent good amsterdam || mn_bail "agent good"
mn_new_agent mallory rotterdam || mn_bail "agent mallory"
mn_new_partner research research research.online=pseudonymous || mn_bail "partner research"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
n=${MN_HOSTILE_GOOD_REPORTS:-1000}
report=$MN_SRCDIR/examples/minor-sextortion-online.json

# Half-open connections: TCP up, no ZMTP greeting, held open during the run.
fds=()
for _ in $(seq 1 100); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$MN_PORT" && fds+=("$fd")
done
check "100 connections that never finish the handshake are open" test "${#fds[@]}" -eq 100

mn_spawn good "$MN_BIN/mn-rawsend" --endpoint "$MN_ENDPOINT" \
    --key "$MN_TMP/agents/good/keys/agent.key" --gateway-key "$MN_GWHOME/keys/gateway.pub" \
    --mode valid --report "$report" --unique --count "$n" --window 16 --timeout-ms 60000
good=$MN_LAST_PID

expect_reject() { # DESC MODE REASON [ARGS...]
    local desc=$1 mode=$2 reason=$3
    shift 3
    check_match "$desc gets Reject $reason" "^reject reason=$reason " \
        mn_rawsend mallory "$mode" --report "$report" "$@"
}
for round in 1 2 3; do
    expect_reject "a truncated frame (round $round)" truncated MALFORMED
    expect_reject "a multi-frame message (round $round)" multi-frame MALFORMED
    expect_reject "protobuf claiming a 4 GiB field (round $round)" absurd-length MALFORMED
    expect_reject "an envelope replayed from another agent (round $round)" replay \
        AGENT_MISMATCH --other-key "$MN_TMP/agents/good/keys/agent.key"
    expect_reject "garbage (round $round)" garbage MALFORMED
    expect_reject "an oversized frame (round $round)" oversize TOO_LARGE
done
accepted='^receipt status=accepted registration=MN-[0-9]+ verified=yes$'
check_match "an envelope created 40 days ago is accepted (counted, not refused)" "$accepted" \
    mn_rawsend mallory valid --report "$report" --unique --created-offset-s -3456000
check_match "an envelope created a day ahead is accepted (counted, not refused)" "$accepted" \
    mn_rawsend mallory valid --report "$report" --unique --created-offset-s 86400
check "a partner answering tags it was never given, while the good agent sends" \
    "$MN_BIN/mn-rawpartner" --endpoint "$MN_DELIVERY_ENDPOINT" \
    --key "$MN_TMP/partners/research/keys/partner.key" \
    --gateway-key "$MN_GWHOME/keys/gateway.pub" --timeout-ms 20000 \
    --credit 1 --deliveries 1 --errors 2 --send ack:999999999 --send nack:999999998
check_eq "gets PartnerError UNKNOWN_TAG for each" 2 "$(grep -cE '^error code=UNKNOWN_TAG ' "$MN_OUT")"

mn_wait_exit "$good" 120
check_eq "the good agent's run ended well" 0 "$?"
check "all $n of its reports got a verified receipt" \
    grep -q "accepted=$n duplicate=0 rejected=0 unverified=0" "$MN_LOGS/good.log"
check_eq "and all are registered; of mallory's only the two with odd clocks" "$((n + 2))" \
    "$(mn_ctl registry count)"
for fd in "${fds[@]}"; do exec {fd}>&-; done
check "the gateway is still running" mn_is_running "$MN_GW_PID"
# status.json is a snapshot of once a second: wait for each count (one that reached its value
# early, like the rejects, says nothing about the snapshot holding the later ones).
check "the rejects are counted (18)" mn_wait_until 10 mn_status_ge rejected 18
check "MALFORMED counted for each" mn_wait_until 10 mn_status_ge MALFORMED 12
check "AGENT_MISMATCH counted" mn_wait_until 10 mn_status_ge AGENT_MISMATCH 3
check "the stale and the future timestamp are counted" \
    mn_wait_until 10 mn_status_ge timestamp_stale 1
check "(ahead)" mn_wait_until 10 mn_status_ge timestamp_ahead 1
check "the tags never given are counted" mn_wait_until 10 mn_status_ge partner_unknown_acks 2
check_match "a valid report still goes through afterwards" '^accepted registration=' \
    mn_agent good submit "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" --wait 20
mn_finish
