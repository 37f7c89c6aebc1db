/* ctl_watch.c - meldnetctl status, top, queues and agents: views of run/status.json.
 *
 * status and top share one renderer: it fills an s_screen (lines of text, some marked to
 * stand out) that status prints and top draws with ncursesw, so the two always agree. Strings
 * from the file are made printable once, after parsing (s_tidy): a damaged file cannot drive
 * the terminal.
 *
 * Caveats: top needs a terminal; it re-reads the file every interval, which the gateway
 * replaces by rename, so a read never sees half a file.
 */
#include "ctl_watch.h"

#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl_json.h"
#include "gw_snapshot.h"
#include "mn_key.h"
#include "mn_time.h"

#define S_PROG "meldnetctl"
#define S_EXIT_OK 0
#define S_EXIT_FAIL 1
#define S_STATUS_MAX_BYTES (64u << 20) /* far above any real status file */
#define S_STALE_MS 5000                /* the gateway rewrites the file every second */
#define S_NAMES_SHOWN 5                /* silent agents named on the status screen */
#define S_NAMES_CHARS 56               /* and the room for their names */
#define S_PARTNER_LINES 8              /* partners on the status screen (24 lines) */
#define S_REASONS_SHOWN 3

const char ctl_watch_usage_status[] =
    "usage: meldnetctl status [--json] [--silent-after SECONDS] [--home DIR]\n"
    "\n"
    "Show the running gateway on one screen: version, state, uptime and whether it is ready;\n"
    "totals (accepted, duplicates, rejected with the top reasons, handshakes refused by\n"
    "cause); rates over the last minute; envelopes in flight; per partner the items waiting,\n"
    "the age of the oldest (12s, 5m03s, 2h10m, 3d04h) and whether it is connected; agents\n"
    "that sent nothing for SECONDS; storage used. Read from run/status.json, which the gateway\n"
    "rewrites every second; warns when a running gateway's file is more than 5 seconds old.\n"
    "\n"
    "options:\n"
    "  --json                  print the status as JSON (the fields of run/status.json,\n"
    "                          docs/OPERATING.md) for scripts\n"
    "  --silent-after SECONDS  list agents silent for longer than this (default 900)\n"
    "  --home DIR              the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help              this help\n";

const char ctl_watch_usage_top[] =
    "usage: meldnetctl top [--interval MS] [--home DIR]\n"
    "\n"
    "A live view of the running gateway, like top: counters, rates over the last minute, per\n"
    "partner the queue and the age of its oldest item, silent agents (900 s). Re-reads\n"
    "run/status.json every MS milliseconds; keeps trying while the gateway is not running.\n"
    "Press q to quit. Needs a terminal: in scripts use `meldnetctl status` (--json).\n"
    "\n"
    "options:\n"
    "  --interval MS   refresh interval in milliseconds (default 1000)\n"
    "  --home DIR      the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help      this help\n";

const char ctl_watch_usage_queues[] =
    "usage: meldnetctl queues [--json] [--home DIR]\n"
    "\n"
    "Print one line per partner, from the running gateway's run/status.json:\n"
    "  PARTNER KIND CONN DEPTH OLDEST HELD DELIV REDELIV ACKS NACKS\n"
    "DEPTH items wait for delivery or for the partner's ack; OLDEST is the age of the oldest\n"
    "of them (12s, 5m03s, 2h10m, 3d04h; \"-\" when none); HELD counts its hold queue;\n"
    "DELIV, REDELIV, ACKS and NACKS count since the gateway started. Then the topics no\n"
    "partner took (unrouted) and all held items. `meldnetctl queue list` reads the store\n"
    "instead, and works while the gateway is stopped.\n"
    "\n"
    "options:\n"
    "  --json       print {\"partners\": [...], \"unrouted\": N, \"held_total\": N} for scripts\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

const char ctl_watch_usage_agents[] =
    "usage: meldnetctl agents [--json] [--silent-after SECONDS] [--home DIR]\n"
    "\n"
    "Print every configured agent: name, region, key fingerprint, state (ok, silent, revoked),\n"
    "whether it is connected, when it last sent (age and UTC time), and what it sent since the\n"
    "gateway started: accepted, duplicates, rejected. An agent is silent when it sent nothing\n"
    "for SECONDS, or nothing since the gateway started. While the gateway is not running the\n"
    "live columns show \"-\".\n"
    "\n"
    "options:\n"
    "  --json                  print an array of objects (live fields null when unknown)\n"
    "  --silent-after SECONDS  silent after this long (default 900)\n"
    "  --home DIR              the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help              this help\n";

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

/* Read and parse path into *s (caller clears it). On failure msg says what and what to do. */
static int s_load(const char *path, gw_snapshot *s, char *msg, size_t cap)
{
    char *text = NULL;
    mn_diag d = {0};
    memset(s, 0, sizeof *s);
    if (s_slurp(path, &text) != 0) {
        if (errno == ENOENT)
            snprintf(msg, cap, "no status file %s: the gateway is not running or has not "
                     "written its status yet; start it with meldnet-gateway --home DIR", path);
        else if (errno == EFBIG)
            snprintf(msg, cap, "%s: larger than %u MiB: not a status file", path,
                     S_STATUS_MAX_BYTES >> 20);
        else
            snprintf(msg, cap, "cannot read %s: %s", path, strerror(errno));
        return S_EXIT_FAIL;
    }
    int rc = gw_snapshot_parse(text, s, &d);
    free(text);
    if (rc != MN_OK) {
        snprintf(msg, cap, "%s: %s: %s (the gateway rewrites this file every second; if it "
                 "stays wrong, stop the gateway and remove it)", path, d.where, d.what);
        return S_EXIT_FAIL;
    }
    s_tidy(s);
    return S_EXIT_OK;
}

/* --- time and numbers ------------------------------------------------------------------- */

static int s_running(const gw_snapshot *s)
{
    return strcmp(s->state, "running") == 0;
}

/* The "now" ages are measured from: the clock while the gateway runs, else its last word. */
static uint64_t s_ref_ms(const gw_snapshot *s, uint64_t now)
{
    return s_running(s) || s->now_ms == 0 ? now : s->now_ms;
}

static uint64_t s_since(uint64_t ref, uint64_t then)
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

/* The age of `then` at `ref`, or "-" when then is 0 (none). */
static void s_age_of(uint64_t ref, uint64_t then, char *buf, size_t cap)
{
    if (then == 0)
        snprintf(buf, cap, "-");
    else
        mn_age_format(s_since(ref, then), buf, cap);
}

/* "2024-05-01T10:00:00Z", or "-" for 0. */
static void s_iso(uint64_t ms, char *buf, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    if (ms == 0 || !gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "-");
}

static int s_is_silent(const gw_snap_agent *a, uint64_t ref, unsigned silent_after_s)
{
    return !a->revoked &&
           (a->last_seen_ms == 0 || s_since(ref, a->last_seen_ms) > silent_after_s * 1000ULL);
}

/* When a running gateway wrote the file too long ago: a warning that says so into buf, and 1;
 * else 0. */
static int s_stale(const gw_snapshot *s, uint64_t now, char *buf, size_t cap)
{
    char ago[32];
    if (!s_running(s) || s->now_ms == 0 || s_since(now, s->now_ms) <= S_STALE_MS)
        return 0;
    mn_age_format(s_since(now, s->now_ms), ago, sizeof ago);
    snprintf(buf, cap, "the gateway wrote its status %s ago: it may be hung or stopped", ago);
    return 1;
}

static void s_warn_stale(const gw_snapshot *s, uint64_t now)
{
    char warn[128];
    if (s_stale(s, now, warn, sizeof warn))
        fprintf(stderr, "%s: warning: %s (pid %d)\n", S_PROG, warn, s->pid);
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

#define S_SCREEN_LINES 96
#define S_LINE_CHARS 320

typedef struct s_screen {
    char line[S_SCREEN_LINES][S_LINE_CHARS];
    int loud[S_SCREEN_LINES]; /* to stand out: a warning */
    size_t n;
} s_screen;

static void s_add(s_screen *sc, int loud, const char *fmt, ...) MN_PRINTF(3, 4);

static void s_add(s_screen *sc, int loud, const char *fmt, ...)
{
    if (sc->n == S_SCREEN_LINES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->line[sc->n], S_LINE_CHARS, fmt, ap);
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
static void s_render_header(s_screen *sc, const gw_snapshot *s, uint64_t now)
{
    char up[32] = "-", why[160] = "";
    const char *ready = "ready";
    if (s->started_ms)
        mn_age_format(s_since(s_ref_ms(s, now), s->started_ms), up, sizeof up);
    if (!s_running(s)) {
        ready = "not ready";
        snprintf(why, sizeof why, "the gateway is %s", s->state[0] ? s->state : "not running");
    } else if (!s->version[0]) { /* an older gateway does not say */
        ready = "ready: unknown";
    } else {
        s_not_ready(s, why, sizeof why);
        if (why[0])
            ready = "not ready";
    }
    s_add(sc, 0, "meldnet-gateway %s  %s  pid %d  %s %s  %s",
          s->version[0] ? s->version : "(old)", s->state[0] ? s->state : "(state unknown)",
          s->pid, s_running(s) ? "up" : "ran", up, ready);
    if (why[0])
        s_add(sc, 1, "not ready: %s", why);
}

/* Add piece to the line being packed in text; a full line goes to the screen first. */
static void s_pack(s_screen *sc, char *text, size_t cap, const char *label, const char *value)
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
static void s_render_endpoints(s_screen *sc, const gw_snapshot *s)
{
    char text[S_LINE_CHARS] = "";
    s_pack(sc, text, sizeof text, "listen", s->listen);
    s_pack(sc, text, sizeof text, "delivery", s->delivery_listen);
    s_pack(sc, text, sizeof text, "metrics", s->metrics_listen);
    if (text[0])
        s_add(sc, 0, "%s", text);
}

/* The line a test reads from the screen starts with "accepted N". */
static void s_render_totals(s_screen *sc, const gw_snapshot *s)
{
    char flight[64];
    if (s->inflight_max)
        snprintf(flight, sizeof flight, "%" PRIu64 " of %" PRIu64, s->inflight, s->inflight_max);
    else
        snprintf(flight, sizeof flight, "%" PRIu64, s->inflight);
    s_add(sc, 0, "accepted %" PRIu64 "  duplicates %" PRIu64 "  rejected %" PRIu64
          "  in flight %s", s->accepted, s->duplicates, s->rejected, flight);
}

/* "BAD_SIGNATURE 7, OVERLOADED 3, +2 more": the largest few reasons. */
static void s_render_reasons(s_screen *sc, const gw_snapshot *s)
{
    char text[S_LINE_CHARS] = "";
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

static void s_render_handshakes(s_screen *sc, const gw_snapshot *s)
{
    char causes[160] = "";
    for (int i = 0; i < GW_REFUSAL_COUNT; i++)
        if (s->handshakes_refused_by_cause[i])
            s_cat(causes, sizeof causes, "%s%s %" PRIu64, causes[0] ? ", " : "",
                  gw_refusal_name(i), s->handshakes_refused_by_cause[i]);
    s_add(sc, 0, "handshakes %" PRIu64 " accepted, %" PRIu64 " refused%s%s%s",
          s->handshakes_accepted, s->handshakes_refused, causes[0] ? " (" : "", causes,
          causes[0] ? ")" : "");
}

static void s_render_rates(s_screen *sc, const gw_snapshot *s)
{
    if (!s->version[0]) { /* an older gateway has no rates: 0.0/s would be a lie */
        s_add(sc, 0, "last minute: rates not reported by this gateway");
        return;
    }
    s_add(sc, 0, "last minute: %.1f/s received, %.1f/s accepted, %.1f/s rejected",
          s->rate_received, s->rate_accepted, s->rate_rejected);
}

static size_t s_partner_width(const gw_snapshot *s)
{
    size_t w = 7; /* "PARTNER" */
    for (size_t i = 0; i < s->n_partners; i++)
        if (strlen(s->partners[i].name) > w)
            w = strlen(s->partners[i].name);
    return w;
}

/* The queues, at most max_lines partner lines, in the file's order (by name): sorting by depth
 * would move lines about on every refresh of top. */
static void s_render_queues(s_screen *sc, const gw_snapshot *s, uint64_t now, size_t max_lines)
{
    uint64_t waiting = 0;
    uint64_t ref = s_ref_ms(s, now);
    int w = (int)s_partner_width(s);
    for (size_t i = 0; i < s->n_partners; i++)
        waiting += s->partners[i].queue_depth;
    s_add(sc, 0, "queues: %zu partner%s, %" PRIu64 " waiting, %" PRIu64 " held, %" PRIu64
          " unrouted", s->n_partners, s->n_partners == 1 ? "" : "s", waiting, s->held_total,
          s->unrouted);
    if (s->held_acute)
        s_add(sc, 1, "ALARM: %" PRIu64 " acute referral%s went to a hold queue since the gateway "
              "started: meldnetctl hold list, then hold release once the partner can take %s",
              s->held_acute, s->held_acute == 1 ? "" : "s", s->held_acute == 1 ? "it" : "them");
    for (size_t i = 0; i < s->n_partners && i < max_lines; i++) {
        const gw_snap_partner *p = &s->partners[i];
        char age[32];
        s_age_of(ref, p->queue_depth ? p->oldest_ms : 0, age, sizeof age);
        s_add(sc, 0, "  %-*s %6" PRIu64 " waiting  oldest %-6s  held %-4" PRIu64 "  %s", w,
              p->name, p->queue_depth, age, p->held,
              p->revoked ? "revoked" : p->connected ? "connected yes" : "connected no");
    }
    if (s->n_partners > max_lines)
        s_add(sc, 0, "  ... %zu more: meldnetctl queues", s->n_partners - max_lines);
}

static void s_render_agents(s_screen *sc, const gw_snapshot *s, uint64_t now,
                            unsigned silent_after_s)
{
    char names[S_LINE_CHARS] = "", after[32];
    size_t silent = 0, shown = 0;
    uint64_t ref = s_ref_ms(s, now);
    for (size_t i = 0; i < s->n_agents; i++) {
        if (!s_is_silent(&s->agents[i], ref, silent_after_s))
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
    s_add(sc, 0, "agents: %zu known, %" PRIu64 " connected, %zu silent for over %s",
          s->n_agents, s->connected_agents, silent, after);
    if (silent)
        s_add(sc, 0, "  silent: %s", names);
}

static void s_render_storage(s_screen *sc, const gw_snapshot *s)
{
    double mib = 1024.0 * 1024.0;
    if (s->map_size_bytes == 0) {
        s_add(sc, 0, "storage: %" PRIu64 " registrations, %" PRIu64 " commits", s->registrations,
              s->commits);
        return;
    }
    s_add(sc, 0, "storage: %.1f of %.1f MiB used (%.0f%%), %" PRIu64 " registrations, %" PRIu64
          " commits", (double)s->map_used_bytes / mib, (double)s->map_size_bytes / mib,
          100.0 * (double)s->map_used_bytes / (double)s->map_size_bytes, s->registrations,
          s->commits);
}

/* The status screen: header, readiness, totals, rates, queues, agents, storage. */
static void s_render(s_screen *sc, const gw_snapshot *s, uint64_t now, unsigned silent_after_s,
                     size_t partner_lines)
{
    s_render_header(sc, s, now);
    s_render_endpoints(sc, s);
    s_render_totals(sc, s);
    s_render_reasons(sc, s);
    s_render_handshakes(sc, s);
    s_render_rates(sc, s);
    s_render_queues(sc, s, now, partner_lines);
    s_render_agents(sc, s, now, silent_after_s);
    s_render_storage(sc, s);
}

/* --- status ----------------------------------------------------------------------------- */

/* Print text (taken; NULL: memory ran out) and a newline. Returns the exit status. */
static int s_put(char *text)
{
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", S_PROG);
        return S_EXIT_FAIL;
    }
    puts(text);
    free(text);
    return S_EXIT_OK;
}

int ctl_watch_status(const char *status_path, int json, unsigned silent_after_s)
{
    gw_snapshot s;
    char msg[1024];
    s_screen *sc = NULL;
    int rc = s_load(status_path, &s, msg, sizeof msg);
    if (rc != S_EXIT_OK) {
        fprintf(stderr, "%s: %s\n", S_PROG, msg);
        return rc;
    }
    uint64_t now = mn_now_ms();
    s_warn_stale(&s, now);
    if (json) {
        rc = s_put(gw_snapshot_json(&s));
        goto out;
    }
    rc = S_EXIT_FAIL;
    sc = calloc(1, sizeof *sc);
    if (!sc) {
        fprintf(stderr, "%s: out of memory\n", S_PROG);
        goto out;
    }
    s_render(sc, &s, now, silent_after_s, S_PARTNER_LINES);
    for (size_t i = 0; i < sc->n; i++)
        puts(sc->line[i]);
    rc = S_EXIT_OK;
out:
    free(sc);
    gw_snapshot_clear(&s);
    return rc;
}

/* --- queues ----------------------------------------------------------------------------- */

static json_t *s_partner_json(const gw_snap_partner *p, uint64_t ref)
{
    json_t *age = p->queue_depth && p->oldest_ms
                      ? json_integer((json_int_t)(s_since(ref, p->oldest_ms) / 1000))
                      : json_null();
    return json_pack("{s:s, s:s, s:b, s:b, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I}", "name",
                     p->name, "kind", p->kind, "revoked", p->revoked, "connected", p->connected,
                     "queue_depth", (json_int_t)p->queue_depth, "oldest_ms",
                     (json_int_t)p->oldest_ms, "oldest_age_s", age, "held", (json_int_t)p->held,
                     "deliveries", (json_int_t)p->deliveries, "redeliveries",
                     (json_int_t)p->redeliveries, "acks", (json_int_t)p->acks, "nacks",
                     (json_int_t)p->nacks);
}

/* Print doc (taken) as indented JSON. */
static int s_dump(json_t *doc)
{
    return ctl_json_print(doc) == 0 ? S_EXIT_OK : s_put(NULL);
}

static int s_queues_json(const gw_snapshot *s, uint64_t now)
{
    json_t *arr = json_array();
    uint64_t ref = s_ref_ms(s, now);
    for (size_t i = 0; arr && i < s->n_partners; i++)
        arr = ctl_json_append(arr, s_partner_json(&s->partners[i], ref));
    if (!arr)
        return s_dump(NULL);
    return s_dump(json_pack("{s:s, s:I, s:o, s:I, s:I}", "state", s->state, "written_ms",
                            (json_int_t)s->now_ms, "partners", arr, "unrouted",
                            (json_int_t)s->unrouted, "held_total", (json_int_t)s->held_total));
}

static void s_queues_text(const gw_snapshot *s, uint64_t now)
{
    int w = (int)s_partner_width(s);
    uint64_t ref = s_ref_ms(s, now);
    printf("%-*s %-9s %-4s %6s %-6s %5s %6s %7s %6s %5s\n", w, "PARTNER", "KIND", "CONN",
           "DEPTH", "OLDEST", "HELD", "DELIV", "REDELIV", "ACKS", "NACKS");
    for (size_t i = 0; i < s->n_partners; i++) {
        const gw_snap_partner *p = &s->partners[i];
        char age[32];
        s_age_of(ref, p->queue_depth ? p->oldest_ms : 0, age, sizeof age);
        printf("%-*s %-9s %-4s %6" PRIu64 " %-6s %5" PRIu64 " %6" PRIu64 " %7" PRIu64
               " %6" PRIu64 " %5" PRIu64 "%s\n", w, p->name, p->kind[0] ? p->kind : "-",
               p->connected ? "yes" : "no", p->queue_depth, age, p->held, p->deliveries,
               p->redeliveries, p->acks, p->nacks, p->revoked ? "  (revoked)" : "");
    }
    printf("unrouted: %" PRIu64 "  held: %" PRIu64 "\n", s->unrouted, s->held_total);
}

/* A note on stderr when the figures are not live. */
static void s_note_state(const gw_snapshot *s, uint64_t now)
{
    char when[32];
    s_warn_stale(s, now);
    if (s_running(s))
        return;
    s_iso(s->now_ms, when, sizeof when);
    fprintf(stderr, "%s: the gateway is %s (status written %s): the figures are from then\n",
            S_PROG, s->state[0] ? s->state : "not running", when);
}

int ctl_watch_queues(const char *status_path, int json)
{
    gw_snapshot s;
    char msg[1024];
    int rc = s_load(status_path, &s, msg, sizeof msg);
    if (rc != S_EXIT_OK) {
        fprintf(stderr, "%s: %s\n", S_PROG, msg);
        return rc;
    }
    uint64_t now = mn_now_ms();
    s_note_state(&s, now);
    if (s.n_partners == 0)
        fprintf(stderr, "%s: no partners in the status (none configured, or an older gateway "
                "that does not report them): `meldnetctl queue list` reads the store\n", S_PROG);
    if (json) {
        rc = s_queues_json(&s, now);
    } else {
        s_queues_text(&s, now);
        rc = S_EXIT_OK;
    }
    gw_snapshot_clear(&s);
    return rc;
}

/* --- agents ----------------------------------------------------------------------------- */

/* One row: a configured agent, what the file knows of it, or both. */
typedef struct s_agent_row {
    const gw_agent *conf;        /* NULL: in the file but not configured (removed) */
    const gw_snap_agent *live;   /* NULL: no live figures */
} s_agent_row;

/* What every row is judged by. */
typedef struct s_agents_view {
    uint64_t ref;            /* ages are measured from here */
    unsigned silent_after_s;
    int live_per_agent;      /* the running gateway reports agents: a missing one is not loaded */
} s_agents_view;

static const gw_snap_agent *s_find_live(const gw_snapshot *s, const char *name)
{
    for (size_t i = 0; s && i < s->n_agents; i++)
        if (strcmp(s->agents[i].name, name) == 0)
            return &s->agents[i];
    return NULL;
}

static const char *s_row_name(const s_agent_row *r)
{
    return r->conf ? r->conf->name : r->live->name;
}

static const char *s_row_region(const s_agent_row *r)
{
    return r->conf ? r->conf->region : r->live->region;
}

static int s_row_revoked(const s_agent_row *r)
{
    return r->conf ? r->conf->revoked : r->live->revoked;
}

/* Configured, not revoked, and unknown to a gateway that reports its agents: added since its
 * last reload. */
static int s_row_pending(const s_agent_row *r, const s_agents_view *v)
{
    return r->conf && !r->conf->revoked && !r->live && v->live_per_agent;
}

/* The configured agents in order, then those only the file knows. live NULL: none at all.
 * Caller frees *rows. Returns the count, or -1 when out of memory. */
static long s_agent_rows(const gw_config *cfg, const gw_snapshot *live, s_agent_row **rows)
{
    size_t n = 0, extra = live ? live->n_agents : 0;
    *rows = calloc(cfg->n_agents + extra + 1, sizeof **rows);
    if (!*rows)
        return -1;
    for (size_t i = 0; i < cfg->n_agents; i++)
        (*rows)[n++] = (s_agent_row){&cfg->agents[i], s_find_live(live, cfg->agents[i].name)};
    for (size_t i = 0; i < extra; i++)
        if (!gw_config_find_agent_any(cfg, live->agents[i].name))
            (*rows)[n++] = (s_agent_row){NULL, &live->agents[i]};
    return (long)n;
}

/* Silent: live, not revoked by the configuration (the file may predate the revocation). */
static int s_row_silent(const s_agent_row *r, const s_agents_view *v)
{
    return r->live && !s_row_revoked(r) && s_is_silent(r->live, v->ref, v->silent_after_s);
}

static const char *s_row_state(const s_agent_row *r, const s_agents_view *v)
{
    if (!r->conf)
        return "removed";
    if (r->conf->revoked)
        return "revoked";
    if (s_row_pending(r, v))
        return "pending";
    if (!r->live)
        return "-";
    return s_row_silent(r, v) ? "silent" : "ok";
}

static void s_row_fingerprint(const s_agent_row *r, char *fp, size_t cap)
{
    if (r->conf)
        mn_pubkey_fingerprint(&r->conf->pub, fp, cap);
    else
        snprintf(fp, cap, "-");
}

static json_t *s_u64_or_null(const gw_snap_agent *live, uint64_t v)
{
    return live ? json_integer((json_int_t)v) : json_null();
}

/* The live half of a row as JSON members; null where unknown. */
static json_t *s_agent_live_json(const s_agent_row *r, const s_agents_view *v)
{
    const gw_snap_agent *l = r->live;
    char iso[32];
    int seen = l && l->last_seen_ms;
    s_iso(seen ? l->last_seen_ms : 0, iso, sizeof iso);
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "connected",
        l ? json_boolean(l->connected) : json_null(), "last_seen_ms",
        seen ? json_integer((json_int_t)l->last_seen_ms) : json_null(), "last_seen",
        seen ? json_string(iso) : json_null(), "last_seen_age_s",
        seen ? json_integer((json_int_t)(s_since(v->ref, l->last_seen_ms) / 1000)) : json_null(),
        "silent", l ? json_boolean(s_row_silent(r, v)) : json_null(),
        "accepted", s_u64_or_null(l, l ? l->accepted : 0), "duplicates",
        s_u64_or_null(l, l ? l->duplicates : 0), "rejected", s_u64_or_null(l, l ? l->rejected : 0));
}

static json_t *s_agent_row_json(const s_agent_row *r, const s_agents_view *v)
{
    char fp[MN_FINGERPRINT_CHARS + 1];
    s_row_fingerprint(r, fp, sizeof fp);
    json_t *o = json_pack("{s:s, s:s, s:o, s:b, s:b, s:s}", "name", s_row_name(r), "region",
                          s_row_region(r), "fingerprint", r->conf ? json_string(fp) : json_null(),
                          "revoked", s_row_revoked(r), "configured", r->conf != NULL, "state",
                          s_row_state(r, v));
    json_t *live = s_agent_live_json(r, v);
    if (!o || !live || json_object_update(o, live) != 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(live);
    return o;
}

static int s_agents_json(const s_agent_row *rows, size_t n, const s_agents_view *v)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        arr = ctl_json_append(arr, s_agent_row_json(&rows[i], v));
    return s_dump(arr);
}

/* A count, or "-" without live figures. */
static void s_count(const gw_snap_agent *live, uint64_t v, char *buf, size_t cap)
{
    if (live)
        snprintf(buf, cap, "%" PRIu64, v);
    else
        snprintf(buf, cap, "-");
}

static void s_agent_row_text(const s_agent_row *r, int wn, int wr, const s_agents_view *v)
{
    char fp[MN_FINGERPRINT_CHARS + 1], age[32] = "-", iso[32] = "-", acc[24], dup[24], rej[24];
    const gw_snap_agent *l = r->live;
    s_row_fingerprint(r, fp, sizeof fp);
    if (l && l->last_seen_ms) {
        mn_age_format(s_since(v->ref, l->last_seen_ms), age, sizeof age);
        s_iso(l->last_seen_ms, iso, sizeof iso);
    } else if (l) {
        snprintf(age, sizeof age, "never");
    }
    s_count(l, l ? l->accepted : 0, acc, sizeof acc);
    s_count(l, l ? l->duplicates : 0, dup, sizeof dup);
    s_count(l, l ? l->rejected : 0, rej, sizeof rej);
    printf("%-*s %-*s %-16s %-7s %-4s %-6s %-20s %8s %5s %5s\n", wn, s_row_name(r), wr,
           s_row_region(r), fp, s_row_state(r, v), l ? (l->connected ? "yes" : "no") : "-", age,
           iso, acc, dup, rej);
}

static void s_agents_text(const s_agent_row *rows, size_t n, const s_agents_view *v)
{
    int wn = 4, wr = 6; /* "NAME", "REGION" */
    for (size_t i = 0; i < n; i++) {
        if ((int)strlen(s_row_name(&rows[i])) > wn)
            wn = (int)strlen(s_row_name(&rows[i]));
        if ((int)strlen(s_row_region(&rows[i])) > wr)
            wr = (int)strlen(s_row_region(&rows[i]));
    }
    printf("%-*s %-*s %-16s %-7s %-4s %-6s %-20s %8s %5s %5s\n", wn, "NAME", wr, "REGION",
           "FINGERPRINT", "STATE", "CONN", "SEEN", "LAST SEEN (UTC)", "ACCEPTED", "DUP", "REJ");
    for (size_t i = 0; i < n; i++)
        s_agent_row_text(&rows[i], wn, wr, v);
}

/* The live snapshot for the agents view, or NULL (with a note why) when there is none. */
static const gw_snapshot *s_agents_live(const char *status_path, gw_snapshot *s, uint64_t now)
{
    char msg[1024], when[32];
    if (s_load(status_path, s, msg, sizeof msg) != S_EXIT_OK) {
        fprintf(stderr, "%s: %s\n%s: live columns unknown (-); the agents are from the "
                "configuration\n", S_PROG, msg, S_PROG);
        return NULL;
    }
    if (!s_running(s)) {
        s_iso(s->now_ms, when, sizeof when);
        fprintf(stderr, "%s: the gateway is %s (since %s): live columns unknown (-)\n", S_PROG,
                s->state[0] ? s->state : "not running", when);
        return NULL;
    }
    s_warn_stale(s, now);
    if (s->n_agents == 0)
        fprintf(stderr, "%s: the status has no per-agent figures (an older gateway, or none "
                "loaded)\n", S_PROG);
    return s;
}

static void s_note_pending(const s_agent_row *rows, size_t n, const s_agents_view *v, int pid)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += s_row_pending(&rows[i], v);
    if (pending)
        fprintf(stderr, "%s: %zu agent%s configured but not loaded by the running gateway "
                "(pending): reload it with `kill -HUP %d`\n", S_PROG, pending,
                pending == 1 ? "" : "s", pid);
}

int ctl_watch_agents(const char *status_path, const gw_config *cfg, int json,
                     unsigned silent_after_s)
{
    gw_snapshot s;
    s_agent_row *rows = NULL;
    uint64_t now = mn_now_ms();
    int rc = S_EXIT_FAIL;
    const gw_snapshot *live = s_agents_live(status_path, &s, now);
    s_agents_view v = {live ? s_ref_ms(live, now) : now, silent_after_s,
                       live && live->n_agents > 0};
    long n = s_agent_rows(cfg, live, &rows);
    if (n < 0) {
        fprintf(stderr, "%s: out of memory\n", S_PROG);
        goto out;
    }
    if (n == 0)
        fprintf(stderr, "%s: no agents yet: add one with `meldnetctl agent add NAME \"LINE\"`\n",
                S_PROG);
    s_note_pending(rows, (size_t)n, &v, live ? live->pid : 0);
    if (json) {
        rc = s_agents_json(rows, (size_t)n, &v);
    } else {
        s_agents_text(rows, (size_t)n, &v);
        rc = S_EXIT_OK;
    }
out:
    free(rows);
    gw_snapshot_clear(&s);
    return rc;
}

/* --- top -------------------------------------------------------------------------------- */

static volatile sig_atomic_t s_top_stop;

static void s_on_stop(int sig)
{
    (void)sig;
    s_top_stop = 1;
}

/* Ctrl-C and SIGTERM end the loop (so endwin runs) instead of killing us mid-screen. No
 * SA_RESTART: the wait for a key returns at once. Installed before newterm, which leaves
 * handlers that are not the default alone. */
static void s_top_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static void s_top_line(int y, int loud, const char *text)
{
    if (y >= LINES)
        return;
    if (loud)
        attron(A_REVERSE);
    mvaddnstr(y, 0, text, COLS);
    if (loud)
        attroff(A_REVERSE);
}

/* A message too long for one line, broken at spaces; returns the next free line. */
static int s_top_wrapped(int y, const char *text)
{
    int width = COLS > 10 ? COLS : 10;
    while (*text && y < LINES) {
        int n = (int)strlen(text);
        if (n > width) {
            n = width;
            while (n > width / 2 && text[n] != ' ')
                n--;
        }
        if (n < width && text[n] != ' ' && text[n] != '\0')
            n = width; /* no space in the second half: cut the word */
        attron(A_REVERSE);
        mvaddnstr(y++, 0, text, n);
        attroff(A_REVERSE);
        text += n;
        while (*text == ' ')
            text++;
    }
    return y;
}

/* The title line: what this is, the time, how to quit. */
static void s_top_title(unsigned interval_ms)
{
    char clock[32], text[S_LINE_CHARS];
    s_iso(mn_now_ms(), clock, sizeof clock);
    snprintf(text, sizeof text, "meldnetctl top  %s  every %.1fs  q: quit", clock,
             interval_ms / 1000.0);
    attron(A_BOLD);
    s_top_line(0, 0, text);
    attroff(A_BOLD);
}

/* One frame: the title, then the status screen, or why there is none. */
static void s_top_draw(const gw_snapshot *s, int loaded, const char *msg, unsigned interval_ms,
                       s_screen *sc)
{
    int y = 2;
    char warn[S_LINE_CHARS];
    uint64_t now = mn_now_ms();
    erase();
    s_top_title(interval_ms);
    if (!loaded) {
        y = s_top_wrapped(y, msg);
        s_top_line(y + 1, 0, "retrying...");
        refresh();
        return;
    }
    if (s_stale(s, now, warn, sizeof warn))
        s_top_line(y++, 1, warn);
    /* all partners when they fit; else as many as fit, and a line that says how many more
     * (counted in base when there are partners) */
    sc->n = 0;
    s_render(sc, s, now, CTL_WATCH_SILENT_AFTER_S, 0);
    long base = (long)sc->n;
    long room = (LINES < S_SCREEN_LINES ? LINES : S_SCREEN_LINES) - y - base;
    size_t shown = (long)s->n_partners <= room + 1 ? s->n_partners : room > 1 ? (size_t)room : 1;
    sc->n = 0;
    s_render(sc, s, now, CTL_WATCH_SILENT_AFTER_S, shown);
    for (size_t i = 0; i < sc->n; i++)
        s_top_line(y++, sc->loud[i], sc->line[i]);
    refresh();
}

/* Wait for a key up to ms; 1 when the user asked to quit. */
static int s_top_key(int ms)
{
    timeout(ms > 0 ? ms : 0);
    int ch = getch();
    return ch == 'q' || ch == 'Q';
}

static void s_top_loop(const char *status_path, unsigned interval_ms, s_screen *sc)
{
    gw_snapshot s;
    char msg[1024] = "";
    int loaded = 0;
    uint64_t next = 0;
    memset(&s, 0, sizeof s);
    while (!s_top_stop) {
        uint64_t now = mn_now_ms();
        if (now >= next) {
            gw_snapshot_clear(&s);
            loaded = s_load(status_path, &s, msg, sizeof msg) == S_EXIT_OK;
            next = now + interval_ms;
        }
        s_top_draw(&s, loaded, msg, interval_ms, sc); /* also after a resize (KEY_RESIZE) */
        now = mn_now_ms();
        if (s_top_key(next > now ? (int)(next - now) : 0))
            break;
    }
    gw_snapshot_clear(&s);
}

int ctl_watch_top(const char *status_path, unsigned interval_ms)
{
    struct sigaction old_int, old_term;
    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        fprintf(stderr, "%s: top needs a terminal; use `meldnetctl status` (or `status --json`) "
                "in scripts\n", S_PROG);
        return S_EXIT_FAIL;
    }
    s_screen *sc = calloc(1, sizeof *sc);
    if (!sc) {
        fprintf(stderr, "%s: out of memory\n", S_PROG);
        return S_EXIT_FAIL;
    }
    s_top_stop = 0;
    s_top_signals(&old_int, &old_term);
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        fprintf(stderr, "%s: cannot drive this terminal (TERM=%s): use `meldnetctl status`\n",
                S_PROG, getenv("TERM") ? getenv("TERM") : "unset");
        free(sc);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return S_EXIT_FAIL;
    }
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    s_top_loop(status_path, interval_ms ? interval_ms : CTL_WATCH_INTERVAL_MS, sc);
    endwin();
    delscreen(scr);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(sc);
    return S_EXIT_OK;
}
