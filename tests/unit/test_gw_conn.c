/* test_gw_conn.c - connections on a real CURVE listening socket with the real ZAP handler:
 * counted, named by party, closed on revocation; handshakes that are not ZMTP counted as
 * malformed, ZAP refusals and idle admitted peers not; unauthenticated connections over the
 * bounds per address and in all shut down, oldest first, and not counted as malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "gw_auth.h"
#include "gw_conn.h"
#include "gw_stats.h"
#include "mn_envelope.h"
#include "mn_key.h"

#define LISTEN "tcp://127.0.0.1:*"
#define WAIT_MS 10000 /* generous: valgrind makes CURVE handshakes slow */
#define AGENT "agent-a"

typedef struct fixture {
    void *ctx;
    void *server;
    char endpoint[128];
    int port;
    mn_key *server_key;
    mn_key *agent_key;
    gw_stats stats;
    gw_auth *auth;
    gw_conn *conn;
    int saved_stderr; /* -1, or stderr while the log goes to log_path */
    char log_path[64];
} fixture;

/* --- waiting on conditions ---------------------------------------------------------------- */

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Before the deadline: pause 5 ms and return 1 (check again); after it: 0. */
static int s_before(uint64_t deadline_ms)
{
    if (s_now_ms() >= deadline_ms)
        return 0;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

#define WAIT_UNTIL(cond)                                                                           \
    do {                                                                                           \
        uint64_t deadline_ = s_now_ms() + WAIT_MS;                                                 \
        while (!(cond))                                                                            \
            if (!s_before(deadline_))                                                              \
                fail_msg("timed out waiting for: %s", #cond);                                      \
    } while (0)

static uint64_t s_malformed(fixture *f)
{
    return atomic_load(&f->stats.handshakes_refused_by_cause[GW_REFUSAL_MALFORMED]);
}

/* --- the log: stderr to a file for a while, to check what a line says -------------------- */

static void s_capture_log(fixture *f)
{
    snprintf(f->log_path, sizeof f->log_path, "/tmp/test_gw_conn.XXXXXX");
    int fd = mkstemp(f->log_path);
    assert_true(fd >= 0);
    fflush(stderr);
    f->saved_stderr = dup(STDERR_FILENO);
    assert_true(f->saved_stderr >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    close(fd);
}

static void s_release_log(fixture *f)
{
    if (f->saved_stderr < 0)
        return;
    fflush(stderr);
    dup2(f->saved_stderr, STDERR_FILENO);
    close(f->saved_stderr);
    f->saved_stderr = -1;
    unlink(f->log_path);
}

/* Does the captured log hold `text`? */
static int s_log_has(const fixture *f, const char *text)
{
    char buf[8192];
    FILE *in = fopen(f->log_path, "r");
    if (!in)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* --- set-up ------------------------------------------------------------------------------- */

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->saved_stderr = -1;
    gw_stats_init(&f->stats);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    assert_int_equal(mn_key_generate(MN_ROLE_GATEWAY, "gateway", &f->server_key, NULL), MN_OK);
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, AGENT, &f->agent_key, NULL), MN_OK);

    gw_agent a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, AGENT);
    a.pub = *mn_key_public(f->agent_key);
    assert_int_equal(gw_auth_start(f->ctx, &f->stats, &f->auth, NULL), MN_OK);
    assert_int_equal(gw_auth_set_agents(f->auth, &a, 1), MN_OK);

    assert_int_equal(gw_auth_listen(f->ctx, LISTEN, mn_key_curve_secret(f->server_key),
                                    GW_AUTH_DOMAIN, 65536, "listen", &f->server, NULL),
                     MN_OK);
    size_t len = sizeof f->endpoint;
    assert_int_equal(zmq_getsockopt(f->server, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
    f->port = atoi(strrchr(f->endpoint, ':') + 1);
    assert_true(f->port > 0);
    assert_int_equal(gw_conn_start(f->ctx, f->server, "agent", &f->stats, &f->conn, NULL), MN_OK);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    s_release_log(f);
    gw_conn_stop(&f->conn);
    gw_conn_stop(&f->conn); /* twice is harmless */
    assert_null(f->conn);
    zmq_close(f->server);
    gw_auth_destroy(&f->auth);
    zmq_ctx_term(f->ctx);
    mn_key_destroy(&f->server_key);
    mn_key_destroy(&f->agent_key);
    free(f);
    return 0;
}

/* --- clients ------------------------------------------------------------------------------ */

/* A CURVE DEALER with `key` that does not reconnect, so each test sees one connection. */
static void *s_client(fixture *f, const mn_key *key)
{
    int linger = 0, no_reconnect = -1;
    void *c = zmq_socket(f->ctx, ZMQ_DEALER);
    assert_non_null(c);
    assert_int_equal(zmq_setsockopt(c, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_setsockopt(c, ZMQ_RECONNECT_IVL, &no_reconnect, sizeof no_reconnect), 0);
    assert_int_equal(zmq_setsockopt(c, ZMQ_CURVE_SERVERKEY, mn_key_public(f->server_key)->curve,
                                    MN_KEY_BYTES),
                     0);
    assert_int_equal(zmq_setsockopt(c, ZMQ_CURVE_PUBLICKEY, mn_key_public(key)->curve,
                                    MN_KEY_BYTES),
                     0);
    assert_int_equal(zmq_setsockopt(c, ZMQ_CURVE_SECRETKEY, mn_key_curve_secret(key), MN_KEY_BYTES),
                     0);
    return c;
}

/* A PAIR that receives `events` of the client socket (before it connects). */
static void *s_client_monitor(fixture *f, void *client, int events)
{
    int linger = 0;
    assert_int_equal(zmq_socket_monitor(client, "inproc://test-client-monitor", events), 0);
    void *mon = zmq_socket(f->ctx, ZMQ_PAIR);
    assert_non_null(mon);
    assert_int_equal(zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(mon, "inproc://test-client-monitor"), 0);
    return mon;
}

/* Wait for `event` on a monitor, skipping others. Returns 1 when it came within WAIT_MS. */
static int s_saw_event(void *mon, int event)
{
    uint64_t deadline = s_now_ms() + WAIT_MS;
    for (;;) {
        uint64_t now = s_now_ms();
        zmq_pollitem_t item = {mon, 0, ZMQ_POLLIN, 0};
        if (now >= deadline || zmq_poll(&item, 1, (long)(deadline - now)) <= 0)
            return 0;
        zmq_msg_t head, ep;
        zmq_msg_init(&head);
        zmq_msg_init(&ep);
        assert_true(zmq_msg_recv(&head, mon, 0) >= 0);
        assert_true(zmq_msg_recv(&ep, mon, 0) >= 0);
        uint16_t got;
        memcpy(&got, zmq_msg_data(&head), sizeof got);
        zmq_msg_close(&head);
        zmq_msg_close(&ep);
        if (got == event)
            return 1;
    }
}

/* Receive [routing id][payload] on the server within WAIT_MS; the payload goes to *payload. */
static void s_server_receives(fixture *f, zmq_msg_t *payload)
{
    zmq_pollitem_t item = {f->server, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
    zmq_msg_t route;
    zmq_msg_init(&route);
    assert_true(zmq_msg_recv(&route, f->server, 0) >= 0);
    assert_true(zmq_msg_more(&route));
    zmq_msg_close(&route);
    zmq_msg_init(payload);
    assert_true(zmq_msg_recv(payload, f->server, 0) >= 0);
}

/* The agent connects and sends; the server reads it and notes it as the agent's. */
static void *s_agent_connects_and_is_noted(fixture *f, int monitor_events, void **mon)
{
    void *c = s_client(f, f->agent_key);
    if (mon)
        *mon = s_client_monitor(f, c, monitor_events);
    assert_int_equal(zmq_connect(c, f->endpoint), 0);
    assert_int_equal(zmq_send(c, "hello", 5, 0), 5); /* queued until the handshake is done */
    zmq_msg_t payload;
    s_server_receives(f, &payload);
    const char *uid = zmq_msg_gets(&payload, "User-Id");
    assert_non_null(uid);
    assert_string_equal(uid, AGENT);
    gw_conn_note(f->conn, &payload, AGENT);
    gw_conn_note(f->conn, &payload, AGENT); /* known already: the cheap path */
    zmq_msg_close(&payload);
    return c;
}

/* A plain TCP connection to the server; *local_port gets its own port (the peer's, there). */
static int s_raw_connect(fixture *f, int *local_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)f->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *local_port = ntohs(sa.sin_port);
    return fd;
}

/* Send `bytes` and wait for the server to hang up, so it reads them before it sees an end. */
static void s_raw_send_until_closed(int fd, const void *bytes, size_t len)
{
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    uint64_t deadline = s_now_ms() + WAIT_MS;
    char buf[256];
    for (;;) {
        uint64_t now = s_now_ms();
        assert_true(now < deadline);
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            continue;
        if (read(fd, buf, sizeof buf) <= 0) /* the greeting first, then the end */
            break;
    }
    close(fd);
}

/* A plain TCP connection from source address `from` (127.x.y.z) that says nothing. */
static int s_raw_connect_from(fixture *f, const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in src, dst;
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, from, &src.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)f->port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof dst), 0);
    return fd;
}

/* Has the server ended fd's connection? Reads (and drops) what it sent, without waiting. */
static int s_ended(int fd)
{
    char buf[256];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 0) <= 0)
            return 0;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return 1;
    }
}

static uint64_t s_shed_count(fixture *f)
{
    return atomic_load(&f->stats.handshakes_refused_by_cause[GW_REFUSAL_HANDSHAKE_LIMIT]);
}

static const char s_http[] = "GET / HTTP/1.1\r\nHost: gateway\r\n\r\n";

/* The start of a ZMTP 3 greeting, then junk: libzmq sees a mechanism it does not know. */
static void s_bad_greeting(uint8_t out[64])
{
    memset(out, 0xab, 64);
    out[0] = 0xff;
    out[9] = 0x7f;
}

/* The garbage comes once the connection is in the table, so the line can name the peer. */
static void s_garbage_names_peer(fixture *f, const void *bytes, size_t len, const char *detail)
{
    int port;
    s_capture_log(f);
    int fd = s_raw_connect(f, &port);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 1);
    s_raw_send_until_closed(fd, bytes, len);
    char line[256];
    snprintf(line, sizeof line,
             "warn auth: handshake refused cause=malformed role=agent endpoint=%s "
             "peer=127.0.0.1:%d detail=%s",
             f->endpoint, port, detail);
    WAIT_UNTIL(s_log_has(f, line));
    s_release_log(f);
    assert_int_equal(s_malformed(f), 1);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0);
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_notes_party_and_counts(void **state)
{
    fixture *f = *state;
    assert_int_equal(gw_conn_open_count(f->conn), 0);
    void *c = s_agent_connects_and_is_noted(f, 0, NULL);
    WAIT_UNTIL(gw_conn_party_connected(f->conn, AGENT));
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 1);
    assert_false(gw_conn_party_connected(f->conn, "agent-b"));

    zmq_close(c);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0);
    assert_false(gw_conn_party_connected(f->conn, AGENT));
    assert_int_equal(s_malformed(f), 0);
}

static void test_close_party_drops_the_connection(void **state)
{
    fixture *f = *state;
    void *mon = NULL;
    void *c = s_agent_connects_and_is_noted(f, ZMQ_EVENT_DISCONNECTED, &mon);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 1);
    assert_int_equal(gw_conn_close_party(f->conn, "agent-b"), 0);

    assert_int_equal(gw_conn_close_party(f->conn, AGENT), 1);
    assert_false(gw_conn_party_connected(f->conn, AGENT));
    assert_true(s_saw_event(mon, ZMQ_EVENT_DISCONNECTED)); /* the client sees it go */
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0);
    assert_int_equal(gw_conn_close_party(f->conn, AGENT), 0);
    assert_int_equal(s_malformed(f), 0);
    zmq_close(mon);
    zmq_close(c);
}

/* Not ZMTP at all (first byte not 0xFF): libzmq drops it without a handshake event. Sent at
 * once, so libzmq may be done with it before the monitor reads the ACCEPTED. */
static void test_garbage_counts_as_malformed(void **state)
{
    fixture *f = *state;
    int port;
    s_raw_send_until_closed(s_raw_connect(f, &port), s_http, sizeof s_http - 1);
    WAIT_UNTIL(s_malformed(f) >= 1);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0);
    assert_int_equal(atomic_load(&f->stats.handshakes_accepted), 0);
}

/* Junk after a ZMTP 3 signature: libzmq reports a protocol error. */
static void test_bad_greeting_counts_as_malformed(void **state)
{
    fixture *f = *state;
    int port;
    uint8_t greeting[64];
    s_bad_greeting(greeting);
    s_raw_send_until_closed(s_raw_connect(f, &port), greeting, sizeof greeting);
    WAIT_UNTIL(s_malformed(f) >= 1);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0);
}

static void test_garbage_line_names_the_peer(void **state)
{
    s_garbage_names_peer(*state, s_http, sizeof s_http - 1, "not_zmtp3");
}

static void test_bad_greeting_line_names_the_peer(void **state)
{
    uint8_t greeting[64];
    s_bad_greeting(greeting);
    s_garbage_names_peer(*state, greeting, sizeof greeting,
                         "ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH");
}

/* ZAP refuses the key and gw_auth counts it; the socket monitor must not count it again. */
static void test_unknown_key_is_not_malformed(void **state)
{
    fixture *f = *state;
    mn_key *stranger = NULL;
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "stranger", &stranger, NULL), MN_OK);
    void *c = s_client(f, stranger);
    assert_int_equal(zmq_connect(c, f->endpoint), 0);
    assert_int_equal(zmq_send(c, "hello", 5, ZMQ_DONTWAIT), 5);
    WAIT_UNTIL(atomic_load(&f->stats.handshakes_refused) >= 1);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0); /* the refused connection has ended */
    assert_int_equal(s_malformed(f), 0);
    assert_false(gw_conn_party_connected(f->conn, "stranger"));
    zmq_close(c);
    mn_key_destroy(&stranger);
}

/* Admitted, never sends, hangs up: not a failed handshake. */
static void test_idle_admitted_peer_is_not_malformed(void **state)
{
    fixture *f = *state;
    void *c = s_client(f, f->agent_key);
    void *mon = s_client_monitor(f, c, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    assert_int_equal(zmq_connect(c, f->endpoint), 0);
    /* The server reports its success before it sends READY, so its event is queued already. */
    assert_true(s_saw_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 1);
    assert_false(gw_conn_party_connected(f->conn, AGENT)); /* no message: not known as whose */
    zmq_close(mon);
    zmq_close(c);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0);
    assert_int_equal(s_malformed(f), 0);
}

static void test_over_address_bound_sheds_the_oldest(void **state)
{
    fixture *f = *state;
    int fd[5];
    gw_conn_set_limits(f->conn, 2, 0);
    /* One at a time, each in the table before the next: their age order is known. */
    for (int i = 0; i < 5; i++) {
        fd[i] = s_raw_connect_from(f, "127.0.0.2");
        WAIT_UNTIL(gw_conn_open_count(f->conn) == (uint64_t)(i < 2 ? i + 1 : 2) &&
                   s_shed_count(f) == (uint64_t)(i < 2 ? 0 : i - 1));
    }
    for (int i = 0; i < 3; i++)
        WAIT_UNTIL(s_ended(fd[i])); /* the three oldest */
    assert_false(s_ended(fd[3]));
    assert_false(s_ended(fd[4]));
    /* Another address is not held to 127.0.0.2's bound: an agent gets in and is noted. */
    void *c = s_agent_connects_and_is_noted(f, 0, NULL);
    WAIT_UNTIL(gw_conn_party_connected(f->conn, AGENT));
    assert_int_equal(s_shed_count(f), 3);
    assert_int_equal(s_malformed(f), 0); /* shut down for the bound: not malformed too */
    assert_int_equal(atomic_load(&f->stats.handshakes_refused), 3);
    zmq_close(c);
    for (int i = 0; i < 5; i++)
        close(fd[i]);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0);
}

static void test_over_total_bound_sheds_the_oldest(void **state)
{
    fixture *f = *state;
    static const char *const from[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
    int fd[4];
    gw_conn_set_limits(f->conn, 0, 3);
    for (int i = 0; i < 4; i++) {
        fd[i] = s_raw_connect_from(f, from[i]);
        WAIT_UNTIL(gw_conn_open_count(f->conn) == (uint64_t)(i < 3 ? i + 1 : 3));
    }
    WAIT_UNTIL(s_ended(fd[0]));
    assert_int_equal(s_shed_count(f), 1);
    for (int i = 1; i < 4; i++)
        assert_false(s_ended(fd[i]));
    for (int i = 0; i < 4; i++)
        close(fd[i]);
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 0);
}

/* An admitted agent that has sent nothing is noted for nobody: closing a party's connections
 * misses it, closing the idle ones does not, and leaves a noted connection alone. The ending is
 * not counted as a failed handshake. */
static void test_close_idle_drops_the_unnoted(void **state)
{
    fixture *f = *state;
    void *noted = s_agent_connects_and_is_noted(f, 0, NULL);
    void *c = s_client(f, f->agent_key);
    void *mon = s_client_monitor(f, c, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
    assert_int_equal(zmq_connect(c, f->endpoint), 0);
    assert_true(s_saw_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 2);
    assert_int_equal(gw_conn_close_idle(f->conn), 1);
    assert_true(s_saw_event(mon, ZMQ_EVENT_DISCONNECTED)); /* the idle client sees it go */
    WAIT_UNTIL(gw_conn_open_count(f->conn) == 1);
    assert_true(gw_conn_party_connected(f->conn, AGENT)); /* the noted one stays */
    assert_int_equal(gw_conn_close_idle(f->conn), 0);
    assert_int_equal(gw_conn_close_idle(NULL), 0);
    assert_int_equal(s_malformed(f), 0);
    zmq_close(mon);
    zmq_close(c);
    zmq_close(noted);
}

static void test_null_and_no_descriptor(void **state)
{
    fixture *f = *state;
    zmq_msg_t local;
    zmq_msg_init(&local); /* made here, not received: no source descriptor */
    gw_conn_note(f->conn, &local, AGENT);
    gw_conn_note(NULL, &local, AGENT);
    zmq_msg_close(&local);
    assert_int_equal(gw_conn_open_count(f->conn), 0);
    assert_false(gw_conn_party_connected(f->conn, AGENT));
    assert_int_equal(gw_conn_open_count(NULL), 0);
    assert_int_equal(gw_conn_close_party(NULL, AGENT), 0);
    gw_conn_stop(NULL);
}

int main(void)
{
    if (mn_crypto_init() != MN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_notes_party_and_counts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_close_party_drops_the_connection, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_counts_as_malformed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_greeting_counts_as_malformed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_line_names_the_peer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_greeting_line_names_the_peer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_is_not_malformed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_idle_admitted_peer_is_not_malformed, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_over_address_bound_sheds_the_oldest, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_over_total_bound_sheds_the_oldest, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_close_idle_drops_the_unnoted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_null_and_no_descriptor, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
