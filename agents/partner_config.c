/* partner_config.c - partner.conf: read with libconfig, check, resolve paths; write a new one;
 * topic lists for --topics. */
#include "partner_config.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mn_log.h"
#include "mn_suggest.h"

enum s_kind { S_STRING, S_INT };

struct s_setting {
    const char *name;
    enum s_kind kind;
    long long min, max; /* S_INT */
};

static const struct s_setting s_settings[] = {
    {"name", S_STRING, 0, 0},
    {"gateway", S_STRING, 0, 0},
    {"gateway_key", S_STRING, 0, 0},
    {"identity", S_STRING, 0, 0},
    {"state", S_STRING, 0, 0},
    {"credit", S_INT, 1, MN_CREDIT_MAX},
    {"max_frame_bytes", S_INT, 65536, 268435456},
    {"log_level", S_STRING, 0, 0},
};
#define S_N_SETTINGS (sizeof s_settings / sizeof s_settings[0])

const char *partner_config_home(const char *arg)
{
    if (arg)
        return arg;
    const char *env = getenv(PARTNER_HOME_ENV);
    return env && env[0] ? env : PARTNER_HOME_DEFAULT;
}

int partner_config_endpoint_is_valid(const char *endpoint)
{
    if (!endpoint)
        return 0;
    size_t n = strlen(endpoint);
    if (n >= PARTNER_ENDPOINT_MAX ||
        (strncmp(endpoint, "tcp://", 6) != 0 && strncmp(endpoint, "ipc://", 6) != 0) || n == 6)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)endpoint[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

static const struct s_setting *s_find(const char *name)
{
    for (size_t i = 0; i < S_N_SETTINGS; i++)
        if (strcmp(s_settings[i].name, name) == 0)
            return &s_settings[i];
    return NULL;
}

/* Resolve a relative path against home into out. */
static int s_resolve(const partner_config *cfg, const char *value, char *out, size_t cap,
                     const char *where, mn_diag *d)
{
    int n = value[0] == '/' ? snprintf(out, cap, "%s", value)
                            : snprintf(out, cap, "%s/%s", cfg->home, value);
    if (n < 0 || (size_t)n >= cap)
        return mn_diag_set(d, MN_ECONFIG, where, "the path is too long");
    return MN_OK;
}

static int s_apply(partner_config *cfg, const struct s_setting *s, config_setting_t *st,
                   const char *where, mn_diag *d)
{
    if (s->kind == S_INT) {
        if (config_setting_type(st) != CONFIG_TYPE_INT &&
            config_setting_type(st) != CONFIG_TYPE_INT64)
            return mn_diag_set(d, MN_ECONFIG, where, "%s must be a whole number", s->name);
        long long v = config_setting_get_int64(st);
        if (v < s->min || v > s->max)
            return mn_diag_set(d, MN_ECONFIG, where, "%s = %lld is out of bounds (%lld .. %lld)",
                               s->name, v, s->min, s->max);
        if (strcmp(s->name, "credit") == 0)
            cfg->credit = (unsigned)v;
        else
            cfg->max_frame_bytes = (size_t)v;
        return MN_OK;
    }
    if (config_setting_type(st) != CONFIG_TYPE_STRING)
        return mn_diag_set(d, MN_ECONFIG, where, "%s must be a string in double quotes",
                           s->name);
    const char *v = config_setting_get_string(st);
    if (strcmp(s->name, "name") == 0) {
        if (!mn_name_is_valid(v))
            return mn_diag_set(d, MN_ECONFIG, where,
                               "name must be 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        snprintf(cfg->name, sizeof cfg->name, "%s", v);
    } else if (strcmp(s->name, "gateway") == 0) {
        if (!partner_config_endpoint_is_valid(v)) {
            int rc = mn_diag_set(d, MN_ECONFIG, where, "gateway is not a valid endpoint");
            mn_diag_hint(d, "write it as \"tcp://HOST:PORT\" (the gateway's delivery_listen), "
                            "e.g. \"tcp://127.0.0.1:7412\"");
            return rc;
        }
        snprintf(cfg->gateway, sizeof cfg->gateway, "%s", v);
    } else if (strcmp(s->name, "log_level") == 0) {
        enum mn_log_level level;
        if (mn_log_parse_level(v, &level) != MN_OK || strlen(v) >= sizeof cfg->log_level)
            return mn_diag_set(d, MN_ECONFIG, where,
                               "log_level must be err, warn, notice, info or debug");
        snprintf(cfg->log_level, sizeof cfg->log_level, "%s", v);
    } else {
        char *dst = strcmp(s->name, "gateway_key") == 0 ? cfg->gateway_key
                    : strcmp(s->name, "identity") == 0  ? cfg->identity
                                                        : cfg->state;
        if (!v[0])
            return mn_diag_set(d, MN_ECONFIG, where, "%s must not be empty", s->name);
        return s_resolve(cfg, v, dst, PARTNER_PATH_MAX, where, d);
    }
    return MN_OK;
}

int partner_config_load(const char *home, partner_config *out, mn_diag *d)
{
    config_t lc;
    int rc = MN_OK;
    char where[PARTNER_PATH_MAX + 32];

    memset(out, 0, sizeof *out);
    config_init(&lc);
    if ((size_t)snprintf(out->home, sizeof out->home, "%s", home) >= sizeof out->home ||
        (size_t)snprintf(out->path, sizeof out->path, "%s/partner.conf", home) >=
            sizeof out->path) {
        rc = mn_diag_set(d, MN_ECONFIG, home, "the home path is too long");
        goto out;
    }
    out->credit = PARTNER_CREDIT_DEFAULT;
    out->max_frame_bytes = PARTNER_FRAME_DEFAULT;
    snprintf(out->log_level, sizeof out->log_level, "info");
    if ((rc = s_resolve(out, "keys/gateway.pub", out->gateway_key, PARTNER_PATH_MAX, home, d)) ||
        (rc = s_resolve(out, "keys/partner.key", out->identity, PARTNER_PATH_MAX, home, d)) ||
        (rc = s_resolve(out, "state", out->state, PARTNER_PATH_MAX, home, d)))
        goto out;

    FILE *f = fopen(out->path, "r");
    if (!f) {
        rc = mn_diag_sys(d, out->path, "cannot read the partner configuration");
        mn_diag_hint(d, "make a home with 'meldnet-partner keygen NAME --home DIR --gateway "
                        "ENDPOINT --gateway-key GATEWAY.pub', or pass --home / set %s",
                     PARTNER_HOME_ENV);
        goto out;
    }
    int ok = config_read(&lc, f);
    fclose(f);
    if (ok != CONFIG_TRUE) {
        snprintf(where, sizeof where, "%s:%d", out->path, config_error_line(&lc));
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s", config_error_text(&lc));
        mn_diag_hint(d, "settings look like: name = \"police-midden\"; (a ';' ends each one)");
        goto out;
    }
    config_setting_t *root = config_root_setting(&lc);
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *st = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(st);
        snprintf(where, sizeof where, "%s:%d", out->path, config_setting_source_line(st));
        const struct s_setting *s = name ? s_find(name) : NULL;
        if (!s) {
            const char *names[S_N_SETTINGS];
            for (size_t j = 0; j < S_N_SETTINGS; j++)
                names[j] = s_settings[j].name;
            const char *best = mn_suggest_closest(name, names, S_N_SETTINGS);
            rc = mn_diag_set(d, MN_ECONFIG, where, "unknown setting \"%s\"", name ? name : "");
            if (best)
                mn_diag_hint(d, "did you mean \"%s\"?", best);
            else
                mn_diag_hint(d, "settings are name, gateway, gateway_key, identity, state, "
                                "credit, max_frame_bytes, log_level");
            goto out;
        }
        if ((rc = s_apply(out, s, st, where, d)) != MN_OK)
            goto out;
    }
    if (!out->name[0] || !out->gateway[0]) {
        rc = mn_diag_set(d, MN_ECONFIG, out->path, "the setting \"%s\" is missing",
                         !out->name[0] ? "name" : "gateway");
        mn_diag_hint(d, "add it, e.g. %s", !out->name[0] ? "name = \"police-midden\";"
                                                         : "gateway = \"tcp://HOST:7412\";");
        goto out;
    }
out:
    if (rc == MN_ECONFIG && d && !d->hint[0])
        mn_diag_hint(d, "the comments in partner.conf (written by 'meldnet-partner keygen') and "
                        "docs/OPERATING.md describe every setting");
    config_destroy(&lc);
    return rc;
}

int partner_config_write(const char *home, const char *name, const char *endpoint, mn_diag *d)
{
    char path[PARTNER_PATH_MAX];
    char text[2560];
    struct stat st;

    if (!mn_name_is_valid(name))
        return mn_diag_set(d, MN_EINVAL, "NAME",
                           "a partner name is 1-%d characters of A-Z a-z 0-9 . _ -",
                           MN_NAME_MAX);
    if (!partner_config_endpoint_is_valid(endpoint)) {
        int rc = mn_diag_set(d, MN_EINVAL, "--gateway", "not a valid endpoint");
        mn_diag_hint(d, "write it as tcp://HOST:PORT, e.g. tcp://127.0.0.1:7412");
        return rc;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/partner.conf", home) >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, home, "the home path is too long");
    if (stat(path, &st) == 0) {
        int rc = mn_diag_set(d, MN_EEXIST, path, "this home has a partner already");
        mn_diag_hint(d, "choose another --home, or move the old home aside first");
        return rc;
    }
    int n = snprintf(text, sizeof text,
                     "# partner.conf - configuration of meldnet-partner \"%s\",\n"
                     "# written by 'meldnet-partner keygen'. Relative paths are relative to "
                     "this file's folder.\n"
                     "# Every setting but name and gateway has a default.\n"
                     "\n"
                     "# This partner's name; the gateway knows it by this name and its keys.\n"
                     "name = \"%s\";\n"
                     "\n"
                     "# The gateway's delivery endpoint (its delivery_listen setting).\n"
                     "gateway = \"%s\";\n"
                     "\n"
                     "# The gateway's public line: its CURVE key, and the signing key each "
                     "delivery is checked with.\n"
                     "gateway_key = \"keys/gateway.pub\";\n"
                     "\n"
                     "# This partner's secret identity (mode 0600): referrals are sealed to its "
                     "box key.\n"
                     "identity = \"keys/partner.key\";\n"
                     "\n"
                     "# What listen has delivered: state/delivered/MN-NNNNNNNN markers, the "
                     "last delivery.\n"
                     "state = \"state\";\n"
                     "\n"
                     "# Deliveries in flight when listen is given no --credit (1 .. %d).\n"
                     "# credit = %d;\n"
                     "\n"
                     "# Largest message accepted from the gateway (65536 .. 268435456). A larger "
                     "one drops the\n"
                     "# connection, so keep it above the size of the largest referral.\n"
                     "# max_frame_bytes = %u;\n"
                     "\n"
                     "# Log level of 'listen': err, warn, notice, info or debug.\n"
                     "# log_level = \"info\";\n",
                     name, name, endpoint, MN_CREDIT_MAX, PARTNER_CREDIT_DEFAULT,
                     (unsigned)PARTNER_FRAME_DEFAULT);
    if (n < 0 || (size_t)n >= sizeof text)
        return mn_diag_set(d, MN_EINVAL, path, "the configuration text is too long");
    return mn_file_write_atomic(path, text, (size_t)n, 0600, d);
}

/* --- topics ------------------------------------------------------------------------------- */

int partner_topic_pattern_is_valid(const char *pattern)
{
    if (!pattern)
        return 0;
    if (strcmp(pattern, "*") == 0)
        return 1;
    size_t n = strlen(pattern);
    if (n > 2 && n <= MN_TOPIC_MAX && strcmp(pattern + n - 2, ".*") == 0) {
        char prefix[MN_TOPIC_MAX + 1];
        memcpy(prefix, pattern, n - 2);
        prefix[n - 2] = '\0';
        return mn_topic_is_valid(prefix);
    }
    return mn_topic_is_valid(pattern);
}

int partner_topics_parse(const char *list, mn_topics *out, mn_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!list)
        return MN_OK;
    const char *p = list;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return MN_OK;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        size_t n = (size_t)(b - a);
        char item[MN_TOPIC_MAX + 1];
        if (n == 0) {
            int rc = mn_diag_set(d, MN_EINVAL, "--topics", "an empty topic in \"%s\"", list);
            mn_diag_hint(d, "separate topics with single commas: police.acute,care.utrecht");
            return rc;
        }
        if (n > MN_TOPIC_MAX) {
            int rc = mn_diag_set(d, MN_EINVAL, "--topics", "a topic of %zu characters; at most "
                                 "%d", n, MN_TOPIC_MAX);
            mn_diag_hint(d, "topics are 1-%d characters of a-z 0-9 . _ -", MN_TOPIC_MAX);
            return rc;
        }
        memcpy(item, a, n);
        item[n] = '\0';
        if (!partner_topic_pattern_is_valid(item)) {
            int rc = mn_diag_set(d, MN_EINVAL, "--topics", "\"%.*s\" is not a topic", (int)n, a);
            mn_diag_hint(d, "topics are 1-%d characters of a-z 0-9 . _ - (lower case), or a "
                            "pattern \"prefix.*\" or \"*\"", MN_TOPIC_MAX);
            return rc;
        }
        for (size_t i = 0; i < out->n; i++) {
            if (strcmp(out->name[i], item) == 0) {
                int rc = mn_diag_set(d, MN_EINVAL, "--topics", "\"%s\" is given twice", item);
                mn_diag_hint(d, "name each topic once");
                return rc;
            }
        }
        if (out->n == MN_TOPICS_MAX) {
            int rc = mn_diag_set(d, MN_EINVAL, "--topics", "more than %d topics",
                                 MN_TOPICS_MAX);
            mn_diag_hint(d, "use a pattern such as care.* , or leave --topics out to get every "
                            "bound topic");
            return rc;
        }
        memcpy(out->name[out->n++], item, n + 1);
        if (!comma)
            break;
        p = comma + 1;
    }
    return MN_OK;
}

char *partner_topics_join(const mn_topics *t, const char *sep, char *buf, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; t && i < t->n; i++) {
        int n = snprintf(buf + o, cap - o, "%s%s", i ? sep : "", t->name[i]);
        if (n < 0 || (size_t)n >= cap - o) {
            buf[cap - 1] = '\0';
            break;
        }
        o += (size_t)n;
    }
    return buf;
}
