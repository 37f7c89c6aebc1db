#!/usr/bin/env bash
# test_acute_unrouted.sh - an acute report whose police.acute no partner is bound to is an
# alarm: an error in the log (no report content), meldnet_acute_unrouted_total, a red line on
# the status page and an ALARM line on `meldnetctl status`. A report that is not acute does not
# count. `meldnet-gateway -n` warns (exit 0) while nobody is bound to police.acute, and is quiet
# once a police partner is.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
# A hotline partner only: every report reaches somebody, the acute one not the police.
mn_new_partner hotline hotline 'hotline.*=pseudonymous' || mn_bail "partner"

check_exit "-n with nobody bound to police.acute still passes" 0 \
    "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
check_match "but warns: acute reports would wait unrouted, and says what to do" \
    'warn config: no partner is bound to the acute topic.*unrouted.*topic=police\.acute.*partner add .*--bind police\.acute=full' \
    cat "$MN_ERR"

mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
metrics=$MN_TMP/metrics.txt
page=$MN_TMP/page.html
scrape() { curl -fsS --max-time 5 "http://$MN_METRICS/metrics" -o "$metrics"; }
has() { scrape && grep -qxF "$1" "$metrics"; }
page_has() { curl -fsS --max-time 5 "http://$MN_METRICS/" -o "$page" && grep -qE -- "$1" "$page"; }

check_match "a report that is not acute is accepted" 'registration=MN-' \
    mn_agent hotline submit "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" --wait 20
check "the snapshot has it" mn_wait_until 5 mn_status_ge accepted 1
check "and does not count as acute unrouted" has 'meldnet_acute_unrouted_total 0'
check_no_match "the status page shows no alarm" 'id="acute-unrouted"' \
    curl -fsS --max-time 5 "http://$MN_METRICS/"

check_match "an acute report is accepted" 'registration=MN-' \
    mn_agent hotline submit "$MN_SRCDIR/examples/minor-loverboy-acute.json" --wait 20
acute=$(grep -oE 'registration=MN-[0-9]+' "$MN_OUT" | cut -d= -f2)
check "it has a registration number" test -n "$acute"
check "the gateway logs an error naming registration, topic and rule, and what to do" \
    mn_wait_until 5 mn_log_has "$MN_GW_LOG" \
    " err route: acute report reached no partner.*registration=$acute topic=police\.acute rule=acute: bind a partner.*--bind.*hold release unrouted $acute"
check "the log holds no report content" \
    sh -c '! grep -qi "leerling\|verzuimt\|loverboy" "$1"' _ "$MN_GW_LOG"
check "/metrics counts it" mn_wait_until 5 has 'meldnet_acute_unrouted_total 1'
check "a counter with HELP" grep -qxF '# TYPE meldnet_acute_unrouted_total counter' "$metrics"
check "status.json counts it" mn_status_ge acute_unrouted 1
check "the status page shows the alarm in red" \
    mn_wait_until 5 page_has '<div class="alarm" id="acute-unrouted"[^>]*>ALARM: 1 acute report '
check_match "meldnetctl status shows the alarm" \
    'ALARM: 1 acute report reached no partner.*hold release unrouted' mn_ctl status
check_match "and the count" '(^|  )acute_unrouted 1($|  )' mn_ctl status
check_match "the report waits unrouted" "$acute.*police\.acute" mn_ctl hold list

# The same report again is a duplicate: no second alarm.
check_match "the acute report again is a duplicate" 'duplicate' \
    mn_agent hotline submit "$MN_SRCDIR/examples/minor-loverboy-acute.json" --wait 20
check "the snapshot has it" mn_wait_until 5 mn_status_ge duplicates 1
check "still one" has 'meldnet_acute_unrouted_total 1'

mn_stop_gateway || mn_bail "gateway stops"
mn_new_partner police police police.acute=full || mn_bail "police partner"
check_exit "-n with a police partner passes" 0 "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
check_no_match "without the warning" 'acute topic' cat "$MN_ERR"
mn_finish
