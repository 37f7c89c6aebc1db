/* test_gw_route - routing rules, plans, redaction and consent, rule parsing with file:line.
 *
 * Reports come from $MN_SRCDIR/examples (MN_SRCDIR defaults to "."), tweaked in code where a
 * case needs it. Tweaks follow the report's memory rule (every part its own malloc block), so
 * mn_report_destroy frees them. Dates are fixed: "today" is 2026-11-22 and referrals are
 * accepted at 2026-11-22 12:00 UTC, so ages do not depend on when the test runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libconfig.h>
#include <sodium.h>

#include "gw_route.h"
#include "mn_envelope.h"

#define TODAY "2026-11-22"
#define ACCEPTED_MS UINT64_C(1795348800000) /* 2026-11-22T12:00:00Z */
#define FULL MELDNET__SHARING_LEVEL__FULL
#define PSEUDO MELDNET__SHARING_LEVEL__PSEUDONYMOUS
#define STATS MELDNET__SHARING_LEVEL__STATISTICS

static const uint8_t s_master[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* --- helpers ---------------------------------------------------------------------------------- */

static mn_report *s_load(const char *name)
{
    const char *dir = getenv("MN_SRCDIR");
    char path[1024];
    mn_report *r = NULL;
    mn_diag d;
    snprintf(path, sizeof path, "%s/examples/%s", dir ? dir : ".", name);
    if (mn_report_load_json(path, &r, &d) != MN_OK)
        fail_msg("cannot load %s: %s: %s (set MN_SRCDIR to the source tree)", path, d.where,
                 d.what);
    return r;
}

static char *s_dup(const char *s)
{
    char *c = strdup(s);
    assert_non_null(c);
    return c;
}

static void s_set(char **field, const char *value)
{
    free(*field);
    *field = value ? s_dup(value) : NULL;
}

static void s_set_acute(mn_report *r, int acute)
{
    r->has_acute_danger = 1;
    r->acute_danger = acute ? 1 : 0;
    s_set(&r->acute_reason, acute ? "Dreiging vanavond." : NULL);
}

static gw_partner s_partner(const char *name, int kind, const char *topic1, int sharing1,
                            const char *topic2, int sharing2)
{
    gw_partner p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.kind = kind;
    snprintf(p.bindings[0].topic, sizeof p.bindings[0].topic, "%s", topic1);
    p.bindings[0].sharing = sharing1;
    p.n_bindings = 1;
    if (topic2) {
        snprintf(p.bindings[1].topic, sizeof p.bindings[1].topic, "%s", topic2);
        p.bindings[1].sharing = sharing2;
        p.n_bindings = 2;
    }
    return p;
}

static void s_eval(const mn_report *r, gw_route_match *m)
{
    size_t n;
    const gw_rule *rules = gw_route_defaults(&n);
    gw_route_evaluate(rules, n, r, TODAY, m);
}

static int s_topic_index(const mn_topics *t, const char *topic)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->name[i], topic) == 0)
            return (int)i;
    return -1;
}

static const char *s_rule_name(const gw_route_match *m, const char *topic)
{
    size_t n;
    const gw_rule *rules = gw_route_defaults(&n);
    int i = s_topic_index(&m->topics, topic);
    assert_true(i >= 0);
    return rules[m->rule_of[i]].name;
}

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
    gw_route_recipient_key(s_master, recipient, key);
    assert_int_equal(gw_route_redact(r, 42, ACCEPTED_MS, recipient, kind, sharing, overriding,
                                     &topics, "rule-a,rule-b", key, &ref),
                     MN_OK);
    assert_non_null(ref);
    return ref;
}

static void s_add_victim_contact(mn_report *r)
{
    s_set(&r->victim->address, "Dorpsstraat 1");
    s_set(&r->victim->phone, "+31 6 0000 0001");
    s_set(&r->suspects[0]->name, "Verdachte");
    s_set(&r->suspects[0]->phone, "+31 6 0000 0002");
}

/* --- defaults and evaluation ------------------------------------------------------------------ */

static void test_defaults(void **state)
{
    (void)state;
    size_t n = 0;
    const gw_rule *rules = gw_route_defaults(&n);
    static const char *const names[] = {"acute", "minor-sexual", "online-sexual", "online",
                                        "shelter", "all"};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rules[i].name, names[i]);
        assert_int_equal(rules[i].overrides_consent, i == 0);
        assert_int_equal(rules[i].n_emit, 1);
        assert_int_equal(rules[i].line, 0);
    }
    assert_string_equal(rules[0].emit[0], "police.acute");
    assert_string_equal(rules[1].emit[0], "care.{region}");
    assert_string_equal(rules[2].emit[0], "research.online");
    assert_string_equal(rules[4].emit[0], "shelter.coordination");
    assert_string_equal(rules[5].emit[0], "hotline.{region}");
}

static void test_acute_goes_to_police(void **state)
{
    (void)state;
    gw_route_match m;
    mn_report *r = s_load("minor-loverboy-acute.json");
    s_eval(r, &m);
    assert_int_equal(m.topics.n, 4);
    assert_string_equal(m.topics.name[0], "police.acute");
    assert_string_equal(s_rule_name(&m, "police.acute"), "acute");
    assert_int_equal(m.overriding[0], 1);
    assert_int_equal(s_topic_index(&m.topics, "care.midden-nederland"), 1);
    assert_int_equal(m.overriding[1], 0);
    assert_true(s_topic_index(&m.topics, "shelter.coordination") >= 0);
    assert_true(s_topic_index(&m.topics, "hotline.midden-nederland") >= 0);
    assert_int_equal(s_topic_index(&m.topics, "research.online"), -1);

    s_set_acute(r, 0);
    s_eval(r, &m);
    assert_int_equal(s_topic_index(&m.topics, "police.acute"), -1);
    for (size_t i = 0; i < m.topics.n; i++)
        assert_int_equal(m.overriding[i], 0);
    mn_report_destroy(&r);
}

static void test_minor_loverboy_goes_to_care(void **state)
{
    (void)state;
    gw_route_match m;
    mn_report *r = s_load("minor-loverboy-acute.json");
    s_set_acute(r, 0);
    s_eval(r, &m);
    assert_string_equal(m.topics.name[0], "care.midden-nederland");
    assert_string_equal(s_rule_name(&m, "care.midden-nederland"), "minor-sexual");

    /* Born 2010-04-09: 18 on 2028-04-09, no longer a minor. */
    size_t n;
    const gw_rule *rules = gw_route_defaults(&n);
    gw_route_evaluate(rules, n, r, "2028-04-09", &m);
    assert_int_equal(s_topic_index(&m.topics, "care.midden-nederland"), -1);
    gw_route_evaluate(rules, n, r, "2028-04-08", &m);
    assert_true(s_topic_index(&m.topics, "care.midden-nederland") >= 0);

    /* Unknown age: not a minor. */
    s_set(&r->victim->date_of_birth, NULL);
    s_eval(r, &m);
    assert_int_equal(s_topic_index(&m.topics, "care.midden-nederland"), -1);

    /* No region: the placeholder becomes "unknown". */
    s_set(&r->victim->date_of_birth, "2012-01-01");
    s_set(&r->region, NULL);
    s_eval(r, &m);
    assert_true(s_topic_index(&m.topics, "care.unknown") >= 0);
    assert_true(s_topic_index(&m.topics, "hotline.unknown") >= 0);
    mn_report_destroy(&r);
}

static void test_adult_labour_only_hotline(void **state)
{
    (void)state;
    gw_route_match m;
    mn_report *r = s_load("labour-horticulture-inspectorate.json");
    r->victim->shelter_needed = MELDNET__TRISTATE__NO;
    s_eval(r, &m);
    assert_int_equal(m.topics.n, 1);
    assert_string_equal(m.topics.name[0], "hotline.den-haag");
    assert_string_equal(s_rule_name(&m, "hotline.den-haag"), "all");
    assert_int_equal(m.overriding[0], 0);

    r->victim->shelter_needed = MELDNET__TRISTATE__YES;
    s_eval(r, &m);
    assert_int_equal(m.topics.n, 2);
    assert_string_equal(m.topics.name[0], "shelter.coordination");
    mn_report_destroy(&r);
}

static void test_sextortion_goes_to_research(void **state)
{
    (void)state;
    gw_route_match m;
    mn_report *r = s_load("minor-sextortion-online.json");
    s_eval(r, &m);
    /* Emitted by online-sexual and by online: once, the first rule named. */
    assert_string_equal(s_rule_name(&m, "research.online"), "online-sexual");
    assert_true(s_topic_index(&m.topics, "care.amsterdam") >= 0);
    assert_true(s_topic_index(&m.topics, "hotline.amsterdam") >= 0);
    assert_int_equal(m.topics.n, 3);

    /* Offline sextortion still goes to research; grooming too. */
    r->online = MELDNET__TRISTATE__NO;
    s_eval(r, &m);
    assert_string_equal(s_rule_name(&m, "research.online"), "online-sexual");
    mn_report_destroy(&r);

    r = s_load("minor-grooming-youth-care.json");
    s_eval(r, &m);
    assert_string_equal(s_rule_name(&m, "research.online"), "online-sexual");
    mn_report_destroy(&r);

    /* Online, not sexual: the online rule. */
    r = s_load("labour-horticulture-inspectorate.json");
    r->has_online = 1;
    r->online = MELDNET__TRISTATE__YES;
    s_eval(r, &m);
    assert_string_equal(s_rule_name(&m, "research.online"), "online");
    mn_report_destroy(&r);
}

/* --- redaction -------------------------------------------------------------------------------- */

static void test_anonymous_reporter_withheld_everywhere(void **state)
{
    (void)state;
    mn_report *r = s_load("forced-begging-anonymous-citizen.json");
    s_set(&r->reporter->organisation_name, "Buurtvereniging Plein");
    /* Validation refuses a contact for an anonymous reporter; redaction must not rely on it. */
    r->reporter->contact = malloc(sizeof *r->reporter->contact);
    assert_non_null(r->reporter->contact);
    meldnet__contact__init(r->reporter->contact);
    r->reporter->contact->phone = s_dup("+31 20 000 0000");

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
        assert_string_equal(s_reason(ref, "reporter.organisation_name"),
                            "reporter is anonymous");
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
    mn_report *r = s_load("criminal-drugs-consent-refused.json");
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
    assert_int_equal(ref->has_victim_pseudonym, 0);
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

static void test_acute_rule_keeps_identity_through_plan(void **state)
{
    (void)state;
    gw_route_match m;
    gw_route_target t[2];
    size_t n_t = 0;
    mn_topics unbound;
    size_t n_rules;
    const gw_rule *rules = gw_route_defaults(&n_rules);
    mn_report *r = s_load("criminal-drugs-consent-refused.json");
    s_set_acute(r, 1);
    s_eval(r, &m);

    gw_partner ps[2] = {
        s_partner("police-a", GW_PARTNER_POLICE, "police.acute", FULL, NULL, 0),
        /* Acute only pseudonymous, the rest full: the override must not lend it identity. */
        s_partner("police-b", GW_PARTNER_POLICE, "police.acute", PSEUDO, "hotline.*", FULL),
    };
    gw_route_plan(rules, &m, ps, 2, t, &n_t, &unbound);
    assert_int_equal(n_t, 2);
    assert_int_equal(t[0].overriding, 1);
    assert_int_equal(t[0].sharing, FULL);
    assert_string_equal(t[0].rules, "acute");
    assert_int_equal(t[1].overriding, 0);
    assert_int_equal(t[1].sharing, FULL);
    assert_string_equal(t[1].rules, "acute,all");

    mn_referral *ref = s_redact(r, "police-a", GW_PARTNER_POLICE, t[0].sharing, t[0].overriding);
    assert_int_equal(ref->sharing, FULL);
    assert_string_equal(ref->report->victim->name, "Jayden Smits-Hoogendoorn");
    assert_int_equal(ref->acute, 1);
    mn_referral_destroy(&ref);
    ref = s_redact(r, "police-b", GW_PARTNER_POLICE, t[1].sharing, t[1].overriding);
    assert_int_equal(ref->sharing, PSEUDO);
    assert_null(ref->report->victim->name);
    mn_referral_destroy(&ref);
    mn_report_destroy(&r);
}

static void test_consent_given_keeps_identity(void **state)
{
    (void)state;
    mn_report *r = s_load("minor-loverboy-acute.json");
    mn_referral *ref = s_redact(r, "police-midden", GW_PARTNER_POLICE, FULL, 0);
    assert_int_equal(ref->sharing, FULL);
    assert_string_equal(ref->report->victim->name, "Lotte Verbeek-Zwanenburg");
    assert_string_equal(ref->report->victim->date_of_birth, "2010-04-09");
    assert_non_null(ref->report->reporter->contact);
    assert_string_equal(ref->report->reporter->contact->name, "Marloes Tiggelaar-Brink");
    assert_string_equal(ref->report->suspects[0]->name, "'Ricky' (roepnaam, achternaam onbekend)");
    assert_int_equal(ref->n_withheld, 0);
    assert_int_equal(ref->has_victim_pseudonym, 0);
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
    r = s_load("minor-sextortion-online.json");
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
    mn_report *a = s_load("criminal-drugs-consent-refused.json");
    mn_report *b = s_load("criminal-drugs-consent-refused.json");
    /* The same person written differently, in a different report. */
    s_set(&b->victim->name, "  jayden\t SMITS-hoogendoorn ");
    s_set(&b->narrative, "Een tweede melding over dezelfde jongen.");
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
    static const char input[] = "v1|jayden smits-hoogendoorn|2009-02-14";
    gw_route_recipient_key(s_master, "registry", key);
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
        s_set(&b->victim->name, name);
        snprintf(in, sizeof in, "v1|%s|2009-02-14", norm);
        crypto_generichash(expect, sizeof expect, (const unsigned char *)in, strlen(in), key, 32);
        rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
        assert_memory_equal(rb->victim_pseudonym.data, expect, MN_PSEUDONYM_BYTES);
        mn_referral_destroy(&rb);
    }

    /* Another date of birth: another person. */
    s_set(&b->victim->date_of_birth, "2009-02-15");
    rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    assert_memory_not_equal(ra->victim_pseudonym.data, rb->victim_pseudonym.data,
                            MN_PSEUDONYM_BYTES);
    mn_referral_destroy(&rb);

    /* Neither name nor date of birth: no pseudonym. */
    s_set(&b->victim->name, NULL);
    s_set(&b->victim->date_of_birth, NULL);
    rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    assert_int_equal(rb->sharing, PSEUDO);
    assert_int_equal(rb->has_victim_pseudonym, 0);
    mn_referral_destroy(&rb);

    /* With register_identity consent the registry gets the identity. */
    mn_report_destroy(&b);
    b = s_load("minor-loverboy-acute.json");
    rb = s_redact(b, "registry", GW_PARTNER_REGISTRY, FULL, 0);
    assert_int_equal(rb->sharing, FULL);
    assert_string_equal(rb->report->victim->name, "Lotte Verbeek-Zwanenburg");
    mn_referral_destroy(&rb);

    mn_referral_destroy(&ra);
    mn_referral_destroy(&rp);
    mn_report_destroy(&a);
    mn_report_destroy(&b);
}

static void test_statistics_figures_only(void **state)
{
    (void)state;
    mn_report *r = s_load("minor-loverboy-acute.json");
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
    r = s_load("financial-veilig-thuis.json");
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++) {
        r->victim->has_age_years = bands[i].age >= 0;
        r->victim->age_years = bands[i].age >= 0 ? (uint32_t)bands[i].age : 0;
        ref = s_redact(r, "cbs", GW_PARTNER_OTHER, STATS, 0);
        assert_string_equal(ref->figures->age_band, bands[i].band);
        mn_referral_destroy(&ref);
    }
    mn_report_destroy(&r);

    /* Two forms, distinct. */
    r = s_load("criminal-drugs-consent-refused.json");
    ref = s_redact(r, "cbs", GW_PARTNER_OTHER, STATS, 0);
    assert_int_equal(ref->figures->n_forms, 2);
    assert_int_equal(ref->figures->acute_danger, 0);
    mn_referral_destroy(&ref);
    mn_report_destroy(&r);
}

/* --- plan ------------------------------------------------------------------------------------- */

static void test_plan_patterns_and_unbound(void **state)
{
    (void)state;
    gw_route_match m;
    gw_route_target t[4];
    size_t n_t = 99;
    mn_topics unbound;
    size_t n_rules;
    const gw_rule *rules = gw_route_defaults(&n_rules);
    mn_report *r = s_load("minor-loverboy-acute.json");
    gw_partner ps[4] = {
        s_partner("care-midden", GW_PARTNER_CARE, "care.*", PSEUDO, NULL, 0),
        s_partner("police-midden", GW_PARTNER_POLICE, "police.acute", FULL, NULL, 0),
        s_partner("everything", GW_PARTNER_OTHER, "police.*", STATS, "hotline.*", PSEUDO),
        s_partner("hotline-friesland", GW_PARTNER_HOTLINE, "hotline.friesland", FULL, NULL, 0),
    };
    s_eval(r, &m);
    gw_route_plan(rules, &m, ps, 4, t, &n_t, &unbound);
    assert_int_equal(n_t, 3);
    assert_ptr_equal(t[0].partner, &ps[0]);
    assert_int_equal(t[0].topics.n, 1);
    assert_string_equal(t[0].topics.name[0], "care.midden-nederland");
    assert_int_equal(t[0].sharing, PSEUDO);
    assert_int_equal(t[0].overriding, 0);
    assert_string_equal(t[0].rules, "minor-sexual");

    assert_ptr_equal(t[1].partner, &ps[1]);
    assert_string_equal(t[1].topics.name[0], "police.acute");
    assert_int_equal(t[1].sharing, FULL);
    assert_int_equal(t[1].overriding, 1);
    assert_string_equal(t[1].rules, "acute");

    /* Two patterns; the most open binding among the matching ones wins. An override reaching
     * it through a statistics binding does not count. */
    assert_ptr_equal(t[2].partner, &ps[2]);
    assert_int_equal(t[2].topics.n, 2);
    assert_string_equal(t[2].topics.name[0], "police.acute");
    assert_string_equal(t[2].topics.name[1], "hotline.midden-nederland");
    assert_int_equal(t[2].sharing, PSEUDO);
    assert_int_equal(t[2].overriding, 0);
    assert_string_equal(t[2].rules, "acute,all");

    assert_int_equal(unbound.n, 1);
    assert_string_equal(unbound.name[0], "shelter.coordination");

    /* One partner bound to everything: all rule names, in rule order. */
    gw_partner all = s_partner("all", GW_PARTNER_OTHER, "*", STATS, NULL, 0);
    gw_route_plan(rules, &m, &all, 1, t, &n_t, &unbound);
    assert_int_equal(n_t, 1);
    assert_int_equal(t[0].topics.n, 4);
    assert_int_equal(t[0].sharing, STATS);
    assert_string_equal(t[0].rules, "acute,minor-sexual,shelter,all");
    assert_int_equal(unbound.n, 0);

    /* Nobody bound; no partners at all. */
    gw_route_plan(rules, &m, ps + 3, 1, t, &n_t, &unbound);
    assert_int_equal(n_t, 0);
    assert_int_equal(unbound.n, 4);
    gw_route_plan(rules, &m, NULL, 0, NULL, &n_t, &unbound);
    assert_int_equal(n_t, 0);
    assert_int_equal(unbound.n, 4);

    /* A topic released by an operator (rule_of -1) names no rule. */
    memset(&m, 0, sizeof m);
    m.topics.n = 1;
    snprintf(m.topics.name[0], sizeof m.topics.name[0], "care.utrecht");
    m.rule_of[0] = -1;
    gw_route_plan(rules, &m, ps, 1, t, &n_t, &unbound);
    assert_int_equal(n_t, 1);
    assert_string_equal(t[0].rules, "");
    mn_report_destroy(&r);
}

/* --- parsing ---------------------------------------------------------------------------------- */

static int s_parse(const char *text, gw_rule **rules, size_t *n, mn_diag *d)
{
    config_t lc;
    int rc;
    config_init(&lc);
    if (config_read_string(&lc, text) != CONFIG_TRUE)
        fail_msg("test config does not parse: line %d: %s", config_error_line(&lc),
                 config_error_text(&lc));
    const config_setting_t *routes = config_lookup(&lc, "routes");
    assert_non_null(routes);
    memset(d, 0, sizeof *d);
    rc = gw_route_parse(routes, "test.conf", rules, n, d);
    config_destroy(&lc);
    return rc;
}

static void test_parse_rules(void **state)
{
    (void)state;
    gw_rule *rules = NULL;
    size_t n = 0;
    mn_diag d;
    const char *text =
        "routes = (\n"
        "  { name = \"acute\"; when = { acute = true; }; emit = [ \"police.acute\" ];\n"
        "    overrides_consent = true; },\n"
        "  { name = \"utrecht-minors\";\n"
        "    when = { minor = true; online = false; shelter = true;\n"
        "             form = [ \"sexual\", \"labour\" ]; sexual = [ \"loverboy\" ];\n"
        "             reporter = [ \"school\", \"district_team\" ];\n"
        "             reporter_kind = [ \"professional\" ];\n"
        "             region = [ \"midden-nederland\", \"unknown\" ];\n"
        "             municipality = [ \"GM0344\" ];\n"
        "             consent = { share_police = true; register_identity = false; }; };\n"
        "    emit = [ \"care.{region}\", \"team.{municipality}\" ]; },\n"
        "  { name = \"all\"; emit = [ \"hotline.{region}\" ]; }\n"
        ");\n";
    assert_int_equal(s_parse(text, &rules, &n, &d), MN_OK);
    assert_int_equal(n, 3);
    assert_string_equal(rules[0].name, "acute");
    assert_int_equal(rules[0].acute, 1);
    assert_int_equal(rules[0].minor, -1);
    assert_int_equal(rules[0].overrides_consent, 1);
    assert_int_equal(rules[0].line, 2);
    const gw_rule *u = &rules[1];
    assert_int_equal(u->line, 4);
    assert_int_equal(u->minor, 1);
    assert_int_equal(u->online, 0);
    assert_int_equal(u->shelter, 1);
    assert_int_equal(u->forms, (1u << MELDNET__EXPLOITATION_FORM__SEXUAL) |
                                   (1u << MELDNET__EXPLOITATION_FORM__LABOUR));
    assert_int_equal(u->sexual, 1u << MELDNET__SEXUAL_SUBTYPE__LOVERBOY);
    assert_int_equal(u->reporter_types, (1u << MELDNET__ORGANISATION_TYPE__SCHOOL) |
                                            (1u << MELDNET__ORGANISATION_TYPE__DISTRICT_TEAM));
    assert_int_equal(u->reporter_kinds, 1u << MELDNET__REPORTER_KIND__PROFESSIONAL);
    assert_int_equal(u->n_regions, 2);
    assert_int_equal(u->n_municipalities, 1);
    assert_int_equal(u->consent[0], 0);
    assert_int_equal(u->consent[1], 1);
    assert_int_equal(u->consent[2], -1);
    assert_int_equal(u->overrides_consent, 0);
    assert_int_equal(u->n_emit, 2);

    /* Evaluate them: the loverboy report matches the second rule once shelter holds and the
     * consent fits. */
    gw_route_match m;
    mn_report *r = s_load("minor-loverboy-acute.json");
    gw_route_evaluate(rules, n, r, TODAY, &m);
    assert_int_equal(m.topics.n, 2);
    assert_string_equal(m.topics.name[0], "police.acute");
    assert_string_equal(m.topics.name[1], "hotline.midden-nederland"); /* register_identity */
    r->consent->register_identity = 0;
    gw_route_evaluate(rules, n, r, TODAY, &m);
    assert_int_equal(m.topics.n, 4);
    assert_string_equal(m.topics.name[1], "care.midden-nederland");
    assert_string_equal(m.topics.name[2], "team.gm0344");
    assert_int_equal(m.rule_of[2], 1);
    s_set(&r->municipality_code, "GM0345");
    gw_route_evaluate(rules, n, r, TODAY, &m);
    assert_int_equal(m.topics.n, 2);
    s_set(&r->municipality_code, "GM0344");
    r->reporter->organisation_type = MELDNET__ORGANISATION_TYPE__NGO;
    gw_route_evaluate(rules, n, r, TODAY, &m);
    assert_int_equal(m.topics.n, 2);
    mn_report_destroy(&r);
    free(rules);
}

/* The commented routes in examples/gateway.conf are the defaults, as it says. */
static void test_example_routes_are_the_defaults(void **state)
{
    (void)state;
    const char *dir = getenv("MN_SRCDIR");
    char path[1024], line[512], text[4096] = "";
    int in = 0;
    snprintf(path, sizeof path, "%s/examples/gateway.conf", dir ? dir : ".");
    FILE *fp = fopen(path, "r");
    if (!fp)
        fail_msg("cannot read %s (set MN_SRCDIR to the source tree)", path);
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "# routes = (", 12) == 0)
            in = 1;
        if (in && strncmp(line, "# ", 2) == 0)
            strncat(text, line + 2, sizeof text - strlen(text) - 1);
        if (in && strncmp(line, "# );", 4) == 0)
            break;
    }
    fclose(fp);
    assert_true(in);

    gw_rule *rules = NULL;
    size_t n = 0, n_def = 0;
    mn_diag d;
    const gw_rule *defs = gw_route_defaults(&n_def);
    if (s_parse(text, &rules, &n, &d) != MN_OK)
        fail_msg("%s: %s", d.where, d.what);
    assert_int_equal(n, n_def);
    for (size_t i = 0; i < n; i++) {
        rules[i].line = 0;
        assert_memory_equal(&rules[i], &defs[i], sizeof rules[i]);
    }
    free(rules);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *where;
        const char *what; /* a part of diag.what */
        const char *hint; /* a part of diag.hint */
    } cases[] = {
        {"routes = ( { name = \"a\";\n emitt = [ \"x.y\" ]; } );", "test.conf:2",
         "route \"a\": unknown field \"emitt\"", "did you mean \"emit\"?"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { acutte = true; }; } );",
         "test.conf:2", "unknown condition \"acutte\"", "did you mean \"acute\"?"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { acute = \"yes\"; }; } );",
         "test.conf:2", "when.acute must be true or false", "acute = true;"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n overrides_consent = 1; } );",
         "test.conf:2", "overrides_consent must be true or false", "no quotes"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { form = \"sexual\"; }; } );",
         "test.conf:2", "when.form must be a list of strings", "brackets"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { form = [ \"sexual\",\n"
         "\"sexuall\" ]; }; } );",
         "test.conf:3", "\"sexuall\" is not a form of exploitation", "did you mean \"sexual\"?"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { sexual = [ \"lover\" ]; }; "
         "} );",
         "test.conf:2", "is not a sexual subtype", "loverboy, sextortion, grooming"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { reporter = [ \"scool\" ]; }; "
         "} );",
         "test.conf:2", "\"scool\" is not an organisation type", "did you mean \"school\"?"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { reporter_kind = [ \"citizen\" "
         "]; }; } );",
         "test.conf:2", "\"citizen\" is not a reporter kind", "private_person"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { form = [ ]; }; } );",
         "test.conf:2", "when.form is an empty list", "leave form out"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { region = [ \"Utrecht\" ]; }; "
         "} );",
         "test.conf:2", "\"Utrecht\" is not a region code", "midden-nederland"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { municipality = [ \"344\" ]; "
         "}; } );",
         "test.conf:2", "\"344\" is not a municipality code", "GM0344"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { consent = { police = true; }; "
         "}; } );",
         "test.conf:2", "unknown consent flag \"police\"", "share_police"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = { consent = { share_police = 1; "
         "}; }; } );",
         "test.conf:2", "when.consent.share_police must be true or false", "true"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ];\n when = ( ); } );", "test.conf:2",
         "when must be a group", "when = {"},
        {"routes = ( { name = \"a\";\n emit = [ \"Care.{region}\" ]; } );", "test.conf:2",
         "emit topic \"Care.{region}\" has a character", "lowercase"},
        {"routes = ( { name = \"a\";\n emit = [ \"care.*\" ]; } );", "test.conf:2",
         "emit topic \"care.*\"", "not patterns"},
        {"routes = ( { name = \"a\";\n emit = [ \"care.{regio}\" ]; } );", "test.conf:2",
         "unknown placeholder {regio}", "did you mean {region}?"},
        {"routes = ( { name = \"a\";\n emit = [ \"care.{place}\" ]; } );", "test.conf:2",
         "unknown placeholder {place}", "placeholders are {region} and {municipality}"},
        {"routes = ( { name = \"a\";\n emit = [ \"care.{region\" ]; } );", "test.conf:2",
         "has a '{' without '}'", "{region}"},
        {"routes = ( { name = \"a\";\n emit = [ \"\" ]; } );", "test.conf:2",
         "must be 1-64 characters", "police.acute"},
        {"routes = ( { name = \"a\";\n emit = [ \"x.y\", \"x.y\" ]; } );", "test.conf:2",
         "emit lists \"x.y\" twice", "remove one"},
        {"routes = ( { name = \"a\";\n emit = [ ]; } );", "test.conf:2", "emit is an empty list",
         "at least one"},
        {"routes = ( { name = \"a\";\n emit = \"x.y\"; } );", "test.conf:2",
         "emit must be a list of strings", "brackets"},
        {"routes = ( { name = \"a\";\n emit = [ 1 ]; } );", "test.conf:2",
         "emit[0] is not a string", "double quotes"},
        {"routes = (\n { name = \"a\"; when = { acute = true; }; } );", "test.conf:2",
         "route \"a\": has no emit", "emit = ["},
        {"routes = (\n { emit = [ \"x.y\" ]; } );", "test.conf:2", "route #1: has no name",
         "name = "},
        {"routes = ( { name = 5; emit = [ \"x.y\" ]; } );", "test.conf:1",
         "name must be a string", "name = "},
        {"routes = ( { name = \"a,b\"; emit = [ \"x.y\" ]; } );", "test.conf:1",
         "name \"a,b\" is not a rule name", "a-z"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ]; },\n"
         "  { name = \"b\"; emit = [ \"x.y\" ]; },\n"
         "  { name = \"a\"; emit = [ \"x.z\" ]; } );",
         "test.conf:3", "route #3: the name \"a\" is already used by the rule at line 1",
         "own name"},
        {"routes = ( \"a\" );", "test.conf:1", "route #1: is not a group", "name ="},
        {"routes = ();", "test.conf:1", "routes: is empty", "default rules"},
        {"routes = { a = 1; };", "test.conf:1", "routes: must be a list", "routes = ("},
        {"routes = ( { name = \"a\"; emit = [ \"t0\", \"t1\", \"t2\", \"t3\", \"t4\", \"t5\", "
         "\"t6\", \"t7\" ]; },\n"
         "  { name = \"b\"; emit = [ \"t0\", \"t8\", \"t9\", \"t10\", \"t11\", \"t12\", \"t13\", "
         "\"t14\", \"t15\" ]; },\n"
         "  { name = \"c\"; emit = [ \"t1\",\n \"t16\" ]; } );",
         "test.conf:4", "more than 16 different topics", "at most 16"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_rule *rules = (gw_rule *)&rules; /* must become NULL */
        size_t n = 7;
        mn_diag d;
        int rc = s_parse(cases[i].text, &rules, &n, &d);
        if (rc != MN_ECONFIG || strcmp(d.where, cases[i].where) != 0 ||
            !strstr(d.what, cases[i].what) || !strstr(d.hint, cases[i].hint))
            fail_msg("case %zu: rc %d where \"%s\" what \"%s\" hint \"%s\"", i, rc, d.where,
                     d.what, d.hint);
        assert_null(rules);
        assert_int_equal(n, 0);
        assert_int_equal(d.code, MN_ECONFIG);
    }
}

/* --- explain ---------------------------------------------------------------------------------- */

static size_t s_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_explain(void **state)
{
    (void)state;
    gw_partner ps[3] = {
        s_partner("care-midden", GW_PARTNER_CARE, "care.*", PSEUDO, NULL, 0),
        s_partner("police-midden", GW_PARTNER_POLICE, "police.acute", FULL, NULL, 0),
        s_partner("cbs", GW_PARTNER_OTHER, "hotline.*", STATS, NULL, 0),
    };
    gw_config cfg;
    char *text = NULL;
    size_t len = 0;
    mn_report *r = s_load("minor-loverboy-acute.json");
    memset(&cfg, 0, sizeof cfg);
    cfg.partners = ps;
    cfg.n_partners = 3; /* rules NULL: the defaults */

    FILE *fp = open_memstream(&text, &len);
    assert_non_null(fp);
    assert_int_equal(gw_route_explain(fp, &cfg, r, s_master, TODAY), MN_OK);
    assert_int_equal(fclose(fp), 0);
    assert_non_null(strstr(text, "topic police.acute  rule=acute  overrides_consent\n"));
    assert_non_null(strstr(text, "topic care.midden-nederland  rule=minor-sexual\n"));
    assert_non_null(strstr(text, "unbound shelter.coordination (no partner is bound)\n"));
    assert_null(strstr(text, "unbound hotline"));
    assert_non_null(strstr(text, "partner care-midden kind=care topics=care.midden-nederland "
                                 "sharing=pseudonymous (requested pseudonymous)\n"));
    assert_non_null(strstr(text, "partner police-midden kind=police topics=police.acute "
                                 "sharing=full (requested full) overrides_consent\n"));
    assert_non_null(strstr(text, "partner cbs kind=other topics=hotline.midden-nederland "
                                 "sharing=statistics (requested statistics)\n"));
    assert_int_equal(s_count(text, "\"registration\": \"(test)\""), 3);
    assert_int_equal(s_count(text, "\n    {\n"), 3);
    /* The name goes only to the police (acute); the care coordinator gets a pseudonym. */
    assert_int_equal(s_count(text, "Lotte Verbeek-Zwanenburg"), 1);
    assert_int_equal(s_count(text, "victim_pseudonym"), 1);
    assert_int_equal(s_count(text, "\"age_band\": \"16-17\""), 1);
    free(text);

    /* No partner bound to anything. */
    cfg.n_partners = 0;
    fp = open_memstream(&text, &len);
    assert_non_null(fp);
    assert_int_equal(gw_route_explain(fp, &cfg, r, s_master, TODAY), MN_OK);
    assert_int_equal(fclose(fp), 0);
    assert_non_null(strstr(text, "unbound police.acute (no partner is bound)\n"));
    assert_non_null(strstr(text, "no partner receives this report\n"));
    free(text);
    mn_report_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_acute_goes_to_police),
        cmocka_unit_test(test_minor_loverboy_goes_to_care),
        cmocka_unit_test(test_adult_labour_only_hotline),
        cmocka_unit_test(test_sextortion_goes_to_research),
        cmocka_unit_test(test_anonymous_reporter_withheld_everywhere),
        cmocka_unit_test(test_police_without_consent_is_pseudonymous),
        cmocka_unit_test(test_acute_rule_keeps_identity_through_plan),
        cmocka_unit_test(test_consent_given_keeps_identity),
        cmocka_unit_test(test_registry_pseudonym),
        cmocka_unit_test(test_statistics_figures_only),
        cmocka_unit_test(test_plan_patterns_and_unbound),
        cmocka_unit_test(test_parse_rules),
        cmocka_unit_test(test_example_routes_are_the_defaults),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_explain),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
