/* mn_wire.c - ToGateway / FromGateway frames: the only place that packs the wrappers.
 *
 * Every decode checks the frame length against its limit before protobuf-c allocates anything,
 * and checks versions and fixed-size fields before the caller sees the message.
 */
#include "mn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meldnet.pb-c.h"

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
        return 1;
    default:
        return 0;
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

/* Pack any protobuf-c message into a fresh malloc buffer. */
static int s_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return MN_ENOMEM;
    *len = protobuf_c_message_pack(msg, buf);
    *out = buf;
    return MN_OK;
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
    return s_pack(&msg.base, out, len);
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
    return s_pack(&msg.base, out, len);
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
    return s_pack(&msg.base, out, len);
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
                         "gateway speaks protocol version %u, this agent version %d",
                         msg->version, MN_PROTOCOL_VERSION);
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
