/* agent_config.h - the agent's home folder and its agent.conf (libconfig), with defaults.
 *
 * A home folder (made by `meldnet-agent keygen NAME --home DIR ...`, mode 0700) holds:
 *   agent.conf          this configuration; relative paths in it are relative to its folder
 *   keys/agent.key      the agent identity, secret (0600)
 *   keys/agent.pub      its public line: the gateway operator runs `meldnetctl agent add` with it
 *   keys/gateway.pub    the gateway's public line (CURVE server key, receipt signing key, and
 *                       the box key envelopes are sealed to)
 *   spool/              the durable outbox (agent_spool.h)
 *
 * Settings (top level of agent.conf):
 *   name             (required)             this agent's name; must match keys/agent.key
 *   gateway          (required)             the gateway's ingest endpoint, "tcp://host:port"
 *   gateway_key      "keys/gateway.pub"
 *   identity         "keys/agent.key"
 *   spool            "spool"
 *   window           32        (1 .. 1024) envelopes in flight at once
 *   spool_map_mb     1024      (16 .. 1048576) largest size of the spool
 *   max_frame_bytes  MN_WIRE_DEFAULT_MAX_FRAME (4096 .. 16777216) the gateway's
 *                              max_frame_bytes: larger envelopes are refused by `submit`
 *                              before they are queued
 *   log_level        "info"    err, warn, notice, info or debug (for `run`)
 * Unknown settings are errors, with a "did you mean".
 */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stddef.h>

#include "mn_conf.h"
#include "mn_error.h"
#include "mn_key.h"

#define AGENT_HOME_ENV "MELDNET_AGENT_HOME"
#define AGENT_HOME_DEFAULT "./meldnet-agent-home"

typedef struct agent_config {
    char path[MN_CONF_PATH_MAX]; /* the agent.conf that was read */
    char home[MN_CONF_PATH_MAX]; /* its folder */
    char name[MN_NAME_MAX + 1];
    char gateway[MN_CONF_ENDPOINT_MAX]; /* endpoint (mn_conf_endpoint_is_valid) */
    char gateway_key[MN_CONF_PATH_MAX]; /* resolved against home */
    char identity[MN_CONF_PATH_MAX];
    char spool[MN_CONF_PATH_MAX];
    unsigned window;
    size_t spool_map_mb;
    size_t max_frame_bytes;
    char log_level[MN_CONF_LOG_LEVEL_MAX];
} agent_config;

/* The home folder to use: `arg` when not NULL, else $MELDNET_AGENT_HOME when set and not
 * empty, else AGENT_HOME_DEFAULT. Borrowed; never NULL. */
const char *agent_config_home(const char *arg);

/* Read and check HOME/agent.conf: defaults applied, bounds checked, paths resolved. Fills *out.
 * Returns MN_OK, MN_ECONFIG (diag "agent.conf:LINE" and what is wrong), MN_ESYS (cannot read;
 * the hint names keygen). */
MN_NODISCARD int agent_config_load(const char *home, agent_config *out, mn_diag *d);

/* Write HOME/agent.conf for a new agent (crash-safe, 0600), every setting commented.
 * Returns MN_OK, MN_EINVAL (bad name or endpoint), MN_EEXIST, MN_ESYS. */
MN_NODISCARD int agent_config_write(const char *home, const char *name, const char *endpoint,
                                    mn_diag *d);

#endif
