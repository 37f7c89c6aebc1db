#!/usr/bin/env bash
# test_hostile.sh - an envelope naming another agent, a bad signature, a body that does not
# open, an oversized frame, garbage, a wrong version, a bad id and an invalid report each get a
# Reject with the right reason code; the gateway keeps serving, counts them and registers nothing of them.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent alice amsterdam || mn_bail "agent alice"
mn_new_agent bob rotterdam || mn_bail "agent bob"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
report=$MN_SRCDIR/examples/labour-horticulture-inspectorate.json

expect_reject() { # DESC MODE REASON [ARGS...]
    local desc=$1 mode=$2 reason=$3
    shift 3
    check_match "$desc gets Reject $reason" "^reject reason=$reason retryable=0" \
        mn_rawsend alice "$mode" --report "$report" "$@"
}
expect_reject "an envelope naming another agent" agent-mismatch AGENT_MISMATCH --as-agent bob
expect_reject "a bad signature" bad-signature BAD_SIGNATURE
expect_reject "a body that does not open" bad-seal CANNOT_OPEN
expect_reject "an oversized frame" oversize TOO_LARGE
expect_reject "a frame that is not a message" garbage MALFORMED
expect_reject "another protocol version" bad-version UNSUPPORTED_VERSION
expect_reject "an id that is not 16 bytes" bad-id BAD_ID
expect_reject "a report that fails validation" invalid-report INVALID_REPORT
expect_reject "a sealed body that is not a report" undecodable-report INVALID_REPORT
check_match "the validation reject names the field" 'detail="[a-z_.]+(\[[0-9]+\])?[a-z_.]*: ' \
    mn_rawsend alice invalid-report --report "$report"

check "the gateway is still running" mn_is_running "$MN_GW_PID"
check_eq "nothing was registered" 0 "$(mn_ctl registry count)"
check_match "a valid envelope from the same agent is accepted afterwards" \
    '^receipt status=accepted registration=MN-00000001 verified=yes' \
    mn_rawsend alice valid --report "$report"
check_match "another agent is served too" '^accepted registration=MN-00000002 ' \
    mn_agent bob submit "$MN_SRCDIR/examples/forced-begging-anonymous-citizen.json" --wait 20
check "the rejects are counted" mn_wait_until 5 mn_status_ge rejected 10
for reason in AGENT_MISMATCH BAD_SIGNATURE CANNOT_OPEN TOO_LARGE MALFORMED UNSUPPORTED_VERSION \
    BAD_ID INVALID_REPORT; do
    check "rejects counted for $reason" mn_status_ge "$reason" 1
done
mn_finish
