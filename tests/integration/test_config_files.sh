#!/usr/bin/env bash
# test_config_files.sh - what the programs read at start is a regular file of bounded size: a
# FIFO in place of a key, a configuration or a party file ends `meldnet-gateway -n` (and the
# agent) with a clear error at once instead of hanging; a 5 MB string in gateway.conf is
# refused quickly (libconfig took over 10 s on it).
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
check "the untouched home checks out" "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"

# bounded SECONDS CMD...: run CMD (killed after 20 s, so an unfixed hang ends); ok when it
# failed by itself within SECONDS. Its output stays in $MN_OUT / $MN_ERR.
bounded() {
    local secs=$1 t0 ms
    shift
    t0=$(mn__now_ms)
    timeout -k 5 20 "$@"
    local rc=$?
    ms=$(($(mn__now_ms) - t0))
    echo "exit $rc after ${ms} ms" >&2
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -lt 128 ] && [ "$ms" -lt $((secs * 1000)) ]
}
gw_check() { bounded 5 "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"; }

# fifo_in_place FILE: move FILE aside and put a FIFO there (no writer ever opens it).
fifo_in_place() {
    mv "$1" "$1.real" && mkfifo -m 600 "$1"
}
restore() {
    rm -f "$1" && mv "$1.real" "$1"
}

for f in keys/gateway.key keys/registry.pub keys/digest.key gateway.conf agents/hotline.conf; do
    fifo_in_place "$MN_GWHOME/$f" || mn_bail "set-up: a FIFO for $f"
    check "a FIFO as $f: -n fails at once" gw_check
    check "  and says it is no regular file" grep -qE "FIFO|not a regular file" "$MN_ERR"
    check "  and names the file" grep -qF "$f" "$MN_ERR"
    restore "$MN_GWHOME/$f"
done
check "restored, the home checks out again" "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"

ag=$MN_TMP/agents/hotline
for f in keys/agent.key keys/gateway.pub agent.conf; do
    fifo_in_place "$ag/$f" || mn_bail "set-up: a FIFO for the agent's $f"
    check "a FIFO as the agent's $f: meldnet-agent submit fails at once" \
        bounded 5 "$MN_BIN/meldnet-agent" submit "$MN_SRCDIR/examples/minor-loverboy-acute.json" \
        --home "$ag"
    check "  and says it is no regular file" grep -qE "FIFO|not a regular file" "$MN_ERR"
    restore "$ag/$f"
done

# A 5 MB string: refused for its size, quickly.
cp "$MN_GWHOME/gateway.conf" "$MN_TMP/gateway.conf.orig"
{
    printf '# pasted by mistake\nlog_level = "'
    head -c 5000000 /dev/zero | tr '\0' a
    printf '";\n'
} >>"$MN_GWHOME/gateway.conf"
check "a 5 MB string in gateway.conf: -n fails within 5 s" gw_check
check "  and says the file is too large" grep -q "larger than" "$MN_ERR"
check "  with a hint" grep -q "hint:" "$MN_ERR"
check "meldnet-gateway refuses to start on it as well" \
    bounded 5 "$MN_BIN/meldnet-gateway" --home "$MN_GWHOME"
cp "$MN_TMP/gateway.conf.orig" "$MN_GWHOME/gateway.conf"

# Just under the bound a long string still parses quickly (read from memory, not a FILE).
{
    printf '# '
    head -c 1000000 /dev/zero | tr '\0' a
    printf '\n'
} >>"$MN_GWHOME/gateway.conf"
t0=$(mn__now_ms)
check "a 1 MB comment is still a valid configuration" \
    "$MN_BIN/meldnet-gateway" -n --home "$MN_GWHOME"
check "  checked within 5 s" test $(($(mn__now_ms) - t0)) -lt 5000
mn_finish
