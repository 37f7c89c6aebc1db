#!/usr/bin/env bash
# test_partner_routing.sh - each partner receives exactly the referrals its bindings name, and
# never one it is not bound to, even when it asks; consent refused to the police and to the
# registry keeps identifying fields out, says so, and keeps one pseudonym per victim.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police police.acute=full hotline.den-haag=full || mn_bail "police"
mn_new_partner care-rotterdam care care.rotterdam=full shelter.coordination=pseudonymous ||
    mn_bail "care"
mn_new_partner research research research.online=pseudonymous || mn_bail "research"
mn_new_partner hotline-amsterdam hotline hotline.amsterdam=statistics || mn_bail "hotline"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

# Submit every example; remember its registration number by name.
declare -A reg
for f in "$MN_SRCDIR"/examples/*.json; do
    name=$(basename "$f" .json)
    mn_run mn_agent hotline submit "$f" --wait 20
    reg[$name]=$(grep -oE 'registration=MN-[0-9]+' "$MN_OUT" | head -n 1 | cut -d= -f2)
    [ -n "${reg[$name]}" ] || mn_bail "submit $name: $(cat "$MN_OUT" "$MN_ERR")"
done
# A second report about the consent-refused victim (other words, same person).
sed 's/"narrative": "/"narrative": "Tweede melding. /' \
    "$MN_SRCDIR/examples/criminal-drugs-consent-refused.json" >"$MN_TMP/second.json"
mn_run mn_agent hotline submit "$MN_TMP/second.json" --wait 20
reg[second]=$(grep -oE 'registration=MN-[0-9]+' "$MN_OUT" | cut -d= -f2)

declare -A ppid
for p in police care-rotterdam research hotline-amsterdam; do
    mn_start_partner "$p"
    ppid[$p]=$MN_LAST_PID
done
expect() { # PARTNER NAME... : the exact set of files it must end with
    local p=$1 want got
    shift
    want=$(for n in "$@"; do echo "${reg[$n]}.json"; done | sort | tr '\n' ' ')
    mn_wait_until 30 mn_files_ge "$p" "$#"
    got=$(ls "$MN_TMP/out-$p" | sort | tr '\n' ' ')
    check_eq "$p received exactly the referrals its bindings name" "$want" "$got"
}
expect police minor-loverboy-acute criminal-drugs-consent-refused \
    labour-horticulture-inspectorate second
expect care-rotterdam minor-grooming-youth-care labour-horticulture-inspectorate \
    minor-loverboy-acute organ-removal-victim-self
expect research minor-grooming-youth-care minor-sextortion-online
expect hotline-amsterdam forced-begging-anonymous-citizen minor-sextortion-online
check "nothing is left queued for any partner" \
    mn_wait_until 10 bash -c "! '$MN_BIN/meldnetctl' queue list --home '$MN_GWHOME' | grep -qE ' [1-9][0-9]* item'"
check_match "topics nobody is bound to are held as unrouted" 'hotline\.oost-nederland' \
    mn_ctl hold list

mn_stop "${ppid[research]}"
mn_run mn_partner research listen --out "$MN_TMP/sneaky" --topics police.acute --max-seconds 10
check_eq "a partner asking for a topic it is not bound to is refused (exit 1)" 1 "$MN_RC"
check "the refusal names the bound topics" grep -q 'research.online' "$MN_OUT" "$MN_ERR"
check_eq "and it received nothing" 0 "$(ls "$MN_TMP/sneaky" 2>/dev/null | wc -l)"

# Consent to share with the police refused: a downgraded police referral.
police_file=$MN_TMP/out-police/${reg[criminal-drugs-consent-refused]}.json
check_no_match "police referral without consent holds no victim name, birth date or phone" \
    'Jayden|Smits-Hoogendoorn|2009-02-14|\+31 70 000 3356|Bram Hoogeveen' cat "$police_file"
check_match "it is pseudonymous" '"sharing": "pseudonymous"' cat "$police_file"
check_match "and says it withheld the victim's name" '"field": "victim.name"' cat "$police_file"
check_match "and the reporter's contact" '"field": "reporter.contact' cat "$police_file"
acute_file=$MN_TMP/out-police/${reg[minor-loverboy-acute]}.json
check_match "the acute referral with consent goes to the police in full" \
    'Lotte Verbeek-Zwanenburg' cat "$acute_file"
check_match "and carries the police's victim pseudonym (full links to pseudonymous)" \
    '"victim_pseudonym": "[0-9a-f]{32}"' cat "$acute_file"
check_match "a statistics binding gets figures, no report" '"figures"' \
    cat "$MN_TMP/out-hotline-amsterdam/${reg[forced-begging-anonymous-citizen]}.json"
check_no_match "and no narrative" '"narrative"' \
    cat "$MN_TMP/out-hotline-amsterdam/${reg[forced-begging-anonymous-citizen]}.json"
check_no_match "and no victim pseudonym" '"victim_pseudonym"' \
    cat "$MN_TMP/out-hotline-amsterdam/${reg[minor-sextortion-online]}.json"

# Register identity refused: the registry's own record is pseudonymised, one pseudonym a victim.
key=$MN_GWHOME/registry-secret/registry.key
mn_run mn_ctl registry show "${reg[criminal-drugs-consent-refused]}" --registry-key "$key"
cp "$MN_OUT" "$MN_TMP/rec1.json"
mn_run mn_ctl registry show "${reg[second]}" --registry-key "$key"
cp "$MN_OUT" "$MN_TMP/rec2.json"
check_no_match "without consent the registry record holds no identifying field" \
    'Jayden|Smits-Hoogendoorn|2009-02-14|\+31 70 000 3356|Bram Hoogeveen' cat "$MN_TMP/rec1.json"
p1=$(grep -oE '"victim_pseudonym": "[0-9a-f]+"' "$MN_TMP/rec1.json")
p2=$(grep -oE '"victim_pseudonym": "[0-9a-f]+"' "$MN_TMP/rec2.json")
check "the record carries a victim pseudonym" test -n "$p1"
check_eq "two reports about the same victim share one registry pseudonym" "$p1" "$p2"
pp=$(grep -oE '"victim_pseudonym": "[0-9a-f]+"' "$police_file")
check "the police pseudonym differs from the registry's" test "$pp" != "$p1"
mn_finish
