/* test_mn_conf.c - unit tests for mn_conf: endpoints, a settings table read with defaults,
 * bounds, paths and every error, and the file keygen writes.
 *
 * The table describes a small struct of every kind; each test gets its own mkdtemp home.
 */
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

#include "mn_conf.h"

typedef struct s_conf {
    char path[MN_CONF_PATH_MAX];
    char home[MN_CONF_PATH_MAX];
    char name[MN_NAME_MAX + 1];
    char gateway[MN_CONF_ENDPOINT_MAX];
    char data[MN_CONF_PATH_MAX];
    unsigned count;
    size_t size;
    char log_level[MN_CONF_LOG_LEVEL_MAX];
} s_conf;

#define S_OFF(f) offsetof(s_conf, f)

static const mn_conf_setting s_settings[] = {
    {.name = "name", .kind = MN_CONF_NAME, .offset = S_OFF(name), .example = "name = \"t-1\";"},
    {.name = "gateway",
     .kind = MN_CONF_ENDPOINT,
     .offset = S_OFF(gateway),
     .example = "gateway = \"tcp://HOST:1\";",
     .hint = "the test's endpoint hint"},
    {.name = "data", .kind = MN_CONF_PATH, .offset = S_OFF(data), .def = "data"},
    {.name = "count",
     .kind = MN_CONF_UNSIGNED,
     .offset = S_OFF(count),
     .idef = 7,
     .min = 1,
     .max = 100},
    {.name = "size",
     .kind = MN_CONF_SIZE,
     .offset = S_OFF(size),
     .idef = 4096,
     .min = 1024,
     .max = 1 << 30},
    {.name = "log_level", .kind = MN_CONF_LOG_LEVEL, .offset = S_OFF(log_level), .def = "notice"},
};

static const mn_conf_spec s_spec = {
    .file = "test.conf",
    .program = "meldnet-test",
    .noun = "test",
    .a_noun = "a test",
    .home_env = "MELDNET_TEST_HOME",
    .endpoint_example = "tcp://127.0.0.1:1",
    .taken_hint = "the test's taken hint",
    .size = sizeof(s_conf),
    .path_offset = S_OFF(path),
    .home_offset = S_OFF(home),
    .settings = s_settings,
    .n_settings = sizeof s_settings / sizeof s_settings[0],
};

typedef struct fixture {
    char dir[64];
    s_conf cfg;
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_mn_conf.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/test.conf", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void s_write(const fixture *f, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/test.conf", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Load text as test.conf; returns the code, diag in *d. */
static int s_load(fixture *f, const char *text, mn_diag *d)
{
    memset(d, 0, sizeof *d);
    s_write(f, text);
    return mn_conf_load(&s_spec, f->dir, &f->cfg, d);
}

static void test_endpoints(void **state)
{
    (void)state;
    assert_true(mn_conf_endpoint_is_valid("tcp://127.0.0.1:7411"));
    assert_true(mn_conf_endpoint_is_valid("ipc:///run/meldnet/ingest"));
    assert_false(mn_conf_endpoint_is_valid("tcp://"));
    assert_false(mn_conf_endpoint_is_valid("udp://x:1"));
    assert_false(mn_conf_endpoint_is_valid("tcp://a b:1"));
    assert_false(mn_conf_endpoint_is_valid("tcp://\"x\":1"));
    assert_false(mn_conf_endpoint_is_valid("tcp://x\\y:1"));
    assert_false(mn_conf_endpoint_is_valid(NULL));
    char longest[MN_CONF_ENDPOINT_MAX + 1];
    memset(longest, 'a', sizeof longest);
    memcpy(longest, "tcp://", 6);
    longest[MN_CONF_ENDPOINT_MAX - 1] = '\0';
    assert_true(mn_conf_endpoint_is_valid(longest));
    longest[MN_CONF_ENDPOINT_MAX - 1] = 'a';
    longest[MN_CONF_ENDPOINT_MAX] = '\0';
    assert_false(mn_conf_endpoint_is_valid(longest));
}

static void test_defaults(void **state)
{
    fixture *f = *state;
    mn_diag d;
    char want[128];
    assert_int_equal(s_load(f, "name = \"t-1\";\ngateway = \"tcp://h:1\";\n", &d), MN_OK);
    assert_string_equal(f->cfg.name, "t-1");
    assert_string_equal(f->cfg.gateway, "tcp://h:1");
    assert_string_equal(f->cfg.home, f->dir);
    snprintf(want, sizeof want, "%s/test.conf", f->dir);
    assert_string_equal(f->cfg.path, want);
    snprintf(want, sizeof want, "%s/data", f->dir);
    assert_string_equal(f->cfg.data, want);
    assert_int_equal(f->cfg.count, 7);
    assert_int_equal(f->cfg.size, 4096);
    assert_string_equal(f->cfg.log_level, "notice");
}

static void test_settings(void **state)
{
    fixture *f = *state;
    mn_diag d;
    assert_int_equal(s_load(f,
                            "name = \"t-2\"; gateway = \"ipc:///x\"; data = \"/abs/data\";\n"
                            "count = 100; size = 1024L; log_level = \"debug\";\n",
                            &d),
                     MN_OK);
    assert_string_equal(f->cfg.data, "/abs/data");
    assert_int_equal(f->cfg.count, 100);
    assert_int_equal(f->cfg.size, 1024);
    assert_string_equal(f->cfg.log_level, "debug");
    assert_int_equal(s_load(f, "name = \"t\"; gateway = \"tcp://h:1\"; data = \"rel/d\";\n", &d),
                     MN_OK);
    assert_non_null(strstr(f->cfg.data, "/rel/d"));
    assert_int_equal(strncmp(f->cfg.data, f->dir, strlen(f->dir)), 0);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    mn_diag d;
    static const char ok[] = "name = \"t\";\ngateway = \"tcp://h:1\";\n";
    static const struct {
        const char *extra;
        const char *what; /* in d.what */
        const char *hint; /* in d.hint */
    } cases[] = {
        {"count = 0;", "count = 0 is out of bounds (1 .. 100)", "describe every setting"},
        {"count = \"8\";", "count must be a whole number", "(written by 'meldnet-test keygen')"},
        {"size = 512;", "out of bounds", NULL},
        {"data = \"\";", "data must not be empty", NULL},
        {"data = 5;", "data must be a string in double quotes", NULL},
        {"log_level = \"loud\";", "log_level must be err, warn, notice, info or debug", NULL},
        {"counts = 5;", "unknown setting \"counts\"", "did you mean \"count\"?"},
        {"zzzzzzzzzzzz = 5;", "unknown setting",
         "settings are name, gateway, data, count, size, log_level"},
        {"count = ;", "syntax error", "settings look like: name = \"t-1\"; (a ';' ends each one)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s%s\n", ok, cases[i].extra);
        assert_int_equal(s_load(f, text, &d), MN_ECONFIG);
        assert_non_null(strstr(d.where, "test.conf:3"));
        if (!strstr(d.what, cases[i].what))
            fail_msg("case %zu: what \"%s\"", i, d.what);
        if (cases[i].hint && !strstr(d.hint, cases[i].hint))
            fail_msg("case %zu: hint \"%s\"", i, d.hint);
    }

    assert_int_equal(s_load(f, "name = \"no spaces\"; gateway = \"tcp://h:1\";\n", &d), MN_ECONFIG);
    assert_non_null(strstr(d.what, "name must be 1-64 characters"));
    assert_int_equal(s_load(f, "name = \"t\"; gateway = \"udp://h:1\";\n", &d), MN_ECONFIG);
    assert_string_equal(d.what, "gateway is not a valid endpoint");
    assert_string_equal(d.hint, "the test's endpoint hint");

    /* Required settings, the first missing one named, with its example. */
    assert_int_equal(s_load(f, "count = 5;\n", &d), MN_ECONFIG);
    assert_non_null(strstr(d.what, "the setting \"name\" is missing"));
    assert_string_equal(d.hint, "add it, e.g. name = \"t-1\";");
    assert_int_equal(s_load(f, "name = \"t\";\n", &d), MN_ECONFIG);
    assert_non_null(strstr(d.what, "\"gateway\""));
}

static void test_no_file(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    assert_int_equal(mn_conf_load(&s_spec, f->dir, &f->cfg, &d), MN_ESYS);
    assert_non_null(strstr(d.what, "cannot read the test configuration"));
    assert_non_null(strstr(d.hint, "meldnet-test keygen"));
    assert_non_null(strstr(d.hint, "MELDNET_TEST_HOME"));

    char home[MN_CONF_PATH_MAX + 8];
    memset(home, 'h', sizeof home - 1);
    home[sizeof home - 1] = '\0';
    memset(&d, 0, sizeof d);
    assert_int_equal(mn_conf_load(&s_spec, home, &f->cfg, &d), MN_ECONFIG);
    assert_non_null(strstr(d.what, "the home path is too long"));
}

static void test_write(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    struct stat st;
    char path[128];

    assert_int_equal(mn_conf_write(&s_spec, f->dir, "t", "tcp://h:1",
                                   "name = \"t\";\n"
                                   "gateway = \"tcp://h:1\";\n",
                                   &d),
                     MN_OK);
    snprintf(path, sizeof path, "%s/test.conf", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mn_conf_load(&s_spec, f->dir, &f->cfg, &d), MN_OK);
    assert_string_equal(f->cfg.name, "t");

    memset(&d, 0, sizeof d);
    assert_int_equal(mn_conf_write(&s_spec, f->dir, "t", "tcp://h:1", "", &d), MN_EEXIST);
    assert_string_equal(d.what, "this home has a test already");
    assert_string_equal(d.hint, "the test's taken hint");
    unlink(path);

    memset(&d, 0, sizeof d);
    assert_int_equal(mn_conf_write(&s_spec, f->dir, "no spaces", "tcp://h:1", "", &d), MN_EINVAL);
    assert_string_equal(d.where, "NAME");
    assert_non_null(strstr(d.what, "a test name is 1-64"));
    assert_int_equal(mn_conf_write(&s_spec, f->dir, NULL, "tcp://h:1", "", &d), MN_EINVAL);
    memset(&d, 0, sizeof d);
    assert_int_equal(mn_conf_write(&s_spec, f->dir, "t", "http://x", "", &d), MN_EINVAL);
    assert_string_equal(d.where, "--gateway");
    assert_string_equal(d.hint, "write it as tcp://HOST:PORT, e.g. tcp://127.0.0.1:1");
    memset(&d, 0, sizeof d);
    assert_int_equal(mn_conf_write(&s_spec, f->dir, "t", "tcp://h:1", NULL, &d), MN_EINVAL);
    assert_non_null(strstr(d.what, "too long"));
    assert_int_equal(stat(path, &st), -1); /* nothing written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test_setup_teardown(test_defaults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_settings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_write, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
