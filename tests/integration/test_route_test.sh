#!/usr/bin/env bash
# test_route_test.sh - meldnetctl route test prints, for each example report, the topics the
# default rules give it and the rule behind each, what each bound partner would receive, and
# changes nothing.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_partner police police police.acute=full 'hotline.*=pseudonymous' || mn_bail "partner"

declare -A want=(
    [criminal-drugs-consent-refused]="care.den-haag hotline.den-haag"
    [financial-veilig-thuis]="hotline.oost-nederland"
    [forced-begging-anonymous-citizen]="hotline.amsterdam"
    [labour-horticulture-inspectorate]="shelter.coordination hotline.den-haag"
    [minor-grooming-youth-care]="care.rotterdam research.online hotline.rotterdam"
    [minor-loverboy-acute]="police.acute care.midden-nederland shelter.coordination hotline.midden-nederland"
    [minor-sextortion-online]="care.amsterdam research.online hotline.amsterdam"
    [organ-removal-victim-self]="shelter.coordination hotline.rotterdam"
)
for name in "${!want[@]}"; do
    mn_run mn_ctl route test "$MN_SRCDIR/examples/$name.json"
    got=$(grep -E '^topic ' "$MN_OUT" | awk '{print $2}' | sort | tr '\n' ' ')
    exp=$(tr ' ' '\n' <<<"${want[$name]}" | sort | tr '\n' ' ')
    check_eq "route test $name: topics" "$exp" "$got"
done
mn_run mn_ctl route test "$MN_SRCDIR/examples/minor-loverboy-acute.json"
check "the acute topic names its rule" grep -qE '^topic police.acute +rule=acute' "$MN_OUT"
check "it shows the police referral, in full" grep -qE '^partner police .*sharing=full' "$MN_OUT"
check "with the victim's identity (consent given)" grep -q 'Lotte Verbeek-Zwanenburg' "$MN_OUT"
mn_run mn_ctl route test "$MN_SRCDIR/examples/criminal-drugs-consent-refused.json"
check "without consent the police would get a pseudonymous referral" \
    grep -qE '^partner police .*sharing=pseudonymous' "$MN_OUT"
check_fails "and no victim name" grep -q 'Smits-Hoogendoorn' "$MN_OUT"
check_fails "route test changes nothing: no store was made" test -e "$MN_GWHOME/data/data.mdb"
mn_finish
