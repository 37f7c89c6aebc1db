#!/usr/bin/env bash
# test_readme_homes.sh - README's quick start keeps secret keys and referrals out of the
# repository: every home and output folder it names is under $W (a mktemp -d folder), and
# .gitignore covers the programs' default homes and the folder names it once used in the repo.
. "$(dirname "$0")/lib.sh"
mn_setup
readme=$MN_SRCDIR/README.md
# The shell blocks of the "Quick start by hand" section.
sed -n '/^## Quick start by hand/,/^## /p' "$readme" |
    awk '/^```/ {inside = !inside; next} inside' >"$MN_TMP/quickstart.sh"
check "the quick start has commands" test -s "$MN_TMP/quickstart.sh"
check "it makes its folder with mktemp -d" grep -qE '^W=\$\(mktemp -d\)' "$MN_TMP/quickstart.sh"
grep -oE -- '--(home|out|registry-key|gateway-key) [^ ]+' "$MN_TMP/quickstart.sh" |
    awk '{print $2}' >"$MN_TMP/paths"
check "it names homes and folders" test -s "$MN_TMP/paths"
check_no_match "every home, key and output folder is under \$W" '^[^$]|^\$[^W]' cat "$MN_TMP/paths"

if command -v git >/dev/null && git -C "$MN_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
    for p in meldnet-home/keys/gateway.key meldnet-agent-home/keys/agent.key \
        meldnet-partner-home/keys/partner.key gw/keys/gateway.key ag/spool/data.mdb \
        pol/keys/partner.key received/MN-00000001.json; do
        check ".gitignore covers $p" git -C "$MN_SRCDIR" check-ignore -q --no-index "$p"
    done
else
    ok "# skip: not a git checkout, .gitignore not checked"
fi
mn_finish
