/* gw_writer.h - the writer's stage: one batch of verified envelopes, one transaction, receipts.
 *
 * Runs on the single writer thread. In ONE LMDB write transaction, for each job (acute ones
 * first: the caller orders them): dedup by envelope id and by keyed content digest, take a
 * registration number, and gw_dispatch (registry record sealed to the registry, one sealed and
 * signed item per bound partner, unrouted notes) with one ephemeral key per recipient for the
 * whole batch. Commit (fsync), note the batch's highest registration number in the ledger. Only
 * then sign every Receipt (acknowledge_all); if the commit fails every job gets a retryable
 * STORE_FAILED reject instead.
 */
#ifndef GW_WRITER_H
#define GW_WRITER_H

#include <stddef.h>

#include "gw_dispatch.h"
#include "gw_job.h"
#include "gw_ledger.h"
#include "gw_stats.h"
#include "gw_store.h"
#include "mn_key.h"

typedef struct gw_writer_deps {
    const mn_key *gateway;     /* signs receipts */
    gw_dispatch_deps dispatch; /* sealers is set per batch by gw_writer_commit */
    gw_store *store;
    gw_ledger *ledger; /* NULL: none (tests) */
    gw_stats *stats;
    /* Run gw_writer_build on jobs[0..n) (on other threads) and return when all are built.
     * NULL: build them one after the other on the writer's thread. */
    void (*build_all)(void *arg, gw_job **jobs, size_t n);
    /* After the commit: hand jobs[0..n) on to be acknowledged (gw_writer_acknowledge, on
     * other threads) and return at once. NULL: acknowledge them here. */
    void (*acknowledge_all)(void *arg, gw_job **jobs, size_t n);
    void *build_arg; /* for both */
} gw_writer_deps;

typedef struct gw_writer_result {
    size_t queued; /* partner items written (0 when the batch did not commit) */
} gw_writer_result;

/* Build one new registration's records into job->prepared from job->report, job->info and
 * job->dispatch; the outcome in job->build_rc and job->build_diag. Any thread. */
void gw_writer_build(gw_job *job);

/* Sign and encode the receipt of a job of a committed batch (any thread). */
void gw_writer_acknowledge(const gw_writer_deps *deps, gw_job *job);

/* Register jobs[0..n) as above. Never fails as a whole. Committed jobs go to acknowledge_all
 * (when set: the caller must not touch them after); the others leave with their reject. Returns
 * whether the batch committed. */
int gw_writer_commit(const gw_writer_deps *deps, gw_job **jobs, size_t n, gw_writer_result *res);

/* Batches that failed to commit since the last one that committed (0: the last commit, if
 * any, succeeded). The process's one writer counts them; readiness reads it. Any thread. */
uint64_t gw_writer_failed_run(void);

#endif
