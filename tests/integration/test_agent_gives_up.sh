#!/usr/bin/env bash
# test_agent_gives_up.sh - meldnet-agent run does not give up: a spool it cannot write (full
# disk) makes it say so, wait and go on, losing nothing; a report the gateway refuses for good
# stays in the spool as refused, with words on what to do, and run --until-empty says so in
# its exit status until the refused copy is forgotten.
#
# The full disk is real: the agent runs under a file size limit (prlimit --fsize, the soft
# limit only) below its spool's size, so every write of the spool fails in the kernel (EFBIG, as
# ENOSPC would); raising the limit of the running agent is the space coming back. This needs no
# mount and no privilege, so it works in any container.
# The refusal is real too: a report sealed with an outdated copy of the gateway's public line
# (another box key) cannot be opened by the gateway, which refuses it for good (CANNOT_OPEN).
. "$(dirname "$0")/lib.sh"
mn_setup
command -v prlimit >/dev/null || mn_bail "prlimit (util-linux) is not installed"
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline-den-haag haaglanden || mn_bail "agent"
home=$MN_TMP/agents/hotline-den-haag
template=$MN_SRCDIR/examples/labour-horticulture-inspectorate.json
queue() { # N: queue a distinct report without waiting
    sed "s/\"narrative\": \"/\"narrative\": \"[gives-up #$1] /" "$template" >"$MN_TMP/r.json"
    mn__quiet mn_agent hotline-den-haag submit "$MN_TMP/r.json" --wait 0
}
acknowledged() { mn_agent hotline-den-haag status | grep -qE "^queued=0 acknowledged=$1 "; }

# --- a full disk -------------------------------------------------------------------------------
for i in 1 2 3 4 5; do queue "$i" || mn_bail "queue report $i"; done
size=$(stat -c %s "$home/spool/data.mdb")
[ "$size" -gt 8192 ] || mn_bail "the spool has pages beyond its meta pages"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
# Soft limit at 8 KiB: every page the spool writes lies beyond it. The log file is not the
# agent's to grow past that either; it stays small (one line per retry).
mn_spawn agent-full prlimit --fsize=8192:unlimited -- \
    "$MN_BIN/meldnet-agent" run --until-empty --home "$home"
agent_pid=$MN_LAST_PID
agent_log=$MN_LAST_LOG
check "the agent says it cannot write the spool, with what to do" \
    mn_wait_until 60 mn_log_has "$agent_log" 'cannot write the spool: no room.*what_to_do="[^"]*free space'
check "it tries again, and again" mn_wait_until 60 mn_log_has "$agent_log" 'failures=2 '
check "and keeps running (it did not give up)" mn_is_running "$agent_pid"
check_match "nothing was lost meanwhile" '^queued=5 ' mn_agent hotline-den-haag status
check "space comes back (the limit is lifted)" \
    prlimit --pid "$agent_pid" --fsize=unlimited:unlimited
check "then all five are delivered" mn_wait_until 120 acknowledged 5
mn_wait_exit "$agent_pid" 60
check_eq "and run --until-empty ends with 0" 0 "$?"
check "it says when the spool could be written again" \
    mn_log_has "$agent_log" 'spool can be written again'
check_eq "each report registered once" 5 "$(mn_ctl registry count)"

check_fails "submit on a full disk fails" prlimit --fsize=8192:unlimited -- \
    "$MN_BIN/meldnet-agent" submit "$template" --wait 0 --home "$home"
check_match "... saying the disk is full and nothing queued is lost" \
    'hint: the disk that holds the spool is full.*Nothing queued is lost' cat "$MN_ERR"

# --- a report the gateway refuses for good ---------------------------------------------------
pub=$home/keys/gateway.pub
cp "$pub" "$MN_TMP/gateway.pub.good" || mn_bail "keep gateway.pub"
mn__quiet "$MN_BIN/meldnetctl" keygen --role gateway --name other --out "$MN_TMP/other" ||
    mn_bail "another gateway's keys"
other_box=$(grep -oE 'box=[A-Za-z0-9_-]+' "$MN_TMP/other/other.pub")
[ -n "$other_box" ] || mn_bail "read another box key"
sed -E "s/box=[A-Za-z0-9_-]+/$other_box/" "$MN_TMP/gateway.pub.good" >"$pub" ||
    mn_bail "an outdated gateway.pub"
queue 6 || mn_bail "queue the report sealed to an outdated key"
cp "$MN_TMP/gateway.pub.good" "$pub" || mn_bail "restore gateway.pub"
queue 7 || mn_bail "queue a good report after it"
refused_seq=$(mn_agent hotline-den-haag status | grep -oE '^seq=[0-9]+' | sed -n '6s/seq=//p')
[ -n "$refused_seq" ] || mn_bail "the seq of the sixth report"

mn_spawn agent-refused "$MN_BIN/meldnet-agent" run --until-empty --max-seconds 120 --home "$home"
mn_wait_exit "$MN_LAST_PID" 150
check_eq "run --until-empty exits 1 when the gateway refused a report" 1 "$?"
refused_log=$MN_LAST_LOG
check "the log says the gateway refused it, why and what to do, in plain words" \
    mn_log_has "$refused_log" "rejected seq=$refused_seq .*reason=CANNOT_OPEN.*the gateway refused this report: .*old copy of the gateway's key.*Fix that, then submit the report again.*meldnet-agent forget $refused_seq"
check "the good report after it is delivered" acknowledged 6
check_match "status keeps the refused report, with its reason" \
    "^seq=$refused_seq .*state=rejected .*reason=CANNOT_OPEN" mn_agent hotline-den-haag status
check_match "... and says what to do under it" \
    "^    Fix that, then submit the report again.*'meldnet-agent forget $refused_seq'" \
    mn_agent hotline-den-haag status
check_match "the summary counts it" '^queued=0 acknowledged=6 rejected=1' \
    mn_agent hotline-den-haag status
check_exit "the next run --until-empty still reports it" 1 \
    mn_agent hotline-den-haag run --until-empty --max-seconds 60
check_fails "forget refuses an acknowledged report" mn_agent hotline-den-haag forget 1
check_match "... saying why" 'hint: the gateway has it' cat "$MN_ERR"
check_fails "forget refuses a seq that is not there" mn_agent hotline-den-haag forget 999
check_exit "forget without a seq is a usage error" 2 mn_agent hotline-den-haag forget
check_match "forget removes the refused copy" "^forgot refused report seq=$refused_seq" \
    mn_agent hotline-den-haag forget "$refused_seq"
check_match "then the spool holds no refused report" '^queued=0 acknowledged=6 rejected=0' \
    mn_agent hotline-den-haag status
check_exit "and run --until-empty ends with 0 again" 0 \
    mn_agent hotline-den-haag run --until-empty --max-seconds 60
check_eq "six reports registered, the refused one not" 6 "$(mn_ctl registry count)"

sed -E "s/box=[A-Za-z0-9_-]+/$other_box/" "$MN_TMP/gateway.pub.good" >"$pub" ||
    mn_bail "an outdated gateway.pub again"
sed "s/\"narrative\": \"/\"narrative\": \"[gives-up #8] /" "$template" >"$MN_TMP/r.json"
check_exit "submit of a report the gateway refuses exits 1" 1 \
    mn_agent hotline-den-haag submit "$MN_TMP/r.json" --wait 60
check_match "... prints the refusal" '^rejected reason=CANNOT_OPEN ' cat "$MN_OUT"
check_match "... and says why" \
    "the gateway refused report seq=[0-9]+: .*old copy of the gateway's key" cat "$MN_ERR"
check_match "... and what to do" "submit the report again.*'meldnet-agent forget [0-9]+'" \
    cat "$MN_ERR"
cp "$MN_TMP/gateway.pub.good" "$pub" || mn_bail "restore gateway.pub"
mn_finish
