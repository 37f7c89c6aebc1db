/* gw_config.h - the gateway's configuration: parsed by libconfig, validated, with defaults.
 *
 * A home folder (made by `meldnetctl init --home DIR`) holds:
 *   gateway.conf            this configuration; relative paths in it are relative to its folder
 *   keys/gateway.key, .pub  the gateway identity (CURVE, signing, envelope box key)
 *   keys/digest.key         secret key of the keyed BLAKE2b digests (dedup)
 *   keys/registry.pub       the registry's public identity: records are sealed to its box key
 *   agents/NAME.conf        one file per agent: name, key (a public line), region
 *   data/                   the LMDB store
 *   run/status.json         counters the running gateway writes (meldnetctl status reads them)
 * `meldnetctl init` also writes registry-secret/registry.key: the registry's secret key, which
 * belongs with the registry's operators, not on the gateway host.
 *
 * Settings (group "gateway" in gateway.conf; every one has a default):
 *   listen              "tcp://127.0.0.1:7411"   ingest endpoint (ROUTER, CURVE)
 *   identity            "keys/gateway.key"
 *   digest_key          "keys/digest.key"
 *   registry_key        "keys/registry.pub"
 *   agents_dir          "agents"
 *   data_dir            "data"
 *   run_dir             "run"
 *   max_frame_bytes     3145728   (4096 .. 16777216) larger frames get Reject TOO_LARGE
 *   map_size_mb         1024      (16 .. 1048576) LMDB map size
 *   batch_max           256       (1 .. 4096) envelopes per write transaction
 *   log_level           "info"
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"
#include "mn_key.h"

#define GW_PATH_MAX 4096

typedef struct gw_agent {
    char name[MN_NAME_MAX + 1];
    char region[MN_NAME_MAX + 1];
    mn_pubkey pub;
    char source[GW_PATH_MAX]; /* the file it came from, for messages */
} gw_agent;

typedef struct gw_config {
    char path[GW_PATH_MAX];     /* the config file */
    char home[GW_PATH_MAX];     /* its folder; relative paths below are resolved against it */
    char listen[256];
    char identity[GW_PATH_MAX]; /* resolved absolute or home-relative paths */
    char digest_key[GW_PATH_MAX];
    char registry_key[GW_PATH_MAX];
    char agents_dir[GW_PATH_MAX];
    char data_dir[GW_PATH_MAX];
    char run_dir[GW_PATH_MAX];
    size_t max_frame_bytes;
    size_t map_size_mb;
    unsigned batch_max;
    char log_level[16];
    gw_agent *agents; /* owned array, sorted by name */
    size_t n_agents;
} gw_config;

/* Parse `path`, apply defaults, check bounds, resolve paths and load every agent file from
 * agents_dir (names unique, keys unique, role agent). Unknown settings are errors with a
 * "did you mean". Caller owns *out (gw_config_destroy). Returns MN_OK or MN_ECONFIG / MN_EKEY /
 * MN_ESYS with the diag naming file:line. */
MN_NODISCARD int gw_config_load(const char *path, gw_config **out, mn_diag *d);

/* Load only the agents of agents_dir (for reload and for `meldnetctl agent list`). Caller owns
 * *agents (free()). Returns as gw_config_load. */
MN_NODISCARD int gw_config_load_agents(const char *agents_dir, gw_agent **agents, size_t *n,
                                       mn_diag *d);

/* Find an agent by name, or by CURVE public key. Borrowed; NULL when absent. */
const gw_agent *gw_config_find_agent(const gw_config *cfg, const char *name);
const gw_agent *gw_config_find_agent_by_curve(const gw_config *cfg,
                                              const uint8_t curve[MN_KEY_BYTES]);

/* Write an agent file agents_dir/NAME.conf (crash-safe). Returns MN_OK, MN_EEXIST, MN_ESYS,
 * MN_EINVAL (bad name / region). */
MN_NODISCARD int gw_config_write_agent(const char *agents_dir, const char *name,
                                       const char *region, const mn_pubkey *pub, mn_diag *d);

/* The text of a fresh, fully commented gateway.conf with the default settings and `listen`. */
const char *gw_config_template(void);

/* NULL-safe; twice is harmless. */
void gw_config_destroy(gw_config **cfg_p);

#endif
