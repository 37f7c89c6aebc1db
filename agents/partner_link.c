/* partner_link.c - DEALER + CURVE link to the gateway's delivery socket: subscribe after every
 * handshake, receive ToPartner messages, send acks and nacks.
 *
 * Invariant: a Subscribe goes out once per successful handshake (retried while the new
 * connection is not yet attached to the socket), never before one: with ZMQ_IMMEDIATE a send
 * without a connection fails instead of waiting for the next connection, so nothing stale (an
 * old Subscribe, an ack for an earlier session) is queued across a reconnect.
 */
#include "partner_link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mn_log.h"
#include "mn_wire.h"
#include "partner_config.h"

#define S_LOG "partner"
#define S_WARN_PER_MINUTE 10
#define S_SUBSCRIBE_RETRY_MS 50
#define S_MONITOR_EVENTS                                                                       \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |                    \
     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                        \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct partner_link {
    void *ctx;
    void *sock;
    void *mon;
    const mn_key *identity;
    mn_pubkey gateway;
    char endpoint[PARTNER_ENDPOINT_MAX];
    mn_topics topics;
    unsigned credit;
    size_t max_frame_bytes;
    int connected;       /* the last handshake succeeded and no disconnect since */
    int need_subscribe;  /* connected, and the Subscribe for this connection is not sent yet */
    int awaiting;        /* a Subscribe went out on this connection and is not answered yet */
    int subscribed;      /* the gateway answered Subscribed on this connection */
    int ever_subscribed;
    int tcp_up;          /* a TCP connection was made since the last reconnect attempt */
    int said_no_answer;  /* "does not answer" was logged for this outage */
    char problem[512];
    mn_log_limit lim_conn;
    mn_log_limit lim_msg;
};

void partner_link_quote(const char *text, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        char buf[5];
        size_t n;
        if (*p == '"' || *p == '\\')
            n = (size_t)snprintf(buf, sizeof buf, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            n = (size_t)snprintf(buf, sizeof buf, "\\x%02x", *p);
        else
            n = (size_t)snprintf(buf, sizeof buf, "%c", *p);
        if (o + n >= cap)
            break;
        memcpy(out + o, buf, n);
        o += n;
    }
    out[o] = '\0';
}

int partner_link_is_subscribed(const partner_link *link)
{
    return link->subscribed;
}

int partner_link_was_subscribed(const partner_link *link)
{
    return link->ever_subscribed;
}

const char *partner_link_problem(const partner_link *link)
{
    return link->problem[0] ? link->problem : NULL;
}

/* --- set-up ------------------------------------------------------------------------------- */

static int s_zmq_fail(mn_diag *d, const char *where, const char *doing)
{
    return mn_diag_set(d, MN_EZMQ, where, "%s: %s", doing, zmq_strerror(zmq_errno()));
}

static int s_setint(void *sock, int option, int value)
{
    return zmq_setsockopt(sock, option, &value, sizeof value);
}

int partner_link_new(const partner_link_config *cfg, partner_link **out, mn_diag *d)
{
    int rc = MN_OK;
    partner_link *link = NULL;
    char mon_ep[64];

    *out = NULL;
    if (!cfg || !cfg->endpoint || !cfg->identity || !cfg->gateway)
        return mn_diag_set(d, MN_EINVAL, "", "partner_link_new: missing argument");
    if (cfg->credit < 1 || cfg->credit > MN_CREDIT_MAX)
        return mn_diag_set(d, MN_EINVAL, "credit", "a credit of %u is out of bounds (1 .. %d)",
                           cfg->credit, MN_CREDIT_MAX);
    if (cfg->topics && cfg->topics->n > MN_TOPICS_MAX)
        return mn_diag_set(d, MN_EINVAL, "topics", "more than %d topics", MN_TOPICS_MAX);
    link = calloc(1, sizeof *link);
    if (!link)
        return mn_diag_set(d, MN_ENOMEM, "", "no memory for the link");
    link->identity = cfg->identity;
    link->gateway = *cfg->gateway;
    link->credit = cfg->credit;
    link->max_frame_bytes = cfg->max_frame_bytes ? cfg->max_frame_bytes : PARTNER_FRAME_DEFAULT;
    if (cfg->topics)
        link->topics = *cfg->topics;
    snprintf(link->endpoint, sizeof link->endpoint, "%s", cfg->endpoint);
    snprintf(link->problem, sizeof link->problem,
             "no connection to the gateway at %s yet (is meldnet-gateway running there, with "
             "this delivery endpoint?)", link->endpoint);

    link->ctx = zmq_ctx_new();
    if (!link->ctx) {
        rc = s_zmq_fail(d, "", "cannot make a ZeroMQ context");
        goto out;
    }
    link->sock = zmq_socket(link->ctx, ZMQ_DEALER);
    if (!link->sock) {
        rc = s_zmq_fail(d, "", "cannot make the DEALER socket");
        goto out;
    }
    const mn_pubkey *me = mn_key_public(cfg->identity);
    if (zmq_setsockopt(link->sock, ZMQ_CURVE_SERVERKEY, link->gateway.curve, MN_KEY_BYTES) ||
        zmq_setsockopt(link->sock, ZMQ_CURVE_PUBLICKEY, me->curve, MN_KEY_BYTES) ||
        zmq_setsockopt(link->sock, ZMQ_CURVE_SECRETKEY, mn_key_curve_secret(cfg->identity),
                       MN_KEY_BYTES) ||
        s_setint(link->sock, ZMQ_LINGER, 0) || s_setint(link->sock, ZMQ_IMMEDIATE, 1) ||
        s_setint(link->sock, ZMQ_HEARTBEAT_IVL, 5000) ||
        s_setint(link->sock, ZMQ_HEARTBEAT_TIMEOUT, 15000) ||
        s_setint(link->sock, ZMQ_HEARTBEAT_TTL, 30000) ||
        s_setint(link->sock, ZMQ_RECONNECT_IVL, PARTNER_LINK_RECONNECT_MIN_MS) ||
        s_setint(link->sock, ZMQ_RECONNECT_IVL_MAX, PARTNER_LINK_RECONNECT_MAX_MS) ||
        s_setint(link->sock, ZMQ_CONNECT_TIMEOUT, 10000) ||
        zmq_setsockopt(link->sock, ZMQ_MAXMSGSIZE, &(int64_t){(int64_t)link->max_frame_bytes},
                       sizeof(int64_t))) {
        rc = s_zmq_fail(d, "", "cannot set the socket options (is libzmq built with CURVE?)");
        goto out;
    }
    snprintf(mon_ep, sizeof mon_ep, "inproc://meldnet-partner-monitor-%p", (void *)link);
    if (zmq_socket_monitor(link->sock, mon_ep, S_MONITOR_EVENTS) != 0) {
        rc = s_zmq_fail(d, "", "cannot monitor the socket");
        goto out;
    }
    link->mon = zmq_socket(link->ctx, ZMQ_PAIR);
    if (!link->mon || s_setint(link->mon, ZMQ_LINGER, 0) || zmq_connect(link->mon, mon_ep)) {
        rc = s_zmq_fail(d, "", "cannot connect the socket monitor");
        goto out;
    }
    if (zmq_connect(link->sock, link->endpoint) != 0) {
        rc = s_zmq_fail(d, link->endpoint, "cannot connect to the gateway");
        mn_diag_hint(d, "check 'gateway' in partner.conf: tcp://HOST:PORT of the gateway's "
                        "delivery_listen setting");
        goto out;
    }
out:
    if (rc == MN_OK)
        *out = link;
    else
        partner_link_destroy(&link);
    return rc;
}

void partner_link_destroy(partner_link **link_p)
{
    if (!link_p || !*link_p)
        return;
    partner_link *link = *link_p;
    if (link->sock && link->mon)
        (void)zmq_socket_monitor(link->sock, NULL, 0);
    if (link->mon)
        zmq_close(link->mon);
    if (link->sock)
        zmq_close(link->sock);
    if (link->ctx)
        zmq_ctx_term(link->ctx);
    free(link);
    *link_p = NULL;
}

/* --- sending ------------------------------------------------------------------------------ */

/* Encode and send one FromPartner without waiting. MN_OK, or MN_EZMQ (errno in *err). */
static int s_send(partner_link *link, const mn_from_partner *m, int *err)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    *err = 0;
    if (mn_wire_encode_from_partner(m, &frame, &len) != MN_OK) {
        *err = ENOMEM;
        return MN_ENOMEM;
    }
    int rc = zmq_send(link->sock, frame, len, ZMQ_DONTWAIT) < 0 ? MN_EZMQ : MN_OK;
    if (rc != MN_OK)
        *err = zmq_errno();
    free(frame);
    return rc;
}

static void s_subscribe(partner_link *link)
{
    mn_from_partner m;
    int err;
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_SUBSCRIBE;
    m.topics = link->topics;
    m.credit = link->credit;
    if (s_send(link, &m, &err) == MN_OK) {
        char topics[MN_TOPICS_MAX * (MN_TOPIC_MAX + 1) + 1];
        link->need_subscribe = 0;
        link->awaiting = 1;
        log_debug(S_LOG, "subscribe sent topics=%s credit=%u",
                  link->topics.n ? partner_topics_join(&link->topics, ",", topics, sizeof topics)
                                 : "(all bound)",
                  link->credit);
    } else if (err != EAGAIN) {
        mn_log_ratelimited(&link->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "cannot send the subscription error=\"%s\"", zmq_strerror(err));
    }
    /* EAGAIN: the new connection is not attached yet; tried again on the next round. */
}

int partner_link_ack(partner_link *link, uint64_t tag)
{
    mn_from_partner m;
    int err;
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_ACK;
    m.tag = tag;
    return s_send(link, &m, &err) == MN_OK ? MN_OK : MN_EZMQ;
}

int partner_link_nack(partner_link *link, uint64_t tag, const char *reason)
{
    mn_from_partner m;
    int err;
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_NACK;
    m.tag = tag;
    snprintf(m.reason, sizeof m.reason, "%s", reason ? reason : "");
    return s_send(link, &m, &err) == MN_OK ? MN_OK : MN_EZMQ;
}

/* --- monitor ------------------------------------------------------------------------------ */

static void s_on_event(partner_link *link, uint16_t event, uint32_t value)
{
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: {
        char fp[MN_FINGERPRINT_CHARS + 1];
        mn_pubkey_fingerprint(&link->gateway, fp, sizeof fp);
        log_info(S_LOG, "connected to the gateway endpoint=%s gateway=%s key=%s",
                 link->endpoint, link->gateway.name, fp);
        link->connected = 1;
        link->tcp_up = 1;
        link->subscribed = 0;
        link->need_subscribe = 1; /* a new connection is a new session: subscribe again */
        link->said_no_answer = 0;
        link->awaiting = 0;
        snprintf(link->problem, sizeof link->problem,
                 "connected to the gateway at %s, but it has not confirmed the subscription",
                 link->endpoint);
        break;
    }
    case ZMQ_EVENT_DISCONNECTED:
        if (link->connected)
            mn_log_ratelimited(&link->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                               "gateway connection lost; reconnecting (unacknowledged "
                               "deliveries come again) endpoint=%s", link->endpoint);
        if (link->connected || !link->problem[0])
            snprintf(link->problem, sizeof link->problem,
                     "the connection to the gateway at %s was lost; reconnecting",
                     link->endpoint);
        link->connected = 0;
        link->subscribed = 0;
        link->need_subscribe = 0;
        link->awaiting = 0;
        break;
    case ZMQ_EVENT_CONNECTED:
        link->tcp_up = 1;
        break;
    case ZMQ_EVENT_CONNECT_RETRIED:
        log_debug(S_LOG, "reconnecting endpoint=%s", link->endpoint);
        if (!link->connected && !link->tcp_up) {
            if (!link->said_no_answer)
                mn_log_ratelimited(&link->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                                   "gateway does not answer; retrying (once per outage in the "
                                   "log) endpoint=%s", link->endpoint);
            link->said_no_answer = 1;
            snprintf(link->problem, sizeof link->problem,
                     "the gateway at %s does not answer (is meldnet-gateway running there? is "
                     "it the gateway's delivery endpoint, delivery_listen? is the port open?)",
                     link->endpoint);
        }
        link->tcp_up = 0;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        snprintf(link->problem, sizeof link->problem,
                 "the gateway refused this partner's key (status %u): give the line in "
                 "keys/partner.pub to the gateway's operator for 'meldnetctl partner add' (and "
                 "check that %s is the delivery endpoint, not the agents' one)",
                 (unsigned)value, link->endpoint);
        mn_log_ratelimited(&link->lim_conn, S_WARN_PER_MINUTE, MN_LOG_ERR, S_LOG,
                           "gateway refused this partner's key status=%u endpoint=%s",
                           (unsigned)value, link->endpoint);
        link->connected = 0;
        link->subscribed = 0;
        link->need_subscribe = 0;
        link->awaiting = 0;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        snprintf(link->problem, sizeof link->problem,
                 "the secure handshake with the gateway at %s failed: check that "
                 "keys/gateway.pub is the gateway's current public line", link->endpoint);
        mn_log_ratelimited(&link->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "handshake with the gateway failed event=0x%x endpoint=%s",
                           (unsigned)event, link->endpoint);
        link->connected = 0;
        link->subscribed = 0;
        link->need_subscribe = 0;
        link->awaiting = 0;
        break;
    default:
        break;
    }
}

/* Read every pending monitor event: frame 1 = u16 event | u32 value (host order), frame 2 =
 * the endpoint. */
static void s_drain_monitor(partner_link *link)
{
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, link->mon, ZMQ_DONTWAIT) < 0) {
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
            s_on_event(link, event, value);
        }
        zmq_msg_close(&msg);
        while (more) { /* the endpoint frame */
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, link->mon, 0) < 0) {
                zmq_msg_close(&msg);
                return;
            }
            more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
    }
}

/* --- receiving ---------------------------------------------------------------------------- */

/* Session messages the link answers itself; returns 1 when m is for the caller. */
static int s_on_message(partner_link *link, mn_to_partner *m)
{
    char topics[MN_TOPICS_MAX * (MN_TOPIC_MAX + 1) + 1];
    char detail[2 * sizeof m->detail];
    if (m->kind == MN_TO_PARTNER_SUBSCRIBED) {
        log_notice(S_LOG, "subscribed topics=%s credit=%u",
                   m->topics.n ? partner_topics_join(&m->topics, ",", topics, sizeof topics)
                               : "(none)",
                   (unsigned)m->credit);
        link->subscribed = 1;
        link->ever_subscribed = 1;
        link->awaiting = 0;
        link->problem[0] = '\0';
        if (m->topics.n == 0) {
            log_warn(S_LOG, "no topic is bound to this partner: nothing will be delivered until "
                     "the gateway's operator binds one (meldnetctl partner add ... --bind)");
            snprintf(link->problem, sizeof link->problem,
                     "subscribed, but no topic is bound to this partner at the gateway");
        }
        return 0;
    }
    if (m->kind != MN_TO_PARTNER_ERROR)
        return 1;
    partner_link_quote(m->detail, detail, sizeof detail);
    if (m->error == MN_PARTNER_NOT_SUBSCRIBED && link->awaiting) {
        /* An ack sent on this connection before its Subscribe: the answer to the Subscribe is
         * still to come, and the delivery comes again. */
        log_debug(S_LOG, "an answer went out before the subscription; the delivery comes again");
        return 0;
    }
    if (m->error == MN_PARTNER_NOT_SUBSCRIBED) {
        mn_log_ratelimited(&link->lim_msg, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "the gateway has no subscription for this connection; subscribing "
                           "again (is another listen running with this partner's key?) "
                           "detail=\"%s\"", detail);
        link->subscribed = 0;
        link->need_subscribe = link->connected;
        link->awaiting = 0;
        return 0;
    }
    if (m->error == MN_PARTNER_UNKNOWN_TAG) {
        mn_log_ratelimited(&link->lim_msg, S_WARN_PER_MINUTE, MN_LOG_INFO, S_LOG,
                           "the gateway did not know an acknowledged tag (a delivery of an "
                           "earlier connection; it comes again) detail=\"%s\"", detail);
        return 0;
    }
    link->awaiting = 0; /* UNBOUND_TOPIC, BAD_REQUEST: the answer to the Subscribe */
    return 1;
}

/* Take one message off the socket if there is one. */
static int s_recv_one(partner_link *link, mn_to_partner *m, int *got, mn_diag *d)
{
    zmq_msg_t msg;
    mn_diag dd = {0};
    int rc = MN_OK;

    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, link->sock, ZMQ_DONTWAIT) < 0) {
        int err = zmq_errno();
        if (err == ETERM || err == ENOTSOCK)
            rc = s_zmq_fail(d, link->endpoint, "the socket is closed");
        goto out;
    }
    if (zmq_msg_more(&msg)) {
        /* Not ours: the protocol is one frame per message. Drop all its parts. */
        int more = 1;
        while (more) {
            zmq_msg_close(&msg);
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, link->sock, 0) < 0)
                break;
            more = zmq_msg_more(&msg);
        }
        mn_log_ratelimited(&link->lim_msg, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "a multi-frame message from the gateway; ignored");
        goto out;
    }
    memset(m, 0, sizeof *m);
    if (mn_wire_decode_to_partner(zmq_msg_data(&msg), zmq_msg_size(&msg), link->max_frame_bytes,
                                  m, &dd) != MN_OK) {
        mn_delivery_clear(&m->delivery);
        mn_log_ratelimited(&link->lim_msg, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "a message from the gateway does not decode; ignored error=%s "
                           "bytes=%zu what=\"%s\"", mn_err_name(dd.code), zmq_msg_size(&msg),
                           dd.what);
        goto out;
    }
    if (s_on_message(link, m))
        *got = 1;
    else
        mn_delivery_clear(&m->delivery);
out:
    zmq_msg_close(&msg);
    return rc;
}

int partner_link_recv(partner_link *link, int wait_ms, mn_to_partner *m, int *got, mn_diag *d)
{
    int rc;
    *got = 0;
    if (link->need_subscribe)
        s_subscribe(link);
    if ((rc = s_recv_one(link, m, got, d)) != MN_OK || *got)
        return rc;
    zmq_pollitem_t pi[2] = {
        {link->sock, 0, (short)(ZMQ_POLLIN | (link->need_subscribe ? ZMQ_POLLOUT : 0)), 0},
        {link->mon, 0, ZMQ_POLLIN, 0},
    };
    long timeout = wait_ms < 0 ? 0 : wait_ms;
    if (link->need_subscribe && timeout > S_SUBSCRIBE_RETRY_MS)
        timeout = S_SUBSCRIBE_RETRY_MS;
    if (zmq_poll(pi, 2, timeout) < 0) {
        if (zmq_errno() == EINTR)
            return MN_OK;
        return s_zmq_fail(d, link->endpoint, "waiting for the gateway failed");
    }
    if (pi[1].revents & ZMQ_POLLIN)
        s_drain_monitor(link);
    if (link->need_subscribe)
        s_subscribe(link);
    if (pi[0].revents & ZMQ_POLLIN)
        return s_recv_one(link, m, got, d);
    return MN_OK;
}
