/* test_gw_http.c - the HTTP endpoint on 127.0.0.1 with a free port: routes, status codes,
 * headers, readiness, bad listen text, a taken port, publishing while serving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gw_http.h"

typedef struct s_resp {
    int status;
    char head[2048]; /* status line and headers */
    char *body;      /* malloc'd */
} s_resp;

static gw_snap_partner s_partners[1];

/* A port the kernel had free a moment ago. */
static int s_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static gw_http *s_start(int *port)
{
    char text[64];
    gw_http *h = NULL;
    mn_diag d;
    mn_diag_clear(&d);
    *port = s_free_port();
    snprintf(text, sizeof text, "127.0.0.1:%d", *port);
    int rc = gw_http_start(text, &h, &d);
    if (rc != MN_OK)
        fail_msg("gw_http_start %s: %s: %s", text, d.where, d.what);
    return h;
}

static int s_connect(int family, int port)
{
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rc;
    if (family == AF_INET6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        a.sin6_addr = in6addr_loopback;
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    assert_int_equal(rc, 0);
    return fd;
}

/* Send one HTTP/1.0 request and read the answer to EOF. A connection the endpoint reset or
 * closed without an answer gives status -1 (callers check the status). */
static s_resp s_request(int family, int port, const char *method, const char *path)
{
    s_resp r = {.status = -1};
    char req[256];
    size_t cap = 1 << 16, len = 0;
    int fd = s_connect(family, port);
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: test\r\n\r\n", method, path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    char *all = malloc(cap);
    assert_non_null(all);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            all = realloc(all, cap);
            assert_non_null(all);
        }
        ssize_t got = read(fd, all + len, cap - len - 1);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    all[len] = '\0';
    char *end = strstr(all, "\r\n\r\n");
    if (end && sscanf(all, "HTTP/1.%*d %d", &r.status) == 1) {
        *end = '\0';
        snprintf(r.head, sizeof r.head, "%s", all);
        r.body = strdup(end + 4);
    } else {
        r.status = -1;
        r.body = strdup("");
    }
    assert_non_null(r.body);
    free(all);
    return r;
}

static s_resp s_get(int port, const char *path)
{
    return s_request(AF_INET, port, "GET", path);
}

/* Header lines match without regard to the case of the name. */
static int s_has_header(const s_resp *r, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, line, n) == 0 && (p[2 + n] == '\r' || p[2 + n] == '\0'))
            return 1;
    return 0;
}

static void s_expect_header(const s_resp *r, const char *line)
{
    if (!s_has_header(r, line))
        fail_msg("no header \"%s\" in:\n%s", line, r->head);
}

static void s_expect_common_headers(const s_resp *r)
{
    s_expect_header(r, "Cache-Control: no-store");
    s_expect_header(r, "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
                       "img-src data:");
    s_expect_header(r, "X-Content-Type-Options: nosniff");
}

static void s_expect(s_resp r, int status, const char *body)
{
    if (r.status != status)
        fail_msg("status %d, want %d:\n%s\n\n%s", r.status, status, r.head, r.body);
    if (body)
        assert_string_equal(r.body, body);
    s_expect_common_headers(&r);
    free(r.body);
}

static void s_fill(gw_snapshot *s)
{
    memset(s, 0, sizeof *s);
    memset(s_partners, 0, sizeof s_partners);
    snprintf(s->version, sizeof s->version, "0.4.0");
    snprintf(s->state, sizeof s->state, "running");
    s->now_ms = 1700000000000ULL;
    s->started_ms = 1699999990000ULL;
    s->store_open = 1;
    s->sockets_bound = 1;
    s->inflight_max = 4;
    s->accepted = 50;
    snprintf(s_partners[0].name, sizeof s_partners[0].name, "police");
    s->partners = s_partners;
    s->n_partners = 1;
}

static void test_before_first_publish(void **state)
{
    (void)state;
    int port;
    gw_http *h = s_start(&port);
    s_expect(s_get(port, "/healthz"), 200, "ok\n");
    s_expect(s_get(port, "/metrics"), 503, "starting\n");
    s_expect(s_get(port, "/"), 503, "starting\n");
    s_expect(s_get(port, "/readyz"), 503, "starting\n");
    gw_http_stop(&h);
    assert_null(h);
    gw_http_stop(&h);
    gw_http_stop(NULL);
}

static void test_routes_after_publish(void **state)
{
    (void)state;
    int port;
    gw_snapshot s;
    gw_http *h = s_start(&port);
    s_fill(&s);
    assert_int_equal(gw_http_publish(h, &s), MN_OK);
    s_partners[0].name[0] = 'X'; /* the endpoint serves its own copy */

    s_resp r = s_get(port, "/metrics");
    s_expect_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "\nmeldnet_envelopes_accepted_total 50\n"));
    assert_non_null(strstr(r.body, "{partner=\"police\"}"));
    s_expect(r, 200, NULL);

    r = s_get(port, "/");
    s_expect_header(&r, "Content-Type: text/html; charset=utf-8");
    assert_int_equal(strncmp(r.body, "<!doctype html>", 15), 0);
    s_expect(r, 200, NULL);

    r = s_get(port, "/readyz");
    s_expect_header(&r, "Content-Type: text/plain; charset=utf-8");
    s_expect(r, 200, "ready\n");
    s_expect(s_get(port, "/healthz"), 200, "ok\n");
    s_expect(s_get(port, "/nope"), 404, NULL);
    s_expect(s_get(port, "/metrics/"), 404, NULL);
    s_expect(s_get(port, "/metrics?name=x"), 200, NULL); /* the query is not the path */

    r = s_request(AF_INET, port, "HEAD", "/metrics");
    assert_string_equal(r.body, "");
    s_expect(r, 200, NULL);

    r = s_request(AF_INET, port, "POST", "/metrics");
    s_expect_header(&r, "Allow: GET, HEAD");
    s_expect(r, 405, NULL);
    r = s_request(AF_INET, port, "DELETE", "/nope");
    s_expect_header(&r, "Allow: GET, HEAD");
    s_expect(r, 405, NULL);
    gw_http_stop(&h);
}

static void test_readyz_reasons(void **state)
{
    (void)state;
    int port;
    gw_snapshot s;
    gw_http *h = s_start(&port);
    s_fill(&s);
    s.overloaded = 1;
    s.inflight = 5;
    assert_int_equal(gw_http_publish(h, &s), MN_OK);
    s_expect(s_get(port, "/readyz"), 503, "overloaded: 5 envelopes in flight of 4\n");
    s.store_open = 0;
    s.sockets_bound = 0;
    assert_int_equal(gw_http_publish(h, &s), MN_OK);
    s_expect(s_get(port, "/readyz"), 503,
             "store not open\nsockets not bound\noverloaded: 5 envelopes in flight of 4\n");
    s_resp r = s_get(port, "/metrics");
    assert_non_null(strstr(r.body, "\nmeldnet_ready 0\n"));
    s_expect(r, 200, NULL);
    gw_http_stop(&h);
}

static void s_expect_einval(const char *text)
{
    static int sentinel;
    gw_http *h = (gw_http *)(void *)&sentinel; /* must be reset to NULL */
    mn_diag d;
    mn_diag_clear(&d);
    int rc = gw_http_start(text, &h, &d);
    if (rc != MN_EINVAL)
        fail_msg("\"%s\": %s, want MN_EINVAL", text ? text : "(null)", mn_err_name(rc));
    assert_null(h);
    assert_string_equal(d.where, "metrics_listen");
    assert_non_null(strstr(d.hint, "127.0.0.1:9464"));
    assert_non_null(strstr(d.hint, "[::1]:9464"));
}

static void test_bad_listen_text(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "9464",
        ":9464",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:+80",
        "127.0.0.1:80x",
        "127.0.0.1: 80",
        "localhost:9464",
        "*:9464",
        "::1:9464",
        "[::1]9464",
        "[::1]:",
        "[::1:9464",
        "[127.0.0.1]:9464",
        "[]:9464",
        "1.2.3:9464",
        "tcp://127.0.0.1:9464",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_expect_einval(bad[i]);
    s_expect_einval(NULL);
}

static void test_port_taken(void **state)
{
    (void)state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof a;
    char text[64];
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(text, sizeof text, "127.0.0.1:%d", ntohs(a.sin_port));

    gw_http *h = NULL;
    mn_diag d;
    mn_diag_clear(&d);
    assert_int_equal(gw_http_start(text, &h, &d), MN_ESYS);
    assert_null(h);
    assert_string_equal(d.where, "metrics_listen");
    assert_non_null(strstr(d.what, text));
    assert_non_null(strstr(d.hint, "another port"));
    close(fd);
}

static void test_ipv6(void **state)
{
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    a.sin6_addr = in6addr_loopback;
    socklen_t len = sizeof a;
    if (probe < 0 || bind(probe, (struct sockaddr *)&a, sizeof a) != 0) {
        if (probe >= 0)
            close(probe);
        print_message("no IPv6 loopback here: skipping\n");
        skip();
    }
    assert_int_equal(getsockname(probe, (struct sockaddr *)&a, &len), 0);
    close(probe);
    int port = ntohs(a.sin6_port);
    char text[64];
    snprintf(text, sizeof text, "[::1]:%d", port);
    gw_http *h = NULL;
    mn_diag d;
    mn_diag_clear(&d);
    if (gw_http_start(text, &h, &d) != MN_OK)
        fail_msg("%s: %s", d.where, d.what);
    s_expect(s_request(AF_INET6, port, "GET", "/healthz"), 200, "ok\n");
    gw_http_stop(&h);
}

/* Connections opened and dropped without a request leave the endpoint serving. */
static void test_survives_dropped_connections(void **state)
{
    (void)state;
    int port, fds[100];
    gw_http *h = s_start(&port);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++)
            fds[i] = s_connect(AF_INET, port);
        for (int i = 0; i < 100; i++)
            close(fds[i]);
    }
    int fd = s_connect(AF_INET, port);
    assert_int_equal(write(fd, "GARBAGE\r\n\r\n", 11), 11);
    close(fd);
    /* The endpoint frees the dropped connections as it notices them; allow it a moment. */
    s_resp r = {0};
    for (int i = 0; i < 50; i++) {
        r = s_get(port, "/healthz");
        if (r.status == 200)
            break;
        free(r.body);
        usleep(100 * 1000);
    }
    s_expect(r, 200, "ok\n");
    gw_http_stop(&h);
}

typedef struct s_publisher {
    gw_http *h;
    int rounds;
} s_publisher;

static void *s_publish_loop(void *arg)
{
    s_publisher *p = arg;
    gw_snapshot s;
    gw_snap_partner partners[3];
    memset(&s, 0, sizeof s);
    memset(partners, 0, sizeof partners);
    s.partners = partners;
    for (int i = 0; i < p->rounds; i++) {
        s.accepted = (uint64_t)i;
        s.n_partners = (size_t)(i % 4);
        for (size_t k = 0; k < 3; k++)
            snprintf(partners[k].name, sizeof partners[k].name, "p%d-%zu", i, k);
        if (gw_http_publish(p->h, &s) != MN_OK)
            return NULL;
    }
    return p;
}

static void test_publish_while_serving(void **state)
{
    (void)state;
    int port;
    gw_http *h = s_start(&port);
    s_publisher p = {h, 2000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_publish_loop, &p), 0);
    for (int i = 0; i < 40; i++) {
        s_resp r = s_get(port, i % 2 ? "/metrics" : "/");
        assert_true(r.status == 200 || r.status == 503);
        free(r.body);
    }
    void *ok = NULL;
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_ptr_equal(ok, &p);
    s_resp r = s_get(port, "/metrics");
    assert_non_null(strstr(r.body, "\nmeldnet_envelopes_accepted_total 1999\n"));
    s_expect(r, 200, NULL);
    gw_http_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_before_first_publish),
        cmocka_unit_test(test_routes_after_publish),
        cmocka_unit_test(test_readyz_reasons),
        cmocka_unit_test(test_bad_listen_text),
        cmocka_unit_test(test_port_taken),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_survives_dropped_connections),
        cmocka_unit_test(test_publish_while_serving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
