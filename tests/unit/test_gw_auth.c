/* test_gw_auth.c - the ZAP handler admits configured keys only, and the server fails closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "gw_auth.h"
#include "gw_stats.h"
#include "mn_envelope.h"
#include "mn_key.h"

#define ENDPOINT "tcp://127.0.0.1:*"
#define WAIT_MS 1500

typedef struct fixture {
    void *ctx;
    void *server;
    char endpoint[128];
    mn_key *server_key;
    mn_key *agent_key;
    gw_stats stats;
    gw_auth *auth;
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    gw_stats_init(&f->stats);
    f->ctx = zmq_ctx_new();
    assert_int_equal(mn_key_generate(MN_ROLE_GATEWAY, "gateway", &f->server_key, NULL), MN_OK);
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "school-a", &f->agent_key, NULL), MN_OK);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    if (f->server)
        zmq_close(f->server);
    gw_auth_destroy(&f->auth);
    gw_auth_destroy(&f->auth); /* twice is harmless */
    zmq_ctx_term(f->ctx);
    mn_key_destroy(&f->server_key);
    mn_key_destroy(&f->agent_key);
    free(f);
    return 0;
}

static void s_bind_server(fixture *f)
{
    int linger = 0;
    f->server = zmq_socket(f->ctx, ZMQ_ROUTER);
    assert_non_null(f->server);
    assert_int_equal(zmq_setsockopt(f->server, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(gw_auth_secure_server(f->server, mn_key_curve_secret(f->server_key),
                                           GW_AUTH_DOMAIN, NULL),
                     MN_OK);
    assert_int_equal(zmq_bind(f->server, ENDPOINT), 0);
    size_t len = sizeof f->endpoint;
    assert_int_equal(zmq_getsockopt(f->server, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
}

/* Receive [routing id][payload] within WAIT_MS; returns 1 and the User-Id when one arrived. */
static int s_server_receives(fixture *f, char *user_id, size_t cap)
{
    zmq_pollitem_t item = {f->server, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, WAIT_MS) <= 0)
        return 0;
    zmq_msg_t route, payload;
    zmq_msg_init(&route);
    zmq_msg_init(&payload);
    assert_true(zmq_msg_recv(&route, f->server, 0) >= 0);
    assert_true(zmq_msg_recv(&payload, f->server, 0) >= 0);
    const char *uid = zmq_msg_gets(&payload, "User-Id");
    snprintf(user_id, cap, "%s", uid ? uid : "");
    zmq_msg_close(&route);
    zmq_msg_close(&payload);
    return 1;
}

/* The client sends in a thread-free way: DEALER queues and sends once the handshake is done, so
 * sending first and then polling the server is race-free. */
static int s_roundtrip(fixture *f, const mn_key *client, char *user_id, size_t cap)
{
    int linger = 0;
    void *c = zmq_socket(f->ctx, ZMQ_DEALER);
    zmq_setsockopt(c, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(c, ZMQ_CURVE_SERVERKEY, mn_key_public(f->server_key)->curve, MN_KEY_BYTES);
    zmq_setsockopt(c, ZMQ_CURVE_PUBLICKEY, mn_key_public(client)->curve, MN_KEY_BYTES);
    zmq_setsockopt(c, ZMQ_CURVE_SECRETKEY, mn_key_curve_secret(client), MN_KEY_BYTES);
    assert_int_equal(zmq_connect(c, f->endpoint), 0);
    assert_int_equal(zmq_send(c, "hello", 5, 0), 5);
    int got = s_server_receives(f, user_id, cap);
    zmq_close(c);
    return got;
}

/* Start the ZAP handler with one configured agent: "school-a" with f->agent_key. */
static void s_start_with_agent(fixture *f)
{
    gw_agent a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "school-a");
    a.pub = *mn_key_public(f->agent_key);
    assert_int_equal(gw_auth_start(f->ctx, &f->stats, &f->auth, NULL), MN_OK);
    assert_int_equal(gw_auth_set_agents(f->auth, &a, 1), MN_OK);
}

/* No handler at all: a client that knows the server key still gets nothing through. */
static void test_fails_closed_without_handler(void **state)
{
    fixture *f = *state;
    char uid[80];
    s_bind_server(f);
    assert_int_equal(s_roundtrip(f, f->agent_key, uid, sizeof uid), 0);
}

static void test_admits_known_key_with_user_id(void **state)
{
    fixture *f = *state;
    char uid[80] = "";
    s_start_with_agent(f);
    s_bind_server(f);
    assert_int_equal(s_roundtrip(f, f->agent_key, uid, sizeof uid), 1);
    assert_string_equal(uid, "school-a");
    assert_true(atomic_load(&f->stats.handshakes_accepted) >= 1);
    assert_int_equal(atomic_load(&f->stats.handshakes_refused), 0);
}

static void test_refuses_unknown_key_and_counts(void **state)
{
    fixture *f = *state;
    char uid[80];
    mn_key *stranger = NULL;
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "stranger", &stranger, NULL), MN_OK);
    s_start_with_agent(f);
    s_bind_server(f);
    assert_int_equal(s_roundtrip(f, stranger, uid, sizeof uid), 0);
    assert_true(atomic_load(&f->stats.handshakes_refused) >= 1);
    mn_key_destroy(&stranger);
}

static void test_revoked_key_is_refused(void **state)
{
    fixture *f = *state;
    char uid[80];
    s_start_with_agent(f);
    assert_int_equal(gw_auth_set_agents(f->auth, NULL, 0), MN_OK); /* revoke all */
    s_bind_server(f);
    assert_int_equal(s_roundtrip(f, f->agent_key, uid, sizeof uid), 0);
    assert_true(atomic_load(&f->stats.handshakes_refused) >= 1);
}

int main(void)
{
    if (mn_crypto_init() != MN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fails_closed_without_handler, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_admits_known_key_with_user_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_unknown_key_and_counts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key_is_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
