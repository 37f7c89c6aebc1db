#!/usr/bin/env bash
# test_store_ledger.sh - a registration number is never given twice, so partners (who
# deduplicate by number) lose no report when the gateway's store is emptied, missing, or
# restored from an older copy. The gateway refuses to start and says what to do; `meldnetctl
# store new` / `store continue` go on after the highest number given; every report reaches the
# partner. With the ledger lost as well, a number given again reaches the partner as another
# report, not as a duplicate.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police 'hotline.*=pseudonymous' || mn_bail "partner"
report=$MN_SRCDIR/examples/labour-horticulture-inspectorate.json
data=$MN_GWHOME/data

send() { # N: N new reports, all accepted
    mn_rawsend hotline valid --report "$report" --unique --count "$1" --window 8 \
        --timeout-ms 30000 >/dev/null
}
start_refused() { # DESC ERE: the gateway exits 1 at once, its message matches ERE
    mn_run "$MN_BIN/meldnet-gateway" --home "$MN_GWHOME"
    check_eq "$1: the gateway refuses to start" 1 "$MN_RC"
    check "$1: the message says what happened and what to do" \
        bash -c 'tr "\n" " " <"$1" | grep -Eq "$2"' _ "$MN_ERR" "$2"
}

mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
mn_start_partner police
check "three reports are registered" send 3
check "the partner writes all three" mn_wait_until 30 mn_files_ge police 3
check "the ledger is kept outside the store, private" \
    test "$(stat -c %a "$MN_GWHOME/registrations.ledger")" = 600
check_match "store status: the ledger and the store agree" '^the gateway starts with them' \
    mn_ctl store status
mn_stop_gateway || mn_bail "gateway stops"

# 1. An emptied store.
: >"$data/data.mdb"
start_refused "an emptied store" 'missing or empty.*MN-00000003.*store continue.*store new'
mn_run "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
check_eq "meldnet-gateway -n says so too" 1 "$MN_RC"
check_fails "store status says the gateway would not start" mn_ctl store status
check_match "store new starts an empty store after MN-00000003" 'next registration number is MN-00000004' \
    mn_ctl store new
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts with the new store"
check "three more reports are registered" send 3
check "the partner writes all six: none taken for a duplicate" mn_wait_until 30 mn_files_ge police 6
check_eq "the new ones are MN-00000004 .. 6" "MN-00000004.json MN-00000005.json MN-00000006.json" \
    "$(cd "$MN_TMP/out-police" && ls MN-0000000[4-6].json | tr '\n' ' ' | sed 's/ $//')"
mn_stop_gateway || mn_bail "gateway stops"

# 2. A missing store (the data folder moved away), then put back.
mv "$data" "$data.away"
start_refused "a missing store" 'missing or empty.*MN-00000006'
check_match "store continue needs a store to continue with" 'no store to continue with' \
    bash -c '"$0" store continue --home "$1" 2>&1; [ $? -eq 1 ]' "$MN_BIN/meldnetctl" "$MN_GWHOME"
rm -rf "$data"
mv "$data.away" "$data"
check_match "put back, the store agrees with the ledger again" '^the gateway starts with them' \
    mn_ctl store status

# 3. A store restored from an older copy.
cp -a "$data" "$MN_TMP/backup"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
check "three reports after the backup" send 3
check "the partner writes them (nine)" mn_wait_until 30 mn_files_ge police 9
mn_stop_gateway || mn_bail "gateway stops"
rm -rf "$data"
cp -a "$MN_TMP/backup" "$data"
start_refused "a restored older copy" 'older.*MN-00000006.*MN-00000009.*store continue'
check_match "store continue goes on after MN-00000009" 'next registration number is MN-00000010' \
    mn_ctl store continue
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts with the restored store"
check "three more reports are registered" send 3
check "the partner writes all twelve" mn_wait_until 30 mn_files_ge police 12
check_eq "MN-00000010 .. 12 are new files" 3 \
    "$(ls "$MN_TMP/out-police" | grep -cE '^MN-0000001[0-2]\.json$')"
mn_stop_gateway || mn_bail "gateway stops"

# 4. Another store put in the data folder.
mv "$data" "$MN_TMP/current"
cp -a "$MN_TMP/backup" "$data"
mn_run "$MN_BIN/meldnetctl" store new --home "$MN_GWHOME"
check_eq "store new refuses a data folder that holds a store" 1 "$MN_RC"
rm -rf "$data"
mkdir -p "$data"
check "store new in an empty folder" mn_ctl store new
rm -rf "$data"
mv "$MN_TMP/current" "$data"
start_refused "another store than the ledger's" 'another store.*store continue'
check "store continue takes it back" mn_ctl store continue
check_match "it goes on after everything given" 'numbered up to MN-00000012' mn_ctl store status

# 5. Store and ledger both lost, an old copy restored by hand: a number is given again, and
#    the partner keeps the new report beside the old one.
rm -rf "$data" "$MN_GWHOME/registrations.ledger"
cp -a "$MN_TMP/backup" "$data"
start_refused "a missing ledger" 'ledger is missing.*store continue'
check "store continue with the store alone" mn_ctl store continue
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
check "a report gets a number a partner already has" send 1
check "the partner keeps it beside the first (13 files)" mn_wait_until 30 mn_files_ge police 13
check_eq "as MN-00000007-<registration time>.json" 1 \
    "$(ls "$MN_TMP/out-police" | grep -cE '^MN-00000007-[0-9]+\.json$')"
check "and tells its operators" mn_wait_until 10 mn_log_has "$MN_LOGS/partner-police.log" \
    'gave a registration number again.*registration=MN-00000007'
mn_finish
