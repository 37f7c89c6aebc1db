/* gw_statuspage.c - the status page at / : one self-contained HTML page for a wall screen.
 *
 * Written to an open_memstream; a failed write (out of memory) shows as the stream's error flag
 * at the end and the result is NULL. Every string from the snapshot goes through s_esc, numbers
 * are formatted here; nothing else reaches the page. The page must stay loadable under the
 * endpoint's Content-Security-Policy (default-src 'none'; style-src 'unsafe-inline';
 * img-src data:): inline CSS and SVG only, a data: favicon, no script.
 */
#include "gw_statuspage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mn_time.h"

/* A wall screen cannot show hundreds of lines; the rest is counted. */
#define S_SILENT_SHOWN 40

/* Chart geometry in SVG user units: plot area [S_L, S_R] x [S_T, S_B] inside S_W x S_H. */
#define S_W 1000
#define S_H 250
#define S_L 70
#define S_R 985
#define S_T 15
#define S_B 205

static const char s_css[] =
    ":root{color-scheme:dark}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;padding:1.5rem 2rem;background:#0e1116;color:#e6e9ee;"
    "font:1.25rem/1.4 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\n"
    "header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5rem 1.5rem;"
    "margin-bottom:1.5rem}\n"
    "h1{font-size:2.2rem;margin:0}\n"
    "h2{font-size:1.1rem;color:#9aa4b2;margin:0 0 .6rem;font-weight:600;"
    "text-transform:uppercase;letter-spacing:.06em}\n"
    ".badge{padding:.15rem .8rem;border-radius:.4rem;font-weight:700}\n"
    ".ok{background:#1f7a45;color:#fff}\n"
    ".bad{background:#b42323;color:#fff}\n"
    ".muted{color:#9aa4b2}\n"
    ".warn{color:#f5b942}\n"
    ".err{color:#ff7b7b;font-weight:700}\n"
    ".alarm{background:#b42323;color:#fff;font-weight:700;border-radius:.6rem;"
    "padding:1rem 1.2rem;margin-bottom:1.5rem}\n"
    ".tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:1rem;"
    "margin-bottom:1.5rem}\n"
    ".tile,section{background:#171c24;border-radius:.6rem;padding:1rem 1.2rem;min-width:0}\n"
    "section{overflow-x:auto}\n"
    ".wide{grid-column:1/-1}\n"
    ".label{color:#9aa4b2;font-size:1rem}\n"
    ".value{font-size:clamp(1.6rem,2vw,3rem);font-weight:700;font-variant-numeric:tabular-nums;"
    "line-height:1.15}\n"
    ".sub{color:#9aa4b2;font-size:1rem}\n"
    ".chart{margin-bottom:1.5rem}\n"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(26rem,1fr));gap:1.5rem}\n"
    "svg{display:block;width:100%;height:auto}\n"
    "svg text{fill:#9aa4b2;font-size:15px;font-family:inherit}\n"
    ".axis{stroke:#3a4350;stroke-width:1}\n"
    ".gridline{stroke:#262d38;stroke-width:1}\n"
    ".area{fill:#3d8bfd;fill-opacity:.18;stroke:none}\n"
    ".line{fill:none;stroke:#5ea2ff;stroke-width:3;stroke-linejoin:round}\n"
    "table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
    "th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #2a313c}\n"
    "th{color:#9aa4b2;font-weight:600;font-size:1rem}\n"
    ".n{text-align:right}\n"
    "ul{margin:0;padding-left:1.2rem}\n"
    "footer{margin-top:1.5rem;color:#9aa4b2;font-size:.95rem}\n";

/* HTML-escape text for element content and double- or single-quoted attributes. Control
 * characters are dropped: they are parse errors in HTML and never meaningful in a name. */
static void s_esc(FILE *f, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (*p >= 0x20 && *p != 0x7f)
                fputc(*p, f);
        }
    }
}

/* Seconds from then_ms to now_ms; 0 when the clock went back. */
static uint64_t s_since_s(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? (now_ms - then_ms) / 1000 : 0;
}

/* "12s", "5m03s", "2h10m", "3d04h" from then_ms to now_ms. */
static void s_age_text(uint64_t now_ms, uint64_t then_ms, char *out, size_t cap)
{
    mn_age_format(now_ms > then_ms ? now_ms - then_ms : 0, out, cap);
}

static void s_head(FILE *f, const gw_snapshot *s)
{
    fputs("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", f);
    fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\">\n", GW_STATUSPAGE_REFRESH_S);
    fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", f);
    fprintf(f, "<title>meldnet gateway - %s</title>\n",
            gw_snapshot_is_ready(s) ? "ready" : "not ready");
    fputs("<link rel=\"icon\" href=\"data:,\">\n", f);
    fprintf(f, "<style>\n%s</style>\n</head>\n", s_css);
}

static void s_header(FILE *f, const gw_snapshot *s)
{
    char up[32] = "-", why[1024]; /* as /readyz: every reason fits */
    if (s->started_ms != 0)
        s_age_text(s->now_ms, s->started_ms, up, sizeof up);
    fputs("<header>\n<h1>meldnet gateway</h1>\n<span class=\"muted\">version ", f);
    s_esc(f, s->version[0] ? s->version : "-");
    fputs("</span>\n<span>state ", f);
    s_esc(f, s->state[0] ? s->state : "-");
    fprintf(f, "</span>\n<span>up %s</span>\n", up);
    if (gw_snapshot_is_ready(s)) {
        fputs("<span class=\"badge ok\" id=\"ready\">ready</span>\n", f);
    } else {
        gw_snapshot_not_ready_text(s, ", ", why, sizeof why); /* as /readyz, on one line */
        fputs("<span class=\"badge bad\" id=\"ready\">not ready</span>\n<span class=\"err\">", f);
        s_esc(f, why);
        fputs("</span>\n", f);
    }
    fputs("</header>\n", f);
}

/* value and sub are formatted here from numbers; escaped anyway so no caller can slip. */
static void s_tile(FILE *f, const char *label, const char *value, const char *sub)
{
    fputs("<div class=\"tile\"><div class=\"label\">", f);
    s_esc(f, label);
    fputs("</div><div class=\"value\">", f);
    s_esc(f, value);
    fputs("</div>", f);
    if (sub && *sub) {
        fputs("<div class=\"sub\">", f);
        s_esc(f, sub);
        fputs("</div>", f);
    }
    fputs("</div>\n", f);
}

static void s_tile_rate(FILE *f, const char *label, double per_s)
{
    char v[32];
    snprintf(v, sizeof v, "%.1f", per_s);
    s_tile(f, label, v, "last minute");
}

/* "1 234 567" with thin spaces: big counts read at a glance from across a room, and a narrow
 * tile breaks the number between groups rather than anywhere. */
static void s_grouped(uint64_t n, char *out, size_t cap)
{
    static const char thin[] = "\xe2\x80\x89"; /* U+2009 */
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len && o + sizeof thin < cap; i++) {
        if (i > 0 && (len - i) % 3 == 0 && len > 4) {
            memcpy(out + o, thin, sizeof thin - 1);
            o += sizeof thin - 1;
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

static void s_tile_count(FILE *f, const char *label, uint64_t n, const char *sub)
{
    char v[64];
    s_grouped(n, v, sizeof v);
    s_tile(f, label, v, sub);
}

static void s_tile_storage(FILE *f, const gw_snapshot *s)
{
    const double mib = 1024.0 * 1024.0;
    char v[32], sub[96];
    if (s->map_size_bytes == 0) {
        s_tile(f, "storage used", "-", "store not open");
        return;
    }
    snprintf(v, sizeof v, "%.0f%%", 100.0 * (double)s->map_used_bytes / (double)s->map_size_bytes);
    snprintf(sub, sizeof sub, "%.0f MiB of %.0f MiB", (double)s->map_used_bytes / mib,
             (double)s->map_size_bytes / mib);
    s_tile(f, "storage used", v, sub);
}

static void s_tiles(FILE *f, const gw_snapshot *s)
{
    char sub[64];
    fputs("<div class=\"tiles\">\n", f);
    s_tile_rate(f, "accepted/s", s->rate_accepted);
    s_tile_rate(f, "received/s", s->rate_received);
    s_tile_rate(f, "rejected/s", s->rate_rejected);
    snprintf(sub, sizeof sub, "limit %" PRIu64, s->inflight_max);
    s_tile_count(f, "in flight", s->inflight, sub);
    s_tile_count(f, "registrations", s->registrations, "records in the store");
    s_tile_count(f, "connected agents", s->connected_agents, "");
    s_tile_count(f, "connected partners", s->connected_partners, "");
    s_tile_storage(f, s);
    fputs("</div>\n", f);
}

/* x of history slot k (0 .. GW_HISTORY_POINTS-1, the newest at the right edge). */
static double s_chart_x(double k)
{
    return S_L + (S_R - S_L) * k / (GW_HISTORY_POINTS - 1);
}

static double s_chart_y(double rate, double max_rate)
{
    return S_B - (S_B - S_T) * (max_rate > 0 ? rate / max_rate : 0);
}

static void s_chart_axes(FILE *f, double max_rate)
{
    const int span_s = (GW_HISTORY_POINTS - 1) * GW_HISTORY_STEP_S;
    fprintf(f, "<line class=\"gridline\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", S_L, S_T,
            S_R, S_T);
    fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", S_L, S_B, S_R,
            S_B);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.1f/s</text>\n", S_L - 8, S_T + 5,
            max_rate);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", S_L - 8, S_B + 5);
    for (int m = 0; m * 60 <= span_s; m += 5) {
        double k = (GW_HISTORY_POINTS - 1) - (double)m * 60 / GW_HISTORY_STEP_S;
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", s_chart_x(k),
                S_B + 22, m);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">minutes ago</text>\n",
            (S_L + S_R) / 2, S_H - 4);
}

/* The line's points; a single point becomes a short flat line so it can be seen. */
static void s_chart_points(FILE *f, const gw_snapshot *s, size_t n, double max_rate)
{
    size_t first = GW_HISTORY_POINTS - n;
    if (n == 1) {
        double y = s_chart_y((double)s->history[0] / GW_HISTORY_STEP_S, max_rate);
        fprintf(f, "%.1f,%.1f %.1f,%.1f", s_chart_x(GW_HISTORY_POINTS - 2), y,
                s_chart_x(GW_HISTORY_POINTS - 1), y);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double rate = (double)s->history[i] / GW_HISTORY_STEP_S;
        fprintf(f, "%s%.1f,%.1f", i ? " " : "", s_chart_x((double)(first + i)),
                s_chart_y(rate, max_rate));
    }
}

static void s_chart(FILE *f, const gw_snapshot *s)
{
    size_t n = s->n_history < GW_HISTORY_POINTS ? s->n_history : GW_HISTORY_POINTS;
    double max_rate = 0;
    for (size_t i = 0; i < n; i++)
        if ((double)s->history[i] / GW_HISTORY_STEP_S > max_rate)
            max_rate = (double)s->history[i] / GW_HISTORY_STEP_S;
    fputs("<section class=\"chart\">\n<h2>Envelopes accepted per second</h2>\n", f);
    fprintf(f,
            "<svg id=\"throughput\" viewBox=\"0 0 %d %d\" role=\"img\" "
            "aria-label=\"envelopes accepted per second over the last %d minutes\">\n",
            S_W, S_H, GW_HISTORY_POINTS * GW_HISTORY_STEP_S / 60);
    s_chart_axes(f, max_rate);
    if (n > 0) {
        double x0 =
            n == 1 ? s_chart_x(GW_HISTORY_POINTS - 2) : s_chart_x((double)(GW_HISTORY_POINTS - n));
        fputs("<polygon class=\"area\" points=\"", f);
        s_chart_points(f, s, n, max_rate);
        fprintf(f, " %d,%d %.1f,%d\"/>\n", S_R, S_B, x0, S_B);
        fputs("<polyline id=\"throughput-line\" class=\"line\" points=\"", f);
        s_chart_points(f, s, n, max_rate);
        fputs("\"/>\n", f);
    } else {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data yet</text>\n",
                (S_L + S_R) / 2, (S_T + S_B) / 2);
    }
    fputs("</svg>\n</section>\n", f);
}

static void s_partner_row(FILE *f, const gw_snapshot *s, const gw_snap_partner *p)
{
    char age[32] = "-";
    if (p->oldest_ms != 0)
        s_age_text(s->now_ms, p->oldest_ms, age, sizeof age);
    fputs("<tr><td>", f);
    s_esc(f, p->name);
    if (p->revoked)
        fputs(" <span class=\"muted\">(revoked)</span>", f);
    fputs("</td><td>", f);
    s_esc(f, p->kind[0] ? p->kind : "-");
    if (p->connected)
        fputs("</td><td>yes", f);
    else
        fprintf(f, "</td><td%s>no", p->revoked ? "" : " class=\"err\"");
    fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%s</td>", p->queue_depth, age);
    fprintf(f, "<td class=\"n\">%" PRIu64 "</td></tr>\n", p->held);
}

static void s_partners(FILE *f, const gw_snapshot *s)
{
    fputs("<section class=\"wide\">\n<h2>Partners</h2>\n<table id=\"partners\">\n"
          "<thead><tr><th>name</th><th>kind</th><th>connected</th><th class=\"n\">queue</th>"
          "<th class=\"n\">oldest</th><th class=\"n\">held</th></tr></thead>\n<tbody>\n",
          f);
    for (size_t i = 0; i < s->n_partners; i++)
        s_partner_row(f, s, &s->partners[i]);
    if (s->n_partners == 0)
        fputs("<tr><td colspan=\"6\" class=\"muted\">no partners configured</td></tr>\n", f);
    fputs("</tbody>\n</table>\n</section>\n", f);
}

static int s_is_silent(const gw_snapshot *s, const gw_snap_agent *a)
{
    if (a->revoked)
        return 0;
    return a->last_seen_ms == 0 ||
           s_since_s(s->now_ms, a->last_seen_ms) >= (uint64_t)GW_SILENT_AFTER_S;
}

static void s_silent_item(FILE *f, const gw_snapshot *s, const gw_snap_agent *a)
{
    char age[32];
    fputs("<li>", f);
    s_esc(f, a->name);
    if (a->region[0]) {
        fputs(" <span class=\"muted\">", f);
        s_esc(f, a->region);
        fputs("</span>", f);
    }
    if (a->last_seen_ms == 0) {
        fputs(" <span class=\"warn\">never since start</span></li>\n", f);
        return;
    }
    s_age_text(s->now_ms, a->last_seen_ms, age, sizeof age);
    fprintf(f, " <span class=\"warn\">%s ago</span></li>\n", age);
}

static void s_silent_agents(FILE *f, const gw_snapshot *s)
{
    size_t shown = 0, more = 0;
    fprintf(f, "<section>\n<h2>Silent agents (nothing for %d min)</h2>\n", GW_SILENT_AFTER_S / 60);
    fputs("<ul id=\"silent-agents\">\n", f);
    for (size_t i = 0; i < s->n_agents; i++) {
        if (!s_is_silent(s, &s->agents[i]))
            continue;
        if (shown < S_SILENT_SHOWN) {
            s_silent_item(f, s, &s->agents[i]);
            shown++;
        } else {
            more++;
        }
    }
    if (shown == 0)
        fputs("<li class=\"muted\">none</li>\n", f);
    if (more > 0)
        fprintf(f, "<li class=\"muted\">and %zu more</li>\n", more);
    fputs("</ul>\n</section>\n", f);
}

/* A name/count table of the non-zero entries, or "none". */
static void s_count_table(FILE *f, const char *id, const char *what, const char *const *names,
                          const uint64_t *counts, size_t n)
{
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] == 0)
            continue;
        if (rows++ == 0)
            fprintf(f,
                    "<table id=\"%s\">\n<thead><tr><th>%s</th><th class=\"n\">count</th>"
                    "</tr></thead>\n<tbody>\n",
                    id, what);
        fputs("<tr><td>", f);
        s_esc(f, names[i]);
        fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td></tr>\n", counts[i]);
    }
    if (rows > 0)
        fputs("</tbody>\n</table>\n", f);
    else
        fprintf(f, "<p id=\"%s\" class=\"muted\">none</p>\n", id);
}

static void s_rejects(FILE *f, const gw_snapshot *s)
{
    const char *names[MN_REJECT_REASON_MAX + 1];
    for (int i = 0; i <= MN_REJECT_REASON_MAX; i++)
        names[i] = mn_reject_reason_name(i);
    fputs("<section>\n<h2>Rejects by reason</h2>\n", f);
    s_count_table(f, "rejects", "reason", names, s->rejected_by_reason, MN_REJECT_REASON_MAX + 1);
    fputs("</section>\n", f);
}

static void s_refusals(FILE *f, const gw_snapshot *s)
{
    const char *names[GW_REFUSAL_COUNT];
    for (int i = 0; i < GW_REFUSAL_COUNT; i++)
        names[i] = gw_refusal_name(i);
    fputs("<section>\n<h2>Handshakes refused</h2>\n", f);
    s_count_table(f, "refused", "cause", names, s->handshakes_refused_by_cause, GW_REFUSAL_COUNT);
    fprintf(f, "<p class=\"muted\">%" PRIu64 " accepted, %" PRIu64 " refused since start</p>\n",
            s->handshakes_accepted, s->handshakes_refused);
    fputs("</section>\n", f);
}

static void s_footer(FILE *f, const gw_snapshot *s)
{
    char when[40] = "-";
    struct tm tm;
    time_t t = (time_t)(s->now_ms / 1000);
    if (s->now_ms != 0 && gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    fprintf(f, "<footer>taken %s, pid %d, refreshes every %d s. ingest ", when, s->pid,
            GW_STATUSPAGE_REFRESH_S);
    s_esc(f, s->listen[0] ? s->listen : "-");
    fputs(", delivery ", f);
    s_esc(f, s->delivery_listen[0] ? s->delivery_listen : "-");
    fputs(", metrics ", f);
    s_esc(f, s->metrics_listen[0] ? s->metrics_listen : "-");
    fputs("</footer>\n", f);
}

/* Alarms first, red, above everything else: each needs an operator now. */
static void s_alarms(FILE *f, const gw_snapshot *s)
{
    if (s->acute_unrouted == 0)
        return;
    fprintf(f,
            "<div class=\"alarm\" id=\"acute-unrouted\" role=\"alert\">ALARM: %" PRIu64
            " acute report%s since start reached no partner: no partner is bound to the acute "
            "topic, so %s unrouted. Bind a partner to the topic (meldnetctl partner add ... "
            "--bind TOPIC=full), then meldnetctl hold release unrouted REG TOPIC.</div>\n",
            s->acute_unrouted, s->acute_unrouted == 1 ? "" : "s",
            s->acute_unrouted == 1 ? "it waits" : "they wait");
}

char *gw_statuspage_render(const gw_snapshot *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    s_head(f, s);
    fputs("<body>\n", f);
    s_header(f, s);
    fputs("<main>\n", f);
    s_alarms(f, s);
    s_tiles(f, s);
    s_chart(f, s);
    fputs("<div class=\"grid\">\n", f);
    s_partners(f, s);
    s_silent_agents(f, s);
    s_rejects(f, s);
    s_refusals(f, s);
    fputs("</div>\n</main>\n", f);
    s_footer(f, s);
    fputs("</body>\n</html>\n", f);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        free(text);
        return NULL;
    }
    return text;
}
