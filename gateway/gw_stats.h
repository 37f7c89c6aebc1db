/* gw_stats.h - the gateway's counters and histograms (gw_snapshot shows them).
 *
 * The plain counters are declared in gw_counters.h (GW_COUNTERS, where STATS); the labelled
 * ones, the stage costs and the histograms here. Counters are atomics: the ZAP thread, the
 * ingest threads and the delivery loop bump them; the main thread reads them once a second into
 * a snapshot (run/status.json, /metrics). They hold counts only, never report content.
 */
#ifndef GW_STATS_H
#define GW_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "gw_counters.h"
#include "mn_error.h"
#include "mn_wire.h"

typedef struct gw_stats gw_stats;

/* Pipeline stages, in the order an envelope goes through them (status.json "stages"). */
enum gw_stage {
    GW_STAGE_RECEIVE,     /* receive thread: read, agent lookup, rate limit, enqueue */
    GW_STAGE_VERIFY_OPEN, /* crypto workers: decode, verify, open, validate, digest, redact */
    GW_STAGE_BUILD,       /* crypto workers: redact, seal registry record and items, sign */
    GW_STAGE_REGISTER,    /* writer: dedup, number, wait for the builds, LMDB puts */
    GW_STAGE_COMMIT,      /* writer: mdb_txn_commit (fsync), per batch; items = envelopes */
    GW_STAGE_ACKNOWLEDGE, /* writer: sign and encode the receipts after the commit */
    GW_STAGE_COUNT
};

/* Stage names as written in status.json ("receive", "verify_open", ...). */
const char *gw_stage_name(int stage);

/* Add one measurement: ns of work for `items` envelopes. */
void gw_stats_stage(gw_stats *s, int stage, uint64_t ns, uint64_t items);

/* Created more than this long ago: counted as stale (still accepted: agents spool through
 * outages). Later than now by more than GW_CLOCK_SKEW_MS: counted as ahead (still accepted). */
#define GW_STALE_MS (30ULL * 24 * 3600 * 1000)
#define GW_CLOCK_SKEW_MS (10ULL * 60 * 1000)

/* Why a handshake was refused (handshakes_refused_by_cause; logged with the peer's address and
 * key fingerprint where there is one). */
enum gw_refusal {
    GW_REFUSAL_UNKNOWN_KEY, /* a CURVE key no configured party has */
    GW_REFUSAL_REVOKED_KEY, /* the key of a revoked agent or partner */
    GW_REFUSAL_WRONG_PARTY, /* a partner's key on the agents' socket, or the reverse; not CURVE */
    GW_REFUSAL_MALFORMED,   /* the handshake itself failed (socket monitor: protocol error) */
    GW_REFUSAL_HANDSHAKE_LIMIT, /* shut down unauthenticated: too many from its address, or in
                                 * all (gw_conn.h) */
    GW_REFUSAL_COUNT
};

/* Names as in status.json and the metrics' cause label: "unknown_key", "revoked_key", ... */
const char *gw_refusal_name(int cause);

/* A histogram with fixed upper bounds (plus +Inf); counts per bucket, not cumulative. */
#define GW_HIST_MAX_BUCKETS 16
typedef struct gw_hist {
    const double *bounds; /* ascending; one of the tables below */
    size_t n_bounds;
    atomic_uint_fast64_t bucket[GW_HIST_MAX_BUCKETS + 1];
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_micro; /* sum of observed values x 1e6 */
} gw_hist;

/* Ack latency in seconds (receive -> receipt sent), commit batch size in envelopes. */
extern const double gw_ack_latency_bounds[];
extern const size_t gw_ack_latency_n_bounds;
extern const double gw_batch_size_bounds[];
extern const size_t gw_batch_size_n_bounds;

/* Count one observation (lock-free). */
void gw_hist_observe(gw_hist *h, double value);

/* The STATS figures of GW_COUNTERS, as atomics. */
#define GW_STATS_FIELD(field, where, ...) GW_COUNTER_IF_STATS(where, atomic_uint_fast64_t field;)

struct gw_stats {
    GW_COUNTERS(GW_STATS_FIELD)
    atomic_uint_fast64_t rejected_by_reason[MN_REJECT_REASON_MAX + 1];
    atomic_uint_fast64_t handshakes_refused_by_cause[GW_REFUSAL_COUNT];
    /* Cost of each pipeline stage: nanoseconds spent (the thread's CPU time for receive,
     * verify_open, build and acknowledge; wall time for register and commit, which wait for
     * the builds and the disk) and envelopes through it. Per envelope: stage_ns / stage_items. */
    atomic_uint_fast64_t stage_ns[GW_STAGE_COUNT];
    atomic_uint_fast64_t stage_items[GW_STAGE_COUNT];
    gw_hist ack_latency; /* seconds, receive -> receipt sent */
    gw_hist batch_size;  /* envelopes per committed batch */
    uint64_t started_ms;
};

/* Zero all counters and set started_ms. */
void gw_stats_init(gw_stats *s);

/* Count one refused handshake of `cause` (handshakes_refused too). */
void gw_stats_count_refusal(gw_stats *s, int cause);

/* Count one Reject of `reason`. */
void gw_stats_count_reject(gw_stats *s, int reason);

#endif
