/* test_gw_auth.c - the ZAP handler admits configured keys only, and the server fails closed.
 * Every refusal is counted by its cause: unknown_key, revoked_key, wrong_party, malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "gw_auth.h"
#include "gw_stats.h"
#include "mn_envelope.h"
#include "mn_key.h"

#define ENDPOINT "tcp://127.0.0.1:*"
#define WAIT_MS 1500
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct fixture {
    void *ctx;
    void *server;
    char endpoint[128];
    mn_key *server_key;
    mn_key *agent_key;
    mn_key *partner_key;
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
    assert_int_equal(mn_key_generate(MN_ROLE_PARTNER, "police-midden", &f->partner_key, NULL),
                     MN_OK);
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
    mn_key_destroy(&f->partner_key);
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

/* Start the ZAP handler with agent "school-a" (f->agent_key; revoked when `revoked`) and
 * partner "police-midden" (f->partner_key). */
static void s_start_with_parties(fixture *f, int revoked)
{
    gw_agent a;
    gw_partner *p = calloc(1, sizeof *p);
    assert_non_null(p);
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "school-a");
    a.pub = *mn_key_public(f->agent_key);
    a.revoked = revoked;
    snprintf(p->name, sizeof p->name, "police-midden");
    p->pub = *mn_key_public(f->partner_key);
    p->kind = GW_PARTNER_POLICE;
    assert_int_equal(gw_auth_start(f->ctx, &f->stats, &f->auth, NULL), MN_OK);
    assert_int_equal(gw_auth_set_agents(f->auth, &a, 1), MN_OK);
    assert_int_equal(gw_auth_set_partners(f->auth, p, 1), MN_OK);
    free(p);
}

static uint64_t s_refused(const fixture *f, int cause)
{
    return atomic_load(&f->stats.handshakes_refused_by_cause[cause]);
}

/* One ZAP request straight to the handler: frames version "1.0", id, domain, address
 * "127.0.0.1", routing id, mechanism and, when cred is not NULL, the credentials. The reply's
 * status code and text into status/text (and the User-Id into user). */
static void s_zap(fixture *f, const char *version, const char *domain, const char *mechanism,
                  const void *cred, size_t cred_len, char *status, char *text, char *user)
{
    int linger = 0;
    void *req = zmq_socket(f->ctx, ZMQ_REQ);
    assert_non_null(req);
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(req, ZAP_ENDPOINT), 0);
    const char *frames[] = {version, "42", domain, "127.0.0.1", "", mechanism};
    for (size_t i = 0; i < 6; i++)
        assert_true(zmq_send(req, frames[i], strlen(frames[i]), i < 5 || cred ? ZMQ_SNDMORE : 0) >=
                    0);
    if (cred)
        assert_true(zmq_send(req, cred, cred_len, 0) >= 0);
    char *outs[] = {NULL, NULL, status, text, user, NULL};
    for (size_t i = 0; i < 6; i++) {
        char buf[64];
        zmq_pollitem_t item = {req, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
        int n = zmq_recv(req, buf, sizeof buf - 1, 0);
        assert_true(n >= 0);
        buf[n] = '\0';
        if (outs[i])
            snprintf(outs[i], 64, "%s", buf);
        int more = 0;
        size_t len = sizeof more;
        zmq_getsockopt(req, ZMQ_RCVMORE, &more, &len);
        assert_int_equal(more, i < 5);
    }
    zmq_close(req);
}

/* Each cause straight through the ZAP protocol: reply, counter and (for revoked_key) the log
 * line. First in the list, so no earlier test has used up the log's rate limit. */
static void test_zap_refusal_causes(void **state)
{
    fixture *f = *state;
    char status[64], text[64], user[64];
    char fp[MN_FINGERPRINT_CHARS + 1], want[256];
    const uint8_t *agent_curve = mn_key_public(f->agent_key)->curve;
    const uint8_t *partner_curve = mn_key_public(f->partner_key)->curve;
    uint8_t stranger[MN_KEY_BYTES];

    memset(stranger, 7, sizeof stranger);
    s_start_with_parties(f, 1);

    /* revoked agent, with the log line it leaves (stderr into a file for the while) */
    char log_path[] = "/tmp/test_gw_auth.log.XXXXXX";
    int log_fd = mkstemp(log_path);
    assert_true(log_fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(log_fd, 2) >= 0);
    s_zap(f, "1.0", GW_AUTH_DOMAIN, "CURVE", agent_curve, MN_KEY_BYTES, status, text, user);
    /* The ZAP thread's lines go through the log thread (mn_log_set_nonblocking): wait for it
     * to write the line before stderr goes back. */
    mn_pubkey_fingerprint(mn_key_public(f->agent_key), fp, sizeof fp);
    snprintf(want, sizeof want,
             " warn auth: handshake refused cause=revoked_key role=agent "
             "party=school-a peer=127.0.0.1 key=%s curve=- domain=meldnet\n",
             fp);
    char logged[1024] = "";
    for (int i = 0; i < WAIT_MS / 10 && !strstr(logged, want); i++) {
        FILE *fp_log = fopen(log_path, "r");
        assert_non_null(fp_log);
        size_t got = fread(logged, 1, sizeof logged - 1, fp_log);
        logged[got] = '\0';
        fclose(fp_log);
        if (!strstr(logged, want))
            zmq_poll(NULL, 0, 10);
    }
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    close(log_fd);
    unlink(log_path);
    assert_string_equal(status, "400");
    assert_string_equal(text, "revoked_key");
    assert_string_equal(user, "");
    assert_int_equal(s_refused(f, GW_REFUSAL_REVOKED_KEY), 1);
    if (!strstr(logged, want))
        fail_msg("log \"%s\" lacks \"%s\"", logged, want);

    /* a partner's key on the agents' domain, and an agent's on the partners' */
    s_zap(f, "1.0", GW_AUTH_DOMAIN, "CURVE", partner_curve, MN_KEY_BYTES, status, text, user);
    assert_string_equal(status, "400");
    assert_string_equal(text, "wrong_party");
    s_zap(f, "1.0", GW_AUTH_PARTNER_DOMAIN, "CURVE", agent_curve, MN_KEY_BYTES, status, text, user);
    assert_string_equal(text, "wrong_party");
    /* the partner on its own domain is admitted */
    s_zap(f, "1.0", GW_AUTH_PARTNER_DOMAIN, "CURVE", partner_curve, MN_KEY_BYTES, status, text,
          user);
    assert_string_equal(status, "200");
    assert_string_equal(user, "police-midden");
    /* another domain; another mechanism (NULL has no credentials) */
    s_zap(f, "1.0", "elsewhere", "CURVE", agent_curve, MN_KEY_BYTES, status, text, user);
    assert_string_equal(text, "wrong_party");
    s_zap(f, "1.0", GW_AUTH_DOMAIN, "NULL", NULL, 0, status, text, user);
    assert_string_equal(status, "400");
    assert_string_equal(text, "wrong_party");
    assert_int_equal(s_refused(f, GW_REFUSAL_WRONG_PARTY), 4);
    /* unknown key */
    s_zap(f, "1.0", GW_AUTH_DOMAIN, "CURVE", stranger, MN_KEY_BYTES, status, text, user);
    assert_string_equal(text, "unknown_key");
    assert_int_equal(s_refused(f, GW_REFUSAL_UNKNOWN_KEY), 1);
    /* malformed: a short key, another ZAP version */
    s_zap(f, "1.0", GW_AUTH_DOMAIN, "CURVE", stranger, 31, status, text, user);
    assert_string_equal(status, "400");
    assert_string_equal(text, "malformed");
    s_zap(f, "2.0", GW_AUTH_DOMAIN, "CURVE", agent_curve, MN_KEY_BYTES, status, text, user);
    assert_string_equal(status, "500");
    assert_int_equal(s_refused(f, GW_REFUSAL_MALFORMED), 2);

    assert_int_equal(atomic_load(&f->stats.handshakes_refused), 1 + 4 + 1 + 2);
    assert_int_equal(atomic_load(&f->stats.handshakes_accepted), 1);
    assert_int_equal(s_refused(f, GW_REFUSAL_REVOKED_KEY), 1);
}

/* The fingerprint of a bare CURVE key: first 8 bytes of BLAKE2b-256, hex (known answers). */
static void test_curve_fingerprint(void **state)
{
    (void)state;
    uint8_t key[MN_KEY_BYTES];
    char fp[MN_FINGERPRINT_CHARS + 1];
    memset(key, 0, sizeof key);
    mn_curve_fingerprint(key, fp, sizeof fp);
    assert_string_equal(fp, "89eb0d6a8a691dae");
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)i;
    mn_curve_fingerprint(key, fp, sizeof fp);
    assert_string_equal(fp, "cb2f5160fc1f7e05");
}

/* A revoked agent's real CURVE handshake is refused, and counted as revoked, not unknown. */
static void test_revoked_agent_refused_as_revoked(void **state)
{
    fixture *f = *state;
    char uid[80];
    s_start_with_parties(f, 1);
    s_bind_server(f);
    assert_int_equal(s_roundtrip(f, f->agent_key, uid, sizeof uid), 0);
    assert_true(s_refused(f, GW_REFUSAL_REVOKED_KEY) >= 1);
    assert_int_equal(s_refused(f, GW_REFUSAL_UNKNOWN_KEY), 0);
    assert_int_equal(s_refused(f, GW_REFUSAL_WRONG_PARTY), 0);
    assert_int_equal(atomic_load(&f->stats.handshakes_accepted), 0);

    /* back from revoked (a reload with revoked = 0): admitted */
    gw_agent a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "school-a");
    a.pub = *mn_key_public(f->agent_key);
    assert_int_equal(gw_auth_set_agents(f->auth, &a, 1), MN_OK);
    assert_int_equal(s_roundtrip(f, f->agent_key, uid, sizeof uid), 1);
    assert_string_equal(uid, "school-a");
}

/* A partner's key on the agents' socket is refused as the wrong party. */
static void test_partner_key_on_agent_socket(void **state)
{
    fixture *f = *state;
    char uid[80];
    s_start_with_parties(f, 0);
    s_bind_server(f);
    assert_int_equal(s_roundtrip(f, f->partner_key, uid, sizeof uid), 0);
    assert_true(s_refused(f, GW_REFUSAL_WRONG_PARTY) >= 1);
    assert_int_equal(s_refused(f, GW_REFUSAL_UNKNOWN_KEY), 0);
    assert_int_equal(s_refused(f, GW_REFUSAL_REVOKED_KEY), 0);
    /* the agent itself still gets in */
    assert_int_equal(s_roundtrip(f, f->agent_key, uid, sizeof uid), 1);
    assert_string_equal(uid, "school-a");
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
    assert_true(s_refused(f, GW_REFUSAL_UNKNOWN_KEY) >= 1);
    assert_int_equal(s_refused(f, GW_REFUSAL_REVOKED_KEY), 0);
    assert_int_equal(s_refused(f, GW_REFUSAL_WRONG_PARTY), 0);
    mn_key_destroy(&stranger);
}

/* An agent removed from the configuration (not revoked, gone): its key is unknown now. */
static void test_removed_key_is_refused(void **state)
{
    fixture *f = *state;
    char uid[80];
    s_start_with_agent(f);
    assert_int_equal(gw_auth_set_agents(f->auth, NULL, 0), MN_OK); /* remove all */
    s_bind_server(f);
    assert_int_equal(s_roundtrip(f, f->agent_key, uid, sizeof uid), 0);
    assert_true(atomic_load(&f->stats.handshakes_refused) >= 1);
    assert_true(s_refused(f, GW_REFUSAL_UNKNOWN_KEY) >= 1);
}

int main(void)
{
    if (mn_crypto_init() != MN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zap_refusal_causes, s_setup, s_teardown),
        cmocka_unit_test(test_curve_fingerprint),
        cmocka_unit_test_setup_teardown(test_fails_closed_without_handler, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_admits_known_key_with_user_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_unknown_key_and_counts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_removed_key_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_agent_refused_as_revoked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_key_on_agent_socket, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
