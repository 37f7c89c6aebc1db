/* gw_job.h - one envelope on its way through the ingest pipeline, and its answer.
 *
 *   receive thread ──work──▶ verify workers ──write──▶ writer ──replies──▶ receive thread
 *        │ (cheap refusals                │ (refusals)                           │
 *        └─ answered at once)             └──────────────replies─────────────────┘
 *
 * A job is owned by exactly one thread at a time: the one that popped it from a queue. It
 * carries the peer's routing id and, once answered, the encoded reply; the receive thread
 * sends the reply (only it may touch the ROUTER socket) and frees the job. Plaintext (the
 * decoded report) lives only in the job and is wiped when the job is freed or answered.
 */
#ifndef GW_JOB_H
#define GW_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "gw_dispatch.h"
#include "gw_queue.h"
#include "gw_stats.h"
#include "mn_envelope.h"
#include "mn_key.h"
#include "mn_report.h"
#include "mn_wire.h"

typedef struct gw_job {
    gw_link link; /* first: queues hand over &job->link */
    zmq_msg_t route;
    zmq_msg_t payload;                /* the frame; closed once decoded */
    char agent[MN_NAME_MAX + 1];      /* ZAP User-Id of the connection */
    uint8_t agent_sign[MN_KEY_BYTES]; /* the agent's signing key when it was received */
    uint64_t received_ns;             /* gw_mono_ns() when read: the ack latency's start */
    mn_envelope env;                  /* decoded; sealed freed once opened */
    mn_report *report;                /* plaintext, wiped on free */
    uint8_t digest[32];
    int acute;
    mn_receipt receipt; /* status 0 unless the answer is a Receipt */
    uint8_t *reply;     /* encoded FromGateway, to send */
    size_t reply_len;
    /* What a worker does with the job: verify it (from the receive thread), or for the
     * writer build its records (gw_writer_build) or sign its receipt (gw_writer_acknowledge). */
    enum { GW_JOB_VERIFY = 0, GW_JOB_BUILD, GW_JOB_ACKNOWLEDGE } task;
    mn_record_info info;
    const gw_dispatch_deps *dispatch; /* the batch's, with its sealers */
    gw_dispatch_prepared prepared;
    int build_rc;
    mn_diag build_diag;
    void *countdown; /* the writer's wait for its batch */
} gw_job;

static inline gw_job *gw_job_of(gw_link *l)
{
    return (gw_job *)(void *)l; /* link is the first member */
}

/* A job for a message about to be received: route and payload initialised, empty. */
MN_NODISCARD int gw_job_new(gw_job **out);

/* Drop the plaintext and the decoded envelope, keep route and reply. */
void gw_job_drop_content(gw_job *job);

/* Close the messages, wipe and free everything. NULL-safe; sets *job_p to NULL. */
void gw_job_free(gw_job **job_p);

/* Answer with a Reject: counted in stats, logged (rate-limited, no content), encoded into
 * job->reply; the content is dropped. The envelope's id goes back when it was decoded. */
void gw_job_reject(gw_job *job, gw_stats *stats, int reason, const char *detail);

/* The same with a Reject already filled (e.g. by the wire decoder). */
void gw_job_answer_reject(gw_job *job, gw_stats *stats, const mn_reject *rj);

/* Fill rj (id from env when env is not NULL; detail cut to the wire field). */
void gw_reject_fill(mn_reject *rj, const mn_envelope *env, int reason, const char *detail);

/* Stage costs: the monotonic clock (waits: the writer's transaction and fsync) and this
 * thread's CPU time (work: what a stage costs, however busy the machine), in nanoseconds. */
uint64_t gw_mono_ns(void);
uint64_t gw_cpu_ns(void);

/* A thread's CPU clock is a system call, too dear for every envelope: work stages time one job
 * in GW_STAGE_SAMPLE and count it for that many (gw_stage_sample says which, per thread). */
#define GW_STAGE_SAMPLE 16
int gw_stage_sample(void);

#endif
