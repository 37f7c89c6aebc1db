/* gw_job.c - a pipeline job's life: make, reject, wipe, free. */
#include "gw_job.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mn_log.h"

static mn_log_limit s_reject_limit;

uint64_t gw_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t gw_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int gw_stage_sample(void)
{
    static _Thread_local unsigned tick;
    return tick++ % GW_STAGE_SAMPLE == 0;
}

int gw_job_new(gw_job **out)
{
    gw_job *job = calloc(1, sizeof *job);
    if (!job)
        return MN_ENOMEM;
    zmq_msg_init(&job->route);
    zmq_msg_init(&job->payload);
    *out = job;
    return MN_OK;
}

void gw_job_drop_content(gw_job *job)
{
    zmq_msg_close(&job->payload);
    zmq_msg_init(&job->payload);
    mn_envelope_clear(&job->env);
    mn_report_destroy(&job->report);
    memset(job->digest, 0, sizeof job->digest);
    gw_dispatch_prepared_clear(&job->prepared);
}

void gw_job_free(gw_job **job_p)
{
    if (!job_p || !*job_p)
        return;
    gw_job *job = *job_p;
    gw_job_drop_content(job);
    zmq_msg_close(&job->route);
    zmq_msg_close(&job->payload);
    free(job->reply);
    free(job);
    *job_p = NULL;
}

void gw_reject_fill(mn_reject *rj, const mn_envelope *env, int reason, const char *detail)
{
    memset(rj, 0, sizeof *rj);
    if (env) {
        rj->has_id = 1;
        memcpy(rj->id, env->id, sizeof rj->id);
    }
    rj->reason = reason;
    rj->retryable = mn_reject_reason_is_retryable(reason);
    /* Details are cut to the wire field's size on purpose. */
    size_t n = strnlen(detail, sizeof rj->detail - 1);
    memcpy(rj->detail, detail, n);
    rj->detail[n] = '\0';
}

void gw_job_answer_reject(gw_job *job, gw_stats *stats, const mn_reject *rj)
{
    gw_stats_count_reject(stats, rj->reason);
    job->receipt.status = 0; /* the answer is this Reject, whatever was decided before */
    mn_log_ratelimited(&s_reject_limit, 60, MN_LOG_WARN, "ingest",
                       "rejected envelope peer=%s reason=%s detail=\"%s\"",
                       job->agent[0] ? job->agent : "?", mn_reject_reason_name(rj->reason),
                       rj->detail);
    free(job->reply);
    job->reply = NULL;
    job->reply_len = 0;
    if (mn_wire_encode_reject(rj, &job->reply, &job->reply_len) != MN_OK) {
        job->reply = NULL;
        job->reply_len = 0;
    }
    gw_job_drop_content(job);
}

void gw_job_reject(gw_job *job, gw_stats *stats, int reason, const char *detail)
{
    mn_reject rj;
    gw_reject_fill(&rj, job->env.agent[0] ? &job->env : NULL, reason, detail);
    gw_job_answer_reject(job, stats, &rj);
}
