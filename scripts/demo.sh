#!/usr/bin/env bash
# demo.sh - meldnet on loopback: a fresh gateway home with generated keys, a gateway, three
# agents (a district team, a school, the national minors hotline) and three partners (police, a
# regional care coordinator, the forensic research team); the example reports are submitted,
# each receipt shown, the registry count, which referrals each partner received and how much
# of each it may see; then everything it started is stopped.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/${MN_BUILD:-build}/bin"
demo=$(mktemp -d "${TMPDIR:-/tmp}/meldnet-demo.XXXXXX")
gw_pid=""
partner_pids=()

stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

cleanup() {
    for p in "${partner_pids[@]}"; do stop_pid "$p"; done
    [ -n "$gw_pid" ] && stop_pid "$gw_pid"
    if [ "${MN_KEEP:-0}" = 1 ]; then echo "demo: kept $demo"; else rm -rf "$demo"; fi
}
trap cleanup EXIT

# A free port on 127.0.0.1, asked of the kernel.
port=$("$bin/mn-freeport" 2>/dev/null || echo 7411)
dport=$("$bin/mn-freeport" 2>/dev/null || echo 7412)
[ "$dport" != "$port" ] || dport=$((port + 1))
mport=$("$bin/mn-freeport" 2>/dev/null || echo 9464)
[ "$mport" != "$port" ] && [ "$mport" != "$dport" ] || mport=$((dport + 1))
home="$demo/gateway"
step() { printf '\n== %s\n' "$*"; }

step "gateway home with fresh keys"
"$bin/meldnetctl" init --home "$home" --listen "tcp://127.0.0.1:$port" \
    --delivery-listen "tcp://127.0.0.1:$dport" --metrics-listen "127.0.0.1:$mport"

step "three agents, registered with the gateway"
declare -A agent_region=([district-utrecht]=midden-nederland [school-amsterdam]=amsterdam
                         [minors-hotline]=landelijk)
for name in district-utrecht school-amsterdam minors-hotline; do
    line=$("$bin/meldnet-agent" keygen "$name" --home "$demo/$name" \
        --gateway "tcp://127.0.0.1:$port" --gateway-key "$home/keys/gateway.pub" | tail -n 1)
    "$bin/meldnetctl" agent add "$name" "$line" --region "${agent_region[$name]}" --home "$home"
done
"$bin/meldnetctl" agent list --home "$home"

step "three partners, each bound to the topics it may receive"
add_partner() { # NAME KIND BINDING...
    local name=$1 kind=$2 line b args=()
    shift 2
    line=$("$bin/meldnet-partner" keygen "$name" --home "$demo/$name" \
        --gateway "tcp://127.0.0.1:$dport" --gateway-key "$home/keys/gateway.pub" | tail -n 1)
    for b in "$@"; do args+=(--bind "$b"); done
    "$bin/meldnetctl" partner add "$name" "$line" --kind "$kind" "${args[@]}" --home "$home"
}
# The police get what the chain sends them (acute danger); a care coordinator its own region.
add_partner police-landelijk police police.acute=full
add_partner zorgcoordinator-midden care care.midden-nederland=full shelter.coordination=full
add_partner onderzoek-online research research.online=pseudonymous
"$bin/meldnetctl" partner list --home "$home"

step "what the rules make of one report (meldnetctl route test, changes nothing)"
"$bin/meldnetctl" route test "$top/examples/minor-loverboy-acute.json" --home "$home" |
    grep -E '^(topic|unbound|partner) ' || true

step "gateway on tcp://127.0.0.1:$port"
"$bin/meldnet-gateway" --home "$home" 2>"$demo/gateway.log" &
gw_pid=$!
for _ in $(seq 100); do
    [ -f "$home/run/status.json" ] && break
    kill -0 "$gw_pid" 2>/dev/null || { cat "$demo/gateway.log"; exit 1; }
    sleep 0.1
done
[ -f "$home/run/status.json" ] || { echo "demo: gateway did not start"; cat "$demo/gateway.log"; exit 1; }

step "partners listening on tcp://127.0.0.1:$dport"
for name in police-landelijk zorgcoordinator-midden onderzoek-online; do
    mkdir -p "$demo/received/$name"
    "$bin/meldnet-partner" listen --out "$demo/received/$name" --home "$demo/$name" \
        2>"$demo/$name.log" &
    partner_pids+=($!)
done

step "submitting the example reports"
agents=(district-utrecht school-amsterdam minors-hotline)
i=0
for report in "$top"/examples/*.json; do
    name=${agents[$((i % 3))]}
    i=$((i + 1))
    printf -- '-- %s submits %s\n' "$name" "$(basename "$report")"
    "$bin/meldnet-agent" submit "$report" --home "$demo/$name" --wait 20
done

step "the same report again: the gateway recognises it"
first=$(ls "$top"/examples/*.json | head -n 1)
"$bin/meldnet-agent" submit "$first" --home "$demo/${agents[0]}" --wait 20

step "registry"
echo "registrations: $("$bin/meldnetctl" registry count --home "$home")"
echo "record 1, opened with the registry's secret key (which belongs with the registry):"
"$bin/meldnetctl" registry show 1 --registry-key "$home/registry-secret/registry.key" \
    --home "$home" | head -n 12
echo "..."

step "referrals received by each partner"
for _ in $(seq 100); do
    "$bin/meldnetctl" queue list --home "$home" 2>/dev/null | grep -qE ' [1-9][0-9]* item' || break
    sleep 0.2
done
for name in police-landelijk zorgcoordinator-midden onderzoek-online; do
    echo "-- $name:"
    for f in "$demo/received/$name"/MN-*.json; do
        [ -e "$f" ] || { echo "   (none)"; continue; }
        printf '   %s  sharing=%s  topics=%s  withheld=%s\n' "$(basename "$f" .json)" \
            "$(grep -oE '"sharing": "[a-z]+"' "$f" | cut -d'"' -f4)" \
            "$(tr -d '\n ' <"$f" | grep -oE '"topics":\[[^]]*\]' | sed 's/"topics"://; s/"//g')" \
            "$(grep -c '"field":' "$f")"
    done
done
echo "(unrouted topics, for which no partner is bound yet:)"
"$bin/meldnetctl" hold list --home "$home" | head -n 8

step "agent spools"
for name in "${agents[@]}"; do
    printf '%s: ' "$name"
    "$bin/meldnet-agent" status --home "$demo/$name" | head -n 1
done

step "what operators see: meldnetctl status (and http://127.0.0.1:$mport/ while it runs)"
# The status file is rewritten every second; wait for one that counts every receipt.
for _ in $(seq 50); do
    "$bin/meldnetctl" status --json --home "$home" 2>/dev/null | grep -q '"accepted": [1-9]' && break
    sleep 0.2
done
"$bin/meldnetctl" status --home "$home" || true
if command -v curl >/dev/null; then
    echo "-- a few lines of http://127.0.0.1:$mport/metrics:"
    curl -fsS --max-time 5 "http://127.0.0.1:$mport/metrics" |
        grep -E '^meldnet_(envelopes_accepted_total|partner_queue_depth|connected_agents) ' || true
fi

step "stopping partners and gateway"
for p in "${partner_pids[@]}"; do stop_pid "$p"; done
partner_pids=()
kill -TERM "$gw_pid"
wait "$gw_pid" || true
gw_pid=""
tail -n 1 "$demo/gateway.log"
echo
echo "demo: done"
