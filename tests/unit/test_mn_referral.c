/* test_mn_referral.c - unit tests for mn_referral: encode/decode, version and field checks,
 * JSON of a full and of a statistics referral, wiping destroy, sharing names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mn_envelope.h"
#include "mn_message.h"
#include "mn_referral.h"
#include "mn_report.h"

#define S_ACCEPTED_MS 1795356736927ull /* 2026-11-22T14:12:16.927Z */
#define S_MAX (1024u * 1024)

static const char s_report_json[] =
    "{\"reporter\": {\"kind\": \"professional\", \"organisation_type\": \"school\"},"
    " \"victim\": {\"gender\": \"female\", \"age_years\": 15},"
    " \"exploitation\": [{\"form\": \"sexual\", \"sexual\": \"loverboy\"}],"
    " \"acute_danger\": true, \"acute_reason\": \"Moet vanavond naar een hotel.\","
    " \"municipality_code\": \"GM0344\", \"region\": \"midden-nederland\"}";

static const uint8_t s_pseudonym[MN_PSEUDONYM_BYTES] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

/* A hand-built referral on the stack (packed only, never destroyed). */
typedef struct s_fixture {
    mn_referral r;
    Meldnet__Withheld w[2];
    Meldnet__Withheld *wp[2];
    Meldnet__ReportFigures fig;
    Meldnet__ExploitationForm forms[2];
    char *topics[2];
    char *rules[2];
    mn_report *report; /* owned: mn_report_destroy */
} s_fixture;

static void s_full(s_fixture *f)
{
    mn_diag d;
    memset(f, 0, sizeof *f);
    f->r = (mn_referral)MELDNET__REFERRAL__INIT;
    f->r.version = 1;
    f->r.registration = 42;
    f->topics[0] = (char *)"police.acute";
    f->topics[1] = (char *)"care.midden-nederland";
    f->r.n_topics = 2;
    f->r.topics = f->topics;
    f->r.recipient = (char *)"police-midden";
    f->r.sharing = MELDNET__SHARING_LEVEL__FULL;
    f->r.has_victim_pseudonym = 1;
    f->r.victim_pseudonym.data = (uint8_t *)s_pseudonym;
    f->r.victim_pseudonym.len = sizeof s_pseudonym;
    assert_int_equal(mn_report_from_json(s_report_json, sizeof s_report_json - 1, &f->report, &d),
                     MN_OK);
    f->r.report = f->report;
    f->w[0] = (Meldnet__Withheld)MELDNET__WITHHELD__INIT;
    f->w[0].field = (char *)"reporter.contact";
    f->w[0].reason = (char *)"contact not shareable";
    f->w[1] = (Meldnet__Withheld)MELDNET__WITHHELD__INIT;
    f->w[1].field = (char *)"attachments";
    f->w[1].reason = (char *)"attachments are not forwarded";
    f->wp[0] = &f->w[0];
    f->wp[1] = &f->w[1];
    f->r.n_withheld = 2;
    f->r.withheld = f->wp;
    f->rules[0] = (char *)"acute";
    f->rules[1] = (char *)"minor-sexual";
    f->r.n_rules = 2;
    f->r.rules = f->rules;
    f->r.accepted_ms = S_ACCEPTED_MS;
    f->r.has_acute = 1;
    f->r.acute = 1;
}

static void s_statistics(s_fixture *f)
{
    memset(f, 0, sizeof *f);
    f->r = (mn_referral)MELDNET__REFERRAL__INIT;
    f->r.version = 1;
    f->r.registration = 7;
    f->topics[0] = (char *)"research.stats";
    f->r.n_topics = 1;
    f->r.topics = f->topics;
    f->r.recipient = (char *)"cbs-research";
    f->r.sharing = MELDNET__SHARING_LEVEL__STATISTICS;
    f->fig = (Meldnet__ReportFigures)MELDNET__REPORT_FIGURES__INIT;
    f->fig.municipality_code = (char *)"GM0344";
    f->fig.region = (char *)"midden-nederland";
    f->fig.age_band = (char *)"12-15";
    f->fig.has_gender = 1;
    f->fig.gender = MELDNET__GENDER__FEMALE;
    f->forms[0] = MELDNET__EXPLOITATION_FORM__SEXUAL;
    f->forms[1] = MELDNET__EXPLOITATION_FORM__FORCED_BEGGING;
    f->fig.n_forms = 2;
    f->fig.forms = f->forms;
    f->fig.has_reporter_type = 1;
    f->fig.reporter_type = MELDNET__ORGANISATION_TYPE__DISTRICT_TEAM;
    f->fig.has_acute_danger = 1;
    f->fig.acute_danger = 0;
    f->r.figures = &f->fig;
    f->r.accepted_ms = 0;
}

static mn_referral *s_roundtrip(const mn_referral *r)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    mn_referral *out = NULL;
    mn_diag d;
    assert_int_equal(mn_referral_encode(r, &buf, &len), MN_OK);
    assert_int_equal(mn_referral_decode(buf, len, S_MAX, &out, &d), MN_OK);
    mn_plain_free(buf, len);
    assert_non_null(out);
    return out;
}

static json_t *s_json(const mn_referral *r)
{
    char *text = NULL;
    json_error_t err;
    assert_int_equal(mn_referral_to_json(r, &text), MN_OK);
    assert_non_null(text);
    json_t *root = json_loads(text, 0, &err);
    if (!root)
        fail_msg("referral JSON does not parse: %s", err.text);
    mn_plain_free((uint8_t *)text, strlen(text));
    return root;
}

static const char *s_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

/* ---------------------------------------------------------------------------------------------
 * Bytes */

static void test_roundtrip_full(void **state)
{
    (void)state;
    s_fixture f;
    s_full(&f);
    mn_referral *r = s_roundtrip(&f.r);

    assert_int_equal(r->version, 1);
    assert_int_equal(r->registration, 42);
    assert_int_equal(r->n_topics, 2);
    assert_string_equal(r->topics[0], "police.acute");
    assert_string_equal(r->topics[1], "care.midden-nederland");
    assert_string_equal(r->recipient, "police-midden");
    assert_int_equal(r->sharing, MELDNET__SHARING_LEVEL__FULL);
    assert_true(r->has_victim_pseudonym);
    assert_int_equal(r->victim_pseudonym.len, MN_PSEUDONYM_BYTES);
    assert_memory_equal(r->victim_pseudonym.data, s_pseudonym, MN_PSEUDONYM_BYTES);
    assert_non_null(r->report);
    assert_true(r->report->acute_danger);
    assert_string_equal(r->report->region, "midden-nederland");
    assert_null(r->figures);
    assert_int_equal(r->n_withheld, 2);
    assert_string_equal(r->withheld[1]->field, "attachments");
    assert_int_equal(r->n_rules, 2);
    assert_string_equal(r->rules[1], "minor-sexual");
    assert_true(r->accepted_ms == S_ACCEPTED_MS);
    assert_true(r->has_acute && r->acute);

    /* The same bytes again: encoding is stable. */
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    assert_int_equal(mn_referral_encode(&f.r, &a, &alen), MN_OK);
    assert_int_equal(mn_referral_encode(r, &b, &blen), MN_OK);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    mn_plain_free(a, alen);
    mn_plain_free(b, blen);

    mn_referral_destroy(&r);
    assert_null(r);
    mn_referral_destroy(&r);
    mn_referral_destroy(NULL);
    mn_report_destroy(&f.report);
}

static void test_roundtrip_statistics(void **state)
{
    (void)state;
    s_fixture f;
    s_statistics(&f);
    mn_referral *r = s_roundtrip(&f.r);

    assert_int_equal(r->sharing, MELDNET__SHARING_LEVEL__STATISTICS);
    assert_null(r->report);
    assert_false(r->has_victim_pseudonym);
    assert_non_null(r->figures);
    assert_string_equal(r->figures->age_band, "12-15");
    assert_int_equal(r->figures->n_forms, 2);
    assert_int_equal(r->figures->forms[1], MELDNET__EXPLOITATION_FORM__FORCED_BEGGING);
    assert_int_equal(r->figures->reporter_type, MELDNET__ORGANISATION_TYPE__DISTRICT_TEAM);
    mn_referral_destroy(&r);
}

static void s_expect_decode(const mn_referral *r, size_t max_len, int want)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    mn_referral *out = (mn_referral *)&out; /* any non-NULL: decode must reset it */
    mn_diag d;
    assert_int_equal(mn_referral_encode(r, &buf, &len), MN_OK);
    assert_int_equal(mn_referral_decode(buf, len, max_len, &out, &d), want);
    assert_int_equal(d.code, want);
    assert_null(out);
    mn_plain_free(buf, len);
}

static void test_decode_errors(void **state)
{
    (void)state;
    s_fixture f;
    mn_referral *out = NULL;
    mn_diag d;
    static const uint8_t garbage[] = {0x08, 0x01, 0x12, 0xff, 0xff, 0x7f, 0x00};

    s_statistics(&f);
    f.r.version = 2;
    s_expect_decode(&f.r, S_MAX, MN_EVERSION);
    f.r.version = 0;
    s_expect_decode(&f.r, S_MAX, MN_EVERSION);
    f.r.version = 1;

    f.r.sharing = MELDNET__SHARING_LEVEL__SHARING_UNSPECIFIED;
    s_expect_decode(&f.r, S_MAX, MN_EDECODE);
    f.r.sharing = (Meldnet__SharingLevel)4;
    s_expect_decode(&f.r, S_MAX, MN_EDECODE);
    f.r.sharing = MELDNET__SHARING_LEVEL__STATISTICS;

    f.r.has_victim_pseudonym = 1;
    f.r.victim_pseudonym.data = (uint8_t *)s_pseudonym;
    f.r.victim_pseudonym.len = MN_PSEUDONYM_BYTES - 1;
    s_expect_decode(&f.r, S_MAX, MN_EDECODE);
    f.r.has_victim_pseudonym = 0;

    f.r.recipient = (char *)"no spaces";
    s_expect_decode(&f.r, S_MAX, MN_EDECODE);
    f.r.recipient = (char *)"cbs-research";

    f.topics[0] = (char *)"Research";
    s_expect_decode(&f.r, S_MAX, MN_EDECODE);
    f.topics[0] = (char *)"research.stats";

    s_expect_decode(&f.r, 4, MN_ETOOBIG);
    out = s_roundtrip(&f.r); /* everything restored: fine again */
    mn_referral_destroy(&out);

    assert_int_equal(mn_referral_decode(garbage, sizeof garbage, S_MAX, &out, &d), MN_EDECODE);
    assert_null(out);
    assert_int_equal(mn_referral_decode(NULL, 0, S_MAX, &out, &d), MN_EDECODE); /* no fields */
    assert_int_equal(mn_referral_decode(NULL, 5, S_MAX, &out, &d), MN_EDECODE);
}

static void test_version_diag(void **state)
{
    (void)state;
    s_fixture f;
    uint8_t *buf = NULL;
    size_t len = 0;
    mn_referral *out = NULL;
    mn_diag d;

    s_statistics(&f);
    f.r.version = 2;
    assert_int_equal(mn_referral_encode(&f.r, &buf, &len), MN_OK);
    assert_int_equal(mn_referral_decode(buf, len, S_MAX, &out, &d), MN_EVERSION);
    assert_non_null(strstr(d.what, "version 2"));
    assert_non_null(strstr(d.what, "version 1"));
    mn_plain_free(buf, len);
}

/* ---------------------------------------------------------------------------------------------
 * Wiping */

static void test_destroy_wipes(void **state)
{
    (void)state;
    s_fixture f;
    s_full(&f);
    mn_referral *r = s_roundtrip(&f.r);
    size_t n_recipient = strlen(r->recipient);
    size_t n_reason = strlen(r->withheld[0]->reason);
    size_t n_acute_reason = strlen(r->report->acute_reason);

    /* The walk mn_referral_destroy uses, without the free, so the memory can be looked at. */
    mn_message_wipe(&r->base);
    for (size_t i = 0; i < n_recipient; i++)
        assert_int_equal(r->recipient[i], 0);
    for (size_t i = 0; i < n_reason; i++)
        assert_int_equal(r->withheld[0]->reason[i], 0);
    for (size_t i = 0; i < n_acute_reason; i++)
        assert_int_equal(r->report->acute_reason[i], 0); /* sub-messages too */
    for (size_t i = 0; i < MN_PSEUDONYM_BYTES; i++)
        assert_int_equal(r->victim_pseudonym.data[i], 0);
    assert_true(r->registration == 0);
    mn_message_wipe(NULL);
    mn_referral_destroy(&r);
    mn_report_destroy(&f.report);
}

/* ---------------------------------------------------------------------------------------------
 * JSON */

static void test_json_full(void **state)
{
    (void)state;
    static const char *const order[] = {"registration", "recipient",
                                        "topics",       "sharing",
                                        "acute",        "rules",
                                        "accepted_at",  "victim_pseudonym",
                                        "withheld",     "report"};
    s_fixture f;
    s_full(&f);
    mn_referral *r = s_roundtrip(&f.r);
    json_t *root = s_json(r);
    json_t *v;
    size_t i = 0;
    const char *key;

    json_object_foreach(root, key, v)
    {
        if (i >= sizeof order / sizeof order[0])
            fail_msg("unexpected key \"%s\"", key);
        assert_string_equal(key, order[i]);
        i++;
    }
    assert_int_equal(i, sizeof order / sizeof order[0]);

    assert_string_equal(s_str(root, "registration"), "MN-00000042");
    assert_string_equal(s_str(root, "recipient"), "police-midden");
    v = json_object_get(root, "topics");
    assert_true(json_is_array(v) && json_array_size(v) == 2);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "police.acute");
    assert_string_equal(json_string_value(json_array_get(v, 1)), "care.midden-nederland");
    assert_string_equal(s_str(root, "sharing"), "full");
    assert_true(json_is_true(json_object_get(root, "acute")));
    v = json_object_get(root, "rules");
    assert_true(json_is_array(v) && json_array_size(v) == 2);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "acute");
    assert_string_equal(s_str(root, "accepted_at"), "2026-11-22T14:12:16.927Z");
    assert_string_equal(s_str(root, "victim_pseudonym"), "00112233445566778899aabbccddeeff");
    v = json_object_get(root, "withheld");
    assert_true(json_is_array(v) && json_array_size(v) == 2);
    assert_string_equal(s_str(json_array_get(v, 0), "field"), "reporter.contact");
    assert_string_equal(s_str(json_array_get(v, 0), "reason"), "contact not shareable");
    assert_null(json_object_get(root, "figures"));

    /* The report is embedded as mn_report_to_json writes it. */
    json_t *rep = json_object_get(root, "report");
    assert_true(json_is_object(rep));
    assert_string_equal(s_str(json_object_get(rep, "reporter"), "organisation_type"), "school");
    assert_string_equal(s_str(json_object_get(rep, "victim"), "gender"), "female");
    assert_string_equal(s_str(json_array_get(json_object_get(rep, "exploitation"), 0), "sexual"),
                        "loverboy");
    assert_true(json_is_true(json_object_get(rep, "acute_danger")));
    char *mine = NULL;
    assert_int_equal(mn_report_to_json(r->report, &mine), MN_OK);
    json_t *direct = json_loads(mine, 0, NULL);
    assert_non_null(direct);
    assert_true(json_equal(direct, rep));
    json_decref(direct);
    mn_plain_free((uint8_t *)mine, strlen(mine));

    json_decref(root);
    mn_referral_destroy(&r);
    mn_report_destroy(&f.report);
}

static void test_json_statistics(void **state)
{
    (void)state;
    s_fixture f;
    s_statistics(&f);
    mn_referral *r = s_roundtrip(&f.r);
    json_t *root = s_json(r);
    json_t *fig, *forms;

    assert_string_equal(s_str(root, "registration"), "MN-00000007");
    assert_string_equal(s_str(root, "sharing"), "statistics");
    assert_true(json_is_false(json_object_get(root, "acute")));
    assert_string_equal(s_str(root, "accepted_at"), "1970-01-01T00:00:00.000Z");
    assert_int_equal(json_array_size(json_object_get(root, "rules")), 0);
    assert_int_equal(json_array_size(json_object_get(root, "withheld")), 0);
    assert_null(json_object_get(root, "report"));
    assert_null(json_object_get(root, "victim_pseudonym"));

    fig = json_object_get(root, "figures");
    assert_true(json_is_object(fig));
    assert_int_equal(json_object_size(fig), 7);
    assert_string_equal(s_str(fig, "municipality_code"), "GM0344");
    assert_string_equal(s_str(fig, "region"), "midden-nederland");
    assert_string_equal(s_str(fig, "age_band"), "12-15");
    assert_string_equal(s_str(fig, "gender"), "female");
    forms = json_object_get(fig, "forms");
    assert_true(json_is_array(forms) && json_array_size(forms) == 2);
    assert_string_equal(json_string_value(json_array_get(forms, 0)), "sexual");
    assert_string_equal(json_string_value(json_array_get(forms, 1)), "forced_begging");
    assert_string_equal(s_str(fig, "reporter_type"), "district_team");
    assert_true(json_is_false(json_object_get(fig, "acute_danger")));

    json_decref(root);
    mn_referral_destroy(&r);
}

static void test_json_edges(void **state)
{
    (void)state;
    s_fixture f;
    char *text = (char *)"x";

    /* Absent figures are left out; a value without a name stays a number. */
    s_statistics(&f);
    f.fig.municipality_code = NULL;
    f.fig.has_gender = 0;
    f.fig.n_forms = 0;
    f.fig.reporter_type = (Meldnet__OrganisationType)99;
    json_t *root = s_json(&f.r);
    json_t *fig = json_object_get(root, "figures");
    assert_null(json_object_get(fig, "municipality_code"));
    assert_null(json_object_get(fig, "gender"));
    assert_null(json_object_get(fig, "forms"));
    assert_int_equal(json_integer_value(json_object_get(fig, "reporter_type")), 99);
    json_decref(root);

    /* Text that is not UTF-8 is refused, not mistaken for a memory failure. */
    s_statistics(&f);
    f.rules[0] = (char *)"r\xff";
    f.r.n_rules = 1;
    f.r.rules = f.rules;
    assert_int_equal(mn_referral_to_json(&f.r, &text), MN_EINVAL);
    assert_null(text);

    /* A pseudonym of the wrong length, a time past year 9999. */
    s_statistics(&f);
    f.r.has_victim_pseudonym = 1;
    f.r.victim_pseudonym.data = (uint8_t *)s_pseudonym;
    f.r.victim_pseudonym.len = 3;
    assert_int_equal(mn_referral_to_json(&f.r, &text), MN_EINVAL);
    s_statistics(&f);
    f.r.accepted_ms = UINT64_MAX;
    assert_int_equal(mn_referral_to_json(&f.r, &text), MN_EINVAL);
    assert_null(text);
}

/* ---------------------------------------------------------------------------------------------
 * Names */

static void test_sharing_names(void **state)
{
    (void)state;
    int level = -1;

    assert_string_equal(mn_sharing_name(MELDNET__SHARING_LEVEL__FULL), "full");
    assert_string_equal(mn_sharing_name(MELDNET__SHARING_LEVEL__PSEUDONYMOUS), "pseudonymous");
    assert_string_equal(mn_sharing_name(MELDNET__SHARING_LEVEL__STATISTICS), "statistics");
    assert_string_equal(mn_sharing_name(0), "unknown");
    assert_string_equal(mn_sharing_name(4), "unknown");
    assert_string_equal(mn_sharing_name(-1), "unknown");

    assert_int_equal(mn_sharing_parse("full", &level), MN_OK);
    assert_int_equal(level, MELDNET__SHARING_LEVEL__FULL);
    assert_int_equal(mn_sharing_parse("pseudonymous", &level), MN_OK);
    assert_int_equal(level, MELDNET__SHARING_LEVEL__PSEUDONYMOUS);
    assert_int_equal(mn_sharing_parse("statistics", &level), MN_OK);
    assert_int_equal(level, MELDNET__SHARING_LEVEL__STATISTICS);
    level = -1;
    assert_int_equal(mn_sharing_parse("Full", &level), MN_EINVAL);
    assert_int_equal(mn_sharing_parse("unknown", &level), MN_EINVAL);
    assert_int_equal(mn_sharing_parse("", &level), MN_EINVAL);
    assert_int_equal(mn_sharing_parse(NULL, &level), MN_EINVAL);
    assert_int_equal(level, -1);
}

/* A level nobody can name is made at statistics: the least. */
static void test_sharing_level(void **state)
{
    (void)state;
    assert_int_equal(mn_sharing_level(MELDNET__SHARING_LEVEL__FULL), MELDNET__SHARING_LEVEL__FULL);
    assert_int_equal(mn_sharing_level(MELDNET__SHARING_LEVEL__PSEUDONYMOUS),
                     MELDNET__SHARING_LEVEL__PSEUDONYMOUS);
    assert_int_equal(mn_sharing_level(MELDNET__SHARING_LEVEL__STATISTICS),
                     MELDNET__SHARING_LEVEL__STATISTICS);
    assert_int_equal(mn_sharing_level(0), MELDNET__SHARING_LEVEL__STATISTICS);
    assert_int_equal(mn_sharing_level(4), MELDNET__SHARING_LEVEL__STATISTICS);
    assert_int_equal(mn_sharing_level(-1), MELDNET__SHARING_LEVEL__STATISTICS);
}

static void test_report_enum_names(void **state)
{
    (void)state;
    assert_string_equal(mn_report_enum_name(&meldnet__gender__descriptor, 3), "non_binary");
    assert_string_equal(mn_report_enum_name(&meldnet__organisation_type__descriptor, 15), "other");
    assert_string_equal(mn_report_enum_name(&meldnet__exploitation_form__descriptor, 6),
                        "organ_removal");
    assert_string_equal(mn_report_enum_name(&meldnet__tristate__descriptor, 0), "unknown");
    assert_string_equal(mn_report_enum_name(&meldnet__reporter_kind__descriptor, 2),
                        "private_person");
    assert_string_equal(mn_report_enum_name(&meldnet__sexual_subtype__descriptor, 2), "sextortion");
    assert_null(mn_report_enum_name(&meldnet__exploitation_form__descriptor, 0));
    assert_null(mn_report_enum_name(&meldnet__gender__descriptor, 5));
    assert_null(mn_report_enum_name(&meldnet__gender__descriptor, -1));
    assert_null(mn_report_enum_name(&meldnet__sharing_level__descriptor, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_full),    cmocka_unit_test(test_roundtrip_statistics),
        cmocka_unit_test(test_decode_errors),     cmocka_unit_test(test_version_diag),
        cmocka_unit_test(test_destroy_wipes),     cmocka_unit_test(test_json_full),
        cmocka_unit_test(test_json_statistics),   cmocka_unit_test(test_json_edges),
        cmocka_unit_test(test_sharing_names),     cmocka_unit_test(test_sharing_level),
        cmocka_unit_test(test_report_enum_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
