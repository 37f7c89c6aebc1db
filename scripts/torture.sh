#!/usr/bin/env bash
# torture.sh - `make torture`: kill the gateway with SIGKILL at random moments, again and again,
# while three agents submit and two partners consume; restart it each time (and kill and restart
# a partner a few times). At the end, once the agents' spools are drained and the partners'
# queues are empty, check:
#   lost         every report queued has a receipt, every receipt names a registration in
#                1..registry count (else it counts as lost)
#   duplicated   no report registered twice (distinct reports queued == registry count), no two
#                receipts share a registration
#   undelivered  each partner's out dir holds exactly MN-00000001..count (every report routes to
#                both partners: `hotline.*` pseudonymous and `*` full)
#   store        `meldnetctl registry count` and `mdb_stat -a` (lmdb-utils, if installed) open
#                the store after a final SIGKILL
# and print one summary line; exit 0 only when all are zero.
#
# Uses the integration tests' helpers (tests/integration/lib.sh): TAP-like lines, tracked
# processes, waits with deadlines. Settings from the environment (defaults in brackets):
#   TORTURE_KILLS [30]          gateway SIGKILLs (at least this many)
#   TORTURE_PARTNER_KILLS [4]   partner SIGKILLs, spread over the gateway kills
#   TORTURE_UPTIME_MS [1500]    the gateway is killed 0..this many ms after it came up
#   TORTURE_REPORTS [800]       at most this many reports queued per agent (3 agents)
#   TORTURE_BURST [10]          each feeder queues 1..this many reports, then pauses
#   TORTURE_FEED_PAUSE [0.2]    the pause, seconds
#   TORTURE_DRAIN_SECONDS [150] deadline for spools and partner queues to drain at the end
#   TORTURE_MAX_SECONDS [270]   hard bound of the kill phase (and the agents' --max-seconds)
#   TORTURE_SEED [random]       seed of $RANDOM, printed, to repeat a run's choices
#   MN_KEEP [fail]              keep the temp dir (1 always, fail when something failed)
#   MN_BIN [build/bin]          the programs
# Run from the repository: scripts/torture.sh (make torture builds the programs first).

MN_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MN_BIN=${MN_BIN:-$MN_SRCDIR/${MN_BUILD:-build}/bin}
export MN_KEEP=${MN_KEEP:-fail}
. "$MN_SRCDIR/tests/integration/lib.sh"

KILLS=${TORTURE_KILLS:-30}
PKILLS=${TORTURE_PARTNER_KILLS:-4}
UPTIME_MS=${TORTURE_UPTIME_MS:-1500}
PER_AGENT=${TORTURE_REPORTS:-800}
BURST=${TORTURE_BURST:-10}
PAUSE=${TORTURE_FEED_PAUSE:-0.2}
DRAIN=${TORTURE_DRAIN_SECONDS:-150}
MAXSECS=${TORTURE_MAX_SECONDS:-270}
SEED=${TORTURE_SEED:-$$}
RANDOM=$SEED

for prog in meldnet-agent meldnet-partner; do
    [ -x "$MN_BIN/$prog" ] || { echo "torture: $MN_BIN/$prog is not built (make)" >&2; exit 1; }
done
mn_setup
started=$(date +%s)
echo "# torture: seed=$SEED kills=$KILLS partner_kills=$PKILLS reports<=$((PER_AGENT * 3))"

# --- set-up: gateway, 3 agents, 2 partners that both get every report -------------------------
agents=(district-utrecht school-amsterdam minors-hotline)
partners=(hotline-desk research-all)
mn_init_gateway || mn_bail "meldnetctl init"
for a in "${agents[@]}"; do mn_new_agent "$a" || mn_bail "agent $a"; done
# The default routes emit hotline.{region} for every report, so both partners get each one.
mn_new_partner hotline-desk hotline 'hotline.*=pseudonymous' || mn_bail "partner hotline-desk"
mn_new_partner research-all other '*=full' || mn_bail "partner research-all"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

declare -A ppid
for p in "${partners[@]}"; do
    mn_start_partner "$p"
    ppid[$p]=$MN_LAST_PID
done
declare -A apid
for a in "${agents[@]}"; do
    mn_spawn "agent-$a" "$MN_BIN/meldnet-agent" run --max-seconds "$((MAXSECS + DRAIN))" \
        --home "$MN_TMP/agents/$a"
    apid[$a]=$MN_LAST_PID
done

# --- feeders: distinct reports (the examples, round robin, with a numbered narrative) ----------
templates=("$MN_SRCDIR"/examples/*.json)
STOPFILE=$MN_TMP/stop-feeding
# feed AGENT SEED: queue up to PER_AGENT reports into AGENT's spool while `run` sends them, in
# random bursts, until STOPFILE appears; each queued report is one line of fed-AGENT.
feed() {
    RANDOM=$2
    local a=$1 i=0 n r f=$MN_TMP/feed-$1.json log=$MN_TMP/fed-$1
    : >"$log"
    while [ "$i" -lt "$PER_AGENT" ] && [ ! -e "$STOPFILE" ]; do
        for n in $(seq 1 $((1 + RANDOM % BURST))); do
            [ "$i" -lt "$PER_AGENT" ] || break
            i=$((i + 1))
            r=${templates[$((i % ${#templates[@]}))]}
            sed "s/\"narrative\": \"/\"narrative\": \"[torture $a #$i] /" "$r" >"$f"
            if "$MN_BIN/meldnet-agent" submit "$f" --wait 0 --home "$MN_TMP/agents/$a" \
                >/dev/null 2>>"$MN_LOGS/feed-$a.err"; then
                echo "$i" >>"$log"
            fi
        done
        sleep "$PAUSE"
    done
}
declare -A fpid
for a in "${agents[@]}"; do
    mn_spawn "feed-$a" feed "$a" $((SEED + ${#fpid[@]} + 1))
    fpid[$a]=$MN_LAST_PID
done

# --- the kill loop ----------------------------------------------------------------------------
kills=0
pkills=0
restart_fail=0
deadline=$(($(date +%s) + MAXSECS))
every=$((PKILLS > 0 ? (KILLS / (PKILLS + 1) > 0 ? KILLS / (PKILLS + 1) : 1) : 0))
for k in $(seq 1 "$KILLS"); do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "# kill phase hit TORTURE_MAX_SECONDS" >&2; break; }
    ms=$((RANDOM % (UPTIME_MS + 1)))
    [ $((RANDOM % 5)) -ne 0 ] || ms=$((RANDOM % 50)) # now and then right after start-up
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    mn_crash_gateway
    kills=$((kills + 1))
    if [ "$every" -gt 0 ] && [ "$pkills" -lt "$PKILLS" ] && [ $((k % every)) -eq 0 ]; then
        p=${partners[$((pkills % ${#partners[@]}))]}
        mn_stop "${ppid[$p]}" 5 KILL
        pkills=$((pkills + 1))
        mn_start_partner "$p"
        ppid[$p]=$MN_LAST_PID
    fi
    if ! mn_start_gateway "$MN_GWHOME"; then
        restart_fail=$((restart_fail + 1))
        mn_start_gateway "$MN_GWHOME" || mn_bail "the gateway does not start after kill $kills"
    fi
done
touch "$STOPFILE"
killsecs=$(($(date +%s) - started))
check_eq "the gateway was killed $KILLS times" "$KILLS" "$kills"
check_eq "the gateway came back at once after every kill" 0 "$restart_fail"
check_eq "a partner was killed $PKILLS times" "$PKILLS" "$pkills"

# --- drain ------------------------------------------------------------------------------------
for a in "${agents[@]}"; do
    mn_wait_exit "${fpid[$a]}" 30 || not_ok "feeder $a stopped"
done
submitted=$(cat "$MN_TMP"/fed-* | wc -l)
spool_empty() {
    local a
    for a in "${agents[@]}"; do
        mn_agent "$a" status 2>/dev/null | head -n 1 | grep -q '^queued=0 ' || return 1
    done
}
check "every agent's spool drained (no item still queued)" mn_wait_until "$DRAIN" spool_empty
count=$(mn_ctl registry count 2>/dev/null)
[[ "$count" =~ ^[0-9]+$ ]] || { count=0; not_ok "meldnetctl registry count prints a number"; }
queues_empty() {
    mn_ctl queue list >"$MN_TMP/queues" 2>/dev/null || return 1
    [ "$(wc -l <"$MN_TMP/queues")" -ge "${#partners[@]}" ] &&
        awk '$2 != 0 || $0 !~ /held=0/ { bad = 1 } END { exit bad }' "$MN_TMP/queues"
}
files_all() {
    local p
    for p in "${partners[@]}"; do mn_files_ge "$p" "$count" || return 1; done
}
check "the partners' queues are empty (queue list)" mn_wait_until "$DRAIN" queues_empty
check "the partners hold a file for every registration" mn_wait_until 30 files_all
# held_line: the unrouted and held counts of the last `hold list`, as "unrouted: N|held: N".
held_line() { grep -E '^(unrouted|held):' "$MN_TMP/holds" | paste -sd'|'; }
# nothing_held: `hold list` works and shows no unrouted topic and no held item.
nothing_held() {
    mn_ctl hold list >"$MN_TMP/holds" 2>"$MN_TMP/holds.err" || {
        echo "# hold list failed (exit $?): $(head -c 300 "$MN_TMP/holds.err")"
        return 1
    }
    [ "$(held_line)" = "unrouted: 0|held: 0" ]
}
nothing_held || { sleep 1; nothing_held; }
check_eq "nothing is held or unrouted (hold list)" "unrouted: 0|held: 0" "$(held_line)"

for a in "${agents[@]}"; do mn_stop "${apid[$a]}" 10; done
for p in "${partners[@]}"; do mn_stop "${ppid[$p]}" 10; done

# --- the checks -------------------------------------------------------------------------------
# Receipts: every acknowledged item's registration number, over all agents.
receipts=$MN_TMP/receipts
: >"$receipts"
acked=0
rejected=0
for a in "${agents[@]}"; do
    mn_agent "$a" status >"$MN_TMP/status-$a" 2>/dev/null
    grep -E ' state=acknowledged ' "$MN_TMP/status-$a" | grep -oE 'registration=MN-[0-9]+' |
        sed 's/registration=MN-0*//' >>"$receipts"
    rejected=$((rejected + $(grep -cE ' state=rejected ' "$MN_TMP/status-$a")))
done
acked=$(wc -l <"$receipts")
resent=$(cat "$MN_TMP"/status-* | grep -c ' receipt=duplicate')
retried=$(cat "$MN_TMP"/status-* | grep -cE ' attempts=([2-9]|[1-9][0-9]+) ')
redelivered=$(cat "$MN_LOGS"/partner-*.log | grep -c 'outcome=duplicate')
echo "# $retried items were sent more than once; $resent receipts say duplicate (registered" \
    "before a kill, receipt lost); partners saw $redelivered redeliveries (outcome=duplicate)"
unique=$(sort -un "$receipts" | wc -l)
outside=$(awk -v max="$count" '$1 < 1 || $1 > max' "$receipts" | wc -l)
# Lost: a queued report without a receipt (still queued or rejected), or a receipt that names
# no registration in the registry.
lost=$((submitted > acked ? submitted - acked + outside : outside))
# Duplicated: more registrations than distinct reports, or two receipts naming one registration.
dup_reg=$((count > submitted ? count - submitted : 0))
duplicated=$((dup_reg + acked - unique))
check_eq "every queued report has a receipt ($submitted queued)" "$submitted" "$acked"
check_eq "no item was rejected" 0 "$rejected"
check_eq "every receipt names a registration in 1..$count" 0 "$outside"
check_eq "no two receipts share a registration" "$acked" "$unique"
check_eq "no report is registered twice (registry count == distinct reports)" "$submitted" "$count"
if [ "$unique" -ne "$count" ] || [ "$outside" -ne 0 ]; then
    not_ok "the receipts are exactly registrations 1..$count" \
        "$unique distinct receipts, $outside outside the range"
fi

# Delivery: each partner's out dir holds exactly MN-00000001..count.
undelivered=0
expected=$MN_TMP/expected
seq -f 'MN-%08g.json' 1 "$count" >"$expected"
for p in "${partners[@]}"; do
    (cd "$MN_TMP/out-$p" && ls -1 -- MN-*.json 2>/dev/null) | sort >"$MN_TMP/got-$p"
    missing=$(comm -23 "$expected" "$MN_TMP/got-$p" | wc -l)
    extra=$(comm -13 "$expected" "$MN_TMP/got-$p" | wc -l)
    undelivered=$((undelivered + missing + extra))
    check_eq "partner $p holds exactly MN-00000001..$count" "missing=0 extra=0" \
        "missing=$missing extra=$extra"
done

# The store after one more crash: it opens, the count is the same, mdb_stat reads every DB.
mn_crash_gateway
kills=$((kills + 1))
store=ok
check_eq "after a final SIGKILL the store opens with the same count" "$count" \
    "$(mn_ctl registry count 2>/dev/null)" || store=bad
if command -v mdb_stat >/dev/null; then
    check "mdb_stat -a reads the store" mdb_stat -a "$MN_GWHOME/data" || store=bad
else
    echo "# mdb_stat not installed (apt-get install lmdb-utils): skipped"
fi

secs=$(($(date +%s) - started))
echo "# kill phase ${killsecs}s, whole run ${secs}s; gateway log: $(grep -c . "$MN_GW_LOG") lines," \
    "$(grep -ciE ' (error|crit|fatal)' "$MN_GW_LOG") at error level"
echo "torture: kills=$kills partner_kills=$pkills reports=$submitted registered=$count" \
    "lost=$lost duplicated=$duplicated undelivered=$undelivered store=$store seconds=$secs"
if [ "$lost" -eq 0 ] && [ "$duplicated" -eq 0 ] && [ "$undelivered" -eq 0 ] &&
    [ "$store" = ok ] && [ "$MN_FAIL" -eq 0 ]; then
    exit 0
fi
MN_FAIL=$((MN_FAIL > 0 ? MN_FAIL : 1))
echo "# torture FAILED (seed $SEED; logs in $MN_TMP/logs)"
exit 1
