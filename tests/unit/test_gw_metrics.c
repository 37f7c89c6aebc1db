/* test_gw_metrics.c - the Prometheus exposition: known values, escaping, cumulative buckets,
 * and promtool's own check (skipped, with a message, where promtool is not installed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gw_metrics.h"

static gw_snap_agent s_agents[3];
static gw_snap_partner s_partners[2];

/* A snapshot with a figure in every field, distinct where it matters. */
static void s_fill(gw_snapshot *s)
{
    memset(s, 0, sizeof *s);
    memset(s_agents, 0, sizeof s_agents);
    memset(s_partners, 0, sizeof s_partners);
    snprintf(s->version, sizeof s->version, "0.4.0");
    s->now_ms = 1700000100000ULL;
    s->started_ms = 1700000000123ULL;
    snprintf(s->state, sizeof s->state, "running");
    s->store_open = 1;
    s->sockets_bound = 1;
    s->inflight = 3;
    s->inflight_max = 4096;
    s->frames_received = 60;
    s->accepted = 50;
    s->duplicates = 4;
    s->rejected = 6;
    s->rejected_by_reason[5] = 2; /* BAD_SIGNATURE */
    s->rejected_by_reason[11] = 4;
    s->handshakes_accepted = 9;
    s->handshakes_refused = 3;
    s->handshakes_refused_by_cause[GW_REFUSAL_UNKNOWN_KEY] = 2;
    s->handshakes_refused_by_cause[GW_REFUSAL_MALFORMED] = 1;
    s->commits = 21;
    s->commit_failures = 1;
    s->reloads = 2;
    s->partner_errors = 5;
    s->partner_unknown_acks = 6;
    s->timestamp_ahead = 7;
    s->timestamp_stale = 8;
    s->stage_ns[GW_STAGE_COMMIT] = 1500000000ULL;
    s->stage_items[GW_STAGE_COMMIT] = 50;
    s->ack_latency.bounds = gw_ack_latency_bounds;
    s->ack_latency.n_bounds = gw_ack_latency_n_bounds;
    s->ack_latency.bucket[0] = 1;  /* <= 0.001 */
    s->ack_latency.bucket[1] = 2;  /* <= 0.0025 */
    s->ack_latency.bucket[3] = 3;  /* <= 0.01 */
    s->ack_latency.bucket[12] = 4; /* +Inf */
    s->ack_latency.count = 10;
    s->ack_latency.sum = 1.25;
    s->batch_size.bounds = gw_batch_size_bounds;
    s->batch_size.n_bounds = gw_batch_size_n_bounds;
    s->batch_size.bucket[2] = 21; /* <= 4 */
    s->batch_size.count = 21;
    s->batch_size.sum = 50;
    s->connected_agents = 2;
    s->connected_partners = 1;
    s->registrations = 50;
    s->unrouted = 1;
    s->held_total = 2;
    s->held_acute = 1;
    s->acute_unrouted = 1;
    s->nacks_transient = 7;
    s->map_size_bytes = 1073741824ULL;
    s->map_used_bytes = 1048576ULL;
    snprintf(s_agents[0].name, sizeof s_agents[0].name, "agent-a");
    s_agents[0].last_seen_ms = 1700000099500ULL;
    snprintf(s_agents[1].name, sizeof s_agents[1].name, "agent-b"); /* never seen */
    snprintf(s_agents[2].name, sizeof s_agents[2].name, "agent-c");
    s_agents[2].revoked = 1;
    s->agents = s_agents;
    s->n_agents = 3;
    snprintf(s_partners[0].name, sizeof s_partners[0].name, "police");
    s_partners[0].connected = 1;
    s_partners[0].queue_depth = 7;
    s_partners[0].oldest_ms = 1700000087500ULL; /* 12.5 s before now */
    s_partners[0].held = 2;
    s_partners[0].deliveries = 30;
    s_partners[0].redeliveries = 3;
    s_partners[0].acks = 26;
    s_partners[0].nacks = 1;
    snprintf(s_partners[1].name, sizeof s_partners[1].name, "shelter");
    s->partners = s_partners;
    s->n_partners = 2;
}

/* Whether `line` is a whole line of text. */
static int s_has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

static void s_expect(const char *text, const char *line)
{
    if (!s_has_line(text, line))
        fail_msg("missing line: %s", line);
}

static void test_known_values(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *m = gw_metrics_render(&s);
    assert_non_null(m);
    s_expect(m, "# TYPE meldnet_envelopes_accepted_total counter");
    s_expect(m, "meldnet_envelopes_accepted_total 50");
    s_expect(m, "meldnet_envelopes_received_total 60");
    s_expect(m, "meldnet_envelopes_duplicate_total 4");
    s_expect(m, "meldnet_build_info{version=\"0.4.0\"} 1");
    s_expect(m, "meldnet_process_start_time_seconds 1700000000.123");
    s_expect(m, "meldnet_envelopes_rejected_total{reason=\"BAD_SIGNATURE\"} 2");
    s_expect(m, "meldnet_envelopes_rejected_total{reason=\"RATE_LIMITED\"} 4");
    s_expect(m, "meldnet_handshakes_refused_total{cause=\"unknown_key\"} 2");
    s_expect(m, "meldnet_handshakes_refused_total{cause=\"revoked_key\"} 0");
    s_expect(m, "meldnet_commits_total 21");
    s_expect(m, "meldnet_commit_failures_total 1");
    s_expect(m, "meldnet_reloads_total 2");
    s_expect(m, "meldnet_inflight_envelopes 3");
    s_expect(m, "meldnet_inflight_limit_envelopes 4096");
    s_expect(m, "meldnet_registrations 50");
    s_expect(m, "meldnet_unrouted_topics 1");
    s_expect(m, "meldnet_hold_items 2");
    s_expect(m, "meldnet_held_acute_total 1");
    s_expect(m, "meldnet_acute_unrouted_total 1");
    s_expect(m, "meldnet_nacks_transient_total 7");
    s_expect(m, "meldnet_store_map_size_bytes 1073741824");
    s_expect(m, "meldnet_store_used_bytes 1048576");
    s_expect(m, "meldnet_connected_agents 2");
    s_expect(m, "meldnet_connected_partners 1");
    s_expect(m, "meldnet_partner_connected{partner=\"police\"} 1");
    s_expect(m, "meldnet_partner_connected{partner=\"shelter\"} 0");
    s_expect(m, "meldnet_partner_queue_depth{partner=\"police\"} 7");
    s_expect(m, "meldnet_partner_oldest_item_age_seconds{partner=\"police\"} 12.5");
    s_expect(m, "meldnet_partner_oldest_item_age_seconds{partner=\"shelter\"} 0");
    s_expect(m, "meldnet_partner_held_items{partner=\"police\"} 2");
    s_expect(m, "meldnet_partner_deliveries_total{partner=\"police\"} 30");
    s_expect(m, "meldnet_partner_redeliveries_total{partner=\"police\"} 3");
    s_expect(m, "meldnet_partner_acks_total{partner=\"police\"} 26");
    s_expect(m, "meldnet_partner_nacks_total{partner=\"police\"} 1");
    s_expect(m, "meldnet_agent_last_seen_timestamp_seconds{agent=\"agent-a\"} 1700000099.5");
    assert_null(strstr(m, "meldnet_agent_last_seen_timestamp_seconds{agent=\"agent-b\"}"));
    s_expect(m, "meldnet_agent_revoked{agent=\"agent-b\"} 0");
    s_expect(m, "meldnet_agent_revoked{agent=\"agent-c\"} 1");
    s_expect(m, "meldnet_partner_errors_total 5");
    s_expect(m, "meldnet_partner_unknown_acks_total 6");
    s_expect(m, "meldnet_timestamps_stale_total 8");
    s_expect(m, "meldnet_timestamps_ahead_total 7");
    s_expect(m, "meldnet_stage_seconds_total{stage=\"commit\"} 1.5");
    s_expect(m, "meldnet_stage_seconds_total{stage=\"receive\"} 0");
    s_expect(m, "meldnet_stage_envelopes_total{stage=\"commit\"} 50");
    s_expect(m, "meldnet_ready 1");
    free(m);
}

static void test_every_reason_even_zero(void **state)
{
    (void)state;
    gw_snapshot s;
    char line[128];
    s_fill(&s);
    char *m = gw_metrics_render(&s);
    assert_non_null(m);
    for (int i = 1; i <= MN_REJECT_REASON_MAX; i++) {
        snprintf(line, sizeof line, "meldnet_envelopes_rejected_total{reason=\"%s\"} ",
                 mn_reject_reason_name(i));
        assert_non_null(strstr(m, line));
    }
    /* Reason 0 only when it happened. */
    assert_null(strstr(m, "reason=\"UNSPECIFIED\""));
    free(m);
    s.rejected_by_reason[0] = 3;
    m = gw_metrics_render(&s);
    assert_non_null(m);
    s_expect(m, "meldnet_envelopes_rejected_total{reason=\"UNSPECIFIED\"} 3");
    free(m);
}

static void test_cumulative_buckets(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *m = gw_metrics_render(&s);
    assert_non_null(m);
    s_expect(m, "# TYPE meldnet_ack_latency_seconds histogram");
    s_expect(m, "meldnet_ack_latency_seconds_bucket{le=\"0.001\"} 1");
    s_expect(m, "meldnet_ack_latency_seconds_bucket{le=\"0.0025\"} 3");
    s_expect(m, "meldnet_ack_latency_seconds_bucket{le=\"0.005\"} 3");
    s_expect(m, "meldnet_ack_latency_seconds_bucket{le=\"0.01\"} 6");
    s_expect(m, "meldnet_ack_latency_seconds_bucket{le=\"1\"} 6");
    s_expect(m, "meldnet_ack_latency_seconds_bucket{le=\"5\"} 6");
    s_expect(m, "meldnet_ack_latency_seconds_bucket{le=\"+Inf\"} 10");
    s_expect(m, "meldnet_ack_latency_seconds_sum 1.25");
    s_expect(m, "meldnet_ack_latency_seconds_count 10");
    s_expect(m, "meldnet_commit_batch_envelopes_bucket{le=\"2\"} 0");
    s_expect(m, "meldnet_commit_batch_envelopes_bucket{le=\"4\"} 21");
    s_expect(m, "meldnet_commit_batch_envelopes_bucket{le=\"1024\"} 21");
    s_expect(m, "meldnet_commit_batch_envelopes_bucket{le=\"+Inf\"} 21");
    s_expect(m, "meldnet_commit_batch_envelopes_sum 50");
    s_expect(m, "meldnet_commit_batch_envelopes_count 21");
    free(m);
}

static void test_label_escaping(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    snprintf(s.version, sizeof s.version, "1\"q\\b\nn");
    snprintf(s_partners[1].name, sizeof s_partners[1].name, "x\"y");
    char *m = gw_metrics_render(&s);
    assert_non_null(m);
    s_expect(m, "meldnet_build_info{version=\"1\\\"q\\\\b\\nn\"} 1");
    s_expect(m, "meldnet_partner_connected{partner=\"x\\\"y\"} 0");
    free(m);
}

/* The text's own rules: HELP then TYPE for each family, counters named _total, only our
 * prefix, every line ended. */
static void test_families_well_formed(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    char *m = gw_metrics_render(&s);
    assert_non_null(m);
    size_t len = strlen(m);
    assert_true(len > 0 && m[len - 1] == '\n');
    int families = 0;
    for (char *line = strtok(m, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            families++;
            char name[128], type[32];
            assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
            size_t n = strlen(name);
            int is_total = n > 6 && strcmp(name + n - 6, "_total") == 0;
            assert_int_equal(strcmp(type, "counter") == 0, is_total);
        } else if (strncmp(line, "# HELP meldnet_", 15) != 0) {
            assert_int_equal(strncmp(line, "meldnet_", 8), 0);
        }
    }
    assert_int_equal(families, 43);
    free(m);
}

static void test_overloaded_not_ready(void **state)
{
    (void)state;
    gw_snapshot s;
    s_fill(&s);
    s.overloaded = 1;
    char *m = gw_metrics_render(&s);
    assert_non_null(m);
    s_expect(m, "meldnet_ready 0");
    free(m);
}

/* promtool check metrics < file; its output shown on failure. Returns its exit status. */
static int s_promtool(const char *text, char *out, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    char path[512], cmd[700];
    snprintf(path, sizeof path, "%s/test_gw_metrics.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void s_check_with_promtool(const gw_snapshot *s)
{
    char out[4096];
    char *m = gw_metrics_render(s);
    assert_non_null(m);
    int rc = s_promtool(m, out, sizeof out);
    if (rc != 0)
        fail_msg("promtool check metrics: exit %d\n%s", rc, out);
    free(m);
}

static void test_promtool_accepts(void **state)
{
    (void)state;
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        print_message("promtool not installed: skipping its check (apt-get install "
                      "prometheus)\n");
        skip();
    }
    gw_snapshot s;
    s_fill(&s);
    s_check_with_promtool(&s);
    /* A gateway just started: no parties, no histogram tables, all zero. */
    memset(&s, 0, sizeof s);
    s_check_with_promtool(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),         cmocka_unit_test(test_every_reason_even_zero),
        cmocka_unit_test(test_cumulative_buckets),   cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_families_well_formed), cmocka_unit_test(test_overloaded_not_ready),
        cmocka_unit_test(test_promtool_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
