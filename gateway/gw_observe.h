/* gw_observe.h - the figures of a snapshot that take looking: the store's (queue depths, age of
 * the oldest item, holds, unrouted topics, map use), read on a thread of their own once a second
 * so the receive loop never waits for them, and the rates over time (throughput history).
 */
#ifndef GW_OBSERVE_H
#define GW_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_config.h"
#include "gw_snapshot.h"
#include "gw_store.h"
#include "mn_error.h"

typedef struct gw_observe gw_observe;

/* Start the store thread (first figures within a second). store is borrowed.
 * Caller owns *out. Returns MN_OK, MN_ENOMEM or MN_ESYS. */
MN_NODISCARD int gw_observe_start(gw_store *store, gw_observe **out, mn_diag *d);

/* The partners whose queues to look at (names copied). Thread-safe. MN_OK or MN_ENOMEM. */
MN_NODISCARD int gw_observe_set_partners(gw_observe *o, const gw_partner *partners, size_t n);

/* Into s: the latest store figures (registrations, unrouted, held_total, map sizes, and for each
 * s->partners entry its queue_depth, oldest_ms, held), and the rates and history from the
 * counters already in s (received, accepted, rejected; now_ms). Call once a second from one
 * thread. */
void gw_observe_fill(gw_observe *o, gw_snapshot *s);

/* Stop and join the thread, free. NULL-safe; sets *o_p to NULL. */
void gw_observe_stop(gw_observe **o_p);

#endif
