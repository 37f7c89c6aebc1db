#!/usr/bin/env bash
# test_metrics.sh - /metrics after a known workload: 50 accepted, 5 duplicates, 3 rejected by
# reason, and the queue of an offline partner; promtool accepts the exposition; /healthz and
# /readyz answer; no report content in any label or in the status page.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police 'hotline.*=pseudonymous' || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
report=$MN_SRCDIR/examples/labour-horticulture-inspectorate.json
metrics=$MN_TMP/metrics.txt

scrape() { curl -fsS --max-time 5 "http://$MN_METRICS/metrics" -o "$metrics"; }
# has LINE: the exposition has exactly this line (after a fresh scrape)
has() { scrape && grep -qxF "$1" "$metrics"; }

check "/healthz says ok" mn_wait_until 5 curl -fsS --max-time 5 "http://$MN_METRICS/healthz"
check "/readyz says ready once the first snapshot is out" \
    mn_wait_until 5 curl -fsS --max-time 5 "http://$MN_METRICS/readyz"

check_match "49 distinct reports are accepted" "accepted=49 " \
    mn_rawsend hotline valid --report "$report" --unique --count 49 --window 16
# Six times the same report: the first is new, the other five are duplicates by content.
six=$(mn_rawsend hotline valid --report "$report" --count 6)
check_eq "the same report six times: one accepted, five duplicates" "1 5" \
    "$(grep -c '^receipt status=accepted ' <<<"$six") $(grep -c '^receipt status=duplicate ' <<<"$six")"
check_match "a broken signature is refused" 'reason=BAD_SIGNATURE' \
    mn_rawsend hotline bad-signature --report "$report" --count 2
check_match "garbage is refused" 'reason=MALFORMED' mn_rawsend hotline garbage

# The counts are read from the gateway's once-a-second snapshot: each is waited for, as one
# snapshot can hold the accepts and not yet the refusals sent after them.
check "accepted: 50" mn_wait_until 5 has 'meldnet_envelopes_accepted_total 50'
check "duplicates: 5" mn_wait_until 5 has 'meldnet_envelopes_duplicate_total 5'
check "rejected by reason: BAD_SIGNATURE 2" \
    mn_wait_until 5 has 'meldnet_envelopes_rejected_total{reason="BAD_SIGNATURE"} 2'
check "rejected by reason: MALFORMED 1" \
    mn_wait_until 5 has 'meldnet_envelopes_rejected_total{reason="MALFORMED"} 1'
check "reasons that did not happen are 0, not missing" \
    has 'meldnet_envelopes_rejected_total{reason="TOO_LARGE"} 0'
check "the offline partner's queue holds all 50" \
    mn_wait_until 5 has 'meldnet_partner_queue_depth{partner="police"} 50'
check "it is not connected" has 'meldnet_partner_connected{partner="police"} 0'
check "its oldest item has an age above 0" awk '$1 == "meldnet_partner_oldest_item_age_seconds{partner=\"police\"}" && $2 > 0 { ok = 1 } END { exit !ok }' "$metrics"
check "the agent's last-seen time is there" \
    grep -qE '^meldnet_agent_last_seen_timestamp_seconds\{agent="hotline"\} [0-9.e+]+$' "$metrics"
check "ack latency is a histogram with every receipt counted (50 + 5)" \
    mn_wait_until 5 has 'meldnet_ack_latency_seconds_count 55'
check "its +Inf bucket equals the count" has 'meldnet_ack_latency_seconds_bucket{le="+Inf"} 55'
check_match "commit batch sizes are a histogram" '^meldnet_commit_batch_envelopes_count [1-9]' \
    cat "$metrics"
check_match "the store's size is in bytes" '^meldnet_store_used_bytes [1-9]' cat "$metrics"
check_match "process start time" '^meldnet_process_start_time_seconds [1-9]' cat "$metrics"
check "every family has HELP and TYPE" \
    test "$(grep -c '^# HELP ' "$metrics")" -eq "$(grep -c '^# TYPE ' "$metrics")"
check "promtool check metrics accepts it" sh -c 'promtool check metrics < "$1"' _ "$metrics"

check "no report content in the metrics" sh -c '! grep -qi "paspoort\|uitzendbureau\|kassencomplex" "$1"' _ "$metrics"
curl -fsS --max-time 5 "http://$MN_METRICS/" -o "$MN_TMP/page.html"
check "the status page names the partner" grep -q 'police' "$MN_TMP/page.html"
check "no report content on the status page" sh -c '! grep -qi "paspoort\|uitzendbureau\|kassencomplex" "$1"' _ \
    "$MN_TMP/page.html"
check_match "an unknown path is 404" '^404$' \
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 "http://$MN_METRICS/nope"
check_match "meldnetctl queues shows the depth" 'police.* 50 ' mn_ctl queues
mn_finish
