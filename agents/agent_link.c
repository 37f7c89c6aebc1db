/* agent_link.c - DEALER + CURVE link to the gateway: send due spool items, record receipts.
 *
 * Invariant: an item is marked acknowledged only from a receipt whose signature verifies with
 * the gateway's signing key and whose id is in the spool. Nothing here deletes or forgets an
 * item: whatever goes wrong on the network, the item stays queued and is sent again.
 */
#include "agent_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mn_client.h"
#include "mn_log.h"
#include "mn_time.h"
#include "mn_wire.h"

#define S_LOG "agent"
#define S_DRAIN_MAX 256 /* replies handled (and acknowledged in one txn) per round */
#define S_WARN_PER_MINUTE 10

static const mn_client_words s_words = {
    .role = "agent",
    .conf = "agent.conf",
    .listen_setting = "listen",
    .waiting_ask = "is meldnet-gateway running there?",
    .no_answer_ask = "is meldnet-gateway running there? is the port open?",
    .no_answer_plan = "reports stay queued and go out when it is back",
    .lost_note = "",
    .refused_check = NULL,
};

struct s_flight {
    uint64_t seq;
    uint64_t deadline_ms; /* the next_try_ms recorded with the send */
};

struct agent_link {
    mn_client *client;
    agent_spool *spool;
    mn_pubkey gateway;
    unsigned window;
    uint64_t retry_min_ms;
    uint64_t retry_max_ms;
    struct s_flight *flight; /* window entries */
    size_t n_flight;
    int blocked;            /* a send found no ready connection: wait for POLLOUT */
    uint64_t only_sent_seq; /* only_seq mode: the item this link has sent once */
    uint64_t rng;
    mn_log_limit lim_reply;
    mn_log_limit lim_conn;
};

/* --- formatting --------------------------------------------------------------------------- */

void agent_link_format_id(const uint8_t id[MN_ENVELOPE_ID_BYTES], char out[AGENT_ID_HEX])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < MN_ENVELOPE_ID_BYTES; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * MN_ENVELOPE_ID_BYTES] = '\0';
}

/* --- timing ------------------------------------------------------------------------------- */

static uint64_t s_random(agent_link *link)
{
    /* xorshift64*: jitter only needs to differ between agents, not to be secret. */
    link->rng ^= link->rng >> 12;
    link->rng ^= link->rng << 25;
    link->rng ^= link->rng >> 27;
    return link->rng * 0x2545F4914F6CDD1DULL;
}

/* Delay before the next try after `attempts` sends: doubling from retry_min_ms, capped at
 * retry_max_ms, plus up to a quarter of jitter so many agents do not retry in step. */
static uint64_t s_backoff(agent_link *link, uint32_t attempts)
{
    uint64_t delay = link->retry_min_ms;
    for (uint32_t i = 1; i < attempts && delay < link->retry_max_ms; i++)
        delay *= 2;
    if (delay > link->retry_max_ms)
        delay = link->retry_max_ms;
    return delay + s_random(link) % (delay / 4 + 1);
}

/* --- in-flight set ------------------------------------------------------------------------ */

static int s_flight_has(const agent_link *link, uint64_t seq)
{
    for (size_t i = 0; i < link->n_flight; i++)
        if (link->flight[i].seq == seq)
            return 1;
    return 0;
}

static void s_flight_remove(agent_link *link, uint64_t seq)
{
    for (size_t i = 0; i < link->n_flight; i++) {
        if (link->flight[i].seq == seq) {
            link->flight[i] = link->flight[--link->n_flight];
            return;
        }
    }
}

/* Forget sends whose time is up: the spool has them due again. */
static void s_flight_expire(agent_link *link, uint64_t now_ms)
{
    for (size_t i = 0; i < link->n_flight;) {
        if (link->flight[i].deadline_ms <= now_ms)
            link->flight[i] = link->flight[--link->n_flight];
        else
            i++;
    }
}

size_t agent_link_in_flight(const agent_link *link)
{
    return link->n_flight;
}

const char *agent_link_problem(const agent_link *link)
{
    return mn_client_problem(link->client);
}

/* --- set-up ------------------------------------------------------------------------------- */

/* A new connection: sends wait for it no longer. */
static void s_on_change(void *arg, int up)
{
    agent_link *link = arg;
    if (up)
        link->blocked = 0;
}

int agent_link_new(const agent_link_config *cfg, agent_spool *spool, agent_link **out, mn_diag *d)
{
    int rc = MN_OK;
    agent_link *link = NULL;

    *out = NULL;
    if (!cfg || !cfg->endpoint || !cfg->identity || !cfg->gateway || !spool)
        return mn_diag_set(d, MN_EINVAL, "", "agent_link_new: missing argument");
    if (cfg->window > 4096)
        return mn_diag_set(d, MN_EINVAL, "window", "a window of %u is too large", cfg->window);
    link = calloc(1, sizeof *link);
    if (!link)
        return mn_diag_set(d, MN_ENOMEM, "", "no memory for the link");
    link->spool = spool;
    link->gateway = *cfg->gateway;
    link->window = cfg->window ? cfg->window : AGENT_LINK_WINDOW;
    link->retry_min_ms = cfg->retry_min_ms ? cfg->retry_min_ms : AGENT_LINK_RETRY_MIN_MS;
    link->retry_max_ms = cfg->retry_max_ms ? cfg->retry_max_ms : AGENT_LINK_RETRY_MAX_MS;
    if (link->retry_max_ms < link->retry_min_ms)
        link->retry_max_ms = link->retry_min_ms;
    link->rng = (mn_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)link) | 1;
    link->flight = calloc(link->window, sizeof *link->flight);
    if (!link->flight) {
        rc = mn_diag_set(d, MN_ENOMEM, "", "no memory for the window");
        goto out;
    }
    mn_client_config cc = {
        .endpoint = cfg->endpoint,
        .identity = cfg->identity,
        .gateway = cfg->gateway,
        .max_msg_bytes = AGENT_LINK_REPLY_MAX,
        .sndhwm = (int)link->window * 2,
        .no_answer_after_failure = 0,
        .on_change = s_on_change,
        .arg = link,
        .words = &s_words,
    };
    rc = mn_client_new(&cc, &link->client, d);
out:
    if (rc == MN_OK)
        *out = link;
    else
        agent_link_destroy(&link);
    return rc;
}

void agent_link_destroy(agent_link **link_p)
{
    if (!link_p || !*link_p)
        return;
    agent_link *link = *link_p;
    mn_client_destroy(&link->client);
    free(link->flight);
    free(link);
    *link_p = NULL;
}

/* --- sending ------------------------------------------------------------------------------ */

/* The items to send now: due ones (or only only_seq), not in flight, at most the free window. */
static int s_collect(agent_link *link, uint64_t only_seq, uint64_t now_ms, agent_spool_item **items,
                     size_t *n, mn_diag *d)
{
    *items = NULL;
    *n = 0;
    size_t room = link->window - link->n_flight;
    if (!only_seq)
        return agent_spool_due(link->spool, now_ms, 2 * link->retry_max_ms, room, items, n, d);
    if (s_flight_has(link, only_seq))
        return MN_OK;
    agent_spool_item *it = calloc(1, sizeof *it);
    if (!it)
        return mn_diag_set(d, MN_ENOMEM, "", "no memory for an item");
    int rc = agent_spool_get(link->spool, only_seq, 1, it, d);
    if (rc == MN_OK && it->state == AGENT_SPOOL_QUEUED &&
        (link->only_sent_seq != only_seq || it->next_try_ms <= now_ms)) {
        *items = it;
        *n = 1;
        return MN_OK;
    }
    agent_spool_items_free(&it, 1);
    return rc;
}

static int s_send(agent_link *link, uint64_t only_seq, agent_spool_item *items, size_t n,
                  uint64_t now_ms, mn_diag *d)
{
    int rc = MN_OK;
    size_t k = 0;
    agent_spool_sent *sent = calloc(n ? n : 1, sizeof *sent);
    if (!sent)
        return mn_diag_set(d, MN_ENOMEM, "", "no memory for %zu sends", n);
    for (size_t i = 0; i < n; i++) {
        if (s_flight_has(link, items[i].seq))
            continue;
        int err;
        if (mn_client_send(link->client, items[i].frame, items[i].frame_len, &err) != MN_OK) {
            if (err == MN_CLIENT_NO_PEER) {
                link->blocked = 1; /* no ready connection: wait for one */
                if (!mn_client_is_connected(link->client)) {
                    /* A try that found no gateway counts as an attempt (status shows the
                     * agent is trying), once per outage; the item stays due, so it goes out
                     * as soon as a connection is back (a claimed one keeps its claim). */
                    sent[k].seq = items[i].seq;
                    sent[k].next_try_ms =
                        items[i].next_try_ms > now_ms ? items[i].next_try_ms : now_ms;
                    k++;
                    log_debug(S_LOG,
                              "no connection to the gateway; stays queued seq=%llu "
                              "attempt=%u",
                              (unsigned long long)items[i].seq, (unsigned)items[i].attempts + 1);
                }
            } else if (err == MN_CLIENT_CLOSED) {
                rc = mn_diag_set(d, MN_EZMQ, mn_client_endpoint(link->client),
                                 "the socket is closed: %s", mn_client_error(link->client));
            } else if (err != MN_CLIENT_INTERRUPTED) {
                mn_log_ratelimited(&link->lim_conn, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                                   "send failed error=\"%s\"", mn_client_error(link->client));
            }
            break;
        }
        uint32_t attempts = items[i].attempts + 1;
        uint64_t next = now_ms + s_backoff(link, attempts);
        sent[k].seq = items[i].seq;
        sent[k].next_try_ms = next;
        k++;
        link->flight[link->n_flight].seq = items[i].seq;
        link->flight[link->n_flight].deadline_ms = next;
        link->n_flight++;
        if (only_seq)
            link->only_sent_seq = only_seq;
        char hex[AGENT_ID_HEX];
        agent_link_format_id(items[i].id, hex);
        log_info(S_LOG, "sent seq=%llu id=%s attempt=%u", (unsigned long long)items[i].seq, hex,
                 (unsigned)attempts);
    }
    if (k > 0) {
        int mrc = agent_spool_mark_sent(link->spool, sent, k, now_ms, d);
        if (rc == MN_OK)
            rc = mrc;
    }
    free(sent);
    return rc;
}

/* --- replies ------------------------------------------------------------------------------ */

static int s_on_receipt(agent_link *link, const mn_receipt *r, agent_spool_ack *acks,
                        size_t *n_acks, mn_diag *d)
{
    char hex[AGENT_ID_HEX];
    agent_spool_item it;
    agent_link_format_id(r->id, hex);
    if (mn_receipt_verify(r, link->gateway.sign) != MN_OK) {
        mn_client_set_problem(link->client,
                              "a receipt from the gateway did not verify with "
                              "keys/gateway.pub (is it the gateway's current public line?)");
        mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "receipt signature does not verify; ignored id=%s", hex);
        return MN_OK;
    }
    if ((r->status != MN_RECEIPT_ACCEPTED && r->status != MN_RECEIPT_DUPLICATE) ||
        r->registration == 0) {
        mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "receipt ignored status=%d registration=%llu id=%s", r->status,
                           (unsigned long long)r->registration, hex);
        return MN_OK;
    }
    int rc = agent_spool_find_id(link->spool, r->id, 0, &it, d);
    if (rc == MN_ENOTFOUND) {
        mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "receipt for an envelope not in the spool; ignored id=%s", hex);
        return MN_OK;
    }
    if (rc != MN_OK)
        return rc;
    s_flight_remove(link, it.seq);
    acks[*n_acks].seq = it.seq;
    acks[*n_acks].status = r->status;
    acks[*n_acks].registration = r->registration;
    acks[*n_acks].accepted_ms = r->accepted_ms;
    (*n_acks)++;
    return MN_OK;
}

static int s_on_reject(agent_link *link, const mn_reject *r, mn_diag *d)
{
    char hex[AGENT_ID_HEX];
    char detail[2 * sizeof r->detail];
    agent_spool_item it;
    const char *reason = mn_reject_reason_name(r->reason);
    mn_log_quote(r->detail, detail, sizeof detail);
    if (!r->has_id) {
        mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "gateway refused a frame it could not read reason=%s detail=\"%s\"",
                           reason, detail);
        return MN_OK;
    }
    agent_link_format_id(r->id, hex);
    int rc = agent_spool_find_id(link->spool, r->id, 0, &it, d);
    if (rc == MN_ENOTFOUND) {
        mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "reject for an envelope not in the spool; ignored id=%s reason=%s", hex,
                           reason);
        return MN_OK;
    }
    if (rc != MN_OK)
        return rc;
    s_flight_remove(link, it.seq);
    if (it.state != AGENT_SPOOL_QUEUED)
        return MN_OK;
    /* A sender the gateway does not admit now (revoked, or not added yet) is for the gateway's
     * operator to fix, not the report: it stays queued, whatever an older gateway's flag says. */
    int not_admitted = r->reason == MN_REJECT_NOT_PERMITTED;
    if (r->retryable || not_admitted) {
        uint64_t delay = s_backoff(link, it.attempts ? it.attempts : 1);
        rc = agent_spool_mark_retry(link->spool, it.seq, r->reason, r->detail, mn_now_ms() + delay,
                                    d);
        if (not_admitted) {
            mn_client_set_problem(link->client,
                                  "the gateway does not admit this agent now "
                                  "(revoked, or not added yet): its reports stay queued and are "
                                  "sent again; ask the gateway's operator to admit it "
                                  "('meldnetctl agent add' with the line in keys/agent.pub)");
            mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                               "the gateway does not admit this agent now; the report stays "
                               "queued and is sent again: ask the gateway's operator to admit "
                               "this agent seq=%llu id=%s reason=%s retry_in_ms=%llu",
                               (unsigned long long)it.seq, hex, reason, (unsigned long long)delay);
            return rc;
        }
        mn_client_set_problem(link->client,
                              "the gateway asks to send again later (%s); it is tried again",
                              reason);
        mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "gateway asks to retry seq=%llu id=%s reason=%s retry_in_ms=%llu",
                           (unsigned long long)it.seq, hex, reason, (unsigned long long)delay);
        return rc;
    }
    rc = agent_spool_mark_rejected(link->spool, it.seq, r->reason, r->detail, d);
    if (rc == MN_OK)
        log_err(S_LOG,
                "rejected seq=%llu id=%s reason=%s detail=\"%s\" the gateway refused "
                "this report: %s. %s 'meldnet-agent forget %llu'",
                (unsigned long long)it.seq, hex, reason, detail,
                agent_link_refusal_words(r->reason), AGENT_LINK_REFUSED_TODO,
                (unsigned long long)it.seq);
    return rc;
}

static int s_on_reply(agent_link *link, const uint8_t *buf, size_t len, agent_spool_ack *acks,
                      size_t *n_acks, mn_diag *d)
{
    mn_from_gateway fg;
    mn_diag dd = {0};
    memset(&fg, 0, sizeof fg);
    if (mn_wire_decode_from_gateway(buf, len, AGENT_LINK_REPLY_MAX, &fg, &dd) != MN_OK) {
        mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                           "a reply from the gateway does not decode; ignored error=%s bytes=%zu",
                           mn_err_name(dd.code), len);
        return MN_OK;
    }
    if (fg.kind == MN_FROM_RECEIPT)
        return s_on_receipt(link, &fg.receipt, acks, n_acks, d);
    if (fg.kind == MN_FROM_REJECT)
        return s_on_reject(link, &fg.reject, d);
    return MN_OK;
}

/* Handle every reply waiting (up to S_DRAIN_MAX), receipts recorded in one transaction. */
static int s_drain_replies(agent_link *link, mn_diag *d)
{
    agent_spool_ack acks[S_DRAIN_MAX];
    int changed[S_DRAIN_MAX];
    size_t n_acks = 0;
    int rc = MN_OK;
    for (int i = 0; i < S_DRAIN_MAX && rc == MN_OK; i++) {
        const uint8_t *buf;
        size_t len;
        int got = mn_client_recv(link->client, &buf, &len, d);
        if (got == MN_EDECODE) {
            mn_log_ratelimited(&link->lim_reply, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                               "a multi-frame reply from the gateway; ignored");
            continue;
        }
        if (got != MN_OK) {
            if (got != MN_ENOTFOUND)
                rc = got;
            break;
        }
        rc = s_on_reply(link, buf, len, acks, &n_acks, d);
    }
    if (n_acks == 0)
        return rc;
    int mrc = agent_spool_mark_acknowledged(link->spool, acks, n_acks, changed, d);
    if (mrc != MN_OK)
        return rc != MN_OK ? rc : mrc;
    for (size_t i = 0; i < n_acks; i++) {
        if (!changed[i])
            continue;
        char reg[32];
        mn_registration_format(acks[i].registration, reg, sizeof reg);
        log_info(S_LOG, "acknowledged seq=%llu registration=%s status=%s",
                 (unsigned long long)acks[i].seq, reg,
                 acks[i].status == MN_RECEIPT_ACCEPTED ? "accepted" : "duplicate");
    }
    return rc;
}

/* --- one round ---------------------------------------------------------------------------- */

static int s_wait(agent_link *link, int wait_ms, mn_diag *d)
{
    long timeout = wait_ms < 0 ? 0 : wait_ms;
    uint64_t now = mn_now_ms();
    int readable, writable;
    for (size_t i = 0; i < link->n_flight; i++) {
        uint64_t dl = link->flight[i].deadline_ms;
        long left = dl > now ? (long)(dl - now) : 0;
        if (left < timeout)
            timeout = left;
    }
    int rc = mn_client_wait(link->client, link->blocked, timeout, &readable, &writable, d);
    if (rc != MN_OK)
        return rc;
    if (writable)
        link->blocked = 0;
    if (readable)
        return s_drain_replies(link, d);
    return MN_OK;
}

int agent_link_step(agent_link *link, uint64_t only_seq, int wait_ms, mn_diag *d)
{
    agent_spool_item *items = NULL;
    size_t n = 0;
    uint64_t now = mn_now_ms();
    int rc = MN_OK;

    s_flight_expire(link, now);
    /* While the first connection is still being made, sends would only find no gateway. */
    if (!link->blocked &&
        (mn_client_is_connected(link->client) || mn_client_is_down(link->client)) &&
        link->n_flight < link->window) {
        if ((rc = s_collect(link, only_seq, now, &items, &n, d)) != MN_OK)
            goto out;
        if ((rc = s_send(link, only_seq, items, n, now, d)) != MN_OK)
            goto out;
    }
    rc = s_wait(link, wait_ms, d);
out:
    agent_spool_items_free(&items, n);
    return rc;
}

const char *agent_link_refusal_words(int reason)
{
    switch (reason) {
    case MN_REJECT_INVALID_REPORT:
        return "the report is incomplete or not valid (the detail says which field)";
    case MN_REJECT_TOO_LARGE: return "the report is too large (send fewer or smaller attachments)";
    case MN_REJECT_CANNOT_OPEN:
        return "the gateway could not open it: this computer has an old copy of the gateway's "
               "key (ask the gateway's operator for its current keys/gateway.pub)";
    case MN_REJECT_BAD_SIGNATURE:
    case MN_REJECT_AGENT_MISMATCH:
        return "it did not carry this agent's valid signature or name (ask the gateway's "
               "operator to check how this agent is registered)";
    case MN_REJECT_NOT_PERMITTED:
        return "the gateway does not admit this agent now (ask its operator to add it back with "
               "'meldnetctl agent add'); the report stays queued and is sent again";
    default:
        return "the gateway could not read it (ask the gateway's operator; this program may "
               "need an update)";
    }
}
