/* gw_metrics.c - a snapshot in the Prometheus text exposition format (version 0.0.4).
 *
 * The text is written to an open_memstream, so there is no length arithmetic here; a failed
 * write (out of memory) shows as the stream's error flag at the end and the result is NULL.
 * Each family is written whole (HELP, TYPE, then all its samples) because the format requires
 * a family's samples to be contiguous.
 */
#include "gw_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PREFIX "meldnet_"

/* One labelled sample: the label's name and value (a configured name or a table name). */
typedef struct s_label {
    const char *name;
    const char *value;
} s_label;

static void s_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP " S_PREFIX "%s %s\n# TYPE " S_PREFIX "%s %s\n", name, help, name, type);
}

/* Label values may hold anything; the format escapes exactly these three. */
static void s_label_value(FILE *f, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '"')
            fputs("\\\"", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

/* The shortest text that reads back as the same double, as Prometheus prints floats. Not for
 * a locale with a decimal comma: the gateway never calls setlocale. */
static void s_double_text(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Whole numbers in full ("50", not "5e+01"); 2^53 and beyond are whole anyway. */
    if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v) {
        snprintf(out, cap, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void s_name_labels(FILE *f, const char *name, const char *suffix, const s_label *l)
{
    fprintf(f, S_PREFIX "%s%s", name, suffix);
    if (l && l->name) {
        fprintf(f, "{%s=\"", l->name);
        s_label_value(f, l->value);
        fputs("\"}", f);
    }
}

static void s_sample_u64(FILE *f, const char *name, const s_label *l, uint64_t v)
{
    s_name_labels(f, name, "", l);
    fprintf(f, " %" PRIu64 "\n", v);
}

static void s_sample_double(FILE *f, const char *name, const s_label *l, double v)
{
    char text[40];
    s_double_text(v, text, sizeof text);
    s_name_labels(f, name, "", l);
    fprintf(f, " %s\n", text);
}

/* A family with a single unlabelled integer sample. */
static void s_scalar(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
    s_family(f, name, type, help);
    s_sample_u64(f, name, NULL, v);
}

static void s_bucket(FILE *f, const char *name, const char *le, uint64_t cumulative)
{
    fprintf(f, S_PREFIX "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name, le, cumulative);
}

/* gw_snap_hist keeps per-bucket counts; Prometheus wants them cumulative. _count is the +Inf
 * bucket rather than h->count: the snapshot reads the atomics one by one, so the two can differ
 * by an observation in flight, and the format requires them equal. */
static void s_histogram(FILE *f, const char *name, const char *help, const gw_snap_hist *h)
{
    char text[40];
    uint64_t cumulative = 0;
    size_t n = h->bounds ? h->n_bounds : 0;
    if (n > GW_HIST_MAX_BUCKETS)
        n = GW_HIST_MAX_BUCKETS;
    s_family(f, name, "histogram", help);
    for (size_t i = 0; i < n; i++) {
        cumulative += h->bucket[i];
        s_double_text(h->bounds[i], text, sizeof text);
        s_bucket(f, name, text, cumulative);
    }
    /* Buckets past n_bounds can only be the +Inf one; add them all so no count is lost. */
    for (size_t i = n; i <= GW_HIST_MAX_BUCKETS; i++)
        cumulative += h->bucket[i];
    s_bucket(f, name, "+Inf", cumulative);
    s_double_text(h->sum, text, sizeof text);
    fprintf(f, S_PREFIX "%s_sum %s\n" S_PREFIX "%s_count %" PRIu64 "\n", name, text, name,
            cumulative);
}

static void s_build(FILE *f, const gw_snapshot *s)
{
    s_label l = {"version", s->version};
    s_family(f, "build_info", "gauge", "Always 1; the version label says which gateway runs.");
    s_sample_u64(f, "build_info", &l, 1);
    s_family(f, "process_start_time_seconds", "gauge",
             "When the gateway started, in seconds since the Unix epoch.");
    s_sample_double(f, "process_start_time_seconds", NULL, (double)s->started_ms / 1000.0);
}

/* Every reason is written, zero or not, so rate() works from the first reject. Reason 0
 * (UNSPECIFIED: a code outside the table) only when it happened, so that the series still add
 * up to the total. */
static void s_rejects(FILE *f, const gw_snapshot *s)
{
    const char *name = "envelopes_rejected_total";
    s_family(f, name, "counter", "Envelopes answered with a Reject, by reason.");
    for (int i = 0; i <= MN_REJECT_REASON_MAX; i++) {
        if (i == 0 && s->rejected_by_reason[0] == 0)
            continue;
        s_label l = {"reason", mn_reject_reason_name(i)};
        s_sample_u64(f, name, &l, s->rejected_by_reason[i]);
    }
}

/* The families of the counters of t at place metric_at, in table order. */
static void s_counters(FILE *f, const gw_snapshot *s, const gw_counter_table *t, int metric_at)
{
    for (size_t i = 0; i < t->n; i++) {
        const gw_counter *c = &t->items[i];
        if (c->metric_at == metric_at && c->metric)
            s_scalar(f, c->metric, c->type == GW_COUNTER ? "counter" : "gauge", c->help,
                     gw_snapshot_counter(s, c));
    }
}

static void s_refusals(FILE *f, const gw_snapshot *s)
{
    const char *name = "handshakes_refused_total";
    s_family(f, name, "counter", "CURVE handshakes the gateway refused, by cause.");
    for (int i = 0; i < GW_REFUSAL_COUNT; i++) {
        s_label l = {"cause", gw_refusal_name(i)};
        s_sample_u64(f, name, &l, s->handshakes_refused_by_cause[i]);
    }
}

static void s_histograms(FILE *f, const gw_snapshot *s)
{
    s_histogram(f, "ack_latency_seconds", "Time from receiving an envelope to sending its receipt.",
                &s->ack_latency);
    s_histogram(f, "commit_batch_envelopes", "Envelopes per committed write transaction.",
                &s->batch_size);
}

/* Which figure of a partner a per-partner family shows. */
typedef enum s_pfield {
    S_P_CONNECTED,
    S_P_DEPTH,
    S_P_HELD,
    S_P_DELIVERIES,
    S_P_REDELIVERIES,
    S_P_ACKS,
    S_P_NACKS,
} s_pfield;

static uint64_t s_partner_value(const gw_snap_partner *p, s_pfield field)
{
    switch (field) {
    case S_P_CONNECTED: return p->connected ? 1 : 0;
    case S_P_DEPTH: return p->queue_depth;
    case S_P_HELD: return p->held;
    case S_P_DELIVERIES: return p->deliveries;
    case S_P_REDELIVERIES: return p->redeliveries;
    case S_P_ACKS: return p->acks;
    case S_P_NACKS: return p->nacks;
    }
    return 0;
}

static void s_partner_family(FILE *f, const gw_snapshot *s, const char *name, const char *type,
                             const char *help, s_pfield field)
{
    s_family(f, name, type, help);
    for (size_t i = 0; i < s->n_partners; i++) {
        s_label l = {"partner", s->partners[i].name};
        s_sample_u64(f, name, &l, s_partner_value(&s->partners[i], field));
    }
}

static double s_age_seconds(uint64_t now_ms, uint64_t then_ms)
{
    return then_ms != 0 && now_ms > then_ms ? (double)(now_ms - then_ms) / 1000.0 : 0.0;
}

static void s_partners(FILE *f, const gw_snapshot *s)
{
    const char *age = "partner_oldest_item_age_seconds";
    s_partner_family(f, s, "partner_connected", "gauge",
                     "1 when the partner has a subscribed session.", S_P_CONNECTED);
    s_partner_family(f, s, "partner_queue_depth", "gauge",
                     "Items waiting for delivery or ack, per partner.", S_P_DEPTH);
    s_family(f, age, "gauge", "Age of the partner's oldest waiting item; 0 when none.");
    for (size_t i = 0; i < s->n_partners; i++) {
        s_label l = {"partner", s->partners[i].name};
        s_sample_double(f, age, &l, s_age_seconds(s->now_ms, s->partners[i].oldest_ms));
    }
    s_partner_family(f, s, "partner_held_items", "gauge", "Items in the partner's hold queue.",
                     S_P_HELD);
    s_partner_family(f, s, "partner_deliveries_total", "counter",
                     "Delivery messages sent to the partner (redeliveries too).", S_P_DELIVERIES);
    s_partner_family(f, s, "partner_redeliveries_total", "counter",
                     "Deliveries of items sent to the partner before.", S_P_REDELIVERIES);
    s_partner_family(f, s, "partner_acks_total", "counter", "Items the partner acknowledged.",
                     S_P_ACKS);
    s_partner_family(f, s, "partner_nacks_total", "counter", "Items the partner refused (nack).",
                     S_P_NACKS);
}

static void s_agents(FILE *f, const gw_snapshot *s)
{
    const char *seen = "agent_last_seen_timestamp_seconds";
    const char *revoked = "agent_revoked";
    s_family(f, seen, "gauge",
             "When the agent last sent a frame, in seconds since the Unix epoch (since start).");
    for (size_t i = 0; i < s->n_agents; i++) {
        if (s->agents[i].last_seen_ms == 0)
            continue;
        s_label l = {"agent", s->agents[i].name};
        s_sample_double(f, seen, &l, (double)s->agents[i].last_seen_ms / 1000.0);
    }
    s_family(f, revoked, "gauge", "1 when the agent is revoked in the configuration.");
    for (size_t i = 0; i < s->n_agents; i++) {
        s_label l = {"agent", s->agents[i].name};
        s_sample_u64(f, revoked, &l, s->agents[i].revoked ? 1 : 0);
    }
}

static void s_stages(FILE *f, const gw_snapshot *s)
{
    const char *secs = "stage_seconds_total";
    const char *items = "stage_envelopes_total";
    s_family(f, secs, "counter",
             "Time spent in each pipeline stage (CPU time; wall time for register and commit).");
    for (int i = 0; i < GW_STAGE_COUNT; i++) {
        s_label l = {"stage", gw_stage_name(i)};
        s_sample_double(f, secs, &l, (double)s->stage_ns[i] / 1e9);
    }
    s_family(f, items, "counter", "Envelopes through each pipeline stage.");
    for (int i = 0; i < GW_STAGE_COUNT; i++) {
        s_label l = {"stage", gw_stage_name(i)};
        s_sample_u64(f, items, &l, s->stage_items[i]);
    }
}

static void s_ready(FILE *f, const gw_snapshot *s)
{
    s_scalar(f, "ready", "gauge",
             "1 when the store is open, the sockets are bound, the gateway is not overloaded, the "
             "data folder has more free space than min_free_mb and store commits succeed.",
             gw_snapshot_is_ready(s) ? 1 : 0);
}

char *gw_metrics_render(const gw_snapshot *s)
{
    return gw_metrics_render_with(s, &gw_snapshot_counters);
}

/* The order of the families is the order they had before the counter table (gw_counters.h
 * lists the places). */
char *gw_metrics_render_with(const gw_snapshot *s, const gw_counter_table *counters)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    s_build(f, s);
    s_counters(f, s, counters, GW_METRIC_ENVELOPES);
    s_rejects(f, s);
    s_counters(f, s, counters, GW_METRIC_HANDSHAKES);
    s_refusals(f, s);
    s_histograms(f, s);
    s_counters(f, s, counters, GW_METRIC_PIPELINE);
    s_counters(f, s, counters, GW_METRIC_STORE);
    s_counters(f, s, counters, GW_METRIC_STORE_MAP);
    s_counters(f, s, counters, GW_METRIC_CONNECTIONS);
    s_partners(f, s);
    s_agents(f, s);
    s_counters(f, s, counters, GW_METRIC_MISC);
    s_counters(f, s, counters, GW_METRIC_MISC_END);
    s_stages(f, s);
    s_ready(f, s);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        free(text);
        return NULL;
    }
    return text;
}
