/* test_gw_party_file - writing, rewriting and revoking agent and partner files.
 *
 * What is written loads again (gw_parties) with every field kept; a file is never overwritten
 * by an add; revoke/rewrite round trips keep every field.
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

#include "gw_home_fixture.h"
#include "gw_parties.h"
#include "gw_party_file.h"
#include "mn_delivery.h"
#include "mn_key.h"
#include "mn_referral.h"

static int s_setup(void **state)
{
    return home_setup(state, "test_gw_party_file");
}

static int s_teardown(void **state)
{
    return home_teardown(state);
}

static void test_write_agent_then_load(void **state)
{
    struct fixture *f = *state;
    char line[MN_PUBLIC_LINE_MAX];
    mn_pubkey pa, pb, partner;
    gw_agent *list = NULL;
    size_t n = 0;
    mn_diag d = {0};
    struct stat st;
    char path[256];

    home_line(MN_ROLE_AGENT, "hotline-oost", line, sizeof line, &pa);
    home_line(MN_ROLE_AGENT, "fryslan", line, sizeof line, &pb);
    home_line(MN_ROLE_PARTNER, "police", line, sizeof line, &partner);

    assert_int_equal(gw_party_file_write_agent(f->agents, "hotline-oost", "Oost-Nederland", &pa,
                                               &d),
                     MN_OK);
    assert_int_equal(gw_party_file_write_agent(f->agents, "fryslan", "Fryslân", &pb, &d), MN_OK);
    snprintf(path, sizeof path, "%s/hotline-oost.conf", f->agents);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));

    assert_int_equal(gw_parties_load_agents(f->agents, &list, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "fryslan");
    assert_string_equal(list[0].region, "Fryslân");
    assert_string_equal(list[1].name, "hotline-oost");
    assert_string_equal(list[1].region, "Oost-Nederland");
    assert_memory_equal(list[1].pub.curve, pa.curve, MN_KEY_BYTES);
    assert_memory_equal(list[1].pub.box, pa.box, MN_KEY_BYTES);
    assert_int_equal(list[1].pub.role, MN_ROLE_AGENT);
    free(list);

    /* never overwritten */
    assert_int_equal(gw_party_file_write_agent(f->agents, "hotline-oost", "x", &pa, &d), MN_EEXIST);
    assert_non_null(strstr(d.what, "exists already"));
    /* refused input */
    assert_int_equal(gw_party_file_write_agent(f->agents, "hotline-oost", "a\"b", &pa, &d),
                     MN_EINVAL);
    assert_int_equal(gw_party_file_write_agent(f->agents, "bad/name", NULL, &pa, &d), MN_EINVAL);
    assert_int_equal(gw_party_file_write_agent(f->agents, "other", NULL, &pa, &d), MN_EINVAL);
    assert_int_equal(gw_party_file_write_agent(f->agents, "police", NULL, &partner, &d), MN_EINVAL);
    char missing[256];
    snprintf(missing, sizeof missing, "%s/none", f->root);
    mn_pubkey pc;
    home_line(MN_ROLE_AGENT, "new", line, sizeof line, &pc);
    assert_int_equal(gw_party_file_write_agent(missing, "new", NULL, &pc, &d), MN_ESYS);

    /* no region: "unknown" */
    assert_int_equal(gw_party_file_write_agent(f->agents, "new", NULL, &pc, &d), MN_OK);
    assert_int_equal(gw_parties_load_agents(f->agents, &list, &n, &d), MN_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[2].name, "new");
    assert_string_equal(list[2].region, "unknown");
    free(list);
}

static void test_write_partner_then_load(void **state)
{
    struct fixture *f = *state;
    char line[MN_PUBLIC_LINE_MAX];
    gw_partner p, bad;
    gw_partner *list = NULL;
    size_t n = 0;
    mn_diag d = {0};
    struct stat st;
    char path[256];

    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "onderzoek-ict");
    home_line(MN_ROLE_PARTNER, "onderzoek-ict", line, sizeof line, &p.pub);
    p.kind = GW_PARTNER_RESEARCH;
    static const char *const topics[] = {"research.online", "police.*", "*"};
    static const int levels[] = {MELDNET__SHARING_LEVEL__PSEUDONYMOUS, MELDNET__SHARING_LEVEL__FULL,
                                 MELDNET__SHARING_LEVEL__STATISTICS};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p.bindings[i].topic, sizeof p.bindings[i].topic, "%s", topics[i]);
        p.bindings[i].sharing = levels[i];
    }
    p.n_bindings = 3;
    assert_int_equal(gw_party_file_write_partner(f->partners, &p, &d), MN_OK);
    snprintf(path, sizeof path, "%s/onderzoek-ict.conf", f->partners);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));

    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "onderzoek-ict");
    assert_int_equal(list[0].kind, GW_PARTNER_RESEARCH);
    assert_memory_equal(list[0].pub.curve, p.pub.curve, MN_KEY_BYTES);
    assert_int_equal(list[0].n_bindings, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(list[0].bindings[i].topic, topics[i]);
        assert_int_equal(list[0].bindings[i].sharing, levels[i]);
    }
    free(list);

    /* never overwritten */
    assert_int_equal(gw_party_file_write_partner(f->partners, &p, &d), MN_EEXIST);
    assert_non_null(strstr(d.what, "partner \"onderzoek-ict\" exists already"));

    /* refused input */
    bad = p;
    snprintf(bad.name, sizeof bad.name, "other"); /* the key names onderzoek-ict */
    assert_int_equal(gw_party_file_write_partner(f->partners, &bad, &d), MN_EINVAL);
    bad = p;
    snprintf(bad.name, sizeof bad.name, "registry");
    assert_int_equal(gw_party_file_write_partner(f->partners, &bad, &d), MN_EINVAL);
    assert_non_null(strstr(d.what, "reserved"));
    bad = p;
    bad.kind = GW_PARTNER_REGISTRY;
    assert_int_equal(gw_party_file_write_partner(f->partners, &bad, &d), MN_EINVAL);
    bad = p;
    bad.n_bindings = 0;
    assert_int_equal(gw_party_file_write_partner(f->partners, &bad, &d), MN_EINVAL);
    bad = p;
    snprintf(bad.bindings[1].topic, sizeof bad.bindings[1].topic, "police*");
    assert_int_equal(gw_party_file_write_partner(f->partners, &bad, &d), MN_EINVAL);
    bad = p;
    bad.bindings[0].sharing = 0;
    assert_int_equal(gw_party_file_write_partner(f->partners, &bad, &d), MN_EINVAL);
    bad = p;
    snprintf(bad.bindings[2].topic, sizeof bad.bindings[2].topic, "police.*");
    assert_int_equal(gw_party_file_write_partner(f->partners, &bad, &d), MN_EINVAL);
    assert_non_null(strstr(d.what, "bound twice"));
    bad = p;
    home_line(MN_ROLE_AGENT, "onderzoek-ict", line, sizeof line, &bad.pub);
    assert_int_equal(gw_party_file_write_partner(f->partners, &bad, &d), MN_EINVAL);
    char missing[256];
    snprintf(missing, sizeof missing, "%s/none", f->root);
    bad = p;
    assert_int_equal(gw_party_file_write_partner(missing, &bad, &d), MN_ESYS);
    assert_non_null(strstr(d.hint, "partners_dir"));

    /* sixteen bindings, the longest topics: the file still fits and loads */
    gw_partner big;
    memset(&big, 0, sizeof big);
    snprintf(big.name, sizeof big.name, "big");
    home_line(MN_ROLE_PARTNER, "big", line, sizeof line, &big.pub);
    big.kind = GW_PARTNER_OTHER;
    for (size_t i = 0; i < GW_BINDINGS_MAX; i++) {
        memset(big.bindings[i].topic, 'a' + (int)i, MN_TOPIC_MAX);
        big.bindings[i].topic[MN_TOPIC_MAX] = '\0';
        big.bindings[i].sharing = MELDNET__SHARING_LEVEL__PSEUDONYMOUS;
    }
    big.n_bindings = GW_BINDINGS_MAX;
    assert_int_equal(gw_party_file_write_partner(f->partners, &big, &d), MN_OK);
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "big");
    assert_int_equal(list[0].n_bindings, GW_BINDINGS_MAX);
    assert_int_equal(strlen(list[0].bindings[15].topic), MN_TOPIC_MAX);
    free(list);
}

static void test_revoke_agent_round_trip(void **state)
{
    struct fixture *f = *state;
    char line[MN_PUBLIC_LINE_MAX], path[256];
    mn_pubkey pa, pnew;
    gw_agent *list = NULL, got;
    size_t n = 0;
    mn_diag d = {0};

    home_line(MN_ROLE_AGENT, "hotline-oost", line, sizeof line, &pa);
    assert_int_equal(gw_party_file_write_agent(f->agents, "hotline-oost", "Oost-Nederland", &pa,
                                               &d),
                     MN_OK);

    /* revoke: the same file with revoked = true, name, region and key kept */
    assert_int_equal(gw_party_file_revoke_agent(f->agents, "hotline-oost", "2026-11-22T10:00:00Z",
                                                &got, &d),
                     MN_OK);
    assert_int_equal(got.revoked, 1);
    assert_string_equal(got.revoked_at, "2026-11-22T10:00:00Z");
    snprintf(path, sizeof path, "%s/hotline-oost.conf", f->agents);
    char *text = home_read(path);
    assert_non_null(strstr(text, "\nrevoked = true;\n"));
    assert_non_null(strstr(text, "\nrevoked_at = \"2026-11-22T10:00:00Z\";\n"));
    assert_non_null(strstr(text, "\nregion = \"Oost-Nederland\";\n"));
    free(text);
    assert_int_equal(gw_parties_load_agents(f->agents, &list, &n, &d), MN_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "hotline-oost");
    assert_string_equal(list[0].region, "Oost-Nederland");
    assert_int_equal(list[0].revoked, 1);
    assert_string_equal(list[0].revoked_at, "2026-11-22T10:00:00Z");
    assert_memory_equal(list[0].pub.curve, pa.curve, MN_KEY_BYTES);
    assert_memory_equal(list[0].pub.sign, pa.sign, MN_KEY_BYTES);
    assert_memory_equal(list[0].pub.box, pa.box, MN_KEY_BYTES);
    gw_agent revoked = list[0];
    free(list);

    /* twice: nothing written, said so */
    assert_int_equal(gw_party_file_revoke_agent(f->agents, "hotline-oost", NULL, &got, &d),
                     MN_EEXIST);
    assert_non_null(strstr(d.what, "revoked already (since 2026-11-22T10:00:00Z)"));
    assert_string_equal(got.revoked_at, "2026-11-22T10:00:00Z");
    /* unknown, bad input */
    assert_int_equal(gw_party_file_revoke_agent(f->agents, "nobody", NULL, NULL, &d), MN_ENOTFOUND);
    assert_non_null(strstr(d.hint, "meldnetctl agent list"));
    assert_int_equal(gw_party_file_revoke_agent(f->agents, "../x", NULL, NULL, &d), MN_EINVAL);
    assert_int_equal(gw_party_file_revoke_agent(f->agents, "hotline-oost", "yesterday", NULL, &d),
                     MN_EINVAL);

    /* back with a new key: rewritten without revoked */
    home_line(MN_ROLE_AGENT, "hotline-oost", line, sizeof line, &pnew);
    gw_agent back = revoked;
    back.pub = pnew;
    back.revoked = 0;
    back.revoked_at[0] = '\0';
    assert_int_equal(gw_party_file_rewrite_agent(f->agents, &back, &d), MN_OK);
    text = home_read(path);
    assert_null(strstr(text, "revoked"));
    free(text);
    assert_int_equal(gw_parties_load_agents(f->agents, &list, &n, &d), MN_OK);
    assert_int_equal(list[0].revoked, 0);
    assert_string_equal(list[0].revoked_at, "");
    assert_string_equal(list[0].region, "Oost-Nederland");
    assert_memory_equal(list[0].pub.curve, pnew.curve, MN_KEY_BYTES);
    free(list);

    /* revoked now (no time given): a valid time is written */
    assert_int_equal(gw_party_file_revoke_agent(f->agents, "hotline-oost", NULL, &got, &d), MN_OK);
    assert_true(gw_parties_time_is_valid(got.revoked_at));
    /* a rewrite may also create a file, and refuses what a write refuses */
    back = revoked;
    assert_int_equal(gw_party_file_rewrite_agent(f->agents, &back, &d), MN_OK);
    snprintf(back.region, sizeof back.region, "a\"b");
    assert_int_equal(gw_party_file_rewrite_agent(f->agents, &back, &d), MN_EINVAL);
    back = revoked;
    snprintf(back.revoked_at, sizeof back.revoked_at, "2026-11-22");
    assert_int_equal(gw_party_file_rewrite_agent(f->agents, &back, &d), MN_EINVAL);
    back = revoked;
    snprintf(back.name, sizeof back.name, "other");
    assert_int_equal(gw_party_file_rewrite_agent(f->agents, &back, &d), MN_EINVAL);
}

static void test_revoke_partner_round_trip(void **state)
{
    struct fixture *f = *state;
    char line[MN_PUBLIC_LINE_MAX];
    gw_partner p;
    gw_partner *list = NULL, *got = calloc(1, sizeof *got);
    size_t n = 0;
    mn_diag d = {0};

    assert_non_null(got);
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "care.noord");
    home_line(MN_ROLE_PARTNER, "care.noord", line, sizeof line, &p.pub);
    p.kind = GW_PARTNER_CARE;
    snprintf(p.bindings[0].topic, sizeof p.bindings[0].topic, "care.*");
    p.bindings[0].sharing = MELDNET__SHARING_LEVEL__FULL;
    snprintf(p.bindings[1].topic, sizeof p.bindings[1].topic, "shelter.coordination");
    p.bindings[1].sharing = MELDNET__SHARING_LEVEL__PSEUDONYMOUS;
    p.n_bindings = 2;
    p.revoked = 1; /* a new partner is never written revoked */
    assert_int_equal(gw_party_file_write_partner(f->partners, &p, &d), MN_OK);
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_OK);
    assert_int_equal(list[0].revoked, 0);
    free(list);

    assert_int_equal(gw_party_file_revoke_partner(f->partners, "care.noord", "2026-11-22T10:00:00Z",
                                                  got, &d),
                     MN_OK);
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].revoked, 1);
    assert_string_equal(list[0].revoked_at, "2026-11-22T10:00:00Z");
    assert_int_equal(list[0].kind, GW_PARTNER_CARE);
    assert_int_equal(list[0].n_bindings, 2);
    assert_string_equal(list[0].bindings[0].topic, "care.*");
    assert_int_equal(list[0].bindings[0].sharing, MELDNET__SHARING_LEVEL__FULL);
    assert_string_equal(list[0].bindings[1].topic, "shelter.coordination");
    assert_int_equal(list[0].bindings[1].sharing, MELDNET__SHARING_LEVEL__PSEUDONYMOUS);
    assert_memory_equal(list[0].pub.curve, p.pub.curve, MN_KEY_BYTES);

    assert_int_equal(gw_party_file_revoke_partner(f->partners, "care.noord", NULL, got, &d),
                     MN_EEXIST);
    assert_int_equal(got->revoked, 1);
    assert_int_equal(gw_party_file_revoke_partner(f->partners, "nobody", NULL, NULL, &d),
                     MN_ENOTFOUND);
    assert_non_null(strstr(d.hint, "meldnetctl partner list"));

    /* back, the same key and bindings */
    list[0].revoked = 0;
    list[0].revoked_at[0] = '\0';
    assert_int_equal(gw_party_file_rewrite_partner(f->partners, &list[0], &d), MN_OK);
    free(list);
    assert_int_equal(gw_parties_load_partners(f->partners, &list, &n, &d), MN_OK);
    assert_int_equal(list[0].revoked, 0);
    assert_int_equal(list[0].n_bindings, 2);
    free(list);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_agent_then_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_write_partner_then_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoke_agent_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoke_partner_round_trip, s_setup, s_teardown),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    return cmocka_run_group_tests_name("gw_party_file", tests, NULL, NULL);
}
