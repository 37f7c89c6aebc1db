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

typedef struct gw_stats {
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
    uint64_t started_ms;
} gw_stats;

/* Zero all counters and set started_ms. */
void gw_stats_init(gw_stats *s);

/* Count one Reject of `reason`. */
void gw_stats_count_reject(gw_stats *s, int reason);

/* Write `run_dir`/status.json: state ("running" / "stopped"), pid, listen, counters and the
 * registration count. Returns MN_OK or MN_ESYS / MN_ENOMEM. */
MN_NODISCARD int gw_stats_write(const gw_stats *s, const char *run_dir, const char *state,
                                const char *listen, uint64_t registrations, mn_diag *d);

#endif
