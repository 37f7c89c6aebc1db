/* gw_stats.c - counters and the status file. */
#include "gw_stats.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mn_envelope.h"
#include "mn_key.h"

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
    atomic_init(&s->commits, 0);
    atomic_init(&s->commit_failures, 0);
    atomic_init(&s->reloads, 0);
    atomic_init(&s->queued, 0);
    atomic_init(&s->deliveries, 0);
    atomic_init(&s->acks, 0);
    atomic_init(&s->nacks, 0);
    atomic_init(&s->held, 0);
    atomic_init(&s->partner_errors, 0);
    atomic_init(&s->partner_unknown_acks, 0);
    atomic_init(&s->timestamp_ahead, 0);
    atomic_init(&s->timestamp_stale, 0);
    for (int i = 0; i < GW_STAGE_COUNT; i++) {
        atomic_init(&s->stage_ns[i], 0);
        atomic_init(&s->stage_items[i], 0);
    }
    atomic_init(&s->inflight, 0);
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

static json_t *s_u64(const atomic_uint_fast64_t *v)
{
    return json_integer((json_int_t)atomic_load(v));
}

int gw_stats_write(const gw_stats *s, const char *run_dir, const char *state, const char *listen,
                   uint64_t registrations, mn_diag *d)
{
    int rc = MN_ENOMEM;
    char path[4200];
    char *text = NULL;
    json_t *root = json_object();
    json_t *reasons = json_object();
    if (!root || !reasons)
        goto out;
    for (int i = 1; i <= MN_REJECT_REASON_MAX; i++)
        json_object_set_new(reasons, mn_reject_reason_name(i), s_u64(&s->rejected_by_reason[i]));
    json_object_set_new(root, "state", json_string(state));
    json_object_set_new(root, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(root, "listen", json_string(listen));
    json_object_set_new(root, "started_ms", json_integer((json_int_t)s->started_ms));
    json_object_set_new(root, "written_ms", json_integer((json_int_t)mn_now_ms()));
    json_object_set_new(root, "registrations", json_integer((json_int_t)registrations));
    json_object_set_new(root, "frames_received", s_u64(&s->frames_received));
    json_object_set_new(root, "accepted", s_u64(&s->accepted));
    json_object_set_new(root, "duplicates", s_u64(&s->duplicates));
    json_object_set_new(root, "rejected", s_u64(&s->rejected));
    json_object_set(root, "rejected_by_reason", reasons);
    json_object_set_new(root, "handshakes_accepted", s_u64(&s->handshakes_accepted));
    json_object_set_new(root, "handshakes_refused", s_u64(&s->handshakes_refused));
    json_object_set_new(root, "commits", s_u64(&s->commits));
    json_object_set_new(root, "commit_failures", s_u64(&s->commit_failures));
    json_object_set_new(root, "reloads", s_u64(&s->reloads));
    json_object_set_new(root, "queued", s_u64(&s->queued));
    json_object_set_new(root, "deliveries", s_u64(&s->deliveries));
    json_object_set_new(root, "acks", s_u64(&s->acks));
    json_object_set_new(root, "nacks", s_u64(&s->nacks));
    json_object_set_new(root, "held", s_u64(&s->held));
    json_object_set_new(root, "partner_errors", s_u64(&s->partner_errors));
    json_object_set_new(root, "partner_unknown_acks", s_u64(&s->partner_unknown_acks));
    json_object_set_new(root, "timestamp_ahead", s_u64(&s->timestamp_ahead));
    json_object_set_new(root, "timestamp_stale", s_u64(&s->timestamp_stale));
    json_object_set_new(root, "inflight", s_u64(&s->inflight));
    /* "stages": {"receive": {"ns": N, "items": N}, ...} */
    json_t *stages = json_object();
    for (int i = 0; stages && i < GW_STAGE_COUNT; i++) {
        json_t *st = json_pack("{s:I,s:I}", "ns", (json_int_t)atomic_load(&s->stage_ns[i]),
                               "items", (json_int_t)atomic_load(&s->stage_items[i]));
        if (st)
            json_object_set_new(stages, gw_stage_name(i), st);
    }
    if (stages)
        json_object_set_new(root, "stages", stages);
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        goto out;
    snprintf(path, sizeof path, "%s/status.json", run_dir);
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps leaves room for the NUL; swap it for a newline */
    rc = mn_file_write_atomic(path, text, n + 1, 0644, d);
out:
    json_decref(reasons);
    json_decref(root);
    free(text);
    return rc;
}
