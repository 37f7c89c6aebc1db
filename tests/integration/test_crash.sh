#!/usr/bin/env bash
# test_crash.sh - the gateway is killed with SIGKILL again and again while three agents submit,
# and stopped with SIGTERM in between; after each restart the agents go on. At the end every
# report is registered exactly once and every receipt an agent holds names a registration that
# is in the registry.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
agents=(district-utrecht school-amsterdam minors-hotline)
per_agent=${MN_CRASH_REPORTS:-40}
kills=${MN_CRASH_KILLS:-4}
for a in "${agents[@]}"; do mn_new_agent "$a" || mn_bail "agent $a"; done

# Distinct reports: the example with a numbered narrative, queued in each spool (not sent yet).
template=$MN_SRCDIR/examples/criminal-drugs-consent-refused.json
for a in "${agents[@]}"; do
    for i in $(seq 1 "$per_agent"); do
        sed "s/\"narrative\": \"/\"narrative\": \"[$a #$i] /" "$template" >"$MN_TMP/r.json"
        mn__quiet mn_agent "$a" submit "$MN_TMP/r.json" --wait 0 || mn_bail "queue $a #$i"
    done
done
total=$((per_agent * ${#agents[@]}))

mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
declare -A run_pid
for a in "${agents[@]}"; do
    mn_spawn "agent-$a" "$MN_BIN/meldnet-agent" run --until-empty --max-seconds 240 \
        --home "$MN_TMP/agents/$a"
    run_pid[$a]=$MN_LAST_PID
done

# Kill at moments spread over the run: whenever the registry has grown past the next mark
# (or at once, if the agents are faster than the marks).
registered() { local n; n=$("$MN_BIN/meldnetctl" registry count --home "$MN_GWHOME" 2>/dev/null) &&
    [ "$n" -ge "$1" ]; }
survived=0
clean_stops=0
stops=$((kills + kills / 2))
for k in $(seq 1 "$stops"); do
    mark=$((total * k / (stops + 2)))
    mn_wait_until 60 registered "$mark"
    if [ $((k % 3)) -eq 0 ]; then
        mn_stop_gateway 10 && clean_stops=$((clean_stops + 1))
    else
        mn_crash_gateway
    fi
    mn_start_gateway "$MN_GWHOME" && survived=$((survived + 1))
done
check_eq "the gateway came back after each of $stops kills and stops" "$stops" "$survived"
check_eq "every SIGTERM stop in the middle of the traffic was clean (exit 0)" \
    "$((stops / 3))" "$clean_stops"

for a in "${agents[@]}"; do
    mn_wait_exit "${run_pid[$a]}" 240
    check_eq "agent $a drained its spool (meldnet-agent run exit 0)" 0 "$?"
done
check_eq "every report is registered exactly once" "$total" "$(mn_ctl registry count)"

# Every acknowledged item names a registration in 1..total, and no two items share one.
all=$MN_TMP/registrations
: >"$all"
for a in "${agents[@]}"; do
    mn_agent "$a" status | grep -oE 'registration=MN-[0-9]+' | sed 's/registration=MN-0*//' >>"$all"
done
check_eq "every agent holds a receipt for each of its reports" "$total" "$(wc -l <"$all")"
check_eq "no two reports share a registration" "$total" "$(sort -u "$all" | wc -l)"
check_eq "every receipt names a registration in the registry" "" \
    "$(awk -v max="$total" '$1 < 1 || $1 > max' "$all")"
reg=$(sort -n "$all" | tail -n 1)
check "the highest receipt opens in the registry" \
    mn_ctl registry show "$reg" --registry-key "$MN_GWHOME/registry-secret/registry.key"
mn_finish
