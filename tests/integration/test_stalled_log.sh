#!/usr/bin/env bash
# test_stalled_log.sh - a log nobody reads does not stop handshakes (issue 10, item 11).
#
# The gateway's stderr is a FIFO that the test holds open and does not read, filled to the
# brim once the gateway is up: every write to it would block. New agents (and a raw client
# with a key nobody has) still complete or fail their handshakes, and the agents get their
# receipts; a partner that subscribes (a line the serving loop logs) gets its referral, and
# agents still get receipts after it. When somebody reads the FIFO again, what was queued comes
# out and nothing is left blocked: the gateway stops cleanly.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent alice || mn_bail "agent alice"
mn_new_agent bob || mn_bail "agent bob"
mn_new_identity stranger || mn_bail "identity stranger"
mn_new_partner police police police.acute=full || mn_bail "partner police"
report=$MN_SRCDIR/examples/minor-grooming-youth-care.json
fifo=$MN_TMP/stderr.fifo
mkfifo "$fifo" || mn_bail "set-up: mkfifo"
# Opened read-write: the FIFO has a reader (this shell), so writes do not fail, and nobody
# reads it, so once it is full they block.
exec 7<>"$fifo" || mn_bail "set-up: open the FIFO"

rm -f "$MN_GWHOME/run/status.json"
"$MN_BIN/meldnet-gateway" --home "$MN_GWHOME" >"$fifo" 2>&1 </dev/null &
MN_GW_PID=$!
MN_PIDS+=("$MN_GW_PID")
mn_wait_until "$MN_START_TIMEOUT" mn__gateway_up "$MN_GWHOME" "$MN_GW_PID" &&
    mn_is_running "$MN_GW_PID" || mn_bail "the gateway starts with its stderr on a FIFO"

# Fill the pipe: cat blocks once it is full, and timeout ends it.
timeout 3 cat /dev/zero >"$fifo" 2>/dev/null

check_match "alice connects and gets her receipt with the log stalled" \
    '^receipt status=accepted ' mn_rawsend alice valid --report "$report" --timeout-ms 10000
check_match "bob too, on a new connection" '^receipt status=(accepted|duplicate) ' \
    mn_rawsend bob valid --report "$MN_SRCDIR/examples/minor-loverboy-acute.json" \
    --timeout-ms 10000
check_exit "a key nobody has is still refused (no reply)" 3 \
    mn_rawsend stranger valid --report "$report" --timeout-ms 2000
check_match "and alice again after that refusal" '^receipt status=(accepted|duplicate) ' \
    mn_rawsend alice valid --report "$report" --timeout-ms 10000
check "the refusal is counted" mn_wait_until 10 mn_status_ge unknown_key 1
mn_start_partner police
check "a partner subscribes and gets the acute referral" mn_wait_until 20 mn_files_ge police 1
check_match "and an agent still gets a receipt after that" \
    '^receipt status=(accepted|duplicate) ' mn_rawsend alice valid \
    --report "$MN_SRCDIR/examples/minor-sextortion-online.json" --timeout-ms 10000

# Somebody reads the log again: the queued lines come out, and the gateway stops cleanly.
log=$MN_LOGS/reader.log
mn_spawn reader cat "$fifo"
exec 7>&-
check "the queued lines come out once the log is read" \
    mn_wait_until 20 mn_log_has "$log" 'handshake refused cause=unknown_key'
check "the admissions are logged" mn_log_has "$log" 'admitted peer=alice '
check "the subscription is logged" mn_log_has "$log" 'subscribed partner=police '
check_exit "the gateway stops cleanly" 0 mn_stop "$MN_GW_PID" 20
mn_finish
