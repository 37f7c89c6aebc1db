/* test_mn_record.c - unit tests for mn_record: the RegistryRecord round trip, every field, the
 * bytes the gateway has always written, and every decode error.
 *
 * Examples are found under $MN_SRCDIR/examples (MN_SRCDIR defaults to ".").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "mn_record.h"
#include "mn_referral.h"
#include "mn_report.h"
#include "mn_time.h"

/* ------------------------------------------------------------------------------------------ */
/* helpers */

static mn_report *s_load_example(const char *rel)
{
    const char *dir = getenv("MN_SRCDIR");
    char path[1024];
    mn_report *r = NULL;
    mn_diag d;
    memset(&d, 0, sizeof d);
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : ".", rel);
    int rc = mn_report_load_json(path, &r, &d);
    if (rc != MN_OK)
        print_error("%s: %s: %s\n", rel, d.where, d.what);
    assert_int_equal(rc, MN_OK);
    assert_non_null(r);
    return r;
}

static void s_assert_same(const mn_report *a, const mn_report *b)
{
    uint8_t *ba, *bb;
    size_t la, lb;
    assert_int_equal(mn_report_encode(a, &ba, &la), MN_OK);
    assert_int_equal(mn_report_encode(b, &bb, &lb), MN_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    mn_plain_free(ba, la);
    mn_plain_free(bb, lb);
}

static void s_info(mn_record_info *info)
{
    memset(info, 0, sizeof *info);
    info->registration = 4242;
    randombytes_buf(info->envelope_id, sizeof info->envelope_id);
    snprintf(info->agent, sizeof info->agent, "%s", "hotline-utrecht");
    info->accepted_ms = 1795000000123u;
    info->created_ms = 1795000000001u;
}

/* The registry's view as redaction makes it: a pseudonymised report, the registry's pseudonym,
 * two withheld fields; and a topic, a rule and a recipient, which the record does not keep. */
typedef struct s_view {
    mn_referral ref;
    uint8_t pseudonym[MN_PSEUDONYM_BYTES];
    Meldnet__Withheld w[2];
    Meldnet__Withheld *wp[2];
    char *topics[1];
    char *rules[1];
} s_view;

static void s_view_init(s_view *v, mn_report *r)
{
    mn_referral init = MELDNET__REFERRAL__INIT;
    Meldnet__Withheld w = MELDNET__WITHHELD__INIT;
    memset(v, 0, sizeof *v);
    v->ref = init;
    v->ref.version = 1;
    v->ref.registration = 4242;
    v->ref.recipient = "registry";
    v->ref.sharing = MELDNET__SHARING_LEVEL__PSEUDONYMOUS;
    v->ref.report = r;
    for (size_t i = 0; i < sizeof v->pseudonym; i++)
        v->pseudonym[i] = (uint8_t)(0xa0 + i);
    v->ref.has_victim_pseudonym = 1;
    v->ref.victim_pseudonym.data = v->pseudonym;
    v->ref.victim_pseudonym.len = sizeof v->pseudonym;
    v->w[0] = w;
    v->w[0].field = "victim.name";
    v->w[0].reason = "no consent to register identity";
    v->w[1] = w;
    v->w[1].field = "reporter.contact";
    v->w[1].reason = "reporter is anonymous";
    v->wp[0] = &v->w[0];
    v->wp[1] = &v->w[1];
    v->ref.n_withheld = 2;
    v->ref.withheld = v->wp;
    v->topics[0] = "police.acute";
    v->ref.n_topics = 1;
    v->ref.topics = v->topics;
    v->rules[0] = "acute";
    v->ref.n_rules = 1;
    v->ref.rules = v->rules;
    v->ref.accepted_ms = 1795000000123u;
}

/* The record as gw_dispatch built it by hand before mn_record owned it: the bytes every store
 * written so far holds. */
static void s_legacy_pack(const mn_record_info *info, const mn_referral *view, uint8_t **out,
                          size_t *len)
{
    Meldnet__RegistryRecord rec = MELDNET__REGISTRY_RECORD__INIT;
    rec.version = 1;
    rec.registration = info->registration;
    rec.envelope_id.data = (uint8_t *)info->envelope_id;
    rec.envelope_id.len = sizeof info->envelope_id;
    rec.agent = (char *)info->agent;
    rec.accepted_ms = info->accepted_ms;
    rec.created_ms = info->created_ms;
    rec.report = view->report;
    rec.has_victim_pseudonym = view->has_victim_pseudonym;
    rec.victim_pseudonym = view->victim_pseudonym;
    rec.n_withheld = view->n_withheld;
    rec.withheld = view->withheld;
    rec.has_sharing = 1;
    rec.sharing = view->sharing;
    *len = meldnet__registry_record__get_packed_size(&rec);
    *out = malloc(*len ? *len : 1);
    assert_non_null(*out);
    assert_int_equal(meldnet__registry_record__pack(&rec, *out), *len);
}

/* ------------------------------------------------------------------------------------------ */
/* tests */

static void test_record_round_trip(void **state)
{
    mn_report *r = s_load_example("examples/labour-horticulture-inspectorate.json"), *back = NULL;
    mn_record_info info, out;
    uint8_t *buf;
    size_t len;
    mn_diag d;
    (void)state;
    memset(&info, 0, sizeof info);
    info.registration = 4242;
    randombytes_buf(info.envelope_id, sizeof info.envelope_id);
    snprintf(info.agent, sizeof info.agent, "%s", "hotline-utrecht");
    info.accepted_ms = 1795000000123u;
    info.created_ms = 1795000000001u;
    assert_int_equal(mn_record_encode(&info, r, &buf, &len), MN_OK);
    assert_int_equal(mn_record_decode(buf, len, &out, &back, &d), MN_OK);
    assert_int_equal(out.registration, info.registration);
    assert_memory_equal(out.envelope_id, info.envelope_id, sizeof info.envelope_id);
    assert_string_equal(out.agent, info.agent);
    assert_int_equal(out.accepted_ms, info.accepted_ms);
    assert_int_equal(out.created_ms, info.created_ms);
    s_assert_same(r, back);
    assert_int_equal(mn_report_validate(back, &d), MN_OK);
    mn_report_destroy(&back);
    /* info only */
    assert_int_equal(mn_record_decode(buf, len, &out, NULL, &d), MN_OK);
    assert_int_equal(out.registration, info.registration);
    /* damaged */
    assert_int_equal(mn_record_decode(buf, len - 5, &out, &back, &d), MN_EDECODE);
    assert_null(back);
    mn_plain_free(buf, len);

    /* another version */
    Meldnet__RegistryRecord rec = MELDNET__REGISTRY_RECORD__INIT;
    rec.version = 2;
    rec.registration = 7;
    rec.envelope_id.data = info.envelope_id;
    rec.envelope_id.len = sizeof info.envelope_id;
    rec.agent = info.agent;
    rec.report = r;
    len = meldnet__registry_record__get_packed_size(&rec);
    buf = malloc(len);
    assert_non_null(buf);
    meldnet__registry_record__pack(&rec, buf);
    assert_int_equal(mn_record_decode(buf, len, &out, &back, &d), MN_EVERSION);
    assert_null(back);
    assert_non_null(strstr(d.what, "2"));
    mn_plain_free(buf, len);

    /* a wrong-length envelope id */
    rec.version = 1;
    rec.envelope_id.len = 8;
    len = meldnet__registry_record__get_packed_size(&rec);
    buf = malloc(len);
    assert_non_null(buf);
    meldnet__registry_record__pack(&rec, buf);
    assert_int_equal(mn_record_decode(buf, len, &out, &back, &d), MN_EDECODE);
    assert_null(back);
    mn_plain_free(buf, len);
    mn_report_destroy(&r);
}

static void test_view_round_trip_every_field(void **state)
{
    mn_report *r = s_load_example("examples/criminal-drugs-consent-refused.json"), *back = NULL;
    mn_record_info info, out;
    mn_record *rec = NULL;
    s_view v;
    uint8_t *buf;
    size_t len;
    mn_diag d;
    (void)state;
    s_info(&info);
    s_view_init(&v, r);
    assert_int_equal(mn_record_encode_view(&info, &v.ref, &buf, &len), MN_OK);
    assert_int_equal(mn_record_decode_all(buf, len, &out, &rec, &d), MN_OK);
    assert_non_null(rec);
    /* info, and the same in the record */
    assert_int_equal(out.registration, info.registration);
    assert_memory_equal(out.envelope_id, info.envelope_id, sizeof info.envelope_id);
    assert_string_equal(out.agent, info.agent);
    assert_int_equal(out.accepted_ms, info.accepted_ms);
    assert_int_equal(out.created_ms, info.created_ms);
    assert_int_equal(rec->version, 1);
    assert_int_equal(rec->registration, info.registration);
    assert_int_equal(rec->envelope_id.len, sizeof info.envelope_id);
    assert_memory_equal(rec->envelope_id.data, info.envelope_id, sizeof info.envelope_id);
    assert_string_equal(rec->agent, info.agent);
    assert_int_equal(rec->accepted_ms, info.accepted_ms);
    assert_int_equal(rec->created_ms, info.created_ms);
    /* the view's parts */
    s_assert_same(r, rec->report);
    assert_true(rec->has_sharing);
    assert_int_equal(rec->sharing, MELDNET__SHARING_LEVEL__PSEUDONYMOUS);
    assert_true(rec->has_victim_pseudonym);
    assert_int_equal(rec->victim_pseudonym.len, MN_PSEUDONYM_BYTES);
    assert_memory_equal(rec->victim_pseudonym.data, v.pseudonym, MN_PSEUDONYM_BYTES);
    assert_int_equal(rec->n_withheld, 2);
    assert_string_equal(rec->withheld[0]->field, "victim.name");
    assert_string_equal(rec->withheld[0]->reason, "no consent to register identity");
    assert_string_equal(rec->withheld[1]->field, "reporter.contact");
    assert_string_equal(rec->withheld[1]->reason, "reporter is anonymous");
    mn_record_destroy(&rec);
    assert_null(rec);

    /* decode takes the report out of the same bytes */
    assert_int_equal(mn_record_decode(buf, len, &out, &back, &d), MN_OK);
    s_assert_same(r, back);
    mn_report_destroy(&back);
    mn_plain_free(buf, len);

    /* full, without pseudonym or withheld: the sharing level is still written */
    v.ref.sharing = MELDNET__SHARING_LEVEL__FULL;
    v.ref.has_victim_pseudonym = 0;
    v.ref.n_withheld = 0;
    assert_int_equal(mn_record_encode_view(&info, &v.ref, &buf, &len), MN_OK);
    assert_int_equal(mn_record_decode_all(buf, len, &out, &rec, &d), MN_OK);
    assert_true(rec->has_sharing);
    assert_int_equal(rec->sharing, MELDNET__SHARING_LEVEL__FULL);
    assert_false(rec->has_victim_pseudonym);
    assert_int_equal(rec->n_withheld, 0);
    mn_record_destroy(&rec);
    mn_plain_free(buf, len);

    /* a record of info and report alone has none of them */
    assert_int_equal(mn_record_encode(&info, r, &buf, &len), MN_OK);
    assert_int_equal(mn_record_decode_all(buf, len, &out, &rec, &d), MN_OK);
    assert_false(rec->has_sharing);
    assert_false(rec->has_victim_pseudonym);
    assert_int_equal(rec->n_withheld, 0);
    s_assert_same(r, rec->report);
    mn_record_destroy(&rec);
    mn_plain_free(buf, len);
    mn_report_destroy(&r);
}

static void test_view_bytes_as_before(void **state)
{
    static const char *const examples[] = {
        "examples/criminal-drugs-consent-refused.json",
        "examples/minor-loverboy-acute.json",
        "examples/forced-begging-anonymous-citizen.json",
    };
    (void)state;
    for (size_t e = 0; e < sizeof examples / sizeof examples[0]; e++) {
        mn_report *r = s_load_example(examples[e]);
        mn_record_info info;
        s_view v;
        s_info(&info);
        s_view_init(&v, r);
        for (int variant = 0; variant < 3; variant++) {
            uint8_t *got, *want;
            size_t got_len, want_len;
            if (variant == 1) { /* full: no pseudonym, nothing withheld */
                v.ref.sharing = MELDNET__SHARING_LEVEL__FULL;
                v.ref.has_victim_pseudonym = 0;
                v.ref.n_withheld = 0;
            } else if (variant == 2) { /* one withheld field, an agent name of 64 characters */
                v.ref.n_withheld = 1;
                memset(info.agent, 'a', sizeof info.agent - 1);
                info.agent[sizeof info.agent - 1] = '\0';
            }
            assert_int_equal(mn_record_encode_view(&info, &v.ref, &got, &got_len), MN_OK);
            s_legacy_pack(&info, &v.ref, &want, &want_len);
            assert_int_equal(got_len, want_len);
            assert_memory_equal(got, want, want_len);
            mn_plain_free(got, got_len);
            free(want);
        }
        mn_report_destroy(&r);
    }
}

static void test_decode_all_errors(void **state)
{
    mn_report *r = s_load_example("examples/minor-sextortion-online.json");
    mn_record_info info, out;
    mn_record sentinel = MELDNET__REGISTRY_RECORD__INIT;
    mn_record *rec = &sentinel; /* set to NULL on failure */
    uint8_t *buf;
    size_t len;
    mn_diag d;
    (void)state;
    s_info(&info);

    /* nothing, garbage, cut short */
    assert_int_equal(mn_record_decode_all(NULL, 0, &out, &rec, &d), MN_EDECODE);
    assert_null(rec);
    assert_string_equal(d.where, "registry record");
    assert_int_equal(mn_record_decode_all((const uint8_t *)"\xff\xff\xff", 3, &out, &rec, &d),
                     MN_EDECODE);
    assert_null(rec);
    assert_int_equal(mn_record_encode(&info, r, &buf, &len), MN_OK);
    assert_int_equal(mn_record_decode_all(buf, len - 5, &out, &rec, &d), MN_EDECODE);
    assert_null(rec);
    assert_int_equal(out.registration, 0); /* info is cleared */
    mn_plain_free(buf, len);

    /* another version; an agent name too long for mn_record_info */
    char agent[80];
    memset(agent, 'b', sizeof agent - 1);
    agent[sizeof agent - 1] = '\0';
    Meldnet__RegistryRecord bad = MELDNET__REGISTRY_RECORD__INIT;
    bad.version = 3;
    bad.registration = 7;
    bad.envelope_id.data = info.envelope_id;
    bad.envelope_id.len = sizeof info.envelope_id;
    bad.agent = info.agent;
    bad.report = r;
    for (int i = 0; i < 2; i++) {
        if (i == 1) {
            bad.version = 1;
            bad.agent = agent;
        }
        len = meldnet__registry_record__get_packed_size(&bad);
        buf = malloc(len);
        assert_non_null(buf);
        meldnet__registry_record__pack(&bad, buf);
        assert_int_equal(mn_record_decode_all(buf, len, &out, &rec, &d),
                         i == 0 ? MN_EVERSION : MN_EDECODE);
        assert_null(rec);
        free(buf);
    }
    mn_report_destroy(&r);
}

static void test_destroy_twice(void **state)
{
    mn_report *r = s_load_example("examples/minor-sextortion-online.json");
    mn_record_info info, out;
    mn_record *rec = NULL;
    uint8_t *buf;
    size_t len;
    mn_diag d;
    (void)state;
    s_info(&info);
    assert_int_equal(mn_record_encode(&info, r, &buf, &len), MN_OK);
    assert_int_equal(mn_record_decode_all(buf, len, &out, &rec, &d), MN_OK);
    mn_record_destroy(&rec);
    assert_null(rec);
    mn_record_destroy(&rec);
    mn_record_destroy(NULL);
    mn_plain_free(buf, len);
    mn_report_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_view_round_trip_every_field),
        cmocka_unit_test(test_view_bytes_as_before),
        cmocka_unit_test(test_decode_all_errors),
        cmocka_unit_test(test_destroy_twice),
    };
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, "test_mn_record: libsodium did not initialise\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
