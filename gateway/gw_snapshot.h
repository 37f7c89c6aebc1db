/* gw_snapshot.h - what an operator can see of the running gateway, taken once a second.
 *
 * The main thread fills a snapshot from the counters (gw_stats), the agent table (gw_ingest),
 * the partner sessions (gw_deliver) and the store's queue figures (gw_observe, its own thread),
 * writes it to run/status.json (meldnetctl status, top, queues and agents read that file) and
 * hands it to the HTTP endpoint (gw_http), which renders /metrics and the status page from it.
 * So every view shows the same numbers, at most a second old.
 *
 * A snapshot holds names, counts and times only: never report content, never victim data.
 */
#ifndef GW_SNAPSHOT_H
#define GW_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "gw_stats.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_wire.h"

/* Throughput history for the status page and "rates over the last minute": one point (envelopes
 * accepted in that step) every GW_HISTORY_STEP_S seconds, GW_HISTORY_POINTS of them, oldest
 * first. */
#define GW_HISTORY_STEP_S 5
#define GW_HISTORY_POINTS 180 /* 15 minutes */

/* Who owns `bounds`: it points either to a gw_stats table (gw_ack_latency_bounds,
 * gw_batch_size_bounds: static, shared, never freed) or to `bounds_owned`, a heap array the
 * snapshot owns. The gateway fills bounds from its gw_hist (a table) and leaves bounds_owned
 * NULL. gw_snapshot_parse points bounds to the matching table when the file's bounds equal it
 * (the usual case) and otherwise to a fresh bounds_owned (a gateway of another version);
 * gw_snapshot_clear frees bounds_owned, gw_snapshot_copy duplicates it and points the copy's
 * bounds to the duplicate. So bounds never dangles after clear/copy of the other snapshot. */
typedef struct gw_snap_hist {
    const double *bounds; /* upper bounds, ascending; see above */
    size_t n_bounds;
    uint64_t bucket[GW_HIST_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
    uint64_t count;
    double sum;           /* in the bounds' unit (seconds, envelopes) */
    double *bounds_owned; /* NULL, or heap memory bounds points to */
} gw_snap_hist;

typedef struct gw_snap_agent {
    char name[MN_NAME_MAX + 1];
    char region[MN_NAME_MAX + 1];
    int revoked;
    int connected;         /* a message came on an open connection of it */
    uint64_t last_seen_ms; /* wall clock of its last frame; 0: not since start */
    uint64_t accepted, duplicates, rejected;
} gw_snap_agent;

typedef struct gw_snap_partner {
    char name[MN_NAME_MAX + 1];
    char kind[16];
    int revoked;
    int connected;        /* has a subscribed session */
    uint64_t queue_depth; /* items waiting for delivery or ack */
    uint64_t oldest_ms;   /* enqueue time of the oldest of them; 0: none */
    uint64_t held;        /* items in its hold queue */
    uint64_t deliveries, redeliveries, acks, nacks;
} gw_snap_partner;

/* The figures of GW_COUNTERS, as plain numbers. */
#define GW_SNAPSHOT_FIELD(field, ...) uint64_t field;

typedef struct gw_snapshot {
    char version[32];
    int pid;
    char listen[256];
    char delivery_listen[256];
    char metrics_listen[256];
    uint64_t now_ms; /* wall clock when taken */
    uint64_t started_ms;
    char state[16]; /* "running", "stopped" */

    /* Readiness (/readyz); inflight and inflight_max are counters (below). */
    int store_open, sockets_bound, overloaded;
    /* Storage (gw_ingest): every new envelope is refused while either is set (free_mb and
     * min_free_mb are counters). */
    int disk_low;        /* free space in the data folder is below min_free_mb */
    int commits_failing; /* the last store commits failed, none succeeded since */

    /* Counters and gauges (gw_counters.h): from gw_stats, the socket monitor (connected_*),
     * the store (gw_observe: registrations, unrouted, held_total, map_*) and main.c. */
    GW_COUNTERS(GW_SNAPSHOT_FIELD)

    /* Labelled counters and histograms since start (gw_stats). */
    uint64_t rejected_by_reason[MN_REJECT_REASON_MAX + 1];
    uint64_t handshakes_refused_by_cause[GW_REFUSAL_COUNT];
    uint64_t stage_ns[GW_STAGE_COUNT], stage_items[GW_STAGE_COUNT];
    gw_snap_hist ack_latency; /* seconds, receive -> receipt sent */
    gw_snap_hist batch_size;  /* envelopes per commit */

    /* History: accepted per GW_HISTORY_STEP_S, oldest first; n_history points are valid. */
    uint64_t history[GW_HISTORY_POINTS];
    size_t n_history;
    /* Per second over the last minute (or since start when younger). */
    double rate_received, rate_accepted, rate_rejected;

    gw_snap_agent *agents; /* sorted by name; revoked ones too */
    size_t n_agents;
    gw_snap_partner *partners; /* sorted by name; revoked ones too */
    size_t n_partners;
} gw_snapshot;

/* The counters of GW_COUNTERS, with their offsets in gw_snapshot: what gw_snapshot_json,
 * gw_snapshot_parse, gw_metrics_render and meldnetctl's status screen show. */
extern const gw_counter_table gw_snapshot_counters;

/* The value of counter c in s: the uint64_t at c->offset from s (which may be the start of a
 * larger struct when c comes from a caller's own table). */
uint64_t gw_snapshot_counter(const gw_snapshot *s, const gw_counter *c);

/* Start a snapshot from the counters: everything else zero; state, version, pid, now_ms,
 * started_ms filled and the STATS figures of GW_COUNTERS, the labelled counters and the
 * histograms copied (the other figures are added by their owners). */
void gw_snapshot_from_stats(const gw_stats *st, gw_snapshot *out, const char *state);

/* Ready: the store is open, the sockets are bound, the gateway is not overloaded, the data
 * folder has more free space than min_free_mb and the store's commits succeed (/readyz,
 * meldnet_ready, the status page): a gateway that refuses every envelope is not ready. */
int gw_snapshot_is_ready(const gw_snapshot *s);

/* Why s is not ready: "store not open", "sockets not bound", "overloaded: N envelopes in flight
 * of M", "storage: free space ... below min_free_mb ...", "storage: the last commits to the
 * store failed ...", those that apply, joined by sep, into out (truncated to cap). "" when
 * ready. */
void gw_snapshot_not_ready_text(const gw_snapshot *s, const char *sep, char *out, size_t cap);

/* Free the arrays (agents, partners, the histograms' bounds_owned) and zero the snapshot.
 * NULL-safe; twice is harmless. */
void gw_snapshot_clear(gw_snapshot *s);

/* Deep copy (arrays duplicated) into dst, which is overwritten: clear it first if it holds
 * arrays. On failure dst is left cleared. Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int gw_snapshot_copy(gw_snapshot *dst, const gw_snapshot *src);

/* The snapshot as JSON text (run/status.json's format, documented in docs/OPERATING.md):
 * the fields above by the same names; "rejected_by_reason" and "handshakes_refused_by_cause"
 * as objects keyed by name; "stages" as {"receive": {"ns": N, "items": N}, ...}; histograms as
 * {"bounds": [...], "buckets": [...], "count": N, "sum": X}; "history" as an array;
 * "agents" and "partners" as arrays of objects. Caller frees. NULL when out of memory. */
char *gw_snapshot_json(const gw_snapshot *s);

/* gw_snapshot_json with the counters of `counters` (borrowed) instead of gw_snapshot_counters:
 * each written where its json_at says, in table order. */
char *gw_snapshot_json_with(const gw_snapshot *s, const gw_counter_table *counters);

/* Write gw_snapshot_json(s) and a newline to run_dir/status.json, crash-safely (temp file,
 * fsync, rename; mode 0644), so a reader never sees half a file. Returns MN_OK, MN_ENOMEM,
 * MN_EINVAL (path too long) or MN_ESYS (d names the path). */
MN_NODISCARD int gw_snapshot_write(const gw_snapshot *s, const char *run_dir, mn_diag *d);

/* Parse what gw_snapshot_json wrote (meldnetctl). Unknown fields are ignored, missing ones
 * stay zero; a file of an older gateway (no agents, no history) parses. A field of the wrong
 * type (a string for a count, a negative count, a name too long for its buffer, a histogram
 * with more than GW_HIST_MAX_BUCKETS bounds) is an error: d's where is the field's path
 * ("partners[1].queue_depth"), its what says what was expected and found. "written_ms" fills
 * now_ms; "history" keeps its newest GW_HISTORY_POINTS points. *out is overwritten (clear it
 * first if it holds arrays); caller owns the result (gw_snapshot_clear), and on failure *out is
 * left cleared. Returns MN_OK, MN_EDECODE or MN_ENOMEM. */
MN_NODISCARD int gw_snapshot_parse(const char *json, gw_snapshot *out, mn_diag *d);

/* gw_snapshot_parse with the counters of `counters` (borrowed) instead of gw_snapshot_counters.
 * Only the gw_snapshot part of *out is zeroed first: a caller's table that names fields past it
 * zeroes those itself. */
MN_NODISCARD int gw_snapshot_parse_with(const char *json, const gw_counter_table *counters,
                                        gw_snapshot *out, mn_diag *d);

#endif
