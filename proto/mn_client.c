/* mn_client.c - DEALER + CURVE socket to the gateway, and its socket monitor.
 *
 * Invariant: the state (connected, down, tcp_up) changes only on monitor events, which are
 * read only in mn_client_wait, and on_change is called once per change in the order the events
 * came, so a link that keeps per-connection state (a subscription) sees every connection.
 *
 * A refused key or a failed handshake makes libzmq give up on the endpoint for good (it treats
 * it as a protocol error and does not reconnect). The gateway's operator may fix it at any
 * time (add or re-admit the key, SIGHUP), so the client dials again itself, with a growing
 * pause (MN_CLIENT_RECONNECT_MIN_MS doubling up to MN_CLIENT_RECONNECT_MAX_MS).
 */
#include "mn_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mn_log.h"
#include "mn_time.h"

#define S_WARN_PER_MINUTE 10
#define S_MONITOR_EVENTS                                                                           \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |                    \
     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                        \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct mn_client {
    void *ctx;
    void *sock;
    void *mon;
    zmq_msg_t msg; /* the last message mn_client_recv returned */
    mn_pubkey gateway;
    char endpoint[MN_CLIENT_ENDPOINT_MAX];
    const mn_client_words *words;
    int no_answer_after_failure;
    void (*on_change)(void *arg, int up);
    void *arg;
    int connected;            /* the last handshake succeeded and no disconnect since */
    int down;                 /* a connect, handshake or connection failed since the last
                               success: a send now finds no gateway (still connecting: 0) */
    int tcp_up;               /* a TCP connection was made since the last reconnect attempt */
    int said_no_answer;       /* "does not answer" was logged since the last success */
    int err;                  /* errno of the last failed send or receive */
    uint64_t redial_ms;       /* after a failed handshake: dial again at this time; 0: not */
    unsigned redial_pause_ms; /* the pause before the next such redial */
    char problem[MN_CLIENT_PROBLEM_MAX];
    mn_log_limit lim_conn;
};

/* --- set-up ------------------------------------------------------------------------------- */

static int s_zmq_fail(mn_diag *d, const char *where, const char *doing)
{
    return mn_diag_set(d, MN_EZMQ, where, "%s: %s", doing, zmq_strerror(zmq_errno()));
}

static int s_setint(void *sock, int option, int value)
{
    return zmq_setsockopt(sock, option, &value, sizeof value);
}

int mn_client_curve(void *socket, const mn_key *identity, const uint8_t server_curve[MN_KEY_BYTES])
{
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, server_curve, MN_KEY_BYTES) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, mn_key_public(identity)->curve, MN_KEY_BYTES) !=
            0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, mn_key_curve_secret(identity), MN_KEY_BYTES) !=
            0)
        return -1;
    return 0;
}

int mn_client_new(const mn_client_config *cfg, mn_client **out, mn_diag *d)
{
    int rc = MN_OK;
    mn_client *c = NULL;
    char mon_ep[64];

    *out = NULL;
    if (!cfg || !cfg->endpoint || !cfg->identity || !cfg->gateway || !cfg->words ||
        !cfg->words->role)
        return mn_diag_set(d, MN_EINVAL, "", "mn_client_new: missing argument");
    if (cfg->max_msg_bytes <= 0)
        return mn_diag_set(d, MN_EINVAL, "", "mn_client_new: max_msg_bytes must be positive");
    c = calloc(1, sizeof *c);
    if (!c)
        return mn_diag_set(d, MN_ENOMEM, "", "no memory for the link");
    zmq_msg_init(&c->msg);
    c->gateway = *cfg->gateway;
    c->words = cfg->words;
    c->no_answer_after_failure = cfg->no_answer_after_failure;
    c->on_change = cfg->on_change;
    c->arg = cfg->arg;
    snprintf(c->endpoint, sizeof c->endpoint, "%s", cfg->endpoint);
    mn_client_set_problem(c, "no connection to the gateway at %s yet (%s)", c->endpoint,
                          c->words->waiting_ask);

    c->ctx = zmq_ctx_new();
    if (!c->ctx) {
        rc = s_zmq_fail(d, "", "cannot make a ZeroMQ context");
        goto out;
    }
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    if (!c->sock) {
        rc = s_zmq_fail(d, "", "cannot make the DEALER socket");
        goto out;
    }
    if (mn_client_curve(c->sock, cfg->identity, c->gateway.curve) ||
        s_setint(c->sock, ZMQ_LINGER, 0) || s_setint(c->sock, ZMQ_IMMEDIATE, 1) ||
        s_setint(c->sock, ZMQ_HEARTBEAT_IVL, 5000) ||
        s_setint(c->sock, ZMQ_HEARTBEAT_TIMEOUT, 15000) ||
        s_setint(c->sock, ZMQ_HEARTBEAT_TTL, 30000) ||
        s_setint(c->sock, ZMQ_RECONNECT_IVL, MN_CLIENT_RECONNECT_MIN_MS) ||
        s_setint(c->sock, ZMQ_RECONNECT_IVL_MAX, MN_CLIENT_RECONNECT_MAX_MS) ||
        s_setint(c->sock, ZMQ_CONNECT_TIMEOUT, 10000) ||
        (cfg->sndhwm > 0 && s_setint(c->sock, ZMQ_SNDHWM, cfg->sndhwm)) ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &cfg->max_msg_bytes, sizeof cfg->max_msg_bytes)) {
        rc = s_zmq_fail(d, "", "cannot set the socket options (is libzmq built with CURVE?)");
        goto out;
    }
    snprintf(mon_ep, sizeof mon_ep, "inproc://meldnet-%.16s-monitor-%p", c->words->role, (void *)c);
    if (zmq_socket_monitor(c->sock, mon_ep, S_MONITOR_EVENTS) != 0) {
        rc = s_zmq_fail(d, "", "cannot monitor the socket");
        goto out;
    }
    c->mon = zmq_socket(c->ctx, ZMQ_PAIR);
    if (!c->mon || s_setint(c->mon, ZMQ_LINGER, 0) || zmq_connect(c->mon, mon_ep)) {
        rc = s_zmq_fail(d, "", "cannot connect the socket monitor");
        goto out;
    }
    if (zmq_connect(c->sock, c->endpoint) != 0) {
        rc = s_zmq_fail(d, c->endpoint, "cannot connect to the gateway");
        mn_diag_hint(d, "check 'gateway' in %s: tcp://HOST:PORT of the gateway's %s setting",
                     c->words->conf ? c->words->conf : "the configuration",
                     c->words->listen_setting ? c->words->listen_setting : "listen");
        goto out;
    }
out:
    if (rc == MN_OK)
        *out = c;
    else
        mn_client_destroy(&c);
    return rc;
}

void mn_client_destroy(mn_client **client_p)
{
    if (!client_p || !*client_p)
        return;
    mn_client *c = *client_p;
    if (c->sock && c->mon)
        (void)zmq_socket_monitor(c->sock, NULL, 0);
    if (c->mon)
        zmq_close(c->mon);
    if (c->sock)
        zmq_close(c->sock);
    zmq_msg_close(&c->msg);
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    free(c);
    *client_p = NULL;
}

/* --- state -------------------------------------------------------------------------------- */

int mn_client_is_connected(const mn_client *c)
{
    return c->connected;
}

int mn_client_is_down(const mn_client *c)
{
    return c->down;
}

const char *mn_client_endpoint(const mn_client *c)
{
    return c->endpoint;
}

const char *mn_client_problem(const mn_client *c)
{
    return c->problem[0] ? c->problem : NULL;
}

void mn_client_set_problem(mn_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->problem, sizeof c->problem, fmt, ap);
    va_end(ap);
}

void mn_client_clear_problem(mn_client *c)
{
    c->problem[0] = '\0';
}

const char *mn_client_error(const mn_client *c)
{
    return zmq_strerror(c->err);
}

/* --- monitor ------------------------------------------------------------------------------ */

/* A connection ended, or a handshake failed. */
static void s_down(mn_client *c)
{
    c->connected = 0;
    c->down = 1;
    if (c->on_change)
        c->on_change(c->arg, 0);
}

/* libzmq will not reconnect after a failed handshake: dial again after a pause. */
static void s_redial_later(mn_client *c)
{
    if (c->redial_pause_ms < MN_CLIENT_RECONNECT_MIN_MS)
        c->redial_pause_ms = MN_CLIENT_RECONNECT_MIN_MS;
    c->redial_ms = mn_mono_ms() + c->redial_pause_ms;
    c->redial_pause_ms = c->redial_pause_ms * 2 > MN_CLIENT_RECONNECT_MAX_MS
                             ? MN_CLIENT_RECONNECT_MAX_MS
                             : c->redial_pause_ms * 2;
}

/* A redial that is due: drop the endpoint libzmq gave up on and connect it anew. */
static void s_redial_if_due(mn_client *c)
{
    if (!c->redial_ms || mn_mono_ms() < c->redial_ms)
        return;
    c->redial_ms = 0;
    (void)zmq_disconnect(c->sock, c->endpoint); /* may be gone already */
    if (zmq_connect(c->sock, c->endpoint) != 0)
        s_redial_later(c);
    log_debug(c->words->role, "dialling the gateway again endpoint=%s", c->endpoint);
}

static void s_on_event(mn_client *c, uint16_t event, uint32_t value)
{
    const mn_client_words *w = c->words;
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: {
        char fp[MN_FINGERPRINT_CHARS + 1];
        mn_pubkey_fingerprint(&c->gateway, fp, sizeof fp);
        log_info(w->role, "connected to the gateway endpoint=%s gateway=%s key=%s", c->endpoint,
                 c->gateway.name, fp);
        c->connected = 1;
        c->down = 0;
        c->tcp_up = 1;
        c->said_no_answer = 0;
        c->redial_pause_ms = 0;
        c->problem[0] = '\0';
        if (c->on_change)
            c->on_change(c->arg, 1);
        break;
    }
    case ZMQ_EVENT_DISCONNECTED:
        if (c->connected)
            mn_log_ratelimited(&c->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, w->role,
                               "gateway connection lost; reconnecting%s endpoint=%s",
                               w->lost_note ? w->lost_note : "", c->endpoint);
        if (c->connected || !c->problem[0])
            mn_client_set_problem(c,
                                  "the connection to the gateway at %s was lost; "
                                  "reconnecting",
                                  c->endpoint);
        s_down(c);
        break;
    case ZMQ_EVENT_CONNECTED: c->tcp_up = 1; break;
    case ZMQ_EVENT_CONNECT_RETRIED:
        /* After a handshake failure the reconnect is retried too: keep that reason unless the
         * TCP connection itself failed this time. */
        log_debug(w->role, "reconnecting endpoint=%s", c->endpoint);
        if (!c->connected && !c->tcp_up) {
            if (c->no_answer_after_failure ? !c->said_no_answer : !c->down)
                mn_log_ratelimited(&c->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, w->role,
                                   "gateway does not answer; %s endpoint=%s",
                                   w->no_answer_plan ? w->no_answer_plan : "retrying", c->endpoint);
            c->said_no_answer = 1;
            mn_client_set_problem(c, "the gateway at %s does not answer (%s)", c->endpoint,
                                  w->no_answer_ask ? w->no_answer_ask
                                                   : "is meldnet-gateway running there?");
        }
        c->tcp_up = 0;
        c->down = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: {
        s_redial_later(c);
        int n = snprintf(c->problem, sizeof c->problem,
                         "the gateway refused this %s's key (status %u): give the line in "
                         "keys/%s.pub to the gateway's operator for 'meldnetctl %s add'",
                         w->role, (unsigned)value, w->role, w->role);
        if (w->refused_check && n > 0 && (size_t)n < sizeof c->problem)
            snprintf(c->problem + n, sizeof c->problem - (size_t)n, " (and check that %s %s)",
                     c->endpoint, w->refused_check);
        mn_log_ratelimited(&c->lim_conn, S_WARN_PER_MINUTE, MN_LOG_ERR, w->role,
                           "gateway refused this %s's key status=%u endpoint=%s", w->role,
                           (unsigned)value, c->endpoint);
        s_down(c);
        break;
    }
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        s_redial_later(c);
        mn_client_set_problem(c,
                              "the secure handshake with the gateway at %s failed: check "
                              "that keys/gateway.pub is the gateway's current public line",
                              c->endpoint);
        mn_log_ratelimited(&c->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, w->role,
                           "handshake with the gateway failed event=0x%x endpoint=%s",
                           (unsigned)event, c->endpoint);
        s_down(c);
        break;
    default: break;
    }
}

/* Read every pending monitor event: frame 1 = u16 event | u32 value (host order), frame 2 =
 * the endpoint. */
static void s_drain_monitor(mn_client *c)
{
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, c->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        int more = zmq_msg_more(&msg);
        if (zmq_msg_size(&msg) >= 6) {
            const uint8_t *p = zmq_msg_data(&msg);
            uint16_t event;
            uint32_t value;
            memcpy(&event, p, sizeof event);
            memcpy(&value, p + 2, sizeof value);
            s_on_event(c, event, value);
        }
        zmq_msg_close(&msg);
        while (more) { /* the endpoint frame */
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, c->mon, 0) < 0) {
                zmq_msg_close(&msg);
                return;
            }
            more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
    }
}

/* --- traffic ------------------------------------------------------------------------------ */

int mn_client_wait(mn_client *c, int want_write, long timeout_ms, int *readable, int *writable,
                   mn_diag *d)
{
    zmq_pollitem_t pi[2] = {
        {c->sock, 0, (short)(ZMQ_POLLIN | (want_write ? ZMQ_POLLOUT : 0)), 0},
        {c->mon, 0, ZMQ_POLLIN, 0},
    };
    *readable = 0;
    *writable = 0;
    s_redial_if_due(c);
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (c->redial_ms) { /* wake up in time for it */
        uint64_t now = mn_mono_ms();
        long until = c->redial_ms > now ? (long)(c->redial_ms - now) : 0;
        if (until < timeout_ms)
            timeout_ms = until;
    }
    if (zmq_poll(pi, 2, timeout_ms) < 0) {
        if (zmq_errno() == EINTR)
            return MN_OK;
        return s_zmq_fail(d, c->endpoint, "waiting for the gateway failed");
    }
    if (pi[1].revents & ZMQ_POLLIN)
        s_drain_monitor(c);
    *readable = (pi[0].revents & ZMQ_POLLIN) != 0;
    *writable = (pi[0].revents & ZMQ_POLLOUT) != 0;
    return MN_OK;
}

int mn_client_send(mn_client *c, const void *data, size_t len, int *err)
{
    *err = 0;
    if (zmq_send(c->sock, data, len, ZMQ_DONTWAIT) >= 0)
        return MN_OK;
    c->err = zmq_errno();
    if (c->err == EAGAIN)
        *err = MN_CLIENT_NO_PEER;
    else if (c->err == EINTR)
        *err = MN_CLIENT_INTERRUPTED;
    else if (c->err == ETERM || c->err == ENOTSOCK)
        *err = MN_CLIENT_CLOSED;
    else
        *err = MN_CLIENT_FAILED;
    return MN_EZMQ;
}

int mn_client_recv(mn_client *c, const uint8_t **data, size_t *len, mn_diag *d)
{
    *data = NULL;
    *len = 0;
    zmq_msg_close(&c->msg);
    zmq_msg_init(&c->msg);
    if (zmq_msg_recv(&c->msg, c->sock, ZMQ_DONTWAIT) < 0) {
        c->err = zmq_errno();
        if (c->err == ETERM || c->err == ENOTSOCK)
            return s_zmq_fail(d, c->endpoint, "the socket is closed");
        return MN_ENOTFOUND;
    }
    if (zmq_msg_more(&c->msg)) {
        /* Not ours: the protocol is one frame per message. Drop all its parts. */
        int more = 1;
        while (more) {
            zmq_msg_close(&c->msg);
            zmq_msg_init(&c->msg);
            if (zmq_msg_recv(&c->msg, c->sock, 0) < 0)
                break;
            more = zmq_msg_more(&c->msg);
        }
        zmq_msg_close(&c->msg);
        zmq_msg_init(&c->msg);
        return MN_EDECODE;
    }
    *data = zmq_msg_data(&c->msg);
    *len = zmq_msg_size(&c->msg);
    return MN_OK;
}
