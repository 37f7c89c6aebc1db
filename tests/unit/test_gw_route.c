/* test_gw_route - routing: which topics the rules give a report, and which partners get it.
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
#include <sodium.h>

#include "gw_config.h"
#include "gw_redact.h"
#include "gw_report_fixture.h"
#include "gw_route.h"
#include "gw_rules.h"

#define TODAY "2026-11-22"
#define ACCEPTED_MS UINT64_C(1795348800000) /* 2026-11-22T12:00:00Z */
#define FULL MELDNET__SHARING_LEVEL__FULL
#define PSEUDO MELDNET__SHARING_LEVEL__PSEUDONYMOUS
#define STATS MELDNET__SHARING_LEVEL__STATISTICS

static const uint8_t s_master[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* --- helpers ---------------------------------------------------------------------------------- */

static void s_set_acute(mn_report *r, int acute)
{
    r->has_acute_danger = 1;
    r->acute_danger = acute ? 1 : 0;
    fixture_set(&r->acute_reason, acute ? "Dreiging vanavond." : NULL);
}

static void s_eval(const mn_report *r, gw_route_match *m)
{
    size_t n;
    const gw_rule *rules = gw_rules_defaults(&n);
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
    const gw_rule *rules = gw_rules_defaults(&n);
    int i = s_topic_index(&m->topics, topic);
    assert_true(i >= 0);
    return rules[m->rule_of[i]].name;
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

/* --- evaluation ------------------------------------------------------------------------------- */

static void test_acute_goes_to_police(void **state)
{
    (void)state;
    gw_route_match m;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
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
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    s_set_acute(r, 0);
    s_eval(r, &m);
    assert_string_equal(m.topics.name[0], "care.midden-nederland");
    assert_string_equal(s_rule_name(&m, "care.midden-nederland"), "minor");

    /* Born 2010-04-09: 18 on 2028-04-09, no longer a minor. */
    size_t n;
    const gw_rule *rules = gw_rules_defaults(&n);
    gw_route_evaluate(rules, n, r, "2028-04-09", &m);
    assert_int_equal(s_topic_index(&m.topics, "care.midden-nederland"), -1);
    gw_route_evaluate(rules, n, r, "2028-04-08", &m);
    assert_true(s_topic_index(&m.topics, "care.midden-nederland") >= 0);

    /* Unknown age: not a minor. */
    fixture_set(&r->victim->date_of_birth, NULL);
    s_eval(r, &m);
    assert_int_equal(s_topic_index(&m.topics, "care.midden-nederland"), -1);

    /* No region: the placeholder becomes "unknown". */
    fixture_set(&r->victim->date_of_birth, "2012-01-01");
    fixture_set(&r->region, NULL);
    s_eval(r, &m);
    assert_true(s_topic_index(&m.topics, "care.unknown") >= 0);
    assert_true(s_topic_index(&m.topics, "hotline.unknown") >= 0);
    mn_report_destroy(&r);
}

static void test_adult_labour_only_hotline(void **state)
{
    (void)state;
    gw_route_match m;
    mn_report *r = fixture_load("labour-horticulture-inspectorate.json");
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
    mn_report *r = fixture_load("minor-sextortion-online.json");
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

    r = fixture_load("minor-grooming-youth-care.json");
    s_eval(r, &m);
    assert_string_equal(s_rule_name(&m, "research.online"), "online-sexual");
    mn_report_destroy(&r);

    /* Online, not sexual: the online rule. */
    r = fixture_load("labour-horticulture-inspectorate.json");
    r->has_online = 1;
    r->online = MELDNET__TRISTATE__YES;
    s_eval(r, &m);
    assert_string_equal(s_rule_name(&m, "research.online"), "online");
    mn_report_destroy(&r);
}

/* --- plan ------------------------------------------------------------------------------------- */

static void test_acute_rule_keeps_identity_through_plan(void **state)
{
    (void)state;
    gw_route_match m;
    gw_route_target t[2];
    size_t n_t = 0;
    mn_topics unbound;
    size_t n_rules;
    const gw_rule *rules = gw_rules_defaults(&n_rules);
    mn_report *r = fixture_load("criminal-drugs-consent-refused.json");
    s_set_acute(r, 1);
    s_eval(r, &m);

    gw_partner ps[2] = {
        fixture_partner("police-a", GW_PARTNER_POLICE, "police.acute", FULL, NULL, 0),
        /* Acute only pseudonymous, the rest full: the override must not lend it identity. */
        fixture_partner("police-b", GW_PARTNER_POLICE, "police.acute", PSEUDO, "hotline.*", FULL),
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

static void test_plan_patterns_and_unbound(void **state)
{
    (void)state;
    gw_route_match m;
    gw_route_target t[4];
    size_t n_t = 99;
    mn_topics unbound;
    size_t n_rules;
    const gw_rule *rules = gw_rules_defaults(&n_rules);
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    gw_partner ps[4] = {
        fixture_partner("care-midden", GW_PARTNER_CARE, "care.*", PSEUDO, NULL, 0),
        fixture_partner("police-midden", GW_PARTNER_POLICE, "police.acute", FULL, NULL, 0),
        fixture_partner("everything", GW_PARTNER_OTHER, "police.*", STATS, "hotline.*", PSEUDO),
        fixture_partner("hotline-friesland", GW_PARTNER_HOTLINE, "hotline.friesland", FULL, NULL,
                        0),
    };
    s_eval(r, &m);
    gw_route_plan(rules, &m, ps, 4, t, &n_t, &unbound);
    assert_int_equal(n_t, 3);
    assert_ptr_equal(t[0].partner, &ps[0]);
    assert_int_equal(t[0].topics.n, 1);
    assert_string_equal(t[0].topics.name[0], "care.midden-nederland");
    assert_int_equal(t[0].sharing, PSEUDO);
    assert_int_equal(t[0].overriding, 0);
    assert_string_equal(t[0].rules, "minor");

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
    gw_partner all = fixture_partner("all", GW_PARTNER_OTHER, "*", STATS, NULL, 0);
    gw_route_plan(rules, &m, &all, 1, t, &n_t, &unbound);
    assert_int_equal(n_t, 1);
    assert_int_equal(t[0].topics.n, 4);
    assert_int_equal(t[0].sharing, STATS);
    assert_string_equal(t[0].rules, "acute,minor,shelter,all");
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

/* For -n: the acute rules' topics nobody (not revoked) is bound to; a placeholder counts as
 * bound only through a pattern that covers every value of it. */
static void test_acute_unbound(void **state)
{
    (void)state;
    mn_topics unbound;
    size_t n_rules;
    const gw_rule *rules = gw_rules_defaults(&n_rules);
    gw_partner ps[3] = {
        fixture_partner("care", GW_PARTNER_CARE, "care.*", PSEUDO, NULL, 0),
        fixture_partner("police", GW_PARTNER_POLICE, "police.acute", FULL, NULL, 0),
        fixture_partner("police-wide", GW_PARTNER_POLICE, "police.*", FULL, NULL, 0),
    };
    gw_route_acute_unbound(rules, n_rules, ps, 1, &unbound);
    assert_int_equal(unbound.n, 1);
    assert_string_equal(unbound.name[0], "police.acute");
    gw_route_acute_unbound(rules, n_rules, NULL, 0, &unbound);
    assert_int_equal(unbound.n, 1);
    gw_route_acute_unbound(rules, n_rules, ps, 2, &unbound);
    assert_int_equal(unbound.n, 0);
    ps[1].revoked = 1; /* a revoked partner takes nothing */
    gw_route_acute_unbound(rules, n_rules, ps, 2, &unbound);
    assert_int_equal(unbound.n, 1);

    /* An acute rule of one's own, with a placeholder, emitting a topic twice over two rules. */
    gw_rule own[2];
    memset(own, 0, sizeof own);
    own[0].acute = 1;
    snprintf(own[0].name, sizeof own[0].name, "acute-region");
    snprintf(own[0].emit[0], sizeof own[0].emit[0], "police.{region}.acute");
    snprintf(own[0].emit[1], sizeof own[0].emit[1], "police.acute");
    own[0].n_emit = 2;
    own[1] = own[0];
    gw_route_acute_unbound(own, 2, ps, 2, &unbound);
    assert_int_equal(unbound.n, 2);
    assert_string_equal(unbound.name[0], "police.{region}.acute");
    assert_string_equal(unbound.name[1], "police.acute");
    gw_partner exact =
        fixture_partner("x", GW_PARTNER_POLICE, "police.unknown.acute", FULL, "police.acute", FULL);
    gw_route_acute_unbound(own, 2, &exact, 1, &unbound);
    assert_int_equal(unbound.n, 1); /* one region's topic does not cover them all */
    gw_route_acute_unbound(own, 2, ps + 2, 1, &unbound);
    assert_int_equal(unbound.n, 0);
    own[0].acute = own[1].acute = GW_RULE_ANY; /* no acute rule: nothing to check */
    gw_route_acute_unbound(own, 2, NULL, 0, &unbound);
    assert_int_equal(unbound.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acute_goes_to_police),
        cmocka_unit_test(test_minor_loverboy_goes_to_care),
        cmocka_unit_test(test_adult_labour_only_hotline),
        cmocka_unit_test(test_sextortion_goes_to_research),
        cmocka_unit_test(test_acute_rule_keeps_identity_through_plan),
        cmocka_unit_test(test_plan_patterns_and_unbound),
        cmocka_unit_test(test_acute_unbound),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
