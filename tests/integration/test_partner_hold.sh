#!/usr/bin/env bash
# test_partner_hold.sh - a report that matches no route is held as unrouted and listed; a
# partner that nacks an item three times sees it moved to its hold queue; releasing it delivers
# it again; an acute one on hold raises the alarm. A gateway killed during dispatch loses no item
# of any registered report.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
# Only the acute rule: every other report matches no route.
cat >>"$MN_GWHOME/gateway.conf" <<'CONF'

routes = (
    { name = "acute"; when = { acute = true; }; emit = [ "police.acute" ];
      overrides_consent = true; }
);
CONF
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
mn_stop "$refusing"
tag=$(mn_ctl hold list | grep -E "police .*$acute" | awk '{print $2}')
check "the held item has a tag" test -n "$tag"
check "an operator releases it" mn_ctl hold release police "$tag"
check_no_match "it is no longer held" "police .*$acute" mn_ctl hold list
mn_start_partner police
check "after the release it is delivered again" \
    mn_wait_until 30 test -e "$MN_TMP/out-police/$acute.json"

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
    mn_wait_until 30 mn_files_ge police $((1 + 15 * k))
    mn_crash_gateway
    mn_start_gateway "$MN_GWHOME" || mn_bail "gateway restarts"
done
mn_wait_exit "$agent" 120
check_eq "the agent delivered all its reports" 0 "$?"
total=$(mn_ctl registry count)
check_eq "all 62 reports are registered once" 62 "$total"
check "every acute registration reaches the police after the crashes" \
    mn_wait_until 60 mn_files_ge police $((total - 1))
check_eq "and none twice" "$((total - 1))" "$(mn_files police)"
mn_finish
