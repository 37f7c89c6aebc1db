/* gw_stats.c - counters and histograms, and a snapshot's start from them. */
#include "gw_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_snapshot.h"
#include "mn_key.h"
#include "mn_time.h"
#include "mn_version.h"

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
    static const char *const names[GW_REFUSAL_COUNT] = {"unknown_key", "revoked_key",
                                                        "wrong_party", "malformed",
                                                        "handshake_limit"};
    return cause >= 0 && cause < GW_REFUSAL_COUNT ? names[cause] : "?";
}

void gw_stats_count_refusal(gw_stats *s, int cause)
{
    atomic_fetch_add(&s->handshakes_refused, 1);
    if (cause >= 0 && cause < GW_REFUSAL_COUNT)
        atomic_fetch_add(&s->handshakes_refused_by_cause[cause], 1);
}

void gw_stats_init(gw_stats *s)
{
    atomic_init(&s->frames_received, 0);
    atomic_init(&s->accepted, 0);
    atomic_init(&s->duplicates, 0);
    atomic_init(&s->rejected, 0);
    for (int i = 0; i <= MN_REJECT_REASON_MAX; i++)
        atomic_init(&s->rejected_by_reason[i], 0);
    atomic_init(&s->handshakes_accepted, 0);
    atomic_init(&s->handshakes_refused, 0);
    for (int i = 0; i < GW_REFUSAL_COUNT; i++)
        atomic_init(&s->handshakes_refused_by_cause[i], 0);
    atomic_init(&s->commits, 0);
    atomic_init(&s->commit_failures, 0);
    atomic_init(&s->reloads, 0);
    atomic_init(&s->queued, 0);
    atomic_init(&s->deliveries, 0);
    atomic_init(&s->redeliveries, 0);
    atomic_init(&s->acks, 0);
    atomic_init(&s->nacks, 0);
    atomic_init(&s->held, 0);
    atomic_init(&s->held_acute, 0);
    atomic_init(&s->nacks_transient, 0);
    atomic_init(&s->partner_errors, 0);
    atomic_init(&s->partner_unknown_acks, 0);
    atomic_init(&s->timestamp_ahead, 0);
    atomic_init(&s->timestamp_stale, 0);
    for (int i = 0; i < GW_STAGE_COUNT; i++) {
        atomic_init(&s->stage_ns[i], 0);
        atomic_init(&s->stage_items[i], 0);
    }
    atomic_init(&s->inflight, 0);
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
    static const char *const names[GW_STAGE_COUNT] = {"receive", "verify_open", "build",
                                                       "register", "commit", "acknowledge"};
    return stage >= 0 && stage < GW_STAGE_COUNT ? names[stage] : "?";
}

void gw_stats_stage(gw_stats *s, int stage, uint64_t ns, uint64_t items)
{
    if (stage < 0 || stage >= GW_STAGE_COUNT)
        return;
    atomic_fetch_add(&s->stage_ns[stage], ns);
    atomic_fetch_add(&s->stage_items[stage], items);
}

static void s_hist_take(const gw_hist *h, gw_snap_hist *out)
{
    out->bounds = h->bounds;
    out->n_bounds = h->n_bounds;
    for (size_t i = 0; i <= h->n_bounds; i++)
        out->bucket[i] = atomic_load(&h->bucket[i]);
    out->count = atomic_load(&h->count);
    out->sum = (double)atomic_load(&h->sum_micro) / 1e6;
}

void gw_stats_snapshot(const gw_stats *s, gw_snapshot *out, const char *state)
{
    memset(out, 0, sizeof *out);
    snprintf(out->version, sizeof out->version, "%s", MN_VERSION);
    snprintf(out->state, sizeof out->state, "%s", state);
    out->pid = (int)getpid();
    out->now_ms = mn_now_ms();
    out->started_ms = s->started_ms;
    out->frames_received = atomic_load(&s->frames_received);
    out->accepted = atomic_load(&s->accepted);
    out->duplicates = atomic_load(&s->duplicates);
    out->rejected = atomic_load(&s->rejected);
    for (int i = 0; i <= MN_REJECT_REASON_MAX; i++)
        out->rejected_by_reason[i] = atomic_load(&s->rejected_by_reason[i]);
    out->handshakes_accepted = atomic_load(&s->handshakes_accepted);
    out->handshakes_refused = atomic_load(&s->handshakes_refused);
    for (int i = 0; i < GW_REFUSAL_COUNT; i++)
        out->handshakes_refused_by_cause[i] = atomic_load(&s->handshakes_refused_by_cause[i]);
    out->commits = atomic_load(&s->commits);
    out->commit_failures = atomic_load(&s->commit_failures);
    out->reloads = atomic_load(&s->reloads);
    out->queued = atomic_load(&s->queued);
    out->deliveries = atomic_load(&s->deliveries);
    out->redeliveries = atomic_load(&s->redeliveries);
    out->acks = atomic_load(&s->acks);
    out->nacks = atomic_load(&s->nacks);
    out->held = atomic_load(&s->held);
    out->held_acute = atomic_load(&s->held_acute);
    out->nacks_transient = atomic_load(&s->nacks_transient);
    out->partner_errors = atomic_load(&s->partner_errors);
    out->partner_unknown_acks = atomic_load(&s->partner_unknown_acks);
    out->timestamp_ahead = atomic_load(&s->timestamp_ahead);
    out->timestamp_stale = atomic_load(&s->timestamp_stale);
    for (int i = 0; i < GW_STAGE_COUNT; i++) {
        out->stage_ns[i] = atomic_load(&s->stage_ns[i]);
        out->stage_items[i] = atomic_load(&s->stage_items[i]);
    }
    out->inflight = atomic_load(&s->inflight);
    s_hist_take(&s->ack_latency, &out->ack_latency);
    s_hist_take(&s->batch_size, &out->batch_size);
}
