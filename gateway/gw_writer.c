/* gw_writer.c - dedup, number, dispatch, commit, then receipts. */
#include "gw_writer.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_envelope.h"
#include "mn_log.h"
#include "mn_time.h"
#include "mn_wire.h"

static mn_log_limit s_clock_limit;
static mn_log_limit s_ledger_limit;

/* A store that fails (full, disk errors) fails every batch, hundreds a second while agents
 * retry: the error is logged at most S_STORE_ERRORS_PER_MINUTE times a minute (the next line
 * says how many were left out), and the first commit after a run of failures says how long the
 * run was. */
#define S_STORE_ERRORS_PER_MINUTE 6
static mn_log_limit s_store_limit;
static atomic_uint_fast64_t s_failed_run; /* batches failed since the last commit */

/* S_REUSED: the agent sent other content under an id it used before: refused (ID_REUSED),
 * never answered with the registration the id first got. */
enum { S_NEW = 1, S_DUPLICATE, S_ALIAS, S_REUSED };

static int s_same_sender(const gw_job *a, const gw_job *b)
{
    return strcmp(a->env.agent, b->env.agent) == 0 &&
           memcmp(a->env.id, b->env.id, sizeof a->env.id) == 0;
}

/* An earlier job of this batch with the same agent and envelope id (any outcome), or else a
 * new registration of this batch with the same digest (agent and content). jobs[0..n) are
 * decided. */
static gw_job *s_same_in_batch(gw_job **jobs, const int *kind, size_t n, const gw_job *job,
                               int *same_id)
{
    for (size_t i = 0; i < n; i++) {
        if (s_same_sender(jobs[i], job)) {
            *same_id = 1;
            return jobs[i];
        }
    }
    *same_id = 0;
    for (size_t i = 0; i < n; i++)
        if (kind[i] == S_NEW && memcmp(jobs[i]->digest, job->digest, sizeof job->digest) == 0)
            return jobs[i];
    return NULL;
}

static void s_refuse_reused(const gw_writer_deps *deps, gw_job *job)
{
    gw_job_reject(job, deps->stats, MN_REJECT_ID_REUSED,
                  "this agent already used this envelope id for another report; the report was "
                  "not registered: submit it again (it gets a new id)");
}

/* Decide one job inside the batch transaction: duplicate (by id, or by content under a new id:
 * an alias), refused (the id stood for other content), or new with the next registration
 * number. jobs[0..i) are decided, kind[0..i) says how. */
static int s_decide(const gw_writer_deps *deps, gw_store_txn *txn, gw_job **jobs, const int *kinds,
                    size_t i, int *kind, mn_diag *d)
{
    gw_job *job = jobs[i];
    gw_registration reg;
    int same_id = 0;
    int rc = gw_store_find_id(txn, job->env.agent, job->env.id, &reg);
    if (rc == MN_OK) {
        *kind = reg.has_digest && memcmp(reg.digest, job->digest, sizeof reg.digest) != 0
                    ? S_REUSED
                    : S_DUPLICATE;
        goto fill;
    }
    if (rc != MN_ENOTFOUND)
        return mn_diag_set(d, rc, "store", "lookup by envelope id failed");
    gw_job *first = s_same_in_batch(jobs, kinds, i, job, &same_id);
    if (first && same_id) {
        int other = memcmp(first->digest, job->digest, sizeof job->digest) != 0;
        *kind = other || first->receipt.status == 0 ? S_REUSED : S_DUPLICATE;
        reg.registration = first->receipt.registration;
        reg.accepted_ms = first->receipt.accepted_ms;
        goto fill;
    }
    rc = gw_store_find_digest(txn, job->digest, &reg);
    if (rc == MN_OK) {
        *kind = S_ALIAS; /* same content under a new id: this id answers with it too */
        goto fill;
    }
    if (rc != MN_ENOTFOUND)
        return mn_diag_set(d, rc, "store", "lookup by digest failed");
    if (first) {
        *kind = S_ALIAS;
        reg.registration = first->receipt.registration;
        reg.accepted_ms = first->receipt.accepted_ms;
        goto fill;
    }
    rc = gw_store_next_registration(txn, &reg.registration);
    if (rc != MN_OK)
        return mn_diag_set(d, rc, "store", "cannot take a registration number");
    reg.accepted_ms = mn_now_ms();
    *kind = S_NEW;
    job->info = (mn_record_info){.registration = reg.registration,
                                 .accepted_ms = reg.accepted_ms,
                                 .created_ms = job->env.created_ms};
    memcpy(job->info.envelope_id, job->env.id, sizeof job->info.envelope_id);
    snprintf(job->info.agent, sizeof job->info.agent, "%s", job->env.agent);
fill:
    if (*kind == S_REUSED) {
        memset(&job->receipt, 0, sizeof job->receipt);
        s_refuse_reused(deps, job);
        return MN_OK;
    }
    job->receipt.status = *kind == S_NEW ? MN_RECEIPT_ACCEPTED : MN_RECEIPT_DUPLICATE;
    memcpy(job->receipt.id, job->env.id, sizeof job->receipt.id);
    job->receipt.registration = reg.registration;
    job->receipt.accepted_ms = reg.accepted_ms;
    return MN_OK;
}

void gw_writer_build(gw_job *job)
{
    mn_diag_clear(&job->build_diag);
    job->build_rc = gw_dispatch_prepare(job->dispatch, job->report, &job->info, &job->prepared,
                                        &job->build_diag);
}

/* Decide, build (in parallel), write. Returns MN_OK or the first failure (diag filled). */
static int s_register_batch(const gw_writer_deps *deps, gw_store_txn *txn, gw_job **jobs, size_t n,
                            const gw_dispatch_deps *dispatch, gw_writer_result *res, mn_diag *d)
{
    int *kind = calloc(n, sizeof *kind);
    gw_job **fresh = calloc(n, sizeof *fresh);
    size_t n_fresh = 0;
    int rc = kind && fresh ? MN_OK : mn_diag_set(d, MN_ENOMEM, "ingest", "no memory for a batch");
    for (size_t i = 0; rc == MN_OK && i < n; i++) {
        rc = s_decide(deps, txn, jobs, kind, i, &kind[i], d);
        if (rc == MN_OK && kind[i] == S_NEW) {
            jobs[i]->dispatch = dispatch;
            fresh[n_fresh++] = jobs[i];
        }
    }
    if (rc == MN_OK && n_fresh) {
        if (deps->build_all)
            deps->build_all(deps->build_arg, fresh, n_fresh);
        else
            for (size_t i = 0; i < n_fresh; i++)
                gw_writer_build(fresh[i]);
    }
    for (size_t i = 0; rc == MN_OK && i < n; i++) {
        gw_job *job = jobs[i];
        gw_dispatch_result dres;
        if (kind[i] == S_NEW) {
            rc = job->build_rc;
            if (rc != MN_OK) {
                *d = job->build_diag;
                break;
            }
            rc = gw_dispatch_store(txn, &job->info, job->digest, &job->prepared, &dres, d);
            if (rc == MN_OK) {
                res->queued += dres.items;
            }
        } else if (kind[i] == S_ALIAS) {
            gw_registration reg = {.registration = job->receipt.registration,
                                   .accepted_ms = job->receipt.accepted_ms};
            rc = gw_store_put_alias(txn, job->env.agent, job->env.id, job->digest, &reg, d);
        }
    }
    free(kind);
    free(fresh);
    return rc;
}

/* created_ms is informative: out of range is counted and logged, never refused (an agent spools
 * through outages; a wrong clock must not cost a report). */
static void s_check_clock(gw_stats *stats, const gw_job *job)
{
    uint64_t now = job->receipt.accepted_ms, created = job->env.created_ms;
    const char *reason = NULL;
    if (created > now + GW_CLOCK_SKEW_MS) {
        atomic_fetch_add(&stats->timestamp_ahead, 1);
        reason = "CLOCK_AHEAD";
    } else if (created + GW_STALE_MS < now) {
        atomic_fetch_add(&stats->timestamp_stale, 1);
        reason = "STALE_TIMESTAMP";
    }
    if (reason)
        mn_log_ratelimited(&s_clock_limit, 10, MN_LOG_WARN, "ingest",
                           "accepted with an unusual created_ms agent=%s reason=%s "
                           "created_ms=%llu now_ms=%llu",
                           job->env.agent, reason, (unsigned long long)created,
                           (unsigned long long)now);
}

void gw_writer_acknowledge(const gw_writer_deps *deps, gw_job *job)
{
    if (job->receipt.status == 0) /* refused while deciding: its Reject is the answer */
        return;
    mn_receipt_sign(&job->receipt, deps->gateway);
    if (job->receipt.status == MN_RECEIPT_ACCEPTED) {
        atomic_fetch_add(&deps->stats->accepted, 1);
        s_check_clock(deps->stats, job);
    } else {
        atomic_fetch_add(&deps->stats->duplicates, 1);
    }
    if (mn_log_enabled(MN_LOG_DEBUG)) { /* every receipt passes here: no text unless wanted */
        char regtext[32];
        mn_registration_format(job->receipt.registration, regtext, sizeof regtext);
        log_debug("ingest", "receipt agent=%s seq=%llu registration=%s status=%s", job->env.agent,
                  (unsigned long long)job->env.seq, regtext,
                  job->receipt.status == MN_RECEIPT_ACCEPTED ? "accepted" : "duplicate");
    }
    free(job->reply);
    job->reply = NULL;
    job->reply_len = 0;
    if (mn_wire_encode_receipt(&job->receipt, &job->reply, &job->reply_len) != MN_OK) {
        job->reply = NULL; /* the agent sends again and gets a DUPLICATE receipt */
        job->reply_len = 0;
    }
    gw_job_drop_content(job);
}

/* An acute report that reached nobody of its acute rule: counted and logged as an error once
 * its registration is committed (a batch that fails is sent again and would count twice). The
 * line names the registration, topics and rules, never the report's content. */
static void s_alarm_acute_unrouted(const gw_writer_deps *deps, gw_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const gw_dispatch_prepared *p = &jobs[i]->prepared;
        if (jobs[i]->receipt.status != MN_RECEIPT_ACCEPTED || !p->acute_unrouted)
            continue;
        char regtext[32];
        atomic_fetch_add(&deps->stats->acute_unrouted, 1);
        mn_registration_format(jobs[i]->receipt.registration, regtext, sizeof regtext);
        log_err("route",
                "acute report reached no partner: no partner is bound to its acute topic, it waits "
                "unrouted registration=%s topic=%s rule=%s: bind a partner to the topic "
                "(meldnetctl partner add NAME LINE --kind police --bind TOPIC=full), then route "
                "it (meldnetctl hold release unrouted %s TOPIC --registry-key FILE)",
                regtext, p->acute_topics, p->acute_rules, regtext);
    }
}

/* The ledger hears of every number a committed batch gave before any receipt names it. */
static void s_note_issued(const gw_writer_deps *deps, gw_job **jobs, size_t n)
{
    uint64_t top = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i]->receipt.status == MN_RECEIPT_ACCEPTED && jobs[i]->receipt.registration > top)
            top = jobs[i]->receipt.registration;
    mn_diag d;
    mn_diag_clear(&d);
    if (deps->ledger && top && gw_ledger_note(deps->ledger, top, &d) != MN_OK)
        mn_log_ratelimited(&s_ledger_limit, 10, MN_LOG_ERR, "store",
                           "cannot note the highest registration number: %s: %s (the next "
                           "batch tries again)",
                           d.where, d.what);
}

int gw_writer_commit(const gw_writer_deps *deps, gw_job **jobs, size_t n, gw_writer_result *res)
{
    mn_diag d;
    mn_diag_clear(&d);
    memset(res, 0, sizeof *res);
    gw_store_txn *txn = NULL;
    gw_dispatch_deps dispatch = deps->dispatch;
    uint64_t t0 = gw_mono_ns();
    int rc = gw_dispatch_sealers_new(&dispatch.sealers);
    if (rc != MN_OK)
        mn_diag_set(&d, rc, "ingest", "no memory for the batch");
    if (rc == MN_OK)
        rc = gw_store_begin(deps->store, &txn, &d);
    if (rc == MN_OK)
        rc = s_register_batch(deps, txn, jobs, n, &dispatch, res, &d);
    gw_dispatch_sealers_destroy(&dispatch.sealers);
    uint64_t t1 = gw_mono_ns();
    gw_stats_stage(deps->stats, GW_STAGE_REGISTER, t1 - t0, n);
    if (rc == MN_OK)
        rc = gw_store_commit(&txn, &d);
    else
        gw_store_abort(&txn);
    uint64_t t2 = gw_mono_ns();
    if (rc == MN_OK)
        s_alarm_acute_unrouted(deps, jobs, n);
    for (size_t i = 0; i < n; i++)
        gw_dispatch_prepared_clear(&jobs[i]->prepared);

    if (rc == MN_OK) {
        s_note_issued(deps, jobs, n);
        gw_stats_stage(deps->stats, GW_STAGE_COMMIT, t2 - t1, n);
        atomic_fetch_add(&deps->stats->commits, 1);
        atomic_fetch_add(&deps->stats->queued, res->queued);
        gw_hist_observe(&deps->stats->batch_size, (double)n);
        uint64_t run = atomic_exchange(&s_failed_run, 0);
        if (run)
            log_notice("store", "commits succeed again failed_batches=%llu",
                       (unsigned long long)run);
        if (deps->acknowledge_all)
            deps->acknowledge_all(deps->build_arg, jobs, n);
        else
            for (size_t i = 0; i < n; i++)
                gw_writer_acknowledge(deps, jobs[i]);
        return 1;
    }
    /* Nothing of this batch is on disk: say so, so the agents retry. */
    res->queued = 0;
    atomic_fetch_add(&deps->stats->commit_failures, 1);
    uint64_t run = atomic_fetch_add(&s_failed_run, 1) + 1;
    mn_log_ratelimited(&s_store_limit, S_STORE_ERRORS_PER_MINUTE, MN_LOG_ERR, "store",
                       "batch of %zu not committed failed_batches=%llu: %s%s%s (%s)", n,
                       (unsigned long long)run, d.where, d.where[0] ? ": " : "", d.what,
                       mn_err_hint(rc));
    for (size_t i = 0; i < n; i++)
        gw_job_reject(jobs[i], deps->stats, MN_REJECT_STORE_FAILED,
                      "the gateway could not store the report; it was not registered, retry "
                      "later");
    return 0;
}

uint64_t gw_writer_failed_run(void)
{
    return atomic_load(&s_failed_run);
}
