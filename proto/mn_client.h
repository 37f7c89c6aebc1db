/* mn_client.h - a client's connection to the gateway (meldnet-agent, meldnet-partner): the
 * socket, its state, and why nothing may be getting through.
 *
 * One ZeroMQ DEALER socket, CURVE client (server key = the gateway's curve key), ZMTP
 * heartbeats (5 s, timeout 15 s), reconnect with backoff (0.5 s up to 30 s), connect timeout
 * 10 s, ZMQ_LINGER 0 and ZMQ_IMMEDIATE, so nothing is queued towards a gateway that is not
 * connected: a send without a connection fails at once (MN_CLIENT_NO_PEER) instead of waiting.
 * Each message is one frame. A socket monitor follows the connection: a successful handshake,
 * a lost connection, a gateway that does not answer, a refused key and a failed handshake are
 * logged (rate-limited; warnings a gateway can cause) and kept as the client's "problem", one
 * sentence for the operator. agent_link and partner_link are built on it and say what their
 * messages mean; this module knows nothing of them.
 *
 * The problem is one buffer: a connection event writes it, and so may the link
 * (mn_client_set_problem) for what it learns from messages; the latest writer wins, except that
 * a lost connection does not hide why an earlier attempt failed.
 */
#ifndef MN_CLIENT_H
#define MN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"
#include "mn_key.h"

#define MN_CLIENT_RECONNECT_MIN_MS 500
#define MN_CLIENT_RECONNECT_MAX_MS 30000
#define MN_CLIENT_ENDPOINT_MAX 256
#define MN_CLIENT_PROBLEM_MAX 512

typedef struct mn_client mn_client;

/* What the client says to the operator, in the words of its program. Every field is plain text
 * (never a format); all are borrowed and must outlive the client. */
typedef struct mn_client_words {
    const char *role;           /* "agent": log component, keys/ROLE.pub, meldnetctl ROLE add */
    const char *conf;           /* "agent.conf": where the endpoint is set */
    const char *listen_setting; /* "listen": the gateway's setting the endpoint must name */
    const char *waiting_ask;    /* before the first connection: "is meldnet-gateway running
                                   there?" */
    const char *no_answer_ask;  /* while it does not answer: "is meldnet-gateway running there?
                                   is the port open?" */
    const char *no_answer_plan; /* logged with "gateway does not answer; ": what happens now */
    const char *lost_note;      /* logged after "reconnecting" when a connection drops; "" */
    const char *refused_check;  /* NULL, or what to check of the endpoint when the key is
                                   refused: "and check that ENDPOINT <refused_check>" */
} mn_client_words;

typedef struct mn_client_config {
    const char *endpoint;     /* the gateway's endpoint; copied */
    const mn_key *identity;   /* borrowed: must outlive the client */
    const mn_pubkey *gateway; /* copied */
    int64_t max_msg_bytes;    /* > 0: largest message accepted; a larger one drops the
                                     connection */
    int sndhwm;               /* messages queued towards the gateway; 0: libzmq's default */
    /* 1: "does not answer" is logged once per outage, also after a lost connection or a failed
     * handshake; 0: only when nothing else went wrong since the last success (the lost
     * connection was logged already). */
    int no_answer_after_failure;
    /* Called after a successful handshake (up = 1) and after a lost connection or a failed
     * handshake (up = 0), in the order they happen, from mn_client_wait. May be NULL. */
    void (*on_change)(void *arg, int up);
    void *arg;
    const mn_client_words *words; /* borrowed */
} mn_client_config;

/* Make `socket` a CURVE client of the server whose CURVE public key is server_curve, as
 * `identity`. Call before connect. Returns 0, or -1 with zmq_errno() set. For the tools that
 * build their own sockets; mn_client_new does it for its own. */
int mn_client_curve(void *socket, const mn_key *identity, const uint8_t server_curve[MN_KEY_BYTES]);

/* Make the socket and start connecting (returns at once; the handshake runs in the
 * background). Caller owns *out. Returns MN_OK, MN_EINVAL (missing argument), MN_EZMQ (the
 * hint names words->conf and the gateway's setting), MN_ENOMEM. */
MN_NODISCARD int mn_client_new(const mn_client_config *cfg, mn_client **out, mn_diag *d);

/* Close the socket (unsent messages are dropped) and free *client_p. NULL-safe; twice is
 * harmless. */
void mn_client_destroy(mn_client **client_p);

/* Wait up to timeout_ms (< 0: 0) until the socket can be read, or written when want_write, or
 * the monitor reports; handle the monitor's events (on_change). *readable and *writable say
 * what the socket can do now. A signal ends the wait early (MN_OK, both 0). Returns MN_OK, or
 * MN_EZMQ when the socket cannot be used any more. */
MN_NODISCARD int mn_client_wait(mn_client *c, int want_write, long timeout_ms, int *readable,
                                int *writable, mn_diag *d);

/* Outcomes of mn_client_send other than MN_OK, in *err: */
#define MN_CLIENT_NO_PEER 1     /* no ready connection: nothing was queued */
#define MN_CLIENT_INTERRUPTED 2 /* a signal came first: nothing was queued */
#define MN_CLIENT_CLOSED 3      /* the socket cannot be used any more */
#define MN_CLIENT_FAILED 4      /* anything else; mn_client_error says what */

/* Send one frame without waiting. Returns MN_OK, or MN_EZMQ with *err one of the above. */
MN_NODISCARD int mn_client_send(mn_client *c, const void *data, size_t len, int *err);

/* Take one message off the socket without waiting. *data and *len are borrowed until the next
 * mn_client_recv or mn_client_destroy. Returns MN_OK, MN_ENOTFOUND (nothing waiting),
 * MN_EDECODE (a multi-frame message: not ours, dropped whole; the caller logs it), MN_EZMQ (the
 * socket is closed; diag filled). */
MN_NODISCARD int mn_client_recv(mn_client *c, const uint8_t **data, size_t *len, mn_diag *d);

/* The last send or receive error as text, for a log line after MN_CLIENT_FAILED. */
const char *mn_client_error(const mn_client *c);

/* True while the last handshake succeeded and no disconnect came since. */
int mn_client_is_connected(const mn_client *c);

/* True when a connect, handshake or connection failed since the last success (so a send now
 * finds no gateway); 0 while the first connection is still being made. */
int mn_client_is_down(const mn_client *c);

/* The endpoint, as given. Borrowed. */
const char *mn_client_endpoint(const mn_client *c);

/* Why nothing may be getting through, for a person, or NULL. Borrowed: valid until the next
 * call on the client. */
const char *mn_client_problem(const mn_client *c);

/* Set the problem (formatted, cut to MN_CLIENT_PROBLEM_MAX - 1 bytes) / clear it. */
void mn_client_set_problem(mn_client *c, const char *fmt, ...) MN_PRINTF(2, 3);
void mn_client_clear_problem(mn_client *c);

#endif
