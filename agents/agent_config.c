/* agent_config.c - agent.conf: read with libconfig, check, resolve paths; write a new one. */
#include "agent_config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mn_log.h"
#include "mn_suggest.h"
#include "mn_wire.h"

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
    {"spool", S_STRING, 0, 0},
    {"window", S_INT, 1, 1024},
    {"spool_map_mb", S_INT, 16, 1048576},
    {"max_frame_bytes", S_INT, 4096, 16777216},
    {"log_level", S_STRING, 0, 0},
};
#define S_N_SETTINGS (sizeof s_settings / sizeof s_settings[0])

const char *agent_config_home(const char *arg)
{
    if (arg)
        return arg;
    const char *env = getenv(AGENT_HOME_ENV);
    return env && env[0] ? env : AGENT_HOME_DEFAULT;
}

int agent_config_endpoint_is_valid(const char *endpoint)
{
    if (!endpoint)
        return 0;
    size_t n = strlen(endpoint);
    if (n >= AGENT_ENDPOINT_MAX ||
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
static int s_resolve(const agent_config *cfg, const char *value, char *out, size_t cap,
                     const char *where, mn_diag *d)
{
    int n = value[0] == '/' ? snprintf(out, cap, "%s", value)
                            : snprintf(out, cap, "%s/%s", cfg->home, value);
    if (n < 0 || (size_t)n >= cap)
        return mn_diag_set(d, MN_ECONFIG, where, "the path is too long");
    return MN_OK;
}

static int s_apply(agent_config *cfg, const struct s_setting *s, config_setting_t *st,
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
        if (strcmp(s->name, "window") == 0)
            cfg->window = (unsigned)v;
        else if (strcmp(s->name, "spool_map_mb") == 0)
            cfg->spool_map_mb = (size_t)v;
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
        if (!agent_config_endpoint_is_valid(v)) {
            int rc = mn_diag_set(d, MN_ECONFIG, where, "gateway is not a valid endpoint");
            mn_diag_hint(d, "write it as \"tcp://HOST:PORT\", e.g. \"tcp://127.0.0.1:7411\"");
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
                                                        : cfg->spool;
        if (!v[0])
            return mn_diag_set(d, MN_ECONFIG, where, "%s must not be empty", s->name);
        return s_resolve(cfg, v, dst, AGENT_PATH_MAX, where, d);
    }
    return MN_OK;
}

int agent_config_load(const char *home, agent_config *out, mn_diag *d)
{
    config_t lc;
    int rc = MN_OK;
    char where[AGENT_PATH_MAX + 32];

    memset(out, 0, sizeof *out);
    config_init(&lc);
    if ((size_t)snprintf(out->home, sizeof out->home, "%s", home) >= sizeof out->home ||
        (size_t)snprintf(out->path, sizeof out->path, "%s/agent.conf", home) >= sizeof out->path) {
        rc = mn_diag_set(d, MN_ECONFIG, home, "the home path is too long");
        goto out;
    }
    out->window = 32;
    out->spool_map_mb = 1024;
    out->max_frame_bytes = MN_WIRE_DEFAULT_MAX_FRAME;
    snprintf(out->log_level, sizeof out->log_level, "info");
    if ((rc = s_resolve(out, "keys/gateway.pub", out->gateway_key, AGENT_PATH_MAX, home, d)) ||
        (rc = s_resolve(out, "keys/agent.key", out->identity, AGENT_PATH_MAX, home, d)) ||
        (rc = s_resolve(out, "spool", out->spool, AGENT_PATH_MAX, home, d)))
        goto out;

    FILE *f = fopen(out->path, "r");
    if (!f) {
        rc = mn_diag_sys(d, out->path, "cannot read the agent configuration");
        mn_diag_hint(d, "make a home with 'meldnet-agent keygen NAME --home DIR --gateway "
                        "ENDPOINT --gateway-key GATEWAY.pub', or pass --home / set %s",
                     AGENT_HOME_ENV);
        goto out;
    }
    int ok = config_read(&lc, f);
    fclose(f);
    if (ok != CONFIG_TRUE) {
        snprintf(where, sizeof where, "%s:%d", out->path, config_error_line(&lc));
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s", config_error_text(&lc));
        mn_diag_hint(d, "settings look like: name = \"hotline-1\"; (a ';' ends each one)");
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
                mn_diag_hint(d, "settings are name, gateway, gateway_key, identity, spool, "
                                "window, spool_map_mb, max_frame_bytes, log_level");
            goto out;
        }
        if ((rc = s_apply(out, s, st, where, d)) != MN_OK)
            goto out;
    }
    if (!out->name[0] || !out->gateway[0]) {
        rc = mn_diag_set(d, MN_ECONFIG, out->path, "the setting \"%s\" is missing",
                         !out->name[0] ? "name" : "gateway");
        mn_diag_hint(d, "add it, e.g. %s", !out->name[0] ? "name = \"hotline-1\";"
                                                         : "gateway = \"tcp://HOST:7411\";");
        goto out;
    }
out:
    if (rc == MN_ECONFIG && d && !d->hint[0])
        mn_diag_hint(d, "the comments in agent.conf (written by 'meldnet-agent keygen') and "
                        "docs/OPERATING.md describe every setting");
    config_destroy(&lc);
    return rc;
}

int agent_config_write(const char *home, const char *name, const char *endpoint, mn_diag *d)
{
    char path[AGENT_PATH_MAX];
    char text[2048];
    struct stat st;

    if (!mn_name_is_valid(name))
        return mn_diag_set(d, MN_EINVAL, "NAME",
                           "an agent name is 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
    if (!agent_config_endpoint_is_valid(endpoint)) {
        int rc = mn_diag_set(d, MN_EINVAL, "--gateway", "not a valid endpoint");
        mn_diag_hint(d, "write it as tcp://HOST:PORT, e.g. tcp://127.0.0.1:7411");
        return rc;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/agent.conf", home) >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, home, "the home path is too long");
    if (stat(path, &st) == 0) {
        int rc = mn_diag_set(d, MN_EEXIST, path, "this home has an agent already");
        mn_diag_hint(d, "choose another --home; to replace the agent, move the old home aside "
                        "after its spool is delivered ('meldnet-agent status')");
        return rc;
    }
    int n = snprintf(text, sizeof text,
                     "# agent.conf - configuration of meldnet-agent \"%s\", written by "
                     "'meldnet-agent keygen'.\n"
                     "# Relative paths are relative to this file's folder. Every setting but "
                     "name and gateway has a default.\n"
                     "\n"
                     "# This agent's name; the gateway knows it by this name and its keys.\n"
                     "name = \"%s\";\n"
                     "\n"
                     "# The gateway's ingest endpoint.\n"
                     "gateway = \"%s\";\n"
                     "\n"
                     "# The gateway's public line (its CURVE, signing and envelope keys).\n"
                     "gateway_key = \"keys/gateway.pub\";\n"
                     "\n"
                     "# This agent's secret identity (mode 0600).\n"
                     "identity = \"keys/agent.key\";\n"
                     "\n"
                     "# The durable outbox of sealed envelopes (LMDB, mode 0700).\n"
                     "spool = \"spool\";\n"
                     "\n"
                     "# Envelopes in flight at once (1 .. 1024).\n"
                     "# window = 32;\n"
                     "\n"
                     "# Largest size of the spool in MB (16 .. 1048576).\n"
                     "# spool_map_mb = 1024;\n"
                     "\n"
                     "# The gateway's max_frame_bytes: submit refuses larger envelopes before "
                     "queuing them.\n"
                     "# max_frame_bytes = %u;\n"
                     "\n"
                     "# Log level of 'run': err, warn, notice, info or debug.\n"
                     "# log_level = \"info\";\n",
                     name, name, endpoint, (unsigned)MN_WIRE_DEFAULT_MAX_FRAME);
    if (n < 0 || (size_t)n >= sizeof text)
        return mn_diag_set(d, MN_EINVAL, path, "the configuration text is too long");
    return mn_file_write_atomic(path, text, (size_t)n, 0600, d);
}
