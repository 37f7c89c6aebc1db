/* gw_config - the gateway's configuration: parsed by libconfig, validated, with defaults.
 *
 * How it works: gateway.conf is read with libconfig; every member of group "gateway" must be
 * one of the settings in s_settings (an unknown one is an error with a "did you mean"), of the
 * right type and within bounds; whatever is absent keeps its default. Relative paths are made
 * absolute against the folder of the config file, so the gateway may change directory. The
 * optional top-level list "routes" is parsed by gw_rules; without it the default rules are
 * copied in, so cfg->rules is always owned and never empty.
 * Agents and partners are not in gateway.conf: each is one small file agents_dir/NAME.conf or
 * partners_dir/NAME.conf, so adding or revoking one is a file operation plus a reload. Both
 * folders are read by one loader (s_load_dir) that differs only in the file parser, and the two
 * parsers share what they check alike (s_party_*: settings, name, key).
 *
 * Revoked parties (revoked = true; in their file) are loaded like the others, with revoked = 1:
 * they count in every uniqueness check, so a revoked key can never come back under another
 * name, and they are skipped by the lookups that admit or serve (gw_config_find_agent,
 * _by_curve, gw_config_find_partner); the _any lookups are for managing the files.
 *
 * Invariants: a loaded gw_config has every setting within its bounds, absolute paths, agents
 * and partners each sorted by name with unique names and unique CURVE keys (revoked ones
 * included), each of its own role and named like its file; no partner shares a CURVE key with
 * an agent; every partner has 1..GW_BINDINGS_MAX bindings with distinct, valid topics or
 * patterns and a sharing level; no partner is called "registry" (the registry's own recipient
 * name: its pseudonym key). Errors name file:line (libconfig's source line) in diag.where.
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
#include <sys/statvfs.h>
#include <time.h>

#include "gw_rules.h"
#include "mn_delivery.h"
#include "mn_file.h"
#include "mn_log.h"
#include "mn_referral.h"
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
    {"ledger_file", S_PATH, "registrations.ledger", 0, 0, 0},
    {"run_dir", S_PATH, "run", 0, 0, 0},
    {"max_frame_bytes", S_INT, NULL, 3145728, 4096, 16777216},
    {"map_size_mb", S_INT, NULL, 1024, 16, 1048576},
    {"batch_max", S_INT, NULL, 256, 1, 4096},
    {"log_level", S_STRING, "info", 0, 0, 0},
    {"delivery_listen", S_STRING, "tcp://127.0.0.1:7412", 0, 0, 0},
    {"pseudonym_key", S_PATH, "keys/pseudonym.key", 0, 0, 0},
    {"partners_dir", S_PATH, "partners", 0, 0, 0},
    {"redelivery_ms", S_INT, NULL, 30000, 1000, 3600000},
    {"max_nacks", S_INT, NULL, 3, 1, 100},
    {"transient_retry_hours", S_INT, NULL, 72, 1, 8760},
    {"max_item_age_hours", S_INT, NULL, 168, 1, 8760},
    {"agent_rate_per_s", S_INT, NULL, 1000, 0, 1000000},
    {"agent_burst", S_INT, NULL, 5000, 1, 1000000},
    {"min_free_mb", S_INT, NULL, 64, 0, 1048576},
    {"workers", S_INT, NULL, 0, 0, 64},
    {"inflight_max", S_INT, NULL, 4096, 16, 1000000},
    {"agent_inflight_max", S_INT, NULL, 64, 1, 1000000},
    {"handshakes_per_address_max", S_INT, NULL, 8, 1, 100000},
    {"handshakes_max", S_INT, NULL, 64, 1, 1000000},
    {"metrics_listen", S_STRING, "127.0.0.1:9464", 0, 0, 0},
};
#define S_N_SETTINGS (sizeof s_settings / sizeof s_settings[0])

static const char s_setting_list[] =
    "listen, identity, digest_key, registry_key, agents_dir, data_dir, ledger_file, run_dir, "
    "max_frame_bytes, map_size_mb, batch_max, log_level, delivery_listen, pseudonym_key, "
    "partners_dir, redelivery_ms, max_nacks, transient_retry_hours, max_item_age_hours, "
    "agent_rate_per_s, agent_burst, min_free_mb, workers, inflight_max, agent_inflight_max, "
    "handshakes_per_address_max, handshakes_max, metrics_listen";

/* Required settings first (s_party_settings), then the optional ones. */
static const char *const s_agent_keys[] = {"name", "key", "region", "revoked", "revoked_at"};
#define S_N_AGENT_KEYS (sizeof s_agent_keys / sizeof s_agent_keys[0])

#define S_DEFAULT_REGION "unknown"

static const char *const s_partner_keys[] = {"name", "key", "kind", "bindings", "revoked",
                                             "revoked_at"};
#define S_N_PARTNER_KEYS (sizeof s_partner_keys / sizeof s_partner_keys[0])
#define S_N_PARTNER_REQUIRED 4
static const char *const s_binding_keys[] = {"topic", "sharing"};
#define S_N_BINDING_KEYS (sizeof s_binding_keys / sizeof s_binding_keys[0])

/* Configurable partner kinds, in enum order from GW_PARTNER_POLICE. */
static const char *const s_kind_names[] = {"police", "care", "research", "hotline", "shelter",
                                           "other"};
#define S_N_KINDS (sizeof s_kind_names / sizeof s_kind_names[0])
#define S_KIND_LIST "police, care, research, hotline, shelter, other"
static const char *const s_sharing_names[] = {"full", "pseudonymous", "statistics"};
#define S_SHARING_LIST "full, pseudonymous, statistics"

/* The registry's recipient name (pseudonym key derivation): no partner may take it. */
#define S_RESERVED_PARTNER "registry"

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
    "#     { name = \"minor-sexual\"; when = { minor = true; form = [ \"sexual\" ]; };\n"
    "#       emit = [ \"care.{region}\" ]; },\n"
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
    log_warn("config", "free space is below min_free_mb, so every report will be refused "
             "(OVERLOADED) and /readyz says not ready dir=%s free_mb=%llu min_free_mb=%u: free "
             "space on that disk, or lower min_free_mb in %s", dir, free_mb, cfg->min_free_mb,
             cfg->path);
    return 1;
}

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

/* Read whole (a regular file, at most MN_CONF_FILE_MAX_BYTES: a FIFO must not hang -n) and
 * parse from memory: libconfig reading a FILE takes time quadratic in a long string's length. */
static int s_read_config(config_t *lc, const char *path, const char *dir, mn_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mn_file_read_regular(path, "configuration", MN_ECONFIG, MN_CONF_FILE_MAX_BYTES,
                                  &text, &len, d);
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
    else if (strcmp(n, "ledger_file") == 0)
        return s_resolve(cfg->home, value, cfg->ledger_file, sizeof cfg->ledger_file);
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
    else if (strcmp(n, "delivery_listen") == 0)
        snprintf(cfg->delivery_listen, sizeof cfg->delivery_listen, "%s", value);
    else if (strcmp(n, "pseudonym_key") == 0)
        return s_resolve(cfg->home, value, cfg->pseudonym_key, sizeof cfg->pseudonym_key);
    else if (strcmp(n, "partners_dir") == 0)
        return s_resolve(cfg->home, value, cfg->partners_dir, sizeof cfg->partners_dir);
    else if (strcmp(n, "redelivery_ms") == 0)
        cfg->redelivery_ms = (unsigned)ival;
    else if (strcmp(n, "max_nacks") == 0)
        cfg->max_nacks = (unsigned)ival;
    else if (strcmp(n, "transient_retry_hours") == 0)
        cfg->transient_retry_hours = (unsigned)ival;
    else if (strcmp(n, "max_item_age_hours") == 0)
        cfg->max_item_age_hours = (unsigned)ival;
    else if (strcmp(n, "agent_rate_per_s") == 0)
        cfg->agent_rate_per_s = (unsigned)ival;
    else if (strcmp(n, "agent_burst") == 0)
        cfg->agent_burst = (unsigned)ival;
    else if (strcmp(n, "min_free_mb") == 0)
        cfg->min_free_mb = (unsigned)ival;
    else if (strcmp(n, "workers") == 0)
        cfg->workers = (unsigned)ival;
    else if (strcmp(n, "inflight_max") == 0)
        cfg->inflight_max = (unsigned)ival;
    else if (strcmp(n, "agent_inflight_max") == 0)
        cfg->agent_inflight_max = (unsigned)ival;
    else if (strcmp(n, "handshakes_per_address_max") == 0)
        cfg->handshakes_per_address_max = (unsigned)ival;
    else if (strcmp(n, "handshakes_max") == 0)
        cfg->handshakes_max = (unsigned)ival;
    else if (strcmp(n, "metrics_listen") == 0)
        snprintf(cfg->metrics_listen, sizeof cfg->metrics_listen, "%s", value);
    return MN_OK;
}

static int s_check_string(const struct s_setting *def, const char *value, size_t max_len,
                          const char *where, mn_diag *d)
{
    int rc = MN_OK;
    if (!value[0]) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s must not be empty", def->name);
        mn_diag_hint(d, "remove the line to use the default \"%s\"", def->def);
    } else if (strcmp(def->name, "listen") == 0 || strcmp(def->name, "delivery_listen") == 0) {
        if (strlen(value) >= max_len || !strstr(value, "://")) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "%s \"%s\" is not a ZeroMQ endpoint",
                             def->name, value);
            mn_diag_hint(d, "write it as \"tcp://ADDRESS:PORT\", e.g. \"%s\"", def->def);
        }
    } else if (strcmp(def->name, "metrics_listen") == 0) {
        if (strlen(value) >= max_len || (strcmp(value, "off") != 0 && !strchr(value, ':'))) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "metrics_listen \"%s\" is not HOST:PORT",
                             value);
            mn_diag_hint(d, "write it as \"127.0.0.1:9464\" (or \"[::1]:9464\"), or \"off\"");
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

/* --- agent and partner folders -------------------------------------------------------------- */

/* What differs between the agents and the partners folder. */
struct s_party {
    const char *noun;    /* "agent" */
    const char *plural;  /* "agents" */
    const char *setting; /* "agents_dir" */
    size_t size;         /* of one gw_agent / gw_partner */
    int (*load)(const char *path, const char *stem, void *out, mn_diag *d);
    int (*by_name)(const void *a, const void *b);
};

/* One party's identity, for the duplicate checks across both kinds. Revoked parties are
 * checked like the others: their names stay taken by their files, and their keys are retired
 * for good, so a leaked key cannot come back under a new name. */
struct s_party_ref {
    const char *noun;
    const char *name;
    const char *source;
    const uint8_t *curve;
    int revoked;
};

static int s_agent_by_name(const void *a, const void *b)
{
    return strcmp(((const gw_agent *)a)->name, ((const gw_agent *)b)->name);
}

static int s_partner_by_name(const void *a, const void *b)
{
    return strcmp(((const gw_partner *)a)->name, ((const gw_partner *)b)->name);
}

static int s_ref_by_curve(const void *a, const void *b)
{
    const struct s_party_ref *x = a, *y = b;
    return memcmp(x->curve, y->curve, MN_KEY_BYTES);
}

/* Names unique within one kind (refs sorted by name), CURVE keys unique across all refs.
 * Sorts refs by key. */
static int s_check_unique(struct s_party_ref *refs, size_t n, int names_sorted, mn_diag *d)
{
    int rc = MN_OK;

    for (size_t i = 1; names_sorted && i < n; i++) {
        if (strcmp(refs[i - 1].name, refs[i].name) == 0) {
            rc = mn_diag_set(d, MN_ECONFIG, refs[i].source, "%s \"%s\" is defined twice "
                             "(also in %s)", refs[i].noun, refs[i].name, refs[i - 1].source);
            mn_diag_hint(d, "remove one of the two files");
            goto out;
        }
    }
    if (n < 2)
        goto out;
    qsort(refs, n, sizeof *refs, s_ref_by_curve);
    for (size_t i = 1; i < n; i++) {
        if (memcmp(refs[i - 1].curve, refs[i].curve, MN_KEY_BYTES) != 0)
            continue;
        const struct s_party_ref *a = &refs[i - 1], *b = &refs[i];
        /* name the pair the same way whatever the sort left: agents first, then by name */
        int cmp = strcmp(a->noun, b->noun);
        if (cmp > 0 || (cmp == 0 && strcmp(a->name, b->name) > 0)) {
            const struct s_party_ref *t = a;
            a = b;
            b = t;
        }
        /* "(revoked: ...)" says why an old file still matters */
        char why[MN_NAME_MAX + 64] = "";
        if (a->revoked || b->revoked)
            snprintf(why, sizeof why, " (%s \"%s\" is revoked: its key is retired for good)",
                     a->revoked ? a->noun : b->noun, a->revoked ? a->name : b->name);
        if (strcmp(a->noun, b->noun) == 0) {
            rc = mn_diag_set(d, MN_EKEY, b->source, "%ss \"%s\" and \"%s\" have the same "
                             "CURVE key%s", a->noun, a->name, b->name, why);
            mn_diag_hint(d, "every %s needs its own identity: run meldnet-%s keygen on "
                            "the second %s's machine and add its line", a->noun, a->noun,
                         a->noun);
        } else {
            rc = mn_diag_set(d, MN_EKEY, b->source, "%s \"%s\" has the CURVE key of %s \"%s\"%s",
                             b->noun, b->name, a->noun, a->name, why);
            mn_diag_hint(d, "every party needs its own identity: run meldnet-%s keygen on the "
                            "%s's own machine and add its line", b->noun, b->noun);
        }
        goto out;
    }
out:
    return rc;
}

/* Load every NAME.conf of dir_path with kind->load, sorted by name. Caller owns *out. */
static int s_load_dir(const char *dir_path, const struct s_party *kind, void **out,
                      size_t *n_out, mn_diag *d)
{
    DIR *dir = NULL;
    char *list = NULL;
    size_t count = 0, cap = 0;
    int rc = MN_OK;

    *out = NULL;
    *n_out = 0;
    dir = opendir(dir_path);
    if (!dir) {
        if (errno == ENOENT) {
            rc = mn_diag_set(d, MN_ECONFIG, dir_path, "the %s folder does not exist",
                             kind->plural);
            mn_diag_hint(d, "create it (mkdir -m 700 %s) or set %s in gateway.conf; "
                            "meldnetctl init makes one", dir_path, kind->setting);
        } else {
            rc = mn_diag_sys(d, dir_path, "cannot read the %s folder", kind->plural);
        }
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(dir);
        if (!e) {
            if (errno != 0) {
                rc = mn_diag_sys(d, dir_path, "cannot read the %s folder", kind->plural);
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
        int pn = snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
        if (pn < 0 || (size_t)pn >= sizeof path || len - 5 > MN_NAME_MAX) {
            rc = mn_diag_set(d, MN_ECONFIG, dir_path, "%s file name too long: %s", kind->noun,
                             e->d_name);
            mn_diag_hint(d, "%s names have at most %d characters", kind->noun, MN_NAME_MAX);
            goto out;
        }
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 5), e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) {
            rc = mn_diag_sys(d, path, "cannot read the %s file", kind->noun);
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            rc = mn_diag_set(d, MN_ECONFIG, path, "not a regular file");
            mn_diag_hint(d, "%s holds only %s files NAME.conf; move this away", kind->setting,
                         kind->noun);
            goto out;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char *nl = realloc(list, ncap * kind->size);
            if (!nl) {
                rc = mn_diag_set(d, MN_ENOMEM, dir_path, "out of memory loading %s",
                                 kind->plural);
                goto out;
            }
            list = nl;
            cap = ncap;
        }
        rc = kind->load(path, stem, list + count * kind->size, d);
        if (rc != MN_OK)
            goto out;
        count++;
    }
    if (count > 1)
        qsort(list, count, kind->size, kind->by_name);
    *out = list;
    *n_out = count;
    list = NULL;
out:
    if (dir)
        closedir(dir);
    free(list);
    return rc;
}

/* Check names and keys of agents and partners together (either may be NULL with n 0). */
static int s_check_parties(const gw_agent *agents, size_t n_agents, const gw_partner *partners,
                           size_t n_partners, mn_diag *d)
{
    struct s_party_ref *refs = NULL;
    size_t n = n_agents + n_partners;
    int rc = MN_OK;

    if (n < 2)
        goto out;
    refs = malloc(n * sizeof *refs);
    if (!refs) {
        rc = mn_diag_set(d, MN_ENOMEM, "parties", "out of memory checking keys");
        goto out;
    }
    for (size_t i = 0; i < n_agents; i++)
        refs[i] = (struct s_party_ref){"agent", agents[i].name, agents[i].source,
                                       agents[i].pub.curve, agents[i].revoked};
    for (size_t i = 0; i < n_partners; i++)
        refs[n_agents + i] = (struct s_party_ref){"partner", partners[i].name,
                                                  partners[i].source, partners[i].pub.curve,
                                                  partners[i].revoked};
    /* names: each kind is sorted on its own, and the two lists never meet in one run */
    if (n_partners == 0 || n_agents == 0) {
        rc = s_check_unique(refs, n, 1, d);
        goto out;
    }
    rc = s_check_unique(refs, n_agents, 1, d);
    if (rc == MN_OK)
        rc = s_check_unique(refs + n_agents, n_partners, 1, d);
    if (rc == MN_OK)
        rc = s_check_unique(refs, n, 0, d); /* keys across both kinds */
out:
    free(refs);
    return rc;
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

static int s_party_string(const config_setting_t *s, const char *path, const char **out,
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

/* Start reading a party file: source = path; relative @include paths resolve against its
 * folder. */
static int s_party_read(config_t *lc, const char *path, char *source, size_t cap, mn_diag *d)
{
    char dir[GW_PATH_MAX];
    snprintf(source, cap, "%s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return s_read_config(lc, path, slash ? dir : ".", d);
}

/* Sort a party file's settings by name: found[i] is the one called keys[i], NULL when absent.
 * Any other name is an unknown `what` ("agent setting"; `list` names them all); the first
 * n_required keys must be there (`missing_hint` says what such a file holds). */
static int s_party_settings(const config_t *lc, const char *path, const char *what,
                            const char *const *keys, size_t n, size_t n_required,
                            const char *list, const char *missing_hint,
                            const config_setting_t **found, mn_diag *d)
{
    char where[256];
    const config_setting_t *root = config_root_setting(lc);

    for (size_t j = 0; j < n; j++)
        found[j] = NULL;
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        size_t j = 0;
        while (j < n && strcmp(name, keys[j]) != 0)
            j++;
        if (j == n) {
            s_where(where, sizeof where, path, s);
            return s_unknown(d, where, what, name, keys, n, list);
        }
        found[j] = s;
    }
    for (size_t j = 0; j < n_required; j++) {
        if (!found[j]) {
            int rc = mn_diag_set(d, MN_ECONFIG, path, "missing setting \"%s\"", keys[j]);
            mn_diag_hint(d, "%s", missing_hint);
            return rc;
        }
    }
    return MN_OK;
}

/* "an agent", "a partner". */
static const char *s_article(mn_role role)
{
    return role == MN_ROLE_AGENT ? "an" : "a";
}

/* A party file's name setting: a valid name, the same as the file's stem. */
static int s_party_name(mn_role role, const char *name, const char *stem, const char *path,
                        const config_setting_t *name_s, mn_diag *d)
{
    const char *noun = mn_role_name(role);
    char where[256];
    int rc;

    s_where(where, sizeof where, path, name_s);
    if (!mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s name \"%.*s\" is not valid", noun,
                         MN_NAME_MAX, name);
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        return rc;
    }
    if (strcmp(name, stem) != 0) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s name \"%s\" differs from the file name", noun,
                         name);
        mn_diag_hint(d, "%s %s called NAME lives in NAME.conf: rename the file to %s.conf or "
                        "fix the name", s_article(role), noun, name);
        return rc;
    }
    return MN_OK;
}

/* A party file's key setting: the public line of the `role` party called name, into *pub. */
static int s_party_key(mn_role role, const char *key, const char *name, const char *path,
                       const config_setting_t *key_s, mn_pubkey *pub, mn_diag *d)
{
    const char *noun = mn_role_name(role);
    char where[256];
    int rc;

    s_where(where, sizeof where, path, key_s);
    rc = mn_pubkey_parse(key, pub, d);
    if (rc != MN_OK) {
        /* keep mn_key's what and hint, but point at the line */
        if (d)
            snprintf(d->where, sizeof d->where, "%s", where);
        return rc;
    }
    if (pub->role != role) {
        rc = mn_diag_set(d, MN_EKEY, where, "the key is of %s %s, not of %s %s",
                         s_article(pub->role), mn_role_name(pub->role), s_article(role), noun);
        mn_diag_hint(d, "paste the public line the %s printed (meldnet-%s keygen); it starts "
                        "with \"meldnet1 %s %s\"", noun, noun, noun, name);
        return rc;
    }
    if (strcmp(pub->name, name) != 0) {
        rc = mn_diag_set(d, MN_EKEY, where, "the key line names \"%s\", the file names \"%s\"",
                         pub->name, name);
        mn_diag_hint(d, "each %s's key line carries its name: use the line of %s \"%s\", or "
                        "rename the %s", noun, noun, name, noun);
        return rc;
    }
    return MN_OK;
}

int gw_config_time_is_valid(const char *text)
{
    /* "YYYY-MM-DDTHH:MM:SSZ": digits where the template has 'd', the rest literally */
    static const char form[] = "dddd-dd-ddTdd:dd:ddZ";
    if (!text || strlen(text) != GW_TIME_CHARS)
        return 0;
    for (size_t i = 0; i < GW_TIME_CHARS; i++) {
        if (form[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != form[i])
            return 0;
    }
    int month = (text[5] - '0') * 10 + (text[6] - '0');
    int day = (text[8] - '0') * 10 + (text[9] - '0');
    int hour = (text[11] - '0') * 10 + (text[12] - '0');
    int minute = (text[14] - '0') * 10 + (text[15] - '0');
    int second = (text[17] - '0') * 10 + (text[18] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
           second <= 60;
}

/* A party file's optional revoked / revoked_at settings (either may be NULL: absent). */
static int s_party_revoked(const config_setting_t *revoked_s, const config_setting_t *at_s,
                           const char *path, int *revoked, char *at, size_t at_cap, mn_diag *d)
{
    char where[256];
    const char *text = NULL;
    int rc;

    *revoked = 0;
    at[0] = '\0';
    if (revoked_s) {
        s_where(where, sizeof where, path, revoked_s);
        if (config_setting_type(revoked_s) != CONFIG_TYPE_BOOL) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "revoked must be true or false, not %s",
                             s_type_name(config_setting_type(revoked_s)));
            mn_diag_hint(d, "write revoked = true; without quotes (or remove the line)");
            return rc;
        }
        *revoked = config_setting_get_bool(revoked_s) ? 1 : 0;
    }
    if (!at_s)
        return MN_OK;
    if ((rc = s_party_string(at_s, path, &text, d)) != MN_OK)
        return rc;
    s_where(where, sizeof where, path, at_s);
    if (!gw_config_time_is_valid(text)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "revoked_at \"%.*s\" is not a UTC time",
                         GW_TIME_CHARS + 8, text);
        mn_diag_hint(d, "write it as revoked_at = \"2026-11-22T10:00:00Z\"; (UTC, to the second), "
                        "or remove the line");
        return MN_ECONFIG;
    }
    if (!*revoked) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "revoked_at without revoked = true");
        mn_diag_hint(d, "a party that is back in service has no revoked_at: remove the line, "
                        "or set revoked = true; to revoke it");
        return rc;
    }
    snprintf(at, at_cap, "%s", text);
    return MN_OK;
}

/* Load one agent file; stem is its file name without ".conf". */
static int s_load_agent(const char *path, const char *stem, void *item, mn_diag *d)
{
    config_t lc;
    char where[256];
    const config_setting_t *set[S_N_AGENT_KEYS];
    const char *name = NULL, *key = NULL, *region = S_DEFAULT_REGION;
    gw_agent *out = item;
    int rc;

    config_init(&lc);
    memset(out, 0, sizeof *out);
    if ((rc = s_party_read(&lc, path, out->source, sizeof out->source, d)) != MN_OK ||
        (rc = s_party_settings(&lc, path, "agent setting", s_agent_keys, S_N_AGENT_KEYS, 2,
                               "name, key, region, revoked, revoked_at",
                               "an agent file holds: name = \"NAME\"; key = \"meldnet1 agent "
                               "NAME ...\"; region = \"REGION\"; (meldnetctl agent add writes "
                               "one)", set, d)) != MN_OK)
        goto out;
    const config_setting_t *name_s = set[0], *key_s = set[1], *region_s = set[2];
    const config_setting_t *revoked_s = set[3], *revoked_at_s = set[4];
    if ((rc = s_party_string(name_s, path, &name, d)) != MN_OK ||
        (rc = s_party_string(key_s, path, &key, d)) != MN_OK ||
        (region_s && (rc = s_party_string(region_s, path, &region, d)) != MN_OK))
        goto out;

    if ((rc = s_party_name(MN_ROLE_AGENT, name, stem, path, name_s, d)) != MN_OK ||
        (rc = s_party_key(MN_ROLE_AGENT, key, name, path, key_s, &out->pub, d)) != MN_OK)
        goto out;
    if (region_s && !s_region_is_valid(region)) {
        s_where(where, sizeof where, path, region_s);
        rc = mn_diag_set(d, MN_ECONFIG, where, "region is empty, too long or has quotes or "
                         "control characters");
        mn_diag_hint(d, "write a region of 1-%d plain characters, e.g. \"Oost-Nederland\"",
                     MN_NAME_MAX);
        goto out;
    }
    rc = s_party_revoked(revoked_s, revoked_at_s, path, &out->revoked, out->revoked_at,
                         sizeof out->revoked_at, d);
    if (rc != MN_OK)
        goto out;
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->region, sizeof out->region, "%s", region);
    rc = MN_OK;
out:
    config_destroy(&lc);
    return rc;
}

static const struct s_party s_agents_kind = {"agent", "agents", "agents_dir", sizeof(gw_agent),
                                             s_load_agent, s_agent_by_name};

/* What a load returns: list when rc is MN_OK, else NULL with list freed and *n 0. */
static void *s_loaded(int rc, void *list, size_t *n)
{
    if (rc == MN_OK)
        return list;
    free(list);
    *n = 0;
    return NULL;
}

int gw_config_load_agents(const char *agents_dir, gw_agent **agents, size_t *n, mn_diag *d)
{
    void *list = NULL;
    int rc = s_load_dir(agents_dir, &s_agents_kind, &list, n, d);
    if (rc == MN_OK)
        rc = s_check_parties(list, *n, NULL, 0, d);
    *agents = s_loaded(rc, list, n);
    return rc;
}

/* --- partners ------------------------------------------------------------------------------- */

const char *gw_partner_kind_name(int kind)
{
    if (kind >= GW_PARTNER_POLICE && kind < GW_PARTNER_POLICE + (int)S_N_KINDS)
        return s_kind_names[kind - GW_PARTNER_POLICE];
    if (kind == GW_PARTNER_REGISTRY)
        return "registry";
    return "unknown";
}

int gw_partner_kind_parse(const char *text, int *kind)
{
    for (size_t i = 0; text && i < S_N_KINDS; i++) {
        if (strcmp(text, s_kind_names[i]) == 0) {
            *kind = GW_PARTNER_POLICE + (int)i;
            return MN_OK;
        }
    }
    return MN_EINVAL;
}

static void s_hint_topic(mn_diag *d)
{
    mn_diag_hint(d, "a topic is 1-%d characters of a-z 0-9 . _ - (\"police.acute\"); a pattern "
                    "is a topic followed by \".*\" (\"care.*\") or \"*\" for every topic",
                 MN_TOPIC_MAX);
}

static void s_hint_sharing(mn_diag *d, const char *text)
{
    const char *near = mn_suggest_closest(text, s_sharing_names, 3);
    if (near)
        mn_diag_hint(d, "did you mean \"%s\"? levels: " S_SHARING_LIST, near);
    else
        mn_diag_hint(d, "levels: " S_SHARING_LIST);
}

/* One element of "bindings" into out; seen: the bindings before it (for duplicates). */
static int s_load_binding(const config_setting_t *b, const char *path, const gw_binding *seen,
                          size_t n_seen, gw_binding *out, mn_diag *d)
{
    char where[256];
    const config_setting_t *topic_s = NULL, *sharing_s = NULL;
    const char *topic = NULL, *sharing = NULL;
    int rc = MN_OK;

    s_where(where, sizeof where, path, b);
    if (!config_setting_is_group(b)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "a binding must be a group, not %s",
                         s_type_name(config_setting_type(b)));
        mn_diag_hint(d, "write each as { topic = \"police.acute\"; sharing = \"full\"; }");
        goto out;
    }
    for (int i = 0; i < config_setting_length(b); i++) {
        const config_setting_t *m = config_setting_get_elem(b, (unsigned)i);
        const char *n = config_setting_name(m);
        if (strcmp(n, "topic") == 0) {
            topic_s = m;
        } else if (strcmp(n, "sharing") == 0) {
            sharing_s = m;
        } else {
            s_where(where, sizeof where, path, m);
            rc = s_unknown(d, where, "binding setting", n, s_binding_keys, S_N_BINDING_KEYS,
                           "topic, sharing");
            goto out;
        }
    }
    if (!topic_s || !sharing_s) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "the binding has no %s",
                         !topic_s ? "topic" : "sharing");
        mn_diag_hint(d, "write each as { topic = \"police.acute\"; sharing = \"full\"; }");
        goto out;
    }
    if ((rc = s_party_string(topic_s, path, &topic, d)) != MN_OK ||
        (rc = s_party_string(sharing_s, path, &sharing, d)) != MN_OK)
        goto out;
    s_where(where, sizeof where, path, topic_s);
    if (!mn_topic_pattern_is_valid(topic)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "topic \"%.*s\" is not a topic or pattern",
                         MN_TOPIC_MAX, topic);
        s_hint_topic(d);
        goto out;
    }
    for (size_t i = 0; i < n_seen; i++) {
        if (strcmp(seen[i].topic, topic) == 0) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "topic \"%s\" is bound twice", topic);
            mn_diag_hint(d, "keep one binding per topic, with the sharing level it needs");
            goto out;
        }
    }
    s_where(where, sizeof where, path, sharing_s);
    if (mn_sharing_parse(sharing, &out->sharing) != MN_OK) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "sharing \"%.*s\" is not a sharing level",
                         MN_TOPIC_MAX, sharing);
        s_hint_sharing(d, sharing);
        goto out;
    }
    snprintf(out->topic, sizeof out->topic, "%s", topic);
out:
    return rc;
}

static int s_load_bindings(const config_setting_t *s, const char *path, gw_partner *out,
                           mn_diag *d)
{
    char where[256];
    int rc = MN_OK;

    s_where(where, sizeof where, path, s);
    if (!config_setting_is_list(s)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "bindings must be a list, not %s",
                         s_type_name(config_setting_type(s)));
        mn_diag_hint(d, "write bindings = ( { topic = \"police.acute\"; sharing = \"full\"; }, "
                        "... ); with round brackets");
        goto out;
    }
    int n = config_setting_length(s);
    if (n < 1 || n > GW_BINDINGS_MAX) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "a partner has 1 to %d bindings, not %d",
                         GW_BINDINGS_MAX, n);
        mn_diag_hint(d, n < 1 ? "bind the partner to the topics it may receive"
                              : "use patterns such as \"care.*\" to bind many topics at once");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        rc = s_load_binding(config_setting_get_elem(s, (unsigned)i), path, out->bindings,
                            out->n_bindings, &out->bindings[out->n_bindings], d);
        if (rc != MN_OK)
            goto out;
        out->n_bindings++;
    }
out:
    return rc;
}

/* Load one partner file; stem is its file name without ".conf". */
static int s_load_partner(const char *path, const char *stem, void *item, mn_diag *d)
{
    config_t lc;
    char where[256];
    const config_setting_t *set[S_N_PARTNER_KEYS];
    const char *name = NULL, *key = NULL, *kind = NULL;
    gw_partner *out = item;
    int rc;

    config_init(&lc);
    memset(out, 0, sizeof *out);
    if ((rc = s_party_read(&lc, path, out->source, sizeof out->source, d)) != MN_OK ||
        (rc = s_party_settings(&lc, path, "partner setting", s_partner_keys, S_N_PARTNER_KEYS,
                               S_N_PARTNER_REQUIRED,
                               "name, key, kind, bindings, revoked, revoked_at",
                               "a partner file holds: name = \"NAME\"; key = \"meldnet1 partner "
                               "NAME ...\"; kind = \"police\"; bindings = ( { topic = \"...\"; "
                               "sharing = \"...\"; } ); (meldnetctl partner add writes one)",
                               set, d)) != MN_OK)
        goto out;
    const config_setting_t *name_s = set[0], *key_s = set[1], *kind_s = set[2];
    const config_setting_t *bindings_s = set[3], *revoked_s = set[4], *revoked_at_s = set[5];
    if ((rc = s_party_string(name_s, path, &name, d)) != MN_OK ||
        (rc = s_party_string(key_s, path, &key, d)) != MN_OK ||
        (rc = s_party_string(kind_s, path, &kind, d)) != MN_OK)
        goto out;

    if ((rc = s_party_name(MN_ROLE_PARTNER, name, stem, path, name_s, d)) != MN_OK)
        goto out;
    if (strcmp(name, S_RESERVED_PARTNER) == 0) {
        s_where(where, sizeof where, path, name_s);
        rc = mn_diag_set(d, MN_ECONFIG, where, "\"%s\" is reserved for the registry itself",
                         name);
        mn_diag_hint(d, "give the partner another name (its key line carries the name: make "
                        "new keys with meldnet-partner keygen OTHER-NAME)");
        goto out;
    }
    if ((rc = s_party_key(MN_ROLE_PARTNER, key, name, path, key_s, &out->pub, d)) != MN_OK)
        goto out;
    s_where(where, sizeof where, path, kind_s);
    if (gw_partner_kind_parse(kind, &out->kind) != MN_OK) {
        const char *near = mn_suggest_closest(kind, s_kind_names, S_N_KINDS);
        rc = mn_diag_set(d, MN_ECONFIG, where, "kind \"%.*s\" is not a partner kind",
                         MN_NAME_MAX, kind);
        if (near)
            mn_diag_hint(d, "did you mean \"%s\"? kinds: " S_KIND_LIST, near);
        else
            mn_diag_hint(d, "kinds: " S_KIND_LIST);
        goto out;
    }
    rc = s_load_bindings(bindings_s, path, out, d);
    if (rc != MN_OK)
        goto out;
    rc = s_party_revoked(revoked_s, revoked_at_s, path, &out->revoked, out->revoked_at,
                         sizeof out->revoked_at, d);
    if (rc != MN_OK)
        goto out;
    snprintf(out->name, sizeof out->name, "%s", name);
    rc = MN_OK;
out:
    config_destroy(&lc);
    return rc;
}

static const struct s_party s_partners_kind = {"partner", "partners", "partners_dir",
                                               sizeof(gw_partner), s_load_partner,
                                               s_partner_by_name};

int gw_config_load_partners(const char *partners_dir, gw_partner **partners, size_t *n,
                            mn_diag *d)
{
    void *list = NULL;
    int rc = s_load_dir(partners_dir, &s_partners_kind, &list, n, d);
    if (rc == MN_OK)
        rc = s_check_parties(NULL, 0, list, *n, d);
    *partners = s_loaded(rc, list, n);
    return rc;
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
    rc = s_read_config(&lc, path, cfg->home, d);
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
        s_where(where, sizeof where, path, s);
        if (strcmp(name, "routes") == 0) {
            routes = s; /* gw_rules_parse checks its shape */
            continue;
        }
        if (strcmp(name, "gateway") != 0) {
            rc = s_unknown(d, where, "group", name, tops, 2, "gateway, routes");
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
    if (strcmp(cfg->listen, cfg->delivery_listen) == 0) {
        const config_setting_t *s = group ? config_setting_get_member(group, "delivery_listen")
                                          : NULL;
        if (!s && group)
            s = config_setting_get_member(group, "listen");
        if (s)
            s_where(where, sizeof where, path, s);
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
    rc = gw_config_load_agents(cfg->agents_dir, &cfg->agents, &cfg->n_agents, d);
    if (rc != MN_OK)
        goto out;
    rc = gw_config_load_partners(cfg->partners_dir, &cfg->partners, &cfg->n_partners, d);
    if (rc != MN_OK)
        goto out;
    /* a key that is both an agent's and a partner's would let one party act as the other */
    rc = s_check_parties(cfg->agents, cfg->n_agents, cfg->partners, cfg->n_partners, d);
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
    gw_agent key;
    if (!cfg || !name || strlen(name) > MN_NAME_MAX || cfg->n_agents == 0)
        return NULL;
    memset(&key, 0, sizeof key);
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, cfg->agents, cfg->n_agents, sizeof *cfg->agents, s_agent_by_name);
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
    for (size_t i = 0; cfg && curve && i < cfg->n_agents; i++)
        if (memcmp(cfg->agents[i].pub.curve, curve, MN_KEY_BYTES) == 0)
            return &cfg->agents[i];
    return NULL;
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
    if (!cfg || !name || strlen(name) > MN_NAME_MAX || cfg->n_partners == 0)
        return NULL;
    /* by hand rather than bsearch: a gw_partner as the key would be 5 KiB on the stack */
    for (size_t lo = 0, hi = cfg->n_partners; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(name, cfg->partners[mid].name);
        if (cmp == 0)
            return &cfg->partners[mid];
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
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
    for (size_t i = 0; cfg && curve && i < cfg->n_partners; i++)
        if (memcmp(cfg->partners[i].pub.curve, curve, MN_KEY_BYTES) == 0)
            return &cfg->partners[i];
    return NULL;
}

/* --- write ---------------------------------------------------------------------------------- */

/* path = dir/NAME.conf, where dir must be a folder. Returns MN_OK, MN_ESYS, MN_EINVAL. */
static int s_party_path(const char *dir, const struct s_party *kind, const char *name,
                        char *path, size_t cap, mn_diag *d)
{
    struct stat st;
    int rc = MN_OK;
    int pn = snprintf(path, cap, "%s/%s.conf", dir, name);

    if (pn < 0 || (size_t)pn >= cap) {
        rc = mn_diag_set(d, MN_EINVAL, dir, "the %s folder path is too long", kind->plural);
        goto out;
    }
    if (stat(dir, &st) != 0) {
        rc = mn_diag_sys(d, dir, "cannot use the %s folder", kind->plural);
        mn_diag_hint(d, "create it (mkdir -m 700 %s) or check %s in gateway.conf", dir,
                     kind->setting);
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = mn_diag_set(d, MN_EINVAL, dir, "the %s folder is not a folder", kind->plural);
        mn_diag_hint(d, "check %s in gateway.conf", kind->setting);
        goto out;
    }
out:
    return rc;
}

/* path = dir/NAME.conf for a new party file: dir must be a folder, the file must not exist.
 * Returns MN_OK, MN_EEXIST, MN_ESYS, MN_EINVAL. */
static int s_new_party_file(const char *dir, const struct s_party *kind, const char *name,
                            char *path, size_t cap, mn_diag *d)
{
    struct stat st;
    int rc = s_party_path(dir, kind, name, path, cap, d);

    if (rc == MN_OK && lstat(path, &st) == 0) {
        rc = mn_diag_set(d, MN_EEXIST, path, "%s \"%s\" exists already", kind->noun, name);
        mn_diag_hint(d, "to give it a new key, revoke it (meldnetctl %s revoke %s), then add "
                        "it again with the new line", kind->noun, name);
    }
    return rc;
}

/* The current time, UTC, as revoked_at takes it. */
static void s_utc_now(char out[GW_TIME_CHARS + 1])
{
    struct tm tm;
    time_t now = time(NULL);
    if (!gmtime_r(&now, &tm) ||
        strftime(out, GW_TIME_CHARS + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != GW_TIME_CHARS)
        snprintf(out, GW_TIME_CHARS + 1, "1970-01-01T00:00:00Z");
}

/* A revoked_at given by a caller (not read from a file). Returns MN_OK or MN_EINVAL. */
static int s_check_revoked_at(const char *at, mn_diag *d)
{
    if (gw_config_time_is_valid(at))
        return MN_OK;
    int rc = mn_diag_set(d, MN_EINVAL, "revoked_at", "\"%.*s\" is not a UTC time",
                         GW_TIME_CHARS + 8, at);
    mn_diag_hint(d, "write it as 2026-11-22T10:00:00Z");
    return rc;
}

/* The revocation lines of a party file: "" or "revoked = true;\n" and maybe revoked_at. */
static int s_revoked_text(int revoked, const char *at, char *out, size_t cap, mn_diag *d)
{
    int rc;
    out[0] = '\0';
    if (!revoked)
        return MN_OK;
    if (at[0] && (rc = s_check_revoked_at(at, d)) != MN_OK)
        return rc;
    if (at[0])
        snprintf(out, cap, "revoked = true;\nrevoked_at = \"%s\";\n", at);
    else
        snprintf(out, cap, "revoked = true;\n");
    return MN_OK;
}

/* What an agent file needs: a valid name and region, an agent key line of that name. */
static int s_check_agent(const char *name, const char *region, const mn_pubkey *pub, mn_diag *d)
{
    int rc = MN_OK;
    if (!name || !mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_EINVAL, "name", "agent name \"%s\" is not valid",
                         name ? name : "");
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
    } else if (!s_region_is_valid(region)) {
        rc = mn_diag_set(d, MN_EINVAL, "region", "region is too long or has quotes or control "
                         "characters");
        mn_diag_hint(d, "write a region of 1-%d plain characters, e.g. \"Oost-Nederland\"",
                     MN_NAME_MAX);
    } else if (pub->role != MN_ROLE_AGENT || strcmp(pub->name, name) != 0) {
        rc = mn_diag_set(d, MN_EINVAL, "key", "the key line is of %s \"%s\", not of agent "
                         "\"%s\"", mn_role_name(pub->role), pub->name, name);
        mn_diag_hint(d, "paste the public line agent \"%s\" printed; it starts with "
                        "\"meldnet1 agent %s\"", name, name);
    }
    return rc;
}

/* Write the agent file at path (checked: s_check_agent). */
static int s_write_agent_file(const char *path, const char *name, const char *region,
                              const mn_pubkey *pub, int revoked, const char *revoked_at,
                              mn_diag *d)
{
    char line[MN_PUBLIC_LINE_MAX];
    char rev[64 + GW_TIME_CHARS];
    char text[1024];
    int rc = s_revoked_text(revoked, revoked_at, rev, sizeof rev, d);

    if (rc != MN_OK)
        return rc;
    mn_pubkey_format(pub, line, sizeof line);
    int pn = snprintf(text, sizeof text,
                      "# agent %s - %s\n"
                      "name = \"%s\";\n"
                      "key = \"%s\";\n"
                      "region = \"%s\";\n"
                      "%s",
                      name,
                      revoked ? "revoked by meldnetctl agent revoke: the gateway refuses its key"
                              : "written by meldnetctl agent add",
                      name, line, region, rev);
    if (pn < 0 || (size_t)pn >= sizeof text)
        return mn_diag_set(d, MN_EINVAL, path, "the agent file would be too long");
    return mn_file_write_atomic(path, text, (size_t)pn, 0644, d);
}

int gw_config_write_agent(const char *agents_dir, const char *name, const char *region,
                          const mn_pubkey *pub, mn_diag *d)
{
    char path[GW_PATH_MAX];
    int rc;

    if (!region || !region[0])
        region = S_DEFAULT_REGION;
    if ((rc = s_check_agent(name, region, pub, d)) != MN_OK ||
        (rc = s_new_party_file(agents_dir, &s_agents_kind, name, path, sizeof path, d)) != MN_OK)
        return rc;
    return s_write_agent_file(path, name, region, pub, 0, "", d);
}

int gw_config_rewrite_agent(const char *agents_dir, const gw_agent *a, mn_diag *d)
{
    char path[GW_PATH_MAX];
    const char *region = a->region[0] ? a->region : S_DEFAULT_REGION;
    int rc;

    if (!memchr(a->name, 0, sizeof a->name) || !memchr(a->region, 0, sizeof a->region) ||
        !memchr(a->revoked_at, 0, sizeof a->revoked_at))
        return mn_diag_set(d, MN_EINVAL, "agent", "a field of the agent is not terminated");
    if ((rc = s_check_agent(a->name, region, &a->pub, d)) != MN_OK ||
        (rc = s_party_path(agents_dir, &s_agents_kind, a->name, path, sizeof path, d)) != MN_OK)
        return rc;
    return s_write_agent_file(path, a->name, region, &a->pub, a->revoked, a->revoked_at, d);
}

/* What a partner file needs: a valid name, a partner key line of that name, a kind and
 * 1..GW_BINDINGS_MAX distinct, valid bindings. */
static int s_check_partner(const gw_partner *p, mn_diag *d)
{
    int rc = MN_OK;

    if (!memchr(p->name, 0, sizeof p->name) || !memchr(p->revoked_at, 0, sizeof p->revoked_at))
        return mn_diag_set(d, MN_EINVAL, "partner", "a field of the partner is not terminated");
    if (!mn_name_is_valid(p->name) || strcmp(p->name, S_RESERVED_PARTNER) == 0) {
        rc = mn_diag_set(d, MN_EINVAL, "name", "partner name \"%.*s\" is not valid%s",
                         MN_NAME_MAX, p->name,
                         strcmp(p->name, S_RESERVED_PARTNER) == 0 ? " (reserved for the registry)"
                                                                 : "");
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        goto out;
    }
    if (p->pub.role != MN_ROLE_PARTNER || strcmp(p->pub.name, p->name) != 0) {
        rc = mn_diag_set(d, MN_EINVAL, "key", "the key line is of %s \"%s\", not of partner "
                         "\"%s\"", mn_role_name(p->pub.role), p->pub.name, p->name);
        mn_diag_hint(d, "paste the public line partner \"%s\" printed; it starts with "
                        "\"meldnet1 partner %s\"", p->name, p->name);
        goto out;
    }
    if (p->kind < GW_PARTNER_POLICE || p->kind >= GW_PARTNER_POLICE + (int)S_N_KINDS) {
        rc = mn_diag_set(d, MN_EINVAL, "kind", "not a partner kind (%d)", p->kind);
        mn_diag_hint(d, "kinds: " S_KIND_LIST);
        goto out;
    }
    if (p->n_bindings < 1 || p->n_bindings > GW_BINDINGS_MAX) {
        rc = mn_diag_set(d, MN_EINVAL, "bindings", "a partner has 1 to %d bindings, not %zu",
                         GW_BINDINGS_MAX, p->n_bindings);
        mn_diag_hint(d, "bind the partner to the topics it may receive: --bind TOPIC=SHARING");
        goto out;
    }
    for (size_t i = 0; i < p->n_bindings; i++) {
        const gw_binding *b = &p->bindings[i];
        if (!memchr(b->topic, 0, sizeof b->topic) || !mn_topic_pattern_is_valid(b->topic)) {
            rc = mn_diag_set(d, MN_EINVAL, "bindings", "topic \"%.*s\" is not a topic or "
                             "pattern", MN_TOPIC_MAX, b->topic);
            s_hint_topic(d);
            goto out;
        }
        int level = 0; /* a level is valid when its name parses back to it */
        if (mn_sharing_parse(mn_sharing_name(b->sharing), &level) != MN_OK ||
            level != b->sharing) {
            rc = mn_diag_set(d, MN_EINVAL, "bindings", "topic \"%s\": sharing level %d is not "
                             "one of " S_SHARING_LIST, b->topic, b->sharing);
            goto out;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->bindings[k].topic, b->topic) == 0) {
                rc = mn_diag_set(d, MN_EINVAL, "bindings", "topic \"%s\" is bound twice",
                                 b->topic);
                mn_diag_hint(d, "keep one binding per topic, with the sharing level it needs");
                goto out;
            }
        }
    }
out:
    return rc;
}

/* Write the partner file at path (checked: s_check_partner). */
static int s_write_partner_file(const char *path, const gw_partner *p, mn_diag *d)
{
    char line[MN_PUBLIC_LINE_MAX];
    char rev[64 + GW_TIME_CHARS];
    char text[4096];
    size_t len = 0;
    int rc = s_revoked_text(p->revoked, p->revoked_at, rev, sizeof rev, d);
    int pn;

    if (rc != MN_OK)
        return rc;
    mn_pubkey_format(&p->pub, line, sizeof line);
    pn = snprintf(text, sizeof text,
                  "# partner %s - %s\n"
                  "name = \"%s\";\n"
                  "key = \"%s\";\n"
                  "kind = \"%s\";\n"
                  "bindings = (\n",
                  p->name,
                  p->revoked ? "revoked by meldnetctl partner revoke: the gateway refuses its key"
                             : "written by meldnetctl partner add",
                  p->name, line, gw_partner_kind_name(p->kind));
    for (size_t i = 0; pn >= 0 && (size_t)pn < sizeof text - len && i < p->n_bindings; i++) {
        len += (size_t)pn;
        pn = snprintf(text + len, sizeof text - len,
                      "    { topic = \"%s\"; sharing = \"%s\"; }%s\n", p->bindings[i].topic,
                      mn_sharing_name(p->bindings[i].sharing),
                      i + 1 < p->n_bindings ? "," : "");
    }
    if (pn >= 0 && (size_t)pn < sizeof text - len) {
        len += (size_t)pn;
        pn = snprintf(text + len, sizeof text - len, ");\n%s", rev);
    }
    if (pn < 0 || (size_t)pn >= sizeof text - len)
        return mn_diag_set(d, MN_EINVAL, path, "the partner file would be too long");
    len += (size_t)pn;
    return mn_file_write_atomic(path, text, len, 0644, d);
}

int gw_config_write_partner(const char *partners_dir, const gw_partner *p, mn_diag *d)
{
    char path[GW_PATH_MAX];
    gw_partner fresh;
    int rc;

    if ((rc = s_check_partner(p, d)) != MN_OK ||
        (rc = s_new_party_file(partners_dir, &s_partners_kind, p->name, path, sizeof path,
                               d)) != MN_OK)
        return rc;
    /* a new partner is never revoked, whatever the caller left in those fields */
    fresh = *p;
    fresh.revoked = 0;
    fresh.revoked_at[0] = '\0';
    return s_write_partner_file(path, &fresh, d);
}

int gw_config_rewrite_partner(const char *partners_dir, const gw_partner *p, mn_diag *d)
{
    char path[GW_PATH_MAX];
    int rc;

    if ((rc = s_check_partner(p, d)) != MN_OK ||
        (rc = s_party_path(partners_dir, &s_partners_kind, p->name, path, sizeof path, d)) !=
            MN_OK)
        return rc;
    return s_write_partner_file(path, p, d);
}

/* Load dir/NAME.conf alone into item (kind->load). Returns MN_OK, MN_ENOTFOUND (no such file),
 * MN_EINVAL (a bad name), or what the load returns. */
static int s_load_one(const char *dir, const struct s_party *kind, const char *name,
                      void *item, mn_diag *d)
{
    char path[GW_PATH_MAX];
    struct stat st;
    int rc;

    if (!name || !mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_EINVAL, "name", "%s name \"%.*s\" is not valid", kind->noun,
                         MN_NAME_MAX, name ? name : "");
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        return rc;
    }
    if ((rc = s_party_path(dir, kind, name, path, sizeof path, d)) != MN_OK)
        return rc;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return mn_diag_sys(d, path, "cannot read the %s file", kind->noun);
        rc = mn_diag_set(d, MN_ENOTFOUND, path, "there is no %s \"%s\"", kind->noun, name);
        mn_diag_hint(d, "`meldnetctl %s list` shows the names", kind->noun);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = mn_diag_set(d, MN_ECONFIG, path, "not a regular file");
        mn_diag_hint(d, "%s holds only %s files NAME.conf; move this away", kind->setting,
                     kind->noun);
        return rc;
    }
    return kind->load(path, name, item, d);
}

/* revoked_at as given (checked), or now. */
static int s_revoked_at(const char *given, char out[GW_TIME_CHARS + 1], mn_diag *d)
{
    if (!given) {
        s_utc_now(out);
        return MN_OK;
    }
    int rc = s_check_revoked_at(given, d);
    if (rc != MN_OK)
        return rc;
    snprintf(out, GW_TIME_CHARS + 1, "%s", given);
    return MN_OK;
}

int gw_config_revoke_agent(const char *agents_dir, const char *name, const char *revoked_at,
                           gw_agent *out, mn_diag *d)
{
    gw_agent a;
    char at[GW_TIME_CHARS + 1];
    int rc;

    if ((rc = s_revoked_at(revoked_at, at, d)) != MN_OK ||
        (rc = s_load_one(agents_dir, &s_agents_kind, name, &a, d)) != MN_OK)
        return rc;
    if (a.revoked) {
        rc = mn_diag_set(d, MN_EEXIST, a.source, "agent \"%s\" is revoked already%s%s%s", name,
                         a.revoked_at[0] ? " (since " : "", a.revoked_at,
                         a.revoked_at[0] ? ")" : "");
        mn_diag_hint(d, "nothing to do; `meldnetctl agent add %s \"LINE\"` puts it back", name);
    } else {
        a.revoked = 1;
        snprintf(a.revoked_at, sizeof a.revoked_at, "%s", at);
        rc = gw_config_rewrite_agent(agents_dir, &a, d);
    }
    if (out && (rc == MN_OK || rc == MN_EEXIST))
        *out = a;
    return rc;
}

int gw_config_revoke_partner(const char *partners_dir, const char *name, const char *revoked_at,
                             gw_partner *out, mn_diag *d)
{
    char at[GW_TIME_CHARS + 1];
    int rc = s_revoked_at(revoked_at, at, d);
    gw_partner *p = NULL;

    if (rc != MN_OK)
        goto out;
    p = malloc(sizeof *p); /* 5 KiB: not on the stack */
    if (!p) {
        rc = mn_diag_set(d, MN_ENOMEM, partners_dir, "out of memory");
        goto out;
    }
    if ((rc = s_load_one(partners_dir, &s_partners_kind, name, p, d)) != MN_OK)
        goto out;
    if (p->revoked) {
        rc = mn_diag_set(d, MN_EEXIST, p->source, "partner \"%s\" is revoked already%s%s%s",
                         name, p->revoked_at[0] ? " (since " : "", p->revoked_at,
                         p->revoked_at[0] ? ")" : "");
        mn_diag_hint(d, "nothing to do; `meldnetctl partner add %s \"LINE\"` puts it back",
                     name);
    } else {
        p->revoked = 1;
        snprintf(p->revoked_at, sizeof p->revoked_at, "%s", at);
        rc = gw_config_rewrite_partner(partners_dir, p, d);
    }
    if (out && (rc == MN_OK || rc == MN_EEXIST))
        *out = *p;
out:
    free(p);
    return rc;
}
