/* partner_config.h - the partner's home folder and its partner.conf (libconfig); topic lists.
 *
 * A home folder (made by `meldnet-partner keygen NAME --home DIR ...`, mode 0700) holds:
 *   partner.conf        this configuration; relative paths in it are relative to its folder
 *   keys/partner.key    the partner identity, secret (0600): CURVE, signing, and the box key
 *                       every referral for this partner is sealed to
 *   keys/partner.pub    its public line: the gateway's operator runs `meldnetctl partner add`
 *   keys/gateway.pub    the gateway's public line (CURVE server key; its signing key verifies
 *                       every delivery)
 *   state/              what listen has delivered (partner_state.h)
 *
 * Settings (top level of partner.conf):
 *   name             (required)             this partner's name; must match keys/partner.key
 *   gateway          (required)             the gateway's delivery endpoint, "tcp://host:port"
 *   gateway_key      "keys/gateway.pub"
 *   identity         "keys/partner.key"
 *   state            "state"
 *   credit           16        (1 .. 1024) deliveries in flight when listen has no --credit
 *   max_frame_bytes  16777216  (65536 .. 268435456) largest ToPartner frame accepted; a larger
 *                              one drops the connection, so keep it above the gateway's limit
 *   log_level        "info"    err, warn, notice, info or debug (for `listen`)
 * Unknown settings are errors, with a "did you mean".
 */
#ifndef PARTNER_CONFIG_H
#define PARTNER_CONFIG_H

#include <stddef.h>

#include "mn_conf.h"
#include "mn_delivery.h"
#include "mn_error.h"
#include "mn_key.h"

#define PARTNER_HOME_ENV "MELDNET_PARTNER_HOME"
#define PARTNER_HOME_DEFAULT "./meldnet-partner-home"
#define PARTNER_CREDIT_DEFAULT 16
#define PARTNER_FRAME_DEFAULT (16u * 1024 * 1024)

typedef struct partner_config {
    char path[MN_CONF_PATH_MAX]; /* the partner.conf that was read */
    char home[MN_CONF_PATH_MAX]; /* its folder */
    char name[MN_NAME_MAX + 1];
    char gateway[MN_CONF_ENDPOINT_MAX]; /* endpoint (mn_conf_endpoint_is_valid) */
    char gateway_key[MN_CONF_PATH_MAX]; /* resolved against home */
    char identity[MN_CONF_PATH_MAX];
    char state[MN_CONF_PATH_MAX];
    unsigned credit;
    size_t max_frame_bytes;
    char log_level[MN_CONF_LOG_LEVEL_MAX];
} partner_config;

/* The home folder to use: `arg` when not NULL, else $MELDNET_PARTNER_HOME when set and not
 * empty, else PARTNER_HOME_DEFAULT. Borrowed; never NULL. */
const char *partner_config_home(const char *arg);

/* Read and check HOME/partner.conf: defaults applied, bounds checked, paths resolved. Fills
 * *out. Returns MN_OK, MN_ECONFIG (diag "partner.conf:LINE" and what is wrong), MN_ESYS (cannot
 * read; the hint names keygen). */
MN_NODISCARD int partner_config_load(const char *home, partner_config *out, mn_diag *d);

/* Write HOME/partner.conf for a new partner (crash-safe, 0600), every setting commented.
 * Returns MN_OK, MN_EINVAL (bad name or endpoint), MN_EEXIST, MN_ESYS. */
MN_NODISCARD int partner_config_write(const char *home, const char *name, const char *endpoint,
                                      mn_diag *d);

/* Parse a comma-separated list of topics or patterns ("police.acute,care.*"); blanks around
 * items are ignored. Fills *out (n == 0 for an empty list: every bound topic).
 * Returns MN_OK or MN_EINVAL (an empty item, a bad topic, a duplicate, more than
 * MN_TOPICS_MAX), with the diag naming the item and a hint. */
MN_NODISCARD int partner_topics_parse(const char *list, mn_topics *out, mn_diag *d);

#endif
