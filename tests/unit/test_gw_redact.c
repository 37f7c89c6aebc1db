/* test_gw_redact - redaction and consent: what each recipient sees of a report; pseudonyms.
 *
 * Reports come from $MN_SRCDIR/examples (MN_SRCDIR defaults to "."), tweaked in code where a
 * case needs it. Tweaks follow the report's memory rule (every part its own malloc block), so
 * mn_report_destroy frees them. Referrals are accepted at 2026-11-22 12:00 UTC, so ages do not
 * depend on when the test runs.
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

#include "gw_config.h"
#include "gw_redact.h"
#include "gw_report_fixture.h"
#include "mn_envelope.h"
#include "mn_pseudonym.h"
#include "mn_time.h"

#define ACCEPTED_MS UINT64_C(1795348800000) /* 2026-11-22T12:00:00Z */
#define FULL MELDNET__SHARING_LEVEL__FULL
#define PSEUDO MELDNET__SHARING_LEVEL__PSEUDONYMOUS
#define STATS MELDNET__SHARING_LEVEL__STATISTICS

static const uint8_t s_master[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* --- helpers ---------------------------------------------------------------------------------- */

static const char *s_reason(const mn_referral *ref, const char *field)
{
    for (size_t i = 0; i < ref->n_withheld; i++)
        if (strcmp(ref->withheld[i]->field, field) == 0)
            return ref->withheld[i]->reason;
    return NULL;
}

static mn_referral *s_redact(const mn_report *r, const char *recipient, int kind, int sharing,
                             int overriding)
{
    uint8_t key[32];
    mn_referral *ref = NULL;
    mn_topics topics = {.n = 1, .name = {"test.topic"}};
    gw_redact_recipient_key(s_master, recipient, key);
    assert_int_equal(gw_redact_referral(r, 42, ACCEPTED_MS, recipient, kind, sharing, overriding,
                                        &topics, "rule-a,rule-b", key, &ref),
                     MN_OK);
    assert_non_null(ref);
    return ref;
}

static void s_add_victim_contact(mn_report *r)
{
    fixture_set(&r->victim->address, "Dorpsstraat 1");
    fixture_set(&r->victim->phone, "+31 6 0000 0001");
    fixture_set(&r->suspects[0]->name, "Verdachte");
    fixture_set(&r->suspects[0]->phone, "+31 6 0000 0002");
}

/* --- redaction -------------------------------------------------------------------------------- */

static void test_anonymous_reporter_withheld_everywhere(void **state)
{
    (void)state;
    mn_report *r = fixture_load("forced-begging-anonymous-citizen.json");
    fixture_set(&r->reporter->organisation_name, "Buurtvereniging Plein");
    /* Validation refuses a contact for an anonymous reporter; redaction must not rely on it. */
    r->reporter->contact = malloc(sizeof *r->reporter->contact);
    assert_non_null(r->reporter->contact);
    meldnet__contact__init(r->reporter->contact);
    r->reporter->contact->phone = fixture_dup("+31 20 000 0000");

    static const struct {
        const char *name;
        int kind, sharing, overriding;
    } cases[] = {
        {"police-a", GW_PARTNER_POLICE, FULL, 1},   {"police-b", GW_PARTNER_POLICE, FULL, 0},
        {"care-a", GW_PARTNER_CARE, PSEUDO, 0},     {"hotline-a", GW_PARTNER_HOTLINE, FULL, 1},
        {"registry", GW_PARTNER_REGISTRY, FULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mn_referral *ref =
            s_redact(r, cases[i].name, cases[i].kind, cases[i].sharing, cases[i].overriding);
        assert_non_null(ref->report);
        assert_null(ref->report->reporter->organisation_name);
        assert_null(ref->report->reporter->contact);
        assert_string_equal(s_reason(ref, "reporter.organisation_name"), "reporter is anonymous");
        assert_string_equal(s_reason(ref, "reporter.contact"), "reporter is anonymous");
        assert_int_equal(ref->report->reporter->organisation_type,
                         MELDNET__ORGANISATION_TYPE__CITIZEN);
        mn_referral_destroy(&ref);
    }
    mn_report_destroy(&r);
}

static void test_police_without_consent_is_pseudonymous(void **state)
{
    (void)state;
    mn_report *r = fixture_load("criminal-drugs-consent-refused.json");
    uint8_t *before = NULL, *after = NULL;
    size_t before_len = 0, after_len = 0;
    const char *why = "no consent to share with police";
    s_add_victim_contact(r);
    assert_int_equal(mn_report_encode(r, &before, &before_len), MN_OK);

    mn_referral *ref = s_redact(r, "police-haaglanden", GW_PARTNER_POLICE, FULL, 0);
    assert_int_equal(ref->sharing, PSEUDO);
    assert_int_equal(ref->version, 1);
    assert_int_equal(ref->registration, 42);
    assert_string_equal(ref->recipient, "police-haaglanden");
    assert_int_equal(ref->accepted_ms, ACCEPTED_MS);
    assert_int_equal(ref->n_rules, 2);
    assert_string_equal(ref->rules[0], "rule-a");
    assert_string_equal(ref->rules[1], "rule-b");
    assert_int_equal(ref->n_topics, 1);
    assert_string_equal(ref->topics[0], "test.topic");
    assert_null(ref->figures);

    const Meldnet__Victim *v = ref->report->victim;
    assert_null(v->name);
    assert_null(v->date_of_birth);
    assert_null(v->address);
    assert_null(v->phone);
    assert_int_equal(v->has_age_years, 1);
    assert_int_equal(v->age_years, 17); /* born 2009-02-14, accepted 2026-11-22 */
    assert_int_equal(v->gender, MELDNET__GENDER__MALE);
    assert_null(ref->report->reporter->contact);
    assert_string_equal(ref->report->reporter->organisation_name,
                        "Wijkteam Escamp (fictief), Den Haag");
    assert_null(ref->report->suspects[0]->name);
    assert_null(ref->report->suspects[0]->phone);
    assert_non_null(ref->report->suspects[0]->description);
    assert_int_equal(ref->report->suspects[0]->n_online_handles, 1);
    assert_non_null(ref->report->narrative);

    assert_string_equal(s_reason(ref, "victim.name"), why);
    assert_string_equal(s_reason(ref, "victim.date_of_birth"), why);
    assert_string_equal(s_reason(ref, "victim.address"), why);
    assert_string_equal(s_reason(ref, "victim.phone"), why);
    assert_string_equal(s_reason(ref, "reporter.contact"), why);
    assert_string_equal(s_reason(ref, "suspects[0].name"), why);
    assert_string_equal(s_reason(ref, "suspects[0].phone"), why);
    assert_int_equal(ref->n_withheld, 7);
    assert_int_equal(ref->has_victim_pseudonym, 1);
    assert_int_equal(ref->victim_pseudonym.len, MN_PSEUDONYM_BYTES);
    assert_int_equal(ref->has_acute, 1);
    assert_int_equal(ref->acute, 0);
    mn_referral_destroy(&ref);

    /* Nothing in the caller's report changed. */
    assert_int_equal(mn_report_encode(r, &after, &after_len), MN_OK);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    mn_plain_free(before, before_len);
    mn_plain_free(after, after_len);

    /* The same report routed by the acute rule: identity goes out in full. */
    ref = s_redact(r, "police-haaglanden", GW_PARTNER_POLICE, FULL, 1);
    assert_int_equal(ref->sharing, FULL);
    assert_string_equal(ref->report->victim->name, "Jayden Smits-Hoogendoorn");
    assert_string_equal(ref->report->victim->date_of_birth, "2009-02-14");
    assert_string_equal(ref->report->victim->address, "Dorpsstraat 1");
    assert_string_equal(ref->report->victim->phone, "+31 6 0000 0001");
    assert_string_equal(ref->report->suspects[0]->name, "Verdachte");
    assert_non_null(ref->report->reporter->contact); /* reporter_contact_shareable */
    assert_int_equal(ref->n_withheld, 0);
    assert_int_equal(ref->has_victim_pseudonym, 1); /* full: identity and pseudonym */
    mn_referral_destroy(&ref);

    /* Care has consent: full. */
    ref = s_redact(r, "care-haaglanden", GW_PARTNER_CARE, FULL, 0);
    assert_int_equal(ref->sharing, FULL);
    assert_string_equal(ref->report->victim->name, "Jayden Smits-Hoogendoorn");
    mn_referral_destroy(&ref);

    /* Research has no consent: pseudonymous, saying so. */
    ref = s_redact(r, "research-a", GW_PARTNER_RESEARCH, FULL, 0);
    assert_int_equal(ref->sharing, PSEUDO);
    assert_string_equal(s_reason(ref, "victim.name"), "no consent to share with research");
    mn_referral_destroy(&ref);

    /* Kinds without a consent flag never get identity without an override. */
    ref = s_redact(r, "hotline-a", GW_PARTNER_HOTLINE, FULL, 0);
    assert_int_equal(ref->sharing, PSEUDO);
    assert_null(ref->report->victim->name);
    assert_non_null(s_reason(ref, "victim.name"));
    mn_referral_destroy(&ref);
    mn_report_destroy(&r);
}

static void test_consent_given_keeps_identity(void **state)
{
    (void)state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    mn_referral *ref = s_redact(r, "police-midden", GW_PARTNER_POLICE, FULL, 0);
    assert_int_equal(ref->sharing, FULL);
    assert_string_equal(ref->report->victim->name, "Lotte Verbeek-Zwanenburg");
    assert_string_equal(ref->report->victim->date_of_birth, "2010-04-09");
    assert_non_null(ref->report->reporter->contact);
    assert_string_equal(ref->report->reporter->contact->name, "Marloes Tiggelaar-Brink");
    assert_string_equal(ref->report->suspects[0]->name, "'Ricky' (roepnaam, achternaam onbekend)");
    assert_int_equal(ref->n_withheld, 0);
    assert_int_equal(ref->has_victim_pseudonym, 1);
    assert_int_equal(ref->acute, 1);
    mn_referral_destroy(&ref);

    /* A pseudonymous binding stays pseudonymous whatever the consent. */
    ref = s_redact(r, "police-midden", GW_PARTNER_POLICE, PSEUDO, 1);
    assert_int_equal(ref->sharing, PSEUDO);
    assert_null(ref->report->victim->name);
    assert_string_equal(s_reason(ref, "victim.name"), "pseudonymous binding");
    assert_string_equal(s_reason(ref, "reporter.contact"), "pseudonymous binding");
    mn_referral_destroy(&ref);
    mn_report_destroy(&r);

    /* Full, but the reporter did not allow the contact to be shared; attachments kept. */
    r = fixture_load("minor-sextortion-online.json");
    ref = s_redact(r, "police-amsterdam", GW_PARTNER_POLICE, FULL, 0);
    assert_int_equal(ref->sharing, FULL);
    assert_string_equal(ref->report->victim->name, "Daan Oosterhuis-Bakkenes");
    assert_null(ref->report->reporter->contact);
    assert_string_equal(s_reason(ref, "reporter.contact"),
                        "reporter did not consent to share contact");
    assert_int_equal(ref->report->n_attachments, 1);
    assert_int_equal(ref->n_withheld, 1);
    mn_referral_destroy(&ref);

    /* Pseudonymous: attachments go, the age stays. */
    ref = s_redact(r, "research-a", GW_PARTNER_RESEARCH, PSEUDO, 0);
    assert_int_equal(ref->report->n_attachments, 0);
    assert_string_equal(s_reason(ref, "attachments"), "pseudonymous binding");
    assert_int_equal(ref->report->victim->age_years, 14);
    assert_string_equal(s_reason(ref, "reporter.contact"),
                        "reporter did not consent to share contact");
    mn_referral_destroy(&ref);
    mn_report_destroy(&r);
}

static void test_registry_pseudonym(void **state)
{
    (void)state;
    mn_report *a = fixture_load("criminal-drugs-consent-refused.json");
    mn_report *b = fixture_load("criminal-drugs-consent-refused.json");
    /* The same person written differently, in a different report. */
    fixture_set(&b->victim->name, "  jayden\t SMITS-hoogendoorn ");
    fixture_set(&b->narrative, "Een tweede melding over dezelfde jongen.");
    b->consent->share_care = 0;

    mn_referral *ra = s_redact(a, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    mn_referral *rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    mn_referral *rp = s_redact(a, "police-haaglanden", GW_PARTNER_POLICE, FULL, 0);
    assert_int_equal(ra->sharing, PSEUDO);
    assert_null(ra->report->victim->name);
    assert_string_equal(s_reason(ra, "victim.name"), "no consent to register identity");
    assert_string_equal(s_reason(ra, "victim.date_of_birth"), "no consent to register identity");
    assert_int_equal(ra->has_victim_pseudonym, 1);
    assert_int_equal(rb->has_victim_pseudonym, 1);
    assert_int_equal(rp->has_victim_pseudonym, 1);
    assert_memory_equal(ra->victim_pseudonym.data, rb->victim_pseudonym.data, MN_PSEUDONYM_BYTES);
    assert_memory_not_equal(ra->victim_pseudonym.data, rp->victim_pseudonym.data,
                            MN_PSEUDONYM_BYTES);

    /* Known answer: BLAKE2b-128 keyed with the recipient key, over the normalised fields. */
    uint8_t key[32], expect_key[32], expect[MN_PSEUDONYM_BYTES];
    static const char tag[] = "meldnet-pseudonym-v1:registry";
    static const char input[] = "v2|hoogendoorn jayden smits|2009-02-14";
    gw_redact_recipient_key(s_master, "registry", key);
    crypto_generichash(expect_key, 32, (const unsigned char *)tag, sizeof tag - 1, s_master, 32);
    assert_memory_equal(key, expect_key, 32);
    crypto_generichash(expect, sizeof expect, (const unsigned char *)input, sizeof input - 1, key,
                       32);
    assert_memory_equal(ra->victim_pseudonym.data, expect, MN_PSEUDONYM_BYTES);
    mn_referral_destroy(&rb);

    /* A name longer than the normaliser's buffer. */
    {
        char name[300], norm[300], in[400];
        size_t k = 0, j = 0;
        for (int w = 0; w < 30; w++) {
            k += (size_t)snprintf(name + k, sizeof name - k, "  Naam%02d\t", w);
            j += (size_t)snprintf(norm + j, sizeof norm - j, "%snaam%02d", w ? " " : "", w);
        }
        fixture_set(&b->victim->name, name);
        snprintf(in, sizeof in, "v2|%s|2009-02-14", norm);
        crypto_generichash(expect, sizeof expect, (const unsigned char *)in, strlen(in), key, 32);
        rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
        assert_memory_equal(rb->victim_pseudonym.data, expect, MN_PSEUDONYM_BYTES);
        mn_referral_destroy(&rb);
    }

    /* Another date of birth: another person. */
    fixture_set(&b->victim->date_of_birth, "2009-02-15");
    rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    assert_memory_not_equal(ra->victim_pseudonym.data, rb->victim_pseudonym.data,
                            MN_PSEUDONYM_BYTES);
    mn_referral_destroy(&rb);

    /* Neither name nor date of birth: no pseudonym. */
    fixture_set(&b->victim->name, NULL);
    fixture_set(&b->victim->date_of_birth, NULL);
    rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    assert_int_equal(rb->sharing, PSEUDO);
    assert_int_equal(rb->has_victim_pseudonym, 0);
    mn_referral_destroy(&rb);

    /* With register_identity consent the registry gets the identity. */
    mn_report_destroy(&b);
    b = fixture_load("minor-loverboy-acute.json");
    rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    assert_int_equal(rb->sharing, FULL);
    assert_string_equal(rb->report->victim->name, "Lotte Verbeek-Zwanenburg");
    mn_referral_destroy(&rb);

    mn_referral_destroy(&ra);
    mn_referral_destroy(&rp);
    mn_report_destroy(&a);
    mn_report_destroy(&b);
}

/* A partner that gets one victim with consent (full) and without (pseudonymous) can link the
 * two: one pseudonym per recipient at both levels, however the name was written; another
 * recipient's differs; statistics carries none. */
static void test_full_and_pseudonymous_link(void **state)
{
    (void)state;
    mn_report *a = fixture_load("minor-loverboy-acute.json"); /* consent to the police */
    mn_report *b = fixture_load("minor-loverboy-acute.json");
    fixture_set(&b->victim->name, "VERBEEK ZWANENBURG, Lotte");
    b->consent->share_police = 0;

    mn_referral *full = s_redact(a, "police-midden", GW_PARTNER_POLICE, FULL, 0);
    mn_referral *pseudo = s_redact(b, "police-midden", GW_PARTNER_POLICE, FULL, 0);
    mn_referral *care = s_redact(a, "care-utrecht", GW_PARTNER_CARE, FULL, 0);
    mn_referral *reg = s_redact(a, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    mn_referral *stats = s_redact(a, "cbs", GW_PARTNER_OTHER, STATS, 1);
    assert_int_equal(full->sharing, FULL);
    assert_string_equal(full->report->victim->name, "Lotte Verbeek-Zwanenburg");
    assert_int_equal(pseudo->sharing, PSEUDO);
    assert_null(pseudo->report->victim->name);
    assert_int_equal(reg->sharing, FULL); /* register_identity given */
    assert_int_equal(full->has_victim_pseudonym, 1);
    assert_int_equal(pseudo->has_victim_pseudonym, 1);
    assert_int_equal(care->has_victim_pseudonym, 1);
    assert_int_equal(reg->has_victim_pseudonym, 1);
    assert_int_equal(full->victim_pseudonym.len, MN_PSEUDONYM_BYTES);
    assert_memory_equal(full->victim_pseudonym.data, pseudo->victim_pseudonym.data,
                        MN_PSEUDONYM_BYTES);
    assert_memory_not_equal(full->victim_pseudonym.data, care->victim_pseudonym.data,
                            MN_PSEUDONYM_BYTES);
    assert_memory_not_equal(full->victim_pseudonym.data, reg->victim_pseudonym.data,
                            MN_PSEUDONYM_BYTES);
    assert_int_equal(stats->has_victim_pseudonym, 0);
    assert_null(stats->report);

    /* The pseudonym is mn_pseudonym_derive's under the recipient's key. */
    uint8_t key[32], expect[MN_PSEUDONYM_BYTES];
    gw_redact_recipient_key(s_master, "police-midden", key);
    assert_int_equal(mn_pseudonym_derive(key, "lotte verbeek zwanenburg", "2010-04-09", expect),
                     MN_OK);
    assert_memory_equal(full->victim_pseudonym.data, expect, MN_PSEUDONYM_BYTES);

    /* A name of punctuation only and no date of birth: nothing to link on, no pseudonym. */
    fixture_set(&b->victim->name, "-");
    fixture_set(&b->victim->date_of_birth, NULL);
    mn_referral_destroy(&pseudo);
    pseudo = s_redact(b, "police-midden", GW_PARTNER_POLICE, FULL, 0);
    assert_int_equal(pseudo->has_victim_pseudonym, 0);

    mn_referral_destroy(&full);
    mn_referral_destroy(&pseudo);
    mn_referral_destroy(&care);
    mn_referral_destroy(&reg);
    mn_referral_destroy(&stats);
    mn_report_destroy(&a);
    mn_report_destroy(&b);
}

static void test_statistics_figures_only(void **state)
{
    (void)state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    mn_referral *ref = s_redact(r, "cbs", GW_PARTNER_OTHER, STATS, 1);
    assert_int_equal(ref->sharing, STATS);
    assert_null(ref->report);
    assert_int_equal(ref->has_victim_pseudonym, 0);
    assert_string_equal(s_reason(ref, "report"), "statistics binding");
    assert_int_equal(ref->n_withheld, 1);
    const Meldnet__ReportFigures *f = ref->figures;
    assert_non_null(f);
    assert_string_equal(f->age_band, "16-17");
    assert_string_equal(f->municipality_code, "GM0344");
    assert_string_equal(f->region, "midden-nederland");
    assert_int_equal(f->has_gender, 1);
    assert_int_equal(f->gender, MELDNET__GENDER__FEMALE);
    assert_int_equal(f->n_forms, 1);
    assert_int_equal(f->forms[0], MELDNET__EXPLOITATION_FORM__SEXUAL);
    assert_int_equal(f->has_reporter_type, 1);
    assert_int_equal(f->reporter_type, MELDNET__ORGANISATION_TYPE__SCHOOL);
    assert_int_equal(f->has_acute_danger, 1);
    assert_int_equal(f->acute_danger, 1);
    mn_referral_destroy(&ref);
    mn_report_destroy(&r);

    /* Age bands at their edges. */
    static const struct {
        int age;
        const char *band;
    } bands[] = {{0, "0-11"},   {11, "0-11"},   {12, "12-15"}, {15, "12-15"}, {16, "16-17"},
                 {17, "16-17"}, {18, "18-22"},  {22, "18-22"}, {23, "23-29"}, {29, "23-29"},
                 {30, "30-39"}, {39, "30-39"},  {40, "40-49"}, {49, "40-49"}, {50, "50+"},
                 {99, "50+"},   {-1, "unknown"}};
    r = fixture_load("financial-veilig-thuis.json");
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++) {
        r->victim->has_age_years = bands[i].age >= 0;
        r->victim->age_years = bands[i].age >= 0 ? (uint32_t)bands[i].age : 0;
        ref = s_redact(r, "cbs", GW_PARTNER_OTHER, STATS, 0);
        assert_string_equal(ref->figures->age_band, bands[i].band);
        mn_referral_destroy(&ref);
    }
    mn_report_destroy(&r);

    /* Two forms, distinct. */
    r = fixture_load("criminal-drugs-consent-refused.json");
    ref = s_redact(r, "cbs", GW_PARTNER_OTHER, STATS, 0);
    assert_int_equal(ref->figures->n_forms, 2);
    assert_int_equal(ref->figures->acute_danger, 0);
    mn_referral_destroy(&ref);
    mn_report_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous_reporter_withheld_everywhere),
        cmocka_unit_test(test_police_without_consent_is_pseudonymous),
        cmocka_unit_test(test_consent_given_keeps_identity),
        cmocka_unit_test(test_registry_pseudonym),
        cmocka_unit_test(test_full_and_pseudonymous_link),
        cmocka_unit_test(test_statistics_figures_only),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
