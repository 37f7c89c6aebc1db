#!/usr/bin/env bash
# test_partner_offline.sh - a partner that is offline while 1,000 reports arrive receives all
# 1,000 after it connects, each once; a partner killed (SIGKILL) with deliveries unacked gets
# them again after its restart and writes no second file for any registration.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
n=${MN_OFFLINE_REPORTS:-1000}
mn_new_partner police police 'hotline.*=pseudonymous' || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

check_match "$n reports arrive while the partner is offline" "accepted=$n " \
    mn_rawsend hotline valid --report "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" \
    --unique --count "$n" --window 64 --timeout-ms 60000
check_eq "all $n are registered" "$n" "$(mn_ctl registry count)"

# First connection: a command that never finishes in time, so deliveries stay unacked; the
# partner is killed while they are in flight.
mn_spawn partner-stuck "$MN_BIN/meldnet-partner" listen --exec 'cat >/dev/null; sleep 2; exit 1' \
    --credit 8 --home "$MN_TMP/partners/police"
stuck=$MN_LAST_PID
check "deliveries reach the partner" mn_wait_until 20 mn_status_ge deliveries 8
mn_stop "$stuck" 5 KILL

mn_start_partner police --credit 32
check "after its restart the partner writes all $n referrals" mn_wait_until 180 mn_files_ge police "$n"
check_eq "one file per registration, none twice" "$n" "$(mn_files police)"
check_eq "no partial or temporary files are left" "$n" "$(ls -A "$MN_TMP/out-police" | wc -l)"
check "the unacked ones were delivered again (more deliveries than reports)" \
    mn_wait_until 5 mn_status_ge deliveries $((n + 8))
names=$(ls "$MN_TMP/out-police" | sed 's/\.json$//' | sort -u | wc -l)
check_eq "each registration number appears once" "$n" "$names"
mn_finish
