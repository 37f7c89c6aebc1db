/* gw_auth.h - the ZAP handler (RFC 27): admits only configured CURVE keys, fails closed.
 *
 * A thread with a REP socket on inproc://zeromq.zap.01 answers libzmq's authentication requests.
 * Each listening socket has its own ZAP domain: GW_AUTH_DOMAIN (ingest) admits agents only,
 * GW_AUTH_PARTNER_DOMAIN (delivery) partners only. The handler says 200 only for a known domain,
 * mechanism CURVE and a client key of a party in that domain's table that is not revoked, and
 * then sets User-Id to the party's name; everything else gets 400 (500 for a request that does
 * not parse), is counted by cause (gw_stats_count_refusal: unknown_key, revoked_key,
 * wrong_party, malformed) and logged, rate-limited: "auth: handshake refused cause=... role=...
 * party=... peer=ADDRESS key=FINGERPRINT domain=...".
 *
 * Fail closed: libzmq lets a CURVE client in when no ZAP handler answers unless the server socket
 * sets a ZAP domain and ZMQ_ZAP_ENFORCE_DOMAIN=1. gw_auth_secure_server() sets both (and the
 * CURVE server options); every listening socket must be made with it.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "gw_config.h"
#include "gw_stats.h"
#include "mn_error.h"
#include "mn_key.h"

#define GW_AUTH_DOMAIN "meldnet"
#define GW_AUTH_PARTNER_DOMAIN "meldnet-partner"

typedef struct gw_auth gw_auth;

/* A connection's whole handshake (ZMTP greeting, CURVE, ZAP) must be done this long after it
 * was accepted, or libzmq drops it (ZMQ_HANDSHAKE_IVL on every listening socket; libzmq's own
 * default is 30 s, long enough for half-open connections to take every descriptor). Ample for
 * a CURVE handshake, which is two round trips. */
#define GW_AUTH_HANDSHAKE_MS 5000

/* Bind the ZAP endpoint on zmq_ctx and start the handler thread. `stats` is borrowed and must
 * outlive the handler. Caller owns *out. Returns MN_OK, MN_EZMQ, MN_ESYS, MN_ENOMEM. */
MN_NODISCARD int gw_auth_start(void *zmq_ctx, gw_stats *stats, gw_auth **out, mn_diag *d);

/* Replace the agents with a copy of agents[0..n), revoked ones included: those are refused
 * (revoked_key) rather than unknown. Takes effect for the next handshake; connections already
 * admitted stay. Thread-safe. Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int gw_auth_set_agents(gw_auth *auth, const gw_agent *agents, size_t n);

/* The same for partners (domain GW_AUTH_PARTNER_DOMAIN). */
MN_NODISCARD int gw_auth_set_partners(gw_auth *auth, const gw_partner *partners, size_t n);

/* Make `socket` a CURVE server with the given secret key, ZAP `domain` (GW_AUTH_DOMAIN or
 * GW_AUTH_PARTNER_DOMAIN) and ZMQ_ZAP_ENFORCE_DOMAIN=1. Call before bind.
 * Returns MN_OK or MN_EZMQ. */
MN_NODISCARD int gw_auth_secure_server(void *socket, const uint8_t curve_secret[MN_KEY_BYTES],
                                       const char *domain, mn_diag *d);

/* A listening ROUTER socket for one ZAP domain: a CURVE server (gw_auth_secure_server), no
 * linger, ROUTER_MANDATORY, connections that send a frame over max_msg_bytes dropped by
 * libzmq, handshakes done within GW_AUTH_HANDSHAKE_MS, heartbeats (every 5 s, dead after
 * 15 s), bound to `listen`. `setting` names the
 * configuration line for the hint ("listen", "delivery_listen"). Caller owns *out
 * (zmq_close). Returns MN_OK or MN_EZMQ. */
MN_NODISCARD int gw_auth_listen(void *zmq_ctx, const char *listen,
                                const uint8_t curve_secret[MN_KEY_BYTES], const char *domain,
                                int64_t max_msg_bytes, const char *setting, void **out, mn_diag *d);

/* Stop the thread, close the socket, free. NULL-safe; twice is harmless. Call before the
 * context is terminated. */
void gw_auth_destroy(gw_auth **auth_p);

#endif
