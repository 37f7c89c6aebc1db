/* test_gw_rules - the default rules, and parsing rules from gateway.conf with file:line.
 *
 * Reports come from $MN_SRCDIR/examples (MN_SRCDIR defaults to "."), tweaked in code where a
 * case needs it; "today" is 2026-11-22, so ages do not depend on when the test runs.
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

#include "gw_report_fixture.h"
#include "gw_route.h"
#include "gw_rules.h"

#define TODAY "2026-11-22"

/* --- helpers ---------------------------------------------------------------------------------- */

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
    rc = gw_rules_parse(routes, "test.conf", rules, n, d);
    config_destroy(&lc);
    return rc;
}

/* --- defaults --------------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    size_t n = 0;
    const gw_rule *rules = gw_rules_defaults(&n);
    static const char *const names[] = {"acute",  "minor",   "online-sexual",
                                        "online", "shelter", "all"};
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

/* --- parsing ---------------------------------------------------------------------------------- */

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
    mn_report *r = fixture_load("minor-loverboy-acute.json");
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
    fixture_set(&r->municipality_code, "GM0345");
    gw_route_evaluate(rules, n, r, TODAY, &m);
    assert_int_equal(m.topics.n, 2);
    fixture_set(&r->municipality_code, "GM0344");
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
    const gw_rule *defs = gw_rules_defaults(&n_def);
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
        {"routes = ( { name = 5; emit = [ \"x.y\" ]; } );", "test.conf:1", "name must be a string",
         "name = "},
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
            fail_msg("case %zu: rc %d where \"%s\" what \"%s\" hint \"%s\"", i, rc, d.where, d.what,
                     d.hint);
        assert_null(rules);
        assert_int_equal(n, 0);
        assert_int_equal(d.code, MN_ECONFIG);
    }
}

/* The tables name every condition, field and consent flag, in the order the hints list them. */
static void test_hints_name_every_key(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *what;
        const char *hint;
    } cases[] = {
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ]; when = { x = true; }; } );",
         "route \"a\": unknown condition \"x\"",
         "conditions are acute, minor, online, shelter, form, sexual, reporter, reporter_kind, "
         "region, municipality, consent"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ]; x = true; } );",
         "route \"a\": unknown field \"x\"", "fields are name, when, emit, overrides_consent"},
        {"routes = ( { name = \"a\"; emit = [ \"x.y\" ]; when = { consent = { x = true; }; }; "
         "} );",
         "route \"a\": unknown consent flag \"x\"",
         "consent flags are register_identity, share_police, share_care, share_research, "
         "reporter_contact_shareable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_rule *rules = NULL;
        size_t n = 0;
        mn_diag d;
        assert_int_equal(s_parse(cases[i].text, &rules, &n, &d), MN_ECONFIG);
        assert_string_equal(d.where, "test.conf:1");
        assert_string_equal(d.what, cases[i].what);
        assert_string_equal(d.hint, cases[i].hint);
        assert_null(rules);
    }
}

/* Every condition lands in its own field of the rule; the rest stay "any". */
static void test_conditions_fill_their_fields(void **state)
{
    (void)state;
    static const char *const text =
        "routes = ( { name = \"a\"; emit = [ \"x.y\" ]; },\n"
        "  { name = \"b\"; emit = [ \"x.y\" ]; when = { online = true; consent = {\n"
        "    reporter_contact_shareable = false; share_research = true; }; }; },\n"
        "  { name = \"c\"; emit = [ \"x.y\" ]; when = { acute = false; shelter = false;\n"
        "    municipality = [ \"unknown\", \"GM0363\" ]; region = [ \"noord\" ]; }; } );\n";
    gw_rule *rules = NULL;
    size_t n = 0;
    mn_diag d;
    assert_int_equal(s_parse(text, &rules, &n, &d), MN_OK);
    assert_int_equal(n, 3);
    for (size_t k = 0; k < GW_RULE_CONSENT_N; k++)
        assert_int_equal(rules[0].consent[k], GW_RULE_ANY);
    assert_int_equal(rules[0].acute, GW_RULE_ANY);
    assert_int_equal(rules[0].forms | rules[0].sexual | rules[0].reporter_types, 0);
    assert_int_equal(rules[0].n_regions + rules[0].n_municipalities, 0);

    assert_int_equal(rules[1].online, 1);
    assert_int_equal(rules[1].acute, GW_RULE_ANY);
    assert_int_equal(rules[1].consent[MN_CONSENT_REPORTER_CONTACT_SHAREABLE], 0);
    assert_int_equal(rules[1].consent[MN_CONSENT_SHARE_RESEARCH], 1);
    assert_int_equal(rules[1].consent[MN_CONSENT_SHARE_POLICE], GW_RULE_ANY);

    assert_int_equal(rules[2].acute, 0);
    assert_int_equal(rules[2].shelter, 0);
    assert_int_equal(rules[2].minor, GW_RULE_ANY);
    assert_int_equal(rules[2].n_municipalities, 2);
    assert_string_equal(rules[2].municipalities[0], "unknown");
    assert_string_equal(rules[2].municipalities[1], "GM0363");
    assert_int_equal(rules[2].n_regions, 1);
    assert_string_equal(rules[2].regions[0], "noord");
    free(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_rules),
        cmocka_unit_test(test_example_routes_are_the_defaults),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_hints_name_every_key),
        cmocka_unit_test(test_conditions_fill_their_fields),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
