/* main.c - meldnet-agent: argv and commands (keygen, submit, run, status); nothing else.
 *
 * The work is done by agent_config (home and agent.conf), agent_spool (the durable outbox) and
 * agent_link (the connection to the gateway). Exit codes: 0 done, 1 failed or rejected, 2 usage,
 * 3 queued but not (yet) acknowledged: it stays in the spool and `run` delivers it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_config.h"
#include "agent_link.h"
#include "agent_spool.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_log.h"
#include "mn_report.h"
#include "mn_wire.h"

#define PROG "meldnet-agent"
#define EXIT_USAGE 2
#define EXIT_PENDING 3
#define S_TICK_MS 250
/* How long `submit` keeps `run` from sending the item it sends itself. */
#define S_SUBMIT_CLAIM_MS 10000

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: a signal ends the wait in zmq_poll */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int s_usage_error(const char *cmd, const char *fmt, ...) MN_PRINTF(2, 3);

static int s_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s%s%s: ", PROG, cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s: try '%s%s%s --help'\n", PROG, PROG, cmd ? " " : "", cmd ? cmd : "");
    return EXIT_USAGE;
}

static int s_fail(const mn_diag *d)
{
    mn_diag_print(PROG, d);
    return 1;
}

/* Parse a whole number in [min, max]. Returns 0 on success. */
static int s_parse_uint(const char *text, unsigned long min, unsigned long max,
                        unsigned long *out)
{
    char *end = NULL;
    if (!text || text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* --- the home ----------------------------------------------------------------------------- */

typedef struct s_home {
    agent_config cfg;
    mn_key *key;
    mn_pubkey gateway;
    agent_spool *spool;
} s_home;

static void s_home_close(s_home *h)
{
    agent_spool_destroy(&h->spool);
    mn_key_destroy(&h->key);
}

/* Load agent.conf, the identity, the gateway's public line, and open the spool. */
static int s_home_open(const char *home, int need_keys, s_home *h, mn_diag *d)
{
    int rc;
    memset(h, 0, sizeof *h);
    if ((rc = agent_config_load(home, &h->cfg, d)) != MN_OK)
        return rc;
    if (need_keys) {
        if ((rc = mn_key_load(h->cfg.identity, &h->key, d)) != MN_OK)
            return rc;
        const mn_pubkey *me = mn_key_public(h->key);
        if (me->role != MN_ROLE_AGENT || strcmp(me->name, h->cfg.name) != 0) {
            rc = mn_diag_set(d, MN_EKEY, h->cfg.identity,
                             "this is the identity of %s \"%s\", agent.conf names agent \"%s\"",
                             mn_role_name(me->role), me->name, h->cfg.name);
            mn_diag_hint(d, "point 'identity' in agent.conf at this agent's own key");
            return rc;
        }
        if ((rc = mn_pubkey_load(h->cfg.gateway_key, &h->gateway, d)) != MN_OK)
            return rc;
        if (h->gateway.role != MN_ROLE_GATEWAY) {
            rc = mn_diag_set(d, MN_EKEY, h->cfg.gateway_key,
                             "this is the public line of a %s, not of a gateway",
                             mn_role_name(h->gateway.role));
            mn_diag_hint(d, "copy keys/gateway.pub from the gateway's home (meldnetctl init)");
            return rc;
        }
    }
    return agent_spool_open(h->cfg.spool, h->cfg.spool_map_mb, &h->spool, d);
}

static void s_set_log_level(const char *name, enum mn_log_level fallback)
{
    enum mn_log_level level = fallback;
    if (name && mn_log_parse_level(name, &level) != MN_OK)
        level = fallback;
    mn_log_set_level(level);
}

static int s_make_link(s_home *h, agent_link **out, mn_diag *d)
{
    agent_link_config lc = {
        .endpoint = h->cfg.gateway,
        .identity = h->key,
        .gateway = &h->gateway,
        .window = h->cfg.window,
    };
    return agent_link_new(&lc, h->spool, out, d);
}

/* --- keygen ------------------------------------------------------------------------------- */

static const char s_keygen_help[] =
    "usage: meldnet-agent keygen NAME --gateway ENDPOINT --gateway-key GATEWAY.pub [--home DIR]\n"
    "\n"
    "Make a new agent home: DIR/agent.conf, DIR/keys/agent.key (secret, 0600),\n"
    "DIR/keys/agent.pub, DIR/keys/gateway.pub (a copy of GATEWAY.pub) and DIR/spool/.\n"
    "Prints the agent's public line on stdout: give it to the gateway's operator, who runs\n"
    "    meldnetctl agent add NAME \"LINE\" --home GATEWAY-HOME\n"
    "\n"
    "  NAME                     1-64 characters of A-Z a-z 0-9 . _ -\n"
    "  --gateway ENDPOINT       the gateway's ingest endpoint, e.g. tcp://gateway.example:7411\n"
    "  --gateway-key FILE       the gateway's public line (its keys/gateway.pub)\n"
    "  --home DIR               default $MELDNET_AGENT_HOME, then ./meldnet-agent-home\n"
    "  -h, --help               this text\n";

/* out (AGENT_PATH_MAX bytes) = dir/name. */
static int s_join(char *out, const char *dir, const char *name, mn_diag *d)
{
    int n = snprintf(out, AGENT_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= AGENT_PATH_MAX)
        return mn_diag_set(d, MN_EINVAL, dir, "the path is too long");
    return MN_OK;
}

static int s_mkdir_private(const char *path, mn_diag *d)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return mn_diag_sys(d, path, "cannot create the directory");
    return MN_OK;
}

static int s_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"gateway", required_argument, NULL, 'g'},
        {"gateway-key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_arg = NULL, *endpoint = NULL, *gw_key_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': home_arg = optarg; break;
        case 'g': endpoint = optarg; break;
        case 'k': gw_key_path = optarg; break;
        case 'h': fputs(s_keygen_help, stdout); return 0;
        default: return s_usage_error("keygen", "bad option (see above)");
        }
    }
    if (optind != argc - 1)
        return s_usage_error("keygen", "give exactly one NAME");
    if (!endpoint || !gw_key_path)
        return s_usage_error("keygen", "--gateway and --gateway-key are required");
    const char *name = argv[optind];
    if (!mn_name_is_valid(name))
        return s_usage_error("keygen", "NAME \"%s\" must be 1-64 characters of A-Z a-z 0-9 . _ -",
                             name);
    if (!agent_config_endpoint_is_valid(endpoint))
        return s_usage_error("keygen", "--gateway \"%s\" is not an endpoint like "
                             "tcp://HOST:PORT", endpoint);

    const char *home = agent_config_home(home_arg);
    mn_diag d = {0};
    mn_key *key = NULL;
    mn_pubkey gw;
    agent_spool *spool = NULL;
    char keys[AGENT_PATH_MAX], key_path[AGENT_PATH_MAX], pub_path[AGENT_PATH_MAX];
    char gw_copy[AGENT_PATH_MAX], spool_dir[AGENT_PATH_MAX], conf[AGENT_PATH_MAX];
    char line[MN_PUBLIC_LINE_MAX];
    struct stat st;
    int rc;

    if ((rc = s_join(keys, home, "keys", &d)) != MN_OK ||
        (rc = s_join(key_path, keys, "agent.key", &d)) != MN_OK ||
        (rc = s_join(pub_path, keys, "agent.pub", &d)) != MN_OK ||
        (rc = s_join(gw_copy, keys, "gateway.pub", &d)) != MN_OK ||
        (rc = s_join(spool_dir, home, "spool", &d)) != MN_OK ||
        (rc = s_join(conf, home, "agent.conf", &d)) != MN_OK)
        goto out;

    if ((rc = mn_pubkey_load(gw_key_path, &gw, &d)) != MN_OK)
        goto out;
    if (gw.role != MN_ROLE_GATEWAY) {
        rc = mn_diag_set(&d, MN_EKEY, gw_key_path, "this is the public line of a %s, not of a "
                         "gateway", mn_role_name(gw.role));
        mn_diag_hint(&d, "use keys/gateway.pub from the gateway's home (meldnetctl init)");
        goto out;
    }
    if (stat(conf, &st) == 0 || stat(key_path, &st) == 0) {
        rc = mn_diag_set(&d, MN_EEXIST, home, "this home has an agent already");
        mn_diag_hint(&d, "choose another --home; to replace the agent, first deliver its spool "
                         "('meldnet-agent status'), then move the old home aside");
        goto out;
    }
    if ((rc = s_mkdir_private(home, &d)) != MN_OK || (rc = s_mkdir_private(keys, &d)) != MN_OK)
        goto out;
    if ((rc = mn_key_generate(MN_ROLE_AGENT, name, &key, &d)) != MN_OK ||
        (rc = mn_key_save(key, key_path, pub_path, &d)) != MN_OK ||
        (rc = mn_pubkey_save(&gw, gw_copy, &d)) != MN_OK ||
        (rc = agent_spool_open(spool_dir, 0, &spool, &d)) != MN_OK)
        goto out;
    agent_spool_destroy(&spool);
    /* Last, so a home with agent.conf is always complete. */
    if ((rc = agent_config_write(home, name, endpoint, &d)) != MN_OK)
        goto out;
    mn_pubkey_format(mn_key_public(key), line, sizeof line);
    printf("%s\n", line);
    fprintf(stderr, "%s: made agent \"%s\" in %s\n"
                    "%s: next: the gateway's operator runs: meldnetctl agent add %s \"LINE\" "
                    "(LINE = the line above, also in %s)\n",
            PROG, name, home, PROG, name, pub_path);
out:
    agent_spool_destroy(&spool);
    mn_key_destroy(&key);
    return rc == MN_OK ? 0 : s_fail(&d);
}

/* --- submit ------------------------------------------------------------------------------- */

static const char s_submit_help[] =
    "usage: meldnet-agent submit FILE.json|- [--wait SECONDS] [--home DIR] [--verbose]\n"
    "\n"
    "Validate the report (JSON, docs/report.schema.json; '-' reads stdin), seal it to the\n"
    "gateway, sign it, store it in the spool (fsync) and print\n"
    "    queued seq=N id=HEX\n"
    "then send it and wait for the gateway's receipt, printing one of\n"
    "    accepted registration=MN-NNNNNNNN id=HEX\n"
    "    duplicate registration=MN-NNNNNNNN id=HEX   (the gateway had this report already)\n"
    "    rejected reason=NAME detail=\"...\"\n"
    "\n"
    "  --wait SECONDS   how long to wait for the receipt (default 30; 0: only queue)\n"
    "  --home DIR       default $MELDNET_AGENT_HOME, then ./meldnet-agent-home\n"
    "  -v, --verbose    log each send and reply on stderr\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit: 0 acknowledged (or queued, with --wait 0); 1 invalid, rejected or failed; 2 usage;\n"
    "3 queued but no receipt within the wait: it stays in the spool, 'meldnet-agent run'\n"
    "delivers it.\n";

/* Validate, encode, seal and spool the report; *seq_out and *id_out say what was queued. */
static int s_queue_report(s_home *h, const char *path, uint64_t next_try_ms, uint64_t *seq_out,
                          uint8_t id_out[MN_ENVELOPE_ID_BYTES], mn_diag *d)
{
    mn_report *report = NULL;
    uint8_t *plain = NULL, *frame = NULL;
    size_t plain_len = 0, frame_len = 0;
    mn_envelope env;
    uint64_t seq = 0;
    int rc;

    memset(&env, 0, sizeof env);
    if ((rc = mn_report_load_json(path, &report, d)) != MN_OK ||
        (rc = mn_report_validate(report, d)) != MN_OK ||
        (rc = mn_report_encode(report, &plain, &plain_len)) != MN_OK)
        goto out;
    mn_report_destroy(&report);
    if ((rc = agent_spool_reserve_seq(h->spool, &seq, d)) != MN_OK ||
        (rc = mn_envelope_seal(h->key, h->gateway.box, plain, plain_len, seq, mn_now_ms(), &env,
                               d)) != MN_OK)
        goto out;
    mn_plain_free(plain, plain_len); /* from here on only the sealed form exists */
    plain = NULL;
    if ((rc = mn_wire_encode_envelope(&env, &frame, &frame_len)) != MN_OK)
        goto out;
    if (frame_len > h->cfg.max_frame_bytes) {
        rc = mn_diag_set(d, MN_ETOOBIG, path,
                         "the sealed report is %zu bytes; the gateway takes at most %zu "
                         "(max_frame_bytes)", frame_len, h->cfg.max_frame_bytes);
        mn_diag_hint(d, "send fewer or smaller attachments; if the gateway's max_frame_bytes "
                        "was raised, raise it in agent.conf too");
        goto out;
    }
    if ((rc = agent_spool_add(h->spool, seq, env.id, env.created_ms, frame, frame_len,
                              next_try_ms, d)) != MN_OK)
        goto out;
    *seq_out = seq;
    memcpy(id_out, env.id, MN_ENVELOPE_ID_BYTES);
out:
    if (rc == MN_ENOMEM && d && !d->what[0])
        mn_diag_set(d, MN_ENOMEM, path, "out of memory");
    mn_report_destroy(&report);
    mn_plain_free(plain, plain_len);
    free(frame);
    mn_envelope_clear(&env);
    return rc;
}

/* Print the outcome of an item that is no longer queued; returns the exit code. */
static int s_print_outcome(const agent_spool_item *it)
{
    char hex[AGENT_ID_HEX];
    char reg[32];
    agent_link_format_id(it->id, hex);
    if (it->state == AGENT_SPOOL_ACKNOWLEDGED) {
        mn_registration_format(it->registration, reg, sizeof reg);
        printf("%s registration=%s id=%s\n",
               it->receipt_status == MN_RECEIPT_DUPLICATE ? "duplicate" : "accepted", reg, hex);
        return 0;
    }
    char detail[4 * AGENT_SPOOL_DETAIL_MAX];
    agent_link_quote(it->reject_detail, detail, sizeof detail);
    printf("rejected reason=%s detail=\"%s\"\n", mn_reject_reason_name(it->reject_reason),
           detail);
    return 1;
}

static int s_cmd_submit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"wait", required_argument, NULL, 'w'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_arg = NULL;
    unsigned long wait_s = 30;
    int verbose = 0, c;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        switch (c) {
        case 'H': home_arg = optarg; break;
        case 'w':
            if (s_parse_uint(optarg, 0, 86400, &wait_s) != 0)
                return s_usage_error("submit", "--wait \"%s\": give seconds, 0 to 86400", optarg);
            break;
        case 'v': verbose = 1; break;
        case 'h': fputs(s_submit_help, stdout); return 0;
        default: return s_usage_error("submit", "bad option (see above)");
        }
    }
    if (optind != argc - 1)
        return s_usage_error("submit", "give exactly one report FILE (or - for stdin)");
    const char *path = argv[optind];

    s_home h;
    mn_diag d = {0};
    agent_link *link = NULL;
    agent_spool_item it;
    uint64_t seq = 0;
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    char hex[AGENT_ID_HEX];
    int code = 1;
    int rc;

    memset(&it, 0, sizeof it);
    if ((rc = s_home_open(agent_config_home(home_arg), 1, &h, &d)) != MN_OK)
        goto out;
    s_set_log_level(verbose ? h.cfg.log_level : "warn", MN_LOG_WARN);
    uint64_t claim = wait_s > 0 ? mn_now_ms() + S_SUBMIT_CLAIM_MS : 0;
    if ((rc = s_queue_report(&h, path, claim, &seq, id, &d)) != MN_OK)
        goto out;
    agent_link_format_id(id, hex);
    printf("queued seq=%llu id=%s\n", (unsigned long long)seq, hex);
    fflush(stdout);
    code = EXIT_PENDING;
    if (wait_s == 0) {
        code = 0;
        goto out;
    }

    s_catch_signals();
    if ((rc = s_make_link(&h, &link, &d)) != MN_OK)
        goto out;
    uint64_t deadline = mn_mono_ms() + (uint64_t)wait_s * 1000;
    while (!s_stop) {
        uint64_t now = mn_mono_ms();
        if (now >= deadline)
            break;
        int tick = deadline - now < S_TICK_MS ? (int)(deadline - now) : S_TICK_MS;
        if ((rc = agent_link_step(link, seq, tick, &d)) != MN_OK)
            goto out;
        agent_spool_item_clear(&it);
        if ((rc = agent_spool_get(h.spool, seq, 0, &it, &d)) != MN_OK)
            goto out;
        if (it.state != AGENT_SPOOL_QUEUED) {
            code = s_print_outcome(&it);
            goto out;
        }
    }
    /* Give up the claim, so a running `run` sends it at once. */
    if ((rc = agent_spool_mark_due(h.spool, seq, mn_now_ms(), &d)) != MN_OK)
        goto out;
    const char *problem = agent_link_problem(link);
    fprintf(stderr, "%s: no receipt %s; seq=%llu stays queued: 'meldnet-agent run' delivers it\n",
            PROG, s_stop ? "before the interrupt" : "within the wait", (unsigned long long)seq);
    if (problem)
        fprintf(stderr, "%s: %s\n", PROG, problem);
out:
    if (rc != MN_OK) {
        mn_diag_print(PROG, &d);
        if (seq != 0 && code == EXIT_PENDING)
            fprintf(stderr, "%s: seq=%llu stays queued; 'meldnet-agent run' delivers it\n", PROG,
                    (unsigned long long)seq);
        else
            code = 1;
    }
    agent_spool_item_clear(&it);
    agent_link_destroy(&link);
    s_home_close(&h);
    return code;
}

/* --- run ---------------------------------------------------------------------------------- */

static const char s_run_help[] =
    "usage: meldnet-agent run [--until-empty] [--max-seconds N] [--home DIR]\n"
    "\n"
    "Send everything queued in the spool and record the gateway's receipts: at most 'window'\n"
    "(agent.conf, default 32) in flight, resent after a timeout with exponential backoff\n"
    "(0.5 s doubling up to 60 s) and jitter. Keeps going while the gateway is down or\n"
    "restarting. Picks up reports that 'submit' adds meanwhile. SIGINT/SIGTERM stop it\n"
    "cleanly. Logs one line per event on stderr.\n"
    "\n"
    "  --until-empty      stop (exit 0) once nothing is queued\n"
    "  --max-seconds N    stop after N seconds\n"
    "  --home DIR         default $MELDNET_AGENT_HOME, then ./meldnet-agent-home\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit: 0 stopped (by --until-empty, or by a signal without a bound); 1 failed; 2 usage;\n"
    "3 stopped by --max-seconds or a signal while --until-empty or --max-seconds was given and\n"
    "items are still queued.\n";

static int s_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"until-empty", no_argument, NULL, 'u'},
        {"max-seconds", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_arg = NULL;
    int until_empty = 0, c;
    unsigned long max_s = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': home_arg = optarg; break;
        case 'u': until_empty = 1; break;
        case 'm':
            if (s_parse_uint(optarg, 1, 100UL * 365 * 86400, &max_s) != 0)
                return s_usage_error("run", "--max-seconds \"%s\": give a number of seconds",
                                     optarg);
            break;
        case 'h': fputs(s_run_help, stdout); return 0;
        default: return s_usage_error("run", "bad option (see above)");
        }
    }
    if (optind != argc)
        return s_usage_error("run", "unexpected argument \"%s\"", argv[optind]);

    s_home h;
    mn_diag d = {0};
    agent_link *link = NULL;
    agent_spool_counts counts;
    uint64_t queued = 0;
    int rc;

    if ((rc = s_home_open(agent_config_home(home_arg), 1, &h, &d)) != MN_OK)
        goto out;
    s_set_log_level(h.cfg.log_level, MN_LOG_INFO);
    s_catch_signals();
    if ((rc = agent_spool_queued(h.spool, &queued, &d)) != MN_OK ||
        (rc = s_make_link(&h, &link, &d)) != MN_OK)
        goto out;
    log_notice("agent", "started name=%s gateway=%s queued=%llu window=%u", h.cfg.name,
               h.cfg.gateway, (unsigned long long)queued, h.cfg.window);
    uint64_t deadline = max_s ? mn_mono_ms() + (uint64_t)max_s * 1000 : 0;
    while (!s_stop) {
        if ((rc = agent_spool_queued(h.spool, &queued, &d)) != MN_OK)
            goto out;
        if (until_empty && queued == 0)
            break;
        uint64_t now = mn_mono_ms();
        if (deadline && now >= deadline)
            break;
        int tick = deadline && deadline - now < S_TICK_MS ? (int)(deadline - now) : S_TICK_MS;
        if ((rc = agent_link_step(link, 0, tick, &d)) != MN_OK)
            goto out;
    }
    if ((rc = agent_spool_count(h.spool, &counts, &d)) != MN_OK)
        goto out;
    queued = counts.queued;
    log_notice("agent", "stopped%s queued=%llu acknowledged=%llu rejected=%llu",
               s_stop ? " by a signal" : "", (unsigned long long)counts.queued,
               (unsigned long long)counts.acknowledged, (unsigned long long)counts.rejected);
    if (queued > 0 && link && agent_link_problem(link))
        log_warn("agent", "%s", agent_link_problem(link));
out:
    agent_link_destroy(&link);
    s_home_close(&h);
    if (rc != MN_OK)
        return s_fail(&d);
    return queued > 0 && (until_empty || max_s) ? EXIT_PENDING : 0;
}

/* --- status ------------------------------------------------------------------------------- */

static const char s_status_help[] =
    "usage: meldnet-agent status [--home DIR]\n"
    "\n"
    "Print the spool: one line 'queued=N acknowledged=N rejected=N', then one line per item\n"
    "    seq=N id=HEX state=queued|acknowledged|rejected registration=MN-...|- attempts=N\n"
    "      [receipt=accepted|duplicate] [reason=NAME detail=\"...\"]\n"
    "(reason: the last reject; with state=queued it was one to retry). Safe while 'run' runs.\n"
    "\n"
    "  --home DIR   default $MELDNET_AGENT_HOME, then ./meldnet-agent-home\n"
    "  -h, --help   this text\n";

static int s_print_item(const agent_spool_item *it, void *arg)
{
    (void)arg;
    char hex[AGENT_ID_HEX];
    char reg[32] = "-";
    agent_link_format_id(it->id, hex);
    if (it->registration)
        mn_registration_format(it->registration, reg, sizeof reg);
    printf("seq=%llu id=%s state=%s registration=%s attempts=%u", (unsigned long long)it->seq,
           hex, agent_spool_state_name(it->state), reg, (unsigned)it->attempts);
    if (it->state == AGENT_SPOOL_ACKNOWLEDGED)
        printf(" receipt=%s",
               it->receipt_status == MN_RECEIPT_DUPLICATE ? "duplicate" : "accepted");
    else if (it->reject_reason) {
        char detail[4 * AGENT_SPOOL_DETAIL_MAX];
        agent_link_quote(it->reject_detail, detail, sizeof detail);
        printf(" reason=%s detail=\"%s\"", mn_reject_reason_name(it->reject_reason), detail);
    }
    putchar('\n');
    return 0;
}

static int s_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_arg = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': home_arg = optarg; break;
        case 'h': fputs(s_status_help, stdout); return 0;
        default: return s_usage_error("status", "bad option (see above)");
        }
    }
    if (optind != argc)
        return s_usage_error("status", "unexpected argument \"%s\"", argv[optind]);

    s_home h;
    mn_diag d = {0};
    agent_spool_counts counts;
    int rc;
    mn_log_set_level(MN_LOG_WARN);
    if ((rc = s_home_open(agent_config_home(home_arg), 0, &h, &d)) != MN_OK ||
        (rc = agent_spool_count(h.spool, &counts, &d)) != MN_OK)
        goto out;
    printf("queued=%llu acknowledged=%llu rejected=%llu\n", (unsigned long long)counts.queued,
           (unsigned long long)counts.acknowledged, (unsigned long long)counts.rejected);
    rc = agent_spool_each(h.spool, s_print_item, NULL, &d);
out:
    s_home_close(&h);
    return rc == MN_OK ? 0 : s_fail(&d);
}

/* --- main --------------------------------------------------------------------------------- */

static const char s_help[] =
    "usage: meldnet-agent COMMAND [OPTIONS]\n"
    "\n"
    "The reporting agent of meldnet: seals reports to the gateway, keeps them in a durable\n"
    "spool until the gateway's signed receipt comes back.\n"
    "\n"
    "  keygen NAME --gateway ENDPOINT --gateway-key FILE   make a new agent home\n"
    "  submit FILE.json|- [--wait SECONDS]                 queue a report and wait for it\n"
    "  run [--until-empty] [--max-seconds N]               deliver everything queued\n"
    "  status                                              what the spool holds\n"
    "\n"
    "Every command takes --home DIR (default $MELDNET_AGENT_HOME, then ./meldnet-agent-home)\n"
    "and --help. docs/OPERATING.md describes them.\n";

int main(int argc, char **argv)
{
    if (argc < 2)
        return s_usage_error(NULL, "no command given");
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(s_help, stdout);
        return 0;
    }
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, "%s: libsodium does not initialise\n", PROG);
        return 1;
    }
    if (strcmp(cmd, "keygen") == 0)
        return s_cmd_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "submit") == 0)
        return s_cmd_submit(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return s_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return s_cmd_status(argc - 1, argv + 1);
    return s_usage_error(NULL, "unknown command \"%s\" (keygen, submit, run, status)", cmd);
}
