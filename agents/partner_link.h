/* partner_link.h - the partner's connection to the gateway's delivery endpoint: subscribe, take
 * deliveries, send acks and nacks.
 *
 * The connection is an mn_client (mn_client.h): DEALER, CURVE client, heartbeats, reconnect
 * with backoff (0.5 s up to 30 s), ZMQ_LINGER 0 and ZMQ_IMMEDIATE, so nothing is queued towards
 * a connection that is gone: an ack that cannot be sent is dropped and the gateway sends that
 * delivery again, which the partner then acknowledges as a duplicate. Its socket monitor
 * follows the handshake: after every successful handshake (the first and each reconnect) the
 * link sends Subscribe{topics, credit}, because a new connection is a new session for the
 * gateway. A refused key, a failed handshake or a gateway that does not answer is logged
 * (rate-limited; "does not answer" once per outage) and kept as the link's "problem" for the
 * operator.
 *
 * The link handles the session messages itself: Subscribed (logged; a warning when no topic is
 * bound), PartnerError NOT_SUBSCRIBED (subscribes again, unless the Subscribe on this connection
 * is still unanswered: then an ack merely overtook it) and UNKNOWN_TAG (logged). Deliveries and
 * the other errors go to the caller. docs/PROTOCOL.md §13 is the protocol.
 */
#ifndef PARTNER_LINK_H
#define PARTNER_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "mn_delivery.h"
#include "mn_error.h"
#include "mn_key.h"

typedef struct partner_link partner_link;

typedef struct partner_link_config {
    const char *endpoint;     /* the gateway's delivery endpoint; copied */
    const mn_key *identity;   /* this partner; borrowed: must outlive the link */
    const mn_pubkey *gateway; /* copied */
    const mn_topics *topics;  /* copied; NULL or n == 0: every topic bound to this partner */
    unsigned credit;          /* 1 .. MN_CREDIT_MAX deliveries in flight */
    size_t max_frame_bytes;   /* largest message accepted; a larger one drops the connection */
} partner_link_config;

/* Make the socket and start connecting (returns at once; the handshake runs in the background).
 * Caller owns *out. Returns MN_OK, MN_EINVAL (bad credit, topics or keys), MN_EZMQ (the hint
 * names the endpoint), MN_ENOMEM. */
MN_NODISCARD int partner_link_new(const partner_link_config *cfg, partner_link **out, mn_diag *d);

/* Close the socket and free *link_p. NULL-safe; twice is harmless. */
void partner_link_destroy(partner_link **link_p);

/* Wait up to wait_ms for one message for the caller, handling connection events and session
 * messages meanwhile. *got = 1 and *m filled (a DELIVERY, whose sealed bytes the caller frees
 * with mn_delivery_clear(&m->delivery), or an ERROR other than NOT_SUBSCRIBED/UNKNOWN_TAG) or
 * *got = 0. A signal ends the wait early (MN_OK). Returns MN_OK, or MN_EZMQ when the socket
 * cannot be used any more. */
MN_NODISCARD int partner_link_recv(partner_link *link, int wait_ms, mn_to_partner *m, int *got,
                                   mn_diag *d);

/* Acknowledge / nack a delivery (reason: for the gateway's operators, never content; cut to 255
 * bytes; transient: this side's storage cannot take it now, see PROTOCOL.md 13.4). Returns
 * MN_OK when sent, MN_EZMQ when there is no connection to send it on (the gateway sends the
 * delivery again). */
MN_NODISCARD int partner_link_ack(partner_link *link, uint64_t tag);
MN_NODISCARD int partner_link_nack(partner_link *link, uint64_t tag, const char *reason,
                                   int transient);

/* True once the gateway has answered Subscribed on the current connection. */
int partner_link_is_subscribed(const partner_link *link);

/* True after a first successful subscription on any connection. */
int partner_link_was_subscribed(const partner_link *link);

/* Why nothing may be arriving, for a person ("the gateway refused this partner's key ..."), or
 * NULL while subscribed. Borrowed: valid until the next call on the link. */
const char *partner_link_problem(const partner_link *link);

#endif
