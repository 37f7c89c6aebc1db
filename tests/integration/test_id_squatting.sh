#!/usr/bin/env bash
# test_id_squatting.sh - an envelope id is its agent's own. Another agent that learns a pending
# id and registers other content under it first does not take the report's place: the real
# report is registered on its own. A resend of an id with other content is refused (ID_REUSED),
# and a copy of another agent's sealed report, re-signed, never answers with that agent's
# registration number.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent alice || mn_bail "agent alice"
mn_new_agent mallory || mn_bail "agent mallory"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
ex=$MN_SRCDIR/examples
pending=00112233445566778899aabbccddeeff
other=ffeeddccbbaa99887766554433221100

check_match "mallory registers its own report under alice's pending id" \
    '^receipt status=accepted registration=MN-00000001 verified=yes' \
    mn_rawsend mallory valid --id "$pending" --report "$ex/forced-begging-anonymous-citizen.json"
check_match "alice's report under that id is registered on its own, not answered as a duplicate" \
    '^receipt status=accepted registration=MN-00000002 verified=yes' \
    mn_rawsend alice valid --id "$pending" --report "$ex/minor-loverboy-acute.json"
check_match "alice sending it again gets its own registration back" \
    '^receipt status=duplicate registration=MN-00000002 verified=yes' \
    mn_rawsend alice valid --id "$pending" --report "$ex/minor-loverboy-acute.json"
check_match "mallory reusing its id for other content is refused with ID_REUSED" \
    '^reject reason=ID_REUSED retryable=0 ' \
    mn_rawsend mallory valid --id "$pending" --report "$ex/labour-horticulture-inspectorate.json"
check_match "alice's sealed report re-signed by mallory under the same id is refused" \
    '^reject reason=ID_REUSED retryable=0 ' \
    mn_rawsend mallory resign --other-key "$MN_TMP/agents/alice/keys/agent.key" \
    --id "$pending" --report "$ex/minor-loverboy-acute.json"
check_no_match "alice's sealed report re-signed by mallory under a new id does not name alice's registration" \
    'MN-00000002' \
    mn_rawsend mallory resign --other-key "$MN_TMP/agents/alice/keys/agent.key" \
    --id "$other" --report "$ex/minor-loverboy-acute.json"
check_match "mallory's own report under its id is still a duplicate of its first registration" \
    '^receipt status=duplicate registration=MN-00000001 verified=yes' \
    mn_rawsend mallory valid --id "$pending" --report "$ex/forced-begging-anonymous-citizen.json"
check_eq "three registrations: mallory's two and alice's" 3 "$(mn_ctl registry count)"
check "the refusals are counted as ID_REUSED" mn_wait_until 10 mn_status_ge ID_REUSED 2

# The real agent: a report whose id is refused is kept as refused, not registered elsewhere.
check_match "the agent's own submit still works" '^accepted registration=MN-00000004 ' \
    mn_agent alice submit "$ex/labour-horticulture-inspectorate.json" --wait 20
mn_finish
