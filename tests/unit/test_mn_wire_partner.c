/* test_mn_wire_partner.c - unit tests for the partner protocol in mn_wire: FromPartner and
 * ToPartner round trips, and every limit the decoders enforce.
 *
 * Frames the encoders refuse to make (wrong version, too many topics, short signature, no
 * body) are packed here with the generated protobuf-c code, the way a hostile peer would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meldnet.pb-c.h"
#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_wire.h"

#define S_MAX MN_WIRE_DEFAULT_MAX_FRAME

static void s_topic_add(mn_topics *t, const char *name)
{
    assert_true(t->n < MN_TOPICS_MAX);
    snprintf(t->name[t->n], sizeof t->name[t->n], "%s", name);
    t->n++;
}

static void s_assert_topics_equal(const mn_topics *a, const mn_topics *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->name[i], b->name[i]);
}

/* Encode m, decode it back into *out; returns the decode code. */
static int s_from_roundtrip(const mn_from_partner *m, mn_from_partner *out, mn_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mn_wire_encode_from_partner(m, &buf, &len), MN_OK);
    int rc = mn_wire_decode_from_partner(buf, len, S_MAX, out, d);
    free(buf);
    return rc;
}

static int s_to_roundtrip(const mn_to_partner *m, mn_to_partner *out, mn_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mn_wire_encode_to_partner(m, &buf, &len), MN_OK);
    int rc = mn_wire_decode_to_partner(buf, len, S_MAX, out, d);
    free(buf);
    return rc;
}

/* Pack a hand-made wrapper. Caller frees *out. */
static void s_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    *out = malloc(n ? n : 1);
    assert_non_null(*out);
    *len = protobuf_c_message_pack(msg, *out);
}

static int s_decode_from_raw(const ProtobufCMessage *msg, mn_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    mn_from_partner m;
    s_pack(msg, &buf, &len);
    int rc = mn_wire_decode_from_partner(buf, len, S_MAX, &m, d);
    free(buf);
    return rc;
}

static int s_decode_to_raw(const ProtobufCMessage *msg, mn_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    mn_to_partner m;
    s_pack(msg, &buf, &len);
    int rc = mn_wire_decode_to_partner(buf, len, S_MAX, &m, d);
    mn_delivery_clear(&m.delivery);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * FromPartner round trips */

static void test_from_subscribe(void **state)
{
    (void)state;
    mn_from_partner m, out;
    mn_diag d;

    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_SUBSCRIBE;
    s_topic_add(&m.topics, "police.acute");
    s_topic_add(&m.topics, "care.*");
    s_topic_add(&m.topics, "*");
    m.credit = 32;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.kind, MN_FROM_PARTNER_SUBSCRIBE);
    s_assert_topics_equal(&out.topics, &m.topics);
    assert_int_equal(out.credit, 32);

    /* No topics: every bound topic. Credit at both ends of its range. */
    m.topics.n = 0;
    m.credit = 1;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.topics.n, 0);
    assert_int_equal(out.credit, 1);
    m.credit = MN_CREDIT_MAX;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.credit, MN_CREDIT_MAX);

    /* The full MN_TOPICS_MAX, each topic MN_TOPIC_MAX long. */
    for (size_t i = 0; i < MN_TOPICS_MAX; i++) {
        memset(m.topics.name[i], 'a' + (int)i, MN_TOPIC_MAX);
        m.topics.name[i][MN_TOPIC_MAX] = '\0';
    }
    m.topics.n = MN_TOPICS_MAX;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    s_assert_topics_equal(&out.topics, &m.topics);
}

static void test_from_credit_ack_nack(void **state)
{
    (void)state;
    mn_from_partner m, out;
    mn_diag d;

    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_CREDIT;
    m.credit = 100;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.kind, MN_FROM_PARTNER_CREDIT);
    assert_int_equal(out.credit, 100);

    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_ACK;
    m.tag = UINT64_MAX;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.kind, MN_FROM_PARTNER_ACK);
    assert_true(out.tag == UINT64_MAX);

    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_NACK;
    m.tag = 17;
    snprintf(m.reason, sizeof m.reason, "disk full at the partner");
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.kind, MN_FROM_PARTNER_NACK);
    assert_int_equal(out.tag, 17);
    assert_string_equal(out.reason, "disk full at the partner");

    assert_int_equal(out.transient, 0);

    /* A transient nack keeps its kind; a plain one stays exactly what version 1 sent. */
    m.transient = 1;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.transient, 1);
    assert_string_equal(out.reason, "disk full at the partner");
    uint8_t *with = NULL, *plain = NULL;
    size_t with_len = 0, plain_len = 0;
    assert_int_equal(mn_wire_encode_from_partner(&m, &with, &with_len), MN_OK);
    m.transient = 0;
    assert_int_equal(mn_wire_encode_from_partner(&m, &plain, &plain_len), MN_OK);
    assert_int_equal(with_len, plain_len + 2); /* field 3 (0x18 0x01) only when transient */
    free(with);
    free(plain);

    /* No reason at all. */
    m.reason[0] = '\0';
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_OK);
    assert_string_equal(out.reason, "");

    /* A kind that is not one of the enum is not encoded. */
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;
    memset(&m, 0, sizeof m);
    m.kind = (mn_from_partner_kind)9;
    assert_int_equal(mn_wire_encode_from_partner(&m, &buf, &len), MN_EINVAL);
    assert_null(buf);
}

static void test_from_nack_reason_hostile(void **state)
{
    (void)state;
    Meldnet__Nack nack = MELDNET__NACK__INIT;
    Meldnet__FromPartner msg = MELDNET__FROM_PARTNER__INIT;
    char reason[1000];
    uint8_t *buf = NULL;
    size_t len = 0;
    mn_from_partner m;
    mn_diag d;

    /* Longer than the buffer, with a newline and an escape: truncated, one line. */
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    reason[3] = '\n';
    reason[5] = '\x1b';
    nack.tag = 5;
    nack.reason = reason;
    msg.version = MN_PROTOCOL_VERSION;
    msg.body_case = MELDNET__FROM_PARTNER__BODY_NACK;
    msg.nack = &nack;
    s_pack(&msg.base, &buf, &len);
    assert_int_equal(mn_wire_decode_from_partner(buf, len, S_MAX, &m, &d), MN_OK);
    free(buf);
    assert_int_equal(strlen(m.reason), sizeof m.reason - 1);
    assert_int_equal(m.reason[3], '?');
    assert_int_equal(m.reason[5], '?');
    assert_null(strchr(m.reason, '\n'));
}

/* ---------------------------------------------------------------------------------------------
 * ToPartner round trips */

static void test_to_subscribed(void **state)
{
    (void)state;
    mn_to_partner m, out;
    mn_diag d;

    memset(&m, 0, sizeof m);
    m.kind = MN_TO_PARTNER_SUBSCRIBED;
    s_topic_add(&m.topics, "police.acute");
    s_topic_add(&m.topics, "police.region.*");
    m.credit = 64;
    assert_int_equal(s_to_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.kind, MN_TO_PARTNER_SUBSCRIBED);
    s_assert_topics_equal(&out.topics, &m.topics);
    assert_int_equal(out.credit, 64);
    assert_null(out.delivery.sealed);
}

static void s_make_delivery(mn_delivery *dl, size_t sealed_len)
{
    memset(dl, 0, sizeof *dl);
    dl->tag = 1234567890123ull;
    dl->registration = 42;
    dl->attempt = 3;
    dl->acute = 1;
    s_topic_add(&dl->topics, "police.acute");
    s_topic_add(&dl->topics, "care.midden-nederland");
    dl->sealed = malloc(sealed_len ? sealed_len : 1);
    assert_non_null(dl->sealed);
    for (size_t i = 0; i < sealed_len; i++)
        dl->sealed[i] = (uint8_t)(i * 7 + 1);
    dl->sealed_len = sealed_len;
    for (size_t i = 0; i < MN_SIG_BYTES; i++)
        dl->signature[i] = (uint8_t)(0xa0 + i);
}

static void test_to_delivery(void **state)
{
    (void)state;
    mn_to_partner m, out;
    mn_diag d;

    memset(&m, 0, sizeof m);
    m.kind = MN_TO_PARTNER_DELIVERY;
    s_make_delivery(&m.delivery, 300);
    assert_int_equal(s_to_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.kind, MN_TO_PARTNER_DELIVERY);
    assert_true(out.delivery.tag == 1234567890123ull);
    assert_int_equal(out.delivery.registration, 42);
    assert_int_equal(out.delivery.attempt, 3);
    assert_int_equal(out.delivery.acute, 1);
    s_assert_topics_equal(&out.delivery.topics, &m.delivery.topics);
    assert_int_equal(out.delivery.sealed_len, 300);
    assert_memory_equal(out.delivery.sealed, m.delivery.sealed, 300);
    assert_memory_equal(out.delivery.signature, m.delivery.signature, MN_SIG_BYTES);
    assert_ptr_not_equal(out.delivery.sealed, m.delivery.sealed);

    /* Clearing twice is harmless. */
    mn_delivery_clear(&out.delivery);
    mn_delivery_clear(&out.delivery);
    assert_null(out.delivery.sealed);

    /* Not acute, nothing sealed. */
    m.delivery.acute = 0;
    m.delivery.sealed_len = 0;
    assert_int_equal(s_to_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.delivery.acute, 0);
    assert_int_equal(out.delivery.sealed_len, 0);
    mn_delivery_clear(&out.delivery);
    mn_delivery_clear(&m.delivery);
}

static void test_to_error(void **state)
{
    (void)state;
    mn_to_partner m, out;
    mn_diag d;

    memset(&m, 0, sizeof m);
    m.kind = MN_TO_PARTNER_ERROR;
    m.error = MN_PARTNER_UNBOUND_TOPIC;
    snprintf(m.detail, sizeof m.detail, "topic 2 is not bound to police-midden");
    s_topic_add(&m.topics, "police.acute");
    s_topic_add(&m.topics, "police.region.*");
    assert_int_equal(s_to_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.kind, MN_TO_PARTNER_ERROR);
    assert_int_equal(out.error, MN_PARTNER_UNBOUND_TOPIC);
    assert_string_equal(out.detail, m.detail);
    s_assert_topics_equal(&out.topics, &m.topics);

    memset(&m, 0, sizeof m);
    m.kind = MN_TO_PARTNER_ERROR;
    m.error = MN_PARTNER_UNKNOWN_TAG;
    assert_int_equal(s_to_roundtrip(&m, &out, &d), MN_OK);
    assert_int_equal(out.error, MN_PARTNER_UNKNOWN_TAG);
    assert_string_equal(out.detail, "");
    assert_int_equal(out.topics.n, 0);

    uint8_t *buf = NULL;
    size_t len = 0;
    m.kind = (mn_to_partner_kind)0;
    assert_int_equal(mn_wire_encode_to_partner(&m, &buf, &len), MN_EINVAL);
    assert_null(buf);
}

/* ---------------------------------------------------------------------------------------------
 * Limits */

static void test_oversize_and_garbage(void **state)
{
    (void)state;
    mn_from_partner m;
    mn_to_partner t;
    mn_diag d;
    uint8_t *buf = NULL;
    size_t len = 0;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99};

    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_ACK;
    m.tag = 1;
    assert_int_equal(mn_wire_encode_from_partner(&m, &buf, &len), MN_OK);
    assert_int_equal(mn_wire_decode_from_partner(buf, len, len - 1, &m, &d), MN_ETOOBIG);
    assert_int_equal(d.code, MN_ETOOBIG);
    assert_int_equal(mn_wire_decode_from_partner(buf, len, len, &m, &d), MN_OK);
    free(buf);

    memset(&t, 0, sizeof t);
    t.kind = MN_TO_PARTNER_DELIVERY;
    s_make_delivery(&t.delivery, 1000);
    assert_int_equal(mn_wire_encode_to_partner(&t, &buf, &len), MN_OK);
    mn_delivery_clear(&t.delivery);
    assert_int_equal(mn_wire_decode_to_partner(buf, len, 999, &t, &d), MN_ETOOBIG);
    assert_null(t.delivery.sealed);
    free(buf);

    assert_int_equal(mn_wire_decode_from_partner(garbage, sizeof garbage, S_MAX, &m, &d),
                     MN_EDECODE);
    assert_int_equal(mn_wire_decode_to_partner(garbage, sizeof garbage, S_MAX, &t, &d), MN_EDECODE);
    assert_null(t.delivery.sealed);

    /* Empty frame: version is required, so it is not a message. */
    assert_int_equal(mn_wire_decode_from_partner(NULL, 0, S_MAX, &m, &d), MN_EDECODE);
    assert_int_equal(mn_wire_decode_to_partner(NULL, 0, S_MAX, &t, &d), MN_EDECODE);

    /* The other direction's message is not this one. */
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_CREDIT;
    m.credit = 1;
    assert_int_equal(mn_wire_encode_from_partner(&m, &buf, &len), MN_OK);
    assert_int_equal(mn_wire_decode_to_partner(buf, len, S_MAX, &t, &d), MN_EDECODE);
    free(buf);
}

static void test_wrong_version(void **state)
{
    (void)state;
    Meldnet__Ack ack = MELDNET__ACK__INIT;
    Meldnet__FromPartner from = MELDNET__FROM_PARTNER__INIT;
    Meldnet__Subscribed sub = MELDNET__SUBSCRIBED__INIT;
    Meldnet__ToPartner to = MELDNET__TO_PARTNER__INIT;
    mn_diag d;

    from.version = 2;
    from.body_case = MELDNET__FROM_PARTNER__BODY_ACK;
    from.ack = &ack;
    assert_int_equal(s_decode_from_raw(&from.base, &d), MN_EVERSION);
    assert_non_null(strstr(d.what, "2"));
    assert_non_null(strstr(d.what, "1"));

    sub.credit = 1;
    to.version = 0;
    to.body_case = MELDNET__TO_PARTNER__BODY_SUBSCRIBED;
    to.subscribed = &sub;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EVERSION);
}

static void test_no_body(void **state)
{
    (void)state;
    Meldnet__FromPartner from = MELDNET__FROM_PARTNER__INIT;
    Meldnet__ToPartner to = MELDNET__TO_PARTNER__INIT;
    mn_diag d;

    from.version = MN_PROTOCOL_VERSION;
    assert_int_equal(s_decode_from_raw(&from.base, &d), MN_EDECODE);
    to.version = MN_PROTOCOL_VERSION;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);
}

static void test_too_many_topics(void **state)
{
    (void)state;
    char names[MN_TOPICS_MAX + 1][8];
    char *topics[MN_TOPICS_MAX + 1];
    Meldnet__Subscribe sub = MELDNET__SUBSCRIBE__INIT;
    Meldnet__FromPartner from = MELDNET__FROM_PARTNER__INIT;
    Meldnet__Delivery dl = MELDNET__DELIVERY__INIT;
    Meldnet__Subscribed subd = MELDNET__SUBSCRIBED__INIT;
    Meldnet__PartnerError err = MELDNET__PARTNER_ERROR__INIT;
    Meldnet__ToPartner to = MELDNET__TO_PARTNER__INIT;
    uint8_t sig[MN_SIG_BYTES] = {0};
    mn_from_partner m;
    mn_diag d;

    for (size_t i = 0; i <= MN_TOPICS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "t%zu", i);
        topics[i] = names[i];
    }
    sub.n_topics = MN_TOPICS_MAX + 1;
    sub.topics = topics;
    sub.credit = 1;
    from.version = MN_PROTOCOL_VERSION;
    from.body_case = MELDNET__FROM_PARTNER__BODY_SUBSCRIBE;
    from.subscribe = &sub;
    assert_int_equal(s_decode_from_raw(&from.base, &d), MN_EDECODE);
    sub.n_topics = MN_TOPICS_MAX;
    assert_int_equal(s_decode_from_raw(&from.base, &d), MN_OK);

    to.version = MN_PROTOCOL_VERSION;
    dl.n_topics = MN_TOPICS_MAX + 1;
    dl.topics = topics;
    dl.signature.data = sig;
    dl.signature.len = sizeof sig;
    to.body_case = MELDNET__TO_PARTNER__BODY_DELIVERY;
    to.delivery = &dl;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);
    dl.n_topics = MN_TOPICS_MAX;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_OK);

    subd.n_topics = MN_TOPICS_MAX + 1;
    subd.topics = topics;
    to.body_case = MELDNET__TO_PARTNER__BODY_SUBSCRIBED;
    to.subscribed = &subd;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);

    err.code = MELDNET__PARTNER_ERROR_CODE__UNBOUND_TOPIC;
    err.n_bound_topics = MN_TOPICS_MAX + 1;
    err.bound_topics = topics;
    to.body_case = MELDNET__TO_PARTNER__BODY_ERROR;
    to.error = &err;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);

    /* The encoders refuse to write past their own arrays. */
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_SUBSCRIBE;
    m.credit = 1;
    m.topics.n = MN_TOPICS_MAX + 1;
    assert_int_equal(mn_wire_encode_from_partner(&m, &buf, &len), MN_EINVAL);
    assert_null(buf);
}

static void test_bad_topics(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Police.acute",
        "",
        "police acute",
        "police.**",
        "*.acute",
        "po*lice",
        ".*",
        "police.*x",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.*", /* 65 */
    };
    char *one[1];
    Meldnet__Subscribe sub = MELDNET__SUBSCRIBE__INIT;
    Meldnet__FromPartner from = MELDNET__FROM_PARTNER__INIT;
    Meldnet__Delivery dl = MELDNET__DELIVERY__INIT;
    Meldnet__ToPartner to = MELDNET__TO_PARTNER__INIT;
    uint8_t sig[MN_SIG_BYTES] = {0};
    mn_diag d;

    sub.n_topics = 1;
    sub.topics = one;
    sub.credit = 1;
    from.version = MN_PROTOCOL_VERSION;
    from.body_case = MELDNET__FROM_PARTNER__BODY_SUBSCRIBE;
    from.subscribe = &sub;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        one[0] = (char *)bad[i];
        if (s_decode_from_raw(&from.base, &d) != MN_EDECODE)
            fail_msg("subscribe accepted topic \"%s\"", bad[i]);
    }
    /* Patterns at the limit are fine in a subscription. */
    one[0] = (char *)"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.*"; /* 64 */
    assert_int_equal(s_decode_from_raw(&from.base, &d), MN_OK);
    one[0] = (char *)"*";
    assert_int_equal(s_decode_from_raw(&from.base, &d), MN_OK);

    /* A delivery names plain topics only. */
    dl.n_topics = 1;
    dl.topics = one;
    dl.signature.data = sig;
    dl.signature.len = sizeof sig;
    to.version = MN_PROTOCOL_VERSION;
    to.body_case = MELDNET__TO_PARTNER__BODY_DELIVERY;
    to.delivery = &dl;
    one[0] = (char *)"police.*";
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);
    one[0] = (char *)"*";
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);
    one[0] = (char *)"Police";
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);
    one[0] = (char *)"police.acute";
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_OK);
}

static void test_credit_range(void **state)
{
    (void)state;
    mn_from_partner m, out;
    mn_diag d;

    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_SUBSCRIBE;
    m.credit = 0;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_EDECODE);
    assert_int_equal(out.kind, 0);
    m.credit = MN_CREDIT_MAX + 1;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_EDECODE);

    m.kind = MN_FROM_PARTNER_CREDIT;
    m.credit = 0;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_EDECODE);
    m.credit = MN_CREDIT_MAX + 1;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_EDECODE);
    m.credit = UINT32_MAX;
    assert_int_equal(s_from_roundtrip(&m, &out, &d), MN_EDECODE);
}

static void test_delivery_signature_length(void **state)
{
    (void)state;
    Meldnet__Delivery dl = MELDNET__DELIVERY__INIT;
    Meldnet__ToPartner to = MELDNET__TO_PARTNER__INIT;
    uint8_t sig[MN_SIG_BYTES + 1] = {0};
    uint8_t sealed[40] = {1};
    mn_diag d;

    dl.registration = 1;
    dl.sealed_referral.data = sealed;
    dl.sealed_referral.len = sizeof sealed;
    dl.signature.data = sig;
    to.version = MN_PROTOCOL_VERSION;
    to.body_case = MELDNET__TO_PARTNER__BODY_DELIVERY;
    to.delivery = &dl;
    dl.signature.len = 0;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);
    dl.signature.len = MN_SIG_BYTES - 1;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);
    dl.signature.len = MN_SIG_BYTES + 1;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_EDECODE);
    dl.signature.len = MN_SIG_BYTES;
    assert_int_equal(s_decode_to_raw(&to.base, &d), MN_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_subscribe),
        cmocka_unit_test(test_from_credit_ack_nack),
        cmocka_unit_test(test_from_nack_reason_hostile),
        cmocka_unit_test(test_to_subscribed),
        cmocka_unit_test(test_to_delivery),
        cmocka_unit_test(test_to_error),
        cmocka_unit_test(test_oversize_and_garbage),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_no_body),
        cmocka_unit_test(test_too_many_topics),
        cmocka_unit_test(test_bad_topics),
        cmocka_unit_test(test_credit_range),
        cmocka_unit_test(test_delivery_signature_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
