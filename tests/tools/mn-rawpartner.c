/* mn-rawpartner - a scripted test partner: subscribes on the delivery socket, takes deliveries,
 * and answers them with acks and nacks an honest partner never would (tags it was never given,
 * acks repeated), printing everything the gateway sends as one line each:
 *
 *   subscribed credit=N topics=a,b
 *   delivery tag=N registration=MN-00000042 attempt=N acute=0|1 verified=yes|no
 *   error code=UNKNOWN_TAG detail="..."
 *
 * and what it sends as "sent ack tag=N" / "sent nack tag=N". verified=yes means the delivery's
 * signature verifies with the gateway's signing key for this partner's name; the referral itself
 * is not opened.
 *
 * Connects like meldnet-partner (DEALER, CURVE with the partner's transport key, the gateway's
 * server key from its public line), sends one Subscribe, then: when the first delivery arrives it
 * sends the --send actions in order, then acks that delivery (unless an action acked it, or
 * --no-ack); later deliveries are acked as they come (unless --no-ack). It ends when --deliveries
 * deliveries and --errors PartnerErrors have arrived; pending sends are flushed before it exits.
 *
 * Caveats: one connection, no reconnect; a PartnerError before the subscription is answered ends
 * the run (exit 1). Point it only at a gateway you run for testing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_log.h"
#include "mn_time.h"
#include "mn_tool.h"
#include "mn_wire.h"

#define PROG "mn-rawpartner"
#define S_EXIT_NO_REPLY 3
#define S_ACTIONS_MAX 64
#define S_FLUSH_MS 2000
#define S_FRAME_MAX (4u * 1024 * 1024)

typedef struct s_action {
    mn_from_partner_kind kind; /* ACK or NACK */
    int from_first;            /* tag = first delivery's tag + offset */
    int64_t offset;
    uint64_t tag; /* !from_first */
} s_action;

typedef struct s_opts {
    const char *endpoint;
    const char *key_path;
    const char *gateway_key_path;
    mn_topics topics;
    long credit;
    long deliveries;
    long errors;
    long timeout_ms;
    int no_ack;
    s_action actions[S_ACTIONS_MAX];
    size_t n_actions;
} s_opts;

static void s_usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " --endpoint EP --key PARTNER.key --gateway-key GATEWAY.pub\n"
            "                     [--topic T]... [--credit N] [--deliveries N] [--errors N]\n"
            "                     [--send ACTION]... [--no-ack] [--timeout-ms N]\n"
            "\n"
            "A scripted test partner: subscribes on the gateway's delivery socket and prints one\n"
            "line per message from the gateway, and one per answer it sends:\n"
            "  subscribed credit=N topics=a,b\n"
            "  delivery tag=N registration=MN-... attempt=N acute=0|1 verified=yes|no\n"
            "  error code=NAME detail=\"...\"\n"
            "  sent ack tag=N | sent nack tag=N\n"
            "\n"
            "  --endpoint EP        the gateway's delivery endpoint (delivery_listen)\n"
            "  --key FILE           the partner's secret identity (keys/partner.key)\n"
            "  --gateway-key FILE   the gateway's public line (keys/gateway.pub)\n"
            "  --topic T            subscribe to T (repeatable; none: every bound topic)\n"
            "  --credit N           deliveries in flight, 1..%d (default 1)\n"
            "  --deliveries N       run until N deliveries have arrived (default 1)\n"
            "  --errors N           and N PartnerErrors (default 0)\n"
            "  --send ACTION        when the first delivery arrives, before it is acked, send\n"
            "                       ACTION (repeatable, in order): ack:TAG or nack:TAG, TAG a\n"
            "                       number or first, first+N, first-N (the first delivery's tag)\n"
            "  --no-ack             ack nothing the actions do not ack\n"
            "  --timeout-ms N       give up after N ms without a message (default 10000)\n"
            "\n"
            "Exit status: 0 everything arrived, 1 failure (or a PartnerError before the\n"
            "subscription), 2 usage error, 3 something did not arrive within --timeout-ms.\n",
            MN_CREDIT_MAX);
}

/* "ack:TAG" / "nack:TAG", TAG a number, "first", "first+N" or "first-N". 0 or -1. */
static int s_parse_action(const char *text, s_action *a)
{
    const char *tag;
    memset(a, 0, sizeof *a);
    if (strncmp(text, "ack:", 4) == 0) {
        a->kind = MN_FROM_PARTNER_ACK;
        tag = text + 4;
    } else if (strncmp(text, "nack:", 5) == 0) {
        a->kind = MN_FROM_PARTNER_NACK;
        tag = text + 5;
    } else {
        return -1;
    }
    if (strncmp(tag, "first", 5) != 0)
        return mn_tool_parse_u64(tag, &a->tag);
    a->from_first = 1;
    tag += 5;
    if (*tag == '\0')
        return 0;
    if (*tag != '+' && *tag != '-')
        return -1;
    uint64_t n = 0;
    if (mn_tool_parse_u64(tag + 1, &n) != 0 || n > INT64_MAX)
        return -1;
    a->offset = *tag == '+' ? (int64_t)n : -(int64_t)n;
    return 0;
}

/* Returns 0 to run, 1 after --help, 2 on a usage error. */
static int s_parse_args(int argc, char **argv, s_opts *o)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"key", required_argument, NULL, 'k'},
        {"gateway-key", required_argument, NULL, 'g'},
        {"topic", required_argument, NULL, 'T'},
        {"credit", required_argument, NULL, 'c'},
        {"deliveries", required_argument, NULL, 'd'},
        {"errors", required_argument, NULL, 'E'},
        {"send", required_argument, NULL, 's'},
        {"no-ack", no_argument, NULL, 'n'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof *o);
    o->credit = 1;
    o->deliveries = 1;
    o->timeout_ms = 10000;
    while ((c = getopt_long(argc, argv, "e:k:g:T:c:d:E:s:nt:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case 'k': o->key_path = optarg; break;
        case 'g': o->gateway_key_path = optarg; break;
        case 'n': o->no_ack = 1; break;
        case 'h': s_usage(stdout); return 1;
        case 'T':
            if (o->topics.n == MN_TOPICS_MAX || !mn_topic_pattern_is_valid(optarg)) {
                fprintf(stderr,
                        PROG ": --topic: at most %d topics or patterns (care.utrecht, "
                             "care.*)\n",
                        MN_TOPICS_MAX);
                return 2;
            }
            snprintf(o->topics.name[o->topics.n++], sizeof o->topics.name[0], "%s", optarg);
            break;
        case 'c':
            if (mn_tool_parse_long(optarg, 1, MN_CREDIT_MAX, &o->credit) != 0) {
                fprintf(stderr, PROG ": --credit: a number, 1..%d\n", MN_CREDIT_MAX);
                return 2;
            }
            break;
        case 'd':
            if (mn_tool_parse_long(optarg, 0, 1000000, &o->deliveries) != 0) {
                fprintf(stderr, PROG ": --deliveries: a number, 0..1000000\n");
                return 2;
            }
            break;
        case 'E':
            if (mn_tool_parse_long(optarg, 0, 1000000, &o->errors) != 0) {
                fprintf(stderr, PROG ": --errors: a number, 0..1000000\n");
                return 2;
            }
            break;
        case 's':
            if (o->n_actions == S_ACTIONS_MAX ||
                s_parse_action(optarg, &o->actions[o->n_actions]) != 0) {
                fprintf(stderr,
                        PROG ": --send: ack:TAG or nack:TAG, TAG a number, first, "
                             "first+N or first-N; at most %d\n",
                        S_ACTIONS_MAX);
                return 2;
            }
            o->n_actions++;
            break;
        case 't':
            if (mn_tool_parse_timeout_ms(PROG, optarg, &o->timeout_ms) != 0)
                return 2;
            break;
        default: s_usage(stderr); return 2;
        }
    }
    if (mn_tool_no_operands(PROG, argc, argv, optind) != 0)
        return 2;
    if (!o->endpoint || !o->key_path || !o->gateway_key_path) {
        fprintf(stderr, PROG ": --endpoint, --key and --gateway-key are required (see --help)\n");
        return 2;
    }
    if (o->n_actions && o->deliveries == 0) {
        fprintf(stderr, PROG ": --send acts on the first delivery: --deliveries must be >= 1\n");
        return 2;
    }
    return 0;
}

/* What a run shares. */
typedef struct s_ctx {
    const s_opts *o;
    mn_key *partner;
    mn_pubkey gateway;
    void *zctx;
    void *dealer;
    int subscribed;
    long deliveries;
    long errors;
} s_ctx;

static int s_connect(s_ctx *cx)
{
    cx->zctx = zmq_ctx_new();
    /* LINGER: the last ack goes out before zmq_ctx_term returns. */
    cx->dealer = mn_tool_dealer(cx->zctx, cx->partner, cx->gateway.curve, S_FLUSH_MS,
                                (int)cx->o->timeout_ms, S_FRAME_MAX);
    if (!cx->dealer)
        return mn_tool_zmq_failed(PROG);
    return mn_tool_connect(PROG, cx->dealer, cx->o->endpoint, "tcp://127.0.0.1:7412");
}

static void s_disconnect(s_ctx *cx)
{
    if (cx->dealer)
        zmq_close(cx->dealer);
    if (cx->zctx)
        zmq_ctx_term(cx->zctx);
    cx->dealer = cx->zctx = NULL;
}

static int s_send(s_ctx *cx, const mn_from_partner *m)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    int rc = mn_wire_encode_from_partner(m, &frame, &len);
    if (rc != MN_OK) {
        fprintf(stderr, PROG ": cannot encode the message: %s\n", mn_err_meaning(rc));
        return rc;
    }
    if (zmq_send(cx->dealer, frame, len, 0) < 0) {
        fprintf(stderr, PROG ": cannot send: %s\n", zmq_strerror(zmq_errno()));
        rc = MN_EZMQ;
    }
    free(frame);
    return rc;
}

static int s_answer(s_ctx *cx, mn_from_partner_kind kind, uint64_t tag)
{
    mn_from_partner m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.tag = tag;
    if (kind == MN_FROM_PARTNER_NACK)
        snprintf(m.reason, sizeof m.reason, "%s", PROG " test nack");
    int rc = s_send(cx, &m);
    if (rc == MN_OK) {
        printf("sent %s tag=%" PRIu64 "\n", kind == MN_FROM_PARTNER_ACK ? "ack" : "nack", tag);
        fflush(stdout);
    }
    return rc;
}

/* The first delivery: the --send actions, then its ack unless one of them acked it. */
static int s_first_delivery(s_ctx *cx, uint64_t first)
{
    int acked = 0;
    for (size_t i = 0; i < cx->o->n_actions; i++) {
        const s_action *a = &cx->o->actions[i];
        uint64_t tag = a->from_first ? first + (uint64_t)a->offset : a->tag;
        if (a->kind == MN_FROM_PARTNER_ACK && tag == first)
            acked = 1;
        int rc = s_answer(cx, a->kind, tag);
        if (rc != MN_OK)
            return rc;
    }
    return acked || cx->o->no_ack ? MN_OK : s_answer(cx, MN_FROM_PARTNER_ACK, first);
}

/* Print one message from the gateway and do what it asks for. */
static int s_on_message(s_ctx *cx, const uint8_t *buf, size_t len)
{
    mn_to_partner m;
    mn_diag d = {0};
    char topics[MN_TOPICS_MAX * (MN_TOPIC_MAX + 1) + 1];
    char quoted[4 * sizeof m.detail];
    char reg[32];
    int rc = MN_OK;

    memset(&m, 0, sizeof m);
    if (mn_wire_decode_to_partner(buf, len, S_FRAME_MAX, &m, &d) != MN_OK) {
        mn_diag_print(PROG, &d);
        mn_delivery_clear(&m.delivery);
        return MN_EDECODE;
    }
    switch (m.kind) {
    case MN_TO_PARTNER_SUBSCRIBED:
        cx->subscribed = 1;
        printf("subscribed credit=%u topics=%s\n", (unsigned)m.credit,
               mn_topics_join(&m.topics, ",", topics, sizeof topics));
        break;
    case MN_TO_PARTNER_ERROR:
        cx->errors++;
        mn_log_quote(m.detail, quoted, sizeof quoted);
        printf("error code=%s detail=\"%s\"\n", mn_partner_error_name(m.error), quoted);
        if (!cx->subscribed) {
            fprintf(stderr, PROG ": the gateway refused the subscription\n");
            rc = MN_EINVAL;
        }
        break;
    case MN_TO_PARTNER_DELIVERY: {
        const mn_delivery *dv = &m.delivery;
        int verified =
            mn_delivery_verify(dv, mn_key_public(cx->partner)->name, cx->gateway.sign) == MN_OK;
        mn_registration_format(dv->registration, reg, sizeof reg);
        printf("delivery tag=%" PRIu64 " registration=%s attempt=%u acute=%d verified=%s\n",
               dv->tag, reg, (unsigned)dv->attempt, dv->acute ? 1 : 0, verified ? "yes" : "no");
        fflush(stdout);
        cx->deliveries++;
        if (cx->deliveries == 1)
            rc = s_first_delivery(cx, dv->tag);
        else if (!cx->o->no_ack)
            rc = s_answer(cx, MN_FROM_PARTNER_ACK, dv->tag);
        break;
    }
    default: break;
    }
    fflush(stdout);
    mn_delivery_clear(&m.delivery);
    return rc;
}

static int s_done(const s_ctx *cx)
{
    return cx->subscribed && cx->deliveries >= cx->o->deliveries && cx->errors >= cx->o->errors;
}

/* Subscribe, then read until done. The deadline bounds silence, not the whole run. */
static int s_run(s_ctx *cx)
{
    mn_from_partner sub;
    memset(&sub, 0, sizeof sub);
    sub.kind = MN_FROM_PARTNER_SUBSCRIBE;
    sub.topics = cx->o->topics;
    sub.credit = (uint32_t)cx->o->credit;
    int rc = s_send(cx, &sub);
    if (rc != MN_OK)
        return rc;
    uint64_t deadline = mn_mono_ms() + (uint64_t)cx->o->timeout_ms;
    while (!s_done(cx)) {
        uint64_t now = mn_mono_ms();
        if (now >= deadline) {
            fprintf(stderr,
                    PROG ": nothing for %ld ms: subscribed=%s deliveries=%ld/%ld "
                         "errors=%ld/%ld\n",
                    cx->o->timeout_ms, cx->subscribed ? "yes" : "no", cx->deliveries,
                    cx->o->deliveries, cx->errors, cx->o->errors);
            return MN_ETIMEOUT;
        }
        zmq_pollitem_t item = {cx->dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)(deadline - now)) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            fprintf(stderr, PROG ": zmq_poll: %s\n", zmq_strerror(zmq_errno()));
            return MN_EZMQ;
        }
        if (!(item.revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, cx->dealer, 0) < 0) {
            zmq_msg_close(&msg);
            continue;
        }
        if (zmq_msg_more(&msg)) {
            fprintf(stderr, PROG ": the gateway sent a multi-part message; the protocol allows "
                                 "exactly one frame\n");
            zmq_msg_close(&msg);
            return MN_EDECODE;
        }
        rc = s_on_message(cx, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
        if (rc != MN_OK)
            return rc;
        deadline = mn_mono_ms() + (uint64_t)cx->o->timeout_ms;
    }
    return MN_OK;
}

int main(int argc, char **argv)
{
    s_opts o;
    s_ctx cx;
    mn_diag d = {0};
    int code = 1;

    int rc = s_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    memset(&cx, 0, sizeof cx);
    cx.o = &o;
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, PROG ": cannot initialise libsodium\n");
        goto out;
    }
    rc = mn_key_load(o.key_path, &cx.partner, &d);
    if (rc == MN_OK)
        rc = mn_pubkey_load(o.gateway_key_path, &cx.gateway, &d);
    if (rc != MN_OK) {
        mn_diag_print(PROG, &d);
        goto out;
    }
    if (s_connect(&cx) != MN_OK)
        goto out;
    rc = s_run(&cx);
    code = rc == MN_OK ? 0 : rc == MN_ETIMEOUT ? S_EXIT_NO_REPLY : 1;
out:
    s_disconnect(&cx);
    mn_key_destroy(&cx.partner);
    return code;
}
