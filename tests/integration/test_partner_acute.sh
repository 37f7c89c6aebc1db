#!/usr/bin/env bash
# test_partner_acute.sh - with 10,000 non-acute items queued for the police partner, an acute
# report submitted afterwards is delivered before the backlog drains.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
# One sender makes the whole backlog: no per-agent rate or in-flight limit here.
sed -i -e 's/^\( *\)agent_rate_per_s = .*/\1agent_rate_per_s = 0;/' \
    -e 's/^\( *\)agent_inflight_max = .*/\1agent_inflight_max = 1000;/' "$MN_GWHOME/gateway.conf"
mn_new_agent hotline landelijk || mn_bail "agent"
n=${MN_BACKLOG_REPORTS:-10000}
mn_new_partner police police police.acute=full 'hotline.*=pseudonymous' || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

check_match "$n non-acute reports are queued for the police" "accepted=$n " \
    mn_rawsend hotline valid --report "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" \
    --unique --count "$n" --window 128 --timeout-ms 120000
mn_start_partner police --credit 4
check "the partner is working through the backlog" mn_wait_until 30 mn_files_ge police 20

mn_run mn_agent hotline submit "$MN_SRCDIR/examples/minor-loverboy-acute.json" --wait 30
acute=$(grep -oE 'registration=MN-[0-9]+' "$MN_OUT" | cut -d= -f2)
check "the acute report is registered" test -n "$acute"
check "the acute referral arrives" mn_wait_until 60 test -e "$MN_TMP/out-police/$acute.json"
done_when_acute=$(mn_files police)
check "it arrived before the backlog drained ($done_when_acute of $((n + 1)) written)" \
    test "$done_when_acute" -lt "$n"
mn_finish
