/* agent_link.h - the agent's connection to the gateway: send spooled envelopes, take receipts.
 *
 * The connection is an mn_client (mn_client.h): DEALER, CURVE client, heartbeats, reconnect
 * with backoff, ZMQ_IMMEDIATE so nothing is queued towards a gateway that is not connected, and
 * a socket monitor, so an agent whose key the gateway refuses says so instead of waiting
 * silently. Each message is one frame: the ToGateway bytes from the spool out, one FromGateway
 * back.
 *
 * The spool holds the state; the link only keeps which of its own sends are in flight. An item
 * is sent when due (agent_spool_due), at most `window` at once; on a send, its next_try_ms
 * moves to now + backoff(attempts): retry_min_ms doubling per attempt up to retry_max_ms, plus
 * up to a quarter of random jitter. A receipt is recorded (acknowledged) only when its
 * signature verifies with the gateway's signing key and its id names a spool item; otherwise it
 * is logged and ignored, and the item stays queued. A retryable reject backs off, and so does
 * NOT_PERMITTED (this agent is not admitted now: revoked, or not added yet; older gateways sent
 * it as final), so what it sends while revoked is delivered once it is admitted again; any
 * other reject makes the item rejected.
 *
 * A gateway that is down or restarting is not an error: ZeroMQ reconnects by itself and due
 * items go out when it is back. Logs one line per event (sent, acknowledged, rejected, connected,
 * disconnected), never content.
 */
#ifndef AGENT_LINK_H
#define AGENT_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "agent_spool.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"

#define AGENT_LINK_WINDOW 32
#define AGENT_LINK_RETRY_MIN_MS 500
#define AGENT_LINK_RETRY_MAX_MS 60000
#define AGENT_LINK_REPLY_MAX 65536 /* largest FromGateway frame accepted */
#define AGENT_ID_HEX (2 * MN_ENVELOPE_ID_BYTES + 1)

typedef struct agent_link agent_link;

typedef struct agent_link_config {
    const char *endpoint;     /* the gateway's ingest endpoint; copied */
    const mn_key *identity;   /* borrowed: must outlive the link */
    const mn_pubkey *gateway; /* copied */
    unsigned window;          /* envelopes in flight at once; 0: AGENT_LINK_WINDOW */
    uint64_t retry_min_ms;    /* 0: AGENT_LINK_RETRY_MIN_MS */
    uint64_t retry_max_ms;    /* 0: AGENT_LINK_RETRY_MAX_MS */
} agent_link_config;

/* Make the socket and start connecting (returns at once; the handshake runs in the background).
 * spool is borrowed and must outlive the link. Caller owns *out.
 * Returns MN_OK, MN_EINVAL (bad window or keys), MN_EZMQ (hint names the endpoint), MN_ENOMEM. */
MN_NODISCARD int agent_link_new(const agent_link_config *cfg, agent_spool *spool, agent_link **out,
                                mn_diag *d);

/* Close the socket (unsent messages are dropped: they stay in the spool) and free *link_p.
 * NULL-safe; twice is harmless. */
void agent_link_destroy(agent_link **link_p);

/* One round: send due items while the window allows, then wait up to wait_ms for replies and
 * record them in the spool. only_seq != 0: consider that item only, and send it the first time
 * at once whatever its next_try_ms (for `submit`). A signal ends the wait early (MN_OK).
 * Returns MN_OK (also when the gateway is unreachable), MN_ESTORE and the like from the spool,
 * MN_EZMQ when the socket cannot be used any more. */
MN_NODISCARD int agent_link_step(agent_link *link, uint64_t only_seq, int wait_ms, mn_diag *d);

/* Sends of this link that wait for a reply and have not timed out. */
size_t agent_link_in_flight(const agent_link *link);

/* Why nothing may be getting through, for a person ("the gateway refused this agent's key
 * ..."), or NULL when the last handshake succeeded. Borrowed: valid until the next step. */
const char *agent_link_problem(const agent_link *link);

/* What to do about a report the gateway refused for good, for the person who made it. */
#define AGENT_LINK_REFUSED_TODO                                                                    \
    "Fix that, then submit the report again; the refused copy stays in the spool until you "       \
    "remove it with"

/* Why the gateway refused a report (enum mn_reject_reason), in words for hotline staff;
 * never NULL, static. */
const char *agent_link_refusal_words(int reason);

/* The envelope id as 32 lowercase hex digits, NUL-terminated. */
void agent_link_format_id(const uint8_t id[MN_ENVELOPE_ID_BYTES], char out[AGENT_ID_HEX]);

#endif
