/* test_mn_home.c - unit tests for mn_home: which folder, a new home made (and refused when
 * taken or given the wrong gateway line), its keys loaded back and checked.
 *
 * Each test gets its own mkdtemp directory holding a gateway's and a partner's public lines.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
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

#include "mn_home.h"

typedef struct fixture {
    char dir[64];
    char gateway_pub[128]; /* a gateway's public line */
    char partner_pub[128]; /* a partner's: not a gateway's */
    char home[128];
} fixture;

static int s_save_pub(mn_role role, const char *name, const char *path)
{
    mn_key *k = NULL;
    mn_diag d;
    int rc = mn_key_generate(role, name, &k, &d);
    if (rc == MN_OK)
        rc = mn_pubkey_save(mn_key_public(k), path, &d);
    mn_key_destroy(&k);
    return rc;
}

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || mn_crypto_init() != MN_OK)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_mn_home.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->gateway_pub, sizeof f->gateway_pub, "%s/gateway.pub", f->dir);
    snprintf(f->partner_pub, sizeof f->partner_pub, "%s/partner.pub", f->dir);
    snprintf(f->home, sizeof f->home, "%s/home", f->dir);
    if (s_save_pub(MN_ROLE_GATEWAY, "gateway", f->gateway_pub) != MN_OK ||
        s_save_pub(MN_ROLE_PARTNER, "p", f->partner_pub) != MN_OK)
        return -1;
    *state = f;
    return 0;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void test_dir(void **state)
{
    (void)state;
    assert_string_equal(mn_home_dir("/x", "MELDNET_TEST_HOME", "./d"), "/x");
    setenv("MELDNET_TEST_HOME", "/from-env", 1);
    assert_string_equal(mn_home_dir(NULL, "MELDNET_TEST_HOME", "./d"), "/from-env");
    setenv("MELDNET_TEST_HOME", "", 1);
    assert_string_equal(mn_home_dir(NULL, "MELDNET_TEST_HOME", "./d"), "./d");
    unsetenv("MELDNET_TEST_HOME");
    assert_string_equal(mn_home_dir(NULL, "MELDNET_TEST_HOME", "./d"), "./d");
    assert_string_equal(mn_home_dir(NULL, NULL, NULL), ".");
}

static void test_join(void **state)
{
    (void)state;
    char out[MN_CONF_PATH_MAX];
    char dir[MN_CONF_PATH_MAX];
    mn_diag d = {0};
    assert_int_equal(mn_home_join(out, "/a", "b", &d), MN_OK);
    assert_string_equal(out, "/a/b");
    memset(dir, 'x', sizeof dir - 2);
    dir[sizeof dir - 2] = '\0';
    assert_int_equal(mn_home_join(out, dir, "b", &d), MN_EINVAL);
    assert_non_null(strstr(d.what, "too long"));
}

static void test_create_then_load(void **state)
{
    fixture *f = *state;
    mn_home_files files;
    mn_key *key = NULL, *loaded = NULL;
    mn_pubkey gw;
    mn_diag d = {0};
    struct stat st;

    assert_int_equal(mn_home_create(f->home, MN_ROLE_AGENT, "hotline-1", "agent.conf",
                                    f->gateway_pub, 0, "taken", &files, &key, &d),
                     MN_OK);
    assert_int_equal(mn_key_public(key)->role, MN_ROLE_AGENT);
    assert_string_equal(mn_key_public(key)->name, "hotline-1");
    assert_int_equal(stat(f->home, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(files.keys, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(files.key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_non_null(strstr(files.key, "/keys/agent.key"));
    assert_non_null(strstr(files.pub, "/keys/agent.pub"));
    assert_int_equal(stat(files.pub, &st), 0);
    assert_int_equal(stat(files.gateway, &st), 0);

    assert_int_equal(mn_home_load_keys(files.key, files.gateway, MN_ROLE_AGENT, "hotline-1",
                                       "agent.conf", &loaded, &gw, &d),
                     MN_OK);
    assert_int_equal(gw.role, MN_ROLE_GATEWAY);
    assert_memory_equal(mn_key_public(loaded)->curve, mn_key_public(key)->curve, MN_KEY_BYTES);
    mn_key_destroy(&loaded);

    /* The configuration names another party, or another role. */
    memset(&d, 0, sizeof d);
    assert_int_equal(mn_home_load_keys(files.key, files.gateway, MN_ROLE_AGENT, "other",
                                       "agent.conf", &loaded, &gw, &d),
                     MN_EKEY);
    assert_string_equal(d.what, "this is the identity of agent \"hotline-1\", agent.conf names "
                                "agent \"other\"");
    assert_non_null(strstr(d.hint, "point 'identity' in agent.conf at this agent's own key"));
    mn_key_destroy(&loaded);
    assert_int_equal(mn_home_load_keys(files.key, files.gateway, MN_ROLE_PARTNER, "hotline-1",
                                       "partner.conf", &loaded, &gw, &d),
                     MN_EKEY);
    mn_key_destroy(&loaded);

    /* gateway_key that is not the gateway's line */
    memset(&d, 0, sizeof d);
    assert_int_equal(mn_home_load_keys(files.key, f->partner_pub, MN_ROLE_AGENT, "hotline-1",
                                       "agent.conf", &loaded, &gw, &d),
                     MN_EKEY);
    assert_string_equal(d.what, "this is the public line of a partner, not of a gateway");
    assert_non_null(strstr(d.hint, "copy keys/gateway.pub"));
    mn_key_destroy(&loaded);

    /* Taken: never over an existing identity. */
    mn_key_destroy(&key);
    memset(&d, 0, sizeof d);
    assert_int_equal(mn_home_create(f->home, MN_ROLE_AGENT, "hotline-2", "agent.conf",
                                    f->gateway_pub, 0, "the taken hint", &files, &key, &d),
                     MN_EEXIST);
    assert_null(key);
    assert_string_equal(d.what, "this home has an agent already");
    assert_string_equal(d.hint, "the taken hint");
}

static void test_create_refusals(void **state)
{
    fixture *f = *state;
    mn_home_files files;
    mn_key *key = NULL;
    mn_diag d = {0};
    char deep[160];
    struct stat st;

    assert_int_equal(mn_home_create(f->home, MN_ROLE_PARTNER, "p", "partner.conf", f->partner_pub,
                                    0, NULL, &files, &key, &d),
                     MN_EKEY);
    assert_string_equal(d.what, "this is the public line of a partner, not of a gateway");
    assert_non_null(strstr(d.hint, "use keys/gateway.pub"));
    assert_int_equal(stat(f->home, &st), -1); /* nothing made */

    memset(&d, 0, sizeof d);
    snprintf(deep, sizeof deep, "%s/no/such/home", f->dir);
    assert_int_equal(mn_home_create(deep, MN_ROLE_PARTNER, "p", "partner.conf", f->gateway_pub, 0,
                                    NULL, &files, &key, &d),
                     MN_ESYS);
    assert_null(key);
    assert_int_equal(mn_home_create(deep, MN_ROLE_PARTNER, "p", "partner.conf", f->gateway_pub, 1,
                                    NULL, &files, &key, &d),
                     MN_OK);
    assert_non_null(strstr(files.key, "/no/such/home/keys/partner.key"));
    mn_key_destroy(&key);

    /* A home with its configuration file is taken too. */
    char conf[192];
    snprintf(conf, sizeof conf, "%s/agent.conf", f->home);
    assert_int_equal(mkdir(f->home, 0700), 0);
    FILE *fp = fopen(conf, "w");
    assert_non_null(fp);
    fclose(fp);
    memset(&d, 0, sizeof d);
    assert_int_equal(mn_home_create(f->home, MN_ROLE_AGENT, "a", "agent.conf", f->gateway_pub, 0,
                                    NULL, &files, &key, &d),
                     MN_EEXIST);
    assert_null(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir),
        cmocka_unit_test(test_join),
        cmocka_unit_test_setup_teardown(test_create_then_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_create_refusals, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
