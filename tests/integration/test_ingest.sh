#!/usr/bin/env bash
# test_ingest.sh - a submitted report gets an ACCEPTED receipt the agent verified and is
# registered once; a retransmitted envelope and the same content under a new id both get
# DUPLICATE with the same registration number; a receipt that does not verify is not trusted.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent school-utrecht midden-nederland || mn_bail "agent school-utrecht"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

ex=$MN_SRCDIR/examples
check_match "a report is accepted with a registration number" \
    '^accepted registration=MN-00000001 id=[0-9a-f]{32}$' \
    mn_agent school-utrecht submit "$ex/minor-loverboy-acute.json" --wait 20
check_match "the agent said queued before it was acknowledged" '^queued seq=1 id=' cat "$MN_OUT"
check_eq "the registry holds one registration" 1 "$(mn_ctl registry count)"
check_match "the agent's spool marks it acknowledged with that number" \
    'state=acknowledged.*registration=MN-00000001' mn_agent school-utrecht status
check_match "the record opens with the registry's secret key and holds the report" \
    'Lotte Verbeek-Zwanenburg' \
    mn_ctl registry show 1 --registry-key "$MN_GWHOME/registry-secret/registry.key"
mn_new_identity stranger-registry
check_fails "the record does not open with another key" \
    mn_ctl registry show 1 --registry-key "$MN_TMP/agents/stranger-registry/keys/agent.key"

check_match "the same report submitted again with a new id is a duplicate of the first" \
    '^duplicate registration=MN-00000001 ' \
    mn_agent school-utrecht submit "$ex/minor-loverboy-acute.json" --wait 20
check_eq "still one registration" 1 "$(mn_ctl registry count)"

mn_run mn_rawsend school-utrecht resend --report "$ex/minor-sextortion-online.json"
check_match "a new report sent raw is accepted with a verified receipt" \
    '^receipt status=accepted registration=MN-00000002 verified=yes' cat "$MN_OUT"
check_match "the same envelope sent again gets DUPLICATE with the same number" \
    '^receipt status=duplicate registration=MN-00000002 verified=yes' cat "$MN_OUT"
check_eq "two registrations in all" 2 "$(mn_ctl registry count)"
mn_wait_until 5 mn_status_ge duplicates 2
check_eq "the gateway counted two duplicates and two acceptances" "2 2" \
    "$(mn_json_get "$MN_GWHOME/run/status.json" duplicates) $(mn_json_get "$MN_GWHOME/run/status.json" accepted)"

# An agent whose copy of the gateway's signing key is wrong must not accept receipts: the
# transport still works (CURVE and box keys are right), only the receipt signature fails.
mn_new_agent forged-view midden-nederland || mn_bail "agent forged-view"
mn__quiet "$MN_BIN/meldnetctl" keygen --role gateway --name gateway --out "$MN_TMP/othergw"
other_sign=$(grep -oE 'sign=[A-Za-z0-9_-]+' "$MN_TMP/othergw/gateway.pub")
sed -i -E "s/sign=[A-Za-z0-9_-]+/$other_sign/" "$MN_TMP/agents/forged-view/keys/gateway.pub"
check_exit "a receipt that does not verify leaves the report queued (exit 3)" 3 \
    mn_agent forged-view submit "$ex/financial-veilig-thuis.json" --wait 5
check_match "and its spool still holds it as queued" '^queued=1 ' mn_agent forged-view status

mn_stop_gateway
check_eq "the gateway stops cleanly on SIGTERM" 0 "$MN_RC"
check_match "its last status says stopped" '"state": "stopped"' cat "$MN_GWHOME/run/status.json"
mn_finish
