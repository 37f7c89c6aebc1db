/* ctl - meldnetctl: make and inspect a gateway home (init, keygen, agents, partners, routes,
 * queues and holds, registry, status).
 *
 * Every command works on a gateway home (see gw_config.h for its layout), named by --home,
 * else $MELDNET_HOME, else ./meldnet-home. Commands that only read (agent and partner list,
 * route test, queue list, hold list, registry, status) may run while the gateway runs: the
 * store is opened read-only. `hold release` writes one short transaction while the gateway
 * runs (LMDB serialises the two writers); the gateway delivers what it released on its next
 * pump.
 *
 * Output: results on stdout (a public line, a number, JSON), progress notes and warnings on
 * stderr. Exit 0 on success, 1 on failure, 2 on a usage error.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>

#include <jansson.h>

#include "ctl_json.h"
#include "ctl_reload.h"
#include "ctl_store.h"
#include "ctl_watch.h"
#include "gw_config.h"
#include "gw_dispatch.h"
#include "gw_route.h"
#include "gw_store.h"
#include "mn_cli.h"
#include "mn_process.h"
#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_record.h"
#include "mn_referral.h"
#include "mn_report.h"

#define S_PROG "meldnetctl"
#define S_EXIT_OK 0
#define S_EXIT_FAIL 1
#define S_EXIT_USAGE 2
#define S_RECORD_MAX_BYTES (MN_REPORT_MAX_BYTES + 4096) /* a report plus the record's fields */

static const char *s_home_opt; /* --home given before the command */

static const char s_usage[] =
    "usage: meldnetctl [--home DIR] COMMAND [ARGS]\n"
    "\n"
    "Make and inspect a meldnet gateway home.\n"
    "\n"
    "commands:\n"
    "  init --home DIR [--listen EP] [--delivery-listen EP]\n"
    "                                            make a new gateway home with fresh keys\n"
    "  keygen --role ROLE --name NAME --out DIR  make an identity: DIR/NAME.key, DIR/NAME.pub\n"
    "  agent add NAME \"LINE\" [--region R]        register an agent by its public line\n"
    "  agent revoke NAME                         refuse an agent's key from now on\n"
    "  agent list [--json]                       the agents: region, fingerprint, revoked\n"
    "  partner add NAME \"LINE\" --kind K --bind TOPIC=SHARING [--bind ...]\n"
    "                                            register a partner and what it may receive\n"
    "  partner revoke NAME                       refuse a partner's key, deliver no more\n"
    "  partner list [--json]                     the partners: kind, fingerprint, revoked\n"
    "  route test FILE.json                      which topics and partners a report reaches\n"
    "  queue list                                per partner: items waiting, oldest age, held\n"
    "  hold list                                 unrouted topics and held items\n"
    "  hold release PARTNER TAG [TAG...]         held items back to their partner's queue\n"
    "  hold release [PARTNER] --all [--reason TEXT]\n"
    "                                            every held item (of PARTNER; whose reason\n"
    "                                            holds TEXT) back to its queue\n"
    "  hold release unrouted REG TOPIC --registry-key FILE\n"
    "                                            route an unrouted topic again\n"
    "  registry count                            number of registrations\n"
    "  registry show REG --registry-key FILE     open one registry record, print it as JSON\n"
    "  store status|continue|new                 the store and the registration ledger: after\n"
    "                                            a lost or restored store, go on without\n"
    "                                            giving a registration number twice\n"
    "  status [--json]                           the running gateway on one screen: rates,\n"
    "                                            queues, silent agents, storage\n"
    "  top                                       the same, live (q quits)\n"
    "  queues [--json]                           per partner: depth, oldest, held, deliveries\n"
    "  agents [--json]                           per agent: last seen, counts, revoked\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help; `meldnetctl COMMAND --help` explains one command\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static const char s_usage_init[] =
    "usage: meldnetctl init --home DIR [--listen ENDPOINT] [--delivery-listen ENDPOINT]\n"
    "                      [--metrics-listen HOST:PORT]\n"
    "\n"
    "Make a new gateway home in DIR (which must not exist, or be empty), all folders 0700:\n"
    "  gateway.conf                   the configuration, every setting commented\n"
    "  keys/gateway.key, .pub         the gateway identity (secret 0600) and its public line\n"
    "  keys/digest.key                secret key of the dedup digests (0600)\n"
    "  keys/pseudonym.key             secret key of the victim pseudonyms (0600)\n"
    "  keys/registry.pub              the registry's public line: records are sealed to it\n"
    "  registry-secret/registry.key   the registry's secret key: move it to the registry's\n"
    "                                 operators; the gateway never needs it\n"
    "  agents/ partners/ data/ run/\n"
    "\n"
    "options:\n"
    "  --home DIR                  the new home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  --listen ENDPOINT           ingest endpoint for agents (default tcp://127.0.0.1:7411)\n"
    "  --delivery-listen ENDPOINT  delivery endpoint for partners (default\n"
    "                              tcp://127.0.0.1:7412); must differ from --listen\n"
    "  --metrics-listen HOST:PORT  HTTP endpoint for operators: /metrics, /healthz, /readyz\n"
    "                              and a status page at / (default 127.0.0.1:9464; off: none)\n"
    "  -h, --help                  this help\n";

static const char s_usage_keygen[] =
    "usage: meldnetctl keygen --role ROLE --name NAME --out DIR\n"
    "\n"
    "Make a fresh identity: DIR/NAME.key (secret, 0600) and DIR/NAME.pub (its public line).\n"
    "DIR is created (0700) when missing; existing files are never overwritten.\n"
    "Prints the public line on stdout.\n"
    "\n"
    "options:\n"
    "  --role ROLE   agent, partner, gateway or registry\n"
    "  --name NAME   1-64 characters of A-Z a-z 0-9 . _ -\n"
    "  --out DIR     where to write the two files\n"
    "  -h, --help    this help\n";

static const char s_usage_agent[] =
    "usage: meldnetctl agent add NAME \"LINE\" [--region REGION] [--home DIR]\n"
    "       meldnetctl agent revoke NAME [--home DIR]\n"
    "       meldnetctl agent list [--json] [--home DIR]\n"
    "\n"
    "add     register agent NAME by the public line it printed (meldnet-agent keygen); writes\n"
    "        agents/NAME.conf. A revoked NAME comes back, with LINE's key.\n"
    "revoke  mark agents/NAME.conf revoked: the gateway refuses its key from then on.\n"
    "list    print the agents: name, region, key fingerprint, active or revoked.\n"
    "\n"
    "add and revoke make a gateway running from the home reload (SIGHUP).\n"
    "`meldnetctl agent add --help` (revoke, list) explains each.\n";

static const char s_usage_agent_add[] =
    "usage: meldnetctl agent add NAME \"LINE\" [--region REGION] [--home DIR]\n"
    "\n"
    "Register agent NAME: LINE is the public line the agent printed, whole, in quotes\n"
    "(\"meldnet1 agent NAME curve=... sign=... box=...\"). Writes agents/NAME.conf in the\n"
    "home. Refuses a NAME that is registered and not revoked, and a key that another agent or\n"
    "a partner has, revoked ones included: a revoked key is never taken into use again.\n"
    "\n"
    "A revoked NAME comes back: agents/NAME.conf is written again without \"revoked\", with\n"
    "LINE's key and the region it had (or --region). LINE may be the key it had, or a new one:\n"
    "to replace a lost or leaked key, revoke the agent, make a new identity on its machine\n"
    "(meldnet-agent keygen) and add that line; the old key then is unknown to the gateway.\n"
    "\n"
    "Then a gateway running from the home (run/status.json) reloads: \"reloaded the running\n"
    "gateway (pid N)\"; else \"the gateway is not running; it applies this at start\".\n"
    "\n"
    "options:\n"
    "  --region REGION   the agent's region (police unit / care region; default \"unknown\",\n"
    "                    or the region it had when it comes back)\n"
    "  --home DIR        the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help        this help\n";

static const char s_usage_agent_revoke[] =
    "usage: meldnetctl agent revoke NAME [--home DIR]\n"
    "\n"
    "Revoke agent NAME: write agents/NAME.conf again (crash-safe) with revoked = true; and\n"
    "revoked_at = the time now (UTC), keeping its name, region and key. The gateway refuses a\n"
    "handshake with that key from its next reload on (counted and logged as\n"
    "cause=revoked_key) and takes no more reports from the agent; what it sent before stays\n"
    "registered. The key stays retired: no agent or partner can be added with it.\n"
    "`meldnetctl agent add NAME \"LINE\"` brings the agent back.\n"
    "\n"
    "Then a gateway running from the home reloads, as after `agent add`. An agent that is\n"
    "revoked already stays as it is: that is said, the running gateway reloads all the same,\n"
    "and the exit status is 0. An unknown NAME is an error (exit 1).\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_agent_list[] =
    "usage: meldnetctl agent list [--json] [--home DIR]\n"
    "\n"
    "Print one line per agent: name, region, key fingerprint (the fingerprint the gateway\n"
    "logs) and STATUS (active, or revoked: the gateway refuses its key), sorted by name, after\n"
    "a header line.\n"
    "\n"
    "options:\n"
    "  --json       print a JSON array instead, one object per agent: name, region,\n"
    "               fingerprint, revoked (true or false), revoked_at (UTC time, or null)\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_partner[] =
    "usage: meldnetctl partner add NAME \"LINE\" --kind KIND --bind TOPIC=SHARING [--bind ...]\n"
    "                              [--home DIR]\n"
    "       meldnetctl partner revoke NAME [--home DIR]\n"
    "       meldnetctl partner list [--json] [--home DIR]\n"
    "\n"
    "add     register partner NAME by the public line it printed (meldnet-partner keygen), with\n"
    "        its kind and the topics it may receive; writes partners/NAME.conf. A revoked NAME\n"
    "        comes back, with LINE's key.\n"
    "revoke  mark partners/NAME.conf revoked: the gateway refuses its key and delivers nothing\n"
    "        to it from then on.\n"
    "list    print the partners: name, kind, key fingerprint, active or revoked, bindings.\n"
    "\n"
    "add and revoke make a gateway running from the home reload (SIGHUP).\n"
    "`meldnetctl partner add --help` (revoke, list) explains each.\n";

static const char s_usage_partner_add[] =
    "usage: meldnetctl partner add NAME \"LINE\" --kind KIND --bind TOPIC=SHARING [--bind ...]\n"
    "                              [--home DIR]\n"
    "\n"
    "Register partner NAME: LINE is the public line the partner printed, whole, in quotes\n"
    "(\"meldnet1 partner NAME curve=... sign=... box=...\"). Writes partners/NAME.conf in the\n"
    "home. Refuses a NAME that is registered and not revoked, and a key an agent or another\n"
    "partner has, revoked ones included.\n"
    "\n"
    "A revoked NAME comes back: partners/NAME.conf is written again without \"revoked\", with\n"
    "LINE's key (the one it had, or a new one) and the kind and bindings it had; --kind and\n"
    "--bind, when given, replace them (all bindings at once).\n"
    "\n"
    "Then a gateway running from the home (run/status.json) reloads: \"reloaded the running\n"
    "gateway (pid N)\"; else \"the gateway is not running; it applies this at start\".\n"
    "\n"
    "options:\n"
    "  --kind KIND            police, care, research, hotline, shelter or other: which consent\n"
    "                         flag of a report lets identifying fields reach it\n"
    "  --bind TOPIC=SHARING   a topic it may receive (\"police.acute\"), "
    "or a pattern (\"care.*\",\n"
    "                         \"*\"), and how much it sees of those reports: full, pseudonymous\n"
    "                         or statistics. Once per topic, 1-16 times. The partner never\n"
    "                         receives a topic it is not bound to.\n"
    "  --home DIR             the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help             this help\n";

static const char s_usage_partner_revoke[] =
    "usage: meldnetctl partner revoke NAME [--home DIR]\n"
    "\n"
    "Revoke partner NAME: write partners/NAME.conf again (crash-safe) with revoked = true; and\n"
    "revoked_at = the time now (UTC), keeping its name, key, kind and bindings. The gateway\n"
    "refuses a handshake with that key from its next reload on (counted and logged as\n"
    "cause=revoked_key) and delivers nothing more to the partner. The key stays retired: no\n"
    "agent or partner can be added with it. `meldnetctl partner add NAME \"LINE\"` brings the\n"
    "partner back.\n"
    "\n"
    "Then a gateway running from the home reloads, as after `partner add`. A partner that is\n"
    "revoked already stays as it is: that is said, the running gateway reloads all the same,\n"
    "and the exit status is 0. An unknown NAME is an error (exit 1).\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_partner_list[] =
    "usage: meldnetctl partner list [--json] [--home DIR]\n"
    "\n"
    "Print one line per partner: name, kind, key fingerprint (the fingerprint the gateway\n"
    "logs), STATUS (active, or revoked: refused, delivered nothing) and bindings\n"
    "(TOPIC=SHARING, comma-separated), sorted by name, after a header line.\n"
    "\n"
    "options:\n"
    "  --json       print a JSON array instead, one object per partner: name, kind,\n"
    "               fingerprint, revoked (true or false), revoked_at (UTC time, or null),\n"
    "               bindings ([{\"topic\", \"sharing\"}])\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_route[] =
    "usage: meldnetctl route test FILE.json [--home DIR]\n"
    "\n"
    "test  dry-run the routing rules on a report file.\n"
    "\n"
    "`meldnetctl route test --help` explains it.\n";

static const char s_usage_route_test[] =
    "usage: meldnetctl route test FILE.json [--home DIR]\n"
    "\n"
    "Dry-run the routing rules of the home's gateway.conf on the report in FILE.json (\"-\":\n"
    "stdin): print the topics it reaches and by which rule, the topics no partner is bound to,\n"
    "and for every partner that would get it the referral JSON it would receive, after\n"
    "redaction. Changes nothing. Needs keys/pseudonym.key (the pseudonyms are real). The\n"
    "output holds report fields: run it where reports may be read.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_queue[] =
    "usage: meldnetctl queue list [--home DIR]\n"
    "\n"
    "list  per partner: items waiting, age of the oldest, items held.\n"
    "\n"
    "`meldnetctl queue list --help` explains it.\n";

static const char s_usage_queue_list[] =
    "usage: meldnetctl queue list [--home DIR]\n"
    "\n"
    "Print one line per configured partner, sorted by name:\n"
    "  PARTNER N items oldest=AGE held=N\n"
    "N items are waiting for delivery or for the partner's ack; oldest is the age of the\n"
    "oldest of them (12s, 5m03s, 2h10m, 3d04h; \"-\" when none); held counts the items in its\n"
    "hold queue (`hold list`). A partner with held items that is no longer configured is\n"
    "listed too, marked (not configured). Safe while the gateway runs.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_hold[] =
    "usage: meldnetctl hold list [--home DIR]\n"
    "       meldnetctl hold release PARTNER TAG [TAG...] [--home DIR]\n"
    "       meldnetctl hold release [PARTNER] --all [--reason TEXT] [--home DIR]\n"
    "       meldnetctl hold release unrouted REG TOPIC --registry-key FILE [--home DIR]\n"
    "\n"
    "list     the topics no partner was bound to, and the items partners refused too often\n"
    "         or did not take in time\n"
    "release  put held items back in their partner's queue (by tag, or all of them), or route\n"
    "         an unrouted topic again\n"
    "\n"
    "`meldnetctl hold list --help` and `meldnetctl hold release --help` explain each.\n";

static const char s_usage_hold_list[] =
    "usage: meldnetctl hold list [--home DIR]\n"
    "\n"
    "Print two sections. \"unrouted: N\", then one line per topic of a registration that no\n"
    "partner was bound to (topic=- when no rule matched at all):\n"
    "  MN-00000042 topic=hotline.friesland held=TIME reason=\"...\"\n"
    "then \"held: N\", then one line per held item (nacked max_nacks times, deferred by the\n"
    "partner for transient_retry_hours, or older than max_item_age_hours):\n"
    "  PARTNER TAG MN-00000042 topics=T[,T...] nacks=N held=TIME reason=\"...\"\n"
    "Times are UTC, ISO 8601. Safe while the gateway runs.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_hold_release[] =
    "usage: meldnetctl hold release PARTNER TAG [TAG...] [--home DIR]\n"
    "       meldnetctl hold release [PARTNER] --all [--reason TEXT] [--home DIR]\n"
    "       meldnetctl hold release unrouted REG TOPIC --registry-key FILE [--home DIR]\n"
    "\n"
    "PARTNER TAG [TAG...]\n"
    "               move held items TAG of PARTNER (see `hold list`) back to its queue, each\n"
    "               in its own lane, with attempts and nacks reset and due at once; all of\n"
    "               them or, when one is not held, none. The running gateway delivers them on\n"
    "               its next pump; fix what made the partner refuse them first, or they are\n"
    "               held again.\n"
    "[PARTNER] --all\n"
    "               the same for every held item of PARTNER, or of every partner when no\n"
    "               PARTNER is given (after a bad day: the partner's disk is free again).\n"
    "  --reason TEXT  only the held items whose reason (as `hold list` shows it) contains\n"
    "               TEXT, e.g. --reason \"No space left\"; implies --all.\n"
    "               Each released item is printed, then how many.\n"
    "unrouted REG TOPIC\n"
    "               route topic TOPIC of registration REG (MN-00000042 or 42) again: after\n"
    "               you bound a partner to TOPIC (partner add, reload), this opens the\n"
    "               registry's record with the registry's secret key FILE and queues an item\n"
    "               for every partner now bound to TOPIC, in one transaction that also removes\n"
    "               the unrouted entry. Needs the gateway identity and keys/pseudonym.key.\n"
    "\n"
    "options:\n"
    "  --all                 every held item (of PARTNER, or of every partner)\n"
    "  --reason TEXT         only held items whose reason contains TEXT; implies --all\n"
    "  --registry-key FILE   the registry's secret key file (0600), for unrouted\n"
    "  --home DIR            the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help            this help\n";

static const char s_usage_registry[] =
    "usage: meldnetctl registry count [--home DIR]\n"
    "       meldnetctl registry show REG --registry-key FILE [--home DIR]\n"
    "\n"
    "count  print the number of registrations (just the number)\n"
    "show   open registration REG (MN-00000042 or 42) with the registry's secret key and\n"
    "       print it as JSON\n"
    "\n"
    "`meldnetctl registry count --help` and `meldnetctl registry show --help` explain each.\n";

static const char s_usage_registry_count[] =
    "usage: meldnetctl registry count [--home DIR]\n"
    "\n"
    "Print the number of registrations in the store. Safe while the gateway runs.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_registry_show[] =
    "usage: meldnetctl registry show REG --registry-key FILE [--home DIR]\n"
    "\n"
    "Open registration REG (MN-00000042 or 42) with the registry's secret key FILE (the\n"
    "registry-secret/registry.key made by init) and print it as JSON: registration, agent,\n"
    "accepted_at, created_at, envelope_id, sharing (full, or pseudonymous without consent to\n"
    "register identity), victim_pseudonym (the registry's own, when pseudonymous), withheld\n"
    "(what was left out, and why) and the report. The output holds the report in clear: run\n"
    "it only where the registry's operators may read reports.\n"
    "\n"
    "options:\n"
    "  --registry-key FILE   the registry's secret key file (0600)\n"
    "  --home DIR            the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help            this help\n";

/* --- helpers -------------------------------------------------------------------------------- */

static int s_usage_error(const char *cmd, const char *fmt, ...) MN_PRINTF(2, 3);

/* A usage problem: say what, point at the help, exit status 2. fmt NULL: getopt said it. */
static int s_usage_error(const char *cmd, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", S_PROG);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    fprintf(stderr, "Try '%s%s%s --help'.\n", S_PROG, cmd[0] ? " " : "", cmd);
    return S_EXIT_USAGE;
}

static int s_fail(const mn_diag *d)
{
    mn_diag_print(S_PROG, d);
    return S_EXIT_FAIL;
}

static const char *s_home(const char *opt)
{
    const char *env = getenv("MELDNET_HOME");
    if (opt && opt[0])
        return opt;
    if (s_home_opt && s_home_opt[0])
        return s_home_opt;
    if (env && env[0])
        return env;
    return "./meldnet-home";
}

static int s_path(char *buf, size_t cap, const char *dir, const char *name, mn_diag *d)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return mn_diag_set(d, MN_EINVAL, dir, "path too long");
    return MN_OK;
}

/* Load HOME/gateway.conf, with a clear message when HOME is not a gateway home. */
static int s_load_config(const char *home, gw_config **cfg, mn_diag *d)
{
    char path[GW_PATH_MAX];
    struct stat st;
    int rc = s_path(path, sizeof path, home, "gateway.conf", d);
    if (rc != MN_OK)
        goto out;
    if (stat(path, &st) != 0) {
        rc = mn_diag_sys(d, path, "no gateway home at %s", home);
        mn_diag_hint(d, "make one with `meldnetctl init --home %s`, or name it with --home DIR "
                        "or $MELDNET_HOME", home);
        goto out;
    }
    rc = gw_config_load(path, cfg, d);
out:
    return rc;
}

/* An option of a command that takes a value: --NAME VALUE sets *value. */
typedef struct s_opt {
    const char *name;
    const char **value;
} s_opt;

/* An option that may be given several times (--bind): each value is appended to all[],
 * at most max of them; n counts them. */
typedef struct s_multi {
    const char *name;
    const char **all;
    size_t n;
    size_t max;
} s_multi;

#define S_OPTS_MAX 4     /* s_opt entries a command may have */
#define S_OPT_VAL 0x100  /* getopt_long's value for opts[0]; above every short option */
#define S_OPT_MULTI 0x1ff /* getopt_long's value for the s_multi option */
#define S_GO_ON (-1)     /* from s_options: parsed, run the command */

/* Parse the options of command `cmd` (argv[0] is its label, for getopt's messages): each of
 * `opts` (ended by {NULL, NULL}), and -h/--help, which prints `usage`. Then exactly
 * n_operands operands must remain, from optind on; a wrong count is a usage error that says
 * `operands_error` (with n_operands 0: names the first unexpected argument; with -1 any count
 * is accepted and the command checks). multi (may be NULL) is one option that may repeat.
 * Returns S_GO_ON to run the command, else the exit status: S_EXIT_OK after help,
 * S_EXIT_USAGE after saying what is wrong. */
static int s_options_multi(int argc, char **argv, const char *cmd, const char *usage,
                           const s_opt *opts, s_multi *multi, int n_operands,
                           const char *operands_error)
{
    struct option lopts[S_OPTS_MAX + 3];
    int n = 0, c;

    for (; opts[n].name; n++) {
        assert(n < S_OPTS_MAX);
        lopts[n] = (struct option){opts[n].name, required_argument, NULL, S_OPT_VAL + n};
    }
    int k = n;
    if (multi)
        lopts[k++] = (struct option){multi->name, required_argument, NULL, S_OPT_MULTI};
    lopts[k] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[k + 1] = (struct option){NULL, 0, NULL, 0};

    optind = 0; /* a new argument vector (glibc: 0 also resets its internal state) */
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return S_EXIT_OK;
        }
        if (c == S_OPT_MULTI && multi) {
            if (multi->n == multi->max)
                return s_usage_error(cmd, "--%s may be given at most %zu times", multi->name,
                                     multi->max);
            multi->all[multi->n++] = optarg;
            continue;
        }
        if (c < S_OPT_VAL || c >= S_OPT_VAL + n)
            return s_usage_error(cmd, NULL);
        *opts[c - S_OPT_VAL].value = optarg;
    }
    if (n_operands == 0 && optind < argc)
        return s_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
    if (n_operands >= 0 && argc - optind != n_operands)
        return s_usage_error(cmd, "%s", operands_error);
    return S_GO_ON;
}

/* s_options_multi without a repeatable option. */
static int s_options(int argc, char **argv, const char *cmd, const char *usage,
                     const s_opt *opts, int n_operands, const char *operands_error)
{
    return s_options_multi(argc, argv, cmd, usage, opts, NULL, n_operands, operands_error);
}

/* The start of a command whose only option is --home: its options and operands (as
 * s_options), then the home's configuration into *cfg (caller destroys it). Returns S_GO_ON,
 * else the exit status, after saying what is wrong. */
static int s_home_command(int argc, char **argv, const char *cmd, const char *usage,
                          int n_operands, const char *operands_error, gw_config **cfg)
{
    const char *home = NULL;
    const s_opt opts[] = {{"home", &home}, {NULL, NULL}};
    mn_diag d = {0};
    int rc = s_options(argc, argv, cmd, usage, opts, n_operands, operands_error);
    if (rc != S_GO_ON)
        return rc;
    if (s_load_config(s_home(home), cfg, &d) != MN_OK)
        return s_fail(&d);
    return S_GO_ON;
}

/* A command or subcommand: its name, what runs it, and the argv[0] it runs with. */
typedef struct s_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *label; /* getopt names argv[0] in its messages */
} s_command;

/* The command of table[0 .. n-1] called `name`, or NULL. */
static const s_command *s_command_find(const s_command *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/* `meldnetctl GROUP SUB ...` (argv[0] is GROUP): run SUB, one of subs[0 .. n-1] (`names`
 * lists them for the error), or print the group's usage. Returns an exit status. */
static int s_group(int argc, char **argv, const char *group, const char *usage,
                   const s_command *subs, size_t n, const char *names)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? S_EXIT_USAGE : S_EXIT_OK;
    }
    const s_command *sub = s_command_find(subs, n, argv[1]);
    if (!sub)
        return s_usage_error(group, "unknown %s command \"%s\" (%s)", group, argv[1], names);
    argv[1] = (char *)sub->label;
    return sub->run(argc - 1, argv + 1);
}

/* --- init ----------------------------------------------------------------------------------- */

static int s_listen_is_valid(const char *ep)
{
    size_t len = strlen(ep);
    if (len == 0 || len >= sizeof ((gw_config *)NULL)->listen || !strstr(ep, "://"))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)ep[i];
        if (c < 0x21 || c == 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

/* "HOST:PORT" or "off", without characters that would break the config line; gw_http checks
 * the address itself when the gateway starts. */
static int s_metrics_listen_is_valid(const char *text)
{
    size_t len = strlen(text);
    if (strcmp(text, "off") == 0)
        return 1;
    if (len == 0 || len >= sizeof ((gw_config *)NULL)->metrics_listen || !strchr(text, ':'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x21 || c == 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

/* tpl with the value of its line `    NAME = "...";` set to value. Caller owns the result
 * (free()); NULL when tpl has no such line or memory ran out. */
static char *s_conf_set(const char *tpl, const char *name, const char *value)
{
    char mark[64];
    char *text = NULL;
    snprintf(mark, sizeof mark, "\n    %s = \"", name);
    const char *start = strstr(tpl, mark);
    const char *end = start ? strstr(start + strlen(mark), "\";") : NULL;
    if (!end)
        goto out;
    size_t head = (size_t)(start - tpl) + strlen(mark);
    size_t len = head + strlen(value) + strlen(end) + 1;
    text = malloc(len);
    if (!text)
        goto out;
    memcpy(text, tpl, head);
    snprintf(text + head, len - head, "%s%s", value, end);
out:
    return text;
}

/* The template with its listen, delivery_listen and metrics_listen set. Caller owns the result
 * (free()). */
static char *s_conf_text(const char *listen, const char *delivery, const char *metrics)
{
    char *first = s_conf_set(gw_config_template(), "listen", listen);
    char *second = first ? s_conf_set(first, "delivery_listen", delivery) : NULL;
    char *text = second ? s_conf_set(second, "metrics_listen", metrics) : NULL;
    free(first);
    free(second);
    return text;
}

static int s_home_is_free(const char *home, mn_diag *d)
{
    struct stat st;
    DIR *dir = NULL;
    int rc = MN_OK;

    if (stat(home, &st) != 0) {
        if (errno != ENOENT)
            rc = mn_diag_sys(d, home, "cannot use the home folder");
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = mn_diag_set(d, MN_EEXIST, home, "exists and is not a folder");
        mn_diag_hint(d, "choose a new folder for the gateway home");
        goto out;
    }
    dir = opendir(home);
    if (!dir) {
        rc = mn_diag_sys(d, home, "cannot read the home folder");
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = mn_diag_set(d, MN_EEXIST, home, "exists and is not empty; init makes a new "
                             "home and never touches an existing one");
            mn_diag_hint(d, "choose a folder that does not exist yet (or is empty); an existing "
                            "home is used as it is, e.g. `meldnetctl status --home %s`", home);
            goto out;
        }
    }
out:
    if (dir)
        closedir(dir);
    return rc;
}

static int s_mkdir(const char *home, const char *name, mn_diag *d)
{
    char path[GW_PATH_MAX];
    int rc = s_path(path, sizeof path, home, name, d);
    if (rc != MN_OK)
        return rc;
    if (mkdir(path, 0700) != 0)
        return mn_diag_sys(d, path, "cannot create the folder");
    return MN_OK;
}

/* Make a fresh identity and save it in home: the secret at sec_name (0600), the public line at
 * pub_name. Caller owns *key. */
static int s_make_identity(const char *home, mn_role role, const char *name,
                           const char *sec_name, const char *pub_name, mn_key **key, mn_diag *d)
{
    char path[GW_PATH_MAX], pub[GW_PATH_MAX];
    int rc;
    if ((rc = mn_key_generate(role, name, key, d)) != MN_OK ||
        (rc = s_path(path, sizeof path, home, sec_name, d)) != MN_OK ||
        (rc = s_path(pub, sizeof pub, home, pub_name, d)) != MN_OK)
        return rc;
    return mn_key_save(*key, path, pub, d);
}

static int s_init(const char *home, const char *listen, const char *delivery,
                  const char *metrics, mn_diag *d)
{
    static const char *const dirs[] = {"keys", "agents", "partners", "data", "run",
                                       "registry-secret"};
    char path[GW_PATH_MAX], real[PATH_MAX];
    char line[MN_PUBLIC_LINE_MAX];
    char *conf = NULL;
    mn_key *gateway = NULL, *registry = NULL;
    mn_secret32 *digest = NULL, *pseudonym = NULL;
    gw_config *cfg = NULL;
    int made = 0; /* something was written: a failure leaves a partial home */
    int rc;

    rc = s_home_is_free(home, d);
    if (rc != MN_OK)
        goto out;
    if (mkdir(home, 0700) != 0 && errno != EEXIST) {
        rc = mn_diag_sys(d, home, "cannot create the home folder");
        if (errno == ENOENT)
            mn_diag_hint(d, "create its parent folder first");
        goto out;
    }
    made = 1;
    if (chmod(home, 0700) != 0) {
        rc = mn_diag_sys(d, home, "cannot make the home folder private (0700)");
        goto out;
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        rc = s_mkdir(home, dirs[i], d);
        if (rc != MN_OK)
            goto out;
    }

    conf = s_conf_text(listen, delivery, metrics);
    if (!conf) {
        rc = mn_diag_set(d, MN_ENOMEM, home, "cannot make gateway.conf from the template");
        goto out;
    }
    if ((rc = s_path(path, sizeof path, home, "gateway.conf", d)) != MN_OK ||
        (rc = mn_file_write_atomic(path, conf, strlen(conf), 0644, d)) != MN_OK)
        goto out;

    if ((rc = s_make_identity(home, MN_ROLE_GATEWAY, "gateway", "keys/gateway.key",
                              "keys/gateway.pub", &gateway, d)) != MN_OK)
        goto out;

    if ((rc = mn_secret32_generate(&digest, d)) != MN_OK ||
        (rc = s_path(path, sizeof path, home, "keys/digest.key", d)) != MN_OK ||
        (rc = mn_secret32_save(digest, path, d)) != MN_OK)
        goto out;

    if ((rc = mn_secret32_generate(&pseudonym, d)) != MN_OK ||
        (rc = s_path(path, sizeof path, home, "keys/pseudonym.key", d)) != MN_OK ||
        (rc = mn_secret32_save(pseudonym, path, d)) != MN_OK)
        goto out;

    if ((rc = s_make_identity(home, MN_ROLE_REGISTRY, "registry", "registry-secret/registry.key",
                              "keys/registry.pub", &registry, d)) != MN_OK)
        goto out;

    /* what init wrote must load; a failure here is our bug, not the operator's */
    if ((rc = s_path(path, sizeof path, home, "gateway.conf", d)) != MN_OK ||
        (rc = gw_config_load(path, &cfg, d)) != MN_OK)
        goto out;

    if (!realpath(home, real))
        snprintf(real, sizeof real, "%s", home);
    mn_pubkey_format(mn_key_public(gateway), line, sizeof line);
    printf("made gateway home %s\n"
           "  gateway.conf                  configuration\n"
           "  keys/gateway.key              gateway identity, secret (0600)\n"
           "  keys/gateway.pub              its public line: give it to every agent and partner\n"
           "  keys/digest.key               key of the dedup digests, secret (0600)\n"
           "  keys/pseudonym.key            key of the victim pseudonyms, secret (0600)\n"
           "  keys/registry.pub             the registry's public line: records are sealed to it\n"
           "  registry-secret/registry.key  the registry's SECRET key\n"
           "  agents/ partners/ data/ run/  agent and partner files, the store, status\n"
           "ingest endpoint (agents):     %s\n"
           "delivery endpoint (partners): %s\n"
           "operators (HTTP):             %s (/metrics, /healthz, /readyz, /)\n"
           "gateway public line:\n%s\n"
           "next: meldnetctl agent add NAME \"LINE\" --region REGION --home %s\n"
           "      meldnetctl partner add NAME \"LINE\" --kind KIND --bind TOPIC=SHARING --home %s\n"
           "      meldnet-gateway --home %s\n",
           real, listen, delivery, metrics, line, home, home, home);
    fprintf(stderr, "%s: warning: %s/registry-secret/ holds the registry's secret key: it "
            "belongs with the registry's operators, not on the gateway host. Move it to them "
            "and remove it here before real reports arrive.\n", S_PROG, real);
    rc = MN_OK;
out:
    if (rc != MN_OK && made)
        fprintf(stderr, "%s: init stopped half-way: remove %s and run init again\n", S_PROG,
                home);
    gw_config_destroy(&cfg);
    mn_key_destroy(&gateway);
    mn_key_destroy(&registry);
    mn_secret32_destroy(&digest);
    mn_secret32_destroy(&pseudonym);
    free(conf);
    return rc;
}

static int s_cmd_init(int argc, char **argv)
{
    const char *home = NULL, *listen = "tcp://127.0.0.1:7411";
    const char *delivery = "tcp://127.0.0.1:7412", *metrics = "127.0.0.1:9464";
    const s_opt opts[] = {{"home", &home},
                          {"listen", &listen},
                          {"delivery-listen", &delivery},
                          {"metrics-listen", &metrics},
                          {NULL, NULL}};
    mn_diag d = {0};

    int rc = s_options(argc, argv, "init", s_usage_init, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    if (!s_listen_is_valid(listen))
        return s_usage_error("init", "--listen \"%s\" is not an endpoint like "
                             "tcp://127.0.0.1:7411", listen);
    if (!s_listen_is_valid(delivery))
        return s_usage_error("init", "--delivery-listen \"%s\" is not an endpoint like "
                             "tcp://127.0.0.1:7412", delivery);
    if (strcmp(listen, delivery) == 0)
        return s_usage_error("init", "--listen and --delivery-listen are both \"%s\": agents "
                             "and partners need endpoints of their own", listen);
    if (!s_metrics_listen_is_valid(metrics))
        return s_usage_error("init", "--metrics-listen \"%s\" is not HOST:PORT like "
                             "127.0.0.1:9464 (or off)", metrics);
    if (s_init(s_home(home), listen, delivery, metrics, &d) != MN_OK)
        return s_fail(&d);
    return S_EXIT_OK;
}

/* --- keygen --------------------------------------------------------------------------------- */

static int s_cmd_keygen(int argc, char **argv)
{
    const char *role_text = NULL, *name = NULL, *out = NULL;
    const s_opt opts[] = {{"role", &role_text}, {"name", &name}, {"out", &out}, {NULL, NULL}};
    char path[GW_PATH_MAX], pub[GW_PATH_MAX], line[MN_PUBLIC_LINE_MAX];
    struct stat st;
    mn_key *key = NULL;
    mn_role role;
    mn_diag d = {0};

    int rc = s_options(argc, argv, "keygen", s_usage_keygen, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    if (!role_text || !name || !out)
        return s_usage_error("keygen", "%s", "--role, --name and --out are required");
    if (mn_role_parse(role_text, &role) != MN_OK)
        return s_usage_error("keygen", "--role \"%s\": use agent, partner, gateway or registry",
                             role_text);
    if (!mn_name_is_valid(name))
        return s_usage_error("keygen", "--name \"%s\": use 1-64 characters of A-Z a-z 0-9 . _ -",
                             name);
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        mn_diag_sys(&d, out, "cannot create the folder");
        goto out;
    }
    int n1 = snprintf(path, sizeof path, "%s/%s.key", out, name);
    int n2 = snprintf(pub, sizeof pub, "%s/%s.pub", out, name);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof path || (size_t)n2 >= sizeof pub) {
        mn_diag_set(&d, MN_EINVAL, out, "path too long");
        goto out;
    }
    if (stat(path, &st) == 0 || stat(pub, &st) == 0) {
        mn_diag_set(&d, MN_EEXIST, stat(path, &st) == 0 ? path : pub, "exists already");
        mn_diag_hint(&d, "keygen never overwrites a key: choose another --name or --out");
        goto out;
    }
    if (mn_key_generate(role, name, &key, &d) != MN_OK || mn_key_save(key, path, pub, &d) != MN_OK)
        goto out;
    mn_pubkey_format(mn_key_public(key), line, sizeof line);
    printf("%s\n", line);
    fprintf(stderr, "%s: wrote %s (secret, 0600) and %s\n", S_PROG, path, pub);
    rc = S_EXIT_OK;
out:
    mn_key_destroy(&key);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

/* --- agent ---------------------------------------------------------------------------------- */

/* Take every `flag` (a flag without a value, "--json") out of argv[1 ..], before a "--";
 * returns how many there were. The rest is parsed as usual. */
static int s_take_flag(int *argc, char **argv, const char *flag)
{
    int found = 0, o = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[o++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], flag) == 0)
            found++;
        else
            argv[o++] = argv[i];
    }
    *argc = o;
    argv[o] = NULL;
    return found;
}

/* Print a JSON value on stdout (one document, a newline). Takes ownership of v. Returns MN_OK
 * or MN_ENOMEM. */
static int s_print_json(json_t *v, mn_diag *d)
{
    if (ctl_json_print(v) != 0)
        return mn_diag_set(d, MN_ENOMEM, "json", "out of memory printing JSON");
    return MN_OK;
}

/* "revoked_at" of a party: its time, or null. */
static json_t *s_json_time(const char *at)
{
    return at[0] ? json_string(at) : json_null();
}

/* LINE of `meldnetctl ROLE add NAME "LINE"`: the public line of the `role` party called name,
 * into *pub. */
static int s_parse_line(const char *line, mn_role role, const char *name, mn_pubkey *pub,
                        mn_diag *d)
{
    const char *noun = mn_role_name(role);
    int rc = mn_pubkey_parse(line, pub, d);
    if (rc != MN_OK)
        return rc;
    if (pub->role != role) {
        rc = mn_diag_set(d, MN_EKEY, "LINE", "this is the public line of a%s %s, not of a%s %s",
                         pub->role == MN_ROLE_AGENT ? "n" : "", mn_role_name(pub->role),
                         role == MN_ROLE_AGENT ? "n" : "", noun);
        mn_diag_hint(d, "paste the line the %s printed (meldnet-%s keygen); it starts with "
                        "\"meldnet1 %s %s\"", noun, noun, noun, name);
        return rc;
    }
    if (strcmp(pub->name, name) != 0) {
        rc = mn_diag_set(d, MN_EKEY, "LINE", "the line is of %s \"%s\", not \"%s\"", noun,
                         pub->name, name);
        mn_diag_hint(d, "add it as `meldnetctl %s add %s ...`, or paste %s %s's own line", noun,
                     pub->name, noun, name);
        return rc;
    }
    return MN_OK;
}

/* MN_EEXIST when a party other than the `role` party called name has the CURVE key `curve`,
 * revoked ones included (a revoked key stays retired); else MN_OK. */
static int s_key_taken(const gw_config *cfg, const uint8_t *curve, mn_role role,
                       const char *name, mn_diag *d)
{
    const gw_agent *a = gw_config_find_agent_by_curve_any(cfg, curve);
    const gw_partner *p = gw_config_find_partner_by_curve_any(cfg, curve);
    const char *noun = mn_role_name(role);

    if (a && (role != MN_ROLE_AGENT || strcmp(a->name, name) != 0)) {
        mn_diag_set(d, MN_EEXIST, a->source, "this key belongs to agent \"%s\" already%s",
                    a->name, a->revoked ? " (revoked: its key is retired for good)" : "");
    } else if (p && (role != MN_ROLE_PARTNER || strcmp(p->name, name) != 0)) {
        mn_diag_set(d, MN_EEXIST, p->source, "this key belongs to partner \"%s\" already%s",
                    p->name, p->revoked ? " (revoked: its key is retired for good)" : "");
    } else {
        return MN_OK;
    }
    mn_diag_hint(d, "every party needs its own identity: run meldnet-%s keygen on the %s's own "
                    "machine and add its line", noun, noun);
    return MN_EEXIST;
}

/* What stops `ROLE add NAME "LINE"`: a party of that role and name that is registered and not
 * revoked (active: its file; NULL when there is none, or it is revoked and so may come back),
 * or another party with LINE's CURVE key (s_key_taken). MN_EEXIST with the diag filled, or
 * MN_OK. */
static int s_add_conflict(const gw_config *cfg, mn_role role, const char *name,
                          const char *active, const uint8_t *curve, mn_diag *d)
{
    if (!active)
        return s_key_taken(cfg, curve, role, name, d);
    mn_diag_set(d, MN_EEXIST, active, "%s \"%s\" exists already", mn_role_name(role), name);
    if (role == MN_ROLE_AGENT)
        mn_diag_hint(d, "to give it a new key: `meldnetctl agent revoke %s`, then `meldnetctl "
                        "agent add %s \"NEW LINE\"`", name, name);
    else
        mn_diag_hint(d, "to change its key, kind or bindings: `meldnetctl partner revoke %s`, "
                        "then `meldnetctl partner add %s ...` again", name, name);
    return MN_EEXIST;
}

/* The note when a revoked party comes back with the key it had: if that key was why it was
 * revoked, it must not come back. */
static void s_note_same_key(mn_role role, const char *name)
{
    fprintf(stderr, "%s: note: %s %s is back with the key it had when it was revoked; if that "
            "key was lost or leaked, revoke it again and add the line of a new identity\n",
            S_PROG, mn_role_name(role), name);
}

/* The same public keys (curve, sign and box). */
static int s_same_keys(const mn_pubkey *a, const mn_pubkey *b)
{
    return memcmp(a->curve, b->curve, MN_KEY_BYTES) == 0 &&
           memcmp(a->sign, b->sign, MN_KEY_BYTES) == 0 &&
           memcmp(a->box, b->box, MN_KEY_BYTES) == 0;
}

/* After an add or revoke wrote `path`: tell a running gateway. Returns an exit status. */
static int s_apply(const gw_config *cfg, const char *path)
{
    mn_diag d = {0};
    if (ctl_reload_apply(cfg->run_dir, path, &d) != MN_OK)
        return s_fail(&d);
    return S_EXIT_OK;
}

/* `meldnetctl agent revoke NAME` and `meldnetctl partner revoke NAME` (role says which): rewrite
 * the party's file revoked, say what was done, and tell a running gateway. A party revoked
 * already is said to be so, and the gateway is told all the same. */
static int s_revoke(int argc, char **argv, mn_role role, const char *usage)
{
    const char *home = NULL;
    const s_opt opts[] = {{"home", &home}, {NULL, NULL}};
    const int is_agent = role == MN_ROLE_AGENT;
    const char *noun = mn_role_name(role);
    const char *other = mn_role_name(is_agent ? MN_ROLE_PARTNER : MN_ROLE_AGENT);
    char cmd[32], operands[64], fp[MN_FINGERPRINT_CHARS + 1], detail[MN_NAME_MAX + 16];
    const mn_pubkey *pub;
    const char *revoked_at, *source;
    gw_config *cfg = NULL;
    gw_agent *a = NULL;
    gw_partner *p = NULL;
    mn_diag d = {0};
    int vrc, done = 0;

    snprintf(cmd, sizeof cmd, "%s revoke", noun);
    snprintf(operands, sizeof operands, "give the NAME of the %s to revoke", noun);
    int rc = s_options(argc, argv, cmd, usage, opts, 1, operands);
    if (rc != S_GO_ON)
        return rc;
    const char *name = argv[optind];
    if (!mn_name_is_valid(name))
        return s_usage_error(cmd, "NAME \"%s\": use 1-64 characters of A-Z a-z 0-9 . _ -", name);
    if (s_load_config(s_home(home), &cfg, &d) != MN_OK)
        goto out;
    int as_agent = gw_config_find_agent_any(cfg, name) != NULL;
    int as_partner = gw_config_find_partner_any(cfg, name) != NULL;
    if (is_agent ? !as_agent : !as_partner) {
        mn_diag_set(&d, MN_ENOTFOUND, is_agent ? cfg->agents_dir : cfg->partners_dir,
                    "there is no %s \"%s\"", noun, name);
        if (is_agent ? as_partner : as_agent)
            mn_diag_hint(&d, "\"%s\" is a%s %s: `meldnetctl %s revoke %s`", name,
                         is_agent ? "" : "n", other, other, name);
        else
            mn_diag_hint(&d, "`meldnetctl %s list` shows the names", noun);
        goto out;
    }
    /* the party as written, or as found when it was revoked already */
    if (is_agent) {
        a = calloc(1, sizeof *a);
        if (!a) {
            mn_diag_set(&d, MN_ENOMEM, name, "out of memory");
            goto out;
        }
        vrc = gw_config_revoke_agent(cfg->agents_dir, name, NULL, a, &d);
        pub = &a->pub;
        revoked_at = a->revoked_at;
        source = a->source;
        snprintf(detail, sizeof detail, "region=%s", a->region);
    } else {
        p = calloc(1, sizeof *p);
        if (!p) {
            mn_diag_set(&d, MN_ENOMEM, name, "out of memory");
            goto out;
        }
        vrc = gw_config_revoke_partner(cfg->partners_dir, name, NULL, p, &d);
        pub = &p->pub;
        revoked_at = p->revoked_at;
        source = p->source;
        snprintf(detail, sizeof detail, "kind=%s", gw_partner_kind_name(p->kind));
    }
    if (vrc != MN_OK && vrc != MN_EEXIST)
        goto out;
    mn_pubkey_fingerprint(pub, fp, sizeof fp);
    if (vrc == MN_EEXIST)
        printf("%s %s is revoked already%s%s; nothing changed (%s)\n", noun, name,
               revoked_at[0] ? " since " : "", revoked_at, source);
    else
        printf("revoked %s %s %s fingerprint=%s revoked_at=%s (%s)\n", noun, name, detail, fp,
               revoked_at, source);
    rc = s_apply(cfg, source); /* says itself why it failed */
    done = 1;
out:
    if (!done)
        rc = s_fail(&d);
    gw_config_destroy(&cfg);
    free(a);
    free(p);
    return rc;
}

static int s_agent_add(int argc, char **argv)
{
    const char *home = NULL, *region = NULL;
    const s_opt opts[] = {{"region", &region}, {"home", &home}, {NULL, NULL}};
    char fp[MN_FINGERPRINT_CHARS + 1], path[GW_PATH_MAX + MN_NAME_MAX + 8];
    gw_config *cfg = NULL;
    mn_pubkey pub;
    mn_diag d = {0};

    int rc = s_options(argc, argv, "agent add", s_usage_agent_add, opts, 2,
                       "give the agent's NAME and its public \"LINE\"");
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    const char *name = argv[optind], *line = argv[optind + 1];
    if (!mn_name_is_valid(name))
        return s_usage_error("agent add", "NAME \"%s\": use 1-64 characters of A-Z a-z 0-9 . _ -",
                             name);
    if (s_parse_line(line, MN_ROLE_AGENT, name, &pub, &d) != MN_OK ||
        s_load_config(s_home(home), &cfg, &d) != MN_OK)
        goto out;
    snprintf(path, sizeof path, "%s/%s.conf", cfg->agents_dir, name);
    const gw_agent *same = gw_config_find_agent_any(cfg, name);
    if (s_add_conflict(cfg, MN_ROLE_AGENT, name, same && !same->revoked ? same->source : NULL,
                       pub.curve, &d) != MN_OK)
        goto out;
    mn_pubkey_fingerprint(&pub, fp, sizeof fp);
    if (same) {
        /* back from revoked: the same file, without revoked, with LINE's key */
        gw_agent back = *same;
        int same_key = s_same_keys(&same->pub, &pub);
        back.pub = pub;
        if (region && region[0])
            snprintf(back.region, sizeof back.region, "%s", region);
        back.revoked = 0;
        back.revoked_at[0] = '\0';
        if (gw_config_rewrite_agent(cfg->agents_dir, &back, &d) != MN_OK)
            goto out;
        printf("restored agent %s region=%s fingerprint=%s key=%s (%s)\n", name, back.region,
               fp, same_key ? "unchanged" : "new", path);
        if (same_key)
            s_note_same_key(MN_ROLE_AGENT, name);
    } else {
        if (gw_config_write_agent(cfg->agents_dir, name, region, &pub, &d) != MN_OK)
            goto out;
        printf("added agent %s region=%s fingerprint=%s (%s)\n", name,
               region && region[0] ? region : "unknown", fp, path);
    }
    rc = s_apply(cfg, path);
    gw_config_destroy(&cfg);
    return rc;
out:
    gw_config_destroy(&cfg);
    return s_fail(&d);
}

static int s_agent_revoke(int argc, char **argv)
{
    return s_revoke(argc, argv, MN_ROLE_AGENT, s_usage_agent_revoke);
}

/* One agent as a JSON object (NULL when memory ran out). */
static json_t *s_agent_json(const gw_agent *a)
{
    char fp[MN_FINGERPRINT_CHARS + 1];
    mn_pubkey_fingerprint(&a->pub, fp, sizeof fp);
    return json_pack("{s:s, s:s, s:s, s:b, s:o}", "name", a->name, "region", a->region,
                     "fingerprint", fp, "revoked", a->revoked, "revoked_at",
                     s_json_time(a->revoked_at));
}

static int s_agent_list(int argc, char **argv)
{
    char fp[MN_FINGERPRINT_CHARS + 1];
    gw_config *cfg = NULL;
    mn_diag d = {0};

    int json = s_take_flag(&argc, argv, "--json");
    int rc = s_home_command(argc, argv, "agent list", s_usage_agent_list, 0, NULL, &cfg);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_OK;
    if (json) {
        json_t *all = json_array();
        for (size_t i = 0; all && i < cfg->n_agents; i++)
            all = ctl_json_append(all, s_agent_json(&cfg->agents[i]));
        if (s_print_json(all, &d) != MN_OK)
            rc = s_fail(&d);
    } else {
        printf("%-24s %-24s %-16s %s\n", "NAME", "REGION", "FINGERPRINT", "STATUS");
        for (size_t i = 0; i < cfg->n_agents; i++) {
            const gw_agent *a = &cfg->agents[i];
            mn_pubkey_fingerprint(&a->pub, fp, sizeof fp);
            printf("%-24s %-24s %-16s %s\n", a->name, a->region, fp,
                   a->revoked ? "revoked" : "active");
        }
    }
    if (cfg->n_agents == 0)
        fprintf(stderr, "%s: no agents yet: add one with `meldnetctl agent add NAME \"LINE\"`\n",
                S_PROG);
    gw_config_destroy(&cfg);
    return rc;
}

static int s_cmd_agent(int argc, char **argv)
{
    static const s_command subs[] = {
        {"add", s_agent_add, S_PROG " agent add"},
        {"revoke", s_agent_revoke, S_PROG " agent revoke"},
        {"list", s_agent_list, S_PROG " agent list"},
    };
    return s_group(argc, argv, "agent", s_usage_agent, subs, sizeof subs / sizeof subs[0],
                   "add, revoke, list");
}

/* --- partner -------------------------------------------------------------------------------- */

/* "TOPIC=SHARING" into b. A topic is a topic, "x.*" or "*" (as gw_config checks it again).
 * Returns MN_OK, or MN_EINVAL with why in why[]. */
static int s_bind_parse(const char *text, gw_binding *b, char *why, size_t cap)
{
    const char *eq = strchr(text, '=');
    char topic[MN_TOPIC_MAX + 1];

    if (!eq || eq == text || !eq[1]) {
        snprintf(why, cap, "--bind \"%s\": write TOPIC=SHARING, e.g. police.acute=full", text);
        return MN_EINVAL;
    }
    size_t n = (size_t)(eq - text);
    if (n > MN_TOPIC_MAX) {
        snprintf(why, cap, "--bind \"%s\": the topic is longer than %d characters", text,
                 MN_TOPIC_MAX);
        return MN_EINVAL;
    }
    memcpy(topic, text, n);
    topic[n] = '\0';
    if (!mn_topic_pattern_is_valid(topic)) {
        snprintf(why, cap, "--bind \"%s\": \"%s\" is not a topic (a-z 0-9 . _ -, e.g. "
                 "police.acute) or pattern (care.*, *)", text, topic);
        return MN_EINVAL;
    }
    if (mn_sharing_parse(eq + 1, &b->sharing) != MN_OK) {
        snprintf(why, cap, "--bind \"%s\": sharing \"%s\" is not full, pseudonymous or "
                 "statistics", text, eq + 1);
        return MN_EINVAL;
    }
    snprintf(b->topic, sizeof b->topic, "%s", topic);
    return MN_OK;
}

/* "topic=sharing,topic=sharing" of p into buf. */
static void s_bindings_text(const gw_partner *p, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_bindings && o < cap; i++) {
        int n = snprintf(buf + o, cap - o, "%s%s=%s", i ? "," : "", p->bindings[i].topic,
                         mn_sharing_name(p->bindings[i].sharing));
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

static int s_partner_add(int argc, char **argv)
{
    const char *home = NULL, *kind_text = NULL;
    const char *binds[GW_BINDINGS_MAX];
    const s_opt opts[] = {{"kind", &kind_text}, {"home", &home}, {NULL, NULL}};
    s_multi bind = {"bind", binds, 0, GW_BINDINGS_MAX};
    char fp[MN_FINGERPRINT_CHARS + 1], why[256], list[GW_BINDINGS_MAX * 96];
    char path[GW_PATH_MAX + MN_NAME_MAX + 8];
    gw_config *cfg = NULL;
    gw_partner *p = NULL;
    mn_diag d = {0}, load_d = {0};
    int same_key = 0;

    int rc = s_options_multi(argc, argv, "partner add", s_usage_partner_add, opts, &bind, 2,
                             "give the partner's NAME and its public \"LINE\"");
    if (rc != S_GO_ON)
        return rc;
    const char *name = argv[optind], *line = argv[optind + 1];
    if (!mn_name_is_valid(name))
        return s_usage_error("partner add", "NAME \"%s\": use 1-64 characters of A-Z a-z 0-9 . "
                             "_ -", name);
    /* The home, once: a revoked partner may come back with the kind and bindings it had, so
     * whether --kind and --bind are required depends on it. A home that does not load is said
     * after the arguments and LINE have been checked (load_d). */
    int loaded = s_load_config(s_home(home), &cfg, &load_d) == MN_OK;
    const gw_partner *same = loaded ? gw_config_find_partner_any(cfg, name) : NULL;
    int keep = same && same->revoked;
    rc = S_EXIT_USAGE;
    if (!kind_text && !keep) {
        s_usage_error("partner add", "%s", "--kind KIND is required (police, care, research, "
                      "hotline, shelter or other)");
        goto out;
    }
    if (bind.n == 0 && !keep) {
        s_usage_error("partner add", "%s", "give at least one --bind TOPIC=SHARING: the topics "
                      "the partner may receive");
        goto out;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        rc = S_EXIT_FAIL;
        mn_diag_set(&d, MN_ENOMEM, name, "out of memory");
        goto out;
    }
    if (kind_text && gw_partner_kind_parse(kind_text, &p->kind) != MN_OK) {
        s_usage_error("partner add", "--kind \"%s\": use police, care, research, hotline, "
                      "shelter or other", kind_text);
        goto out;
    }
    for (size_t i = 0; i < bind.n; i++) {
        if (s_bind_parse(binds[i], &p->bindings[i], why, sizeof why) != MN_OK) {
            s_usage_error("partner add", "%s", why);
            goto out;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->bindings[k].topic, p->bindings[i].topic) == 0) {
                s_usage_error("partner add", "topic \"%s\" is bound twice: one --bind per "
                              "topic", p->bindings[i].topic);
                goto out;
            }
        }
    }
    p->n_bindings = bind.n;
    rc = S_EXIT_FAIL;
    snprintf(p->name, sizeof p->name, "%s", name);
    if (s_parse_line(line, MN_ROLE_PARTNER, name, &p->pub, &d) != MN_OK)
        goto out;
    if (!loaded) {
        d = load_d;
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s.conf", cfg->partners_dir, name);
    if (s_add_conflict(cfg, MN_ROLE_PARTNER, name, same && !same->revoked ? same->source : NULL,
                       p->pub.curve, &d) != MN_OK)
        goto out;
    if (same) {
        /* back from revoked: its kind and bindings unless given, LINE's key, not revoked */
        same_key = s_same_keys(&same->pub, &p->pub);
        if (!kind_text)
            p->kind = same->kind;
        if (bind.n == 0) {
            memcpy(p->bindings, same->bindings, sizeof p->bindings);
            p->n_bindings = same->n_bindings;
        }
        p->revoked = 0;
        p->revoked_at[0] = '\0';
        if (gw_config_rewrite_partner(cfg->partners_dir, p, &d) != MN_OK)
            goto out;
    } else if (gw_config_write_partner(cfg->partners_dir, p, &d) != MN_OK) {
        goto out;
    }
    mn_pubkey_fingerprint(&p->pub, fp, sizeof fp);
    s_bindings_text(p, list, sizeof list);
    if (same)
        printf("restored partner %s kind=%s fingerprint=%s key=%s bindings=%s (%s)\n", name,
               gw_partner_kind_name(p->kind), fp, same_key ? "unchanged" : "new", list, path);
    else
        printf("added partner %s kind=%s fingerprint=%s bindings=%s (%s)\n", name,
               gw_partner_kind_name(p->kind), fp, list, path);
    if (same && same_key)
        s_note_same_key(MN_ROLE_PARTNER, name);
    rc = s_apply(cfg, path);
out:
    gw_config_destroy(&cfg);
    free(p);
    if (rc == S_EXIT_FAIL && d.code != MN_OK)
        return s_fail(&d);
    return rc;
}

static int s_partner_revoke(int argc, char **argv)
{
    return s_revoke(argc, argv, MN_ROLE_PARTNER, s_usage_partner_revoke);
}

/* One partner as a JSON object (NULL when memory ran out). */
static json_t *s_partner_json(const gw_partner *p)
{
    char fp[MN_FINGERPRINT_CHARS + 1];
    json_t *bindings = json_array();
    for (size_t i = 0; bindings && i < p->n_bindings; i++)
        bindings = ctl_json_append(bindings, json_pack("{s:s, s:s}", "topic",
                                                       p->bindings[i].topic, "sharing",
                                                       mn_sharing_name(p->bindings[i].sharing)));
    if (!bindings)
        return NULL;
    mn_pubkey_fingerprint(&p->pub, fp, sizeof fp);
    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "name", p->name, "kind",
                     gw_partner_kind_name(p->kind), "fingerprint", fp, "revoked", p->revoked,
                     "revoked_at", s_json_time(p->revoked_at), "bindings", bindings);
}

static int s_partner_list(int argc, char **argv)
{
    char fp[MN_FINGERPRINT_CHARS + 1], list[GW_BINDINGS_MAX * 96];
    gw_config *cfg = NULL;
    mn_diag d = {0};

    int json = s_take_flag(&argc, argv, "--json");
    int rc = s_home_command(argc, argv, "partner list", s_usage_partner_list, 0, NULL, &cfg);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_OK;
    if (json) {
        json_t *all = json_array();
        for (size_t i = 0; all && i < cfg->n_partners; i++)
            all = ctl_json_append(all, s_partner_json(&cfg->partners[i]));
        if (s_print_json(all, &d) != MN_OK)
            rc = s_fail(&d);
    } else {
        printf("%-24s %-10s %-16s %-7s %s\n", "NAME", "KIND", "FINGERPRINT", "STATUS",
               "BINDINGS");
        for (size_t i = 0; i < cfg->n_partners; i++) {
            const gw_partner *p = &cfg->partners[i];
            mn_pubkey_fingerprint(&p->pub, fp, sizeof fp);
            s_bindings_text(p, list, sizeof list);
            printf("%-24s %-10s %-16s %-7s %s\n", p->name, gw_partner_kind_name(p->kind), fp,
                   p->revoked ? "revoked" : "active", list);
        }
    }
    if (cfg->n_partners == 0)
        fprintf(stderr, "%s: no partners yet: add one with `meldnetctl partner add NAME "
                "\"LINE\" --kind KIND --bind TOPIC=SHARING`\n", S_PROG);
    gw_config_destroy(&cfg);
    return rc;
}

static int s_cmd_partner(int argc, char **argv)
{
    static const s_command subs[] = {
        {"add", s_partner_add, S_PROG " partner add"},
        {"revoke", s_partner_revoke, S_PROG " partner revoke"},
        {"list", s_partner_list, S_PROG " partner list"},
    };
    return s_group(argc, argv, "partner", s_usage_partner, subs, sizeof subs / sizeof subs[0],
                   "add, revoke, list");
}

/* --- route ---------------------------------------------------------------------------------- */

/* Today's date in UTC, YYYY-MM-DD (the routing rules' "minor" test). */
static void s_today(char out[11])
{
    if (!mn_time_format_day(mn_now_ms(), out, 11))
        snprintf(out, 11, "1970-01-01");
}

static int s_route_test(int argc, char **argv)
{
    gw_config *cfg = NULL;
    mn_secret32 *key = NULL;
    mn_report *report = NULL;
    char today[11];
    mn_diag d = {0};

    int rc = s_home_command(argc, argv, "route test", s_usage_route_test, 1,
                            "give one report FILE.json (\"-\": stdin)", &cfg);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    const char *file = argv[optind];
    if (mn_secret32_load(cfg->pseudonym_key, &key, &d) != MN_OK)
        goto out;
    int lrc = mn_report_load_json(file, &report, &d);
    if (lrc == MN_OK)
        lrc = mn_report_validate(report, &d);
    if (lrc != MN_OK) {
        if (lrc == MN_EREPORT) { /* where is a JSON path: say in which file */
            char where[sizeof d.where];
            if (snprintf(where, sizeof where, "%s: %s", file, d.where) > 0)
                memcpy(d.where, where, sizeof d.where);
        }
        goto out;
    }
    s_today(today);
    if (gw_route_explain(stdout, cfg, report, mn_secret32_bytes(key), today) != MN_OK) {
        mn_diag_set(&d, MN_ENOMEM, file, "out of memory explaining the routes");
        goto out;
    }
    if (fflush(stdout) != 0) {
        mn_diag_sys(&d, "stdout", "cannot write the result");
        goto out;
    }
    rc = S_EXIT_OK;
out:
    mn_report_destroy(&report);
    mn_secret32_destroy(&key);
    gw_config_destroy(&cfg);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

static int s_cmd_route(int argc, char **argv)
{
    static const s_command subs[] = {
        {"test", s_route_test, S_PROG " route test"},
    };
    return s_group(argc, argv, "route", s_usage_route, subs, sizeof subs / sizeof subs[0],
                   "test");
}

/* --- registry ------------------------------------------------------------------------------- */

static int s_registry_count(int argc, char **argv)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    uint64_t count = 0;
    mn_diag d = {0};

    int rc = s_home_command(argc, argv, "registry count", s_usage_registry_count, 0, NULL, &cfg);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    if (gw_store_open(cfg->data_dir, 0, 1, &store, &d) != MN_OK)
        goto out;
    if (gw_store_registry_count(store, &count) != MN_OK) {
        mn_diag_set(&d, MN_ESTORE, cfg->data_dir, "cannot count the registrations");
        goto out;
    }
    printf("%" PRIu64 "\n", count);
    rc = S_EXIT_OK;
out:
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

static void s_time_iso(uint64_t ms, char *buf, size_t cap)
{
    if (!mn_time_format_ms(ms, buf, cap))
        snprintf(buf, cap, "invalid");
}

/* Print the report JSON as the value of "report": every line after the first indented. */
static void s_print_indented(const char *json)
{
    size_t len = strlen(json);
    while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == ' '))
        len--;
    for (size_t i = 0; i < len; i++) {
        putchar(json[i]);
        if (json[i] == '\n')
            fputs("  ", stdout);
    }
}

/* Load the registry's secret key (role registry). Caller owns *key. */
static int s_registry_key_load(const char *key_path, mn_key **key, mn_diag *d)
{
    int rc = mn_key_load(key_path, key, d);
    if (rc != MN_OK)
        return rc;
    if (mn_key_public(*key)->role != MN_ROLE_REGISTRY) {
        rc = mn_diag_set(d, MN_EKEY, key_path, "this is the key of a %s, not of the registry",
                         mn_role_name(mn_key_public(*key)->role));
        mn_diag_hint(d, "use registry-secret/registry.key made by `meldnetctl init`");
        mn_key_destroy(key);
    }
    return rc;
}

/* key must be the one the gateway seals records to (cfg->registry_key), for a clear message
 * before any record is touched. required: the public file must load (else it is only
 * compared when it loads). Fills *pub when not NULL. */
static int s_registry_key_check(const gw_config *cfg, const mn_key *key, const char *key_path,
                                int required, mn_pubkey *pub, mn_diag *d)
{
    mn_pubkey expected;
    int rc = mn_pubkey_load(cfg->registry_key, &expected, required ? d : NULL);
    if (rc != MN_OK)
        return required ? rc : MN_OK;
    if (memcmp(expected.box, mn_key_public(key)->box, MN_KEY_BYTES) != 0) {
        rc = mn_diag_set(d, MN_EKEY, key_path, "this is not the registry key the gateway seals "
                         "records to (%s)", cfg->registry_key);
        mn_diag_hint(d, "use the registry.key made together with that registry.pub");
        return rc;
    }
    if (pub)
        *pub = expected;
    return MN_OK;
}

/* The RegistryRecord fields beyond mn_record_info (sharing, the registry's victim pseudonym,
 * withheld), with its report wiped and detached. NULL when they do not decode (out of
 * memory: the record itself decoded already). Caller frees (free_unpacked). */
static Meldnet__RegistryRecord *s_record_extra(const uint8_t *plain, size_t len)
{
    Meldnet__RegistryRecord *rec = meldnet__registry_record__unpack(NULL, len, plain);
    if (rec) {
        mn_report *r = rec->report;
        rec->report = NULL;
        mn_report_destroy(&r);
    }
    return rec;
}

/* Open the sealed record of registration reg with the registry's key. Caller owns *report
 * and, when extra is not NULL, *extra (see s_record_extra; NULL if it did not decode). */
static int s_record_open(const mn_key *key, const char *key_path, uint64_t reg,
                         const uint8_t *sealed, size_t sealed_len, mn_record_info *info,
                         mn_report **report, Meldnet__RegistryRecord **extra, mn_diag *d)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    char regtext[32];
    int rc;

    mn_registration_format(reg, regtext, sizeof regtext);
    rc = mn_box_open(key, sealed, sealed_len, S_RECORD_MAX_BYTES, &plain, &plain_len);
    if (rc != MN_OK) {
        mn_diag_set(d, rc, regtext, "the record does not open with %s", key_path);
        mn_diag_hint(d, "use the registry key the record was sealed to; if it is right, the "
                        "record is damaged: restore the store from backup");
        goto out;
    }
    if ((rc = mn_record_decode(plain, plain_len, info, report, d)) != MN_OK)
        goto out;
    if (info->registration != reg || !mn_name_is_valid(info->agent)) {
        rc = mn_diag_set(d, MN_EDECODE, regtext, "the record is inconsistent (it names "
                         "registration %" PRIu64 ")", info->registration);
        mn_diag_hint(d, "the store is damaged or tampered with: restore it from backup");
        mn_report_destroy(report);
        goto out;
    }
    if (extra)
        *extra = s_record_extra(plain, plain_len);
out:
    mn_plain_free(plain, plain_len);
    return rc;
}

/* text as a JSON string: quotes, backslashes and control characters escaped. */
static void s_print_json_string(const char *text)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* The record's sharing, victim_pseudonym and withheld as JSON members (each line ending
 * with a comma: "report" follows). */
static void s_print_record_extra(const Meldnet__RegistryRecord *rec)
{
    if (!rec)
        return;
    if (rec->has_sharing)
        printf("  \"sharing\": \"%s\",\n", mn_sharing_name((int)rec->sharing));
    if (rec->has_victim_pseudonym && rec->victim_pseudonym.len > 0) {
        printf("  \"victim_pseudonym\": \"");
        for (size_t i = 0; i < rec->victim_pseudonym.len; i++)
            printf("%02x", rec->victim_pseudonym.data[i]);
        printf("\",\n");
    }
    printf("  \"withheld\": [");
    for (size_t i = 0; i < rec->n_withheld; i++) {
        printf("%s\n    { \"field\": ", i ? "," : "");
        s_print_json_string(rec->withheld[i]->field);
        printf(", \"reason\": ");
        s_print_json_string(rec->withheld[i]->reason);
        printf(" }");
    }
    printf("%s],\n", rec->n_withheld ? "\n  " : "");
}

/* "no such registration" for reg, naming how many there are. */
static int s_no_registration(gw_store *store, uint64_t reg, mn_diag *d)
{
    char regtext[32];
    uint64_t count = 0;
    mn_registration_format(reg, regtext, sizeof regtext);
    if (gw_store_registry_count(store, &count) != MN_OK)
        count = 0;
    mn_diag_set(d, MN_ENOTFOUND, regtext, "no such registration (the store holds %" PRIu64 ")",
                count);
    mn_diag_hint(d, "registrations are numbered from 1; `meldnetctl registry count` says how "
                    "many there are");
    return MN_ENOTFOUND;
}

static int s_show(const char *home, uint64_t reg, const char *key_path, mn_diag *d)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    mn_key *key = NULL;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    mn_report *report = NULL;
    Meldnet__RegistryRecord *extra = NULL;
    mn_record_info info;
    char *json = NULL;
    char regtext[32], accepted[48], created[48];
    int rc;

    mn_registration_format(reg, regtext, sizeof regtext);
    if ((rc = s_registry_key_load(key_path, &key, d)) != MN_OK ||
        (rc = s_load_config(home, &cfg, d)) != MN_OK ||
        (rc = s_registry_key_check(cfg, key, key_path, 0, NULL, d)) != MN_OK ||
        (rc = gw_store_open(cfg->data_dir, 0, 1, &store, d)) != MN_OK)
        goto out;
    rc = gw_store_registry_get(store, reg, &sealed, &sealed_len);
    if (rc == MN_ENOTFOUND) {
        s_no_registration(store, reg, d);
        goto out;
    }
    if (rc != MN_OK) {
        mn_diag_set(d, rc, cfg->data_dir, "cannot read registration %s", regtext);
        goto out;
    }
    rc = s_record_open(key, key_path, reg, sealed, sealed_len, &info, &report, &extra, d);
    if (rc != MN_OK)
        goto out;
    if ((rc = mn_report_to_json(report, &json)) != MN_OK) {
        mn_diag_set(d, rc, regtext, "cannot render the report as JSON");
        goto out;
    }
    s_time_iso(info.accepted_ms, accepted, sizeof accepted);
    s_time_iso(info.created_ms, created, sizeof created);
    printf("{\n  \"registration\": \"%s\",\n  \"agent\": \"%s\",\n"
           "  \"accepted_at\": \"%s\",\n  \"created_at\": \"%s\",\n  \"envelope_id\": \"",
           regtext, info.agent, accepted, created);
    for (size_t i = 0; i < sizeof info.envelope_id; i++)
        printf("%02x", info.envelope_id[i]);
    printf("\",\n");
    s_print_record_extra(extra);
    printf("  \"report\": ");
    s_print_indented(json);
    printf("\n}\n");
    if (fflush(stdout) != 0) {
        rc = mn_diag_sys(d, "stdout", "cannot write the record");
        goto out;
    }
    rc = MN_OK;
out:
    if (json)
        mn_plain_free((uint8_t *)json, strlen(json));
    mn_report_destroy(&report);
    if (extra)
        meldnet__registry_record__free_unpacked(extra, NULL);
    free(sealed);
    mn_key_destroy(&key);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc;
}

static int s_registry_show(int argc, char **argv)
{
    const char *home = NULL, *key_path = NULL;
    const s_opt opts[] = {{"registry-key", &key_path}, {"home", &home}, {NULL, NULL}};
    uint64_t reg = 0;
    mn_diag d = {0};

    int rc = s_options(argc, argv, "registry show", s_usage_registry_show, opts, 1,
                       "give one registration number REG");
    if (rc != S_GO_ON)
        return rc;
    if (mn_registration_parse(argv[optind], &reg) != MN_OK || reg == 0)
        return s_usage_error("registry show", "\"%s\" is not a registration number like "
                             "MN-00000042 or 42", argv[optind]);
    if (!key_path)
        return s_usage_error("registry show", "%s", "--registry-key FILE is required");
    if (s_show(s_home(home), reg, key_path, &d) != MN_OK)
        return s_fail(&d);
    return S_EXIT_OK;
}

static int s_cmd_registry(int argc, char **argv)
{
    static const s_command subs[] = {
        {"count", s_registry_count, S_PROG " registry count"},
        {"show", s_registry_show, S_PROG " registry show"},
    };
    return s_group(argc, argv, "registry", s_usage_registry, subs,
                   sizeof subs / sizeof subs[0], "count, show");
}

/* --- store and ledger ----------------------------------------------------------------------- */

static int s_store_status(int argc, char **argv)
{
    gw_config *cfg = NULL;
    mn_diag d = {0};
    int rc = s_home_command(argc, argv, "store status", ctl_store_usage_status, 0, NULL, &cfg);
    if (rc != S_GO_ON)
        return rc;
    rc = ctl_store_status(cfg, &d);
    gw_config_destroy(&cfg);
    if (rc != 0)
        return s_fail(&d);
    return S_EXIT_OK;
}

/* store continue / store new: --home and --after REG. */
static int s_store_change(int argc, char **argv, const char *cmd, const char *usage,
                          int (*change)(const gw_config *, uint64_t, mn_diag *))
{
    const char *home = NULL, *after_text = NULL;
    const s_opt opts[] = {{"home", &home}, {"after", &after_text}, {NULL, NULL}};
    gw_config *cfg = NULL;
    uint64_t after = 0;
    mn_diag d = {0};
    int rc = s_options(argc, argv, cmd, usage, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    if (after_text && mn_registration_parse(after_text, &after) != MN_OK)
        return s_usage_error(cmd, "--after \"%s\": give a registration number like "
                             "MN-00000042 or 42", after_text);
    if (s_load_config(s_home(home), &cfg, &d) != MN_OK)
        return s_fail(&d);
    rc = change(cfg, after, &d);
    gw_config_destroy(&cfg);
    return rc == 0 ? S_EXIT_OK : s_fail(&d);
}

static int s_store_continue(int argc, char **argv)
{
    return s_store_change(argc, argv, "store continue", ctl_store_usage_continue,
                          ctl_store_continue);
}

static int s_store_new(int argc, char **argv)
{
    return s_store_change(argc, argv, "store new", ctl_store_usage_new, ctl_store_new);
}

static int s_cmd_store(int argc, char **argv)
{
    static const s_command subs[] = {
        {"status", s_store_status, S_PROG " store status"},
        {"continue", s_store_continue, S_PROG " store continue"},
        {"new", s_store_new, S_PROG " store new"},
    };
    return s_group(argc, argv, "store", ctl_store_usage, subs, sizeof subs / sizeof subs[0],
                   "status, continue, new");
}

/* --- queue and hold ------------------------------------------------------------------------- */

/* Text another party wrote (a partner's nack reason), quoted: \" \\ and control characters
 * escaped, so it can neither break the line nor drive the terminal. */
static void s_print_quoted(const char *text)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* Open the store for a short write (hold release), never creating one. */
static int s_store_open_rw(const gw_config *cfg, gw_store **store, mn_diag *d)
{
    char path[GW_PATH_MAX];
    struct stat st;
    int rc = s_path(path, sizeof path, cfg->data_dir, "data.mdb", d);
    if (rc != MN_OK)
        return rc;
    if (stat(path, &st) != 0) {
        rc = mn_diag_set(d, MN_ESTORE, cfg->data_dir, "no store at %s: start the gateway once "
                         "or check data_dir", cfg->data_dir);
        mn_diag_hint(d, "the gateway creates the store on its first start; data_dir in "
                        "gateway.conf says where");
        return rc;
    }
    return gw_store_open(cfg->data_dir, cfg->map_size_mb, 0, store, d);
}

/* A held item, as hold list prints it. */
typedef struct s_held {
    char partner[MN_NAME_MAX + 1];
    uint64_t tag;
    uint64_t registration;
    char topics[GW_TOPICS_TEXT_MAX];
    uint32_t nacks;
    uint64_t held_ms;
    char reason[GW_REASON_MAX];
} s_held;

/* A growing array of `size`-byte entries the callbacks below fill. */
typedef struct s_list {
    void *items;
    size_t n, cap, size;
    int failed; /* out of memory */
} s_list;

static void *s_list_add(s_list *l)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        void *ni = realloc(l->items, ncap * l->size);
        if (!ni) {
            l->failed = 1;
            return NULL;
        }
        l->items = ni;
        l->cap = ncap;
    }
    return (char *)l->items + l->n++ * l->size;
}

static int s_collect_unrouted(const gw_unrouted *u, void *arg)
{
    gw_unrouted *e = s_list_add(arg);
    if (!e)
        return 1;
    *e = *u;
    return 0;
}

static int s_collect_held(const gw_queue_item *item, void *arg)
{
    s_held *e = s_list_add(arg);
    if (!e)
        return 1;
    snprintf(e->partner, sizeof e->partner, "%s", item->partner);
    e->tag = item->tag;
    e->registration = item->registration;
    snprintf(e->topics, sizeof e->topics, "%s", item->topics);
    e->nacks = item->nacks;
    e->held_ms = item->held_ms;
    snprintf(e->reason, sizeof e->reason, "%s", item->reason);
    return 0;
}

/* Read every unrouted entry and held item. Caller frees both lists' items. */
static int s_read_holds(gw_store *store, const char *data_dir, s_list *unrouted, s_list *held,
                        mn_diag *d)
{
    int rc = gw_store_unrouted_each(store, s_collect_unrouted, unrouted);
    if (rc == MN_OK && !unrouted->failed)
        rc = gw_store_hold_each(store, s_collect_held, held);
    if (rc == MN_OK && (unrouted->failed || held->failed))
        rc = MN_ENOMEM;
    if (rc != MN_OK) {
        mn_diag_set(d, rc, data_dir, "cannot read the hold queues");
        if (rc == MN_ESTORE)
            mn_diag_hint(d, "the store is damaged: stop the gateway, move the data directory "
                            "aside and restore it from backup");
    }
    return rc;
}

static int s_hold_list(int argc, char **argv)
{
    s_list unrouted = {NULL, 0, 0, sizeof(gw_unrouted), 0};
    s_list held = {NULL, 0, 0, sizeof(s_held), 0};
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    char regtext[32], when[48];
    mn_diag d = {0};

    int rc = s_home_command(argc, argv, "hold list", s_usage_hold_list, 0, NULL, &cfg);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    if (gw_store_open(cfg->data_dir, 0, 1, &store, &d) != MN_OK ||
        s_read_holds(store, cfg->data_dir, &unrouted, &held, &d) != MN_OK)
        goto out;
    printf("unrouted: %zu\n", unrouted.n);
    for (size_t i = 0; i < unrouted.n; i++) {
        const gw_unrouted *u = (const gw_unrouted *)unrouted.items + i;
        mn_registration_format(u->registration, regtext, sizeof regtext);
        s_time_iso(u->held_ms, when, sizeof when);
        printf("%s topic=%s held=%s reason=", regtext, u->topic[0] ? u->topic : "-", when);
        s_print_quoted(u->reason);
        putchar('\n');
    }
    printf("held: %zu\n", held.n);
    for (size_t i = 0; i < held.n; i++) {
        const s_held *h = (const s_held *)held.items + i;
        mn_registration_format(h->registration, regtext, sizeof regtext);
        s_time_iso(h->held_ms, when, sizeof when);
        printf("%s %" PRIu64 " %s topics=%s nacks=%" PRIu32 " held=%s reason=", h->partner,
               h->tag, regtext, h->topics[0] ? h->topics : "-", h->nacks, when);
        s_print_quoted(h->reason);
        putchar('\n');
    }
    if (fflush(stdout) != 0) {
        mn_diag_sys(&d, "stdout", "cannot write the list");
        goto out;
    }
    if (unrouted.n)
        fprintf(stderr, "%s: bind a partner to a topic (partner add, reload), then `meldnetctl "
                "hold release unrouted REG TOPIC --registry-key FILE`\n", S_PROG);
    if (held.n)
        fprintf(stderr, "%s: when the partner can take its items again: `meldnetctl hold "
                "release PARTNER TAG [TAG...]`, or all of them: `meldnetctl hold release PARTNER "
                "--all`\n", S_PROG);
    rc = S_EXIT_OK;
out:
    free(unrouted.items);
    free(held.items);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

/* TAG: a positive decimal number. */
static int s_parse_tag(const char *text, uint64_t *tag)
{
    uint64_t v = 0;
    if (!text[0])
        return MN_EINVAL;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return MN_EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v == 0)
        return MN_EINVAL;
    *tag = v;
    return MN_OK;
}

/* Which held items a release takes: explicit tags of one partner, or every item (of one
 * partner, or of all) whose reason contains a text. */
typedef struct s_release_sel {
    const char *partner; /* NULL: every partner (only with all) */
    const uint64_t *tags;
    size_t n_tags;
    int all;
    const char *reason; /* NULL or "": any */
} s_release_sel;

typedef struct s_release_pick {
    const s_release_sel *sel;
    s_list *picked; /* of s_held: partner and tag */
} s_release_pick;

static int s_pick_held(const gw_queue_item *item, void *arg)
{
    s_release_pick *p = arg;
    const s_release_sel *sel = p->sel;
    if (sel->partner && strcmp(item->partner, sel->partner) != 0)
        return 0;
    if (sel->reason && sel->reason[0] && !strstr(item->reason, sel->reason))
        return 0;
    return s_collect_held(item, p->picked);
}

/* A released item, for the lines printed once the release is committed. */
typedef struct s_released {
    s_held h;
    int acute;
} s_released;

/* Note one released item (back in its queue, in txn) on list done. */
static int s_note_released(gw_store_txn *txn, const gw_config *cfg, const char *partner,
                           uint64_t tag, s_list *done, mn_diag *d)
{
    gw_queue_item item;
    int rc = gw_store_queue_get(txn, partner, tag, &item);
    if (rc != MN_OK)
        return mn_diag_set(d, rc, cfg->data_dir, "the released item %s/%" PRIu64 " cannot be "
                           "read", partner, tag);
    s_released *r = s_list_add(done);
    if (r) {
        memset(r, 0, sizeof *r);
        snprintf(r->h.partner, sizeof r->h.partner, "%s", partner);
        r->h.tag = tag;
        r->h.registration = item.registration;
        snprintf(r->h.topics, sizeof r->h.topics, "%s", item.topics);
        r->acute = item.acute;
    }
    gw_queue_item_clear(&item);
    return r ? MN_OK : mn_diag_set(d, MN_ENOMEM, cfg->data_dir, "out of memory");
}

/* Release the selected held items in one transaction: every one of them or none. */
static int s_release_held(const char *home, const s_release_sel *sel, mn_diag *d)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    s_list picked = {NULL, 0, 0, sizeof(s_held), 0};
    s_list done = {NULL, 0, 0, sizeof(s_released), 0};
    s_release_pick pick = {sel, &picked};
    char regtext[32];
    int rc;

    if ((rc = s_load_config(home, &cfg, d)) != MN_OK ||
        (rc = s_store_open_rw(cfg, &store, d)) != MN_OK)
        goto out;
    if (sel->all) {
        /* Read first: one transaction at a time, and the list is what the operator asked for. */
        rc = gw_store_hold_each(store, s_pick_held, &pick);
        if (rc == MN_OK && picked.failed)
            rc = MN_ENOMEM;
        if (rc != MN_OK) {
            mn_diag_set(d, rc, cfg->data_dir, "cannot read the hold queues");
            goto out;
        }
        if (picked.n == 0) {
            rc = mn_diag_set(d, MN_ENOTFOUND, cfg->data_dir, "no held item%s%s%s%s%s",
                             sel->partner ? " of partner " : "", sel->partner ? sel->partner : "",
                             sel->reason ? " with \"" : "", sel->reason ? sel->reason : "",
                             sel->reason ? "\" in its reason" : "");
            mn_diag_hint(d, "`meldnetctl hold list` shows the held items and their reasons");
            goto out;
        }
    }
    if ((rc = gw_store_begin(store, &txn, d)) != MN_OK)
        goto out;
    size_t n = sel->all ? picked.n : sel->n_tags;
    for (size_t i = 0; i < n; i++) {
        const s_held *h = sel->all ? (const s_held *)picked.items + i : NULL;
        const char *partner = h ? h->partner : sel->partner;
        uint64_t tag = h ? h->tag : sel->tags[i];
        rc = gw_store_hold_release(txn, partner, tag, d);
        if (rc == MN_ENOTFOUND)
            mn_diag_hint(d, "nothing was released; `meldnetctl hold list` shows the held items: "
                            "PARTNER TAG MN-...");
        if (rc == MN_OK)
            rc = s_note_released(txn, cfg, partner, tag, &done, d);
        if (rc != MN_OK)
            goto out;
    }
    if ((rc = gw_store_commit(&txn, d)) != MN_OK)
        goto out;
    const char *missing = NULL;
    for (size_t i = 0; i < done.n; i++) {
        const s_released *r = (const s_released *)done.items + i;
        mn_registration_format(r->h.registration, regtext, sizeof regtext);
        printf("released %s %" PRIu64 " %s topics=%s lane=%s: back in its queue, attempts and "
               "nacks reset, due now\n", r->h.partner, r->h.tag, regtext, r->h.topics,
               r->acute ? "acute" : "normal");
        if (!missing && !gw_config_find_partner(cfg, r->h.partner))
            missing = r->h.partner;
    }
    printf("released %zu held item%s; the running gateway delivers %s on its next pump\n",
           done.n, done.n == 1 ? "" : "s", done.n == 1 ? "it" : "them");
    if (missing)
        fprintf(stderr, "%s: warning: partner \"%s\" is not in %s: nothing delivers its queue "
                "until it is added again\n", S_PROG, missing, cfg->partners_dir);
    rc = MN_OK;
out:
    gw_store_abort(&txn);
    free(picked.items);
    free(done.items);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc;
}

struct s_find_unrouted {
    uint64_t registration;
    const char *topic;
    int found;
};

static int s_find_unrouted_cb(const gw_unrouted *u, void *arg)
{
    struct s_find_unrouted *f = arg;
    if (u->registration == f->registration && strcmp(u->topic, f->topic) == 0)
        f->found = 1;
    return f->found;
}

static int s_release_unrouted(const char *home, uint64_t reg, const char *topic,
                              const char *key_path, mn_diag *d)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_key *regkey = NULL, *gateway = NULL;
    mn_secret32 *pseudonym = NULL;
    mn_report *report = NULL;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    mn_record_info info;
    mn_pubkey registry_pub;
    gw_dispatch_result res;
    char regtext[32];
    int rc;

    mn_registration_format(reg, regtext, sizeof regtext);
    if ((rc = s_registry_key_load(key_path, &regkey, d)) != MN_OK ||
        (rc = s_load_config(home, &cfg, d)) != MN_OK ||
        (rc = s_registry_key_check(cfg, regkey, key_path, 1, &registry_pub, d)) != MN_OK ||
        (rc = mn_key_load(cfg->identity, &gateway, d)) != MN_OK ||
        (rc = mn_secret32_load(cfg->pseudonym_key, &pseudonym, d)) != MN_OK ||
        (rc = s_store_open_rw(cfg, &store, d)) != MN_OK)
        goto out;
    struct s_find_unrouted find = {reg, topic, 0};
    if ((rc = gw_store_unrouted_each(store, s_find_unrouted_cb, &find)) != MN_OK) {
        mn_diag_set(d, rc, cfg->data_dir, "cannot read the unrouted topics");
        goto out;
    }
    if (!find.found) {
        rc = mn_diag_set(d, MN_ENOTFOUND, regtext, "no unrouted topic \"%s\" for this "
                         "registration", topic);
        mn_diag_hint(d, "`meldnetctl hold list` shows the unrouted topics: MN-... topic=...");
        goto out;
    }
    /* one transaction: read the record, queue the items, remove the entry */
    if ((rc = gw_store_begin(store, &txn, d)) != MN_OK)
        goto out;
    rc = gw_store_txn_registry_get(txn, reg, &sealed, &sealed_len);
    if (rc == MN_ENOTFOUND) {
        s_no_registration(store, reg, d);
        goto out;
    }
    if (rc != MN_OK) {
        mn_diag_set(d, rc, cfg->data_dir, "cannot read registration %s", regtext);
        goto out;
    }
    rc = s_record_open(regkey, key_path, reg, sealed, sealed_len, &info, &report, NULL, d);
    if (rc != MN_OK)
        goto out;
    gw_dispatch_deps deps = {cfg, gateway, &registry_pub, mn_secret32_bytes(pseudonym), NULL};
    rc = gw_dispatch_reroute(txn, &deps, report, reg, info.accepted_ms, topic, &res, d);
    if (rc == MN_ENOTFOUND) {
        mn_diag_set(d, MN_ENOTFOUND, topic, "no partner in %s is bound to this topic yet",
                    cfg->partners_dir);
        mn_diag_hint(d, "bind one first (meldnetctl partner add NAME \"LINE\" --kind KIND "
                        "--bind %s=SHARING), reload the gateway, then release again", topic);
        goto out;
    }
    if (rc != MN_OK || (rc = gw_store_commit(&txn, d)) != MN_OK)
        goto out;
    printf("routed %s topic=%s: %zu item%s queued%s; the unrouted entry is removed\n", regtext,
           topic, res.items, res.items == 1 ? "" : "s", res.acute ? " in the acute lane" : "");
    printf("the running gateway delivers them on its next pump once it knows the partner "
           "(reload it after partner add)\n");
    rc = MN_OK;
out:
    gw_store_abort(&txn);
    mn_report_destroy(&report);
    free(sealed);
    mn_secret32_destroy(&pseudonym);
    mn_key_destroy(&gateway);
    mn_key_destroy(&regkey);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc;
}

static int s_hold_release(int argc, char **argv)
{
    const char *home = NULL, *key_path = NULL, *reason = NULL;
    const s_opt opts[] = {
        {"registry-key", &key_path}, {"reason", &reason}, {"home", &home}, {NULL, NULL}};
    uint64_t reg = 0;
    mn_diag d = {0};

    int all = s_take_flag(&argc, argv, "--all") > 0;
    int rc = s_options(argc, argv, "hold release", s_usage_hold_release, opts, -1, NULL);
    if (rc != S_GO_ON)
        return rc;
    int n = argc - optind;
    char **op = argv + optind;
    if (reason) {
        if (!reason[0])
            return s_usage_error("hold release", "%s", "--reason needs a text that the held "
                                 "items' reasons contain (hold list shows them)");
        all = 1;
    }
    if (n == 3 && strcmp(op[0], "unrouted") == 0 && !all) {
        if (mn_registration_parse(op[1], &reg) != MN_OK || reg == 0)
            return s_usage_error("hold release", "\"%s\" is not a registration number like "
                                 "MN-00000042 or 42", op[1]);
        if (strcmp(op[2], "-") == 0)
            return s_usage_error("hold release", "%s", "topic - means no rule matched the "
                                 "report: there is no topic to bind a partner to; change the "
                                 "routes so one matches (route test shows it)");
        if (!mn_topic_is_valid(op[2]))
            return s_usage_error("hold release", "\"%s\" is not a topic (hold list shows "
                                 "them)", op[2]);
        if (!key_path)
            return s_usage_error("hold release", "%s", "--registry-key FILE is required to "
                                 "route again: the record is sealed to the registry");
        if (s_release_unrouted(s_home(home), reg, op[2], key_path, &d) != MN_OK)
            return s_fail(&d);
        return S_EXIT_OK;
    }
    if (key_path)
        return s_usage_error("hold release", "%s", "--registry-key is only for `hold release "
                             "unrouted REG TOPIC`");
    if (all ? n > 1 : n < 2)
        return s_usage_error("hold release", "%s", all ? "with --all give at most a PARTNER, "
                             "no tags" : "give PARTNER TAG [TAG...], [PARTNER] --all, or "
                             "unrouted REG TOPIC");
    if (n > 0 && !mn_name_is_valid(op[0]))
        return s_usage_error("hold release", "\"%s\" is not a partner name", op[0]);
    uint64_t *tags = n > 1 ? calloc((size_t)n - 1, sizeof *tags) : NULL;
    if (n > 1 && !tags) {
        mn_diag_set(&d, MN_ENOMEM, "hold release", "out of memory for %d tags", n - 1);
        return s_fail(&d);
    }
    size_t n_tags = 0;
    for (int i = 1; i < n; i++) {
        uint64_t tag;
        if (s_parse_tag(op[i], &tag) != MN_OK) {
            free(tags);
            return s_usage_error("hold release", "TAG \"%s\" is not a tag (a number; hold "
                                 "list shows them)", op[i]);
        }
        size_t k = 0;
        while (k < n_tags && tags[k] != tag)
            k++;
        if (k == n_tags) /* a tag named twice is released once */
            tags[n_tags++] = tag;
    }
    s_release_sel sel = {n > 0 ? op[0] : NULL, tags, n_tags, all, reason};
    rc = s_release_held(s_home(home), &sel, &d);
    free(tags);
    return rc == MN_OK ? S_EXIT_OK : s_fail(&d);
}

static int s_cmd_hold(int argc, char **argv)
{
    static const s_command subs[] = {
        {"list", s_hold_list, S_PROG " hold list"},
        {"release", s_hold_release, S_PROG " hold release"},
    };
    return s_group(argc, argv, "hold", s_usage_hold, subs, sizeof subs / sizeof subs[0],
                   "list, release");
}

/* One row of queue list. */
typedef struct s_queue_row {
    char partner[MN_NAME_MAX + 1];
    int configured;
    uint64_t held;
} s_queue_row;

static int s_count_held(const gw_queue_item *item, void *arg)
{
    s_list *rows = arg;
    s_queue_row *r = NULL;
    for (size_t i = 0; i < rows->n && !r; i++)
        if (strcmp(((s_queue_row *)rows->items)[i].partner, item->partner) == 0)
            r = (s_queue_row *)rows->items + i;
    if (!r) { /* held for a partner no longer configured */
        r = s_list_add(rows);
        if (!r)
            return 1;
        memset(r, 0, sizeof *r);
        snprintf(r->partner, sizeof r->partner, "%s", item->partner);
    }
    r->held++;
    return 0;
}

static int s_queue_list(int argc, char **argv)
{
    s_list rows = {NULL, 0, 0, sizeof(s_queue_row), 0};
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    char age[32];
    mn_diag d = {0};

    int rc = s_home_command(argc, argv, "queue list", s_usage_queue_list, 0, NULL, &cfg);
    if (rc != S_GO_ON)
        return rc;
    rc = S_EXIT_FAIL;
    if (gw_store_open(cfg->data_dir, 0, 1, &store, &d) != MN_OK)
        goto out;
    for (size_t i = 0; i < cfg->n_partners; i++) {
        s_queue_row *r = s_list_add(&rows);
        if (!r) {
            mn_diag_set(&d, MN_ENOMEM, cfg->data_dir, "out of memory");
            goto out;
        }
        memset(r, 0, sizeof *r);
        snprintf(r->partner, sizeof r->partner, "%s", cfg->partners[i].name);
        r->configured = 1;
    }
    int src = gw_store_hold_each(store, s_count_held, &rows);
    if (src != MN_OK || rows.failed) {
        mn_diag_set(&d, src != MN_OK ? src : MN_ENOMEM, cfg->data_dir,
                    "cannot read the hold queues");
        goto out;
    }
    uint64_t now = mn_now_ms();
    for (size_t i = 0; i < rows.n; i++) {
        const s_queue_row *r = (const s_queue_row *)rows.items + i;
        uint64_t depth = 0, oldest = 0;
        if (gw_store_queue_depth(store, r->partner, &depth, &oldest) != MN_OK) {
            mn_diag_set(&d, MN_ESTORE, cfg->data_dir, "cannot read the queue of partner \"%s\"",
                        r->partner);
            mn_diag_hint(&d, "the store is damaged: stop the gateway, move the data directory "
                             "aside and restore it from backup");
            goto out;
        }
        if (depth)
            mn_age_format(now > oldest ? now - oldest : 0, age, sizeof age);
        else
            snprintf(age, sizeof age, "-");
        printf("%s %" PRIu64 " item%s oldest=%s held=%" PRIu64 "%s\n", r->partner, depth,
               depth == 1 ? "" : "s", age, r->held, r->configured ? "" : " (not configured)");
    }
    if (rows.n == 0)
        fprintf(stderr, "%s: no partners yet: add one with `meldnetctl partner add`\n",
                S_PROG);
    rc = S_EXIT_OK;
out:
    free(rows.items);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc == S_EXIT_OK ? rc : s_fail(&d);
}

static int s_cmd_queue(int argc, char **argv)
{
    static const s_command subs[] = {
        {"list", s_queue_list, S_PROG " queue list"},
    };
    return s_group(argc, argv, "queue", s_usage_queue, subs, sizeof subs / sizeof subs[0],
                   "list");
}

/* --- status, top, queues, agents: views of the running gateway (ctl_watch) ------------------ */

/* What the views share: --json, --home, and one number option (--silent-after, --interval);
 * the home's configuration and the status file's path. */
typedef struct s_view {
    int json;
    unsigned long number;
    gw_config *cfg;
    char status_path[GW_PATH_MAX];
} s_view;

/* Parse a view command's options (number_opt may be NULL: none). Returns S_GO_ON with *v
 * filled (caller destroys v->cfg), else the exit status. */
static int s_view_start(int *argc, char **argv, const char *cmd, const char *usage,
                        const char *number_opt, unsigned long number_default,
                        unsigned long number_max, s_view *v)
{
    const char *home = NULL, *number = NULL;
    s_opt opts[] = {{"home", &home}, {number_opt, &number}, {NULL, NULL}};
    mn_diag d = {0};
    memset(v, 0, sizeof *v);
    v->json = s_take_flag(argc, argv, "--json") > 0;
    v->number = number_default;
    int rc = s_options(*argc, argv, cmd, usage, opts, 0, NULL);
    if (rc != S_GO_ON)
        return rc;
    if (number && mn_cli_parse_uint(number, 1, number_max, &v->number) != MN_OK)
        return s_usage_error(cmd, "--%s \"%s\": give a whole number from 1 to %lu", number_opt,
                             number, number_max);
    if (s_load_config(s_home(home), &v->cfg, &d) != MN_OK ||
        s_path(v->status_path, sizeof v->status_path, v->cfg->run_dir, "status.json", &d) !=
            MN_OK) {
        gw_config_destroy(&v->cfg);
        return s_fail(&d);
    }
    return S_GO_ON;
}

static int s_cmd_status(int argc, char **argv)
{
    s_view v;
    int rc = s_view_start(&argc, argv, "status", ctl_watch_usage_status, "silent-after",
                          CTL_WATCH_SILENT_AFTER_S, 365ul * 24 * 3600, &v);
    if (rc != S_GO_ON)
        return rc;
    rc = ctl_watch_status(v.status_path, v.json, (unsigned)v.number);
    gw_config_destroy(&v.cfg);
    return rc;
}

static int s_cmd_top(int argc, char **argv)
{
    s_view v;
    int rc = s_view_start(&argc, argv, "top", ctl_watch_usage_top, "interval",
                          CTL_WATCH_INTERVAL_MS, 60000, &v);
    if (rc != S_GO_ON)
        return rc;
    if (v.json)
        rc = s_usage_error("top", "%s", "top is a live view; for JSON use `meldnetctl status "
                           "--json`");
    else
        rc = ctl_watch_top(v.status_path, (unsigned)v.number);
    gw_config_destroy(&v.cfg);
    return rc;
}

static int s_cmd_queues(int argc, char **argv)
{
    s_view v;
    int rc = s_view_start(&argc, argv, "queues", ctl_watch_usage_queues, NULL, 0, 0, &v);
    if (rc != S_GO_ON)
        return rc;
    rc = ctl_watch_queues(v.status_path, v.json);
    gw_config_destroy(&v.cfg);
    return rc;
}

static int s_cmd_agents(int argc, char **argv)
{
    s_view v;
    int rc = s_view_start(&argc, argv, "agents", ctl_watch_usage_agents, "silent-after",
                          CTL_WATCH_SILENT_AFTER_S, 365ul * 24 * 3600, &v);
    if (rc != S_GO_ON)
        return rc;
    rc = ctl_watch_agents(v.status_path, v.cfg, v.json, (unsigned)v.number);
    gw_config_destroy(&v.cfg);
    return rc;
}

/* --- main ----------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const s_command cmds[] = {
        {"init", s_cmd_init, S_PROG " init"},
        {"keygen", s_cmd_keygen, S_PROG " keygen"},
        {"agent", s_cmd_agent, S_PROG " agent"},
        {"partner", s_cmd_partner, S_PROG " partner"},
        {"route", s_cmd_route, S_PROG " route"},
        {"queue", s_cmd_queue, S_PROG " queue"},
        {"hold", s_cmd_hold, S_PROG " hold"},
        {"registry", s_cmd_registry, S_PROG " registry"},
        {"store", s_cmd_store, S_PROG " store"},
        {"status", s_cmd_status, S_PROG " status"},
        {"top", s_cmd_top, S_PROG " top"},
        {"queues", s_cmd_queues, S_PROG " queues"},
        {"agents", s_cmd_agents, S_PROG " agents"},
    };
    int c;
    if (mn_process_harden_main(S_PROG) != 0) /* before any secret is in memory */
        return S_EXIT_FAIL;

    /* "+": stop at the command; its options are parsed by the command */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': s_home_opt = optarg; break;
        case 'h': fputs(s_usage, stdout); return S_EXIT_OK;
        default: fputs(s_usage, stderr); return S_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(s_usage, stderr);
        return S_EXIT_USAGE;
    }
    const s_command *cmd = s_command_find(cmds, sizeof cmds / sizeof cmds[0], argv[optind]);
    if (!cmd)
        return s_usage_error("", "unknown command \"%s\" (init, keygen, agent, partner, route, "
                             "queue, hold, registry, store, status, top, queues, agents)",
                             argv[optind]);
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", S_PROG);
        return S_EXIT_FAIL;
    }
    char **sub = argv + optind;
    sub[0] = (char *)cmd->label;
    return cmd->run(argc - optind, sub);
}
