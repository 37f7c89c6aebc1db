/* gw_deliver.c - partner sessions on the delivery socket: subscribe, credit, ack, nack,
 * redelivery, hold.
 *
 * State: the durable queue (gw_store) is the truth; a session only remembers which tags it has
 * in flight and until when. Every delivery bumps the item's attempts and next_try_ms in the
 * store before the next round, so after a crash or a lost connection the item is due again.
 * Acks of one round are committed in one transaction before more is sent.
 *
 * Acks and nacks of tags the partner was never given are answered with UNKNOWN_TAG, counted
 * and change nothing; the session goes on. "Never given" is decided in the flush transaction
 * (s_check_given): a tag is given when it is in flight on the partner's session, or in its queue
 * and delivered at least once (attempts > 0, durable). A tag gone from its queue is an ack
 * repeated after the item was acked (or held), and harmless, unless it is 0, above the highest
 * tag this process has seen for the partner (delivered to it, or in its queue or hold at start),
 * or in another partner's queue (tags are unique per store).
 *
 * Caveats: a session ends when its partner subscribes again (a reconnect), when a send finds
 * the connection gone, or when the partner is removed from the configuration. In-flight items of
 * an ended session are made due at once. The highest tag seen is kept per process: an ack of an
 * item acked before a gateway restart, repeated after it, and above every tag the new process
 * has seen for the partner, is answered UNKNOWN_TAG (harmless: the partner only logs it).
 */
#include "gw_deliver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "gw_auth.h"
#include "gw_conn.h"
#include "mn_delivery.h"
#include "mn_log.h"
#include "mn_time.h"
#include "mn_wire.h"

#define S_LOG "deliver"
#define S_MAX_REQUEST_BYTES (64u * 1024)
#define S_ROUTE_ID_MAX 256
#define S_HANDLE_MAX 1024     /* messages read per handle call */
#define S_IDLE_RESCAN_MS 1000 /* pump at least this often while sessions exist */
#define S_NACK_FIRST_DELAY_MS 500
#define S_DEFER_MAX_DELAY_MS                                                                       \
    15000 /* transient nacks: at most this between tries (and at most
                                      redelivery_ms), so a partner whose disk has room again
                                      gets every item within seconds */
#define S_DEFER_LOG_PER_MINUTE 6
#define S_AGE_GROWTH_CAP_MS (3600u * 1000)
#define S_WARN_PER_MINUTE 30

typedef struct s_flight {
    uint64_t tag;
    uint64_t deadline_ms;
} s_flight;

typedef struct s_session {
    uint8_t rid[S_ROUTE_ID_MAX];
    size_t rid_len;
    char partner[MN_NAME_MAX + 1];
    mn_topics topics; /* subscribed topics / patterns */
    uint32_t credit;
    s_flight flight[MN_CREDIT_MAX];
    size_t n_flight;
} s_session;

/* A bookkeeping change collected during a read-only scan, written afterwards. */
typedef struct s_change {
    char partner[MN_NAME_MAX + 1];
    uint64_t tag;
    enum { S_SENT, S_DUE_NOW, S_HOLD, S_ACK, S_NACK } what;
    uint64_t next_try_ms;
    char reason[GW_REASON_MAX];
    int transient; /* S_NACK: the partner defers it (its storage cannot take it now) */
    int acute;     /* S_HOLD: the item is in the acute lane (holding it raises the alarm) */
    /* S_ACK and S_NACK: the connection it came on (to answer an unknown tag) */
    uint8_t rid[S_ROUTE_ID_MAX];
    size_t rid_len;
    int in_flight; /* the tag was in flight on the partner's session when the answer came */
    int unknown;   /* s_change_apply found a tag the partner was never given: nothing changed */
} s_change;

/* The highest tag this process has seen for a partner: delivered to it, or in its queue or hold
 * when the partner was first configured; and its counters for the operators. One per partner
 * ever configured since start. */
typedef struct s_given {
    char partner[MN_NAME_MAX + 1];
    uint64_t max_tag;
    uint64_t deliveries, redeliveries, acks, nacks;
} s_given;

struct gw_deliver {
    void *socket;
    gw_deliver_deps deps;
    gw_partner *partners; /* copy, sorted by name */
    size_t n_partners;
    int partners_seen; /* set_partners ran once: in-flight marks of a past process cleared */
    s_session *sessions;
    size_t n_sessions;
    s_change *changes;
    size_t n_changes, cap_changes;
    s_given *given;
    size_t n_given;
    int dirty;            /* something changed since the last pump */
    uint64_t next_due_ms; /* earliest timed work the last pump saw (0: none) */
    uint64_t last_pump_ms;
    uint64_t rng;
    mn_log_limit lim;
    mn_log_limit lim_tags;  /* unknown tags: their own budget, so they hide no other warning */
    mn_log_limit lim_defer; /* transient nacks: a full disk defers every item */
    size_t scanned;         /* items read by the start-up scan, to release the map now and then */
    gw_conn *conn;          /* who is connected; closes a revoked partner's connections */
};

/* --- helpers ------------------------------------------------------------------------------ */

static uint64_t s_random(gw_deliver *dl)
{
    dl->rng ^= dl->rng >> 12;
    dl->rng ^= dl->rng << 25;
    dl->rng ^= dl->rng >> 27;
    return dl->rng * 0x2545F4914F6CDD1DULL;
}

/* Delay before an unanswered or refused item is tried again: `base`, plus a part that grows
 * with the item's age (an item that has waited long will likely wait longer), plus jitter. */
static uint64_t s_backoff(gw_deliver *dl, uint64_t base, uint64_t age_ms)
{
    uint64_t grow = age_ms / 8;
    if (grow > S_AGE_GROWTH_CAP_MS)
        grow = S_AGE_GROWTH_CAP_MS;
    uint64_t delay = base + grow;
    return delay + s_random(dl) % (delay / 4 + 1);
}

/* The partner if it may subscribe and receive: configured and not revoked. */
static const gw_partner *s_partner(const gw_deliver *dl, const char *name)
{
    for (size_t i = 0; i < dl->n_partners; i++)
        if (strcmp(dl->partners[i].name, name) == 0)
            return dl->partners[i].revoked ? NULL : &dl->partners[i];
    return NULL;
}

static s_given *s_given_find(gw_deliver *dl, const char *partner)
{
    for (size_t i = 0; i < dl->n_given; i++)
        if (strcmp(dl->given[i].partner, partner) == 0)
            return &dl->given[i];
    return NULL;
}

/* Raise g's highest seen tag to `tag` (NULL: a partner without a record, not configured). */
static void s_given_raise(s_given *g, uint64_t tag)
{
    if (g && tag > g->max_tag)
        g->max_tag = tag;
}

/* The same by partner name. */
static void s_given_note(gw_deliver *dl, const char *partner, uint64_t tag)
{
    s_given_raise(s_given_find(dl, partner), tag);
}

static int s_note_item(const gw_queue_item *item, void *arg)
{
    s_given_note(arg, item->partner, item->tag);
    return 0;
}

static s_change *s_change_add(gw_deliver *dl, const char *partner, uint64_t tag, int what,
                              uint64_t next_try_ms, const char *reason)
{
    if (dl->n_changes == dl->cap_changes) {
        size_t cap = dl->cap_changes ? dl->cap_changes * 2 : 64;
        s_change *c = realloc(dl->changes, cap * sizeof *c);
        if (!c)
            return NULL;
        dl->changes = c;
        dl->cap_changes = cap;
    }
    s_change *c = &dl->changes[dl->n_changes++];
    memset(c, 0, sizeof *c);
    snprintf(c->partner, sizeof c->partner, "%s", partner);
    c->tag = tag;
    c->what = what;
    c->next_try_ms = next_try_ms;
    snprintf(c->reason, sizeof c->reason, "%s", reason ? reason : "");
    return c;
}

/* An ack or nack from connection rid: checked against what the partner was given when applied. */
static void s_answer_add(gw_deliver *dl, const char *partner, uint64_t tag, int what,
                         const char *reason, int transient, const uint8_t *rid, size_t rid_len,
                         int in_flight)
{
    s_change *c = s_change_add(dl, partner, tag, what, 0, reason);
    if (!c)
        return; /* out of memory: the item is delivered again */
    c->transient = transient;
    memcpy(c->rid, rid, rid_len);
    c->rid_len = rid_len;
    c->in_flight = in_flight;
}

/* Decide inside txn whether the ack or nack c names a tag its partner was never given; sets
 * c->unknown (see the top of this file for the rule). g: the partner's record (may be NULL).
 * Returns MN_OK or a store error. */
static int s_check_given(gw_deliver *dl, gw_store_txn *txn, s_change *c, const s_given *g)
{
    gw_queue_item item;
    if (c->in_flight)
        return MN_OK;
    int rc = gw_store_queue_get(txn, c->partner, c->tag, &item);
    if (rc == MN_OK) {
        /* In its queue but never delivered: not the partner's to answer yet. */
        c->unknown = item.attempts == 0;
        gw_queue_item_clear(&item);
        return MN_OK;
    }
    if (rc != MN_ENOTFOUND)
        return rc;
    if (c->tag == 0 || !g || c->tag > g->max_tag) {
        c->unknown = 1;
        return MN_OK;
    }
    for (size_t i = 0; i < dl->n_partners; i++) {
        if (strcmp(dl->partners[i].name, c->partner) == 0)
            continue;
        rc = gw_store_queue_get(txn, dl->partners[i].name, c->tag, &item);
        if (rc == MN_OK) {
            gw_queue_item_clear(&item);
            c->unknown = 1;
            return MN_OK;
        }
        if (rc != MN_ENOTFOUND)
            return rc;
    }
    return MN_OK; /* acked (or held) already: a repeated answer, harmless */
}

/* A refusing nack of item (nacks counted): due again after 500 ms doubling per nack, at most
 * redelivery_ms, with the age term; at max_nacks, why says it is to be held. */
static void s_refuse(gw_deliver *dl, gw_queue_item *item, uint64_t now, char *why, size_t cap)
{
    item->deferred_ms = 0; /* a deferral after this one is a new stretch of deferring */
    item->nacks++;
    if (item->nacks >= dl->deps.max_nacks) {
        snprintf(why, cap, "refused %u times by the partner, last: %.180s", dl->deps.max_nacks,
                 item->reason);
        return;
    }
    uint32_t shift = item->nacks < 16 ? item->nacks - 1 : 15;
    uint64_t base = (uint64_t)S_NACK_FIRST_DELAY_MS << shift;
    if (base > dl->deps.redelivery_ms)
        base = dl->deps.redelivery_ms;
    item->next_try_ms = now + s_backoff(dl, base, now - item->enqueued_ms);
}

/* A transient nack of item: it does not count towards max_nacks. Due again after half the time
 * the partner has been deferring it (so the waits grow geometrically from 500 ms), at most
 * S_DEFER_MAX_DELAY_MS and redelivery_ms, plus jitter; no age term, so a partner whose storage
 * is back gets its items within seconds. After transient_retry_hours of deferring, why says it
 * is to be held. The start is kept with the item (deferred_ms), so a restart does not reset it. */
static void s_defer(gw_deliver *dl, gw_queue_item *item, uint64_t now, char *why, size_t cap)
{
    if (item->deferred_ms == 0 || item->deferred_ms > now)
        item->deferred_ms = now;
    uint64_t deferring = now - item->deferred_ms;
    if (deferring >= (uint64_t)dl->deps.transient_retry_hours * 3600 * 1000) {
        snprintf(why, cap,
                 "deferred by the partner for %u hours (its storage could not take "
                 "it), last: %.160s",
                 dl->deps.transient_retry_hours, item->reason);
        return;
    }
    uint64_t cap_ms = dl->deps.redelivery_ms < S_DEFER_MAX_DELAY_MS ? dl->deps.redelivery_ms
                                                                    : S_DEFER_MAX_DELAY_MS;
    uint64_t delay = deferring / 2;
    if (delay < S_NACK_FIRST_DELAY_MS)
        delay = S_NACK_FIRST_DELAY_MS;
    if (delay > cap_ms)
        delay = cap_ms;
    item->next_try_ms = now + delay + s_random(dl) % (delay / 4 + 1);
    mn_log_ratelimited(&dl->lim_defer, S_DEFER_LOG_PER_MINUTE, MN_LOG_WARN, S_LOG,
                       "the partner cannot store a delivery now; it is sent again until it can "
                       "partner=%s tag=%llu deferred_s=%llu retry_in_ms=%llu reason=\"%s\"",
                       item->partner, (unsigned long long)item->tag,
                       (unsigned long long)(deferring / 1000), (unsigned long long)delay,
                       item->reason);
}

/* An item went to the hold queue: counted and logged; one of the acute lane is an alarm. */
static void s_held(gw_deliver *dl, const s_change *c)
{
    atomic_fetch_add(&dl->deps.stats->held, 1);
    if (!c->acute) {
        log_warn(S_LOG, "held partner=%s tag=%llu reason=\"%s\"", c->partner,
                 (unsigned long long)c->tag, c->reason);
        return;
    }
    atomic_fetch_add(&dl->deps.stats->held_acute, 1);
    log_err(S_LOG,
            "an ACUTE referral is held and is not being delivered: make sure partner %s "
            "gets it now (fix what refuses it, then meldnetctl hold release %s %llu) "
            "partner=%s tag=%llu acute=yes reason=\"%s\"",
            c->partner, c->partner, (unsigned long long)c->tag, c->partner,
            (unsigned long long)c->tag, c->reason);
}

/* Apply one collected change inside txn. A vanished item (acked meanwhile) is not an error; an
 * ack or nack of a tag the partner was never given changes nothing (c->unknown). */
static int s_change_apply(gw_deliver *dl, gw_store_txn *txn, s_change *c, mn_diag *d)
{
    gw_queue_item item;
    s_given *g = NULL;
    int rc;
    if (c->what == S_ACK || c->what == S_NACK) {
        g = s_given_find(dl, c->partner);
        rc = s_check_given(dl, txn, c, g);
        if (rc != MN_OK)
            return mn_diag_set(d, MN_ESTORE, c->partner, "cannot look up tag %llu",
                               (unsigned long long)c->tag);
        if (c->unknown)
            return MN_OK;
        if (c->what == S_NACK) {
            atomic_fetch_add(&dl->deps.stats->nacks, 1);
            if (c->transient)
                atomic_fetch_add(&dl->deps.stats->nacks_transient, 1);
            if (g)
                g->nacks++;
        }
    }
    if (c->what == S_ACK) {
        rc = gw_store_queue_ack(txn, c->partner, c->tag, d);
        if (rc == MN_OK) {
            atomic_fetch_add(&dl->deps.stats->acks, 1);
            if (g)
                g->acks++;
        }
        return rc == MN_ENOTFOUND ? MN_OK : rc;
    }
    if (c->what == S_HOLD) {
        rc = gw_store_queue_hold(txn, c->partner, c->tag, c->reason, d);
        if (rc == MN_OK)
            s_held(dl, c);
        return rc == MN_ENOTFOUND ? MN_OK : rc;
    }
    rc = gw_store_queue_get(txn, c->partner, c->tag, &item);
    if (rc != MN_OK)
        return rc == MN_ENOTFOUND ? MN_OK : rc;
    uint64_t now = mn_now_ms();
    switch (c->what) {
    case S_SENT:
        item.attempts++;
        item.next_try_ms = c->next_try_ms;
        break;
    case S_DUE_NOW: item.next_try_ms = 0; break;
    case S_NACK: {
        char why[GW_REASON_MAX] = "";
        snprintf(item.reason, sizeof item.reason, "%s", c->reason);
        if (c->transient)
            s_defer(dl, &item, now, why, sizeof why);
        else
            s_refuse(dl, &item, now, why, sizeof why);
        if (why[0]) {
            /* Keep the counts with the held item, for the operator who looks at it. */
            rc = gw_store_queue_update(txn, &item, d);
            s_change hold = *c;
            hold.what = S_HOLD;
            hold.acute = item.acute;
            snprintf(hold.reason, sizeof hold.reason, "%s", why);
            gw_queue_item_clear(&item);
            return rc != MN_OK ? rc : s_change_apply(dl, txn, &hold, d);
        }
        break;
    }
    default: break;
    }
    rc = gw_store_queue_update(txn, &item, d);
    gw_queue_item_clear(&item);
    return rc;
}

static void s_unknown_tag(gw_deliver *dl, const s_change *c);

/* Write every collected change in one transaction; then answer the unknown tags it found. */
static int s_flush(gw_deliver *dl)
{
    if (dl->n_changes == 0)
        return MN_OK;
    mn_diag d;
    mn_diag_clear(&d);
    gw_store_txn *txn = NULL;
    int rc = gw_store_begin(dl->deps.store, &txn, &d);
    for (size_t i = 0; rc == MN_OK && i < dl->n_changes; i++)
        rc = s_change_apply(dl, txn, &dl->changes[i], &d);
    if (rc == MN_OK)
        rc = gw_store_commit(&txn, &d);
    else
        gw_store_abort(&txn);
    if (rc != MN_OK)
        log_err(S_LOG, "cannot record %zu delivery changes: %s: %s", dl->n_changes, d.where,
                d.what);
    /* An unknown tag changed nothing, so its answer holds even when the commit failed. */
    for (size_t i = 0; i < dl->n_changes; i++)
        if (dl->changes[i].unknown)
            s_unknown_tag(dl, &dl->changes[i]);
    dl->n_changes = 0;
    return rc;
}

/* --- sessions ----------------------------------------------------------------------------- */

static s_session *s_session_by_rid(gw_deliver *dl, const uint8_t *rid, size_t len)
{
    for (size_t i = 0; i < dl->n_sessions; i++)
        if (dl->sessions[i].rid_len == len && memcmp(dl->sessions[i].rid, rid, len) == 0)
            return &dl->sessions[i];
    return NULL;
}

/* End session i: its in-flight items are due at once (they were not acked). */
static void s_session_end(gw_deliver *dl, size_t i, const char *why)
{
    s_session *s = &dl->sessions[i];
    for (size_t k = 0; k < s->n_flight; k++)
        (void)s_change_add(dl, s->partner, s->flight[k].tag, S_DUE_NOW, 0, NULL);
    log_info(S_LOG, "session ended partner=%s in_flight=%zu reason=%s", s->partner, s->n_flight,
             why);
    dl->sessions[i] = dl->sessions[dl->n_sessions - 1];
    dl->n_sessions--;
    dl->dirty = 1;
}

static int s_in_flight(const gw_deliver *dl, const char *partner, uint64_t tag)
{
    for (size_t i = 0; i < dl->n_sessions; i++) {
        const s_session *s = &dl->sessions[i];
        if (strcmp(s->partner, partner) != 0)
            continue;
        for (size_t k = 0; k < s->n_flight; k++)
            if (s->flight[k].tag == tag)
                return 1;
    }
    return 0;
}

/* Drop `tag` from whichever session of `partner` has it in flight; 1 when one had it. */
static int s_land(gw_deliver *dl, const char *partner, uint64_t tag)
{
    for (size_t i = 0; i < dl->n_sessions; i++) {
        s_session *s = &dl->sessions[i];
        if (strcmp(s->partner, partner) != 0)
            continue;
        for (size_t k = 0; k < s->n_flight; k++) {
            if (s->flight[k].tag == tag) {
                s->flight[k] = s->flight[--s->n_flight];
                return 1;
            }
        }
    }
    return 0;
}

/* Does binding pattern b allow subscribing to t (a topic or a pattern)? */
static int s_covers(const char *b, const char *t)
{
    if (strcmp(b, t) == 0 || strcmp(b, "*") == 0)
        return 1;
    if (!strchr(t, '*'))
        return mn_topic_matches(b, t);
    size_t lb = strlen(b), lt = strlen(t);
    /* "care.*" covers "care.utrecht.*" */
    return lb >= 2 && strcmp(b + lb - 2, ".*") == 0 && lt > lb && strncmp(b, t, lb - 1) == 0;
}

static int s_bound(const gw_partner *p, const char *topic)
{
    for (size_t i = 0; i < p->n_bindings; i++)
        if (s_covers(p->bindings[i].topic, topic))
            return 1;
    return 0;
}

/* --- sending ------------------------------------------------------------------------------ */

static int s_send(gw_deliver *dl, const uint8_t *rid, size_t rid_len, const mn_to_partner *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mn_wire_encode_to_partner(m, &buf, &len) != MN_OK)
        return -1;
    int rc = 0;
    if (zmq_send(dl->socket, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(dl->socket, buf, len, ZMQ_DONTWAIT) < 0)
        rc = -1;
    free(buf);
    return rc;
}

/* Count and send one PartnerError; the caller logs it. */
static void s_error_out(gw_deliver *dl, const uint8_t *rid, size_t rid_len, int code,
                        const char *detail, const gw_partner *bound)
{
    mn_to_partner m;
    memset(&m, 0, sizeof m);
    m.kind = MN_TO_PARTNER_ERROR;
    m.error = code;
    snprintf(m.detail, sizeof m.detail, "%.*s", (int)sizeof m.detail - 1, detail);
    for (size_t i = 0; bound && i < bound->n_bindings && i < MN_TOPICS_MAX; i++)
        snprintf(m.topics.name[m.topics.n++], sizeof m.topics.name[0], "%s",
                 bound->bindings[i].topic);
    atomic_fetch_add(&dl->deps.stats->partner_errors, 1);
    (void)s_send(dl, rid, rid_len, &m);
}

static void s_send_error(gw_deliver *dl, const uint8_t *rid, size_t rid_len, int code,
                         const char *detail, const gw_partner *bound)
{
    mn_log_ratelimited(&dl->lim, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                       "partner error code=%s detail=\"%s\"", mn_partner_error_name(code), detail);
    s_error_out(dl, rid, rid_len, code, detail, bound);
}

/* An ack or nack of a tag the partner was never given: counted, logged, answered; the session
 * goes on and nothing in the queue changed. */
static void s_unknown_tag(gw_deliver *dl, const s_change *c)
{
    const char *what = c->what == S_ACK ? "ack" : "nack";
    char detail[160];
    atomic_fetch_add(&dl->deps.stats->partner_unknown_acks, 1);
    mn_log_ratelimited(&dl->lim_tags, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                       "%s of a tag never given to the partner, ignored partner=%s tag=%llu "
                       "reason=UNKNOWN_TAG",
                       what, c->partner, (unsigned long long)c->tag);
    snprintf(detail, sizeof detail,
             "%s of tag %llu: this partner was never given that tag; "
             "nothing was changed",
             what, (unsigned long long)c->tag);
    s_error_out(dl, c->rid, c->rid_len, MN_PARTNER_UNKNOWN_TAG, detail, NULL);
}

/* Does an item (comma-joined topics) match the session's subscription? */
static int s_wanted(const s_session *s, const char *topics)
{
    char buf[GW_TOPICS_TEXT_MAX];
    snprintf(buf, sizeof buf, "%s", topics);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        for (size_t i = 0; i < s->topics.n; i++)
            if (mn_topic_matches(s->topics.name[i], t))
                return 1;
    return 0;
}

static void s_split_topics(const char *text, mn_topics *out)
{
    char buf[GW_TOPICS_TEXT_MAX];
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    out->n = 0;
    for (char *t = strtok_r(buf, ",", &save); t && out->n < MN_TOPICS_MAX;
         t = strtok_r(NULL, ",", &save))
        snprintf(out->name[out->n++], sizeof out->name[0], "%s", t);
}

typedef struct s_scan {
    gw_deliver *dl;
    s_session *session;
    s_given *given; /* the session's partner's record (NULL: none), looked up once per scan */
    uint64_t now;
    int gone; /* the connection is gone: stop */
} s_scan;

static int s_scan_item(const gw_queue_item *item, void *arg)
{
    s_scan *sc = arg;
    gw_deliver *dl = sc->dl;
    s_session *s = sc->session;
    if (s->n_flight >= s->credit)
        return 1;
    if (s_in_flight(dl, item->partner, item->tag))
        return 0;
    uint64_t max_age_ms = (uint64_t)dl->deps.max_item_age_hours * 3600 * 1000;
    if (sc->now > item->enqueued_ms + max_age_ms) {
        s_change *c = s_change_add(dl, item->partner, item->tag, S_HOLD, 0,
                                   "older than max_item_age_hours without an ack");
        if (c)
            c->acute = item->acute;
        return 0;
    }
    if (item->next_try_ms > sc->now) {
        if (!dl->next_due_ms || item->next_try_ms < dl->next_due_ms)
            dl->next_due_ms = item->next_try_ms;
        return 0;
    }
    if (!s_wanted(s, item->topics))
        return 0;

    mn_to_partner m;
    memset(&m, 0, sizeof m);
    m.kind = MN_TO_PARTNER_DELIVERY;
    m.delivery.tag = item->tag;
    s_split_topics(item->topics, &m.delivery.topics);
    m.delivery.registration = item->registration;
    m.delivery.attempt = item->attempts + 1;
    m.delivery.acute = item->acute;
    m.delivery.sealed = item->sealed; /* borrowed for the send */
    m.delivery.sealed_len = item->sealed_len;
    memcpy(m.delivery.signature, item->signature, sizeof m.delivery.signature);
    if (s_send(dl, s->rid, s->rid_len, &m) != 0) {
        if (zmq_errno() == EHOSTUNREACH)
            sc->gone = 1;
        return 1; /* EAGAIN: the partner is slow; try on the next round */
    }
    uint64_t deadline =
        sc->now + s_backoff(dl, dl->deps.redelivery_ms, sc->now - item->enqueued_ms);
    s->flight[s->n_flight].tag = item->tag;
    s->flight[s->n_flight].deadline_ms = deadline;
    s->n_flight++;
    atomic_fetch_add(&dl->deps.stats->deliveries, 1);
    if (item->attempts > 0)
        atomic_fetch_add(&dl->deps.stats->redeliveries, 1);
    if (sc->given) {
        sc->given->deliveries++;
        sc->given->redeliveries += item->attempts > 0;
    }
    s_given_raise(sc->given, item->tag);
    (void)s_change_add(dl, item->partner, item->tag, S_SENT, deadline, NULL);
    log_debug(S_LOG, "delivered partner=%s tag=%llu attempt=%u acute=%d", item->partner,
              (unsigned long long)item->tag, (unsigned)m.delivery.attempt, item->acute);
    return 0;
}

/* --- receiving ---------------------------------------------------------------------------- */

static void s_on_subscribe(gw_deliver *dl, const uint8_t *rid, size_t rid_len, const char *partner,
                           const mn_from_partner *m)
{
    const gw_partner *p = s_partner(dl, partner);
    char detail[256];
    if (!p) {
        s_send_error(dl, rid, rid_len, MN_PARTNER_BAD_REQUEST,
                     "this partner is no longer configured", NULL);
        return;
    }
    mn_topics want = m->topics;
    if (want.n == 0) {
        for (size_t i = 0; i < p->n_bindings && i < MN_TOPICS_MAX; i++)
            snprintf(want.name[want.n++], sizeof want.name[0], "%s", p->bindings[i].topic);
    }
    for (size_t i = 0; i < want.n; i++) {
        if (!s_bound(p, want.name[i])) {
            snprintf(detail, sizeof detail,
                     "topic \"%s\" is not bound to partner %s; ask the gateway's operator to "
                     "bind it, or subscribe to the bound topics",
                     want.name[i], partner);
            s_send_error(dl, rid, rid_len, MN_PARTNER_UNBOUND_TOPIC, detail, p);
            return;
        }
    }
    /* A new subscription of this partner replaces its older sessions (a reconnect). */
    for (size_t i = dl->n_sessions; i-- > 0;)
        if (strcmp(dl->sessions[i].partner, partner) == 0)
            s_session_end(dl, i, "resubscribed");
    s_session *grown = realloc(dl->sessions, (dl->n_sessions + 1) * sizeof *grown);
    if (!grown)
        return;
    dl->sessions = grown;
    s_session *s = &dl->sessions[dl->n_sessions++];
    memset(s, 0, sizeof *s);
    memcpy(s->rid, rid, rid_len);
    s->rid_len = rid_len;
    snprintf(s->partner, sizeof s->partner, "%s", partner);
    s->topics = want;
    s->credit = m->credit;
    dl->dirty = 1;

    mn_to_partner ok;
    memset(&ok, 0, sizeof ok);
    ok.kind = MN_TO_PARTNER_SUBSCRIBED;
    ok.topics = want;
    ok.credit = m->credit;
    (void)s_send(dl, rid, rid_len, &ok);
    log_notice(S_LOG, "subscribed partner=%s topics=%zu credit=%u", partner, want.n,
               (unsigned)m->credit);
}

static void s_on_message(gw_deliver *dl, zmq_msg_t *rid, zmq_msg_t *payload)
{
    const char *partner = zmq_msg_gets(payload, "User-Id");
    const uint8_t *r = zmq_msg_data(rid);
    size_t rlen = zmq_msg_size(rid);
    mn_from_partner m;
    mn_diag d;
    mn_diag_clear(&d);
    if (!partner || !*partner || rlen > S_ROUTE_ID_MAX) {
        s_send_error(dl, r, rlen, MN_PARTNER_BAD_REQUEST, "connection is not authenticated", NULL);
        return;
    }
    gw_conn_note(dl->conn, payload, partner);
    if (mn_wire_decode_from_partner(zmq_msg_data(payload), zmq_msg_size(payload),
                                    S_MAX_REQUEST_BYTES, &m, &d) != MN_OK) {
        s_send_error(dl, r, rlen, MN_PARTNER_BAD_REQUEST, d.what, NULL);
        return;
    }
    if (m.kind == MN_FROM_PARTNER_SUBSCRIBE) {
        s_on_subscribe(dl, r, rlen, partner, &m);
        return;
    }
    s_session *s = s_session_by_rid(dl, r, rlen);
    if (!s) {
        s_send_error(dl, r, rlen, MN_PARTNER_NOT_SUBSCRIBED,
                     "subscribe first: credit, ack and nack belong to a subscription", NULL);
        return;
    }
    switch (m.kind) {
    case MN_FROM_PARTNER_CREDIT: s->credit = m.credit; break;
    case MN_FROM_PARTNER_ACK:
        /* An ack of an item delivered on an earlier connection is as good: the partner has it.
         * One of a tag it was never given is found out when the ack is applied (s_flush). */
        s_answer_add(dl, partner, m.tag, S_ACK, NULL, 0, r, rlen, s_land(dl, partner, m.tag));
        break;
    case MN_FROM_PARTNER_NACK:
        s_answer_add(dl, partner, m.tag, S_NACK, m.reason[0] ? m.reason : "nacked", m.transient, r,
                     rlen, s_land(dl, partner, m.tag));
        break;
    default: break;
    }
    dl->dirty = 1;
}

int gw_deliver_handle(gw_deliver *dl)
{
    for (int n = 0; n < S_HANDLE_MAX; n++) {
        zmq_msg_t rid, payload;
        zmq_msg_init(&rid);
        zmq_msg_init(&payload);
        if (zmq_msg_recv(&rid, dl->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&payload);
            break;
        }
        if (zmq_msg_more(&rid) && zmq_msg_recv(&payload, dl->socket, 0) >= 0) {
            if (zmq_msg_more(&payload)) {
                /* One frame per message: drop the rest and refuse. */
                while (zmq_msg_more(&payload)) {
                    zmq_msg_close(&payload);
                    zmq_msg_init(&payload);
                    if (zmq_msg_recv(&payload, dl->socket, 0) < 0)
                        break;
                }
                s_send_error(dl, zmq_msg_data(&rid), zmq_msg_size(&rid), MN_PARTNER_BAD_REQUEST,
                             "a message must be exactly one frame", NULL);
            } else {
                s_on_message(dl, &rid, &payload);
            }
        }
        zmq_msg_close(&rid);
        zmq_msg_close(&payload);
    }
    /* Acks and nacks are durable before anything else goes out. */
    return s_flush(dl) == MN_OK ? MN_OK : MN_ESTORE;
}

/* --- pumping ------------------------------------------------------------------------------ */

int gw_deliver_pump(gw_deliver *dl)
{
    uint64_t now = mn_now_ms();
    int timed = dl->next_due_ms && now >= dl->next_due_ms;
    if (!dl->dirty && !timed && now - dl->last_pump_ms < S_IDLE_RESCAN_MS)
        return MN_OK;
    dl->dirty = 0;
    dl->last_pump_ms = now;
    dl->next_due_ms = 0;

    /* Timed-out deliveries leave the flight; their next_try_ms has passed, so they are due. */
    for (size_t i = 0; i < dl->n_sessions; i++) {
        s_session *s = &dl->sessions[i];
        for (size_t k = s->n_flight; k-- > 0;) {
            if (s->flight[k].deadline_ms <= now) {
                log_info(S_LOG, "no ack in time, will deliver again partner=%s tag=%llu",
                         s->partner, (unsigned long long)s->flight[k].tag);
                s->flight[k] = s->flight[--s->n_flight];
            } else if (!dl->next_due_ms || s->flight[k].deadline_ms < dl->next_due_ms) {
                dl->next_due_ms = s->flight[k].deadline_ms;
            }
        }
    }
    int rc = MN_OK;
    for (size_t i = 0; i < dl->n_sessions;) {
        s_session *s = &dl->sessions[i];
        if (s->n_flight >= s->credit || !s_partner(dl, s->partner)) {
            i++;
            continue;
        }
        s_scan sc = {.dl = dl, .session = s, .given = s_given_find(dl, s->partner), .now = now};
        if (gw_store_queue_each(dl->deps.store, s->partner, s_scan_item, &sc) != MN_OK)
            rc = MN_ESTORE;
        if (sc.gone) {
            s_session_end(dl, i, "connection gone");
            continue;
        }
        i++;
    }
    if (s_flush(dl) != MN_OK)
        rc = MN_ESTORE;
    return rc;
}

int gw_deliver_next_timeout_ms(const gw_deliver *dl, int cap_ms)
{
    if (dl->dirty)
        return 0;
    if (dl->n_sessions == 0 || !dl->next_due_ms)
        return cap_ms;
    uint64_t now = mn_now_ms();
    if (dl->next_due_ms <= now)
        return 0;
    uint64_t wait = dl->next_due_ms - now;
    return wait < (uint64_t)cap_ms ? (int)wait : cap_ms;
}

void gw_deliver_wake(gw_deliver *dl)
{
    dl->dirty = 1;
}

void *gw_deliver_socket(gw_deliver *dl)
{
    return dl->socket;
}

/* --- life cycle --------------------------------------------------------------------------- */

/* Items a past process had in flight carry an ack deadline it can no longer keep: due now. */
static int s_clear_old_flights(const gw_queue_item *item, void *arg)
{
    gw_deliver *dl = arg;
    s_given_note(dl, item->partner, item->tag);
    /* A large backlog is read once, whole: do not let it stay resident. */
    if (++dl->scanned % 4096 == 0)
        gw_store_release_map(dl->deps.store);
    if (item->nacks == 0 && item->next_try_ms > mn_now_ms())
        (void)s_change_add(dl, item->partner, item->tag, S_DUE_NOW, 0, NULL);
    return 0;
}

/* A record of the highest tag seen for every configured partner; a partner new to the table
 * starts from the highest tag in its queue (the hold is read by the caller). Kept for partners
 * removed since, in case they come back. Returns MN_OK or MN_ENOMEM. */
static int s_given_update(gw_deliver *dl, const gw_partner *partners, size_t n)
{
    size_t fresh = 0;
    for (size_t i = 0; i < n; i++)
        fresh += s_given_find(dl, partners[i].name) == NULL;
    if (fresh == 0)
        return MN_OK;
    s_given *grown = realloc(dl->given, (dl->n_given + fresh) * sizeof *grown);
    if (!grown)
        return MN_ENOMEM;
    dl->given = grown;
    for (size_t i = 0; i < n; i++) {
        if (s_given_find(dl, partners[i].name))
            continue;
        s_given *g = &dl->given[dl->n_given++];
        memset(g, 0, sizeof *g);
        snprintf(g->partner, sizeof g->partner, "%s", partners[i].name);
        /* At the first call s_clear_old_flights reads every queue anyway. */
        if (dl->partners_seen &&
            gw_store_queue_each(dl->deps.store, g->partner, s_note_item, dl) != MN_OK)
            log_warn(S_LOG, "cannot scan the queue of partner=%s", g->partner);
    }
    return MN_OK;
}

int gw_deliver_set_partners(gw_deliver *dl, const gw_partner *partners, size_t n)
{
    if (s_given_update(dl, partners, n) != MN_OK)
        return MN_ENOMEM;
    gw_partner *copy = calloc(n ? n : 1, sizeof *copy);
    if (!copy)
        return MN_ENOMEM;
    if (n)
        memcpy(copy, partners, n * sizeof *copy);
    free(dl->partners);
    dl->partners = copy;
    dl->n_partners = n;
    for (size_t i = dl->n_sessions; i-- > 0;)
        if (!s_partner(dl, dl->sessions[i].partner))
            s_session_end(dl, i, "partner revoked or removed from the configuration");
    if (!dl->partners_seen) {
        dl->partners_seen = 1;
        for (size_t i = 0; i < n; i++)
            if (gw_store_queue_each(dl->deps.store, copy[i].name, s_clear_old_flights, dl) != MN_OK)
                log_warn(S_LOG, "cannot scan the queue of partner=%s", copy[i].name);
    }
    if (gw_store_hold_each(dl->deps.store, s_note_item, dl) != MN_OK)
        log_warn(S_LOG, "cannot scan the hold queues");
    dl->dirty = 1;
    return s_flush(dl) == MN_OK ? MN_OK : MN_ESTORE;
}

static int s_has_session(const gw_deliver *dl, const char *partner)
{
    for (size_t i = 0; i < dl->n_sessions; i++)
        if (strcmp(dl->sessions[i].partner, partner) == 0)
            return 1;
    return 0;
}

void gw_deliver_snapshot(gw_deliver *dl, gw_snapshot *s)
{
    s->connected_partners = gw_conn_open_count(dl->conn);
    s->partners = calloc(dl->n_partners ? dl->n_partners : 1, sizeof *s->partners);
    if (!s->partners)
        return;
    for (size_t i = 0; i < dl->n_partners; i++) {
        const gw_partner *p = &dl->partners[i];
        gw_snap_partner *out = &s->partners[i];
        snprintf(out->name, sizeof out->name, "%s", p->name);
        snprintf(out->kind, sizeof out->kind, "%s", gw_partner_kind_name(p->kind));
        out->revoked = p->revoked;
        out->connected = s_has_session(dl, p->name);
        const s_given *g = s_given_find(dl, p->name);
        if (g) {
            out->deliveries = g->deliveries;
            out->redeliveries = g->redeliveries;
            out->acks = g->acks;
            out->nacks = g->nacks;
        }
    }
    s->n_partners = dl->n_partners;
}

size_t gw_deliver_close_partner(gw_deliver *dl, const char *name)
{
    /* One that has not subscribed yet is noted for nobody: close every such one. */
    return gw_conn_close_party(dl->conn, name) + gw_conn_close_idle(dl->conn);
}

int gw_deliver_new(void *zmq_ctx, const char *listen, const gw_deliver_deps *deps, gw_deliver **out,
                   mn_diag *d)
{
    int rc = MN_ENOMEM;
    gw_deliver *dl = calloc(1, sizeof *dl);
    if (!dl)
        goto fail;
    dl->deps = *deps;
    dl->rng = mn_now_ms() ^ 0x9e3779b97f4a7c15ULL;
    rc = gw_auth_listen(zmq_ctx, listen, mn_key_curve_secret(deps->gateway), GW_AUTH_PARTNER_DOMAIN,
                        S_MAX_REQUEST_BYTES * 2, "delivery_listen", &dl->socket, d);
    if (rc == MN_OK)
        rc = gw_conn_start(zmq_ctx, dl->socket, "partner", deps->stats, &dl->conn, d);
    if (rc != MN_OK)
        goto fail;
    *out = dl;
    return MN_OK;
fail:
    gw_deliver_destroy(&dl);
    return rc;
}

void gw_deliver_destroy(gw_deliver **dl_p)
{
    if (!dl_p || !*dl_p)
        return;
    gw_deliver *dl = *dl_p;
    gw_conn_stop(&dl->conn);
    if (dl->socket)
        zmq_close(dl->socket);
    free(dl->partners);
    free(dl->sessions);
    free(dl->changes);
    free(dl->given);
    free(dl);
    *dl_p = NULL;
}
