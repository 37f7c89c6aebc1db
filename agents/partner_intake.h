/* partner_intake.h - one Delivery in, one decision out: acknowledge, nack (with a reason), or
 * neither.
 *
 * In this order, each failure a nack with the reason in brackets:
 *   1. the signature verifies with the gateway's signing key over the canonical delivery input
 *      for this partner's own name (mn_delivery_verify)      ["signature does not verify"]
 *   2. sealed_referral opens with this partner's box key     ["referral does not open with
 *      (mn_box_opener_open, padding checked)                    this partner's key"]
 *   3. it decodes as a version 1 Referral                    ["referral does not decode: …"]
 *   4. referral.registration == delivery.registration and
 *      referral.recipient == this partner's name             ["referral is for …"]
 *   5. its JSON form (mn_referral_to_json) goes to the sink (partner_sink.h), which decides
 *      stored / duplicate (ack), refused (nack) or interrupted (neither); text that is not
 *      UTF-8 has no JSON form                                ["referral holds text that is
 *                                                              not UTF-8"]
 * The plaintext (referral bytes, the decoded referral, the JSON) lives only in memory during the
 * call and is wiped before it returns. Reasons never hold referral content.
 *
 * Lifecycle: partner_intake_init (borrows the identity, the gateway's key and the sink, and
 * makes a box opener that keeps the shared key of the last ephemeral key seen, so a batch of
 * deliveries sealed with one gateway key costs one X25519), partner_intake_handle per delivery,
 * partner_intake_clear. An intake belongs to one thread.
 */
#ifndef PARTNER_INTAKE_H
#define PARTNER_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_key.h"
#include "partner_sink.h"

/* Largest referral plaintext accepted (a report of MN_REPORT_MAX_BYTES plus the referral's own
 * fields). */
#define PARTNER_REFERRAL_MAX (MN_REPORT_MAX_BYTES + 65536)

typedef struct partner_intake {
    const mn_key *identity;      /* this partner: its name and box key; borrowed */
    const uint8_t *gateway_sign; /* the gateway's Ed25519 public key, 32 bytes; borrowed */
    partner_sink *sink;          /* borrowed */
    mn_box_opener *opener;       /* owned, for identity; NULL: each delivery opens on its own */
} partner_intake;

typedef struct partner_intake_result {
    partner_sink_outcome outcome; /* STORED / DUPLICATE: ack; REFUSED: nack; DEFERRED: transient
                                     nack; INTERRUPTED: neither */
    int acute;                    /* the referral says acute (when it opened) */
    char reason[256];             /* with REFUSED and DEFERRED: the nack reason */
} partner_intake_result;

/* Fill *in with the borrowed identity, gateway_sign (32 bytes) and sink, which must outlive it,
 * and make its box opener. Returns MN_OK or MN_ENOMEM (then *in holds no opener). Release it
 * with partner_intake_clear. */
MN_NODISCARD int partner_intake_init(partner_intake *in, const mn_key *identity,
                                     const uint8_t *gateway_sign, partner_sink *sink);

/* Destroy the opener (wiping its shared key) and zero *in. NULL-safe; twice is harmless. */
void partner_intake_clear(partner_intake *in);

/* Decide about one delivery (borrowed). Never fails: the result says what to answer. The
 * opener's cache changes, although `in` is const: one thread at a time. */
void partner_intake_handle(const partner_intake *in, const mn_delivery *dl,
                           partner_intake_result *res);

#endif
