#!/usr/bin/env bash
# test_key_pairs.sh - a secret key whose public file next to it is another identity's is found
# at start (and by -n), not after every handshake or report has failed: the gateway's
# gateway.key against gateway.pub, an agent's agent.key against agent.pub (a signing key alone
# that differs too), a partner's partner.key against partner.pub.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police police.acute=full || mn_bail "partner"
check "the untouched home checks out" "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"

# Another gateway's home: its gateway.pub in place of ours.
"$MN_BIN/meldnetctl" init --home "$MN_TMP/other-gw" >>"$MN_LOGS/commands.log" 2>&1 ||
    mn_bail "a second gateway home"
cp "$MN_GWHOME/keys/gateway.pub" "$MN_TMP/gateway.pub.ours"
cp "$MN_TMP/other-gw/keys/gateway.pub" "$MN_GWHOME/keys/gateway.pub"
check_exit "gateway.pub of another gateway: -n fails" 1 \
    "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
check "  saying the key files do not belong together" \
    grep -q "the key files do not belong together: gateway.key was made for another gateway.pub" \
    "$MN_ERR"
check "  and what to do" grep -q "hint: restore both files from the same backup" "$MN_ERR"
check_exit "  and the gateway does not start" 1 \
    timeout 20 "$MN_BIN/meldnet-gateway" --home "$MN_GWHOME"
check "  for the same reason" grep -q "do not belong together" "$MN_ERR"
cp "$MN_TMP/gateway.pub.ours" "$MN_GWHOME/keys/gateway.pub"
check "gateway.pub restored: -n is content" "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"

# The agent's public line with another signing key (curve and box its own).
ag=$MN_TMP/agents/hotline
"$MN_BIN/meldnetctl" keygen --role agent --name hotline --out "$MN_TMP/other-agent" \
    >>"$MN_LOGS/commands.log" 2>&1 || mn_bail "a second agent identity"
other_sign=$(grep -oE 'sign=[^ ]+' "$MN_TMP/other-agent/hotline.pub")
cp "$ag/keys/agent.pub" "$MN_TMP/agent.pub.ours"
sed -E -i "s/sign=[^ ]+/$other_sign/" "$ag/keys/agent.pub"
check "  (the public line now differs only in its signing key)" \
    test "$(grep -oE 'curve=[^ ]+' "$ag/keys/agent.pub")" = \
    "$(grep -oE 'curve=[^ ]+' "$MN_TMP/agent.pub.ours")"
check_exit "agent.pub with another signing key: meldnet-agent submit fails" 1 \
    timeout 20 "$MN_BIN/meldnet-agent" submit "$MN_SRCDIR/examples/minor-loverboy-acute.json" \
    --home "$ag"
check "  naming the signing key and both files" \
    grep -qE "agent.key was made for another agent.pub \(its signing \(sign\) key differs" "$MN_ERR"
cp "$MN_TMP/agent.pub.ours" "$ag/keys/agent.pub"

# The partner's public file of another partner identity.
pt=$MN_TMP/partners/police
"$MN_BIN/meldnetctl" keygen --role partner --name police --out "$MN_TMP/other-partner" \
    >>"$MN_LOGS/commands.log" 2>&1 || mn_bail "a second partner identity"
cp "$MN_TMP/other-partner/police.pub" "$pt/keys/partner.pub"
check_exit "partner.pub of another identity: meldnet-partner listen fails at start" 1 \
    timeout 20 "$MN_BIN/meldnet-partner" listen --out "$MN_TMP/out-police" --home "$pt"
check "  saying the key files do not belong together" \
    grep -q "partner.key was made for another partner.pub" "$MN_ERR"
mn_finish
