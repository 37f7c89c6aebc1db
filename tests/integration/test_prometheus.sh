#!/usr/bin/env bash
# test_prometheus.sh - the real Prometheus scrapes the gateway on loopback: its API says the
# target is up, and a gateway metric is queryable with the value the workload gave it.
. "$(dirname "$0")/lib.sh"
mn_setup
command -v prometheus >/dev/null || mn_bail "prometheus is not installed (scripts/deps.sh --check)"
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
check_match "3 reports are accepted" "accepted=3 " mn_rawsend hotline valid \
    --report "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" --unique --count 3 \
    --window 3

pport=$(mn_freeport) || mn_bail "no free port for prometheus"
api=http://127.0.0.1:$pport/api/v1
mkdir -p "$MN_TMP/prometheus"
cat >"$MN_TMP/prometheus/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: meldnet-gateway
    static_configs:
      - targets: ['$MN_METRICS']
YML
mn_spawn prometheus prometheus --config.file="$MN_TMP/prometheus/prometheus.yml" \
    --storage.tsdb.path="$MN_TMP/prometheus/data" --web.listen-address="127.0.0.1:$pport" \
    --log.level=warn
prom=$MN_LAST_PID

api_has() { # PATH ERE: the API's answer to PATH matches ERE
    curl -fsS --max-time 5 "$api/$1" 2>/dev/null | grep -qE "$2"
}
check "prometheus answers" mn_wait_until 30 api_has 'status/buildinfo' '"status":"success"'
check "the gateway target is up" mn_wait_until 30 api_has 'targets?state=active' '"health":"up"'
check "meldnet_envelopes_accepted_total is queryable with the workload's value" \
    mn_wait_until 30 api_has 'query?query=meldnet_envelopes_accepted_total' '"value":\[[0-9.]+,"3"\]'
check "the target's up series is 1" \
    mn_wait_until 10 api_has 'query?query=up%7Bjob%3D%22meldnet-gateway%22%7D' '"value":\[[0-9.]+,"1"\]'
mn_stop "$prom" 10 >/dev/null
mn_finish
