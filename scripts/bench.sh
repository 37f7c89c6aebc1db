#!/usr/bin/env bash
# bench.sh - `make bench`: the real gateway, real partners and a load generator on loopback;
# prints a results table with PASS/FAIL per criterion and saves it to build/bench/results.txt.
#
# Phases (docs/PERFORMANCE.md explains every line of the table):
#   8  machine bound, before the gateway starts: the gateway's per-envelope crypto on every
#      core (mn-bench crypto) and durable LMDB commits/s in the bench's own folder (mn-bench lmdb)
#   1  sustained throughput: BENCH_AGENTS agents x (BENCH_COUNT / agents) pre-sealed reports,
#      window BENCH_WINDOW each, partners offline (this builds their backlog); rate limit raised
#   7  per-stage cost: run/status.json "stages" before and after phase 1
#   2  ack latency, open loop at BENCH_LAT_RATE reports/s (2 agents) for BENCH_LAT_SECONDS
#   3  a flooding agent next to two agents at BENCH_STEADY_RATE/s each, default rate limit
#   4  partner A starts on its backlog; one acute report; time until its file is on A's disk
#   5  drain rate: partner A from its start until its queue is empty or BENCH_DRAIN_SECONDS,
#      then partner B alone the same way (one after the other, so each rate is its own)
#   6  gateway VmRSS sampled every 100 ms through all phases; VmHWM at the end
#
# Environment: MN_BIN (mn-bench, mn-freeport; default build/bin), MN_GW_BIN (meldnet-gateway,
# meldnetctl, meldnet-partner, meldnet-agent; default MN_BIN: point it at another build to
# measure that gateway), BENCH_LABEL (a line for the table), BENCH_KEEP=1 (keep the temp
# folder), BENCH_PAUSE_FUZZ=1 (SIGSTOP running libFuzzer jobs, build-fuzz/fuzz/*, for the run
# and SIGCONT them at the end), and the BENCH_* sizes below.
#
# Exit: 0 when the bench ran (whatever PASS/FAIL says), 1 when it could not run or a result is
# not trustworthy (a receipt that does not verify, a reply that never came), 2 usage.
#
# Caveats: it needs about 2 GB of disk in $TMPDIR (LMDB overflow pages, referral files) and
# both cores; other busy processes make every number worse (the header shows the load average).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${MN_BIN:-$top/build/bin}
gwbin=${MN_GW_BIN:-$bin}
outdir=$top/${MN_BUILD:-build}/bench
results=$outdir/results.txt
report=$top/tests/bench/report.json
acute_report=$top/tests/bench/report-acute.json

COUNT=${BENCH_COUNT:-100000}           # phase 1 reports in all
AGENTS=${BENCH_AGENTS:-4}              # phase 1 agents
WINDOW=${BENCH_WINDOW:-256}            # phase 1 envelopes in flight per agent
LAT_RATE=${BENCH_LAT_RATE:-1000}       # phase 2 reports/s in all (2 agents)
LAT_SECONDS=${BENCH_LAT_SECONDS:-10}
STEADY_RATE=${BENCH_STEADY_RATE:-100}  # phase 3 reports/s of each of the two steady agents
FLOOD_SECONDS=${BENCH_FLOOD_SECONDS:-10}
FLOOD_WINDOW=${BENCH_FLOOD_WINDOW:-1000}
DRAIN_SECONDS=${BENCH_DRAIN_SECONDS:-45}  # phase 5 cap per partner
CRYPTO_SECONDS=${BENCH_CRYPTO_SECONDS:-3}
LMDB_SECONDS=${BENCH_LMDB_SECONDS:-2}
START_TIMEOUT=20

for v in COUNT AGENTS WINDOW LAT_RATE LAT_SECONDS STEADY_RATE FLOOD_SECONDS FLOOD_WINDOW \
    DRAIN_SECONDS CRYPTO_SECONDS LMDB_SECONDS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] ||
        { echo "bench: BENCH_$v=\"${!v}\": give a whole number > 0" >&2; exit 2; }
done
[ "$AGENTS" -le 32 ] || { echo "bench: BENCH_AGENTS: at most 32" >&2; exit 2; }

tmp=
gw_pid=
rss_pid=
partner_pids=()
paused=()
errors=()

say() { printf 'bench: %s\n' "$*" >&2; }

stop_pid() { # PID: SIGTERM, up to 10 s, then SIGKILL; reaps it
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
    for _ in $(seq 100); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

cleanup() {
    local p
    trap - EXIT INT TERM HUP
    for p in "${partner_pids[@]}"; do stop_pid "$p"; done
    stop_pid "$gw_pid"
    stop_pid "$rss_pid"
    for p in "${paused[@]}"; do kill -CONT "$p" 2>/dev/null; done
    if [ -n "$tmp" ] && [ -d "$tmp" ]; then
        if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

die() { # MSG [LOG]: could not run
    say "could not run: $1"
    if [ -n "${2:-}" ] && [ -f "$2" ]; then tail -n 20 "$2" | sed 's/^/bench:   /' >&2; fi
    exit 1
}

# --- small tools -----------------------------------------------------------------------------

now_ms() { local ns; ns=$(date +%s%N); echo $((ns / 1000000)); }

# kv FILE TAG KEY: value of KEY=... on the first line of FILE whose first word is TAG.
kv() {
    awk -v t="$2" -v k="$3" '$1 == t { for (i = 2; i <= NF; i++) { n = index($i, "=");
        if (substr($i, 1, n - 1) == k) { print substr($i, n + 1); exit } } }' "$1"
}
# sv FILE KEY: value of a "key=value" line (mn-bench status output); empty when absent.
sv() { awk -F= -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# calc EXPR: awk arithmetic, printed with %.6g unless EXPR formats itself.
calc() { awk "BEGIN { print $1 }"; }
# int N: thousands separators ("12,345"), rounded.
int() { awk -v n="${1:-0}" 'BEGIN { n = sprintf("%.0f", n); s = ""; neg = n < 0; if (neg) n = -n;
    while (length(n) > 3) { s = "," substr(n, length(n) - 2) s; n = substr(n, 1, length(n) - 3) }
    printf "%s%s%s", neg ? "-" : "", n, s }'; }
f1() { awk -v n="${1:-0}" 'BEGIN { printf "%.1f", n }'; }
f2() { awk -v n="${1:-0}" 'BEGIN { printf "%.2f", n }'; }
le() { awk -v a="${1:-}" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }
ge() { awk -v a="${1:-}" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }
verdict() { if "$@"; then echo PASS; else echo FAIL; fi; }

files_in() { find "$1" -maxdepth 1 -name 'MN-*.json' 2>/dev/null | wc -l; }

# --- processes -------------------------------------------------------------------------------

start_gateway() {
    rm -f "$home/run/status.json"
    "$gwbin/meldnet-gateway" --home "$home" >>"$tmp/gateway.log" 2>&1 </dev/null &
    gw_pid=$!
    echo "$gw_pid" >"$tmp/gateway.pid"
    local deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while [ ! -e "$home/run/status.json" ]; do
        if ! kill -0 "$gw_pid" 2>/dev/null; then
            wait "$gw_pid"
            gw_pid=
            die "the gateway exited at start" "$tmp/gateway.log"
        fi
        [ "$(now_ms)" -lt "$deadline" ] ||
            die "the gateway wrote no status.json in ${START_TIMEOUT}s" "$tmp/gateway.log"
        sleep 0.05
    done
}

stop_gateway() {
    local p=$gw_pid
    gw_pid=
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$p" 2>/dev/null; then
        kill -KILL "$p"
        errors+=("the gateway ignored SIGTERM for 10 s")
    fi
    wait "$p" 2>/dev/null
}

gateway_alive() { # PHASE
    kill -0 "$gw_pid" 2>/dev/null && return 0
    wait "$gw_pid" 2>/dev/null
    local rc=$?
    gw_pid=
    die "the gateway died during $1 (exit status $rc)" "$tmp/gateway.log"
}

set_limits() { # RATE BURST AGENT_INFLIGHT
    sed -i -e "s/^\( *agent_rate_per_s = \).*/\1$1;/" -e "s/^\( *agent_burst = \).*/\1$2;/" \
        -e "s/^\( *agent_inflight_max = \).*/\1$3;/" \
        "$home/gateway.conf" || die "cannot edit gateway.conf"
    grep -q "^ *agent_rate_per_s = $1;" "$home/gateway.conf" ||
        die "gateway.conf has no agent_rate_per_s line"
}

status_snap() { # FILE
    "$bin/mn-bench" status "$home/run/status.json" >"$1" || die "cannot read $home/run/status.json"
}

start_partner() { # NAME
    mkdir -p "$tmp/out-$1"
    "$gwbin/meldnet-partner" listen --out "$tmp/out-$1" --home "$tmp/partners/$1" \
        >>"$tmp/partner-$1.log" 2>&1 </dev/null &
    partner_pids+=($!)
}

stop_partners() {
    local p
    for p in "${partner_pids[@]}"; do stop_pid "$p"; done
    partner_pids=()
}

queue_items() { # PARTNER: items in its queue (meldnetctl queue list)
    "$gwbin/meldnetctl" queue list --home "$home" 2>/dev/null |
        awk -v p="$1" '$1 == p { print $2; exit }'
}

load() { # OUT ARGS...: mn-bench load against the gateway, output kept in OUT
    local out=$1
    shift
    "$bin/mn-bench" load --endpoint "$endpoint" --gateway-key "$home/keys/gateway.pub" "$@" \
        >"$out" 2>"$out.err"
    local rc=$?
    [ "$rc" -eq 0 ] || die "mn-bench load exited with status $rc: $(tail -n 3 "$out.err")"
}

akey() { echo "$tmp/agents/$1/keys/agent.key"; }

# no_bad_receipts PHASE FILE KEY...: an error for each count KEY of FILE's load line above 0.
no_bad_receipts() {
    local phase=$1 file=$2 k n
    shift 2
    for k in "$@"; do
        n=$(kv "$file" load "$k")
        [ "${n:-0}" -eq 0 ] || errors+=("phase $phase: $n receipts $k")
    done
}

# --- checks and set-up -----------------------------------------------------------------------

for p in "$gwbin/meldnet-gateway" "$gwbin/meldnetctl" "$gwbin/meldnet-partner" \
    "$gwbin/meldnet-agent" "$bin/mn-bench" "$bin/mn-freeport"; do
    [ -x "$p" ] || die "$p is not built (make test-bins)"
done
[ -f "$report" ] && [ -f "$acute_report" ] ||
    die "tests/bench/report.json or report-acute.json is missing"
mkdir -p "$outdir" || die "cannot create $outdir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/meldnet-bench.XXXXXX") || die "mktemp -d failed"
home=$tmp/gw
run_start=$(now_ms)

# Other busy processes (ps's %CPU is over each one's lifetime: a hint, not a measurement).
busy=$(ps -eo pcpu=,comm= --sort=-pcpu 2>/dev/null |
    awk '$1 >= 20 { printf "%s%s(%s%%)", s, $2, $1; s = " " }')
if [ "${BENCH_PAUSE_FUZZ:-0}" = 1 ]; then
    for p in $(pgrep -f 'build-fuzz/fuzz/' 2>/dev/null); do
        kill -STOP "$p" 2>/dev/null && paused+=("$p")
    done
    [ ${#paused[@]} -eq 0 ] || say "paused ${#paused[@]} libFuzzer job(s) for the run: ${paused[*]}"
fi

port=$("$bin/mn-freeport") || die "no free TCP port"
dport=$("$bin/mn-freeport") || die "no free TCP port"
[ "$dport" != "$port" ] || dport=$("$bin/mn-freeport")
mport=$("$bin/mn-freeport") || die "no free TCP port"
while [ "$mport" = "$port" ] || [ "$mport" = "$dport" ]; do mport=$("$bin/mn-freeport"); done
endpoint=tcp://127.0.0.1:$port
say "home $home, ingest $endpoint, delivery tcp://127.0.0.1:$dport"

"$gwbin/meldnetctl" init --home "$home" --listen "$endpoint" \
    --delivery-listen "tcp://127.0.0.1:$dport" --metrics-listen "127.0.0.1:$mport" \
    >>"$tmp/setup.log" 2>&1 ||
    die "meldnetctl init failed" "$tmp/setup.log"
mkdir -p "$tmp/agents" "$tmp/partners"
load_agents=()
for i in $(seq "$AGENTS"); do load_agents+=("load-$i"); done
for name in "${load_agents[@]}" lat-1 lat-2 steady-1 steady-2 flood acute; do
    "$gwbin/meldnet-agent" keygen "$name" --home "$tmp/agents/$name" --gateway "$endpoint" \
        --gateway-key "$home/keys/gateway.pub" >>"$tmp/setup.log" 2>&1 ||
        die "agent keygen $name failed" "$tmp/setup.log"
    line=$(grep -m1 '^meldnet1 agent ' "$tmp/agents/$name/keys/agent.pub")
    "$gwbin/meldnetctl" agent add "$name" "$line" --region midden-nederland --home "$home" \
        >>"$tmp/setup.log" 2>&1 || die "agent add $name failed" "$tmp/setup.log"
done
# Two partners bound to every topic: each bench report queues one item for each.
for spec in partner-a:police:full partner-b:care:pseudonymous; do
    IFS=: read -r name kind sharing <<<"$spec"
    "$gwbin/meldnet-partner" keygen "$name" --home "$tmp/partners/$name" \
        --gateway "tcp://127.0.0.1:$dport" --gateway-key "$home/keys/gateway.pub" \
        >>"$tmp/setup.log" 2>&1 || die "partner keygen $name failed" "$tmp/setup.log"
    line=$(grep -m1 '^meldnet1 partner ' "$tmp/partners/$name/keys/partner.pub")
    "$gwbin/meldnetctl" partner add "$name" "$line" --kind "$kind" --bind "*=$sharing" \
        --home "$home" >>"$tmp/setup.log" 2>&1 || die "partner add $name failed" "$tmp/setup.log"
done
routed=$("$gwbin/meldnetctl" route test "$report" --home "$home" 2>/dev/null | grep -c '^partner ')
[ "$routed" = 2 ] || die "the bench report does not route to both partners (meldnetctl route test: $routed)"
# 100,000 reports make ~1.3 GB of LMDB (values over ~2 KiB take a whole 4 KiB overflow page).
sed -i -e 's/^\( *map_size_mb = \).*/\116384;/' "$home/gateway.conf"
"$gwbin/meldnet-gateway" -n --home "$home" >>"$tmp/setup.log" 2>&1 ||
    die "gateway.conf does not check" "$tmp/setup.log"

# --- 8: the machine's bound, before the gateway starts ----------------------------------------

say "machine bound: crypto on every core (${CRYPTO_SECONDS}s), LMDB commits (${LMDB_SECONDS}s)"
"$bin/mn-bench" crypto --report "$report" --seconds "$CRYPTO_SECONDS" >"$tmp/crypto.txt" 2>&1 ||
    die "mn-bench crypto failed" "$tmp/crypto.txt"
"$bin/mn-bench" lmdb "$tmp/lmdb-probe" --seconds "$LMDB_SECONDS" >"$tmp/lmdb.txt" 2>&1 ||
    die "mn-bench lmdb failed" "$tmp/lmdb.txt"
rm -rf "$tmp/lmdb-probe"
# The same writes in batches of 128 registrations (the gateway's group commits): the CPU one
# registration's durable storage costs, for the information line under the bound.
"$bin/mn-bench" lmdb "$tmp/lmdb-probe" --seconds "$LMDB_SECONDS" --batch 128 \
    >"$tmp/lmdb-batch.txt" 2>&1 || die "mn-bench lmdb --batch failed" "$tmp/lmdb-batch.txt"
rm -rf "$tmp/lmdb-probe"
bound=$(kv "$tmp/crypto.txt" crypto envelopes_per_s)
threads=$(kv "$tmp/crypto.txt" crypto threads)
one_thread=$(kv "$tmp/crypto.txt" crypto_one_thread envelopes_per_s)
one_us=$(kv "$tmp/crypto.txt" crypto_one_thread us_per_envelope)
commits_s=$(kv "$tmp/lmdb.txt" lmdb commits_per_s)
store_us=$(kv "$tmp/lmdb-batch.txt" lmdb cpu_us_per_registration)
# Crypto and durable storage on the same cores: threads / (core-seconds of both per envelope).
bound_store=$(calc "$threads / ($threads / $bound + $store_us / 1000000)")

phase() { echo "$1" >"$tmp/phase"; } # names the phase for the RSS sampler
phase start
"$bin/mn-bench" rss --pidfile "$tmp/gateway.pid" --out "$tmp/rss.txt" --phase-file "$tmp/phase" \
    --interval-ms 100 >/dev/null 2>&1 </dev/null &
rss_pid=$!

# --- 1: sustained throughput -------------------------------------------------------------------

set_limits 1000000 1000000 1000000
start_gateway
per_agent=$(((COUNT + AGENTS - 1) / AGENTS))
total1=$((per_agent * AGENTS))
say "phase 1: $AGENTS agents x $(int $per_agent) reports, window $WINDOW, partners offline"
status_snap "$tmp/status0.txt"
phase 1-throughput
keys=()
for a in "${load_agents[@]}"; do keys+=(--key "$(akey "$a")"); done
load "$tmp/phase1.txt" --report "$report" "${keys[@]}" --max --count "$per_agent" \
    --window "$WINDOW" --skip 1
gateway_alive "phase 1"
acc1=$(kv "$tmp/phase1.txt" load accepted)
"$bin/mn-bench" wait "$home/run/status.json" accepted \
    $(($(sv "$tmp/status0.txt" accepted) + acc1)) --timeout-s 5 >/dev/null
status_snap "$tmp/status1.txt"
tput=$(kv "$tmp/phase1.txt" load steady_rate)
no_bad_receipts 1 "$tmp/phase1.txt" unverified lost unmatched
rej1=$(kv "$tmp/phase1.txt" load rejected)
dup1=$(kv "$tmp/phase1.txt" load duplicate)

# --- 2, 3: latency and fairness, default rate limit -------------------------------------------

stop_gateway
set_limits 1000 5000 64
phase restart
start_gateway
phase 2-latency
per_lat=$(calc "$LAT_RATE / 2")
say "phase 2: open loop at $LAT_RATE reports/s (2 agents x $per_lat/s) for ${LAT_SECONDS}s"
load "$tmp/phase2.txt" --report "$report" --key "$(akey lat-1)" --key "$(akey lat-2)" \
    --rate "$per_lat" --duration "$LAT_SECONDS" --timeout-ms 10000
gateway_alive "phase 2"
no_bad_receipts 2 "$tmp/phase2.txt" unverified unmatched

phase 3-flood
say "phase 3: one flooding agent (window $FLOOD_WINDOW) next to 2 agents at $STEADY_RATE/s, ${FLOOD_SECONDS}s"
flood_pool=$((5000 + 1500 * (FLOOD_SECONDS + 2) + 2 * FLOOD_WINDOW))
load "$tmp/phase3.txt" --report "$report" --key "$(akey steady-1)" --key "$(akey steady-2)" \
    --rate "$STEADY_RATE" --duration "$FLOOD_SECONDS" --flood-key "$(akey flood)" \
    --flood-window "$FLOOD_WINDOW" --flood-count "$flood_pool" --flood-lead 1 --timeout-ms 10000
gateway_alive "phase 3"
no_bad_receipts 3 "$tmp/phase3.txt" unverified unmatched

# --- 4: acute report behind the backlog ------------------------------------------------------

backlog_a=$(queue_items partner-a)
backlog_b=$(queue_items partner-b)
[ -n "$backlog_a" ] && [ -n "$backlog_b" ] || die "meldnetctl queue list shows no partner queues"
say "phase 4: partner A starts on its backlog of $(int "$backlog_a"); one acute report"
"$bin/mn-bench" status "$home/run/status.json" >"$tmp/status2.txt"
acks0=$(sv "$tmp/status2.txt" acks)
phase 4-5-partner-A
a_start=$(now_ms)
start_partner partner-a
# Wait until the drain is under way (files are arriving), then submit.
deadline=$(($(now_ms) + 30000))
while [ "$(files_in "$tmp/out-partner-a")" -lt 100 ]; do
    [ "$(now_ms)" -lt "$deadline" ] ||
        die "partner A wrote no referrals in 30 s" "$tmp/partner-partner-a.log"
    kill -0 "${partner_pids[0]}" 2>/dev/null || die "partner A exited" "$tmp/partner-partner-a.log"
    sleep 0.1
done
"$bin/mn-bench" acute --endpoint "$endpoint" --gateway-key "$home/keys/gateway.pub" \
    --key "$(akey acute)" --report "$acute_report" --out-dir "$tmp/out-partner-a" \
    --timeout-ms 60000 >"$tmp/phase4.txt" 2>"$tmp/phase4.err"
acute_rc=$?
gateway_alive "phase 4"
acute_ms=$(kv "$tmp/phase4.txt" acute on_disk_ms)
acute_receipt_ms=$(kv "$tmp/phase4.txt" acute receipt_ms)
acute_before=$(kv "$tmp/phase4.txt" acute delivered_before)
[ "$acute_rc" -eq 0 ] ||
    errors+=("phase 4: the acute report did not reach partner A: $(tail -n 1 "$tmp/phase4.err")")
[ "$(kv "$tmp/phase4.txt" acute verified)" = yes ] || errors+=("phase 4: the acute receipt did not verify")

# --- 5: drain rates ----------------------------------------------------------------------------

drain() { # PARTNER START_MS ACKS_BEFORE BACKLOG -> sets d_rate d_done d_left d_eta d_secs
    local target=$(($3 + $4)) left_s
    left_s=$(calc "($DRAIN_SECONDS * 1000 - ($(now_ms) - $2)) / 1000")
    ge "$left_s" 0.1 || left_s=0.1
    "$bin/mn-bench" wait "$home/run/status.json" acks "$target" --timeout-s "$left_s" \
        >"$tmp/drain-$1.txt"
    local acks written
    acks=$(kv "$tmp/drain-$1.txt" wait value)
    written=$(kv "$tmp/drain-$1.txt" wait written_ms)
    d_done=$(kv "$tmp/drain-$1.txt" wait reached)
    d_secs=$(calc "($written - $2) / 1000")
    d_rate=$(calc "($acks - $3) / (($written - $2) / 1000)")
    d_left=$((target - acks))
    d_eta=$(calc "$d_left / ($d_rate > 0 ? $d_rate : 1)")
}
say "phase 5: partner A drains (until empty or ${DRAIN_SECONDS}s from its start)"
drain partner-a "$a_start" "$acks0" $((backlog_a + 1))
a_rate=$d_rate a_done=$d_done a_left=$d_left a_eta=$d_eta a_secs=$d_secs
gateway_alive "phase 5"
stop_partners
status_snap "$tmp/status3.txt"
acks1=$(sv "$tmp/status3.txt" acks)
backlog_b=$(queue_items partner-b)
say "phase 5: partner B alone on its backlog of $(int "$backlog_b")"
phase 5-partner-B
b_start=$(now_ms)
start_partner partner-b
drain partner-b "$b_start" "$acks1" "$backlog_b"
b_rate=$d_rate b_done=$d_done b_left=$d_left b_eta=$d_eta b_secs=$d_secs
gateway_alive "phase 5"
stop_partners

# --- 6: memory at the end ---------------------------------------------------------------------

hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$gw_pid/status" 2>/dev/null)
stop_gateway
stop_pid "$rss_pid"
rss_pid=
max_rss_kb=$(kv "$tmp/rss.txt" rss max_rss_kb)
max_hwm_kb=$(kv "$tmp/rss.txt" rss max_hwm_kb)
max_anon_kb=$(kv "$tmp/rss.txt" rss max_anon_kb)
max_file_kb=$(kv "$tmp/rss.txt" rss max_file_kb)
rss_samples=$(kv "$tmp/rss.txt" rss samples)
[ -n "$hwm_kb" ] || hwm_kb=$max_hwm_kb
[ "${max_hwm_kb:-0}" -gt "${hwm_kb:-0}" ] && hwm_kb=$max_hwm_kb
run_s=$(calc "($(now_ms) - $run_start) / 1000")

# --- the table -----------------------------------------------------------------------------

mb() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }
stage_line() { # NAME
    local ns0 ns1 it0 it1
    ns0=$(sv "$tmp/status0.txt" "stage_$1_ns") ns1=$(sv "$tmp/status1.txt" "stage_$1_ns")
    it0=$(sv "$tmp/status0.txt" "stage_$1_items") it1=$(sv "$tmp/status1.txt" "stage_$1_items")
    if [ -z "$ns1" ] || [ -z "$it1" ] || [ "$((it1 - ${it0:-0}))" -le 0 ]; then
        printf '    %-14s %s\n' "$1" "n/a"
    else
        printf '    %-14s %8s µs/envelope   (%s envelopes)\n' "$1" \
            "$(f1 "$(calc "($ns1 - ${ns0:-0}) / ($it1 - ${it0:-0}) / 1000")")" "$(int $((it1 - ${it0:-0})))"
    fi
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
fs=$(df -PT "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 " (" $1 ")" }')
rev=$(git -C "$(cd "$gwbin/../.." 2>/dev/null && pwd)" describe --always --dirty 2>/dev/null || echo unknown)
frame=$(kv "$tmp/phase1.txt" load frame_bytes)
rbytes=$(kv "$tmp/crypto.txt" crypto report_bytes)
frac=$(calc "$tput / $bound * 100")
frac_store=$(calc "$tput / $bound_store * 100")
lat_p50=$(kv "$tmp/phase2.txt" load p50_ms) lat_p99=$(kv "$tmp/phase2.txt" load p99_ms)
lat_p999=$(kv "$tmp/phase2.txt" load p999_ms) lat_max=$(kv "$tmp/phase2.txt" load max_ms)
lat_sent=$(kv "$tmp/phase2.txt" load sent)
lat_got=$(($(kv "$tmp/phase2.txt" load accepted) + $(kv "$tmp/phase2.txt" load duplicate)))
lat_rej=$(kv "$tmp/phase2.txt" load rejected)
st_p99=$(kv "$tmp/phase3.txt" load p99_ms) st_p50=$(kv "$tmp/phase3.txt" load p50_ms)
st_sent=$(kv "$tmp/phase3.txt" load sent)
st_got=$(($(kv "$tmp/phase3.txt" load accepted) + $(kv "$tmp/phase3.txt" load duplicate)))
fl_frames=$(kv "$tmp/phase3.txt" flood frames)
fl_acc=$(kv "$tmp/phase3.txt" flood accepted)
fl_rl=$(kv "$tmp/phase3.txt" flood reject_RATE_LIMITED)
fl_ov=$(kv "$tmp/phase3.txt" flood reject_OVERLOADED)
fl_rej=$(kv "$tmp/phase3.txt" flood rejected)
commits_d=$(($(sv "$tmp/status1.txt" commits) - $(sv "$tmp/status0.txt" commits)))
acc_d=$(($(sv "$tmp/status1.txt" accepted) - $(sv "$tmp/status0.txt" accepted)))

v_tput=$(verdict eval 'ge "$tput" 5000 && ge "$frac" 70')
v_lat=$(verdict eval 'le "$lat_p99" 10 && [ "$lat_got" -eq "$lat_sent" ]')
v_acute=$(verdict eval '[ "$acute_rc" -eq 0 ] && le "$acute_ms" 50 && [ "$backlog_a" -ge 100000 ] &&
    [ "$((acute_before * 10))" -lt "$backlog_a" ]')
rss_top=$max_rss_kb
[ "${hwm_kb:-0}" -gt "${rss_top:-0}" ] && rss_top=$hwm_kb
v_rss=$(verdict le "$rss_top" $((128 * 1024)))
v_fair=$(verdict eval 'le "$st_p99" 10 && [ "$st_got" -eq "$st_sent" ]')
drain_word() { # DONE SECONDS LEFT ETA
    if [ "$1" = 1 ]; then
        echo "empty after $(f1 "$2") s"
    else
        echo "not empty after $(f1 "$2") s: $(int "$3") left, ~$(int "$4") s more at this rate"
    fi
}

{
    echo "meldnet bench — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    [ -z "${BENCH_LABEL:-}" ] || echo "label:    $BENCH_LABEL"
    echo "machine:  $cpu, $(nproc) cores, kernel $(uname -r), home on ${fs:-?}"
    echo "gateway:  $gwbin/meldnet-gateway (git $rev)"
    echo "load:     load average $(cut -d' ' -f1-3 /proc/loadavg) at the end${busy:+; busy at the start: $busy}${paused:+; paused ${#paused[@]} libFuzzer job(s)}"
    echo "reports:  $(int "$rbytes") B serialized (tests/bench/report.json + a tag), $(int "$frame") B frame; each -> registry + 2 partners"
    echo
    echo "8  machine bound (before the gateway started)"
    echo "   crypto per envelope, $threads threads        $(int "$bound") envelopes/s   (1 thread: $(int "$one_thread")/s, $(f1 "$one_us") µs each)"
    echo "   LMDB durable commits (7 KiB txn)     $(int "$commits_s") commits/s"
    echo "   bound = the crypto rate              $(int "$bound") envelopes/s"
    echo "   (information: + durable storage, $(f1 "$store_us") µs CPU per registration in batches of 128:" \
        "$(int "$bound_store")/s)"
    echo
    echo "1  sustained throughput, $AGENTS agents x $(int "$per_agent"), window $WINDOW, fsync, partners offline"
    echo "   throughput $(int "$tput")/s = $(f1 "$frac")% of bound $(int "$bound")/s        $v_tput  (>= 5,000/s and >= 70%)"
    echo "   (information: $(f1 "$frac_store")% of the bound with durable storage, $(int "$bound_store")/s)"
    [ "$(kv "$tmp/phase1.txt" load steady)" = 1 ] ||
        echo "   (over the whole run: too short for a steady second; raise BENCH_COUNT)"
    printf '   %s accepted, %s duplicates, %s rejected; receipts verified: %s failed;' \
        "$(int "$acc1")" "$(int "$dup1")" "$(int "$rej1")" "$(int "$(kv "$tmp/phase1.txt" load unverified)")"
    printf ' closed-loop latency p50 %s ms p99 %s ms\n' "$(f1 "$(kv "$tmp/phase1.txt" load p50_ms)")" \
        "$(f1 "$(kv "$tmp/phase1.txt" load p99_ms)")"
    echo
    echo "7  per-stage cost in phase 1 (run/status.json \"stages\")"
    if [ "$(sv "$tmp/status1.txt" stages)" = yes ]; then
        for s in receive verify_open build register commit acknowledge; do stage_line "$s"; done
    else
        echo "    n/a (this gateway's status.json has no \"stages\")"
    fi
    if [ "$commits_d" -gt 0 ]; then
        echo "    mean batch     $(f1 "$(calc "$acc_d / $commits_d")") envelopes/commit ($(int "$acc_d") accepted / $(int "$commits_d") commits)"
    else
        echo "    mean batch     n/a"
    fi
    echo
    echo "2  ack latency, open loop $(int "$LAT_RATE")/s, 2 agents, ${LAT_SECONDS} s"
    echo "   p50 $(f2 "$lat_p50") ms  p99 $(f2 "$lat_p99") ms  p99.9 $(f2 "$lat_p999") ms  max $(f2 "$lat_max") ms   $v_lat  (p99 <= 10 ms)"
    echo "   $(int "$lat_got") of $(int "$lat_sent") receipts, $(int "$lat_rej") rejected"
    echo
    echo "3  flooding agent (window $FLOOD_WINDOW) next to 2 agents at $STEADY_RATE/s, default limits: 1,000/s, burst 5,000, 64 in flight"
    echo "   neighbours: p50 $(f2 "$st_p50") ms  p99 $(f2 "$st_p99") ms, $(int "$st_got") of $(int "$st_sent") receipts   $v_fair  (p99 <= 10 ms, all receipts)"
    printf '   flooder: %s frames, %s accepted, RATE_LIMITED %s, OVERLOADED %s, other rejects %s\n' \
        "$(int "$fl_frames")" "$(int "$fl_acc")" "$(int "${fl_rl:-0}")" "$(int "${fl_ov:-0}")" \
        "$(int $((${fl_rej:-0} - ${fl_rl:-0} - ${fl_ov:-0})))"
    echo
    echo "4  acute report behind partner A's backlog of $(int "$backlog_a") items"
    printf "   on partner A's disk %s ms after submit (receipt %s ms); A had delivered %s (%s%%)" \
        "$(f1 "$acute_ms")" "$(f1 "$acute_receipt_ms")" "$(int "$acute_before")" \
        "$(f1 "$(calc "$acute_before * 100 / $backlog_a")")"
    echo "   $v_acute  (<= 50 ms, backlog >= 100,000, < 10% delivered)"
    echo
    echo "5  backlog drain, one partner at a time (A first, then B alone), from partner start"
    echo "   partner A  $(int "$a_rate") items/s, $(drain_word "$a_done" "$a_secs" "$a_left" "$a_eta")"
    echo "   partner B  $(int "$b_rate") items/s, $(drain_word "$b_done" "$b_secs" "$b_left" "$b_eta")"
    echo
    echo "6  gateway memory, $(int "$rss_samples") samples every 100 ms through all phases"
    echo "   VmRSS max $(mb "$max_rss_kb") MB, VmHWM $(mb "$hwm_kb") MB   $v_rss  (<= 128 MB)"
    echo "   of which at most: RssAnon (heap, stacks) $(mb "$max_anon_kb") MB, RssFile (mostly the LMDB map) $(mb "$max_file_kb") MB"
    echo "   max VmRSS (RssAnon) by phase:$(awk '$1 == "rss_phase" { for (i = 2; i <= NF; i++) { split($i, kv, "=");
        v[kv[1]] = kv[2] } printf "%s %s %.0f (%.0f)", sep, v["name"], v["max_rss_kb"] / 1024,
        v["max_anon_kb"] / 1024; sep = " ·" }' "$tmp/rss.txt") MB"
    echo
    echo "criteria: throughput $v_tput · latency $v_lat · acute $v_acute · RSS $v_rss · flood neighbours $v_fair"
    if [ ${#errors[@]} -gt 0 ]; then
        echo "ERRORS (results not trustworthy):"
        printf '   %s\n' "${errors[@]}"
    fi
    echo "bench ran in $(f1 "$run_s") s (MB = 1,048,576 bytes)"
} | tee "$results"

[ ${#errors[@]} -eq 0 ] || exit 1
exit 0
