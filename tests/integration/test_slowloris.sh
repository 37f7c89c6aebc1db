#!/usr/bin/env bash
# test_slowloris.sh - trickling requests do not take the operators' endpoint (issue 10, item 12).
#
# 32 connections from two addresses (16 from 127.0.0.2, 16 from 127.0.0.3) each start a GET and
# then send one more byte of a header that never ends, every second: never idle long enough for
# the idle timeout. Scrapes from 127.0.0.1 all succeed meanwhile, and each trickling connection
# is closed once its request has taken longer than the endpoint allows in all.
. "$(dirname "$0")/lib.sh"
mn_setup
command -v curl >/dev/null || mn_bail "set-up: curl is not installed"
command -v ss >/dev/null || mn_bail "set-up: ss (iproute2) is not installed"
[ -x "$MN_BIN/mn-flood" ] || mn_bail "set-up: $MN_BIN/mn-flood is not built (make test-bins)"
mn_init_gateway || mn_bail "meldnetctl init"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
mport=${MN_METRICS##*:}
check "/metrics answers before" curl -fsS --max-time 5 -o /dev/null "http://$MN_METRICS/metrics"

floods=()
for from in 127.0.0.2 127.0.0.3; do
    mn_spawn "trickle-$from" "$MN_BIN/mn-flood" --connect "$MN_METRICS" --bind "$from" \
        --count 16 --mode trickle --trickle-ms 1000 --hold-ms 120000
    floods+=("$MN_LAST_PID")
    check "16 trickling connections from $from" \
        mn_wait_until 30 mn_log_has "$MN_LAST_LOG" '^flood settled connected=16$'
done

# established OP N: the connections from the trickling addresses to the endpoint that are open
# compare to N with test's OP (-eq, -ge).
established() {
    [ "$(ss -Htn state established "( dport = :$mport )" | grep -cE ' 127\.0\.0\.[23]:')" "$1" "$2" ]
}
# accepted: the endpoint's listen backlog is empty (it has accepted every connection).
accepted() {
    ss -Hltn "( sport = :$mport )" | awk '{ exit !($2 == 0) }'
}
# The endpoint may refuse some at once (a limit per address); at least 16 stay and trickle.
check "at least 16 of them stay connected" mn_wait_until 15 established -ge 16
mn_wait_until 10 accepted || echo "# the endpoint's backlog is not empty" >&2

good=0
for i in 1 2 3 4 5 6 7; do
    if curl -fsS --max-time 5 -o /dev/null "http://$MN_METRICS/metrics"; then
        good=$((good + 1))
    fi
done
check_eq "7 of 7 scrapes succeed while 32 connections trickle" 7 "$good"
check_match "the status page too" '^200$' \
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 "http://$MN_METRICS/"

check "every trickling connection is closed when its request takes too long in all" \
    mn_wait_until 45 established -eq 0
check "the cut is logged" mn_log_has "$MN_GW_LOG" \
    'http: request took too long, connection closed .*peer=127\.0\.0\.[23]'
# cut_counted: /metrics (a snapshot at most a second old) counts the cut connections.
cut_counted() {
    curl -fsS --max-time 5 "http://$MN_METRICS/metrics" | grep -qE '^meldnet_http_requests_cut_total [1-9]'
}
check "/metrics counts the cut connections" mn_wait_until 10 cut_counted
check "the gateway is still running" mn_is_running "$MN_GW_PID"
for f in "${floods[@]}"; do
    mn_stop "$f" 5
done
mn_finish
