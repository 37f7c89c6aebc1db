#!/usr/bin/env bash
# test_status_page.sh - the status page at / in headless Chromium: it loads with no console
# messages (the same check catches a deliberate console.error on a control page), shows the
# partners by name and a non-empty throughput chart after a workload; a screenshot is saved as
# a test artifact ($MN_BUILD/artifacts/status-page.png).
. "$(dirname "$0")/lib.sh"
mn_setup
browser=$(command -v chromium || command -v chromium-browser) ||
    mn_bail "chromium is not installed (scripts/deps.sh --check)"
build=${MN_BUILD:-build}
case $build in /*) ;; *) build=$MN_SRCDIR/$build ;; esac
art=$build/artifacts
mkdir -p "$art" || mn_bail "cannot make $art"
mn_init_gateway || mn_bail "meldnetctl init"
mn_new_agent hotline landelijk || mn_bail "agent"
mn_new_partner police-midden police 'hotline.*=full' || mn_bail "partner police"
mn_new_partner zorg-utrecht care 'hotline.*=pseudonymous' || mn_bail "partner care"
mn_start_gateway "$MN_GWHOME" || mn_bail "gateway starts"
page=http://$MN_METRICS/

check_match "a workload of 40 reports is accepted" "accepted=40 " mn_rawsend hotline valid \
    --report "$MN_SRCDIR/examples/labour-horticulture-inspectorate.json" --unique --count 40 \
    --window 8
# The chart has a point per 5 s; wait for the first one to hold the workload.
chart_has_points() {
    curl -fsS --max-time 5 "$page" | grep -qE 'id="throughput-line"[^>]* points="[0-9]'
}
check "the page's chart gets its first point" mn_wait_until 20 chart_has_points

# run_browser OUT LOG ARGS...: headless Chromium, its stdout to OUT, its log to LOG
run_browser() {
    local out=$1 log=$2
    shift 2
    timeout 90 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$MN_TMP/chromium" --enable-logging=stderr --v=0 "$@" >"$out" 2>"$log"
}
console_messages() { grep -c ':CONSOLE' "$1"; }

# Control: a page that logs an error is caught by the same check.
printf '<!doctype html><title>x</title><script>console.error("control-error")</script>\n' \
    >"$MN_TMP/control.html"
run_browser "$MN_TMP/control.dom" "$MN_TMP/control.log" --dump-dom "file://$MN_TMP/control.html"
check "the console check sees a deliberate console.error" grep -q 'control-error' "$MN_TMP/control.log"

check "chromium loads the status page" run_browser "$MN_TMP/page.dom" "$MN_TMP/page.log" \
    --virtual-time-budget=3000 --dump-dom "$page"
check_eq "the page logs nothing to the console (no errors, no refused loads)" 0 \
    "$(console_messages "$MN_TMP/page.log")"
check "it names partner police-midden" grep -q 'police-midden' "$MN_TMP/page.dom"
check "it names partner zorg-utrecht" grep -q 'zorg-utrecht' "$MN_TMP/page.dom"
check "the throughput chart is not empty" \
    grep -qE 'id="throughput-line"[^>]* points="[0-9.]+,[0-9.]+ ' "$MN_TMP/page.dom"
check "the queue depth of the offline partners shows" grep -qE '>40<' "$MN_TMP/page.dom"
check "no scripts on the page" sh -c '! grep -qi "<script" "$1"' _ "$MN_TMP/page.dom"

rm -f "$art/status-page.png"
run_browser "$MN_TMP/shot.out" "$MN_TMP/shot.log" --window-size=1600,1000 \
    --screenshot="$art/status-page.png" "$page"
check "a screenshot is saved as $art/status-page.png" test -s "$art/status-page.png"
mn_finish
