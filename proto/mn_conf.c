/* mn_conf.c - client configuration files: read with libconfig against a table, check, resolve
 * paths; write a new one.
 *
 * Invariant: after MN_OK every field of the table holds a value of its kind within its bounds
 * (its default or the file's), every NAME and ENDPOINT is set, and every PATH is absolute or
 * relative to the working directory through the home.
 */
#include "mn_conf.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mn_file.h"
#include "mn_log.h"
#include "mn_suggest.h"

#define S_NAMES_MAX 32 /* settings in one table */

int mn_conf_endpoint_is_valid(const char *endpoint)
{
    if (!endpoint)
        return 0;
    size_t n = strlen(endpoint);
    if (n >= MN_CONF_ENDPOINT_MAX ||
        (strncmp(endpoint, "tcp://", 6) != 0 && strncmp(endpoint, "ipc://", 6) != 0) || n == 6)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)endpoint[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

static char *s_field(void *out, size_t offset)
{
    return (char *)out + offset;
}

/* Resolve a relative path against home into out (MN_CONF_PATH_MAX bytes). */
static int s_resolve(const char *home, const char *value, char *out, const char *where, mn_diag *d)
{
    int n = value[0] == '/' ? snprintf(out, MN_CONF_PATH_MAX, "%s", value)
                            : snprintf(out, MN_CONF_PATH_MAX, "%s/%s", home, value);
    if (n < 0 || n >= MN_CONF_PATH_MAX)
        return mn_diag_set(d, MN_ECONFIG, where, "the path is too long");
    return MN_OK;
}

/* Every default of the table into out. */
static int s_defaults(const mn_conf_spec *spec, const char *home, void *out, mn_diag *d)
{
    for (size_t i = 0; i < spec->n_settings; i++) {
        const mn_conf_setting *s = &spec->settings[i];
        char *f = s_field(out, s->offset);
        int rc = MN_OK;
        switch (s->kind) {
        case MN_CONF_UNSIGNED: *(unsigned *)(void *)f = (unsigned)s->idef; break;
        case MN_CONF_SIZE: *(size_t *)(void *)f = (size_t)s->idef; break;
        case MN_CONF_LOG_LEVEL:
            snprintf(f, MN_CONF_LOG_LEVEL_MAX, "%s", s->def ? s->def : "info");
            break;
        case MN_CONF_PATH:
            if (s->def)
                rc = s_resolve(home, s->def, f, home, d);
            break;
        default: break;
        }
        if (rc != MN_OK)
            return rc;
    }
    return MN_OK;
}

static const mn_conf_setting *s_find(const mn_conf_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->n_settings; i++)
        if (strcmp(spec->settings[i].name, name) == 0)
            return &spec->settings[i];
    return NULL;
}

static int s_number(const mn_conf_setting *s, config_setting_t *st, void *field, const char *where,
                    mn_diag *d)
{
    if (config_setting_type(st) != CONFIG_TYPE_INT && config_setting_type(st) != CONFIG_TYPE_INT64)
        return mn_diag_set(d, MN_ECONFIG, where, "%s must be a whole number", s->name);
    long long v = config_setting_get_int64(st);
    if (v < s->min || v > s->max)
        return mn_diag_set(d, MN_ECONFIG, where, "%s = %lld is out of bounds (%lld .. %lld)",
                           s->name, v, s->min, s->max);
    if (s->kind == MN_CONF_UNSIGNED)
        *(unsigned *)field = (unsigned)v;
    else
        *(size_t *)field = (size_t)v;
    return MN_OK;
}

static int s_apply(const char *home, const mn_conf_setting *s, config_setting_t *st, void *out,
                   const char *where, mn_diag *d)
{
    char *f = s_field(out, s->offset);
    if (s->kind == MN_CONF_UNSIGNED || s->kind == MN_CONF_SIZE)
        return s_number(s, st, f, where, d);
    if (config_setting_type(st) != CONFIG_TYPE_STRING)
        return mn_diag_set(d, MN_ECONFIG, where, "%s must be a string in double quotes", s->name);
    const char *v = config_setting_get_string(st);
    switch (s->kind) {
    case MN_CONF_NAME:
        if (!mn_name_is_valid(v))
            return mn_diag_set(d, MN_ECONFIG, where,
                               "%s must be 1-%d characters of A-Z a-z 0-9 . _ -", s->name,
                               MN_NAME_MAX);
        snprintf(f, MN_NAME_MAX + 1, "%s", v);
        return MN_OK;
    case MN_CONF_ENDPOINT:
        if (!mn_conf_endpoint_is_valid(v)) {
            int rc = mn_diag_set(d, MN_ECONFIG, where, "%s is not a valid endpoint", s->name);
            if (s->hint)
                mn_diag_hint(d, "%s", s->hint);
            return rc;
        }
        snprintf(f, MN_CONF_ENDPOINT_MAX, "%s", v);
        return MN_OK;
    case MN_CONF_LOG_LEVEL: {
        enum mn_log_level level;
        if (mn_log_parse_level(v, &level) != MN_OK || strlen(v) >= MN_CONF_LOG_LEVEL_MAX)
            return mn_diag_set(d, MN_ECONFIG, where, "%s must be err, warn, notice, info or debug",
                               s->name);
        snprintf(f, MN_CONF_LOG_LEVEL_MAX, "%s", v);
        return MN_OK;
    }
    default: /* MN_CONF_PATH */
        if (!v[0])
            return mn_diag_set(d, MN_ECONFIG, where, "%s must not be empty", s->name);
        return s_resolve(home, v, f, where, d);
    }
}

/* An unknown setting: the closest name, or the list of them all. */
static int s_unknown(const mn_conf_spec *spec, const char *name, const char *where, mn_diag *d)
{
    const char *names[S_NAMES_MAX];
    size_t n = spec->n_settings < S_NAMES_MAX ? spec->n_settings : S_NAMES_MAX;
    for (size_t j = 0; j < n; j++)
        names[j] = spec->settings[j].name;
    const char *best = mn_suggest_closest(name, names, n);
    int rc = mn_diag_set(d, MN_ECONFIG, where, "unknown setting \"%s\"", name ? name : "");
    if (best) {
        mn_diag_hint(d, "did you mean \"%s\"?", best);
    } else {
        char list[sizeof d->hint];
        size_t o = 0;
        list[0] = '\0';
        for (size_t j = 0; j < n && o < sizeof list; j++) {
            int k = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", names[j]);
            if (k < 0)
                break;
            o += (size_t)k;
        }
        mn_diag_hint(d, "settings are %s", list);
    }
    return rc;
}

/* The first required setting (NAME, ENDPOINT) the file left empty, or NULL. */
static const mn_conf_setting *s_missing(const mn_conf_spec *spec, void *out)
{
    for (size_t i = 0; i < spec->n_settings; i++) {
        const mn_conf_setting *s = &spec->settings[i];
        if ((s->kind == MN_CONF_NAME || s->kind == MN_CONF_ENDPOINT) && !s_field(out, s->offset)[0])
            return s;
    }
    return NULL;
}

/* The example line of the first setting that has one, for the syntax hint. */
static const char *s_example(const mn_conf_spec *spec)
{
    for (size_t i = 0; i < spec->n_settings; i++)
        if (spec->settings[i].example)
            return spec->settings[i].example;
    return "name = \"value\";";
}

int mn_conf_load(const mn_conf_spec *spec, const char *home, void *out, mn_diag *d)
{
    config_t lc;
    int rc = MN_OK;
    char where[MN_CONF_PATH_MAX + 32];
    char *text = NULL;
    size_t len = 0;
    char *path = s_field(out, spec->path_offset);
    char *home_copy = s_field(out, spec->home_offset);

    memset(out, 0, spec->size);
    config_init(&lc);
    if ((size_t)snprintf(home_copy, MN_CONF_PATH_MAX, "%s", home) >= MN_CONF_PATH_MAX ||
        (size_t)snprintf(path, MN_CONF_PATH_MAX, "%s/%s", home, spec->file) >= MN_CONF_PATH_MAX) {
        rc = mn_diag_set(d, MN_ECONFIG, home, "the home path is too long");
        goto out;
    }
    if ((rc = s_defaults(spec, home, out, d)) != MN_OK)
        goto out;

    /* Read whole and bounded, then parsed from memory: libconfig reading a FILE takes time
     * quadratic in a long string's length (seconds for a few megabytes). */
    char noun[64];
    snprintf(noun, sizeof noun, "%s configuration", spec->noun);
    rc = mn_file_read_regular(path, noun, MN_ECONFIG, MN_CONF_FILE_MAX_BYTES, &text, &len, d);
    if (rc == MN_ESYS)
        mn_diag_hint(d,
                     "make a home with '%s keygen NAME --home DIR --gateway ENDPOINT "
                     "--gateway-key GATEWAY.pub', or pass --home / set %s",
                     spec->program, spec->home_env);
    if (rc != MN_OK)
        goto out;
    if (strlen(text) != len) {
        rc = mn_diag_set(d, MN_ECONFIG, path, "the configuration holds a NUL byte");
        mn_diag_hint(d, "it is not a text file: restore it from a backup or write it again");
        goto out;
    }
    if (config_read_string(&lc, text) != CONFIG_TRUE) {
        snprintf(where, sizeof where, "%s:%d", path, config_error_line(&lc));
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s", config_error_text(&lc));
        mn_diag_hint(d, "settings look like: %s (a ';' ends each one)", s_example(spec));
        goto out;
    }
    config_setting_t *root = config_root_setting(&lc);
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *st = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(st);
        snprintf(where, sizeof where, "%s:%d", path, config_setting_source_line(st));
        const mn_conf_setting *s = name ? s_find(spec, name) : NULL;
        if (!s) {
            rc = s_unknown(spec, name, where, d);
            goto out;
        }
        if ((rc = s_apply(home, s, st, out, where, d)) != MN_OK)
            goto out;
    }
    const mn_conf_setting *missing = s_missing(spec, out);
    if (missing) {
        rc = mn_diag_set(d, MN_ECONFIG, path, "the setting \"%s\" is missing", missing->name);
        if (missing->example)
            mn_diag_hint(d, "add it, e.g. %s", missing->example);
        goto out;
    }
out:
    if (rc == MN_ECONFIG && d && !d->hint[0])
        mn_diag_hint(d,
                     "the comments in %s (written by '%s keygen') and docs/OPERATING.md "
                     "describe every setting",
                     spec->file, spec->program);
    free(text);
    config_destroy(&lc);
    return rc;
}

int mn_conf_write(const mn_conf_spec *spec, const char *home, const char *name,
                  const char *endpoint, const char *text, mn_diag *d)
{
    char path[MN_CONF_PATH_MAX];
    struct stat st;

    if (!mn_name_is_valid(name))
        return mn_diag_set(d, MN_EINVAL, "NAME", "%s name is 1-%d characters of A-Z a-z 0-9 . _ -",
                           spec->a_noun, MN_NAME_MAX);
    if (!mn_conf_endpoint_is_valid(endpoint)) {
        int rc = mn_diag_set(d, MN_EINVAL, "--gateway", "not a valid endpoint");
        mn_diag_hint(d, "write it as tcp://HOST:PORT, e.g. %s", spec->endpoint_example);
        return rc;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", home, spec->file) >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, home, "the home path is too long");
    if (stat(path, &st) == 0) {
        int rc = mn_diag_set(d, MN_EEXIST, path, "this home has %s already", spec->a_noun);
        if (spec->taken_hint)
            mn_diag_hint(d, "%s", spec->taken_hint);
        return rc;
    }
    if (!text)
        return mn_diag_set(d, MN_EINVAL, path, "the configuration text is too long");
    return mn_file_write_atomic(path, text, strlen(text), 0600, d);
}
