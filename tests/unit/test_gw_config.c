/* test_gw_config - gateway.conf and agent files: template, defaults, every error with file:line.
 *
 * The source tree is found through $MN_SRCDIR (default "."): examples/gateway.conf must equal
 * gw_config_template() and load. It is loaded from a copy in a temporary home, because a
 * configuration needs its agents folder and examples/ ships none.
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
#include "mn_key.h"

struct fixture {
    char root[64];
    char home[128];
    char agents[160];
    char conf[160];
};

static int s_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/test_gw_config.XXXXXX");
    if (!mkdtemp(f->root)) {
        free(f);
        return -1;
    }
    snprintf(f->home, sizeof f->home, "%s/home", f->root);
    snprintf(f->agents, sizeof f->agents, "%s/agents", f->home);
    snprintf(f->conf, sizeof f->conf, "%s/gateway.conf", f->home);
    if (mkdir(f->home, 0700) != 0 || mkdir(f->agents, 0700) != 0)
        return -1;
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void s_write(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static char *s_read(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot read %s: %s (set MN_SRCDIR to the source tree)", path, strerror(errno));
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* A fresh public line of role/name. */
static void s_line(mn_role role, const char *name, char *line, size_t cap, mn_pubkey *pub)
{
    mn_key *key = NULL;
    mn_diag d = {0};
    assert_int_equal(mn_key_generate(role, name, &key, &d), MN_OK);
    mn_pubkey_format(mn_key_public(key), line, cap);
    if (pub)
        *pub = *mn_key_public(key);
    mn_key_destroy(&key);
}

static void s_agent_file(const struct fixture *f, const char *file, const char *body)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->agents, file);
    s_write(path, body);
}

static void s_check_defaults(const struct fixture *f, const gw_config *cfg)
{
    char real[4096], want[4200];
    assert_non_null(realpath(f->home, real));
    assert_string_equal(cfg->home, real);
    snprintf(want, sizeof want, "%s/gateway.conf", real);
    assert_string_equal(cfg->path, want);
    assert_string_equal(cfg->listen, "tcp://127.0.0.1:7411");
    snprintf(want, sizeof want, "%s/keys/gateway.key", real);
    assert_string_equal(cfg->identity, want);
    snprintf(want, sizeof want, "%s/keys/digest.key", real);
    assert_string_equal(cfg->digest_key, want);
    snprintf(want, sizeof want, "%s/keys/registry.pub", real);
    assert_string_equal(cfg->registry_key, want);
    snprintf(want, sizeof want, "%s/agents", real);
    assert_string_equal(cfg->agents_dir, want);
    snprintf(want, sizeof want, "%s/data", real);
    assert_string_equal(cfg->data_dir, want);
    snprintf(want, sizeof want, "%s/run", real);
    assert_string_equal(cfg->run_dir, want);
    assert_int_equal(cfg->max_frame_bytes, 3145728);
    assert_int_equal(cfg->map_size_mb, 1024);
    assert_int_equal(cfg->batch_max, 256);
    assert_string_equal(cfg->log_level, "info");
    assert_int_equal(cfg->n_agents, 0);
}

/* --- gateway.conf --------------------------------------------------------------------------- */

static void test_example_is_the_template_and_loads(void **state)
{
    struct fixture *f = *state;
    const char *src = getenv("MN_SRCDIR");
    char path[4096];
    gw_config *cfg = NULL;
    mn_diag d = {0};

    snprintf(path, sizeof path, "%s/examples/gateway.conf", src && src[0] ? src : ".");
    char *text = s_read(path);
    assert_string_equal(text, gw_config_template());
    s_write(f->conf, text);
    free(text);
    if (gw_config_load(f->conf, &cfg, &d) != MN_OK)
        fail_msg("%s: %s (%s)", d.where, d.what, d.hint);
    s_check_defaults(f, cfg);
    gw_config_destroy(&cfg);
    assert_null(cfg);
    gw_config_destroy(&cfg);
    gw_config_destroy(NULL);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    gw_config *cfg = NULL;
    mn_diag d = {0};

    s_write(f->conf, "# nothing set\ngateway: { };\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_OK);
    s_check_defaults(f, cfg);
    gw_config_destroy(&cfg);

    s_write(f->conf, "");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_OK);
    s_check_defaults(f, cfg);
    gw_config_destroy(&cfg);
}

static void test_values_and_paths(void **state)
{
    struct fixture *f = *state;
    gw_config *cfg = NULL;
    mn_diag d = {0};
    char real[4096], want[4200], via[256];

    s_write(f->conf, "gateway:\n{\n"
                     "  listen = \"tcp://0.0.0.0:9000\";\n"
                     "  identity = \"/etc/meldnet/gw.key\";\n"
                     "  data_dir = \"../store\";\n"
                     "  max_frame_bytes = 4096;\n"
                     "  map_size_mb = 1048576;\n"
                     "  batch_max = 1;\n"
                     "  log_level = \"debug\";\n"
                     "};\n");
    /* a path with ".." and a relative file name both resolve to the home */
    snprintf(via, sizeof via, "%s/../home/gateway.conf", f->home);
    assert_int_equal(gw_config_load(via, &cfg, &d), MN_OK);
    assert_non_null(realpath(f->home, real));
    assert_string_equal(cfg->home, real);
    assert_string_equal(cfg->listen, "tcp://0.0.0.0:9000");
    assert_string_equal(cfg->identity, "/etc/meldnet/gw.key");
    snprintf(want, sizeof want, "%s/../store", real);
    assert_string_equal(cfg->data_dir, want);
    assert_int_equal(cfg->max_frame_bytes, 4096);
    assert_int_equal(cfg->map_size_mb, 1048576);
    assert_int_equal(cfg->batch_max, 1);
    assert_string_equal(cfg->log_level, "debug");
    gw_config_destroy(&cfg);

    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->home), 0);
    int rc = gw_config_load("gateway.conf", &cfg, &d);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, MN_OK);
    assert_string_equal(cfg->home, real);
    gw_config_destroy(&cfg);
}

struct bad_case {
    const char *text;
    int line;
    const char *what;
    const char *hint; /* NULL: not checked; "" : must not suggest */
};

static void test_bad_settings(void **state)
{
    struct fixture *f = *state;
    static const struct bad_case cases[] = {
        {"gateway:\n{\n    lisen = \"tcp://127.0.0.1:1\";\n};\n", 3,
         "unknown setting \"lisen\"", "did you mean \"listen\""},
        {"gateway: {\n  map_size = 64;\n};\n", 2, "unknown setting \"map_size\"",
         "did you mean \"map_size_mb\""},
        {"gateway: {\n  data = \"d\";\n};\n", 2, "unknown setting \"data\"",
         "did you mean \"data_dir\""},
        {"gateway: {\n  zzzzqqqq = 1;\n};\n", 2, "unknown setting \"zzzzqqqq\"", ""},
        {"gateway: {\n  max_frame_bytes = 100;\n};\n", 2, "out of bounds (4096 .. 16777216)",
         NULL},
        {"gateway: {\n  max_frame_bytes = 16777217;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n\n  map_size_mb = \"big\";\n};\n", 3,
         "map_size_mb must be a whole number, not a string", NULL},
        {"gateway: {\n  map_size_mb = 8;\n};\n", 2, "out of bounds (16 .. 1048576)", NULL},
        {"gateway: {\n  batch_max = 5000;\n};\n", 2, "out of bounds (1 .. 4096)", NULL},
        {"gateway: {\n  batch_max = 0;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n  batch_max = 1.5;\n};\n", 2, "must be a whole number, not a decimal",
         NULL},
        {"gateway: {\n  batch_max = 99999999999L;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n  listen = 7411;\n};\n", 2, "listen must be a string", NULL},
        {"gateway: {\n  listen = \"localhost\";\n};\n", 2, "not a ZeroMQ endpoint", NULL},
        {"gateway: {\n  log_level = \"inof\";\n};\n", 2, "not a level",
         "did you mean \"info\""},
        {"gateway: {\n  data_dir = \"\";\n};\n", 2, "must not be empty", NULL},
        {"gateway: {\n  agents_dir = [\"a\"];\n};\n", 2, "must be a string, not an array", NULL},
        {"gatway: { };\n", 1, "unknown group \"gatway\"", "did you mean \"gateway\""},
        {"gateway = 5;\n", 1, "gateway must be a group", NULL},
        {"gateway: {\n  listen = \"tcp://a:1\";\n  batch_max = = 3;\n};\n", 3, "syntax error",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_config *cfg = NULL;
        mn_diag d = {0};
        char where[256];
        s_write(f->conf, cases[i].text);
        int rc = gw_config_load(f->conf, &cfg, &d);
        if (rc != MN_ECONFIG)
            fail_msg("case %zu: rc %d, %s: %s", i, rc, d.where, d.what);
        assert_null(cfg);
        assert_int_equal(d.code, MN_ECONFIG);
        snprintf(where, sizeof where, "%s:%d", f->conf, cases[i].line);
        if (strcmp(d.where, where) != 0 || !strstr(d.what, cases[i].what))
            fail_msg("case %zu: got \"%s: %s\", want \"%s: ...%s...\"", i, d.where, d.what,
                     where, cases[i].what);
        if (cases[i].hint && cases[i].hint[0] && !strstr(d.hint, cases[i].hint))
            fail_msg("case %zu: hint \"%s\" lacks \"%s\"", i, d.hint, cases[i].hint);
        if (cases[i].hint && !cases[i].hint[0] && strstr(d.hint, "did you mean"))
            fail_msg("case %zu: hint \"%s\" suggests a far name", i, d.hint);
    }
}

static void test_missing_file_and_agents_dir(void **state)
{
    struct fixture *f = *state;
    gw_config *cfg = NULL;
    mn_diag d = {0};
    char path[256];

    snprintf(path, sizeof path, "%s/nope.conf", f->home);
    assert_int_equal(gw_config_load(path, &cfg, &d), MN_ESYS);
    assert_null(cfg);
    assert_int_equal(d.sys_errno, ENOENT);
    assert_non_null(strstr(d.hint, "meldnetctl init"));

    s_write(f->conf, "gateway: {\n  agents_dir = \"parties\";\n};\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_ECONFIG);
    assert_null(cfg);
    assert_non_null(strstr(d.where, "/parties"));
    assert_non_null(strstr(d.what, "does not exist"));
    assert_non_null(strstr(d.hint, "mkdir"));
}

/* --- agents --------------------------------------------------------------------------------- */

static void test_agents_load_sorted(void **state)
{
    struct fixture *f = *state;
    char la[MN_PUBLIC_LINE_MAX], lb[MN_PUBLIC_LINE_MAX], body[1024];
    mn_pubkey pa, pb;
    gw_config *cfg = NULL;
    mn_diag d = {0};

    s_line(MN_ROLE_AGENT, "zeeland-hotline", la, sizeof la, &pa);
    s_line(MN_ROLE_AGENT, "amsterdam.wijkteam-3", lb, sizeof lb, &pb);
    snprintf(body, sizeof body, "name = \"zeeland-hotline\";\nkey = \"%s\";\n"
             "region = \"Zeeland-West-Brabant\";\n", la);
    s_agent_file(f, "zeeland-hotline.conf", body);
    snprintf(body, sizeof body, "# no region: unknown\nname = \"amsterdam.wijkteam-3\";\n"
             "key = \"%s\";\n", lb);
    s_agent_file(f, "amsterdam.wijkteam-3.conf", body);
    s_agent_file(f, "README", "not an agent file\n");
    s_agent_file(f, ".zeeland-hotline.conf.swp", "editor junk\n");
    s_write(f->conf, "gateway: { };\n");

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
    assert_int_equal(gw_config_load_agents(f->agents, &list, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "amsterdam.wijkteam-3");
    free(list);
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

struct agent_case {
    const char *file;
    const char *body; /* @KEY@ = a public line */
    mn_role role;
    const char *line_name;
    int code;
    int line;         /* 0: where is the file itself */
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
        {"gina.conf", "name = \"gina\";\n\nkey = \"@KEY@\";\n", MN_ROLE_PARTNER, "gina",
         MN_EKEY, 3, "of a partner, not of an agent"},
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
        s_line(cases[i].role, cases[i].line_name, line, sizeof line, NULL);
        s_subst(body, sizeof body, cases[i].body, line);
        s_agent_file(f, cases[i].file, body);
        int rc = gw_config_load_agents(f->agents, &list, &n, &d);
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

    s_line(MN_ROLE_AGENT, "alice", line, sizeof line, NULL);
    snprintf(body, sizeof body, "name = \"alice\";\nkey = \"%s\";\n", line);
    s_agent_file(f, "alice.conf", body);
    /* the same keys under another name: "meldnet1 agent alice ..." -> "meldnet1 agent bob ..." */
    const char *rest = strstr(line, " curve=");
    assert_non_null(rest);
    snprintf(copy, sizeof copy, "meldnet1 agent bob%s", rest);
    snprintf(body, sizeof body, "name = \"bob\";\nkey = \"%s\";\n", copy);
    s_agent_file(f, "bob.conf", body);

    assert_int_equal(gw_config_load_agents(f->agents, &list, &n, &d), MN_EKEY);
    assert_null(list);
    assert_non_null(strstr(d.what, "\"alice\" and \"bob\" have the same CURVE key"));
    assert_non_null(strstr(d.where, "bob.conf"));

    /* a config with that agents folder fails the same way */
    gw_config *cfg = NULL;
    s_write(f->conf, "gateway: { };\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_EKEY);
    assert_null(cfg);
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

    s_line(MN_ROLE_AGENT, "hotline-oost", line, sizeof line, &pa);
    s_line(MN_ROLE_AGENT, "fryslan", line, sizeof line, &pb);
    s_line(MN_ROLE_PARTNER, "police", line, sizeof line, &partner);

    assert_int_equal(gw_config_write_agent(f->agents, "hotline-oost", "Oost-Nederland", &pa, &d),
                     MN_OK);
    assert_int_equal(gw_config_write_agent(f->agents, "fryslan", "Fryslân", &pb, &d), MN_OK);
    snprintf(path, sizeof path, "%s/hotline-oost.conf", f->agents);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));

    assert_int_equal(gw_config_load_agents(f->agents, &list, &n, &d), MN_OK);
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
    assert_int_equal(gw_config_write_agent(f->agents, "hotline-oost", "x", &pa, &d), MN_EEXIST);
    assert_non_null(strstr(d.what, "exists already"));
    /* refused input */
    assert_int_equal(gw_config_write_agent(f->agents, "hotline-oost", "a\"b", &pa, &d),
                     MN_EINVAL);
    assert_int_equal(gw_config_write_agent(f->agents, "bad/name", NULL, &pa, &d), MN_EINVAL);
    assert_int_equal(gw_config_write_agent(f->agents, "other", NULL, &pa, &d), MN_EINVAL);
    assert_int_equal(gw_config_write_agent(f->agents, "police", NULL, &partner, &d), MN_EINVAL);
    char missing[256];
    snprintf(missing, sizeof missing, "%s/none", f->root);
    mn_pubkey pc;
    s_line(MN_ROLE_AGENT, "new", line, sizeof line, &pc);
    assert_int_equal(gw_config_write_agent(missing, "new", NULL, &pc, &d), MN_ESYS);

    /* no region: "unknown" */
    assert_int_equal(gw_config_write_agent(f->agents, "new", NULL, &pc, &d), MN_OK);
    assert_int_equal(gw_config_load_agents(f->agents, &list, &n, &d), MN_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[2].name, "new");
    assert_string_equal(list[2].region, "unknown");
    free(list);
}

static void test_template_has_every_setting(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "listen = \"tcp://127.0.0.1:7411\";", "identity = \"keys/gateway.key\";",
        "digest_key = \"keys/digest.key\";",  "registry_key = \"keys/registry.pub\";",
        "agents_dir = \"agents\";",           "data_dir = \"data\";",
        "run_dir = \"run\";",                 "max_frame_bytes = 3145728;",
        "map_size_mb = 1024;",                "batch_max = 256;",
        "log_level = \"info\";",
    };
    const char *t = gw_config_template();
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(t, lines[i]))
            fail_msg("template lacks %s", lines[i]);
    /* 100 columns at most */
    size_t col = 0;
    for (const char *p = t; *p; p++) {
        col = *p == '\n' ? 0 : col + 1;
        assert_true(col <= 100);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_example_is_the_template_and_loads, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_defaults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_values_and_paths, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_settings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_and_agents_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agents_load_sorted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_duplicate_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_write_agent_then_load, s_setup, s_teardown),
        cmocka_unit_test(test_template_has_every_setting),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    return cmocka_run_group_tests_name("gw_config", tests, NULL, NULL);
}
