/* main.c - meldnet-agent: argv and commands (keygen, submit, run, status, forget, new-spool);
 * nothing else.
 *
 * The work is done by agent_config (home and agent.conf), agent_spool (the durable outbox) and
 * agent_link (the connection to the gateway); what meldnet-partner does the same way (the
 * command table, keygen, the keys of a home) is in mn_cli and mn_home. Exit codes:
 * 0 done, 1 failed or rejected, 2 usage, 3 queued but not (yet) acknowledged: it stays in the
 * spool and `run` delivers it.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_config.h"
#include "agent_link.h"
#include "agent_spool.h"
#include "mn_cli.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_home.h"
#include "mn_key.h"
#include "mn_log.h"
#include "mn_process.h"
#include "mn_report.h"
#include "mn_time.h"
#include "mn_wire.h"

#define PROG "meldnet-agent"
#define EXIT_PENDING 3
#define S_TICK_MS 250
/* How long `submit` keeps `run` from sending the item it sends itself. */
#define S_SUBMIT_CLAIM_MS 10000
/* `run` after a spool write found no room (full disk): wait 1 s, doubling up to 60 s. */
#define S_NO_ROOM_MIN_MS 1000
#define S_NO_ROOM_MAX_MS 60000

static volatile sig_atomic_t s_stop;

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
    if ((rc = agent_config_load(home, &h->cfg, d)) != MN_OK ||
        (need_keys &&
         (rc = mn_home_load_keys(h->cfg.identity, h->cfg.gateway_key, MN_ROLE_AGENT, h->cfg.name,
                                 "agent.conf", &h->key, &h->gateway, d)) != MN_OK))
        return rc;
    return agent_spool_open(h->cfg.spool, h->cfg.spool_map_mb, &h->spool, d);
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

/* The spool, made empty. */
static int s_make_spool(const char *dir, mn_diag *d)
{
    agent_spool *spool = NULL;
    int rc = agent_spool_create(dir, 0, &spool, d);
    agent_spool_destroy(&spool);
    return rc;
}

static int s_cmd_keygen(int argc, char **argv)
{
    static const mn_cli_keygen_spec spec = {
        .role = MN_ROLE_AGENT,
        .conf = "agent.conf",
        .data = "spool",
        .make_parents = 0,
        .taken_hint = "choose another --home; to replace the agent, first deliver its spool "
                      "('meldnet-agent status'), then move the old home aside",
        .add_options = "",
        .home = agent_config_home,
        .make_data = s_make_spool,
        .write_conf = agent_config_write,
    };
    return mn_cli_run_keygen(PROG, s_keygen_help, &spec, argc, argv);
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
                         "(max_frame_bytes)",
                         frame_len, h->cfg.max_frame_bytes);
        mn_diag_hint(d, "send fewer or smaller attachments; if the gateway's max_frame_bytes "
                        "was raised, raise it in agent.conf too");
        goto out;
    }
    if ((rc = agent_spool_add(h->spool, seq, env.id, env.created_ms, frame, frame_len, next_try_ms,
                              d)) != MN_OK)
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

/* For a refused report: why, and what to do, in a hotline worker's words. */
static void s_print_refused_todo(FILE *fp, const char *prefix, const agent_spool_item *it)
{
    fprintf(fp, "%sthe gateway refused report seq=%llu: %s.\n", prefix, (unsigned long long)it->seq,
            agent_link_refusal_words(it->reject_reason));
    fprintf(fp, "%s%s 'meldnet-agent forget %llu'.\n", prefix, AGENT_LINK_REFUSED_TODO,
            (unsigned long long)it->seq);
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
    mn_log_quote(it->reject_detail, detail, sizeof detail);
    printf("rejected reason=%s detail=\"%s\"\n", mn_reject_reason_name(it->reject_reason), detail);
    s_print_refused_todo(stderr, PROG ": ", it);
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
            if (mn_cli_parse_uint(optarg, 0, 86400, &wait_s) != 0)
                return mn_cli_usage_error(PROG, "submit", "--wait \"%s\": give seconds, 0 to 86400",
                                          optarg);
            break;
        case 'v': verbose = 1; break;
        case 'h': fputs(s_submit_help, stdout); return 0;
        default: return mn_cli_usage_error(PROG, "submit", "bad option (see above)");
        }
    }
    if (optind != argc - 1)
        return mn_cli_usage_error(PROG, "submit", "give exactly one report FILE (or - for stdin)");
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
    mn_cli_set_log_level(verbose ? h.cfg.log_level : "warn", MN_LOG_WARN);
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

    mn_cli_catch_signals(&s_stop);
    if ((rc = s_make_link(&h, &link, &d)) != MN_OK)
        goto out;
    uint64_t deadline = mn_cli_deadline(wait_s);
    while (!s_stop) {
        int tick = mn_cli_tick(deadline, S_TICK_MS);
        if (tick < 0)
            break;
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
    "usage: meldnet-agent run [--until-empty] [--max-seconds N] [--log-format FMT] [--home DIR]\n"
    "\n"
    "Send everything queued in the spool and record the gateway's receipts: at most 'window'\n"
    "(agent.conf, default 32) in flight, resent after a timeout with exponential backoff\n"
    "(0.5 s doubling up to 60 s) and jitter. Keeps going while the gateway is down or\n"
    "restarting. Picks up reports that 'submit' adds meanwhile. SIGINT/SIGTERM stop it\n"
    "cleanly. Logs one line per event on stderr.\n"
    "\n"
    "  --until-empty      stop (exit 0) once nothing is queued\n"
    "  --max-seconds N    stop after N seconds\n"
    "  --log-format FMT   text (default: time level component message key=value) or json\n"
    "                     (one object per line)\n"
    "  --home DIR         default $MELDNET_AGENT_HOME, then ./meldnet-agent-home\n"
    "  -h, --help         this text\n"
    "\n"
    "A full disk does not stop it: it says so, waits (1 s doubling up to 60 s) and goes on.\n"
    "\n"
    "Exit: 0 stopped (by --until-empty, or by a signal without a bound); 1 failed, or (with\n"
    "--until-empty or --max-seconds) the gateway refused a report: it stays in the spool as\n"
    "rejected ('meldnet-agent status' says why) until 'meldnet-agent forget SEQ'; 2 usage;\n"
    "3 stopped by --max-seconds or a signal while --until-empty or --max-seconds was given and\n"
    "items are still queued.\n";

/* A spool write found no room: say so, then wait (1 s doubling to 60 s, per failure in a row)
 * so `run` tries again once space is freed, instead of giving up. Returns -1 when the
 * --max-seconds deadline passed meanwhile. */
static int s_wait_for_room(unsigned *failures, uint64_t deadline, const mn_diag *d)
{
    uint64_t delay = S_NO_ROOM_MIN_MS;
    for (unsigned i = 0; i < *failures && delay < S_NO_ROOM_MAX_MS; i++)
        delay *= 2;
    if (delay > S_NO_ROOM_MAX_MS)
        delay = S_NO_ROOM_MAX_MS;
    (*failures)++;
    char what[2 * sizeof d->what], hint[2 * sizeof d->hint];
    mn_log_quote(d->what, what, sizeof what);
    mn_log_quote(d->hint, hint, sizeof hint); /* a full disk, or a full spool map: what to do */
    log_err("agent",
            "cannot write the spool: no room; nothing queued is lost and sending goes "
            "on by itself once there is room retry_in_ms=%llu failures=%u error=\"%s\" "
            "what_to_do=\"%s\"",
            (unsigned long long)delay, *failures, what, hint);
    uint64_t until = mn_now_ms() + delay;
    while (!s_stop && mn_now_ms() < until) {
        int tick = mn_cli_tick(deadline, S_TICK_MS);
        if (tick < 0)
            return -1;
        struct timespec ts = {tick / 1000, (long)(tick % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* a signal ends it early */
    }
    return 0;
}

static int s_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"until-empty", no_argument, NULL, 'u'},
        {"max-seconds", required_argument, NULL, 'm'},
        {"log-format", required_argument, NULL, 'F'},
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
            if (mn_cli_parse_uint(optarg, 1, 100UL * 365 * 86400, &max_s) != 0)
                return mn_cli_usage_error(PROG, "run",
                                          "--max-seconds \"%s\": give a number of seconds", optarg);
            break;
        case 'F':
            if ((c = mn_cli_set_log_format(PROG, "run", optarg)) != MN_CLI_GO_ON)
                return c;
            break;
        case 'h': fputs(s_run_help, stdout); return 0;
        default: return mn_cli_usage_error(PROG, "run", "bad option (see above)");
        }
    }
    if (optind != argc)
        return mn_cli_usage_error(PROG, "run", "unexpected argument \"%s\"", argv[optind]);

    s_home h;
    mn_diag d = {0};
    agent_link *link = NULL;
    agent_spool_counts counts = {0};
    uint64_t queued = 0;
    int rc;

    if ((rc = s_home_open(agent_config_home(home_arg), 1, &h, &d)) != MN_OK)
        goto out;
    mn_cli_set_log_level(h.cfg.log_level, MN_LOG_INFO);
    mn_cli_catch_signals(&s_stop);
    if ((rc = agent_spool_queued(h.spool, &queued, &d)) != MN_OK ||
        (rc = s_make_link(&h, &link, &d)) != MN_OK)
        goto out;
    log_notice("agent", "started name=%s gateway=%s queued=%llu window=%u", h.cfg.name,
               h.cfg.gateway, (unsigned long long)queued, h.cfg.window);
    uint64_t deadline = mn_cli_deadline(max_s);
    unsigned no_room = 0;
    while (!s_stop) {
        if ((rc = agent_spool_queued(h.spool, &queued, &d)) == MN_OK) {
            if (until_empty && queued == 0)
                break;
            int tick = mn_cli_tick(deadline, S_TICK_MS);
            if (tick < 0)
                break;
            rc = agent_link_step(link, 0, tick, &d);
        }
        if (rc != MN_OK && agent_spool_is_short_of_space(h.spool)) {
            /* What was not recorded is not lost: an unrecorded send is sent again, an
             * unrecorded receipt comes back as DUPLICATE with the same registration. */
            rc = MN_OK;
            if (s_wait_for_room(&no_room, deadline, &d) < 0)
                break;
            continue;
        }
        if (rc != MN_OK)
            goto out;
        if (no_room && !agent_spool_is_short_of_space(h.spool)) {
            log_notice("agent", "the spool can be written again failures=%u", no_room);
            no_room = 0;
        }
    }
    if ((rc = agent_spool_count(h.spool, &counts, &d)) != MN_OK)
        goto out;
    queued = counts.queued;
    log_notice("agent", "stopped%s queued=%llu acknowledged=%llu rejected=%llu",
               s_stop ? " by a signal" : "", (unsigned long long)counts.queued,
               (unsigned long long)counts.acknowledged, (unsigned long long)counts.rejected);
    if (queued > 0 && link && agent_link_problem(link))
        log_warn("agent", "%s", agent_link_problem(link));
    if (counts.rejected > 0)
        log_err("agent",
                "refused reports wait in the spool rejected=%llu the gateway refused "
                "them for good: 'meldnet-agent status' says why. Fix that, submit each report "
                "again, then remove its refused copy with 'meldnet-agent forget SEQ'",
                (unsigned long long)counts.rejected);
out:
    agent_link_destroy(&link);
    s_home_close(&h);
    if (rc != MN_OK)
        return mn_cli_fail(PROG, &d);
    if (!until_empty && !max_s)
        return 0;
    /* A refused report needs a person: say so to the script that ran us. */
    return counts.rejected > 0 ? 1 : queued > 0 ? EXIT_PENDING : 0;
}

/* --- status ------------------------------------------------------------------------------- */

static const char s_status_help[] =
    "usage: meldnet-agent status [--home DIR]\n"
    "\n"
    "Print the spool: one line 'queued=N acknowledged=N rejected=N', then one line per item\n"
    "    seq=N id=HEX state=queued|acknowledged|rejected registration=MN-...|- attempts=N\n"
    "      [receipt=accepted|duplicate] [reason=NAME detail=\"...\"]\n"
    "(reason: the last reject; with state=queued it was one to retry). Safe while 'run' runs.\n"
    "Under each refused report (state=rejected), two indented lines say why and what to do.\n"
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
    printf("seq=%llu id=%s state=%s registration=%s attempts=%u", (unsigned long long)it->seq, hex,
           agent_spool_state_name(it->state), reg, (unsigned)it->attempts);
    if (it->state == AGENT_SPOOL_ACKNOWLEDGED)
        printf(" receipt=%s",
               it->receipt_status == MN_RECEIPT_DUPLICATE ? "duplicate" : "accepted");
    else if (it->reject_reason) {
        char detail[4 * AGENT_SPOOL_DETAIL_MAX];
        mn_log_quote(it->reject_detail, detail, sizeof detail);
        printf(" reason=%s detail=\"%s\"", mn_reject_reason_name(it->reject_reason), detail);
    }
    putchar('\n');
    if (it->state == AGENT_SPOOL_REJECTED)
        s_print_refused_todo(stdout, "    ", it);
    return 0;
}

static int s_cmd_status(int argc, char **argv)
{
    const char *home_arg;
    int code = mn_cli_parse_home(PROG, "status", s_status_help, argc, argv, &home_arg);
    if (code != MN_CLI_GO_ON)
        return code;

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
    return rc == MN_OK ? 0 : mn_cli_fail(PROG, &d);
}

/* --- forget ------------------------------------------------------------------------------- */

static const char s_forget_help[] =
    "usage: meldnet-agent forget SEQ [--home DIR]\n"
    "\n"
    "Remove a report the gateway refused (state=rejected in 'meldnet-agent status') from the\n"
    "spool, once it has been corrected and submitted again, or deliberately dropped. Only a\n"
    "refused report can be removed: a queued one is still on its way, an acknowledged one is\n"
    "the proof that the gateway has it.\n"
    "\n"
    "  SEQ          the report's seq=N from 'meldnet-agent status'\n"
    "  --home DIR   default $MELDNET_AGENT_HOME, then ./meldnet-agent-home\n"
    "  -h, --help   this text\n";

static int s_cmd_forget(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_arg = NULL;
    unsigned long seq = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': home_arg = optarg; break;
        case 'h': fputs(s_forget_help, stdout); return 0;
        default: return mn_cli_usage_error(PROG, "forget", "bad option (see above)");
        }
    }
    if (optind != argc - 1 || mn_cli_parse_uint(argv[optind], 1, ULONG_MAX, &seq) != 0)
        return mn_cli_usage_error(PROG, "forget",
                                  "give the seq of one refused report (see 'meldnet-agent "
                                  "status')");

    s_home h;
    mn_diag d = {0};
    int rc;
    mn_log_set_level(MN_LOG_WARN);
    if ((rc = s_home_open(agent_config_home(home_arg), 0, &h, &d)) == MN_OK &&
        (rc = agent_spool_forget(h.spool, seq, &d)) == MN_OK)
        printf("forgot refused report seq=%lu\n", seq);
    s_home_close(&h);
    return rc == MN_OK ? 0 : mn_cli_fail(PROG, &d);
}

/* --- new-spool ---------------------------------------------------------------------------- */

static const char s_new_spool_help[] =
    "usage: meldnet-agent new-spool [--home DIR]\n"
    "\n"
    "Start an empty spool where the agent's spool is missing or empty (0 bytes). The agent\n"
    "refuses to work without its spool rather than make a new one silently: reports queued\n"
    "in the old one would be lost without anyone noticing. First try to restore the spool\n"
    "directory from a backup; run this only when that is not possible, and tell the gateway's\n"
    "operator which reports may not have arrived.\n"
    "Refuses when the spool holds data (also a damaged spool: move its directory aside\n"
    "first and keep it).\n"
    "\n"
    "  --home DIR   default $MELDNET_AGENT_HOME, then ./meldnet-agent-home\n"
    "  -h, --help   this text\n";

static int s_cmd_new_spool(int argc, char **argv)
{
    const char *home_arg;
    int code = mn_cli_parse_home(PROG, "new-spool", s_new_spool_help, argc, argv, &home_arg);
    if (code != MN_CLI_GO_ON)
        return code;

    agent_config cfg;
    agent_spool *spool = NULL;
    mn_diag d = {0};
    int rc;
    mn_log_set_level(MN_LOG_WARN);
    if ((rc = agent_config_load(agent_config_home(home_arg), &cfg, &d)) != MN_OK ||
        (rc = agent_spool_create(cfg.spool, cfg.spool_map_mb, &spool, &d)) != MN_OK)
        return mn_cli_fail(PROG, &d);
    agent_spool_destroy(&spool);
    printf("new empty spool in %s\n", cfg.spool);
    return 0;
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
    "  forget SEQ                                          remove a refused report\n"
    "  new-spool                                           start an empty spool on purpose\n"
    "\n"
    "Every command takes --home DIR (default $MELDNET_AGENT_HOME, then ./meldnet-agent-home)\n"
    "and --help. docs/OPERATING.md describes them.\n";

int main(int argc, char **argv)
{
    /* A file size limit then fails the write (EFBIG), which the spool reports and `run`
     * retries, instead of killing the agent. */
    signal(SIGXFSZ, SIG_IGN);
    static const mn_cli_command cmds[] = {
        {"keygen", s_cmd_keygen}, {"submit", s_cmd_submit}, {"run", s_cmd_run},
        {"status", s_cmd_status}, {"forget", s_cmd_forget}, {"new-spool", s_cmd_new_spool},
    };
    if (mn_process_harden_main(PROG) != 0) /* before any secret or report is in memory */
        return 1;
    return mn_cli_main(PROG, s_help, cmds, sizeof cmds / sizeof cmds[0],
                       "keygen, submit, run, status, forget, new-spool", argc, argv);
}
