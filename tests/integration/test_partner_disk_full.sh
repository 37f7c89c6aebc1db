#!/usr/bin/env bash
# test_partner_disk_full.sh - a partner whose disk is full for 20 seconds defers every referral
# (a transient nack) instead of refusing it: the gateway keeps sending them again every few
# seconds without counting them towards max_nacks, holds none, raises no alarm, and once there
# is space again every referral is delivered within a minute.
#
# The full disk is real. As root with mount rights (CI's container), the partner runs in a
# mount namespace of its own with its --out folder on a 1 MiB tmpfs, which the test fills with
# a file and later deletes (ENOSPC); the mount dies with the partner. Where mounting is not
# allowed, the partner's file size limit (RLIMIT_FSIZE, set on the running process with
# prlimit --pid) is lowered to 1 byte and later lifted, so its writes fail with EFBIG. Set
# MN_DISK_FULL=fsize to force the second way. Either way meldnet-partner sees a write fail.
. "$(dirname "$0")/lib.sh"
mn_setup
mn_init_gateway || mn_bail "meldnetctl init"
mn_acute_routes_only
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police police police.acute=full || mn_bail "partner"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"

out=$MN_TMP/out-police
mkdir -p "$out"
chmod 700 "$out"
# How the disk fills: a tmpfs where mounting works, else the file size limit.
way=${MN_DISK_FULL:-}
if [ -z "$way" ]; then
    way=fsize
    if unshare -m --propagation private sh -c \
        'mount -t tmpfs -o size=64k mn-probe "$1" && umount "$1"' sh "$out" 2>/dev/null; then
        way=tmpfs
    fi
fi
echo "# the partner's disk fills by: $way"
if [ "$way" = tmpfs ]; then
    mn_spawn partner-police unshare -m --propagation private sh -c \
        'mount -t tmpfs -o size=1m,mode=0700 mn-partner-out "$1" && shift && exec "$@"' sh \
        "$out" "$MN_BIN/meldnet-partner" listen --out "$out" --home "$MN_TMP/partners/police"
    partner=$MN_LAST_PID
    partner_log=$MN_LAST_LOG
    # The partner's view of its folder: through its own mount namespace.
    disk=/proc/$partner/root$out
    fill() { dd if=/dev/zero of="$disk/fill" bs=64k 2>/dev/null; test -s "$disk/fill"; }
    free_space() { rm -f "$disk/fill"; }
    files() { find "$disk" -maxdepth 1 -name 'MN-*.json' 2>/dev/null | wc -l; }
else
    mn_start_partner police
    partner=$MN_LAST_PID
    partner_log=$MN_LAST_LOG
    soft=$(prlimit --pid "$partner" --fsize --output SOFT --noheadings | tr -d ' ')
    fill() { prlimit --pid "$partner" --fsize=1:; }
    free_space() { prlimit --pid "$partner" --fsize="$soft":; }
    files() { mn_files police; }
fi
files_ge() { [ "$(files)" -ge "$1" ]; }
registered_ge() { [ "$(mn_ctl registry count)" -ge "$1" ]; }
check "the partner subscribes" mn_wait_until 20 mn_log_has "$MN_GW_LOG" 'subscribed partner=police'

report() { # report N: an acute report that differs from the others in its narrative
    sed "s/\"narrative\": \"/\"narrative\": \"[disk full #$1] /" \
        "$MN_SRCDIR/examples/minor-loverboy-acute.json" >"$MN_TMP/r.json"
    mn__quiet mn_agent hotline submit "$MN_TMP/r.json" --wait 0
}
report 0
mn_spawn agent "$MN_BIN/meldnet-agent" run --home "$MN_TMP/agents/hotline"
check "with room on its disk the partner stores a referral" mn_wait_until 30 files_ge 1

check "the partner's disk is full" fill
n=40
for i in $(seq 1 "$n"); do
    report "$i"
done
full_since=$(date +%s)
check "every report is registered while the partner's disk is full" \
    mn_wait_until 60 registered_ge $((n + 1))
check "the partner defers them: transient nacks" \
    mn_wait_until 30 mn_status_ge nacks_transient "$n"
# Keep the disk full for 20 seconds in all, as on the bad day.
while [ $(($(date +%s) - full_since)) -lt 20 ]; do sleep 0.5; done
check_eq "nothing was stored while the disk was full" 1 "$(files)"
check_match "after 20 seconds of a full disk nothing is held" '^held: 0$' mn_ctl hold list
check_eq "no item went to the hold queue" 0 "$(mn_json_get "$MN_GWHOME/run/status.json" held)"
if [ "$way" = tmpfs ]; then
    check "the partner logged the deferrals" mn_log_has "$partner_log" 'outcome=deferred'
fi

check "space returns" free_space
check "every referral is delivered within a minute of space returning" \
    mn_wait_until 60 files_ge $((n + 1))
check_eq "each once" $((n + 1)) "$(files)"
check_match "none is held" '^held: 0$' mn_ctl hold list
check_eq "no acute referral raised the hold alarm" 0 \
    "$(mn_json_get "$MN_GWHOME/run/status.json" held_acute)"
check "the deferrals are in the metrics" \
    mn_wait_until 5 sh -c "curl -fsS --max-time 5 http://$MN_METRICS/metrics |
        awk '\$1 == \"meldnet_nacks_transient_total\" && \$2 >= $n { f = 1 } END { exit !f }'"
check_exit "the partner stops cleanly" 0 mn_stop "$partner"
mn_finish
