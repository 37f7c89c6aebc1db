/* test_mn_message.c - unit tests for mn_message: pack, bounded unpack (every error path), wipe
 * and free, on the partner protocol's small messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meldnet.pb-c.h"
#include "mn_message.h"

/* A FromPartner{version 1, nack{tag 42, reason}} packed by hand with protobuf-c. */
static void s_nack_bytes(const char *reason, uint8_t **out, size_t *len)
{
    Meldnet__FromPartner msg = MELDNET__FROM_PARTNER__INIT;
    Meldnet__Nack nack = MELDNET__NACK__INIT;
    nack.tag = 42;
    nack.reason = (char *)reason;
    msg.version = 1;
    msg.body_case = MELDNET__FROM_PARTNER__BODY_NACK;
    msg.nack = &nack;
    assert_int_equal(mn_message_pack(&msg.base, out, len), MN_OK);
}

static void test_pack_then_unpack(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    ProtobufCMessage *m = NULL;
    mn_diag d = {0};

    s_nack_bytes("disk full", &buf, &len);
    assert_non_null(buf);
    assert_true(len > 0);
    assert_int_equal(mn_message_unpack(&meldnet__from_partner__descriptor, buf, len, len, "frame",
                                       &m, &d),
                     MN_OK);
    const Meldnet__FromPartner *fp = (const Meldnet__FromPartner *)m;
    assert_int_equal(fp->version, 1);
    assert_int_equal(fp->body_case, MELDNET__FROM_PARTNER__BODY_NACK);
    assert_int_equal(fp->nack->tag, 42);
    assert_string_equal(fp->nack->reason, "disk full");
    mn_message_free(m);
    free(buf);

    /* A message of optional fields only packs to nothing, and nothing unpacks (buf NULL). */
    Meldnet__ReportFigures figures = MELDNET__REPORT_FIGURES__INIT;
    assert_int_equal(mn_message_pack(&figures.base, &buf, &len), MN_OK);
    assert_int_equal(len, 0);
    free(buf);
    assert_int_equal(mn_message_unpack(&meldnet__report_figures__descriptor, NULL, 0, 16, "figures",
                                       &m, &d),
                     MN_OK);
    assert_non_null(m);
    mn_message_free(m);
}

static void test_unpack_errors(void **state)
{
    (void)state;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t *buf = NULL;
    size_t len = 0;
    ProtobufCMessage *m = (ProtobufCMessage *)&m; /* must come back NULL */
    mn_diag d = {0};

    s_nack_bytes("x", &buf, &len);
    assert_int_equal(mn_message_unpack(&meldnet__from_partner__descriptor, buf, len, len - 1,
                                       "frame", &m, &d),
                     MN_ETOOBIG);
    assert_null(m);
    assert_string_equal(d.where, "frame");
    assert_non_null(strstr(d.what, "over the limit"));
    free(buf);

    memset(&d, 0, sizeof d);
    assert_int_equal(mn_message_unpack(&meldnet__from_partner__descriptor, NULL, 3, 16, "frame", &m,
                                       &d),
                     MN_EDECODE);
    assert_non_null(strstr(d.what, "there are no frame bytes"));

    memset(&d, 0, sizeof d);
    assert_int_equal(mn_message_unpack(&meldnet__from_partner__descriptor, garbage, sizeof garbage,
                                       16, "frame", &m, &d),
                     MN_EDECODE);
    assert_null(m);
    assert_non_null(strstr(d.what, "not a protobuf FromPartner"));
}

static void test_wipe(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    ProtobufCMessage *m = NULL;

    s_nack_bytes("secret reason", &buf, &len);
    assert_int_equal(mn_message_unpack(&meldnet__from_partner__descriptor, buf, len, len, "frame",
                                       &m, NULL),
                     MN_OK);
    Meldnet__FromPartner *fp = (Meldnet__FromPartner *)m;
    char *reason = fp->nack->reason;
    size_t reason_len = strlen(reason);
    mn_message_wipe(m);
    assert_int_equal(fp->version, 0);
    assert_int_equal(fp->nack->tag, 0);
    for (size_t i = 0; i < reason_len; i++)
        assert_int_equal(reason[i], 0);
    mn_message_free(m);
    mn_message_free(NULL);
    mn_message_wipe(NULL);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_then_unpack),
        cmocka_unit_test(test_unpack_errors),
        cmocka_unit_test(test_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
