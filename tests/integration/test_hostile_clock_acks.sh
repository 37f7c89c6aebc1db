#!/usr/bin/env bash
# test_hostile_clock_acks.sh - two more entries of the hostile-input catalogue.
# A partner that acks and nacks tags it was never given (made up, another partner's, one of its
# own not delivered yet) gets PartnerError UNKNOWN_TAG for each; each is counted
# (partner_unknown_acks) and logged, nothing in any queue changes, and the session goes on: its
# real deliveries still arrive and are acked. An ack repeated for an item acked already is
# harmless and gets no answer.
# An agent whose clock is 40 days behind, or a day ahead, still gets its reports accepted and
# registered (created_ms is informative); the gateway counts them (timestamp_stale,
# timestamp_ahead) and logs reason=STALE_TIMESTAMP / reason=CLOCK_AHEAD.
. "$(dirname "$0")/lib.sh"
mn_setup
for tool in mn-rawpartner mn-rawsend; do
    [ -x "$MN_BIN/$tool" ] || mn_bail "set-up: $MN_BIN/$tool is not built (make test-bins)"
done
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner research research research.online=pseudonymous || mn_bail "partner research"
mn_new_partner hotline-amsterdam hotline hotline.amsterdam=statistics ||
    mn_bail "partner hotline-amsterdam"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
ex=$MN_SRCDIR/examples
grooming=$ex/minor-grooming-youth-care.json       # routed to research.online only
begging=$ex/forced-begging-anonymous-citizen.json # routed to hotline.amsterdam only

# rawpartner NAME ARGS...: mn-rawpartner as partner NAME on the delivery endpoint.
rawpartner() {
    local name=$1
    shift
    "$MN_BIN/mn-rawpartner" --endpoint "$MN_DELIVERY_ENDPOINT" \
        --key "$MN_TMP/partners/$name/keys/partner.key" \
        --gateway-key "$MN_GWHOME/keys/gateway.pub" --timeout-ms 20000 "$@"
}
# submit FILE [ARGS...]: one new report (narrative made unique) from agent hotline.
submit() {
    local file=$1
    shift
    mn_rawsend hotline valid --report "$file" --unique --timeout-ms 20000 "$@"
}
accepted='^receipt status=accepted registration=MN-[0-9]+ verified=yes$'
# queued PARTNER N: meldnetctl queue list shows N items waiting for PARTNER.
queued() {
    mn_ctl queue list | grep -qE "^$1 $2 items? "
}

# --- acks and nacks of tags never given ---------------------------------------------------------
# Tags are given out in registration order, one per item: begging (hotline-amsterdam) first,
# then the two grooming reports (research): the second of them is the first one's tag + 1.
check_match "a report for hotline-amsterdam is accepted" "$accepted" submit "$begging"
check_match "a first report for research is accepted" "$accepted" submit "$grooming"
check_match "a second report for research is accepted" "$accepted" submit "$grooming"

check_match "hotline-amsterdam receives its delivery (and does not ack it)" \
    '^delivery tag=[0-9]+ .*verified=yes$' rawpartner hotline-amsterdam --no-ack
other=$(sed -nE 's/^delivery tag=([0-9]+) .*/\1/p' "$MN_OUT" | head -n 1)
[ -n "$other" ] || mn_bail "no tag in hotline-amsterdam's delivery"

# research: holds its first delivery (credit 1) and answers 4 tags it was never given, then acks
# the first delivery twice; the second report must still arrive, on the same session.
check "research takes two deliveries and four answers" \
    rawpartner research --credit 1 --deliveries 2 --errors 4 \
    --send nack:999999999 --send ack:999999999 --send "ack:$other" --send ack:first+1 \
    --send ack:first --send ack:first
out=$MN_TMP/research.out
cp "$MN_OUT" "$out"
first=$(sed -nE 's/^delivery tag=([0-9]+) .*/\1/p' "$out" | head -n 1)
[ -n "$first" ] || mn_bail "no first delivery for research"
check_eq "each tag never given got PartnerError UNKNOWN_TAG (4)" 4 \
    "$(grep -cE '^error code=UNKNOWN_TAG ' "$out")"
check_eq "and nothing else got an error (the repeated ack of an acked item is harmless)" 4 \
    "$(grep -cE '^error ' "$out")"
check_match "the answer names the message and the tag, nothing else" \
    '^error code=UNKNOWN_TAG detail="nack of tag 999999999: ' cat "$out"
check_match "another partner's tag is never given" \
    "^error code=UNKNOWN_TAG detail=\"ack of tag $other: " cat "$out"
check_match "neither is one of its own items not delivered yet" \
    "^error code=UNKNOWN_TAG detail=\"ack of tag $((first + 1)): " cat "$out"
check_match "the session went on: that item is delivered next, for the first time" \
    "^delivery tag=$((first + 1)) .*attempt=1 .*verified=yes$" cat "$out"
check_eq "after the four answers" "error error error error delivery" \
    "$(grep -oE '^(error|delivery)' "$out" | tail -n 5 | tr '\n' ' ' | sed 's/ $//')"

check "both research items are acked: its queue is empty" mn_wait_until 10 queued research 0
check "hotline-amsterdam's item is untouched: still queued" queued hotline-amsterdam 1
check_no_match "nothing was moved to a hold queue" '^(research|hotline-amsterdam) ' \
    mn_ctl hold list
check "the gateway counted two acks" mn_wait_until 10 mn_status_ge acks 2
st=$MN_GWHOME/run/status.json
check_eq "partner_unknown_acks counts the four" 4 "$(mn_json_get "$st" partner_unknown_acks)"
check_eq "the made-up nack is no nack of an item" 0 "$(mn_json_get "$st" nacks)"
check "each was a PartnerError sent" mn_status_ge partner_errors 4
check "logged with partner and tag" mn_log_has "$MN_GW_LOG" \
    'ack of a tag never given to the partner, ignored partner=research tag=999999999 reason=UNKNOWN_TAG'
check_no_match "the log names no report content" 'Grooming|grooming|narrative' cat "$MN_GW_LOG"
check "the gateway is still running" mn_is_running "$MN_GW_PID"

# --- created_ms out of the window --------------------------------------------------------------
before=$(mn_ctl registry count)
check_match "an envelope created 40 days ago is accepted" "$accepted" \
    submit "$grooming" --created-offset-s -3456000
check_match "an envelope created a day ahead is accepted" "$accepted" \
    submit "$grooming" --created-offset-s 86400
check_match "one 5 minutes ahead (within the allowed skew) is accepted" "$accepted" \
    submit "$grooming" --created-offset-s 300
check_eq "all three are registered" "$((before + 3))" "$(mn_ctl registry count)"
# The counters come from the writer; status.json is rewritten every few seconds.
check "the stale one is counted (timestamp_stale)" mn_wait_until 10 mn_status_ge timestamp_stale 1
check "the one a day ahead is counted (timestamp_ahead)" \
    mn_wait_until 10 mn_status_ge timestamp_ahead 1
check_eq "exactly one stale (reports with the right time are not)" 1 \
    "$(mn_json_get "$st" timestamp_stale)"
check_eq "exactly one ahead (within the skew is not)" 1 "$(mn_json_get "$st" timestamp_ahead)"
check "a warning says reason=STALE_TIMESTAMP" mn_log_has "$MN_GW_LOG" 'reason=STALE_TIMESTAMP'
check "a warning says reason=CLOCK_AHEAD" mn_log_has "$MN_GW_LOG" 'reason=CLOCK_AHEAD'
check_match "they are delivered like any other" '^delivery tag=[0-9]+ .*verified=yes$' \
    rawpartner research --deliveries 3
mn_finish
