#!/usr/bin/env bash
# test_no_cleartext.sh - after every example report went through, no victim name (nor any other
# identifying text from the reports) is found in the gateway's data files — registry, dedup and
# the partner queues, which hold a full referral for an offline partner — its logs or the
# agent's spool files.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent hotline"
# Bound to everything in full and never started: every referral stays queued on disk.
mn_new_partner police police '*=full' || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" --log-level debug || mn_bail "gateway starts"

n=0
for report in "$MN_SRCDIR"/examples/*.json; do
    n=$((n + 1))
    check_match "$(basename "$report") is accepted" '^(accepted|duplicate) registration=' \
        mn_agent hotline submit "$report" --wait 20
done
check_eq "every example is registered" "$n" "$(mn_ctl registry count)"
check_match "and queued for the offline partner" "^police $n item" mn_ctl queue list
mn_stop_gateway

# Distinctive identifying strings: every victim and contact name, phone numbers, e-mail
# addresses and online handles in the examples.
mapfile -t needles < <(grep -hoE '"(name|phone|email)": "[^"]{6,}"' "$MN_SRCDIR"/examples/*.json |
    sed -E 's/^"[a-z]+": "(.*)"$/\1/' | sort -u)
mapfile -t -O "${#needles[@]}" needles < <(grep -hoE '"[a-z]+:[@A-Za-z0-9._]{6,}"' \
    "$MN_SRCDIR"/examples/*.json | tr -d '"' | sort -u)
check "there are names to look for" test "${#needles[@]}" -ge 10
places=("$MN_GWHOME/data" "$MN_GWHOME/run" "$MN_TMP/agents/hotline/spool" "$MN_LOGS")
found=""
for s in "${needles[@]}"; do
    if grep -rqaF -- "$s" "${places[@]}"; then
        found="$found $s;"
    fi
done
check_eq "no identifying string in gateway data, status, logs or agent spool" "" "$found"
mn_finish
