#!/usr/bin/env bash
# test_partner_hold.sh - a report that matches no route is held as unrouted and listed; a
# partner that nacks an item three times sees it moved to its hold queue; releasing it delivers
# it again; an acute one on hold raises the alarm. A gateway killed during dispatch loses no item
# of any registered report.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
# Only the acute rule: every other report matches no route.
mn_acute_routes_only
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police police.acute=full || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

mn_run mn_agent hotline submit "$MN_SRCDIR/examples/financial-veilig-thuis.json" --wait 20
plain=$(grep -oE 'registration=MN-[0-9]+' "$MN_OUT" | cut -d= -f2)
check_match "a report no rule matches is held as unrouted" "$plain.*no routing rule matched" \
    mn_ctl hold list

mn_run mn_agent hotline submit "$MN_SRCDIR/examples/minor-loverboy-acute.json" --wait 20
acute=$(grep -oE 'registration=MN-[0-9]+' "$MN_OUT" | cut -d= -f2)
mn_spawn partner-refusing "$MN_BIN/meldnet-partner" listen \
    --exec 'cat >/dev/null; echo "case system down" >&2; exit 1' --home "$MN_TMP/partners/police"
refusing=$MN_LAST_PID
held() { mn_ctl hold list | grep -qE "police .*$acute"; }
check "after three nacks the item is in the partner's hold queue" mn_wait_until 30 held
check "the gateway counted the nacks" mn_wait_until 5 mn_status_ge nacks 3
check_match "the held item shows its three refusals and the last reason" \
    "police .*$acute.*nacks=3.*command exited 1" mn_ctl hold list
check "an acute referral on hold raises the alarm: an error in the log" \
    mn_log_has "$MN_GW_LOG" ' err deliver: an ACUTE referral is held .*partner=police'
check "and a count operators alert on" mn_wait_until 5 mn_status_ge held_acute 1
check_match "meldnetctl status shows the alarm" 'ALARM: 1 acute referral went to a hold queue' \
    mn_ctl status
mn_stop "$refusing"
tag=$(mn_ctl hold list | grep -E "police .*$acute" | awk '{print $2}')
check "the held item has a tag" test -n "$tag"
check "an operator releases it" mn_ctl hold release police "$tag"
check_no_match "it is no longer held" "police .*$acute" mn_ctl hold list

# Several held items: released by tags (all of them or none), then by reason.
mn_spawn partner-refusing "$MN_BIN/meldnet-partner" listen \
    --exec 'cat >/dev/null; echo "case system down" >&2; exit 1' --home "$MN_TMP/partners/police"
refusing=$MN_LAST_PID
for i in 1 2; do
    sed "s/\"narrative\": \"/\"narrative\": \"[held #$i] /" \
        "$MN_SRCDIR/examples/minor-loverboy-acute.json" >"$MN_TMP/r.json"
    mn__quiet mn_agent hotline submit "$MN_TMP/r.json" --wait 20
done
held_n() { [ "$(mn_ctl hold list | grep -c '^police ')" -eq "$1" ]; }
check "the released item and two new ones are held" mn_wait_until 30 held_n 3
mn_stop "$refusing"
mn_ctl hold list >"$MN_TMP/held.txt" 2>/dev/null
tags=($(grep '^police ' "$MN_TMP/held.txt" | awk '{print $2}'))
check_fails "a release naming a tag that is not held releases nothing" \
    mn_ctl hold release police "${tags[0]}" 999999
check_match "it says which" 'no item 999999 in the hold queue of partner "police"' cat "$MN_ERR"
check "so all three are still held" held_n 3
check_match "an operator releases two by their tags at once (one named twice)" \
    '^released 2 held items' mn_ctl hold release police "${tags[0]}" "${tags[1]}" "${tags[0]}"
check "one is left" held_n 1
check_match "the rest by the reason they share" '^released 1 held item;' \
    mn_ctl hold release police --reason "command exited 1"
check "none is left" held_n 0
check_fails "--all with nothing held fails" mn_ctl hold release --all
check_match "saying there is nothing to release" 'no held item' cat "$MN_ERR"
mn_start_partner police
check "after the release it is delivered again" \
    mn_wait_until 30 test -e "$MN_TMP/out-police/$acute.json"
check "and so are the others released" mn_wait_until 30 mn_files_ge police 3

# Crash during dispatch: acute reports flow while the gateway is killed; every registration
# ends up with the partner.
for i in $(seq 1 60); do
    sed "s/\"narrative\": \"/\"narrative\": \"[crash #$i] /" \
        "$MN_SRCDIR/examples/minor-loverboy-acute.json" >"$MN_TMP/r.json"
    mn__quiet mn_agent hotline submit "$MN_TMP/r.json" --wait 0
done
mn_spawn agent "$MN_BIN/meldnet-agent" run --until-empty --max-seconds 120 \
    --home "$MN_TMP/agents/hotline"
agent=$MN_LAST_PID
for k in 1 2 3; do
    mn_wait_until 30 mn_files_ge police $((3 + 15 * k))
    mn_crash_gateway
    mn_start_gateway "$MN_GWHOME" || mn_bail "gateway restarts"
done
mn_wait_exit "$agent" 120
check_eq "the agent delivered all its reports" 0 "$?"
total=$(mn_ctl registry count)
check_eq "all 64 reports are registered once" 64 "$total"
check "every acute registration reaches the police after the crashes" \
    mn_wait_until 60 mn_files_ge police $((total - 1))
check_eq "and none twice" "$((total - 1))" "$(mn_files police)"
mn_finish
