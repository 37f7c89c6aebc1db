/* gw_stats.c - counters and histograms. */
#include "gw_stats.h"

#include "mn_time.h"

_Static_assert(GW_STALE_MS == 30ULL * 24 * 3600 * 1000,
               "timestamps_stale_total's help (gw_counters.h) says 30 days");

const double gw_ack_latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,   0.25,   0.5,   1,    2.5,   5};
const size_t gw_ack_latency_n_bounds = sizeof gw_ack_latency_bounds / sizeof(double);
const double gw_batch_size_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
const size_t gw_batch_size_n_bounds = sizeof gw_batch_size_bounds / sizeof(double);

static void s_hist_init(gw_hist *h, const double *bounds, size_t n)
{
    h->bounds = bounds;
    h->n_bounds = n <= GW_HIST_MAX_BUCKETS ? n : GW_HIST_MAX_BUCKETS;
    for (size_t i = 0; i <= GW_HIST_MAX_BUCKETS; i++)
        atomic_init(&h->bucket[i], 0);
    atomic_init(&h->count, 0);
    atomic_init(&h->sum_micro, 0);
}

void gw_hist_observe(gw_hist *h, double value)
{
    size_t i = 0;
    while (i < h->n_bounds && value > h->bounds[i])
        i++;
    atomic_fetch_add(&h->bucket[i], 1);
    atomic_fetch_add(&h->count, 1);
    if (value > 0)
        atomic_fetch_add(&h->sum_micro, (uint_fast64_t)(value * 1e6 + 0.5));
}

const char *gw_refusal_name(int cause)
{
    static const char *const names[GW_REFUSAL_COUNT] = {"unknown_key", "revoked_key", "wrong_party",
                                                        "malformed", "handshake_limit"};
    return cause >= 0 && cause < GW_REFUSAL_COUNT ? names[cause] : "?";
}

void gw_stats_count_refusal(gw_stats *s, int cause)
{
    atomic_fetch_add(&s->handshakes_refused, 1);
    if (cause >= 0 && cause < GW_REFUSAL_COUNT)
        atomic_fetch_add(&s->handshakes_refused_by_cause[cause], 1);
}

/* atomic_init for a STATS figure of GW_COUNTERS. */
#define S_INIT(field, where, ...) GW_COUNTER_IF_STATS(where, atomic_init(&s->field, 0);)

void gw_stats_init(gw_stats *s)
{
    GW_COUNTERS(S_INIT)
    for (int i = 0; i <= MN_REJECT_REASON_MAX; i++)
        atomic_init(&s->rejected_by_reason[i], 0);
    for (int i = 0; i < GW_REFUSAL_COUNT; i++)
        atomic_init(&s->handshakes_refused_by_cause[i], 0);
    for (int i = 0; i < GW_STAGE_COUNT; i++) {
        atomic_init(&s->stage_ns[i], 0);
        atomic_init(&s->stage_items[i], 0);
    }
    s_hist_init(&s->ack_latency, gw_ack_latency_bounds, gw_ack_latency_n_bounds);
    s_hist_init(&s->batch_size, gw_batch_size_bounds, gw_batch_size_n_bounds);
    s->started_ms = mn_now_ms();
}

void gw_stats_count_reject(gw_stats *s, int reason)
{
    atomic_fetch_add(&s->rejected, 1);
    if (reason < 0 || reason > MN_REJECT_REASON_MAX)
        reason = 0;
    atomic_fetch_add(&s->rejected_by_reason[reason], 1);
}

const char *gw_stage_name(int stage)
{
    static const char *const names[GW_STAGE_COUNT] = {"receive",  "verify_open", "build",
                                                      "register", "commit",      "acknowledge"};
    return stage >= 0 && stage < GW_STAGE_COUNT ? names[stage] : "?";
}

void gw_stats_stage(gw_stats *s, int stage, uint64_t ns, uint64_t items)
{
    if (stage < 0 || stage >= GW_STAGE_COUNT)
        return;
    atomic_fetch_add(&s->stage_ns[stage], ns);
    atomic_fetch_add(&s->stage_items[stage], items);
}
