/* test_gw_config - gateway.conf and routes: template, defaults, every setting, every error
 * with file:line.
 *
 * The source tree is found through $MN_SRCDIR (default "."): examples/gateway.conf must equal
 * gw_config_template() and load. It is loaded from a copy in a temporary home, because a
 * configuration needs its agents and partners folders and examples/ ships neither.
 * The agent and partner files are tested in test_gw_parties and test_gw_party_file.
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
#include "gw_rules.h"
#include "mn_key.h"
#include "mn_referral.h"

static int s_setup(void **state)
{
    return home_setup(state, "test_gw_config");
}

static int s_teardown(void **state)
{
    return home_teardown(state);
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
    assert_string_equal(cfg->delivery_listen, "tcp://127.0.0.1:7412");
    snprintf(want, sizeof want, "%s/keys/pseudonym.key", real);
    assert_string_equal(cfg->pseudonym_key, want);
    snprintf(want, sizeof want, "%s/partners", real);
    assert_string_equal(cfg->partners_dir, want);
    assert_int_equal(cfg->redelivery_ms, 30000);
    assert_int_equal(cfg->max_nacks, 3);
    assert_int_equal(cfg->transient_retry_hours, 72);
    assert_int_equal(cfg->max_item_age_hours, 168);
    assert_int_equal(cfg->n_partners, 0);
    /* no routes: a copy of the default rules */
    size_t n_defaults = 0;
    const gw_rule *defaults = gw_rules_defaults(&n_defaults);
    assert_true(n_defaults > 0);
    assert_int_equal(cfg->n_rules, n_defaults);
    assert_non_null(cfg->rules);
    assert_ptr_not_equal(cfg->rules, defaults);
    assert_string_equal(cfg->rules[0].name, defaults[0].name);
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
    char *text = home_read(path);
    assert_string_equal(text, gw_config_template());
    home_write(f->conf, text);
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

    home_write(f->conf, "# nothing set\ngateway: { };\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_OK);
    s_check_defaults(f, cfg);
    gw_config_destroy(&cfg);

    home_write(f->conf, "");
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

    home_write(f->conf, "gateway:\n{\n"
                        "  listen = \"tcp://0.0.0.0:9000\";\n"
                        "  identity = \"/etc/meldnet/gw.key\";\n"
                        "  data_dir = \"../store\";\n"
                        "  max_frame_bytes = 4096;\n"
                        "  map_size_mb = 1048576;\n"
                        "  batch_max = 1;\n"
                        "  log_level = \"debug\";\n"
                        "  delivery_listen = \"tcp://0.0.0.0:9001\";\n"
                        "  pseudonym_key = \"/etc/meldnet/pseudo.key\";\n"
                        "  partners_dir = \"recipients\";\n"
                        "  redelivery_ms = 1000;\n"
                        "  max_nacks = 100;\n"
                        "  transient_retry_hours = 8760;\n"
                        "  max_item_age_hours = 8760;\n"
                        "};\n");
    char recipients[256];
    snprintf(recipients, sizeof recipients, "%s/recipients", f->home);
    assert_int_equal(mkdir(recipients, 0700), 0);
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
    assert_string_equal(cfg->delivery_listen, "tcp://0.0.0.0:9001");
    assert_string_equal(cfg->pseudonym_key, "/etc/meldnet/pseudo.key");
    snprintf(want, sizeof want, "%s/recipients", real);
    assert_string_equal(cfg->partners_dir, want);
    assert_int_equal(cfg->redelivery_ms, 1000);
    assert_int_equal(cfg->max_nacks, 100);
    assert_int_equal(cfg->transient_retry_hours, 8760);
    assert_int_equal(cfg->max_item_age_hours, 8760);
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
        {"gateway:\n{\n    lisen = \"tcp://127.0.0.1:1\";\n};\n", 3, "unknown setting \"lisen\"",
         "did you mean \"listen\""},
        {"gateway: {\n  map_size = 64;\n};\n", 2, "unknown setting \"map_size\"",
         "did you mean \"map_size_mb\""},
        {"gateway: {\n  data = \"d\";\n};\n", 2, "unknown setting \"data\"",
         "did you mean \"data_dir\""},
        {"gateway: {\n  zzzzqqqq = 1;\n};\n", 2, "unknown setting \"zzzzqqqq\"", ""},
        {"gateway: {\n  max_frame_bytes = 100;\n};\n", 2, "out of bounds (4096 .. 16777216)", NULL},
        {"gateway: {\n  max_frame_bytes = 16777217;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n\n  map_size_mb = \"big\";\n};\n", 3,
         "map_size_mb must be a whole number, not a string", NULL},
        {"gateway: {\n  map_size_mb = 8;\n};\n", 2, "out of bounds (16 .. 1048576)", NULL},
        {"gateway: {\n  batch_max = 5000;\n};\n", 2, "out of bounds (1 .. 4096)", NULL},
        {"gateway: {\n  batch_max = 0;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n  batch_max = 1.5;\n};\n", 2, "must be a whole number, not a decimal", NULL},
        {"gateway: {\n  batch_max = 99999999999L;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n  listen = 7411;\n};\n", 2, "listen must be a string", NULL},
        {"gateway: {\n  listen = \"localhost\";\n};\n", 2, "not a ZeroMQ endpoint", NULL},
        {"gateway: {\n  log_level = \"inof\";\n};\n", 2, "not a level", "did you mean \"info\""},
        {"gateway: {\n  data_dir = \"\";\n};\n", 2, "must not be empty", NULL},
        {"gateway: {\n  agents_dir = [\"a\"];\n};\n", 2, "must be a string, not an array", NULL},
        {"gatway: { };\n", 1, "unknown group \"gatway\"", "did you mean \"gateway\""},
        {"gateway = 5;\n", 1, "gateway must be a group", NULL},
        {"gateway: {\n  listen = \"tcp://a:1\";\n  batch_max = = 3;\n};\n", 3, "syntax error",
         NULL},
        {"gateway: {\n  delivery_listen = \"7412\";\n};\n", 2,
         "delivery_listen \"7412\" is not a ZeroMQ endpoint", NULL},
        {"gateway: {\n  delivery_listn = \"tcp://a:1\";\n};\n", 2,
         "unknown setting \"delivery_listn\"", "did you mean \"delivery_listen\""},
        {"gateway: {\n  listen = \"tcp://127.0.0.1:7412\";\n};\n", 2,
         "delivery_listen and listen are both", NULL},
        {"gateway: {\n  listen = \"tcp://a:1\";\n\n  delivery_listen = \"tcp://a:1\";\n};\n", 4,
         "delivery_listen and listen are both", NULL},
        {"gateway: {\n  redelivery_ms = 999;\n};\n", 2, "out of bounds (1000 .. 3600000)", NULL},
        {"gateway: {\n  redelivery_ms = 3600001;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n  max_nacks = 0;\n};\n", 2, "out of bounds (1 .. 100)", NULL},
        {"gateway: {\n  max_nacks = 101;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n  transient_retry_hours = 0;\n};\n", 2, "out of bounds (1 .. 8760)", NULL},
        {"gateway: {\n  max_item_age_hours = 0;\n};\n", 2, "out of bounds (1 .. 8760)", NULL},
        {"gateway: {\n  max_item_age_hours = 8761;\n};\n", 2, "out of bounds", NULL},
        {"gateway: {\n  max_item_age_hours = \"168\";\n};\n", 2, "must be a whole number", NULL},
        {"gateway: {\n  pseudonym_key = 1;\n};\n", 2, "pseudonym_key must be a string", NULL},
        {"gateway: {\n  partners_dir = \"\";\n};\n", 2, "must not be empty", NULL},
        {"gateway: { };\nrouts = ( );\n", 2, "unknown group \"routs\"", "did you mean \"routes\""},
        {"gateway: { };\n\nroutes = 5;\n", 3, "routes", NULL},
        {"routes = (\n  { name = \"x\"; when = { acute = true; }; emit = [ \"police.acute\" ]; },"
         "\n  { name = \"y\"; emit = [ \"Bad Topic\" ]; }\n);\n",
         3, "Bad Topic", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_config *cfg = NULL;
        mn_diag d = {0};
        char where[256];
        home_write(f->conf, cases[i].text);
        int rc = gw_config_load(f->conf, &cfg, &d);
        if (rc != MN_ECONFIG)
            fail_msg("case %zu: rc %d, %s: %s", i, rc, d.where, d.what);
        assert_null(cfg);
        assert_int_equal(d.code, MN_ECONFIG);
        snprintf(where, sizeof where, "%s:%d", f->conf, cases[i].line);
        if (strcmp(d.where, where) != 0 || !strstr(d.what, cases[i].what))
            fail_msg("case %zu: got \"%s: %s\", want \"%s: ...%s...\"", i, d.where, d.what, where,
                     cases[i].what);
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

    home_write(f->conf, "gateway: {\n  agents_dir = \"parties\";\n};\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_ECONFIG);
    assert_null(cfg);
    assert_non_null(strstr(d.where, "/parties"));
    assert_non_null(strstr(d.what, "does not exist"));
    assert_non_null(strstr(d.hint, "mkdir"));

    home_write(f->conf, "gateway: {\n  partners_dir = \"recipients\";\n};\n");
    assert_int_equal(gw_config_load(f->conf, &cfg, &d), MN_ECONFIG);
    assert_null(cfg);
    assert_non_null(strstr(d.where, "/recipients"));
    assert_non_null(strstr(d.what, "the partners folder does not exist"));
    assert_non_null(strstr(d.hint, "mkdir -m 700"));
    assert_non_null(strstr(d.hint, "partners_dir"));
    assert_non_null(strstr(d.hint, "meldnetctl init"));
}

/* Every setting set to a value other than its default reaches its own field (the settings
 * table says where each one goes). */
static void test_every_setting_lands_in_its_field(void **state)
{
    struct fixture *f = *state;
    gw_config *cfg = NULL;
    mn_diag d = {0};
    char real[4096], want[4200], dir[256];

    snprintf(dir, sizeof dir, "%s/a-dir", f->home);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(dir, sizeof dir, "%s/p-dir", f->home);
    assert_int_equal(mkdir(dir, 0700), 0);
    home_write(f->conf, "gateway:\n{\n"
                        "  listen = \"tcp://127.0.0.1:1001\";\n"
                        "  identity = \"k/id.key\";\n"
                        "  digest_key = \"k/digest.key\";\n"
                        "  registry_key = \"k/registry.pub\";\n"
                        "  agents_dir = \"a-dir\";\n"
                        "  data_dir = \"d-dir\";\n"
                        "  ledger_file = \"l.ledger\";\n"
                        "  run_dir = \"r-dir\";\n"
                        "  max_frame_bytes = 4097;\n"
                        "  map_size_mb = 18;\n"
                        "  batch_max = 2;\n"
                        "  log_level = \"warn\";\n"
                        "  delivery_listen = \"tcp://127.0.0.1:1002\";\n"
                        "  pseudonym_key = \"k/pseudo.key\";\n"
                        "  partners_dir = \"p-dir\";\n"
                        "  redelivery_ms = 1001;\n"
                        "  max_nacks = 4;\n"
                        "  transient_retry_hours = 73;\n"
                        "  max_item_age_hours = 169;\n"
                        "  agent_rate_per_s = 7;\n"
                        "  agent_burst = 5001;\n"
                        "  min_free_mb = 1;\n"
                        "  workers = 3;\n"
                        "  inflight_max = 17;\n"
                        "  agent_inflight_max = 66;\n"
                        "  handshakes_per_address_max = 9;\n"
                        "  handshakes_max = 67;\n"
                        "  metrics_listen = \"127.0.0.1:9465\";\n"
                        "};\n");
    if (gw_config_load(f->conf, &cfg, &d) != MN_OK)
        fail_msg("%s: %s (%s)", d.where, d.what, d.hint);
    assert_non_null(realpath(f->home, real));
    assert_string_equal(cfg->listen, "tcp://127.0.0.1:1001");
    snprintf(want, sizeof want, "%s/k/id.key", real);
    assert_string_equal(cfg->identity, want);
    snprintf(want, sizeof want, "%s/k/digest.key", real);
    assert_string_equal(cfg->digest_key, want);
    snprintf(want, sizeof want, "%s/k/registry.pub", real);
    assert_string_equal(cfg->registry_key, want);
    snprintf(want, sizeof want, "%s/a-dir", real);
    assert_string_equal(cfg->agents_dir, want);
    snprintf(want, sizeof want, "%s/d-dir", real);
    assert_string_equal(cfg->data_dir, want);
    snprintf(want, sizeof want, "%s/l.ledger", real);
    assert_string_equal(cfg->ledger_file, want);
    snprintf(want, sizeof want, "%s/r-dir", real);
    assert_string_equal(cfg->run_dir, want);
    assert_int_equal(cfg->max_frame_bytes, 4097);
    assert_int_equal(cfg->map_size_mb, 18);
    assert_int_equal(cfg->batch_max, 2);
    assert_string_equal(cfg->log_level, "warn");
    assert_string_equal(cfg->delivery_listen, "tcp://127.0.0.1:1002");
    snprintf(want, sizeof want, "%s/k/pseudo.key", real);
    assert_string_equal(cfg->pseudonym_key, want);
    snprintf(want, sizeof want, "%s/p-dir", real);
    assert_string_equal(cfg->partners_dir, want);
    assert_int_equal(cfg->redelivery_ms, 1001);
    assert_int_equal(cfg->max_nacks, 4);
    assert_int_equal(cfg->transient_retry_hours, 73);
    assert_int_equal(cfg->max_item_age_hours, 169);
    assert_int_equal(cfg->agent_rate_per_s, 7);
    assert_int_equal(cfg->agent_burst, 5001);
    assert_int_equal(cfg->min_free_mb, 1);
    assert_int_equal(cfg->workers, 3);
    assert_int_equal(cfg->inflight_max, 17);
    assert_int_equal(cfg->agent_inflight_max, 66);
    assert_int_equal(cfg->handshakes_per_address_max, 9);
    assert_int_equal(cfg->handshakes_max, 67);
    assert_string_equal(cfg->metrics_listen, "127.0.0.1:9465");
    gw_config_destroy(&cfg);
}

/* --- routes --------------------------------------------------------------------------------- */

/* The template's commented "routes" example, uncommented, parses to the default rules. */
static void test_template_routes_are_the_defaults(void **state)
{
    struct fixture *f = *state;
    const char *t = gw_config_template();
    const char *start = strstr(t, "# routes = (\n");
    const char *end = start ? strstr(start, "# );\n") : NULL;
    char text[8192];
    size_t o = 0;
    gw_config *cfg = NULL;
    mn_diag d = {0};

    assert_non_null(end);
    end += strlen("# );\n");
    for (const char *p = start; p < end;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(strncmp(p, "# ", 2) == 0);
        size_t len = (size_t)(nl + 1 - (p + 2));
        assert_true(o + len < sizeof text);
        memcpy(text + o, p + 2, len);
        o += len;
        p = nl + 1;
    }
    text[o] = '\0';
    home_write(f->conf, text);
    if (gw_config_load(f->conf, &cfg, &d) != MN_OK)
        fail_msg("%s: %s (%s)", d.where, d.what, d.hint);
    size_t n = 0;
    const gw_rule *def = gw_rules_defaults(&n);
    assert_int_equal(cfg->n_rules, n);
    for (size_t i = 0; i < n; i++) {
        const gw_rule *a = &cfg->rules[i], *b = &def[i];
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->acute, b->acute);
        assert_int_equal(a->minor, b->minor);
        assert_int_equal(a->online, b->online);
        assert_int_equal(a->shelter, b->shelter);
        assert_int_equal(a->forms, b->forms);
        assert_int_equal(a->sexual, b->sexual);
        assert_int_equal(a->reporter_types, b->reporter_types);
        assert_int_equal(a->reporter_kinds, b->reporter_kinds);
        assert_int_equal(a->n_regions, b->n_regions);
        assert_int_equal(a->n_municipalities, b->n_municipalities);
        assert_memory_equal(a->consent, b->consent, sizeof a->consent);
        assert_int_equal(a->n_emit, b->n_emit);
        for (size_t k = 0; k < a->n_emit; k++)
            assert_string_equal(a->emit[k], b->emit[k]);
        assert_int_equal(a->overrides_consent, b->overrides_consent);
        assert_true(a->line > 0);
    }
    gw_config_destroy(&cfg);
}

static void test_routes_present(void **state)
{
    struct fixture *f = *state;
    gw_config *cfg = NULL;
    mn_diag d = {0};

    home_write(f->conf, "gateway: { log_level = \"debug\"; };\n"
                        "routes = (\n"
                        "  { name = \"acute-only\"; when = { acute = true; };\n"
                        "    emit = [ \"police.acute\" ]; overrides_consent = true; },\n"
                        "  { name = \"everything\"; emit = [ \"hotline.{region}\" ]; }\n"
                        ");\n");
    if (gw_config_load(f->conf, &cfg, &d) != MN_OK)
        fail_msg("%s: %s (%s)", d.where, d.what, d.hint);
    assert_int_equal(cfg->n_rules, 2);
    assert_string_equal(cfg->rules[0].name, "acute-only");
    assert_int_equal(cfg->rules[0].acute, 1);
    assert_int_equal(cfg->rules[0].overrides_consent, 1);
    assert_int_equal(cfg->rules[0].line, 3);
    assert_string_equal(cfg->rules[1].name, "everything");
    assert_string_equal(cfg->rules[1].emit[0], "hotline.{region}");
    assert_string_equal(cfg->log_level, "debug");
    gw_config_destroy(&cfg);
}

static void test_template_has_every_setting(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "listen = \"tcp://127.0.0.1:7411\";",
        "identity = \"keys/gateway.key\";",
        "digest_key = \"keys/digest.key\";",
        "registry_key = \"keys/registry.pub\";",
        "agents_dir = \"agents\";",
        "data_dir = \"data\";",
        "run_dir = \"run\";",
        "max_frame_bytes = 3145728;",
        "map_size_mb = 1024;",
        "batch_max = 256;",
        "log_level = \"info\";",
        "delivery_listen = \"tcp://127.0.0.1:7412\";",
        "pseudonym_key = \"keys/pseudonym.key\";",
        "partners_dir = \"partners\";",
        "redelivery_ms = 30000;",
        "max_nacks = 3;",
        "max_item_age_hours = 168;",
        "# routes = (",
        "handshakes_per_address_max = 8;",
        "handshakes_max = 64;",
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
        cmocka_unit_test(test_template_has_every_setting),
        cmocka_unit_test_setup_teardown(test_template_routes_are_the_defaults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_routes_present, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_every_setting_lands_in_its_field, s_setup, s_teardown),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    return cmocka_run_group_tests_name("gw_config", tests, NULL, NULL);
}
