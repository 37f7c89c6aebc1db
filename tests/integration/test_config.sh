#!/usr/bin/env bash
# test_config.sh - configuration and key checks: -n accepts a good home, names file:line and
# a suggestion for a misspelt setting, refuses a secret key others can read; every program
# answers --help.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"

check_match "meldnet-gateway -n accepts a fresh home" 'configuration OK' \
    "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
check_fails "meldnetctl init refuses to overwrite a home" \
    "$MN_BIN/meldnetctl" init --home "$MN_GWHOME"

cp "$MN_GWHOME/gateway.conf" "$MN_TMP/good.conf"
sed -i -E '0,/^[[:space:]]*batch_max/s/^([[:space:]]*)batch_max/\1batch_maks/' "$MN_GWHOME/gateway.conf"
mn_run "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
check_eq "a misspelt setting is an error (exit 1)" 1 "$MN_RC"
check "the error names file and line" grep -qE 'gateway\.conf:[0-9]+' "$MN_ERR"
check "the error suggests the right name" grep -q 'batch_max' "$MN_ERR"
cp "$MN_TMP/good.conf" "$MN_GWHOME/gateway.conf"

chmod 644 "$MN_GWHOME/keys/gateway.key"
mn_run "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
check_eq "a secret key readable by others is refused (exit 1)" 1 "$MN_RC"
check "the hint says chmod 600" grep -q 'chmod 600' "$MN_ERR"
chmod 600 "$MN_GWHOME/keys/gateway.key"

check_fails "meldnet-agent submit refuses an invalid report" \
    "$MN_BIN/meldnet-agent" submit "$MN_SRCDIR/examples/invalid/$(ls "$MN_SRCDIR/examples/invalid" | head -n 1)" \
    --home "$MN_TMP/none" --wait 0

for prog in meldnet-gateway meldnetctl meldnet-agent; do
    check_match "$prog --help prints usage" '[Uu]sage' "$MN_BIN/$prog" --help
done
check_exit "an unknown option is a usage error (exit 2)" 2 "$MN_BIN/meldnet-gateway" --bogus
mn_finish
