/* ctl_init - meldnetctl init and keygen (see ctl_init.h). */
#include "ctl_init.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ctl_common.h"
#include "gw_config.h"
#include "mn_error.h"
#include "mn_file.h"
#include "mn_key.h"

static const char s_usage_init[] =
    "usage: meldnetctl init --home DIR [--listen ENDPOINT] [--delivery-listen ENDPOINT]\n"
    "                      [--metrics-listen HOST:PORT]\n"
    "\n"
    "Make a new gateway home in DIR (which must not exist, or be empty), all folders 0700:\n"
    "  gateway.conf                   the configuration, every setting commented\n"
    "  keys/gateway.key, .pub         the gateway identity (secret 0600) and its public line\n"
    "  keys/digest.key                secret key of the dedup digests (0600)\n"
    "  keys/pseudonym.key             secret key of the victim pseudonyms (0600)\n"
    "  keys/registry.pub              the registry's public line: records are sealed to it\n"
    "  registry-secret/registry.key   the registry's secret key: move it to the registry's\n"
    "                                 operators; the gateway never needs it\n"
    "  agents/ partners/ data/ run/\n"
    "\n"
    "options:\n"
    "  --home DIR                  the new home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  --listen ENDPOINT           ingest endpoint for agents (default tcp://127.0.0.1:7411)\n"
    "  --delivery-listen ENDPOINT  delivery endpoint for partners (default\n"
    "                              tcp://127.0.0.1:7412); must differ from --listen\n"
    "  --metrics-listen HOST:PORT  HTTP endpoint for operators: /metrics, /healthz, /readyz\n"
    "                              and a status page at / (default 127.0.0.1:9464; off: none)\n"
    "  -h, --help                  this help\n";

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

/* --- init ----------------------------------------------------------------------------------- */

static int s_listen_is_valid(const char *ep)
{
    size_t len = strlen(ep);
    if (len == 0 || len >= sizeof((gw_config *)NULL)->listen || !strstr(ep, "://"))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)ep[i];
        if (c < 0x21 || c == 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

/* "HOST:PORT" or "off", without characters that would break the config line; gw_http checks
 * the address itself when the gateway starts. */
static int s_metrics_listen_is_valid(const char *text)
{
    size_t len = strlen(text);
    if (strcmp(text, "off") == 0)
        return 1;
    if (len == 0 || len >= sizeof((gw_config *)NULL)->metrics_listen || !strchr(text, ':'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x21 || c == 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

/* tpl with the value of its line `    NAME = "...";` set to value. Caller owns the result
 * (free()); NULL when tpl has no such line or memory ran out. */
static char *s_conf_set(const char *tpl, const char *name, const char *value)
{
    char mark[64];
    char *text = NULL;
    snprintf(mark, sizeof mark, "\n    %s = \"", name);
    const char *start = strstr(tpl, mark);
    const char *end = start ? strstr(start + strlen(mark), "\";") : NULL;
    if (!end)
        goto out;
    size_t head = (size_t)(start - tpl) + strlen(mark);
    size_t len = head + strlen(value) + strlen(end) + 1;
    text = malloc(len);
    if (!text)
        goto out;
    memcpy(text, tpl, head);
    snprintf(text + head, len - head, "%s%s", value, end);
out:
    return text;
}

/* The template with its listen, delivery_listen and metrics_listen set. Caller owns the result
 * (free()). */
static char *s_conf_text(const char *listen, const char *delivery, const char *metrics)
{
    char *first = s_conf_set(gw_config_template(), "listen", listen);
    char *second = first ? s_conf_set(first, "delivery_listen", delivery) : NULL;
    char *text = second ? s_conf_set(second, "metrics_listen", metrics) : NULL;
    free(first);
    free(second);
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
            rc = mn_diag_set(d, MN_EEXIST, home,
                             "exists and is not empty; init makes a new "
                             "home and never touches an existing one");
            mn_diag_hint(d,
                         "choose a folder that does not exist yet (or is empty); an existing "
                         "home is used as it is, e.g. `meldnetctl status --home %s`",
                         home);
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
    int rc = ctl_path(path, sizeof path, home, name, d);
    if (rc != MN_OK)
        return rc;
    if (mkdir(path, 0700) != 0)
        return mn_diag_sys(d, path, "cannot create the folder");
    return MN_OK;
}

/* Make a fresh identity and save it in home: the secret at sec_name (0600), the public line at
 * pub_name. Caller owns *key. */
static int s_make_identity(const char *home, mn_role role, const char *name, const char *sec_name,
                           const char *pub_name, mn_key **key, mn_diag *d)
{
    char path[GW_PATH_MAX], pub[GW_PATH_MAX];
    int rc;
    if ((rc = mn_key_generate(role, name, key, d)) != MN_OK ||
        (rc = ctl_path(path, sizeof path, home, sec_name, d)) != MN_OK ||
        (rc = ctl_path(pub, sizeof pub, home, pub_name, d)) != MN_OK)
        return rc;
    return mn_key_save(*key, path, pub, d);
}

static int s_init(const char *home, const char *listen, const char *delivery, const char *metrics,
                  mn_diag *d)
{
    static const char *const dirs[] = {"keys", "agents", "partners",
                                       "data", "run",    "registry-secret"};
    char path[GW_PATH_MAX], real[PATH_MAX];
    char line[MN_PUBLIC_LINE_MAX];
    char *conf = NULL;
    mn_key *gateway = NULL, *registry = NULL;
    mn_secret32 *digest = NULL, *pseudonym = NULL;
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

    conf = s_conf_text(listen, delivery, metrics);
    if (!conf) {
        rc = mn_diag_set(d, MN_ENOMEM, home, "cannot make gateway.conf from the template");
        goto out;
    }
    if ((rc = ctl_path(path, sizeof path, home, "gateway.conf", d)) != MN_OK ||
        (rc = mn_file_write_atomic(path, conf, strlen(conf), 0644, d)) != MN_OK)
        goto out;

    if ((rc = s_make_identity(home, MN_ROLE_GATEWAY, "gateway", "keys/gateway.key",
                              "keys/gateway.pub", &gateway, d)) != MN_OK)
        goto out;

    if ((rc = mn_secret32_generate(&digest, d)) != MN_OK ||
        (rc = ctl_path(path, sizeof path, home, "keys/digest.key", d)) != MN_OK ||
        (rc = mn_secret32_save(digest, path, d)) != MN_OK)
        goto out;

    if ((rc = mn_secret32_generate(&pseudonym, d)) != MN_OK ||
        (rc = ctl_path(path, sizeof path, home, "keys/pseudonym.key", d)) != MN_OK ||
        (rc = mn_secret32_save(pseudonym, path, d)) != MN_OK)
        goto out;

    if ((rc = s_make_identity(home, MN_ROLE_REGISTRY, "registry", "registry-secret/registry.key",
                              "keys/registry.pub", &registry, d)) != MN_OK)
        goto out;

    /* what init wrote must load; a failure here is our bug, not the operator's */
    if ((rc = ctl_path(path, sizeof path, home, "gateway.conf", d)) != MN_OK ||
        (rc = gw_config_load(path, &cfg, d)) != MN_OK)
        goto out;

    if (!realpath(home, real))
        snprintf(real, sizeof real, "%s", home);
    mn_pubkey_format(mn_key_public(gateway), line, sizeof line);
    printf("made gateway home %s\n"
           "  gateway.conf                  configuration\n"
           "  keys/gateway.key              gateway identity, secret (0600)\n"
           "  keys/gateway.pub              its public line: give it to every agent and partner\n"
           "  keys/digest.key               key of the dedup digests, secret (0600)\n"
           "  keys/pseudonym.key            key of the victim pseudonyms, secret (0600)\n"
           "  keys/registry.pub             the registry's public line: records are sealed to it\n"
           "  registry-secret/registry.key  the registry's SECRET key\n"
           "  agents/ partners/ data/ run/  agent and partner files, the store, status\n"
           "ingest endpoint (agents):     %s\n"
           "delivery endpoint (partners): %s\n"
           "operators (HTTP):             %s (/metrics, /healthz, /readyz, /)\n"
           "gateway public line:\n%s\n"
           "next: meldnetctl agent add NAME \"LINE\" --region REGION --home %s\n"
           "      meldnetctl partner add NAME \"LINE\" --kind KIND --bind TOPIC=SHARING --home %s\n"
           "      meldnet-gateway --home %s\n",
           real, listen, delivery, metrics, line, home, home, home);
    fprintf(stderr,
            "%s: warning: %s/registry-secret/ holds the registry's secret key: it "
            "belongs with the registry's operators, not on the gateway host. Move it to them "
            "and remove it here before real reports arrive.\n",
            CTL_PROG, real);
    rc = MN_OK;
out:
    if (rc != MN_OK && made)
        fprintf(stderr, "%s: init stopped half-way: remove %s and run init again\n", CTL_PROG,
                home);
    gw_config_destroy(&cfg);
    mn_key_destroy(&gateway);
    mn_key_destroy(&registry);
    mn_secret32_destroy(&digest);
    mn_secret32_destroy(&pseudonym);
    free(conf);
    return rc;
}

int ctl_cmd_init(int argc, char **argv)
{
    const char *home = NULL, *listen = "tcp://127.0.0.1:7411";
    const char *delivery = "tcp://127.0.0.1:7412", *metrics = "127.0.0.1:9464";
    const ctl_opt opts[] = {{"home", &home},
                            {"listen", &listen},
                            {"delivery-listen", &delivery},
                            {"metrics-listen", &metrics},
                            {NULL, NULL}};
    mn_diag d = {0};

    int rc = ctl_options(argc, argv, "init", s_usage_init, opts, 0, NULL);
    if (rc != CTL_GO_ON)
        return rc;
    if (!s_listen_is_valid(listen))
        return ctl_usage_error("init",
                               "--listen \"%s\" is not an endpoint like "
                               "tcp://127.0.0.1:7411",
                               listen);
    if (!s_listen_is_valid(delivery))
        return ctl_usage_error("init",
                               "--delivery-listen \"%s\" is not an endpoint like "
                               "tcp://127.0.0.1:7412",
                               delivery);
    if (strcmp(listen, delivery) == 0)
        return ctl_usage_error("init",
                               "--listen and --delivery-listen are both \"%s\": agents "
                               "and partners need endpoints of their own",
                               listen);
    if (!s_metrics_listen_is_valid(metrics))
        return ctl_usage_error("init",
                               "--metrics-listen \"%s\" is not HOST:PORT like "
                               "127.0.0.1:9464 (or off)",
                               metrics);
    if (s_init(ctl_home(home), listen, delivery, metrics, &d) != MN_OK)
        return ctl_fail(&d);
    return CTL_EXIT_OK;
}

/* --- keygen --------------------------------------------------------------------------------- */

int ctl_cmd_keygen(int argc, char **argv)
{
    const char *role_text = NULL, *name = NULL, *out = NULL;
    const ctl_opt opts[] = {{"role", &role_text}, {"name", &name}, {"out", &out}, {NULL, NULL}};
    char path[GW_PATH_MAX], pub[GW_PATH_MAX], line[MN_PUBLIC_LINE_MAX];
    struct stat st;
    mn_key *key = NULL;
    mn_role role;
    mn_diag d = {0};

    int rc = ctl_options(argc, argv, "keygen", s_usage_keygen, opts, 0, NULL);
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_FAIL;
    if (!role_text || !name || !out)
        return ctl_usage_error("keygen", "%s", "--role, --name and --out are required");
    if (mn_role_parse(role_text, &role) != MN_OK)
        return ctl_usage_error("keygen", "--role \"%s\": use agent, partner, gateway or registry",
                               role_text);
    if (!mn_name_is_valid(name))
        return ctl_usage_error("keygen", "--name \"%s\": use 1-64 characters of A-Z a-z 0-9 . _ -",
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
    fprintf(stderr, "%s: wrote %s (secret, 0600) and %s\n", CTL_PROG, path, pub);
    rc = CTL_EXIT_OK;
out:
    mn_key_destroy(&key);
    return rc == CTL_EXIT_OK ? rc : ctl_fail(&d);
}
