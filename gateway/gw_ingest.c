/* gw_ingest.c - receive, verify, register in one transaction per batch, acknowledge after commit.
 *
 * Plaintext reports exist only inside one batch, in memory, and are wiped when it ends.
 * Nothing a peer sends can stop the loop: every failure becomes a Reject (counted, logged with
 * rate limiting and without content) and the next frame is read.
 */
#include "gw_ingest.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <zmq.h>

#include "gw_auth.h"
#include "mn_envelope.h"
#include "mn_log.h"
#include "mn_report.h"
#include "mn_wire.h"

/* Frames up to this multiple of the limit are read and answered with TOO_LARGE; anything larger
 * makes libzmq drop the connection, so a peer cannot make the gateway buffer unbounded input. */
#define HARD_FRAME_FACTOR 2

typedef struct s_item {
    zmq_msg_t route;
    mn_envelope env;
    mn_report *report;
    uint8_t digest[32];
    mn_receipt receipt;
} s_item;

/* Per-agent token bucket, parallel to the agents array. */
typedef struct s_bucket {
    double tokens;
    uint64_t last_ms;
} s_bucket;

/* How often the free-space floor is looked at. */
#define FREE_SPACE_CHECK_MS 1000

struct gw_ingest {
    void *socket;
    gw_ingest_deps deps;
    gw_agent *agents; /* sorted by name */
    s_bucket *buckets;
    size_t n_agents;
    uint64_t free_checked_ms;
    int disk_low;
    s_item *batch;
    mn_log_limit reject_limit;
};

static int s_agent_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const gw_agent *)elem)->name);
}

static const gw_agent *s_find_agent(const gw_ingest *ing, const char *name)
{
    if (!ing->agents)
        return NULL;
    return bsearch(name, ing->agents, ing->n_agents, sizeof *ing->agents, s_agent_cmp);
}

static int s_by_name(const void *a, const void *b)
{
    return strcmp(((const gw_agent *)a)->name, ((const gw_agent *)b)->name);
}

int gw_ingest_set_agents(gw_ingest *ing, const gw_agent *agents, size_t n)
{
    gw_agent *copy = calloc(n ? n : 1, sizeof *copy);
    s_bucket *buckets = calloc(n ? n : 1, sizeof *buckets);
    if (!copy || !buckets) {
        free(copy);
        free(buckets);
        return MN_ENOMEM;
    }
    if (n)
        memcpy(copy, agents, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, s_by_name);
    uint64_t now = mn_mono_ms();
    for (size_t i = 0; i < n; i++) {
        buckets[i].tokens = ing->deps.agent_burst;
        buckets[i].last_ms = now;
    }
    free(ing->agents);
    free(ing->buckets);
    ing->agents = copy;
    ing->buckets = buckets;
    ing->n_agents = n;
    return MN_OK;
}

/* Take one token from the agent's bucket; 0 when it is empty (the agent sends too fast). */
static int s_take_token(gw_ingest *ing, const gw_agent *agent)
{
    if (ing->deps.agent_rate_per_s == 0)
        return 1;
    s_bucket *b = &ing->buckets[agent - ing->agents];
    uint64_t now = mn_mono_ms();
    b->tokens += (double)(now - b->last_ms) * ing->deps.agent_rate_per_s / 1000.0;
    if (b->tokens > ing->deps.agent_burst)
        b->tokens = ing->deps.agent_burst;
    b->last_ms = now;
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

/* Whether the data folder is under its free-space floor (looked at once a second). */
static int s_disk_low(gw_ingest *ing)
{
    if (ing->deps.min_free_mb == 0 || !ing->deps.data_dir)
        return 0;
    uint64_t now = mn_mono_ms();
    if (now - ing->free_checked_ms < FREE_SPACE_CHECK_MS && ing->free_checked_ms)
        return ing->disk_low;
    ing->free_checked_ms = now;
    struct statvfs sv;
    if (statvfs(ing->deps.data_dir, &sv) != 0)
        return ing->disk_low;
    uint64_t free_mb = (uint64_t)sv.f_bavail * sv.f_frsize / (1024 * 1024);
    int low = free_mb < ing->deps.min_free_mb;
    if (low && !ing->disk_low)
        log_err("ingest", "free space in %s is %llu MiB, under min_free_mb=%u: refusing new "
                "reports (OVERLOADED) until there is room", ing->deps.data_dir,
                (unsigned long long)free_mb, ing->deps.min_free_mb);
    else if (!low && ing->disk_low)
        log_notice("ingest", "free space in %s is back above min_free_mb", ing->deps.data_dir);
    ing->disk_low = low;
    return low;
}

int gw_ingest_new(void *zmq_ctx, const char *listen, const gw_ingest_deps *deps, gw_ingest **out,
                  mn_diag *d)
{
    int rc = MN_ENOMEM;
    gw_ingest *ing = calloc(1, sizeof *ing);
    if (!ing)
        goto fail;
    ing->deps = *deps;
    ing->batch = calloc(deps->batch_max, sizeof *ing->batch);
    if (!ing->batch)
        goto fail;
    ing->socket = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (!ing->socket) {
        rc = mn_diag_set(d, MN_EZMQ, listen, "cannot create the ingest socket: %s",
                         zmq_strerror(zmq_errno()));
        goto fail;
    }
    rc = gw_auth_secure_server(ing->socket, mn_key_curve_secret(deps->gateway), GW_AUTH_DOMAIN,
                               d);
    if (rc != MN_OK)
        goto fail;
    int linger = 0, one = 1;
    int64_t hard_max = (int64_t)deps->max_frame_bytes * HARD_FRAME_FACTOR;
    int hb_ivl = 5000, hb_timeout = 15000, hb_ttl = 15000;
    if (zmq_setsockopt(ing->socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(ing->socket, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(ing->socket, ZMQ_MAXMSGSIZE, &hard_max, sizeof hard_max) != 0 ||
        zmq_setsockopt(ing->socket, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(ing->socket, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
        zmq_setsockopt(ing->socket, ZMQ_HEARTBEAT_TTL, &hb_ttl, sizeof hb_ttl) != 0) {
        rc = mn_diag_set(d, MN_EZMQ, listen, "cannot set socket options: %s",
                         zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (zmq_bind(ing->socket, listen) != 0) {
        rc = mn_diag_set(d, MN_EZMQ, listen, "cannot listen: %s", zmq_strerror(zmq_errno()));
        mn_diag_hint(d, "is another gateway running on this port? change 'listen' in the "
                        "configuration or stop the other process");
        goto fail;
    }
    *out = ing;
    return MN_OK;
fail:
    gw_ingest_destroy(&ing);
    return rc;
}

void gw_ingest_destroy(gw_ingest **ing_p)
{
    if (!ing_p || !*ing_p)
        return;
    gw_ingest *ing = *ing_p;
    if (ing->socket)
        zmq_close(ing->socket);
    free(ing->agents);
    free(ing->buckets);
    free(ing->batch);
    free(ing);
    *ing_p = NULL;
}

/* Send [route][payload]; a peer that has gone away is not an error worth more than a debug line. */
static void s_reply(gw_ingest *ing, zmq_msg_t *route, const uint8_t *buf, size_t len)
{
    if (zmq_send(ing->socket, zmq_msg_data(route), zmq_msg_size(route), ZMQ_SNDMORE) < 0 ||
        zmq_send(ing->socket, buf, len, 0) < 0)
        log_debug("ingest", "reply not sent: %s", zmq_strerror(zmq_errno()));
}

static void s_send_reject(gw_ingest *ing, zmq_msg_t *route, mn_reject *rj, const char *peer)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    gw_stats_count_reject(ing->deps.stats, rj->reason);
    mn_log_ratelimited(&ing->reject_limit, 60, MN_LOG_WARN, "ingest",
                       "rejected envelope peer=%s reason=%s detail=\"%s\"", peer,
                       mn_reject_reason_name(rj->reason), rj->detail);
    if (mn_wire_encode_reject(rj, &buf, &len) != MN_OK)
        return;
    s_reply(ing, route, buf, len);
    free(buf);
}

static void s_reject_set(mn_reject *rj, const mn_envelope *env, int reason, const char *detail)
{
    memset(rj, 0, sizeof *rj);
    if (env) {
        rj->has_id = 1;
        memcpy(rj->id, env->id, sizeof rj->id);
    }
    rj->reason = reason;
    rj->retryable = mn_reject_reason_is_retryable(reason);
    /* Details are cut to the wire field's size on purpose. */
    size_t n = strnlen(detail, sizeof rj->detail - 1);
    memcpy(rj->detail, detail, n);
    rj->detail[n] = '\0';
}

static void s_item_clear(s_item *it)
{
    zmq_msg_close(&it->route);
    mn_envelope_clear(&it->env);
    mn_report_destroy(&it->report);
    memset(it->digest, 0, sizeof it->digest);
}

/* Read one [route][payload] message and check it up to the point of registration. Returns 1 when
 * the item is ready for the transaction, 0 when it was answered (rejected) or dropped, -1 when
 * there was nothing to read. */
static int s_receive_one(gw_ingest *ing, s_item *it)
{
    zmq_msg_t payload;
    mn_reject rj;
    mn_diag d;
    char detail[sizeof d.where + sizeof d.what + 8];
    int ready = 0;
    uint8_t *plain = NULL;
    size_t plain_len = 0;

    zmq_msg_init(&it->route);
    zmq_msg_init(&payload);
    memset(&it->env, 0, sizeof it->env);
    it->report = NULL;
    if (zmq_msg_recv(&it->route, ing->socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&it->route);
        zmq_msg_close(&payload);
        return -1;
    }
    if (!zmq_msg_more(&it->route) || zmq_msg_recv(&payload, ing->socket, 0) < 0)
        goto dropped;
    atomic_fetch_add(&ing->deps.stats->frames_received, 1);

    const char *user_id = zmq_msg_gets(&payload, "User-Id");
    const char *peer = user_id && *user_id ? user_id : "?";
    if (zmq_msg_more(&payload)) {
        /* One frame per message: drain the rest and refuse the whole message. */
        while (zmq_msg_more(&payload)) {
            zmq_msg_close(&payload);
            zmq_msg_init(&payload);
            if (zmq_msg_recv(&payload, ing->socket, 0) < 0)
                break;
        }
        s_reject_set(&rj, NULL, MN_REJECT_MALFORMED, "a message must be exactly one frame");
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    if (!user_id || !*user_id) {
        s_reject_set(&rj, NULL, MN_REJECT_NOT_PERMITTED, "connection is not authenticated");
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    if (mn_wire_decode_to_gateway(zmq_msg_data(&payload), zmq_msg_size(&payload),
                                  ing->deps.max_frame_bytes, &it->env, &rj) != MN_OK) {
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    if (strcmp(it->env.agent, user_id) != 0) {
        snprintf(detail, sizeof detail,
                 "envelope names agent \"%s\" but this connection is authenticated as \"%s\"",
                 it->env.agent, user_id);
        s_reject_set(&rj, &it->env, MN_REJECT_AGENT_MISMATCH, detail);
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    const gw_agent *agent = s_find_agent(ing, user_id);
    if (!agent) {
        /* Admitted by ZAP but removed from the table since: treat as revoked. */
        s_reject_set(&rj, &it->env, MN_REJECT_NOT_PERMITTED, "agent is no longer configured");
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    if (!s_take_token(ing, agent)) {
        s_reject_set(&rj, &it->env, MN_REJECT_RATE_LIMITED,
                     "this agent sends faster than agent_rate_per_s; send again after a pause");
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    if (s_disk_low(ing)) {
        s_reject_set(&rj, &it->env, MN_REJECT_OVERLOADED,
                     "the gateway's disk is nearly full; send again later");
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    if (mn_envelope_verify(&it->env, agent->pub.sign) != MN_OK) {
        s_reject_set(&rj, &it->env, MN_REJECT_BAD_SIGNATURE,
                     "signature does not verify with the agent's configured signing key");
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    mn_diag_clear(&d);
    if (mn_envelope_open(&it->env, ing->deps.gateway, MN_REPORT_MAX_BYTES, &plain, &plain_len,
                         &d) != MN_OK) {
        s_reject_set(&rj, &it->env, MN_REJECT_CANNOT_OPEN,
                     "sealed report does not open with this gateway's envelope key; check the "
                     "agent's copy of gateway.pub");
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    if (mn_report_decode(plain, plain_len, MN_REPORT_MAX_BYTES, &it->report, &d) != MN_OK ||
        mn_report_validate(it->report, &d) != MN_OK) {
        snprintf(detail, sizeof detail, "%s%s%s", d.where, d.where[0] ? ": " : "", d.what);
        s_reject_set(&rj, &it->env, MN_REJECT_INVALID_REPORT, detail);
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    if (mn_report_digest(it->report, mn_secret32_bytes(ing->deps.digest_key), it->digest) !=
        MN_OK) {
        s_reject_set(&rj, &it->env, MN_REJECT_OVERLOADED, "gateway out of memory");
        s_send_reject(ing, &it->route, &rj, peer);
        goto answered;
    }
    ready = 1;
    goto out;
answered:
dropped:
    zmq_msg_close(&it->route);
    mn_envelope_clear(&it->env);
    mn_report_destroy(&it->report);
out:
    mn_plain_free(plain, plain_len);
    zmq_msg_close(&payload);
    return ready;
}

/* Decide one item inside the batch transaction: duplicate by id, by digest, or new. */
static int s_register(gw_ingest *ing, gw_store_txn *txn, s_item *it, size_t *queued,
                      mn_diag *d)
{
    gw_registration reg;
    int rc = gw_store_find_id(txn, it->env.id, &reg);
    if (rc == MN_OK) {
        it->receipt.status = MN_RECEIPT_DUPLICATE;
        goto fill;
    }
    if (rc != MN_ENOTFOUND)
        return mn_diag_set(d, rc, "store", "lookup by envelope id failed");
    rc = gw_store_find_digest(txn, it->digest, &reg);
    if (rc == MN_OK) {
        /* Same content under a new id: one registration, and this id answers with it too. */
        it->receipt.status = MN_RECEIPT_DUPLICATE;
        rc = gw_store_put_alias(txn, it->env.id, &reg, d);
        if (rc != MN_OK)
            return rc;
        goto fill;
    }
    if (rc != MN_ENOTFOUND)
        return mn_diag_set(d, rc, "store", "lookup by digest failed");

    rc = gw_store_next_registration(txn, &reg.registration);
    if (rc != MN_OK)
        return mn_diag_set(d, rc, "store", "cannot take a registration number");
    reg.accepted_ms = mn_now_ms();
    mn_record_info info = {.registration = reg.registration,
                           .accepted_ms = reg.accepted_ms,
                           .created_ms = it->env.created_ms};
    memcpy(info.envelope_id, it->env.id, sizeof info.envelope_id);
    snprintf(info.agent, sizeof info.agent, "%s", it->env.agent);
    gw_dispatch_result res;
    rc = gw_dispatch_register(txn, &ing->deps.dispatch, it->report, &info, it->digest, &res, d);
    if (rc != MN_OK)
        return rc;
    *queued += res.items;
    it->receipt.status = MN_RECEIPT_ACCEPTED;
fill:
    memcpy(it->receipt.id, it->env.id, sizeof it->receipt.id);
    it->receipt.registration = reg.registration;
    it->receipt.accepted_ms = reg.accepted_ms;
    return MN_OK;
}

static void s_acknowledge(gw_ingest *ing, s_item *it)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char regtext[32];
    mn_receipt_sign(&it->receipt, ing->deps.gateway);
    mn_registration_format(it->receipt.registration, regtext, sizeof regtext);
    if (it->receipt.status == MN_RECEIPT_ACCEPTED)
        atomic_fetch_add(&ing->deps.stats->accepted, 1);
    else
        atomic_fetch_add(&ing->deps.stats->duplicates, 1);
    log_debug("ingest", "receipt agent=%s seq=%llu registration=%s status=%s", it->env.agent,
              (unsigned long long)it->env.seq, regtext,
              it->receipt.status == MN_RECEIPT_ACCEPTED ? "accepted" : "duplicate");
    if (mn_wire_encode_receipt(&it->receipt, &buf, &len) == MN_OK)
        s_reply(ing, &it->route, buf, len);
    free(buf);
}

static void s_commit_batch(gw_ingest *ing, size_t n)
{
    mn_diag d;
    mn_diag_clear(&d);
    gw_store_txn *txn = NULL;
    size_t queued = 0;
    int rc = gw_store_begin(ing->deps.store, &txn, &d);
    for (size_t i = 0; rc == MN_OK && i < n; i++)
        rc = s_register(ing, txn, &ing->batch[i], &queued, &d);
    if (rc == MN_OK)
        rc = gw_store_commit(&txn, &d);
    else
        gw_store_abort(&txn);

    if (rc == MN_OK) {
        atomic_fetch_add(&ing->deps.stats->commits, 1);
        for (size_t i = 0; i < n; i++)
            s_acknowledge(ing, &ing->batch[i]);
        atomic_fetch_add(&ing->deps.stats->queued, queued);
        if (queued && ing->deps.on_queued)
            ing->deps.on_queued(ing->deps.on_queued_arg);
        return;
    }
    /* Nothing of this batch is on disk: say so, so the agents retry. */
    atomic_fetch_add(&ing->deps.stats->commit_failures, 1);
    log_err("store", "batch of %zu not committed: %s%s%s (%s)", n, d.where, d.where[0] ? ": " : "",
            d.what, mn_err_hint(rc));
    for (size_t i = 0; i < n; i++) {
        mn_reject rj;
        s_reject_set(&rj, &ing->batch[i].env, MN_REJECT_STORE_FAILED,
                     "the gateway could not store the report; it was not registered, retry later");
        s_send_reject(ing, &ing->batch[i].route, &rj, ing->batch[i].env.agent);
    }
}

void *gw_ingest_socket(gw_ingest *ing)
{
    return ing->socket;
}

int gw_ingest_handle(gw_ingest *ing)
{
    /* Refusals do not fill the batch, so bound the frames read too: a peer flooding bad frames
     * must not hold back the commit (and the receipts) of the good ones already read. */
    size_t n = 0, frames = 0, max_frames = (size_t)ing->deps.batch_max * 4;
    while (n < ing->deps.batch_max && frames++ < max_frames) {
        int got = s_receive_one(ing, &ing->batch[n]);
        if (got < 0)
            break;
        if (got > 0)
            n++;
    }
    if (n > 0)
        s_commit_batch(ing, n);
    for (size_t i = 0; i < n; i++)
        s_item_clear(&ing->batch[i]);
    return MN_OK;
}
