# lib.sh - shared helpers for the integration tests: set-up, processes, waiting, TAP results.
#
# Source it from a test script (tests/integration/test_NAME.sh), which tests/run-tests.sh runs
# with bash under a timeout:
#
#   . "$(dirname "$0")/lib.sh"
#   mn_setup                          # temp dir, free port, EXIT trap
#   mn_init_gateway                   # meldnetctl init --home $MN_GWHOME --listen $MN_ENDPOINT
#   mn_new_agent alice                # keygen into $MN_TMP/agents/alice, agent add
#   mn_start_gateway "$MN_GWHOME"     # background, waits for run/status.json
#   check "a valid report is accepted" mn_rawsend alice valid --report "$MN_SRCDIR/examples/x.json"
#   check_match "it says accepted" '^receipt status=accepted ' cat "$MN_OUT"
#   mn_finish                         # exit status from the counts
#
# Results are TAP-like lines, "ok - DESC" and "not ok - DESC", which run-tests.sh counts;
# details of a failure follow as "#   ..." lines. Diagnostics go to stderr.
#
# Results
#   ok DESC / not_ok DESC [DETAIL...]     print one result and count it
#   check DESC CMD...                     ok when CMD exits 0
#   check_fails DESC CMD...               ok when CMD exits non-zero
#   check_exit DESC CODE CMD...           ok when CMD exits with CODE
#   check_match DESC ERE CMD...           ok when CMD exits 0 and a stdout line matches ERE
#   check_no_match DESC ERE CMD...        ok when CMD exits 0 and no stdout line matches ERE
#   check_eq DESC WANT GOT                ok when the strings are equal
#   mn_run CMD...                         run CMD, keep stdout/stderr in $MN_OUT/$MN_ERR
#   mn_bail MSG                           "not ok - MSG" and exit 1 (a set-up step failed)
#   mn_finish                             exit 0 if something passed and nothing failed, else 1
# Waiting
#   mn_wait_until SECONDS CMD...          run CMD every 0.1 s until it succeeds; 1 on timeout
#   mn_log_has FILE ERE                   a line of FILE matches (to wait on log lines)
#   mn_json_get FILE KEY                  first scalar value of "KEY" in a JSON file
#   mn_status_ge KEY N [HOME]             run/status.json's KEY >= N
# Processes
#   mn_spawn NAME CMD...                  background CMD, log $MN_LOGS/NAME.log, tracked
#   mn_stop PID [SECONDS] [SIGNAL]        signal (TERM), wait, SIGKILL if needed; its status
#   mn_wait_exit PID SECONDS              wait for a tracked process to exit by itself
#   mn_is_running PID                     alive and not a zombie
#   mn_at_exit CMD                        run shell command CMD when the script ends
# Set-up and the programs
#   mn_setup                              temp dir, free port, EXIT trap; bails if not built
#   mn_freeport                           print a free TCP port on 127.0.0.1
#   mn_init_gateway [HOME] [ENDPOINT]     meldnetctl init
#   mn_acute_routes_only [HOME]           routes: the acute rule alone (to police.acute)
#   mn_start_gateway HOME [ARGS...]       start meldnet-gateway, wait for run/status.json
#   mn_stop_gateway [SECONDS]             SIGTERM it and wait; its exit status
#   mn_crash_gateway                      SIGKILL it (a crash at an arbitrary point)
#   mn_new_agent NAME [REGION]            meldnet-agent keygen + meldnetctl agent add
#   mn_new_identity NAME                  agent keys only (meldnetctl keygen), not added
#   mn_agent_add NAME LINE [ARGS...]      meldnetctl agent add ... --home $MN_GWHOME
#   mn_agent NAME SUBCOMMAND [ARGS...]    meldnet-agent SUBCOMMAND ... --home <NAME's home>
#   mn_ctl ARGS...                        meldnetctl ARGS --home $MN_GWHOME
#   mn_rawsend NAME MODE [ARGS...]        mn-rawsend as agent NAME against $MN_ENDPOINT
#
# Processes: every process started through mn_spawn (and so mn_start_gateway) is tracked; the
# EXIT trap sends them SIGTERM, then SIGKILL after MN_KILL_GRACE seconds, and kills nothing
# else. The temp dir goes too, unless MN_KEEP=1 (or MN_KEEP=fail and something failed).
#
# Variables set by mn_setup (read them, do not assign them):
#   MN_BIN      the built programs (from the environment; default <repo>/build/bin)
#   MN_SRCDIR   the repository root
#   MN_TMP      this script's temp dir (agents/NAME/, logs/, gw/, out/ live under it)
#   MN_PORT     a free TCP port on 127.0.0.1, MN_ENDPOINT=tcp://127.0.0.1:$MN_PORT
#   MN_DELIVERY_ENDPOINT  another free port: the gateway's delivery endpoint for partners
#   MN_METRICS  HOST:PORT of the gateway's HTTP endpoint (/metrics, /healthz, /readyz, /)
#   MN_GWHOME   $MN_TMP/gw, the default gateway home
#   MN_LOGS     $MN_TMP/logs; mn_spawn writes NAME.log there, set-up commands commands.log
# After mn_start_gateway: MN_GW_PID, MN_GW_LOG. After mn_spawn: MN_LAST_PID, MN_LAST_LOG.
# After check*/mn_run: MN_OUT / MN_ERR (files with the command's stdout / stderr), MN_RC; a
# command that only reads $MN_OUT / $MN_ERR leaves all three as they were (see mn_run).
# Settings from the environment: MN_KILL_GRACE (5 s), MN_START_TIMEOUT (20 s), MN_KEEP.
#
# Caveats: do not use `set -e` in a test script: check* return 1 on a failure so that a script
# can stop early where it must (`check ... || mn_bail ...`); under set -e the first failed check
# would end the script. Do not start processes with setsid or nohup: the trap and run-tests.sh's
# leak check track them by pid and process group.

MN_SRCDIR=${MN_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MN_BIN=${MN_BIN:-$MN_SRCDIR/build/bin}
MN_KILL_GRACE=${MN_KILL_GRACE:-5}
MN_START_TIMEOUT=${MN_START_TIMEOUT:-20}

MN_PASS=0
MN_FAIL=0
MN_PIDS=()
MN_TMP=
MN_OUT=/dev/null
MN_ERR=/dev/null
MN_RC=0
MN__CAP_OUT=/dev/null
MN__CAP_ERR=/dev/null
MN__CAP_RC=0

# --- results ---------------------------------------------------------------------------------

# ok DESC: one passing result.
ok() {
    MN_PASS=$((MN_PASS + 1))
    echo "ok - $*"
}

# not_ok DESC [DETAIL...]: one failing result; each DETAIL prints as a "# " line.
not_ok() {
    local desc=$1
    shift
    MN_FAIL=$((MN_FAIL + 1))
    echo "not ok - $desc"
    local line
    for line in "$@"; do
        printf '%s\n' "$line" | sed 's/^/#   /'
    done
}

# mn__show_output: the checked command's stdout and stderr as "# " lines (40 lines each at most).
mn__show_output() {
    local f
    for f in "$MN__CAP_OUT" "$MN__CAP_ERR"; do
        [ -s "$f" ] || continue
        echo "#   --- $([ "$f" = "$MN__CAP_OUT" ] && echo stdout || echo stderr):"
        tail -n 40 "$f" | sed 's/^/#   /'
    done
}

# mn_run CMD...: run CMD in this shell (functions work) with stdout and stderr captured in
# files; returns CMD's status. MN_OUT, MN_ERR and MN_RC then describe CMD, unless CMD only
# reads an earlier capture (an argument names a file in $MN_TMP/out/, as in
# `check "..." grep -q foo "$MN_ERR"`): such a reader leaves them alone, so several checks can
# examine the output of one command.
mn_run() {
    local n=$((${MN_RUNS:-0} + 1)) rc arg reader=0
    MN_RUNS=$n
    MN__CAP_OUT=/dev/null
    MN__CAP_ERR=/dev/null
    if [ -n "$MN_TMP" ]; then
        MN__CAP_OUT=$MN_TMP/out/$n.out
        MN__CAP_ERR=$MN_TMP/out/$n.err
        for arg in "$@"; do
            case "$arg" in "$MN_TMP"/out/*) reader=1 ;; esac
        done
    fi
    "$@" >"$MN__CAP_OUT" 2>"$MN__CAP_ERR"
    rc=$?
    MN__CAP_RC=$rc
    if [ "$reader" = 0 ]; then
        MN_OUT=$MN__CAP_OUT
        MN_ERR=$MN__CAP_ERR
        MN_RC=$rc
    fi
    return "$rc"
}

# check DESC CMD...: ok when CMD exits 0, else not ok with its exit status and output.
check() {
    local desc=$1
    shift
    if mn_run "$@"; then
        ok "$desc"
        return 0
    fi
    not_ok "$desc" "command: $*" "exit status $MN__CAP_RC"
    mn__show_output
    return 1
}

# check_fails DESC CMD...: ok when CMD exits non-zero.
check_fails() {
    local desc=$1
    shift
    if ! mn_run "$@"; then
        ok "$desc"
        return 0
    fi
    not_ok "$desc" "command: $*" "succeeded, expected a failure"
    mn__show_output
    return 1
}

# check_exit DESC CODE CMD...: ok when CMD exits with exactly CODE.
check_exit() {
    local desc=$1 want=$2
    shift 2
    mn_run "$@"
    if [ "$MN__CAP_RC" -eq "$want" ]; then
        ok "$desc"
        return 0
    fi
    not_ok "$desc" "command: $*" "exit status $MN__CAP_RC, expected $want"
    mn__show_output
    return 1
}

# check_match DESC ERE CMD...: ok when CMD exits 0 and a line of its stdout matches ERE.
check_match() {
    local desc=$1 ere=$2
    shift 2
    if mn_run "$@" && grep -qE -- "$ere" "$MN__CAP_OUT"; then
        ok "$desc"
        return 0
    fi
    not_ok "$desc" "command: $*" "exit status $MN__CAP_RC; wanted a line matching: $ere"
    mn__show_output
    return 1
}

# check_no_match DESC ERE CMD...: ok when CMD exits 0 and no line of its stdout matches ERE.
check_no_match() {
    local desc=$1 ere=$2
    shift 2
    if mn_run "$@" && ! grep -qE -- "$ere" "$MN__CAP_OUT"; then
        ok "$desc"
        return 0
    fi
    not_ok "$desc" "command: $*" "exit status $MN__CAP_RC; wanted no line matching: $ere"
    mn__show_output
    return 1
}

# check_eq DESC WANT GOT: ok when the two strings are equal.
check_eq() {
    if [ "$2" = "$3" ]; then
        ok "$1"
        return 0
    fi
    not_ok "$1" "expected: $2" "got:      $3"
    return 1
}

# mn_bail MSG: a set-up step failed and nothing after it can run: one "not ok", then exit 1.
mn_bail() {
    not_ok "$*"
    exit 1
}

# mn_finish: print the counts and exit 0 when something passed and nothing failed, else 1.
mn_finish() {
    echo "# $MN_PASS passed, $MN_FAIL failed"
    if [ "$MN_FAIL" -eq 0 ] && [ "$MN_PASS" -gt 0 ]; then
        exit 0
    fi
    exit 1
}

# --- waiting ---------------------------------------------------------------------------------

mn__now_ms() {
    local ns
    ns=$(date +%s%N)
    echo $((ns / 1000000))
}

# mn__secs_to_ms SECONDS: "2" -> 2000, "0.5" -> 500, "1.25" -> 1250.
mn__secs_to_ms() {
    local whole=${1%%.*} frac=000
    [ "$whole" = "$1" ] || frac=${1#*.}000
    echo $((10#${whole:-0} * 1000 + 10#${frac:0:3}))
}

# mn_wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (return 0) or SECONDS
# have passed (return 1, with a note on stderr). SECONDS may be a fraction ("0.5").
mn_wait_until() {
    local secs=$1 deadline now
    shift
    deadline=$(($(mn__now_ms) + $(mn__secs_to_ms "$secs")))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        now=$(mn__now_ms)
        if [ "$now" -ge "$deadline" ]; then
            echo "lib.sh: gave up after ${secs}s waiting for: $*" >&2
            return 1
        fi
        sleep 0.1
    done
}

# --- processes -------------------------------------------------------------------------------

# mn_is_running PID: the process exists and has not exited (a zombie counts as exited).
mn_is_running() {
    local stat
    [ -r "/proc/$1/stat" ] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

mn__untrack() {
    local p keep=()
    for p in "${MN_PIDS[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    MN_PIDS=("${keep[@]}")
}

# mn_spawn NAME CMD...: start CMD in the background with stdout+stderr appended to
# $MN_LOGS/NAME.log; tracked for the EXIT trap. Sets MN_LAST_PID and MN_LAST_LOG.
mn_spawn() {
    local name=$1
    shift
    MN_LAST_LOG=$MN_LOGS/$name.log
    echo "--- $(date -u +%FT%TZ) start: $*" >>"$MN_LAST_LOG"
    "$@" >>"$MN_LAST_LOG" 2>&1 </dev/null &
    MN_LAST_PID=$!
    MN_PIDS+=("$MN_LAST_PID")
    return 0
}

# mn_stop PID [SECONDS] [SIGNAL]: send SIGNAL (default TERM) to a tracked process, wait up to
# SECONDS (default MN_KILL_GRACE) for it to exit, then SIGKILL it. Returns its exit status
# (128+n when a signal ended it).
mn_stop() {
    local pid=$1 secs=${2:-$MN_KILL_GRACE} sig=${3:-TERM} rc
    kill "-$sig" "$pid" 2>/dev/null
    if ! mn_wait_until "$secs" mn__exited "$pid" 2>/dev/null; then
        echo "lib.sh: pid $pid did not exit ${secs}s after SIG$sig; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    mn__untrack "$pid"
    return "$rc"
}

mn__exited() {
    ! mn_is_running "$1"
}

# mn_wait_exit PID SECONDS: wait for a tracked process to exit by itself; returns its exit
# status, or 124 (and leaves it running) when it has not exited after SECONDS.
mn_wait_exit() {
    local pid=$1 rc
    mn_wait_until "$2" mn__exited "$pid" || return 124
    wait "$pid" 2>/dev/null
    rc=$?
    mn__untrack "$pid"
    return "$rc"
}

# mn_at_exit CMD: run the shell command CMD when the script ends, before the tracked processes
# are stopped (for what mn_spawn cannot track, such as a tmux server).
MN_AT_EXIT=()
mn_at_exit() { MN_AT_EXIT+=("$1"); }

mn__cleanup() {
    local rc=$? p deadline c
    trap - EXIT
    for c in "${MN_AT_EXIT[@]}"; do
        eval "$c" || true
    done
    if [ ${#MN_PIDS[@]} -gt 0 ]; then
        for p in "${MN_PIDS[@]}"; do
            mn_is_running "$p" && kill -TERM "$p" 2>/dev/null
        done
        deadline=$(($(mn__now_ms) + $(mn__secs_to_ms "$MN_KILL_GRACE")))
        for p in "${MN_PIDS[@]}"; do
            while mn_is_running "$p" && [ "$(mn__now_ms)" -lt "$deadline" ]; do
                sleep 0.1
            done
            if mn_is_running "$p"; then
                echo "lib.sh: pid $p ignored SIGTERM for ${MN_KILL_GRACE}s; sending SIGKILL" >&2
                kill -KILL "$p" 2>/dev/null
            fi
            wait "$p" 2>/dev/null
        done
    fi
    if [ -n "$MN_TMP" ] && [ -d "$MN_TMP" ]; then
        if [ "${MN_KEEP:-0}" = 1 ] || { [ "${MN_KEEP:-0}" = fail ] && [ "$MN_FAIL" -gt 0 ]; }; then
            echo "# kept $MN_TMP" >&2
        else
            rm -rf "$MN_TMP"
        fi
    fi
    exit "$rc"
}

# --- set-up ----------------------------------------------------------------------------------

# mn_freeport: print a free TCP port on 127.0.0.1 (mn-freeport; without it, a random port that
# /proc/net/tcp shows unused).
mn_freeport() {
    if [ -x "$MN_BIN/mn-freeport" ]; then
        "$MN_BIN/mn-freeport"
        return
    fi
    local port hex i
    for i in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        hex=$(printf '%04X' "$port")
        if ! grep -qE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# mn_setup: temp dir, free port, EXIT trap (signals end the script through it). Exits (bails)
# when the gateway or meldnetctl is not built (meldnet-agent is checked where it is used).
mn_setup() {
    local prog
    for prog in meldnet-gateway meldnetctl; do
        [ -x "$MN_BIN/$prog" ] || mn_bail "set-up: $MN_BIN/$prog is not built (make test-bins)"
    done
    MN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/meldnet-test.XXXXXX") || mn_bail "set-up: mktemp -d"
    trap mn__cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    MN_LOGS=$MN_TMP/logs
    MN_GWHOME=$MN_TMP/gw
    mkdir -p "$MN_LOGS" "$MN_TMP/out" "$MN_TMP/agents" || mn_bail "set-up: mkdir in $MN_TMP"
    MN_PORT=$(mn_freeport) || mn_bail "set-up: no free TCP port on 127.0.0.1"
    MN_ENDPOINT=tcp://127.0.0.1:$MN_PORT
    local dport
    dport=$(mn_freeport) || mn_bail "set-up: no second free TCP port on 127.0.0.1"
    [ "$dport" != "$MN_PORT" ] || dport=$(mn_freeport)
    MN_DELIVERY_ENDPOINT=tcp://127.0.0.1:$dport
    local mport
    mport=$(mn_freeport) || mn_bail "set-up: no free TCP port on 127.0.0.1"
    while [ "$mport" = "$MN_PORT" ] || [ "$mport" = "$dport" ]; do mport=$(mn_freeport); done
    MN_METRICS=127.0.0.1:$mport
    echo "# temp dir $MN_TMP, endpoint $MN_ENDPOINT" >&2
}

# mn__quiet CMD...: run a set-up command with its output kept in $MN_LOGS/commands.log; on
# failure print the command, its status and its output on stderr. Returns CMD's status.
mn__quiet() {
    local tmp=$MN_TMP/out/quiet.$$ rc
    "$@" >"$tmp" 2>&1
    rc=$?
    { echo "--- $(date -u +%FT%TZ) exit $rc: $*"; cat "$tmp"; } >>"$MN_LOGS/commands.log"
    if [ "$rc" -ne 0 ]; then
        echo "lib.sh: exit $rc: $*" >&2
        tail -n 20 "$tmp" | sed 's/^/lib.sh:   /' >&2
    fi
    rm -f "$tmp"
    return "$rc"
}

# mn_init_gateway [HOME] [ENDPOINT]: meldnetctl init (defaults $MN_GWHOME, $MN_ENDPOINT; the
# delivery endpoint is $MN_DELIVERY_ENDPOINT, the metrics endpoint $MN_METRICS).
mn_init_gateway() {
    mn__quiet "$MN_BIN/meldnetctl" init --home "${1:-$MN_GWHOME}" --listen "${2:-$MN_ENDPOINT}" \
        --delivery-listen "$MN_DELIVERY_ENDPOINT" --metrics-listen "$MN_METRICS"
}

# mn_acute_routes_only [HOME]: replace the default routes with the acute rule alone (acute
# reports go to police.acute, overriding consent; every other report matches no route).
mn_acute_routes_only() {
    cat >>"${1:-$MN_GWHOME}/gateway.conf" <<'CONF'

routes = (
    { name = "acute"; when = { acute = true; }; emit = [ "police.acute" ];
      overrides_consent = true; }
);
CONF
}

# mn_new_partner NAME KIND TOPIC=SHARING...: meldnet-partner keygen into $MN_TMP/partners/NAME
# (pointed at $MN_DELIVERY_ENDPOINT), then meldnetctl partner add with those bindings.
mn_new_partner() {
    local name=${1:?mn_new_partner NAME KIND BINDING...} kind=${2:?kind} home line b
    shift 2
    home=$MN_TMP/partners/$name
    mn__quiet "$MN_BIN/meldnet-partner" keygen "$name" --home "$home" \
        --gateway "$MN_DELIVERY_ENDPOINT" --gateway-key "$MN_GWHOME/keys/gateway.pub" || return 1
    line=$(grep -m1 '^meldnet1 partner ' "$home/keys/partner.pub" 2>/dev/null)
    [ -n "$line" ] || { echo "lib.sh: no public line for partner $name" >&2; return 1; }
    local args=()
    for b in "$@"; do args+=(--bind "$b"); done
    mn__quiet "$MN_BIN/meldnetctl" partner add "$name" "$line" --kind "$kind" "${args[@]}" \
        --home "$MN_GWHOME"
}

# mn_partner NAME SUBCOMMAND [ARGS...]: meldnet-partner SUBCOMMAND ARGS --home $MN_TMP/partners/NAME.
mn_partner() {
    local name=$1
    shift
    "$MN_BIN/meldnet-partner" "$@" --home "$MN_TMP/partners/$name"
}

# mn_start_partner NAME [ARGS...]: meldnet-partner listen --out $MN_TMP/out-NAME in the
# background (log $MN_LOGS/partner-NAME.log). Sets MN_LAST_PID.
mn_start_partner() {
    local name=$1
    shift
    mkdir -p "$MN_TMP/out-$name"
    mn_spawn "partner-$name" "$MN_BIN/meldnet-partner" listen --out "$MN_TMP/out-$name" \
        --home "$MN_TMP/partners/$name" "$@"
}

# mn_files NAME: how many referral files partner NAME has written.
mn_files() {
    find "$MN_TMP/out-$1" -maxdepth 1 -name 'MN-*.json' 2>/dev/null | wc -l
}

# mn_files_ge NAME N: at least N referral files (for mn_wait_until).
mn_files_ge() {
    [ "$(mn_files "$1")" -ge "$2" ]
}

# mn_start_gateway HOME [ARGS...]: start meldnet-gateway --home HOME ARGS in the background
# (log: $MN_LOGS/gateway.log, appended across restarts), wait until HOME/run/status.json
# exists, at most MN_START_TIMEOUT seconds. A status.json left by an earlier (killed) run is
# removed first, so only the new process can make it appear. Sets MN_GW_PID and MN_GW_LOG.
# Returns 1 (with the log's tail on stderr) if the gateway exits or does not come up.
mn_start_gateway() {
    local home=${1:?mn_start_gateway HOME}
    shift
    rm -f "$home/run/status.json"
    mn_spawn gateway "$MN_BIN/meldnet-gateway" --home "$home" "$@"
    MN_GW_PID=$MN_LAST_PID
    MN_GW_LOG=$MN_LAST_LOG
    if mn_wait_until "$MN_START_TIMEOUT" mn__gateway_up "$home" "$MN_GW_PID" 2>/dev/null &&
        [ -e "$home/run/status.json" ]; then
        return 0
    fi
    if mn_is_running "$MN_GW_PID"; then
        echo "lib.sh: gateway (pid $MN_GW_PID) wrote no $home/run/status.json in" \
            "${MN_START_TIMEOUT}s; log:" >&2
    else
        wait "$MN_GW_PID" 2>/dev/null
        echo "lib.sh: gateway exited with status $? during start-up; log:" >&2
        mn__untrack "$MN_GW_PID"
    fi
    tail -n 30 "$MN_GW_LOG" | sed 's/^/lib.sh:   /' >&2
    return 1
}

# Up when status.json exists; also "done" (to stop waiting early) when the process died.
mn__gateway_up() {
    [ -e "$1/run/status.json" ] || ! mn_is_running "$2"
}

# mn_stop_gateway [SECONDS]: SIGTERM the gateway, wait for a clean exit; returns its status.
mn_stop_gateway() {
    mn_stop "$MN_GW_PID" "${1:-$MN_KILL_GRACE}" TERM
}

# mn_crash_gateway: SIGKILL the gateway (a crash at an arbitrary point) and reap it.
mn_crash_gateway() {
    mn_stop "$MN_GW_PID" "$MN_KILL_GRACE" KILL
    return 0
}

# mn_new_agent NAME [REGION]: meldnet-agent keygen into $MN_TMP/agents/NAME (pointed at
# $MN_ENDPOINT and $MN_GWHOME's gateway key), then meldnetctl agent add with its public line.
mn_new_agent() {
    local name=${1:?mn_new_agent NAME} region=${2:-} home line
    home=$MN_TMP/agents/$name
    if [ ! -x "$MN_BIN/meldnet-agent" ]; then
        echo "lib.sh: $MN_BIN/meldnet-agent is not built (make test-bins)" >&2
        return 1
    fi
    mn__quiet "$MN_BIN/meldnet-agent" keygen "$name" --home "$home" --gateway "$MN_ENDPOINT" \
        --gateway-key "$MN_GWHOME/keys/gateway.pub" || return 1
    line=$(grep -m1 '^meldnet1 agent ' "$home/keys/agent.pub" 2>/dev/null)
    if [ -z "$line" ]; then
        echo "lib.sh: meldnet-agent keygen $name printed no public line" >&2
        return 1
    fi
    mn_agent_add "$name" "$line" ${region:+--region "$region"}
}

# mn_new_identity NAME: an agent identity made by meldnetctl keygen, not registered with the
# gateway and without an agent home: $MN_TMP/agents/NAME/keys/agent.key and agent.pub (where
# mn_rawsend looks). For unknown-key tests, or `mn_agent_add NAME "$(cat .../agent.pub)"`.
mn_new_identity() {
    local name=${1:?mn_new_identity NAME} dir
    dir=$MN_TMP/agents/$name/keys
    mkdir -p "$MN_TMP/agents/$name" &&
        mn__quiet "$MN_BIN/meldnetctl" keygen --role agent --name "$name" --out "$dir" &&
        mv "$dir/$name.key" "$dir/agent.key" && mv "$dir/$name.pub" "$dir/agent.pub"
}

# mn_agent_add NAME LINE [ARGS...]: meldnetctl agent add NAME LINE ARGS --home $MN_GWHOME.
mn_agent_add() {
    mn__quiet "$MN_BIN/meldnetctl" agent add "$@" --home "$MN_GWHOME"
}

# mn_agent NAME SUBCOMMAND [ARGS...]: meldnet-agent SUBCOMMAND ARGS --home $MN_TMP/agents/NAME.
mn_agent() {
    local name=$1
    shift
    "$MN_BIN/meldnet-agent" "$@" --home "$MN_TMP/agents/$name"
}

# mn_ctl [ARGS...]: meldnetctl ARGS --home $MN_GWHOME.
mn_ctl() {
    "$MN_BIN/meldnetctl" "$@" --home "$MN_GWHOME"
}

# mn_rawsend AGENT MODE [ARGS...]: mn-rawsend as agent AGENT against $MN_ENDPOINT with
# $MN_GWHOME's gateway key (pass --report FILE for modes that send an envelope).
mn_rawsend() {
    local name=$1 mode=$2
    shift 2
    "$MN_BIN/mn-rawsend" --endpoint "$MN_ENDPOINT" --key "$MN_TMP/agents/$name/keys/agent.key" \
        --gateway-key "$MN_GWHOME/keys/gateway.pub" --mode "$mode" "$@"
}

# mn_json_get FILE KEY: the first scalar value of "KEY" anywhere in a JSON file (quotes
# removed). Enough for status.json counters without jq; returns 1 when absent.
mn_json_get() {
    local v
    v=$(tr -d '\n' <"$1" 2>/dev/null |
        grep -oE "\"$2\"[[:space:]]*:[[:space:]]*(\"[^\"]*\"|[^,}[:space:]]+)" | head -n 1 |
        sed -E 's/^"[^"]*"[[:space:]]*:[[:space:]]*//; s/^"(.*)"$/\1/')
    [ -n "$v" ] || return 1
    printf '%s\n' "$v"
}

# mn_status_ge KEY N [HOME]: status.json's KEY is a number >= N (for mn_wait_until).
mn_status_ge() {
    local v
    v=$(mn_json_get "${3:-$MN_GWHOME}/run/status.json" "$1") || return 1
    [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge "$2" ]
}

# mn_log_has FILE ERE: a line of FILE matches ERE; to wait for a log line:
#   mn_wait_until 5 mn_log_has "$MN_GW_LOG" 'admitted peer=alice'
mn_log_has() {
    grep -qE -- "$2" "$1" 2>/dev/null
}
