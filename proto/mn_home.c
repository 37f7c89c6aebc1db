/* mn_home.c - client homes: the folder, its keys checked against the configuration, a new one
 * made in an order that leaves nothing half-made that looks complete. */
#include "mn_home.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *mn_home_dir(const char *arg, const char *env, const char *def)
{
    if (arg)
        return arg;
    const char *value = env ? getenv(env) : NULL;
    if (value && value[0])
        return value;
    return def ? def : ".";
}

int mn_home_join(char *out, const char *dir, const char *name, mn_diag *d)
{
    int n = snprintf(out, MN_CONF_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= MN_CONF_PATH_MAX)
        return mn_diag_set(d, MN_EINVAL, dir, "the path is too long");
    return MN_OK;
}

int mn_home_load_gateway(const char *path, mn_pubkey *out, const char *hint, mn_diag *d)
{
    int rc = mn_pubkey_load(path, out, d);
    if (rc != MN_OK)
        return rc;
    if (out->role != MN_ROLE_GATEWAY) {
        rc = mn_diag_set(d, MN_EKEY, path, "this is the public line of a %s, not of a gateway",
                         mn_role_name(out->role));
        if (hint)
            mn_diag_hint(d, "%s", hint);
        return rc;
    }
    return MN_OK;
}

int mn_home_load_keys(const char *identity_path, const char *gateway_path, mn_role role,
                      const char *name, const char *conf, mn_key **key, mn_pubkey *gateway,
                      mn_diag *d)
{
    int rc = mn_key_load(identity_path, key, d);
    if (rc != MN_OK)
        return rc;
    const mn_pubkey *me = mn_key_public(*key);
    if (me->role != role || strcmp(me->name, name) != 0) {
        rc = mn_diag_set(d, MN_EKEY, identity_path,
                         "this is the identity of %s \"%s\", %s names %s \"%s\"",
                         mn_role_name(me->role), me->name, conf, mn_role_name(role), name);
        mn_diag_hint(d, "point 'identity' in %s at this %s's own key", conf, mn_role_name(role));
        return rc;
    }
    return mn_home_load_gateway(gateway_path, gateway,
                                "copy keys/gateway.pub from the gateway's home (meldnetctl init)",
                                d);
}

static int s_mkdir_private(const char *path, mn_diag *d)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return mn_diag_sys(d, path, "cannot create the directory");
    return MN_OK;
}

/* Make the folders above `path` that are missing (mode 0755 less the umask), as mkdir -p. */
static int s_mkdir_parents(const char *path, mn_diag *d)
{
    char buf[MN_CONF_PATH_MAX];
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
        return mn_diag_set(d, MN_EINVAL, path, "the path is too long");
    for (char *p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return mn_diag_sys(d, buf, "cannot create the directory");
        *p = '/';
    }
    return MN_OK;
}

int mn_home_create(const char *home, mn_role role, const char *name, const char *conf,
                   const char *gateway_pub, int make_parents, const char *taken_hint,
                   mn_home_files *files, mn_key **key, mn_diag *d)
{
    const char *noun = mn_role_name(role);
    char key_file[32], pub_file[32], conf_path[MN_CONF_PATH_MAX];
    mn_pubkey gw;
    struct stat st;
    int rc;

    *key = NULL;
    snprintf(key_file, sizeof key_file, "%s.key", noun);
    snprintf(pub_file, sizeof pub_file, "%s.pub", noun);
    if ((rc = mn_home_join(files->keys, home, "keys", d)) != MN_OK ||
        (rc = mn_home_join(files->key, files->keys, key_file, d)) != MN_OK ||
        (rc = mn_home_join(files->pub, files->keys, pub_file, d)) != MN_OK ||
        (rc = mn_home_join(files->gateway, files->keys, "gateway.pub", d)) != MN_OK ||
        (rc = mn_home_join(conf_path, home, conf, d)) != MN_OK)
        return rc;
    if ((rc = mn_home_load_gateway(gateway_pub, &gw,
                                   "use keys/gateway.pub from the gateway's home (meldnetctl "
                                   "init)",
                                   d)) != MN_OK)
        return rc;
    if (stat(conf_path, &st) == 0 || stat(files->key, &st) == 0) {
        rc = mn_diag_set(d, MN_EEXIST, home, "this home has %s %s already",
                         strchr("aeiou", noun[0]) ? "an" : "a", noun);
        if (taken_hint)
            mn_diag_hint(d, "%s", taken_hint);
        return rc;
    }
    if ((make_parents && (rc = s_mkdir_parents(home, d)) != MN_OK) ||
        (rc = s_mkdir_private(home, d)) != MN_OK || (rc = s_mkdir_private(files->keys, d)) != MN_OK)
        return rc;
    if ((rc = mn_key_generate(role, name, key, d)) != MN_OK ||
        (rc = mn_key_save(*key, files->key, files->pub, d)) != MN_OK ||
        (rc = mn_pubkey_save(&gw, files->gateway, d)) != MN_OK)
        return rc;
    return MN_OK;
}
