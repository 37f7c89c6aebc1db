/* ctl - meldnetctl: make and inspect a gateway home (init, keygen, agents, registry, status).
 *
 * Every command works on a gateway home (see gw_config.h for its layout), named by --home,
 * else $MELDNET_HOME, else ./meldnet-home. Commands that only read (agent list, registry,
 * status) may run while the gateway runs: the store is opened read-only.
 *
 * Output: results on stdout (a public line, a number, JSON), progress notes and warnings on
 * stderr. Exit 0 on success, 1 on failure, 2 on a usage error.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <time.h>

#include "gw_config.h"
#include "gw_store.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_report.h"

#define S_PROG "meldnetctl"
#define S_EXIT_OK 0
#define S_EXIT_FAIL 1
#define S_EXIT_USAGE 2
#define S_RECORD_MAX_BYTES (MN_REPORT_MAX_BYTES + 4096) /* a report plus the record's fields */

static const char *s_home_opt; /* --home given before the command */

static const char s_usage[] =
    "usage: meldnetctl [--home DIR] COMMAND [ARGS]\n"
    "\n"
    "Make and inspect a meldnet gateway home.\n"
    "\n"
    "commands:\n"
    "  init --home DIR [--listen ENDPOINT]       make a new gateway home with fresh keys\n"
    "  keygen --role ROLE --name NAME --out DIR  make an identity: DIR/NAME.key, DIR/NAME.pub\n"
    "  agent add NAME \"LINE\" [--region R]        register an agent by its public line\n"
    "  agent list                                the agents: name, region, fingerprint\n"
    "  registry count                            number of registrations\n"
    "  registry show REG --registry-key FILE     open one registry record, print it as JSON\n"
    "  status                                    counters of the running gateway\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help; `meldnetctl COMMAND --help` explains one command\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static const char s_usage_init[] =
    "usage: meldnetctl init --home DIR [--listen ENDPOINT]\n"
    "\n"
    "Make a new gateway home in DIR (which must not exist, or be empty), all folders 0700:\n"
    "  gateway.conf                   the configuration, every setting commented\n"
    "  keys/gateway.key, .pub         the gateway identity (secret 0600) and its public line\n"
    "  keys/digest.key                secret key of the dedup digests (0600)\n"
    "  keys/registry.pub              the registry's public line: records are sealed to it\n"
    "  registry-secret/registry.key   the registry's secret key: move it to the registry's\n"
    "                                 operators; the gateway never needs it\n"
    "  agents/ data/ run/\n"
    "\n"
    "options:\n"
    "  --home DIR           the new home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  --listen ENDPOINT    ingest endpoint for agents (default tcp://127.0.0.1:7411)\n"
    "  -h, --help           this help\n";

static const char s_usage_keygen[] =
    "usage: meldnetctl keygen --role ROLE --name NAME --out DIR\n"
    "\n"
    "Make a fresh identity: DIR/NAME.key (secret, 0600) and DIR/NAME.pub (its public line).\n"
    "DIR is created (0700) when missing; existing files are never overwritten.\n"
    "Prints the public line on stdout.\n"
    "\n"
    "options:\n"
    "  --role ROLE   agent, partner, gateway or registry\n"
    "  --name NAME   1-64 characters of A-Z a-z 0-9 . _ -\n"
    "  --out DIR     where to write the two files\n"
    "  -h, --help    this help\n";

static const char s_usage_agent[] =
    "usage: meldnetctl agent add NAME \"LINE\" [--region REGION] [--home DIR]\n"
    "       meldnetctl agent list [--home DIR]\n"
    "\n"
    "add   register agent NAME by the public line it printed (meldnet-agent keygen); writes\n"
    "      agents/NAME.conf. Reload or restart the gateway to apply.\n"
    "list  print the agents: name, region and key fingerprint, sorted by name.\n"
    "\n"
    "`meldnetctl agent add --help` and `meldnetctl agent list --help` explain each.\n";

static const char s_usage_agent_add[] =
    "usage: meldnetctl agent add NAME \"LINE\" [--region REGION] [--home DIR]\n"
    "\n"
    "Register agent NAME: LINE is the public line the agent printed, whole, in quotes\n"
    "(\"meldnet1 agent NAME curve=... sign=... box=...\"). Writes agents/NAME.conf in the\n"
    "home. Reload or restart the gateway to apply.\n"
    "\n"
    "options:\n"
    "  --region REGION   the agent's region (police unit / care region; default \"unknown\")\n"
    "  --home DIR        the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help        this help\n";

static const char s_usage_agent_list[] =
    "usage: meldnetctl agent list [--home DIR]\n"
    "\n"
    "Print one line per agent: name, region and key fingerprint (the fingerprint the\n"
    "gateway logs), sorted by name, after a header line.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_registry[] =
    "usage: meldnetctl registry count [--home DIR]\n"
    "       meldnetctl registry show REG --registry-key FILE [--home DIR]\n"
    "\n"
    "count  print the number of registrations (just the number)\n"
    "show   open registration REG (MN-00000042 or 42) with the registry's secret key and\n"
    "       print it as JSON\n"
    "\n"
    "`meldnetctl registry count --help` and `meldnetctl registry show --help` explain each.\n";

static const char s_usage_registry_count[] =
    "usage: meldnetctl registry count [--home DIR]\n"
    "\n"
    "Print the number of registrations in the store. Safe while the gateway runs.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_registry_show[] =
    "usage: meldnetctl registry show REG --registry-key FILE [--home DIR]\n"
    "\n"
    "Open registration REG (MN-00000042 or 42) with the registry's secret key FILE (the\n"
    "registry-secret/registry.key made by init) and print it as JSON: registration, agent,\n"
    "accepted_at, created_at, envelope_id and the report. The output holds the report in\n"
    "clear: run it only where the registry's operators may read reports.\n"
    "\n"
    "options:\n"
    "  --registry-key FILE   the registry's secret key file (0600)\n"
    "  --home DIR            the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help            this help\n";

static const char s_usage_status[] =
    "usage: meldnetctl status [--home DIR]\n"
    "\n"
    "Print the counters the running gateway writes to run/status.json.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

/* --- helpers -------------------------------------------------------------------------------- */

static int s_usage_error(const char *cmd, const char *fmt, ...) MN_PRINTF(2, 3);

/* A usage problem: say what, point at the help, exit status 2. fmt NULL: getopt said it. */
static int s_usage_error(const char *cmd, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", S_PROG);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    fprintf(stderr, "Try '%s%s%s --help'.\n", S_PROG, cmd[0] ? " " : "", cmd);
    return S_EXIT_USAGE;
}

static int s_fail(const mn_diag *d)
{
    mn_diag_print(S_PROG, d);
    return S_EXIT_FAIL;
}

static const char *s_home(const char *opt)
{
    const char *env = getenv("MELDNET_HOME");
    if (opt && opt[0])
        return opt;
    if (s_home_opt && s_home_opt[0])
        return s_home_opt;
    if (env && env[0])
        return env;
    return "./meldnet-home";
}

static int s_path(char *buf, size_t cap, const char *dir, const char *name, mn_diag *d)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return mn_diag_set(d, MN_EINVAL, dir, "path too long");
    return MN_OK;
}

/* Load HOME/gateway.conf, with a clear message when HOME is not a gateway home. */
static int s_load_config(const char *home, gw_config **cfg, mn_diag *d)
{
    char path[GW_PATH_MAX];
    struct stat st;
    int rc = s_path(path, sizeof path, home, "gateway.conf", d);
    if (rc != MN_OK)
        goto out;
    if (stat(path, &st) != 0) {
        rc = mn_diag_sys(d, path, "no gateway home at %s", home);
        mn_diag_hint(d, "make one with `meldnetctl init --home %s`, or name it with --home DIR "
                        "or $MELDNET_HOME", home);
        goto out;
    }
    rc = gw_config_load(path, cfg, d);
out:
    return rc;
}

/* An option of a command that takes a value: --NAME VALUE sets *value. */
typedef struct s_opt {
    const char *name;
    const char **value;
} s_opt;

#define S_OPTS_MAX 4     /* s_opt entries a command may have */
#define S_OPT_VAL 0x100  /* getopt_long's value for opts[0]; above every short option */
#define S_GO_ON (-1)     /* from s_options: parsed, run the command */

/* Parse the options of command `cmd` (argv[0] is its label, for getopt's messages): each of
 * `opts` (ended by {NULL, NULL}), and -h/--help, which prints `usage`. Then exactly
 * n_operands operands must remain, from optind on; a wrong count is a usage error that says
 * `operands_error` (with n_operands 0: names the first unexpected argument).
 * Returns S_GO_ON to run the command, else the exit status: S_EXIT_OK after help,
 * S_EXIT_USAGE after saying what is wrong. */
static int s_options(int argc, char **argv, const char *cmd, const char *usage,
                     const s_opt *opts, int n_operands, const char *operands_error)
{
    struct option lopts[S_OPTS_MAX + 2];
    int n = 0, c;

    for (; opts[n].name; n++) {
        assert(n < S_OPTS_MAX);
        lopts[n] = (struct option){opts[n].name, required_argument, NULL, S_OPT_VAL + n};
    }
    lopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[n + 1] = (struct option){NULL, 0, NULL, 0};

    optind = 0; /* a new argument vector (glibc: 0 also resets its internal state) */
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return S_EXIT_OK;
        }
        if (c < S_OPT_VAL || c >= S_OPT_VAL + n)
            return s_usage_error(cmd, NULL);
        *opts[c - S_OPT_VAL].value = optarg;
    }
    if (n_operands == 0 && optind < argc)
        return s_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
    if (argc - optind != n_operands)
        return s_usage_error(cmd, "%s", operands_error);
    return S_GO_ON;
}

/* A command or subcommand: its name, what runs it, and the argv[0] it runs with. */
typedef struct s_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *label; /* getopt names argv[0] in its messages */
} s_command;

/* The command of table[0 .. n-1] called `name`, or NULL. */
static const s_command *s_command_find(const s_command *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/* `meldnetctl GROUP SUB ...` (argv[0] is GROUP): run SUB, one of subs[0 .. n-1] (`names`
 * lists them for the error), or print the group's usage. Returns an exit status. */
static int s_group(int argc, char **argv, const char *group, const char *usage,
                   const s_command *subs, size_t n, const char *names)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? S_EXIT_USAGE : S_EXIT_OK;
    }
    const s_command *sub = s_command_find(subs, n, argv[1]);
    if (!sub)
        return s_usage_error(group, "unknown %s command \"%s\" (%s)", group, argv[1], names);
    argv[1] = (char *)sub->label;
    return sub->run(argc - 1, argv + 1);
}

/* --- init ----------------------------------------------------------------------------------- */

static int s_listen_is_valid(const char *ep)
{
    size_t len = strlen(ep);
    if (len == 0 || len >= sizeof ((gw_config *)NULL)->listen || !strstr(ep, "://"))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)ep[i];
        if (c < 0x21 || c == 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

/* The template with its listen line set to ep. Caller owns the result (free()). */
static char *s_conf_text(const char *ep)
{
    static const char mark[] = "\n    listen = \"";
    const char *tpl = gw_config_template();
    const char *start = strstr(tpl, mark);
    const char *end = start ? strstr(start + sizeof mark - 1, "\";") : NULL;
    char *text = NULL;
    if (!end)
        goto out;
    size_t head = (size_t)(start - tpl) + sizeof mark - 1;
    size_t len = head + strlen(ep) + strlen(end) + 1;
    text = malloc(len);
    if (!text)
        goto out;
    memcpy(text, tpl, head);
    snprintf(text + head, len - head, "%s%s", ep, end);
out:
    return text;
}

static int s_home_is_free(const char *home, mn_diag *d)
{
    struct stat st;
    DIR *dir = NULL;
    int rc = MN_OK;

    if (stat(home, &st) != 0) {
        if (errno != ENOENT)
            rc = mn_diag_sys(d, home, "cannot use the home folder");
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = mn_diag_set(d, MN_EEXIST, home, "exists and is not a folder");
        mn_diag_hint(d, "choose a new folder for the gateway home");
        goto out;
    }
    dir = opendir(home);
    if (!dir) {
        rc = mn_diag_sys(d, home, "cannot read the home folder");
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = mn_diag_set(d, MN_EEXIST, home, "exists and is not empty; init makes a new "
                             "home and never touches an existing one");
            mn_diag_hint(d, "choose a folder that does not exist yet (or is empty); an existing "
                            "home is used as it is, e.g. `meldnetctl status --home %s`", home);
            goto out;
        }
    }
out:
    if (dir)
        closedir(dir);
    return rc;
}

static int s_mkdir(const char *home, const char *name, mn_diag *d)
{
    char path[GW_PATH_MAX];
    int rc = s_path(path, sizeof path, home, name, d);
    if (rc != MN_OK)
        return rc;
    if (mkdir(path, 0700) != 0)
        return mn_diag_sys(d, path, "cannot create the folder");
    return MN_OK;
}

/* Make a fresh identity and save it in home: the secret at sec_name (0600), the public line at
 * pub_name. Caller owns *key. */
static int s_make_identity(const char *home, mn_role role, const char *name,
                           const char *sec_name, const char *pub_name, mn_key **key, mn_diag *d)
{
    char path[GW_PATH_MAX], pub[GW_PATH_MAX];
    int rc;
    if ((rc = mn_key_generate(role, name, key, d)) != MN_OK ||
        (rc = s_path(path, sizeof path, home, sec_name, d)) != MN_OK ||
        (rc = s_path(pub, sizeof pub, home, pub_name, d)) != MN_OK)
        return rc;
    return mn_key_save(*key, path, pub, d);
}

static int s_init(const char *home, const char *listen, mn_diag *d)
{
    static const char *const dirs[] = {"keys", "agents", "data", "run", "registry-secret"};
    char path[GW_PATH_MAX], real[PATH_MAX];
    char line[MN_PUBLIC_LINE_MAX];
    char *conf = NULL;
    mn_key *gateway = NULL, *registry = NULL;
    mn_secret32 *digest = NULL;
    gw_config *cfg = NULL;
    int made = 0; /* something was written: a failure leaves a partial home */
    int rc;

    rc = s_home_is_free(home, d);
    if (rc != MN_OK)
        goto out;
    if (mkdir(home, 0700) != 0 && errno != EEXIST) {
        rc = mn_diag_sys(d, home, "cannot create the home folder");
        if (errno == ENOENT)
            mn_diag_hint(d, "create its parent folder first");
        goto out;
    }
    made = 1;
    if (chmod(home, 0700) != 0) {
        rc = mn_diag_sys(d, home, "cannot make the home folder private (0700)");
        goto out;
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        rc = s_mkdir(home, dirs[i], d);
        if (rc != MN_OK)
            goto out;
    }

    conf = s_conf_text(listen);
    if (!conf) {
        rc = mn_diag_set(d, MN_ENOMEM, home, "cannot make gateway.conf from the template");
        goto out;
    }
    if ((rc = s_path(path, sizeof path, home, "gateway.conf", d)) != MN_OK ||
        (rc = mn_file_write_atomic(path, conf, strlen(conf), 0644, d)) != MN_OK)
        goto out;

    if ((rc = s_make_identity(home, MN_ROLE_GATEWAY, "gateway", "keys/gateway.key",
                              "keys/gateway.pub", &gateway, d)) != MN_OK)
        goto out;

    if ((rc = mn_secret32_generate(&digest, d)) != MN_OK ||
        (rc = s_path(path, sizeof path, home, "keys/digest.key", d)) != MN_OK ||
        (rc = mn_secret32_save(digest, path, d)) != MN_OK)
        goto out;

    if ((rc = s_make_identity(home, MN_ROLE_REGISTRY, "registry", "registry-secret/registry.key",
                              "keys/registry.pub", &registry, d)) != MN_OK)
        goto out;

    /* what init wrote must load; a failure here is our bug, not the operator's */
    if ((rc = s_path(path, sizeof path, home, "gateway.conf", d)) != MN_OK ||
        (rc = gw_config_load(path, &cfg, d)) != MN_OK)
        goto out;

    if (!realpath(home, real))
        snprintf(real, sizeof real, "%s", home);
    mn_pubkey_format(mn_key_public(gateway), line, sizeof line);
    printf("made gateway home %s\n"
           "  gateway.conf                  configuration (listen %s)\n"
           "  keys/gateway.key              gateway identity, secret (0600)\n"
           "  keys/gateway.pub              its public line: give it to every agent\n"
           "  keys/digest.key               key of the dedup digests, secret (0600)\n"
           "  keys/registry.pub             the registry's public line: records are sealed to it\n"
           "  registry-secret/registry.key  the registry's SECRET key\n"
           "  agents/ data/ run/            agent files, the store, status\n"
           "gateway public line:\n%s\n"
           "next: meldnetctl agent add NAME \"LINE\" --region REGION --home %s\n"
           "      meldnet-gateway --home %s\n",
           real, listen, line, home, home);
    fprintf(stderr, "%s: warning: %s/registry-secret/ holds the registry's secret key: it "
            "belongs with the registry's operators, not on the gateway host. Move it to them "
            "and remove it here before real reports arrive.\n", S_PROG, real);
    rc = MN_OK;
out:
    if (rc != MN_OK && made)
        fprintf(stderr, "%s: init stopped half-way: remove %s and run init again\n", S_PROG,
                home);
    gw_config_destroy(&cfg);
    mn_key_destroy(&gateway);
    mn_key_destroy(&registry);
    mn_secret32_destroy(&digest);
    free(conf);
    return rc;
}

static int s_cmd_init(int argc, char **argv)
{
    const char *home = NULL, *listen = "tcp://127.0.0.1:7411";
    const s_opt opts[] = {{"home", &home}, {"listen", &listen}, {NULL, NULL}};
    mn_diag d = {0};

    int rc = s_options(argc, argv, "init", s_usage_init, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    if (!s_listen_is_valid(listen))
        return s_usage_error("init", "--listen \"%s\" is not an endpoint like "
                             "tcp://127.0.0.1:7411", listen);
    if (s_init(s_home(home), listen, &d) != MN_OK)
        return s_fail(&d);
    return S_EXIT_OK;
}

/* --- keygen --------------------------------------------------------------------------------- */

static int s_cmd_keygen(int argc, char **argv)
{
    const char *role_text = NULL, *name = NULL, *out = NULL;
    const s_opt opts[] = {{"role", &role_text}, {"name", &name}, {"out", &out}, {NULL, NULL}};
    char path[GW_PATH_MAX], pub[GW_PATH_MAX], line[MN_PUBLIC_LINE_MAX];
    struct stat st;
    mn_key *key = NULL;
    mn_role role;
    mn_diag d = {0};

    int rc = s_options(argc, argv, "keygen", s_usage_keygen, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    if (!role_text || !name || !out)
        return s_usage_error("keygen", "%s", "--role, --name and --out are required");
    if (mn_role_parse(role_text, &role) != MN_OK)
        return s_usage_error("keygen", "--role \"%s\": use agent, partner, gateway or registry",
                             role_text);
    if (!mn_name_is_valid(name))
        return s_usage_error("keygen", "--name \"%s\": use 1-64 characters of A-Z a-z 0-9 . _ -",
                             name);
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        mn_diag_sys(&d, out, "cannot create the folder");
        goto out;
    }
    int n1 = snprintf(path, sizeof path, "%s/%s.key", out, name);
    int n2 = snprintf(pub, sizeof pub, "%s/%s.pub", out, name);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof path || (size_t)n2 >= sizeof pub) {
        mn_diag_set(&d, MN_EINVAL, out, "path too long");
        goto out;
    }
    if (stat(path, &st) == 0 || stat(pub, &st) == 0) {
        mn_diag_set(&d, MN_EEXIST, stat(path, &st) == 0 ? path : pub, "exists already");
        mn_diag_hint(&d, "keygen never overwrites a key: choose another --name or --out");
        goto out;
    }
    if (mn_key_generate(role, name, &key, &d) != MN_OK || mn_key_save(key, path, pub, &d) != MN_OK)
        goto out;
    mn_pubkey_format(mn_key_public(key), line, sizeof line);
    printf("%s\n", line);
    fprintf(stderr, "%s: wrote %s (secret, 0600) and %s\n", S_PROG, path, pub);
    rc = S_EXIT_OK;
out:
    mn_key_destroy(&key);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

/* --- agent ---------------------------------------------------------------------------------- */

static int s_agent_add(int argc, char **argv)
{
    const char *home = NULL, *region = NULL;
    const s_opt opts[] = {{"region", &region}, {"home", &home}, {NULL, NULL}};
    char fp[MN_FINGERPRINT_CHARS + 1];
    gw_config *cfg = NULL;
    mn_pubkey pub;
    mn_diag d = {0};

    int rc = s_options(argc, argv, "agent add", s_usage_agent_add, opts, 2,
                       "give the agent's NAME and its public \"LINE\"");
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    const char *name = argv[optind], *line = argv[optind + 1];
    if (!mn_name_is_valid(name))
        return s_usage_error("agent add", "NAME \"%s\": use 1-64 characters of A-Z a-z 0-9 . _ -",
                             name);
    if (mn_pubkey_parse(line, &pub, &d) != MN_OK)
        goto out;
    if (pub.role != MN_ROLE_AGENT) {
        mn_diag_set(&d, MN_EKEY, "LINE", "this is the public line of a %s, not of an agent",
                    mn_role_name(pub.role));
        mn_diag_hint(&d, "paste the line the agent printed; it starts with \"meldnet1 agent %s\"",
                     name);
        goto out;
    }
    if (strcmp(pub.name, name) != 0) {
        mn_diag_set(&d, MN_EKEY, "LINE", "the line is of agent \"%s\", not \"%s\"", pub.name,
                    name);
        mn_diag_hint(&d, "add it as `meldnetctl agent add %s ...`, or paste agent %s's own line",
                     pub.name, name);
        goto out;
    }
    if (s_load_config(s_home(home), &cfg, &d) != MN_OK)
        goto out;
    const gw_agent *same = gw_config_find_agent(cfg, name);
    if (same) {
        mn_diag_set(&d, MN_EEXIST, same->source, "agent \"%s\" exists already", name);
        mn_diag_hint(&d, "to give it a new key, remove %s, add it again and reload",
                     same->source);
        goto out;
    }
    const gw_agent *other = gw_config_find_agent_by_curve(cfg, pub.curve);
    if (other) {
        mn_diag_set(&d, MN_EEXIST, other->source, "this key belongs to agent \"%s\" already",
                    other->name);
        mn_diag_hint(&d, "every agent needs its own identity: run meldnet-agent keygen on the "
                         "new agent's machine");
        goto out;
    }
    if (gw_config_write_agent(cfg->agents_dir, name, region, &pub, &d) != MN_OK)
        goto out;
    mn_pubkey_fingerprint(&pub, fp, sizeof fp);
    printf("added agent %s region=%s fingerprint=%s (%s/%s.conf)\n", name,
           region && region[0] ? region : "unknown", fp, cfg->agents_dir, name);
    printf("reload or restart the gateway to apply\n");
    rc = S_EXIT_OK;
out:
    gw_config_destroy(&cfg);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

static int s_agent_list(int argc, char **argv)
{
    const char *home = NULL;
    const s_opt opts[] = {{"home", &home}, {NULL, NULL}};
    char fp[MN_FINGERPRINT_CHARS + 1];
    gw_config *cfg = NULL;
    mn_diag d = {0};

    int rc = s_options(argc, argv, "agent list", s_usage_agent_list, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    if (s_load_config(s_home(home), &cfg, &d) != MN_OK)
        return s_fail(&d);
    printf("%-24s %-24s %s\n", "NAME", "REGION", "FINGERPRINT");
    for (size_t i = 0; i < cfg->n_agents; i++) {
        mn_pubkey_fingerprint(&cfg->agents[i].pub, fp, sizeof fp);
        printf("%-24s %-24s %s\n", cfg->agents[i].name, cfg->agents[i].region, fp);
    }
    if (cfg->n_agents == 0)
        fprintf(stderr, "%s: no agents yet: add one with `meldnetctl agent add NAME \"LINE\"`\n",
                S_PROG);
    gw_config_destroy(&cfg);
    return S_EXIT_OK;
}

static int s_cmd_agent(int argc, char **argv)
{
    static const s_command subs[] = {
        {"add", s_agent_add, S_PROG " agent add"},
        {"list", s_agent_list, S_PROG " agent list"},
    };
    return s_group(argc, argv, "agent", s_usage_agent, subs, sizeof subs / sizeof subs[0],
                   "add, list");
}

/* --- registry ------------------------------------------------------------------------------- */

static int s_registry_count(int argc, char **argv)
{
    const char *home = NULL;
    const s_opt opts[] = {{"home", &home}, {NULL, NULL}};
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    uint64_t count = 0;
    mn_diag d = {0};

    int rc = s_options(argc, argv, "registry count", s_usage_registry_count, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    if (s_load_config(s_home(home), &cfg, &d) != MN_OK ||
        gw_store_open(cfg->data_dir, 0, 1, &store, &d) != MN_OK)
        goto out;
    if (gw_store_registry_count(store, &count) != MN_OK) {
        mn_diag_set(&d, MN_ESTORE, cfg->data_dir, "cannot count the registrations");
        goto out;
    }
    printf("%" PRIu64 "\n", count);
    rc = S_EXIT_OK;
out:
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

static void s_time_iso(uint64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];
    if (!gmtime_r(&secs, &tm) || strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(base, sizeof base, "invalid");
    snprintf(buf, cap, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

/* Print the report JSON as the value of "report": every line after the first indented. */
static void s_print_indented(const char *json)
{
    size_t len = strlen(json);
    while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == ' '))
        len--;
    for (size_t i = 0; i < len; i++) {
        putchar(json[i]);
        if (json[i] == '\n')
            fputs("  ", stdout);
    }
}

static int s_show(const char *home, uint64_t reg, const char *key_path, mn_diag *d)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    mn_key *key = NULL;
    uint8_t *sealed = NULL, *plain = NULL;
    size_t sealed_len = 0, plain_len = 0;
    mn_report *report = NULL;
    mn_record_info info;
    char *json = NULL;
    char regtext[32], accepted[48], created[48];
    mn_pubkey expected;
    int rc;

    mn_registration_format(reg, regtext, sizeof regtext);
    if ((rc = mn_key_load(key_path, &key, d)) != MN_OK)
        goto out;
    if (mn_key_public(key)->role != MN_ROLE_REGISTRY) {
        rc = mn_diag_set(d, MN_EKEY, key_path, "this is the key of a %s, not of the registry",
                         mn_role_name(mn_key_public(key)->role));
        mn_diag_hint(d, "use registry-secret/registry.key made by `meldnetctl init`");
        goto out;
    }
    if ((rc = s_load_config(home, &cfg, d)) != MN_OK)
        goto out;
    /* a clear message for the wrong key, before any record is touched */
    if (mn_pubkey_load(cfg->registry_key, &expected, NULL) == MN_OK &&
        memcmp(expected.box, mn_key_public(key)->box, MN_KEY_BYTES) != 0) {
        rc = mn_diag_set(d, MN_EKEY, key_path, "this is not the registry key the gateway seals "
                         "records to (%s)", cfg->registry_key);
        mn_diag_hint(d, "use the registry.key made together with that registry.pub");
        goto out;
    }
    if ((rc = gw_store_open(cfg->data_dir, 0, 1, &store, d)) != MN_OK)
        goto out;
    rc = gw_store_registry_get(store, reg, &sealed, &sealed_len);
    if (rc == MN_ENOTFOUND) {
        uint64_t count = 0;
        if (gw_store_registry_count(store, &count) != MN_OK)
            count = 0;
        mn_diag_set(d, MN_ENOTFOUND, regtext, "no such registration (the store holds %" PRIu64
                    ")", count);
        mn_diag_hint(d, "registrations are numbered from 1; `meldnetctl registry count` says "
                        "how many there are");
        goto out;
    }
    if (rc != MN_OK) {
        mn_diag_set(d, rc, cfg->data_dir, "cannot read registration %s", regtext);
        goto out;
    }
    rc = mn_box_open(key, sealed, sealed_len, S_RECORD_MAX_BYTES, &plain, &plain_len);
    if (rc != MN_OK) {
        mn_diag_set(d, rc, regtext, "the record does not open with %s", key_path);
        mn_diag_hint(d, "use the registry key the record was sealed to; if it is right, the "
                        "record is damaged: restore the store from backup");
        goto out;
    }
    if ((rc = mn_record_decode(plain, plain_len, &info, &report, d)) != MN_OK)
        goto out;
    if (info.registration != reg || !mn_name_is_valid(info.agent)) {
        rc = mn_diag_set(d, MN_EDECODE, regtext, "the record is inconsistent (it names "
                         "registration %" PRIu64 ")", info.registration);
        mn_diag_hint(d, "the store is damaged or tampered with: restore it from backup");
        goto out;
    }
    if ((rc = mn_report_to_json(report, &json)) != MN_OK) {
        mn_diag_set(d, rc, regtext, "cannot render the report as JSON");
        goto out;
    }
    s_time_iso(info.accepted_ms, accepted, sizeof accepted);
    s_time_iso(info.created_ms, created, sizeof created);
    printf("{\n  \"registration\": \"%s\",\n  \"agent\": \"%s\",\n"
           "  \"accepted_at\": \"%s\",\n  \"created_at\": \"%s\",\n  \"envelope_id\": \"",
           regtext, info.agent, accepted, created);
    for (size_t i = 0; i < sizeof info.envelope_id; i++)
        printf("%02x", info.envelope_id[i]);
    printf("\",\n  \"report\": ");
    s_print_indented(json);
    printf("\n}\n");
    if (fflush(stdout) != 0) {
        rc = mn_diag_sys(d, "stdout", "cannot write the record");
        goto out;
    }
    rc = MN_OK;
out:
    if (json)
        mn_plain_free((uint8_t *)json, strlen(json));
    mn_plain_free(plain, plain_len);
    mn_report_destroy(&report);
    free(sealed);
    mn_key_destroy(&key);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc;
}

static int s_registry_show(int argc, char **argv)
{
    const char *home = NULL, *key_path = NULL;
    const s_opt opts[] = {{"registry-key", &key_path}, {"home", &home}, {NULL, NULL}};
    uint64_t reg = 0;
    mn_diag d = {0};

    int rc = s_options(argc, argv, "registry show", s_usage_registry_show, opts, 1,
                       "give one registration number REG");
    if (rc != S_GO_ON)
        return rc;
    if (mn_registration_parse(argv[optind], &reg) != MN_OK || reg == 0)
        return s_usage_error("registry show", "\"%s\" is not a registration number like "
                             "MN-00000042 or 42", argv[optind]);
    if (!key_path)
        return s_usage_error("registry show", "%s", "--registry-key FILE is required");
    if (s_show(s_home(home), reg, key_path, &d) != MN_OK)
        return s_fail(&d);
    return S_EXIT_OK;
}

static int s_cmd_registry(int argc, char **argv)
{
    static const s_command subs[] = {
        {"count", s_registry_count, S_PROG " registry count"},
        {"show", s_registry_show, S_PROG " registry show"},
    };
    return s_group(argc, argv, "registry", s_usage_registry, subs,
                   sizeof subs / sizeof subs[0], "count, show");
}

/* --- status --------------------------------------------------------------------------------- */

static int s_cmd_status(int argc, char **argv)
{
    const char *home = NULL;
    const s_opt opts[] = {{"home", &home}, {NULL, NULL}};
    char path[GW_PATH_MAX];
    char buf[4096];
    gw_config *cfg = NULL;
    FILE *fp = NULL;
    mn_diag d = {0};
    int last = '\n';
    size_t n;

    int rc = s_options(argc, argv, "status", s_usage_status, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    if (s_load_config(s_home(home), &cfg, &d) != MN_OK ||
        s_path(path, sizeof path, cfg->run_dir, "status.json", &d) != MN_OK)
        goto out;
    fp = fopen(path, "r");
    if (!fp) {
        if (errno == ENOENT) {
            mn_diag_set(&d, MN_ENOTFOUND, path, "no status: the gateway is not running or has "
                        "not written it yet");
            mn_diag_hint(&d, "start it with `meldnet-gateway --home %s`; it writes this file "
                             "while it runs", s_home(home));
        } else {
            mn_diag_sys(&d, path, "cannot read the status");
        }
        goto out;
    }
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
        fwrite(buf, 1, n, stdout);
        last = buf[n - 1];
    }
    if (ferror(fp)) {
        mn_diag_sys(&d, path, "cannot read the status");
        goto out;
    }
    if (last != '\n')
        putchar('\n');
    rc = S_EXIT_OK;
out:
    if (fp)
        fclose(fp);
    gw_config_destroy(&cfg);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

/* --- main ----------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const s_command cmds[] = {
        {"init", s_cmd_init, S_PROG " init"},
        {"keygen", s_cmd_keygen, S_PROG " keygen"},
        {"agent", s_cmd_agent, S_PROG " agent"},
        {"registry", s_cmd_registry, S_PROG " registry"},
        {"status", s_cmd_status, S_PROG " status"},
    };
    int c;

    /* "+": stop at the command; its options are parsed by the command */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': s_home_opt = optarg; break;
        case 'h': fputs(s_usage, stdout); return S_EXIT_OK;
        default: fputs(s_usage, stderr); return S_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(s_usage, stderr);
        return S_EXIT_USAGE;
    }
    const s_command *cmd = s_command_find(cmds, sizeof cmds / sizeof cmds[0], argv[optind]);
    if (!cmd)
        return s_usage_error("", "unknown command \"%s\" (init, keygen, agent, registry, "
                             "status)", argv[optind]);
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", S_PROG);
        return S_EXIT_FAIL;
    }
    char **sub = argv + optind;
    sub[0] = (char *)cmd->label;
    return cmd->run(argc - optind, sub);
}
