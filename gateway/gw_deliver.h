/* gw_deliver.h - the delivery socket: partners subscribe, get their queued referrals with
 * credit, ack or nack them; unacked ones are sent again.
 *
 * One ROUTER socket (CURVE server, ZAP domain for partners). A connection's first message is a
 * Subscribe to topics its partner is bound to; from then on the gateway keeps up to `credit`
 * deliveries in flight on it, acute lane first. An ack removes the item (durably, before the
 * next delivery goes out for that slot); a nack or a missing ack within redelivery_ms makes it
 * due again later, with a delay that grows with the item's age (plus jitter); max_nacks nacks
 * or an age over max_item_age_hours move it to the partner's hold queue. A transient nack (the
 * partner's storage cannot take it now) is retried every few seconds without counting, for
 * transient_retry_hours; an acute item moved to the hold is an alarm (log_err, held_acute).
 * A new Subscribe from
 * the same partner (a reconnect) ends its older sessions: their in-flight items are due at once.
 * An ack or nack of a tag the partner was never given (not delivered to it, another partner's,
 * above any it got) changes nothing: it is counted (partner_unknown_acks), logged rate-limited
 * and answered with PartnerError UNKNOWN_TAG, and the session goes on. One of an item acked
 * already is ignored.
 */
#ifndef GW_DELIVER_H
#define GW_DELIVER_H

#include <stddef.h>

#include "gw_config.h"
#include "gw_snapshot.h"
#include "gw_stats.h"
#include "gw_store.h"
#include "mn_error.h"
#include "mn_key.h"

typedef struct gw_deliver gw_deliver;

typedef struct gw_deliver_deps {
    gw_store *store;
    gw_stats *stats;
    const mn_key *gateway;
    unsigned redelivery_ms;
    unsigned max_nacks;
    unsigned transient_retry_hours;
    unsigned max_item_age_hours;
} gw_deliver_deps;

/* Create the socket and bind `listen` (ZAP must run). Caller owns *out.
 * Returns MN_OK, MN_EZMQ, MN_ENOMEM. */
MN_NODISCARD int gw_deliver_new(void *zmq_ctx, const char *listen, const gw_deliver_deps *deps,
                                gw_deliver **out, mn_diag *d);

/* Replace the partner table (a copy). Sessions of partners no longer configured end; topics no
 * longer bound stop being delivered. Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int gw_deliver_set_partners(gw_deliver *dl, const gw_partner *partners, size_t n);

/* Fill s->partners (every configured partner, revoked ones too: kind, connected = has a
 * subscribed session, deliveries, redeliveries, acks, nacks since start) and
 * s->connected_partners. Queue figures come from gw_observe. */
void gw_deliver_snapshot(gw_deliver *dl, gw_snapshot *s);

/* Close the open connections of partner `name` (revoked or removed), and every connection
 * that has carried no message yet (gw_conn_close_idle). Returns how many. */
size_t gw_deliver_close_partner(gw_deliver *dl, const char *name);

/* The socket, for the caller's zmq_poll. */
void *gw_deliver_socket(gw_deliver *dl);

/* Handle every message waiting on the socket (non-blocking). Returns MN_OK or MN_EZMQ. */
MN_NODISCARD int gw_deliver_handle(gw_deliver *dl);

/* New items were committed for these partners (NULL: any): deliver soon. */
void gw_deliver_wake(gw_deliver *dl);

/* Send what is due within every session's credit; move timed-out and too-old items on.
 * Cheap when nothing changed. Returns MN_OK or MN_ESTORE/MN_EZMQ (logged, not fatal). */
MN_NODISCARD int gw_deliver_pump(gw_deliver *dl);

/* Milliseconds until gw_deliver_pump has timed work (for the poll timeout), at most cap_ms. */
int gw_deliver_next_timeout_ms(const gw_deliver *dl, int cap_ms);

/* NULL-safe; twice is harmless. */
void gw_deliver_destroy(gw_deliver **dl_p);

#endif
