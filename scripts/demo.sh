#!/usr/bin/env bash
# demo.sh - meldnet on loopback: a fresh gateway home with generated keys, a gateway, three
# agents (a district team, a school, the national minors hotline), the example reports
# submitted, each receipt shown, the registry count, then everything it started is stopped.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/${MN_BUILD:-build}/bin"
demo=$(mktemp -d "${TMPDIR:-/tmp}/meldnet-demo.XXXXXX")
gw_pid=""

cleanup() {
    if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
        kill -TERM "$gw_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$gw_pid" 2>/dev/null || true
    fi
    if [ "${MN_KEEP:-0}" = 1 ]; then echo "demo: kept $demo"; else rm -rf "$demo"; fi
}
trap cleanup EXIT

# A free port on 127.0.0.1, asked of the kernel.
port=$("$bin/mn-freeport" 2>/dev/null || echo 7411)
home="$demo/gateway"
step() { printf '\n== %s\n' "$*"; }

step "gateway home with fresh keys"
"$bin/meldnetctl" init --home "$home" --listen "tcp://127.0.0.1:$port"

step "three agents, registered with the gateway"
declare -A agent_region=([district-utrecht]=midden-nederland [school-amsterdam]=amsterdam
                         [minors-hotline]=landelijk)
for name in district-utrecht school-amsterdam minors-hotline; do
    line=$("$bin/meldnet-agent" keygen "$name" --home "$demo/$name" \
        --gateway "tcp://127.0.0.1:$port" --gateway-key "$home/keys/gateway.pub" | tail -n 1)
    "$bin/meldnetctl" agent add "$name" "$line" --region "${agent_region[$name]}" --home "$home"
done
"$bin/meldnetctl" agent list --home "$home"

step "gateway on tcp://127.0.0.1:$port"
"$bin/meldnet-gateway" --home "$home" 2>"$demo/gateway.log" &
gw_pid=$!
for _ in $(seq 100); do
    [ -f "$home/run/status.json" ] && break
    kill -0 "$gw_pid" 2>/dev/null || { cat "$demo/gateway.log"; exit 1; }
    sleep 0.1
done
[ -f "$home/run/status.json" ] || { echo "demo: gateway did not start"; cat "$demo/gateway.log"; exit 1; }

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

step "agent spools"
for name in "${agents[@]}"; do
    printf '%s: ' "$name"
    "$bin/meldnet-agent" status --home "$demo/$name" | head -n 1
done

step "stopping the gateway"
kill -TERM "$gw_pid"
wait "$gw_pid" || true
gw_pid=""
tail -n 1 "$demo/gateway.log"
echo
echo "demo: done"
