/* partner_intake.c - verify, open, decode and check one delivery, then hand its JSON to the sink.
 *
 * Invariant: nothing reaches the sink (and nothing is acknowledged) unless the gateway signed
 * it for this partner and it opened with this partner's key, and the referral inside names the
 * same registration and this partner.
 */
#include "partner_intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_envelope.h"
#include "mn_referral.h"

int partner_intake_init(partner_intake *in, const mn_key *identity, const uint8_t *gateway_sign,
                        partner_sink *sink)
{
    memset(in, 0, sizeof *in);
    in->identity = identity;
    in->gateway_sign = gateway_sign;
    in->sink = sink;
    return mn_box_opener_new(identity, &in->opener);
}

void partner_intake_clear(partner_intake *in)
{
    if (!in)
        return;
    mn_box_opener_destroy(&in->opener);
    memset(in, 0, sizeof *in);
}

void partner_intake_handle(const partner_intake *in, const mn_delivery *dl,
                           partner_intake_result *res)
{
    const char *me = mn_key_public(in->identity)->name;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    mn_referral *ref = NULL;
    char *json = NULL;
    mn_diag d = {0};
    char reg[32], ref_reg[32];
    partner_sink_item it = {
        .registration = dl->registration,
        .topics = &dl->topics,
        .attempt = dl->attempt,
        .acute = dl->acute,
    };

    memset(res, 0, sizeof *res);
    res->outcome = PARTNER_SINK_REFUSED;
    res->acute = dl->acute;
    if (mn_delivery_verify(dl, me, in->gateway_sign) != MN_OK) {
        snprintf(res->reason, sizeof res->reason, "signature does not verify");
        goto out;
    }
    /* Deliveries of one gateway batch share an ephemeral key: the opener does its X25519 once. */
    int rc = in->opener ? mn_box_opener_open(in->opener, dl->sealed, dl->sealed_len,
                                             PARTNER_REFERRAL_MAX, &plain, &plain_len)
                        : mn_box_open(in->identity, dl->sealed, dl->sealed_len,
                                      PARTNER_REFERRAL_MAX, &plain, &plain_len);
    if (rc != MN_OK) {
        snprintf(res->reason, sizeof res->reason,
                 "referral does not open with this partner's "
                 "key (%s)",
                 mn_err_name(rc));
        goto out;
    }
    if ((rc = mn_referral_decode(plain, plain_len, PARTNER_REFERRAL_MAX, &ref, &d)) != MN_OK) {
        snprintf(res->reason, sizeof res->reason, "referral does not decode: %.200s",
                 d.what[0] ? d.what : mn_err_meaning(rc));
        goto out;
    }
    mn_plain_free(plain, plain_len); /* the decoded form is all that is needed from here */
    plain = NULL;
    if (ref->registration != dl->registration) {
        mn_registration_format(dl->registration, reg, sizeof reg);
        mn_registration_format(ref->registration, ref_reg, sizeof ref_reg);
        snprintf(res->reason, sizeof res->reason,
                 "referral is for registration %s, the delivery says %s", ref_reg, reg);
        goto out;
    }
    if (!ref->recipient || strcmp(ref->recipient, me) != 0) {
        snprintf(res->reason, sizeof res->reason, "referral is for another recipient");
        goto out;
    }
    res->acute = ref->has_acute && ref->acute;
    it.acute = res->acute;
    it.accepted_ms = ref->accepted_ms; /* with the number, what tells this registration apart */
    if ((rc = mn_referral_to_json(ref, &json)) != MN_OK) {
        /* mn_referral_decode does not check text; to_json refuses what is not UTF-8. */
        snprintf(res->reason, sizeof res->reason, "%s",
                 rc == MN_EINVAL ? "referral holds text that is not UTF-8"
                                 : "no memory for the referral's JSON");
        goto out;
    }
    mn_referral_destroy(&ref);
    /* A text file ends with a newline; the copy replaces the original, which is wiped. */
    size_t len = strlen(json);
    char *text = malloc(len + 2);
    if (!text) {
        snprintf(res->reason, sizeof res->reason, "no memory for the referral's JSON");
        goto out;
    }
    memcpy(text, json, len);
    text[len] = '\n';
    text[len + 1] = '\0';
    mn_plain_free((uint8_t *)json, len);
    json = text;
    res->outcome = partner_sink_put(in->sink, &it, json, len + 1, res->reason, sizeof res->reason);
out:
    if (res->outcome == PARTNER_SINK_REFUSED && !json)
        partner_sink_note_refusal(in->sink, &it, res->reason);
    if (json)
        mn_plain_free((uint8_t *)json, strlen(json));
    mn_referral_destroy(&ref);
    mn_plain_free(plain, plain_len);
}
