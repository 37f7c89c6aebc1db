/* ctl_watch.c - meldnetctl status, queues and agents: views of run/status.json.
 *
 * Each reads the file with ctl_status_load; status prints the screen of ctl_status_render, the
 * one `meldnetctl top` (ctl_top.c) draws, so the two always agree.
 */
#include "ctl_watch.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_common.h"
#include "ctl_json.h"
#include "ctl_status.h"
#include "gw_snapshot.h"
#include "mn_key.h"
#include "mn_time.h"

#define S_PARTNER_LINES 8 /* partners on the status screen (24 lines) */

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

/* --- status ----------------------------------------------------------------------------- */

/* Print text (taken; NULL: memory ran out) and a newline. Returns the exit status. */
static int s_put(char *text)
{
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", CTL_PROG);
        return CTL_EXIT_FAIL;
    }
    puts(text);
    free(text);
    return CTL_EXIT_OK;
}

int ctl_watch_status(const char *status_path, int json, unsigned silent_after_s)
{
    gw_snapshot s;
    char msg[1024];
    ctl_status_screen *sc = NULL;
    int rc = ctl_status_load(status_path, &s, msg, sizeof msg);
    if (rc != CTL_EXIT_OK) {
        fprintf(stderr, "%s: %s\n", CTL_PROG, msg);
        return rc;
    }
    uint64_t now = mn_now_ms();
    ctl_status_warn_stale(&s, now);
    if (json) {
        rc = s_put(gw_snapshot_json(&s));
        goto out;
    }
    rc = CTL_EXIT_FAIL;
    sc = calloc(1, sizeof *sc);
    if (!sc) {
        fprintf(stderr, "%s: out of memory\n", CTL_PROG);
        goto out;
    }
    ctl_status_render(sc, &s, &gw_snapshot_counters, now, silent_after_s, S_PARTNER_LINES);
    for (size_t i = 0; i < sc->n; i++)
        puts(sc->line[i]);
    rc = CTL_EXIT_OK;
out:
    free(sc);
    gw_snapshot_clear(&s);
    return rc;
}

/* --- queues ----------------------------------------------------------------------------- */

static json_t *s_partner_json(const gw_snap_partner *p, uint64_t ref)
{
    json_t *age = p->queue_depth && p->oldest_ms
                      ? json_integer((json_int_t)(ctl_status_since(ref, p->oldest_ms) / 1000))
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
    return ctl_json_print(doc) == 0 ? CTL_EXIT_OK : s_put(NULL);
}

static int s_queues_json(const gw_snapshot *s, uint64_t now)
{
    json_t *arr = json_array();
    uint64_t ref = ctl_status_ref_ms(s, now);
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
    int w = (int)ctl_status_partner_width(s);
    uint64_t ref = ctl_status_ref_ms(s, now);
    printf("%-*s %-9s %-4s %6s %-6s %5s %6s %7s %6s %5s\n", w, "PARTNER", "KIND", "CONN", "DEPTH",
           "OLDEST", "HELD", "DELIV", "REDELIV", "ACKS", "NACKS");
    for (size_t i = 0; i < s->n_partners; i++) {
        const gw_snap_partner *p = &s->partners[i];
        char age[32];
        ctl_status_age(ref, p->queue_depth ? p->oldest_ms : 0, age, sizeof age);
        printf("%-*s %-9s %-4s %6" PRIu64 " %-6s %5" PRIu64 " %6" PRIu64 " %7" PRIu64 " %6" PRIu64
               " %5" PRIu64 "%s\n",
               w, p->name, p->kind[0] ? p->kind : "-", p->connected ? "yes" : "no", p->queue_depth,
               age, p->held, p->deliveries, p->redeliveries, p->acks, p->nacks,
               p->revoked ? "  (revoked)" : "");
    }
    printf("unrouted: %" PRIu64 "  held: %" PRIu64 "\n", s->unrouted, s->held_total);
}

/* A note on stderr when the figures are not live. */
static void s_note_state(const gw_snapshot *s, uint64_t now)
{
    char when[32];
    ctl_status_warn_stale(s, now);
    if (ctl_status_is_running(s))
        return;
    ctl_status_iso(s->now_ms, when, sizeof when);
    fprintf(stderr, "%s: the gateway is %s (status written %s): the figures are from then\n",
            CTL_PROG, s->state[0] ? s->state : "not running", when);
}

int ctl_watch_queues(const char *status_path, int json)
{
    gw_snapshot s;
    char msg[1024];
    int rc = ctl_status_load(status_path, &s, msg, sizeof msg);
    if (rc != CTL_EXIT_OK) {
        fprintf(stderr, "%s: %s\n", CTL_PROG, msg);
        return rc;
    }
    uint64_t now = mn_now_ms();
    s_note_state(&s, now);
    if (s.n_partners == 0)
        fprintf(stderr,
                "%s: no partners in the status (none configured, or an older gateway "
                "that does not report them): `meldnetctl queue list` reads the store\n",
                CTL_PROG);
    if (json) {
        rc = s_queues_json(&s, now);
    } else {
        s_queues_text(&s, now);
        rc = CTL_EXIT_OK;
    }
    gw_snapshot_clear(&s);
    return rc;
}

/* --- agents ----------------------------------------------------------------------------- */

/* One row: a configured agent, what the file knows of it, or both. */
typedef struct s_agent_row {
    const gw_agent *conf;      /* NULL: in the file but not configured (removed) */
    const gw_snap_agent *live; /* NULL: no live figures */
} s_agent_row;

/* What every row is judged by. */
typedef struct s_agents_view {
    uint64_t ref; /* ages are measured from here */
    unsigned silent_after_s;
    int live_per_agent; /* the running gateway reports agents: a missing one is not loaded */
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
    return r->live && !s_row_revoked(r) && ctl_status_is_silent(r->live, v->ref, v->silent_after_s);
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
    ctl_status_iso(seen ? l->last_seen_ms : 0, iso, sizeof iso);
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "connected",
                     l ? json_boolean(l->connected) : json_null(), "last_seen_ms",
                     seen ? json_integer((json_int_t)l->last_seen_ms) : json_null(), "last_seen",
                     seen ? json_string(iso) : json_null(), "last_seen_age_s",
                     seen ? json_integer(
                                (json_int_t)(ctl_status_since(v->ref, l->last_seen_ms) / 1000))
                          : json_null(),
                     "silent", l ? json_boolean(s_row_silent(r, v)) : json_null(), "accepted",
                     s_u64_or_null(l, l ? l->accepted : 0), "duplicates",
                     s_u64_or_null(l, l ? l->duplicates : 0), "rejected",
                     s_u64_or_null(l, l ? l->rejected : 0));
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
        mn_age_format(ctl_status_since(v->ref, l->last_seen_ms), age, sizeof age);
        ctl_status_iso(l->last_seen_ms, iso, sizeof iso);
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
    if (ctl_status_load(status_path, s, msg, sizeof msg) != CTL_EXIT_OK) {
        fprintf(stderr,
                "%s: %s\n%s: live columns unknown (-); the agents are from the "
                "configuration\n",
                CTL_PROG, msg, CTL_PROG);
        return NULL;
    }
    if (!ctl_status_is_running(s)) {
        ctl_status_iso(s->now_ms, when, sizeof when);
        fprintf(stderr, "%s: the gateway is %s (since %s): live columns unknown (-)\n", CTL_PROG,
                s->state[0] ? s->state : "not running", when);
        return NULL;
    }
    ctl_status_warn_stale(s, now);
    if (s->n_agents == 0)
        fprintf(stderr,
                "%s: the status has no per-agent figures (an older gateway, or none "
                "loaded)\n",
                CTL_PROG);
    return s;
}

static void s_note_pending(const s_agent_row *rows, size_t n, const s_agents_view *v, int pid)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += s_row_pending(&rows[i], v);
    if (pending)
        fprintf(stderr,
                "%s: %zu agent%s configured but not loaded by the running gateway "
                "(pending): reload it with `kill -HUP %d`\n",
                CTL_PROG, pending, pending == 1 ? "" : "s", pid);
}

int ctl_watch_agents(const char *status_path, const gw_config *cfg, int json,
                     unsigned silent_after_s)
{
    gw_snapshot s;
    s_agent_row *rows = NULL;
    uint64_t now = mn_now_ms();
    int rc = CTL_EXIT_FAIL;
    const gw_snapshot *live = s_agents_live(status_path, &s, now);
    s_agents_view v = {live ? ctl_status_ref_ms(live, now) : now, silent_after_s,
                       live && live->n_agents > 0};
    long n = s_agent_rows(cfg, live, &rows);
    if (n < 0) {
        fprintf(stderr, "%s: out of memory\n", CTL_PROG);
        goto out;
    }
    if (n == 0)
        fprintf(stderr, "%s: no agents yet: add one with `meldnetctl agent add NAME \"LINE\"`\n",
                CTL_PROG);
    s_note_pending(rows, (size_t)n, &v, live ? live->pid : 0);
    if (json) {
        rc = s_agents_json(rows, (size_t)n, &v);
    } else {
        s_agents_text(rows, (size_t)n, &v);
        rc = CTL_EXIT_OK;
    }
out:
    free(rows);
    gw_snapshot_clear(&s);
    return rc;
}
