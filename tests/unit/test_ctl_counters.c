/* test_ctl_counters.c - the counter table (gw_counters.h): a counter added to a table appears
 * in /metrics, in status.json (written and parsed back) and on `meldnetctl status`, and nothing
 * else changes; the gateway's own table is well formed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_status.h"
#include "gw_counters.h"
#include "gw_metrics.h"
#include "gw_snapshot.h"

/* A snapshot with two figures more, as a build that added them to GW_COUNTERS would have. */
typedef struct s_snap_plus {
    gw_snapshot snap; /* first: the table's offsets count from here */
    uint64_t widgets;
    uint64_t gadgets;
} s_snap_plus;

/* The test's additions: one counter on a "more" line, one gauge on the totals line. */
/* clang-format off */
#define S_EXTRA(X)                                                                               \
    X(widgets, SNAP, GW_COUNTER, GW_JSON_TAIL, GW_VIEW_MORE, GW_METRIC_MISC_END,                \
      "widgets_total", "Widgets made since start.")                                             \
    X(gadgets, SNAP, GW_GAUGE, GW_JSON_HEAD, GW_VIEW_TOTALS, GW_METRIC_STORE,                   \
      "gadgets", "Gadgets in the store now.")
/* clang-format on */

#define S_ROW(...) GW_COUNTER_ROW(gw_snapshot, __VA_ARGS__)
#define S_PLUS_ROW(...) GW_COUNTER_ROW(s_snap_plus, __VA_ARGS__)

static const gw_counter s_rows[] = {GW_COUNTERS(S_ROW) S_EXTRA(S_PLUS_ROW)};
static const gw_counter_table s_plus = {s_rows, sizeof s_rows / sizeof s_rows[0]};

static gw_snap_agent s_agents[2];
static gw_snap_partner s_partners[1];

/* A stopped gateway's snapshot (ages count from now_ms), every table figure distinct. */
static void s_fill(s_snap_plus *p)
{
    gw_snapshot *s = &p->snap;
    memset(p, 0, sizeof *p);
    memset(s_agents, 0, sizeof s_agents);
    memset(s_partners, 0, sizeof s_partners);
    snprintf(s->version, sizeof s->version, "0.9.0");
    snprintf(s->state, sizeof s->state, "stopped");
    s->pid = 42;
    s->now_ms = 1714550060000ULL;
    s->started_ms = 1714550000000ULL;
    s->store_open = 1;
    s->sockets_bound = 1;
    for (size_t i = 0; i < gw_snapshot_counters.n; i++) {
        uint64_t v = 100 + i;
        memcpy((char *)s + gw_snapshot_counters.items[i].offset, &v, sizeof v);
    }
    s->accepted = 102; /* the figures the screen test names */
    s->duplicates = 103;
    s->rejected = 104;
    s->inflight = 119;
    s->inflight_max = 120;
    s->ack_latency.bounds = gw_ack_latency_bounds;
    s->ack_latency.n_bounds = gw_ack_latency_n_bounds;
    s->batch_size.bounds = gw_batch_size_bounds;
    s->batch_size.n_bounds = gw_batch_size_n_bounds;
    snprintf(s_agents[0].name, sizeof s_agents[0].name, "agent-a");
    s_agents[0].last_seen_ms = s->now_ms - 1000;
    snprintf(s_agents[1].name, sizeof s_agents[1].name, "agent-b");
    s->agents = s_agents;
    s->n_agents = 2;
    snprintf(s_partners[0].name, sizeof s_partners[0].name, "police");
    s_partners[0].queue_depth = 3;
    s_partners[0].oldest_ms = s->now_ms - 61000;
    s->partners = s_partners;
    s->n_partners = 1;
    p->widgets = 4242;
    p->gadgets = 77;
}

/* text with each line in `drop` taken out (a line: up to and with its newline). Caller frees. */
static char *s_without(const char *text, const char *const *drop, size_t n_drop)
{
    char *out = calloc(1, strlen(text) + 1);
    assert_non_null(out);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        int keep = 1;
        for (size_t i = 0; i < n_drop; i++)
            if (strlen(drop[i]) == len && memcmp(line, drop[i], len) == 0)
                keep = 0;
        if (keep)
            strncat(out, line, len);
        line += len;
    }
    return out;
}

static void test_metrics_show_an_added_counter(void **state)
{
    (void)state;
    s_snap_plus p;
    s_fill(&p);
    char *plain = gw_metrics_render(&p.snap);
    char *plus = gw_metrics_render_with(&p.snap, &s_plus);
    assert_non_null(plain);
    assert_non_null(plus);
    const char *added[] = {
        "# HELP meldnet_widgets_total Widgets made since start.\n",
        "# TYPE meldnet_widgets_total counter\n",
        "meldnet_widgets_total 4242\n",
        "# HELP meldnet_gadgets Gadgets in the store now.\n",
        "# TYPE meldnet_gadgets gauge\n",
        "meldnet_gadgets 77\n",
    };
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++)
        assert_non_null(strstr(plus, added[i]));
    /* each at its place: widgets after the last of MISC, gadgets after the last of STORE */
    assert_true(strstr(plus, "meldnet_widgets_total 4242") >
                strstr(plus, "meldnet_timestamps_ahead_total "));
    assert_true(strstr(plus, "meldnet_widgets_total 4242") < strstr(plus, "meldnet_stage_"));
    assert_true(strstr(plus, "meldnet_gadgets 77") > strstr(plus, "meldnet_nacks_transient_total"));
    assert_true(strstr(plus, "meldnet_gadgets 77") < strstr(plus, "meldnet_store_map_size_bytes"));
    char *rest = s_without(plus, added, sizeof added / sizeof added[0]);
    assert_string_equal(rest, plain);
    free(rest);
    free(plain);
    free(plus);
}

static void test_status_json_carries_an_added_counter(void **state)
{
    (void)state;
    s_snap_plus p, back;
    mn_diag d = {0};
    s_fill(&p);
    char *plain = gw_snapshot_json(&p.snap);
    char *plus = gw_snapshot_json_with(&p.snap, &s_plus);
    assert_non_null(plain);
    assert_non_null(plus);
    const char *added[] = {"  \"widgets\": 4242,\n", "  \"gadgets\": 77,\n"};
    assert_non_null(strstr(plus, added[0]));
    assert_non_null(strstr(plus, added[1]));
    /* in their places: gadgets before "rejected_by_reason", widgets after "commits_failing" */
    assert_true(strstr(plus, added[1]) < strstr(plus, "\"rejected_by_reason\""));
    assert_true(strstr(plus, added[0]) > strstr(plus, "\"commits_failing\""));
    char *rest = s_without(plus, added, 2);
    assert_string_equal(rest, plain);
    /* and back: the parse with the same table reads them */
    memset(&back, 0, sizeof back);
    assert_int_equal(gw_snapshot_parse_with(plus, &s_plus, &back.snap, &d), MN_OK);
    assert_int_equal(back.widgets, 4242);
    assert_int_equal(back.gadgets, 77);
    char *again = gw_snapshot_json_with(&back.snap, &s_plus);
    assert_string_equal(again, plus);
    free(again);
    gw_snapshot_clear(&back.snap);
    /* a bad value is named by its key */
    char *bad = strdup(plus);
    memcpy(strstr(bad, "4242"), "-424", 4);
    memset(&back, 0, sizeof back);
    assert_int_equal(gw_snapshot_parse_with(bad, &s_plus, &back.snap, &d), MN_EDECODE);
    assert_string_equal(d.where, "widgets");
    free(bad);
    free(rest);
    free(plain);
    free(plus);
}

/* The screen as text, a newline after each line. Caller frees. */
static char *s_screen_text(const gw_snapshot *s, const gw_counter_table *t)
{
    ctl_status_screen *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    ctl_status_render(sc, s, t, s->now_ms, 900, 8);
    char *text = calloc(sc->n, CTL_STATUS_LINE_CHARS + 1);
    assert_non_null(text);
    for (size_t i = 0; i < sc->n; i++) {
        strcat(text, sc->line[i]);
        strcat(text, "\n");
    }
    free(sc);
    return text;
}

static void test_status_screen_shows_an_added_counter(void **state)
{
    (void)state;
    s_snap_plus p;
    s_fill(&p);
    char *plain = s_screen_text(&p.snap, &gw_snapshot_counters);
    char *plus = s_screen_text(&p.snap, &s_plus);
    const char *was[] = {"accepted 102  duplicates 103  rejected 104  in flight 119 of 120\n",
                         "acute_unrouted 133\n"};
    const char *now[] = {
        "accepted 102  duplicates 103  rejected 104  gadgets 77  in flight 119 of 120\n",
        "acute_unrouted 133  widgets 4242\n",
    };
    assert_non_null(strstr(plain, was[0]));
    assert_non_null(strstr(plus, now[0]));
    /* the "more" line comes last, after storage */
    size_t len = strlen(plus);
    assert_true(len > strlen(now[1]));
    assert_string_equal(plus + len - strlen(now[1]), now[1]);
    char *a = s_without(plain, was, 2);
    char *b = s_without(plus, now, 2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    free(plain);
    free(plus);
}

/* Many "more" counters share lines of at most 80 columns. */
#define S_MANY 12
typedef struct s_snap_many {
    gw_snapshot snap;
    uint64_t more[S_MANY];
} s_snap_many;

static void test_more_lines_are_packed(void **state)
{
    (void)state;
    static s_snap_many m;
    static gw_counter rows[S_MANY];
    static char names[S_MANY][24];
    memset(&m, 0, sizeof m);
    snprintf(m.snap.state, sizeof m.snap.state, "stopped");
    for (size_t i = 0; i < S_MANY; i++) {
        snprintf(names[i], sizeof names[i], "counter_number_%02zu", i);
        m.more[i] = 1000000u + i;
        rows[i] = (gw_counter){names[i],
                               NULL,
                               "-",
                               GW_COUNTER,
                               GW_JSON_TAIL,
                               GW_VIEW_MORE,
                               GW_METRIC_NONE,
                               offsetof(s_snap_many, more) + i * sizeof(uint64_t)};
    }
    gw_counter_table t = {rows, S_MANY};
    char *text = s_screen_text(&m.snap, &t);
    const char *more = strstr(text, "counter_number_00 1000000");
    assert_non_null(more);
    int lines = 0;
    for (const char *line = more; *line; lines++) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        assert_true(end - line <= 80);
        line = end + 1;
    }
    assert_int_equal(lines, 4); /* 12 pieces of 25 columns, three to a line */
    assert_non_null(strstr(text, "counter_number_11 1000011\n"));
    free(text);
}

/* The gateway's own table: unique names, a metric exactly when it has a place in /metrics,
 * counters named _total and gauges not, the offsets inside gw_snapshot. */
static void test_table_is_well_formed(void **state)
{
    (void)state;
    const gw_counter_table *t = &gw_snapshot_counters;
    assert_true(t->n >= 30);
    for (size_t i = 0; i < t->n; i++) {
        const gw_counter *c = &t->items[i];
        assert_non_null(c->name);
        assert_non_null(c->help);
        assert_true(c->help[0] != '\0');
        assert_true(c->offset + sizeof(uint64_t) <= sizeof(gw_snapshot));
        assert_int_equal(c->metric != NULL, c->metric_at != GW_METRIC_NONE);
        if (c->metric) {
            size_t n = strlen(c->metric);
            int total = n > 6 && strcmp(c->metric + n - 6, "_total") == 0;
            assert_int_equal(total, c->type == GW_COUNTER);
        }
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(c->name, t->items[k].name);
            assert_true(c->offset != t->items[k].offset);
            if (c->metric && t->items[k].metric)
                assert_string_not_equal(c->metric, t->items[k].metric);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_show_an_added_counter),
        cmocka_unit_test(test_status_json_carries_an_added_counter),
        cmocka_unit_test(test_status_screen_shows_an_added_counter),
        cmocka_unit_test(test_more_lines_are_packed),
        cmocka_unit_test(test_table_is_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
