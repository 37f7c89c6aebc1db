/* test_gw_deliver - the delivery socket: a partner subscribes and gets its queued items, acute
 * first, within its credit; an ack clears an item; a nack, or no answer in time, sends it again
 * after a back-off; a transient nack defers it without counting; max_nacks nacks or too great an
 * age move it to the hold, where it stays until released; refusals (unbound topic, not
 * subscribed, revoked partner, a tag never given) are answered and change nothing.
 *
 * Real parts only: a real LMDB store in a temp folder, the ZAP handler (gw_auth) with real
 * partner identities, the delivery socket on 127.0.0.1 (CURVE over TCP: inproc carries no
 * handshake, so no User-Id), and the partner as a DEALER socket speaking the wire protocol
 * (mn_wire). Items are sealed to their partner and signed by the gateway as gw_dispatch does;
 * each delivery is checked against that signature. The test drives the gateway's loop itself
 * (poll, gw_deliver_handle, gw_deliver_pump) and waits for conditions with a deadline, never a
 * fixed sleep. redelivery_ms is 200 here, so back-offs are short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_auth.h"
#include "gw_deliver.h"
#include "gw_snapshot.h"
#include "gw_stage_fixture.h"
#include "mn_client.h"
#include "mn_delivery.h"
#include "mn_log.h"

#define REDELIVERY_MS 200
#define DEADLINE_MS 10000 /* only reached when something is wrong */
#define FRAME_MAX (4u * 1024 * 1024)
#define POLICE "police-midden"
#define CARE "care-midden"

typedef struct fixture {
    char root[64];
    gw_store *store;
    gw_stats stats;
    mn_key *gateway;
    mn_key *police;
    mn_key *care;
    gw_partner partners[2]; /* sorted by name: care, police */
    void *ctx;
    gw_auth *auth;
    gw_deliver_deps deps;
    gw_deliver *dl;
    char endpoint[128];
    void *clients[4]; /* closed by the teardown, so a failed test does not hang zmq_ctx_term */
    size_t n_clients;
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char dir[128];
    mn_diag d;
    assert_non_null(f);
    stage_tmpdir(f->root, sizeof f->root, "test_gw_deliver");
    snprintf(dir, sizeof dir, "%s/data", f->root);
    assert_int_equal(gw_store_open(dir, 16, 0, &f->store, &d), MN_OK);
    gw_stats_init(&f->stats);
    f->gateway = stage_key(MN_ROLE_GATEWAY, "gateway");
    f->police = stage_key(MN_ROLE_PARTNER, POLICE);
    f->care = stage_key(MN_ROLE_PARTNER, CARE);
    f->partners[0] = stage_partner(CARE, GW_PARTNER_CARE, f->care, "care.*",
                                   MELDNET__SHARING_LEVEL__PSEUDONYMOUS);
    f->partners[1] = stage_partner(POLICE, GW_PARTNER_POLICE, f->police, "police.acute",
                                   MELDNET__SHARING_LEVEL__FULL);
    stage_bind(&f->partners[1], "hotline.*", MELDNET__SHARING_LEVEL__FULL);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    assert_int_equal(gw_auth_start(f->ctx, &f->stats, &f->auth, &d), MN_OK);
    assert_int_equal(gw_auth_set_partners(f->auth, f->partners, 2), MN_OK);
    f->deps = (gw_deliver_deps){.store = f->store,
                                .stats = &f->stats,
                                .gateway = f->gateway,
                                .redelivery_ms = REDELIVERY_MS,
                                .max_nacks = 3,
                                .transient_retry_hours = 72,
                                .max_item_age_hours = 168};
    *state = f;
    return 0;
}

/* Start the delivery socket with f->deps (tests change them first) and the partner table. */
static void s_start(fixture *f)
{
    mn_diag d;
    size_t len = sizeof f->endpoint;
    mn_diag_clear(&d);
    if (gw_deliver_new(f->ctx, "tcp://127.0.0.1:*", &f->deps, &f->dl, &d) != MN_OK)
        fail_msg("gw_deliver_new: %s: %s", d.where, d.what);
    assert_int_equal(zmq_getsockopt(gw_deliver_socket(f->dl), ZMQ_LAST_ENDPOINT, f->endpoint, &len),
                     0);
    assert_int_equal(gw_deliver_set_partners(f->dl, f->partners, 2), MN_OK);
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->n_clients; i++)
        zmq_close(f->clients[i]);
    gw_deliver_destroy(&f->dl);
    gw_deliver_destroy(&f->dl); /* twice is harmless */
    gw_auth_destroy(&f->auth);
    zmq_ctx_term(f->ctx);
    gw_store_destroy(&f->store);
    stage_rmdir(f->root);
    mn_key_destroy(&f->gateway);
    mn_key_destroy(&f->police);
    mn_key_destroy(&f->care);
    free(f);
    return 0;
}

/* --- the queue ----------------------------------------------------------------------------- */

/* Queue an item for `partner` as gw_dispatch does (sealed to its box key, signed for it):
 * "referral <registration>". Returns its tag. */
static uint64_t s_put(fixture *f, const mn_key *partner, uint64_t registration, int acute,
                      const char *topic, uint64_t enqueued_ms)
{
    char text[64];
    mn_delivery dl;
    gw_queue_item item;
    gw_store_txn *txn = NULL;
    mn_diag d;
    memset(&dl, 0, sizeof dl);
    memset(&item, 0, sizeof item);
    snprintf(text, sizeof text, "referral %llu", (unsigned long long)registration);
    assert_int_equal(mn_box_seal(mn_key_public(partner)->box, (const uint8_t *)text, strlen(text),
                                 &dl.sealed, &dl.sealed_len),
                     MN_OK);
    dl.registration = registration;
    dl.topics.n = 1;
    snprintf(dl.topics.name[0], sizeof dl.topics.name[0], "%s", topic);
    const char *name = mn_key_public(partner)->name;
    assert_int_equal(mn_delivery_sign(&dl, name, f->gateway), MN_OK);
    snprintf(item.partner, sizeof item.partner, "%s", name);
    item.acute = acute;
    item.registration = registration;
    item.enqueued_ms = enqueued_ms ? enqueued_ms : mn_now_ms();
    snprintf(item.topics, sizeof item.topics, "%s", topic);
    item.sealed = dl.sealed;
    item.sealed_len = dl.sealed_len;
    memcpy(item.signature, dl.signature, sizeof item.signature);
    assert_int_equal(gw_store_begin(f->store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_put(txn, &item, &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    mn_delivery_clear(&dl);
    return item.tag;
}

typedef struct s_find {
    uint64_t tag;
    int found;
    gw_queue_item item; /* sealed not kept */
} s_find;

static int s_find_item(const gw_queue_item *item, void *arg)
{
    s_find *s = arg;
    if (item->tag != s->tag)
        return 0;
    s->found = 1;
    s->item = *item;
    s->item.sealed = NULL;
    return 1;
}

/* The queued item `tag` of partner (found: 1), or 0 when it is not in the queue. */
static int s_queued(fixture *f, const char *partner, uint64_t tag, gw_queue_item *out)
{
    s_find s = {.tag = tag};
    assert_int_equal(gw_store_queue_each(f->store, partner, s_find_item, &s), MN_OK);
    if (out)
        *out = s.item;
    return s.found;
}

/* The same for the hold queues. */
static int s_held(fixture *f, uint64_t tag, gw_queue_item *out)
{
    s_find s = {.tag = tag};
    assert_int_equal(gw_store_hold_each(f->store, s_find_item, &s), MN_OK);
    if (out)
        *out = s.item;
    return s.found;
}

static uint64_t s_depth(fixture *f, const char *partner)
{
    uint64_t n = 0, oldest = 0;
    assert_int_equal(gw_store_queue_depth(f->store, partner, &n, &oldest), MN_OK);
    return n;
}

/* --- the gateway's loop and the partner ---------------------------------------------------- */

/* One round of the gateway's loop, as main.c runs it: poll (at most max_wait_ms), handle what
 * came in, pump. Also polls `client` (may be NULL) and returns whether it has a message. */
static int s_round(fixture *f, void *client, int max_wait_ms)
{
    zmq_pollitem_t items[2] = {{gw_deliver_socket(f->dl), 0, ZMQ_POLLIN, 0},
                               {client, 0, ZMQ_POLLIN, 0}};
    int n = zmq_poll(items, client ? 2 : 1, gw_deliver_next_timeout_ms(f->dl, max_wait_ms));
    assert_true(n >= 0);
    if (items[0].revents & ZMQ_POLLIN)
        assert_int_equal(gw_deliver_handle(f->dl), MN_OK);
    assert_int_equal(gw_deliver_pump(f->dl), MN_OK);
    return client && (items[1].revents & ZMQ_POLLIN);
}

/* Run the loop until pred(f, arg) holds; fail after DEADLINE_MS. */
static void s_until(fixture *f, int (*pred)(fixture *, const void *), const void *arg,
                    const char *what)
{
    uint64_t end = mn_mono_ms() + DEADLINE_MS;
    while (!pred(f, arg)) {
        if (mn_mono_ms() > end)
            fail_msg("not within %d ms: %s", DEADLINE_MS, what);
        (void)s_round(f, NULL, 20);
    }
}

static void *s_connect(fixture *f, const mn_key *partner)
{
    int linger = 0;
    void *c = zmq_socket(f->ctx, ZMQ_DEALER);
    assert_non_null(c);
    assert_int_equal(zmq_setsockopt(c, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(mn_client_curve(c, partner, mn_key_public(f->gateway)->curve), 0);
    assert_true(f->n_clients < sizeof f->clients / sizeof f->clients[0]);
    f->clients[f->n_clients++] = c;
    assert_int_equal(zmq_connect(c, f->endpoint), 0);
    return c;
}

static void s_send(void *client, const mn_from_partner *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mn_wire_encode_from_partner(m, &buf, &len), MN_OK);
    assert_int_equal(zmq_send(client, buf, len, 0), (int)len);
    free(buf);
}

static void s_answer(void *client, mn_from_partner_kind kind, uint64_t tag, const char *reason,
                     int transient)
{
    mn_from_partner m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.tag = tag;
    m.transient = transient;
    snprintf(m.reason, sizeof m.reason, "%s", reason ? reason : "");
    s_send(client, &m);
}

/* The next message the gateway sends to client, decoded (caller: mn_delivery_clear). */
static void s_recv(fixture *f, void *client, mn_to_partner *out)
{
    uint64_t end = mn_mono_ms() + DEADLINE_MS;
    while (!s_round(f, client, 20))
        if (mn_mono_ms() > end)
            fail_msg("no message for the partner within %d ms", DEADLINE_MS);
    zmq_msg_t msg;
    mn_diag d;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, client, 0) >= 0);
    assert_int_equal(mn_wire_decode_to_partner(zmq_msg_data(&msg), zmq_msg_size(&msg), FRAME_MAX,
                                               out, &d),
                     MN_OK);
    zmq_msg_close(&msg);
}

/* Subscribe (no topics: every bound one) with `credit`; returns when it is confirmed. */
static void s_subscribe(fixture *f, void *client, uint32_t credit)
{
    mn_from_partner m;
    mn_to_partner ok;
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_SUBSCRIBE;
    m.credit = credit;
    s_send(client, &m);
    s_recv(f, client, &ok);
    assert_int_equal(ok.kind, MN_TO_PARTNER_SUBSCRIBED);
    assert_int_equal(ok.credit, credit);
}

/* The next delivery: checks what a partner checks (the gateway's signature for this partner,
 * the referral opens with its key, "referral <registration>" inside). */
static mn_delivery s_delivery(fixture *f, void *client, const mn_key *partner)
{
    mn_to_partner m;
    uint8_t *plain = NULL;
    size_t len = 0;
    char want[64];
    s_recv(f, client, &m);
    if (m.kind != MN_TO_PARTNER_DELIVERY)
        fail_msg("expected a delivery, got kind %d (error %s: %s)", (int)m.kind,
                 mn_partner_error_name(m.error), m.detail);
    const char *name = mn_key_public(partner)->name;
    assert_int_equal(mn_delivery_verify(&m.delivery, name, mn_key_public(f->gateway)->sign), MN_OK);
    assert_int_equal(mn_box_open(partner, m.delivery.sealed, m.delivery.sealed_len, FRAME_MAX,
                                 &plain, &len),
                     MN_OK);
    snprintf(want, sizeof want, "referral %llu", (unsigned long long)m.delivery.registration);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(plain, want, len);
    mn_plain_free(plain, len);
    mn_delivery d = m.delivery;
    free(d.sealed);
    d.sealed = NULL;
    return d;
}

/* The next message is a PartnerError of `code`; returns its detail in out (cap 256). */
static void s_error(fixture *f, void *client, int code, mn_to_partner *out)
{
    s_recv(f, client, out);
    assert_int_equal(out->kind, MN_TO_PARTNER_ERROR);
    assert_int_equal(out->error, code);
}

typedef struct s_tag_of {
    const char *partner;
    uint64_t tag;
} s_tag_of;

static int s_gone(fixture *f, const void *arg)
{
    const s_tag_of *t = arg;
    return !s_queued(f, t->partner, t->tag, NULL);
}

static int s_nacked(fixture *f, const void *arg)
{
    const s_tag_of *t = arg;
    gw_queue_item item;
    return s_queued(f, t->partner, t->tag, &item) && item.nacks > 0;
}

static int s_deferred(fixture *f, const void *arg)
{
    const s_tag_of *t = arg;
    gw_queue_item item;
    return s_queued(f, t->partner, t->tag, &item) && item.deferred_ms > 0;
}

static int s_is_held(fixture *f, const void *arg)
{
    const s_tag_of *t = arg;
    return s_held(f, t->tag, NULL);
}

/* --- delivery, ack ------------------------------------------------------------------------- */

/* Queued items go out, acute lane first, one at a time with credit 1; an ack clears an item
 * and frees the credit for the next. */
static void test_deliver_acute_first_ack_clears(void **state)
{
    fixture *f = *state;
    uint64_t normal = s_put(f, f->police, 1, 0, "hotline.midden-nederland", 0);
    uint64_t acute = s_put(f, f->police, 2, 1, "police.acute", 0);
    uint64_t other = s_put(f, f->care, 3, 0, "care.midden-nederland", 0);
    s_start(f);
    void *c = s_connect(f, f->police);
    mn_from_partner sub;
    mn_to_partner ok;
    memset(&sub, 0, sizeof sub);
    sub.kind = MN_FROM_PARTNER_SUBSCRIBE;
    sub.credit = 1;
    s_send(c, &sub);
    s_recv(f, c, &ok);
    assert_int_equal(ok.kind, MN_TO_PARTNER_SUBSCRIBED);
    assert_int_equal(ok.topics.n, 2); /* no topics asked: every bound one */
    assert_string_equal(ok.topics.name[0], "police.acute");
    assert_string_equal(ok.topics.name[1], "hotline.*");

    mn_delivery d1 = s_delivery(f, c, f->police);
    assert_int_equal(d1.tag, acute);
    assert_int_equal(d1.registration, 2);
    assert_int_equal(d1.acute, 1);
    assert_int_equal(d1.attempt, 1);
    assert_int_equal(d1.topics.n, 1);
    assert_string_equal(d1.topics.name[0], "police.acute");
    gw_queue_item item;
    assert_true(s_queued(f, POLICE, acute, &item));
    assert_int_equal(item.attempts, 1); /* durable before the next round */

    s_answer(c, MN_FROM_PARTNER_ACK, acute, NULL, 0);
    mn_delivery d2 = s_delivery(f, c, f->police);
    assert_int_equal(d2.tag, normal);
    assert_int_equal(d2.acute, 0);
    assert_false(s_queued(f, POLICE, acute, NULL)); /* acked before the next went out */
    s_answer(c, MN_FROM_PARTNER_ACK, normal, NULL, 0);
    s_tag_of t = {POLICE, normal};
    s_until(f, s_gone, &t, "the ack clears the item");

    assert_int_equal(s_depth(f, POLICE), 0);
    assert_int_equal(s_depth(f, CARE), 1); /* care's item is not police's */
    assert_true(s_queued(f, CARE, other, NULL));
    assert_int_equal(atomic_load(&f->stats.deliveries), 2);
    assert_int_equal(atomic_load(&f->stats.redeliveries), 0);
    assert_int_equal(atomic_load(&f->stats.acks), 2);
    assert_int_equal(atomic_load(&f->stats.nacks), 0);

    gw_snapshot s;
    memset(&s, 0, sizeof s);
    gw_deliver_snapshot(f->dl, &s);
    assert_int_equal(s.n_partners, 2);
    assert_string_equal(s.partners[1].name, POLICE);
    assert_string_equal(s.partners[1].kind, "police");
    assert_int_equal(s.partners[1].connected, 1);
    assert_int_equal(s.partners[1].deliveries, 2);
    assert_int_equal(s.partners[1].acks, 2);
    assert_int_equal(s.partners[0].connected, 0);
    assert_int_equal(s.partners[0].deliveries, 0);
    gw_snapshot_clear(&s);
}

/* Credit bounds what is in flight: with credit 2 two items come before any ack. A repeated
 * ack changes nothing and is not answered. */
static void test_credit_and_repeated_ack(void **state)
{
    fixture *f = *state;
    uint64_t t1 = s_put(f, f->police, 1, 0, "hotline.a", 0);
    uint64_t t2 = s_put(f, f->police, 2, 0, "hotline.b", 0);
    uint64_t t3 = s_put(f, f->police, 3, 0, "hotline.c", 0);
    s_start(f);
    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 2);
    assert_int_equal(s_delivery(f, c, f->police).tag, t1);
    assert_int_equal(s_delivery(f, c, f->police).tag, t2);
    s_answer(c, MN_FROM_PARTNER_ACK, t1, NULL, 0);
    s_answer(c, MN_FROM_PARTNER_ACK, t1, NULL, 0); /* again: harmless */
    assert_int_equal(s_delivery(f, c, f->police).tag, t3);
    s_answer(c, MN_FROM_PARTNER_ACK, t2, NULL, 0);
    s_answer(c, MN_FROM_PARTNER_ACK, t3, NULL, 0);
    s_tag_of t = {POLICE, t3};
    s_until(f, s_gone, &t, "the last ack");
    assert_int_equal(s_depth(f, POLICE), 0);
    assert_int_equal(atomic_load(&f->stats.acks), 3);
    assert_int_equal(atomic_load(&f->stats.partner_unknown_acks), 0);
    assert_int_equal(atomic_load(&f->stats.partner_errors), 0);
}

/* --- nack, no answer, transient nack -------------------------------------------------------- */

/* A nack keeps the item, counts it and makes it due after a back-off; then it comes again. */
static void test_nack_retries_with_backoff(void **state)
{
    fixture *f = *state;
    uint64_t tag = s_put(f, f->police, 7, 0, "hotline.a", 0);
    s_start(f);
    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 1);
    assert_int_equal(s_delivery(f, c, f->police).tag, tag);

    uint64_t nacked_at = mn_now_ms();
    s_answer(c, MN_FROM_PARTNER_NACK, tag, "referral does not parse", 0);
    s_tag_of t = {POLICE, tag};
    s_until(f, s_nacked, &t, "the nack is recorded");
    gw_queue_item item;
    assert_true(s_queued(f, POLICE, tag, &item));
    assert_int_equal(item.nacks, 1);
    assert_int_equal(item.attempts, 1);
    assert_string_equal(item.reason, "referral does not parse");
    /* First back-off: 500 ms capped at redelivery_ms, plus the age term and jitter. */
    assert_true(item.next_try_ms >= nacked_at + REDELIVERY_MS);
    assert_true(item.next_try_ms <= mn_now_ms() + 2 * REDELIVERY_MS);

    mn_delivery again = s_delivery(f, c, f->police);
    assert_true(mn_now_ms() >= nacked_at + REDELIVERY_MS);
    assert_int_equal(again.tag, tag);
    assert_int_equal(again.attempt, 2);
    assert_int_equal(atomic_load(&f->stats.nacks), 1);
    assert_int_equal(atomic_load(&f->stats.nacks_transient), 0);
    assert_int_equal(atomic_load(&f->stats.redeliveries), 1);

    s_answer(c, MN_FROM_PARTNER_ACK, tag, NULL, 0);
    s_until(f, s_gone, &t, "the ack clears the item");
    assert_int_equal(atomic_load(&f->stats.acks), 1);
}

/* No answer within the redelivery time: the same session gets the item again. */
static void test_no_ack_redelivers(void **state)
{
    fixture *f = *state;
    uint64_t tag = s_put(f, f->police, 8, 1, "police.acute", 0);
    s_start(f);
    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 1);
    uint64_t sent = mn_now_ms();
    assert_int_equal(s_delivery(f, c, f->police).attempt, 1);
    mn_delivery again = s_delivery(f, c, f->police);
    assert_int_equal(again.tag, tag);
    assert_int_equal(again.attempt, 2);
    assert_true(mn_now_ms() >= sent + REDELIVERY_MS);
    assert_int_equal(atomic_load(&f->stats.redeliveries), 1);
    assert_int_equal(atomic_load(&f->stats.nacks), 0);
    gw_queue_item item;
    assert_true(s_queued(f, POLICE, tag, &item));
    assert_int_equal(item.nacks, 0); /* silence is not a refusal */
}

/* A transient nack (the partner's storage cannot take it now) defers the item without counting
 * towards max_nacks; it comes again soon. */
static void test_transient_nack_defers(void **state)
{
    fixture *f = *state;
    f->deps.max_nacks = 1; /* one counted nack would hold it */
    uint64_t tag = s_put(f, f->police, 9, 0, "hotline.a", 0);
    s_start(f);
    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 1);
    assert_int_equal(s_delivery(f, c, f->police).tag, tag);
    s_answer(c, MN_FROM_PARTNER_NACK, tag, "disk full", 1);
    s_tag_of t = {POLICE, tag};
    s_until(f, s_deferred, &t, "the deferral is recorded");
    gw_queue_item item;
    assert_true(s_queued(f, POLICE, tag, &item));
    assert_int_equal(item.nacks, 0);
    assert_string_equal(item.reason, "disk full");
    assert_true(item.next_try_ms > item.deferred_ms);
    assert_int_equal(atomic_load(&f->stats.nacks), 1);
    assert_int_equal(atomic_load(&f->stats.nacks_transient), 1);

    mn_delivery again = s_delivery(f, c, f->police);
    assert_int_equal(again.tag, tag);
    assert_int_equal(again.attempt, 2);
    s_answer(c, MN_FROM_PARTNER_NACK, tag, "disk full", 1); /* and again */
    mn_delivery third = s_delivery(f, c, f->police);
    assert_int_equal(third.attempt, 3);
    assert_false(s_held(f, tag, NULL));
    assert_int_equal(atomic_load(&f->stats.held), 0);
}

/* --- hold ---------------------------------------------------------------------------------- */

/* max_nacks refusals move the item to the hold (an acute one raises the alarm); a held item is
 * not delivered (the partner gets the next one) until it is released. */
static void test_nacks_hold_until_released(void **state)
{
    fixture *f = *state;
    f->deps.max_nacks = 2;
    uint64_t acute = s_put(f, f->police, 10, 1, "police.acute", 0);
    s_start(f);
    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 1);
    assert_int_equal(s_delivery(f, c, f->police).attempt, 1);
    s_answer(c, MN_FROM_PARTNER_NACK, acute, "no such case", 0);
    assert_int_equal(s_delivery(f, c, f->police).attempt, 2);
    s_answer(c, MN_FROM_PARTNER_NACK, acute, "still no such case", 0);
    s_tag_of t = {POLICE, acute};
    s_until(f, s_is_held, &t, "the item goes to the hold");

    gw_queue_item item;
    assert_true(s_held(f, acute, &item));
    assert_false(s_queued(f, POLICE, acute, NULL));
    assert_int_equal(item.nacks, 2);
    assert_non_null(strstr(item.reason, "refused 2 times by the partner"));
    assert_non_null(strstr(item.reason, "still no such case"));
    assert_int_equal(atomic_load(&f->stats.held), 1);
    assert_int_equal(atomic_load(&f->stats.held_acute), 1);
    assert_int_equal(atomic_load(&f->stats.nacks), 2);

    /* Held, it stays held: the next delivery is a newer item. */
    uint64_t normal = s_put(f, f->police, 11, 0, "hotline.a", 0);
    gw_deliver_wake(f->dl);
    mn_delivery next = s_delivery(f, c, f->police);
    assert_int_equal(next.tag, normal);
    s_answer(c, MN_FROM_PARTNER_ACK, normal, NULL, 0);

    /* Released by the operator, it comes again as new. */
    gw_store_txn *txn = NULL;
    mn_diag d;
    assert_int_equal(gw_store_begin(f->store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_hold_release(txn, POLICE, acute, &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_deliver_wake(f->dl);
    mn_delivery back = s_delivery(f, c, f->police);
    assert_int_equal(back.tag, acute);
    assert_int_equal(back.attempt, 1);
    assert_int_equal(back.acute, 1);
}

/* An item older than max_item_age_hours goes to the hold without being delivered. */
static void test_too_old_is_held(void **state)
{
    fixture *f = *state;
    f->deps.max_item_age_hours = 1;
    uint64_t old = s_put(f, f->police, 12, 0, "hotline.a", mn_now_ms() - 2 * 3600 * 1000);
    uint64_t young = s_put(f, f->police, 13, 0, "hotline.a", 0);
    s_start(f);
    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 1);
    mn_delivery d = s_delivery(f, c, f->police);
    assert_int_equal(d.tag, young);
    s_tag_of t = {POLICE, old};
    s_until(f, s_is_held, &t, "the old item goes to the hold");
    gw_queue_item item;
    assert_true(s_held(f, old, &item));
    assert_string_equal(item.reason, "older than max_item_age_hours without an ack");
    assert_int_equal(item.attempts, 0);
    assert_int_equal(atomic_load(&f->stats.held), 1);
    assert_int_equal(atomic_load(&f->stats.held_acute), 0);
    assert_int_equal(atomic_load(&f->stats.deliveries), 1);
}

/* --- refusals ------------------------------------------------------------------------------ */

/* A tag the partner was never given (unknown, queued but not delivered yet, another partner's)
 * is answered UNKNOWN_TAG, counted, and changes nothing; the session goes on. */
static void test_unknown_tags_change_nothing(void **state)
{
    fixture *f = *state;
    /* Care's tag lies between police's: below the highest police has seen. */
    uint64_t first = s_put(f, f->police, 1, 0, "hotline.a", 0);
    uint64_t cares = s_put(f, f->care, 2, 0, "care.x", 0);
    uint64_t second = s_put(f, f->police, 3, 0, "hotline.b", 0);
    mn_to_partner e;
    s_start(f);
    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 1);
    assert_int_equal(s_delivery(f, c, f->police).tag, first);

    s_answer(c, MN_FROM_PARTNER_ACK, second + 1000, NULL, 0); /* above any it got */
    s_error(f, c, MN_PARTNER_UNKNOWN_TAG, &e);
    assert_non_null(strstr(e.detail, "never given"));
    s_answer(c, MN_FROM_PARTNER_ACK, second, NULL, 0); /* queued, never delivered */
    s_error(f, c, MN_PARTNER_UNKNOWN_TAG, &e);
    s_answer(c, MN_FROM_PARTNER_NACK, cares, "not mine", 0); /* care's */
    s_error(f, c, MN_PARTNER_UNKNOWN_TAG, &e);
    assert_non_null(strstr(e.detail, "nack of tag"));
    assert_int_equal(atomic_load(&f->stats.partner_unknown_acks), 3);
    assert_int_equal(atomic_load(&f->stats.acks), 0);
    assert_int_equal(atomic_load(&f->stats.nacks), 0);
    gw_queue_item item;
    assert_true(s_queued(f, POLICE, second, &item));
    assert_int_equal(item.attempts, 0);
    assert_true(s_queued(f, CARE, cares, &item));
    assert_int_equal(item.nacks, 0);

    /* The session goes on. */
    s_answer(c, MN_FROM_PARTNER_ACK, first, NULL, 0);
    assert_int_equal(s_delivery(f, c, f->police).tag, second);
    assert_false(s_queued(f, POLICE, first, NULL));
}

static void test_subscribe_refusals(void **state)
{
    fixture *f = *state;
    mn_to_partner e;
    mn_from_partner m;
    s_start(f);
    void *c = s_connect(f, f->police);

    /* Before subscribing, an ack has no session. */
    s_answer(c, MN_FROM_PARTNER_ACK, 1, NULL, 0);
    s_error(f, c, MN_PARTNER_NOT_SUBSCRIBED, &e);

    /* A topic it is not bound to: refused, with the bound ones. */
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_SUBSCRIBE;
    m.credit = 1;
    m.topics.n = 1;
    snprintf(m.topics.name[0], sizeof m.topics.name[0], "research.online");
    s_send(c, &m);
    s_error(f, c, MN_PARTNER_UNBOUND_TOPIC, &e);
    assert_non_null(strstr(e.detail, "research.online"));
    assert_int_equal(e.topics.n, 2);
    assert_string_equal(e.topics.name[0], "police.acute");

    /* A pattern inside a bound one is fine: hotline.* covers hotline.utrecht. */
    snprintf(m.topics.name[0], sizeof m.topics.name[0], "hotline.utrecht");
    s_send(c, &m);
    mn_to_partner ok;
    s_recv(f, c, &ok);
    assert_int_equal(ok.kind, MN_TO_PARTNER_SUBSCRIBED);
    assert_int_equal(ok.topics.n, 1);
    assert_string_equal(ok.topics.name[0], "hotline.utrecht");
    assert_int_equal(atomic_load(&f->stats.partner_errors), 2);
}

/* A partner admitted by ZAP but revoked since: it may not subscribe, and a session it had
 * ends; its items stay queued. */
static void test_revoked_partner_is_not_served(void **state)
{
    fixture *f = *state;
    mn_to_partner e;
    gw_snapshot s;
    uint64_t tag = s_put(f, f->police, 1, 1, "police.acute", 0);
    s_start(f);
    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 1);
    assert_int_equal(s_delivery(f, c, f->police).tag, tag);

    /* Revoked in the delivery table only (the ZAP handler still admits it: a reload between
     * the handshake and now). */
    f->partners[1].revoked = 1;
    assert_int_equal(gw_deliver_set_partners(f->dl, f->partners, 2), MN_OK);
    memset(&s, 0, sizeof s);
    gw_deliver_snapshot(f->dl, &s);
    assert_int_equal(s.partners[1].revoked, 1);
    assert_int_equal(s.partners[1].connected, 0);
    gw_snapshot_clear(&s);

    mn_from_partner m;
    memset(&m, 0, sizeof m);
    m.kind = MN_FROM_PARTNER_SUBSCRIBE;
    m.credit = 1;
    s_send(c, &m);
    s_error(f, c, MN_PARTNER_BAD_REQUEST, &e);
    assert_non_null(strstr(e.detail, "no longer configured"));
    /* Its item is still there, due at once for when it is back. */
    gw_queue_item item;
    assert_true(s_queued(f, POLICE, tag, &item));
    assert_int_equal(item.next_try_ms, 0);
}

/* A new subscription of the same partner (a reconnect) ends the old session: what it had in
 * flight goes out again at once on the new one. */
static void test_reconnect_takes_over(void **state)
{
    fixture *f = *state;
    uint64_t tag = s_put(f, f->police, 1, 0, "hotline.a", 0);
    f->deps.redelivery_ms = 60000; /* only the reconnect can bring it back this soon */
    s_start(f);
    void *old = s_connect(f, f->police);
    s_subscribe(f, old, 1);
    assert_int_equal(s_delivery(f, old, f->police).tag, tag);

    void *c = s_connect(f, f->police);
    s_subscribe(f, c, 1);
    mn_delivery again = s_delivery(f, c, f->police);
    assert_int_equal(again.tag, tag);
    assert_int_equal(again.attempt, 2);
    s_answer(c, MN_FROM_PARTNER_ACK, tag, NULL, 0);
    s_tag_of t = {POLICE, tag};
    s_until(f, s_gone, &t, "the ack on the new connection");
}

/* The poll timeout: nothing timed without sessions; at once when woken. */
static void test_next_timeout(void **state)
{
    fixture *f = *state;
    s_start(f);
    (void)s_round(f, NULL, 0);
    assert_int_equal(gw_deliver_next_timeout_ms(f->dl, 250), 250);
    gw_deliver_wake(f->dl);
    assert_int_equal(gw_deliver_next_timeout_ms(f->dl, 250), 0);
    assert_int_equal(gw_deliver_pump(f->dl), MN_OK);
    assert_int_equal(gw_deliver_next_timeout_ms(f->dl, 250), 250);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deliver_acute_first_ack_clears, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_credit_and_repeated_ack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_nack_retries_with_backoff, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_ack_redelivers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transient_nack_defers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_nacks_hold_until_released, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_too_old_is_held, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_tags_change_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_partner_is_not_served, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_takes_over, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_next_timeout, s_setup, s_teardown),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    mn_log_set_level(MN_LOG_ERR); /* refusals and holds log warnings */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
