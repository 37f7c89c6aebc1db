/* gw_config.h - the gateway's configuration: parsed by libconfig, validated, with defaults.
 *
 * A home folder (made by `meldnetctl init --home DIR`) holds:
 *   gateway.conf            this configuration; relative paths in it are relative to its folder
 *   keys/gateway.key, .pub  the gateway identity (CURVE, signing, envelope box key)
 *   keys/digest.key         secret key of the keyed BLAKE2b digests (dedup)
 *   keys/registry.pub       the registry's public identity: records are sealed to its box key
 *   keys/pseudonym.key      secret key of the victim pseudonyms (one derived key per recipient)
 *   agents/NAME.conf        one file per agent: name, key (a public line), region
 *   partners/NAME.conf      one file per partner: name, key, kind, bindings (topic + sharing)
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
 *   ledger_file         "registrations.ledger"   the registration ledger (gw_ledger.h)
 *   run_dir             "run"
 *   max_frame_bytes     3145728   (4096 .. 16777216) larger frames get Reject TOO_LARGE
 *   map_size_mb         1024      (16 .. 1048576) LMDB map size
 *   batch_max           256       (1 .. 4096) envelopes per write transaction
 *   log_level           "info"
 *   delivery_listen     "tcp://127.0.0.1:7412"   partner endpoint (ROUTER, CURVE)
 *   pseudonym_key       "keys/pseudonym.key"
 *   partners_dir        "partners"
 *   redelivery_ms       30000     (1000 .. 3600000) an unacked delivery is sent again after this,
 *                                 growing with the item's age, with jitter
 *   max_nacks           3         (1 .. 100) nacks before an item goes to the partner's hold
 *   transient_retry_hours 72      (1 .. 8760) a partner may defer an item (transient nacks)
 *                                 this long before it goes to the hold
 *   max_item_age_hours  168       (1 .. 8760) older undelivered items go to the hold queue
 *   agent_rate_per_s    1000      (0 .. 1000000) per-agent token bucket rate; 0: no limit
 *   agent_burst         5000      (1 .. 1000000) the bucket's size
 *   min_free_mb         64        (0 .. 1048576) free space the data folder keeps; 0: off
 *   workers             0         (0 .. 64) verify/open threads; 0: one per core
 *   inflight_max        4096      (16 .. 1000000) envelopes in the pipeline; beyond: OVERLOADED
 *   agent_inflight_max  64        (1 .. 1000000) of those from one agent; beyond: OVERLOADED
 *   handshakes_per_address_max 8  (1 .. 100000) agents' connections still in their handshake
 *                                 from one address; beyond: its oldest is shut down (gw_conn.h)
 *   handshakes_max      64        (1 .. 1000000) the same from all addresses
 *   metrics_listen      "127.0.0.1:9464"  HTTP: /metrics, /healthz, /readyz, /; "off": none
 * Top-level list "routes" (optional; gw_rules.h): the routing rules, in order. Without it the
 * default rules apply (gw_rules_defaults).
 *
 * The agent and partner files, their revocation and the party types: gw_parties.h.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gw_parties.h"
#include "mn_error.h"
#include "mn_key.h"

struct gw_rule; /* gw_rules.h */

typedef struct gw_config {
    char path[GW_PATH_MAX]; /* the config file */
    char home[GW_PATH_MAX]; /* its folder; relative paths below are resolved against it */
    char listen[256];
    char identity[GW_PATH_MAX]; /* resolved absolute or home-relative paths */
    char digest_key[GW_PATH_MAX];
    char registry_key[GW_PATH_MAX];
    char agents_dir[GW_PATH_MAX];
    char data_dir[GW_PATH_MAX];
    char ledger_file[GW_PATH_MAX];
    char run_dir[GW_PATH_MAX];
    size_t max_frame_bytes;
    size_t map_size_mb;
    unsigned batch_max;
    char log_level[16];
    gw_agent *agents; /* owned array, sorted by name */
    size_t n_agents;
    char delivery_listen[256];
    char pseudonym_key[GW_PATH_MAX];
    char partners_dir[GW_PATH_MAX];
    unsigned redelivery_ms;
    unsigned max_nacks;
    unsigned transient_retry_hours;
    unsigned max_item_age_hours;
    unsigned agent_rate_per_s;
    unsigned agent_burst;
    unsigned min_free_mb;
    unsigned workers; /* 0: one per core */
    unsigned inflight_max;
    unsigned agent_inflight_max;
    unsigned handshakes_per_address_max; /* unauthenticated connections (gw_conn_set_limits) */
    unsigned handshakes_max;
    char metrics_listen[256]; /* HOST:PORT of the HTTP endpoint, or "off" */
    gw_partner *partners;     /* owned array, sorted by name */
    size_t n_partners;
    struct gw_rule *rules; /* owned array, in order (the defaults when "routes" is absent) */
    size_t n_rules;
} gw_config;

/* Parse `path`, apply defaults, check bounds, resolve paths and load every agent file from
 * agents_dir (names unique, keys unique, role agent). Unknown settings are errors with a
 * "did you mean". Revoked parties are loaded too (revoked = 1) and take part in every
 * uniqueness check. Caller owns *out (gw_config_destroy). Returns MN_OK or MN_ECONFIG / MN_EKEY /
 * MN_ESYS with the diag naming file:line. */
MN_NODISCARD int gw_config_load(const char *path, gw_config **out, mn_diag *d);

/* Lookups. All return a borrowed entry of cfg (valid until cfg is destroyed), NULL when absent.
 *
 * The plain ones are for admitting and serving a party: they never return a revoked one.
 * The _any ones return revoked parties too: for managing the files (list, revoke, add again)
 * and for keeping names and keys unique (a revoked key is never given to another party). */
const gw_agent *gw_config_find_agent(const gw_config *cfg, const char *name);
const gw_agent *gw_config_find_agent_by_curve(const gw_config *cfg,
                                              const uint8_t curve[MN_KEY_BYTES]);
const gw_partner *gw_config_find_partner(const gw_config *cfg, const char *name);
const gw_agent *gw_config_find_agent_any(const gw_config *cfg, const char *name);
const gw_agent *gw_config_find_agent_by_curve_any(const gw_config *cfg,
                                                  const uint8_t curve[MN_KEY_BYTES]);
const gw_partner *gw_config_find_partner_any(const gw_config *cfg, const char *name);
const gw_partner *gw_config_find_partner_by_curve_any(const gw_config *cfg,
                                                      const uint8_t curve[MN_KEY_BYTES]);

/* Look at the free space of data_dir's disk (its home when data_dir does not exist yet) and
 * log a warning when it is below min_free_mb: such a gateway refuses every report. For -n and
 * start. Returns 1 when it warned, 0 otherwise (enough room, no floor, or no way to look). */
int gw_config_warn_free_space(const gw_config *cfg);

/* Log a warning for each topic the acute rules emit (police.acute by default) that no partner
 * that is not revoked is bound to: an acute report would wait there unrouted, an alarm. For -n.
 * Returns how many topics it warned about (0: every acute topic has a partner). */
int gw_config_warn_acute_unbound(const gw_config *cfg);

/* The text of a fresh, fully commented gateway.conf with the default settings and `listen`. */
const char *gw_config_template(void);

/* NULL-safe; twice is harmless. */
void gw_config_destroy(gw_config **cfg_p);

#endif
