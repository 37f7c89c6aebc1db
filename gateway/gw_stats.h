/* gw_stats.h - the gateway's counters, and run/status.json for meldnetctl status.
 *
 * Counters are atomics: the ZAP thread and the ingest loop both bump them. The status file is
 * written crash-safely (temp, fsync, rename) at most once a second and when the gateway stops;
 * it holds counts and names only, never report content.
 */
#ifndef GW_STATS_H
#define GW_STATS_H

#include <stdatomic.h>
#include <stdint.h>

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

struct gw_stats {
    atomic_uint_fast64_t frames_received;
    atomic_uint_fast64_t accepted;           /* new registrations */
    atomic_uint_fast64_t duplicates;         /* receipts with status DUPLICATE */
    atomic_uint_fast64_t rejected;           /* every Reject sent */
    atomic_uint_fast64_t rejected_by_reason[MN_REJECT_REASON_MAX + 1];
    atomic_uint_fast64_t handshakes_accepted;
    atomic_uint_fast64_t handshakes_refused; /* ZAP said no: unknown key, wrong domain... */
    atomic_uint_fast64_t commits;            /* write transactions committed */
    atomic_uint_fast64_t commit_failures;
    atomic_uint_fast64_t reloads;
    atomic_uint_fast64_t queued;             /* partner items written */
    atomic_uint_fast64_t deliveries;         /* Delivery messages sent (redeliveries too) */
    atomic_uint_fast64_t acks;
    atomic_uint_fast64_t nacks;
    atomic_uint_fast64_t held;               /* items moved to a hold queue */
    atomic_uint_fast64_t partner_errors;     /* PartnerError sent (bad subscribe, ...) */
    atomic_uint_fast64_t partner_unknown_acks; /* ack/nack of a tag the partner was never given */
    atomic_uint_fast64_t timestamp_ahead;    /* accepted, created_ms later than now + skew */
    atomic_uint_fast64_t timestamp_stale;    /* accepted, created_ms older than GW_STALE_MS */
    /* Cost of each pipeline stage: nanoseconds spent (the thread's CPU time for receive,
     * verify_open, build and acknowledge; wall time for register and commit, which wait for
     * the builds and the disk) and envelopes through it. Per envelope: stage_ns / stage_items. */
    atomic_uint_fast64_t stage_ns[GW_STAGE_COUNT];
    atomic_uint_fast64_t stage_items[GW_STAGE_COUNT];
    atomic_uint_fast64_t inflight;           /* envelopes between receive and receipt */
    uint64_t started_ms;
};

/* Zero all counters and set started_ms. */
void gw_stats_init(gw_stats *s);

/* Count one Reject of `reason`. */
void gw_stats_count_reject(gw_stats *s, int reason);

/* Write `run_dir`/status.json: state ("running" / "stopped"), pid, listen, counters and the
 * registration count. Returns MN_OK or MN_ESYS / MN_ENOMEM. */
MN_NODISCARD int gw_stats_write(const gw_stats *s, const char *run_dir, const char *state,
                                const char *listen, uint64_t registrations, mn_diag *d);

#endif
