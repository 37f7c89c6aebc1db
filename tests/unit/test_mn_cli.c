/* test_mn_cli.c - unit tests for mn_cli: the command table, numbers, keygen's and status's
 * options (each refusal is a usage error, exit 2), the keygen command, loop timing and the stop
 * signals. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "mn_cli.h"
#include "mn_file.h"
#include "mn_key.h"
#include "mn_time.h"

#define S_PROG "meldnet-test"

static int s_ran_argc;

static int s_run(int argc, char **argv)
{
    s_ran_argc = argc;
    return strcmp(argv[0], "go") == 0 ? 0 : 5;
}

static void test_main(void **state)
{
    (void)state;
    static const mn_cli_command cmds[] = {{"go", s_run}, {"other", s_run}};
    char *none[] = {"prog", NULL};
    char *go[] = {"prog", "go", "x", NULL};
    char *other[] = {"prog", "other", NULL};
    char *help[] = {"prog", "--help", NULL};
    char *bad[] = {"prog", "nope", NULL};

    assert_int_equal(mn_cli_main(S_PROG, "", cmds, 2, "go, other", 1, none), MN_CLI_EXIT_USAGE);
    assert_int_equal(mn_cli_main(S_PROG, "", cmds, 2, "go, other", 3, go), 0);
    assert_int_equal(s_ran_argc, 2); /* argv from the command on */
    assert_int_equal(mn_cli_main(S_PROG, "", cmds, 2, "go, other", 2, other), 5);
    assert_int_equal(mn_cli_main(S_PROG, "", cmds, 2, "go, other", 2, help), 0);
    assert_int_equal(mn_cli_main(S_PROG, "", cmds, 2, "go, other", 2, bad), MN_CLI_EXIT_USAGE);
}

static void test_parse_uint(void **state)
{
    (void)state;
    unsigned long v = 99;
    assert_int_equal(mn_cli_parse_uint("0", 0, 10, &v), MN_OK);
    assert_int_equal(v, 0);
    assert_int_equal(mn_cli_parse_uint("10", 0, 10, &v), MN_OK);
    assert_int_equal(v, 10);
    v = 99;
    assert_int_equal(mn_cli_parse_uint("11", 0, 10, &v), MN_EINVAL);
    assert_int_equal(mn_cli_parse_uint("0", 1, 10, &v), MN_EINVAL);
    assert_int_equal(mn_cli_parse_uint("-1", 0, 10, &v), MN_EINVAL);
    assert_int_equal(mn_cli_parse_uint(" 1", 0, 10, &v), MN_EINVAL);
    assert_int_equal(mn_cli_parse_uint("1x", 0, 10, &v), MN_EINVAL);
    assert_int_equal(mn_cli_parse_uint("", 0, 10, &v), MN_EINVAL);
    assert_int_equal(mn_cli_parse_uint(NULL, 0, 10, &v), MN_EINVAL);
    assert_int_equal(mn_cli_parse_uint("99999999999999999999999", 0, 10, &v), MN_EINVAL);
    assert_int_equal(v, 99); /* untouched by failures */
}

static int s_keygen(int argc, char **argv, mn_cli_keygen *a)
{
    return mn_cli_parse_keygen(S_PROG, "", argc, argv, a);
}

static void test_parse_keygen(void **state)
{
    (void)state;
    mn_cli_keygen a;
    char *ok[] = {"keygen", "hotline-1", "--gateway", "tcp://h:1", "--gateway-key",
                  "g.pub",  "--home",    "/h",        NULL};
    assert_int_equal(s_keygen(8, ok, &a), MN_CLI_GO_ON);
    assert_string_equal(a.name, "hotline-1");
    assert_string_equal(a.endpoint, "tcp://h:1");
    assert_string_equal(a.gateway_key, "g.pub");
    assert_string_equal(a.home, "/h");

    char *no_home[] = {"keygen", "--gateway", "tcp://h:1", "--gateway-key", "g.pub", "n", NULL};
    assert_int_equal(s_keygen(6, no_home, &a), MN_CLI_GO_ON);
    assert_null(a.home);
    assert_string_equal(a.name, "n");

    char *help[] = {"keygen", "--help", NULL};
    assert_int_equal(s_keygen(2, help, &a), 0);

    char *no_name[] = {"keygen", "--gateway", "tcp://h:1", "--gateway-key", "g.pub", NULL};
    char *two[] = {"keygen", "a", "b", "--gateway", "tcp://h:1", "--gateway-key", "g", NULL};
    char *no_key[] = {"keygen", "a", "--gateway", "tcp://h:1", NULL};
    char *bad_name[] = {"keygen", "a b", "--gateway", "tcp://h:1", "--gateway-key", "g", NULL};
    char *bad_ep[] = {"keygen", "a", "--gateway", "http://h", "--gateway-key", "g", NULL};
    char *bad_opt[] = {"keygen", "a", "--frobnicate", NULL};
    assert_int_equal(s_keygen(5, no_name, &a), MN_CLI_EXIT_USAGE);
    assert_int_equal(s_keygen(7, two, &a), MN_CLI_EXIT_USAGE);
    assert_int_equal(s_keygen(4, no_key, &a), MN_CLI_EXIT_USAGE);
    assert_int_equal(s_keygen(6, bad_name, &a), MN_CLI_EXIT_USAGE);
    assert_int_equal(s_keygen(6, bad_ep, &a), MN_CLI_EXIT_USAGE);
    assert_int_equal(s_keygen(3, bad_opt, &a), MN_CLI_EXIT_USAGE);
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_made_data, s_wrote_conf;

static int s_make_data(const char *dir, mn_diag *d)
{
    s_made_data = 1;
    return mkdir(dir, 0700) == 0 ? MN_OK : mn_diag_sys(d, dir, "cannot create");
}

static int s_write_conf(const char *home, const char *name, const char *endpoint, mn_diag *d)
{
    char path[256], text[128];
    s_wrote_conf = 1;
    snprintf(path, sizeof path, "%s/test.conf", home);
    snprintf(text, sizeof text, "%s %s\n", name, endpoint);
    return mn_file_write_atomic(path, text, strlen(text), 0600, d);
}

static const char *s_home_of(const char *arg)
{
    return arg ? arg : "/nonexistent";
}

static void test_run_keygen(void **state)
{
    (void)state;
    static const mn_cli_keygen_spec spec = {
        .role = MN_ROLE_AGENT,
        .conf = "test.conf",
        .data = "data",
        .make_parents = 1,
        .taken_hint = "taken",
        .add_options = "",
        .home = s_home_of,
        .make_data = s_make_data,
        .write_conf = s_write_conf,
    };
    char dir[64], gw[96], home[96], path[160];
    mn_key *gateway = NULL;
    mn_diag d;
    struct stat st;

    assert_int_equal(mn_crypto_init(), MN_OK);
    snprintf(dir, sizeof dir, "/tmp/test_mn_cli.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(gw, sizeof gw, "%s/gateway.pub", dir);
    snprintf(home, sizeof home, "%s/a/home", dir);
    assert_int_equal(mn_key_generate(MN_ROLE_GATEWAY, "gateway", &gateway, &d), MN_OK);
    assert_int_equal(mn_pubkey_save(mn_key_public(gateway), gw, &d), MN_OK);
    mn_key_destroy(&gateway);

    char *args[] = {"keygen", "hotline-1", "--gateway", "tcp://h:1", "--gateway-key",
                    gw,       "--home",    home,        NULL};
    assert_int_equal(mn_cli_run_keygen(S_PROG, "", &spec, 8, args), 0);
    assert_true(s_made_data && s_wrote_conf);
    snprintf(path, sizeof path, "%s/keys/agent.key", home);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/data", home);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/test.conf", home);
    assert_int_equal(stat(path, &st), 0);

    /* Taken now: exit 1, nothing called. */
    s_made_data = s_wrote_conf = 0;
    assert_int_equal(mn_cli_run_keygen(S_PROG, "", &spec, 8, args), 1);
    assert_false(s_made_data || s_wrote_conf);
    /* A usage error never gets that far. */
    assert_int_equal(mn_cli_run_keygen(S_PROG, "", &spec, 2, args), MN_CLI_EXIT_USAGE);

    assert_int_equal(nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_parse_home(void **state)
{
    (void)state;
    const char *home = "unset";
    char *none[] = {"status", NULL};
    char *given[] = {"status", "--home", "/h", NULL};
    char *help[] = {"status", "-h", NULL};
    char *extra[] = {"status", "x", NULL};
    char *bad[] = {"status", "--wat", NULL};
    assert_int_equal(mn_cli_parse_home(S_PROG, "status", "", 1, none, &home), MN_CLI_GO_ON);
    assert_null(home);
    assert_int_equal(mn_cli_parse_home(S_PROG, "status", "", 3, given, &home), MN_CLI_GO_ON);
    assert_string_equal(home, "/h");
    assert_int_equal(mn_cli_parse_home(S_PROG, "status", "", 2, help, &home), 0);
    assert_int_equal(mn_cli_parse_home(S_PROG, "status", "", 2, extra, &home), MN_CLI_EXIT_USAGE);
    assert_int_equal(mn_cli_parse_home(S_PROG, "status", "", 2, bad, &home), MN_CLI_EXIT_USAGE);
}

static void test_usage_and_fail(void **state)
{
    (void)state;
    mn_diag d = {0};
    assert_int_equal(mn_cli_usage_error(S_PROG, "cmd", "bad %s", "thing"), MN_CLI_EXIT_USAGE);
    assert_int_equal(mn_cli_usage_error(S_PROG, NULL, "no command given"), MN_CLI_EXIT_USAGE);
    mn_diag_set(&d, MN_EINVAL, "here", "what");
    assert_int_equal(mn_cli_fail(S_PROG, &d), 1);
}

static void test_loop_timing(void **state)
{
    (void)state;
    assert_int_equal(mn_cli_deadline(0), 0);
    assert_int_equal(mn_cli_tick(0, 250), 250); /* no deadline */
    uint64_t deadline = mn_cli_deadline(60);
    assert_true(deadline >= mn_mono_ms() + 59000);
    assert_int_equal(mn_cli_tick(deadline, 250), 250);
    int left = mn_cli_tick(mn_mono_ms() + 100, 250); /* less than a tick left */
    assert_true(left >= 0 && left <= 100);
    assert_int_equal(mn_cli_tick(1, 250), -1); /* passed */
}

static void test_signals(void **state)
{
    (void)state;
    static volatile sig_atomic_t stop;
    mn_cli_catch_signals(&stop);
    assert_int_equal(stop, 0);
    raise(SIGTERM);
    assert_int_equal(stop, 1);
    stop = 0;
    raise(SIGINT);
    assert_int_equal(stop, 1);
    raise(SIGPIPE); /* ignored */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_main),         cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_parse_keygen), cmocka_unit_test(test_run_keygen),
        cmocka_unit_test(test_parse_home),   cmocka_unit_test(test_usage_and_fail),
        cmocka_unit_test(test_loop_timing),  cmocka_unit_test(test_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
