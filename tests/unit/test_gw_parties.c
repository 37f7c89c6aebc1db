/* test_gw_parties - agent and partner files: loading the folders, every error with file:line,
 * names and keys unique, lookups, partner kinds.
 *
 * Revocation: revoked parties load and stay in the tables, the admitting lookups skip them,
 * and a revoked key is never free again (writing and revoking: test_gw_party_file).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_config.h"
#include "gw_home_fixture.h"
#include "gw_parties.h"
#include "mn_key.h"
#include "mn_referral.h"

static int s_setup(void **state)
{
    return home_setup(state, "test_gw_parties");
}

static int s_teardown(void **state)
{
    return home_teardown(state);
}

/* The keys of public line `line` under another role and name: "meldnet1 ROLE NAME curve=..." */
static void s_same_keys(const char *line, const char *role, const char *name, char *out, size_t cap)
{
    const char *rest = strstr(line, " curve=");
    assert_non_null(rest);
    snprintf(out, cap, "meldnet1 %s %s%s", role, name, rest);
}

static void s_agent_file(const struct fixture *f, const char *file, const char *body)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->agents, file);
    home_write(path, body);
}

/* body with "@KEY@" replaced by line (a format string would not be a literal). */
static void s_subst(char *out, size_t cap, const char *body, const char *line)
{
    const char *at = strstr(body, "@KEY@");
    if (!at) {
        snprintf(out, cap, "%s", body);
        return;
    }
    snprintf(out, cap, "%.*s%s%s", (int)(at - body), body, line, at + 5);
}

/* --- agents --------------------------------------------------------------------------------- */

static void test_agents_load_sorted(void **state)
{
    struct fixture *f = *state;
    char la[MN_PUBLIC_LINE_MAX], lb[MN_PUBLIC_LINE_MAX], body[1024];
    mn_pubkey pa, pb;
    gw_config *cfg = NULL;
    mn_diag d = {0};

    home_line(MN_ROLE_AGENT, "zeeland-hotline", la, sizeof la, &pa);
    home_line(MN_ROLE_AGENT, "amsterdam.wijkteam-3", lb, sizeof lb, &pb);
    snprintf(body, sizeof body,
             "name = \"zeeland-hotline\";\nkey = \"%s\";\n"
             "region = \"Zeeland-West-Brabant\";\n",
             la);
    s_agent_file(f, "zeeland-hotline.conf", body);
    snprintf(body, sizeof body,
             "# no region: unknown\nname = \"amsterdam.wijkteam-3\";\n"
             "key = \"%s\";\n",
             lb);
    s_agent_file(f, "amsterdam.wijkteam-3.conf", body);
    s_agent_file(f, "README", "not an agent file\n");
    s_agent_file(f, ".zeeland-hotline.conf.swp", "editor junk\n");
    home_write(f->conf, "gateway: { };\n");

    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_OK);
    assert_int_equal(cfg->n_agents, 2);
    assert_string_equal(cfg->agents[0].name, "amsterdam.wijkteam-3");
    assert_string_equal(cfg->agents[0].region, "unknown");
    assert_string_equal(cfg->agents[1].name, "zeeland-hotline");
    assert_string_equal(cfg->agents[1].region, "Zeeland-West-Brabant");
    assert_memory_equal(cfg->agents[1].pub.curve, pa.curve, MN_KEY_BYTES);
    assert_memory_equal(cfg->agents[1].pub.sign, pa.sign, MN_KEY_BYTES);
    assert_non_null(strstr(cfg->agents[1].source, "agents/zeeland-hotline.conf"));

    const gw_agent *a = gw_config_find_agent(cfg, "zeeland-hotline");
    assert_ptr_equal(a, &cfg->agents[1]);
    assert_null(gw_config_find_agent(cfg, "nobody"));
    assert_null(gw_config_find_agent(cfg, ""));
    assert_ptr_equal(gw_config_find_agent_by_curve(cfg, pb.curve), &cfg->agents[0]);
    uint8_t other[MN_KEY_BYTES] = {0};
    assert_null(gw_config_find_agent_by_curve(cfg, other));
    gw_config_destroy(&cfg);

    gw_agent *list = NULL;
    size_t n = 0;
    assert_int_equal(gw_parties_load_agents(f->agents, &list, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "amsterdam.wijkteam-3");
    free(list);
}

struct agent_case {
    const char *file;
    const char *body; /* @KEY@ = a public line */
    mn_role role;
    const char *line_name;
    int code;
    int line; /* 0: where is the file itself */
    const char *what;
};

static void test_agent_errors(void **state)
{
    struct fixture *f = *state;
    static const struct agent_case cases[] = {
        {"carol.conf", "name = \"dave\";\nkey = \"@KEY@\";\n", MN_ROLE_AGENT, "dave", MN_ECONFIG, 1,
         "differs from the file name"},
        {"erin.conf", "name = \"erin\";\nkey = \"@KEY@\";\n", MN_ROLE_AGENT, "frank", MN_EKEY, 2,
         "the key line names \"frank\""},
        {"gina.conf", "name = \"gina\";\n\nkey = \"@KEY@\";\n", MN_ROLE_PARTNER, "gina", MN_EKEY, 3,
         "of a partner, not of an agent"},
        {"hank.conf", "name = \"hank\";\nkey = \"@KEY@\";\nregoin = \"x\";\n", MN_ROLE_AGENT,
         "hank", MN_ECONFIG, 3, "unknown agent setting \"regoin\""},
        {"ivy.conf", "name = \"ivy\";\nregion = \"x\";\n# @KEY@\n", MN_ROLE_AGENT, "ivy",
         MN_ECONFIG, 0, "missing setting \"key\""},
        {"jack.conf", "name = \"jack\";\nkey = \"meldnet1 agent jack curve=AAA\";\n# @KEY@\n",
         MN_ROLE_AGENT, "jack", MN_EKEY, 2, ""},
        {"kim.conf", "name = \"kim\";\nkey = \"@KEY@\";\nregion = \"a\\\"b\";\n", MN_ROLE_AGENT,
         "kim", MN_ECONFIG, 3, "region"},
        {"lou.conf", "name = 5;\nkey = \"@KEY@\";\n", MN_ROLE_AGENT, "lou", MN_ECONFIG, 1,
         "name must be a string"},
        {"bad name.conf", "name = \"bad name\";\nkey = \"@KEY@\";\n", MN_ROLE_AGENT, "x",
         MN_ECONFIG, 1, "not valid"},
        {"max.conf", "name = \"max\";\nkey = = \"@KEY@\";\n", MN_ROLE_AGENT, "max", MN_ECONFIG, 2,
         "syntax error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[MN_PUBLIC_LINE_MAX], body[1024], path[256], where[300];
        gw_agent *list = NULL;
        size_t n = 0;
        mn_diag d = {0};
        home_line(cases[i].role, cases[i].line_name, line, sizeof line, NULL);
        s_subst(body, sizeof body, cases[i].body, line);
        s_agent_file(f, cases[i].file, body);
        int rc = gw_parties_load_agents(f->agents, &list, &n, &d);
        snprintf(path, sizeof path, "%s/%s", f->agents, cases[i].file);
        if (cases[i].line)
            snprintf(where, sizeof where, "%s:%d", path, cases[i].line);
        else
            snprintf(where, sizeof where, "%s", path);
        if (rc != cases[i].code || strcmp(d.where, where) != 0 || !strstr(d.what, cases[i].what))
            fail_msg("case %zu: rc %d \"%s: %s\", want rc %d \"%s: ...%s...\"", i, rc, d.where,
                     d.what, cases[i].code, where, cases[i].what);
        assert_null(list);
        assert_int_equal(n, 0);
        assert_int_equal(unlink(path), 0);
    }
}

static void test_agent_duplicate_key(void **state)
{
    struct fixture *f = *state;
    char line[MN_PUBLIC_LINE_MAX], copy[MN_PUBLIC_LINE_MAX + 8], body[1024];
    gw_agent *list = NULL;
    size_t n = 0;
    mn_diag d = {0};

    home_line(MN_ROLE_AGENT, "alice", line, sizeof line, NULL);
    snprintf(body, sizeof body, "name = \"alice\";\nkey = \"%s\";\n", line);
    s_agent_file(f, "alice.conf", body);
    /* the same keys under another name: "meldnet1 agent alice ..." -> "meldnet1 agent bob ..." */
    s_same_keys(line, "agent", "bob", copy, sizeof copy);
    snprintf(body, sizeof body, "name = \"bob\";\nkey = \"%s\";\n", copy);
    s_agent_file(f, "bob.conf", body);

    assert_int_equal(gw_parties_load_agents(f->agents, &list, &n, &d), MN_EKEY);
    assert_null(list);
    assert_non_null(strstr(d.what, "\"alice\" and \"bob\" have the same CURVE key"));
    assert_non_null(strstr(d.where, "bob.conf"));

    /* a config with that agents folder fails the same way */
    gw_config *cfg = NULL;
    home_write(f->conf, "gateway: { };\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_EKEY);
    assert_null(cfg);
}

/* --- partners ------------------------------------------------------------------------------- */

static void s_partner_file(const struct fixture *f, const char *file, const char *body)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->partners, file);
    home_write(path, body);
}

static void test_partner_kinds(void **state)
{
    (void)state;
    static const char *const names[] = {"police",  "care",    "research",
                                        "hotline", "shelter", "other"};
    for (size_t i = 0; i < 6; i++) {
        int kind = 0;
        assert_int_equal(gw_partner_kind_parse(names[i], &kind), MN_OK);
        assert_int_equal(kind, GW_PARTNER_POLICE + (int)i);
        assert_string_equal(gw_partner_kind_name(kind), names[i]);
    }
    int kind = 0;
    assert_int_equal(gw_partner_kind_parse("registry", &kind), MN_EINVAL);
    assert_int_equal(gw_partner_kind_parse("Police", &kind), MN_EINVAL);
    assert_int_equal(gw_partner_kind_parse("", &kind), MN_EINVAL);
    assert_int_equal(gw_partner_kind_parse(NULL, &kind), MN_EINVAL);
    assert_string_equal(gw_partner_kind_name(GW_PARTNER_REGISTRY), "registry");
    assert_string_equal(gw_partner_kind_name(0), "unknown");
    assert_string_equal(gw_partner_kind_name(99), "unknown");
}

static void test_partners_load_sorted(void **state)
{
    struct fixture *f = *state;
    char lp[MN_PUBLIC_LINE_MAX], lc[MN_PUBLIC_LINE_MAX], body[2048];
    mn_pubkey pp, pc;
    gw_config *cfg = NULL;
    mn_diag d = {0};

    home_line(MN_ROLE_PARTNER, "police-midden", lp, sizeof lp, &pp);
    home_line(MN_ROLE_PARTNER, "care.noord", lc, sizeof lc, &pc);
    snprintf(body, sizeof body,
             "# the police unit Midden-Nederland\n"
             "name = \"police-midden\";\n"
             "key = \"%s\";\n"
             "kind = \"police\";\n"
             "bindings = ( { topic = \"police.acute\"; sharing = \"full\"; },\n"
             "             { topic = \"hotline.*\"; sharing = \"pseudonymous\"; } );\n",
             lp);
    s_partner_file(f, "police-midden.conf", body);
    snprintf(body, sizeof body,
             "name = \"care.noord\";\nkey = \"%s\";\nkind = \"care\";\n"
             "bindings = ( { sharing = \"statistics\"; topic = \"*\"; } );\n",
             lc);
    s_partner_file(f, "care.noord.conf", body);
    s_partner_file(f, "README", "not a partner file\n");
    s_partner_file(f, ".police-midden.conf.tmp", "junk\n");
    home_write(f->conf, "gateway: { };\n");

    if (gw_config_load(f->conf, &cfg, &d) != MN_OK)
        fail_msg("%s: %s (%s)", d.where, d.what, d.hint);
    assert_int_equal(cfg->n_partners, 2);
    const gw_partner *c = &cfg->partners[0], *p = &cfg->partners[1];
    assert_string_equal(c->name, "care.noord");
    assert_int_equal(c->kind, GW_PARTNER_CARE);
    assert_int_equal(c->n_bindings, 1);
    assert_string_equal(c->bindings[0].topic, "*");
    assert_int_equal(c->bindings[0].sharing, MELDNET__SHARING_LEVEL__STATISTICS);
    assert_string_equal(p->name, "police-midden");
    assert_int_equal(p->kind, GW_PARTNER_POLICE);
    assert_int_equal(p->n_bindings, 2);
    assert_string_equal(p->bindings[0].topic, "police.acute");
    assert_int_equal(p->bindings[0].sharing, MELDNET__SHARING_LEVEL__FULL);
    assert_string_equal(p->bindings[1].topic, "hotline.*");
    assert_int_equal(p->bindings[1].sharing, MELDNET__SHARING_LEVEL__PSEUDONYMOUS);
    assert_memory_equal(p->pub.curve, pp.curve, MN_KEY_BYTES);
    assert_memory_equal(p->pub.box, pp.box, MN_KEY_BYTES);
    assert_int_equal(p->pub.role, MN_ROLE_PARTNER);
    assert_non_null(strstr(p->source, "partners/police-midden.conf"));

    assert_ptr_equal(gw_config_find_partner(cfg, "police-midden"), p);
    assert_ptr_equal(gw_config_find_partner(cfg, "care.noord"), c);
    assert_null(gw_config_find_partner(cfg, "police"));
    assert_null(gw_config_find_partner(cfg, ""));
    assert_null(gw_config_find_partner(NULL, "care.noord"));
    assert_null(gw_config_find_agent(cfg, "police-midden")); /* partners are not agents */
    gw_config_destroy(&cfg);

    gw_partner *list = NULL;
    size_t n = 0;
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[1].name, "police-midden");
    free(list);
}

struct partner_case {
    const char *file;
    const char *body; /* @KEY@ = a public line */
    mn_role role;
    const char *line_name;
    int code;
    int line; /* 0: where is the file itself */
    const char *what;
    const char *hint; /* NULL: not checked */
};

#define S_BIND "bindings = ( { topic = \"police.acute\"; sharing = \"full\"; } );\n"

static void test_partner_errors(void **state)
{
    struct fixture *f = *state;
    static const struct partner_case cases[] = {
        {"ann.conf", "name = \"bob\";\nkey = \"@KEY@\";\nkind = \"police\";\n" S_BIND,
         MN_ROLE_PARTNER, "bob", MN_ECONFIG, 1, "differs from the file name", NULL},
        {"cas.conf", "name = \"cas\";\nkey = \"@KEY@\";\nkind = \"police\";\n" S_BIND,
         MN_ROLE_PARTNER, "dirk", MN_EKEY, 2, "the key line names \"dirk\"", NULL},
        {"eva.conf", "name = \"eva\";\nkey = \"@KEY@\";\nkind = \"police\";\n" S_BIND,
         MN_ROLE_AGENT, "eva", MN_EKEY, 2, "the key is of an agent, not of a partner",
         "meldnet-partner keygen"},
        {"fay.conf", "name = \"fay\";\nkey = \"@KEY@\";\nkind = \"police\";\nbindngs = ();\n",
         MN_ROLE_PARTNER, "fay", MN_ECONFIG, 4, "unknown partner setting \"bindngs\"",
         "did you mean \"bindings\""},
        {"gus.conf", "name = \"gus\";\nkey = \"@KEY@\";\n" S_BIND, MN_ROLE_PARTNER, "gus",
         MN_ECONFIG, 0, "missing setting \"kind\"", NULL},
        {"hal.conf", "name = \"hal\";\nkey = \"@KEY@\";\nkind = \"police\";\n", MN_ROLE_PARTNER,
         "hal", MN_ECONFIG, 0, "missing setting \"bindings\"", NULL},
        {"ida.conf", "name = \"ida\";\nkey = \"@KEY@\";\n\nkind = \"polcie\";\n" S_BIND,
         MN_ROLE_PARTNER, "ida", MN_ECONFIG, 4, "kind \"polcie\" is not a partner kind",
         "did you mean \"police\""},
        {"jan.conf", "name = \"jan\";\nkey = \"@KEY@\";\nkind = \"registry\";\n" S_BIND,
         MN_ROLE_PARTNER, "jan", MN_ECONFIG, 3, "not a partner kind", NULL},
        {"kim.conf",
         "name = \"kim\";\nkey = \"@KEY@\";\nkind = \"care\";\n"
         "bindings = { topic = \"care.x\"; sharing = \"full\"; };\n",
         MN_ROLE_PARTNER, "kim", MN_ECONFIG, 4, "bindings must be a list, not a group", NULL},
        {"lex.conf", "name = \"lex\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = ( );\n",
         MN_ROLE_PARTNER, "lex", MN_ECONFIG, 4, "a partner has 1 to 16 bindings, not 0", NULL},
        {"max.conf",
         "name = \"max\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = (\n"
         "  { topic = \"care.x\"; sharing = \"full\"; },\n"
         "  { topic = \"care.y\"; sharing = \"full\"; topc = 1; } );\n",
         MN_ROLE_PARTNER, "max", MN_ECONFIG, 6, "unknown binding setting \"topc\"",
         "did you mean \"topic\""},
        {"ned.conf",
         "name = \"ned\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = (\n"
         "  { topic = \"Care.X\"; sharing = \"full\"; } );\n",
         MN_ROLE_PARTNER, "ned", MN_ECONFIG, 5, "topic \"Care.X\" is not a topic or pattern",
         "\"care.*\""},
        {"oma.conf",
         "name = \"oma\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = (\n"
         "  { topic = \"care*\"; sharing = \"full\"; } );\n",
         MN_ROLE_PARTNER, "oma", MN_ECONFIG, 5, "not a topic or pattern", NULL},
        {"pim.conf",
         "name = \"pim\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = (\n"
         "  { topic = \"care.x\";\n    sharing = \"ful\"; } );\n",
         MN_ROLE_PARTNER, "pim", MN_ECONFIG, 6, "sharing \"ful\" is not a sharing level",
         "did you mean \"full\""},
        {"rob.conf",
         "name = \"rob\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = (\n"
         "  { topic = \"care.x\"; sharing = \"full\"; },\n"
         "  { topic = \"care.x\"; sharing = \"statistics\"; } );\n",
         MN_ROLE_PARTNER, "rob", MN_ECONFIG, 6, "topic \"care.x\" is bound twice", NULL},
        {"sam.conf",
         "name = \"sam\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = (\n"
         "  { topic = \"care.x\"; } );\n",
         MN_ROLE_PARTNER, "sam", MN_ECONFIG, 5, "the binding has no sharing", NULL},
        {"tom.conf",
         "name = \"tom\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = (\n"
         "  \"care.x\" );\n",
         MN_ROLE_PARTNER, "tom", MN_ECONFIG, 5, "a binding must be a group, not a string", NULL},
        {"registry.conf", "name = \"registry\";\nkey = \"@KEY@\";\nkind = \"other\";\n" S_BIND,
         MN_ROLE_PARTNER, "registry", MN_ECONFIG, 1, "reserved for the registry", NULL},
        {"uma.conf", "name = \"uma\";\nkey = \"@KEY@\";\nkind = 3;\n" S_BIND, MN_ROLE_PARTNER,
         "uma", MN_ECONFIG, 3, "kind must be a string", NULL},
        {"vic.conf",
         "name = \"vic\";\nkey = \"@KEY@\";\nkind = \"care\";\nbindings = (\n"
         "  { topic = \"care.x\"; sharing = 1; } );\n",
         MN_ROLE_PARTNER, "vic", MN_ECONFIG, 5, "sharing must be a string", NULL},
        {"wim.conf", "name = \"wim\";\nkey = = \"@KEY@\";\n", MN_ROLE_PARTNER, "wim", MN_ECONFIG, 2,
         "syntax error", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[MN_PUBLIC_LINE_MAX], body[2048], path[256], where[300];
        gw_partner *list = NULL;
        size_t n = 0;
        mn_diag d = {0};
        home_line(cases[i].role, cases[i].line_name, line, sizeof line, NULL);
        s_subst(body, sizeof body, cases[i].body, line);
        s_partner_file(f, cases[i].file, body);
        int rc = gw_parties_load_partners(f->partners, &list, &n, &d);
        snprintf(path, sizeof path, "%s/%s", f->partners, cases[i].file);
        if (cases[i].line)
            snprintf(where, sizeof where, "%s:%d", path, cases[i].line);
        else
            snprintf(where, sizeof where, "%s", path);
        if (rc != cases[i].code || strcmp(d.where, where) != 0 || !strstr(d.what, cases[i].what))
            fail_msg("case %zu: rc %d \"%s: %s\", want rc %d \"%s: ...%s...\"", i, rc, d.where,
                     d.what, cases[i].code, where, cases[i].what);
        if (cases[i].hint && !strstr(d.hint, cases[i].hint))
            fail_msg("case %zu: hint \"%s\" lacks \"%s\"", i, d.hint, cases[i].hint);
        assert_null(list);
        assert_int_equal(n, 0);
        assert_int_equal(unlink(path), 0);
    }

    /* 17 bindings are too many */
    char line[MN_PUBLIC_LINE_MAX], body[4096];
    size_t o;
    home_line(MN_ROLE_PARTNER, "many", line, sizeof line, NULL);
    o = (size_t)snprintf(body, sizeof body,
                         "name = \"many\";\nkey = \"%s\";\nkind = \"other\";\n"
                         "bindings = (",
                         line);
    for (int i = 0; i < 17; i++)
        o += (size_t)snprintf(body + o, sizeof body - o,
                              "%s{ topic = \"t%d\"; sharing = "
                              "\"full\"; }",
                              i ? ", " : "", i);
    snprintf(body + o, sizeof body - o, ");\n");
    s_partner_file(f, "many.conf", body);
    gw_partner *list = NULL;
    size_t n = 0;
    mn_diag d = {0};
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_ECONFIG);
    assert_non_null(strstr(d.what, "1 to 16 bindings, not 17"));
    assert_null(list);
}

static void test_partner_duplicate_keys(void **state)
{
    struct fixture *f = *state;
    char line[MN_PUBLIC_LINE_MAX], copy[MN_PUBLIC_LINE_MAX + 16], body[2048];
    gw_partner *list = NULL;
    size_t n = 0;
    mn_diag d = {0};
    gw_config *cfg = NULL;

    /* two partners with one key */
    home_line(MN_ROLE_PARTNER, "zorg-a", line, sizeof line, NULL);
    snprintf(body, sizeof body, "name = \"zorg-a\";\nkey = \"%s\";\nkind = \"care\";\n" S_BIND,
             line);
    s_partner_file(f, "zorg-a.conf", body);
    s_same_keys(line, "partner", "zorg-b", copy, sizeof copy);
    snprintf(body, sizeof body, "name = \"zorg-b\";\nkey = \"%s\";\nkind = \"care\";\n" S_BIND,
             copy);
    s_partner_file(f, "zorg-b.conf", body);
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_EKEY);
    assert_null(list);
    assert_non_null(strstr(d.what, "partners \"zorg-a\" and \"zorg-b\" have the same CURVE key"));
    assert_non_null(strstr(d.where, "zorg-b.conf"));
    assert_non_null(strstr(d.hint, "meldnet-partner keygen"));
    home_write(f->conf, "gateway: { };\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_EKEY);
    assert_null(cfg);

    /* a partner with an agent's key: each alone loads, the configuration does not */
    snprintf(body, sizeof body, "%s/zorg-b.conf", f->partners);
    assert_int_equal(unlink(body), 0);
    s_same_keys(line, "agent", "wijkteam", copy, sizeof copy);
    snprintf(body, sizeof body, "name = \"wijkteam\";\nkey = \"%s\";\n", copy);
    s_agent_file(f, "wijkteam.conf", body);
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_OK);
    free(list);
    gw_agent *agents = NULL;
    assert_int_equal(gw_parties_load_agents(f->agents, &agents, &n, &d), MN_OK);
    free(agents);
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_EKEY);
    assert_null(cfg);
    assert_non_null(strstr(d.what, "partner \"zorg-a\" has the CURVE key of agent \"wijkteam\""));
    assert_non_null(strstr(d.where, "zorg-a.conf"));
}

/* --- revocation ----------------------------------------------------------------------------- */

static void test_revoked_parties_load(void **state)
{
    struct fixture *f = *state;
    char la[MN_PUBLIC_LINE_MAX], lb[MN_PUBLIC_LINE_MAX], lp[MN_PUBLIC_LINE_MAX], body[2048];
    mn_pubkey pa, pb, pp;
    gw_config *cfg = NULL;
    mn_diag d = {0};

    home_line(MN_ROLE_AGENT, "district-utrecht", la, sizeof la, &pa);
    home_line(MN_ROLE_AGENT, "zeeland-hotline", lb, sizeof lb, &pb);
    home_line(MN_ROLE_PARTNER, "police-midden", lp, sizeof lp, &pp);
    snprintf(body, sizeof body,
             "name = \"district-utrecht\";\nkey = \"%s\";\n"
             "region = \"Midden-Nederland\";\nrevoked = true;\n"
             "revoked_at = \"2026-11-22T10:00:00Z\";\n",
             la);
    s_agent_file(f, "district-utrecht.conf", body);
    snprintf(body, sizeof body, "name = \"zeeland-hotline\";\nkey = \"%s\";\nrevoked = false;\n",
             lb);
    s_agent_file(f, "zeeland-hotline.conf", body);
    snprintf(body, sizeof body,
             "name = \"police-midden\";\nkey = \"%s\";\nkind = \"police\";\n" S_BIND
             "revoked = true;\n",
             lp);
    s_partner_file(f, "police-midden.conf", body);
    home_write(f->conf, "gateway: { };\n");

    if (gw_config_load(f->conf, &cfg, &d) != MN_OK)
        fail_msg("%s: %s (%s)", d.where, d.what, d.hint);
    /* kept in the tables, marked */
    assert_int_equal(cfg->n_agents, 2);
    const gw_agent *a = &cfg->agents[0];
    assert_string_equal(a->name, "district-utrecht");
    assert_string_equal(a->region, "Midden-Nederland");
    assert_int_equal(a->revoked, 1);
    assert_string_equal(a->revoked_at, "2026-11-22T10:00:00Z");
    assert_memory_equal(a->pub.curve, pa.curve, MN_KEY_BYTES);
    assert_int_equal(cfg->agents[1].revoked, 0);
    assert_string_equal(cfg->agents[1].revoked_at, "");
    assert_int_equal(cfg->n_partners, 1);
    assert_int_equal(cfg->partners[0].revoked, 1);
    assert_string_equal(cfg->partners[0].revoked_at, "");

    /* the lookups that admit do not find them; the _any ones do */
    assert_null(gw_config_find_agent(cfg, "district-utrecht"));
    assert_null(gw_config_find_agent_by_curve(cfg, pa.curve));
    assert_ptr_equal(gw_config_find_agent_any(cfg, "district-utrecht"), a);
    assert_ptr_equal(gw_config_find_agent_by_curve_any(cfg, pa.curve), a);
    assert_ptr_equal(gw_config_find_agent(cfg, "zeeland-hotline"), &cfg->agents[1]);
    assert_ptr_equal(gw_config_find_agent_by_curve(cfg, pb.curve), &cfg->agents[1]);
    assert_null(gw_config_find_partner(cfg, "police-midden"));
    assert_ptr_equal(gw_config_find_partner_any(cfg, "police-midden"), &cfg->partners[0]);
    assert_ptr_equal(gw_config_find_partner_by_curve_any(cfg, pp.curve), &cfg->partners[0]);
    assert_null(gw_config_find_partner_by_curve_any(cfg, pa.curve));
    assert_null(gw_config_find_agent_any(NULL, "district-utrecht"));
    assert_null(gw_config_find_partner_any(cfg, "nobody"));
    gw_config_destroy(&cfg);

    /* the folder loaders keep them too */
    gw_agent *agents = NULL;
    size_t n = 0;
    assert_int_equal(gw_parties_load_agents(f->agents, &agents, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_int_equal(agents[0].revoked, 1);
    free(agents);
}

static void test_revoked_setting_errors(void **state)
{
    struct fixture *f = *state;
    static const struct agent_case cases[] = {
        {"ann.conf", "name = \"ann\";\nkey = \"@KEY@\";\nrevoked = \"yes\";\n", MN_ROLE_AGENT,
         "ann", MN_ECONFIG, 3, "revoked must be true or false, not a string"},
        {"bea.conf", "name = \"bea\";\nkey = \"@KEY@\";\nrevoked = 1;\n", MN_ROLE_AGENT, "bea",
         MN_ECONFIG, 3, "revoked must be true or false"},
        {"cor.conf",
         "name = \"cor\";\nkey = \"@KEY@\";\nrevoked = true;\n"
         "revoked_at = \"2026-11-22\";\n",
         MN_ROLE_AGENT, "cor", MN_ECONFIG, 4, "revoked_at \"2026-11-22\" is not a UTC time"},
        {"dik.conf",
         "name = \"dik\";\nkey = \"@KEY@\";\n"
         "revoked_at = \"2026-11-22T10:00:00Z\";\n",
         MN_ROLE_AGENT, "dik", MN_ECONFIG, 3, "revoked_at without revoked = true"},
        {"eef.conf",
         "name = \"eef\";\nkey = \"@KEY@\";\nrevoked = false;\n"
         "revoked_at = \"2026-11-22T10:00:00Z\";\n",
         MN_ROLE_AGENT, "eef", MN_ECONFIG, 4, "revoked_at without revoked = true"},
        {"fem.conf", "name = \"fem\";\nkey = \"@KEY@\";\nrevokd = true;\n", MN_ROLE_AGENT, "fem",
         MN_ECONFIG, 3, "unknown agent setting \"revokd\""},
        {"gijs.conf",
         "name = \"gijs\";\nkey = \"@KEY@\";\nrevoked = true;\n"
         "revoked_at = 5;\n",
         MN_ROLE_AGENT, "gijs", MN_ECONFIG, 4, "revoked_at must be a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[MN_PUBLIC_LINE_MAX], body[1024], path[256], where[300];
        gw_agent *list = NULL;
        size_t n = 0;
        mn_diag d = {0};
        home_line(cases[i].role, cases[i].line_name, line, sizeof line, NULL);
        s_subst(body, sizeof body, cases[i].body, line);
        s_agent_file(f, cases[i].file, body);
        int rc = gw_parties_load_agents(f->agents, &list, &n, &d);
        snprintf(path, sizeof path, "%s/%s", f->agents, cases[i].file);
        snprintf(where, sizeof where, "%s:%d", path, cases[i].line);
        if (rc != cases[i].code || strcmp(d.where, where) != 0 || !strstr(d.what, cases[i].what))
            fail_msg("case %zu: rc %d \"%s: %s\", want rc %d \"%s: ...%s...\"", i, rc, d.where,
                     d.what, cases[i].code, where, cases[i].what);
        assert_null(list);
        assert_int_equal(unlink(path), 0);
    }

    /* the same checks in a partner file */
    char line[MN_PUBLIC_LINE_MAX], body[2048];
    gw_partner *list = NULL;
    size_t n = 0;
    mn_diag d = {0};
    home_line(MN_ROLE_PARTNER, "zorg", line, sizeof line, NULL);
    snprintf(body, sizeof body,
             "name = \"zorg\";\nkey = \"%s\";\nkind = \"care\";\n" S_BIND
             "revoked = true;\nrevoked_at = \"2026-13-22T10:00:00Z\";\n",
             line);
    s_partner_file(f, "zorg.conf", body);
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_ECONFIG);
    assert_non_null(strstr(d.what, "is not a UTC time"));
    assert_non_null(strstr(d.where, "zorg.conf:6"));
    assert_null(list);

    assert_true(gw_parties_time_is_valid("2026-11-22T10:00:00Z"));
    assert_true(gw_parties_time_is_valid("1999-01-01T00:00:00Z"));
    assert_false(gw_parties_time_is_valid("2026-11-22T10:00:00"));
    assert_false(gw_parties_time_is_valid("2026-11-22 10:00:00Z"));
    assert_false(gw_parties_time_is_valid("2026-00-22T10:00:00Z"));
    assert_false(gw_parties_time_is_valid("2026-11-22T24:00:00Z"));
    assert_false(gw_parties_time_is_valid("2026-11-22T10:00:00.000Z"));
    assert_false(gw_parties_time_is_valid(""));
    assert_false(gw_parties_time_is_valid(NULL));
}

static void test_revoked_key_still_conflicts(void **state)
{
    struct fixture *f = *state;
    char line[MN_PUBLIC_LINE_MAX], copy[MN_PUBLIC_LINE_MAX + 16], body[2048];
    gw_agent *list = NULL;
    size_t n = 0;
    mn_diag d = {0};
    gw_config *cfg = NULL;

    /* alice is revoked; bob comes with alice's keys */
    home_line(MN_ROLE_AGENT, "alice", line, sizeof line, NULL);
    snprintf(body, sizeof body, "name = \"alice\";\nkey = \"%s\";\nrevoked = true;\n", line);
    s_agent_file(f, "alice.conf", body);
    s_same_keys(line, "agent", "bob", copy, sizeof copy);
    snprintf(body, sizeof body, "name = \"bob\";\nkey = \"%s\";\n", copy);
    s_agent_file(f, "bob.conf", body);
    assert_int_equal(gw_parties_load_agents(f->agents, &list, &n, &d), MN_EKEY);
    assert_null(list);
    assert_non_null(strstr(d.what, "\"alice\" and \"bob\" have the same CURVE key"));
    assert_non_null(strstr(d.what, "agent \"alice\" is revoked"));
    home_write(f->conf, "gateway: { };\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_EKEY);
    assert_null(cfg);

    /* nor as a partner */
    snprintf(body, sizeof body, "%s/bob.conf", f->agents);
    assert_int_equal(unlink(body), 0);
    s_same_keys(line, "partner", "bob", copy, sizeof copy);
    snprintf(body, sizeof body, "name = \"bob\";\nkey = \"%s\";\nkind = \"care\";\n" S_BIND, copy);
    s_partner_file(f, "bob.conf", body);
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_EKEY);
    assert_null(cfg);
    assert_non_null(strstr(d.what, "partner \"bob\" has the CURVE key of agent \"alice\""));
    assert_non_null(strstr(d.what, "revoked"));

    /* without bob the configuration loads, and the key's owner is found by the _any lookup */
    snprintf(body, sizeof body, "%s/bob.conf", f->partners);
    assert_int_equal(unlink(body), 0);
    if (gw_config_load(f->conf, &cfg, &d) != MN_OK)
        fail_msg("%s: %s (%s)", d.where, d.what, d.hint);
    assert_non_null(gw_config_find_agent_by_curve_any(cfg, cfg->agents[0].pub.curve));
    assert_null(gw_config_find_agent_by_curve(cfg, cfg->agents[0].pub.curve));
    gw_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_agents_load_sorted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_duplicate_key, s_setup, s_teardown),
        cmocka_unit_test(test_partner_kinds),
        cmocka_unit_test_setup_teardown(test_partners_load_sorted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_duplicate_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_parties_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_setting_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key_still_conflicts, s_setup, s_teardown),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    return cmocka_run_group_tests_name("gw_parties", tests, NULL, NULL);
}
