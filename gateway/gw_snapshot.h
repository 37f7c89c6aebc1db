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
    const double *bounds;                  /* upper bounds, ascending; see above */
    size_t n_bounds;
    uint64_t bucket[GW_HIST_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
    uint64_t count;
    double sum;                            /* in the bounds' unit (seconds, envelopes) */
    double *bounds_owned;                  /* NULL, or heap memory bounds points to */
} gw_snap_hist;

typedef struct gw_snap_agent {
    char name[MN_NAME_MAX + 1];
    char region[MN_NAME_MAX + 1];
    int revoked;
    int connected;            /* a message came on an open connection of it */
    uint64_t last_seen_ms;    /* wall clock of its last frame; 0: not since start */
    uint64_t accepted, duplicates, rejected;
} gw_snap_agent;

typedef struct gw_snap_partner {
    char name[MN_NAME_MAX + 1];
    char kind[16];
    int revoked;
    int connected;            /* has a subscribed session */
    uint64_t queue_depth;     /* items waiting for delivery or ack */
    uint64_t oldest_ms;       /* enqueue time of the oldest of them; 0: none */
    uint64_t held;            /* items in its hold queue */
    uint64_t deliveries, redeliveries, acks, nacks;
} gw_snap_partner;

typedef struct gw_snapshot {
    char version[32];
    int pid;
    char listen[256];
    char delivery_listen[256];
    char metrics_listen[256];
    uint64_t now_ms;          /* wall clock when taken */
    uint64_t started_ms;
    char state[16];           /* "running", "stopped" */

    /* Readiness (/readyz) */
    int store_open, sockets_bound, overloaded;
    uint64_t inflight, inflight_max;
    /* Storage (gw_ingest): every new envelope is refused while either is set. */
    int disk_low;             /* free space in the data folder is below min_free_mb */
    int commits_failing;      /* the last store commits failed, none succeeded since */
    uint64_t free_mb, min_free_mb; /* the data folder's free space when last looked, the floor */

    /* Counters since start (gw_stats). */
    uint64_t frames_received, accepted, duplicates, rejected;
    uint64_t rejected_by_reason[MN_REJECT_REASON_MAX + 1];
    uint64_t handshakes_accepted, handshakes_refused;
    uint64_t handshakes_refused_by_cause[GW_REFUSAL_COUNT];
    uint64_t commits, commit_failures, reloads, queued, deliveries, redeliveries, acks, nacks;
    uint64_t held, partner_errors, partner_unknown_acks, timestamp_ahead, timestamp_stale;
    uint64_t held_acute;      /* of held, acute items: each an alarm */
    uint64_t nacks_transient; /* of nacks, transient ones: the partner deferred the item */
    uint64_t stage_ns[GW_STAGE_COUNT], stage_items[GW_STAGE_COUNT];
    gw_snap_hist ack_latency; /* seconds, receive -> receipt sent */
    gw_snap_hist batch_size;  /* envelopes per commit */

    /* Connections (socket monitor) */
    uint64_t connected_agents, connected_partners;
    uint64_t http_requests_cut; /* operators' HTTP connections closed for a slow request */

    /* Store (gw_observe) */
    uint64_t registrations;
    uint64_t unrouted;        /* topics no partner took, waiting in the hold list */
    uint64_t held_total;      /* items in every partner's hold queue */
    uint64_t map_size_bytes, map_used_bytes;

    /* History: accepted per GW_HISTORY_STEP_S, oldest first; n_history points are valid. */
    uint64_t history[GW_HISTORY_POINTS];
    size_t n_history;
    /* Per second over the last minute (or since start when younger). */
    double rate_received, rate_accepted, rate_rejected;

    gw_snap_agent *agents;    /* sorted by name; revoked ones too */
    size_t n_agents;
    gw_snap_partner *partners; /* sorted by name; revoked ones too */
    size_t n_partners;
} gw_snapshot;

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

#endif
