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

#include "mn_client.h"
#include "mn_log.h"
#include "mn_wire.h"
#include "partner_config.h"

#define S_LOG "partner"
#define S_WARN_PER_MINUTE 10
#define S_SUBSCRIBE_RETRY_MS 50

static const mn_client_words s_words = {
    .role = "partner",
    .conf = "partner.conf",
    .listen_setting = "delivery_listen",
    .waiting_ask = "is meldnet-gateway running there, with this delivery endpoint?",
    .no_answer_ask = "is meldnet-gateway running there? is it the gateway's delivery endpoint, "
                     "delivery_listen? is the port open?",
    .no_answer_plan = "retrying (once per outage in the log)",
    .lost_note = " (unacknowledged deliveries come again)",
    .refused_check = "is the delivery endpoint, not the agents' one",
};

struct partner_link {
    mn_client *client;
    mn_topics topics;
    unsigned credit;
    size_t max_frame_bytes;
    int need_subscribe; /* connected, and the Subscribe for this connection is not sent yet */
    int awaiting;       /* a Subscribe went out on this connection and is not answered yet */
    int subscribed;     /* the gateway answered Subscribed on this connection */
    int ever_subscribed;
    mn_log_limit lim_conn;
    mn_log_limit lim_msg;
};

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
    return mn_client_problem(link->client);
}

/* --- set-up ------------------------------------------------------------------------------- */

/* A new connection is a new session for the gateway: subscribe again. A lost one ends it. */
static void s_on_change(void *arg, int up)
{
    partner_link *link = arg;
    link->subscribed = 0;
    link->need_subscribe = up;
    link->awaiting = 0;
    if (up)
        mn_client_set_problem(link->client,
                              "connected to the gateway at %s, but it has not "
                              "confirmed the subscription",
                              mn_client_endpoint(link->client));
}

int partner_link_new(const partner_link_config *cfg, partner_link **out, mn_diag *d)
{
    int rc;
    partner_link *link = NULL;

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
    link->credit = cfg->credit;
    link->max_frame_bytes = cfg->max_frame_bytes ? cfg->max_frame_bytes : PARTNER_FRAME_DEFAULT;
    if (cfg->topics)
        link->topics = *cfg->topics;
    mn_client_config cc = {
        .endpoint = cfg->endpoint,
        .identity = cfg->identity,
        .gateway = cfg->gateway,
        .max_msg_bytes = (int64_t)link->max_frame_bytes,
        .no_answer_after_failure = 1,
        .on_change = s_on_change,
        .arg = link,
        .words = &s_words,
    };
    rc = mn_client_new(&cc, &link->client, d);
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
    mn_client_destroy(&link->client);
    free(link);
    *link_p = NULL;
}

/* --- sending ------------------------------------------------------------------------------ */

/* Encode and send one FromPartner without waiting. MN_OK, MN_ENOMEM, or MN_EZMQ (*err as
 * mn_client_send). */
static int s_send(partner_link *link, const mn_from_partner *m, int *err)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    *err = 0;
    if (mn_wire_encode_from_partner(m, &frame, &len) != MN_OK)
        return MN_ENOMEM;
    int rc = mn_client_send(link->client, frame, len, err);
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
    int rc = s_send(link, &m, &err);
    if (rc == MN_OK) {
        char topics[MN_TOPICS_MAX * (MN_TOPIC_MAX + 1) + 1];
        link->need_subscribe = 0;
        link->awaiting = 1;
        log_debug(S_LOG, "subscribe sent topics=%s credit=%u",
                  link->topics.n ? mn_topics_join(&link->topics, ",", topics, sizeof topics)
                                 : "\"(all bound)\"",
                  link->credit);
    } else if (err != MN_CLIENT_NO_PEER) {
        mn_log_ratelimited(&link->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "cannot send the subscription error=\"%s\"",
                           rc == MN_ENOMEM ? strerror(ENOMEM) : mn_client_error(link->client));
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

int partner_link_nack(partner_link *link, uint64_t tag, const char *reason, int transient)
{
    mn_from_partner m;
    int err;
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_NACK;
    m.tag = tag;
    m.transient = transient != 0;
    snprintf(m.reason, sizeof m.reason, "%s", reason ? reason : "");
    return s_send(link, &m, &err) == MN_OK ? MN_OK : MN_EZMQ;
}

/* --- receiving ---------------------------------------------------------------------------- */

/* Session messages the link answers itself; returns 1 when m is for the caller. */
static int s_on_message(partner_link *link, mn_to_partner *m)
{
    char topics[MN_TOPICS_MAX * (MN_TOPIC_MAX + 1) + 1];
    char detail[2 * sizeof m->detail];
    if (m->kind == MN_TO_PARTNER_SUBSCRIBED) {
        log_notice(S_LOG, "subscribed topics=%s credit=%u",
                   m->topics.n ? mn_topics_join(&m->topics, ",", topics, sizeof topics)
                               : "\"(none)\"",
                   (unsigned)m->credit);
        link->subscribed = 1;
        link->ever_subscribed = 1;
        link->awaiting = 0;
        mn_client_clear_problem(link->client);
        if (m->topics.n == 0) {
            log_warn(S_LOG, "no topic is bound to this partner: nothing will be delivered until "
                            "the gateway's operator binds one (meldnetctl partner add ... --bind)");
            mn_client_set_problem(link->client, "subscribed, but no topic is bound to this "
                                                "partner at the gateway");
        }
        return 0;
    }
    if (m->kind != MN_TO_PARTNER_ERROR)
        return 1;
    mn_log_quote(m->detail, detail, sizeof detail);
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
                           "detail=\"%s\"",
                           detail);
        link->subscribed = 0;
        link->need_subscribe = mn_client_is_connected(link->client);
        link->awaiting = 0;
        return 0;
    }
    if (m->error == MN_PARTNER_UNKNOWN_TAG) {
        mn_log_ratelimited(&link->lim_msg, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "the gateway says it never gave us a tag we answered; nothing "
                           "changed, it delivers the item again if it is ours "
                           "detail=\"%s\"",
                           detail);
        return 0;
    }
    link->awaiting = 0; /* UNBOUND_TOPIC, BAD_REQUEST: the answer to the Subscribe */
    return 1;
}

/* Take one message off the socket if there is one. */
static int s_recv_one(partner_link *link, mn_to_partner *m, int *got, mn_diag *d)
{
    const uint8_t *buf;
    size_t len;
    mn_diag dd = {0};

    int rc = mn_client_recv(link->client, &buf, &len, d);
    if (rc == MN_ENOTFOUND)
        return MN_OK;
    if (rc == MN_EDECODE) {
        mn_log_ratelimited(&link->lim_msg, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "a multi-frame message from the gateway; ignored");
        return MN_OK;
    }
    if (rc != MN_OK)
        return rc;
    memset(m, 0, sizeof *m);
    if (mn_wire_decode_to_partner(buf, len, link->max_frame_bytes, m, &dd) != MN_OK) {
        mn_delivery_clear(&m->delivery);
        mn_log_ratelimited(&link->lim_msg, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "a message from the gateway does not decode; ignored error=%s "
                           "bytes=%zu what=\"%s\"",
                           mn_err_name(dd.code), len, dd.what);
        return MN_OK;
    }
    if (s_on_message(link, m))
        *got = 1;
    else
        mn_delivery_clear(&m->delivery);
    return MN_OK;
}

int partner_link_recv(partner_link *link, int wait_ms, mn_to_partner *m, int *got, mn_diag *d)
{
    int rc, readable, writable;
    *got = 0;
    if (link->need_subscribe)
        s_subscribe(link);
    if ((rc = s_recv_one(link, m, got, d)) != MN_OK || *got)
        return rc;
    long timeout = wait_ms < 0 ? 0 : wait_ms;
    if (link->need_subscribe && timeout > S_SUBSCRIBE_RETRY_MS)
        timeout = S_SUBSCRIBE_RETRY_MS;
    if ((rc = mn_client_wait(link->client, link->need_subscribe, timeout, &readable, &writable,
                             d)) != MN_OK)
        return rc;
    if (link->need_subscribe)
        s_subscribe(link);
    if (readable)
        return s_recv_one(link, m, got, d);
    return MN_OK;
}
