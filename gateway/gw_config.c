/* gw_config - the gateway's configuration: parsed by libconfig, validated, with defaults.
 *
 * How it works: gateway.conf is read with libconfig; every member of group "gateway" must be
 * one of the settings in s_settings (an unknown one is an error with a "did you mean"), of the
 * right type and within bounds; whatever is absent keeps its default. The table says where each
 * value goes (its field's offset in gw_config), so applying a setting or a default is one walk
 * of the table. Relative paths are made absolute against the folder of the config file, so the
 * gateway may change directory. The optional top-level list "routes" is parsed by gw_rules;
 * without it the default rules are copied in, so cfg->rules is always owned and never empty.
 * Agents and partners are not in gateway.conf: gw_parties loads their folders, and the load
 * checks the two together.
 *
 * Invariants: a loaded gw_config has every setting within its bounds, absolute paths, agents
 * and partners as gw_parties_load_agents / _partners leave them, and no partner shares a CURVE
 * key with an agent. Errors name file:line (libconfig's source line) in diag.where.
 */
#include "gw_config.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "gw_conf_util.h"
#include "gw_parties.h"
#include "gw_route.h"
#include "gw_rules.h"
#include "mn_log.h"
#include "mn_suggest.h"

/* --- the settings --------------------------------------------------------------------------- */

enum s_kind { S_STRING, S_PATH, S_SIZE, S_UNSIGNED };

struct s_setting;

/* The check of a string setting's value beyond "not empty": MN_OK or MN_ECONFIG. */
typedef int (*s_check_fn)(const struct s_setting *def, const char *value, const char *where,
                          mn_diag *d);

/* One setting of group gateway, and where its value goes: the field of gw_config at offset,
 * size bytes long (a string's or a path's capacity; a size_t or an unsigned). */
struct s_setting {
    const char *name;
    enum s_kind kind;
    size_t offset;
    size_t size;
    const char *def; /* string default */
    long long idef;  /* integer default and bounds */
    long long min;
    long long max;
    s_check_fn check; /* strings and paths: NULL or the value's own check */
};

/* The offset and size of field f of gw_config, for a row of s_settings. */
#define S_FIELD(f) offsetof(gw_config, f), sizeof(((gw_config *)0)->f)

static int s_check_endpoint(const struct s_setting *def, const char *value, const char *where,
                            mn_diag *d)
{
    int rc = MN_OK;
    if (strlen(value) >= def->size || !strstr(value, "://")) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s \"%s\" is not a ZeroMQ endpoint", def->name,
                         value);
        mn_diag_hint(d, "write it as \"tcp://ADDRESS:PORT\", e.g. \"%s\"", def->def);
    }
    return rc;
}

static int s_check_metrics_listen(const struct s_setting *def, const char *value, const char *where,
                                  mn_diag *d)
{
    int rc = MN_OK;
    if (strlen(value) >= def->size || (strcmp(value, "off") != 0 && !strchr(value, ':'))) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "metrics_listen \"%s\" is not HOST:PORT", value);
        mn_diag_hint(d, "write it as \"127.0.0.1:9464\" (or \"[::1]:9464\"), or \"off\"");
    }
    return rc;
}

static int s_check_log_level(const struct s_setting *def, const char *value, const char *where,
                             mn_diag *d)
{
    enum mn_log_level lv;
    int rc = MN_OK;
    (void)def;
    if (mn_log_parse_level(value, &lv) != MN_OK) {
        static const char *const levels[] = {"err", "warn", "notice", "info", "debug"};
        const char *near = mn_suggest_closest(value, levels, 5);
        rc = mn_diag_set(d, MN_ECONFIG, where, "log_level \"%s\" is not a level", value);
        if (near)
            mn_diag_hint(d, "did you mean \"%s\"? levels: err, warn, notice, info, debug", near);
        else
            mn_diag_hint(d, "levels: err, warn, notice, info, debug");
    }
    return rc;
}

static const struct s_setting s_settings[] = {
    {"listen", S_STRING, S_FIELD(listen), "tcp://127.0.0.1:7411", 0, 0, 0, s_check_endpoint},
    {"identity", S_PATH, S_FIELD(identity), "keys/gateway.key", 0, 0, 0, NULL},
    {"digest_key", S_PATH, S_FIELD(digest_key), "keys/digest.key", 0, 0, 0, NULL},
    {"registry_key", S_PATH, S_FIELD(registry_key), "keys/registry.pub", 0, 0, 0, NULL},
    {"agents_dir", S_PATH, S_FIELD(agents_dir), "agents", 0, 0, 0, NULL},
    {"data_dir", S_PATH, S_FIELD(data_dir), "data", 0, 0, 0, NULL},
    {"ledger_file", S_PATH, S_FIELD(ledger_file), "registrations.ledger", 0, 0, 0, NULL},
    {"run_dir", S_PATH, S_FIELD(run_dir), "run", 0, 0, 0, NULL},
    {"max_frame_bytes", S_SIZE, S_FIELD(max_frame_bytes), NULL, 3145728, 4096, 16777216, NULL},
    {"map_size_mb", S_SIZE, S_FIELD(map_size_mb), NULL, 1024, 16, 1048576, NULL},
    {"batch_max", S_UNSIGNED, S_FIELD(batch_max), NULL, 256, 1, 4096, NULL},
    {"log_level", S_STRING, S_FIELD(log_level), "info", 0, 0, 0, s_check_log_level},
    {"delivery_listen", S_STRING, S_FIELD(delivery_listen), "tcp://127.0.0.1:7412", 0, 0, 0,
     s_check_endpoint},
    {"pseudonym_key", S_PATH, S_FIELD(pseudonym_key), "keys/pseudonym.key", 0, 0, 0, NULL},
    {"partners_dir", S_PATH, S_FIELD(partners_dir), "partners", 0, 0, 0, NULL},
    {"redelivery_ms", S_UNSIGNED, S_FIELD(redelivery_ms), NULL, 30000, 1000, 3600000, NULL},
    {"max_nacks", S_UNSIGNED, S_FIELD(max_nacks), NULL, 3, 1, 100, NULL},
    {"transient_retry_hours", S_UNSIGNED, S_FIELD(transient_retry_hours), NULL, 72, 1, 8760, NULL},
    {"max_item_age_hours", S_UNSIGNED, S_FIELD(max_item_age_hours), NULL, 168, 1, 8760, NULL},
    {"agent_rate_per_s", S_UNSIGNED, S_FIELD(agent_rate_per_s), NULL, 1000, 0, 1000000, NULL},
    {"agent_burst", S_UNSIGNED, S_FIELD(agent_burst), NULL, 5000, 1, 1000000, NULL},
    {"min_free_mb", S_UNSIGNED, S_FIELD(min_free_mb), NULL, 64, 0, 1048576, NULL},
    {"workers", S_UNSIGNED, S_FIELD(workers), NULL, 0, 0, 64, NULL},
    {"inflight_max", S_UNSIGNED, S_FIELD(inflight_max), NULL, 4096, 16, 1000000, NULL},
    {"agent_inflight_max", S_UNSIGNED, S_FIELD(agent_inflight_max), NULL, 64, 1, 1000000, NULL},
    {"handshakes_per_address_max", S_UNSIGNED, S_FIELD(handshakes_per_address_max), NULL, 8, 1,
     100000, NULL},
    {"handshakes_max", S_UNSIGNED, S_FIELD(handshakes_max), NULL, 64, 1, 1000000, NULL},
    {"metrics_listen", S_STRING, S_FIELD(metrics_listen), "127.0.0.1:9464", 0, 0, 0,
     s_check_metrics_listen},
};
#define S_N_SETTINGS (sizeof s_settings / sizeof s_settings[0])

static const char s_setting_list[] =
    "listen, identity, digest_key, registry_key, agents_dir, data_dir, ledger_file, run_dir, "
    "max_frame_bytes, map_size_mb, batch_max, log_level, delivery_listen, pseudonym_key, "
    "partners_dir, redelivery_ms, max_nacks, transient_retry_hours, max_item_age_hours, "
    "agent_rate_per_s, agent_burst, min_free_mb, workers, inflight_max, agent_inflight_max, "
    "handshakes_per_address_max, handshakes_max, metrics_listen";

static const char s_template[] =
    "# gateway.conf - configuration of meldnet-gateway.\n"
    "#\n"
    "# Made by `meldnetctl init`; every setting is shown with its default, its bounds and what it\n"
    "# does. Syntax (libconfig): `name = value;`, strings in double quotes, `#` starts a comment.\n"
    "# Relative paths are relative to the folder of this file. Unknown settings are errors.\n"
    "# Check a change with `meldnet-gateway -n --home DIR` before you restart the gateway.\n"
    "#\n"
    "# Agents are not listed here: each has its own file agents_dir/NAME.conf, written by\n"
    "# `meldnetctl agent add NAME \"PUBLIC LINE\" --region REGION --home DIR`. Partners neither:\n"
    "# partners_dir/NAME.conf, written by `meldnetctl partner add NAME "
    "\"PUBLIC LINE\" --kind KIND\n"
    "# --bind TOPIC=SHARING --home DIR`. A reload (SIGHUP) applies a change to either.\n"
    "# `meldnetctl agent revoke NAME` (or `partner revoke NAME`) marks a file revoked = true;\n"
    "# the gateway then refuses that key; adding NAME again brings it back. meldnetctl reloads\n"
    "# a running gateway itself after add and revoke.\n"
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
    "    # The registration ledger (0600): which store this gateway numbers with and the\n"
    "    # highest number it gave, kept outside the store so that a lost or restored store is\n"
    "    # noticed before a number is given twice. Back it up, never restore it over a newer one.\n"
    "    # Default \"registrations.ledger\".\n"
    "    ledger_file = \"registrations.ledger\";\n"
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
    "\n"
    "    # Delivery endpoint (ZeroMQ ROUTER, CURVE) the partners (meldnet-partner) connect to.\n"
    "    # Default \"tcp://127.0.0.1:7412\"; it must differ from listen.\n"
    "    delivery_listen = \"tcp://127.0.0.1:7412\";\n"
    "\n"
    "    # Secret key (0600) of the victim pseudonyms: each recipient gets its own pseudonym of a\n"
    "    # victim, so it sees \"same person as before\" and nobody can "
    "link two recipients' views.\n"
    "    # Default \"keys/pseudonym.key\"; keep it with the store: a new "
    "key makes new pseudonyms.\n"
    "    pseudonym_key = \"keys/pseudonym.key\";\n"
    "\n"
    "    # Folder with one file per partner, NAME.conf (must exist). Default \"partners\".\n"
    "    partners_dir = \"partners\";\n"
    "\n"
    "    # A delivery the partner has not acknowledged is sent again after "
    "this many milliseconds;\n"
    "    # the wait grows with the item's age, plus jitter. Default 30000, "
    "bounds 1000 .. 3600000.\n"
    "    redelivery_ms = 30000;\n"
    "\n"
    "    # Refusals (nacks) of one item before it moves to the partner's hold queue, where an\n"
    "    # operator looks at it (meldnetctl hold list). Default 3, bounds 1 .. 100.\n"
    "    max_nacks = 3;\n"
    "\n"
    "    # Hours a partner may defer an item (a transient nack: its disk is full, its case\n"
    "    # system is down) before it moves to the hold queue; until then it is sent again\n"
    "    # every few seconds (at most 15). Such nacks do not count towards max_nacks.\n"
    "    # Default 72, bounds 1 .. 8760.\n"
    "    transient_retry_hours = 72;\n"
    "\n"
    "    # Hours an item may stay undelivered before it moves to the hold queue.\n"
    "    # Default 168 (a week), bounds 1 .. 8760.\n"
    "    max_item_age_hours = 168;\n"
    "\n"
    "    # Envelopes per second one agent may send (a token bucket of agent_burst); beyond it\n"
    "    # the agent gets a retryable RATE_LIMITED reject, so one flooding agent cannot starve\n"
    "    # the others. 0 turns the limit off. Default 1000, bounds 0 .. 1000000.\n"
    "    agent_rate_per_s = 1000;\n"
    "\n"
    "    # How many envelopes an agent may send at once after a quiet spell.\n"
    "    # Default 5000, bounds 1 .. 1000000.\n"
    "    agent_burst = 5000;\n"
    "\n"
    "    # Free space (MiB) the data folder must keep; below it new envelopes get a retryable\n"
    "    # OVERLOADED reject instead of filling the disk, and /readyz says not ready (-n warns\n"
    "    # when it is above the free space already). 0 turns the check off.\n"
    "    # Default 64, bounds 0 .. 1048576.\n"
    "    min_free_mb = 64;\n"
    "\n"
    "    # Threads that verify and open envelopes. 0: one per core. Default 0, bounds 0 .. 64.\n"
    "    workers = 0;\n"
    "\n"
    "    # Envelopes between receipt of the frame and the receipt sent back, at most; beyond it\n"
    "    # new envelopes get a retryable OVERLOADED reject, so memory stays bounded under any\n"
    "    # load. Default 4096, bounds 16 .. 1000000.\n"
    "    inflight_max = 4096;\n"
    "\n"
    "    # Of those, how many one agent may have; beyond it that agent gets OVERLOADED, so\n"
    "    # one flooding agent cannot make the others wait behind its envelopes (an agent keeps\n"
    "    # `window`, default 32, in flight). Default 64, bounds 1 .. 1000000.\n"
    "    agent_inflight_max = 64;\n"
    "\n"
    "    # Connections that may still be in their handshake (accepted less than 5 s ago, no\n"
    "    # message yet) from one IP address; a new one beyond it shuts down that address's\n"
    "    # oldest. A peer without a key can make the gateway hold up to 2 x max_frame_bytes\n"
    "    # for each, so this bounds what one address can take. Raise it for many agents\n"
    "    # behind one address that all reconnect at once. Default 8, bounds 1 .. 100000.\n"
    "    handshakes_per_address_max = 8;\n"
    "\n"
    "    # The same, from all addresses together; beyond it the oldest is shut down.\n"
    "    # Default 64, bounds 1 .. 1000000.\n"
    "    handshakes_max = 64;\n"
    "\n"
    "    # The operators' HTTP endpoint: /metrics (Prometheus), /healthz, /readyz and / (a status\n"
    "    # page). HOST:PORT with an IP address (\"[::1]:9464\" for IPv6), or \"off\". It shows\n"
    "    # counts and party names only, but keep it on loopback or a management network.\n"
    "    # Default \"127.0.0.1:9464\".\n"
    "    metrics_listen = \"127.0.0.1:9464\";\n"
    "};\n"
    "\n"
    "# Routing rules: which topics a report reaches (partners bind to topics). Rules are tried in\n"
    "# order and every rule that matches emits its topics. Conditions: acute, minor, online,\n"
    "# shelter (true/false); form, sexual, reporter, reporter_kind, region, municipality (lists);\n"
    "# consent = { register_identity, share_police, share_care, share_research,\n"
    "# reporter_contact_shareable } (true/false). {region} and {municipality} in a topic become\n"
    "# the report's own. overrides_consent = true lets that rule's items go out in full without\n"
    "# consent (acute danger). `meldnetctl route test FILE.json` shows what a report would reach.\n"
    "# Without a \"routes\" list the default rules apply; they are the same as this example\n"
    "# (remove the \"# \" of each line to change them):\n"
    "#\n"
    "# routes = (\n"
    "#     { name = \"acute\"; when = { acute = true; }; emit = [ \"police.acute\" ];\n"
    "#       overrides_consent = true; },\n"
    "#     { name = \"minor\"; when = { minor = true; }; emit = [ \"care.{region}\" ]; },\n"
    "#     { name = \"online-sexual\"; when = { sexual = [ \"sextortion\", \"grooming\" ]; };\n"
    "#       emit = [ \"research.online\" ]; },\n"
    "#     { name = \"online\"; when = { online = true; }; emit = [ \"research.online\" ]; },\n"
    "#     { name = \"shelter\"; when = { shelter = true; }; emit = [ "
    "\"shelter.coordination\" ]; },\n"
    "#     { name = \"all\"; emit = [ \"hotline.{region}\" ]; }\n"
    "# );\n";

int gw_config_warn_free_space(const gw_config *cfg)
{
    struct statvfs sv;
    const char *dir = cfg->data_dir;
    if (cfg->min_free_mb == 0)
        return 0;
    if (statvfs(dir, &sv) != 0) {
        dir = cfg->home;
        if (statvfs(dir, &sv) != 0)
            return 0;
    }
    unsigned long long free_mb = (unsigned long long)sv.f_bavail * sv.f_frsize / (1024 * 1024);
    if (free_mb >= cfg->min_free_mb)
        return 0;
    log_warn("config",
             "free space is below min_free_mb, so every report will be refused "
             "(OVERLOADED) and /readyz says not ready dir=%s free_mb=%llu min_free_mb=%u: free "
             "space on that disk, or lower min_free_mb in %s",
             dir, free_mb, cfg->min_free_mb, cfg->path);
    return 1;
}

int gw_config_warn_acute_unbound(const gw_config *cfg)
{
    mn_topics unbound;
    gw_route_acute_unbound(cfg->rules, cfg->n_rules, cfg->partners, cfg->n_partners, &unbound);
    for (size_t i = 0; i < unbound.n; i++)
        log_warn("config",
                 "no partner is bound to the acute topic, so acute reports would reach nobody: "
                 "they would wait unrouted (an alarm, acute_unrouted) topic=%s: bind a partner "
                 "to it: meldnetctl partner add NAME LINE --kind police --bind %s=full",
                 unbound.name[i], unbound.name[i]);
    return (int)unbound.n;
}

const char *gw_config_template(void)
{
    return s_template;
}

/* --- paths ---------------------------------------------------------------------------------- */

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

/* Set def's field of cfg to value (a string; a path, resolved against cfg->home) or to ival (a
 * number, within bounds). Returns MN_OK, or MN_ECONFIG when the resolved path does not fit. */
static int s_apply(gw_config *cfg, const struct s_setting *def, const char *value, long long ival)
{
    char *field = (char *)cfg + def->offset;

    switch (def->kind) {
    case S_STRING: snprintf(field, def->size, "%s", value); break;
    case S_PATH: return s_resolve(cfg->home, value, field, def->size);
    case S_SIZE:
        assert(def->size == sizeof(size_t));
        *(size_t *)(void *)field = (size_t)ival;
        break;
    case S_UNSIGNED:
        assert(def->size == sizeof(unsigned));
        *(unsigned *)(void *)field = (unsigned)ival;
        break;
    }
    return MN_OK;
}

static int s_check_string(const struct s_setting *def, const char *value, const char *where,
                          mn_diag *d)
{
    int rc = MN_OK;
    if (!value[0]) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s must not be empty", def->name);
        mn_diag_hint(d, "remove the line to use the default \"%s\"", def->def);
    } else if (def->check) {
        rc = def->check(def, value, where, d);
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

    gw_conf_util_where(where, sizeof where, path, s);
    for (size_t i = 0; i < S_N_SETTINGS; i++)
        if (strcmp(s_settings[i].name, name) == 0)
            def = &s_settings[i];
    if (!def) {
        const char *names[S_N_SETTINGS];
        for (size_t i = 0; i < S_N_SETTINGS; i++)
            names[i] = s_settings[i].name;
        rc = gw_conf_util_unknown(d, where, "setting", name, names, S_N_SETTINGS, s_setting_list);
        goto out;
    }
    int type = config_setting_type(s);
    if (def->kind == S_SIZE || def->kind == S_UNSIGNED) {
        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "%s must be a whole number, not %s", name,
                             gw_conf_util_type_name(type));
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
                             gw_conf_util_type_name(type));
            mn_diag_hint(d, "write it in double quotes, e.g. %s = \"%s\";", name, def->def);
            goto out;
        }
        value = config_setting_get_string(s);
        rc = s_check_string(def, value, where, d);
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

/* --- load ----------------------------------------------------------------------------------- */

/* cfg->rules from the "routes" list, else a copy of the default rules. */
static int s_rules(gw_config *cfg, const char *path, const config_setting_t *routes, mn_diag *d)
{
    if (routes)
        return gw_rules_parse(routes, path, &cfg->rules, &cfg->n_rules, d);
    size_t n = 0;
    const gw_rule *defs = gw_rules_defaults(&n);
    cfg->rules = malloc((n ? n : 1) * sizeof *cfg->rules);
    if (!cfg->rules)
        return mn_diag_set(d, MN_ENOMEM, path, "out of memory copying the default rules");
    memcpy(cfg->rules, defs, n * sizeof *cfg->rules);
    cfg->n_rules = n;
    return MN_OK;
}

int gw_config_load(const char *path, gw_config **out, mn_diag *d)
{
    static const char *const tops[] = {"gateway", "routes"};
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
    rc = gw_conf_util_read(&lc, path, cfg->home, d);
    if (rc != MN_OK) {
        if (rc == MN_ESYS && d && d->sys_errno == ENOENT)
            mn_diag_hint(d, "make a gateway home with `meldnetctl init --home DIR`, or name "
                            "the right file");
        goto out;
    }

    const config_setting_t *root = config_root_setting(&lc);
    const config_setting_t *group = NULL, *routes = NULL;
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        gw_conf_util_where(where, sizeof where, path, s);
        if (strcmp(name, "routes") == 0) {
            routes = s; /* gw_rules_parse checks its shape */
            continue;
        }
        if (strcmp(name, "gateway") != 0) {
            rc = gw_conf_util_unknown(d, where, "group", name, tops, 2, "gateway, routes");
            goto out;
        }
        if (!config_setting_is_group(s)) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "gateway must be a group, not %s",
                             gw_conf_util_type_name(config_setting_type(s)));
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
    if (strcmp(cfg->listen, cfg->delivery_listen) == 0) {
        const config_setting_t *s =
            group ? config_setting_get_member(group, "delivery_listen") : NULL;
        if (!s && group)
            s = config_setting_get_member(group, "listen");
        if (s)
            gw_conf_util_where(where, sizeof where, path, s);
        else
            snprintf(where, sizeof where, "%s", path);
        rc = mn_diag_set(d, MN_ECONFIG, where, "delivery_listen and listen are both \"%s\"",
                         cfg->listen);
        mn_diag_hint(d, "agents and partners need endpoints of their own: give delivery_listen "
                        "another port, e.g. 7412 next to 7411");
        goto out;
    }
    rc = s_rules(cfg, path, routes, d);
    if (rc != MN_OK)
        goto out;
    rc = gw_parties_load_agents(cfg->agents_dir, &cfg->agents, &cfg->n_agents, d);
    if (rc != MN_OK)
        goto out;
    rc = gw_parties_load_partners(cfg->partners_dir, &cfg->partners, &cfg->n_partners, d);
    if (rc != MN_OK)
        goto out;
    /* a key that is both an agent's and a partner's would let one party act as the other */
    rc = gw_parties_check(cfg->agents, cfg->n_agents, cfg->partners, cfg->n_partners, d);
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
    free((*cfg_p)->partners);
    free((*cfg_p)->rules);
    free(*cfg_p);
    *cfg_p = NULL;
}

/* --- lookups -------------------------------------------------------------------------------- */

/* Management and uniqueness: revoked agents too. */
const gw_agent *gw_config_find_agent_any(const gw_config *cfg, const char *name)
{
    return cfg ? gw_parties_find_agent(cfg->agents, cfg->n_agents, name) : NULL;
}

/* Admission: a revoked agent is not found, so nothing admitted through it acts for one. */
const gw_agent *gw_config_find_agent(const gw_config *cfg, const char *name)
{
    const gw_agent *a = gw_config_find_agent_any(cfg, name);
    return a && !a->revoked ? a : NULL;
}

/* Uniqueness: a revoked agent's key stays taken, so it is found here. */
const gw_agent *gw_config_find_agent_by_curve_any(const gw_config *cfg,
                                                  const uint8_t curve[MN_KEY_BYTES])
{
    return cfg ? gw_parties_find_agent_by_curve(cfg->agents, cfg->n_agents, curve) : NULL;
}

/* Admission by key: keys are unique across all parties, revoked ones included, so the one
 * entry with this key decides; when it is revoked there is no active agent with the key. */
const gw_agent *gw_config_find_agent_by_curve(const gw_config *cfg,
                                              const uint8_t curve[MN_KEY_BYTES])
{
    const gw_agent *a = gw_config_find_agent_by_curve_any(cfg, curve);
    return a && !a->revoked ? a : NULL;
}

/* Management and uniqueness: revoked partners too. */
const gw_partner *gw_config_find_partner_any(const gw_config *cfg, const char *name)
{
    return cfg ? gw_parties_find_partner(cfg->partners, cfg->n_partners, name) : NULL;
}

/* Admission and delivery: a revoked partner is not found, so nothing is served to it. */
const gw_partner *gw_config_find_partner(const gw_config *cfg, const char *name)
{
    const gw_partner *p = gw_config_find_partner_any(cfg, name);
    return p && !p->revoked ? p : NULL;
}

/* Uniqueness: a revoked partner's key stays taken. */
const gw_partner *gw_config_find_partner_by_curve_any(const gw_config *cfg,
                                                      const uint8_t curve[MN_KEY_BYTES])
{
    return cfg ? gw_parties_find_partner_by_curve(cfg->partners, cfg->n_partners, curve) : NULL;
}
