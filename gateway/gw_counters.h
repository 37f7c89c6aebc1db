/* gw_counters.h - the gateway's plain counters and gauges, each declared once.
 *
 * GW_COUNTERS(X) lists every per-gateway figure that is one number: its field, where its value
 * lives, counter or gauge, its place in run/status.json, on `meldnetctl status` and in /metrics,
 * its metric name and help. From it come the atomics of gw_stats, the fields of gw_snapshot and
 * the table (gw_counter_table, gw_snapshot_counters) that status.json (write and parse),
 * /metrics and the status screen walk. Adding a figure is one line here and the code that
 * counts it: an atomic_fetch_add on gw_stats (STATS), or setting the snapshot field where the
 * snapshot is filled (SNAP).
 *
 * Not in the table, each with code of its own because each is more than one number: the
 * labelled families (rejects by reason, refused handshakes by cause, the per-stage times, the
 * per-partner and per-agent figures), the two histograms, the times (started_ms, written_ms),
 * the flags (store_open, overloaded, ...) and the rates and history.
 *
 * The table is in status.json order (within each of its three places); /metrics writes its
 * families place by place, in table order within a place. The places keep the order both
 * outputs had before the table, so that neither changed.
 */
#ifndef GW_COUNTERS_H
#define GW_COUNTERS_H

#include <stddef.h>

/* Counter: only goes up, from 0 at start (/metrics: TYPE counter, a name ending in _total).
 * Gauge: a level now. */
enum gw_counter_type { GW_COUNTER, GW_GAUGE };

/* Where in run/status.json: the figures gw_stats_write wrote before snapshots existed came in
 * two runs, before "rejected_by_reason" (HEAD) and before "stages" (MIDDLE); the later ones
 * after "commits_failing" (TAIL). A new figure goes in TAIL. */
enum gw_json_at { GW_JSON_HEAD, GW_JSON_MIDDLE, GW_JSON_TAIL };

/* On `meldnetctl status` (and top): NONE, not by itself (the screen's own lines show it in
 * context, or it is not shown); TOTALS, on the line "accepted N  duplicates N  rejected N  in
 * flight ..." (for the few headline figures: the line is not wrapped); MORE, on lines of
 * "name N" after the storage line, as many to a line as fit in 80 columns. */
enum gw_view { GW_VIEW_NONE, GW_VIEW_TOTALS, GW_VIEW_MORE };

/* Where in /metrics, in the order written, between the families of gw_metrics' own code:
 *   build_info, process_start_time_seconds
 *   ENVELOPES, then envelopes_rejected_total{reason}
 *   HANDSHAKES, then handshakes_refused_total{cause}, the two histograms
 *   PIPELINE, STORE, STORE_MAP, CONNECTIONS, then the partner_* and agent_* families
 *   MISC, MISC_END, then the stage_* families, ready
 * NONE: not in /metrics (a labelled family shows it, or it never was). MISC_END holds
 * timestamps_ahead_total, which follows timestamps_stale_total in /metrics but precedes
 * timestamp_stale in status.json. */
enum gw_metric_at {
    GW_METRIC_NONE,
    GW_METRIC_ENVELOPES,
    GW_METRIC_HANDSHAKES,
    GW_METRIC_PIPELINE,
    GW_METRIC_STORE,
    GW_METRIC_STORE_MAP,
    GW_METRIC_CONNECTIONS,
    GW_METRIC_MISC,
    GW_METRIC_MISC_END,
};

/* X(field, where, type, json_at, view, metric_at, metric, help)
 *   field      the name of the gw_snapshot field (uint64_t) and of its status.json key and
 *              its label on `meldnetctl status`; with STATS also the gw_stats atomic
 *   where      STATS: an atomic in gw_stats, bumped by the threads and copied into each
 *              snapshot (gw_snapshot_from_stats); SNAP: set in the snapshot by its owner when
 *              the snapshot is filled (main.c, gw_ingest, gw_deliver, gw_observe)
 *   metric     the /metrics family without "meldnet_", or NULL with GW_METRIC_NONE
 *   help       its HELP line; for the others what it counts */
/* clang-format off */
#define GW_COUNTERS(X)                                                                           \
    X(registrations, SNAP, GW_GAUGE, GW_JSON_HEAD, GW_VIEW_NONE, GW_METRIC_STORE,               \
      "registrations", "Registration records in the store.")                                    \
    X(frames_received, STATS, GW_COUNTER, GW_JSON_HEAD, GW_VIEW_NONE, GW_METRIC_ENVELOPES,      \
      "envelopes_received_total", "Frames received on the ingest socket.")                      \
    X(accepted, STATS, GW_COUNTER, GW_JSON_HEAD, GW_VIEW_TOTALS, GW_METRIC_ENVELOPES,           \
      "envelopes_accepted_total", "Envelopes registered for the first time (receipt status OK).") \
    X(duplicates, STATS, GW_COUNTER, GW_JSON_HEAD, GW_VIEW_TOTALS, GW_METRIC_ENVELOPES,         \
      "envelopes_duplicate_total", "Envelopes registered before (receipt status DUPLICATE).")   \
    X(rejected, STATS, GW_COUNTER, GW_JSON_HEAD, GW_VIEW_TOTALS, GW_METRIC_NONE, NULL,          \
      "Every Reject sent (/metrics: envelopes_rejected_total by reason).")                      \
    X(handshakes_accepted, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE,                     \
      GW_METRIC_HANDSHAKES, "handshakes_accepted_total", "CURVE handshakes the gateway accepted.") \
    X(handshakes_refused, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_NONE, NULL,\
      "ZAP said no, or the handshake failed (/metrics: handshakes_refused_total by cause).")    \
    X(commits, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_PIPELINE,             \
      "commits_total", "Write transactions committed.")                                         \
    X(commit_failures, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_PIPELINE,     \
      "commit_failures_total", "Write transactions that failed.")                               \
    X(reloads, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_PIPELINE,             \
      "reloads_total", "Configuration reloads (SIGHUP) that took effect.")                      \
    X(queued, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_NONE, NULL,            \
      "Partner items written.")                                                                 \
    X(deliveries, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_NONE, NULL,        \
      "Delivery messages sent (redeliveries too).")                                             \
    X(acks, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_NONE, NULL,              \
      "Items partners acknowledged.")                                                           \
    X(nacks, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_NONE, NULL,             \
      "Items partners refused (nack).")                                                         \
    X(held, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_NONE, NULL,              \
      "Items moved to a hold queue.")                                                           \
    X(partner_errors, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_MISC,          \
      "partner_errors_total", "PartnerError messages sent (bad subscribe and the like).")       \
    X(partner_unknown_acks, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_MISC,    \
      "partner_unknown_acks_total", "Acks or nacks of a tag the partner was never given.")      \
    X(timestamp_ahead, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_MISC_END,     \
      "timestamps_ahead_total",                                                                 \
      "Accepted envelopes created later than now plus the allowed clock skew.")                 \
    X(timestamp_stale, STATS, GW_COUNTER, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_MISC,         \
      "timestamps_stale_total", "Accepted envelopes created more than 30 days before receipt.") \
    X(inflight, STATS, GW_GAUGE, GW_JSON_MIDDLE, GW_VIEW_NONE, GW_METRIC_PIPELINE,              \
      "inflight_envelopes", "Envelopes between receive and receipt.")                           \
    X(inflight_max, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_PIPELINE,             \
      "inflight_limit_envelopes",                                                               \
      "Envelopes in flight above which new ones are rejected as OVERLOADED.")                   \
    X(redeliveries, STATS, GW_COUNTER, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_NONE, NULL,        \
      "Of the deliveries, items sent before (attempts > 0).")                                   \
    X(connected_agents, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_CONNECTIONS,      \
      "connected_agents", "Agent connections open now.")                                        \
    X(connected_partners, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_CONNECTIONS,    \
      "connected_partners", "Partner connections open now.")                                    \
    X(unrouted, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_STORE,                    \
      "unrouted_topics", "Topics no partner took, waiting in the hold list.")                   \
    X(held_total, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_STORE,                  \
      "hold_items", "Items in the hold queues of all partners.")                                \
    X(map_size_bytes, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_STORE_MAP,          \
      "store_map_size_bytes", "Size of the store's memory map (its maximum).")                  \
    X(map_used_bytes, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_STORE_MAP,          \
      "store_used_bytes", "Bytes of the store's map in use.")                                   \
    X(free_mb, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_NONE, NULL,                \
      "Free space in the data folder when last looked, in MB.")                                 \
    X(min_free_mb, SNAP, GW_GAUGE, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_NONE, NULL,            \
      "min_free_mb: below it every new envelope is refused.")                                   \
    X(http_requests_cut, SNAP, GW_COUNTER, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_CONNECTIONS,   \
      "http_requests_cut_total",                                                                \
      "Connections to this endpoint closed because a request took too long in all.")           \
    X(held_acute, STATS, GW_COUNTER, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_STORE,               \
      "held_acute_total",                                                                       \
      "Acute referrals moved to a hold queue since start: alert on any increase, each "         \
      "needs an operator now.")                                                                 \
    X(nacks_transient, STATS, GW_COUNTER, GW_JSON_TAIL, GW_VIEW_NONE, GW_METRIC_STORE,          \
      "nacks_transient_total",                                                                  \
      "Deliveries a partner deferred (transient nack: its storage could not take them).")  \
    X(acute_unrouted, STATS, GW_COUNTER, GW_JSON_TAIL, GW_VIEW_MORE, GW_METRIC_STORE,           \
      "acute_unrouted_total",                                                                   \
      "Acute reports since start whose acute rule's topic no partner is bound to: they wait "   \
      "unrouted; alert on any increase, bind a partner and release them.")
/* clang-format on */

/* `code` for a STATS figure, nothing for a SNAP one (for the X of GW_COUNTERS). */
#define GW_COUNTER_IF_STATS(where, code) GW_COUNTER_IF_STATS_##where(code)
#define GW_COUNTER_IF_STATS_STATS(code) code
#define GW_COUNTER_IF_STATS_SNAP(code)

/* One row of the table, as the renderers read it. */
typedef struct gw_counter {
    const char *name;   /* the field's name: status.json key, label on the status screen */
    const char *metric; /* /metrics family without "meldnet_"; NULL: not in /metrics */
    const char *help;
    int type;      /* enum gw_counter_type */
    int json_at;   /* enum gw_json_at */
    int view;      /* enum gw_view */
    int metric_at; /* enum gw_metric_at */
    size_t offset; /* of its uint64_t from the start of the snapshot it is read from */
} gw_counter;

/* A table of counters: gw_snapshot_counters (GW_COUNTERS), or a caller's own (a test). */
typedef struct gw_counter_table {
    const gw_counter *items;
    size_t n;
} gw_counter_table;

/* GW_COUNTERS' X for a gw_counter of the struct `type` (offsetof; stddef.h). */
#define GW_COUNTER_ROW(type, field, where, ctype, json_at, view, metric_at, metric, help)          \
    {#field, metric, help, ctype, json_at, view, metric_at, offsetof(type, field)},

#endif
