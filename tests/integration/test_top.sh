#!/usr/bin/env bash
# test_top.sh - `meldnetctl top` in a real terminal (tmux): during a workload the accepted count
# on the screen rises from one refresh to a later one, and q quits it.
. "$(dirname "$0")/lib.sh"
mn_setup
command -v tmux >/dev/null || mn_bail "tmux is not installed (scripts/deps.sh --check)"
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
sock=$MN_TMP/tmux.sock
tm() { tmux -S "$sock" "$@"; }
mn_at_exit 'tmux -S "$sock" kill-server 2>/dev/null'

# A workload that lasts: up to 30 rounds of 20 reports, paced so top refreshes many times
# meanwhile. It stops by itself between rounds once the stop file exists, so no sender is left
# running when the test ends (a signal to the loop would orphan the sender it is waiting on).
cat >"$MN_TMP/workload.sh" <<WORKLOAD
for _ in \$(seq 30); do
    [ -e "$MN_TMP/workload.stop" ] && exit 0
    "$MN_BIN/mn-rawsend" --endpoint "$MN_ENDPOINT" --key "$MN_TMP/agents/hotline/keys/agent.key" \
        --gateway-key "$MN_GWHOME/keys/gateway.pub" --mode valid --unique --count 20 --window 4 \
        --report "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" >/dev/null || exit 1
    sleep 0.3
done
WORKLOAD
mn_spawn workload bash "$MN_TMP/workload.sh"
wl=$MN_LAST_PID

tm new-session -d -s top -x 110 -y 40 \
    "'$MN_BIN/meldnetctl' top --home '$MN_GWHOME'; echo top-exited=\$?; sleep 30" ||
    mn_bail "tmux cannot start a session"
# accepted_on_screen: the number after "accepted" on top's screen (empty when not shown)
accepted_on_screen() {
    tm capture-pane -p -t top 2>/dev/null | grep -oE '(^|[^a-z_])accepted[ :]+[0-9,]+' | head -n 1 |
        grep -oE '[0-9,]+$' | tr -d ,
}
above() { local n; n=$(accepted_on_screen); [ -n "$n" ] && [ "$n" -gt "$1" ]; }
check "top shows an accepted count above 0 during the workload" mn_wait_until 20 above 0
first=$(accepted_on_screen)
check "a later refresh shows it risen (from ${first:-?})" mn_wait_until 20 above "${first:-0}"
tm capture-pane -p -t top >"$MN_TMP/top-screen.txt" 2>/dev/null
check "the screen names the gateway's state" grep -qi 'running' "$MN_TMP/top-screen.txt"
tm send-keys -t top q
check "q quits top (exit 0)" mn_wait_until 10 sh -c \
    'tmux -S "$1" capture-pane -p -t top | grep -q "top-exited=0"' _ "$sock"
touch "$MN_TMP/workload.stop"
check "the workload ends by itself" mn_wait_exit "$wl" 30
mn_finish
