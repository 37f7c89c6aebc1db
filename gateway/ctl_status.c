/* ctl_status.c - run/status.json for meldnetctl: read it, and the status screen.
 *
 * status and top share one renderer: it fills a ctl_status_screen (lines of text, some marked
 * to stand out) that status prints and top draws with ncursesw, so the two always agree.
 * Strings from the file are made printable once, after parsing (s_tidy): a damaged file cannot
 * drive the terminal.
 */
#include "ctl_status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl_common.h"
#include "mn_time.h"

#define S_STATUS_MAX_BYTES (64u << 20) /* far above any real status file */
#define S_STALE_MS 5000                /* the gateway rewrites the file every second */
#define S_NAMES_SHOWN 5                /* silent agents named on the status screen */
#define S_NAMES_CHARS 56               /* and the room for their names */
#define S_REASONS_SHOWN 3

/* --- reading the file ------------------------------------------------------------------- */

/* Bytes outside printable ASCII become '?': names and versions are ASCII, anything else
 * comes from a damaged file and must not reach the terminal. */
static void s_tidy_str(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

static void s_tidy(gw_snapshot *s)
{
    s_tidy_str(s->version);
    s_tidy_str(s->state);
    s_tidy_str(s->listen);
    s_tidy_str(s->delivery_listen);
    s_tidy_str(s->metrics_listen);
    for (size_t i = 0; i < s->n_agents; i++) {
        s_tidy_str(s->agents[i].name);
        s_tidy_str(s->agents[i].region);
    }
    for (size_t i = 0; i < s->n_partners; i++) {
        s_tidy_str(s->partners[i].name);
        s_tidy_str(s->partners[i].kind);
    }
}

/* The whole file, NUL-terminated, into *text (caller frees). errno kept on failure; EFBIG
 * when it is too large to be a status file. */
static int s_slurp(const char *path, char **text)
{
    struct stat st;
    int rc = -1, err;
    char *buf = NULL;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    if (fstat(fileno(fp), &st) != 0)
        goto out;
    if (st.st_size < 0 || (uint64_t)st.st_size > S_STATUS_MAX_BYTES) {
        errno = EFBIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        goto out;
    size_t n = fread(buf, 1, (size_t)st.st_size, fp);
    if (ferror(fp))
        goto out;
    buf[n] = '\0';
    *text = buf;
    buf = NULL;
    rc = 0;
out:
    err = errno;
    free(buf);
    fclose(fp);
    errno = err; /* the caller explains the first failure, not fclose's */
    return rc;
}

int ctl_status_load(const char *path, gw_snapshot *s, char *msg, size_t cap)
{
    char *text = NULL;
    mn_diag d = {0};
    memset(s, 0, sizeof *s);
    if (s_slurp(path, &text) != 0) {
        if (errno == ENOENT)
            snprintf(msg, cap,
                     "no status file %s: the gateway is not running or has not "
                     "written its status yet; start it with meldnet-gateway --home DIR",
                     path);
        else if (errno == EFBIG)
            snprintf(msg, cap, "%s: larger than %u MiB: not a status file", path,
                     S_STATUS_MAX_BYTES >> 20);
        else
            snprintf(msg, cap, "cannot read %s: %s", path, strerror(errno));
        return CTL_EXIT_FAIL;
    }
    int rc = gw_snapshot_parse(text, s, &d);
    free(text);
    if (rc != MN_OK) {
        snprintf(msg, cap,
                 "%s: %s: %s (the gateway rewrites this file every second; if it "
                 "stays wrong, stop the gateway and remove it)",
                 path, d.where, d.what);
        return CTL_EXIT_FAIL;
    }
    s_tidy(s);
    return CTL_EXIT_OK;
}

/* --- time and numbers ------------------------------------------------------------------- */

int ctl_status_is_running(const gw_snapshot *s)
{
    return strcmp(s->state, "running") == 0;
}

/* The clock while the gateway runs, else its last word. */
uint64_t ctl_status_ref_ms(const gw_snapshot *s, uint64_t now)
{
    return ctl_status_is_running(s) || s->now_ms == 0 ? now : s->now_ms;
}

uint64_t ctl_status_since(uint64_t ref, uint64_t then)
{
    return ref > then ? ref - then : 0;
}

/* A setting in seconds, short: "15m", "2h", "90s". */
static void s_duration(unsigned secs, char *buf, size_t cap)
{
    if (secs >= 3600 && secs % 3600 == 0)
        snprintf(buf, cap, "%uh", secs / 3600);
    else if (secs >= 60 && secs % 60 == 0)
        snprintf(buf, cap, "%um", secs / 60);
    else
        snprintf(buf, cap, "%us", secs);
}

void ctl_status_age(uint64_t ref, uint64_t then, char *buf, size_t cap)
{
    if (then == 0)
        snprintf(buf, cap, "-");
    else
        mn_age_format(ctl_status_since(ref, then), buf, cap);
}

void ctl_status_iso(uint64_t ms, char *buf, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    if (ms == 0 || !gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "-");
}

int ctl_status_is_silent(const gw_snap_agent *a, uint64_t ref, unsigned silent_after_s)
{
    return !a->revoked && (a->last_seen_ms == 0 ||
                           ctl_status_since(ref, a->last_seen_ms) > silent_after_s * 1000ULL);
}

int ctl_status_stale(const gw_snapshot *s, uint64_t now, char *buf, size_t cap)
{
    char ago[32];
    if (!ctl_status_is_running(s) || s->now_ms == 0 ||
        ctl_status_since(now, s->now_ms) <= S_STALE_MS)
        return 0;
    mn_age_format(ctl_status_since(now, s->now_ms), ago, sizeof ago);
    snprintf(buf, cap, "the gateway wrote its status %s ago: it may be hung or stopped", ago);
    return 1;
}

void ctl_status_warn_stale(const gw_snapshot *s, uint64_t now)
{
    char warn[128];
    if (ctl_status_stale(s, now, warn, sizeof warn))
        fprintf(stderr, "%s: warning: %s (pid %d)\n", CTL_PROG, warn, s->pid);
}

static void s_cat(char *buf, size_t cap, const char *fmt, ...) MN_PRINTF(3, 4);

/* Append to buf; what does not fit is cut. */
static void s_cat(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

/* --- the shared screen ------------------------------------------------------------------ */

static void s_add(ctl_status_screen *sc, int loud, const char *fmt, ...) MN_PRINTF(3, 4);

static void s_add(ctl_status_screen *sc, int loud, const char *fmt, ...)
{
    if (sc->n == CTL_STATUS_LINES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->line[sc->n], CTL_STATUS_LINE_CHARS, fmt, ap);
    va_end(ap);
    sc->loud[sc->n++] = loud;
}

/* Why a running gateway is not ready, into why (empty: ready). */
static void s_not_ready(const gw_snapshot *s, char *why, size_t cap)
{
    why[0] = '\0';
    if (!s->store_open)
        s_cat(why, cap, "%sthe store is not open", why[0] ? ", " : "");
    if (!s->sockets_bound)
        s_cat(why, cap, "%sthe sockets are not bound", why[0] ? ", " : "");
    if (s->overloaded)
        s_cat(why, cap, "%soverloaded (%" PRIu64 " in flight, limit %" PRIu64 ")",
              why[0] ? ", " : "", s->inflight, s->inflight_max);
    if (s->disk_low)
        s_cat(why, cap, "%sfree space %" PRIu64 " MB below min_free_mb %" PRIu64,
              why[0] ? ", " : "", s->free_mb, s->min_free_mb);
    if (s->commits_failing)
        s_cat(why, cap, "%sstore commits failing", why[0] ? ", " : "");
}

/* "meldnet-gateway 0.5.0  running  pid 42  up 2h10m  ready", and a line saying why not. */
static void s_render_header(ctl_status_screen *sc, const gw_snapshot *s, uint64_t now)
{
    char up[32] = "-", why[160] = "";
    const char *ready = "ready";
    if (s->started_ms)
        mn_age_format(ctl_status_since(ctl_status_ref_ms(s, now), s->started_ms), up, sizeof up);
    if (!ctl_status_is_running(s)) {
        ready = "not ready";
        snprintf(why, sizeof why, "the gateway is %s", s->state[0] ? s->state : "not running");
    } else if (!s->version[0]) { /* an older gateway does not say */
        ready = "ready: unknown";
    } else {
        s_not_ready(s, why, sizeof why);
        if (why[0])
            ready = "not ready";
    }
    s_add(sc, 0, "meldnet-gateway %s  %s  pid %d  %s %s  %s", s->version[0] ? s->version : "(old)",
          s->state[0] ? s->state : "(state unknown)", s->pid,
          ctl_status_is_running(s) ? "up" : "ran", up, ready);
    if (why[0])
        s_add(sc, 1, "not ready: %s", why);
}

/* Add piece to the line being packed in text; a full line goes to the screen first. */
static void s_pack(ctl_status_screen *sc, char *text, size_t cap, const char *label,
                   const char *value)
{
    if (!value[0])
        return;
    if (text[0] && strlen(text) + 2 + strlen(label) + 1 + strlen(value) > 80) {
        s_add(sc, 0, "%s", text);
        text[0] = '\0';
    }
    s_cat(text, cap, "%s%s %s", text[0] ? "  " : "", label, value);
}

/* The endpoints, as many to a line as fit in 80 columns. */
static void s_render_endpoints(ctl_status_screen *sc, const gw_snapshot *s)
{
    char text[CTL_STATUS_LINE_CHARS] = "";
    s_pack(sc, text, sizeof text, "listen", s->listen);
    s_pack(sc, text, sizeof text, "delivery", s->delivery_listen);
    s_pack(sc, text, sizeof text, "metrics", s->metrics_listen);
    if (text[0])
        s_add(sc, 0, "%s", text);
}

/* The line a test reads from the screen starts with "accepted N": the counters of t shown on
 * it (GW_VIEW_TOTALS), then what is in flight. */
static void s_render_totals(ctl_status_screen *sc, const gw_snapshot *s, const gw_counter_table *t)
{
    char text[CTL_STATUS_LINE_CHARS] = "", flight[64];
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i].view == GW_VIEW_TOTALS)
            s_cat(text, sizeof text, "%s%s %" PRIu64, text[0] ? "  " : "", t->items[i].name,
                  gw_snapshot_counter(s, &t->items[i]));
    if (s->inflight_max)
        snprintf(flight, sizeof flight, "%" PRIu64 " of %" PRIu64, s->inflight, s->inflight_max);
    else
        snprintf(flight, sizeof flight, "%" PRIu64, s->inflight);
    s_add(sc, 0, "%s%sin flight %s", text, text[0] ? "  " : "", flight);
}

/* "BAD_SIGNATURE 7, OVERLOADED 3, +2 more": the largest few reasons. */
static void s_render_reasons(ctl_status_screen *sc, const gw_snapshot *s)
{
    char text[CTL_STATUS_LINE_CHARS] = "";
    int shown[MN_REJECT_REASON_MAX + 1] = {0};
    int nonzero = 0;
    for (int i = 1; i <= MN_REJECT_REASON_MAX; i++)
        nonzero += s->rejected_by_reason[i] != 0;
    for (int k = 0; k < S_REASONS_SHOWN && k < nonzero; k++) {
        int best = 0;
        for (int i = 1; i <= MN_REJECT_REASON_MAX; i++)
            if (!shown[i] && s->rejected_by_reason[i] > s->rejected_by_reason[best])
                best = i;
        shown[best] = 1;
        s_cat(text, sizeof text, "%s%s %" PRIu64, k ? ", " : "", mn_reject_reason_name(best),
              s->rejected_by_reason[best]);
    }
    if (nonzero > S_REASONS_SHOWN)
        s_cat(text, sizeof text, ", +%d more", nonzero - S_REASONS_SHOWN);
    if (text[0])
        s_add(sc, 0, "  rejected by reason: %s", text);
}

static void s_render_handshakes(ctl_status_screen *sc, const gw_snapshot *s)
{
    char causes[160] = "";
    for (int i = 0; i < GW_REFUSAL_COUNT; i++)
        if (s->handshakes_refused_by_cause[i])
            s_cat(causes, sizeof causes, "%s%s %" PRIu64, causes[0] ? ", " : "", gw_refusal_name(i),
                  s->handshakes_refused_by_cause[i]);
    s_add(sc, 0, "handshakes %" PRIu64 " accepted, %" PRIu64 " refused%s%s%s",
          s->handshakes_accepted, s->handshakes_refused, causes[0] ? " (" : "", causes,
          causes[0] ? ")" : "");
}

static void s_render_rates(ctl_status_screen *sc, const gw_snapshot *s)
{
    if (!s->version[0]) { /* an older gateway has no rates: 0.0/s would be a lie */
        s_add(sc, 0, "last minute: rates not reported by this gateway");
        return;
    }
    s_add(sc, 0, "last minute: %.1f/s received, %.1f/s accepted, %.1f/s rejected", s->rate_received,
          s->rate_accepted, s->rate_rejected);
}

size_t ctl_status_partner_width(const gw_snapshot *s)
{
    size_t w = 7; /* "PARTNER" */
    for (size_t i = 0; i < s->n_partners; i++)
        if (strlen(s->partners[i].name) > w)
            w = strlen(s->partners[i].name);
    return w;
}

/* The queues, at most max_lines partner lines, in the file's order (by name): sorting by depth
 * would move lines about on every refresh of top. */
static void s_render_queues(ctl_status_screen *sc, const gw_snapshot *s, uint64_t now,
                            size_t max_lines)
{
    uint64_t waiting = 0;
    uint64_t ref = ctl_status_ref_ms(s, now);
    int w = (int)ctl_status_partner_width(s);
    for (size_t i = 0; i < s->n_partners; i++)
        waiting += s->partners[i].queue_depth;
    s_add(sc, 0,
          "queues: %zu partner%s, %" PRIu64 " waiting, %" PRIu64 " held, %" PRIu64 " unrouted",
          s->n_partners, s->n_partners == 1 ? "" : "s", waiting, s->held_total, s->unrouted);
    if (s->held_acute)
        s_add(sc, 1,
              "ALARM: %" PRIu64 " acute referral%s went to a hold queue since the gateway "
              "started: meldnetctl hold list, then hold release once the partner can take %s",
              s->held_acute, s->held_acute == 1 ? "" : "s", s->held_acute == 1 ? "it" : "them");
    if (s->acute_unrouted)
        s_add(sc, 1,
              "ALARM: %" PRIu64 " acute report%s reached no partner since the gateway started "
              "(acute_unrouted): bind a partner to the topic (partner add ... --bind), then "
              "hold release unrouted",
              s->acute_unrouted, s->acute_unrouted == 1 ? "" : "s");
    for (size_t i = 0; i < s->n_partners && i < max_lines; i++) {
        const gw_snap_partner *p = &s->partners[i];
        char age[32];
        ctl_status_age(ref, p->queue_depth ? p->oldest_ms : 0, age, sizeof age);
        s_add(sc, 0, "  %-*s %6" PRIu64 " waiting  oldest %-6s  held %-4" PRIu64 "  %s", w, p->name,
              p->queue_depth, age, p->held,
              p->revoked     ? "revoked"
              : p->connected ? "connected yes"
                             : "connected no");
    }
    if (s->n_partners > max_lines)
        s_add(sc, 0, "  ... %zu more: meldnetctl queues", s->n_partners - max_lines);
}

static void s_render_agents(ctl_status_screen *sc, const gw_snapshot *s, uint64_t now,
                            unsigned silent_after_s)
{
    char names[CTL_STATUS_LINE_CHARS] = "", after[32];
    size_t silent = 0, shown = 0;
    uint64_t ref = ctl_status_ref_ms(s, now);
    for (size_t i = 0; i < s->n_agents; i++) {
        if (!ctl_status_is_silent(&s->agents[i], ref, silent_after_s))
            continue;
        /* the first few, as long as the line stays within 80 columns */
        if (shown < S_NAMES_SHOWN &&
            (shown == 0 || strlen(names) + strlen(s->agents[i].name) < S_NAMES_CHARS))
            s_cat(names, sizeof names, "%s%s", shown++ ? ", " : "", s->agents[i].name);
        silent++;
    }
    if (silent > shown)
        s_cat(names, sizeof names, ", +%zu more", silent - shown);
    s_duration(silent_after_s, after, sizeof after);
    s_add(sc, 0, "agents: %zu known, %" PRIu64 " connected, %zu silent for over %s", s->n_agents,
          s->connected_agents, silent, after);
    if (silent)
        s_add(sc, 0, "  silent: %s", names);
}

static void s_render_storage(ctl_status_screen *sc, const gw_snapshot *s)
{
    double mib = 1024.0 * 1024.0;
    if (s->map_size_bytes == 0) {
        s_add(sc, 0, "storage: %" PRIu64 " registrations, %" PRIu64 " commits", s->registrations,
              s->commits);
        return;
    }
    s_add(sc, 0,
          "storage: %.1f of %.1f MiB used (%.0f%%), %" PRIu64 " registrations, %" PRIu64 " commits",
          (double)s->map_used_bytes / mib, (double)s->map_size_bytes / mib,
          100.0 * (double)s->map_used_bytes / (double)s->map_size_bytes, s->registrations,
          s->commits);
}

/* The counters of t without a line of their own (GW_VIEW_MORE), as many to a line as fit in
 * 80 columns. */
static void s_render_more(ctl_status_screen *sc, const gw_snapshot *s, const gw_counter_table *t)
{
    char text[CTL_STATUS_LINE_CHARS] = "", value[24];
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i].view != GW_VIEW_MORE)
            continue;
        snprintf(value, sizeof value, "%" PRIu64, gw_snapshot_counter(s, &t->items[i]));
        s_pack(sc, text, sizeof text, t->items[i].name, value);
    }
    if (text[0])
        s_add(sc, 0, "%s", text);
}

/* The status screen: header, readiness, totals, rates, queues, agents, storage, more. */
void ctl_status_render(ctl_status_screen *sc, const gw_snapshot *s,
                       const gw_counter_table *counters, uint64_t now, unsigned silent_after_s,
                       size_t partner_lines)
{
    s_render_header(sc, s, now);
    s_render_endpoints(sc, s);
    s_render_totals(sc, s, counters);
    s_render_reasons(sc, s);
    s_render_handshakes(sc, s);
    s_render_rates(sc, s);
    s_render_queues(sc, s, now, partner_lines);
    s_render_agents(sc, s, now, silent_after_s);
    s_render_storage(sc, s);
    s_render_more(sc, s, counters);
}
