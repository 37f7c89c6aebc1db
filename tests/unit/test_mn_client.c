/* test_mn_client.c - unit tests for mn_client against a real ZeroMQ ROUTER in this process: the
 * handshake and on_change, one-frame traffic both ways, a multi-frame message dropped, a lost
 * connection, a gateway that does not answer, a key the gateway's ZAP handler refuses.
 *
 * Single-threaded: the test services the server (and its ZAP socket) between short waits of the
 * client, until a condition holds or a few seconds have passed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "mn_client.h"
#include "mn_time.h"

#define S_WAIT_MS 8000

static const mn_client_words s_words = {
    .role = "agent",
    .conf = "agent.conf",
    .listen_setting = "listen",
    .waiting_ask = "is it running?",
    .no_answer_ask = "is the port open?",
    .no_answer_plan = "retrying",
    .lost_note = "",
    .refused_check = "is the right one",
};

typedef struct fixture {
    mn_key *gateway;
    mn_key *agent;
    void *ctx;
    void *server; /* ROUTER, CURVE server with the gateway's key */
    void *zap;    /* REP on inproc://zeromq.zap.01 when a test refuses keys, else NULL */
    char endpoint[64];
    int ups, downs;
} fixture;

static void s_on_change(void *arg, int up)
{
    fixture *f = arg;
    if (up)
        f->ups++;
    else
        f->downs++;
}

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mn_diag d;
    size_t n;
    int zero = 0, one = 1;
    if (!f || mn_crypto_init() != MN_OK ||
        mn_key_generate(MN_ROLE_GATEWAY, "gateway", &f->gateway, &d) != MN_OK ||
        mn_key_generate(MN_ROLE_AGENT, "hotline-1", &f->agent, &d) != MN_OK)
        return -1;
    f->ctx = zmq_ctx_new();
    f->server = zmq_socket(f->ctx, ZMQ_ROUTER);
    n = sizeof f->endpoint;
    if (zmq_setsockopt(f->server, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(f->server, ZMQ_CURVE_SECRETKEY, mn_key_curve_secret(f->gateway),
                       MN_KEY_BYTES) ||
        zmq_setsockopt(f->server, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(f->server, "tcp://127.0.0.1:*") ||
        zmq_getsockopt(f->server, ZMQ_LAST_ENDPOINT, f->endpoint, &n))
        return -1;
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    if (f->zap)
        zmq_close(f->zap);
    if (f->server)
        zmq_close(f->server);
    zmq_ctx_term(f->ctx);
    mn_key_destroy(&f->agent);
    mn_key_destroy(&f->gateway);
    free(f);
    return 0;
}

static mn_client *s_client(fixture *f, const char *endpoint)
{
    mn_client *c = NULL;
    mn_diag d = {0};
    mn_client_config cfg = {
        .endpoint = endpoint,
        .identity = f->agent,
        .gateway = mn_key_public(f->gateway),
        .max_msg_bytes = 65536,
        .no_answer_after_failure = 0,
        .on_change = s_on_change,
        .arg = f,
        .words = &s_words,
    };
    assert_int_equal(mn_client_new(&cfg, &c, &d), MN_OK);
    return c;
}

/* Answer one ZAP request, if there is one, with status 400 (refused). */
static void s_zap_refuse(fixture *f)
{
    zmq_msg_t part;
    char version[8] = "", request_id[64];
    size_t request_id_len = 0;
    int more = 1, i = 0;
    if (!f->zap)
        return;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, f->zap, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&part);
        return;
    }
    while (more) {
        size_t n = zmq_msg_size(&part);
        if (i == 0 && n < sizeof version)
            memcpy(version, zmq_msg_data(&part), n);
        if (i == 1 && n < sizeof request_id) {
            memcpy(request_id, zmq_msg_data(&part), n);
            request_id_len = n;
        }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
        zmq_msg_init(&part);
        if (more && zmq_msg_recv(&part, f->zap, 0) < 0)
            break;
        i++;
    }
    zmq_msg_close(&part);
    zmq_send(f->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(f->zap, request_id, request_id_len, ZMQ_SNDMORE);
    zmq_send(f->zap, "400", 3, ZMQ_SNDMORE);
    zmq_send(f->zap, "refused", 7, ZMQ_SNDMORE);
    zmq_send(f->zap, "", 0, ZMQ_SNDMORE);
    zmq_send(f->zap, "", 0, 0);
}

/* Wait (servicing the ZAP socket) until cond(f, c) or S_WAIT_MS. */
static int s_until(fixture *f, mn_client *c, int (*cond)(fixture *f, mn_client *c))
{
    uint64_t deadline = mn_mono_ms() + S_WAIT_MS;
    mn_diag d = {0};
    int readable, writable;
    while (!cond(f, c)) {
        if (mn_mono_ms() > deadline)
            return 0;
        s_zap_refuse(f);
        assert_int_equal(mn_client_wait(c, 0, 20, &readable, &writable, &d), MN_OK);
    }
    return 1;
}

static int s_is_up(fixture *f, mn_client *c)
{
    (void)f;
    return mn_client_is_connected(c);
}

static int s_is_down(fixture *f, mn_client *c)
{
    (void)f;
    return mn_client_is_down(c);
}

static int s_refused(fixture *f, mn_client *c)
{
    (void)f;
    return mn_client_problem(c) && strstr(mn_client_problem(c), "refused") != NULL;
}

static int s_no_answer(fixture *f, mn_client *c)
{
    (void)f;
    return mn_client_problem(c) && strstr(mn_client_problem(c), "does not answer") != NULL;
}

static void test_config_errors(void **state)
{
    fixture *f = *state;
    mn_client *c = NULL;
    mn_diag d = {0};
    mn_client_config cfg = {
        .endpoint = f->endpoint,
        .identity = f->agent,
        .gateway = mn_key_public(f->gateway),
        .max_msg_bytes = 0,
        .words = &s_words,
    };
    assert_int_equal(mn_client_new(&cfg, &c, &d), MN_EINVAL);
    assert_null(c);
    cfg.max_msg_bytes = 1024;
    cfg.words = NULL;
    assert_int_equal(mn_client_new(&cfg, &c, &d), MN_EINVAL);
    cfg.words = &s_words;
    cfg.endpoint = "not an endpoint";
    memset(&d, 0, sizeof d);
    assert_int_equal(mn_client_new(&cfg, &c, &d), MN_EZMQ);
    assert_null(c);
    assert_string_equal(d.hint, "check 'gateway' in agent.conf: tcp://HOST:PORT of the gateway's "
                                "listen setting");
    mn_client_destroy(&c);
    mn_client_destroy(NULL);
}

static void test_traffic(void **state)
{
    fixture *f = *state;
    mn_client *c = s_client(f, f->endpoint);
    const uint8_t *data;
    size_t len;
    int err;
    mn_diag d = {0};
    char id[256], buf[64];

    assert_non_null(strstr(mn_client_problem(c), "yet (is it running?)"));
    assert_string_equal(mn_client_endpoint(c), f->endpoint);
    assert_true(s_until(f, c, s_is_up));
    assert_int_equal(f->ups, 1);
    assert_null(mn_client_problem(c));
    assert_false(mn_client_is_down(c));

    /* client -> server: one frame */
    assert_int_equal(mn_client_send(c, "hello", 5, &err), MN_OK);
    int idn = zmq_recv(f->server, id, sizeof id, 0);
    assert_true(idn > 0);
    assert_int_equal(zmq_recv(f->server, buf, sizeof buf, 0), 5);
    assert_memory_equal(buf, "hello", 5);

    /* server -> client: one frame, then a multi-frame message that is not ours */
    assert_int_equal(mn_client_recv(c, &data, &len, &d), MN_ENOTFOUND);
    zmq_send(f->server, id, (size_t)idn, ZMQ_SNDMORE);
    zmq_send(f->server, "reply", 5, 0);
    zmq_send(f->server, id, (size_t)idn, ZMQ_SNDMORE);
    zmq_send(f->server, "a", 1, ZMQ_SNDMORE);
    zmq_send(f->server, "b", 1, 0);
    zmq_send(f->server, id, (size_t)idn, ZMQ_SNDMORE);
    zmq_send(f->server, "last", 4, 0);
    int readable = 0, writable = 0;
    assert_int_equal(mn_client_wait(c, 1, 0, &readable, &writable, &d), MN_OK);
    assert_true(writable); /* connected: a send would be queued */
    for (int i = 0; i < 100 && !readable; i++)
        assert_int_equal(mn_client_wait(c, 0, 20, &readable, &writable, &d), MN_OK);
    assert_true(readable);
    assert_int_equal(mn_client_recv(c, &data, &len, &d), MN_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "reply", 5);
    int rc;
    for (int i = 0; i < 100 && (rc = mn_client_recv(c, &data, &len, &d)) == MN_ENOTFOUND; i++)
        assert_int_equal(mn_client_wait(c, 0, 20, &readable, &writable, &d), MN_OK);
    assert_int_equal(rc, MN_EDECODE);
    for (int i = 0; i < 100 && (rc = mn_client_recv(c, &data, &len, &d)) == MN_ENOTFOUND; i++)
        assert_int_equal(mn_client_wait(c, 0, 20, &readable, &writable, &d), MN_OK);
    assert_int_equal(rc, MN_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "last", 4);

    /* The gateway goes away: a lost connection, said once. */
    zmq_close(f->server);
    f->server = NULL;
    assert_true(s_until(f, c, s_is_down));
    assert_true(f->downs >= 1); /* (a reconnect to the closing listener may fail too) */
    assert_false(mn_client_is_connected(c));
    assert_non_null(strstr(mn_client_problem(c), "was lost; reconnecting"));

    mn_client_set_problem(c, "set by the link %d", 7);
    assert_string_equal(mn_client_problem(c), "set by the link 7");
    mn_client_clear_problem(c);
    assert_null(mn_client_problem(c));
    mn_client_destroy(&c);
    mn_client_destroy(&c);
}

static void test_no_answer(void **state)
{
    fixture *f = *state;
    char endpoint[64];
    int err;
    /* A port that is bound but not listening: every connection is refused, and nobody else
     * can take the port meanwhile. (A closed ZeroMQ socket's listener is torn down by libzmq's
     * reaper in its own time and could still take a connection.) */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
    mn_client *c = s_client(f, endpoint);
    assert_int_equal(mn_client_send(c, "x", 1, &err), MN_EZMQ);
    assert_int_equal(err, MN_CLIENT_NO_PEER);
    assert_true(s_until(f, c, s_no_answer));
    assert_true(mn_client_is_down(c));
    assert_int_equal(f->ups, 0);
    assert_non_null(strstr(mn_client_problem(c), "does not answer (is the port open?)"));
    mn_client_destroy(&c);
    close(fd);
}

static void test_refused(void **state)
{
    fixture *f = *state;
    /* a ZAP handler must be bound before the server's socket takes a connection */
    f->zap = zmq_socket(f->ctx, ZMQ_REP);
    assert_int_equal(zmq_bind(f->zap, "inproc://zeromq.zap.01"), 0);
    assert_int_equal(zmq_setsockopt(f->server, ZMQ_ZAP_DOMAIN, "test", 4), 0);
    mn_client *c = s_client(f, f->endpoint);
    assert_true(s_until(f, c, s_refused));
    assert_int_equal(f->ups, 0);
    assert_true(mn_client_is_down(c));
    const char *p = mn_client_problem(c);
    assert_non_null(strstr(p, "the gateway refused this agent's key (status 400)"));
    assert_non_null(strstr(p, "keys/agent.pub"));
    assert_non_null(strstr(p, "'meldnetctl agent add'"));
    assert_non_null(strstr(p, "is the right one)"));
    mn_client_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_traffic, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_answer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
