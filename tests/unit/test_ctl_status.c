/* test_ctl_status.c - meldnetctl's status screen (the lines `status` prints and `top` draws),
 * reading run/status.json, and the ages and times the views show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_status.h"

#define S_NOW 1714550060000ULL

static gw_snap_agent s_agents[3];
static gw_snap_partner s_partners[3];

/* A running gateway with a bit of everything: rejects, a refused handshake, an acute item on
 * hold, a silent and a revoked agent, three partners. */
static void s_fill(gw_snapshot *s)
{
    memset(s, 0, sizeof *s);
    memset(s_agents, 0, sizeof s_agents);
    memset(s_partners, 0, sizeof s_partners);
    snprintf(s->version, sizeof s->version, "0.9.0");
    snprintf(s->state, sizeof s->state, "running");
    s->pid = 42;
    s->now_ms = S_NOW;
    s->started_ms = S_NOW - 7800000ULL; /* 2h10m */
    s->store_open = 1;
    s->sockets_bound = 1;
    snprintf(s->listen, sizeof s->listen, "tcp://0.0.0.0:7411");
    snprintf(s->delivery_listen, sizeof s->delivery_listen, "tcp://0.0.0.0:7412");
    snprintf(s->metrics_listen, sizeof s->metrics_listen, "127.0.0.1:9464");
    s->accepted = 1200;
    s->duplicates = 3;
    s->rejected = 11;
    s->inflight = 2;
    s->inflight_max = 4096;
    s->rejected_by_reason[1] = 1;  /* MALFORMED */
    s->rejected_by_reason[5] = 7;  /* BAD_SIGNATURE */
    s->rejected_by_reason[10] = 3; /* OVERLOADED */
    s->handshakes_accepted = 9;
    s->handshakes_refused = 2;
    s->handshakes_refused_by_cause[GW_REFUSAL_UNKNOWN_KEY] = 2;
    s->rate_received = 4.25;
    s->rate_accepted = 4;
    s->rate_rejected = 0.25;
    s->held_total = 1;
    s->unrouted = 2;
    s->held_acute = 1;
    s->acute_unrouted = 2;
    s->connected_agents = 1;
    s->map_size_bytes = 1073741824ULL;
    s->map_used_bytes = 10485760ULL;
    s->registrations = 1200;
    s->commits = 300;
    snprintf(s_agents[0].name, sizeof s_agents[0].name, "hotline");
    s_agents[0].last_seen_ms = S_NOW - 5000;
    s_agents[0].connected = 1;
    snprintf(s_agents[1].name, sizeof s_agents[1].name, "quiet");
    s_agents[1].last_seen_ms = S_NOW - 3600000;
    snprintf(s_agents[2].name, sizeof s_agents[2].name, "gone");
    s_agents[2].revoked = 1;
    s->agents = s_agents;
    s->n_agents = 3;
    snprintf(s_partners[0].name, sizeof s_partners[0].name, "police");
    s_partners[0].connected = 1;
    s_partners[0].queue_depth = 4;
    s_partners[0].oldest_ms = S_NOW - 65000;
    snprintf(s_partners[1].name, sizeof s_partners[1].name, "shelter");
    s_partners[1].held = 1;
    snprintf(s_partners[2].name, sizeof s_partners[2].name, "zorg-noord");
    s_partners[2].revoked = 1;
    s->partners = s_partners;
    s->n_partners = 3;
}

static void s_expect_screen(const ctl_status_screen *sc, const char *const *lines, const int *loud,
                            size_t n)
{
    for (size_t i = 0; i < n && i < sc->n; i++) {
        assert_string_equal(sc->line[i], lines[i]);
        assert_int_equal(sc->loud[i], loud[i]);
    }
    assert_int_equal(sc->n, n);
}

static void test_screen_of_a_running_gateway(void **state)
{
    (void)state;
    static ctl_status_screen sc;
    gw_snapshot s;
    s_fill(&s);
    sc.n = 0;
    ctl_status_render(&sc, &s, &gw_snapshot_counters, S_NOW + 1000, 900, 2);
    const char *const lines[] = {
        "meldnet-gateway 0.9.0  running  pid 42  up 2h10m  ready",
        "listen tcp://0.0.0.0:7411  delivery tcp://0.0.0.0:7412  metrics 127.0.0.1:9464",
        "accepted 1200  duplicates 3  rejected 11  in flight 2 of 4096",
        "  rejected by reason: BAD_SIGNATURE 7, OVERLOADED 3, MALFORMED 1",
        "handshakes 9 accepted, 2 refused (unknown_key 2)",
        "last minute: 4.2/s received, 4.0/s accepted, 0.2/s rejected",
        "queues: 3 partners, 4 waiting, 1 held, 2 unrouted",
        ("ALARM: 1 acute referral went to a hold queue since the gateway started: meldnetctl hold "
         "list, then hold release once the partner can take it"),
        ("ALARM: 2 acute reports reached no partner since the gateway started (acute_unrouted): "
         "bind a partner to the topic (partner add ... --bind), then hold release unrouted"),
        "  police          4 waiting  oldest 1m06s   held 0     connected yes",
        "  shelter         0 waiting  oldest -       held 1     connected no",
        "  ... 1 more: meldnetctl queues",
        "agents: 3 known, 1 connected, 1 silent for over 15m",
        "  silent: quiet",
        "storage: 10.0 of 1024.0 MiB used (1%), 1200 registrations, 300 commits",
        "acute_unrouted 2",
    };
    const int loud[] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    s_expect_screen(&sc, lines, loud, sizeof lines / sizeof lines[0]);
}

/* Stopped: ages from the time it wrote the file, "not ready" says why; no endpoints, no
 * rates from an older gateway. */
static void test_screen_of_a_stopped_old_gateway(void **state)
{
    (void)state;
    static ctl_status_screen sc;
    gw_snapshot s;
    memset(&s, 0, sizeof s);
    snprintf(s.state, sizeof s.state, "stopped");
    s.pid = 7;
    s.now_ms = S_NOW;
    s.started_ms = S_NOW - 90000;
    s.accepted = 5;
    s.inflight = 1;
    s.registrations = 5;
    s.commits = 2;
    sc.n = 0;
    ctl_status_render(&sc, &s, &gw_snapshot_counters, S_NOW + 86400000ULL, 60, 8);
    const char *const lines[] = {
        "meldnet-gateway (old)  stopped  pid 7  ran 1m30s  not ready",
        "not ready: the gateway is stopped",
        "accepted 5  duplicates 0  rejected 0  in flight 1",
        "handshakes 0 accepted, 0 refused",
        "last minute: rates not reported by this gateway",
        "queues: 0 partners, 0 waiting, 0 held, 0 unrouted",
        "agents: 0 known, 0 connected, 0 silent for over 1m",
        "storage: 5 registrations, 2 commits",
        "acute_unrouted 0",
    };
    const int loud[] = {0, 1, 0, 0, 0, 0, 0, 0, 0};
    s_expect_screen(&sc, lines, loud, sizeof lines / sizeof lines[0]);
}

static void test_not_ready_says_why(void **state)
{
    (void)state;
    static ctl_status_screen sc;
    gw_snapshot s;
    s_fill(&s);
    s.overloaded = 1;
    s.inflight = 4096;
    s.disk_low = 1;
    s.free_mb = 10;
    s.min_free_mb = 64;
    sc.n = 0;
    ctl_status_render(&sc, &s, &gw_snapshot_counters, S_NOW, 900, 8);
    assert_string_equal(sc.line[0], "meldnet-gateway 0.9.0  running  pid 42  up 2h10m  not ready");
    assert_string_equal(sc.line[1], "not ready: overloaded (4096 in flight, limit 4096), free "
                                    "space 10 MB below min_free_mb 64");
    assert_int_equal(sc.loud[1], 1);
}

static char *s_write_temp(const char *text)
{
    const char *tmp = getenv("TMPDIR");
    char *path = malloc(512);
    assert_non_null(path);
    snprintf(path, 512, "%s/test_ctl_status.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_load(void **state)
{
    (void)state;
    gw_snapshot s;
    char msg[512];
    assert_int_equal(ctl_status_load("/nonexistent/run/status.json", &s, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "no status file /nonexistent/run/status.json: the gateway is "
                                "not running"));
    gw_snapshot_clear(&s);

    char *path = s_write_temp("{\"accepted\": \"many\"}");
    assert_int_equal(ctl_status_load(path, &s, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, ": accepted: expected a non-negative integer, found a string"));
    gw_snapshot_clear(&s);
    unlink(path);
    free(path);

    /* strings from the file are made printable */
    path = s_write_temp("{\"state\": \"run\\u001b[2Jning\", \"accepted\": 3}");
    assert_int_equal(ctl_status_load(path, &s, msg, sizeof msg), 0);
    assert_string_equal(s.state, "run?[2Jning");
    assert_int_equal(s.accepted, 3);
    assert_int_equal(ctl_status_is_running(&s), 0);
    gw_snapshot_clear(&s);
    unlink(path);
    free(path);
}

static void test_ages_and_times(void **state)
{
    (void)state;
    char buf[128];
    gw_snapshot s;
    memset(&s, 0, sizeof s);
    ctl_status_age(S_NOW, 0, buf, sizeof buf);
    assert_string_equal(buf, "-");
    ctl_status_age(S_NOW, S_NOW - 303000, buf, sizeof buf);
    assert_string_equal(buf, "5m03s");
    assert_int_equal(ctl_status_since(5, 9), 0);
    ctl_status_iso(0, buf, sizeof buf);
    assert_string_equal(buf, "-");
    ctl_status_iso(1714550400000ULL, buf, sizeof buf);
    assert_string_equal(buf, "2024-05-01T08:00:00Z");
    /* stopped: ages count from the file's time; running: from now */
    s.now_ms = S_NOW;
    assert_int_equal(ctl_status_ref_ms(&s, S_NOW + 5), S_NOW);
    snprintf(s.state, sizeof s.state, "running");
    assert_int_equal(ctl_status_ref_ms(&s, S_NOW + 5), S_NOW + 5);
    assert_int_equal(ctl_status_stale(&s, S_NOW + 5000, buf, sizeof buf), 0);
    assert_int_equal(ctl_status_stale(&s, S_NOW + 65000, buf, sizeof buf), 1);
    assert_string_equal(buf, "the gateway wrote its status 1m05s ago: it may be hung or stopped");
    gw_snap_agent a;
    memset(&a, 0, sizeof a);
    assert_int_equal(ctl_status_is_silent(&a, S_NOW, 900), 1); /* never seen */
    a.last_seen_ms = S_NOW - 900000;
    assert_int_equal(ctl_status_is_silent(&a, S_NOW, 900), 0);
    a.last_seen_ms = S_NOW - 900001;
    assert_int_equal(ctl_status_is_silent(&a, S_NOW, 900), 1);
    a.revoked = 1;
    assert_int_equal(ctl_status_is_silent(&a, S_NOW, 900), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_screen_of_a_running_gateway),
        cmocka_unit_test(test_screen_of_a_stopped_old_gateway),
        cmocka_unit_test(test_not_ready_says_why),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_ages_and_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
