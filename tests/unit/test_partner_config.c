/* test_partner_config.c - unit tests for partner_config: --topics lists, topic patterns,
 * endpoints, and partner.conf written by keygen, read back, and refused when wrong.
 *
 * Each config test gets its own mkdtemp directory.
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

#include "partner_config.h"

typedef struct fixture {
    char dir[64];
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_partner_config.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
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

static void s_write(const char *dir, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/partner.conf", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* --- topics ------------------------------------------------------------------------------- */

static void test_topics_parse(void **state)
{
    (void)state;
    mn_topics t;
    mn_diag d = {0};
    assert_int_equal(partner_topics_parse("police.acute, care.* ,*", &t, &d), MN_OK);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.name[0], "police.acute");
    assert_string_equal(t.name[1], "care.*");
    assert_string_equal(t.name[2], "*");

    assert_int_equal(partner_topics_parse(NULL, &t, &d), MN_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(partner_topics_parse("  ", &t, &d), MN_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(partner_topics_parse("research.online", &t, &d), MN_OK);
    assert_int_equal(t.n, 1);
}

static void test_topics_refused(void **state)
{
    (void)state;
    mn_topics t;
    mn_diag d = {0};
    static const char *const bad[] = {
        "a,,b",         "a,",      ",a", "Police.Acute",
        "police acute", "*.acute", ".*", "police.acute,police.acute",
        "a/b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&d, 0, sizeof d);
        assert_int_equal(partner_topics_parse(bad[i], &t, &d), MN_EINVAL);
        assert_string_equal(d.where, "--topics");
        assert_true(d.hint[0] != '\0');
    }
    char many[1024] = "";
    for (int i = 0; i <= MN_TOPICS_MAX; i++) {
        char item[16];
        snprintf(item, sizeof item, "%st%d", i ? "," : "", i);
        strcat(many, item);
    }
    assert_int_equal(partner_topics_parse(many, &t, &d), MN_EINVAL);
    assert_non_null(strstr(d.what, "more than"));
    char longest[MN_TOPIC_MAX + 2];
    memset(longest, 'a', MN_TOPIC_MAX + 1);
    longest[MN_TOPIC_MAX + 1] = '\0';
    assert_int_equal(partner_topics_parse(longest, &t, &d), MN_EINVAL);
    longest[MN_TOPIC_MAX] = '\0';
    assert_int_equal(partner_topics_parse(longest, &t, &d), MN_OK);
}

static void test_topic_patterns(void **state)
{
    (void)state;
    assert_true(mn_topic_pattern_is_valid("*"));
    assert_true(mn_topic_pattern_is_valid("care.*"));
    assert_true(mn_topic_pattern_is_valid("care.utrecht"));
    assert_false(mn_topic_pattern_is_valid(""));
    assert_false(mn_topic_pattern_is_valid(NULL));
    assert_false(mn_topic_pattern_is_valid("care*"));
    assert_false(mn_topic_pattern_is_valid("**"));
    assert_false(mn_topic_pattern_is_valid("care.*.x"));
}

static void test_topics_join(void **state)
{
    (void)state;
    mn_topics t;
    char buf[64];
    char tiny[8];
    assert_int_equal(partner_topics_parse("a.b,c,d", &t, NULL), MN_OK);
    assert_string_equal(mn_topics_join(&t, ",", buf, sizeof buf), "a.b,c,d");
    assert_string_equal(mn_topics_join(&t, ", ", buf, sizeof buf), "a.b, c, d");
    mn_topics_join(&t, ",", tiny, 4);
    assert_true(strlen(tiny) < 4);
    t.n = 0;
    assert_string_equal(mn_topics_join(&t, ",", buf, sizeof buf), "");
}

static void test_endpoints(void **state)
{
    (void)state;
    assert_true(mn_conf_endpoint_is_valid("tcp://127.0.0.1:7412"));
    assert_true(mn_conf_endpoint_is_valid("ipc:///run/meldnet/delivery"));
    assert_false(mn_conf_endpoint_is_valid("tcp://"));
    assert_false(mn_conf_endpoint_is_valid("udp://x:1"));
    assert_false(mn_conf_endpoint_is_valid("tcp://a b:1"));
    assert_false(mn_conf_endpoint_is_valid("tcp://\"x\":1"));
    assert_false(mn_conf_endpoint_is_valid(NULL));
}

/* --- partner.conf ------------------------------------------------------------------------- */

static void test_write_then_load(void **state)
{
    fixture *f = *state;
    partner_config cfg;
    mn_diag d = {0};
    struct stat st;
    char path[128];

    assert_int_equal(partner_config_write(f->dir, "police-midden", "tcp://127.0.0.1:7412", &d),
                     MN_OK);
    snprintf(path, sizeof path, "%s/partner.conf", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_OK);
    assert_string_equal(cfg.name, "police-midden");
    assert_string_equal(cfg.gateway, "tcp://127.0.0.1:7412");
    assert_int_equal(cfg.credit, PARTNER_CREDIT_DEFAULT);
    assert_int_equal(cfg.max_frame_bytes, PARTNER_FRAME_DEFAULT);
    assert_string_equal(cfg.log_level, "info");
    snprintf(path, sizeof path, "%s/keys/partner.key", f->dir);
    assert_string_equal(cfg.identity, path);
    snprintf(path, sizeof path, "%s/keys/gateway.pub", f->dir);
    assert_string_equal(cfg.gateway_key, path);
    snprintf(path, sizeof path, "%s/state", f->dir);
    assert_string_equal(cfg.state, path);

    /* Never over an existing one. */
    assert_int_equal(partner_config_write(f->dir, "police-midden", "tcp://127.0.0.1:7412", &d),
                     MN_EEXIST);
}

static void test_write_refuses_bad_input(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    assert_int_equal(partner_config_write(f->dir, "no spaces", "tcp://127.0.0.1:7412", &d),
                     MN_EINVAL);
    assert_int_equal(partner_config_write(f->dir, "p", "http://x", &d), MN_EINVAL);
}

static void test_load_settings(void **state)
{
    fixture *f = *state;
    partner_config cfg;
    mn_diag d = {0};
    s_write(f->dir, "name = \"care-utrecht\";\n"
                    "gateway = \"tcp://gw.example:7412\";\n"
                    "state = \"/var/lib/meldnet/state\";\n"
                    "identity = \"other/partner.key\";\n"
                    "credit = 64;\n"
                    "max_frame_bytes = 65536;\n"
                    "log_level = \"debug\";\n");
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_OK);
    assert_int_equal(cfg.credit, 64);
    assert_int_equal(cfg.max_frame_bytes, 65536);
    assert_string_equal(cfg.state, "/var/lib/meldnet/state");
    assert_non_null(strstr(cfg.identity, "/other/partner.key"));
    assert_string_equal(cfg.log_level, "debug");
}

static void test_load_errors(void **state)
{
    fixture *f = *state;
    partner_config cfg;
    mn_diag d = {0};

    /* No file: the hint says how to make a home. */
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ESYS);
    assert_non_null(strstr(d.hint, "meldnet-partner keygen"));

    s_write(f->dir, "name = \"p\";\ngateway = \"tcp://h:1\";\ncredits = 5;\n");
    memset(&d, 0, sizeof d);
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ECONFIG);
    assert_non_null(strstr(d.where, "partner.conf:3"));
    assert_non_null(strstr(d.what, "credits"));
    assert_non_null(strstr(d.hint, "\"credit\""));

    s_write(f->dir, "name = \"p\";\ngateway = \"tcp://h:1\";\ncredit = 0;\n");
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ECONFIG);
    assert_non_null(strstr(d.what, "out of bounds"));

    s_write(f->dir, "name = \"p\";\ngateway = \"tcp://h:1\";\ncredit = \"8\";\n");
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ECONFIG);

    s_write(f->dir, "name = \"p\";\n");
    memset(&d, 0, sizeof d);
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ECONFIG);
    assert_non_null(strstr(d.what, "gateway"));

    s_write(f->dir, "name = \"p\";\ngateway = \"udp://h:1\";\n");
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ECONFIG);

    s_write(f->dir, "name = \"p\";\ngateway = ;\n");
    memset(&d, 0, sizeof d);
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ECONFIG);
    assert_non_null(strstr(d.where, "partner.conf:"));

    s_write(f->dir, "name = \"p\";\ngateway = \"tcp://h:1\";\nlog_level = \"loud\";\n");
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ECONFIG);

    s_write(f->dir, "name = \"p\";\ngateway = \"tcp://h:1\";\nstate = \"\";\n");
    assert_int_equal(partner_config_load(f->dir, &cfg, &d), MN_ECONFIG);
}

static void test_home(void **state)
{
    (void)state;
    assert_string_equal(partner_config_home("/x"), "/x");
    setenv(PARTNER_HOME_ENV, "/from-env", 1);
    assert_string_equal(partner_config_home(NULL), "/from-env");
    setenv(PARTNER_HOME_ENV, "", 1);
    assert_string_equal(partner_config_home(NULL), PARTNER_HOME_DEFAULT);
    unsetenv(PARTNER_HOME_ENV);
    assert_string_equal(partner_config_home(NULL), PARTNER_HOME_DEFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics_parse),
        cmocka_unit_test(test_topics_refused),
        cmocka_unit_test(test_topic_patterns),
        cmocka_unit_test(test_topics_join),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test_setup_teardown(test_write_then_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_bad_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_load_settings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_load_errors, s_setup, s_teardown),
        cmocka_unit_test(test_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
