/* gw_conn.h - the connections on one listening socket: how many are open, whose they are, why a
 * handshake failed, and closing a party's connections when it is revoked.
 *
 * A socket monitor (ZMQ_EVENT_ACCEPTED, _DISCONNECTED, _CLOSED, _HANDSHAKE_FAILED_*) feeds a
 * thread that keeps the open connections by file descriptor with the peer's address
 * (getpeername at accept). A failed handshake that the ZAP handler did not already explain
 * (a protocol error: garbage, a wrong mechanism, a broken CURVE exchange) is counted as
 * GW_REFUSAL_MALFORMED and logged, rate-limited, with the listening endpoint and the peer's
 * address. Messages name their connection (ZMQ_SRCFD): the receiving thread notes which party
 * each open connection belongs to, so a revoked party's connections can be closed: shutdown() of
 * its TCP socket, after which libzmq sees the peer gone and drops the pipe (the descriptor stays
 * libzmq's; it is checked against the recorded peer first, so a reused descriptor is left
 * alone).
 *
 * Unauthenticated connections. libzmq reads what a peer sends before the CURVE handshake has
 * said who it is (up to ZMQ_MAXMSGSIZE for one handshake command), and each connection holds a
 * descriptor until libzmq's handshake timeout. So the thread bounds the connections that may
 * still be handshaking: accepted less than GW_AUTH_HANDSHAKE_MS ago and no message yet. When a
 * new one takes its address over `per_address`, the oldest such connection of that address is
 * shut down; when it takes all of them over `total`, the oldest of all. Each is counted as a
 * refused handshake of cause GW_REFUSAL_HANDSHAKE_LIMIT and logged, rate-limited. What peers
 * without a key can make the gateway hold is so at most total x ZMQ_MAXMSGSIZE, and a flood
 * from one address leaves descriptors for everyone else ("an address": an IPv4 address, or an
 * IPv6 /64, which one host may have whole). An admitted agent that has sent
 * nothing yet counts as unauthenticated until GW_AUTH_HANDSHAKE_MS have passed; shut down, it
 * dials again.
 */
#ifndef GW_CONN_H
#define GW_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "gw_stats.h"
#include "mn_error.h"

typedef struct gw_conn gw_conn;

/* Defaults of the bounds on unauthenticated connections (gw_conn_set_limits). */
#define GW_CONN_PER_ADDRESS_DEFAULT 8u
#define GW_CONN_TOTAL_DEFAULT 64u

/* Watch `socket` (bound already, made by gw_auth_listen). `role` is "agent" or "partner" (log
 * lines, the inproc monitor endpoint's name). stats is borrowed. Caller owns *out.
 * Returns MN_OK, MN_EZMQ, MN_ESYS or MN_ENOMEM. */
MN_NODISCARD int gw_conn_start(void *zmq_ctx, void *socket, const char *role, gw_stats *stats,
                               gw_conn **out, mn_diag *d);

/* Bound the connections that may still be handshaking: at most per_address from one IP
 * address, at most total in all (see the top; 0 keeps the current value). Thread-safe; applies
 * from the next accepted connection. */
void gw_conn_set_limits(gw_conn *c, unsigned per_address, unsigned total);

/* Raise this process's soft descriptor limit (RLIMIT_NOFILE) to its hard limit, since every
 * connection holds one, and log the limit (a warning when it is still below 4096, with what to
 * do). Call once at start-up, before the sockets listen. */
void gw_conn_raise_fd_limit(void);

/* A message from `party` arrived on msg's connection: remember the connection as the party's.
 * msg is any frame read from the socket (its ZMQ_SRCFD names the connection). Call from the
 * thread that reads the socket; cheap (a mutex and a compare, never a system call). */
void gw_conn_note(gw_conn *c, const zmq_msg_t *msg, const char *party);

/* Open connections on the socket (accepted, not yet gone; handshaking ones too). */
uint64_t gw_conn_open_count(gw_conn *c);

/* Does `party` have an open connection that carried a message? */
int gw_conn_party_connected(gw_conn *c, const char *party);

/* Close every open connection noted for `party`. Returns how many were closed. They stop
 * counting for gw_conn_party_connected at once, and for gw_conn_open_count when libzmq reports
 * them gone. A connection whose peer address could not be read when it was accepted is left
 * alone (it cannot be told from a reused descriptor), and is not counted. */
size_t gw_conn_close_party(gw_conn *c, const char *party);

/* Close every open connection that has carried no message yet: admitted and idle, or still in
 * its handshake. Such a connection is noted for no party (the ZAP handler sees the key, not the
 * connection), so a revoked party's idle connection is one of them; the others' peers
 * reconnect by themselves (ZeroMQ does), and nothing was sent on them to lose. Returns how
 * many were closed; checked and logged as gw_conn_close_party does. */
size_t gw_conn_close_idle(gw_conn *c);

/* Stop the monitor, join the thread, free. Call before the socket is closed. NULL-safe and
 * sets *c_p to NULL. May take up to 100 ms (the thread's poll interval). */
void gw_conn_stop(gw_conn **c_p);

#endif
