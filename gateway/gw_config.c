/* gw_config - the gateway's configuration: parsed by libconfig, validated, with defaults.
 *
 * How it works: gateway.conf is read with libconfig; every member of group "gateway" must be
 * one of the settings in s_settings (an unknown one is an error with a "did you mean"), of the
 * right type and within bounds; whatever is absent keeps its default. Relative paths are made
 * absolute against the folder of the config file, so the gateway may change directory.
 * Agents are not in gateway.conf: each is one small file agents_dir/NAME.conf, so adding or
 * revoking one is a file operation plus a reload.
 *
 * Invariants: a loaded gw_config has every setting within its bounds, absolute paths, and
 * agents sorted by name with unique names and unique CURVE keys, each of role agent and named
 * like its file. Errors name file:line (libconfig's source line) in diag.where.
 */
#include "gw_config.h"

#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mn_log.h"
#include "mn_suggest.h"

enum s_kind { S_STRING, S_PATH, S_INT };

struct s_setting {
    const char *name;
    enum s_kind kind;
    const char *def;     /* string default */
    long long idef;      /* integer default and bounds */
    long long min;
    long long max;
};

static const struct s_setting s_settings[] = {
    {"listen", S_STRING, "tcp://127.0.0.1:7411", 0, 0, 0},
    {"identity", S_PATH, "keys/gateway.key", 0, 0, 0},
    {"digest_key", S_PATH, "keys/digest.key", 0, 0, 0},
    {"registry_key", S_PATH, "keys/registry.pub", 0, 0, 0},
    {"agents_dir", S_PATH, "agents", 0, 0, 0},
    {"data_dir", S_PATH, "data", 0, 0, 0},
    {"run_dir", S_PATH, "run", 0, 0, 0},
    {"max_frame_bytes", S_INT, NULL, 3145728, 4096, 16777216},
    {"map_size_mb", S_INT, NULL, 1024, 16, 1048576},
    {"batch_max", S_INT, NULL, 256, 1, 4096},
    {"log_level", S_STRING, "info", 0, 0, 0},
};
#define S_N_SETTINGS (sizeof s_settings / sizeof s_settings[0])

static const char s_setting_list[] =
    "listen, identity, digest_key, registry_key, agents_dir, data_dir, run_dir, "
    "max_frame_bytes, map_size_mb, batch_max, log_level";

static const char *const s_agent_keys[] = {"name", "key", "region"};
#define S_N_AGENT_KEYS (sizeof s_agent_keys / sizeof s_agent_keys[0])

#define S_DEFAULT_REGION "unknown"

static const char s_template[] =
    "# gateway.conf - configuration of meldnet-gateway.\n"
    "#\n"
    "# Made by `meldnetctl init`; every setting is shown with its default, its bounds and what it\n"
    "# does. Syntax (libconfig): `name = value;`, strings in double quotes, `#` starts a comment.\n"
    "# Relative paths are relative to the folder of this file. Unknown settings are errors.\n"
    "# Check a change with `meldnet-gateway -n --home DIR` before you restart the gateway.\n"
    "#\n"
    "# Agents are not listed here: each has its own file agents_dir/NAME.conf, written by\n"
    "# `meldnetctl agent add NAME \"PUBLIC LINE\" --region REGION --home DIR`.\n"
    "\n"
    "gateway:\n"
    "{\n"
    "    # Ingest endpoint (ZeroMQ ROUTER, CURVE) the agents connect to.\n"
    "    # Default \"tcp://127.0.0.1:7411\"; \"tcp://0.0.0.0:7411\" accepts agents on every "
    "interface.\n"
    "    listen = \"tcp://127.0.0.1:7411\";\n"
    "\n"
    "    # The gateway's secret identity (0600): CURVE, signing and envelope box keys.\n"
    "    # Default \"keys/gateway.key\"; give its public line, keys/gateway.pub, to every "
    "agent.\n"
    "    identity = \"keys/gateway.key\";\n"
    "\n"
    "    # Secret key (0600) of the keyed content digests that catch a report sent twice.\n"
    "    # Default \"keys/digest.key\"; keep it with the store: a new key makes old reports "
    "look new.\n"
    "    digest_key = \"keys/digest.key\";\n"
    "\n"
    "    # The registry's public line: registry records are sealed to it, the gateway cannot\n"
    "    # read them back. Default \"keys/registry.pub\".\n"
    "    registry_key = \"keys/registry.pub\";\n"
    "\n"
    "    # Folder with one file per agent, NAME.conf (must exist). Default \"agents\".\n"
    "    agents_dir = \"agents\";\n"
    "\n"
    "    # Folder of the LMDB store (created 0700 if missing). Default \"data\".\n"
    "    data_dir = \"data\";\n"
    "\n"
    "    # Folder where the running gateway writes status.json for `meldnetctl status`.\n"
    "    # Default \"run\".\n"
    "    run_dir = \"run\";\n"
    "\n"
    "    # Largest frame accepted from an agent, in bytes; larger ones get Reject TOO_LARGE.\n"
    "    # Default 3145728 (3 MiB: a report with the full 1 MiB of attachments pads to 2 MiB),\n"
    "    # bounds 4096 .. 16777216.\n"
    "    max_frame_bytes = 3145728;\n"
    "\n"
    "    # Size of the LMDB map in MiB: the most the store can hold. When it is full new reports\n"
    "    # are refused (retryable) until you raise it and restart. Default 1024, bounds 16 .. "
    "1048576.\n"
    "    map_size_mb = 1024;\n"
    "\n"
    "    # Envelopes committed together in one write transaction (one fsync).\n"
    "    # Default 256, bounds 1 .. 4096.\n"
    "    batch_max = 256;\n"
    "\n"
    "    # Least important log messages written: err, warn, notice, info or debug.\n"
    "    # Default \"info\".\n"
    "    log_level = \"info\";\n"
    "};\n";

const char *gw_config_template(void)
{
    return s_template;
}

/* --- helpers -------------------------------------------------------------------------------- */

static const char *s_type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "a whole number";
    case CONFIG_TYPE_FLOAT: return "a decimal number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "true/false";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "nothing";
    }
}

/* "file:line" into buf; a path too long keeps its end ("...agents/x.conf:3") and the line. */
static void s_where_at(char *buf, size_t cap, const char *file, unsigned line)
{
    char suffix[16];
    int sn = snprintf(suffix, sizeof suffix, ":%u", line);
    size_t slen = sn > 0 ? (size_t)sn : 0;
    size_t flen = strlen(file);
    size_t pos = 0;

    if (cap < slen + 8) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    if (flen + slen + 1 > cap) {
        size_t keep = cap - 1 - slen - 3;
        memcpy(buf, "...", 3);
        memcpy(buf + 3, file + flen - keep, keep);
        pos = 3 + keep;
    } else {
        memcpy(buf, file, flen);
        pos = flen;
    }
    memcpy(buf + pos, suffix, slen + 1);
}

/* "file:line" of a setting; file is the one libconfig names (an @include) or `path`. */
static void s_where(char *buf, size_t cap, const char *path, const config_setting_t *s)
{
    const char *file = config_setting_source_file(s);
    s_where_at(buf, cap, file ? file : path, config_setting_source_line(s));
}

static int s_unknown(mn_diag *d, const char *where, const char *kind, const char *name,
                     const char *const *cands, size_t n, const char *list)
{
    const char *near = mn_suggest_closest(name, cands, n);
    int rc = mn_diag_set(d, MN_ECONFIG, where, "unknown %s \"%s\"", kind, name);
    if (near)
        mn_diag_hint(d, "did you mean \"%s\"? known: %s", near, list);
    else
        mn_diag_hint(d, "known: %s", list);
    return rc;
}

static int s_read_config(config_t *lc, const char *path, const char *dir, mn_diag *d)
{
    int rc = MN_OK;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        rc = mn_diag_sys(d, path, "cannot read the configuration");
        goto out;
    }
    config_set_include_dir(lc, dir);
    if (config_read(lc, fp) != CONFIG_TRUE) {
        const char *file = config_error_file(lc);
        char where[256];
        s_where_at(where, sizeof where, file ? file : path, (unsigned)config_error_line(lc));
        if (config_error_type(lc) == CONFIG_ERR_FILE_IO) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "cannot read: %s", config_error_text(lc));
        } else {
            rc = mn_diag_set(d, MN_ECONFIG, where, "%s", config_error_text(lc));
            mn_diag_hint(d, "check the syntax at or just before that line: `name = value;`, "
                            "strings in double quotes, groups as `name: { ... };`");
        }
    }
out:
    if (fp)
        fclose(fp);
    return rc;
}

/* The folder of path, made absolute (symlinks in the folder resolved; the file itself not). */
static int s_abs_dir(const char *path, char *out, size_t cap, mn_diag *d)
{
    char dir[GW_PATH_MAX];
    char real[PATH_MAX];
    int rc = MN_OK;
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (!realpath(dir, real)) {
        rc = mn_diag_sys(d, dir, "cannot resolve the folder of %s", path);
        goto out;
    }
    if (strlen(real) >= cap) {
        rc = mn_diag_set(d, MN_ECONFIG, path, "the path of the configuration is too long");
        goto out;
    }
    snprintf(out, cap, "%s", real);
out:
    return rc;
}

static int s_resolve(const char *home, const char *value, char *out, size_t cap)
{
    int n;
    if (value[0] == '/')
        n = snprintf(out, cap, "%s", value);
    else if (strcmp(home, "/") == 0)
        n = snprintf(out, cap, "/%s", value);
    else
        n = snprintf(out, cap, "%s/%s", home, value);
    return (n < 0 || (size_t)n >= cap) ? MN_ECONFIG : MN_OK;
}

/* --- one setting of group gateway ----------------------------------------------------------- */

static int s_apply(gw_config *cfg, const struct s_setting *def, const char *value, long long ival)
{
    const char *n = def->name;
    if (strcmp(n, "listen") == 0)
        snprintf(cfg->listen, sizeof cfg->listen, "%s", value);
    else if (strcmp(n, "identity") == 0)
        return s_resolve(cfg->home, value, cfg->identity, sizeof cfg->identity);
    else if (strcmp(n, "digest_key") == 0)
        return s_resolve(cfg->home, value, cfg->digest_key, sizeof cfg->digest_key);
    else if (strcmp(n, "registry_key") == 0)
        return s_resolve(cfg->home, value, cfg->registry_key, sizeof cfg->registry_key);
    else if (strcmp(n, "agents_dir") == 0)
        return s_resolve(cfg->home, value, cfg->agents_dir, sizeof cfg->agents_dir);
    else if (strcmp(n, "data_dir") == 0)
        return s_resolve(cfg->home, value, cfg->data_dir, sizeof cfg->data_dir);
    else if (strcmp(n, "run_dir") == 0)
        return s_resolve(cfg->home, value, cfg->run_dir, sizeof cfg->run_dir);
    else if (strcmp(n, "max_frame_bytes") == 0)
        cfg->max_frame_bytes = (size_t)ival;
    else if (strcmp(n, "map_size_mb") == 0)
        cfg->map_size_mb = (size_t)ival;
    else if (strcmp(n, "batch_max") == 0)
        cfg->batch_max = (unsigned)ival;
    else if (strcmp(n, "log_level") == 0)
        snprintf(cfg->log_level, sizeof cfg->log_level, "%s", value);
    return MN_OK;
}

static int s_check_string(const struct s_setting *def, const char *value, size_t max_len,
                          const char *where, mn_diag *d)
{
    int rc = MN_OK;
    if (!value[0]) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s must not be empty", def->name);
        mn_diag_hint(d, "remove the line to use the default \"%s\"", def->def);
    } else if (strcmp(def->name, "listen") == 0) {
        if (strlen(value) >= max_len || !strstr(value, "://")) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "listen \"%s\" is not a ZeroMQ endpoint",
                             value);
            mn_diag_hint(d, "write it as \"tcp://ADDRESS:PORT\", e.g. \"tcp://127.0.0.1:7411\"");
        }
    } else if (strcmp(def->name, "log_level") == 0) {
        enum mn_log_level lv;
        if (mn_log_parse_level(value, &lv) != MN_OK) {
            static const char *const levels[] = {"err", "warn", "notice", "info", "debug"};
            const char *near = mn_suggest_closest(value, levels, 5);
            rc = mn_diag_set(d, MN_ECONFIG, where, "log_level \"%s\" is not a level", value);
            if (near)
                mn_diag_hint(d, "did you mean \"%s\"? levels: err, warn, notice, info, debug",
                             near);
            else
                mn_diag_hint(d, "levels: err, warn, notice, info, debug");
        }
    }
    return rc;
}

static int s_setting(gw_config *cfg, const char *path, const config_setting_t *s, mn_diag *d)
{
    char where[256];
    const char *name = config_setting_name(s);
    const struct s_setting *def = NULL;
    const char *value = NULL;
    long long ival = 0;
    int rc = MN_OK;

    s_where(where, sizeof where, path, s);
    for (size_t i = 0; i < S_N_SETTINGS; i++)
        if (strcmp(s_settings[i].name, name) == 0)
            def = &s_settings[i];
    if (!def) {
        const char *names[S_N_SETTINGS];
        for (size_t i = 0; i < S_N_SETTINGS; i++)
            names[i] = s_settings[i].name;
        rc = s_unknown(d, where, "setting", name, names, S_N_SETTINGS, s_setting_list);
        goto out;
    }
    int type = config_setting_type(s);
    if (def->kind == S_INT) {
        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "%s must be a whole number, not %s",
                             name, s_type_name(type));
            mn_diag_hint(d, "write it without quotes, e.g. %s = %lld;", name, def->idef);
            goto out;
        }
        ival = config_setting_get_int64(s);
        if (ival < def->min || ival > def->max) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "%s = %lld is out of bounds (%lld .. %lld)",
                             name, ival, def->min, def->max);
            mn_diag_hint(d, "choose a value from %lld to %lld; the default is %lld", def->min,
                         def->max, def->idef);
            goto out;
        }
    } else {
        if (type != CONFIG_TYPE_STRING) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "%s must be a string, not %s", name,
                             s_type_name(type));
            mn_diag_hint(d, "write it in double quotes, e.g. %s = \"%s\";", name, def->def);
            goto out;
        }
        value = config_setting_get_string(s);
        rc = s_check_string(def, value, sizeof cfg->listen, where, d);
        if (rc != MN_OK)
            goto out;
    }
    if (s_apply(cfg, def, value, ival) != MN_OK) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s: the resolved path is too long", name);
        goto out;
    }
out:
    return rc;
}

static int s_defaults(gw_config *cfg, mn_diag *d)
{
    for (size_t i = 0; i < S_N_SETTINGS; i++) {
        if (s_apply(cfg, &s_settings[i], s_settings[i].def, s_settings[i].idef) != MN_OK)
            return mn_diag_set(d, MN_ECONFIG, cfg->path, "%s: the resolved path is too long",
                               s_settings[i].name);
    }
    return MN_OK;
}

/* --- agents --------------------------------------------------------------------------------- */

static int s_region_is_valid(const char *region)
{
    size_t len = strlen(region);
    if (len == 0 || len > MN_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)region[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

static int s_agent_string(const config_setting_t *s, const char *path, const char **out,
                          mn_diag *d)
{
    char where[256];
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        s_where(where, sizeof where, path, s);
        mn_diag_set(d, MN_ECONFIG, where, "%s must be a string, not %s", config_setting_name(s),
                    s_type_name(config_setting_type(s)));
        mn_diag_hint(d, "write it in double quotes: %s = \"...\";", config_setting_name(s));
        return MN_ECONFIG;
    }
    *out = config_setting_get_string(s);
    return MN_OK;
}

/* Load one agent file; stem is its file name without ".conf". */
static int s_load_agent(const char *path, const char *stem, gw_agent *out, mn_diag *d)
{
    config_t lc;
    char where[256];
    char dir[GW_PATH_MAX];
    const config_setting_t *name_s = NULL, *key_s = NULL, *region_s = NULL;
    const char *name = NULL, *key = NULL, *region = S_DEFAULT_REGION;
    int rc;

    config_init(&lc);
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    rc = s_read_config(&lc, path, slash ? dir : ".", d);
    if (rc != MN_OK)
        goto out;

    const config_setting_t *root = config_root_setting(&lc);
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *n = config_setting_name(s);
        if (strcmp(n, "name") == 0) {
            name_s = s;
        } else if (strcmp(n, "key") == 0) {
            key_s = s;
        } else if (strcmp(n, "region") == 0) {
            region_s = s;
        } else {
            s_where(where, sizeof where, path, s);
            rc = s_unknown(d, where, "agent setting", n, s_agent_keys, S_N_AGENT_KEYS,
                           "name, key, region");
            goto out;
        }
    }
    if (!name_s || !key_s) {
        rc = mn_diag_set(d, MN_ECONFIG, path, "missing setting \"%s\"", !name_s ? "name" : "key");
        mn_diag_hint(d, "an agent file holds: name = \"NAME\"; key = \"meldnet1 agent NAME "
                        "...\"; region = \"REGION\"; (meldnetctl agent add writes one)");
        goto out;
    }
    if ((rc = s_agent_string(name_s, path, &name, d)) != MN_OK ||
        (rc = s_agent_string(key_s, path, &key, d)) != MN_OK ||
        (region_s && (rc = s_agent_string(region_s, path, &region, d)) != MN_OK))
        goto out;

    s_where(where, sizeof where, path, name_s);
    if (!mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "agent name \"%s\" is not valid", name);
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        goto out;
    }
    if (strcmp(name, stem) != 0) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "agent name \"%s\" differs from the file name",
                         name);
        mn_diag_hint(d, "an agent called NAME lives in NAME.conf: rename the file to %s.conf "
                        "or fix the name", name);
        goto out;
    }
    s_where(where, sizeof where, path, key_s);
    rc = mn_pubkey_parse(key, &out->pub, d);
    if (rc != MN_OK) {
        /* keep mn_key's what and hint, but point at the line */
        if (d)
            snprintf(d->where, sizeof d->where, "%s", where);
        goto out;
    }
    if (out->pub.role != MN_ROLE_AGENT) {
        rc = mn_diag_set(d, MN_EKEY, where, "the key is of a %s, not of an agent",
                         mn_role_name(out->pub.role));
        mn_diag_hint(d, "paste the public line the agent printed (meldnet-agent keygen); it "
                        "starts with \"meldnet1 agent %s\"", name);
        goto out;
    }
    if (strcmp(out->pub.name, name) != 0) {
        rc = mn_diag_set(d, MN_EKEY, where, "the key line names \"%s\", the file names \"%s\"",
                         out->pub.name, name);
        mn_diag_hint(d, "each agent's key line carries its name: use the line of agent \"%s\", "
                        "or rename the agent", name);
        goto out;
    }
    if (region_s && !s_region_is_valid(region)) {
        s_where(where, sizeof where, path, region_s);
        rc = mn_diag_set(d, MN_ECONFIG, where, "region is empty, too long or has quotes or "
                         "control characters");
        mn_diag_hint(d, "write a region of 1-%d plain characters, e.g. \"Oost-Nederland\"",
                     MN_NAME_MAX);
        goto out;
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->region, sizeof out->region, "%s", region);
    rc = MN_OK;
out:
    config_destroy(&lc);
    return rc;
}

static int s_by_name(const void *a, const void *b)
{
    return strcmp(((const gw_agent *)a)->name, ((const gw_agent *)b)->name);
}

static int s_by_curve(const void *a, const void *b)
{
    const gw_agent *x = *(const gw_agent *const *)a;
    const gw_agent *y = *(const gw_agent *const *)b;
    return memcmp(x->pub.curve, y->pub.curve, MN_KEY_BYTES);
}

static int s_check_unique(gw_agent *agents, size_t n, mn_diag *d)
{
    const gw_agent **idx = NULL;
    int rc = MN_OK;

    for (size_t i = 1; i < n; i++) {
        if (strcmp(agents[i - 1].name, agents[i].name) == 0) {
            rc = mn_diag_set(d, MN_ECONFIG, agents[i].source, "agent \"%s\" is defined twice "
                             "(also in %s)", agents[i].name, agents[i - 1].source);
            mn_diag_hint(d, "remove one of the two files");
            goto out;
        }
    }
    if (n < 2)
        goto out;
    idx = malloc(n * sizeof *idx);
    if (!idx) {
        rc = mn_diag_set(d, MN_ENOMEM, "agents", "out of memory checking agent keys");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = &agents[i];
    qsort(idx, n, sizeof *idx, s_by_curve);
    for (size_t i = 1; i < n; i++) {
        if (memcmp(idx[i - 1]->pub.curve, idx[i]->pub.curve, MN_KEY_BYTES) == 0) {
            const gw_agent *a = idx[i - 1], *b = idx[i];
            if (strcmp(a->name, b->name) > 0) {
                const gw_agent *t = a;
                a = b;
                b = t;
            }
            rc = mn_diag_set(d, MN_EKEY, b->source, "agents \"%s\" and \"%s\" have the same "
                             "CURVE key", a->name, b->name);
            mn_diag_hint(d, "every agent needs its own identity: run meldnet-agent keygen on "
                            "the second agent's machine and add its line");
            goto out;
        }
    }
out:
    free(idx);
    return rc;
}

int gw_config_load_agents(const char *agents_dir, gw_agent **agents, size_t *n, mn_diag *d)
{
    DIR *dir = NULL;
    gw_agent *list = NULL;
    size_t count = 0, cap = 0;
    int rc = MN_OK;

    *agents = NULL;
    *n = 0;
    dir = opendir(agents_dir);
    if (!dir) {
        if (errno == ENOENT) {
            rc = mn_diag_set(d, MN_ECONFIG, agents_dir, "the agents folder does not exist");
            mn_diag_hint(d, "create it (mkdir -m 700 %s) or set agents_dir in gateway.conf; "
                            "meldnetctl init makes one", agents_dir);
        } else {
            rc = mn_diag_sys(d, agents_dir, "cannot read the agents folder");
        }
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(dir);
        if (!e) {
            if (errno != 0) {
                rc = mn_diag_sys(d, agents_dir, "cannot read the agents folder");
                goto out;
            }
            break;
        }
        size_t len = strlen(e->d_name);
        /* NAME.conf only: dot files (editors, temp files of atomic writes) are skipped */
        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
            continue;
        char path[GW_PATH_MAX];
        char stem[GW_PATH_MAX];
        int pn = snprintf(path, sizeof path, "%s/%s", agents_dir, e->d_name);
        if (pn < 0 || (size_t)pn >= sizeof path || len - 5 > MN_NAME_MAX) {
            rc = mn_diag_set(d, MN_ECONFIG, agents_dir, "agent file name too long: %s",
                             e->d_name);
            mn_diag_hint(d, "agent names have at most %d characters", MN_NAME_MAX);
            goto out;
        }
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 5), e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) {
            rc = mn_diag_sys(d, path, "cannot read the agent file");
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            rc = mn_diag_set(d, MN_ECONFIG, path, "not a regular file");
            mn_diag_hint(d, "agents_dir holds only agent files NAME.conf; move this away");
            goto out;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            gw_agent *nl = realloc(list, ncap * sizeof *nl);
            if (!nl) {
                rc = mn_diag_set(d, MN_ENOMEM, agents_dir, "out of memory loading agents");
                goto out;
            }
            list = nl;
            cap = ncap;
        }
        rc = s_load_agent(path, stem, &list[count], d);
        if (rc != MN_OK)
            goto out;
        count++;
    }
    if (count > 1)
        qsort(list, count, sizeof *list, s_by_name);
    rc = s_check_unique(list, count, d);
    if (rc != MN_OK)
        goto out;
    *agents = list;
    *n = count;
    list = NULL;
out:
    if (dir)
        closedir(dir);
    free(list);
    return rc;
}

/* --- load ----------------------------------------------------------------------------------- */

int gw_config_load(const char *path, gw_config **out, mn_diag *d)
{
    config_t lc;
    gw_config *cfg = NULL;
    char where[256];
    int rc;

    config_init(&lc);
    *out = NULL;
    cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        rc = mn_diag_set(d, MN_ENOMEM, path, "out of memory loading the configuration");
        goto out;
    }
    rc = s_abs_dir(path, cfg->home, sizeof cfg->home, d);
    if (rc != MN_OK)
        goto out;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (s_resolve(cfg->home, base, cfg->path, sizeof cfg->path) != MN_OK || !base[0]) {
        rc = mn_diag_set(d, MN_ECONFIG, path, "not a configuration file name");
        goto out;
    }
    rc = s_defaults(cfg, d);
    if (rc != MN_OK)
        goto out;
    rc = s_read_config(&lc, path, cfg->home, d);
    if (rc != MN_OK) {
        if (rc == MN_ESYS && d && d->sys_errno == ENOENT)
            mn_diag_hint(d, "make a gateway home with `meldnetctl init --home DIR`, or name "
                            "the right file");
        goto out;
    }

    const config_setting_t *root = config_root_setting(&lc);
    const config_setting_t *group = NULL;
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        static const char *const tops[] = {"gateway"};
        s_where(where, sizeof where, path, s);
        if (strcmp(config_setting_name(s), "gateway") != 0) {
            rc = s_unknown(d, where, "group", config_setting_name(s), tops, 1, "gateway");
            goto out;
        }
        if (!config_setting_is_group(s)) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "gateway must be a group, not %s",
                             s_type_name(config_setting_type(s)));
            mn_diag_hint(d, "write it as gateway: { listen = \"...\"; ... };");
            goto out;
        }
        group = s;
    }
    for (int i = 0; group && i < config_setting_length(group); i++) {
        rc = s_setting(cfg, path, config_setting_get_elem(group, (unsigned)i), d);
        if (rc != MN_OK)
            goto out;
    }
    rc = gw_config_load_agents(cfg->agents_dir, &cfg->agents, &cfg->n_agents, d);
    if (rc != MN_OK)
        goto out;
    *out = cfg;
    cfg = NULL;
out:
    config_destroy(&lc);
    gw_config_destroy(&cfg);
    return rc;
}

void gw_config_destroy(gw_config **cfg_p)
{
    if (!cfg_p || !*cfg_p)
        return;
    free((*cfg_p)->agents);
    free(*cfg_p);
    *cfg_p = NULL;
}

const gw_agent *gw_config_find_agent(const gw_config *cfg, const char *name)
{
    gw_agent key;
    if (!cfg || !name || strlen(name) > MN_NAME_MAX || cfg->n_agents == 0)
        return NULL;
    memset(&key, 0, sizeof key);
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, cfg->agents, cfg->n_agents, sizeof *cfg->agents, s_by_name);
}

const gw_agent *gw_config_find_agent_by_curve(const gw_config *cfg,
                                              const uint8_t curve[MN_KEY_BYTES])
{
    for (size_t i = 0; cfg && i < cfg->n_agents; i++)
        if (memcmp(cfg->agents[i].pub.curve, curve, MN_KEY_BYTES) == 0)
            return &cfg->agents[i];
    return NULL;
}

/* --- write ---------------------------------------------------------------------------------- */

int gw_config_write_agent(const char *agents_dir, const char *name, const char *region,
                          const mn_pubkey *pub, mn_diag *d)
{
    char path[GW_PATH_MAX];
    char line[MN_PUBLIC_LINE_MAX];
    char text[1024];
    struct stat st;
    int rc;

    if (!region || !region[0])
        region = S_DEFAULT_REGION;
    if (!name || !mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_EINVAL, "name", "agent name \"%s\" is not valid",
                         name ? name : "");
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        goto out;
    }
    if (!s_region_is_valid(region)) {
        rc = mn_diag_set(d, MN_EINVAL, "region", "region is too long or has quotes or control "
                         "characters");
        mn_diag_hint(d, "write a region of 1-%d plain characters, e.g. \"Oost-Nederland\"",
                     MN_NAME_MAX);
        goto out;
    }
    if (pub->role != MN_ROLE_AGENT || strcmp(pub->name, name) != 0) {
        rc = mn_diag_set(d, MN_EINVAL, "key", "the key line is of %s \"%s\", not of agent "
                         "\"%s\"", mn_role_name(pub->role), pub->name, name);
        mn_diag_hint(d, "paste the public line agent \"%s\" printed; it starts with "
                        "\"meldnet1 agent %s\"", name, name);
        goto out;
    }
    int pn = snprintf(path, sizeof path, "%s/%s.conf", agents_dir, name);
    if (pn < 0 || (size_t)pn >= sizeof path) {
        rc = mn_diag_set(d, MN_EINVAL, agents_dir, "the agents folder path is too long");
        goto out;
    }
    if (stat(agents_dir, &st) != 0) {
        rc = mn_diag_sys(d, agents_dir, "cannot use the agents folder");
        mn_diag_hint(d, "create it (mkdir -m 700 %s) or check agents_dir in gateway.conf",
                     agents_dir);
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = mn_diag_set(d, MN_EINVAL, agents_dir, "the agents folder is not a folder");
        mn_diag_hint(d, "check agents_dir in gateway.conf");
        goto out;
    }
    if (lstat(path, &st) == 0) {
        rc = mn_diag_set(d, MN_EEXIST, path, "agent \"%s\" exists already", name);
        mn_diag_hint(d, "to give it a new key, remove %s first, then add it again and reload",
                     path);
        goto out;
    }
    mn_pubkey_format(pub, line, sizeof line);
    pn = snprintf(text, sizeof text,
                  "# agent %s - written by meldnetctl agent add\n"
                  "name = \"%s\";\n"
                  "key = \"%s\";\n"
                  "region = \"%s\";\n",
                  name, name, line, region);
    if (pn < 0 || (size_t)pn >= sizeof text) {
        rc = mn_diag_set(d, MN_EINVAL, path, "the agent file would be too long");
        goto out;
    }
    rc = mn_file_write_atomic(path, text, (size_t)pn, 0644, d);
out:
    return rc;
}
