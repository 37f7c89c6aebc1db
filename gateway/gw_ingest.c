/* gw_ingest.c - the receive thread's checks, the worker and writer threads, reply forwarding.
 *
 * Nothing a peer sends can stop the loop: every failure becomes a Reject (counted, logged with
 * rate limiting and without content) and the next frame is read.
 */
#include "gw_ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zmq.h>

#include "gw_auth.h"
#include "gw_conn.h"
#include "gw_job.h"
#include "gw_queue.h"
#include "gw_verify.h"
#include "gw_writer.h"
#include "mn_envelope.h"
#include "mn_log.h"
#include "mn_time.h"
#include "mn_wire.h"

/* Frames up to this multiple of the limit are read and answered with TOO_LARGE; anything larger
 * makes libzmq drop the connection, so a peer cannot make the gateway buffer unbounded input. */
#define HARD_FRAME_FACTOR 2
/* Frames read per gw_ingest_handle, so replies and partners get their turn under a flood. */
#define RECEIVE_BURST 512
/* How often the free-space floor is looked at. */
#define FREE_SPACE_CHECK_MS 1000
#define WORKERS_MAX 64

/* Per-agent token bucket, envelopes in the pipeline and what operators see of the agent;
 * parallel to the agents array, carried over by name when the table is replaced. */
typedef struct s_bucket {
    double tokens;
    uint64_t last_ms;
    unsigned inflight;
    uint64_t last_seen_ns; /* gw_mono_ns() of its last frame (0: none); wall clock on snapshot */
    uint64_t accepted, duplicates, rejected;
} s_bucket;

struct gw_ingest {
    void *socket;
    gw_ingest_deps deps;
    gw_verify_deps verify;
    gw_writer_deps writer;
    gw_agent *agents; /* sorted by name, revoked ones too; the receive thread's alone */
    s_bucket *buckets;
    size_t n_agents;
    uint64_t free_checked_ms;
    uint64_t free_mb; /* at the last look */
    int disk_low;
    gw_queue *work;    /* receive -> workers */
    gw_queue *write;   /* workers -> writer, acute in the urgent lane */
    gw_queue *replies; /* workers, writer -> receive */
    pthread_t worker[WORKERS_MAX];
    unsigned n_workers;
    pthread_t writer_thread;
    int writer_started;
    gw_link **batch_links; /* the writer's */
    gw_job **batch_jobs;
    gw_link **fan_links;         /* the writer's, to hand a batch to the workers */
    pthread_mutex_t config_lock; /* held by the writer for each batch: cfg is read */
    gw_conn *conn;               /* who is connected; closes a revoked agent's connections */
    atomic_uint workers_left;
    atomic_uint_fast64_t queued_unannounced; /* partner items committed, not yet told */
    int stopped;
};

static int s_agent_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const gw_agent *)elem)->name);
}

/* The agent's entry, revoked or not (for its counters). */
static const gw_agent *s_find_entry(const gw_ingest *ing, const char *name)
{
    if (!ing->agents)
        return NULL;
    return bsearch(name, ing->agents, ing->n_agents, sizeof *ing->agents, s_agent_cmp);
}

/* The bucket of entry (NULL for NULL). */
static s_bucket *s_bucket_of(gw_ingest *ing, const gw_agent *entry)
{
    return entry ? &ing->buckets[entry - ing->agents] : NULL;
}

static int s_by_name(const void *a, const void *b)
{
    return strcmp(((const gw_agent *)a)->name, ((const gw_agent *)b)->name);
}

int gw_ingest_set_agents(gw_ingest *ing, const gw_agent *agents, size_t n)
{
    gw_agent *copy = calloc(n ? n : 1, sizeof *copy);
    s_bucket *buckets = calloc(n ? n : 1, sizeof *buckets);
    if (!copy || !buckets) {
        free(copy);
        free(buckets);
        return MN_ENOMEM;
    }
    if (n)
        memcpy(copy, agents, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, s_by_name);
    uint64_t now = mn_mono_ms();
    for (size_t i = 0; i < n; i++) {
        const gw_agent *old = s_find_entry(ing, copy[i].name);
        if (old) { /* a reload: the agent keeps its bucket, envelopes in flight and counters */
            buckets[i] = ing->buckets[old - ing->agents];
        } else {
            buckets[i].tokens = ing->deps.agent_burst;
            buckets[i].last_ms = now;
        }
    }
    free(ing->agents);
    free(ing->buckets);
    ing->agents = copy;
    ing->buckets = buckets;
    ing->n_agents = n;
    return MN_OK;
}

/* Take one token from the agent's bucket at now (mn_mono_ms clock); 0 when it is empty (the
 * agent sends too fast). */
static int s_take_token(gw_ingest *ing, s_bucket *b, uint64_t now)
{
    if (ing->deps.agent_rate_per_s == 0)
        return 1;
    b->tokens += (double)(now - b->last_ms) * ing->deps.agent_rate_per_s / 1000.0;
    if (b->tokens > ing->deps.agent_burst)
        b->tokens = ing->deps.agent_burst;
    b->last_ms = now;
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

/* Whether the data folder is under its free-space floor (looked at once a second; now on the
 * mn_mono_ms clock). */
static int s_disk_low(gw_ingest *ing, uint64_t now)
{
    if (ing->deps.min_free_mb == 0 || !ing->deps.data_dir)
        return 0;
    if (now - ing->free_checked_ms < FREE_SPACE_CHECK_MS && ing->free_checked_ms)
        return ing->disk_low;
    ing->free_checked_ms = now;
    struct statvfs sv;
    if (statvfs(ing->deps.data_dir, &sv) != 0)
        return ing->disk_low;
    uint64_t free_mb = (uint64_t)sv.f_bavail * sv.f_frsize / (1024 * 1024);
    int low = free_mb < ing->deps.min_free_mb;
    ing->free_mb = free_mb;
    if (low && !ing->disk_low)
        log_err("ingest",
                "free space under min_free_mb, refusing new reports (OVERLOADED) until "
                "there is room dir=%s free_mb=%llu min_free_mb=%u",
                ing->deps.data_dir, (unsigned long long)free_mb, ing->deps.min_free_mb);
    else if (!low && ing->disk_low)
        log_notice("ingest", "free space is back above min_free_mb dir=%s", ing->deps.data_dir);
    ing->disk_low = low;
    return low;
}

/* ---------------------------------------------------------------------------------------------
 * Worker and writer threads */

/* The writer's wait for the records of its batch, built on the workers. */
typedef struct s_countdown {
    pthread_mutex_t lock;
    pthread_cond_t done;
    size_t left;
} s_countdown;

static void s_countdown_tick(s_countdown *cd)
{
    pthread_mutex_lock(&cd->lock);
    if (--cd->left == 0)
        pthread_cond_signal(&cd->done);
    pthread_mutex_unlock(&cd->lock);
}

/* gw_writer_deps.build_all: the batch's builds go first in the workers' queue (urgent lane);
 * once the workers are gone (shutting down) the writer builds them itself. */
static void s_build_all(void *arg, gw_job **jobs, size_t n)
{
    gw_ingest *ing = arg;
    s_countdown cd = {.left = n};
    pthread_mutex_init(&cd.lock, NULL);
    pthread_cond_init(&cd.done, NULL);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->task = GW_JOB_BUILD;
        jobs[i]->countdown = &cd;
        ing->fan_links[i] = &jobs[i]->link;
    }
    if (!gw_queue_push_many(ing->work, ing->fan_links, n, 1)) {
        for (size_t i = 0; i < n; i++) {
            gw_writer_build(jobs[i]);
            s_countdown_tick(&cd);
        }
    }
    pthread_mutex_lock(&cd.lock);
    while (cd.left > 0)
        pthread_cond_wait(&cd.done, &cd.lock);
    pthread_mutex_unlock(&cd.lock);
    pthread_cond_destroy(&cd.done);
    pthread_mutex_destroy(&cd.lock);
}

/* gw_writer_deps.acknowledge_all: receipts are signed on the workers, then sent. */
static void s_acknowledge_all(void *arg, gw_job **jobs, size_t n)
{
    gw_ingest *ing = arg;
    for (size_t i = 0; i < n; i++) {
        jobs[i]->task = GW_JOB_ACKNOWLEDGE;
        ing->fan_links[i] = &jobs[i]->link;
    }
    if (!gw_queue_push_many(ing->work, ing->fan_links, n, 1)) {
        for (size_t i = 0; i < n; i++)
            gw_writer_acknowledge(&ing->writer, jobs[i]);
        gw_queue_push_many(ing->replies, ing->fan_links, n, 0);
    }
}

/* One sampled job's CPU time, counted for GW_STAGE_SAMPLE envelopes. */
static void s_stage_sampled(gw_ingest *ing, int stage, uint64_t t0)
{
    gw_stats_stage(ing->deps.stats, stage, (gw_cpu_ns() - t0) * GW_STAGE_SAMPLE, GW_STAGE_SAMPLE);
}

/* Jobs a worker takes at once: fewer locks and wake-ups, still small enough that the writer's
 * builds (urgent) do not wait long behind a worker's verifications. */
#define WORKER_TAKE 8

static void *s_worker_main(void *arg)
{
    gw_ingest *ing = arg;
    gw_link *taken[WORKER_TAKE], *verified[WORKER_TAKE], *replies[WORKER_TAKE];
    size_t n;
    mn_log_set_nonblocking(); /* receipts must not wait for a stalled stderr */
    while ((n = gw_queue_pop_batch(ing->work, taken, WORKER_TAKE)) > 0) {
        size_t n_verified = 0, n_replies = 0;
        for (size_t i = 0; i < n; i++) {
            gw_job *job = gw_job_of(taken[i]);
            int sampled = gw_stage_sample();
            uint64_t t0 = sampled ? gw_cpu_ns() : 0;
            int stage = GW_STAGE_VERIFY_OPEN;
            if (job->task == GW_JOB_BUILD) {
                /* Part of the writer's batch: build, tick, and leave the job to the writer. */
                stage = GW_STAGE_BUILD;
                gw_writer_build(job);
                if (sampled)
                    s_stage_sampled(ing, stage, t0);
                s_countdown_tick(job->countdown);
                continue;
            }
            if (job->task == GW_JOB_ACKNOWLEDGE) {
                stage = GW_STAGE_ACKNOWLEDGE;
                gw_writer_acknowledge(&ing->writer, job);
                replies[n_replies++] = &job->link;
            } else if (gw_verify_job(&ing->verify, job) != MN_OK) {
                replies[n_replies++] = &job->link;
            } else if (!job->acute) {
                verified[n_verified++] = &job->link;
            } else if (!gw_queue_push(ing->write, &job->link, 1)) { /* to the writer's head */
                replies[n_replies++] = &job->link;
            }
            if (sampled)
                s_stage_sampled(ing, stage, t0);
        }
        if (!gw_queue_push_many(ing->write, verified, n_verified, 0))
            for (size_t i = 0; i < n_verified; i++)
                replies[n_replies++] = verified[i];
        gw_queue_push_many(ing->replies, replies, n_replies, 0);
    }
    /* The last worker out tells the writer that nothing more will come. */
    if (atomic_fetch_sub(&ing->workers_left, 1) == 1)
        gw_queue_close(ing->write);
    return NULL;
}

static void *s_writer_main(void *arg)
{
    gw_ingest *ing = arg;
    size_t n;
    mn_log_set_nonblocking(); /* commits must not wait for a stalled stderr */
    while ((n = gw_queue_pop_batch(ing->write, ing->batch_links, ing->deps.batch_max)) > 0) {
        for (size_t i = 0; i < n; i++)
            ing->batch_jobs[i] = gw_job_of(ing->batch_links[i]);
        gw_writer_result res;
        pthread_mutex_lock(&ing->config_lock);
        int committed = gw_writer_commit(&ing->writer, ing->batch_jobs, n, &res);
        pthread_mutex_unlock(&ing->config_lock);
        if (res.queued)
            atomic_fetch_add(&ing->queued_unannounced, res.queued);
        if (!committed) /* committed ones are with the workers now, to be acknowledged */
            gw_queue_push_many(ing->replies, ing->batch_links, n, 0);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Receive thread */

/* Send [route][payload] without waiting: a peer that has gone away or does not read is not
 * worth more than a debug line (it sends again and gets a DUPLICATE receipt). */
static void s_send(gw_ingest *ing, zmq_msg_t *route, const uint8_t *buf, size_t len)
{
    if (zmq_send(ing->socket, zmq_msg_data(route), zmq_msg_size(route),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(ing->socket, buf, len, ZMQ_DONTWAIT) < 0)
        log_debug("ingest", "reply not sent: %s", zmq_strerror(zmq_errno()));
}

/* Count the answer a job got for its agent (bucket b, NULL when not in the table); a
 * receipt's ack latency. */
static void s_count_answer(gw_ingest *ing, const gw_job *job, s_bucket *b)
{
    if (job->receipt.status == MN_RECEIPT_ACCEPTED || job->receipt.status == MN_RECEIPT_DUPLICATE) {
        gw_hist_observe(&ing->deps.stats->ack_latency,
                        (double)(gw_mono_ns() - job->received_ns) / 1e9);
        if (b && job->receipt.status == MN_RECEIPT_ACCEPTED)
            b->accepted++;
        else if (b)
            b->duplicates++;
    } else if (b && job->reply) {
        b->rejected++;
    }
}

/* Refuse at once. The envelope is decoded only here, on this rare path, so the reject can name
 * its id (the agent matches rejects to its spool by id). */
static void s_refuse(gw_ingest *ing, gw_job *job, s_bucket *b, int reason, const char *detail)
{
    mn_reject ignored;
    if (mn_wire_decode_to_gateway(zmq_msg_data(&job->payload), zmq_msg_size(&job->payload),
                                  ing->deps.max_frame_bytes, &job->env, &ignored) != MN_OK)
        mn_envelope_clear(&job->env);
    gw_job_reject(job, ing->deps.stats, reason, detail);
    s_count_answer(ing, job, b);
    if (job->reply)
        s_send(ing, &job->route, job->reply, job->reply_len);
}

/* Read one [route][payload] message and hand it on or refuse it. Returns 0 when there was
 * nothing to read, 1 otherwise. */
static int s_receive_one(gw_ingest *ing)
{
    gw_job *job = NULL;
    if (gw_job_new(&job) != MN_OK)
        return 0; /* no memory: leave the frames in libzmq's queue for now */
    if (zmq_msg_recv(&job->route, ing->socket, ZMQ_DONTWAIT) < 0) {
        gw_job_free(&job);
        return 0;
    }
    if (!zmq_msg_more(&job->route) || zmq_msg_recv(&job->payload, ing->socket, 0) < 0)
        goto done;
    atomic_fetch_add(&ing->deps.stats->frames_received, 1);

    /* The one clock read per frame: ack latency, last seen, rate bucket, free-space check. */
    job->received_ns = gw_mono_ns();
    uint64_t now_ms = job->received_ns / 1000000;
    /* One lookup per frame: the entry (revoked too, for its counters) and its bucket. */
    const gw_agent *agent = NULL;
    s_bucket *b = NULL;
    const char *user_id = zmq_msg_gets(&job->payload, "User-Id");
    if (user_id) {
        snprintf(job->agent, sizeof job->agent, "%s", user_id);
        gw_conn_note(ing->conn, &job->payload, job->agent);
        agent = s_find_entry(ing, job->agent);
        b = s_bucket_of(ing, agent);
        if (b)
            b->last_seen_ns = job->received_ns;
    }
    if (zmq_msg_more(&job->payload)) {
        /* One frame per message: drain the rest and refuse the whole message. */
        while (zmq_msg_more(&job->payload)) {
            zmq_msg_close(&job->payload);
            zmq_msg_init(&job->payload);
            if (zmq_msg_recv(&job->payload, ing->socket, 0) < 0)
                break;
        }
        zmq_msg_close(&job->payload);
        zmq_msg_init(&job->payload);
        s_refuse(ing, job, b, MN_REJECT_MALFORMED, "a message must be exactly one frame");
        goto done;
    }
    if (!user_id || !*user_id) {
        s_refuse(ing, job, b, MN_REJECT_NOT_PERMITTED, "connection is not authenticated");
        goto done;
    }
    if (!agent || agent->revoked) {
        /* Admitted by ZAP but removed or revoked since (its connection is being closed). */
        s_refuse(ing, job, b, MN_REJECT_NOT_PERMITTED, "agent is revoked or no longer configured");
        goto done;
    }
    if (!s_take_token(ing, b, now_ms)) {
        s_refuse(ing, job, b, MN_REJECT_RATE_LIMITED,
                 "this agent sends faster than agent_rate_per_s; send again after a pause");
        goto done;
    }
    if (s_disk_low(ing, now_ms)) {
        s_refuse(ing, job, b, MN_REJECT_OVERLOADED,
                 "the gateway's disk is nearly full; send again later");
        goto done;
    }
    if (b->inflight >= ing->deps.agent_inflight_max) {
        /* Fairness: one agent cannot fill the pipeline and make the others wait behind it. */
        s_refuse(ing, job, b, MN_REJECT_OVERLOADED,
                 "this agent has agent_inflight_max envelopes in the gateway already; send "
                 "again when their receipts are in");
        goto done;
    }
    if (atomic_load(&ing->deps.stats->inflight) >= ing->deps.inflight_max) {
        s_refuse(ing, job, b, MN_REJECT_OVERLOADED,
                 "the gateway is saturated; send again after a pause");
        goto done;
    }
    memcpy(job->agent_sign, agent->pub.sign, sizeof job->agent_sign);
    b->inflight++;
    atomic_fetch_add(&ing->deps.stats->inflight, 1);
    gw_queue_push(ing->work, &job->link, 0);
    return 1;
done:
    gw_job_free(&job);
    return 1;
}

int gw_ingest_handle(gw_ingest *ing)
{
    if (ing->stopped)
        return MN_OK;
    uint64_t t0 = gw_cpu_ns();
    size_t frames = 0;
    while (frames < RECEIVE_BURST && s_receive_one(ing))
        frames++;
    if (frames)
        gw_stats_stage(ing->deps.stats, GW_STAGE_RECEIVE, gw_cpu_ns() - t0, frames);
    return MN_OK;
}

void gw_ingest_flush(gw_ingest *ing)
{
    gw_link *l;
    while ((l = gw_queue_try_pop(ing->replies)) != NULL) {
        gw_job *job = gw_job_of(l);
        if (job->reply)
            s_send(ing, &job->route, job->reply, job->reply_len);
        s_bucket *b = s_bucket_of(ing, s_find_entry(ing, job->agent)); /* gone after a reload? */
        s_count_answer(ing, job, b);
        if (b && b->inflight > 0)
            b->inflight--;
        gw_job_free(&job);
        atomic_fetch_sub(&ing->deps.stats->inflight, 1);
    }
    if (atomic_exchange(&ing->queued_unannounced, 0) > 0 && ing->deps.on_queued)
        ing->deps.on_queued(ing->deps.on_queued_arg);
}

void gw_ingest_snapshot(gw_ingest *ing, gw_snapshot *s)
{
    /* Last seen is kept on the monotonic clock (read per frame anyway): made wall clock here. */
    uint64_t wall_ms = mn_now_ms(), mono_ns = gw_mono_ns();
    /* Looked at here too, not only when a frame comes: readiness must say "no room" before the
     * first report is refused, and "ready" again once there is room. */
    s->disk_low = s_disk_low(ing, mn_mono_ms());
    s->free_mb = ing->free_mb;
    s->min_free_mb = ing->deps.min_free_mb;
    s->commits_failing = gw_writer_failed_run() > 0;
    s->connected_agents = gw_conn_open_count(ing->conn);
    s->agents = calloc(ing->n_agents ? ing->n_agents : 1, sizeof *s->agents);
    if (!s->agents)
        return;
    for (size_t i = 0; i < ing->n_agents; i++) {
        const gw_agent *a = &ing->agents[i];
        const s_bucket *b = &ing->buckets[i];
        gw_snap_agent *out = &s->agents[i];
        snprintf(out->name, sizeof out->name, "%s", a->name);
        snprintf(out->region, sizeof out->region, "%s", a->region);
        out->revoked = a->revoked;
        out->connected = gw_conn_party_connected(ing->conn, a->name);
        out->last_seen_ms = b->last_seen_ns ? wall_ms - (mono_ns - b->last_seen_ns) / 1000000 : 0;
        out->accepted = b->accepted;
        out->duplicates = b->duplicates;
        out->rejected = b->rejected;
    }
    s->n_agents = ing->n_agents;
}

size_t gw_ingest_close_agent(gw_ingest *ing, const char *name)
{
    /* Its idle connections carried no message that names it: close every such one. */
    return gw_conn_close_party(ing->conn, name) + gw_conn_close_idle(ing->conn);
}

void gw_ingest_config_lock(gw_ingest *ing)
{
    pthread_mutex_lock(&ing->config_lock);
}

void gw_ingest_config_unlock(gw_ingest *ing)
{
    pthread_mutex_unlock(&ing->config_lock);
}

void *gw_ingest_socket(gw_ingest *ing)
{
    return ing->socket;
}

int gw_ingest_reply_fd(gw_ingest *ing)
{
    return gw_queue_fd(ing->replies);
}

/* ---------------------------------------------------------------------------------------------
 * Life cycle */

static unsigned s_worker_count(unsigned want)
{
    if (want == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        want = cores > 0 ? (unsigned)cores : 1;
    }
    return want > WORKERS_MAX ? WORKERS_MAX : want;
}

static int s_threads_start(gw_ingest *ing, mn_diag *d)
{
    unsigned want = s_worker_count(ing->deps.workers);
    atomic_store(&ing->workers_left, want);
    for (unsigned i = 0; i < want; i++) {
        int err = pthread_create(&ing->worker[i], NULL, s_worker_main, ing);
        if (err != 0) {
            /* The ones not started will not count down. */
            atomic_fetch_sub(&ing->workers_left, want - i);
            if (i == 0)
                gw_queue_close(ing->write);
            errno = err;
            return mn_diag_set(d, MN_ESYS, "ingest", "cannot start a verify thread: %s",
                               strerror(err));
        }
        ing->n_workers++;
    }
    int err = pthread_create(&ing->writer_thread, NULL, s_writer_main, ing);
    if (err != 0) {
        errno = err;
        return mn_diag_set(d, MN_ESYS, "ingest", "cannot start the writer thread: %s",
                           strerror(err));
    }
    ing->writer_started = 1;
    return MN_OK;
}

int gw_ingest_new(void *zmq_ctx, const char *listen, const gw_ingest_deps *deps, gw_ingest **out,
                  mn_diag *d)
{
    int rc = MN_ENOMEM;
    gw_ingest *ing = calloc(1, sizeof *ing);
    if (!ing)
        goto fail;
    ing->deps = *deps;
    pthread_mutex_init(&ing->config_lock, NULL);
    if (ing->deps.batch_max == 0)
        ing->deps.batch_max = 1;
    if (ing->deps.inflight_max == 0)
        ing->deps.inflight_max = 4096;
    if (ing->deps.agent_inflight_max == 0)
        ing->deps.agent_inflight_max = ing->deps.inflight_max;
    ing->verify = (gw_verify_deps){.gateway = deps->gateway,
                                   .digest_key = deps->digest_key,
                                   .stats = deps->stats,
                                   .max_frame_bytes = deps->max_frame_bytes};
    ing->writer = (gw_writer_deps){.gateway = deps->gateway,
                                   .dispatch = deps->dispatch,
                                   .store = deps->store,
                                   .ledger = deps->ledger,
                                   .stats = deps->stats,
                                   .build_all = s_build_all,
                                   .acknowledge_all = s_acknowledge_all,
                                   .build_arg = ing};
    ing->batch_links = calloc(ing->deps.batch_max, sizeof *ing->batch_links);
    ing->batch_jobs = calloc(ing->deps.batch_max, sizeof *ing->batch_jobs);
    ing->fan_links = calloc(ing->deps.batch_max, sizeof *ing->fan_links);
    if (!ing->batch_links || !ing->batch_jobs || !ing->fan_links ||
        gw_queue_new(0, &ing->work) != MN_OK || gw_queue_new(0, &ing->write) != MN_OK) {
        rc = mn_diag_set(d, MN_ENOMEM, "ingest", "no memory for the pipeline");
        goto fail;
    }
    rc = gw_queue_new(1, &ing->replies);
    if (rc != MN_OK) {
        rc = mn_diag_set(d, rc, "ingest", "cannot make the reply queue (eventfd)");
        goto fail;
    }
    rc = gw_auth_listen(zmq_ctx, listen, mn_key_curve_secret(deps->gateway), GW_AUTH_DOMAIN,
                        (int64_t)deps->max_frame_bytes * HARD_FRAME_FACTOR, "listen", &ing->socket,
                        d);
    if (rc == MN_OK)
        rc = gw_conn_start(zmq_ctx, ing->socket, "agent", deps->stats, &ing->conn, d);
    if (rc == MN_OK)
        gw_conn_set_limits(ing->conn, deps->handshakes_per_address_max, deps->handshakes_max);
    if (rc == MN_OK)
        rc = s_threads_start(ing, d);
    if (rc != MN_OK)
        goto fail;
    *out = ing;
    return MN_OK;
fail:
    gw_ingest_destroy(&ing);
    return rc;
}

void gw_ingest_stop(gw_ingest *ing)
{
    if (!ing || ing->stopped)
        return;
    ing->stopped = 1;
    /* Workers finish the queue, the last one closes the writer's queue, the writer commits
     * what it holds: everything received is answered. */
    if (ing->work)
        gw_queue_close(ing->work);
    for (unsigned i = 0; i < ing->n_workers; i++)
        pthread_join(ing->worker[i], NULL);
    if (ing->n_workers == 0 && ing->write)
        gw_queue_close(ing->write);
    if (ing->writer_started)
        pthread_join(ing->writer_thread, NULL);
    if (ing->replies && ing->socket)
        gw_ingest_flush(ing);
}

/* Jobs still queued when the threads could not start: free them. */
static void s_drain(gw_queue *q)
{
    gw_link *l;
    while (q && (l = gw_queue_try_pop(q)) != NULL) {
        gw_job *job = gw_job_of(l);
        gw_job_free(&job);
    }
}

void gw_ingest_destroy(gw_ingest **ing_p)
{
    if (!ing_p || !*ing_p)
        return;
    gw_ingest *ing = *ing_p;
    gw_ingest_stop(ing);
    s_drain(ing->work);
    s_drain(ing->write);
    s_drain(ing->replies);
    gw_queue_destroy(&ing->work);
    gw_queue_destroy(&ing->write);
    gw_queue_destroy(&ing->replies);
    gw_conn_stop(&ing->conn);
    if (ing->socket)
        zmq_close(ing->socket);
    free(ing->agents);
    free(ing->buckets);
    free(ing->batch_links);
    free(ing->batch_jobs);
    free(ing->fan_links);
    pthread_mutex_destroy(&ing->config_lock);
    free(ing);
    *ing_p = NULL;
}
