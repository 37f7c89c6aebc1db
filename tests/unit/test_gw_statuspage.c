/* test_gw_statuspage.c - the status page: self-contained, escaped, chart, partners, silent
 * agents, rejects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_statuspage.h"

#define S_NOW 1700000000000ULL

static gw_snap_agent s_agents[4];
static gw_snap_partner s_partners[5];

static void s_partner(int i, const char *name, uint64_t oldest_age_s)
{
    gw_snap_partner *p = &s_partners[i];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->kind, sizeof p->kind, "police");
    p->queue_depth = (uint64_t)i * 10;
    p->oldest_ms = oldest_age_s ? S_NOW - oldest_age_s * 1000 : 0;
}

static void s_agent(int i, const char *name, uint64_t seen_ago_s, int revoked)
{
    gw_snap_agent *a = &s_agents[i];
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->region, sizeof a->region, "north");
    a->last_seen_ms = seen_ago_s ? S_NOW - seen_ago_s * 1000 : 0;
    a->revoked = revoked;
}

static void s_fill(gw_snapshot *s)
{
    memset(s, 0, sizeof *s);
    memset(s_agents, 0, sizeof s_agents);
    memset(s_partners, 0, sizeof s_partners);
    snprintf(s->version, sizeof s->version, "0.4.0");
    snprintf(s->state, sizeof s->state, "running");
    s->now_ms = S_NOW;
    s->started_ms = S_NOW - 3723000; /* 1h02m03s */
    s->store_open = 1;
    s->sockets_bound = 1;
    s->inflight_max = 4096;
    s->registrations = 1234;
    s->rate_accepted = 2.5;
    s->map_size_bytes = 1024ULL * 1024 * 1024;
    s->map_used_bytes = 256ULL * 1024 * 1024;
    for (size_t i = 0; i < 12; i++)
        s->history[i] = i * 5;
    s->n_history = 12;
    s_partner(0, "alpha", 12);
    s_partner(1, "bravo", 303);
    s_partner(2, "charlie", 7800);
    s_partner(3, "delta", 273600);
    s_partner(4, "echo", 0);
    s->partners = s_partners;
    s->n_partners = 5;
    s_agent(0, "agent-fresh", 10, 0);
    s_agent(1, "agent-never", 0, 0);
    s_agent(2, "agent-quiet", 20 * 60, 0);
    s_agent(3, "agent-revoked", 0, 1);
    s->agents = s_agents;
    s->n_agents = 4;
}

static char *s_render(const gw_snapshot *s)
{
    char *page = gw_statuspage_render(s);
    assert_non_null(page);
    return page;
}

/* The text of the element with id="id", up to its closing tag `end`. Caller frees. */
static char *s_element(const char *page, const char *id, const char *end)
{
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *start = strstr(page, key);
    assert_non_null(start);
    const char *stop = strstr(start, end);
    assert_non_null(stop);
    return strndup(start, (size_t)(stop - start));
}

static void test_self_contained(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *page = s_render(&s);
    assert_int_equal(strncmp(page, "<!doctype html>\n", 16), 0);
    assert_non_null(strstr(page, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(page, "<meta http-equiv=\"refresh\" content=\"5\">"));
    assert_non_null(strstr(page, "<title>meldnet gateway - ready</title>"));
    assert_non_null(strstr(page, "<link rel=\"icon\" href=\"data:,\">"));
    assert_non_null(strstr(page, "<style>"));
    assert_null(strstr(page, "<script"));
    assert_null(strstr(page, "http://"));
    assert_null(strstr(page, "https://"));
    assert_null(strstr(page, "src="));
    assert_non_null(strstr(page, "</html>\n"));
    free(page);
}

static void test_header_and_tiles(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *page = s_render(&s);
    assert_non_null(strstr(page, "version 0.4.0"));
    assert_non_null(strstr(page, "up 1h02m"));
    assert_non_null(strstr(page, ">ready</span>"));
    assert_non_null(strstr(page, "<div class=\"value\">2.5</div>"));
    assert_non_null(strstr(page, "<div class=\"value\">1234</div>")); /* 4 digits: whole */
    assert_non_null(strstr(page, "<div class=\"value\">25%</div>"));
    assert_non_null(strstr(page, "256 MiB of 1024 MiB"));
    free(page);
    s.registrations = 1234567;
    page = s_render(&s);
    assert_non_null(strstr(page, "<div class=\"value\">1\u2009234\u2009567</div>"));
    free(page);
    s.overloaded = 1;
    s.inflight = 5000;
    s.store_open = 0;
    page = s_render(&s);
    assert_non_null(strstr(page, ">not ready</span>"));
    assert_non_null(strstr(page, "store not open, overloaded: 5000 envelopes in flight of 4096"));
    free(page);
}

static void test_partners_and_ages(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    s_partners[1].connected = 1;
    char *page = s_render(&s);
    char *table = s_element(page, "partners", "</table>");
    assert_non_null(strstr(table, "<td>alpha</td><td>police</td><td class=\"err\">no</td>"
                                  "<td class=\"n\">0</td><td class=\"n\">12s</td>"));
    assert_non_null(strstr(table, "<td>bravo</td><td>police</td><td>yes</td>"
                                  "<td class=\"n\">10</td><td class=\"n\">5m03s</td>"));
    assert_non_null(strstr(table, "<td class=\"n\">2h10m</td>"));
    assert_non_null(strstr(table, "<td class=\"n\">3d04h</td>"));
    assert_non_null(strstr(table, "<td>echo</td><td>police</td><td class=\"err\">no</td>"
                                  "<td class=\"n\">40</td><td class=\"n\">-</td>"));
    free(table);
    free(page);
}

static void test_names_escaped(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    snprintf(s_partners[0].name, sizeof s_partners[0].name, "ev<&\">'il");
    snprintf(s_agents[1].region, sizeof s_agents[1].region, "<b>north</b>");
    snprintf(s.version, sizeof s.version, "1<script>");
    char *page = s_render(&s);
    assert_non_null(strstr(page, "ev&lt;&amp;&quot;&gt;&#39;il"));
    assert_null(strstr(page, "ev<"));
    assert_non_null(strstr(page, "&lt;b&gt;north&lt;/b&gt;"));
    assert_null(strstr(page, "<b>"));
    assert_null(strstr(page, "<script"));
    free(page);
}

/* The polyline's points attribute, which must hold at least two x,y pairs. */
static void s_expect_line(const char *page)
{
    char *svg = s_element(page, "throughput", "</svg>");
    char *line = s_element(svg, "throughput-line", "/>");
    const char *pts = strstr(line, "points=\"");
    assert_non_null(pts);
    pts += 8;
    assert_true(pts[0] != '"');
    assert_non_null(strchr(pts, ','));
    assert_non_null(strchr(pts, ' '));
    free(line);
    free(svg);
}

static void test_chart(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *page = s_render(&s);
    assert_non_null(strstr(page, "<svg id=\"throughput\""));
    assert_non_null(strstr(page, "minutes ago"));
    assert_non_null(strstr(page, ">11.0/s</text>")); /* max: 55 in 5 s */
    s_expect_line(page);
    free(page);
    /* One point: a short flat line. */
    s.n_history = 1;
    s.history[0] = 10;
    page = s_render(&s);
    s_expect_line(page);
    assert_non_null(strstr(page, ">2.0/s</text>"));
    free(page);
    /* A full history and one past it: no more than GW_HISTORY_POINTS read. */
    for (size_t i = 0; i < GW_HISTORY_POINTS; i++)
        s.history[i] = i;
    s.n_history = GW_HISTORY_POINTS + 1;
    page = s_render(&s);
    s_expect_line(page);
    free(page);
    /* No history yet: no line, a note. */
    s.n_history = 0;
    page = s_render(&s);
    assert_null(strstr(page, "throughput-line"));
    assert_non_null(strstr(page, "no data yet"));
    free(page);
}

static void test_silent_agents(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *page = s_render(&s);
    char *list = s_element(page, "silent-agents", "</ul>");
    assert_non_null(strstr(list, "agent-never <span class=\"muted\">north</span> "
                                 "<span class=\"warn\">never since start</span>"));
    assert_non_null(strstr(list, "agent-quiet"));
    assert_non_null(strstr(list, "20m00s ago"));
    assert_null(strstr(list, "agent-fresh"));
    assert_null(strstr(list, "agent-revoked"));
    free(list);
    free(page);
    s.n_agents = 1; /* only the fresh one */
    page = s_render(&s);
    list = s_element(page, "silent-agents", "</ul>");
    assert_non_null(strstr(list, ">none</li>"));
    free(list);
    free(page);
}

static void test_rejects_and_refusals(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *page = s_render(&s);
    assert_non_null(strstr(page, "<p id=\"rejects\" class=\"muted\">none</p>"));
    assert_non_null(strstr(page, "<p id=\"refused\" class=\"muted\">none</p>"));
    free(page);
    s.rejected_by_reason[5] = 3;
    s.handshakes_refused_by_cause[GW_REFUSAL_REVOKED_KEY] = 2;
    page = s_render(&s);
    char *t = s_element(page, "rejects", "</table>");
    assert_non_null(strstr(t, "<td>BAD_SIGNATURE</td><td class=\"n\">3</td>"));
    assert_null(strstr(t, "MALFORMED"));
    free(t);
    t = s_element(page, "refused", "</table>");
    assert_non_null(strstr(t, "<td>revoked_key</td><td class=\"n\">2</td>"));
    free(t);
    free(page);
}

/* An acute report that reached nobody: a red alarm above the tiles, none while the count is 0. */
static void test_acute_unrouted_alarm(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *page = s_render(&s);
    assert_null(strstr(page, "id=\"acute-unrouted\""));
    free(page);
    s.acute_unrouted = 2;
    page = s_render(&s);
    const char *alarm = strstr(page, "<div class=\"alarm\" id=\"acute-unrouted\"");
    assert_non_null(alarm);
    assert_non_null(strstr(alarm, "ALARM: 2 acute reports since start reached no partner"));
    assert_non_null(strstr(alarm, "hold release unrouted"));
    assert_true(alarm < strstr(page, "class=\"tiles\""));
    assert_non_null(strstr(page, ".alarm{background:#b42323")); /* the red of "not ready" */
    free(page);
}

/* A snapshot of a gateway just started: all zero, no parties, no history. */
static void test_empty_snapshot(void **state)
{
    (void)state;
    gw_snapshot s;
    memset(&s, 0, sizeof s);
    char *page = s_render(&s);
    assert_non_null(strstr(page, "no partners configured"));
    assert_non_null(strstr(page, "store not open"));
    assert_non_null(strstr(page, "</html>\n"));
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_contained),
        cmocka_unit_test(test_header_and_tiles),
        cmocka_unit_test(test_partners_and_ages),
        cmocka_unit_test(test_names_escaped),
        cmocka_unit_test(test_chart),
        cmocka_unit_test(test_silent_agents),
        cmocka_unit_test(test_rejects_and_refusals),
        cmocka_unit_test(test_acute_unrouted_alarm),
        cmocka_unit_test(test_empty_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
