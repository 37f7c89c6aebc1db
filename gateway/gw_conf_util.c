/* gw_conf_util - what the gateway's libconfig readers share: where, unknown names, type names,
 * reading a file whole.
 */
#include "gw_conf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_file.h"
#include "mn_suggest.h"

const char *gw_conf_util_type_name(int type)
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

void gw_conf_util_where(char *buf, size_t cap, const char *path, const config_setting_t *s)
{
    const char *file = config_setting_source_file(s);
    s_where_at(buf, cap, file ? file : path, config_setting_source_line(s));
}

int gw_conf_util_unknown(mn_diag *d, const char *where, const char *kind, const char *name,
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

/* Parsed from memory: libconfig reading a FILE takes time quadratic in a long string's
 * length. */
int gw_conf_util_read(config_t *lc, const char *path, const char *dir, mn_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mn_file_read_regular(path, "configuration", MN_ECONFIG, MN_CONF_FILE_MAX_BYTES, &text,
                                  &len, d);
    if (rc != MN_OK)
        goto out;
    if (strlen(text) != len) {
        rc = mn_diag_set(d, MN_ECONFIG, path, "the configuration holds a NUL byte");
        mn_diag_hint(d, "it is not a text file: restore it from a backup or write it again");
        goto out;
    }
    config_set_include_dir(lc, dir);
    if (config_read_string(lc, text) != CONFIG_TRUE) {
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
    free(text);
    return rc;
}
