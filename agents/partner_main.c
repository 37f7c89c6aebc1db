/* partner_main.c - meldnet-partner: argv and commands (keygen, listen, status); nothing else.
 *
 * The work is done by partner_config (home and partner.conf), partner_link (the connection to
 * the gateway's delivery endpoint), partner_intake (verify, open and check a delivery),
 * partner_sink (write it or run a command) and partner_state (delivery markers); what
 * meldnet-agent does the same way (the command table, keygen, the keys of a home) is
 * in mn_cli and mn_home.
 * Exit codes: 0 done or stopped, 1 failed (or the gateway refused the subscription), 2 usage.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_cli.h"
#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_home.h"
#include "mn_key.h"
#include "mn_log.h"
#include "mn_process.h"
#include "mn_time.h"
#include "partner_config.h"
#include "partner_intake.h"
#include "partner_link.h"
#include "partner_sink.h"
#include "partner_state.h"

#define PROG "meldnet-partner"
#define S_TICK_MS 250
#define S_LOG "partner"
#define S_TOPICS_TEXT (MN_TOPICS_MAX * (MN_TOPIC_MAX + 1) + 1)

#define S_DEFERRED_PER_MINUTE 30 /* a full disk defers every delivery: keep the log readable */

static volatile sig_atomic_t s_stop;
static mn_log_limit s_deferred_limit;

/* --- the home ----------------------------------------------------------------------------- */

typedef struct s_home {
    partner_config cfg;
    mn_key *key;
    mn_pubkey gateway;
} s_home;

static void s_home_close(s_home *h)
{
    mn_key_destroy(&h->key);
}

/* Load partner.conf and, when need_keys, the identity and the gateway's public line. */
static int s_home_open(const char *home, int need_keys, s_home *h, mn_diag *d)
{
    int rc;
    memset(h, 0, sizeof *h);
    if ((rc = partner_config_load(home, &h->cfg, d)) != MN_OK || !need_keys)
        return rc;
    return mn_home_load_keys(h->cfg.identity, h->cfg.gateway_key, MN_ROLE_PARTNER, h->cfg.name,
                             "partner.conf", &h->key, &h->gateway, d);
}

/* --- keygen ------------------------------------------------------------------------------- */

static const char s_keygen_help[] =
    "usage: meldnet-partner keygen NAME --gateway ENDPOINT --gateway-key GATEWAY.pub\n"
    "                              [--home DIR]\n"
    "\n"
    "Make a new partner home (0700; missing folders above it are made too): DIR/partner.conf,\n"
    "DIR/keys/partner.key (secret, 0600), DIR/keys/partner.pub, DIR/keys/gateway.pub (a copy\n"
    "of GATEWAY.pub) and DIR/state/.\n"
    "Prints the partner's public line on stdout: give it to the gateway's operator, who runs\n"
    "    meldnetctl partner add NAME \"LINE\" --kind KIND --bind TOPIC=LEVEL ... --home GW-HOME\n"
    "Referrals for this partner are sealed to the box key in that line: only this home can\n"
    "read them.\n"
    "\n"
    "  NAME                     1-64 characters of A-Z a-z 0-9 . _ -\n"
    "  --gateway ENDPOINT       the gateway's delivery endpoint (its delivery_listen),\n"
    "                           e.g. tcp://gateway.example:7412\n"
    "  --gateway-key FILE       the gateway's public line (its keys/gateway.pub)\n"
    "  --home DIR               default $MELDNET_PARTNER_HOME, then ./meldnet-partner-home\n"
    "  -h, --help               this text\n";

/* The state folder, made empty. */
static int s_make_state(const char *dir, mn_diag *d)
{
    partner_state *state = NULL;
    int rc = partner_state_open(dir, 1, &state, d);
    partner_state_destroy(&state);
    return rc;
}

static int s_cmd_keygen(int argc, char **argv)
{
    static const mn_cli_keygen_spec spec = {
        .role = MN_ROLE_PARTNER,
        .conf = "partner.conf",
        .data = "state",
        .make_parents = 1,
        .taken_hint = "choose another --home; to replace the partner, move the old home aside "
                      "(its key is the only one that opens referrals still queued)",
        .add_options = " --kind KIND --bind TOPIC=LEVEL",
        .home = partner_config_home,
        .make_data = s_make_state,
        .write_conf = partner_config_write,
    };
    return mn_cli_run_keygen(PROG, s_keygen_help, &spec, argc, argv);
}

/* --- listen ------------------------------------------------------------------------------- */

static const char s_listen_help[] =
    "usage: meldnet-partner listen (--out DIR | --exec CMD) [--topics T[,T...]] [--credit N]\n"
    "                              [--max-seconds N] [--exec-timeout S] [--log-format FMT]\n"
    "                              [--home DIR]\n"
    "\n"
    "Subscribe at the gateway's delivery endpoint and take every referral for this partner:\n"
    "check the gateway's signature, open it with this partner's key, check that it names this\n"
    "partner and the delivery's registration, store it, then acknowledge it. A delivery that\n"
    "cannot be checked is nacked with a reason, and the gateway sends it again later (after\n"
    "a few such nacks it holds it for its operator). One that cannot be stored now (the --out\n"
    "folder's disk is full, the command exits 75) is deferred: nacked as transient, and the\n"
    "gateway keeps sending it again for hours, until it can be stored.\n"
    "Delivery is at least once; a registration delivered before (state/delivered/MN-...) is\n"
    "acknowledged again without a second file or run. Reconnects by itself; SIGINT/SIGTERM\n"
    "stop it cleanly (what is not acknowledged yet comes again). One log line per delivery on\n"
    "stderr (registration, topics, attempt, outcome): never referral content.\n"
    "\n"
    "  --out DIR          write each referral as DIR/MN-00000042.json (0600; temp file, fsync,\n"
    "                     rename, fsync of DIR); DIR is made (0700) when missing\n"
    "  --exec CMD         run 'sh -c CMD' with the referral JSON on stdin and\n"
    "                     MELDNET_REGISTRATION, MELDNET_TOPICS, MELDNET_ATTEMPT, MELDNET_ACUTE,\n"
    "                     MELDNET_PARTNER in its environment; exit 0 = stored, 75 = not\n"
    "                     now (deferred), otherwise nacked (\"command exited N\"); it must be\n"
    "                     idempotent by registration; it runs with umask 077, so what it\n"
    "                     writes is 0600 (folders 0700)\n"
    "  --exec-timeout S   stop a command running longer than S seconds (default 300): nacked\n"
    "  --topics T,T       subscribe to these bound topics or patterns only (default: every\n"
    "                     bound topic); an unbound one ends listen with exit 1, naming the\n"
    "                     bound ones\n"
    "  --credit N         deliveries in flight, 1-1024 (default: credit in partner.conf, 16)\n"
    "  --max-seconds N    stop after N seconds (exit 0)\n"
    "  --log-format FMT   text (default: time level component message key=value) or json\n"
    "                     (one object per line)\n"
    "  --home DIR         default $MELDNET_PARTNER_HOME, then ./meldnet-partner-home\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit: 0 stopped (signal or --max-seconds); 1 failed, or the gateway refused the\n"
    "subscription; 2 usage.\n";

typedef struct s_counts {
    unsigned long stored, duplicates, refused, deferred;
} s_counts;

/* Handle one delivery: decide, answer, log. */
/* Messages received and not yet handled. Up to `credit` deliveries can be on their way, so
 * an acute one may arrive behind a dozen others: take everything already there, then handle
 * acute deliveries first (the gateway's acute lane, continued on this side). */
typedef struct s_inbox {
    mn_to_partner *m;
    size_t n;
    size_t cap;
} s_inbox;

/* Wait up to wait_ms for a message when the inbox is empty; then take, without waiting, what
 * else has arrived. Returns as partner_link_recv. */
static int s_inbox_fill(s_inbox *box, partner_link *link, int wait_ms, mn_diag *d)
{
    while (box->n < box->cap) {
        int got = 0;
        memset(&box->m[box->n], 0, sizeof box->m[box->n]);
        int rc = partner_link_recv(link, box->n ? 0 : wait_ms, &box->m[box->n], &got, d);
        if (rc != MN_OK)
            return rc;
        if (!got)
            break;
        box->n++;
    }
    return MN_OK;
}

/* Move the next message to handle into *m: the first acute delivery, else the oldest. */
static void s_inbox_take(s_inbox *box, mn_to_partner *m)
{
    size_t pick = 0;
    for (size_t i = 0; i < box->n; i++) {
        if (box->m[i].kind == MN_TO_PARTNER_DELIVERY && box->m[i].delivery.acute) {
            pick = i;
            break;
        }
    }
    *m = box->m[pick];
    memmove(&box->m[pick], &box->m[pick + 1], (box->n - pick - 1) * sizeof *box->m);
    box->n--;
}

/* Unhandled deliveries are not acked: the gateway sends them again. */
static void s_inbox_clear(s_inbox *box)
{
    for (size_t i = 0; i < box->n; i++)
        mn_delivery_clear(&box->m[i].delivery);
    free(box->m);
    memset(box, 0, sizeof *box);
}

static void s_on_delivery(const partner_intake *in, partner_link *link, int exec_mode,
                          mn_delivery *dl, s_counts *counts)
{
    partner_intake_result res;
    char reg[32], topics[S_TOPICS_TEXT], reason[2 * sizeof res.reason];
    const char *outcome;
    int sent = MN_OK;

    partner_intake_handle(in, dl, &res);
    mn_registration_format(dl->registration, reg, sizeof reg);
    mn_topics_join(&dl->topics, ",", topics, sizeof topics);
    switch (res.outcome) {
    case PARTNER_SINK_STORED:
        outcome = exec_mode ? "executed" : "written";
        counts->stored++;
        sent = partner_link_ack(link, dl->tag);
        break;
    case PARTNER_SINK_DUPLICATE:
        outcome = "duplicate";
        counts->duplicates++;
        sent = partner_link_ack(link, dl->tag);
        break;
    case PARTNER_SINK_INTERRUPTED: outcome = "interrupted"; break;
    case PARTNER_SINK_DEFERRED:
        /* Our storage, not the referral: the gateway retries it for hours, not a few times. */
        outcome = "deferred";
        counts->deferred++;
        sent = partner_link_nack(link, dl->tag, res.reason, 1);
        break;
    case PARTNER_SINK_REFUSED:
    default:
        outcome = "nacked";
        counts->refused++;
        sent = partner_link_nack(link, dl->tag, res.reason, 0);
        break;
    }
    mn_log_quote(res.reason, reason, sizeof reason);
    if (res.outcome == PARTNER_SINK_DEFERRED)
        mn_log_ratelimited(&s_deferred_limit, S_DEFERRED_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "delivery registration=%s topics=%s attempt=%u acute=%s outcome=%s "
                           "reason=\"%s\"; it comes again: free space or fix the output so it "
                           "can be stored",
                           reg, topics, (unsigned)dl->attempt, res.acute ? "yes" : "no", outcome,
                           reason);
    else if (res.outcome == PARTNER_SINK_REFUSED)
        log_warn(S_LOG,
                 "delivery registration=%s topics=%s attempt=%u acute=%s outcome=%s "
                 "reason=\"%s\"",
                 reg, topics, (unsigned)dl->attempt, res.acute ? "yes" : "no", outcome, reason);
    else
        log_info(S_LOG, "delivery registration=%s topics=%s attempt=%u acute=%s outcome=%s", reg,
                 topics, (unsigned)dl->attempt, res.acute ? "yes" : "no", outcome);
    if (sent != MN_OK)
        log_warn(S_LOG,
                 "the %s for registration=%s could not be sent (no connection); the "
                 "gateway sends the delivery again",
                 res.outcome == PARTNER_SINK_REFUSED || res.outcome == PARTNER_SINK_DEFERRED
                     ? "nack"
                     : "ack",
                 reg);
}

/* Network text fit to print as a sentence: control and non-ASCII bytes become '?'. */
static void s_printable(const char *text, char *out, size_t cap)
{
    size_t i = 0;
    for (; text[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    out[i] = '\0';
}

/* A PartnerError for the caller: 1 when listen must end. */
static int s_on_error(const mn_to_partner *m, const partner_link *link, const char *name)
{
    char detail[2 * sizeof m->detail];
    char topics[S_TOPICS_TEXT];
    if (m->error == MN_PARTNER_UNBOUND_TOPIC) {
        s_printable(m->detail, detail, sizeof detail);
        fprintf(stderr, "%s: the gateway refused the subscription: %s\n", PROG,
                detail[0] ? detail : "a topic is not bound to this partner");
        fprintf(stderr, "%s: topics bound to %s: %s\n", PROG, name,
                m->topics.n ? mn_topics_join(&m->topics, ", ", topics, sizeof topics) : "(none)");
        fprintf(stderr,
                "%s: hint: subscribe only to bound topics (--topics), or leave --topics "
                "out to get every bound topic; the gateway's operator binds topics "
                "(meldnetctl partner add ... --bind TOPIC=LEVEL)\n",
                PROG);
        return 1;
    }
    if (m->error == MN_PARTNER_BAD_REQUEST && !partner_link_was_subscribed(link)) {
        s_printable(m->detail, detail, sizeof detail);
        fprintf(stderr, "%s: the gateway refused the subscription as a bad request: %s\n", PROG,
                detail);
        fprintf(stderr,
                "%s: hint: check that the gateway speaks protocol version 1 and that "
                "partner.conf's gateway is its delivery endpoint\n",
                PROG);
        return 1;
    }
    mn_log_quote(m->detail, detail, sizeof detail);
    log_err(S_LOG, "the gateway reports an error code=%s detail=\"%s\"",
            mn_partner_error_name(m->error), detail);
    return 0;
}

static int s_cmd_listen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"out", required_argument, NULL, 'o'},
        {"exec", required_argument, NULL, 'e'},
        {"exec-timeout", required_argument, NULL, 'T'},
        {"topics", required_argument, NULL, 't'},
        {"credit", required_argument, NULL, 'c'},
        {"max-seconds", required_argument, NULL, 'm'},
        {"log-format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_arg = NULL, *out_dir = NULL, *command = NULL, *topics_arg = NULL;
    unsigned long credit = 0, max_s = 0, exec_timeout = PARTNER_EXEC_TIMEOUT_DEFAULT_S;
    mn_topics topics;
    mn_diag d = {0};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': home_arg = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'e': command = optarg; break;
        case 't': topics_arg = optarg; break;
        case 'c':
            if (mn_cli_parse_uint(optarg, 1, MN_CREDIT_MAX, &credit) != 0)
                return mn_cli_usage_error(PROG, "listen", "--credit \"%s\": give a number 1 to %d",
                                          optarg, MN_CREDIT_MAX);
            break;
        case 'm':
            if (mn_cli_parse_uint(optarg, 1, 100UL * 365 * 86400, &max_s) != 0)
                return mn_cli_usage_error(PROG, "listen",
                                          "--max-seconds \"%s\": give a number of seconds", optarg);
            break;
        case 'T':
            if (mn_cli_parse_uint(optarg, 1, 86400, &exec_timeout) != 0)
                return mn_cli_usage_error(PROG, "listen",
                                          "--exec-timeout \"%s\": give seconds, 1 to 86400",
                                          optarg);
            break;
        case 'F':
            if ((c = mn_cli_set_log_format(PROG, "listen", optarg)) != MN_CLI_GO_ON)
                return c;
            break;
        case 'h': fputs(s_listen_help, stdout); return 0;
        default: return mn_cli_usage_error(PROG, "listen", "bad option (see above)");
        }
    }
    if (optind != argc)
        return mn_cli_usage_error(PROG, "listen", "unexpected argument \"%s\"", argv[optind]);
    if (!out_dir == !command)
        return mn_cli_usage_error(PROG, "listen", "give exactly one of --out DIR and --exec CMD");
    if ((out_dir && !out_dir[0]) || (command && !command[0]))
        return mn_cli_usage_error(PROG, "listen", "--out and --exec must not be empty");
    if (partner_topics_parse(topics_arg, &topics, &d) != MN_OK)
        return mn_cli_usage_error(PROG, "listen", "%s: %s (%s)", d.where, d.what, d.hint);

    s_home h;
    partner_state *state = NULL;
    partner_sink *sink = NULL;
    partner_link *link = NULL;
    s_counts counts = {0, 0, 0, 0};
    mn_to_partner m;
    s_inbox box = {NULL, 0, 0};
    partner_intake in;
    char topics_text[S_TOPICS_TEXT];
    int code = 1;
    int rc;

    memset(&m, 0, sizeof m);
    memset(&in, 0, sizeof in);
    if ((rc = s_home_open(partner_config_home(home_arg), 1, &h, &d)) != MN_OK)
        goto out;
    mn_cli_set_log_level(h.cfg.log_level, MN_LOG_INFO);
    mn_cli_catch_signals(&s_stop);
    /* A file size limit (RLIMIT_FSIZE) must fail a write, as a full disk does, not kill us. */
    signal(SIGXFSZ, SIG_IGN);
    partner_sink_config sc = {
        .mode = out_dir ? PARTNER_SINK_OUT : PARTNER_SINK_EXEC,
        .out_dir = out_dir,
        .command = command,
        .partner = h.cfg.name,
        .exec_timeout_s = (unsigned)exec_timeout,
        .stop = &s_stop,
    };
    if ((rc = partner_state_open(h.cfg.state, 1, &state, &d)) != MN_OK ||
        (rc = partner_state_lock(state, &d)) != MN_OK ||
        (rc = partner_sink_new(&sc, state, &sink, &d)) != MN_OK)
        goto out;
    partner_link_config lc = {
        .endpoint = h.cfg.gateway,
        .identity = h.key,
        .gateway = &h.gateway,
        .topics = &topics,
        .credit = credit ? (unsigned)credit : h.cfg.credit,
        .max_frame_bytes = h.cfg.max_frame_bytes,
    };
    if ((rc = partner_link_new(&lc, &link, &d)) != MN_OK)
        goto out;
    /* One intake for the session: it keeps the shared key of each batch's ephemeral key. */
    if ((rc = partner_intake_init(&in, h.key, h.gateway.sign, sink)) != MN_OK) {
        mn_diag_set(&d, rc, "partner", "no memory to open referrals");
        goto out;
    }
    box.cap = (size_t)lc.credit + 8; /* the deliveries credit allows, and a few errors */
    box.m = calloc(box.cap, sizeof *box.m);
    if (!box.m) {
        rc = mn_diag_set(&d, MN_ENOMEM, "partner", "no memory for the inbox");
        goto out;
    }
    log_notice(S_LOG, "started name=%s gateway=%s topics=%s credit=%u %s=%s", h.cfg.name,
               h.cfg.gateway,
               topics.n ? mn_topics_join(&topics, ",", topics_text, sizeof topics_text)
                        : "\"(all bound)\"",
               lc.credit, out_dir ? "out" : "sink", out_dir ? out_dir : "exec");
    uint64_t deadline = mn_cli_deadline(max_s);
    code = 0;
    while (!s_stop) {
        int tick = mn_cli_tick(deadline, S_TICK_MS);
        if (tick < 0)
            break;
        if ((rc = s_inbox_fill(&box, link, tick, &d)) != MN_OK) {
            code = 1;
            goto out;
        }
        if (box.n == 0)
            continue;
        s_inbox_take(&box, &m);
        if (m.kind == MN_TO_PARTNER_DELIVERY)
            s_on_delivery(&in, link, command != NULL, &m.delivery, &counts);
        else if (m.kind == MN_TO_PARTNER_ERROR && s_on_error(&m, link, h.cfg.name))
            code = 1;
        mn_delivery_clear(&m.delivery);
        if (code)
            break;
    }
    log_notice(S_LOG, "stopped%s stored=%lu duplicates=%lu refused=%lu deferred=%lu",
               s_stop ? " by a signal" : "", counts.stored, counts.duplicates, counts.refused,
               counts.deferred);
    if (code == 0 && !partner_link_is_subscribed(link) && partner_link_problem(link))
        log_warn(S_LOG, "%s", partner_link_problem(link));
out:
    s_inbox_clear(&box);
    partner_intake_clear(&in);
    mn_delivery_clear(&m.delivery);
    partner_link_destroy(&link);
    partner_sink_destroy(&sink);
    partner_state_destroy(&state);
    s_home_close(&h);
    if (rc != MN_OK)
        return mn_cli_fail(PROG, &d);
    return code;
}

/* --- status ------------------------------------------------------------------------------- */

static const char s_status_help[] =
    "usage: meldnet-partner status [--home DIR]\n"
    "\n"
    "Print what listen has delivered, from the home's state folder:\n"
    "    partner=NAME gateway=ENDPOINT\n"
    "    delivered=N                       (registrations with a marker in state/delivered/)\n"
    "    last_delivery registration=MN-... at=TIME attempt=N via=out|exec topics=T,T\n"
    "    last_refusal registration=MN-... at=TIME attempt=N via=out|exec topics=T,T\n"
    "        reason=\"...\"                  (the latest nack, if any; one line)\n"
    "('-' when there is none). Times are UTC. Safe while listen runs.\n"
    "\n"
    "  --home DIR   default $MELDNET_PARTNER_HOME, then ./meldnet-partner-home\n"
    "  -h, --help   this text\n";

static void s_print_entry(const char *label, int has, const partner_state_entry *e)
{
    char reg[32], at[40], reason[2 * PARTNER_STATE_REASON_MAX];
    if (!has) {
        printf("%s -\n", label);
        return;
    }
    mn_registration_format(e->registration, reg, sizeof reg);
    mn_time_format_ms(e->at_ms, at, sizeof at);
    printf("%s registration=%s at=%s attempt=%u via=%s topics=%s", label, reg, at,
           (unsigned)e->attempt, e->via[0] ? e->via : "-", e->topics[0] ? e->topics : "-");
    if (e->reason[0]) {
        mn_log_quote(e->reason, reason, sizeof reason);
        printf(" reason=\"%s\"", reason);
    }
    putchar('\n');
}

static int s_cmd_status(int argc, char **argv)
{
    const char *home_arg;
    int code = mn_cli_parse_home(PROG, "status", s_status_help, argc, argv, &home_arg);
    if (code != MN_CLI_GO_ON)
        return code;

    s_home h;
    mn_diag d = {0};
    partner_state *state = NULL;
    partner_state_summary sum;
    int rc;
    mn_log_set_level(MN_LOG_WARN);
    memset(&sum, 0, sizeof sum);
    if ((rc = s_home_open(partner_config_home(home_arg), 0, &h, &d)) != MN_OK ||
        (rc = partner_state_open(h.cfg.state, 0, &state, &d)) != MN_OK ||
        (rc = partner_state_summarize(state, &sum, &d)) != MN_OK)
        goto out;
    printf("partner=%s gateway=%s\n", h.cfg.name, h.cfg.gateway);
    printf("delivered=%llu\n", (unsigned long long)sum.delivered);
    s_print_entry("last_delivery", sum.has_last, &sum.last);
    s_print_entry("last_refusal", sum.has_refusal, &sum.refusal);
out:
    partner_state_destroy(&state);
    s_home_close(&h);
    return rc == MN_OK ? 0 : mn_cli_fail(PROG, &d);
}

/* --- main --------------------------------------------------------------------------------- */

static const char s_help[] =
    "usage: meldnet-partner COMMAND [OPTIONS]\n"
    "\n"
    "The partner subscriber of meldnet: takes the referrals the gateway routes to this partner\n"
    "(police, care coordination, research, hotline), checks and opens them, and writes each to\n"
    "a folder or hands it to a command, acknowledging it only once it is stored.\n"
    "\n"
    "  keygen NAME --gateway ENDPOINT --gateway-key FILE    make a new partner home\n"
    "  listen (--out DIR | --exec CMD) [--topics T,T]        take deliveries until stopped\n"
    "         [--credit N] [--max-seconds N]\n"
    "  status                                               what has been delivered\n"
    "\n"
    "Every command takes --home DIR (default $MELDNET_PARTNER_HOME, then\n"
    "./meldnet-partner-home) and --help. docs/OPERATING.md describes them.\n";

int main(int argc, char **argv)
{
    static const mn_cli_command cmds[] = {
        {"keygen", s_cmd_keygen},
        {"listen", s_cmd_listen},
        {"status", s_cmd_status},
    };
    if (mn_process_harden_main(PROG) != 0) /* before any secret or referral is in memory */
        return 1;
    return mn_cli_main(PROG, s_help, cmds, sizeof cmds / sizeof cmds[0], "keygen, listen, status",
                       argc, argv);
}
