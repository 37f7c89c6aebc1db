#!/usr/bin/env bash
# test_harden.sh - every program that holds secret keys or reports runs without core dumps
# (RLIMIT_CORE 0) and not dumpable, so another user can neither read its memory through /proc
# nor attach a debugger: meldnet-gateway, meldnet-agent run, meldnet-partner listen, meldnetctl.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police police.acute=full || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
mn_spawn agent "$MN_BIN/meldnet-agent" run --home "$MN_TMP/agents/hotline"
agent_pid=$MN_LAST_PID
mn_start_partner police
partner_pid=$MN_LAST_PID

# no_core PID: /proc/PID/limits says "Max core file size 0 0" (soft and hard).
no_core() {
    grep -qE '^Max core file size +0 +0 ' "/proc/$1/limits"
}
# is_program PID NAME: the process has exec'd NAME (not a shell about to). It may not have
# reached main yet (slow under ASan), so the checks below wait for what main sets.
is_program() {
    [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

check "meldnet-gateway runs" mn_wait_until 10 is_program "$MN_GW_PID" meldnet-gateway
check "meldnet-gateway: no core files" mn_wait_until 10 no_core "$MN_GW_PID"
check "meldnet-agent runs" mn_wait_until 10 is_program "$agent_pid" meldnet-agent
check "meldnet-agent run: no core files" mn_wait_until 10 no_core "$agent_pid"
check "meldnet-partner runs" mn_wait_until 10 is_program "$partner_pid" meldnet-partner
check "meldnet-partner listen: no core files" mn_wait_until 10 no_core "$partner_pid"

# meldnetctl is short-lived; `route test -` waits for the report on stdin, which a FIFO holds
# open (this shell keeps its writing end, so nothing blocks before meldnetctl runs). It runs as
# nobody in a home of its own: /proc/PID/environ of a process that is not dumpable belongs to
# root, of a dumpable one to its user, so that tells whether another user could read its
# memory or attach to it (as root everything belongs to root and says nothing).
ctl_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$MN_BIN/meldnetctl" "$@"
}
nbdir=$MN_TMP/nobody
mkdir -p "$nbdir" && chown 65534:65534 "$nbdir" && chmod 711 "$MN_TMP" ||
    mn_bail "set-up: a folder for nobody"
command -v setpriv >/dev/null || mn_bail "setpriv (util-linux) is not installed"
ctl_nobody init --home "$nbdir/gw" --listen "tcp://127.0.0.1:$(mn_freeport)" \
    --delivery-listen "tcp://127.0.0.1:$(mn_freeport)" --metrics-listen off \
    >>"$MN_LOGS/commands.log" 2>&1 || mn_bail "meldnetctl init as nobody"
mkfifo "$MN_TMP/report.fifo" || mn_bail "mkfifo"
exec 9<>"$MN_TMP/report.fifo"
# (Not through ctl_nobody: $! must be meldnetctl itself, which must not hold the writing end.)
setpriv --reuid=65534 --regid=65534 --clear-groups "$MN_BIN/meldnetctl" route test - \
    --home "$nbdir/gw" <"$MN_TMP/report.fifo" >"$MN_LOGS/ctl.log" 2>&1 9>&- &
ctl_pid=$!
MN_PIDS+=("$ctl_pid")
check "meldnetctl runs (waiting for its report)" mn_wait_until 10 is_program "$ctl_pid" meldnetctl
check "meldnetctl: no core files" mn_wait_until 10 no_core "$ctl_pid"
check_eq "meldnetctl runs as nobody" 65534 "$(awk '/^Uid:/ {print $2}' "/proc/$ctl_pid/status")"
owned_by_root() { [ "$(stat -c %u "/proc/$1/environ")" = 0 ]; }
check "meldnetctl's memory is not another user's to read (/proc/PID/environ owned by root)" \
    mn_wait_until 10 owned_by_root "$ctl_pid"
exec 9>&- # end of input: it exits
mn_wait_exit "$ctl_pid" 10 >/dev/null
mn_finish
