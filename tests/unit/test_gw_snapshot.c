/* test_gw_snapshot.c - snapshots: JSON round trip, old status files, strict types, deep copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_snapshot.h"

/* What gw_stats_write wrote before snapshots existed (a gateway of that version). */
static const char s_old_status[] = "{\n"
                                   "  \"state\": \"running\",\n"
                                   "  \"pid\": 4242,\n"
                                   "  \"listen\": \"tcp://127.0.0.1:7411\",\n"
                                   "  \"started_ms\": 1714550000000,\n"
                                   "  \"written_ms\": 1714550060000,\n"
                                   "  \"registrations\": 17,\n"
                                   "  \"frames_received\": 30,\n"
                                   "  \"accepted\": 17,\n"
                                   "  \"duplicates\": 2,\n"
                                   "  \"rejected\": 11,\n"
                                   "  \"rejected_by_reason\": {\n"
                                   "    \"MALFORMED\": 0,\n"
                                   "    \"UNSUPPORTED_VERSION\": 0,\n"
                                   "    \"TOO_LARGE\": 1,\n"
                                   "    \"AGENT_MISMATCH\": 0,\n"
                                   "    \"BAD_SIGNATURE\": 7,\n"
                                   "    \"CANNOT_OPEN\": 0,\n"
                                   "    \"INVALID_REPORT\": 0,\n"
                                   "    \"BAD_ID\": 0,\n"
                                   "    \"STORE_FAILED\": 0,\n"
                                   "    \"OVERLOADED\": 3,\n"
                                   "    \"RATE_LIMITED\": 0,\n"
                                   "    \"SHUTTING_DOWN\": 0,\n"
                                   "    \"NOT_PERMITTED\": 0\n"
                                   "  },\n"
                                   "  \"handshakes_accepted\": 5,\n"
                                   "  \"handshakes_refused\": 1,\n"
                                   "  \"commits\": 9,\n"
                                   "  \"commit_failures\": 0,\n"
                                   "  \"reloads\": 1,\n"
                                   "  \"queued\": 20,\n"
                                   "  \"deliveries\": 19,\n"
                                   "  \"acks\": 18,\n"
                                   "  \"nacks\": 1,\n"
                                   "  \"held\": 0,\n"
                                   "  \"partner_errors\": 0,\n"
                                   "  \"partner_unknown_acks\": 0,\n"
                                   "  \"timestamp_ahead\": 0,\n"
                                   "  \"timestamp_stale\": 0,\n"
                                   "  \"inflight\": 3,\n"
                                   "  \"stages\": {\n"
                                   "    \"receive\": {\"ns\": 1000, \"items\": 30},\n"
                                   "    \"verify_open\": {\"ns\": 2000, \"items\": 30},\n"
                                   "    \"build\": {\"ns\": 3000, \"items\": 17},\n"
                                   "    \"register\": {\"ns\": 4000, \"items\": 19},\n"
                                   "    \"commit\": {\"ns\": 5000, \"items\": 19},\n"
                                   "    \"acknowledge\": {\"ns\": 6000, \"items\": 19}\n"
                                   "  }\n"
                                   "}\n";

/* A snapshot with every field set to something distinct. Caller clears it. */
static void s_fill(gw_snapshot *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->version, sizeof s->version, "0.5.0");
    s->pid = 777;
    snprintf(s->listen, sizeof s->listen, "tcp://127.0.0.1:7411");
    snprintf(s->delivery_listen, sizeof s->delivery_listen, "tcp://127.0.0.1:7412");
    snprintf(s->metrics_listen, sizeof s->metrics_listen, "127.0.0.1:9464");
    s->now_ms = 1714550060123;
    s->started_ms = 1714550000000;
    snprintf(s->state, sizeof s->state, "running");
    s->store_open = 1;
    s->sockets_bound = 1;
    s->inflight = 3;
    s->inflight_max = 4096;
    uint64_t v = 1;
    uint64_t *counts[] = {&s->frames_received,
                          &s->accepted,
                          &s->duplicates,
                          &s->rejected,
                          &s->handshakes_accepted,
                          &s->handshakes_refused,
                          &s->commits,
                          &s->commit_failures,
                          &s->reloads,
                          &s->queued,
                          &s->deliveries,
                          &s->redeliveries,
                          &s->acks,
                          &s->nacks,
                          &s->held,
                          &s->partner_errors,
                          &s->partner_unknown_acks,
                          &s->timestamp_ahead,
                          &s->timestamp_stale,
                          &s->connected_agents,
                          &s->connected_partners,
                          &s->registrations,
                          &s->unrouted,
                          &s->held_total,
                          &s->map_size_bytes,
                          &s->map_used_bytes};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        *counts[i] = v++ * 11;
    for (int i = 1; i <= MN_REJECT_REASON_MAX; i++)
        s->rejected_by_reason[i] = (uint64_t)i * 3;
    for (int i = 0; i < GW_REFUSAL_COUNT; i++)
        s->handshakes_refused_by_cause[i] = (uint64_t)i + 100;
    for (int i = 0; i < GW_STAGE_COUNT; i++) {
        s->stage_ns[i] = (uint64_t)i * 1000000007ULL;
        s->stage_items[i] = (uint64_t)i * 13;
    }
    s->ack_latency.bounds = gw_ack_latency_bounds;
    s->ack_latency.n_bounds = gw_ack_latency_n_bounds;
    for (size_t i = 0; i <= gw_ack_latency_n_bounds; i++)
        s->ack_latency.bucket[i] = i * 2;
    s->ack_latency.count = 500;
    s->ack_latency.sum = 1.234567;
    s->batch_size.bounds = gw_batch_size_bounds;
    s->batch_size.n_bounds = gw_batch_size_n_bounds;
    s->batch_size.bucket[gw_batch_size_n_bounds] = 4;
    s->batch_size.count = 4;
    s->batch_size.sum = 4096;
    s->n_history = 12;
    for (size_t i = 0; i < s->n_history; i++)
        s->history[i] = i * i;
    s->rate_received = 12.5;
    s->rate_accepted = 12.25;
    s->rate_rejected = 0.1;
    s->n_agents = 2;
    s->agents = calloc(2, sizeof *s->agents);
    assert_non_null(s->agents);
    snprintf(s->agents[0].name, sizeof s->agents[0].name, "agent-a");
    snprintf(s->agents[0].region, sizeof s->agents[0].region, "utrecht");
    s->agents[0].connected = 1;
    s->agents[0].last_seen_ms = 1714550059000;
    s->agents[0].accepted = 15;
    s->agents[0].duplicates = 2;
    s->agents[0].rejected = 1;
    snprintf(s->agents[1].name, sizeof s->agents[1].name, "agent-b");
    snprintf(s->agents[1].region, sizeof s->agents[1].region, "unknown");
    s->agents[1].revoked = 1;
    s->n_partners = 1;
    s->partners = calloc(1, sizeof *s->partners);
    assert_non_null(s->partners);
    snprintf(s->partners[0].name, sizeof s->partners[0].name, "police-midden");
    snprintf(s->partners[0].kind, sizeof s->partners[0].kind, "police");
    s->partners[0].connected = 1;
    s->partners[0].queue_depth = 7;
    s->partners[0].oldest_ms = 1714550001000;
    s->partners[0].held = 1;
    s->partners[0].deliveries = 30;
    s->partners[0].redeliveries = 3;
    s->partners[0].acks = 25;
    s->partners[0].nacks = 2;
}

static void test_round_trip(void **state)
{
    (void)state;
    gw_snapshot s, p;
    mn_diag d = {0};
    s_fill(&s);
    char *one = gw_snapshot_json(&s);
    assert_non_null(one);
    assert_int_equal(gw_snapshot_parse(one, &p, &d), MN_OK);
    char *two = gw_snapshot_json(&p);
    assert_non_null(two);
    assert_string_equal(one, two);
    /* the parsed struct holds what was written */
    assert_string_equal(p.version, "0.5.0");
    assert_int_equal(p.now_ms, s.now_ms);
    assert_int_equal(p.map_used_bytes, s.map_used_bytes);
    assert_int_equal(p.rejected_by_reason[MN_REJECT_REASON_MAX], 3 * MN_REJECT_REASON_MAX);
    assert_int_equal(p.handshakes_refused_by_cause[GW_REFUSAL_MALFORMED], 103);
    assert_int_equal(p.stage_ns[GW_STAGE_ACKNOWLEDGE], 5 * 1000000007ULL);
    assert_int_equal(p.n_history, 12);
    assert_int_equal(p.history[11], 121);
    assert_true(p.rate_rejected == 0.1);
    assert_true(p.ack_latency.sum == 1.234567);
    assert_int_equal(p.n_agents, 2);
    assert_true(p.agents[1].revoked);
    assert_int_equal(p.partners[0].nacks, 2);
    /* bounds equal to gw_stats' tables point at them: nothing owned */
    assert_ptr_equal(p.ack_latency.bounds, gw_ack_latency_bounds);
    assert_ptr_equal(p.batch_size.bounds, gw_batch_size_bounds);
    assert_null(p.ack_latency.bounds_owned);
    free(one);
    free(two);
    gw_snapshot_clear(&s);
    gw_snapshot_clear(&p);
}

/* A gateway that refuses every report for want of storage is not ready, and says why in an
 * operator's words; the storage fields survive status.json. */
static void test_storage_readiness(void **state)
{
    (void)state;
    gw_snapshot s, p;
    mn_diag d = {0};
    char why[1024];
    memset(&s, 0, sizeof s);
    s.store_open = s.sockets_bound = 1;
    s.inflight_max = 100;
    assert_true(gw_snapshot_is_ready(&s));
    gw_snapshot_not_ready_text(&s, "\n", why, sizeof why);
    assert_string_equal(why, "");

    s.disk_low = 1;
    s.free_mb = 50;
    s.min_free_mb = 64;
    assert_false(gw_snapshot_is_ready(&s));
    gw_snapshot_not_ready_text(&s, "\n", why, sizeof why);
    assert_non_null(strstr(why, "storage: free space 50 MB is below min_free_mb 64"));
    assert_non_null(strstr(why, "lower min_free_mb"));

    s.commits_failing = 1;
    gw_snapshot_not_ready_text(&s, "\n", why, sizeof why);
    assert_non_null(strstr(why, "\nstorage: the last commits to the store failed"));
    s.disk_low = 0;
    assert_false(gw_snapshot_is_ready(&s));
    gw_snapshot_not_ready_text(&s, "\n", why, sizeof why);
    assert_true(strncmp(why, "storage: the last commits", 25) == 0);

    /* Every reason at once still fits the /readyz buffer, each on its line. */
    s.store_open = s.sockets_bound = 0;
    s.overloaded = s.disk_low = 1;
    gw_snapshot_not_ready_text(&s, "\n", why, sizeof why);
    assert_non_null(strstr(why, "store not open\nsockets not bound\noverloaded: "));
    assert_non_null(strstr(why, "map_size_mb)"));

    s.store_open = s.sockets_bound = 1;
    s.overloaded = 0;
    char *json = gw_snapshot_json(&s);
    assert_non_null(json);
    assert_int_equal(gw_snapshot_parse(json, &p, &d), MN_OK);
    assert_int_equal(p.disk_low, 1);
    assert_int_equal(p.commits_failing, 1);
    assert_int_equal(p.free_mb, 50);
    assert_int_equal(p.min_free_mb, 64);
    assert_false(gw_snapshot_is_ready(&p));
    free(json);
    gw_snapshot_clear(&p);
}

static void test_old_status_parses(void **state)
{
    (void)state;
    gw_snapshot p;
    mn_diag d = {0};
    assert_int_equal(gw_snapshot_parse(s_old_status, &p, &d), MN_OK);
    assert_string_equal(p.state, "running");
    assert_int_equal(p.pid, 4242);
    assert_string_equal(p.listen, "tcp://127.0.0.1:7411");
    assert_int_equal(p.now_ms, 1714550060000ULL);
    assert_int_equal(p.registrations, 17);
    assert_int_equal(p.accepted, 17);
    assert_int_equal(p.duplicates, 2);
    assert_int_equal(p.rejected, 11);
    assert_int_equal(p.rejected_by_reason[MN_REJECT_BAD_SIGNATURE], 7);
    assert_int_equal(p.rejected_by_reason[MN_REJECT_OVERLOADED], 3);
    assert_int_equal(p.inflight, 3);
    assert_int_equal(p.stage_items[GW_STAGE_BUILD], 17);
    assert_int_equal(p.stage_ns[GW_STAGE_ACKNOWLEDGE], 6000);
    /* what an old gateway did not write stays zero */
    assert_string_equal(p.version, "");
    assert_int_equal(p.n_agents, 0);
    assert_null(p.agents);
    assert_int_equal(p.n_history, 0);
    assert_null(p.ack_latency.bounds);
    assert_int_equal(p.map_size_bytes, 0);
    /* and the re-serialised form keeps the old names and values */
    char *text = gw_snapshot_json(&p);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"accepted\": 17,"));
    assert_non_null(strstr(text, "\"BAD_SIGNATURE\": 7,"));
    assert_non_null(strstr(text, "\"written_ms\": 1714550060000,"));
    free(text);
    gw_snapshot_clear(&p);
}

static void test_unknown_ignored_missing_zero(void **state)
{
    (void)state;
    gw_snapshot p;
    mn_diag d = {0};
    const char *json = "{\"accepted\": 5, \"from_the_future\": {\"x\": [1, \"a\"]},"
                       " \"rejected_by_reason\": {\"NEW_REASON\": 9, \"BAD_ID\": 1},"
                       " \"stages\": {\"teleport\": {\"ns\": 1}},"
                       " \"partners\": [{\"name\": \"p\", \"colour\": \"red\"}]}";
    assert_int_equal(gw_snapshot_parse(json, &p, &d), MN_OK);
    assert_int_equal(p.accepted, 5);
    assert_int_equal(p.rejected_by_reason[MN_REJECT_BAD_ID], 1);
    assert_int_equal(p.n_partners, 1);
    assert_string_equal(p.partners[0].name, "p");
    assert_int_equal(p.partners[0].queue_depth, 0);
    gw_snapshot_clear(&p);
}

/* Parsing `json` fails with MN_EDECODE naming `where`; out is left cleared. */
static void s_expect_bad(const char *json, const char *where)
{
    gw_snapshot p;
    mn_diag d = {0};
    assert_int_equal(gw_snapshot_parse(json, &p, &d), MN_EDECODE);
    assert_int_equal(d.code, MN_EDECODE);
    assert_string_equal(d.where, where);
    assert_true(d.what[0] != '\0');
    assert_null(p.agents);
    assert_null(p.partners);
    assert_int_equal(p.accepted, 0);
}

static void test_wrong_types_rejected(void **state)
{
    (void)state;
    s_expect_bad("{\"accepted\": \"12\"}", "accepted");
    s_expect_bad("{\"accepted\": -1}", "accepted");
    s_expect_bad("{\"accepted\": 1.5}", "accepted");
    s_expect_bad("{\"state\": 3}", "state");
    s_expect_bad("{\"pid\": \"x\"}", "pid");
    s_expect_bad("{\"store_open\": \"yes\"}", "store_open");
    s_expect_bad("{\"rate_accepted\": \"fast\"}", "rate_accepted");
    s_expect_bad("{\"rejected_by_reason\": [1]}", "rejected_by_reason");
    s_expect_bad("{\"rejected_by_reason\": {\"BAD_SIGNATURE\": null}}",
                 "rejected_by_reason.BAD_SIGNATURE");
    s_expect_bad("{\"handshakes_refused_by_cause\": {\"malformed\": true}}",
                 "handshakes_refused_by_cause.malformed");
    s_expect_bad("{\"stages\": {\"commit\": {\"ns\": \"1\"}}}", "stages.commit.ns");
    s_expect_bad("{\"stages\": {\"commit\": 5}}", "stages.commit");
    s_expect_bad("{\"history\": [1, 2, \"3\"]}", "history[2]");
    s_expect_bad("{\"ack_latency\": {\"bounds\": [0.1, \"x\"]}}", "ack_latency.bounds[1]");
    s_expect_bad("{\"ack_latency\": {\"bounds\": [0.1], \"buckets\": [1]}}", "ack_latency.buckets");
    s_expect_bad("{\"batch_size\": {\"bounds\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}}",
                 "batch_size.bounds");
    s_expect_bad("{\"agents\": [{\"name\": \"a\"}, 7]}", "agents[1]");
    s_expect_bad("{\"agents\": {}}", "agents");
    s_expect_bad("{\"partners\": [{\"name\": \"a\"}, {\"queue_depth\": \"many\"}]}",
                 "partners[1].queue_depth");
    s_expect_bad("{\"partners\": [{\"kind\": \"a-kind-name-longer-than-16\"}]}",
                 "partners[0].kind");
    s_expect_bad("[1, 2]", "status");
    s_expect_bad("{\"accepted\": 1,", "line 1 column 15");
}

static void test_history_keeps_newest(void **state)
{
    (void)state;
    size_t n = GW_HISTORY_POINTS + 5, cap = n * 8 + 32, o = 0;
    char *json = malloc(cap);
    assert_non_null(json);
    o += (size_t)snprintf(json + o, cap - o, "{\"history\": [");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(json + o, cap - o, "%s%zu", i ? "," : "", i);
    snprintf(json + o, cap - o, "]}");
    gw_snapshot p;
    mn_diag d = {0};
    assert_int_equal(gw_snapshot_parse(json, &p, &d), MN_OK);
    assert_int_equal(p.n_history, GW_HISTORY_POINTS);
    assert_int_equal(p.history[0], 5);
    assert_int_equal(p.history[GW_HISTORY_POINTS - 1], n - 1);
    gw_snapshot_clear(&p);
    free(json);
}

static void test_foreign_bounds_owned(void **state)
{
    (void)state;
    gw_snapshot p, c;
    mn_diag d = {0};
    const char *json = "{\"ack_latency\": {\"bounds\": [0.5, 1, 2], \"buckets\": [1, 2, 3, 4],"
                       " \"count\": 10, \"sum\": 7.5}}";
    assert_int_equal(gw_snapshot_parse(json, &p, &d), MN_OK);
    assert_non_null(p.ack_latency.bounds_owned);
    assert_ptr_equal(p.ack_latency.bounds, p.ack_latency.bounds_owned);
    assert_int_equal(p.ack_latency.n_bounds, 3);
    assert_true(p.ack_latency.bounds[2] == 2.0);
    assert_int_equal(p.ack_latency.bucket[3], 4);
    /* the copy owns its own bounds: clearing the original leaves it whole */
    assert_int_equal(gw_snapshot_copy(&c, &p), MN_OK);
    assert_ptr_not_equal(c.ack_latency.bounds_owned, p.ack_latency.bounds_owned);
    assert_ptr_equal(c.ack_latency.bounds, c.ack_latency.bounds_owned);
    gw_snapshot_clear(&p);
    assert_true(c.ack_latency.bounds[0] == 0.5);
    char *text = gw_snapshot_json(&c);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"count\": 10"));
    free(text);
    gw_snapshot_clear(&c);
}

static void test_copy_is_deep(void **state)
{
    (void)state;
    gw_snapshot s, c;
    s_fill(&s);
    char *before = gw_snapshot_json(&s);
    assert_non_null(before);
    assert_int_equal(gw_snapshot_copy(&c, &s), MN_OK);
    assert_ptr_not_equal(c.agents, s.agents);
    assert_ptr_not_equal(c.partners, s.partners);
    assert_ptr_equal(c.ack_latency.bounds, gw_ack_latency_bounds); /* tables are shared */
    /* change and free the original: the copy does not notice */
    s.agents[0].accepted = 999;
    snprintf(s.partners[0].name, sizeof s.partners[0].name, "changed");
    gw_snapshot_clear(&s);
    char *after = gw_snapshot_json(&c);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);
    gw_snapshot_clear(&c);
}

static void test_empty_and_clear(void **state)
{
    (void)state;
    gw_snapshot s, c;
    mn_diag d = {0};
    memset(&s, 0, sizeof s);
    char *text = gw_snapshot_json(&s);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"agents\": []"));
    assert_int_equal(gw_snapshot_parse(text, &c, &d), MN_OK);
    assert_int_equal(gw_snapshot_copy(&s, &c), MN_OK);
    assert_null(s.agents);
    free(text);
    gw_snapshot_clear(&c);
    gw_snapshot_clear(&c); /* twice is harmless */
    gw_snapshot_clear(NULL);
    assert_int_equal(gw_snapshot_parse(NULL, &c, &d), MN_EDECODE);
}

static void test_write_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_gw_snapshot.XXXXXX", path[64], text[65536];
    gw_snapshot s, p;
    mn_diag d = {0};
    assert_non_null(mkdtemp(dir));
    s_fill(&s);
    assert_int_equal(gw_snapshot_write(&s, dir, &d), MN_OK);
    snprintf(path, sizeof path, "%s/status.json", dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    assert_true(n > 2 && text[n - 1] == '\n' && text[n - 2] == '}');
    assert_int_equal(gw_snapshot_parse(text, &p, &d), MN_OK);
    assert_int_equal(p.accepted, s.accepted);
    assert_int_equal(gw_snapshot_write(&s, "/nonexistent/dir", &d), MN_ESYS);
    unlink(path);
    rmdir(dir);
    gw_snapshot_clear(&s);
    gw_snapshot_clear(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_old_status_parses),
        cmocka_unit_test(test_unknown_ignored_missing_zero),
        cmocka_unit_test(test_wrong_types_rejected),
        cmocka_unit_test(test_history_keeps_newest),
        cmocka_unit_test(test_foreign_bounds_owned),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_storage_readiness),
        cmocka_unit_test(test_empty_and_clear),
        cmocka_unit_test(test_write_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
