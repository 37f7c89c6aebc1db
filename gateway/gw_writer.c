/* gw_writer.c - dedup, number, dispatch, commit, then receipts. */
#include "gw_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_envelope.h"
#include "mn_log.h"
#include "mn_wire.h"

static mn_log_limit s_clock_limit;

/* Decide one job inside the batch transaction: duplicate by id, by digest, or new. */
static int s_register(const gw_dispatch_deps *dispatch, gw_store_txn *txn, gw_job *job,
                      gw_writer_result *res, mn_diag *d)
{
    gw_registration reg;
    int rc = gw_store_find_id(txn, job->env.id, &reg);
    if (rc == MN_OK) {
        job->receipt.status = MN_RECEIPT_DUPLICATE;
        goto fill;
    }
    if (rc != MN_ENOTFOUND)
        return mn_diag_set(d, rc, "store", "lookup by envelope id failed");
    rc = gw_store_find_digest(txn, job->digest, &reg);
    if (rc == MN_OK) {
        /* Same content under a new id: one registration, and this id answers with it too. */
        job->receipt.status = MN_RECEIPT_DUPLICATE;
        rc = gw_store_put_alias(txn, job->env.id, &reg, d);
        if (rc != MN_OK)
            return rc;
        goto fill;
    }
    if (rc != MN_ENOTFOUND)
        return mn_diag_set(d, rc, "store", "lookup by digest failed");

    rc = gw_store_next_registration(txn, &reg.registration);
    if (rc != MN_OK)
        return mn_diag_set(d, rc, "store", "cannot take a registration number");
    reg.accepted_ms = mn_now_ms();
    mn_record_info info = {.registration = reg.registration,
                           .accepted_ms = reg.accepted_ms,
                           .created_ms = job->env.created_ms};
    memcpy(info.envelope_id, job->env.id, sizeof info.envelope_id);
    snprintf(info.agent, sizeof info.agent, "%s", job->env.agent);
    gw_dispatch_result dres;
    rc = gw_dispatch_register(txn, dispatch, job->report, &info, job->digest, &dres, d);
    if (rc != MN_OK)
        return rc;
    res->queued += dres.items;
    res->acute |= dres.acute;
    job->receipt.status = MN_RECEIPT_ACCEPTED;
fill:
    memcpy(job->receipt.id, job->env.id, sizeof job->receipt.id);
    job->receipt.registration = reg.registration;
    job->receipt.accepted_ms = reg.accepted_ms;
    return MN_OK;
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
                           "created_ms=%llu now_ms=%llu", job->env.agent, reason,
                           (unsigned long long)created, (unsigned long long)now);
}

static void s_acknowledge(const gw_writer_deps *deps, gw_job *job)
{
    char regtext[32];
    mn_receipt_sign(&job->receipt, deps->gateway);
    mn_registration_format(job->receipt.registration, regtext, sizeof regtext);
    if (job->receipt.status == MN_RECEIPT_ACCEPTED) {
        atomic_fetch_add(&deps->stats->accepted, 1);
        s_check_clock(deps->stats, job);
    } else {
        atomic_fetch_add(&deps->stats->duplicates, 1);
    }
    log_debug("ingest", "receipt agent=%s seq=%llu registration=%s status=%s", job->env.agent,
              (unsigned long long)job->env.seq, regtext,
              job->receipt.status == MN_RECEIPT_ACCEPTED ? "accepted" : "duplicate");
    free(job->reply);
    job->reply = NULL;
    job->reply_len = 0;
    if (mn_wire_encode_receipt(&job->receipt, &job->reply, &job->reply_len) != MN_OK) {
        job->reply = NULL; /* the agent sends again and gets a DUPLICATE receipt */
        job->reply_len = 0;
    }
    gw_job_drop_content(job);
}

void gw_writer_commit(const gw_writer_deps *deps, gw_job **jobs, size_t n,
                      gw_writer_result *res)
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
    for (size_t i = 0; rc == MN_OK && i < n; i++)
        rc = s_register(&dispatch, txn, jobs[i], res, &d);
    gw_dispatch_sealers_destroy(&dispatch.sealers);
    uint64_t t1 = gw_mono_ns();
    gw_stats_stage(deps->stats, GW_STAGE_REGISTER, t1 - t0, n);
    if (rc == MN_OK)
        rc = gw_store_commit(&txn, &d);
    else
        gw_store_abort(&txn);
    uint64_t t2 = gw_mono_ns();

    if (rc == MN_OK) {
        gw_stats_stage(deps->stats, GW_STAGE_COMMIT, t2 - t1, n);
        atomic_fetch_add(&deps->stats->commits, 1);
        for (size_t i = 0; i < n; i++)
            s_acknowledge(deps, jobs[i]);
        atomic_fetch_add(&deps->stats->queued, res->queued);
        res->committed = n;
        gw_stats_stage(deps->stats, GW_STAGE_ACKNOWLEDGE, gw_mono_ns() - t2, n);
        return;
    }
    /* Nothing of this batch is on disk: say so, so the agents retry. */
    res->queued = 0;
    res->acute = 0;
    atomic_fetch_add(&deps->stats->commit_failures, 1);
    log_err("store", "batch of %zu not committed: %s%s%s (%s)", n, d.where,
            d.where[0] ? ": " : "", d.what, mn_err_hint(rc));
    for (size_t i = 0; i < n; i++)
        gw_job_reject(jobs[i], deps->stats, MN_REJECT_STORE_FAILED,
                      "the gateway could not store the report; it was not registered, retry "
                      "later");
}
