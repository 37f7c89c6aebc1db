/* mn_home.h - a client's home folder (meldnet-agent, meldnet-partner): which folder it is, its
 * identity and the gateway's public line, loaded and checked, and making a new one.
 *
 * A home holds its configuration (mn_conf.h) and keys/ROLE.key (secret, 0600),
 * keys/ROLE.pub (its public line, for the gateway's operator) and keys/gateway.pub (the
 * gateway's public line: CURVE server key, signing key, box key), with a data folder of the
 * program's own (the agent's spool, the partner's state). Folders are 0700.
 */
#ifndef MN_HOME_H
#define MN_HOME_H

#include "mn_conf.h"
#include "mn_error.h"
#include "mn_key.h"

/* The home folder to use: `arg` when not NULL, else $env when set and not empty, else def.
 * Borrowed; never NULL (for a NULL def: "."). */
const char *mn_home_dir(const char *arg, const char *env, const char *def);

/* out (MN_CONF_PATH_MAX bytes) = dir/name. Returns MN_OK or MN_EINVAL (too long; where =
 * dir). */
MN_NODISCARD int mn_home_join(char *out, const char *dir, const char *name, mn_diag *d);

/* Read a public line that must be the gateway's. `hint` (may be NULL) is the hint when it is
 * another party's line. Returns MN_OK, MN_EKEY, MN_ESYS. */
MN_NODISCARD int mn_home_load_gateway(const char *path, mn_pubkey *out, const char *hint,
                                      mn_diag *d);

/* Load the identity at identity_path, which must be of `role` and called `name` (as `conf`,
 * the configuration file, names it), and the gateway's public line at gateway_path. Caller owns
 * *key (also when the gateway's line fails). Returns MN_OK, MN_EKEY (the diag names the file
 * and what to fix), MN_EPERM, MN_ESYS. */
MN_NODISCARD int mn_home_load_keys(const char *identity_path, const char *gateway_path,
                                   mn_role role, const char *name, const char *conf, mn_key **key,
                                   mn_pubkey *gateway, mn_diag *d);

/* The key files of a home. */
typedef struct mn_home_files {
    char keys[MN_CONF_PATH_MAX];    /* HOME/keys */
    char key[MN_CONF_PATH_MAX];     /* HOME/keys/ROLE.key */
    char pub[MN_CONF_PATH_MAX];     /* HOME/keys/ROLE.pub */
    char gateway[MN_CONF_PATH_MAX]; /* HOME/keys/gateway.pub */
} mn_home_files;

/* Start a new home for `name` of `role`: check that gateway_pub holds the gateway's public
 * line, refuse a home that has HOME/conf or an identity already (MN_EEXIST, hint taken_hint),
 * make HOME (and the folders above it when make_parents, 0755 less the umask) and HOME/keys
 * (0700), generate the identity and save it, its public line and a copy of the gateway's.
 * Fills *files; caller owns *key. The caller makes its data folder and writes conf last, so a
 * home with its configuration is always complete. Returns MN_OK, MN_EINVAL (a path too long),
 * MN_EKEY, MN_EEXIST, MN_ESYS, MN_ENOMEM. */
MN_NODISCARD int mn_home_create(const char *home, mn_role role, const char *name, const char *conf,
                                const char *gateway_pub, int make_parents, const char *taken_hint,
                                mn_home_files *files, mn_key **key, mn_diag *d);

#endif
