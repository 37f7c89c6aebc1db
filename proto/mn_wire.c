/* mn_wire.c - ToGateway / FromGateway and FromPartner / ToPartner frames: the only place that
 * fills and reads the wrappers (mn_message packs them).
 *
 * Every decode checks the frame length against its limit before protobuf-c allocates anything,
 * and checks versions and fixed-size fields before the caller sees the message.
 */
#include "mn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meldnet.pb-c.h"
#include "mn_message.h"

static const char *const s_reason_names[] = {
    [0] = "UNSPECIFIED",
    [MN_REJECT_MALFORMED] = "MALFORMED",
    [MN_REJECT_UNSUPPORTED_VERSION] = "UNSUPPORTED_VERSION",
    [MN_REJECT_TOO_LARGE] = "TOO_LARGE",
    [MN_REJECT_AGENT_MISMATCH] = "AGENT_MISMATCH",
    [MN_REJECT_BAD_SIGNATURE] = "BAD_SIGNATURE",
    [MN_REJECT_CANNOT_OPEN] = "CANNOT_OPEN",
    [MN_REJECT_INVALID_REPORT] = "INVALID_REPORT",
    [MN_REJECT_BAD_ID] = "BAD_ID",
    [MN_REJECT_STORE_FAILED] = "STORE_FAILED",
    [MN_REJECT_OVERLOADED] = "OVERLOADED",
    [MN_REJECT_RATE_LIMITED] = "RATE_LIMITED",
    [MN_REJECT_SHUTTING_DOWN] = "SHUTTING_DOWN",
    [MN_REJECT_NOT_PERMITTED] = "NOT_PERMITTED",
    [MN_REJECT_ID_REUSED] = "ID_REUSED",
};

const char *mn_reject_reason_name(int reason)
{
    if (reason <= 0 || reason > MN_REJECT_REASON_MAX)
        return s_reason_names[0];
    return s_reason_names[reason];
}

int mn_reject_reason_is_retryable(int reason)
{
    switch (reason) {
    case MN_REJECT_STORE_FAILED:
    case MN_REJECT_OVERLOADED:
    case MN_REJECT_RATE_LIMITED:
    case MN_REJECT_SHUTTING_DOWN:
    case MN_REJECT_NOT_PERMITTED: /* the sender is not admitted now; the report is fine */ return 1;
    default: return 0;
    }
}

static void s_reject_fill(mn_reject *rj, int reason, const char *detail)
{
    if (!rj)
        return;
    rj->reason = reason;
    rj->retryable = mn_reject_reason_is_retryable(reason);
    snprintf(rj->detail, sizeof rj->detail, "%s", detail);
}

int mn_wire_encode_envelope(const mn_envelope *env, uint8_t **out, size_t *len)
{
    Meldnet__Envelope e = MELDNET__ENVELOPE__INIT;
    Meldnet__ToGateway msg = MELDNET__TO_GATEWAY__INIT;
    e.version = env->version;
    e.id.data = (uint8_t *)env->id;
    e.id.len = sizeof env->id;
    e.agent = (char *)env->agent;
    e.seq = env->seq;
    e.created_ms = env->created_ms;
    e.sealed.data = env->sealed;
    e.sealed.len = env->sealed_len;
    e.signature.data = (uint8_t *)env->signature;
    e.signature.len = sizeof env->signature;
    msg.version = MN_PROTOCOL_VERSION;
    msg.body_case = MELDNET__TO_GATEWAY__BODY_ENVELOPE;
    msg.envelope = &e;
    return mn_message_pack(&msg.base, out, len);
}

int mn_wire_decode_to_gateway(const uint8_t *buf, size_t len, size_t max_len, mn_envelope *env,
                              mn_reject *reject)
{
    int rc = MN_OK;
    char detail[160];
    Meldnet__ToGateway *msg = NULL;
    memset(env, 0, sizeof *env);
    if (reject)
        memset(reject, 0, sizeof *reject);

    if (len > max_len) {
        snprintf(detail, sizeof detail, "frame of %zu bytes exceeds the limit of %zu bytes", len,
                 max_len);
        s_reject_fill(reject, MN_REJECT_TOO_LARGE, detail);
        return MN_ETOOBIG;
    }
    msg = meldnet__to_gateway__unpack(NULL, len, buf);
    if (!msg || msg->body_case != MELDNET__TO_GATEWAY__BODY_ENVELOPE || !msg->envelope) {
        s_reject_fill(reject, MN_REJECT_MALFORMED,
                      "frame is not a meldnet ToGateway message with an envelope");
        rc = MN_EDECODE;
        goto out;
    }
    const Meldnet__Envelope *e = msg->envelope;
    if (reject && e->id.len == MN_ENVELOPE_ID_BYTES) {
        reject->has_id = 1;
        memcpy(reject->id, e->id.data, MN_ENVELOPE_ID_BYTES);
    }
    if (msg->version != MN_PROTOCOL_VERSION || e->version != MN_PROTOCOL_VERSION) {
        snprintf(detail, sizeof detail,
                 "protocol version %u is not supported; this gateway speaks version %d",
                 msg->version != MN_PROTOCOL_VERSION ? msg->version : e->version,
                 MN_PROTOCOL_VERSION);
        s_reject_fill(reject, MN_REJECT_UNSUPPORTED_VERSION, detail);
        rc = MN_EVERSION;
        goto out;
    }
    if (e->id.len != MN_ENVELOPE_ID_BYTES) {
        snprintf(detail, sizeof detail, "envelope id is %zu bytes; it must be %d", e->id.len,
                 MN_ENVELOPE_ID_BYTES);
        s_reject_fill(reject, MN_REJECT_BAD_ID, detail);
        rc = MN_EINVAL;
        goto out;
    }
    if (e->signature.len != MN_SIG_BYTES) {
        s_reject_fill(reject, MN_REJECT_BAD_SIGNATURE, "signature is not 64 bytes");
        rc = MN_EDECODE;
        goto out;
    }
    if (!e->agent || !mn_name_is_valid(e->agent)) {
        s_reject_fill(reject, MN_REJECT_MALFORMED, "agent name is missing or not a valid name");
        rc = MN_EDECODE;
        goto out;
    }
    env->sealed = malloc(e->sealed.len ? e->sealed.len : 1);
    if (!env->sealed) {
        s_reject_fill(reject, MN_REJECT_OVERLOADED, "gateway out of memory");
        rc = MN_ENOMEM;
        goto out;
    }
    env->version = e->version;
    memcpy(env->id, e->id.data, MN_ENVELOPE_ID_BYTES);
    snprintf(env->agent, sizeof env->agent, "%s", e->agent);
    env->seq = e->seq;
    env->created_ms = e->created_ms;
    if (e->sealed.len)
        memcpy(env->sealed, e->sealed.data, e->sealed.len);
    env->sealed_len = e->sealed.len;
    memcpy(env->signature, e->signature.data, MN_SIG_BYTES);
out:
    if (msg)
        meldnet__to_gateway__free_unpacked(msg, NULL);
    return rc;
}

int mn_wire_encode_receipt(const mn_receipt *r, uint8_t **out, size_t *len)
{
    Meldnet__Receipt rc = MELDNET__RECEIPT__INIT;
    Meldnet__FromGateway msg = MELDNET__FROM_GATEWAY__INIT;
    rc.id.data = (uint8_t *)r->id;
    rc.id.len = sizeof r->id;
    rc.status = (Meldnet__ReceiptStatus)r->status;
    rc.registration = r->registration;
    rc.accepted_ms = r->accepted_ms;
    rc.signature.data = (uint8_t *)r->signature;
    rc.signature.len = sizeof r->signature;
    msg.version = MN_PROTOCOL_VERSION;
    msg.body_case = MELDNET__FROM_GATEWAY__BODY_RECEIPT;
    msg.receipt = &rc;
    return mn_message_pack(&msg.base, out, len);
}

int mn_wire_encode_reject(const mn_reject *r, uint8_t **out, size_t *len)
{
    Meldnet__Reject rj = MELDNET__REJECT__INIT;
    Meldnet__FromGateway msg = MELDNET__FROM_GATEWAY__INIT;
    if (r->has_id) {
        rj.has_id = 1;
        rj.id.data = (uint8_t *)r->id;
        rj.id.len = sizeof r->id;
    }
    rj.reason = (Meldnet__RejectReason)r->reason;
    rj.detail = (char *)r->detail;
    rj.retryable = r->retryable ? 1 : 0;
    msg.version = MN_PROTOCOL_VERSION;
    msg.body_case = MELDNET__FROM_GATEWAY__BODY_REJECT;
    msg.reject = &rj;
    return mn_message_pack(&msg.base, out, len);
}

int mn_wire_decode_from_gateway(const uint8_t *buf, size_t len, size_t max_len,
                                mn_from_gateway *out, mn_diag *d)
{
    int rc = MN_OK;
    Meldnet__FromGateway *msg = NULL;
    memset(out, 0, sizeof *out);
    if (len > max_len)
        return mn_diag_set(d, MN_ETOOBIG, "gateway", "reply of %zu bytes exceeds %zu", len,
                           max_len);
    msg = meldnet__from_gateway__unpack(NULL, len, buf);
    if (!msg) {
        rc = mn_diag_set(d, MN_EDECODE, "gateway", "reply is not a FromGateway message");
        goto out;
    }
    if (msg->version != MN_PROTOCOL_VERSION) {
        rc = mn_diag_set(d, MN_EVERSION, "gateway",
                         "gateway speaks protocol version %u, this agent version %d", msg->version,
                         MN_PROTOCOL_VERSION);
        goto out;
    }
    if (msg->body_case == MELDNET__FROM_GATEWAY__BODY_RECEIPT && msg->receipt) {
        const Meldnet__Receipt *r = msg->receipt;
        if (r->id.len != MN_ENVELOPE_ID_BYTES || r->signature.len != MN_SIG_BYTES) {
            rc = mn_diag_set(d, MN_EDECODE, "gateway", "receipt id or signature has a bad length");
            goto out;
        }
        out->kind = MN_FROM_RECEIPT;
        memcpy(out->receipt.id, r->id.data, MN_ENVELOPE_ID_BYTES);
        out->receipt.status = (int)r->status;
        out->receipt.registration = r->registration;
        out->receipt.accepted_ms = r->accepted_ms;
        memcpy(out->receipt.signature, r->signature.data, MN_SIG_BYTES);
    } else if (msg->body_case == MELDNET__FROM_GATEWAY__BODY_REJECT && msg->reject) {
        const Meldnet__Reject *r = msg->reject;
        out->kind = MN_FROM_REJECT;
        if (r->has_id && r->id.len == MN_ENVELOPE_ID_BYTES) {
            out->reject.has_id = 1;
            memcpy(out->reject.id, r->id.data, MN_ENVELOPE_ID_BYTES);
        }
        out->reject.reason = (int)r->reason;
        out->reject.retryable = r->retryable ? 1 : 0;
        snprintf(out->reject.detail, sizeof out->reject.detail, "%s", r->detail ? r->detail : "");
    } else {
        rc = mn_diag_set(d, MN_EDECODE, "gateway", "reply has neither a receipt nor a reject");
    }
out:
    if (msg)
        meldnet__from_gateway__free_unpacked(msg, NULL);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Partner protocol: FromPartner / ToPartner on the delivery socket.
 *
 * Topics arrive as protobuf strings of any length; each is checked (plain topic, or also a
 * pattern where the protocol allows one) before it is copied into its fixed-size slot, and the
 * count is checked before any is looked at. Text fields (nack reason, error detail) are copied
 * truncated to their buffer, with control characters replaced, because they end up in logs.
 */

/* Point a protobuf string array (view, MN_TOPICS_MAX entries) at our topics, for packing only:
 * *n and *topics are the message's fields. MN_OK, or MN_EINVAL for too many topics. */
static int s_topics_view(const mn_topics *t, char **view, size_t *n, char ***topics)
{
    if (t->n > MN_TOPICS_MAX)
        return MN_EINVAL;
    for (size_t i = 0; i < t->n; i++)
        view[i] = (char *)t->name[i];
    *n = t->n;
    *topics = view;
    return MN_OK;
}

/* Our fixed-size text (src, cap bytes, maybe unterminated) terminated in buf for packing; NULL
 * for an empty one, which leaves the optional field out. */
static char *s_text_view(const char *src, char *buf, size_t cap)
{
    memcpy(buf, src, cap);
    buf[cap - 1] = '\0';
    return buf[0] ? buf : NULL;
}

/* Copy and check `n` wire topics. `what` names the field for the diag. */
static int s_topics_copy(char *const *src, size_t n, int patterns, mn_topics *dst,
                         const char *where, const char *what, mn_diag *d)
{
    dst->n = 0;
    if (n > MN_TOPICS_MAX)
        return mn_diag_set(d, MN_EDECODE, where, "%s has %zu topics; at most %d are allowed", what,
                           n, MN_TOPICS_MAX);
    for (size_t i = 0; i < n; i++) {
        int ok = patterns ? mn_topic_pattern_is_valid(src[i]) : mn_topic_is_valid(src[i]);
        if (!ok)
            return mn_diag_set(d, MN_EDECODE, where,
                               "%s: topic %zu is not %s of 1-%d characters [a-z0-9._-]", what,
                               i + 1, patterns ? "a topic or pattern" : "a topic", MN_TOPIC_MAX);
        memcpy(dst->name[i], src[i], strlen(src[i]) + 1);
    }
    dst->n = n;
    return MN_OK;
}

/* Truncating copy of peer text; control characters become '?' so a log line stays one line. */
static void s_text_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;

    for (; src && src[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    dst[i] = '\0';
}

static int s_credit_check(uint32_t credit, const char *where, const char *what, mn_diag *d)
{
    if (credit < 1 || credit > MN_CREDIT_MAX)
        return mn_diag_set(d, MN_EDECODE, where, "%s credit %u is outside 1-%d", what,
                           (unsigned)credit, MN_CREDIT_MAX);
    return MN_OK;
}

/* Unpack a frame of at most max_len bytes (buf may be NULL when len is 0) as a desc message
 * from `where` ("partner", "gateway"). Caller frees *out (protobuf_c_message_free_unpacked). */
static int s_unpack_frame(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                          size_t max_len, const char *where, ProtobufCMessage **out, mn_diag *d)
{
    *out = NULL;
    if (len > max_len)
        return mn_diag_set(d, MN_ETOOBIG, where, "frame of %zu bytes exceeds the limit of %zu", len,
                           max_len);
    *out = protobuf_c_message_unpack(desc, NULL, len, buf ? buf : (const uint8_t *)"");
    if (!*out)
        return mn_diag_set(d, MN_EDECODE, where, "frame is not a meldnet %s message",
                           desc->short_name);
    return MN_OK;
}

/* The version `where` speaks must be ours; `self` names this side for the diag. */
static int s_version_check(uint32_t version, const char *where, const char *self, mn_diag *d)
{
    if (version != MN_PROTOCOL_VERSION)
        return mn_diag_set(d, MN_EVERSION, where,
                           "%s speaks protocol version %u; this %s speaks version %d", where,
                           version, self, MN_PROTOCOL_VERSION);
    return MN_OK;
}

/* A body the oneof names must be there. */
static int s_present(const void *body, const char *where, const char *name, mn_diag *d)
{
    return body ? MN_OK : mn_diag_set(d, MN_EDECODE, where, "%s is empty", name);
}

int mn_wire_encode_from_partner(const mn_from_partner *m, uint8_t **out, size_t *len)
{
    Meldnet__FromPartner msg = MELDNET__FROM_PARTNER__INIT;
    Meldnet__Subscribe sub = MELDNET__SUBSCRIBE__INIT;
    Meldnet__Credit cr = MELDNET__CREDIT__INIT;
    Meldnet__Ack ack = MELDNET__ACK__INIT;
    Meldnet__Nack nack = MELDNET__NACK__INIT;
    char *topics[MN_TOPICS_MAX];
    char reason[sizeof m->reason];

    *out = NULL;
    *len = 0;
    msg.version = MN_PROTOCOL_VERSION;
    switch (m->kind) {
    case MN_FROM_PARTNER_SUBSCRIBE:
        if (s_topics_view(&m->topics, topics, &sub.n_topics, &sub.topics) != MN_OK)
            return MN_EINVAL;
        sub.credit = m->credit;
        msg.body_case = MELDNET__FROM_PARTNER__BODY_SUBSCRIBE;
        msg.subscribe = &sub;
        break;
    case MN_FROM_PARTNER_CREDIT:
        cr.credit = m->credit;
        msg.body_case = MELDNET__FROM_PARTNER__BODY_CREDIT;
        msg.credit = &cr;
        break;
    case MN_FROM_PARTNER_ACK:
        ack.tag = m->tag;
        msg.body_case = MELDNET__FROM_PARTNER__BODY_ACK;
        msg.ack = &ack;
        break;
    case MN_FROM_PARTNER_NACK:
        nack.tag = m->tag;
        nack.reason = s_text_view(m->reason, reason, sizeof reason);
        /* Left out when false: a partner that never defers sends what version 1 always had. */
        nack.has_transient = m->transient != 0;
        nack.transient = m->transient != 0;
        msg.body_case = MELDNET__FROM_PARTNER__BODY_NACK;
        msg.nack = &nack;
        break;
    default: return MN_EINVAL;
    }
    return mn_message_pack(&msg.base, out, len);
}

int mn_wire_decode_from_partner(const uint8_t *buf, size_t len, size_t max_len, mn_from_partner *m,
                                mn_diag *d)
{
    static const char where[] = "partner";
    ProtobufCMessage *pm = NULL;

    memset(m, 0, sizeof *m);
    int rc = s_unpack_frame(&meldnet__from_partner__descriptor, buf, len, max_len, where, &pm, d);
    const Meldnet__FromPartner *msg = (const Meldnet__FromPartner *)pm;
    if (rc != MN_OK || (rc = s_version_check(msg->version, where, "gateway", d)) != MN_OK)
        goto out;
    switch (msg->body_case) {
    case MELDNET__FROM_PARTNER__BODY_SUBSCRIBE:
        if ((rc = s_present(msg->subscribe, where, "subscribe", d)) != MN_OK ||
            (rc = s_topics_copy(msg->subscribe->topics, msg->subscribe->n_topics, 1, &m->topics,
                                where, "subscribe", d)) != MN_OK ||
            (rc = s_credit_check(msg->subscribe->credit, where, "subscribe", d)) != MN_OK)
            goto out;
        m->kind = MN_FROM_PARTNER_SUBSCRIBE;
        m->credit = msg->subscribe->credit;
        break;
    case MELDNET__FROM_PARTNER__BODY_CREDIT:
        if ((rc = s_present(msg->credit, where, "credit", d)) != MN_OK ||
            (rc = s_credit_check(msg->credit->credit, where, "credit message", d)) != MN_OK)
            goto out;
        m->kind = MN_FROM_PARTNER_CREDIT;
        m->credit = msg->credit->credit;
        break;
    case MELDNET__FROM_PARTNER__BODY_ACK:
        if ((rc = s_present(msg->ack, where, "ack", d)) != MN_OK)
            goto out;
        m->kind = MN_FROM_PARTNER_ACK;
        m->tag = msg->ack->tag;
        break;
    case MELDNET__FROM_PARTNER__BODY_NACK:
        if ((rc = s_present(msg->nack, where, "nack", d)) != MN_OK)
            goto out;
        m->kind = MN_FROM_PARTNER_NACK;
        m->tag = msg->nack->tag;
        s_text_copy(m->reason, sizeof m->reason, msg->nack->reason);
        m->transient = msg->nack->has_transient && msg->nack->transient;
        break;
    default:
        rc = mn_diag_set(d, MN_EDECODE, where, "FromPartner has no subscribe, credit, ack or nack");
        goto out;
    }
out:
    if (rc != MN_OK)
        memset(m, 0, sizeof *m);
    if (pm)
        protobuf_c_message_free_unpacked(pm, NULL);
    return rc;
}

int mn_wire_encode_to_partner(const mn_to_partner *m, uint8_t **out, size_t *len)
{
    Meldnet__ToPartner msg = MELDNET__TO_PARTNER__INIT;
    Meldnet__Subscribed sub = MELDNET__SUBSCRIBED__INIT;
    Meldnet__Delivery dl = MELDNET__DELIVERY__INIT;
    Meldnet__PartnerError err = MELDNET__PARTNER_ERROR__INIT;
    char *topics[MN_TOPICS_MAX];
    char detail[sizeof m->detail];

    *out = NULL;
    *len = 0;
    msg.version = MN_PROTOCOL_VERSION;
    switch (m->kind) {
    case MN_TO_PARTNER_SUBSCRIBED:
        if (s_topics_view(&m->topics, topics, &sub.n_topics, &sub.topics) != MN_OK)
            return MN_EINVAL;
        sub.credit = m->credit;
        msg.body_case = MELDNET__TO_PARTNER__BODY_SUBSCRIBED;
        msg.subscribed = &sub;
        break;
    case MN_TO_PARTNER_DELIVERY: {
        const mn_delivery *src = &m->delivery;
        if ((!src->sealed && src->sealed_len > 0) ||
            s_topics_view(&src->topics, topics, &dl.n_topics, &dl.topics) != MN_OK)
            return MN_EINVAL;
        dl.tag = src->tag;
        dl.registration = src->registration;
        dl.attempt = src->attempt;
        dl.sealed_referral.data = src->sealed;
        dl.sealed_referral.len = src->sealed_len;
        dl.signature.data = (uint8_t *)src->signature;
        dl.signature.len = sizeof src->signature;
        dl.has_acute = src->acute ? 1 : 0;
        dl.acute = src->acute ? 1 : 0;
        msg.body_case = MELDNET__TO_PARTNER__BODY_DELIVERY;
        msg.delivery = &dl;
        break;
    }
    case MN_TO_PARTNER_ERROR:
        if (s_topics_view(&m->topics, topics, &err.n_bound_topics, &err.bound_topics) != MN_OK)
            return MN_EINVAL;
        err.code = (Meldnet__PartnerErrorCode)m->error;
        err.detail = s_text_view(m->detail, detail, sizeof detail);
        msg.body_case = MELDNET__TO_PARTNER__BODY_ERROR;
        msg.error = &err;
        break;
    default: return MN_EINVAL;
    }
    return mn_message_pack(&msg.base, out, len);
}

static int s_delivery_copy(const Meldnet__Delivery *src, mn_delivery *dst, const char *where,
                           mn_diag *d)
{
    int rc;

    if ((rc = s_topics_copy(src->topics, src->n_topics, 0, &dst->topics, where, "delivery", d)) !=
        MN_OK)
        return rc;
    if (src->signature.len != MN_SIG_BYTES)
        return mn_diag_set(d, MN_EDECODE, where, "delivery signature is %zu bytes; it must be %d",
                           src->signature.len, MN_SIG_BYTES);
    dst->sealed = malloc(src->sealed_referral.len ? src->sealed_referral.len : 1);
    if (!dst->sealed)
        return mn_diag_set(d, MN_ENOMEM, where, "out of memory for a delivery of %zu bytes",
                           src->sealed_referral.len);
    if (src->sealed_referral.len)
        memcpy(dst->sealed, src->sealed_referral.data, src->sealed_referral.len);
    dst->sealed_len = src->sealed_referral.len;
    dst->tag = src->tag;
    dst->registration = src->registration;
    dst->attempt = src->attempt;
    dst->acute = src->has_acute && src->acute;
    memcpy(dst->signature, src->signature.data, MN_SIG_BYTES);
    return MN_OK;
}

int mn_wire_decode_to_partner(const uint8_t *buf, size_t len, size_t max_len, mn_to_partner *m,
                              mn_diag *d)
{
    static const char where[] = "gateway";
    ProtobufCMessage *pm = NULL;

    memset(m, 0, sizeof *m);
    int rc = s_unpack_frame(&meldnet__to_partner__descriptor, buf, len, max_len, where, &pm, d);
    const Meldnet__ToPartner *msg = (const Meldnet__ToPartner *)pm;
    if (rc != MN_OK || (rc = s_version_check(msg->version, where, "partner", d)) != MN_OK)
        goto out;
    switch (msg->body_case) {
    case MELDNET__TO_PARTNER__BODY_SUBSCRIBED:
        if ((rc = s_present(msg->subscribed, where, "subscribed", d)) != MN_OK ||
            (rc = s_topics_copy(msg->subscribed->topics, msg->subscribed->n_topics, 1, &m->topics,
                                where, "subscribed", d)) != MN_OK)
            goto out;
        if (msg->subscribed->credit > MN_CREDIT_MAX) {
            rc = mn_diag_set(d, MN_EDECODE, where, "subscribed credit %u is over %d",
                             (unsigned)msg->subscribed->credit, MN_CREDIT_MAX);
            goto out;
        }
        m->kind = MN_TO_PARTNER_SUBSCRIBED;
        m->credit = msg->subscribed->credit;
        break;
    case MELDNET__TO_PARTNER__BODY_DELIVERY:
        if ((rc = s_present(msg->delivery, where, "delivery", d)) != MN_OK ||
            (rc = s_delivery_copy(msg->delivery, &m->delivery, where, d)) != MN_OK)
            goto out;
        m->kind = MN_TO_PARTNER_DELIVERY;
        break;
    case MELDNET__TO_PARTNER__BODY_ERROR:
        if ((rc = s_present(msg->error, where, "error", d)) != MN_OK ||
            (rc = s_topics_copy(msg->error->bound_topics, msg->error->n_bound_topics, 1, &m->topics,
                                where, "error", d)) != MN_OK)
            goto out;
        m->kind = MN_TO_PARTNER_ERROR;
        m->error = (int)msg->error->code;
        s_text_copy(m->detail, sizeof m->detail, msg->error->detail);
        break;
    default:
        rc = mn_diag_set(d, MN_EDECODE, where, "ToPartner has no subscribed, delivery or error");
        goto out;
    }
out:
    if (rc != MN_OK) {
        mn_delivery_clear(&m->delivery);
        memset(m, 0, sizeof *m);
    }
    if (pm)
        protobuf_c_message_free_unpacked(pm, NULL);
    return rc;
}
